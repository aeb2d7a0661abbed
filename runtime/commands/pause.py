from runtime.errors import Error

SYNOPSIS = "<container-id>"
DESCRIPTION = "Suspend every process of a container (cgroup v1 freezer or v2 cgroup.freeze)."
FLAGS: list = []


def load_running(command: str, g, args: list[str]):
    """(container, cgroup) of a created/running container, locked."""
    from runtime.cgroups import ContainerCgroup
    from runtime.commands.start import one_id
    from runtime.state import Container

    c = Container.load(g.root, one_id(command, args))
    try:
        status = c.status()
        if status not in ("created", "running", "paused") or not c.state.get("cgroup"):
            raise Error(c.id, f"cannot {command} a container in the {status} state")
        return c, ContainerCgroup.from_state(c.state["cgroup"])
    except BaseException:
        c.unlock()
        raise


def main(g, opts: dict, args: list[str]) -> int:
    c, cg = load_running("pause", g, args)
    try:
        if cg.is_frozen():
            raise Error(c.id, "container is already paused")
        cg.freeze()
        c.set_paused(True)
    finally:
        c.unlock()
    return 0
