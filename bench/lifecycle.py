#!/usr/bin/env python3
"""Side-by-side benchmark of runtime, runc and crun in one run.

For each runtime: N x (create, start, wait for exit, delete) of /bin/true,
N x `run` of /bin/true, the RSS of the init waiting in `created`, and the
per-subcommand wall time. Results are printed as absolute figures and as
ratios to runc (lower is better).

crun 1.8 refuses this machine's hybrid cgroup layout, so its part runs in a
private mount namespace with /sys/fs/cgroup/unified unmounted (as the project
guide describes); the other runtimes run in the normal namespace.

usage: bench/lifecycle.py [-n N] [--json FILE] [runtime ...]"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BUSYBOX = "/bin/busybox"


def make_bundle(path: str) -> None:
    rootfs = os.path.join(path, "rootfs")
    os.makedirs(os.path.join(rootfs, "bin"))
    shutil.copy(BUSYBOX, os.path.join(rootfs, "bin", "busybox"))
    for applet in ("true", "sh", "sleep"):
        os.symlink("busybox", os.path.join(rootfs, "bin", applet))
    config = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["/bin/true"],
            "env": ["PATH=/bin"], "cwd": "/",
            "capabilities": {k: ["CAP_KILL"] for k in ("bounding", "effective", "permitted")},
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "bench",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "cgroupsPath": "/runtime-bench/ctr",
        },
    }
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f)


def set_args(bundle: str, args: list[str], cgroup: str) -> None:
    p = os.path.join(bundle, "config.json")
    with open(p) as f:
        c = json.load(f)
    c["process"]["args"] = args
    c["linux"]["cgroupsPath"] = cgroup
    with open(p, "w") as f:
        json.dump(c, f)


def sh(argv: list[str]) -> float:
    # stderr goes to a file, not a pipe: the container inherits it, and a pipe
    # would keep subprocess.run waiting for EOF until the container exits.
    with tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        elapsed = time.perf_counter() - t
        if r.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv)}: exit {r.returncode}: {err.read().decode().strip()}")
    return elapsed


def wait_gone(pid: int) -> float:
    t = time.perf_counter()
    while True:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.0002)
    return time.perf_counter() - t


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def bench_one(binary: str, n: int, work: str) -> dict:
    root = os.path.join(work, "state")
    bundle = os.path.join(work, "bundle")
    make_bundle(bundle)
    base = [binary, "--root", root]
    steps = {"create": [], "start": [], "wait": [], "delete": [], "lifecycle": [], "run": []}
    for i in range(n):
        cid = f"b{i}"
        set_args(bundle, ["/bin/true"], f"/runtime-bench/{cid}")
        pidfile = os.path.join(work, f"{cid}.pid")
        t0 = time.perf_counter()
        steps["create"].append(sh(base + ["create", "--bundle", bundle, "--pid-file", pidfile, cid]))
        pid = int(open(pidfile).read())
        steps["start"].append(sh(base + ["start", cid]))
        steps["wait"].append(wait_gone(pid))
        steps["delete"].append(sh(base + ["delete", cid]))
        steps["lifecycle"].append(time.perf_counter() - t0)
    for i in range(n):
        cid = f"r{i}"
        set_args(bundle, ["/bin/true"], f"/runtime-bench/{cid}")
        steps["run"].append(sh(base + ["run", "--bundle", bundle, cid]))
    # RSS of the init waiting in `created`.
    set_args(bundle, ["/bin/true"], "/runtime-bench/rss")
    pidfile = os.path.join(work, "rss.pid")
    sh(base + ["create", "--bundle", bundle, "--pid-file", pidfile, "rss"])
    rss = rss_kb(int(open(pidfile).read()))
    sh(base + ["delete", "--force", "rss"])
    out = {k: statistics.median(v) * 1000 for k, v in steps.items()}
    out["init_rss_kb"] = rss
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: bench one binary, print JSON
    ap.add_argument("runtimes", nargs="*", default=["runtime", "runc", "crun"])
    a = ap.parse_args()
    if a.one:
        with tempfile.TemporaryDirectory(prefix="rt-bench-") as work:
            print(json.dumps(bench_one(a.one, a.n, work)))
        return 0
    results = {}
    for name in a.runtimes:
        binary = shutil.which(name)
        if not binary:
            print(f"skip {name}: not installed", file=sys.stderr)
            continue
        cmd = [sys.executable, os.path.abspath(__file__), "-n", str(a.n), "--one", binary]
        if os.path.basename(binary) == "crun" and os.path.ismount("/sys/fs/cgroup/unified"):
            # crun 1.8 refuses the hybrid layout; hide cgroup2 in a private mount ns.
            cmd = ["unshare", "-m", "sh", "-c", 'umount /sys/fs/cgroup/unified && exec "$@"', "sh"] + cmd
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{name} failed: {r.stderr.strip()}", file=sys.stderr)
            continue
        results[name] = json.loads(r.stdout)
    _cleanup_cgroups()
    keys = ["lifecycle", "create", "start", "wait", "delete", "run", "init_rss_kb"]
    names = list(results)
    print(f"{'median of ' + str(a.n):<16}" + "".join(f"{n:>12}" for n in names)
          + ("".join(f"{n + '/runc':>14}" for n in names if n != "runc") if "runc" in results else ""))
    for k in keys:
        unit = " KB" if k.endswith("kb") else " ms"
        row = f"{k + unit:<16}" + "".join(f"{results[n][k]:>12.1f}" for n in names)
        if "runc" in results:
            row += "".join(f"{results[n][k] / results['runc'][k]:>14.2f}" for n in names if n != "runc")
        print(row)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"n": a.n, "results": results}, f, indent=2)
    return 0


def _cleanup_cgroups() -> None:
    """Remove /runtime-bench in every hierarchy (it is ours; leaves are gone)."""
    for base in os.listdir("/sys/fs/cgroup") if os.path.isdir("/sys/fs/cgroup") else []:
        d = os.path.join("/sys/fs/cgroup", base, "runtime-bench")
        if os.path.isdir(d):
            for sub in sorted((os.path.join(d, s) for s in os.listdir(d) if os.path.isdir(os.path.join(d, s))), reverse=True):
                try:
                    os.rmdir(sub)
                except OSError:
                    pass
            try:
                os.rmdir(d)
            except OSError:
                pass
    if os.path.isdir("/sys/fs/cgroup/runtime-bench"):
        try:
            os.rmdir("/sys/fs/cgroup/runtime-bench")
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main())
