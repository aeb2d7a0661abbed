"""The parent's side of the protocol in native/protocol.h: clone the child,
place it in its cgroup, send the plan, wait for READY or an error."""

import os
import struct

from runtime import log
from runtime._native import lib as N
from runtime.errors import Error, os_reason

_INIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runtime-init")


def _socketpair() -> tuple[int, int]:
    # _socket, not socket: the socket module imports enum/selectors (~4 ms).
    import _socket

    a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    return a.detach(), b.detach()


def _read_exact(fd: int, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def spawn(plan, place) -> int:
    """Start the container init; returns its pid once it is ready (blocked on
    the exec fifo). `place(pid)` runs between clone and GO: cgroups go there.
    On any failure the child is killed and reaped before the Error is raised."""
    parent_fd, child_fd = _socketpair()
    pidns_fd = -1
    pid = -1
    try:
        if plan.pidns_path:
            try:
                pidns_fd = os.open(plan.pidns_path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise Error(f"namespace {plan.pidns_path}", os_reason(exc)) from None
        ret = N.rt_spawn(_INIT.encode(), child_fd, plan.clone_flags, pidns_fd)
        if ret < 0:
            raise Error("clone", os.strerror(-ret))
        pid = ret
        os.close(child_fd)
        child_fd = -1
        log.debug(f"init pid {pid}, clone flags {plan.clone_flags:#x}")
        place(pid)
        try:
            _write_all(parent_fd, bytes([N.SYNC_GO_BYTE]) + plan.encode())
        except OSError:
            pass  # the init died: its message (or EOF) follows
        _wait_ready(parent_fd, pid)
        return pid
    except BaseException:
        if pid > 0:
            _kill_and_reap(pid)
        raise
    finally:
        for fd in (parent_fd, child_fd, pidns_fd):
            if fd >= 0:
                os.close(fd)


def _wait_ready(fd: int, pid: int) -> None:
    while True:
        try:
            mtype, length = struct.unpack("=II", _read_exact(fd, 8))
            payload = _read_exact(fd, length)
        except (EOFError, OSError):
            raise Error("container init", _exit_reason(pid)) from None
        if mtype == N.MSG_READY:
            return
        if mtype == N.MSG_ERROR:
            raise Error("container init", payload.decode(errors="replace"))
        raise Error("container init", f"unexpected message {mtype}")


def _exit_reason(pid: int) -> str:
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return "exited before it was ready"
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)} before it was ready"
    return f"exited with status {os.WEXITSTATUS(status)} before it was ready"


def _kill_and_reap(pid: int) -> None:
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
