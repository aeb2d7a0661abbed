"""Logging, spec, features, validate, --version, --help."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from e2e_util import RUNC, RUNTIME, assert_one_line_error, needs_validator, new_id

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


# ------------------------------------------------------------------ logging

def test_log_json_on_error(rt, tmp_path):
    log = tmp_path / "log.json"
    r = rt("state", "nope", global_args=("--log", str(log), "--log-format", "json"))
    assert_one_line_error(r)
    lines = [l for l in log.read_text().splitlines() if l.strip()]
    assert lines, "nothing logged"
    entries = [json.loads(l) for l in lines]
    errors = [e for e in entries if e.get("level") == "error"]
    assert errors, entries
    e = errors[-1]
    assert "does not exist" in e["msg"]
    assert RFC3339.match(e["time"]), e["time"]
    # the same message as on stderr
    assert r.err.strip().removeprefix("runtime: ") in e["msg"] or e["msg"] in r.err


def test_log_json_with_equals_syntax(rt, tmp_path):
    log = tmp_path / "log.json"
    r = rt("kill", "nope", "KILL", global_args=(f"--log={log}", "--log-format=json"))
    assert_one_line_error(r)
    e = json.loads(log.read_text().splitlines()[-1])
    assert e["level"] == "error" and e["msg"] and e["time"]


def test_log_text_on_error(rt, tmp_path):
    log = tmp_path / "log.txt"
    r = rt("start", "nope", global_args=("--log", str(log), "--log-format", "text"))
    assert_one_line_error(r)
    line = log.read_text().splitlines()[-1]
    m = re.match(r'^time="([^"]+)" level=error msg="(.*)"$', line)
    assert m, line
    assert RFC3339.match(m.group(1))
    assert "does not exist" in m.group(2)


def test_log_appends(rt, tmp_path):
    log = tmp_path / "log.json"
    log.write_text('{"level":"info","msg":"pre-existing","time":"2020-01-01T00:00:00Z"}\n')
    rt("state", "nope", global_args=("--log", str(log), "--log-format", "json"))
    rt("state", "nope2", global_args=("--log", str(log), "--log-format", "json"))
    lines = log.read_text().splitlines()
    assert "pre-existing" in lines[0]
    assert len([l for l in lines if '"error"' in l]) >= 2


def test_bad_log_format(rt, tmp_path):
    r = rt("list", global_args=("--log", str(tmp_path / "l"), "--log-format", "xml"))
    assert_one_line_error(r)


def test_log_on_failed_create(rt, make_bundle, tmp_path):
    b = make_bundle(["/nope"])
    log = tmp_path / "log.json"
    r = rt("create", "--bundle", b.path, new_id(),
           global_args=("--log", str(log), "--log-format", "json"))
    assert_one_line_error(r)
    entries = [json.loads(l) for l in log.read_text().splitlines() if l.strip()]
    assert any(e["level"] == "error" and "/nope" in e["msg"] for e in entries), entries


def test_debug_flag_accepted(rt):
    r = rt("list", global_args=("--debug",))
    assert r.rc == 0, r


# ------------------------------------------------------------------ spec

def test_spec_matches_runc(tmp_path):
    if not os.access(RUNC, os.X_OK):
        pytest.skip("no runc")
    ours, theirs = tmp_path / "ours", tmp_path / "runc"
    ours.mkdir()
    theirs.mkdir()
    r = subprocess.run([RUNTIME, "spec", "--bundle", str(ours)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    subprocess.run([RUNC, "spec", "--bundle", str(theirs)], check=True, capture_output=True)
    a = json.loads((ours / "config.json").read_text())
    b = json.loads((theirs / "config.json").read_text())
    assert a.pop("ociVersion").startswith("1.")
    b.pop("ociVersion")
    assert a == b


def test_spec_rootless_matches_runc(tmp_path):
    if not os.access(RUNC, os.X_OK):
        pytest.skip("no runc")
    ours, theirs = tmp_path / "ours", tmp_path / "runc"
    ours.mkdir()
    theirs.mkdir()
    r = subprocess.run([RUNTIME, "spec", "--rootless", "--bundle", str(ours)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    subprocess.run([RUNC, "spec", "--rootless", "--bundle", str(theirs)], check=True,
                   capture_output=True)
    a = json.loads((ours / "config.json").read_text())
    b = json.loads((theirs / "config.json").read_text())
    a.pop("ociVersion")
    b.pop("ociVersion")
    assert a == b


def test_spec_in_cwd(tmp_path):
    r = subprocess.run([RUNTIME, "spec"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    json.loads((tmp_path / "config.json").read_text())


def test_spec_refuses_to_overwrite(tmp_path):
    (tmp_path / "config.json").write_text("keep me")
    r = subprocess.run([RUNTIME, "spec", "--bundle", str(tmp_path)], capture_output=True,
                       text=True)
    assert r.returncode == 1
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("runtime: ")
    assert "Traceback" not in r.stderr
    assert (tmp_path / "config.json").read_text() == "keep me"


def test_spec_missing_bundle_dir(tmp_path):
    r = subprocess.run([RUNTIME, "spec", "--bundle", str(tmp_path / "nope")],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("runtime: ")


# ------------------------------------------------------------------ features

def test_features():
    r = subprocess.run([RUNTIME, "features"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    f = json.loads(r.stdout)
    assert f["ociVersionMin"].startswith("1.")
    assert re.match(r"^1\.\d+\.\d+", f["ociVersionMax"])
    assert tuple(map(int, f["ociVersionMin"].split("-")[0].split("."))) <= \
        tuple(map(int, f["ociVersionMax"].split("-")[0].split(".")))
    linux = f.get("linux", {})
    ns = linux.get("namespaces", [])
    for t in ("pid", "network", "ipc", "uts", "mount"):
        assert t in ns, ns
    caps = linux.get("capabilities", [])
    assert "CAP_SYS_ADMIN" in caps and "CAP_KILL" in caps
    # truthful: seccomp filters are applied (this build has libseccomp)
    seccomp = linux["seccomp"]
    assert seccomp["enabled"] is True, seccomp
    assert "SCMP_ACT_ERRNO" in seccomp["actions"] and "SCMP_ACT_NOTIFY" not in seccomp["actions"]
    assert "SCMP_CMP_MASKED_EQ" in seccomp["operators"]
    assert "SCMP_ARCH_X86_64" in seccomp["archs"]
    assert set(seccomp["supportedFlags"]) <= set(seccomp["knownFlags"])


# ------------------------------------------------------------------ validate

def test_validate_good_bundle(make_bundle, tmp_path):
    b = make_bundle(["true"])
    r = subprocess.run([RUNTIME, "validate", b.path], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([RUNTIME, "validate"], cwd=b.path, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_validate_missing_rootfs(make_bundle):
    b = make_bundle(["true"])
    b.config["root"]["path"] = "nope"
    b.write()
    r = subprocess.run([RUNTIME, "validate", b.path], capture_output=True, text=True)
    assert r.returncode == 1
    assert "root.path" in r.stdout + r.stderr
    assert "Traceback" not in r.stderr


@needs_validator
def test_validate_lists_every_problem(make_bundle):
    b = make_bundle(["true"])
    b.config["process"]["args"] = []
    b.config["process"]["cwd"] = 42
    b.config["ociVersion"] = "2.0.0"
    b.config["linux"]["namespaces"].append({"type": "pid"})
    b.write()
    r = subprocess.run([RUNTIME, "validate", b.path], capture_output=True, text=True)
    assert r.returncode == 1
    out = r.stdout + r.stderr
    for path in ("process.args", "process.cwd", "ociVersion", "linux.namespaces"):
        assert path in out, out
    assert "Traceback" not in out


def test_validate_semantic_problems(make_bundle):
    b = make_bundle(["true"])
    b.config["ociVersion"] = "2.0.0"
    b.config["linux"]["namespaces"].append({"type": "pid"})
    b.config["linux"]["intelRdt"] = {"closID": "x"}
    b.write()
    r = subprocess.run([RUNTIME, "validate", b.path], capture_output=True, text=True)
    assert r.returncode == 1
    out = r.stdout + r.stderr
    for path in ("ociVersion", "linux.namespaces", "linux.intelRdt"):
        assert path in out, out


def test_validate_malformed_json(make_bundle):
    b = make_bundle(["true"])
    with open(b.config_path, "w") as f:
        f.write("{nope")
    r = subprocess.run([RUNTIME, "validate", b.path], capture_output=True, text=True)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr


# ------------------------------------------------------------------ version / help

@pytest.mark.parametrize("flag", ["--version", "-v"])
def test_version(flag):
    r = subprocess.run([RUNTIME, flag], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert re.match(r"^runtime version \S+$", lines[0]), lines
    assert any(re.match(r"^commit: \S+", l) for l in lines), lines
    assert any(re.match(r"^spec: 1\.\d+\.\d+", l) for l in lines), lines


@pytest.mark.parametrize("argv", [
    ["--help"], ["-h"], ["help"],
    *[[cmd, "--help"] for cmd in ("create", "start", "state", "kill", "delete", "run", "list",
                                  "spec", "features", "validate")],
])
def test_help(argv):
    r = subprocess.run([RUNTIME, *argv], capture_output=True, text=True)
    if argv == ["help"] and r.returncode != 0:
        pytest.skip("no `help` subcommand")
    assert r.returncode == 0, r.stderr
    assert "usage" in r.stdout.lower()
    assert r.stderr == ""
    if len(argv) == 2:
        assert argv[0] in r.stdout


def test_help_lists_commands():
    out = subprocess.run([RUNTIME, "--help"], capture_output=True, text=True).stdout
    for cmd in ("create", "start", "state", "kill", "delete", "run", "list", "spec",
                "features"):
        assert re.search(rf"^\s+{cmd}\b", out, re.M), cmd
