from runtime.args import Flag, integer
from runtime.commands.create import bundle_from
from runtime.errors import Error

SYNOPSIS = "[options] <container-id> [<bundle>]"
DESCRIPTION = ("Create and start a container. In the foreground it waits, forwards signals to\n"
               "the container's init, deletes the container (unless --keep) and exits with the\n"
               "container's exit status, or 128+signal if it was killed.")
FLAGS = [
    Flag("--bundle,-b", "bundle", True, None, "bundle directory (default: current directory)"),
    Flag("--pid-file", "pid_file", True, None, "write the init's pid here (no trailing newline)"),
    Flag("--console-socket", "console_socket", True, None, "AF_UNIX socket to send the pty master to"),
    Flag("--detach,-d", "detach", help="return once the container is running"),
    Flag("--keep", "keep", help="do not delete the container after it exits"),
    Flag("--no-pivot", "no_pivot", help="use MS_MOVE + chroot instead of pivot_root"),
    Flag("--no-new-keyring", "no_new_keyring", help="keep the caller's session keyring"),
    Flag("--preserve-fds", "preserve_fds", True, "0", "pass fds 3..3+N-1 to the container"),
]
_FORWARDED = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH")


def main(g, opts: dict, args: list[str]) -> int:
    import os

    from runtime import lifecycle

    container_id, bundle = bundle_from("run", opts, args)
    if opts["detach"] and opts["keep"]:
        raise Error("run", "--keep makes no sense with --detach")
    pty: list[int] = []
    c = lifecycle.create(g.root, container_id, bundle, pid_file=opts["pid_file"],
                         console_socket=opts["console_socket"],
                         keep_pty=None if opts["detach"] or opts["console_socket"] else pty,
                         no_pivot=opts["no_pivot"],
                         no_new_keyring=opts["no_new_keyring"], systemd_cgroup=g.systemd_cgroup,
                         preserve_fds=integer("run", "--preserve-fds", opts["preserve_fds"]))
    pid = c.state["pid"]
    if not opts["detach"] and not pty:
        # Before start: a SIGTERM that lands between start and waitpid must
        # reach the container, not kill us and orphan it.
        install_forwarding(pid)
    try:
        lifecycle.start(g.root, container_id)
    except BaseException:
        for fd in pty:
            os.close(fd)
        lifecycle.delete(g.root, container_id, force=True)
        raise
    if opts["detach"]:
        return 0
    if pty:
        from runtime.console import proxy

        status = proxy(pty[0], pid)
    else:
        status = wait_for(pid)
    if not opts["keep"]:
        lifecycle.delete(g.root, container_id, force=True)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def install_forwarding(pid: int) -> None:
    import os
    import signal

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for name in _FORWARDED:
        signal.signal(getattr(signal, name), forward)


def wait_for(pid: int) -> int:
    import os

    while True:
        try:
            _, status = os.waitpid(pid, 0)
            return status
        except InterruptedError:
            continue
