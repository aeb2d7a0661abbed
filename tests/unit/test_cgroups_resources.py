"""linux.resources: the pure translation, the v2 driver against a mimic of
cgroupfs (controllers this machine binds to v1), and the real hierarchies.

Real cgroups are made only under /runtime-test-<random> (our own parent) and
removed in teardown; only processes spawned here are put in them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from runtime.cgroups import (ContainerCgroup, Hierarchy, Layout, detect, merge_resources,
                             prune_unset)
from runtime.cgroups.resources import (blkio_weight_to_io_weight, device_rules, plan,
                                       shares_to_weight, swap_v2)
from runtime.errors import Error

try:
    LAYOUT = detect()
except Error:
    LAYOUT = None
needs_root = pytest.mark.skipif(os.geteuid() != 0 or LAYOUT is None, reason="needs root and cgroups")
PREFIX = "runtime-test-"


def v1(c):
    return 1 if c else None


def v2(c):
    return 2


# -- pure translation ------------------------------------------------------------

def test_conversions_match_runc():
    assert shares_to_weight(0) == 0
    assert shares_to_weight(2) == 1
    assert shares_to_weight(1024) == 39
    assert shares_to_weight(262144) == 10000
    assert blkio_weight_to_io_weight(10) == 1
    assert blkio_weight_to_io_weight(1000) == 10000
    assert blkio_weight_to_io_weight(500) == 4950
    assert swap_v2(0, 0) is None
    assert swap_v2(-1, 100) == -1
    assert swap_v2(0, -1) == -1
    assert swap_v2(300, 100) == 200
    with pytest.raises(Error):
        swap_v2(50, 100)
    with pytest.raises(Error):
        swap_v2(50, 0)


def test_unset_values_engines_send_are_no_writes():
    docker = {"memory": {"limit": 0, "reservation": 0, "swap": 0, "kernel": 0},
              "cpu": {"shares": 0, "quota": 0, "period": 0, "realtimeRuntime": 0,
                      "realtimePeriod": 0, "cpus": "", "mems": ""},
              "pids": {"limit": 0}, "blockIO": {"weight": 0}, "network": {"classID": 0},
              "hugepageLimits": [], "rdma": {}, "unified": {}}
    none = lambda c: None   # noqa: E731 -- no controller at all: still fine
    assert plan(docker, none) == []
    assert plan(None, none) == []


def test_v1_plan():
    r = {"memory": {"limit": 100, "swap": 200, "reservation": 50, "swappiness": 10,
                    "disableOOMKiller": True, "useHierarchy": True},
         "cpu": {"shares": 512, "quota": 20000, "period": 100000, "burst": 0,
                 "realtimeRuntime": 10, "realtimePeriod": 1000, "cpus": "0", "mems": "0", "idle": 1},
         "pids": {"limit": -1},
         "blockIO": {"weight": 100, "leafWeight": 200,
                     "weightDevice": [{"major": 8, "minor": 0, "weight": 300}],
                     "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 10}],
                     "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 20}]},
         "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
         "network": {"classID": 7, "priorities": [{"name": "eth0", "priority": 3}]},
         "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}}}
    got = {(w.controller, w.files[0]): w.value for w in plan(r, v1)}
    assert got == {
        ("memory", "memory.limit_in_bytes"): "100", ("memory", "memory.memsw.limit_in_bytes"): "200",
        ("memory", "memory.soft_limit_in_bytes"): "50", ("memory", "memory.swappiness"): "10",
        ("memory", "memory.oom_control"): "1", ("memory", "memory.use_hierarchy"): "1",
        ("cpu", "cpu.shares"): "512", ("cpu", "cpu.cfs_quota_us"): "20000",
        ("cpu", "cpu.cfs_period_us"): "100000", ("cpu", "cpu.cfs_burst_us"): "0",
        ("cpu", "cpu.rt_runtime_us"): "10", ("cpu", "cpu.rt_period_us"): "1000",
        ("cpu", "cpu.idle"): "1", ("cpuset", "cpuset.cpus"): "0", ("cpuset", "cpuset.mems"): "0",
        ("pids", "pids.max"): "max",
        ("blkio", "blkio.weight"): "100", ("blkio", "blkio.leaf_weight"): "200",
        ("blkio", "blkio.weight_device"): "8:0 300",
        ("blkio", "blkio.throttle.read_bps_device"): "8:0 10",
        ("blkio", "blkio.throttle.write_iops_device"): "8:0 20",
        ("hugetlb", "hugetlb.2MB.limit_in_bytes"): "4194304",
        ("net_cls", "net_cls.classid"): "7", ("net_prio", "net_prio.ifpriomap"): "eth0 3",
        ("rdma", "rdma.max"): "mlx5_1 hca_handle=3 hca_object=10000",
    }


def test_v2_plan():
    r = {"memory": {"limit": 100, "swap": 300, "reservation": 50},
         "cpu": {"shares": 1024, "quota": 20000, "period": 100000, "burst": 5, "idle": 0,
                 "cpus": "0-1"},
         "pids": {"limit": 10},
         "blockIO": {"weight": 1000, "weightDevice": [{"major": 8, "minor": 16, "weight": 10}],
                     "throttleReadBpsDevice": [{"major": 8, "minor": 16, "rate": 2097152}],
                     "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 120}]},
         "hugepageLimits": [{"pageSize": "1GB", "limit": 0}],
         "unified": {"memory.high": "1000", "cgroup.max.depth": "3"}}
    got = [(w.controller, w.files[0], w.value) for w in plan(r, v2)]
    assert got == [
        ("memory", "memory.max", "100"), ("memory", "memory.swap.max", "200"),
        ("memory", "memory.low", "50"),
        ("cpu", "cpu.weight", "39"), ("cpu", "cpu.max", "20000 100000"), ("cpu", "cpu.max.burst", "5"),
        ("cpu", "cpu.idle", "0"), ("cpuset", "cpuset.cpus", "0-1"),
        ("pids", "pids.max", "10"),
        ("io", "io.weight", "default 10000"), ("io", "io.weight", "8:16 1"),
        ("io", "io.max", "8:16 rbps=2097152 wiops=120"),
        ("hugetlb", "hugetlb.1GB.max", "0"), ("hugetlb", "hugetlb.1GB.rsvd.max", "0"),
        ("@memory", "memory.high", "1000"), ("@", "cgroup.max.depth", "3"),
    ]
    assert [w.value for w in plan({"cpu": {"quota": -1, "period": 5000}}, v2)] == ["max 5000"]
    assert [w.value for w in plan({"memory": {"limit": -1}}, v2)] == ["max", "max"]


@pytest.mark.parametrize("r, words", [
    ({"network": {"classID": 1}}, "net_cls"),
    ({"network": {"priorities": [{"name": "lo", "priority": 1}]}}, "net_prio"),
    ({"rdma": {"mlx": {"hcaHandles": 1}}}, "rdma"),
    ({"unified": {"memory.max": "1"}}, "cgroup v2"),
    ({"memory": {"limit": 1}}, "memory controller"),
    ({"cpu": {"cpus": "0"}}, "cpuset controller"),
    ({"blockIO": {"weight": 100}}, "io controller"),
    ({"pids": {"limit": 5}}, "pids controller"),
])
def test_unavailable_controller_is_a_clear_error(r, words):
    with pytest.raises(Error) as e:
        plan(r, lambda c: None)
    assert words in str(e.value)


def test_bad_values_are_errors():
    for r in ({"cpu": {"shares": "x"}}, {"memory": {"swappiness": 101}},
              {"blockIO": {"weight": 5}}, {"unified": {"cgroup.procs": "1"}},
              {"unified": {"../x": "1"}}, {"hugepageLimits": [{"pageSize": "../2MB", "limit": 1}]},
              {"cpu": {"realtimeRuntime": 5}}):
        with pytest.raises(Error):
            plan(r, v2)


def test_kernel_memory_warns_and_is_ignored():
    seen = []
    assert plan({"memory": {"kernel": 100, "kernelTCP": 100}}, v1, seen.append) == []
    assert len(seen) == 2


def test_device_rules_default_devices_always_allowed():
    rules = device_rules([{"allow": False, "access": "rwm"}])
    assert rules[0] == (False, "a", -1, -1, "rwm")
    assert (True, "c", 1, 3, "rwm") in rules and (True, "c", 136, -1, "rwm") in rules
    with pytest.raises(Error):
        device_rules([{"allow": True, "type": "x"}])
    with pytest.raises(Error):
        device_rules([{"allow": True, "access": "rwx"}])


def test_prune_and_merge():
    assert prune_unset({"cpu": {"shares": 0, "quota": 100, "cpus": "", "burst": 0},
                        "memory": {"limit": 0}, "blockIO": {"weight": 0}}) == \
        {"cpu": {"quota": 100, "burst": 0}}
    assert merge_resources({"cpu": {"shares": 2, "quota": 1}, "pids": {"limit": 3}},
                           {"cpu": {"quota": 5}}) == \
        {"cpu": {"shares": 2, "quota": 5}, "pids": {"limit": 3}}


# -- v2 against a mimic of cgroupfs ------------------------------------------------
# File names and formats of Documentation/admin-guide/cgroup-v2.rst, for the
# controllers this machine binds to v1 (memory, cpu, pids, io) plus hugetlb.

V2_FILES = {
    "cgroup.procs": "", "cgroup.controllers": "cpuset cpu io memory hugetlb pids",
    "cgroup.subtree_control": "", "cgroup.freeze": "0",
    "cgroup.events": "populated 0\nfrozen 0\n",
    "memory.max": "max\n", "memory.low": "0\n", "memory.high": "max\n", "memory.swap.max": "max\n",
    "memory.current": "1048576\n", "memory.swap.current": "4096\n", "memory.peak": "2097152\n",
    "memory.stat": "anon 524288\nfile 262144\nkernel 8192\nsock 0\n",
    "memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n",
    "cpu.weight": "100\n", "cpu.max": "max 100000\n", "cpu.max.burst": "0\n", "cpu.idle": "0\n",
    "cpu.stat": ("usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 10\n"
                 "nr_throttled 2\nthrottled_usec 300\n"),
    "cpuset.cpus": "\n", "cpuset.mems": "\n",
    "pids.max": "max\n", "pids.current": "2\n",
    "io.weight": "default 100\n", "io.max": "",
    "io.stat": "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n",
    "hugetlb.2MB.max": "max\n", "hugetlb.2MB.rsvd.max": "max\n", "hugetlb.2MB.current": "0\n",
    "hugetlb.2MB.events": "max 0\n",
}


@pytest.fixture
def mimic(tmp_path):
    """A cgroup2 "mount" at tmp_path with /engine/c1 pre-made, files filled in."""
    root = tmp_path / "cg2"
    leaf = root / "engine" / "c1"
    leaf.mkdir(parents=True)
    for d in (root, root / "engine"):
        (d / "cgroup.subtree_control").write_text("cpuset cpu io memory hugetlb pids\n")
    for name, text in V2_FILES.items():
        (leaf / name).write_text(text)
    h = Hierarchy(str(root), 2, V2_FILES["cgroup.controllers"].split())
    cg = ContainerCgroup.create("/engine/c1", Layout([h]))
    return cg, leaf


def _files(leaf) -> dict:
    return {p.name: p.read_text().strip() for p in leaf.iterdir()}


def test_v2_mimic_apply(mimic):
    cg, leaf = mimic
    cg.apply({"memory": {"limit": 67108864, "swap": 134217728, "reservation": 1024},
              "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 1000, "idle": 1,
                      "cpus": "0", "mems": "0"},
              "pids": {"limit": 32},
              "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 16, "rate": 1}]},
              "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}],
              "unified": {"memory.high": "33554432"}})
    f = _files(leaf)
    assert f["memory.max"] == "67108864" and f["memory.swap.max"] == "67108864"
    assert f["memory.low"] == "1024" and f["memory.high"] == "33554432"
    assert f["cpu.weight"] == "39" and f["cpu.max"] == "50000 100000"
    assert f["cpu.max.burst"] == "1000" and f["cpu.idle"] == "1"
    assert f["cpuset.cpus"] == "0" and f["cpuset.mems"] == "0"
    assert f["pids.max"] == "32"
    assert f["io.max"] == "8:16 rbps=1"
    assert f["hugetlb.2MB.max"] == "2097152" and f["hugetlb.2MB.rsvd.max"] == "2097152"
    # update: 0 keeps, new values merge and are remembered in the state
    cg.update({"memory": {"limit": 0}, "pids": {"limit": 64}, "cpu": {"shares": 0}})
    assert _files(leaf)["pids.max"] == "64" and _files(leaf)["memory.max"] == "67108864"
    st = ContainerCgroup.from_state(json.loads(json.dumps(cg.to_state())))
    assert st.resources["pids"] == {"limit": 64} and st.resources["memory"]["limit"] == 67108864


def test_v2_mimic_missing_file_and_undelegated_controller(mimic, tmp_path):
    cg, leaf = mimic
    os.unlink(leaf / "cpu.max.burst")
    with pytest.raises(Error, match="cpu.max.burst does not exist"):
        cg.apply({"cpu": {"burst": 1}})
    (tmp_path / "cg2" / "engine" / "cgroup.subtree_control").write_text("cpu\n")
    with pytest.raises(Error, match="pids controller is not enabled in .*engine/cgroup.subtree_control"):
        cg.apply({"pids": {"limit": 3}})
    assert _files(leaf)["pids.max"] == "max"


def test_v2_mimic_enables_controllers_in_levels_we_created(tmp_path):
    root = tmp_path / "cg2"
    root.mkdir()
    (root / "cgroup.subtree_control").write_text("pids\n")
    h = Hierarchy(str(root), 2, ["pids"])
    cg = ContainerCgroup.create("/ours/c1", Layout([h]))
    (root / "ours" / "c1" / "pids.max").write_text("max\n")
    (root / "ours" / "cgroup.subtree_control").write_text("")
    cg.apply({"pids": {"limit": 5}})
    assert (root / "ours" / "cgroup.subtree_control").read_text() == "+pids"
    assert (root / "ours" / "c1" / "pids.max").read_text() == "5"


def test_v2_mimic_memory_check_before_update(mimic):
    cg, leaf = mimic
    with pytest.raises(Error, match="below the current usage"):
        cg.apply({"memory": {"limit": 4096, "checkBeforeUpdate": True}})
    cg.apply({"memory": {"limit": 4096}})


def test_v2_mimic_stats_and_oom(mimic):
    cg, leaf = mimic
    s = cg.stats()
    assert s["cpu"]["usage"] == {"total": 2000000, "kernel": 500000, "user": 1500000}
    assert s["cpu"]["throttling"] == {"periods": 10, "throttled_periods": 2, "throttled_time": 300000}
    assert s["memory"]["usage"] == {"limit": 2 ** 64 - 1, "usage": 1048576, "max": 2097152, "failcnt": 3}
    assert s["memory"]["swap"]["usage"] == 1048576 + 4096 and s["memory"]["cache"] == 262144
    assert s["memory"]["raw"]["anon"] == 524288
    assert s["pids"] == {"current": 2, "limit": 0}
    assert {"major": 8, "minor": 16, "op": "Read", "value": 1459200} in s["blkio"]["ioServiceBytesRecursive"]
    assert {"major": 8, "minor": 16, "op": "Write", "value": 353} in s["blkio"]["ioServicedRecursive"]
    assert s["hugetlb"] == {"2MB": {"usage": 0, "max": 2 ** 64 - 1, "failcnt": 0}}
    assert cg.oom_count() == 1


def test_v2_mimic_freeze_state(mimic):
    cg, leaf = mimic
    assert not cg.is_frozen()
    (leaf / "cgroup.events").write_text("populated 1\nfrozen 1\n")
    cg.freeze(timeout=0.5)
    assert (leaf / "cgroup.freeze").read_text() == "1" and cg.is_frozen()
    cg.thaw()
    assert not cg.is_frozen()


def test_v1_refuses_unified():
    from runtime.cgroups.v1 import V1Driver
    d = V1Driver("/x", [])
    with pytest.raises(Error, match="cgroup v2"):
        d.apply({"unified": {"pids.max": "1"}})


# -- this machine's real hierarchies -------------------------------------------------

@pytest.fixture
def real():
    """A container cgroup under our own parent; removed at teardown."""
    parent = "/" + PREFIX + uuid.uuid4().hex[:12]
    made: list[ContainerCgroup] = []
    popens: list[subprocess.Popen] = []

    def make(name="c1"):
        cg = ContainerCgroup.create(f"{parent}/{name}")
        made.append(cg)
        return cg

    make.parent = parent
    make.popens = popens
    yield make
    for p in popens:
        if p.poll() is None:
            p.kill()
        p.wait()
    for cg in made:
        try:
            cg.thaw()
        except Error:
            pass
        cg.destroy()
    for h in LAYOUT.hierarchies:
        try:
            os.rmdir(h.dir(parent))
        except FileNotFoundError:
            pass
    assert not [h for h in LAYOUT.hierarchies if os.path.exists(h.dir(parent))]


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def _v1dir(cg, controller):
    return cg.driver.dir_for_read(controller).dir


@needs_root
def test_real_v1_limits(real):
    if LAYOUT.kind not in ("v1", "hybrid"):
        pytest.skip("no v1 controllers")
    cg = real()
    # give our own parent a realtime budget, so the child may have one
    rt_parent = os.path.dirname(_v1dir(cg, "cpu"))
    has_rt = os.path.exists(os.path.join(rt_parent, "cpu.rt_runtime_us"))
    if has_rt:
        with open(os.path.join(rt_parent, "cpu.rt_runtime_us"), "w") as f:
            f.write("10000")
    res = {"memory": {"limit": 64 << 20, "swap": 128 << 20, "reservation": 32 << 20, "swappiness": 10},
           "cpu": {"shares": 512, "quota": 50000, "period": 100000, "burst": 1000, "cpus": "0",
                   "mems": "0", "idle": 0},
           "pids": {"limit": 20},
           "blockIO": {"throttleReadBpsDevice": [{"major": 254, "minor": 0, "rate": 1048576}],
                       "throttleWriteIOPSDevice": [{"major": 254, "minor": 0, "rate": 100}]}}
    if has_rt:
        res["cpu"].update(realtimePeriod=1000000, realtimeRuntime=1000)
    if not os.path.exists("/sys/block/vda"):
        del res["blockIO"]
    cg.apply(res)
    m, c, cs, p = (_v1dir(cg, x) for x in ("memory", "cpu", "cpuset", "pids"))
    assert _read(f"{m}/memory.limit_in_bytes") == str(64 << 20)
    assert _read(f"{m}/memory.memsw.limit_in_bytes") == str(128 << 20)
    assert _read(f"{m}/memory.soft_limit_in_bytes") == str(32 << 20)
    assert _read(f"{m}/memory.swappiness") == "10"
    assert _read(f"{c}/cpu.shares") == "512" and _read(f"{c}/cpu.cfs_quota_us") == "50000"
    assert _read(f"{c}/cpu.cfs_period_us") == "100000" and _read(f"{c}/cpu.cfs_burst_us") == "1000"
    if has_rt:
        assert _read(f"{c}/cpu.rt_runtime_us") == "1000"
    assert _read(f"{cs}/cpuset.cpus") == "0" and _read(f"{cs}/cpuset.mems") == "0"
    assert _read(f"{p}/pids.max") == "20"
    if "blockIO" in res:
        b = _v1dir(cg, "blkio")
        assert _read(f"{b}/blkio.throttle.read_bps_device") == "254:0 1048576"
        assert _read(f"{b}/blkio.throttle.write_iops_device") == "254:0 100"
    # raising memory above memsw: the order is swapped, as it must be
    cg.update({"memory": {"limit": 256 << 20, "swap": 512 << 20}})
    assert _read(f"{m}/memory.limit_in_bytes") == str(256 << 20)
    assert cg.resources["memory"]["swap"] == 512 << 20
    cg.update({"memory": {"limit": 16 << 20, "swap": 32 << 20}})
    assert _read(f"{m}/memory.memsw.limit_in_bytes") == str(32 << 20)
    # unset values are no-ops; unavailable controllers are errors
    cg.apply({"cpu": {"shares": 0}, "blockIO": {"weight": 0}, "network": {"classID": 0}})
    with pytest.raises(Error, match="net_cls"):
        cg.apply({"network": {"classID": 5}})
    if "blkio" in LAYOUT.find("blkio").controllers if LAYOUT.find("blkio") else False:
        b = _v1dir(cg, "blkio")
        if any(os.path.exists(f"{b}/{n}") for n in ("blkio.weight", "blkio.bfq.weight")):
            cg.apply({"blockIO": {"weight": 500}})


@needs_root
def test_real_hugetlb_on_unified_is_a_clear_error_when_not_delegated(real):
    u = LAYOUT.unified
    if u is None or "hugetlb" not in u.controllers:
        pytest.skip("no hugetlb on cgroup2")
    with open(os.path.join(u.mountpoint, "cgroup.subtree_control")) as f:
        if "hugetlb" in f.read().split():
            pytest.skip("hugetlb is delegated here")
    cg = real()
    with pytest.raises(Error, match="hugetlb controller is not enabled"):
        cg.apply({"hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}]})
    with open(os.path.join(u.mountpoint, "cgroup.subtree_control")) as f:
        assert "hugetlb" not in f.read().split()     # untouched


def _child(real, cg, code: str) -> subprocess.Popen:
    """A python child that waits for a line on stdin, then runs ``code``."""
    p = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.readline()\n" + code],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    real.popens.append(p)
    cg.add(p.pid)
    return p


@needs_root
def test_real_pids_limit_behaviour(real):
    if LAYOUT.find("pids") is None:
        pytest.skip("no pids controller on v1")
    cg = real()
    cg.apply({"pids": {"limit": 3}})
    p = _child(real, cg, """
import os, time
kids, err = [], None
for _ in range(6):
    try:
        pid = os.fork()
    except OSError as e:
        err = e.errno; break
    if pid == 0:
        time.sleep(2); os._exit(0)
    kids.append(pid)
print(len(kids), err)
""")
    out, _ = p.communicate(b"go\n", timeout=20)
    n, err = out.split()
    assert int(n) == 2 and err == b"11"      # EAGAIN beyond the limit


@needs_root
def test_real_memory_oom_is_counted(real):
    if LAYOUT.find("memory") is None:
        pytest.skip("no memory controller on v1")
    cg = real()
    cg.apply({"memory": {"limit": 32 << 20, "swap": 32 << 20}})
    p = _child(real, cg, "b = bytearray(200 << 20)\nprint('survived')")
    out, _ = p.communicate(b"go\n", timeout=30)
    assert p.returncode == -9 and b"survived" not in out
    assert cg.oom_count() >= 1
    assert cg.stats()["memory"]["usage"]["limit"] == 32 << 20


@needs_root
def test_real_devices_v1_behaviour(real, tmp_path):
    if LAYOUT.find("devices") is None:
        pytest.skip("no devices controller on v1")
    cg = real()
    cg.apply({"devices": [{"allow": False, "access": "rwm"},
                          {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "m"}]})
    lst = _read(os.path.join(_v1dir(cg, "devices"), "devices.list")).splitlines()
    assert "c 1:3 rwm" in lst and "c 1:11 m" in lst and "a *:* rwm" not in lst
    p = _child(real, cg, f"""
import os, errno
def tryopen(path):
    try:
        os.close(os.open(path, os.O_RDONLY)); return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
os.mknod({str(tmp_path / 'kmsg')!r}, 0o600 | 0o020000, os.makedev(1, 11))
print(tryopen("/dev/null"), tryopen({str(tmp_path / 'kmsg')!r}))
""")
    out, err = p.communicate(b"go\n", timeout=20)
    assert out.split() == [b"ok", b"EPERM"], err


@needs_root
def test_real_freeze_and_stats(real):
    cg = real()
    if not cg.can_freeze():
        pytest.skip("no freezer")
    p = _child(real, cg, "import time\nwhile True: time.sleep(0.01)")
    p.stdin.write(b"go\n")
    p.stdin.flush()
    cg.freeze()
    assert cg.is_frozen()
    with open(f"/proc/{p.pid}/stat") as f:
        time.sleep(0.05)
    cg.thaw()
    assert not cg.is_frozen()
    s = cg.stats()
    assert set(s) >= {"cpu", "memory", "pids", "blkio", "hugetlb"}
    assert s["pids"]["current"] >= 1
    json.dumps(s)
