"""config-linux.md / config.md fields, looked at from inside real containers:
user and time namespaces, sysctl, mount options, per-process settings,
devices, netDevices, and the security regressions runc had (symlinked
/proc and /dev, CVE-2024-21626 cwd, CVE-2019-5736 /proc/self/exe)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import uuid

import pytest

from e2e_util import (RUNTIME, assert_nothing_left, mounts_mentioning, new_id, status_fields)

UID_BASE = 100000
UID_SIZE = 65536


def has_applet(name: str) -> bool:
    r = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True)
    return name in r.stdout.split()


def add_applets(b, *names) -> None:
    for n in names:
        p = os.path.join(b.rootfs, "bin", n)
        if not os.path.lexists(p):
            os.symlink("busybox", p)


def mountinfo_line(out: str, dest: str) -> list[str]:
    """The last /proc/self/mountinfo line whose mount point is dest, split."""
    lines = [l.split() for l in out.splitlines() if len(l.split()) > 5 and l.split()[4] == dest]
    assert lines, f"{dest} not in\n{out}"
    return lines[-1]


def mnt_opts(line: list[str]) -> set[str]:
    return set(line[5].split(","))


def optional_fields(line: list[str]) -> list[str]:
    return line[6:line.index("-")]


def add_mount(b, **m) -> None:
    b.config["mounts"].append(m)


def traversable(path: str) -> None:
    """Let the mapped root (an unprivileged host uid) reach the bundle:
    pytest's temporary directories are 0700."""
    path = os.path.realpath(path)
    while path not in ("/", "/tmp"):
        st = os.stat(path)
        os.chmod(path, st.st_mode & 0o7777 | 0o011)
        path = os.path.dirname(path)


def userns(b, uid_base: int = UID_BASE, size: int = UID_SIZE) -> None:
    traversable(b.path)
    b.linux["namespaces"].append({"type": "user"})
    b.linux["uidMappings"] = [{"containerID": 0, "hostID": uid_base, "size": size}]
    b.linux["gidMappings"] = [{"containerID": 0, "hostID": uid_base, "size": size}]


def chown_tree(path: str, uid: int, gid: int) -> None:
    os.lchown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            os.lchown(os.path.join(root, n), uid, gid)


@pytest.fixture
def host_submount(tmp_path):
    """A host dir with a tmpfs mounted on its "sub" (cleaned up)."""
    d = tmp_path / "hostsub"
    (d / "sub").mkdir(parents=True)
    (d / "top").write_text("top\n")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "rt-e2e-sub", str(d / "sub")], check=True)
    try:
        (d / "sub" / "inner").write_text("inner\n")
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d / "sub")], capture_output=True)


# ====================================================================== user namespace

def test_userns_uid_map_id_and_ownership(run_in):
    def edit(b):
        userns(b)
        chown_tree(b.rootfs, UID_BASE, UID_BASE)
    r = run_in(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id; stat -c '%u:%g' /bin/busybox /etc/passwd;"
                " readlink /proc/self/ns/user"], edit=edit)
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[0].split() == ["0", str(UID_BASE), str(UID_SIZE)], r.out
    assert lines[1].split() == ["0", str(UID_BASE), str(UID_SIZE)], r.out
    assert lines[2].startswith("uid=0(root) gid=0(root)"), r.out
    assert lines[3:5] == ["0:0", "0:0"], r.out
    assert lines[5] != os.readlink("/proc/self/ns/user")


def test_userns_unchowned_rootfs_shows_overflow_owner(run_in):
    r = run_in(["sh", "-c", "stat -c '%u:%g' /etc/passwd; id -u"], edit=userns)
    assert r.rc == 0, r
    assert r.out.split() == ["65534:65534", "0"], r


def test_userns_file_created_inside_is_owned_by_mapped_host_id(run_in):
    def edit(b):
        userns(b)
        chown_tree(b.rootfs, UID_BASE, UID_BASE)
        b.process["user"] = {"uid": 1000, "gid": 1000}
        b.config["root"]["readonly"] = False
    r = run_in(["sh", "-c", "id -u; id -g; touch /tmp/made; grep -E '^(Uid|Gid)' /proc/self/status"], edit=edit)
    assert r.rc == 0, r
    assert r.out.split()[:2] == ["1000", "1000"], r
    st = os.stat(os.path.join(r.bundle.rootfs, "tmp", "made"))
    assert (st.st_uid, st.st_gid) == (UID_BASE + 1000, UID_BASE + 1000)


def test_userns_process_user_name_lookup_and_additional_gids(run_in):
    """additionalGids inside a new user namespace need setgroups allowed."""
    def edit(b):
        userns(b)
        chown_tree(b.rootfs, UID_BASE, UID_BASE)
        b.process["user"] = {"uid": 65534, "gid": 65534, "additionalGids": [10, 20]}
    r = run_in(["sh", "-c", "id; cat /proc/self/setgroups; grep '^Groups' /proc/self/status"], edit=edit)
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[0].startswith("uid=65534(nobody) gid=65534(nogroup)"), r.out
    assert lines[1] == "allow", r.out
    assert set(lines[2].split()[1:]) == {"10", "20"}, r.out


def test_userns_unmapped_user_fails_cleanly(run_in, rt, clean_failure):
    def edit(b):
        userns(b, size=1000)
        b.process["user"] = {"uid": 5000, "gid": 5000}
    r = run_in(["true"], edit=edit)
    clean_failure(r, r.id, r.bundle)


def test_userns_root_is_not_host_root(run_in, tmp_path):
    """Root in the user namespace cannot write a host-root-owned file bound in."""
    host = tmp_path / "rootowned"
    host.write_text("orig\n")
    os.chmod(host, 0o644)

    def edit(b):
        userns(b)
        chown_tree(b.rootfs, UID_BASE, UID_BASE)
        add_mount(b, destination="/hostfile", type="bind", source=str(host), options=["bind", "rw"])
    r = run_in(["sh", "-c", "echo pwned > /hostfile && echo WROTE; stat -c %u /hostfile"], edit=edit)
    assert "WROTE" not in r.out, r
    assert host.read_text() == "orig\n"
    assert r.out.split()[-1] == "65534", r


# ------------------------------------------------------------------ idmapped mounts

@pytest.fixture
def owned_1000(tmp_path):
    d = tmp_path / "owned1000"
    d.mkdir()
    (d / "f").write_text("x\n")
    chown_tree(str(d), 1000, 1000)
    os.chmod(d, 0o755)
    traversable(str(d))
    return d


def test_mount_idmap_explicit_mappings_without_userns(run_ok, owned_1000):
    """On-disk 1000 -> 2000 through the mount's mapping (containerID is the
    on-disk id, hostID what the mount shows)."""
    def edit(b):
        add_mount(b, destination="/data", type="bind", source=str(owned_1000), options=["bind", "idmap"],
                  uidMappings=[{"containerID": 1000, "hostID": 2000, "size": 1}],
                  gidMappings=[{"containerID": 1000, "hostID": 3000, "size": 1}])
    out = run_ok(["sh", "-c", "stat -c '%u:%g' /data /data/f; grep ' /data ' /proc/self/mountinfo"], edit=edit)
    lines = out.splitlines()
    assert lines[:2] == ["2000:3000", "2000:3000"], out
    assert "idmapped" in lines[2].split()[5].split(","), out
    st = os.stat(owned_1000)
    assert (st.st_uid, st.st_gid) == (1000, 1000), "host ownership must not change"


def test_mount_idmap_uses_container_mapping(run_ok, owned_1000):
    """`idmap` without mount mappings: the container's own mapping, so a
    host dir owned by 1000 shows as 1000 (65534 without the idmap)."""
    def edit(b):
        userns(b)
        chown_tree(b.rootfs, UID_BASE, UID_BASE)
        add_mount(b, destination="/data", type="bind", source=str(owned_1000), options=["bind", "idmap"])
        add_mount(b, destination="/plain", type="bind", source=str(owned_1000), options=["bind"])
    os.chmod(owned_1000, 0o777)  # the default caps have no CAP_DAC_OVERRIDE
    out = run_ok(["sh", "-c", "stat -c '%u:%g' /data/f /plain/f; touch /data/new"], edit=edit)
    assert out.split() == ["1000:1000", "65534:65534"], out
    # root in the container is host 100000, which the mount maps back to on-disk 0
    st = os.stat(owned_1000 / "new")
    assert (st.st_uid, st.st_gid) == (0, 0)


def test_mount_idmap_explicit_mappings_with_userns(run_ok, owned_1000):
    def edit(b):
        userns(b)
        chown_tree(b.rootfs, UID_BASE, UID_BASE)
        add_mount(b, destination="/data", type="bind", source=str(owned_1000), options=["bind", "idmap"],
                  uidMappings=[{"containerID": 1000, "hostID": UID_BASE, "size": 1}],
                  gidMappings=[{"containerID": 1000, "hostID": UID_BASE, "size": 1}])
    out = run_ok(["stat", "-c", "%u:%g", "/data/f"], edit=edit)
    assert out.strip() == "0:0", out


def test_mount_idmap_is_not_recursive_but_ridmap_is(run_ok, host_submount):
    chown_tree(str(host_submount), 1000, 1000)
    maps = dict(uidMappings=[{"containerID": 1000, "hostID": 2000, "size": 1}],
                gidMappings=[{"containerID": 1000, "hostID": 2000, "size": 1}])

    def edit(b):
        add_mount(b, destination="/i", type="bind", source=str(host_submount), options=["rbind", "idmap"], **maps)
        add_mount(b, destination="/r", type="bind", source=str(host_submount), options=["rbind", "ridmap"], **maps)
    out = run_ok(["sh", "-c", "stat -c '%u' /i/top /i/sub/inner /r/top /r/sub/inner"], edit=edit)
    assert out.split() == ["2000", "1000", "2000", "2000"], out


def test_mount_idmap_without_any_mapping_is_an_error(run_in, clean_failure, owned_1000):
    def edit(b):
        add_mount(b, destination="/data", type="bind", source=str(owned_1000), options=["bind", "idmap"])
    r = run_in(["true"], edit=edit)
    clean_failure(r, r.id, r.bundle)


# ====================================================================== time namespace

def test_time_namespace_offsets(run_in):
    mono, boot = 10 * 86400, 20 * 86400

    def edit(b):
        b.linux["namespaces"].append({"type": "time"})
        b.linux["timeOffsets"] = {"monotonic": {"secs": mono, "nanosecs": 0},
                                  "boottime": {"secs": boot, "nanosecs": 0}}
    with open("/proc/uptime") as f:
        host_before = float(f.read().split()[0])
    r = run_in(["sh", "-c", "cat /proc/self/timens_offsets; cat /proc/uptime; readlink /proc/self/ns/time"],
               edit=edit)
    with open("/proc/uptime") as f:
        host_after = float(f.read().split()[0])
    assert r.rc == 0, r
    lines = r.out.splitlines()
    offs = {l.split()[0]: (int(l.split()[1]), int(l.split()[2])) for l in lines[:2]}
    assert offs == {"monotonic": (mono, 0), "boottime": (boot, 0)}, r.out
    up = float(lines[2].split()[0])
    assert host_before + boot - 1 <= up <= host_after + boot + 1, (up, host_before, host_after)
    assert lines[3] != os.readlink("/proc/self/ns/time")


def test_time_offsets_without_time_namespace_fail_cleanly(run_in, clean_failure):
    def edit(b):
        b.linux["timeOffsets"] = {"monotonic": {"secs": 10}}
    r = run_in(["true"], edit=edit)
    clean_failure(r, r.id, r.bundle)


# ====================================================================== sysctl

def test_sysctl_in_new_namespaces(run_ok):
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host_fwd = f.read()
    with open("/proc/sys/kernel/shmmax") as f:
        host_shmmax = f.read()

    def edit(b):
        b.linux["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456789",
                             "net.ipv4.conf.all.rp_filter": "2"}
    out = run_ok(["cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmax",
                  "/proc/sys/net/ipv4/conf/all/rp_filter"], edit=edit)
    assert out.split() == ["1", "123456789", "2"], out
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read() == host_fwd
    with open("/proc/sys/kernel/shmmax") as f:
        assert f.read() == host_shmmax


@pytest.mark.parametrize("key,value,drop_ns", [
    ("kernel.panic", "5", None),               # not namespaced
    ("vm.swappiness", "10", None),             # not namespaced
    ("net.ipv4.ip_forward", "1", "network"),   # namespaced, but the host's
    ("kernel.shmmax", "1234567", "ipc"),
])
def test_sysctl_refused_cleanly(run_in, clean_failure, key, value, drop_ns):
    path = "/proc/sys/" + key.replace(".", "/")
    with open(path) as f:
        before = f.read()

    def edit(b):
        if drop_ns:
            b.linux["namespaces"] = [n for n in b.linux["namespaces"] if n["type"] != drop_ns]
        b.linux["sysctl"] = {key: value}
    r = run_in(["true"], edit=edit)
    clean_failure(r, r.id, r.bundle)
    with open(path) as f:
        assert f.read() == before


# ====================================================================== mount options

def test_recursive_mount_attributes(run_ok, host_submount):
    def edit(b):
        add_mount(b, destination="/r", type="bind", source=str(host_submount),
                  options=["rbind", "rro", "rnosuid", "rnodev", "rnoexec"])
        add_mount(b, destination="/p", type="bind", source=str(host_submount), options=["rbind", "ro", "nosuid"])
    out = run_ok(["cat", "/proc/self/mountinfo"], edit=edit)
    for dest in ("/r", "/r/sub"):
        opts = mnt_opts(mountinfo_line(out, dest))
        assert {"ro", "nosuid", "nodev", "noexec"} <= opts, (dest, opts)
    # non-recursive flags stay on the top mount only
    assert {"ro", "nosuid"} <= mnt_opts(mountinfo_line(out, "/p"))
    assert "ro" not in mnt_opts(mountinfo_line(out, "/p/sub")), out
    # the host's mounts are untouched
    with open("/proc/self/mountinfo") as f:
        host = f.read()
    assert "ro" not in mnt_opts(mountinfo_line(host, str(host_submount / "sub")))


def test_nosymfollow_and_rnosymfollow(run_in, host_submount):
    os.symlink("/etc/passwd", host_submount / "link")

    def edit(b):
        add_mount(b, destination="/n", type="bind", source=str(host_submount), options=["rbind", "nosymfollow"])
        add_mount(b, destination="/rn", type="bind", source=str(host_submount), options=["rbind", "rnosymfollow"])
    r = run_in(["sh", "-c", "cat /proc/self/mountinfo; cat /n/link >/dev/null && echo FOLLOWED; true"], edit=edit)
    assert r.rc == 0, r
    assert "nosymfollow" in mnt_opts(mountinfo_line(r.out, "/n"))
    assert "nosymfollow" not in mnt_opts(mountinfo_line(r.out, "/n/sub"))
    assert "nosymfollow" in mnt_opts(mountinfo_line(r.out, "/rn"))
    assert "nosymfollow" in mnt_opts(mountinfo_line(r.out, "/rn/sub"))
    assert "FOLLOWED" not in r.out, r


@pytest.mark.parametrize("option,want,unwanted", [
    ("rnoatime", "noatime", "relatime"),
    ("rstrictatime", None, "relatime"),
    ("rnodiratime", "nodiratime", None),
    ("noatime", "noatime", "relatime"),
])
def test_atime_family(run_ok, host_submount, option, want, unwanted):
    def edit(b):
        add_mount(b, destination="/a", type="bind", source=str(host_submount), options=["rbind", option])
    out = run_ok(["cat", "/proc/self/mountinfo"], edit=edit)
    dests = ["/a", "/a/sub"] if option.startswith("r") else ["/a"]
    for dest in dests:
        opts = mnt_opts(mountinfo_line(out, dest))
        if want:
            assert want in opts, (option, dest, opts)
        if unwanted:
            assert unwanted not in opts, (option, dest, opts)


@pytest.mark.parametrize("rootfs_propagation", [
    None,
    "private",
    "slave",
])
def test_per_mount_propagation(run_ok, tmp_path, rootfs_propagation):
    srcs = {}
    for n in ("shared", "private", "unbindable", "slave"):
        srcs[n] = tmp_path / f"prop-{n}"
        srcs[n].mkdir()

    def edit(b):
        if rootfs_propagation:
            b.linux["rootfsPropagation"] = rootfs_propagation
        for n, src in srcs.items():
            add_mount(b, destination=f"/{n}", type="bind", source=str(src), options=["rbind", n])
    out = run_ok(["cat", "/proc/self/mountinfo"], edit=edit)
    assert any(f.startswith("shared:") for f in optional_fields(mountinfo_line(out, "/shared"))), out
    assert optional_fields(mountinfo_line(out, "/private")) == [], out
    assert "unbindable" in optional_fields(mountinfo_line(out, "/unbindable")), out
    assert not any(f.startswith("shared:") for f in optional_fields(mountinfo_line(out, "/slave"))), out


def test_relative_mount_destination(run_ok):
    def edit(b):
        add_mount(b, destination="rel/dir", type="tmpfs", source="tmpfs", options=["size=1m"])
    out = run_ok(["sh", "-c", "grep ' /rel/dir ' /proc/self/mountinfo | wc -l; touch /rel/dir/x && echo OK"],
                 edit=edit)
    assert out.split() == ["1", "OK"], out


def test_tmpfs_tmpcopyup(run_in):
    def edit(b):
        d = os.path.join(b.rootfs, "var", "data")
        os.makedirs(os.path.join(d, "nested"))
        with open(os.path.join(d, "file"), "w") as f:
            f.write("from image\n")
        with open(os.path.join(d, "nested", "deep"), "w") as f:
            f.write("deep\n")
        os.chmod(os.path.join(d, "file"), 0o640)
        os.symlink("file", os.path.join(d, "link"))
        add_mount(b, destination="/var/data", type="tmpfs", source="tmpfs", options=["tmpcopyup", "size=1m"])
    r = run_in(["sh", "-c", "grep ' /var/data ' /proc/self/mountinfo | cut -d' ' -f9; cat /var/data/file "
                "/var/data/nested/deep; stat -c %a /var/data/file; readlink /var/data/link; echo new > /var/data/file"],
               edit=edit)
    assert r.rc == 0, r
    assert r.out.splitlines() == ["tmpfs", "from image", "deep", "640", "file"], r
    with open(os.path.join(r.bundle.rootfs, "var", "data", "file")) as f:
        assert f.read() == "from image\n", "the write went to the image, not the tmpfs"


def test_bind_file_onto_missing_path(run_in, tmp_path):
    host = tmp_path / "single"
    host.write_text("single file\n")

    def edit(b):
        add_mount(b, destination="/not/yet/there.conf", type="bind", source=str(host), options=["bind", "ro"])
    r = run_in(["sh", "-c", "cat /not/yet/there.conf; stat -c %F /not/yet/there.conf"], edit=edit)
    assert r.rc == 0, r
    assert r.out.splitlines() == ["single file", "regular file"], r
    assert os.path.isfile(os.path.join(r.bundle.rootfs, "not", "yet", "there.conf"))


# ====================================================================== process

@pytest.mark.parametrize("umask,want_file,want_dir", [(0o077, "600", "700"), (0o002, "664", "775"), (0, "666", "777")])
def test_umask(run_ok, umask, want_file, want_dir):
    def edit(b):
        b.process.setdefault("user", {"uid": 0, "gid": 0})["umask"] = umask
    out = run_ok(["sh", "-c", "touch /dev/shm/f; mkdir /dev/shm/d; stat -c %a /dev/shm/f /dev/shm/d; grep Umask /proc/self/status"],
                 edit=edit)
    lines = out.splitlines()
    assert lines[:2] == [want_file, want_dir], out
    assert lines[2].split()[1] == f"{umask:04o}", out


def test_default_umask_is_0022(run_ok):
    out = run_ok(["grep", "Umask", "/proc/self/status"])
    assert out.split()[1] == "0022", out


def have_cap(n: int) -> bool:
    with open("/proc/self/status") as f:
        return bool(int(status_fields(f.read())["CapEff"], 16) & (1 << n))


@pytest.mark.parametrize("adj", [0, 500, 1000])
def test_oom_score_adj(run_ok, adj):
    def edit(b):
        b.process["oomScoreAdj"] = adj
    assert run_ok(["cat", "/proc/self/oom_score_adj"], edit=edit).strip() == str(adj)


def test_negative_oom_score_adj(run_in, clean_failure):
    """Lowering oom_score_adj needs CAP_SYS_RESOURCE (this VM has none): a clean error."""
    def edit(b):
        b.process["oomScoreAdj"] = -500
    r = run_in(["cat", "/proc/self/oom_score_adj"], edit=edit)
    if have_cap(24):
        assert r.rc == 0 and r.out.strip() == "-500", r
    else:
        clean_failure(r, r.id, r.bundle, contains="oomScoreAdj")


def stat_fields(text: str) -> list[str]:
    # /proc/PID/stat: "pid (comm) state ..." -- comm may contain spaces
    rest = text[text.rindex(")") + 2:].split()
    return ["pid", "comm"] + rest


@pytest.mark.parametrize("sched,policy,nice,rtprio", [
    ({"policy": "SCHED_BATCH", "nice": 7}, 3, 7, 0),
    ({"policy": "SCHED_IDLE"}, 5, 0, 0),
    ({"policy": "SCHED_OTHER", "nice": 4}, 0, 4, 0),
])
def test_scheduler(run_ok, sched, policy, nice, rtprio):
    def edit(b):
        b.process["scheduler"] = sched
    out = run_ok(["cat", "/proc/self/stat"], edit=edit)
    f = stat_fields(out)
    # proc(5): field 19 nice, 40 rt_priority, 41 policy (1-based)
    assert (int(f[40]), int(f[18]), int(f[39])) == (policy, nice, rtprio), out


def test_scheduler_realtime(run_in, clean_failure):
    """SCHED_RR: applied, or (cgroup v1 cpu controller with rt_runtime_us 0
    for the container's cgroup, as on this VM) refused by the kernel cleanly."""
    def edit(b):
        b.process["scheduler"] = {"policy": "SCHED_RR", "priority": 3}
    r = run_in(["cat", "/proc/self/stat"], edit=edit)
    if r.rc == 0:
        f = stat_fields(r.out)
        assert (int(f[40]), int(f[39])) == (2, 3), r.out
    else:
        clean_failure(r, r.id, r.bundle, contains="scheduler")


def test_scheduler_invalid_priority_fails_cleanly(run_in, clean_failure):
    def edit(b):
        b.process["scheduler"] = {"policy": "SCHED_FIFO", "priority": 200}
    r = run_in(["true"], edit=edit)
    clean_failure(r, r.id, r.bundle)


@pytest.mark.skipif(not has_applet("ionice"), reason="busybox has no ionice")
@pytest.mark.parametrize("cls,level,want", [
    ("IOPRIO_CLASS_BE", 6, "best-effort: prio 6"),
    ("IOPRIO_CLASS_IDLE", 0, "idle"),
    ("IOPRIO_CLASS_RT", 2, "realtime: prio 2"),
])
def test_io_priority(run_in, cls, level, want):
    def edit(b):
        b.process["ioPriority"] = {"class": cls, "priority": level}
        add_applets(b, "ionice")
    r = run_in(["ionice"], edit=edit)
    assert r.rc == 0, r
    assert r.out.strip().startswith(want), r


def test_exec_cpu_affinity_not_applied_to_init(run_ok):
    """config.md: execCPUAffinity 'is not applicable to the container's init process'."""
    with open("/proc/self/status") as f:
        host = status_fields(f.read())["Cpus_allowed_list"]

    def edit(b):
        b.process["execCPUAffinity"] = {"initial": "0", "final": "0"}
    out = run_ok(["grep", "Cpus_allowed_list", "/proc/self/status"], edit=edit)
    assert out.split()[1] == host, out


@pytest.mark.skipif(os.cpu_count() < 2, reason="needs two CPUs")
@pytest.mark.parametrize("aff,want", [({"final": "1"}, "1"), ({"initial": "0", "final": "1"}, "1"),
                                      ({"final": "0-1"}, "0-1")])
def test_exec_cpu_affinity_of_exec(rt, make_bundle, tmp_path, aff, want):
    import json
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("run", "-d", "--bundle", b.path, cid)
    proc = dict(b.process, args=["grep", "Cpus_allowed_list", "/proc/self/status"], execCPUAffinity=aff)
    p = tmp_path / "process.json"
    p.write_text(json.dumps(proc))
    r = rt("exec", "--process", str(p), cid)
    assert r.rc == 0, r
    assert r.out.split()[1] == want, r


def test_personality_linux32(run_ok):
    if os.uname().machine != "x86_64":
        pytest.skip("LINUX32 check written for x86_64")
    def edit(b):
        add_applets(b, "uname")
        b.linux["personality"] = {"domain": "LINUX32"}
    uname_m = run_ok(["uname", "-m"], edit=edit)
    assert uname_m.strip() in ("i686", "i386"), uname_m
    assert run_ok(["uname", "-m"], edit=lambda b: add_applets(b, "uname")).strip() == "x86_64"


def test_personality_linux_is_native(run_ok):
    def edit(b):
        add_applets(b, "uname")
        b.linux["personality"] = {"domain": "LINUX"}
    out = run_ok(["uname", "-m"], edit=edit)
    assert out.strip() == os.uname().machine


def online_nodes() -> list[int]:
    try:
        with open("/sys/devices/system/node/online") as f:
            text = f.read().strip()
    except OSError:
        return []
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += range(int(a), int(b or a) + 1)
    return out


def test_memory_policy_bind_to_online_node(run_ok):
    nodes = online_nodes()
    if not nodes:
        pytest.skip("no NUMA information")
    def edit(b):
        b.linux["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": str(nodes[0])}
    out = run_ok(["grep", "Mems_allowed_list", "/proc/self/status"], edit=edit)
    assert str(nodes[0]) in out


def test_memory_policy_offline_node_is_an_error(run_in, clean_failure):
    """set_mempolicy(MPOL_BIND) to a node that is not online is refused by
    the kernel: proof that the policy is really applied, not ignored."""
    nodes = online_nodes()
    if not nodes or max(nodes) >= 63:
        pytest.skip("no NUMA information")

    def edit(b):
        b.linux["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "63"}
    r = run_in(["true"], edit=edit)
    clean_failure(r, r.id, r.bundle)


def test_domainname_with_uts(run_ok):
    def edit(b):
        b.config["domainname"] = "cfg-linux.example"
        b.config["hostname"] = "cfg-linux"
    out = run_ok(["sh", "-c", "cat /proc/sys/kernel/domainname; hostname"], edit=edit)
    assert out.split() == ["cfg-linux.example", "cfg-linux"]


def test_rlimits_applied(run_ok):
    def edit(b):
        b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654},
                                {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
                                {"type": "RLIMIT_NPROC", "soft": 777, "hard": 888}]
    out = run_ok(["cat", "/proc/self/limits"], edit=edit)
    rows = {l[:26].strip(): l[26:].split()[:2] for l in out.splitlines()[1:]}
    assert rows["Max open files"] == ["321", "654"], out
    assert rows["Max core file size"] == ["0", "0"], out
    assert rows["Max processes"] == ["777", "888"], out


def test_rlimit_above_hard_limit_fails_cleanly(run_in, clean_failure):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("unlimited nofile hard limit")

    def edit(b):
        b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": hard + 1000}]
    r = run_in(["true"], edit=edit)
    # with CAP_SYS_RESOURCE raising is allowed; this VM has no CAP_SYS_RESOURCE
    with open("/proc/self/status") as f:
        eff = int(status_fields(f.read())["CapEff"], 16)
    if eff & (1 << 24):
        pytest.skip("the test process has CAP_SYS_RESOURCE")
    clean_failure(r, r.id, r.bundle)


# ====================================================================== devices

def test_config_device_mode_and_owner(run_ok):
    def edit(b):
        b.linux["devices"] = [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                               "fileMode": 0o640, "uid": 1000, "gid": 1001},
                              {"path": "/dev/sub/myzero", "type": "c", "major": 1, "minor": 5,
                               "fileMode": 0o600, "uid": 0, "gid": 0}]
    out = run_ok(["sh", "-c", "stat -c '%F %t:%T %a %u %g' /dev/mynull /dev/sub/myzero; "
                  "head -c 4 /dev/sub/myzero | wc -c"], edit=edit)
    lines = out.splitlines()
    assert lines[0] == "character special file 1:3 640 1000 1001", out
    assert lines[1] == "character special file 1:5 600 0 0", out
    assert lines[2].strip() == "4", out


def test_default_devices(run_ok):
    out = run_ok(["sh", "-c", "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done;"
                  " for l in fd stdin stdout stderr ptmx; do echo /dev/$l $(readlink /dev/$l); done"])
    want = {"/dev/null": "1:3", "/dev/zero": "1:5", "/dev/full": "1:7", "/dev/random": "1:8",
            "/dev/urandom": "1:9", "/dev/tty": "5:0"}
    lines = out.splitlines()
    for line in lines[:6]:
        name, _, rest = line.partition(" ")
        assert rest == f"character special file {want[name]} 666", out
    links = dict(l.split() for l in lines[6:])
    assert links == {"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0", "/dev/stdout": "/proc/self/fd/1",
                     "/dev/stderr": "/proc/self/fd/2", "/dev/ptmx": "pts/ptmx"}, out


def test_devices_in_user_namespace(run_ok):
    def edit(b):
        userns(b)
        chown_tree(b.rootfs, UID_BASE, UID_BASE)
    out = run_ok(["sh", "-c", "stat -c '%t:%T' /dev/null; echo hi > /dev/null && echo OK"], edit=edit)
    assert out.split() == ["1:3", "OK"], out


# ====================================================================== netDevices

@pytest.fixture
def test_netns():
    if shutil.which("ip") is None:
        pytest.skip("no ip(8)")
    name = f"rt-cl-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    try:
        # no dummy module on this kernel: one end of a veth pair, made inside the test's netns
        subprocess.run(["ip", "-n", name, "link", "add", "dummy0", "type", "veth", "peer", "name", "peer0"],
                       check=True, capture_output=True)
        subprocess.run(["ip", "-n", name, "addr", "add", "10.199.0.5/24", "dev", "dummy0"], check=True,
                       capture_output=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def in_netns(name: str) -> list[str]:
    # `ip netns exec` also remounts /sys, hiding the cgroup hierarchies the
    # runtime needs; nsenter switches the network namespace only.
    if shutil.which("nsenter"):
        return ["nsenter", f"--net=/run/netns/{name}"]
    return ["ip", "netns", "exec", name]


def test_net_devices_moved_renamed_addressed_up(rt, make_bundle, test_netns):
    b = make_bundle(["sh", "-c", "ip -o addr show dev ctr0; cat /sys/class/net/ctr0/flags; ls /sys/class/net"])
    b.linux["netDevices"] = {"dummy0": {"name": "ctr0"}}
    b.write()
    cid = new_id()
    r = subprocess.run([*in_netns(test_netns), *rt.argv("run", "--bundle", b.path, cid)],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    rt.ids.add(cid)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "10.199.0.5/24" in r.stdout, r.stdout
    flags = [l for l in r.stdout.splitlines() if l.startswith("0x")][0]
    assert int(flags, 16) & 0x1, f"not up: {r.stdout}"
    assert sorted(r.stdout.split()[-2:]) == ["ctr0", "lo"], r.stdout
    # the device left the test's namespace, and no host interface was touched
    links = subprocess.run(["ip", "-n", test_netns, "-o", "link"], capture_output=True, text=True).stdout
    assert "dummy0" not in links, links
    assert not os.path.exists(os.path.join(rt.root, cid))


def test_net_devices_missing_device_fails_cleanly(rt, make_bundle, test_netns):
    b = make_bundle(["true"])
    b.linux["netDevices"] = {"nosuchdev0": {"name": "ctr0"}}
    b.write()
    cid = new_id()
    r = subprocess.run([*in_netns(test_netns), *rt.argv("run", "--bundle", b.path, cid)],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    rt.ids.add(cid)
    assert r.returncode == 1, r
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("runtime: "), r.stderr
    assert_nothing_left(rt, cid, b)
    links = subprocess.run(["ip", "-n", test_netns, "-o", "addr"], capture_output=True, text=True).stdout
    assert "dummy0" in links and "10.199.0.5/24" in links, links


def test_net_devices_need_network_namespace(run_in, clean_failure):
    def edit(b):
        b.linux["namespaces"] = [n for n in b.linux["namespaces"] if n["type"] != "network"]
        b.linux["netDevices"] = {"dummy0": {}}
    r = run_in(["true"], edit=edit)
    clean_failure(r, r.id, r.bundle)


# ====================================================================== security regressions

@pytest.mark.parametrize("which", ["proc", "dev", "sys"])
def test_rootfs_special_dir_symlink_to_host(run_in, tmp_path, which):
    """runc CVE-2019-16884 / GHSA-fh74-hm69-rqjw style: /proc (or /dev, /sys)
    in the image is an absolute symlink to a host path."""
    target = tmp_path / f"host-{which}"
    target.mkdir()
    (target / "marker").write_text("host\n")
    missing = tmp_path / f"host-missing-{which}"

    def edit(b):
        p = os.path.join(b.rootfs, which)
        os.rmdir(p)
        os.symlink(str(target), p)
    r = run_in(["sh", "-c", f"ls /{which}/ >/dev/null; true"], edit=edit)
    assert os.listdir(target) == ["marker"], os.listdir(target)
    assert not mounts_mentioning(str(target)), mounts_mentioning(str(target))
    assert not missing.exists()
    if r.rc != 0:
        assert len(r.err.splitlines()) == 1 and r.err.startswith("runtime: "), r
        assert_nothing_left_after(r)


def assert_nothing_left_after(r):
    assert not mounts_mentioning(r.bundle.path), mounts_mentioning(r.bundle.path)


def test_mount_destination_symlink_to_host_path(run_in, tmp_path):
    host_target = tmp_path / "host-dest"
    host_target.mkdir()
    not_yet = tmp_path / "host-not-yet"

    def edit(b):
        os.symlink(str(host_target), os.path.join(b.rootfs, "data"))
        os.symlink(str(not_yet), os.path.join(b.rootfs, "data2"))
        add_mount(b, destination="/data", type="tmpfs", source="tmpfs", options=["size=1m"])
        add_mount(b, destination="/data2/sub", type="tmpfs", source="tmpfs", options=["size=1m"])
    r = run_in(["sh", "-c", "touch /data/in-tmpfs /data2/sub/x && echo OK; grep tmpfs /proc/self/mountinfo"],
               edit=edit)
    assert os.listdir(host_target) == []
    assert not not_yet.exists(), "a host path was created through the image's symlink"
    assert not mounts_mentioning(str(host_target))
    if r.rc == 0:
        # resolved inside the rootfs: the mount is at rootfs/<host path>
        assert "OK" in r.out, r
        assert os.path.isdir(os.path.join(r.bundle.rootfs, str(host_target).lstrip("/")))
    else:
        assert len(r.err.splitlines()) == 1 and r.err.startswith("runtime: "), r


@pytest.mark.parametrize("fd", range(3, 21))
def test_cwd_proc_self_fd_does_not_escape(run_in, fd):
    """CVE-2024-21626: a cwd through a leaked fd must not be a host dir."""
    script = ("cd ../../../../../../../../../../..; stat -c '%d:%i' . /; ls /bin/busybox >/dev/null && echo IN")

    def edit(b):
        b.process["cwd"] = f"/proc/self/fd/{fd}"
    r = run_in(["sh", "-c", script], edit=edit)
    if r.rc != 0:
        assert "Traceback" not in r.err, r
        assert r.err.startswith("runtime: ") or r.rc != 0
        return
    lines = r.out.splitlines()
    assert lines[0] == lines[1], f"cwd outside the container root: {r}"
    assert lines[2] == "IN"


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def runtime_init_path() -> str | None:
    import runtime as _rt  # the package under test, if importable
    p = os.path.join(os.path.dirname(_rt.__file__), "runtime-init")
    return p if os.path.exists(p) else None


def test_proc_1_exe_not_writable(run_in, busybox_copy):
    before = sha256(busybox_copy)
    r = run_in(["sh", "-c", "echo x >> /proc/1/exe && echo WROTE; echo x > /proc/self/exe && echo WROTE2; true"])
    assert r.rc == 0, r
    assert "WROTE" not in r.out, r
    assert sha256(busybox_copy) == before


def test_container_cannot_write_runtime_init_during_exec(rt, make_bundle):
    """CVE-2019-5736: while `runtime exec` runs its init in the container's
    pid namespace, the container tries to open every non-busybox
    /proc/PID/exe for writing. Neither the runtime nor runtime-init may change."""
    try:
        init = runtime_init_path()
    except ImportError:
        init = None
    real_runtime = os.path.realpath(shutil.which(RUNTIME) or RUNTIME)
    watched = [p for p in (init, real_runtime, "/proc/self/exe") if p]
    before = {p: sha256(p) for p in watched if p != "/proc/self/exe"}
    script = ("i=0; while [ $i -lt 4000 ]; do for p in /proc/[0-9]*; do e=$(readlink $p/exe 2>/dev/null);"
              " case \"$e\" in /bin/busybox|'') ;; *) echo \"SAW $p $e\"; (echo x >> $p/exe) 2>/dev/null && "
              "echo \"WROTE $e\";; esac; done; i=$((i+1)); done")
    b = make_bundle(["sh", "-c", script])
    cid = new_id()
    rt.ok("run", "-d", "--bundle", b.path, cid)
    for _ in range(15):
        rt("exec", cid, "true")
    rt("kill", cid, "KILL")
    for p, h in before.items():
        assert sha256(p) == h, f"{p} was modified from inside the container"


def test_cap_inh_empty_unless_listed(run_ok):
    out = run_ok(["grep", "-E", "^Cap(Inh|Amb)", "/proc/self/status"])
    f = status_fields(out)
    assert int(f["CapInh"], 16) == 0 and int(f["CapAmb"], 16) == 0, out

    def edit(b):
        b.process["capabilities"]["inheritable"] = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    out = run_ok(["grep", "-E", "^CapInh", "/proc/self/status"], edit=edit)
    assert int(status_fields(out)["CapInh"], 16) == (1 << 5) | (1 << 10), out


# ====================================================================== refused

def test_intel_rdt_refused_cleanly(run_in, clean_failure):
    def edit(b):
        b.linux["intelRdt"] = {"closID": "rt-e2e", "l3CacheSchema": "L3:0=ff"}
    r = run_in(["true"], edit=edit)
    clean_failure(r, r.id, r.bundle, contains="intelRdt")
