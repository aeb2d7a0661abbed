"""Terminals, stdio, fd passing, `exec` and hooks, looked at from inside real
containers (busybox-static rootfs).

Terminal tests listen on an AF_UNIX socket for the pty master (SCM_RIGHTS, as
runc sends it) and drive the container's shell through it. Hook tests use
shell scripts that record the state JSON they got on stdin, their
namespaces, and when they ran, into a directory of the test's.
"""

from __future__ import annotations

import errno
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time

import pytest

from e2e_util import (DEFAULT_TIMEOUT, assert_nothing_left, assert_one_line_error, new_id, status_fields,
                      wait_until)

HOST_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CAP_SYS_ADMIN = 21
CAP_SYS_PTRACE = 19


# ---------------------------------------------------------------- helpers

def add_applets(bundle, *names) -> None:
    """Link busybox applets the shared rootfs does not have (tty, stty...)."""
    for name in names:
        link = os.path.join(bundle.rootfs, "bin", name)
        if not os.path.lexists(link):
            os.symlink("busybox", link)


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def ns_of(pid="self") -> dict[str, str]:
    out = {}
    for n in os.listdir(f"/proc/{pid}/ns"):
        try:
            out[n] = os.readlink(f"/proc/{pid}/ns/{n}")
        except OSError:
            pass
    return out


def dev_ino(path: str) -> str:
    st = os.stat(path)
    return f"{st.st_dev}:{st.st_ino}"


class ConsoleListener:
    """The engine's side of --console-socket: accept, receive the pty master."""

    def __init__(self, path: str):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(DEFAULT_TIMEOUT)
        self.fds: list[int] = []

    def receive(self) -> int:
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(DEFAULT_TIMEOUT)
            msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 4)
        assert len(fds) == 1, f"expected exactly one fd over SCM_RIGHTS, got {fds} (msg {msg!r})"
        self.fds.extend(fds)
        return fds[0]

    def close(self) -> None:
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.sock.close()


@pytest.fixture
def console(tmp_path):
    listeners = []

    def make(name="console.sock") -> ConsoleListener:
        c = ConsoleListener(str(tmp_path / name))
        listeners.append(c)
        return c

    yield make
    for c in listeners:
        c.close()


def read_until_eof(fd: int, timeout: float = DEFAULT_TIMEOUT, until: bytes | None = None) -> bytes:
    """Read a pty master until EIO (every slave closed) or EOF; or until
    `until` shows up in the output."""
    buf = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timeout reading the terminal; so far: {buf!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError as exc:
            if exc.errno == errno.EIO:
                return buf
            raise
        if not data:
            return buf
        buf += data
        if until is not None and until in buf:
            return buf


def field(text: str, name: str) -> str:
    """@@NAME=value markers: the echo of the typed line has a quote after
    @@, so only the command's output matches."""
    m = re.search(rf"@@{name}=([^\r\n]*)", text)
    assert m, f"no @@{name}= in terminal output: {text!r}"
    return m.group(1).strip()


def tty_nr_of(stat_line: str) -> tuple[int, int, int, int]:
    """(pid, session, tty major, tty minor) from a /proc/PID/stat line."""
    head, rest = stat_line.rsplit(")", 1)
    pid = int(head.split("(", 1)[0])
    fields = rest.split()
    session, tty_nr = int(fields[3]), int(fields[4])
    major = (tty_nr >> 8) & 0xFFF
    minor = (tty_nr & 0xFF) | ((tty_nr >> 12) & 0xFFF00)
    return pid, session, major, minor


def runtime_with_fds(rt, args: list, fds: dict[int, str], env=None, timeout=DEFAULT_TIMEOUT, stdin=None):
    """Run the runtime with extra fds opened by a shell wrapper:
    fds = {3: "<file", 4: ">file"}. Returns (rc, out, err)."""
    redirs = " ".join(f"{n}{spec[0]}\"$F{n}\"" for n, spec in fds.items())
    wrapper = f'exec "$@" {redirs}'
    env = dict(os.environ if env is None else env)
    for n, spec in fds.items():
        env[f"F{n}"] = spec[1:]
    argv = ["/bin/sh", "-c", wrapper, "wrapper", *rt.argv(*args)]
    rt._remember(args)
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL if stdin is None else stdin)
    return p


def thaw_directly(pid: int) -> None:
    """Thaw the cgroup of a container's init through cgroupfs (test cleanup)."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return
    for line in lines:
        hier, ctrls, path = line.split(":", 2)
        if "freezer" in ctrls.split(","):
            targets = [(f"/sys/fs/cgroup/freezer{path}/freezer.state", "THAWED")]
        elif hier == "0":
            targets = [(f"/sys/fs/cgroup/unified{path}/cgroup.freeze", "0"),
                       (f"/sys/fs/cgroup{path}/cgroup.freeze", "0")]
        else:
            continue
        for target, value in targets:
            try:
                with open(target, "w") as f:
                    f.write(value)
            except OSError:
                pass


def cap_bit(mask_hex: str, bit: int) -> bool:
    return bool(int(mask_hex, 16) >> bit & 1)


# ================================================================ terminal

TERMINAL_PROBE = (
    'echo @@"TTY"=$(tty); '
    '[ -t 0 ] && echo @@"STDIN_TTY"=yes || echo @@"STDIN_TTY"=no; '
    'echo @@"CONSOLE"=$(stat -c %t:%T /dev/console); '
    'echo @@"STDIN_RDEV"=$(stat -L -c %t:%T /proc/self/fd/0); '
    'read -r st < /proc/$$/stat; echo @@"STAT"="$st"; '
    'echo @@"SIZE"=$(stty size); '
    'echo @@"TYPED"=$(echo typed-through-master | tr a-z A-Z); '
    'exit 3\n'
)


def test_terminal_console_socket_receives_working_master(rt, make_bundle, console):
    b = make_bundle(["sh"], terminal=True, consoleSize={"height": 33, "width": 111})
    add_applets(b, "tty", "stty")
    listener = console()
    cid = new_id("tty")
    rt.ok("create", "--bundle", b.path, "--console-socket", listener.path, cid)
    master = listener.receive()
    assert os.isatty(master)
    rt.ok("start", cid)
    os.write(master, TERMINAL_PROBE.encode())
    out = read_until_eof(master).decode(errors="replace")

    tty_path = field(out, "TTY")
    assert re.fullmatch(r"/dev/pts/\d+", tty_path), out
    assert field(out, "STDIN_TTY") == "yes", out
    # /dev/console is the pty: same device numbers as the process's stdin
    console_rdev = field(out, "CONSOLE")
    assert console_rdev == field(out, "STDIN_RDEV"), out
    major, minor = (int(x, 16) for x in console_rdev.split(":"))
    assert major == 136 and minor == int(tty_path.rsplit("/", 1)[1]), out
    # session leader with the pty as controlling terminal
    pid, session, tmaj, tmin = tty_nr_of(field(out, "STAT"))
    assert pid == 1 and session == pid, out
    assert (tmaj, tmin) == (136, int(tty_path.rsplit("/", 1)[1])), out
    # consoleSize honoured
    assert field(out, "SIZE") == "33 111", out
    # input typed on the master reached the shell
    assert field(out, "TYPED") == "TYPED-THROUGH-MASTER", out

    rt.wait_status(cid, "stopped")
    rt.ok("delete", cid)
    assert_nothing_left(rt, cid, b)


def test_terminal_master_is_a_ptmx_master_and_slave_in_container_devpts(rt, make_bundle, console):
    """The master belongs to the container's own devpts instance: the host's
    /dev/pts has no entry for the container's pty number pointing at it."""
    import fcntl
    import termios

    b = make_bundle(["sh", "-c", "tty; sleep 30"], terminal=True)
    add_applets(b, "tty")
    listener = console()
    cid = new_id("tty")
    rt.ok("create", "--bundle", b.path, "--console-socket", listener.path, cid)
    master = listener.receive()
    # TIOCGPTN only works on a pty master
    tiocgptn = getattr(termios, "TIOCGPTN", 0x80045430)
    n = fcntl.ioctl(master, tiocgptn, b"\0\0\0\0")
    assert int.from_bytes(n, "little") >= 0
    rt.ok("start", cid)
    out = read_until_eof(master, until=b"\n").decode()
    assert re.match(r"/dev/pts/\d+", out.strip()), out


def test_create_terminal_without_console_socket_fails_cleanly(rt, make_bundle, clean_failure):
    b = make_bundle(["sh"], terminal=True)
    cid = new_id()
    r = rt("create", "--bundle", b.path, cid)
    clean_failure(r, cid, b, contains="console-socket")


def test_run_detach_terminal_without_console_socket_fails_cleanly(rt, make_bundle, clean_failure):
    b = make_bundle(["sh"], terminal=True)
    cid = new_id()
    r = rt("run", "-d", "--bundle", b.path, cid)
    clean_failure(r, cid, b, contains="console-socket")


def test_create_console_socket_nobody_listens_fails_cleanly(rt, make_bundle, clean_failure, tmp_path):
    b = make_bundle(["sh"], terminal=True)
    cid = new_id()
    r = rt("create", "--bundle", b.path, "--console-socket", tmp_path / "nope.sock", cid)
    clean_failure(r, cid, b)


def _run_on_pty(argv: list[str], typed: bytes = b"", timeout: float = DEFAULT_TIMEOUT):
    """Run argv with a pty of ours as its stdio; returns (exit status, output)."""
    master, slave = os.openpty()
    try:
        p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    finally:
        os.close(slave)
    try:
        if typed:
            time.sleep(0.3)
            os.write(master, typed)
        out = read_until_eof(master, timeout=timeout)
        rc = p.wait(timeout=timeout)
    except BaseException:
        p.kill()
        p.wait()
        raise
    finally:
        os.close(master)
    return rc, out.decode(errors="replace")


def test_foreground_run_terminal_proxies_caller_pty(rt, make_bundle):
    b = make_bundle(["sh", "-c", 'read line; echo @@GOT=$line; echo @@TTY=$(tty); '
                     '[ -t 1 ] && echo @@OUT_TTY=yes; exit 7'], terminal=True)
    add_applets(b, "tty")
    cid = new_id("fg")
    rt.ids.add(cid)
    rc, out = _run_on_pty(rt.argv("run", "--bundle", b.path, cid), typed=b"hello-from-test\r")
    assert rc == 7, out
    assert field(out, "GOT") == "hello-from-test", out
    assert re.fullmatch(r"/dev/pts/\d+", field(out, "TTY")), out
    assert field(out, "OUT_TTY") == "yes", out
    # run deletes the container afterwards
    assert_nothing_left(rt, cid, b)


def test_foreground_run_terminal_restores_caller_termios(rt, make_bundle):
    """The proxy puts the caller's terminal into raw mode and must restore it."""
    import termios

    b = make_bundle(["true"], terminal=True)
    cid = new_id("fg")
    rt.ids.add(cid)
    master, slave = os.openpty()
    before = termios.tcgetattr(slave)
    try:
        p = subprocess.Popen(rt.argv("run", "--bundle", b.path, cid), stdin=slave, stdout=slave,
                             stderr=slave, start_new_session=True)
        read_until_eof_or_exit(master, p)
        assert p.wait(timeout=DEFAULT_TIMEOUT) == 0
        after = termios.tcgetattr(slave)
    finally:
        os.close(slave)
        os.close(master)
    assert after == before


def _size_seen_in_foreground_run(rt, make_bundle, args) -> str:
    import fcntl
    import struct
    import termios

    b = make_bundle(args, terminal=True)
    add_applets(b, "stty")
    cid = new_id("fg")
    rt.ids.add(cid)
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 41, 132, 0, 0))
    try:
        p = subprocess.Popen(rt.argv("run", "--bundle", b.path, cid), stdin=slave, stdout=slave,
                             stderr=slave, start_new_session=True)
        out = read_until_eof_or_exit(master, p).decode(errors="replace")
        p.wait(timeout=DEFAULT_TIMEOUT)
    finally:
        os.close(slave)
        os.close(master)
    return out


def test_foreground_run_terminal_follows_caller_window_size(rt, make_bundle):
    out = _size_seen_in_foreground_run(rt, make_bundle, ["sh", "-c", "sleep 0.5; echo @@SIZE=$(stty size)"])
    assert field(out, "SIZE") == "41 132", out


def test_foreground_run_terminal_has_caller_window_size_from_the_start(rt, make_bundle):
    out = _size_seen_in_foreground_run(rt, make_bundle, ["stty", "size"])
    assert "41 132" in out, out


def read_until_eof_or_exit(master: int, p: subprocess.Popen, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Drain a master we still hold the slave of, until p exits."""
    buf = b""
    deadline = time.monotonic() + timeout
    while p.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                buf += os.read(master, 65536)
            except OSError:
                break
    return buf


# ================================================================ stdio / fds

def test_stdio_pipes_pass_through_without_terminal(rt, make_bundle):
    b = make_bundle(["sh", "-c", 'read line; echo "out:$line"; echo "err:$line" >&2; '
                     'for n in 0 1 2; do echo "fd$n=$(readlink /proc/$$/fd/$n)"; done'])
    cid = new_id("pipes")
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    inos = {0: os.fstat(in_r).st_ino, 1: os.fstat(out_w).st_ino, 2: os.fstat(err_w).st_ino}
    try:
        r = rt("create", "--bundle", b.path, cid, stdin=in_r, stdout=out_w, stderr=err_w)
        os.close(in_r)
        os.close(out_w)
        os.close(err_w)
        assert r.rc == 0, r
        rt.ok("start", cid)
        os.write(in_w, b"ping\n")
        os.close(in_w)
        in_w = -1
        with os.fdopen(out_r, "rb") as fo, os.fdopen(err_r, "rb") as fe:
            out = fo.read().decode()
            err = fe.read().decode()
    finally:
        if in_w >= 0:
            os.close(in_w)
    assert "out:ping" in out, (out, err)
    assert err.startswith("err:ping"), (out, err)
    for n in (0, 1, 2):
        assert f"fd{n}=pipe:[{inos[n]}]" in out, (n, inos, out)
    rt.wait_status(cid, "stopped")


def test_preserve_fds_passes_exactly_n_fds(rt, make_bundle, tmp_path):
    (tmp_path / "three").write_text("content-of-three\n")
    b = make_bundle(["sh", "-c", 'cat <&3; echo written-to-four >&4; ls /proc/$$/fd; exit 0'])
    cid = new_id("pfd")
    p = runtime_with_fds(rt, ["run", "--preserve-fds", "2", "--bundle", b.path, cid],
                         {3: "<" + str(tmp_path / "three"), 4: ">" + str(tmp_path / "four"),
                          5: "<" + str(tmp_path / "three")},
                         stdin=None)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "content-of-three" in p.stdout
    assert (tmp_path / "four").read_text() == "written-to-four\n"
    fds = set(p.stdout.split()) - {"content-of-three"}
    assert fds == {"0", "1", "2", "3", "4"}, p.stdout


def test_listen_fds_socket_activation(rt, make_bundle, tmp_path):
    (tmp_path / "sock-stand-in").write_text("activated\n")
    b = make_bundle(["sh", "-c", 'echo "LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID"; cat <&3; '
                     'ls /proc/$$/fd; exit 0'])
    cid = new_id("lfd")
    env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
    p = runtime_with_fds(rt, ["run", "--bundle", b.path, cid], {3: "<" + str(tmp_path / "sock-stand-in")},
                         env=env)
    assert p.returncode == 0, (p.stdout, p.stderr)
    lines = p.stdout.splitlines()
    assert lines[0] == "LISTEN_FDS=1 LISTEN_PID=1", p.stdout
    assert lines[1] == "activated", p.stdout
    assert set(" ".join(lines[2:]).split()) == {"0", "1", "2", "3"}, p.stdout


SD_NOTIFY_C = r"""
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(int argc, char **argv) {
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (!path || s < 0) return 2;
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    if (a.sun_path[0] == '@') a.sun_path[0] = 0;
    return sendto(s, argv[1], strlen(argv[1]), 0, (struct sockaddr *)&a, sizeof a) < 0 ? 3 : 0;
}
"""


@pytest.fixture(scope="session")
def sd_notify_binary(tmp_path_factory):
    """busybox cannot send an AF_UNIX datagram (its nc has no -U) and socat is
    not on this machine: a tiny static sender, if a C compiler can link one."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("busybox nc cannot send AF_UNIX datagrams; no socat and no C compiler")
    d = tmp_path_factory.mktemp("sdnotify")
    src, out = d / "sd_notify.c", d / "sd_notify"
    src.write_text(SD_NOTIFY_C)
    r = subprocess.run([cc, "-static", "-O1", "-o", str(out), str(src)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot build a static sd_notify helper: {r.stderr.strip()[:200]}")
    return str(out)


def test_notify_socket_ready_reaches_caller(rt, make_bundle, tmp_path, sd_notify_binary):
    b = make_bundle(["sh", "-c", 'echo "$NOTIFY_SOCKET" > /dev/null; sleep 0.5; /bin/sd_notify READY=1; sleep 30'])
    shutil.copy2(sd_notify_binary, os.path.join(b.rootfs, "bin", "sd_notify"))
    sock_path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(DEFAULT_TIMEOUT)
    try:
        cid = new_id("ntf")
        env = dict(os.environ, NOTIFY_SOCKET=sock_path)
        rt.ok("create", "--bundle", b.path, cid, env=env)
        t0 = time.monotonic()
        p = rt.popen("start", cid, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        data = s.recv(4096)
        out, err = p.communicate(timeout=DEFAULT_TIMEOUT)
        assert p.returncode == 0, err
        assert b"READY=1" in data.split(b"\n"), data
        # start waited for READY=1 (the container sent it after 0.5 s)
        assert time.monotonic() - t0 >= 0.4
        assert rt.status(cid) == "running"
    finally:
        s.close()


def test_notify_socket_env_inside_container(rt, make_bundle, tmp_path):
    b = make_bundle(["sh", "-c", 'echo "NS=$NOTIFY_SOCKET"; test -d "$(dirname $NOTIFY_SOCKET)" && echo dir-ok'])
    sock_path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    try:
        cid = new_id("ntf")
        r = rt("run", "--bundle", b.path, cid, env=dict(os.environ, NOTIFY_SOCKET=sock_path))
        assert r.rc == 0, r
        ns = re.search(r"NS=(\S*)", r.out).group(1)
        assert ns and ns != sock_path, r.out  # the container gets its own socket
        assert "dir-ok" in r.out
    finally:
        s.close()


# ================================================================ exec

@pytest.fixture
def running(rt, make_bundle):
    """running(**process) -> (cid, bundle, init pid) of a started `sleep 300`."""
    def make(args=("sleep", "300"), edit=None, **process):
        b = make_bundle(list(args), **process)
        if edit is not None:
            edit(b)
            b.write()
        cid = new_id("ex")
        rt.ok("create", "--bundle", b.path, cid)
        rt.ok("start", cid)
        st = rt.wait_status(cid, "running")
        return cid, b, st["pid"]
    return make


def test_exec_returns_exit_status_and_output(rt, running):
    cid, _, _ = running()
    r = rt("exec", cid, "sh", "-c", "echo out; echo err >&2; exit 42")
    assert r.rc == 42, r
    assert r.out == "out\n" and r.err == "err\n", r
    r = rt("exec", cid, "sh", "-c", "kill -TERM $$")
    assert r.rc == 128 + signal.SIGTERM, r
    assert rt.ok("exec", cid, "hostname").out.strip() == "runc"


def test_exec_stdin_passes_through(rt, running):
    cid, _, _ = running()
    r = rt("exec", cid, "sh", "-c", "read x; echo got:$x", input="line-in\n")
    assert r.rc == 0, r
    assert r.out == "got:line-in\n"


def test_exec_process_json(rt, running, tmp_path):
    cid, _, _ = running()
    proc = {
        "terminal": False,
        "user": {"uid": 65534, "gid": 65534},
        "args": ["sh", "-c", 'echo "$FOO|$(pwd)|$(id -u):$(id -g)|$0"', "zeroth"],
        "env": ["PATH=/bin", "FOO=from-process-json"],
        "cwd": "/tmp",
    }
    pf = tmp_path / "process.json"
    pf.write_text(json.dumps(proc))
    r = rt("exec", "--process", pf, cid)
    assert r.rc == 0, r
    assert r.out == "from-process-json|/tmp|65534:65534|zeroth\n", r


def test_exec_env_cwd_user_additional_gids(rt, running):
    cid, _, _ = running()
    r = rt("exec", "--env", "A=1", "-e", "B=two words", "--cwd", "/tmp", "--user", "1000:1001",
           "--additional-gids", "10", "--additional-gids", "20", cid,
           "sh", "-c", 'echo "$A|$B|$(pwd)|$(id -u)|$(id -g)|$(id -G)"')
    assert r.rc == 0, r
    a, bb, cwd, uid, gid, groups = r.out.strip().split("|")
    assert (a, bb, cwd, uid, gid) == ("1", "two words", "/tmp", "1000", "1001"), r
    assert set(groups.split()) == {"1001", "10", "20"}, r
    # the container's env is the base
    r = rt.ok("exec", cid, "sh", "-c", 'echo "$PATH"')
    assert r.out.strip() == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def test_exec_cap_is_never_inheritable(rt, running):
    """CVE-2022-29162: --cap adds to bounding/effective/permitted, not inheritable."""
    cid, _, _ = running()
    base = status_fields(rt.ok("exec", cid, "cat", "/proc/self/status").out)
    assert not cap_bit(base["CapEff"], CAP_SYS_ADMIN)
    r = rt("exec", "--cap", "CAP_SYS_ADMIN", "--cap", "CAP_SYS_PTRACE", cid, "cat", "/proc/self/status")
    assert r.rc == 0, r
    f = status_fields(r.out)
    for key in ("CapBnd", "CapEff", "CapPrm"):
        assert cap_bit(f[key], CAP_SYS_ADMIN) and cap_bit(f[key], CAP_SYS_PTRACE), (key, f[key])
    assert int(f["CapInh"], 16) == 0, f["CapInh"]
    assert int(f["CapAmb"], 16) & (1 << CAP_SYS_ADMIN) == 0, f["CapAmb"]
    # the original capabilities are kept
    for key in ("CapBnd", "CapEff", "CapPrm"):
        assert int(base[key], 16) & ~int(f[key], 16) == 0, (key, base[key], f[key])


def test_exec_cap_unknown_is_a_clean_error(rt, running):
    cid, _, _ = running()
    r = rt("exec", "--cap", "CAP_NOT_A_THING", cid, "true")
    assert_one_line_error(r)


def test_exec_no_new_privs(rt, running):
    cid, _, _ = running(edit=lambda b: b.process.__setitem__("noNewPrivileges", False))
    f = status_fields(rt.ok("exec", cid, "cat", "/proc/self/status").out)
    assert f["NoNewPrivs"] == "0"
    f = status_fields(rt.ok("exec", "--no-new-privs", cid, "cat", "/proc/self/status").out)
    assert f["NoNewPrivs"] == "1"


def test_exec_preserve_fds(rt, running, tmp_path):
    cid, _, _ = running()
    (tmp_path / "in").write_text("preserved-data\n")
    p = runtime_with_fds(rt, ["exec", "--preserve-fds", "1", cid, "sh", "-c", "cat <&3; ls /proc/$$/fd; exit 0"],
                         {3: "<" + str(tmp_path / "in"), 4: "<" + str(tmp_path / "in")})
    assert p.returncode == 0, (p.stdout, p.stderr)
    lines = p.stdout.split()
    assert lines[0] == "preserved-data"
    assert set(lines[1:]) == {"0", "1", "2", "3"}, p.stdout


def test_exec_has_only_stdio_fds(rt, running, tmp_path):
    cid, _, _ = running()
    (tmp_path / "in").write_text("x")
    # fds the caller leaks (not preserved) must not reach the process
    p = runtime_with_fds(rt, ["exec", cid, "sh", "-c", "ls /proc/$$/fd; exit 0"],
                         {3: "<" + str(tmp_path / "in"), 7: "<" + str(tmp_path)})
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert set(p.stdout.split()) == {"0", "1", "2"}, p.stdout


def test_exec_joins_every_namespace_and_the_cgroup(rt, running):
    def cgroupns(b):
        b.linux["namespaces"].append({"type": "cgroup"})
    cid, _, init_pid = running(edit=cgroupns)
    r = rt.ok("exec", cid, "sh", "-c",
              'for n in $(ls /proc/1/ns); do echo "$n $(readlink /proc/1/ns/$n) $(readlink /proc/self/ns/$n)"; done')
    rows = [line.split() for line in r.out.splitlines()]
    names = {row[0] for row in rows}
    assert {"mnt", "pid", "net", "ipc", "uts", "cgroup"} <= names, r.out
    for name, init_ns, self_ns in rows:
        assert init_ns == self_ns, f"{name}: init {init_ns}, exec {self_ns}"
    # and these differ from the host's
    host = ns_of()
    for name in ("mnt", "pid", "net", "ipc", "uts", "cgroup"):
        assert host[name] != ns_of(init_pid)[name], name
    r = rt.ok("exec", cid, "sh", "-c", "cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup")
    mine, init = r.out.split("---\n")
    assert mine.strip() and mine.strip() == init.strip(), r.out
    # pid 1 of the container is its init: the exec'd process is not pid 1
    assert rt.ok("exec", cid, "sh", "-c", "echo $$").out.strip() != "1"


def test_exec_detach_pid_file(rt, running, tmp_path):
    cid, b, init_pid = running()
    pid_file = tmp_path / "exec.pid"
    r = rt("exec", "--detach", "--pid-file", pid_file, cid, "sleep", "100")
    assert r.rc == 0, r
    text = pid_file.read_text()
    assert text == text.strip()
    pid = int(text)
    assert pid_alive(pid)
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"sleep", b"100"]
    own, init = ns_of(pid), ns_of(init_pid)
    for name in ("mnt", "pid", "net", "ipc", "uts"):
        assert own[name] == init[name], name
    with open(f"/proc/{pid}/cgroup") as f1, open(f"/proc/{init_pid}/cgroup") as f2:
        assert f1.read() == f2.read()
    # the root directory is the container's
    assert os.stat(f"/proc/{pid}/root").st_ino == os.stat(f"/proc/{init_pid}/root").st_ino
    rt.ok("kill", "--all", cid, "KILL")
    assert wait_until(lambda: not pid_alive(pid))


def test_exec_tty_console_socket_twice(rt, running, console):
    cid, b, _ = running()
    add_applets(b, "tty")
    for i in range(2):
        listener = console(f"exec{i}.sock")
        p = rt.popen("exec", "--tty", "--console-socket", listener.path, cid, "sh", "-c",
                     'echo @@TTY=$(tty); [ -t 0 ] && echo @@IN=yes; read -r st < /proc/$$/stat; '
                     'echo @@STAT="$st"; exit 5',
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            master = listener.receive()
            out = read_until_eof(master).decode(errors="replace")
            _, err = p.communicate(timeout=DEFAULT_TIMEOUT)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert p.returncode == 5, (out, err)
        tty_path = field(out, "TTY")
        assert re.fullmatch(r"/dev/pts/\d+", tty_path), out
        assert field(out, "IN") == "yes"
        pid, session, tmaj, tmin = tty_nr_of(field(out, "STAT"))
        assert session == pid and (tmaj, tmin) == (136, int(tty_path.rsplit("/", 1)[1])), out
    assert rt.status(cid) == "running"


def test_exec_tty_detach_without_console_socket_fails_cleanly(rt, running):
    cid, _, _ = running()
    r = rt("exec", "--tty", "--detach", cid, "true")
    assert_one_line_error(r)


def test_exec_tty_foreground_proxies_caller_pty(rt, running):
    cid, b, _ = running()
    add_applets(b, "tty")
    rc, out = _run_on_pty(rt.argv("exec", "--tty", cid, "sh", "-c", "echo @@TTY=$(tty); exit 9"))
    assert rc == 9, out
    assert re.fullmatch(r"/dev/pts/\d+", field(out, "TTY")), out


@pytest.mark.parametrize("n", range(3, 9))
def test_exec_cwd_proc_self_fd_never_reaches_host(rt, running, tmp_path, n):
    """CVE-2024-21626: a cwd of /proc/self/fd/N must not resolve to a host
    directory the runtime had open."""
    cid, _, _ = running()
    check = ('p=$(pwd -P) || exit 90; case "$p" in /*) ;; *) exit 91;; esac; '
             'a=$(stat -c %d:%i .); cd "$p" || exit 92; b=$(stat -c %d:%i .); '
             '[ "$a" = "$b" ] || exit 93; ls / | grep -qx bin || exit 94; echo inside-ok')
    proc = {"args": ["sh", "-c", check], "cwd": f"/proc/self/fd/{n}", "env": ["PATH=/bin"],
            "user": {"uid": 0, "gid": 0}, "terminal": False}
    pf = tmp_path / "process.json"
    pf.write_text(json.dumps(proc))
    r = rt("exec", "--process", pf, cid)
    if r.rc == 0:
        assert r.out.strip() == "inside-ok", r
    else:
        assert r.rc < 90 or r.rc > 94, f"the process ran in a directory outside the container: {r}"
        assert "Traceback" not in r.err, r


def test_exec_into_stopped_container_fails_cleanly(rt, make_bundle):
    b = make_bundle(["true"])
    cid = new_id()
    rt.ok("create", "--bundle", b.path, cid)
    rt.ok("start", cid)
    rt.wait_status(cid, "stopped")
    r = rt("exec", cid, "true")
    assert_one_line_error(r)
    assert rt.status(cid) == "stopped"


def test_exec_into_unknown_container_fails_cleanly(rt):
    r = rt("exec", "no-such-container", "true")
    assert_one_line_error(r)


def test_exec_into_paused_container_fails_cleanly(rt, running):
    cid, b, init_pid = running()
    rt.ok("pause", cid)
    try:
        assert rt.status(cid) == "paused"
        r = rt("exec", cid, "true")
        assert_one_line_error(r)
        assert "pause" in r.err.lower(), r
        assert rt.status(cid) == "paused"
    finally:
        rt("resume", cid)
    assert rt.status(cid) == "running"


def test_exec_ignore_paused_is_accepted_and_completes_after_resume(rt, running):
    cid, b, init_pid = running()
    rt.ok("pause", cid)
    p = rt.popen("exec", "--ignore-paused", "--detach", cid, "true",
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    resume = None
    try:
        time.sleep(1)
        early = p.poll()
        if early is not None:  # returned while paused: must have been accepted
            assert early == 0, p.communicate()[1]
        resume = rt.popen("resume", cid, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            _, rerr = resume.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            raise AssertionError("`resume` blocked while `exec --ignore-paused` was waiting") from None
        assert resume.returncode == 0, rerr
        _, err = p.communicate(timeout=DEFAULT_TIMEOUT)
        assert p.returncode == 0, err
        assert rt.status(cid) == "running"
    finally:
        # With the bug, the frozen clone of `exec` holds the state lock and no
        # runtime command gets through: thaw this container's cgroup by hand,
        # then the exec (and a blocked resume) finish on their own.
        thaw_directly(init_pid)
        for proc in (p, resume):
            if proc is not None:
                try:
                    proc.communicate(timeout=DEFAULT_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def test_exec_into_created_container(rt, make_bundle):
    """runc allows exec into a created container (the init waits on the fifo)."""
    b = make_bundle(["sleep", "30"])
    cid = new_id()
    rt.ok("create", "--bundle", b.path, cid)
    r = rt("exec", cid, "sh", "-c", "echo $$; cat /proc/1/cmdline | tr '\\0' ' '")
    assert r.rc == 0, r
    assert rt.status(cid) == "created"


# ================================================================ hooks

HOOK_SCRIPT = r'''
set -u
s=$(cat)
printf '%s' "$s" > "$M/$PHASE.state"
echo "$PHASE" >> "$M/order"
readlink /proc/self/ns/mnt > "$M/$PHASE.mnt"
readlink /proc/self/ns/pid > "$M/$PHASE.pidns"
stat -c %d:%i / > "$M/$PHASE.root"
pid=$(printf '%s' "$s" | sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p')
if [ -n "$pid" ] && [ -e "/proc/$pid" ]; then
    stat -L -c %d:%i "/proc/$pid/root" > "$M/$PHASE.target_root" 2>/dev/null || true
    readlink "/proc/$pid/ns/mnt" > "$M/$PHASE.target_mnt" 2>/dev/null || true
    tr '\0' ' ' < "/proc/$pid/cmdline" > "$M/$PHASE.target_cmdline" 2>/dev/null || true
else
    echo gone > "$M/$PHASE.target_gone"
fi
if [ -n "${ROOTDIR:-}" ] && [ -n "${ID:-}" ]; then
    if [ -e "$ROOTDIR/$ID" ]; then echo yes; else echo no; fi > "$M/$PHASE.statedir"
fi
date +%s.%N > "$M/$PHASE.time"
'''

ALL_PHASES = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


def host_hook(phase: str, marks: str, script: str = HOOK_SCRIPT, extra_env=(), **kw) -> dict:
    return {"path": "/bin/sh", "args": ["sh", "-c", script, phase],
            "env": [HOST_PATH, f"M={marks}", f"PHASE={phase}", *extra_env], **kw}


def container_hook(phase: str, script: str = HOOK_SCRIPT, extra_env=(), **kw) -> dict:
    """startContainer: the path resolves inside the container. /bin/cthook
    exists only in the rootfs (a busybox link), never on the host."""
    return {"path": "/bin/cthook", "args": ["sh", "-c", script, phase],
            "env": ["PATH=/bin", "M=/marks", f"PHASE={phase}", *extra_env], **kw}


class Marks:
    def __init__(self, path):
        self.path = str(path)
        os.makedirs(self.path, exist_ok=True)
        os.chmod(self.path, 0o777)

    def read(self, name: str) -> str | None:
        try:
            with open(os.path.join(self.path, name)) as f:
                return f.read().strip()
        except FileNotFoundError:
            return None

    def state(self, phase: str) -> dict:
        text = self.read(f"{phase}.state")
        assert text is not None, f"{phase} hook did not run (marks: {os.listdir(self.path)})"
        return json.loads(text)

    def order(self) -> list[str]:
        return (self.read("order") or "").split()

    def has(self, phase: str) -> bool:
        return os.path.exists(os.path.join(self.path, f"{phase}.state"))


@pytest.fixture
def hooked(make_bundle, tmp_path, rt):
    """hooked(hooks_by_phase=None, args=...) -> (bundle, Marks).

    Default: one recording hook per phase. The marks directory is bound at
    /marks inside the container (the rootfs itself is read-only)."""
    def make(hooks=None, args=("sleep", "300"), phases=ALL_PHASES, extra_env=()):
        marks = Marks(tmp_path / f"marks-{len(os.listdir(tmp_path))}")
        b = make_bundle(list(args))
        os.link(os.path.join(b.rootfs, "bin", "busybox"), os.path.join(b.rootfs, "bin", "cthook"))
        os.makedirs(os.path.join(b.rootfs, "marks"))
        add_applets(b, "date")
        b.config["mounts"].append({"destination": "/marks", "type": "bind", "source": marks.path,
                                   "options": ["rbind", "rw"]})
        b.config["annotations"] = {"org.test.hooks": "yes"}
        if hooks is None:
            env = [f"ROOTDIR={rt.root}", *extra_env]
            hooks = {}
            for phase in phases:
                if phase == "startContainer":
                    hooks[phase] = [container_hook(phase)]
                else:
                    hooks[phase] = [host_hook(phase, marks.path, extra_env=env)]
        b.config["hooks"] = hooks
        b.write()
        return b, marks
    return make


def test_hooks_order_state_and_namespaces(rt, hooked):
    b, marks = hooked()
    cid = new_id("hk")
    host_mnt, host_pidns = ns_of()["mnt"], ns_of()["pid"]
    host_root = dev_ino("/")
    rootfs_root = dev_ino(b.rootfs)
    bundle = os.path.realpath(b.path)
    ann = {"org.test.hooks": "yes"}

    for ph in ALL_PHASES:
        hook_env = [e for e in (b.config["hooks"][ph][0]["env"]) if e.startswith("ROOTDIR=")]
        if hook_env:
            b.config["hooks"][ph][0]["env"].append(f"ID={cid}")
    b.write()

    rt.ok("create", "--bundle", b.path, cid)
    init_pid = rt.state(cid)["pid"]
    cont_mnt = ns_of(init_pid)["mnt"]
    cont_pidns = ns_of(init_pid)["pid"]
    assert marks.order() == ["prestart", "createRuntime", "createContainer"]
    assert rt.status(cid) == "created"

    # prestart, createRuntime: runtime namespace, after the namespaces exist,
    # before pivot_root (the init's root is still the host's /)
    for ph in ("prestart", "createRuntime"):
        st = marks.state(ph)
        assert st["id"] == cid and st["bundle"] == bundle and st["annotations"] == ann, st
        assert st["status"] == "creating", st
        assert st["pid"] == init_pid, st
        assert marks.read(f"{ph}.mnt") == host_mnt, ph
        assert marks.read(f"{ph}.pidns") == host_pidns, ph
        assert marks.read(f"{ph}.target_mnt") == cont_mnt, f"{ph}: the container's mount ns did not exist yet"
        assert marks.read(f"{ph}.target_root") == host_root, f"{ph}: ran after pivot_root"
        assert marks.read(f"{ph}.statedir") == "yes", ph

    # createContainer: in the container's namespaces, before pivot_root
    st = marks.state("createContainer")
    assert st["id"] == cid and st["bundle"] == bundle and st["annotations"] == ann, st
    assert st["status"] == "creating", st
    assert st["pid"] == 1, f"createContainer: the pid as the container sees it: {st}"
    assert marks.read("createContainer.mnt") == cont_mnt
    assert marks.read("createContainer.pidns") == cont_pidns
    assert marks.read("createContainer.root") == host_root, "createContainer ran after pivot_root"

    assert not marks.has("startContainer") and not marks.has("poststart")

    rt.ok("start", cid)
    # poststart ran before start returned
    assert marks.order() == ["prestart", "createRuntime", "createContainer", "startContainer", "poststart"]
    st = marks.state("startContainer")
    assert st["id"] == cid and st["bundle"] == bundle and st["annotations"] == ann, st
    assert st["pid"] == 1, st
    assert marks.read("startContainer.mnt") == cont_mnt
    assert marks.read("startContainer.pidns") == cont_pidns
    assert marks.read("startContainer.root") == rootfs_root, "startContainer did not run in the container's root"

    st = marks.state("poststart")
    assert st["id"] == cid and st["bundle"] == bundle and st["annotations"] == ann, st
    assert st["status"] == "running" and st["pid"] == init_pid, st
    assert marks.read("poststart.mnt") == host_mnt
    assert marks.read("poststart.pidns") == host_pidns

    assert not marks.has("poststop")
    rt.ok("kill", cid, "KILL")
    rt.wait_status(cid, "stopped")
    assert not marks.has("poststop")
    rt.ok("delete", cid)
    # poststop ran before delete returned, after the container was destroyed
    assert marks.order()[-1] == "poststop"
    st = marks.state("poststop")
    assert st["id"] == cid and st["bundle"] == bundle and st["annotations"] == ann, st
    assert st["status"] == "stopped", st
    assert marks.read("poststop.mnt") == host_mnt
    assert marks.read("poststop.statedir") == "no", "poststop ran before the container was deleted"
    assert marks.read("poststop.target_gone") == "gone" or marks.read("poststop.target_cmdline") in (None, "")
    assert_nothing_left(rt, cid, b)


def test_start_container_hook_state_status_is_created(rt, hooked):
    b, marks = hooked(phases=("startContainer",))
    cid = new_id("hk")
    rt.ok("create", "--bundle", b.path, cid)
    rt.ok("start", cid)
    assert wait_until(lambda: marks.has("startContainer"))
    assert marks.state("startContainer")["status"] == "created"


def test_start_container_hook_runs_before_user_process(rt, hooked):
    b, marks = hooked(phases=("startContainer",),
                      args=("sh", "-c", "test -e /marks/startContainer.state && echo yes > /marks/seen; sleep 300"))
    cid = new_id("hk")
    rt.ok("create", "--bundle", b.path, cid)
    assert not marks.has("startContainer")
    rt.ok("start", cid)
    assert wait_until(lambda: marks.read("seen") is not None), "the user process did not see the hook's marker"
    assert marks.read("seen") == "yes"


def test_start_container_hook_path_resolves_in_container(rt, hooked):
    """/bin/cthook is only in the rootfs: if it ran at all, it was resolved there."""
    assert not os.path.exists("/bin/cthook")
    b, marks = hooked(phases=("startContainer",))
    cid = new_id("hk")
    rt.ok("create", "--bundle", b.path, cid)
    rt.ok("start", cid)
    assert wait_until(lambda: marks.has("startContainer"))


def test_poststart_runs_after_user_program_is_executed(rt, hooked):
    b, marks = hooked(phases=("poststart",))
    slow = container_hook("startContainer", script="sleep 2")
    b.config["hooks"]["startContainer"] = [slow]
    b.write()
    cid = new_id("hk")
    rt.ok("create", "--bundle", b.path, cid)
    rt.ok("start", cid)
    assert marks.read("poststart.target_cmdline") == "sleep 300", marks.read("poststart.target_cmdline")


ARGS_ENV_SCRIPT = r'''
cat > /dev/null
{ echo "0=$0 1=$1 2=$2 #=$#"; env | sort; } > "$M/$PHASE.argsenv"
'''


@pytest.mark.parametrize("phase", ALL_PHASES)
def test_hook_args_and_env_honoured(rt, hooked, phase, tmp_path):
    b, marks = hooked(phases=())
    extra = ["HOOK_VAR=hello world"]
    if phase == "startContainer":
        hook = container_hook(phase, script=ARGS_ENV_SCRIPT, extra_env=extra)
    else:
        hook = host_hook(phase, marks.path, script=ARGS_ENV_SCRIPT, extra_env=extra)
    hook["args"] = hook["args"] + ["first", "second arg"]
    b.config["hooks"] = {phase: [hook]}
    b.write()
    cid = new_id("hk")
    env = dict(os.environ, LEAKY_RUNTIME_VAR="must-not-reach-hooks")
    rt.ok("create", "--bundle", b.path, cid, env=env)
    rt.ok("start", cid, env=env)
    rt.ok("delete", "--force", cid, env=env)
    assert wait_until(lambda: marks.read(f"{phase}.argsenv") is not None, 5), f"{phase} did not run"
    text = marks.read(f"{phase}.argsenv")
    first, *envlines = text.splitlines()
    assert first == f"0={phase} 1=first 2=second arg #=2", text
    env_seen = dict(line.split("=", 1) for line in envlines if "=" in line)
    assert env_seen.get("HOOK_VAR") == "hello world", text
    assert "LEAKY_RUNTIME_VAR" not in env_seen, text
    assert f"PHASE={phase}" in envlines


@pytest.mark.parametrize("phase", ("prestart", "createRuntime", "createContainer"))
def test_failing_create_hook_fails_create_cleanly(rt, hooked, clean_failure, phase):
    b, marks = hooked(phases=ALL_PHASES)
    b.config["hooks"][phase].append(host_hook(phase, marks.path, script="cat >/dev/null; exit 3"))
    b.write()
    cid = new_id("hk")
    r = rt("create", "--bundle", b.path, cid)
    clean_failure(r, cid, b)
    assert phase in r.err, r
    # later create hooks did not run, start hooks never will
    later = ALL_PHASES[ALL_PHASES.index(phase) + 1:]
    for ph in later:
        if ph != "poststop":
            assert not marks.has(ph), ph


@pytest.mark.parametrize("phase", ("prestart", "createRuntime", "createContainer"))
def test_create_hook_timeout(rt, hooked, clean_failure, phase):
    b, marks = hooked(phases=())
    b.config["hooks"] = {phase: [host_hook(phase, marks.path, script="sleep 20", timeout=1)]}
    b.write()
    cid = new_id("hk")
    t0 = time.monotonic()
    r = rt("create", "--bundle", b.path, cid)
    took = time.monotonic() - t0
    clean_failure(r, cid, b)
    assert took < 10, f"the hook's timeout of 1 s was not enforced ({took:.1f} s)"
    assert "time" in r.err.lower(), r


def test_hook_within_timeout_succeeds(rt, hooked):
    b, marks = hooked(phases=())
    b.config["hooks"] = {"createRuntime": [host_hook("createRuntime", marks.path, script="cat >/dev/null; sleep 0.2",
                                                     timeout=5)]}
    b.write()
    rt.ok("create", "--bundle", b.path, new_id("hk"))


def test_poststart_timeout(rt, hooked):
    b, marks = hooked(phases=())
    b.config["hooks"] = {"poststart": [host_hook("poststart", marks.path, script="sleep 20", timeout=1)]}
    b.write()
    cid = new_id("hk")
    rt.ok("create", "--bundle", b.path, cid)
    t0 = time.monotonic()
    r = rt("start", cid)
    assert time.monotonic() - t0 < 10
    assert_one_line_error(r)


def test_failing_start_container_hook_fails_start(rt, hooked):
    b, marks = hooked(phases=("poststop",),
                      args=("sh", "-c", "echo ran > /marks/user_process_ran; sleep 300"))
    b.config["hooks"]["startContainer"] = [container_hook("startContainer", script="cat >/dev/null; exit 4")]
    b.write()
    cid = new_id("hk")
    rt.ok("create", "--bundle", b.path, cid)
    pid = rt.state(cid)["pid"]
    r = rt("start", cid)
    assert "Traceback" not in r.err
    # stopped (or already destroyed), per runtime.md step 7 -> 12
    assert wait_until(lambda: not pid_alive(pid)), "container still running after a failed startContainer hook"
    st = rt("state", cid)
    if st.rc == 0:
        assert json.loads(st.out)["status"] == "stopped", st
    assert marks.read("user_process_ran") is None, "the user program ran after a failed startContainer hook"


def test_failing_start_container_hook_start_exit_status(rt, hooked):
    b, marks = hooked(phases=())
    b.config["hooks"] = {"startContainer": [container_hook("startContainer", script="cat >/dev/null; exit 4")]}
    b.write()
    cid = new_id("hk")
    rt.ok("create", "--bundle", b.path, cid)
    r = rt("start", cid)
    assert r.rc != 0, r


def test_container_hook_output_does_not_reach_container_stdio(rt, hooked):
    b, marks = hooked(phases=(), args=("echo", "user-output"))
    b.config["hooks"] = {
        "createContainer": [host_hook("createContainer", marks.path, script="cat >/dev/null; echo cc-noise")],
        "startContainer": [container_hook("startContainer", script="cat >/dev/null; echo sc-noise")],
    }
    b.write()
    cid = new_id("hk")
    r = rt("run", "--bundle", b.path, cid)
    assert r.rc == 0, r
    assert r.out == "user-output\n", r


def test_failing_poststart_fails_start_and_stops_container(rt, hooked):
    b, marks = hooked(phases=())
    b.config["hooks"] = {"poststart": [host_hook("poststart", marks.path, script="cat >/dev/null; exit 5")]}
    b.write()
    cid = new_id("hk")
    rt.ok("create", "--bundle", b.path, cid)
    pid = rt.state(cid)["pid"]
    r = rt("start", cid)
    assert_one_line_error(r)
    assert "poststart" in r.err
    assert wait_until(lambda: not pid_alive(pid)), "container still running after a failed poststart hook"
    st = rt("state", cid)
    if st.rc == 0:
        assert json.loads(st.out)["status"] == "stopped"


def test_failing_poststop_is_only_a_warning(rt, hooked):
    b, marks = hooked(phases=())
    b.config["hooks"] = {"poststop": [host_hook("poststop", marks.path, script="cat >/dev/null; exit 6"),
                                      host_hook("poststop", marks.path)]}
    b.write()
    cid = new_id("hk")
    rt.ok("create", "--bundle", b.path, cid)
    rt.ok("start", cid)
    rt.ok("kill", cid, "KILL")
    rt.wait_status(cid, "stopped")
    r = rt("delete", cid)
    assert r.rc == 0, r
    assert "poststop" in r.err, f"no warning about the failed poststop hook: {r}"
    # the remaining poststop hooks still ran
    assert marks.has("poststop")
    assert_nothing_left(rt, cid, b)


def test_poststop_runs_on_run_foreground(rt, hooked):
    b, marks = hooked(phases=("poststop",), args=("true",))
    cid = new_id("hk")
    r = rt("run", "--bundle", b.path, cid)
    assert r.rc == 0, r
    assert marks.state("poststop")["status"] == "stopped"


def test_hooks_with_nonexistent_path_fail_create(rt, hooked, clean_failure):
    b, marks = hooked(phases=())
    b.config["hooks"] = {"createRuntime": [{"path": "/nonexistent/hook"}]}
    b.write()
    cid = new_id("hk")
    r = rt("create", "--bundle", b.path, cid)
    clean_failure(r, cid, b)
