import os

from runtime.args import Flag
from runtime.errors import Error

SYNOPSIS = "[options] <container-id>"
DESCRIPTION = ("Update a running container's resource limits, from flags or from "
               "--resources FILE (linux.resources JSON; '-' reads stdin). 0 leaves a value unchanged.")

# flag -> (section, key, kind)
_MAP = {
    "blkio_weight": ("blockIO", "weight", "int"),
    "cpu_period": ("cpu", "period", "int"),
    "cpu_quota": ("cpu", "quota", "int"),
    "cpu_burst": ("cpu", "burst", "int"),
    "cpu_shares": ("cpu", "shares", "int"),
    "cpu_rt_period": ("cpu", "realtimePeriod", "int"),
    "cpu_rt_runtime": ("cpu", "realtimeRuntime", "int"),
    "cpuset_cpus": ("cpu", "cpus", "str"),
    "cpuset_mems": ("cpu", "mems", "str"),
    "memory": ("memory", "limit", "bytes"),
    "memory_reservation": ("memory", "reservation", "bytes"),
    "memory_swap": ("memory", "swap", "bytes"),
    "kernel_memory": ("memory", "kernel", "bytes"),
    "kernel_memory_tcp": ("memory", "kernelTCP", "bytes"),
    "pids_limit": ("pids", "limit", "int"),
}

FLAGS = [
    Flag("--resources,-r", "resources", True, None, "linux.resources JSON file ('-': stdin)"),
    Flag("--blkio-weight", "blkio_weight", True, None, "block IO weight (10-1000)"),
    Flag("--cpu-period", "cpu_period", True, None, "CFS period (microseconds)"),
    Flag("--cpu-quota", "cpu_quota", True, None, "CFS quota (microseconds, -1: none)"),
    Flag("--cpu-burst", "cpu_burst", True, None, "CFS burst (microseconds)"),
    Flag("--cpu-share,--cpu-shares", "cpu_shares", True, None, "CPU shares (relative weight)"),
    Flag("--cpu-rt-period", "cpu_rt_period", True, None, "realtime period (microseconds)"),
    Flag("--cpu-rt-runtime", "cpu_rt_runtime", True, None, "realtime runtime (microseconds)"),
    Flag("--cpuset-cpus", "cpuset_cpus", True, None, "CPUs to use (0-3, 0,1)"),
    Flag("--cpuset-mems", "cpuset_mems", True, None, "memory nodes to use"),
    Flag("--memory", "memory", True, None, "memory limit (bytes, k/m/g suffixes; -1: none)"),
    Flag("--memory-reservation", "memory_reservation", True, None, "memory soft limit"),
    Flag("--memory-swap", "memory_swap", True, None, "memory+swap limit (-1: none)"),
    Flag("--kernel-memory", "kernel_memory", True, None, "ignored (deprecated)"),
    Flag("--kernel-memory-tcp", "kernel_memory_tcp", True, None, "ignored (deprecated)"),
    Flag("--pids-limit", "pids_limit", True, None, "maximum number of pids (-1: none)"),
    Flag("--l3-cache-schema", "l3_cache_schema", True, None, "not supported (Intel RDT)"),
    Flag("--mem-bw-schema", "mem_bw_schema", True, None, "not supported (Intel RDT)"),
]

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_bytes(name: str, text: str) -> int:
    """runc's units.RAMInBytes: 512, 512k, 1.5g, 2GiB, -1."""
    t = text.strip().lower()
    if t == "-1":
        return -1
    for suffix in ("ib", "b"):
        if t.endswith(suffix) and len(t) > len(suffix) and t[-len(suffix) - 1] in "kmgtp":
            t = t[:-len(suffix)]
            break
    unit = t[-1] if t and t[-1] in "bkmgtp" else ""
    num = t[:-1] if unit else t
    try:
        value = float(num) if "." in num else int(num)
    except ValueError:
        raise Error("update", f"invalid value {text!r} for --{name.replace('_', '-')}: "
                              "not a size") from None
    if value < 0:
        raise Error("update", f"invalid value {text!r} for --{name.replace('_', '-')}")
    return int(value * _UNITS[unit])


def from_flags(opts: dict) -> dict:
    from runtime.args import integer

    r: dict = {}
    for dest, (section, key, kind) in _MAP.items():
        text = opts.get(dest)
        if text is None:
            continue
        flag = "--" + dest.replace("_", "-")
        if kind == "str":
            value: object = text
        elif kind == "bytes":
            value = parse_bytes(dest, text)
        else:
            value = integer("update", flag, text, minimum=-1)
        r.setdefault(section, {})[key] = value
    return r


def read_resources(path: str) -> dict:
    from runtime import jsonio

    try:
        if path == "-":
            chunks = []
            while True:
                b = os.read(0, 65536)
                if not b:
                    break
                chunks.append(b)
            data = b"".join(chunks)
        else:
            with open(path, "rb") as f:
                data = f.read()
    except OSError as e:
        raise Error("update", f"read {path}: {e.strerror or e}") from None
    try:
        r = jsonio.loads(data)
    except ValueError as e:
        raise Error("update", f"{path}: bad JSON: {e}") from None
    if not isinstance(r, dict):
        raise Error("update", f"{path}: not a linux.resources object")
    return r


def main(g, opts: dict, args: list[str]) -> int:
    from runtime.commands.pause import load_running

    for rdt in ("l3_cache_schema", "mem_bw_schema"):
        if opts.get(rdt):
            raise Error("update", f"--{rdt.replace('_', '-')}: Intel RDT is not supported")
    if opts["resources"] is not None:
        changes = read_resources(opts["resources"])
    else:
        changes = from_flags(opts)
    c, cg = load_running("update", g, args)
    try:
        cg.update(changes)
        c.state["cgroup"] = {**c.state["cgroup"], **cg.to_state()}
        c.save()
    finally:
        c.unlock()
    return 0
