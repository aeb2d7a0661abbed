"""runtime.cgroups against this machine's real cgroups (run as root).

Every cgroup made here lives under a parent of our own, /runtime-test-<random>,
in every hierarchy; fixtures remove it even when a test fails, and a module
fixture checks nothing is left under /sys/fs/cgroup.  Only processes this
module spawns are ever put in (or killed from) those cgroups.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid

import pytest

from runtime.cgroups import (ContainerCgroup, Hierarchy, Layout, cgroup_path, detect,
                             parse_mountinfo)
from runtime.errors import Error

TEST_PREFIX = "runtime-test-"


def _real_layout():
    try:
        return detect()
    except Error:
        return None


LAYOUT = _real_layout()
needs_cgroups = pytest.mark.skipif(
    os.geteuid() != 0 or LAYOUT is None, reason="needs root and mounted cgroups")


# -- helpers / fixtures --------------------------------------------------------

def _all_leftovers() -> list[str]:
    if LAYOUT is None:
        return []
    out = []
    for h in LAYOUT.hierarchies:
        try:
            out += [os.path.join(h.mountpoint, n) for n in os.listdir(h.mountpoint)
                    if n.startswith(TEST_PREFIX)]
        except OSError:
            pass
    return out


def _procs_below(d: str) -> list[int]:
    pids = []
    for root, _dirs, _files in os.walk(d):
        try:
            with open(os.path.join(root, "cgroup.procs")) as f:
                pids += [int(x) for x in f.read().split() if int(x) > 0]
        except OSError:
            pass
    return pids


def _rm_tree(d: str) -> None:
    if not os.path.isdir(d):
        return
    for root, dirs, _files in os.walk(d, topdown=False):
        for sub in dirs:
            _rmdir_retry(os.path.join(root, sub))
    _rmdir_retry(d)


def _rmdir_retry(d: str) -> None:
    for _ in range(200):
        try:
            os.rmdir(d)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)
    os.rmdir(d)


@pytest.fixture(scope="module", autouse=True)
def nothing_left_behind():
    before = _all_leftovers()
    yield
    assert _all_leftovers() == before, "test cgroups left under /sys/fs/cgroup"


class Procs:
    """Processes this test spawns; all killed (by pid) at teardown."""

    def __init__(self):
        self.popens: list[subprocess.Popen] = []

    def spawn(self, argv) -> subprocess.Popen:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        self.popens.append(p)
        return p

    def cleanup(self):
        for p in self.popens:
            if p.poll() is None:
                p.kill()
            p.wait()


@pytest.fixture
def procs():
    p = Procs()
    yield p
    p.cleanup()


@pytest.fixture
def parent(procs):
    """A unique test parent path; torn down in every hierarchy afterwards.

    Teardown first kills what is left in it (only processes this test put
    there: the cgroup is ours), then removes every directory below it.
    """
    name = "/" + TEST_PREFIX + uuid.uuid4().hex[:12]
    yield name
    procs.cleanup()
    for h in LAYOUT.hierarchies:
        d = h.dir(name)
        for _ in range(50):
            left = _procs_below(d)
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
    for h in LAYOUT.hierarchies:
        _rm_tree(h.dir(name))


def _make_parent(name: str) -> None:
    """Pre-create ``name`` in every hierarchy, as an engine would."""
    for h in LAYOUT.hierarchies:
        d = h.dir(name)
        os.mkdir(d)
        if "cpuset" in h.controllers:
            for f in ("cpuset.cpus", "cpuset.mems"):
                with open(os.path.join(h.mountpoint, f)) as src:
                    value = src.read().strip()
                with open(os.path.join(d, f), "w") as dst:
                    dst.write(value)


def _proc_cgroups(pid: int) -> dict:
    """/proc/<pid>/cgroup as {frozenset(controllers) or 'v2': path}."""
    out = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            out["v2" if hid == "0" else frozenset(ctrls.split(","))] = path
    return out


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.01)
    return False


def _wait_pids(cg: ContainerCgroup, n: int, timeout: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = cg.pids()
        if len(pids) >= n:
            return pids
        time.sleep(0.01)
    return cg.pids()


def _spawn_forker(procs: Procs, cg: ContainerCgroup, tmp_path) -> tuple[subprocess.Popen, list[int]]:
    """A shell, moved into ``cg`` BEFORE it forks two sleepers (it waits on a
    fifo until it has been moved); returns it and the 3 pids in the cgroup."""
    fifo = str(tmp_path / "go")
    os.mkfifo(fifo)
    sh = procs.spawn(["sh", "-c", 'read x < "$1"; sleep 30 & sleep 30 & wait', "sh", fifo])
    cg.add(sh.pid)
    with open(fifo, "w") as f:
        f.write("go\n")
    pids = _wait_pids(cg, 3)
    assert sh.pid in pids and len(pids) == 3, pids
    return sh, pids


# -- cgroup_path ---------------------------------------------------------------

def test_cgroup_path_default_is_under_runtime_parent():
    assert cgroup_path(None, "abc") == "/runtime/abc"
    assert cgroup_path("", "abc") == "/runtime/abc"


def test_cgroup_path_absolute_is_kept():
    assert cgroup_path("/libpod_parent/libpod-123", "123") == "/libpod_parent/libpod-123"
    assert cgroup_path("/default/abc", "abc") == "/default/abc"
    assert cgroup_path("//default/./abc/", "abc") == "/default/abc"


def test_cgroup_path_relative_is_under_runtime_parent():
    assert cgroup_path("mygroup/abc", "abc") == "/runtime/mygroup/abc"


@pytest.mark.parametrize("bad", ["/a/../b", "../escape", "/..", "a/..", "/", "//", "/./", "."])
def test_cgroup_path_rejects_dotdot_and_root(bad):
    with pytest.raises(Error) as ei:
        cgroup_path(bad, "abc")
    assert ei.value.context == "cgroupsPath"


def test_cgroup_path_systemd_form_needs_the_flag():
    with pytest.raises(Error) as ei:
        cgroup_path("system.slice:runtime:abc", "abc")
    assert "--systemd-cgroup" in ei.value.reason


@pytest.mark.parametrize("spec,want", [
    ("system.slice:runtime:abc", "/system.slice/runtime-abc.scope"),
    ("machine-libpod.slice:libpod:abc", "/machine.slice/machine-libpod.slice/libpod-abc.scope"),
    ("a-b-c.slice:p:n", "/a.slice/a-b.slice/a-b-c.slice/p-n.scope"),
    ("-.slice:p:n", "/p-n.scope"),
    ("user.slice::n", "/user.slice/n.scope"),
    ("user.slice:p:", "/user.slice/p-abc.scope"),
    (None, "/system.slice/runtime-abc.scope"),
])
def test_cgroup_path_systemd_form_maps_to_cgroupfs(spec, want):
    assert cgroup_path(spec, "abc", systemd=True) == want


@pytest.mark.parametrize("spec", ["a:b", "nosuffix:p:n", "a--b.slice:p:n", "x.slice:p/q:n", "/abs/path"])
def test_cgroup_path_systemd_form_rejects_bad(spec):
    with pytest.raises(Error):
        cgroup_path(spec, "abc", systemd=True)


def test_cgroup_path_rejects_bad_default_id():
    with pytest.raises(Error):
        cgroup_path(None, "a/b")


# -- detection: pure parsing of sample mountinfo -------------------------------

V1_ONLY = """\
22 28 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
25 22 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 master:3 - cgroup cgroup rw,cpu,cpuacct
30 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,net_cls,net_prio
31 25 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory
32 25 0:30 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpuset,clone_children
33 25 0:31 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,pids
99 31 0:29 /docker/abc /var/lib/x\\040y/memory rw,relatime - cgroup cgroup rw,memory
"""

V2_ONLY = """\
24 31 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
36 24 0:31 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:10 - bpf bpf rw,mode=700
"""

HYBRID = """\
25 22 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:25 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
29 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory
"""


def test_parse_v1_only():
    layout = parse_mountinfo(V1_ONLY)
    assert layout.kind == "v1"
    assert layout.unified is None
    by_mnt = {h.mountpoint: h for h in layout.hierarchies}
    assert list(by_mnt) == ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/cpu,cpuacct",
                            "/sys/fs/cgroup/net_cls,net_prio", "/sys/fs/cgroup/memory",
                            "/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/pids"]
    assert by_mnt["/sys/fs/cgroup/systemd"].controllers == ["name=systemd"]
    assert by_mnt["/sys/fs/cgroup/cpu,cpuacct"].controllers == ["cpu", "cpuacct"]
    assert by_mnt["/sys/fs/cgroup/cpuset"].controllers == ["cpuset"]   # not clone_children
    assert all(h.version == 1 for h in layout.hierarchies)
    assert layout.find("cpuacct").mountpoint == "/sys/fs/cgroup/cpu,cpuacct"
    assert layout.find("name=systemd").name == "systemd"
    # the second mount of memory (a bind of a sub-tree) is not a new hierarchy
    assert by_mnt["/sys/fs/cgroup/memory"].root == "/"


def test_parse_prefers_root_mount_and_unescapes():
    text = ("99 31 0:29 /docker/abc /var/lib/x\\040y/memory rw,relatime - cgroup cgroup rw,memory\n"
            "31 25 0:29 / /sys/fs/cgroup/memory rw,relatime shared:13 - cgroup cgroup rw,memory\n")
    [h] = parse_mountinfo(text).hierarchies
    assert h.mountpoint == "/sys/fs/cgroup/memory" and h.root == "/"
    [h] = parse_mountinfo(text.splitlines()[0]).hierarchies
    assert h.mountpoint == "/var/lib/x y/memory" and h.root == "/docker/abc"


def test_parse_v2_only():
    layout = parse_mountinfo(V2_ONLY, read_controllers=lambda mnt: ["cpu", "memory", "pids"])
    assert layout.kind == "v2"
    [h] = layout.hierarchies
    assert (h.mountpoint, h.version, h.controllers) == ("/sys/fs/cgroup", 2, ["cpu", "memory", "pids"])
    assert layout.unified is h and layout.v1 == []


def test_parse_hybrid_and_nothing():
    layout = parse_mountinfo(HYBRID, read_controllers=lambda mnt: [])
    assert layout.kind == "hybrid"
    assert layout.unified.mountpoint == "/sys/fs/cgroup/unified"
    assert [h.controllers for h in layout.v1] == [["name=systemd"], ["memory"]]
    assert parse_mountinfo("").kind == ""
    assert parse_mountinfo("garbage line\n").hierarchies == []


def test_detect_accepts_text():
    assert detect(V2_ONLY, read_controllers=lambda m: []).kind == "v2"


def test_layout_round_trips():
    layout = parse_mountinfo(V1_ONLY)
    again = Layout.from_dict(json.loads(json.dumps(layout.to_dict())))
    assert again.hierarchies == layout.hierarchies and again.kind == "v1"


# -- detection: this machine ---------------------------------------------------

@needs_cgroups
def test_detect_this_machine():
    layout = detect()
    mounted = {h.mountpoint for h in layout.hierarchies}
    # every v1 hierarchy in /proc/self/cgroup that is mounted was found
    with open("/proc/self/cgroup") as f:
        lines = [ln.rstrip("\n").split(":", 2) for ln in f]
    v1_sets = {frozenset(c.split(",")) for hid, c, _ in lines if hid != "0"}
    found_sets = {frozenset(h.controllers) for h in layout.v1}
    assert found_sets <= v1_sets
    has_v2 = any(hid == "0" for hid, _, _ in lines)
    if os.path.exists("/sys/fs/cgroup/unified/cgroup.procs"):      # this VM: hybrid
        assert layout.kind == "hybrid"
        assert layout.unified.mountpoint == "/sys/fs/cgroup/unified"
        assert layout.find("name=systemd").mountpoint == "/sys/fs/cgroup/systemd"
        for c in ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"):
            assert layout.find(c) is not None, c
    elif os.path.exists("/sys/fs/cgroup/cgroup.procs"):
        assert layout.kind == "v2" and "/sys/fs/cgroup" in mounted
    else:
        assert layout.kind == "v1" and not has_v2 or layout.kind == "hybrid"
    if layout.unified is not None:
        with open(os.path.join(layout.unified.mountpoint, "cgroup.controllers")) as f:
            assert layout.unified.controllers == f.read().split()


# -- create / add / pids / signal / destroy on real cgroups --------------------

@needs_cgroups
def test_create_in_every_hierarchy(parent):
    cg = ContainerCgroup.create(parent + "/c1")
    assert cg.kind == LAYOUT.kind
    assert len(cg.dirs) == len(LAYOUT.hierarchies)
    for h in LAYOUT.hierarchies:
        assert os.path.isdir(h.dir(parent + "/c1")), h
        assert os.path.isdir(h.dir(parent))
    cpuset = LAYOUT.find("cpuset")
    if cpuset is not None:
        for p in (parent, parent + "/c1"):
            for f in ("cpuset.cpus", "cpuset.mems"):
                with open(os.path.join(cpuset.dir(p), f)) as fh:
                    assert fh.read().strip(), (p, f)
    cg.destroy()
    for h in LAYOUT.hierarchies:
        assert not os.path.exists(h.dir(parent)), "created parent must go too"


@needs_cgroups
def test_add_joins_every_hierarchy(parent, procs):
    path = parent + "/ctr"
    cg = ContainerCgroup.create(path)
    sleeper = procs.spawn(["sleep", "30"])
    cg.add(sleeper.pid)
    seen = _proc_cgroups(sleeper.pid)
    for h in LAYOUT.hierarchies:
        key = "v2" if h.version == 2 else frozenset(h.controllers)
        assert seen[key] == path, (h, seen)
    assert cg.pids() == [sleeper.pid]
    # pytest itself was not moved anywhere
    assert path not in open("/proc/self/cgroup").read()
    sleeper.kill()
    sleeper.wait()
    cg.destroy()


@needs_cgroups
def test_signal_all_sigkill_kills_forked_children(parent, procs, tmp_path):
    cg = ContainerCgroup.create(parent + "/ctr")
    # the shell is moved in first, then forks: its children are in the cgroup too
    sh, pids = _spawn_forker(procs, cg, tmp_path)
    cg.signal_all(signal.SIGKILL)
    sh.wait(timeout=5)
    for pid in pids:
        assert _wait_gone(pid), pid
    cg.destroy()
    for h in LAYOUT.hierarchies:
        assert not os.path.exists(h.dir(parent))


@pytest.mark.parametrize("which", ["v1", "v2"])
@needs_cgroups
def test_signal_all_per_driver(parent, procs, which, tmp_path):
    """The v1 path (freeze, kill, thaw) and the v2 path (cgroup.kill) alone."""
    hs = LAYOUT.v1 if which == "v1" else [LAYOUT.unified] if LAYOUT.unified else []
    if not hs:
        pytest.skip(f"no {which} hierarchy here")
    cg = ContainerCgroup.create(parent + "/ctr", Layout(hs))
    assert cg.kind == which
    sh, pids = _spawn_forker(procs, cg, tmp_path)
    cg.signal_all(signal.SIGKILL)
    sh.wait(timeout=5)
    for pid in pids:
        assert _wait_gone(pid), pid
    if which == "v1" and cg.driver.can_freeze():
        with open(LAYOUT.find("freezer").dir(parent + "/ctr") + "/freezer.state") as f:
            assert f.read().strip() == "THAWED"
    cg.destroy()


@needs_cgroups
def test_signal_all_other_signal(parent, procs):
    cg = ContainerCgroup.create(parent + "/ctr")
    p = procs.spawn(["sleep", "30"])
    cg.add(p.pid)
    cg.signal_all(signal.SIGTERM)
    assert p.wait(timeout=5) == -signal.SIGTERM
    cg.signal_all(signal.SIGTERM)          # nothing left: fine
    cg.destroy()


@needs_cgroups
def test_freeze_thaw(parent, procs):
    cg = ContainerCgroup.create(parent + "/ctr")
    p = procs.spawn(["sleep", "30"])
    cg.add(p.pid)
    cg.freeze(timeout=5)
    cg.thaw()
    cg.signal_all(signal.SIGKILL)
    p.wait(timeout=5)
    cg.destroy()


@needs_cgroups
def test_destroy_keeps_preexisting_parent(parent):
    _make_parent(parent)
    cg = ContainerCgroup.create(parent + "/mid/leaf")
    for h in LAYOUT.hierarchies:
        assert os.path.isdir(h.dir(parent + "/mid/leaf"))
    cg.destroy()
    for h in LAYOUT.hierarchies:
        assert os.path.isdir(h.dir(parent)), "pre-existing parent must stay"
        assert not os.path.exists(h.dir(parent + "/mid"))
    cg.destroy()                            # idempotent


@needs_cgroups
def test_existing_empty_leaf_is_accepted_and_kept(parent):
    _make_parent(parent)
    cg = ContainerCgroup.create(parent)
    assert all(not d["created"] for d in cg.to_state()["hierarchies"])
    cg.destroy()
    for h in LAYOUT.hierarchies:
        assert os.path.isdir(h.dir(parent))


@needs_cgroups
def test_shared_intermediate_survives_other_container(parent):
    _make_parent(parent)
    a = ContainerCgroup.create(parent + "/shared/a")     # creates "shared"
    b = ContainerCgroup.create(parent + "/shared/b")     # finds it
    a.destroy()
    for h in LAYOUT.hierarchies:
        assert os.path.isdir(h.dir(parent + "/shared/b"))
        assert not os.path.exists(h.dir(parent + "/shared/a"))
    b.destroy()
    for h in LAYOUT.hierarchies:
        assert not os.path.exists(h.dir(parent + "/shared/b"))


@needs_cgroups
def test_destroy_removes_subcgroups_made_inside(parent):
    cg = ContainerCgroup.create(parent + "/ctr")
    for d in cg.dirs:
        os.makedirs(os.path.join(d, "init.scope", "deeper"))
    cg.destroy()
    for h in LAYOUT.hierarchies:
        assert not os.path.exists(h.dir(parent))


@needs_cgroups
def test_destroy_busy_names_the_path_then_retries_exiting(parent, procs):
    cg = ContainerCgroup.create(parent + "/ctr")
    p = procs.spawn(["sleep", "30"])
    cg.add(p.pid)
    with pytest.raises(Error) as ei:
        cg.destroy(timeout=0.2)
    assert parent + "/ctr" in ei.value.reason and "busy" in ei.value.reason.lower()
    # kill without reaping: destroy copes (zombies/exiting tasks)
    os.kill(p.pid, signal.SIGKILL)
    cg.destroy(timeout=5)
    p.wait()
    for h in LAYOUT.hierarchies:
        assert not os.path.exists(h.dir(parent))


@needs_cgroups
def test_create_rejects_leaf_with_processes_and_undoes(parent, procs):
    """The last hierarchy's leaf already has a process: nothing may be left
    behind in the hierarchies processed before it."""
    _make_parent(parent)
    last = LAYOUT.hierarchies[-1]
    if "cpuset" in last.controllers:
        pytest.skip("last hierarchy is cpuset")
    os.mkdir(last.dir(parent + "/busy"))
    p = procs.spawn(["sleep", "30"])
    with open(os.path.join(last.dir(parent + "/busy"), "cgroup.procs"), "w") as f:
        f.write(str(p.pid))
    with pytest.raises(Error) as ei:
        ContainerCgroup.create(parent + "/busy")
    assert "is not empty" in ei.value.reason and last.dir(parent + "/busy") in ei.value.reason
    for h in LAYOUT.hierarchies[:-1]:
        assert not os.path.exists(h.dir(parent + "/busy")), h
        assert os.path.isdir(h.dir(parent))
    assert os.path.isdir(last.dir(parent + "/busy"))      # not ours: untouched


@needs_cgroups
def test_create_undoes_on_mkdir_failure(parent, tmp_path):
    bogus_file = tmp_path / "not-a-dir"
    bogus_file.write_text("")
    layout = Layout(list(LAYOUT.hierarchies) + [Hierarchy(str(bogus_file), 1, ["bogus"])])
    with pytest.raises(Error) as ei:
        ContainerCgroup.create(parent + "/x", layout)
    assert ei.value.context == "cgroup" and "mkdir" in ei.value.reason
    for h in LAYOUT.hierarchies:
        assert not os.path.exists(h.dir(parent)), h


@needs_cgroups
def test_state_round_trip(parent, procs):
    cg = ContainerCgroup.create(parent + "/ctr")
    state = json.loads(json.dumps(cg.to_state()))
    again = ContainerCgroup.from_state(state)
    assert again.path == cg.path and again.dirs == cg.dirs and again.kind == cg.kind
    p = procs.spawn(["sleep", "30"])
    again.add(p.pid)
    assert cg.pids() == [p.pid]
    again.signal_all(signal.SIGKILL)
    p.wait(timeout=5)
    again.destroy()
    for h in LAYOUT.hierarchies:
        assert not os.path.exists(h.dir(parent))
    with pytest.raises(Error):
        ContainerCgroup.from_state({"kind": "v9"})


def test_create_rejects_relative_and_dotdot():
    with pytest.raises(Error):
        ContainerCgroup.create("relative/x", Layout([]))
    with pytest.raises(Error):
        ContainerCgroup.create("/a/../b", Layout([]))


def test_apply_limit_of_unavailable_controller_is_an_error():
    from runtime.cgroups.v2 import V2Driver
    cg = ContainerCgroup(V2Driver.for_layout("/x", parse_mountinfo(V2_ONLY, read_controllers=lambda m: [])))
    cg.apply(None)
    cg.apply({})
    with pytest.raises(Error):
        cg.apply({"memory": {"limit": 1}})


# -- view mounts ---------------------------------------------------------------

def _unmade(text: str, path: str) -> ContainerCgroup:
    from runtime.cgroups import _driver_class
    layout = parse_mountinfo(text, read_controllers=lambda m: [])
    return ContainerCgroup(_driver_class(layout.kind).for_layout(path, layout))


def test_view_mounts_v1_and_hybrid():
    cg = _unmade(V1_ONLY, "/runtime/abc")
    assert cg.view_mounts() == [
        ("/sys/fs/cgroup/systemd/runtime/abc", "systemd"),
        ("/sys/fs/cgroup/cpu,cpuacct/runtime/abc", "cpu,cpuacct"),
        ("/sys/fs/cgroup/net_cls,net_prio/runtime/abc", "net_cls,net_prio"),
        ("/sys/fs/cgroup/memory/runtime/abc", "memory"),
        ("/sys/fs/cgroup/cpuset/runtime/abc", "cpuset"),
        ("/sys/fs/cgroup/pids/runtime/abc", "pids"),
    ]
    assert cg.view_symlinks() == [("cpu", "cpu,cpuacct"), ("cpuacct", "cpu,cpuacct"),
                                  ("net_cls", "net_cls,net_prio"), ("net_prio", "net_cls,net_prio")]
    cg = _unmade(HYBRID, "/runtime/abc")
    # hybrid: the v1 hierarchies only, as runc shows them
    assert ("/sys/fs/cgroup/unified/runtime/abc", "unified") not in cg.view_mounts()
    assert ("/sys/fs/cgroup/systemd/runtime/abc", "systemd") in cg.view_mounts()


def test_view_mounts_v2():
    cg = _unmade(V2_ONLY, "/default/abc")
    assert cg.view_mounts() == [("/sys/fs/cgroup/default/abc", "")]
    assert cg.view_symlinks() == []


@needs_cgroups
def test_view_mounts_this_machine(parent):
    cg = ContainerCgroup.create(parent + "/ctr")
    mounts = cg.view_mounts()
    for host, name in mounts:
        assert os.path.isdir(host)
    if cg.kind == "hybrid":
        names = [n for _, n in mounts]
        assert "memory" in names and "systemd" in names and "unified" not in names
    cg.destroy()
