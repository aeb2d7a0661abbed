from runtime.args import Flag
from runtime.errors import Error

SYNOPSIS = "[options] <container-id> [<signal>]"
DESCRIPTION = "Send a signal (default SIGTERM) to the container's init, or with --all to all its processes."
FLAGS = [Flag("--all,-a", "all", help="signal every process in the container")]


def main(g, opts: dict, args: list[str]) -> int:
    from runtime import lifecycle, signals

    if not args:
        raise Error("kill", "container id required")
    if len(args) > 2:
        raise Error("kill", f"too many arguments: {' '.join(args[2:])}")
    sig = signals.parse(args[1]) if len(args) == 2 else 15
    lifecycle.kill(g.root, args[0], sig, opts["all"])
    return 0
