"""podman (as root, its own storage and config under a temp dir) with
`runtime` registered as its "runc".  Skipped when podman is not installed.

Most containers pass --security-opt seccomp=unconfined (Podman.SAFE), so a
failure points at what the test is about; test_default_seccomp_profile and
test_default_seccomp_profile_exec run with podman's default profile.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import uuid

import pytest

from conformance.engines import common
from conformance.engines import podman as podman_mod

pytestmark = pytest.mark.skipif(podman_mod.available() is not None,
                                reason=f"podman: {podman_mod.available()}")

SAFE = podman_mod.Podman.SAFE


@pytest.fixture(scope="module")
def pm(runtime_bin):
    p = podman_mod.Podman(runtime_bin)
    try:
        p.import_busybox()
    except BaseException:
        p.close()
        raise
    yield p
    problems = p.close()
    assert not problems, "podman suite left things behind:\n" + "\n".join(problems)


@pytest.fixture
def act(pm, argv_record):
    return common.recorder(pm, "podman", argv_record)


@pytest.fixture
def name(pm):
    """A container name; the container is force-removed after the test."""
    n = "c-" + uuid.uuid4().hex[:8]
    yield n
    pm.podman("rm", "-f", "-t", "0", n, check=False)
    left = pm.podman("ps", "-a", "-q", "--filter", f"name=^{n}$", check=False).stdout.strip()
    assert not left, f"container {n} survived podman rm -f"


def inspect(pm, n) -> dict:
    return json.loads(pm.podman("inspect", n).stdout)[0]


def runtime_knows(pm, cid: str) -> bool:
    """Does `runtime list` (default root: podman passes no --root) show cid?"""
    p = subprocess.run([pm.runtime, "list", "--format", "json"], capture_output=True, text=True)
    if p.returncode != 0:
        return False
    try:
        return any(c.get("id") == cid for c in json.loads(p.stdout or "[]") or [])
    except ValueError:
        return cid in p.stdout


def detached(pm, n, *cmd, opts=()):
    pm.podman("run", "-d", "--name", n, *SAFE, *opts, pm.image, *cmd)
    return inspect(pm, n)["Id"]


# -- run ------------------------------------------------------------------------

def test_run_rm(pm, act):
    with act("podman run --rm IMAGE echo hello"):
        p = pm.podman("run", "--rm", *SAFE, pm.image, "echo", "hello")
    assert p.stdout == "hello\n"
    assert pm.podman("ps", "-a", "-q").stdout.strip() == ""
    calls = pm.calls_since(0)
    assert any(common.subcommand(c["argv"]) == "create" for c in calls)


def test_run_stdin_pipe(pm):
    p = pm.podman("run", "--rm", "-i", *SAFE, pm.image, "tr", "a-z", "A-Z", input="piped\n")
    assert p.stdout == "PIPED\n"


def test_run_detached_exec_stop_rm(pm, act, name):
    with act("podman run -d IMAGE sleep 1000"):
        cid = detached(pm, name, "sleep", "1000")
    assert inspect(pm, name)["State"]["Status"] == "running"
    assert runtime_knows(pm, cid)
    with act("podman exec CTR echo hi"):
        p = pm.podman("exec", name, "echo", "hi")
    assert p.stdout == "hi\n"
    with act("podman exec CTR sh -c 'exit 7'"):
        p = pm.podman("exec", name, "sh", "-c", "exit 7", check=False)
    assert p.returncode == 7
    with act("podman exec -t CTR tty"):
        p = pm.podman("exec", "-t", name, "tty")
    assert p.stdout.strip().startswith("/dev/pts/"), p.stdout
    # a second terminal exec, after the first one's pty is gone
    p = pm.podman("exec", "-t", name, "tty", check=False)
    assert p.returncode == 0 and p.stdout.strip().startswith("/dev/pts/"), p.stderr
    with act("podman exec -u 65534:65534 -w /tmp -e FOO=bar CTR ..."):
        p = pm.podman("exec", "-u", "65534:65534", "-w", "/tmp", "-e", "FOO=bar", name,
                      "sh", "-c", 'echo "$(id -u):$(id -g) $PWD $FOO"')
    assert p.stdout == "65534:65534 /tmp bar\n"
    with act("podman stop -t 1 CTR"):
        pm.podman("stop", "-t", "1", name)
    st = inspect(pm, name)["State"]
    assert st["Status"] == "exited"
    assert st["ExitCode"] == 137  # sleep as pid 1 ignores SIGTERM: killed after 1 s
    with act("podman rm CTR"):
        pm.podman("rm", name)
    assert not runtime_knows(pm, cid)


def test_run_tty(pm, act):
    with act("podman run --rm -t IMAGE tty"):
        p = pm.podman("run", "--rm", "-t", *SAFE, pm.image, "sh", "-c",
                      "tty; stty size; test -t 0 && echo stdin-tty")
    out = p.stdout.replace("\r", "")
    assert out.splitlines()[0].startswith("/dev/pts/"), p.stdout
    assert "stdin-tty" in out


def test_run_tty_interactive_pty(pm):
    rc, out = common.run_in_pty(pm.argv("run", f"--cgroup-parent={pm.cgroup_parent}", "--rm",
                                        "-it", *SAFE, pm.image, "sh", "-c", "tty; exit 3"),
                                env=pm.env, timeout=60)
    assert rc == 3, out
    assert "/dev/pts/" in out


# -- lifecycle verbs --------------------------------------------------------------

def test_pause_unpause(pm, act, name, needs_cmds):
    needs_cmds("pause", "resume")
    detached(pm, name, "sleep", "1000")
    with act("podman pause CTR"):
        pm.podman("pause", name)
    assert inspect(pm, name)["State"]["Status"] == "paused"
    with act("podman unpause CTR"):
        pm.podman("unpause", name)
    assert inspect(pm, name)["State"]["Status"] == "running"
    assert pm.podman("exec", name, "echo", "alive").stdout == "alive\n"


def test_kill_signal(pm, act, name):
    detached(pm, name, "sh", "-c",
             "trap 'exit 42' USR1; echo ready > /tmp/ready; while :; do sleep 0.1; done")
    _wait_for(lambda: pm.podman("exec", name, "cat", "/tmp/ready", check=False).returncode == 0)
    with act("podman kill -s USR1 CTR"):
        pm.podman("kill", "-s", "USR1", name)
    p = pm.podman("wait", name)
    assert p.stdout.strip() == "42"


def test_restart(pm, act, name):
    detached(pm, name, "sleep", "1000")
    pid1 = inspect(pm, name)["State"]["Pid"]
    with act("podman restart -t 1 CTR"):
        pm.podman("restart", "-t", "1", name)
    st = inspect(pm, name)["State"]
    assert st["Status"] == "running"
    assert st["Pid"] != pid1
    assert pm.podman("exec", name, "echo", "again").stdout == "again\n"


def test_preserve_fds(pm, act):
    with tempfile.TemporaryFile("w+") as f:
        f.write("from-fd-3\n")
        f.flush()
        f.seek(0)
        r = f.fileno()
        with act("podman run --rm --preserve-fds 1 IMAGE sh -c 'cat <&3'"):
            # the child gets the file as its fd 3; this process's fds stay as they are
            p = pm.podman("run", "--rm", "--preserve-fds", "1", *SAFE, pm.image,
                          "sh", "-c", "cat <&3", pass_fds=(3,),
                          preexec_fn=lambda: os.dup2(r, 3))
    assert p.stdout == "from-fd-3\n"


def test_init(pm, act):
    with act("podman run --rm --init IMAGE cat /proc/1/cmdline"):
        p = pm.podman("run", "--rm", "--init", *SAFE, pm.image, "sh", "-c",
                      "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$")
    first, pid = p.stdout.splitlines()[:2]
    assert "init" in first, p.stdout  # /run/podman-init -- sh -c ...
    assert pid != "1"


def test_read_only(pm, act):
    with act("podman run --rm --read-only IMAGE ..."):
        p = pm.podman("run", "--rm", "--read-only", *SAFE, pm.image, "sh", "-c",
                      "touch /x 2>&1; touch /tmp/y && echo tmp-ok", check=False)
    assert "Read-only file system" in p.stdout, p.stdout + p.stderr
    assert "tmp-ok" in p.stdout


def test_bind_volume(pm, act):
    host = tempfile.mkdtemp(prefix="vol-", dir=pm.tmp)
    with open(os.path.join(host, "in"), "w") as f:
        f.write("from-host\n")
    with act("podman run --rm -v HOST:/data IMAGE ..."):
        p = pm.podman("run", "--rm", "-v", f"{host}:/data", *SAFE, pm.image, "sh", "-c",
                      "cat /data/in; echo from-ctr > /data/out")
    assert p.stdout == "from-host\n"
    with open(os.path.join(host, "out")) as f:
        assert f.read() == "from-ctr\n"
    p = pm.podman("run", "--rm", "-v", f"{host}:/data:ro", *SAFE, pm.image, "sh", "-c",
                  "echo x > /data/out2", check=False)
    assert p.returncode != 0
    assert not os.path.exists(os.path.join(host, "out2"))


def test_top(pm, act, name):
    detached(pm, name, "sleep", "1000")
    with act("podman top CTR"):
        p = pm.podman("top", name)
    assert "sleep 1000" in p.stdout, p.stdout


@pytest.mark.parametrize("cmd,code", [(["true"], 0), (["false"], 1),
                                      (["sh", "-c", "exit 137"], 137)])
def test_wait_exit_codes(pm, act, name, cmd, code):
    with act(f"podman run -d IMAGE {' '.join(cmd)} + podman wait"):
        detached(pm, name, *cmd)
        p = pm.podman("wait", name)
    assert p.stdout.strip() == str(code)
    assert inspect(pm, name)["State"]["ExitCode"] == code


def test_wait_after_kill(pm, act, name):
    """137 as podman reports a SIGKILLed init (pid 1 can't SIGKILL itself)."""
    detached(pm, name, "sleep", "1000")
    with act("podman kill CTR (SIGKILL) + podman wait"):
        pm.podman("kill", "-s", "KILL", name)
        p = pm.podman("wait", name)
    assert p.stdout.strip() == "137"


# -- errors ---------------------------------------------------------------------

def test_missing_executable_is_127(pm, act):
    with act("podman run --rm IMAGE /no/such/binary"):
        p = pm.podman("run", "--rm", *SAFE, pm.image, "/no/such/binary", check=False)
    assert p.returncode == 127, p.stderr
    assert "/no/such/binary" in p.stderr


def test_missing_executable_in_path_is_127(pm):
    p = pm.podman("run", "--rm", *SAFE, pm.image, "no-such-command", check=False)
    assert p.returncode == 127, p.stderr


def test_default_seccomp_profile(pm, act):
    """podman's default config carries its seccomp profile: the container
    runs under it (filter mode 2 in its status)."""
    with act("podman run --rm IMAGE sh -c ... (default seccomp profile)"):
        p = pm.podman("run", "--rm", pm.image, "sh", "-c", "echo ok; grep ^Seccomp: /proc/self/status",
                      check=False)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "ok\nSeccomp:\t2\n", p.stdout
    assert pm.podman("ps", "-a", "-q").stdout.strip() == ""


def test_default_seccomp_profile_exec(pm, name):
    """`podman exec` into such a container is filtered as well."""
    pm.podman("run", "-d", "--name", name, pm.image, "sleep", "300")
    p = pm.podman("exec", name, "grep", "^Seccomp:", "/proc/self/status", check=False)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "Seccomp:\t2\n", p.stdout


def _wait_for(pred, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")
