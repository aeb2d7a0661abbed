from runtime.args import Flag
from runtime.commands.start import one_id

SYNOPSIS = "[options] <container-id>"
DESCRIPTION = "Delete a container: its processes, cgroup and state. A running container needs --force."
FLAGS = [Flag("--force,-f", "force", help="kill a running container first; an unknown id is not an error")]


def main(g, opts: dict, args: list[str]) -> int:
    from runtime import lifecycle

    lifecycle.delete(g.root, one_id("delete", args), opts["force"])
    return 0
