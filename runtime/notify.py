"""NOTIFY_SOCKET, as runc proxies it: the container gets its own socket
(bound at /run/notify/notify.sock inside), and `start` waits for READY=1
from the container and forwards it to the caller's NOTIFY_SOCKET."""

import os

from runtime.errors import Error, os_reason

INSIDE_DIR = "/run/notify"
SOCKET_NAME = "notify.sock"


def prepare(config: dict, state_dir: str) -> str | None:
    """At create: the directory to bind into the container, and the env var."""
    host = os.environ.get("NOTIFY_SOCKET")
    if not host:
        return None
    d = os.path.join(state_dir, "notify")
    os.mkdir(d, 0o777)
    os.chmod(d, 0o777)  # reachable by a user namespace's root too
    config.setdefault("mounts", []).append(
        {"destination": INSIDE_DIR, "type": "bind", "source": d, "options": ["bind", "nosuid", "noexec", "nodev"]})
    process = config["process"]
    process["env"] = [e for e in process.get("env") or [] if not e.startswith("NOTIFY_SOCKET=")]
    process["env"].append(f"NOTIFY_SOCKET={INSIDE_DIR}/{SOCKET_NAME}")
    return host


def listen(state_dir: str):
    """Bind the container's socket; call before the container can run."""
    import _socket

    path = os.path.join(state_dir, "notify", SOCKET_NAME)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
    try:
        sock.bind(path)
        os.chmod(path, 0o777)
    except OSError as exc:
        sock.close()
        raise Error(f"notify socket {path}", os_reason(exc)) from None
    return sock


def forward_ready(sock, host_socket: str, alive) -> None:
    """Wait for READY=1 (or the container's end), forward it, close."""
    import _socket
    import select

    try:
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        while alive():
            if not poller.poll(100):
                continue
            data = sock.recv(4096)
            if b"READY=1" not in data.split(b"\n"):
                continue
            out = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
            try:
                target = "\0" + host_socket[1:] if host_socket.startswith("@") else host_socket
                out.sendto(data, target)
            except OSError as exc:
                raise Error(f"NOTIFY_SOCKET {host_socket}", os_reason(exc)) from None
            finally:
                out.close()
            return
    finally:
        sock.close()
