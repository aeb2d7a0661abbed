from runtime.args import Flag, integer
from runtime.errors import Error

SYNOPSIS = "[options] <container-id> [<bundle>]"
DESCRIPTION = ("Create a container from a bundle. The container's process waits\n"
               "until `runtime start`; the pid file exists when this returns.")
FLAGS = [
    Flag("--bundle,-b", "bundle", True, None, "bundle directory (default: current directory)"),
    Flag("--pid-file", "pid_file", True, None, "write the init's pid here (no trailing newline)"),
    Flag("--console-socket", "console_socket", True, None, "AF_UNIX socket to send the pty master to"),
    Flag("--no-pivot", "no_pivot", help="use MS_MOVE + chroot instead of pivot_root"),
    Flag("--no-new-keyring", "no_new_keyring", help="keep the caller's session keyring"),
    Flag("--preserve-fds", "preserve_fds", True, "0", "pass fds 3..3+N-1 to the container"),
]


def bundle_from(command: str, opts: dict, args: list[str]) -> tuple[str, str]:
    """(id, bundle) from `<id> [<bundle>]` and --bundle, as runc accepts them."""
    import os

    if not args:
        raise Error(command, "container id required")
    if len(args) > 2 or (len(args) == 2 and opts["bundle"]):
        raise Error(command, f"too many arguments: {' '.join(args[1:])}")
    bundle = opts["bundle"] or (args[1] if len(args) == 2 else os.getcwd())
    return args[0], bundle


def main(g, opts: dict, args: list[str]) -> int:
    from runtime import lifecycle

    container_id, bundle = bundle_from("create", opts, args)
    lifecycle.create(g.root, container_id, bundle, pid_file=opts["pid_file"],
                     console_socket=opts["console_socket"], no_pivot=opts["no_pivot"],
                     no_new_keyring=opts["no_new_keyring"], systemd_cgroup=g.systemd_cgroup,
                     preserve_fds=integer("create", "--preserve-fds", opts["preserve_fds"]))
    return 0
