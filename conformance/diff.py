#!/usr/bin/env python3
"""Differential harness: the same bundle under runc and under `runtime`.

    python3 conformance/diff.py CONFIG.json [--runtime PATH] [--runc PATH] [--keep] [--all]

CONFIG.json is a partial config merged over the one `runc spec` writes
(terminal false); dicts merge recursively, lists and scalars replace, a null
removes the key, keys starting with "_" are comments.  A file whose "_merge"
is false is taken as the whole config.  process.args is always ["/probe"]
and process.terminal always false.

Placeholders, in any string of the config:
    {{id}}        the container id (differs per runtime, normalised away)
    {{parent}}    a cgroup parent of the harness's own, one per runtime
                  (cgroupsPath defaults to "/{{parent}}/{{id}}"; every
                  cgroupsPath must start with "/{{parent}}" so that the harness
                  can remove what it created)
    {{hostdir}}   a host directory (a file "file" in it, a tmpfs on "sub")
    {{hostfile}}  a host file
    {{ns:TYPE}}   /proc/PID/ns/TYPE of a namespace holder process started by
                  the harness (net, ipc, uts, pid, cgroup, mnt)

The probe (probe.c, built static and cached by source hash) runs as /probe
in a busybox rootfs and prints "key: value" lines; the harness normalises
what legitimately differs per run (namespace inodes -> host/holder/new,
container ids, bundle paths, cgroup parents) and prints each differing key.

Exit status: 0 identical, 1 different, 2 a runtime failed (its error printed).

As a library: compare(config) -> list[Difference]; run_both(config) gives
both normalised outputs.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import fnmatch
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE_SRC = os.path.join(HERE, "probe.c")
BUSYBOX = "/bin/busybox"
DEFAULT_RUNC = "/usr/sbin/runc"
TIMEOUT = 30
APPLETS = "sh ls cat id hostname mount grep sleep true false echo env stat".split()

CAP_NAMES = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
    "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
    "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO",
    "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE",
    "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
    "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
]


@dataclasses.dataclass(frozen=True)
class Difference:
    key: str
    runc: str | None      # None: the key is absent from runc's output
    runtime: str | None   # None: absent from ours

    def __str__(self) -> str:
        return f"{self.key}\n    runc:    {_show(self.key, self.runc)}\n    runtime: {_show(self.key, self.runtime)}"


class RuntimeFailure(Exception):
    def __init__(self, which: str, argv: list[str], returncode: int | None, stderr: str, stdout: str = ""):
        self.which, self.argv, self.returncode = which, argv, returncode
        self.stderr, self.stdout = stderr, stdout
        super().__init__(f"{which} failed (exit {returncode}): {' '.join(argv)}\n{stderr.strip()}")


def _show(key: str, value: str | None) -> str:
    if value is None:
        return "<absent>"
    if key.startswith("cap.") and all(c in "0123456789abcdef" for c in value):
        bits = int(value, 16)
        names = [n for i, n in enumerate(CAP_NAMES) if bits >> i & 1]
        extra = bits >> len(CAP_NAMES)
        return f"{value} [{' '.join(names) or '-'}{' +unknown' if extra else ''}]"
    return value


# ------------------------------------------------------------------ probe

def build_probe(cache_dir: str | None = None) -> str:
    """Compile probe.c statically; cached by source hash."""
    with open(PROBE_SRC, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    cache_dir = cache_dir or os.path.join(tempfile.gettempdir(), "conformance-probe")
    os.makedirs(cache_dir, exist_ok=True)
    out = os.path.join(cache_dir, f"probe-{digest}")
    if os.access(out, os.X_OK):
        return out
    tmp = f"{out}.{os.getpid()}.tmp"
    r = subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Wno-format-truncation", "-o", tmp, PROBE_SRC],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"building the probe failed:\n{r.stderr}")
    os.rename(tmp, out)
    return out


# ------------------------------------------------------------------ configs

_base_cache: dict = {}


def base_config(runc: str = DEFAULT_RUNC) -> dict:
    """The config.json `runc spec` writes, with terminal false."""
    if runc not in _base_cache:
        d = tempfile.mkdtemp(prefix="cfspec-")
        try:
            r = subprocess.run([runc, "spec", "--bundle", d], capture_output=True, text=True, timeout=TIMEOUT)
            if r.returncode != 0:
                raise RuntimeError(f"runc spec failed: {r.stderr}")
            with open(os.path.join(d, "config.json")) as f:
                cfg = json.load(f)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        cfg["process"]["terminal"] = False
        _base_cache[runc] = cfg
    return copy.deepcopy(_base_cache[runc])


def merge(base, partial):
    """dicts merge recursively, null deletes, everything else replaces."""
    if not isinstance(base, dict) or not isinstance(partial, dict):
        return copy.deepcopy(partial)
    out = copy.deepcopy(base)
    for k, v in partial.items():
        if k.startswith("_"):
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def full_config(partial: dict, runc: str = DEFAULT_RUNC) -> dict:
    if partial.get("_merge", True) is False:
        cfg = {k: copy.deepcopy(v) for k, v in partial.items() if not k.startswith("_")}
    else:
        cfg = merge(base_config(runc), partial)
    proc = cfg.setdefault("process", {})
    proc["args"] = ["/probe"]
    proc["terminal"] = False
    return cfg


def _substitute(obj, values: dict):
    if isinstance(obj, str):
        for k, v in values.items():
            obj = obj.replace("{{" + k + "}}", v)
        return obj
    if isinstance(obj, list):
        return [_substitute(x, values) for x in obj]
    if isinstance(obj, dict):
        return {k: _substitute(v, values) for k, v in obj.items()}
    return obj


def _uses(obj, placeholder: str) -> bool:
    return ("{{" + placeholder) in json.dumps(obj)


# ------------------------------------------------------------------ host fixtures

class _Host:
    """The host-side things a config may reference; shared by both runs."""

    def __init__(self, work: str, cfg: dict):
        self.work = work
        self.values: dict[str, str] = {}
        self.holder: subprocess.Popen | None = None
        self.holder_ns: dict[int, str] = {}
        self.mounted: list[str] = []
        if _uses(cfg, "hostdir"):
            d = os.path.join(work, "hostdir")
            os.makedirs(os.path.join(d, "sub"))
            with open(os.path.join(d, "file"), "w") as f:
                f.write("host\n")
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "cfsub", os.path.join(d, "sub")], check=True)
            self.mounted.append(os.path.join(d, "sub"))
            with open(os.path.join(d, "sub", "subfile"), "w") as f:
                f.write("sub\n")
            self.values["hostdir"] = d
        if _uses(cfg, "hostfile"):
            p = os.path.join(work, "hostfile")
            with open(p, "w") as f:
                f.write("host file\n")
            self.values["hostfile"] = p
        if _uses(cfg, "ns:"):
            self._start_holder()

    def _start_holder(self) -> None:
        # unshare forks sleep into the new pid namespace; the sleep holds them all
        self.holder = subprocess.Popen(
            ["unshare", "--net", "--ipc", "--uts", "--pid", "--cgroup", "--fork", "sleep", "300"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 5
        child = None
        while time.time() < deadline and child is None:
            try:
                with open(f"/proc/{self.holder.pid}/task/{self.holder.pid}/children") as f:
                    kids = f.read().split()
                if kids:
                    child = int(kids[0])
                    # wait until the child has exec'd sleep (namespaces are final)
                    with open(f"/proc/{child}/comm") as f:
                        if f.read().strip() != "sleep":
                            child = None
            except OSError:
                pass
            if child is None:
                time.sleep(0.01)
        if child is None:
            raise RuntimeError("namespace holder did not start")
        for ns in ("net", "ipc", "uts", "pid", "cgroup", "mnt"):
            self.values[f"ns:{ns}"] = f"/proc/{child}/ns/{ns}"
        for name in os.listdir(f"/proc/{child}/ns"):
            try:
                self.holder_ns[os.stat(f"/proc/{child}/ns/{name}").st_ino] = "holder"
            except OSError:
                pass

    def close(self) -> None:
        if self.holder is not None:
            # kill the sleep (init of the holder's pid namespace), then unshare
            try:
                with open(f"/proc/{self.holder.pid}/task/{self.holder.pid}/children") as f:
                    for k in f.read().split():
                        os.kill(int(k), signal.SIGKILL)
            except OSError:
                pass
            try:
                self.holder.kill()
            except OSError:
                pass
            self.holder.wait()
        for m in reversed(self.mounted):
            subprocess.run(["umount", "-l", m], capture_output=True)


def _host_ns() -> dict[int, str]:
    out = {}
    for name in os.listdir("/proc/self/ns"):
        try:
            out[os.stat(f"/proc/self/ns/{name}").st_ino] = "host"
        except OSError:
            pass
    return out


def _cgroup_mounts() -> list[str]:
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            sep = parts.index("-")
            if parts[sep + 1] in ("cgroup", "cgroup2"):
                out.append(parts[4])
    return out


def _remove_cgroup_tree(parent: str) -> list[str]:
    """rmdir every directory under <mount>/<parent>, deepest first."""
    left = []
    for mnt in _cgroup_mounts():
        top = os.path.join(mnt, parent)
        if not os.path.isdir(top):
            continue
        for dirpath, dirnames, _ in sorted(os.walk(top), key=lambda t: -t[0].count("/")):
            for attempt in range(50):
                try:
                    os.rmdir(dirpath)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
            else:
                left.append(dirpath)
    return left


# ------------------------------------------------------------------ running

def _make_rootfs(rootfs: str, probe: str, paths: list[str]) -> None:
    os.makedirs(os.path.join(rootfs, "bin"))
    for d in ("proc", "sys", "dev", "tmp", "etc", "root", "home/user"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
    shutil.copy2(BUSYBOX, os.path.join(rootfs, "bin", "busybox"))
    for a in APPLETS:
        os.symlink("busybox", os.path.join(rootfs, "bin", a))
    with open(os.path.join(rootfs, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n"
                "nobody:x:65534:65534:nobody:/:/bin/false\n")
    with open(os.path.join(rootfs, "etc", "group"), "w") as f:
        f.write("root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n")
    for name in ("hosts", "hostname", "resolv.conf"):
        with open(os.path.join(rootfs, "etc", name), "w") as f:
            f.write("# image file\n")
    shutil.copy2(probe, os.path.join(rootfs, "probe"))
    os.chmod(os.path.join(rootfs, "probe"), 0o755)
    with open(os.path.join(rootfs, "probe.paths"), "w") as f:
        f.write("".join(p + "\n" for p in paths))


def _probe_paths(cfg: dict) -> list[str]:
    linux = cfg.get("linux", {})
    out = list(linux.get("maskedPaths", [])) + list(linux.get("readonlyPaths", []))
    for m in cfg.get("mounts", []):
        d = m.get("destination", "")
        out.append(d if d.startswith("/") else "/" + d)
    for dev in linux.get("devices", []):
        out.append(dev.get("path", ""))
    cwd = cfg.get("process", {}).get("cwd")
    if cwd:
        out.append(cwd)
    return [p for p in out if p.startswith("/")]


def parse_output(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if ": " in line:
            k, v = line.split(": ", 1)
        elif line.endswith(":"):
            k, v = line[:-1], ""
        else:
            continue
        out[k] = v
    return out


def _normalise(out: dict[str, str], tokens: dict[str, str], ns_known: dict[int, str]) -> dict[str, str]:
    res = {}
    for k, v in out.items():
        for tok, rep in tokens.items():
            k = k.replace(tok, rep)
            v = v.replace(tok, rep)
        if k.startswith("ns."):
            try:
                v = ns_known.get(int(v), "new")
            except ValueError:
                pass
        res[k] = v
    return res


class _Run:
    def __init__(self, name: str, binary: str, work: str, token: str):
        self.name, self.binary = name, binary
        self.token = token
        self.id = f"cf-{token}"
        self.parent = f"cfparent-{token}"
        self.dir = os.path.join(work, f"bundle-{token}")
        self.root = os.path.join(work, f"state-{token}")
        self.rootfs = os.path.join(self.dir, "rootfs")

    def tokens(self) -> dict[str, str]:
        # longest first
        return {self.parent: "<parent>", f"bundle-{self.token}": "<bundle>", self.id: "<id>"}

    def prepare(self, cfg: dict, host: _Host, probe: str) -> dict:
        values = dict(host.values, id=self.id, parent=self.parent)
        cfg = copy.deepcopy(cfg)
        linux = cfg.setdefault("linux", {})
        if "cgroupsPath" not in linux:
            linux["cgroupsPath"] = "/{{parent}}/{{id}}"
        if not linux["cgroupsPath"].startswith("/{{parent}}"):
            raise ValueError("cgroupsPath must start with /{{parent}} (the harness removes what it creates)")
        cfg = _substitute(cfg, values)
        os.makedirs(self.dir)
        os.makedirs(self.root)
        root_path = cfg.get("root", {}).get("path", "rootfs")
        if root_path != "rootfs":
            raise ValueError("root.path must be 'rootfs'")
        _make_rootfs(self.rootfs, probe, _probe_paths(cfg))
        with open(os.path.join(self.dir, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1)
        return cfg

    def run(self) -> str:
        argv = [self.binary, "--root", self.root, "run", "--bundle", self.dir, self.id]
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=TIMEOUT, cwd=self.dir)
        except subprocess.TimeoutExpired as e:
            raise RuntimeFailure(self.name, argv, None, f"timed out after {TIMEOUT}s\n{e.stderr or ''}")
        if r.returncode != 0 or "pid: " not in r.stdout:
            raise RuntimeFailure(self.name, argv, r.returncode, r.stderr, r.stdout)
        return r.stdout

    def cleanup(self) -> list[str]:
        subprocess.run([self.binary, "--root", self.root, "delete", "--force", self.id],
                       capture_output=True, timeout=TIMEOUT)
        return _remove_cgroup_tree(self.parent)


def default_runtime() -> str:
    env = os.environ.get("RUNTIME")
    if env:
        return env
    found = shutil.which("runtime")
    if found:
        return found
    if os.access("/tmp/rt/rt", os.X_OK):
        return "/tmp/rt/rt"
    return "runtime"


def run_both(config: dict, runtime: str | None = None, runc: str = DEFAULT_RUNC,
             keep: bool = False, work_dir: str | None = None) -> tuple[dict, dict, str]:
    """Run config under both; return (runc output, our output, work dir), normalised.

    Raises RuntimeFailure when either runtime fails (after cleaning up)."""
    runtime = runtime or default_runtime()
    probe = build_probe()
    cfg = full_config(config, runc)
    work = tempfile.mkdtemp(prefix="cfdiff-", dir=work_dir)
    rand = uuid.uuid4().hex[:8]
    runs = [_Run("runc", runc, work, f"runc-{rand}"), _Run("runtime", runtime, work, f"rt-{rand}")]
    host = None
    outputs = {}
    try:
        host = _Host(work, cfg)
        ns_known = dict(_host_ns())
        ns_known.update(host.holder_ns)
        for r in runs:
            r.prepare(cfg, host, probe)
        for r in runs:
            try:
                raw = r.run()
            finally:
                left = r.cleanup()
                if left:
                    print(f"warning: cgroups left behind: {left}", file=sys.stderr)
            if keep:
                with open(os.path.join(work, f"{r.name}.out"), "w") as f:
                    f.write(raw)
            outputs[r.name] = _normalise(parse_output(raw), r.tokens(), ns_known)
    finally:
        if host is not None:
            host.close()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    return outputs["runc"], outputs["runtime"], work


def differences(a: dict[str, str], b: dict[str, str]) -> list[Difference]:
    return [Difference(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def compare(config: dict, runtime: str | None = None, runc: str = DEFAULT_RUNC,
            keep: bool = False) -> list[Difference]:
    a, b, _ = run_both(config, runtime, runc, keep)
    return differences(a, b)


def load_expected(path: str) -> list[dict]:
    with open(path) as f:
        return json.load(f)


def is_expected(config_name: str, d: Difference, expected: list[dict]) -> dict | None:
    for e in expected:
        if not fnmatch.fnmatchcase(config_name, e.get("config", "*")):
            continue
        if not fnmatch.fnmatchcase(d.key, e["key"]):
            continue
        if "runc" in e and not fnmatch.fnmatchcase(str(d.runc), e["runc"]):
            continue
        if "runtime" in e and not fnmatch.fnmatchcase(str(d.runtime), e["runtime"]):
            continue
        return e
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="run a config under runc and runtime, print differences")
    ap.add_argument("config", help="partial config (merged over `runc spec`) or one with \"_merge\": false")
    ap.add_argument("--runtime", default=None, help="our runtime (default $RUNTIME, runtime on PATH, /tmp/rt/rt)")
    ap.add_argument("--runc", default=DEFAULT_RUNC)
    ap.add_argument("--keep", action="store_true", help="keep the work dir (bundles, raw outputs)")
    ap.add_argument("--all", action="store_true", help="print both full normalised outputs too")
    ap.add_argument("--expected", default=None, help="expected_differences.json: mark listed differences")
    opts = ap.parse_args(argv)
    with open(opts.config) as f:
        config = json.load(f)
    name = os.path.splitext(os.path.basename(opts.config))[0]
    try:
        a, b, work = run_both(config, opts.runtime, opts.runc, opts.keep)
    except RuntimeFailure as e:
        print(f"error: {e}", file=sys.stderr)
        if e.stdout:
            print(e.stdout, file=sys.stderr)
        return 2
    if opts.keep:
        print(f"work dir: {work}")
    if opts.all:
        for k in sorted(set(a) | set(b)):
            print(f"{'=' if a.get(k) == b.get(k) else '!'} {k}: {a.get(k)}" + ("" if a.get(k) == b.get(k) else f"  | {b.get(k)}"))
    diffs = differences(a, b)
    expected = load_expected(opts.expected) if opts.expected else []
    for d in diffs:
        e = is_expected(name, d, expected)
        print(("[expected] " if e else "") + str(d))
    print(f"{len(diffs)} difference(s)" if diffs else "identical")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
