from runtime.errors import Error

SYNOPSIS = "<container-id>"
DESCRIPTION = "Start a created container: its process execs now."
FLAGS: list = []


def one_id(command: str, args: list[str]) -> str:
    if len(args) != 1:
        raise Error(command, "container id required" if not args else f"too many arguments: {' '.join(args[1:])}")
    return args[0]


def main(g, opts: dict, args: list[str]) -> int:
    from runtime import lifecycle

    lifecycle.start(g.root, one_id("start", args))
    return 0
