"""Translations of the per-process and per-namespace Linux settings the init
applies: sysctl, scheduler, I/O priority, personality, NUMA memory policy and
time namespace offsets. Each returns plan record arguments or raises Error."""

import os

from runtime.errors import Error

# Which namespace makes a sysctl key safe to write: the kernel scopes these
# keys to it, so the write cannot reach the host (runc's rules).
_IPC_KEYS = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
             "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}
_UTS_KEYS = {"kernel.hostname", "kernel.domainname"}

SCHED_POLICIES = {"SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3, "SCHED_ISO": 4,
                  "SCHED_IDLE": 5, "SCHED_DEADLINE": 6}
SCHED_FLAGS = {"SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02, "SCHED_FLAG_DL_OVERRUN": 0x04,
               "SCHED_FLAG_KEEP_POLICY": 0x08, "SCHED_FLAG_KEEP_PARAMS": 0x10,
               "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20, "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40}
IOPRIO_CLASSES = {"IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3}
PERSONALITY_DOMAINS = {"LINUX": 0x0000, "LINUX32": 0x0008}
MPOL_MODES = {"MPOL_DEFAULT": 0, "MPOL_PREFERRED": 1, "MPOL_BIND": 2, "MPOL_INTERLEAVE": 3, "MPOL_LOCAL": 4,
              "MPOL_PREFERRED_MANY": 5, "MPOL_WEIGHTED_INTERLEAVE": 6}
MPOL_FLAGS = {"MPOL_F_NUMA_BALANCING": 1 << 13, "MPOL_F_RELATIVE_NODES": 1 << 14, "MPOL_F_STATIC_NODES": 1 << 15}
CLOCKS = {"monotonic": 1, "boottime": 7}


def _private_namespace(config: dict, kind: str) -> bool:
    """A new namespace, or one joined by path that is not our own."""
    for ns in (config.get("linux") or {}).get("namespaces") or []:
        if ns.get("type") != kind:
            continue
        path = ns.get("path")
        if not path:
            return True
        own = {"network": "net", "mount": "mnt"}.get(kind, kind)
        try:
            a, b = os.stat(path), os.stat(f"/proc/self/ns/{own}")
        except OSError:
            return True  # reported elsewhere as a missing path
        return (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino)
    return False


def sysctl_problems(config: dict) -> list[str]:
    out = []
    for key in (config.get("linux") or {}).get("sysctl") or {}:
        if key in _IPC_KEYS or key.startswith("fs.mqueue."):
            kind = "ipc"
        elif key in _UTS_KEYS:
            kind = "uts"
        elif key.startswith("net."):
            kind = "network"
        else:
            out.append(f"linux.sysctl.{key}: not a namespaced sysctl; writing it would change the host")
            continue
        if "/" in key or ".." in key.split("."):
            out.append(f"linux.sysctl.{key}: invalid key")
        elif not _private_namespace(config, kind):
            out.append(f"linux.sysctl.{key}: needs the container's own {kind} namespace (linux.namespaces has none)")
    return out


def sysctls(config: dict) -> list[tuple[str, str]]:
    problems = sysctl_problems(config)
    if problems:
        raise Error("config", problems[0])
    return [(key.replace(".", "/"), str(value)) for key, value in ((config.get("linux") or {}).get("sysctl") or {}).items()]


def _lookup(table: dict, name: str, field: str) -> int:
    try:
        return table[name]
    except KeyError:
        raise Error(field, f"unknown value {name!r} (one of {', '.join(table)})") from None


def scheduler(s: dict) -> tuple:
    flags = 0
    for f in s.get("flags") or []:
        flags |= _lookup(SCHED_FLAGS, f, "process.scheduler.flags")
    return (_lookup(SCHED_POLICIES, s["policy"], "process.scheduler.policy"), flags, s.get("nice", 0),
            s.get("priority", 0), s.get("runtime", 0), s.get("deadline", 0), s.get("period", 0))


def ioprio(p: dict) -> int:
    level = p.get("priority", 0)
    if not 0 <= level <= 7:
        raise Error("process.ioPriority.priority", f"{level} is not in 0..7")
    return _lookup(IOPRIO_CLASSES, p["class"], "process.ioPriority.class") << 13 | level


def personality(p: dict) -> int:
    if p.get("flags"):
        raise Error("linux.personality.flags", "no personality flags are supported")
    return _lookup(PERSONALITY_DOMAINS, p["domain"], "linux.personality.domain")


def parse_list(text: str, field: str) -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7]."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise Error(field, f"invalid list {text!r} (want e.g. 0-3,7)") from None
        if a < 0 or b < a or b > 4095:
            raise Error(field, f"invalid range {part!r}")
        out.extend(range(a, b + 1))
    return out


def mempolicy(m: dict) -> tuple:
    mode = _lookup(MPOL_MODES, m["mode"], "linux.memoryPolicy.mode")
    for f in m.get("flags") or []:
        mode |= _lookup(MPOL_FLAGS, f, "linux.memoryPolicy.flags")
    nodes = parse_list(m.get("nodes") or "", "linux.memoryPolicy.nodes")
    words = [0] * ((max(nodes) // 64 + 1) if nodes else 0)
    for n in nodes:
        words[n // 64] |= 1 << (n % 64)
    return (mode, len(words) * 64 + 1 if words else 0, *words)


def time_offsets(offsets: dict) -> list[int]:
    out = []
    for name, value in (offsets or {}).items():
        out += [_lookup(CLOCKS, name, "linux.timeOffsets"), value.get("secs", 0), value.get("nanosecs", 0)]
    return out
