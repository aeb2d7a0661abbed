"""The parent's side of the protocol in native/protocol.h: clone the child,
place it in its cgroup, send the plan, wait for READY or an error."""

import os
import struct

from runtime import log
from runtime._native import ffi, lib as N
from runtime.errors import Error, os_reason

_INIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runtime-init")


# _socket, not socket: the socket module imports enum/selectors (~4 ms).
import _socket  # noqa: E402


def _read_exact(sock, n: int, fds: list[int]) -> bytes:
    """n bytes from the sync socket; fds passed along with them go to `fds`."""
    buf = b""
    while len(buf) < n:
        chunk, ancdata, _flags, _addr = sock.recvmsg(n - len(buf), _socket.CMSG_SPACE(4))
        for level, kind, data in ancdata:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                fds.extend(struct.unpack(f"={len(data) // 4}i", data[: len(data) // 4 * 4]))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def spawn(plan, cgroup, place=None, on_pty=None, on_hooks=None) -> int:
    """Start the container init; returns its pid once it is ready (blocked on
    the exec fifo). The child is born into `cgroup` (a ContainerCgroup);
    `place(pid)` runs between clone and GO (net devices go there);
    `on_pty(fd)` receives the pty master of a terminal (and owns it);
    `on_hooks(pid)` runs the runtime-namespace create hooks and returns the
    two state JSON strings for the container-namespace hooks.
    On any failure the child is killed and reaped before the Error is raised."""
    parent, child = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    parent_fd, child_fd = parent.fileno(), child.detach()
    pidns_fd = -1
    init_fd = -1
    cgroup2_fd = -1
    pid = -1
    try:
        init_fd = _sealed_init()
        if plan.pidns_path:
            try:
                pidns_fd = os.open(plan.pidns_path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise Error(f"namespace {plan.pidns_path}", os_reason(exc)) from None
        tasks = []
        for d in cgroup.dirs:
            if os.path.exists(os.path.join(d, "cgroup.controllers")):
                cgroup2_fd = os.open(d, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            else:
                tasks.append(ffi.new("char[]", os.path.join(d, "tasks").encode()))
        keep = plan.keep_fds
        args = ffi.new("struct rt_spawn_args *", {
            "init_fd": init_fd, "sync_fd": child_fd, "clone_flags": plan.clone_flags, "pidns_fd": pidns_fd,
            "keep": ffi.new("int[]", keep) if keep else ffi.NULL, "n_keep": len(keep),
            "cgroup2_fd": cgroup2_fd, "tasks_files": ffi.new("char *[]", tasks) if tasks else ffi.NULL,
            "n_tasks": len(tasks),
        })
        ret = N.rt_spawn(args)
        if ret < 0:
            raise Error("clone3", os.strerror(-ret))
        pid = ret
        os.close(child_fd)
        child_fd = -1
        log.debug(f"init pid {pid}, clone flags {plan.clone_flags:#x}")
        if plan.id_maps:
            _write_id_maps(pid, plan.id_maps)
        if place is not None:
            place(pid)
        try:
            _write_all(parent_fd, bytes([N.SYNC_GO_BYTE]) + plan.encode())
        except OSError:
            pass  # the init died: its message (or EOF) follows
        _wait_ready(parent, pid, on_pty, on_hooks)
        return pid
    except BaseException:
        if pid > 0:
            _kill_and_reap(pid)
        raise
    finally:
        parent.close()
        plan.close()
        for fd in (child_fd, pidns_fd, init_fd, cgroup2_fd):
            if fd >= 0:
                os.close(fd)


def _sealed_init() -> int:
    """runtime-init as a sealed memfd copy. While the init runs it, what
    /proc/<pid>/exe shows is this copy, which nobody can write: a container
    process reaching it cannot overwrite the host's binary (CVE-2019-5736).
    Executed by fd, it also needs no path a user namespace's root could
    not traverse."""

    try:
        src = os.open(_INIT, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise Error(f"runtime-init {_INIT}", os_reason(exc)) from None
    fd = os.memfd_create("runtime-init", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        size = os.fstat(src).st_size
        offset = 0
        while offset < size:
            sent = os.sendfile(fd, src, offset, size - offset)
            if sent == 0:
                raise Error(f"runtime-init {_INIT}", "short read")
            offset += sent
        _seal(fd)
    except BaseException:
        os.close(fd)
        raise
    finally:
        os.close(src)
    return fd


def _seal(fd: int) -> None:
    """F_SEAL_WRITE fails with EBUSY while the kernel still holds page
    references from the sendfile copy; they go away within moments."""
    import errno
    import fcntl
    import time

    for attempt in range(50):
        try:
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS,
                        fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE)
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or attempt == 49:
                raise Error("runtime-init: seal the memfd copy", os_reason(exc)) from None
            time.sleep(0.001)


def _write_id_maps(pid: int, maps: dict) -> None:
    """uid_map/gid_map of a new user namespace, before the child goes on.
    setgroups must be denied first only when we lack CAP_SETGID (rootless)."""
    if os.geteuid() != 0:
        _write_proc(pid, "setgroups", "deny")
    for name in ("uid_map", "gid_map"):
        if maps.get(name):
            _write_proc(pid, name, maps[name])


def _write_proc(pid: int, name: str, data: str) -> None:
    try:
        fd = os.open(f"/proc/{pid}/{name}", os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)
    except OSError as exc:
        raise Error(f"user namespace: write {name}", os_reason(exc)) from None


def _wait_ready(sock, pid: int, on_pty, on_hooks) -> None:
    while True:
        fds: list[int] = []
        try:
            mtype, length = struct.unpack("=II", _read_exact(sock, 8, fds))
            payload = _read_exact(sock, length, fds)
        except (EOFError, OSError):
            raise Error("container init", _exit_reason(pid)) from None
        if mtype == N.MSG_PTY_MASTER and len(fds) == 1 and on_pty is not None:
            on_pty(fds.pop())
        for fd in fds:
            os.close(fd)
        if mtype == N.MSG_READY:
            return
        if mtype == N.MSG_HOOKS:
            from runtime.plan import encode_record

            states = on_hooks(pid) if on_hooks else ("{}", "{}")
            try:
                _write_all(sock.fileno(), encode_record(N.SYNC_HOOKS_DONE, (), states))
            except OSError:
                pass  # the init died: EOF follows
            continue
        if mtype == N.MSG_ERROR:
            raise Error("container init", payload.decode(errors="replace"))
        if mtype != N.MSG_PTY_MASTER:
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
