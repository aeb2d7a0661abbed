"""containerd (a daemon of our own: root, state, sockets under a temp dir, CRI
disabled) with `runtime` as the runc binary (`ctr run --runc-binary`).
Skipped when containerd/ctr are not installed."""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time
import uuid

import pytest

from conformance.engines import common
from conformance.engines import containerd as containerd_mod

pytestmark = pytest.mark.skipif(containerd_mod.available() is not None,
                                reason=f"containerd: {containerd_mod.available()}")


@pytest.fixture(scope="module")
def cd(runtime_bin):
    c = containerd_mod.Containerd(runtime_bin)
    try:
        c.start()
        c.import_busybox()
    except BaseException:
        c.close()
        raise
    yield c
    problems = c.close()
    assert not problems, "containerd suite left things behind:\n" + "\n".join(problems)


@pytest.fixture
def act(cd, argv_record):
    return common.recorder(cd, "containerd", argv_record)


@pytest.fixture
def cid(cd):
    """A container id; its task and container are removed after the test, and
    the runtime must have removed its cgroup."""
    c = "c-" + uuid.uuid4().hex[:8]
    yield c
    cd.ctr("tasks", "kill", "-a", "-s", "SIGKILL", c, check=False)
    cd.ctr("tasks", "delete", "-f", c, check=False)
    cd.ctr("containers", "rm", c, check=False)
    assert c not in cd.ctr("containers", "ls", "-q").stdout.split()
    left = common.cgroup_dirs(cd.cgroup_name(c))
    assert not left, f"runtime left cgroups of {c}: {left}"


def run_detached(cd, c, *cmd, opts=()):
    cd.ctr("run", "-d", *cd.run_opts(), *opts, cd.image, c, *cmd)
    _wait_for(lambda: task_status(cd, c) == "RUNNING")


def task_status(cd, c) -> str | None:
    for line in cd.ctr("tasks", "ls").stdout.splitlines()[1:]:
        f = line.split()
        if f and f[0] == c:
            return f[2] if len(f) > 2 else None
    return None


def task_pid(cd, c) -> int:
    for line in cd.ctr("tasks", "ls").stdout.splitlines()[1:]:
        f = line.split()
        if f and f[0] == c:
            return int(f[1])
    raise AssertionError(f"no task {c}")


def cgroup_file(cd, c, controller, name) -> str | None:
    for d in common.cgroup_dirs(cd.cgroup_name(c)):
        p = os.path.join(d, name)
        if (f"/{controller}/" in d or "/unified/" not in d) and os.path.exists(p):
            with open(p) as f:
                return f.read().strip()
    return None


# -- run ------------------------------------------------------------------------

def test_run_rm(cd, act, cid):
    with act("ctr run --rm IMAGE ID echo hello"):
        p = cd.ctr("run", "--rm", *cd.run_opts(), cd.image, cid, "echo", "hello")
    assert p.stdout == "hello\n"
    assert cid not in cd.ctr("containers", "ls", "-q").stdout.split()


def test_run_exit_status(cd, cid):
    p = cd.ctr("run", "--rm", *cd.run_opts(), cd.image, cid, "sh", "-c", "exit 3", check=False)
    assert p.returncode == 3


def test_run_stdout_stderr(cd, cid):
    # (not stdin: ctr run never closes the stdin fifo at EOF, with runc too)
    p = cd.ctr("run", "--rm", *cd.run_opts(), cd.image, cid, "sh", "-c",
               "echo out; echo err >&2")
    assert (p.stdout, p.stderr) == ("out\n", "err\n")


def test_run_tty(cd, act, cid):
    with act("ctr run --rm -t IMAGE ID tty"):
        rc, out = common.run_in_pty(cd.ctr_argv("run", "--rm", "-t", *cd.run_opts(), cd.image,
                                                cid, "sh", "-c", "tty; exit 4"), timeout=60)
    assert rc == 4, out
    assert "/dev/pts/" in out


def test_run_detached_exec(cd, act, cid):
    with act("ctr run -d IMAGE ID sleep 1000"):
        run_detached(cd, cid, "sleep", "1000")
    with act("ctr task exec --exec-id E ID echo hi"):
        p = cd.ctr("task", "exec", *cd.exec_opts(), "--exec-id", "e1", cid, "echo", "hi")
    assert p.stdout == "hi\n"
    p = cd.ctr("task", "exec", *cd.exec_opts(), "--exec-id", "e2", cid, "sh", "-c", "exit 5",
               check=False)
    assert p.returncode == 5
    with act("ctr task exec -t --exec-id E ID tty"):
        rc, out = common.run_in_pty(cd.ctr_argv("task", "exec", "-t", *cd.exec_opts(),
                                                "--exec-id", "e3", cid, "tty"), timeout=60)
    assert rc == 0, out
    assert "/dev/pts/" in out
    # a second terminal exec into the same container
    rc, out = common.run_in_pty(cd.ctr_argv("task", "exec", "-t", *cd.exec_opts(),
                                            "--exec-id", "e4", cid, "tty"), timeout=60)
    assert rc == 0, out
    assert "/dev/pts/" in out
    p = cd.ctr("task", "exec", *cd.exec_opts(), "--user", "65534", "--cwd", "/tmp",
               "--exec-id", "e5", cid, "sh", "-c", 'echo "$(id -u) $PWD"')
    assert p.stdout == "65534 /tmp\n"


def test_task_ps(cd, act, cid, needs_cmds):
    needs_cmds("ps")
    run_detached(cd, cid, "sleep", "1000")
    with act("ctr task ps ID"):
        p = cd.ctr("task", "ps", cid)
    assert str(task_pid(cd, cid)) in p.stdout.split(), p.stdout


def test_pause_resume(cd, act, cid, needs_cmds):
    needs_cmds("pause", "resume")
    run_detached(cd, cid, "sleep", "1000")
    with act("ctr task pause ID"):
        cd.ctr("task", "pause", cid)
    assert task_status(cd, cid) == "PAUSED"
    with act("ctr task resume ID"):
        cd.ctr("task", "resume", cid)
    assert task_status(cd, cid) == "RUNNING"
    p = cd.ctr("task", "exec", *cd.exec_opts(), "--exec-id", "after", cid, "echo", "alive")
    assert p.stdout == "alive\n"


def test_task_kill(cd, act, cid):
    run_detached(cd, cid, "sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.1; done")
    time.sleep(0.3)  # let the trap be set
    with act("ctr task kill ID (SIGTERM)"):
        cd.ctr("task", "kill", cid)
    _wait_for(lambda: task_status(cd, cid) == "STOPPED")
    with act("ctr task delete ID"):
        p = cd.ctr("task", "delete", cid)
    assert "42" in p.stdout + p.stderr or p.returncode == 0


def test_task_kill_all(cd, act, cid):
    run_detached(cd, cid, "sh", "-c", "sleep 1000 & sleep 1000 & wait")
    _wait_for(lambda: len(_procs(cd, cid)) >= 3)
    pids = _procs(cd, cid)
    with act("ctr task kill --all -s SIGKILL ID"):
        cd.ctr("task", "kill", "--all", "-s", "SIGKILL", cid)
    _wait_for(lambda: task_status(cd, cid) == "STOPPED")
    _wait_for(lambda: not any(os.path.exists(f"/proc/{p}") and _alive(p) for p in pids))


def test_task_delete_force(cd, act, cid):
    run_detached(cd, cid, "sleep", "1000")
    pid = task_pid(cd, cid)
    with act("ctr task delete -f ID (running)"):
        cd.ctr("task", "delete", "-f", cid)
    _wait_for(lambda: not _alive(pid))
    assert task_status(cd, cid) is None


def test_bind_mount(cd, act, cid):
    host = tempfile.mkdtemp(prefix="bind-", dir=cd.tmp)
    with open(os.path.join(host, "in"), "w") as f:
        f.write("from-host\n")
    with act("ctr run --rm --mount type=bind,src=HOST,dst=/data,options=rbind:rw IMAGE ID ..."):
        p = cd.ctr("run", "--rm", *cd.run_opts(), "--mount",
                   f"type=bind,src={host},dst=/data,options=rbind:rw", cd.image, cid,
                   "sh", "-c", "cat /data/in; echo from-ctr > /data/out")
    assert p.stdout == "from-host\n"
    with open(os.path.join(host, "out")) as f:
        assert f.read() == "from-ctr\n"


def test_bind_mount_ro(cd, cid):
    host = tempfile.mkdtemp(prefix="bind-", dir=cd.tmp)
    p = cd.ctr("run", "--rm", *cd.run_opts(), "--mount",
               f"type=bind,src={host},dst=/data,options=rbind:ro", cd.image, cid,
               "sh", "-c", "echo x > /data/out", check=False)
    assert p.returncode != 0
    assert not os.path.exists(os.path.join(host, "out"))


def test_no_pivot(cd, act, cid):
    with act("ctr run --rm --no-pivot IMAGE ID ..."):
        p = cd.ctr("run", "--rm", "--no-pivot", *cd.run_opts(), cd.image, cid,
                   "sh", "-c", "ls /bin/busybox && echo ok")
    assert p.stdout.splitlines()[-1] == "ok"
    # ctr --no-pivot replaces the runc options (binary, root): the wrapper is
    # found as "runc" on the daemon's PATH
    calls = [c["argv"] for c in cd.calls_since(0) if common.subcommand(c["argv"]) == "create"]
    assert any("--no-pivot" in a and cid in a for a in calls), calls


def test_read_only(cd, act, cid):
    with act("ctr run --rm --read-only IMAGE ID ..."):
        p = cd.ctr("run", "--rm", "--read-only", *cd.run_opts(), cd.image, cid,
                   "sh", "-c", "touch /x 2>&1; echo done", check=False)
    assert "Read-only file system" in p.stdout, p.stdout + p.stderr


def test_update_resources(cd, act, cid, needs_cmds):
    needs_cmds("update")
    if importlib.util.find_spec("grpc") is None:
        pytest.skip("grpcio not installed (drives containerd's Tasks API)")
    run_detached(cd, cid, "sleep", "1000")
    res = {"memory": {"limit": 64 * 1024 * 1024},
           "cpu": {"quota": 50000, "period": 100000},
           "pids": {"limit": 42}}
    with act("containerd Tasks.Update(memory 64M, cpu 50000/100000, pids 42)"):
        cd.update_task(cid, res)
    mem = cgroup_file(cd, cid, "memory", "memory.limit_in_bytes") or \
        cgroup_file(cd, cid, "memory", "memory.max")
    assert mem == str(64 * 1024 * 1024)
    quota = cgroup_file(cd, cid, "cpu", "cpu.cfs_quota_us")
    if quota is not None:
        assert quota == "50000"
    else:
        assert cgroup_file(cd, cid, "cpu", "cpu.max") == "50000 100000"
    assert cgroup_file(cd, cid, "pids", "pids.max") == "42"


# -- helpers --------------------------------------------------------------------

def _procs(cd, c) -> list[int]:
    """Pids in the container's cgroup (pids controller, or any hierarchy)."""
    out = set()
    for d in common.cgroup_dirs(cd.cgroup_name(c)):
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                out |= {int(x) for x in f.read().split()}
        except OSError:
            pass
    return sorted(out)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(pred, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")
