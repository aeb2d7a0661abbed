"""create / start / state / kill / delete / run / list, as runc does them."""

from __future__ import annotations

import datetime
import json
import os
import re
import signal
import subprocess
import tempfile
import time

import pytest

from e2e_util import (assert_nothing_left, assert_one_line_error, cgroup_dirs, new_id,
                      processes_rooted_at, wait_until)

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0] != "Z"
    except FileNotFoundError:
        return False


def test_full_lifecycle(rt, make_bundle, tmp_path):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    pid_file = tmp_path / "pid"
    rt.ok("create", "--bundle", b.path, "--pid-file", pid_file, cid)

    # the pid file exists when create returns, without a trailing newline
    content = pid_file.read_text()
    assert content == content.strip() and not content.endswith("\n")
    st = rt.state(cid)
    assert st["status"] == "created"
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert int(content) == st["pid"]
    assert pid_alive(st["pid"])

    rt.ok("start", cid)
    st = rt.wait_status(cid, "running")
    pid = st["pid"]
    assert pid_alive(pid)

    rt.ok("kill", cid, "KILL")
    rt.wait_status(cid, "stopped")
    assert wait_until(lambda: not pid_alive(pid))

    rt.ok("delete", cid)
    r = rt("state", cid)
    assert_one_line_error(r)
    assert "does not exist" in r.err
    assert_nothing_left(rt, cid, b)


def test_state_fields_and_types(rt, make_bundle):
    b = make_bundle(["sleep", "30"])
    b.config["annotations"] = {"org.example.key": "value"}
    b.write()
    cid = new_id()
    before = datetime.datetime.now(datetime.timezone.utc)
    rt.ok("create", "--bundle", b.path, cid)
    after = datetime.datetime.now(datetime.timezone.utc)
    st = rt.state(cid)
    assert st["ociVersion"] == b.config["ociVersion"] or isinstance(st["ociVersion"], str)
    assert re.match(r"^\d+\.\d+\.\d+", st["ociVersion"])
    assert st["id"] == cid
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert st["status"] == "created"
    assert st["bundle"] == os.path.realpath(b.path)
    assert os.path.isabs(st["bundle"])
    assert st["rootfs"] == os.path.realpath(b.rootfs)
    assert isinstance(st["owner"], str)
    assert st["annotations"] == {"org.example.key": "value"}

    created = st["created"]
    assert RFC3339.match(created), created
    # fromisoformat in 3.11 copes with Z but not with nanoseconds: trim to micro
    m = re.match(r"^(.*T\d{2}:\d{2}:\d{2})(\.\d+)?(.*)$", created)
    frac = (m.group(2) or ".0")[:7]
    tz = m.group(3).replace("Z", "+00:00")
    t = datetime.datetime.fromisoformat(m.group(1) + frac + tz)
    slack = datetime.timedelta(seconds=2)
    assert before - slack <= t <= after + slack


def test_state_without_annotations_has_no_annotations_or_empty(rt, make_bundle):
    b = make_bundle(["sleep", "30"])
    b.config.pop("annotations", None)
    b.write()
    cid = new_id()
    rt.ok("create", "--bundle", b.path, cid)
    st = rt.state(cid)
    assert st.get("annotations") in (None, {})


def test_list_formats(rt, make_bundle):
    b1, b2 = make_bundle(["sleep", "30"]), make_bundle(["sleep", "30"])
    c1, c2 = new_id("la"), new_id("lb")
    rt.ok("create", "--bundle", b1.path, c1)
    rt.ok("create", "--bundle", b2.path, c2)
    rt.ok("start", c2)
    rt.wait_status(c2, "running")

    q = rt.ok("list", "--quiet").out.split()
    assert sorted(q) == sorted([c1, c2])
    assert sorted(rt.ok("list", "-q").out.split()) == sorted([c1, c2])

    table = rt.ok("list").out.splitlines()
    assert table[0].split()[:4] == ["ID", "PID", "STATUS", "BUNDLE"]
    rows = {line.split()[0]: line.split() for line in table[1:] if line.strip()}
    assert set(rows) == {c1, c2}
    assert rows[c1][2] == "created"
    assert rows[c2][2] == "running"
    assert rows[c1][3] == os.path.realpath(b1.path)

    for argv in (("list", "--format", "json"), ("list", "-f", "json"), ("list", "--format=json")):
        data = json.loads(rt.ok(*argv).out)
        assert isinstance(data, list)
        by_id = {d["id"]: d for d in data}
        assert set(by_id) == {c1, c2}
        assert by_id[c1]["status"] == "created"
        assert by_id[c2]["status"] == "running"
        assert by_id[c2]["pid"] == rt.state(c2)["pid"]
        assert by_id[c1]["bundle"] == os.path.realpath(b1.path)


def test_list_empty(rt):
    r = rt.ok("list", "-q")
    assert r.out.strip() == ""
    r = rt.ok("list", "--format", "json")
    assert json.loads(r.out) in ([], None)


def test_start_twice_fails(rt, make_bundle):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("create", "--bundle", b.path, cid)
    rt.ok("start", cid)
    r = rt("start", cid)
    assert_one_line_error(r)
    assert rt.status(cid) == "running"


def test_start_of_stopped_fails(rt, make_bundle):
    b = make_bundle(["true"])
    cid = new_id()
    rt.ok("create", "--bundle", b.path, cid)
    rt.ok("start", cid)
    rt.wait_status(cid, "stopped")
    r = rt("start", cid)
    assert_one_line_error(r)
    assert rt.status(cid) == "stopped"


def test_delete_running_needs_force(rt, make_bundle):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("create", "--bundle", b.path, cid)
    rt.ok("start", cid)
    st = rt.wait_status(cid, "running")
    r = rt("delete", cid)
    assert_one_line_error(r)
    assert rt.status(cid) == "running"
    assert pid_alive(st["pid"])

    rt.ok("delete", "--force", cid)
    assert wait_until(lambda: not pid_alive(st["pid"]))
    assert_nothing_left(rt, cid, b)


def test_delete_force_short_flag(rt, make_bundle):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("run", "-d", "--bundle", b.path, cid)
    pid = rt.wait_status(cid, "running")["pid"]
    rt.ok("delete", "-f", cid)
    assert wait_until(lambda: not pid_alive(pid))
    assert_nothing_left(rt, cid, b)


def test_delete_created(rt, make_bundle):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("create", "--bundle", b.path, cid)
    pid = rt.state(cid)["pid"]
    rt.ok("delete", cid)
    assert wait_until(lambda: not pid_alive(pid))
    assert_nothing_left(rt, cid, b)


def test_delete_stopped(rt, make_bundle):
    b = make_bundle(["true"])
    cid = new_id()
    rt.ok("create", "--bundle", b.path, cid)
    rt.ok("start", cid)
    rt.wait_status(cid, "stopped")
    rt.ok("delete", cid)
    assert_nothing_left(rt, cid, b)


def test_kill_stopped_fails(rt, make_bundle):
    b = make_bundle(["true"])
    cid = new_id()
    rt.ok("create", "--bundle", b.path, cid)
    rt.ok("start", cid)
    rt.wait_status(cid, "stopped")
    r = rt("kill", cid, "KILL")
    assert_one_line_error(r)
    assert rt.status(cid) == "stopped"


@pytest.mark.parametrize("sig", ["KILL", "SIGKILL", "9"])
def test_kill_signal_spellings(rt, make_bundle, sig):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("run", "--detach", "--bundle", b.path, cid)
    pid = rt.wait_status(cid, "running")["pid"]
    rt.ok("kill", cid, sig)
    rt.wait_status(cid, "stopped")
    assert wait_until(lambda: not pid_alive(pid))


def test_kill_default_is_term(rt, make_bundle):
    # sh as pid 1 ignores SIGTERM unless it has a handler: install one
    b = make_bundle(["sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.1; done"])
    cid = new_id()
    rt.ok("run", "--detach", "--bundle", b.path, cid)
    rt.wait_status(cid, "running")
    time.sleep(0.3)  # let the trap be installed (not a timing assertion)
    rt.ok("kill", cid)
    rt.wait_status(cid, "stopped")


@pytest.mark.parametrize("sig", ["NOPE", "SIGNOPE", "999", "-1", ""])
def test_kill_invalid_signal(rt, make_bundle, sig):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("run", "--detach", "--bundle", b.path, cid)
    rt.wait_status(cid, "running")
    r = rt("kill", cid, sig)
    assert_one_line_error(r)
    assert rt.status(cid) == "running"


def test_kill_created_container(rt, make_bundle):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("create", "--bundle", b.path, cid)
    pid = rt.state(cid)["pid"]
    rt.ok("kill", cid, "KILL")
    rt.wait_status(cid, "stopped")
    assert wait_until(lambda: not pid_alive(pid))
    rt.ok("delete", cid)
    assert_nothing_left(rt, cid, b)


def _container_pids(cid: str) -> set[int]:
    for d in cgroup_dirs(cid):
        if "/pids/" in d or "/unified/" in d:
            try:
                with open(os.path.join(d, "cgroup.procs")) as f:
                    return {int(x) for x in f.read().split()}
            except FileNotFoundError:
                continue
    return set()


def test_kill_all(rt, make_bundle):
    # pid 1 survives SIGKILL of its children only if it's not the target:
    # sh forks 4 sleepers and waits for them
    b = make_bundle(["sh", "-c", "for i in 1 2 3 4; do sleep 30 & done; wait"])
    cid = new_id()
    rt.ok("run", "--detach", "--bundle", b.path, cid)
    rt.wait_status(cid, "running")
    assert wait_until(lambda: len(processes_rooted_at(b.rootfs)) >= 5), \
        processes_rooted_at(b.rootfs)
    pids = processes_rooted_at(b.rootfs)
    rt.ok("kill", "--all", cid, "KILL")
    assert wait_until(lambda: not any(pid_alive(p) for p in pids)), \
        [p for p in pids if pid_alive(p)]
    rt.wait_status(cid, "stopped")
    rt.ok("delete", cid)
    assert_nothing_left(rt, cid, b)


def test_kill_all_short_flag_leaves_nothing(rt, make_bundle):
    b = make_bundle(["sh", "-c", "sleep 30 & sleep 30 & wait"])
    cid = new_id()
    rt.ok("run", "--detach", "--bundle", b.path, cid)
    rt.wait_status(cid, "running")
    assert wait_until(lambda: len(processes_rooted_at(b.rootfs)) >= 3)
    rt.ok("kill", "-a", cid, "9")
    assert wait_until(lambda: not processes_rooted_at(b.rootfs))


@pytest.mark.parametrize("script,status", [
    ("exit 0", 0),
    ("exit 3", 3),
    # the init of a pid namespace ignores signals without a handler, even
    # SIGKILL sent from inside: the shell carries on
    ("kill -9 $$; exit 4", 4),
    ("kill -15 $$; exit 5", 5),
])
def test_run_exit_status(run_in, script, status):
    r = run_in(["sh", "-c", script])
    assert r.rc == status, r


def test_run_exit_status_killed_from_inside_without_pid_ns(run_in):
    def no_pidns(b):
        b.linux["namespaces"] = [n for n in b.linux["namespaces"] if n["type"] != "pid"]
    r = run_in(["sh", "-c", "kill -9 $$"], edit=no_pidns)
    assert r.rc == 128 + 9, r


def test_run_exit_status_killed_by_runtime_kill(rt, make_bundle, tmp_path):
    b = make_bundle(["sh", "-c", "echo ready; exec sleep 30"])
    cid = new_id()
    out = tmp_path / "out"
    with open(out, "w") as f:
        p = rt.popen("run", "--bundle", b.path, cid, stdout=f, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: out.read_text() == "ready\n"), out.read_text()
        rt.ok("kill", cid, "KILL")
        rc = p.wait(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert rc == 128 + 9
    # foreground run without --keep deletes the container
    assert_nothing_left(rt, cid, b)


def test_run_foreground_passes_output_and_deletes(rt, run_in):
    r = run_in(["sh", "-c", "echo out; echo err >&2"])
    assert r.rc == 0, r
    assert r.out == "out\n"
    assert "err" in r.err
    # without --keep the container is gone
    assert_one_line_error(rt("state", r.id))
    assert_nothing_left(rt, r.id, r.bundle)


def test_run_keep_leaves_stopped_container(rt, run_in):
    r = run_in(["sh", "-c", "exit 5"], run_args=("--keep",))
    assert r.rc == 5, r
    st = rt.state(r.id)
    assert st["status"] == "stopped"
    rt.ok("delete", r.id)
    assert_nothing_left(rt, r.id, r.bundle)


def test_run_detach_then_delete_force(rt, make_bundle):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("run", "--detach", "--bundle", b.path, cid)
    st = rt.wait_status(cid, "running")
    rt.ok("delete", "--force", cid)
    assert wait_until(lambda: not pid_alive(st["pid"]))
    assert_nothing_left(rt, cid, b)


def test_run_positional_bundle_and_pid_file(rt, make_bundle, tmp_path):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    pid_file = tmp_path / "run.pid"
    rt.ok("run", "-d", "--pid-file", pid_file, cid, b.path)
    st = rt.wait_status(cid, "running")
    assert pid_file.read_text() == str(st["pid"])


def test_create_relative_bundle_from_cwd(rt, make_bundle):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("create", cid, cwd=b.path)
    assert rt.state(cid)["bundle"] == os.path.realpath(b.path)


def test_concurrent_start_kill_delete(rt, make_bundle):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("create", "--bundle", b.path, cid)
    starts = [rt.popen("start", cid, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(6)]
    results = [(p.wait(timeout=30), p.communicate()) for p in starts]
    ok = [rc for rc, _ in results if rc == 0]
    assert len(ok) == 1, results
    for rc, (out, err) in results:
        assert "Traceback" not in err
        if rc != 0:
            assert len(err.splitlines()) == 1 and err.startswith("runtime: "), err
    st = rt.wait_status(cid, "running")

    # several kills at once: all succeed or fail cleanly, the container stops
    kills = [rt.popen("kill", cid, "KILL", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                      text=True) for _ in range(4)]
    for p in kills:
        p.wait(timeout=30)
        _, err = p.communicate()
        assert "Traceback" not in err
    rt.wait_status(cid, "stopped")

    # several deletes at once: at least one succeeds, none corrupts anything
    dels = [rt.popen("delete", cid, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(4)]
    rcs = []
    for p in dels:
        rcs.append(p.wait(timeout=30))
        _, err = p.communicate()
        assert "Traceback" not in err
        if p.returncode != 0:
            assert len(err.splitlines()) == 1 and err.startswith("runtime: "), err
    assert 0 in rcs
    assert not pid_alive(st["pid"])
    assert_nothing_left(rt, cid, b)
    # the state store still works
    assert json.loads(rt.ok("list", "-f", "json").out) in ([], None)


def test_concurrent_create_same_id(rt, make_bundle):
    bundles = [make_bundle(["sleep", "30"]) for _ in range(4)]
    cid = new_id()
    # no pipes: the winner's container inherits the create's stdio
    errs = [tempfile.TemporaryFile() for _ in bundles]
    procs = [rt.popen("create", "--bundle", b.path, cid, stdout=subprocess.DEVNULL, stderr=e)
             for b, e in zip(bundles, errs)]
    rcs = []
    for p, e in zip(procs, errs):
        rcs.append(p.wait(timeout=30))
        e.seek(0)
        err = e.read().decode()
        e.close()
        assert "Traceback" not in err
        if p.returncode != 0:
            assert len(err.splitlines()) == 1 and err.startswith("runtime: "), err
    assert rcs.count(0) == 1, rcs
    winner = bundles[rcs.index(0)]
    st = rt.state(cid)
    assert st["status"] == "created"
    assert st["bundle"] == os.path.realpath(winner.path)
    for b in bundles:
        if b is not winner:
            assert not processes_rooted_at(b.rootfs)


def test_foreground_run_forwards_signals(rt, make_bundle):
    b = make_bundle(["sh", "-c", "trap 'exit 9' TERM; echo ready; while true; do sleep 0.1; done"])
    cid = new_id()
    p = rt.popen("run", "--bundle", b.path, cid, stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert rc == 9


def test_init_killed_from_host_is_stopped(rt, make_bundle):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("run", "-d", "--bundle", b.path, cid)
    pid = rt.wait_status(cid, "running")["pid"]
    os.kill(pid, signal.SIGKILL)
    rt.wait_status(cid, "stopped")
    rt.ok("delete", cid)
    assert_nothing_left(rt, cid, b)


def test_start_after_init_died_fails_cleanly(rt, make_bundle):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("create", "--bundle", b.path, cid)
    pid = rt.state(cid)["pid"]
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not pid_alive(pid))
    r = rt("start", cid)
    assert_one_line_error(r)
    assert rt.status(cid) == "stopped"
    rt.ok("delete", cid)
    assert_nothing_left(rt, cid, b)


def test_relative_pid_file(rt, make_bundle, tmp_path):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("create", "--bundle", b.path, "--pid-file", "rel.pid", cid, cwd=tmp_path)
    assert (tmp_path / "rel.pid").read_text() == str(rt.state(cid)["pid"])


def test_pid_file_in_missing_dir_fails_cleanly(rt, make_bundle, tmp_path, clean_failure):
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    r = rt("create", "--bundle", b.path, "--pid-file", tmp_path / "no" / "dir" / "pid", cid)
    clean_failure(r, cid, b)


def test_state_is_valid_after_many_containers(rt, make_bundle):
    ids = []
    for _ in range(5):
        b = make_bundle(["sleep", "30"])
        cid = new_id()
        rt.ok("create", "--bundle", b.path, cid)
        ids.append(cid)
    data = json.loads(rt.ok("list", "-f", "json").out)
    assert sorted(d["id"] for d in data) == sorted(ids)
    for cid in ids:
        rt.ok("delete", cid)
    assert json.loads(rt.ok("list", "-f", "json").out) in ([], None)
