"""What the container process sees from inside: namespaces, mounts, identity,
capabilities, devices, fds, cgroups."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid

import pytest

from e2e_util import (assert_nothing_left, cgroup_dirs, new_id, status_fields, wait_until)


def host_ns(kind: str) -> str:
    return os.readlink(f"/proc/self/ns/{kind}")


# ------------------------------------------------------------------ pid 1, namespaces

def test_process_is_pid_1(run_ok):
    script = "echo $$; readlink /proc/1/exe; ps -o pid,args; true"
    out = run_ok(["sh", "-c", script])
    lines = out.splitlines()
    assert lines[0] == "1"
    assert lines[1] == "/bin/busybox"
    ps = [l.split(None, 1) for l in lines[3:]]
    assert ["1", f"sh -c {script}"] in ps, out


@pytest.mark.parametrize("kind", ["pid", "mnt", "net", "ipc", "uts"])
def test_new_namespaces_differ_from_host(run_ok, kind):
    out = run_ok(["readlink", f"/proc/self/ns/{kind}"]).strip()
    assert re.match(rf"^{kind}:\[\d+\]$", out), out
    assert out != host_ns(kind)


def test_cgroup_namespace(run_ok):
    def add_cgroupns(b):
        b.linux["namespaces"].append({"type": "cgroup"})
    out = run_ok(["sh", "-c", "readlink /proc/self/ns/cgroup; cat /proc/self/cgroup"],
                 edit=add_cgroupns)
    lines = out.splitlines()
    assert lines[0] != host_ns("cgroup")
    # inside its own cgroup namespace the container's cgroup is the root
    for line in lines[1:]:
        assert line.split(":", 2)[2] == "/", out


def test_shared_namespaces_when_not_requested(run_ok):
    def only_mount_pid(b):
        b.set_ns(["mount", "pid"])
        b.config.pop("hostname", None)
    out = run_ok(["sh", "-c", "for n in net ipc uts; do readlink /proc/self/ns/$n; done"],
                 edit=only_mount_pid)
    assert out.split() == [host_ns("net"), host_ns("ipc"), host_ns("uts")]


@pytest.fixture
def netns():
    if shutil.which("ip") is None:
        pytest.skip("no ip(8)")
    name = f"rt-e2e-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    try:
        yield f"/run/netns/{name}"
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def test_join_network_namespace_by_path(run_ok, netns):
    def join(b):
        b.linux["namespaces"] = [n for n in b.linux["namespaces"] if n["type"] != "network"]
        b.linux["namespaces"].append({"type": "network", "path": netns})
    out = run_ok(["readlink", "/proc/self/ns/net"], edit=join).strip()
    assert out == f"net:[{os.stat(netns).st_ino}]"


def test_new_network_namespace_has_only_lo_up(run_ok):
    out = run_ok(["sh", "-c", "ls /sys/class/net; echo --; cat /sys/class/net/lo/flags"])
    names, flags = out.split("--\n")
    assert names.split() == ["lo"]
    assert int(flags.strip(), 16) & 0x1, f"lo is not up: flags {flags.strip()}"


def test_hostname(run_ok):
    def set_hostname(b):
        b.config["hostname"] = "rt-e2e-host"
    assert run_ok(["hostname"], edit=set_hostname).strip() == "rt-e2e-host"


def test_domainname(run_ok):
    def set_domainname(b):
        b.config["domainname"] = "rt-e2e.example"
    out = run_ok(["cat", "/proc/sys/kernel/domainname"], edit=set_domainname)
    assert out.strip() == "rt-e2e.example"


# ------------------------------------------------------------------ root filesystem

def test_readonly_root(run_in):
    def ro(b):
        b.config["root"]["readonly"] = True
    r = run_in(["sh", "-c", "touch /x && echo WROTE; grep ' / ' /proc/mounts"], edit=ro)
    assert "WROTE" not in r.out, r
    assert not os.path.exists(os.path.join(r.bundle.rootfs, "x"))
    root_line = [l for l in r.out.splitlines() if l.split()[1] == "/"][-1]
    assert "ro" in root_line.split()[3].split(","), r.out


def test_writable_root_writes_into_rootfs(run_in):
    def rw(b):
        b.config["root"]["readonly"] = False
    r = run_in(["sh", "-c", "echo data > /written"], edit=rw)
    assert r.rc == 0, r
    with open(os.path.join(r.bundle.rootfs, "written")) as f:
        assert f.read() == "data\n"


def test_no_pivot(run_in, tmp_path):
    (tmp_path / "host-marker").write_text("x")
    r = run_in(["sh", "-c", f"ls /bin/busybox; ls {tmp_path}/host-marker; echo $$"],
               run_args=("--no-pivot",))
    assert r.out.splitlines()[0] == "/bin/busybox", r
    assert "host-marker" not in r.out, r
    assert r.out.splitlines()[-1] == "1"


def test_host_files_not_visible(run_in, tmp_path):
    (tmp_path / "host-marker").write_text("x")
    r = run_in(["sh", "-c", f"ls {tmp_path}/host-marker /etc/hostname.host-only 2>&1; true"])
    assert r.rc == 0
    assert "No such file" in r.out


def test_container_mounts_do_not_leak_to_host(rt, make_bundle):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("run", "-d", "--bundle", b.path, cid)
    rt.wait_status(cid, "running")
    with open("/proc/self/mountinfo") as f:
        assert b.path not in f.read()


# ------------------------------------------------------------------ mounts from the config

def mount_line(out: str, dest: str) -> list[str]:
    lines = [l.split() for l in out.splitlines() if len(l.split()) >= 4 and l.split()[1] == dest]
    assert lines, f"{dest} not in\n{out}"
    return lines[-1]


def test_tmpfs_mount_options(run_ok):
    def add(b):
        b.config["mounts"].append({"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs",
                                   "options": ["nosuid", "nodev", "size=1m", "mode=710"]})
    out = run_ok(["sh", "-c", "cat /proc/mounts; stat -c '%a' /mnt/t"], edit=add)
    line = mount_line(out, "/mnt/t")
    assert line[2] == "tmpfs"
    opts = line[3].split(",")
    assert "size=1024k" in opts and "mode=710" in opts, line
    assert "nosuid" in opts and "nodev" in opts
    assert out.splitlines()[-1] == "710"


def test_ro_bind_of_host_dir(run_in, tmp_path):
    host = tmp_path / "hostdir"
    host.mkdir()
    (host / "file").write_text("from host\n")

    def add(b):
        b.config["mounts"].append({"destination": "/data", "type": "bind", "source": str(host),
                                   "options": ["rbind", "ro"]})
    r = run_in(["sh", "-c", "cat /data/file; touch /data/new && echo WROTE; cat /proc/mounts"],
               edit=add)
    assert r.out.startswith("from host\n"), r
    assert "WROTE" not in r.out
    assert not (host / "new").exists()
    assert "ro" in mount_line(r.out, "/data")[3].split(",")
    # the host's dir is still writable
    (host / "after").write_text("x")


def test_rw_bind_of_host_file(run_in, tmp_path):
    host = tmp_path / "hostfile"
    host.write_text("before\n")

    def add(b):
        b.config["mounts"].append({"destination": "/etc/bound", "type": "bind",
                                   "source": str(host), "options": ["bind", "rw"]})
    r = run_in(["sh", "-c", "cat /etc/bound; echo after > /etc/bound"], edit=add)
    assert r.rc == 0, r
    assert r.out == "before\n"
    assert host.read_text() == "after\n"


def test_missing_mount_point_is_created(run_in):
    def add(b):
        b.config["mounts"].append({"destination": "/new/deep/dir", "type": "tmpfs",
                                   "source": "tmpfs", "options": ["size=64k"]})
    r = run_in(["sh", "-c", "cat /proc/mounts"], edit=add)
    assert r.rc == 0, r
    assert mount_line(r.out, "/new/deep/dir")[2] == "tmpfs"
    assert os.path.isdir(os.path.join(r.bundle.rootfs, "new", "deep", "dir"))


def _evil_symlink_bundle(host):
    def add(b):
        os.symlink(str(host), os.path.join(b.rootfs, "evil"))
        b.config["mounts"].append({"destination": "/evil", "type": "tmpfs", "source": "tmpfs",
                                   "options": ["size=64k"]})
    return add


def _host_dir_untouched(host):
    assert sorted(os.listdir(host)) == ["marker"]
    assert (host / "marker").read_text() == "host\n"
    with open("/proc/self/mountinfo") as f:
        assert str(host) not in f.read()


def test_mount_destination_symlink_never_mounts_over_host(run_in, tmp_path):
    host = tmp_path / "host-target"
    host.mkdir()
    (host / "marker").write_text("host\n")
    r = run_in(["sh", "-c", "echo inside > /evil/written"], edit=_evil_symlink_bundle(host))
    # whether the runtime refuses or resolves inside the rootfs, the host
    # directory is never mounted over nor written
    _host_dir_untouched(host)
    if r.rc != 0:
        assert "Traceback" not in r.err


def test_mount_destination_symlink_resolves_inside_rootfs(run_in, tmp_path):
    """runc (securejoin) resolves an absolute symlink as if the rootfs were /:
    the mount lands at rootfs/<target>, which is created."""
    host = tmp_path / "host-target"
    host.mkdir()
    (host / "marker").write_text("host\n")
    r = run_in(["sh", "-c", "ls -A /evil/; echo inside > /evil/written; cat /proc/mounts"],
               edit=_evil_symlink_bundle(host))
    _host_dir_untouched(host)
    assert r.rc == 0, r
    assert "marker" not in r.out.splitlines()[0:1]
    tmpfs_points = [l.split()[1] for l in r.out.splitlines()
                    if len(l.split()) > 2 and l.split()[2] == "tmpfs"]
    assert "/evil" in tmpfs_points or str(host) in tmpfs_points, r.out
    assert os.path.isdir(os.path.join(r.bundle.rootfs, str(host).lstrip("/")))


def test_mount_destination_relative_symlink_inside_rootfs(run_in):
    def add(b):
        os.makedirs(os.path.join(b.rootfs, "real"))
        os.symlink("real", os.path.join(b.rootfs, "link"))
        b.config["mounts"].append({"destination": "/link", "type": "tmpfs", "source": "tmpfs",
                                   "options": ["size=64k"]})
    r = run_in(["sh", "-c", "cat /proc/mounts"], edit=add)
    assert r.rc == 0, r
    points = [l.split()[1] for l in r.out.splitlines() if l.split()[2] == "tmpfs"]
    assert "/real" in points or "/link" in points, r.out


def test_mount_source_relative_to_bundle(run_in):
    def add(b):
        os.makedirs(os.path.join(b.path, "reldir"))
        with open(os.path.join(b.path, "reldir", "f"), "w") as f:
            f.write("rel\n")
        b.config["mounts"].append({"destination": "/rel", "type": "bind", "source": "reldir",
                                   "options": ["bind"]})
    r = run_in(["cat", "/rel/f"], edit=add)
    assert r.rc == 0, r
    assert r.out == "rel\n"


# ------------------------------------------------------------------ process settings

def test_cwd(run_ok):
    def cwd(b):
        b.process["cwd"] = "/tmp"
    assert run_ok(["pwd"], edit=cwd).strip() == "/tmp"


def test_cwd_created_when_missing(run_in):
    def cwd(b):
        b.process["cwd"] = "/does/not/exist/yet"
    r = run_in(["pwd"], edit=cwd)
    assert r.rc == 0, r
    assert r.out.strip() == "/does/not/exist/yet"
    assert os.path.isdir(os.path.join(r.bundle.rootfs, "does/not/exist/yet"))


def test_cwd_is_inside_rootfs(rt, make_bundle):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("create", "--bundle", b.path, cid)
    # while created, and after start, the init's cwd is never a host directory
    for phase in ("created", "running"):
        if phase == "running":
            rt.ok("start", cid)
            rt.wait_status(cid, "running")
        pid = rt.state(cid)["pid"]
        cwd, root = os.stat(f"/proc/{pid}/cwd"), os.stat(b.rootfs)
        assert (cwd.st_dev, cwd.st_ino) == (root.st_dev, root.st_ino), phase


def test_env(run_in, monkeypatch):
    monkeypatch.setenv("RT_E2E_HOST_ONLY", "leak")

    def env(b):
        b.process["env"] = ["PATH=/bin", "FOO=bar baz", "EMPTY="]
    r = run_in(["env"], edit=env)
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert "FOO=bar baz" in lines and "EMPTY=" in lines and "PATH=/bin" in lines
    assert not any(l.startswith("RT_E2E_HOST_ONLY") for l in lines)


def test_args_passed_verbatim(run_ok):
    out = run_ok(["sh", "-c", 'for a in "$@"; do echo "[$a]"; done', "argv0", "a b", "",
                  "$HOME", "*"])
    assert out.splitlines() == ["[a b]", "[]", "[$HOME]", "[*]"]


def test_user_uid_gid_additional_gids(run_ok):
    def user(b):
        b.process["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [10, 20]}
    out = run_ok(["cat", "/proc/self/status"], edit=user)
    st = status_fields(out)
    assert st["Uid"].split() == ["1000"] * 4
    assert st["Gid"].split() == ["1001"] * 4
    assert sorted(map(int, st["Groups"].split())) == [10, 20]


def test_user_id_command(run_ok):
    def user(b):
        b.process["user"] = {"uid": 65534, "gid": 65534}
    out = run_ok(["id"], edit=user).strip()
    assert out.startswith("uid=65534(nobody) gid=65534(nogroup)"), out


def test_root_has_no_supplementary_groups_by_default(run_ok):
    st = status_fields(run_ok(["cat", "/proc/self/status"]))
    assert st["Groups"].split() in ([], ["0"])


@pytest.mark.parametrize("nnp,want", [(True, "1"), (False, "0")])
def test_no_new_privileges(run_ok, nnp, want):
    def set_nnp(b):
        b.process["noNewPrivileges"] = nnp
    st = status_fields(run_ok(["cat", "/proc/self/status"], edit=set_nnp))
    assert st["NoNewPrivs"] == want


def test_rlimits(run_ok):
    def lim(b):
        b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 1234, "hard": 5678},
                                {"type": "RLIMIT_NPROC", "soft": 321, "hard": 654}]
    out = run_ok(["sh", "-c", "ulimit -n; cat /proc/self/limits"], edit=lim)
    lines = out.splitlines()
    assert lines[0] == "1234"
    nofile = [l for l in lines if l.startswith("Max open files")][0].split()
    assert nofile[3:5] == ["1234", "5678"]
    nproc = [l for l in lines if l.startswith("Max processes")][0].split()
    assert nproc[2:4] == ["321", "654"]


def test_default_spec_rlimit(run_ok, default_spec):
    want = [r for r in default_spec["process"].get("rlimits", [])
            if r["type"] == "RLIMIT_NOFILE"]
    if not want:
        pytest.skip("default spec has no RLIMIT_NOFILE")
    assert run_ok(["sh", "-c", "ulimit -n"]).strip() == str(want[0]["soft"])


def test_oom_score_adj(run_ok):
    def oom(b):
        b.process["oomScoreAdj"] = 123
    assert run_ok(["cat", "/proc/self/oom_score_adj"], edit=oom).strip() == "123"


# ------------------------------------------------------------------ capabilities

CAP = {n: i for i, n in enumerate(
    "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP "
    "LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER "
    "SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE "
    "SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP "
    "MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF "
    "CHECKPOINT_RESTORE".split())}


def mask(names) -> int:
    m = 0
    for n in names or []:
        m |= 1 << CAP[n.removeprefix("CAP_")]
    return m


def expected_caps(caps: dict, uid: int) -> dict[str, int]:
    """What the kernel leaves after execve of a plain (no file caps, not setuid) file."""
    bnd, inh = mask(caps.get("bounding")), mask(caps.get("inheritable"))
    prm, amb = mask(caps.get("permitted")), mask(caps.get("ambient"))
    amb &= prm & inh  # PR_CAP_AMBIENT_RAISE needs permitted and inheritable
    if uid == 0:
        p_prm = (bnd | inh) | amb
        p_eff = p_prm
    else:
        p_prm = amb
        p_eff = amb
    return {"CapInh": inh, "CapPrm": p_prm, "CapEff": p_eff, "CapBnd": bnd, "CapAmb": amb}


def caps_inside(run_ok, caps, user=None) -> tuple[dict, dict]:
    def edit(b):
        if caps is None:
            b.process.pop("capabilities", None)
        else:
            b.process["capabilities"] = caps
        if user is not None:
            b.process["user"] = user
    st = status_fields(run_ok(["cat", "/proc/self/status"], edit=edit))
    got = {k: int(st[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
    return got, expected_caps(caps or {}, (user or {}).get("uid", 0))


RUNC_DEFAULT = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def test_caps_runc_default(run_ok, default_spec):
    caps = default_spec["process"]["capabilities"]
    got, want = caps_inside(run_ok, caps)
    assert got == want
    assert got["CapEff"] == got["CapBnd"] == 0x20000420


def test_caps_absent_means_none(run_ok):
    got, _ = caps_inside(run_ok, None)
    assert got == {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": 0, "CapAmb": 0}


def test_caps_empty_sets(run_ok):
    caps = {k: [] for k in ("bounding", "effective", "permitted", "inheritable", "ambient")}
    got, want = caps_inside(run_ok, caps)
    assert got == want == {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": 0, "CapAmb": 0}


def test_caps_with_sys_admin(run_ok):
    names = RUNC_DEFAULT + ["CAP_SYS_ADMIN"]
    caps = {k: list(names) for k in ("bounding", "effective", "permitted")}
    got, want = caps_inside(run_ok, caps)
    assert got == want
    assert got["CapEff"] == 0x20000420 | (1 << 21)


def test_caps_full_inheritable_root(run_ok):
    names = ["CAP_CHOWN", "CAP_SETUID", "CAP_SYS_ADMIN"]
    caps = {k: list(names) for k in ("bounding", "effective", "permitted", "inheritable")}
    got, want = caps_inside(run_ok, caps)
    assert got == want


def test_caps_non_root_with_ambient(run_ok):
    names = ["CAP_NET_BIND_SERVICE", "CAP_KILL"]
    caps = {k: list(names) for k in
            ("bounding", "effective", "permitted", "inheritable", "ambient")}
    got, want = caps_inside(run_ok, caps, user={"uid": 1000, "gid": 1000})
    assert got == want
    assert got["CapAmb"] == got["CapEff"] == got["CapPrm"] == (1 << 10) | (1 << 5)


def test_caps_non_root_without_ambient_has_none_effective(run_ok):
    caps = {k: list(RUNC_DEFAULT) for k in ("bounding", "effective", "permitted")}
    got, want = caps_inside(run_ok, caps, user={"uid": 1000, "gid": 1000})
    assert got == want
    assert got["CapEff"] == got["CapPrm"] == 0
    assert got["CapBnd"] == 0x20000420


def test_capability_actually_enforced(run_in):
    # without CAP_SYS_ADMIN mount fails, with it (and an own mount ns) it works
    r = run_in(["sh", "-c", "mount -t tmpfs none /mnt && echo MOUNTED"])
    assert "MOUNTED" not in r.out

    def admin(b):
        b.config["root"]["readonly"] = False
        for k in ("bounding", "effective", "permitted"):
            b.process["capabilities"][k].append("CAP_SYS_ADMIN")
    r = run_in(["sh", "-c", "mkdir -p /mnt && mount -t tmpfs none /mnt && echo MOUNTED"],
               edit=admin)
    assert "MOUNTED" in r.out, r


# ------------------------------------------------------------------ /dev

@pytest.mark.parametrize("dev,majmin", [
    ("null", "1:3"), ("zero", "1:5"), ("full", "1:7"), ("random", "1:8"),
    ("urandom", "1:9"), ("tty", "5:0"),
])
def test_default_devices(run_ok, dev, majmin):
    out = run_ok(["stat", "-c", "%F %t:%T %a", f"/dev/{dev}"]).strip()
    kind, mm, mode = out.rsplit(" ", 2)
    assert kind == "character special file", out
    assert mm == majmin
    assert mode == "666"


def test_dev_symlinks(run_ok):
    out = run_ok(["sh", "-c", "for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done"])
    assert out.splitlines() == ["/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1",
                                "/proc/self/fd/2", "pts/ptmx"]


def test_dev_null_works_and_host_devices_absent(run_ok):
    out = run_ok(["sh", "-c", "echo x > /dev/null && echo OK; ls /dev"])
    assert out.splitlines()[0] == "OK"
    listing = out.split()
    assert "sda" not in listing and "vda" not in listing and "kmsg" not in listing
    assert "mem" not in listing


def test_config_device_created(run_ok):
    def dev(b):
        b.linux["devices"] = [{"path": "/dev/mydev", "type": "c", "major": 1, "minor": 3,
                               "fileMode": 0o620, "uid": 0, "gid": 0}]
        b.linux["resources"]["devices"].append(
            {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"})
    out = run_ok(["stat", "-c", "%F %t:%T %a", "/dev/mydev"], edit=dev).strip()
    assert out == "character special file 1:3 620"


# ------------------------------------------------------------------ masked / readonly paths

@pytest.mark.parametrize("path", ["/proc/kcore", "/proc/timer_list", "/proc/keys"])
def test_masked_proc_file_reads_empty(run_ok, path):
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist on this kernel")
    assert run_ok(["sh", "-c", f"wc -c < {path}"]).strip() == "0"


def test_masked_directory_is_empty(run_ok):
    def masked(b):
        os.makedirs(os.path.join(b.rootfs, "secret"))
        with open(os.path.join(b.rootfs, "secret", "file"), "w") as f:
            f.write("s")
        b.linux["maskedPaths"].append("/secret")
    out = run_ok(["sh", "-c", "ls -A /secret; echo END"], edit=masked)
    assert out == "END\n"


def test_masked_nonexistent_path_is_ignored(run_ok):
    def masked(b):
        b.linux["maskedPaths"].append("/proc/does-not-exist")
    assert run_ok(["true"], edit=masked) == ""


def test_readonly_paths(run_in):
    r = run_in(["sh", "-c", "echo x > /proc/sys/kernel/domainname && echo WROTE; "
                            "grep ' /proc/sys ' /proc/mounts"])
    assert "WROTE" not in r.out, r
    assert "ro" in mount_line(r.out, "/proc/sys")[3].split(",")


def test_readonly_path_from_config(run_in):
    def ro(b):
        os.makedirs(os.path.join(b.rootfs, "rodir"))
        b.linux["readonlyPaths"].append("/rodir")
    r = run_in(["sh", "-c", "touch /rodir/x && echo WROTE; true"], edit=ro)
    assert "WROTE" not in r.out, r
    assert not os.path.exists(os.path.join(r.bundle.rootfs, "rodir", "x"))


# ------------------------------------------------------------------ file descriptors

def test_only_stdio_fds(run_ok):
    out = run_ok(["ls", "/proc/self/fd"])
    # 0 1 2, plus the directory ls has open
    assert out.split() == ["0", "1", "2", "3"]


def test_inherited_fd_not_passed(rt, make_bundle, tmp_path):
    b = make_bundle(["ls", "/proc/self/fd"])
    extra = os.open(str(tmp_path), os.O_RDONLY)
    try:
        cid = new_id()
        r = rt("run", "--bundle", b.path, cid, pass_fds=(extra,))
    finally:
        os.close(extra)
    assert r.rc == 0, r
    assert r.out.split() == ["0", "1", "2", "3"]


def test_preserve_fds(rt, make_bundle, tmp_path):
    target = tmp_path / "fd3-target"
    b = make_bundle(["sh", "-c", "echo through-fd3 >&3; ls /proc/self/fd"])
    fd = os.open(str(target), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        def to_fd3():
            os.dup2(fd, 3)
        cid = new_id()
        # close_fds=False: Popen would otherwise close fd 3 after preexec_fn
        # (Python's own fds are close-on-exec anyway)
        r = rt("run", "--preserve-fds", "1", "--bundle", b.path, cid,
               preexec_fn=to_fd3, close_fds=False)
    finally:
        os.close(fd)
    assert r.rc == 0, r
    assert target.read_text() == "through-fd3\n"
    assert r.out.split() == ["0", "1", "2", "3", "4"]


def test_stdin_passes_through(rt, make_bundle):
    b = make_bundle(["cat"])
    cid = new_id()
    r = rt("run", "--bundle", b.path, cid, input="hello stdin\n")
    assert r.rc == 0, r
    assert r.out == "hello stdin\n"


# ------------------------------------------------------------------ cgroups

def cgroup_paths(out: str) -> dict[str, str]:
    res = {}
    for line in out.splitlines():
        hid, ctrl, path = line.split(":", 2)
        res[ctrl or "unified"] = path
    return res


def test_default_cgroup_path(rt, run_in):
    r = run_in(["cat", "/proc/self/cgroup"], run_args=("--keep",))
    assert r.rc == 0, r
    paths = cgroup_paths(r.out)
    assert paths, r.out
    for ctrl, path in paths.items():
        assert path == f"/runtime/{r.id}", (ctrl, r.out)
    rt.ok("delete", r.id)
    assert_nothing_left(rt, r.id, r.bundle)


def test_cgroup_path_from_config(rt, make_bundle):
    parent = f"/rt-e2e-{uuid.uuid4().hex[:8]}"
    b = make_bundle(["sh", "-c", "cat /proc/self/cgroup; sleep 30"])
    cid = new_id()
    b.linux["cgroupsPath"] = f"{parent}/{cid}"
    b.write()
    out = os.path.join(os.path.dirname(b.path), "out")
    try:
        with open(out, "w") as f:
            rt.ok("run", "-d", "--bundle", b.path, cid, stdout=f)
        rt.wait_status(cid, "running")
        assert wait_until(lambda: open(out).read().count("\n") >= 2)
        dirs = cgroup_dirs(cid, parent)
        assert dirs, "no cgroup dir for the container"
        paths = cgroup_paths(open(out).read())
        for ctrl, path in paths.items():
            assert path == f"{parent}/{cid}", (ctrl, paths)
        # the container's pid is in its cgroup
        pid = rt.state(cid)["pid"]
        with open(f"/proc/{pid}/cgroup") as f:
            assert all(p == f"{parent}/{cid}" for p in cgroup_paths(f.read()).values())
        rt.ok("delete", "--force", cid)
        assert_nothing_left(rt, cid, b, cgroup_parent=parent)
    finally:
        rt("delete", "--force", cid)
        # remove the parent dirs the runtime made for us, if empty
        for d in cgroup_dirs("", parent) + [f"/sys/fs/cgroup/unified{parent}"]:
            d = d.rstrip("/")
            if os.path.isdir(d):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        for d in os.listdir("/sys/fs/cgroup"):
            p = f"/sys/fs/cgroup/{d}{parent}"
            if os.path.isdir(p):
                try:
                    os.rmdir(p)
                except OSError:
                    pass


def test_cgroup_removed_after_delete(rt, make_bundle):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("create", "--bundle", b.path, cid)
    assert cgroup_dirs(cid), "no cgroup created"
    rt.ok("start", cid)
    rt.ok("delete", "--force", cid)
    assert_nothing_left(rt, cid, b)
