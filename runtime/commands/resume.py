from runtime.errors import Error

SYNOPSIS = "<container-id>"
DESCRIPTION = "Resume every process of a paused container."
FLAGS: list = []


def main(g, opts: dict, args: list[str]) -> int:
    from runtime.commands.pause import load_running

    c, cg = load_running("resume", g, args)
    try:
        if not cg.is_frozen():
            raise Error(c.id, "container is not paused")
        cg.thaw()
        c.set_paused(False)
    finally:
        c.unlock()
    return 0
