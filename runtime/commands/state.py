import sys

from runtime.commands.start import one_id

SYNOPSIS = "<container-id>"
DESCRIPTION = "Output the state of a container as OCI state JSON."
FLAGS: list = []


def main(g, opts: dict, args: list[str]) -> int:
    from runtime import jsonio
    from runtime.state import Container

    c = Container.load(g.root, one_id("state", args), lock=False)
    sys.stdout.write(jsonio.dumps(c.oci_state(), indent=2) + "\n")
    return 0
