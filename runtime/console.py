"""Terminals on the parent's side: handing the pty master to an engine's
--console-socket (SCM_RIGHTS, as runc does: conmon and containerd's shim
receive it this way), or proxying it for a foreground `run`."""

import os

from runtime.errors import Error, os_reason


def connect(path: str):
    """Connect early, so a bad socket fails `create` before anything is built."""
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        raise Error(f"console socket {path}", os_reason(exc)) from None
    return sock


def send_master(sock, master: int) -> None:
    import _socket
    import struct

    try:
        sock.sendmsg([b"/dev/ptmx"], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack("i", master))])
    except OSError as exc:
        raise Error("console socket", f"send the pty master: {os_reason(exc)}") from None
    finally:
        os.close(master)


def copy_window_size(master: int) -> None:
    """The caller's terminal size onto the pty (nothing without a terminal):
    done as soon as the master arrives, so the program starts at the right size."""
    if not os.isatty(0):
        return
    import fcntl
    import termios

    fcntl.ioctl(master, termios.TIOCSWINSZ, fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8))


def keep_with_window_size(keep: list):
    """An on_pty callback for the foreground: size the pty, keep the master."""
    def on_pty(master: int) -> None:
        copy_window_size(master)
        keep.append(master)
    return on_pty


def proxy(master: int, pid: int) -> int:
    """Copy between our stdio and the pty until the container exits; the
    caller's terminal is in raw mode meanwhile and its size follows ours.
    Returns the wait status of pid."""
    import select
    import signal
    import termios
    import tty

    stdin_tty = os.isatty(0)
    saved = termios.tcgetattr(0) if stdin_tty else None

    def resize(*_args):
        copy_window_size(master)

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGWINCH, resize)
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
        signal.signal(sig, forward)
    resize()
    if saved is not None:
        tty.setraw(0)
    inputs = [master, 0]
    try:
        while True:
            try:
                ready, _, _ = select.select(inputs, [], [])
            except InterruptedError:
                continue
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the last slave fd closed
                    data = b""
                if not data:
                    break
                os.write(1, data)
            if 0 in ready:
                data = os.read(0, 65536)
                if data:
                    os.write(master, data)
                else:
                    inputs.remove(0)  # stdin closed; keep reading output
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        os.close(master)
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue
