"""cgroup resources and the cgroup commands (pause, resume, update, ps, events).

Every container here gets linux.cgroupsPath under a parent of its own
(/rt-e2e-<random>/<id>), so the tests never touch a cgroup they did not make
and can check that the whole subtree is gone afterwards in EVERY mounted
hierarchy.  What is checked is the real thing: the files of the container's
cgroup on the host (found from /proc/<init pid>/cgroup) and what processes
inside the container can and cannot do.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from e2e_util import (cgroup_mounts, rmdir_leaf_first, assert_one_line_error, new_id, processes_rooted_at, status_fields,
                      wait_until)

MiB = 1 << 20

# ------------------------------------------------------------------ host side

def _read(path: str, default=None) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        if default is None:
            raise
        return default

def read(path: str) -> str:
    return _read(path).strip()

def v1_mount(controller: str) -> str | None:
    for mnt, version, ctrls, _ in cgroup_mounts():
        if version == 1 and controller in ctrls:
            return mnt
    return None

def v2_mount() -> str | None:
    for mnt, version, _, _ in cgroup_mounts():
        if version == 2:
            return mnt
    return None

def proc_cgroup(pid: int) -> dict:
    """/proc/<pid>/cgroup as {frozenset(controllers) or "v2": path}."""
    out: dict = {}
    for line in _read(f"/proc/{pid}/cgroup").splitlines():
        hid, ctrls, path = line.split(":", 2)
        if hid == "0" and ctrls == "":
            out["v2"] = path
        else:
            out[frozenset(ctrls.split(","))] = path
    return out

def _join(mnt: str, root: str, path: str) -> str:
    if root != "/" and path.startswith(root):
        path = path[len(root):]
    return os.path.join(mnt, path.lstrip("/"))

def cgroup_dirs_of(pid: int) -> dict[str, str]:
    """{mountpoint: host directory of pid's cgroup there}, every hierarchy."""
    pc = proc_cgroup(pid)
    out = {}
    for mnt, version, ctrls, root in cgroup_mounts():
        path = pc.get("v2") if version == 2 else pc.get(ctrls)
        if path is not None:
            out[mnt] = _join(mnt, root, path)
    return out

def controller_dir(pid: int, controller: str) -> tuple[int, str] | None:
    """(version, host dir) where ``controller`` of pid's cgroup lives."""
    pc = proc_cgroup(pid)
    for mnt, version, ctrls, root in cgroup_mounts():
        if version == 1 and controller in ctrls and ctrls in pc:
            return 1, _join(mnt, root, pc[ctrls])
    for mnt, version, ctrls, root in cgroup_mounts():
        if version == 2 and "v2" in pc:
            d = _join(mnt, root, pc["v2"])
            if controller in _read(os.path.join(d, "cgroup.controllers"), "").split():
                return 2, d
    return None

def cgfile(pid: int, controller: str, name: str) -> str:
    found = controller_dir(pid, controller)
    assert found is not None, f"no {controller} cgroup for pid {pid}: {proc_cgroup(pid)}"
    return read(os.path.join(found[1], name))

def need_controller(pid: int, controller: str) -> tuple[int, str]:
    found = controller_dir(pid, controller)
    if found is None:
        pytest.skip(f"the {controller} controller is not available on this host")
    return found

def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False

def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])     # utime + stime

def host_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))

# ------------------------------------------------------------------ fixtures

class CgParent:
    """A top-level cgroup name of our own, and the leftovers check for it."""

    def __init__(self) -> None:
        self.name = f"rt-e2e-{uuid.uuid4().hex[:10]}"
        self.tops = [self.name]          # top-level names (systemd slices are added)

    def path(self, cid: str) -> str:
        return f"/{self.name}/{cid}"

    def leftovers(self) -> list[str]:
        out = []
        for mnt, *_ in cgroup_mounts():
            for top in self.tops:
                d = os.path.join(mnt, top)
                if os.path.isdir(d):
                    out.append(d)
        return out

    def scrub(self) -> None:
        """Remove what the runtime left (only below our own top-level names):
        thaw, SIGKILL the container processes still in them, rmdir bottom-up."""
        for top in self.leftovers():
            dirs = [dp for dp, _, _ in os.walk(top)]
            for d in dirs:
                fs = os.path.join(d, "freezer.state")
                if os.path.exists(fs):
                    try:
                        with open(fs, "w") as f:
                            f.write("THAWED")
                    except OSError:
                        pass
                for tok in _read(os.path.join(d, "cgroup.procs"), "").split():
                    try:
                        os.kill(int(tok), signal.SIGKILL)
                    except (OSError, ValueError):
                        pass
            rmdir_leaf_first(dirs)

@pytest.fixture
def cgparent(rt):
    p = CgParent()
    yield p
    rt.cleanup()                         # delete --force everything first
    left = p.leftovers()
    p.scrub()
    assert not p.leftovers(), f"cannot remove leftover cgroups: {p.leftovers()}"
    assert not left, f"cgroups left behind after delete --force: {left}"

@pytest.fixture
def cbundle(make_bundle, cgparent):
    """cbundle(args, resources=None, writable=False, caps=()) -> (bundle, cid).

    cgroupsPath is /<our parent>/<cid>; ``resources`` replaces
    linux.resources (None: the default spec's, i.e. devices deny-all).
    """
    def make(args, resources=None, writable=False, caps=(), cid=None):
        cid = cid or new_id("cg")
        b = make_bundle(args)
        b.linux["cgroupsPath"] = cgparent.path(cid)
        if resources is not None:
            b.linux["resources"] = resources
        if writable:
            b.config["root"]["readonly"] = False
        for cap in caps:
            for kind in ("bounding", "effective", "permitted"):
                lst = b.process["capabilities"].setdefault(kind, [])
                if cap not in lst:
                    lst.append(cap)
        b.write()
        return b, cid
    return make

def start(rt, b, cid) -> int:
    rt.ok("run", "-d", "--bundle", b.path, cid)
    return rt.wait_status(cid, "running")["pid"]

def assert_all_gone(rt, cgparent, cid, bundle, pids=()) -> None:
    assert not os.path.exists(os.path.join(rt.root, cid)), os.listdir(rt.root)
    assert wait_until(lambda: not cgparent.leftovers(), 5), \
        f"cgroup dirs left: {cgparent.leftovers()}"
    for p in pids:
        assert wait_until(lambda: not pid_alive(p), 5), f"pid {p} survived"
    assert wait_until(lambda: not processes_rooted_at(bundle.rootfs), 5), \
        processes_rooted_at(bundle.rootfs)

def wait_file(path: str, needle: str, timeout: float = 15) -> str:
    assert wait_until(lambda: needle in _read(path, ""), timeout), \
        f"{path}: no {needle!r} in {_read(path, '')!r}"
    return _read(path)

# ------------------------------------------------------------------ limits -> files

def test_cgroup_is_the_configured_path_in_every_hierarchy(rt, cbundle, cgparent):
    b, cid = cbundle(["sleep", "60"])
    pid = start(rt, b, cid)
    pc = proc_cgroup(pid)
    mounts = cgroup_mounts()
    assert len(pc) >= len(mounts)
    for mnt, version, ctrls, root in mounts:
        key = "v2" if version == 2 else ctrls
        assert pc.get(key) == cgparent.path(cid), (mnt, pc)
        d = _join(mnt, root, pc[key])
        assert str(pid) in read(os.path.join(d, "cgroup.procs")).split(), d

def test_memory_limits_in_cgroup_files(rt, cbundle):
    res = {"memory": {"limit": 64 * MiB, "reservation": 32 * MiB, "swappiness": 10}}
    b, cid = cbundle(["sleep", "60"], res)
    pid = start(rt, b, cid)
    version, d = need_controller(pid, "memory")
    if version == 1:
        assert read(f"{d}/memory.limit_in_bytes") == str(64 * MiB)
        assert read(f"{d}/memory.soft_limit_in_bytes") == str(32 * MiB)
        assert read(f"{d}/memory.swappiness") == "10"
    else:
        assert read(f"{d}/memory.max") == str(64 * MiB)
        assert read(f"{d}/memory.low") == str(32 * MiB)

def test_cpu_shares_quota_period_in_cgroup_files(rt, cbundle):
    res = {"cpu": {"shares": 512, "quota": 50000, "period": 100000}}
    b, cid = cbundle(["sleep", "60"], res)
    pid = start(rt, b, cid)
    version, d = need_controller(pid, "cpu")
    if version == 1:
        assert read(f"{d}/cpu.shares") == "512"
        assert read(f"{d}/cpu.cfs_quota_us") == "50000"
        assert read(f"{d}/cpu.cfs_period_us") == "100000"
    else:
        assert read(f"{d}/cpu.weight") == str(1 + (512 - 2) * 9999 // 262142)
        assert read(f"{d}/cpu.max") == "50000 100000"

def test_cpu_quota_throttles_a_busy_loop(rt, cbundle):
    # 10% of one CPU: a busy loop gets throttled, which cpu.stat and
    # `events --stats` both show
    res = {"cpu": {"quota": 10000, "period": 100000}}
    b, cid = cbundle(["sh", "-c", "while :; do :; done"], res)
    pid = start(rt, b, cid)
    version, d = need_controller(pid, "cpu")
    t0 = cpu_ticks(pid)
    time.sleep(1.5)
    used = (cpu_ticks(pid) - t0) / os.sysconf("SC_CLK_TCK")
    assert used < 0.6, f"{used:.2f}s of CPU in 1.5s with a 10% quota"
    stat = dict(line.split() for line in read(f"{d}/cpu.stat").splitlines())
    assert int(stat["nr_throttled"]) > 0, stat
    ev = json.loads(rt.ok("events", "--stats", cid).out)
    assert ev["data"]["cpu"]["throttling"]["throttled_periods"] > 0, ev["data"]["cpu"]

def test_cpuset_cpus_in_file_and_inside(rt, cbundle):
    cpu = host_cpus()[-1]
    b, cid = cbundle(["sh", "-c", "grep Cpus_allowed_list /proc/self/status; sleep 60"],
                     {"cpu": {"cpus": str(cpu)}})
    pid = start(rt, b, cid)
    version, d = need_controller(pid, "cpuset")
    assert read(f"{d}/cpuset.cpus") == str(cpu)
    # the kernel applies it to the processes: init's affinity and a new one's
    assert status_fields(_read(f"/proc/{pid}/status"))["Cpus_allowed_list"] == str(cpu)
    r = rt.ok("exec", cid, "grep", "Cpus_allowed_list", "/proc/self/status")
    assert r.out.split() == ["Cpus_allowed_list:", str(cpu)]

def test_pids_limit_in_file(rt, cbundle):
    b, cid = cbundle(["sleep", "60"], {"pids": {"limit": 17}})
    pid = start(rt, b, cid)
    assert cgfile(pid, "pids", "pids.max") == "17"

def test_blkio_weight_in_file(rt, cbundle):
    # the weight files only exist below the root (and only with CFQ/BFQ):
    # look into the cgroup of a container without the limit first
    b, cid = cbundle(["sleep", "60"])
    probe = start(rt, b, cid)
    found = controller_dir(probe, "blkio") or controller_dir(probe, "io")
    if found is None:
        pytest.skip("neither the v1 blkio nor the v2 io controller is available")
    version, d = found
    names = ([n for n in ("blkio.weight", "blkio.bfq.weight") if os.path.exists(f"{d}/{n}")]
             if version == 1 else [n for n in ("io.weight",) if os.path.exists(f"{d}/{n}")])
    rt.ok("delete", "--force", cid)
    if not names:
        pytest.skip(f"{'blkio' if version == 1 else 'io'} has no weight file here "
                    "(no CFQ/BFQ io scheduler)")
    b, cid = cbundle(["sleep", "60"], {"blockIO": {"weight": 300}})
    pid = start(rt, b, cid)
    version, d = controller_dir(pid, "blkio") or controller_dir(pid, "io")
    if version == 1:
        # blkio.bfq.weight may read back as "default 300"
        assert read(os.path.join(d, names[0])).split()[-1] == "300"
    else:
        assert read(f"{d}/io.weight").splitlines()[0] == f"default {1 + (300 - 10) * 9999 // 990}"
    # and update changes it
    rt.ok("update", "--blkio-weight", "700", cid)
    assert read(os.path.join(d, names[0])).splitlines()[0].split()[-1] == \
        ("700" if version == 1 else str(1 + (700 - 10) * 9999 // 990))

# ------------------------------------------------------------------ behaviour

def test_pids_limit_stops_a_fork_loop(rt, cbundle):
    limit = 8
    script = ("(for i in $(seq 30); do sleep 60 & done) 2>/tmp/err; "
              "echo forkloop-done >/tmp/out; exec sleep 60")
    b, cid = cbundle(["sh", "-c", script], {"pids": {"limit": limit}}, writable=True)
    pid = start(rt, b, cid)
    wait_file(os.path.join(b.rootfs, "tmp", "out"), "forkloop-done")
    err = _read(os.path.join(b.rootfs, "tmp", "err"))
    assert "fork" in err and "Resource temporarily unavailable" in err, err
    version, d = need_controller(pid, "pids")
    current = int(read(f"{d}/pids.current"))
    assert current <= limit
    events = read(f"{d}/pids.events") if os.path.exists(f"{d}/pids.events") else ""
    if events:
        assert int(dict([events.split()[:2]])["max"]) >= 1, events
    pids = json.loads(rt.ok("ps", "--format", "json", cid).out)
    # the loop filled the container up to the limit, never beyond
    assert pid in pids and len(pids) <= limit
    assert len(pids) >= limit - 2, pids

def test_oom_kill_is_reported_by_events(rt, cbundle):
    limit = 32 * MiB
    mem = {"limit": limit}
    if v1_mount("memory") and os.path.exists(os.path.join(v1_mount("memory"),
                                                          "memory.memsw.limit_in_bytes")):
        mem["swap"] = limit          # no swapping out instead of the OOM kill
    script = ("while [ ! -e /tmp/go ]; do sleep 0.1; done; "
              "dd if=/dev/zero of=/dev/null bs=96M count=1; echo dd=$? >/tmp/out; exec sleep 60")
    b, cid = cbundle(["sh", "-c", script], {"memory": mem}, writable=True)
    pid = start(rt, b, cid)
    need_controller(pid, "memory")
    ev_out = os.path.join(b.path, "events.out")
    with open(ev_out, "w") as f:
        ev = rt.popen("events", "--interval", "1s", cid, stdout=f, stderr=subprocess.STDOUT)
    try:
        wait_file(ev_out, '"type":"stats"', 10)
        open(os.path.join(b.rootfs, "tmp", "go"), "w").close()
        out = wait_file(os.path.join(b.rootfs, "tmp", "out"), "dd=")
        assert out.strip() == "dd=137", out          # 128 + SIGKILL
        wait_file(ev_out, '"type":"oom"', 10)
    finally:
        if ev.poll() is None:
            ev.kill()
        ev.wait()
    lines = [json.loads(line) for line in _read(ev_out).splitlines() if line.strip()]
    assert {"type": "oom", "id": cid} in lines, lines
    for e in lines:
        assert e["id"] == cid and e["type"] in ("oom", "stats"), e
    # the container survives (only dd was killed); the kernel counted it
    assert rt.status(cid) == "running"
    version, d = controller_dir(pid, "memory")
    counters = dict(line.split() for line in
                    read(f"{d}/memory.oom_control" if version == 1 else f"{d}/memory.events")
                    .splitlines())
    assert int(counters["oom_kill"]) >= 1, counters
    stats = json.loads(rt.ok("events", "--stats", cid).out)
    usage = stats["data"]["memory"]["usage"]
    assert usage["limit"] == limit
    if version == 1:
        assert usage["max"] >= limit - 4 * MiB, usage        # it did hit the limit

def test_events_reports_oom_kill_of_init_and_ends(rt, cbundle):
    mem = {"limit": 24 * MiB}
    if v1_mount("memory") and os.path.exists(os.path.join(v1_mount("memory"),
                                                          "memory.memsw.limit_in_bytes")):
        mem["swap"] = 24 * MiB
    script = "while [ ! -e /tmp/go ]; do sleep 0.1; done; exec dd if=/dev/zero of=/dev/null bs=96M"
    b, cid = cbundle(["sh", "-c", script], {"memory": mem}, writable=True)
    pid = start(rt, b, cid)
    need_controller(pid, "memory")
    ev_out = os.path.join(b.path, "events.out")
    with open(ev_out, "w") as f:
        ev = rt.popen("events", "--interval", "10s", cid, stdout=f, stderr=subprocess.STDOUT)
    try:
        wait_file(ev_out, '"type":"stats"', 10)
        open(os.path.join(b.rootfs, "tmp", "go"), "w").close()
        rt.wait_status(cid, "stopped", 15)
        # the stream ends by itself once the container has stopped
        rc = ev.wait(timeout=10)
    finally:
        if ev.poll() is None:
            ev.kill()
            ev.wait()
    assert rc == 0
    lines = [json.loads(line) for line in _read(ev_out).splitlines() if line.strip()]
    assert {"type": "oom", "id": cid} in lines, lines

def test_events_stats_prints_one_stats_object(rt, cbundle):
    b, cid = cbundle(["sh", "-c", "sleep 60 & exec sleep 60"],
                     {"memory": {"limit": 48 * MiB}, "pids": {"limit": 20}})
    pid = start(rt, b, cid)
    assert wait_until(lambda: len(json.loads(rt.ok("ps", "-f", "json", cid).out)) == 2)
    r = rt.ok("events", "--stats", cid)
    lines = r.out.splitlines()
    assert len(lines) == 1, r
    ev = json.loads(lines[0])
    assert ev["type"] == "stats" and ev["id"] == cid
    data = ev["data"]
    if controller_dir(pid, "memory"):
        mem = data["memory"]
        assert mem["usage"]["limit"] == 48 * MiB
        assert mem["usage"]["usage"] > 0
        assert isinstance(mem["raw"], dict) and mem["raw"]
    if controller_dir(pid, "pids"):
        assert data["pids"] == {"current": 2, "limit": 20}
    assert data["cpu"]["usage"]["total"] > 0

def test_events_of_stopped_container_fails(rt, cbundle):
    b, cid = cbundle(["true"])
    rt.ok("run", "-d", "--bundle", b.path, cid)
    rt.wait_status(cid, "stopped")
    r = rt("events", "--stats", cid)
    assert_one_line_error(r)
    assert r.rc == 1

def _device_script(major: int, minor: int) -> str:
    return (f"mknod /tmp/dev c {major} {minor}; echo mknod=$?; "
            "(exec 3>/tmp/dev) 2>/dev/null; echo open=$?; "
            "echo x >/dev/null; echo null=$?; "
            "echo zero=$(head -c 4 /dev/zero | wc -c); "
            "echo urandom=$(head -c 4 /dev/urandom | wc -c); "
            "echo full=$(head -c 4 /dev/full | wc -c); "
            "(echo x >/dev/full) 2>/tmp/full.err; cat /tmp/full.err")

def _kv(out: str) -> dict:
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

@pytest.mark.parametrize("restricted", [False, True], ids=["unrestricted", "deny-all"])
def test_devices_deny_all_allow_null(rt, cbundle, restricted):
    """/dev/kmsg (1:11) is not a default device: with deny-all + allow c 1:3
    a node made by mknod ("c *:* m" stays allowed, as with runc) cannot be
    opened; without device rules the same open works (the control)."""
    res = ({"devices": [{"allow": False, "access": "rwm"},
                        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]}
           if restricted else {})
    b, cid = cbundle(["sh", "-c", _device_script(1, 11)], res, writable=True,
                     caps=("CAP_MKNOD",))
    r = rt("run", "--bundle", b.path, cid)
    assert r.rc == 0, r
    kv = _kv(r.out)
    assert kv["mknod"] == "0", r
    assert kv["open"] == ("1" if restricted else "0"), r
    # the default devices stay usable either way
    assert kv["null"] == "0" and kv["zero"] == "4" and kv["urandom"] == "4" \
        and kv["full"] == "4", r
    assert "No space left on device" in r.out, r        # /dev/full opened and written

def test_devices_rules_on_host(rt, cbundle):
    res = {"devices": [{"allow": False, "access": "rwm"},
                       {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}]}
    b, cid = cbundle(["sleep", "60"], res)
    pid = start(rt, b, cid)
    found = controller_dir(pid, "devices")
    if found is None:
        pytest.skip("no v1 devices controller (v2 uses an eBPF program)")
    rules = read(f"{found[1]}/devices.list").splitlines()
    assert "a *:* rwm" not in rules, rules
    assert "c 1:3 rwm" in rules, rules              # also a default device
    assert "c 1:11 rwm" not in rules and "c *:* rwm" not in rules, rules

# ------------------------------------------------------------------ pause / resume

def freezer_state(pid: int) -> str:
    found = controller_dir(pid, "freezer")
    if found is not None:
        return read(f"{found[1]}/freezer.state")
    d = cgroup_dirs_of(pid).get(v2_mount() or "")
    events = dict(line.split() for line in read(f"{d}/cgroup.events").splitlines())
    return "FROZEN" if events.get("frozen") == "1" else "THAWED"

def _busy(rt, cbundle):
    b, cid = cbundle(["sh", "-c", "while :; do :; done"])
    pid = start(rt, b, cid)
    return b, cid, pid

def _progress(pid: int, seconds: float = 0.5) -> int:
    t0 = cpu_ticks(pid)
    time.sleep(seconds)
    return cpu_ticks(pid) - t0

def test_pause_resume(rt, cbundle):
    b, cid, pid = _busy(rt, cbundle)
    assert freezer_state(pid) == "THAWED"
    rt.ok("pause", cid)
    assert rt.status(cid) == "paused"
    assert freezer_state(pid) == "FROZEN"
    listed = {c["id"]: c for c in json.loads(rt.ok("list", "--format", "json").out)}
    assert listed[cid]["status"] == "paused"
    time.sleep(0.2)
    assert _progress(pid) == 0, "a frozen busy loop used CPU"
    # pausing twice, exec without --ignore-paused: errors, still paused
    r = rt("pause", cid)
    assert_one_line_error(r)
    r = rt("exec", cid, "true")
    assert_one_line_error(r)
    assert rt.status(cid) == "paused" and freezer_state(pid) == "FROZEN"

    rt.ok("resume", cid)
    assert rt.status(cid) == "running"
    assert freezer_state(pid) == "THAWED"
    assert wait_until(lambda: _progress(pid, 0.2) > 0, 5), "busy loop did not resume"
    r = rt("resume", cid)
    assert_one_line_error(r)
    assert rt.status(cid) == "running"

def test_pause_of_created_and_stopped(rt, cbundle):
    b, cid = cbundle(["true"])
    rt.ok("run", "-d", "--bundle", b.path, cid)
    rt.wait_status(cid, "stopped")
    for cmd in ("pause", "resume"):
        r = rt(cmd, cid)
        assert_one_line_error(r)
        assert r.rc == 1

def test_kill_of_paused_container(rt, cbundle, cgparent):
    b, cid, pid = _busy(rt, cbundle)
    rt.ok("pause", cid)
    assert freezer_state(pid) == "FROZEN"
    rt.ok("kill", cid, "KILL")
    rt.wait_status(cid, "stopped")
    assert wait_until(lambda: not pid_alive(pid), 5)
    rt.ok("delete", cid)
    assert_all_gone(rt, cgparent, cid, b, [pid])

def test_delete_force_of_paused_container(rt, cbundle, cgparent):
    b, cid, pid = _busy(rt, cbundle)
    rt.ok("exec", "--detach", cid, "sleep", "60")
    pids = json.loads(rt.ok("ps", "-f", "json", cid).out)
    assert len(pids) == 2
    rt.ok("pause", cid)
    assert rt.status(cid) == "paused"
    rt.ok("delete", "--force", cid)
    assert_all_gone(rt, cgparent, cid, b, pids)

def test_pause_of_created_container_reports_paused(rt, cbundle):
    b, cid = cbundle(["sleep", "60"])
    rt.ok("create", "--bundle", b.path, cid)
    pid = rt.state(cid)["pid"]
    rt.ok("pause", cid)
    assert freezer_state(pid) == "FROZEN"
    assert rt.status(cid) == "paused"
    rt.ok("resume", cid)
    assert rt.status(cid) == "created"

def test_start_of_paused_created_container_fails(rt, cbundle):
    b, cid = cbundle(["sleep", "60"])
    rt.ok("create", "--bundle", b.path, cid)
    rt.ok("pause", cid)
    r = rt("start", cid, timeout=5)          # hangs today: the timeout fails the test
    assert_one_line_error(r)
    assert r.rc == 1
    rt.ok("resume", cid)
    rt.ok("start", cid)
    rt.wait_status(cid, "running")

# ------------------------------------------------------------------ update

def test_update_flags_and_resources_stdin(rt, cbundle, tmp_path):
    b, cid = cbundle(["sleep", "60"], {"memory": {"limit": 64 * MiB}, "pids": {"limit": 20},
                                       "cpu": {"shares": 1024}})
    pid = start(rt, b, cid)
    mv, md = need_controller(pid, "memory")
    cv, cd = need_controller(pid, "cpu")
    pv, pd = need_controller(pid, "pids")
    mem_limit = f"{md}/memory.limit_in_bytes" if mv == 1 else f"{md}/memory.max"
    shares = (lambda: read(f"{cd}/cpu.shares")) if cv == 1 else None

    rt.ok("update", "--memory", "128m", "--pids-limit", "50", "--cpu-shares", "256", cid)
    assert read(mem_limit) == str(128 * MiB)
    assert read(f"{pd}/pids.max") == "50"
    if cv == 1:
        assert shares() == "256"
    else:
        assert read(f"{cd}/cpu.weight") == str(1 + (256 - 2) * 9999 // 262142)
    st = rt.state(cid)
    assert st["status"] == "running" and st["pid"] == pid

    # 0 leaves a value as it is; the others change
    changes = {"memory": {"limit": 0, "reservation": 32 * MiB},
               "cpu": {"shares": 0, "quota": 25000, "period": 100000},
               "pids": {"limit": 0}}
    rt.ok("update", "--resources", "-", cid, input=json.dumps(changes))
    assert read(mem_limit) == str(128 * MiB)
    assert read(f"{pd}/pids.max") == "50"
    if mv == 1:
        assert read(f"{md}/memory.soft_limit_in_bytes") == str(32 * MiB)
    else:
        assert read(f"{md}/memory.low") == str(32 * MiB)
    if cv == 1:
        assert shares() == "256"
        assert read(f"{cd}/cpu.cfs_quota_us") == "25000"
        assert read(f"{cd}/cpu.cfs_period_us") == "100000"
    else:
        assert read(f"{cd}/cpu.max") == "25000 100000"

    # a file works too, and -1 lifts the pids limit
    f = tmp_path / "res.json"
    f.write_text(json.dumps({"pids": {"limit": -1}}))
    rt.ok("update", "-r", str(f), cid)
    assert read(f"{pd}/pids.max") == "max"

    st = rt.state(cid)
    assert st["status"] == "running" and st["pid"] == pid and st["id"] == cid
    assert pid_alive(pid)
    # events sees the new limit
    ev = json.loads(rt.ok("events", "--stats", cid).out)
    assert ev["data"]["memory"]["usage"]["limit"] == 128 * MiB
    assert ev["data"]["pids"]["limit"] == 0

def test_update_below_usage_fails_and_changes_nothing(rt, cbundle):
    b, cid = cbundle(["sleep", "60"], {"memory": {"limit": 64 * MiB}})
    pid = start(rt, b, cid)
    mv, md = need_controller(pid, "memory")
    mem_limit = f"{md}/memory.limit_in_bytes" if mv == 1 else f"{md}/memory.max"
    r = rt("update", "--resources", "-", cid,
           input=json.dumps({"memory": {"limit": 8192, "checkBeforeUpdate": True}}))
    assert_one_line_error(r)
    assert r.rc == 1
    assert "usage" in r.err, r
    assert read(mem_limit) == str(64 * MiB)
    if mv == 1:
        # without checkBeforeUpdate the v1 kernel refuses it (EBUSY)
        r = rt("update", "--memory", "4096", cid)
        assert_one_line_error(r)
        assert r.rc == 1
        assert read(mem_limit) == str(64 * MiB)
    st = rt.state(cid)
    assert st["status"] == "running" and st["pid"] == pid
    ev = json.loads(rt.ok("events", "--stats", cid).out)
    assert ev["data"]["memory"]["usage"]["limit"] == 64 * MiB

@pytest.mark.parametrize("argv,stdin", [
    (["--memory", "lots"], None),
    (["--pids-limit", "many"], None),
    (["--resources", "-"], "{not json"),
    (["--resources", "-"], "[1, 2]"),
    (["--blkio-weight", "5"], None),
    (["--resources", "-"], '{"unified": {"cgroup.procs": "1"}}'),
    (["--resources", "-"], '{"pids": {"limit": "ten"}}'),
    (["--cpuset-cpus", "9999"], None),
])
def test_update_bad_values(rt, cbundle, argv, stdin):
    b, cid = cbundle(["sleep", "60"], {"pids": {"limit": 20}})
    pid = start(rt, b, cid)
    r = rt("update", *argv, cid, input=stdin)
    assert_one_line_error(r)
    assert r.rc == 1
    assert cgfile(pid, "pids", "pids.max") == "20"
    assert rt.status(cid) == "running"

def test_update_of_stopped_container_fails(rt, cbundle):
    b, cid = cbundle(["true"])
    rt.ok("run", "-d", "--bundle", b.path, cid)
    rt.wait_status(cid, "stopped")
    r = rt("update", "--pids-limit", "10", cid)
    assert_one_line_error(r)
    assert r.rc == 1

# ------------------------------------------------------------------ ps

def test_ps_json_lists_host_pids(rt, cbundle, cgparent):
    b, cid = cbundle(["sh", "-c", "sleep 60 & sleep 60 & wait"])
    pid = start(rt, b, cid)
    rt.ok("exec", "--detach", cid, "sleep", "61")
    assert wait_until(lambda: len(json.loads(rt.ok("ps", "--format", "json", cid).out)) == 4)
    r = rt.ok("ps", "--format", "json", cid)
    pids = json.loads(r.out)
    assert isinstance(pids, list) and all(isinstance(p, int) for p in pids)
    assert pid in pids
    for p in pids:
        # host pids, each one in the container's cgroup
        assert proc_cgroup(p)["v2" if v2_mount() else next(iter(proc_cgroup(p)))] \
            == cgparent.path(cid)
        assert os.readlink(f"/proc/{p}/exe").endswith("busybox")
    assert sorted(pids) == sorted(json.loads(rt.ok("ps", "-f", "json", cid).out))

def test_ps_table(rt, cbundle):
    if not shutil.which("ps"):
        pytest.skip("no ps(1) on the host")
    b, cid = cbundle(["sleep", "60"])
    pid = start(rt, b, cid)
    lines = rt.ok("ps", cid).out.splitlines()
    assert "PID" in lines[0].split()
    col = lines[0].split().index("PID")
    assert [int(line.split()[col]) for line in lines[1:]] == [pid]

# ------------------------------------------------------------------ delete --force

@pytest.mark.parametrize("pidns", [True, False], ids=["pid-ns", "host-pid-ns"])
def test_delete_force_kills_every_process_and_removes_every_hierarchy(rt, cbundle, cgparent,
                                                                      pidns):
    """Without a pid namespace the init's death kills nothing else: only the
    cgroup tells delete which processes are the container's."""
    b, cid = cbundle(["sh", "-c", "sleep 60 & exec sleep 60"])
    if not pidns:
        b.set_ns([ns["type"] for ns in b.linux["namespaces"] if ns["type"] != "pid"])
        b.write()
    pid = start(rt, b, cid)
    rt.ok("exec", "--detach", cid, "sleep", "60")
    rt.ok("exec", "--detach", cid, "sh", "-c", "sleep 60 & sleep 60 & wait")
    want = 6
    assert wait_until(lambda: len(json.loads(rt.ok("ps", "-f", "json", cid).out)) == want)
    pids = set(json.loads(rt.ok("ps", "-f", "json", cid).out))
    assert pid in pids
    dirs = cgroup_dirs_of(pid)
    assert len(dirs) == len(cgroup_mounts())
    # every process (exec'd ones too) is in the container's cgroup everywhere
    for mnt, d in dirs.items():
        assert os.path.dirname(d) == os.path.join(mnt, cgparent.name)
        assert set(map(int, read(f"{d}/cgroup.procs").split())) == pids, d
    rt.ok("delete", "--force", cid)
    assert_all_gone(rt, cgparent, cid, b, pids)
    for d in dirs.values():
        assert not os.path.exists(d), d

def test_delete_of_stopped_container_kills_leftovers(rt, cbundle, cgparent):
    """No pid namespace: the init exits, its background child stays in the
    cgroup; a plain delete of the stopped container kills it and removes
    the cgroup everywhere."""
    b, cid = cbundle(["sh", "-c", "sleep 61 & echo $! >/tmp/child"], writable=True)
    b.set_ns([ns["type"] for ns in b.linux["namespaces"] if ns["type"] != "pid"])
    b.write()
    rt.ok("run", "-d", "--bundle", b.path, cid)
    rt.wait_status(cid, "stopped")
    child = int(wait_file(os.path.join(b.rootfs, "tmp", "child"), "\n"))
    assert pid_alive(child)
    dirs = cgroup_dirs_of(child)
    assert len(dirs) == len(cgroup_mounts())
    assert all(os.path.dirname(d) == os.path.join(m, cgparent.name) for m, d in dirs.items())
    rt.ok("delete", cid)
    assert_all_gone(rt, cgparent, cid, b, [child])

# ------------------------------------------------------------------ systemd cgroup paths

def test_systemd_cgroup_path(rt, make_bundle, cgparent):
    stem = f"rte2e{uuid.uuid4().hex[:8]}"
    cgparent.tops.append(f"{stem}.slice")
    cid = new_id("sd")
    b = make_bundle(["sh", "-c", "sleep 60 & exec sleep 60"])
    b.linux["cgroupsPath"] = f"{stem}-a-b.slice:test:{cid}"
    b.linux["resources"]["pids"] = {"limit": 10}
    b.write()
    g = ["--systemd-cgroup"]
    rt.ok("run", "-d", "--bundle", b.path, cid, global_args=g)
    pid = rt.wait_status(cid, "running")["pid"]
    want = f"/{stem}.slice/{stem}-a.slice/{stem}-a-b.slice/test-{cid}.scope"
    pc = proc_cgroup(pid)
    for mnt, version, ctrls, _ in cgroup_mounts():
        assert pc["v2" if version == 2 else ctrls] == want, (mnt, pc)
    assert cgfile(pid, "pids", "pids.max") == "10"
    assert len(json.loads(rt.ok("ps", "-f", "json", cid, global_args=g).out)) == 2
    rt.ok("pause", cid, global_args=g)
    assert freezer_state(pid) == "FROZEN"
    rt.ok("resume", cid, global_args=g)
    rt.ok("delete", "--force", cid, global_args=g)
    assert_all_gone(rt, cgparent, cid, b, [pid])

def test_systemd_path_without_flag_is_an_error(rt, make_bundle, cgparent, clean_failure):
    stem = f"rte2e{uuid.uuid4().hex[:8]}"
    cgparent.tops.append(f"{stem}.slice")
    cid = new_id("sd")
    b = make_bundle(["sleep", "60"])
    b.linux["cgroupsPath"] = f"{stem}.slice:test:{cid}"
    b.write()
    r = rt("create", "--bundle", b.path, cid)
    assert r.rc == 1
    clean_failure(r, cid, b)
    assert not cgparent.leftovers()

# ------------------------------------------------------------------ invalid limits

def _unified_memory_case():
    v2 = v2_mount()
    if v2 is None:
        return None          # no cgroup2 at all: unified is refused up front
    if "memory" in _read(os.path.join(v2, "cgroup.controllers"), "").split():
        return "memory is a cgroup v2 controller here: unified memory.max is valid"
    return None

def _not_mounted(controller):
    def check():
        if v1_mount(controller) or controller in _read(
                os.path.join(v2_mount() or "/nonexistent", "cgroup.controllers"), "").split():
            return f"{controller} is available here"
        return None
    return check

BAD_RESOURCES = [
    pytest.param({"unified": {"memory.max": "100000000"}}, _unified_memory_case,
                 id="unified-memory"),
    pytest.param({"unified": {"cgroup.procs": "1"}}, lambda: None, id="unified-cgroup-procs"),
    pytest.param({"cpu": {"cpus": "9999"}}, lambda: None, id="cpuset-out-of-range"),
    pytest.param({"blockIO": {"weight": 5}}, lambda: None, id="blkio-weight-range"),
    pytest.param({"memory": {"swappiness": 150}}, lambda: None, id="swappiness-range"),
    pytest.param({"pids": {"limit": "ten"}}, lambda: None, id="pids-not-int"),
    pytest.param({"network": {"classID": 5}}, _not_mounted("net_cls"), id="net_cls-missing"),
    pytest.param({"rdma": {"mlx4_0": {"hcaHandles": 2}}}, _not_mounted("rdma"), id="rdma-missing"),
    pytest.param({"memory": {"limit": 4096}}, lambda: None, id="memory-below-usage"),
]

@pytest.mark.parametrize("resources,skip_if", BAD_RESOURCES)
@pytest.mark.parametrize("cmd", ["create", "run"])
def test_invalid_limit_fails_cleanly(rt, cbundle, cgparent, clean_failure, resources, skip_if,
                                     cmd):
    why = skip_if()
    if why:
        pytest.skip(why)
    b, cid = cbundle(["sleep", "60"], resources)
    args = [cmd, "--bundle", b.path, cid] if cmd == "create" else [cmd, "-d", "--bundle",
                                                                       b.path, cid]
    r = rt(*args)
    assert r.rc == 1, r
    clean_failure(r, cid, b)
    assert not cgparent.leftovers(), cgparent.leftovers()
