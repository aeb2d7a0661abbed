"""Bad configs, bad ids, bad command lines: one clean error line, nothing left behind."""

from __future__ import annotations

import os

import pytest

from e2e_util import assert_one_line_error, needs_validator, new_id, processes_rooted_at


def test_malformed_json(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    with open(b.config_path, "w") as f:
        f.write('{"ociVersion": "1.0.2", "process": {')
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b)


def test_config_not_an_object(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    with open(b.config_path, "w") as f:
        f.write("[1, 2, 3]")
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b)


def test_missing_config(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    os.unlink(b.config_path)
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b)


def test_missing_bundle_dir(rt, tmp_path, clean_failure):
    cid = new_id()
    clean_failure(rt("create", "--bundle", tmp_path / "nope", cid), cid, None)


@needs_validator
@pytest.mark.parametrize("edit,field", [
    (lambda c: c["process"].__setitem__("args", []), "process.args"),
    (lambda c: c["process"].__setitem__("cwd", 42), "process.cwd"),
    (lambda c: c.__setitem__("mounts", "nope"), "mounts"),
    (lambda c: c["process"]["user"].__setitem__("uid", -1), "process.user.uid"),
    # runc takes "rprivate"; config-linux.md allows exactly these four values
    (lambda c: c["linux"].__setitem__("rootfsPropagation", "rprivate"), "linux.rootfsPropagation"),
])
def test_schema_violation(rt, make_bundle, clean_failure, edit, field):
    b = make_bundle(["true"])
    edit(b.config)
    b.write()
    cid = new_id()
    r = rt("create", "--bundle", b.path, cid)
    clean_failure(r, cid, b)
    assert field in r.err, r


def test_empty_args(rt, make_bundle, clean_failure):
    # even with the schema validator stubbed, an empty args must fail cleanly
    b = make_bundle([])
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b)


def test_missing_rootfs(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    b.config["root"]["path"] = "does-not-exist"
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b, contains="root.path")


def test_rootfs_is_a_file(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    with open(os.path.join(b.path, "afile"), "w") as f:
        f.write("x")
    b.config["root"]["path"] = "afile"
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b)


def test_duplicate_id(rt, make_bundle):
    b1, b2 = make_bundle(["sleep", "30"]), make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("create", "--bundle", b1.path, cid)
    before = rt.state(cid)
    r = rt("create", "--bundle", b2.path, cid)
    assert_one_line_error(r)
    assert "exist" in r.err
    after = rt.state(cid)
    assert after == before
    assert os.path.exists(f"/proc/{before['pid']}")
    assert not processes_rooted_at(b2.rootfs)
    # and the first one still works
    rt.ok("start", cid)
    rt.wait_status(cid, "running")


@pytest.mark.parametrize("cmd", [("start",), ("state",), ("kill",), ("kill", "KILL"),
                                 ("delete",)])
def test_unknown_id(rt, cmd):
    r = rt(cmd[0], "no-such-container", *cmd[1:])
    assert_one_line_error(r)
    assert r.rc == 1
    assert "container does not exist" in r.err


def test_delete_force_unknown_id(rt):
    r = rt("delete", "--force", "no-such-container")
    assert r.rc == 0, r
    assert "Traceback" not in r.err


@pytest.mark.parametrize("cid", ["../x", ".", "..", "a/b", "", "x" * 1025, "a\nb", "/abs",
                                 "a b"])
def test_bad_id(rt, make_bundle, clean_failure, cid):
    b = make_bundle(["sleep", "30"])
    r = rt("create", "--bundle", b.path, cid)
    clean_failure(r, None, b)
    # nothing was created next to --root either
    parent = os.path.dirname(rt.root)
    assert sorted(os.listdir(parent)) == sorted(
        n for n in os.listdir(parent) if n in ("state", os.path.basename(b.path)) or
        n.startswith("bundle")), os.listdir(parent)
    assert not os.path.exists(os.path.join(parent, "x"))


def test_id_with_leading_dash_is_a_flag(rt, make_bundle, clean_failure):
    b = make_bundle(["sleep", "30"])
    # "-x" is parsed as an (unknown) flag
    clean_failure(rt("create", "--bundle", b.path, "-x"), None, b)
    # after "--" it is an id, and not an acceptable one
    clean_failure(rt("create", "--bundle", b.path, "--", "-x"), None, b)


def test_unknown_flag(rt):
    for argv in (("create", "--nope", "x"), ("--nope", "list"), ("list", "--nope"),
                 ("kill", "--bogus", "x")):
        r = rt(*argv)
        assert_one_line_error(r)


def test_unknown_subcommand(rt):
    r = rt("frobnicate")
    assert_one_line_error(r)
    assert "frobnicate" in r.err


def test_no_subcommand(rt):
    r = rt()
    assert r.rc != 0
    assert "Traceback" not in r.err


def test_missing_id_argument(rt):
    for cmd in ("create", "start", "state", "kill", "delete", "run"):
        r = rt(cmd)
        assert_one_line_error(r)


@pytest.mark.parametrize("args,reason", [
    (["/nope"], "no such file"),
    (["nope"], "not found"),
    (["/etc/passwd"], None),  # not executable
    (["/tmp"], None),  # a directory
])
def test_missing_executable(rt, make_bundle, clean_failure, args, reason):
    b = make_bundle(args)
    cid = new_id()
    r = rt("create", "--bundle", b.path, cid)
    clean_failure(r, cid, b, contains=reason)


def test_missing_executable_with_run(rt, make_bundle, clean_failure):
    b = make_bundle(["nope"])
    cid = new_id()
    clean_failure(rt("run", "--bundle", b.path, cid), cid, b)


def test_path_lookup_uses_container_env(rt, make_bundle, clean_failure):
    b = make_bundle(["sleep", "30"])
    b.process["env"] = ["PATH=/nonexistent"]
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b, contains="not found")


def test_oci_version_2(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    b.config["ociVersion"] = "2.0.0"
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b, contains="ociVersion")


def test_duplicate_namespace(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    b.linux["namespaces"].append({"type": "pid"})
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b, contains="namespaces")


def test_unknown_namespace_type(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    b.linux["namespaces"].append({"type": "bogus"})
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b)


def test_namespace_path_missing(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    b.linux["namespaces"] = [n for n in b.linux["namespaces"] if n["type"] != "network"]
    b.linux["namespaces"].append({"type": "network", "path": "/nonexistent/netns"})
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b)


def test_hostname_without_uts(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    b.set_ns(["pid", "mount", "ipc", "network"])
    b.config["hostname"] = "nope"
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b, contains="hostname")


def test_seccomp_notify_refused(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    b.linux["seccomp"] = {"defaultAction": "SCMP_ACT_NOTIFY"}
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b, contains="linux.seccomp.defaultAction")


def test_terminal_without_console_socket(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    b.process["terminal"] = True
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b, contains="terminal")


def test_non_namespaced_sysctl_refused(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    b.linux["sysctl"] = {"vm.swappiness": "10"}
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b, contains="sysctl")


def test_user_namespace_without_mappings(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    b.linux["namespaces"].append({"type": "user"})
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b)


def test_rlimit_above_hard_limit(rt, make_bundle, clean_failure):
    # no CAP_SYS_RESOURCE on this machine: the nofile hard limit is 20000
    b = make_bundle(["true"])
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1 << 30, "soft": 1 << 30}]
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b)


def test_unknown_rlimit(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    b.process["rlimits"] = [{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}]
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b, contains="RLIMIT_BOGUS")


def test_unknown_capability(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    b.process["capabilities"]["bounding"].append("CAP_BOGUS")
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b, contains="CAP_BOGUS")


def test_relative_cwd(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    b.process["cwd"] = "tmp"
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b)


def test_bad_mount_type(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    b.config["mounts"].append({"destination": "/mnt", "type": "nosuchfs", "source": "x"})
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b)


def test_bind_mount_missing_source(rt, make_bundle, clean_failure, tmp_path):
    b = make_bundle(["true"])
    b.config["mounts"].append({"destination": "/mnt", "type": "bind",
                               "source": str(tmp_path / "missing"), "options": ["bind"]})
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b)


def test_failed_create_with_pid_file_leaves_no_pid_file(rt, make_bundle, clean_failure,
                                                        tmp_path):
    b = make_bundle(["/nope"])
    cid = new_id()
    pid_file = tmp_path / "pid"
    clean_failure(rt("create", "--bundle", b.path, "--pid-file", pid_file, cid), cid, b)
    assert not pid_file.exists()


def test_failed_create_custom_cgroup_path_left_clean(rt, make_bundle, clean_failure):
    b = make_bundle(["/nope"])
    parent = f"/rt-e2e-{new_id('p')}"
    cid = new_id()
    b.linux["cgroupsPath"] = f"{parent}/{cid}"
    b.write()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b, cgroup_parent=parent)


def test_error_goes_to_json_config_path_with_context(rt, make_bundle):
    b = make_bundle(["true"])
    b.config["ociVersion"] = "2.0.0"
    b.write()
    r = rt("create", "--bundle", b.path, new_id())
    assert_one_line_error(r)
    assert r.rc == 1
