"""Unit tests for the pure tables: capabilities, signals, mountopts,
default_spec, features_doc."""

from __future__ import annotations

import json
import os
import shutil
import signal as pysignal
import subprocess

import pytest

from runtime import capabilities, default_spec, features_doc, mountopts, seccomp, signals
from runtime.errors import Error
from runtime.mountopts import (
    MOUNT_ATTR__ATIME, MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOSUID,
    MOUNT_ATTR_RDONLY, MOUNT_ATTR_RELATIME, MOUNT_ATTR_STRICTATIME, MS_BIND,
    MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC,
    MS_RELATIME, MS_REMOUNT, MS_SHARED, MS_SLAVE, MS_STRICTATIME,
    MS_SYNCHRONOUS, MS_UNBINDABLE,
)

from spec_reference import UPSTREAM_SCHEMA  # noqa: E402

SCHEMA_DIR = str(UPSTREAM_SCHEMA)
RUNC = shutil.which("runc") or ("/usr/sbin/runc" if os.path.exists("/usr/sbin/runc") else None)


# --- capabilities ---------------------------------------------------------

def test_caps_table_is_dense_and_complete():
    assert sorted(capabilities.NUMBERS.values()) == list(range(41))
    assert capabilities.NUMBERS["CAP_CHOWN"] == 0
    assert capabilities.NUMBERS["CAP_SYS_ADMIN"] == 21
    assert capabilities.NUMBERS["CAP_CHECKPOINT_RESTORE"] == 40


def test_last_cap_matches_proc():
    with open("/proc/sys/kernel/cap_last_cap") as f:
        assert capabilities.last_cap() == int(f.read())


def test_caps_round_trip():
    top = capabilities.last_cap()
    known = [n for n, v in capabilities.NUMBERS.items() if v <= top]
    mask = capabilities.to_mask(known, "process.capabilities.bounding")
    assert mask == (1 << (top + 1)) - 1
    assert capabilities.names(mask) == sorted(known, key=capabilities.NUMBERS.get)
    sample = ["CAP_KILL", "CAP_AUDIT_WRITE", "CAP_NET_BIND_SERVICE"]
    m = capabilities.to_mask(sample, "f")
    assert m == (1 << 5) | (1 << 29) | (1 << 10)
    assert capabilities.names(m) == ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]
    assert capabilities.to_mask([], "f") == 0
    assert capabilities.names(0) == []


def test_caps_unknown_name():
    with pytest.raises(Error) as e:
        capabilities.to_mask(["CAP_KILL", "CAP_FOO"], "process.capabilities.effective")
    assert e.value.context == "process.capabilities.effective"
    assert e.value.reason == 'unknown capability "CAP_FOO"'
    with pytest.raises(Error):
        capabilities.to_mask(["cap_kill"], "f")


def test_caps_above_kernel_are_dropped(monkeypatch):
    monkeypatch.setattr(capabilities, "_last_cap", 37)
    m = capabilities.to_mask(["CAP_BPF", "CAP_AUDIT_READ", "CAP_CHECKPOINT_RESTORE"], "f")
    assert m == 1 << 37


def test_caps_names_skips_unnamed_bits():
    assert capabilities.names((1 << 63) | 1) == ["CAP_CHOWN"]


# --- signals --------------------------------------------------------------

@pytest.mark.parametrize("text", ["KILL", "SIGKILL", "kill", "sigkill", "9", " 9 "])
def test_signal_kill_spellings(text):
    assert signals.parse(text) == 9


def test_signal_table_matches_python():
    for name, n in signals.NUMBERS.items():
        py = getattr(pysignal, "SIG" + name, None)
        if py is not None:
            assert int(py) == n, name
    for s in pysignal.Signals:
        if not s.name.startswith("SIGRT"):
            assert signals.parse(s.name) == s.value


@pytest.mark.parametrize("text,n", [
    ("SIGRTMIN", pysignal.SIGRTMIN),
    ("RTMIN", pysignal.SIGRTMIN),
    ("SIGRTMIN+3", pysignal.SIGRTMIN + 3),
    ("rtmin+0", pysignal.SIGRTMIN),
    ("RTMAX", pysignal.SIGRTMAX),
    ("RTMAX-1", pysignal.SIGRTMAX - 1),
    ("SIGRTMAX-30", pysignal.SIGRTMIN),
    ("RTMIN+30", pysignal.SIGRTMAX),
    ("TERM", 15), ("HUP", 1), ("SIGCHLD", 17), ("WINCH", 28), ("64", 64), ("1", 1),
])
def test_signal_values(text, n):
    assert signals.parse(text) == n


@pytest.mark.parametrize("text", [
    "FOO", "SIGFOO", "", "0", "65", "-9", "+9", "9x", "RTMIN+31", "RTMAX-31",
    "RTMIN-1", "RTMAX+1", "RTMIN+", "RTMIN+x", "SIG", "SIGSIGKILL", "٩",
])
def test_signal_invalid(text):
    with pytest.raises(Error) as e:
        signals.parse(text)
    assert e.value.context == "kill"
    assert e.value.reason == f'invalid signal "{text}"'
    assert str(e.value) == f'kill: invalid signal "{text}"'


# --- mountopts ------------------------------------------------------------

def test_mount_dev_tmpfs():
    m = mountopts.parse(["nosuid", "strictatime", "mode=755", "size=65536k"], "mounts[1].options")
    assert m.flags == MS_NOSUID | MS_STRICTATIME
    assert m.data == "mode=755,size=65536k"
    assert not m.bind and not m.recursive and not m.needs_remount
    assert m.propagation == [] and not m.rec_attr


def test_mount_devpts():
    m = mountopts.parse(
        ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"], "f")
    assert m.flags == MS_NOSUID | MS_NOEXEC
    assert m.data == "newinstance,ptmxmode=0666,mode=0620,gid=5"


def test_mount_sysfs_and_cgroup():
    m = mountopts.parse(["nosuid", "noexec", "nodev", "ro"], "f")
    assert m.flags == MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY
    assert m.data == ""
    m = mountopts.parse(["nosuid", "noexec", "nodev", "relatime", "ro"], "f")
    assert m.flags == MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY


def test_all_runc_spec_mounts_parse_without_surprise():
    for mnt in default_spec.default_spec()["mounts"] + default_spec.default_spec(True)["mounts"]:
        m = mountopts.parse(mnt.get("options"), "mounts")
        for opt in m.data.split(","):
            assert opt == "" or "=" in opt or opt == "newinstance"


def test_mount_rootless_sys_rbind_needs_remount():
    m = mountopts.parse(["rbind", "nosuid", "noexec", "nodev", "ro"], "f")
    assert m.bind and m.recursive
    assert m.flags == MS_BIND | MS_REC | MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY
    assert m.needs_remount
    assert m.remount_flags == MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY


def test_mount_bind_without_flags_needs_no_remount():
    m = mountopts.parse(["bind", "rprivate"], "f")
    assert m.bind and not m.recursive and m.flags == MS_BIND
    assert not m.needs_remount
    assert m.propagation == [MS_PRIVATE | MS_REC]
    # Superblock flags are not per-mount: no remount for them either.
    assert not mountopts.parse(["bind", "sync"], "f").needs_remount
    # Non-bind mounts take their flags on the first mount(2).
    assert not mountopts.parse(["ro"], "f").needs_remount


def test_mount_clearing_options():
    m = mountopts.parse(["ro", "nosuid", "nodev", "noexec", "sync", "rw", "suid", "dev", "exec", "async"], "f")
    assert m.flags == 0
    assert m.cleared == MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS
    m = mountopts.parse(["noatime", "nodiratime", "relatime", "strictatime",
                         "atime", "diratime", "norelatime", "nostrictatime"], "f")
    assert m.flags == 0
    m = mountopts.parse(["mand", "nomand", "silent", "loud", "iversion", "noiversion",
                         "lazytime", "nolazytime", "nosymfollow", "symfollow"], "f")
    assert m.flags == 0
    m = mountopts.parse(["ro", "nosuid", "sync", "defaults"], "f")
    assert m.flags == 0
    # Order matters: the last word wins, as in mount(8).
    m = mountopts.parse(["rw", "ro"], "f")
    assert m.flags == MS_RDONLY and m.cleared == 0
    m = mountopts.parse(["defaults", "noexec"], "f")
    assert m.flags == MS_NOEXEC


def test_mount_propagation_order():
    m = mountopts.parse(["shared", "rslave", "private", "runbindable", "rshared",
                         "slave", "rprivate", "unbindable"], "f")
    assert m.propagation == [MS_SHARED, MS_SLAVE | MS_REC, MS_PRIVATE, MS_UNBINDABLE | MS_REC,
                             MS_SHARED | MS_REC, MS_SLAVE, MS_PRIVATE | MS_REC, MS_UNBINDABLE]
    assert m.flags == 0


def test_mount_unknown_to_data():
    m = mountopts.parse(["nosuid", "mode=755", "foo", "uid=1000", "acl", "remount"], "f")
    assert m.data == "mode=755,foo,uid=1000,acl"
    assert m.flags == MS_NOSUID | MS_REMOUNT


def test_mount_recursive_attrs():
    m = mountopts.parse(["rbind", "rro", "rnosuid", "rnodev"], "f")
    assert m.rec_attr_set == MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
    assert m.rec_attr_clr == 0 and m.rec_attr
    assert m.flags == MS_BIND | MS_REC  # recursive forms are not mount(2) flags
    m = mountopts.parse(["rro", "rrw", "rsuid"], "f")
    assert m.rec_attr_set == 0
    assert m.rec_attr_clr == MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID


@pytest.mark.parametrize("opts,mode", [
    (["rnoatime"], MOUNT_ATTR_NOATIME),
    (["rstrictatime"], MOUNT_ATTR_STRICTATIME),
    (["rrelatime"], MOUNT_ATTR_RELATIME),
    (["rnoatime", "ratime"], MOUNT_ATTR_RELATIME),
    (["rstrictatime", "rnostrictatime"], MOUNT_ATTR_RELATIME),
    (["rnorelatime"], MOUNT_ATTR_STRICTATIME),
    (["rnoatime", "rro", "rstrictatime"], MOUNT_ATTR_STRICTATIME),
])
def test_mount_recursive_atime_is_an_enum(opts, mode):
    m = mountopts.parse(opts, "f")
    # mount_setattr(2) wants the whole atime field cleared and one value set.
    assert m.rec_attr_clr & MOUNT_ATTR__ATIME == MOUNT_ATTR__ATIME
    assert m.rec_attr_set & MOUNT_ATTR__ATIME == mode
    assert m.rec_attr


def test_mount_extensions():
    m = mountopts.parse(["rbind", "idmap", "tmpcopyup"], "f")
    assert m.idmap and not m.ridmap and m.tmpcopyup and m.data == ""
    m = mountopts.parse(["ridmap"], "f")
    assert m.ridmap and not m.idmap


def test_mount_empty_and_errors():
    m = mountopts.parse(None, "f")
    assert m.flags == 0 and m.data == "" and m.propagation == []
    assert mountopts.parse([], "f").flags == 0
    with pytest.raises(Error) as e:
        mountopts.parse(["ro", 3], "mounts[2].options")
    assert e.value.context == "mounts[2].options"
    with pytest.raises(Error):
        mountopts.parse("ro", "f")


def test_mount_known_covers_spec_table():
    spec_table = {
        "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec",
        "iversion", "lazytime", "loud", "mand", "noatime", "nodev", "nodiratime",
        "noexec", "noiversion", "nolazytime", "nomand", "norelatime", "nostrictatime",
        "nosuid", "nosymfollow", "private", "ratime", "rbind", "rdev", "rdiratime",
        "relatime", "remount", "rexec", "rnoatime", "rnodiratime", "rnoexec",
        "rnorelatime", "rnostrictatime", "rnosuid", "rnosymfollow", "ro", "rprivate",
        "rrelatime", "rro", "rrw", "rshared", "rslave", "rstrictatime", "rsuid",
        "rsymfollow", "runbindable", "rw", "shared", "silent", "slave", "strictatime",
        "suid", "symfollow", "sync", "tmpcopyup", "unbindable", "idmap", "ridmap",
    }
    # The spec's table lists `rdev` but forgets its partner `rnodev`.
    assert set(mountopts.KNOWN) == spec_table | {"rnodev"}
    assert list(mountopts.KNOWN) == sorted(mountopts.KNOWN)
    for opt in mountopts.KNOWN:
        assert mountopts.parse([opt], "f").data == "", opt


# --- default_spec ---------------------------------------------------------

def _runc_spec(tmp_path, rootless):
    d = tmp_path / ("rootless" if rootless else "root")
    d.mkdir()
    subprocess.run([RUNC, "spec", *(["--rootless"] if rootless else [])],
                   cwd=d, check=True, capture_output=True)
    return (d / "config.json").read_text()


@pytest.mark.skipif(RUNC is None, reason="runc not installed")
@pytest.mark.parametrize("rootless", [False, True])
def test_default_spec_equals_runc(tmp_path, rootless):
    text = _runc_spec(tmp_path, rootless)
    theirs = json.loads(text)
    ours = default_spec.default_spec(rootless)
    assert ours["ociVersion"] == "1.3.0"
    theirs["ociVersion"] = "1.3.0"
    assert ours == theirs
    # Same key order and layout too, so `diff` shows only ociVersion.
    d = tmp_path / "ours"
    d.mkdir()
    default_spec.write_spec(str(d), rootless)
    written = (d / "config.json").read_text()
    assert written.endswith("}\n")
    mine = written.splitlines()
    runc_lines = text.splitlines()
    assert len(mine) == len(runc_lines)
    diff = [(a, b) for a, b in zip(mine, runc_lines) if a != b]
    assert len(diff) == 1 and "ociVersion" in diff[0][0]


def test_default_spec_is_fresh():
    a = default_spec.default_spec()
    a["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
    a["linux"]["maskedPaths"].clear()
    b = default_spec.default_spec()
    assert b["process"]["capabilities"]["bounding"] == [
        "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    assert b["linux"]["maskedPaths"]


def test_default_spec_rootless_shape():
    s = default_spec.default_spec(rootless=True)
    types = [ns["type"] for ns in s["linux"]["namespaces"]]
    assert "network" not in types and types[-1] == "user"
    assert s["linux"]["uidMappings"] == [{"containerID": 0, "hostID": os.geteuid(), "size": 1}]
    assert "resources" not in s["linux"]
    devpts = next(m for m in s["mounts"] if m["destination"] == "/dev/pts")
    assert "gid=5" not in devpts["options"]


def test_default_spec_validates_against_config_schema():
    validator = _validator("config-schema.json")
    validator.validate(default_spec.default_spec())
    validator.validate(default_spec.default_spec(rootless=True))


def test_write_spec_refuses_existing(tmp_path):
    default_spec.write_spec(str(tmp_path), False)
    before = (tmp_path / "config.json").read_text()
    json.loads(before)
    with pytest.raises(Error) as e:
        default_spec.write_spec(str(tmp_path), True)
    assert str(e.value) == "spec: File config.json exists. Remove it first"
    assert (tmp_path / "config.json").read_text() == before


def test_write_spec_missing_bundle(tmp_path):
    with pytest.raises(Error) as e:
        default_spec.write_spec(str(tmp_path / "nope"), False)
    assert e.value.context == "spec"
    assert "no such file or directory" in e.value.reason


# --- features_doc ---------------------------------------------------------

def _validator(name):
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    from referencing.jsonschema import DRAFT4

    if not os.path.isdir(SCHEMA_DIR):
        pytest.skip(f"upstream runtime-spec schema not found at {SCHEMA_DIR}")
    resources = []
    for fn in os.listdir(SCHEMA_DIR):
        if fn.endswith(".json"):
            with open(os.path.join(SCHEMA_DIR, fn)) as f:
                resources.append((fn, DRAFT4.create_resource(json.load(f))))
    # The schemas have no $id and refer to each other by file name, so the
    # file names are their URIs.
    registry = referencing.Registry().with_resources(resources)
    return jsonschema.Draft4Validator({"$ref": name}, registry=registry)


def test_features_validates_against_schema():
    doc = features_doc.features()
    validator = _validator("features-schema.json")
    validator.validate(doc)
    # The schema is lax about unknown keys; make sure it would catch a bad one.
    bad = features_doc.features()
    bad["linux"]["namespaces"].append("bogus")
    assert not validator.is_valid(bad)


def test_features_content():
    from runtime import __version__

    doc = features_doc.features()
    assert doc["ociVersionMin"] == "1.0.0"
    assert doc["ociVersionMax"] == "1.3.0"
    assert doc["hooks"] == ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
    assert doc["mountOptions"] == list(mountopts.KNOWN)
    linux = doc["linux"]
    assert linux["namespaces"] == ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"]
    assert linux["capabilities"][0] == "CAP_CHOWN"
    assert set(linux["capabilities"]) == set(capabilities.NUMBERS)
    assert linux["cgroup"] == {"v1": True, "v2": True, "systemd": False,
                               "systemdUser": False, "rdma": True}
    for k in ("apparmor", "selinux", "intelRdt"):
        assert linux[k] == {"enabled": False}
    # seccomp: enabled exactly when this build has libseccomp
    if seccomp.available():
        assert linux["seccomp"]["enabled"] is True
        assert set(linux["seccomp"]["actions"]) == set(seccomp.ACTIONS)
        assert set(linux["seccomp"]["operators"]) == set(seccomp.OPERATORS)
        assert linux["seccomp"]["knownFlags"] == list(seccomp.FLAGS)
    else:
        assert linux["seccomp"] == {"enabled": False}
    assert linux["netDevices"] == {"enabled": True}
    assert linux["mountExtensions"] == {"idmap": {"enabled": True}}
    assert doc["annotations"] == {"io.github.runtime.version": __version__}
    json.dumps(doc)


def test_features_is_fresh():
    a = features_doc.features()
    a["linux"]["cgroup"]["v1"] = False
    a["hooks"].append("bogus")
    b = features_doc.features()
    assert b["linux"]["cgroup"]["v1"] is True and "bogus" not in b["hooks"]
