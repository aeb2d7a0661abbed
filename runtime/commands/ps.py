import os
import sys

from runtime.args import Flag
from runtime.errors import Error

SYNOPSIS = "[options] <container-id> [ps options]"
DESCRIPTION = ("List the container's processes: a table from ps(1) (default args -ef) "
               "filtered to them, or with --format json a JSON array of host pids.")
FLAGS = [Flag("--format,-f", "format", True, "table", "table or json")]
STOP_AT_POSITIONAL = True   # `ps <id> -eo pid,comm`: the rest goes to ps(1)


def main(g, opts: dict, args: list[str]) -> int:
    from runtime.cgroups import ContainerCgroup
    from runtime.state import Container

    if not args:
        raise Error("ps", "container id required")
    if opts["format"] not in ("table", "json"):
        raise Error("ps", f"invalid format {opts['format']!r} (table or json)")
    c = Container.load(g.root, args[0], lock=False)
    status = c.status()
    if status == "stopped" or not c.state.get("cgroup"):
        raise Error(c.id, f"cannot ps a container in the {status} state")
    pids = sorted(ContainerCgroup.from_state(c.state["cgroup"]).pids())
    if opts["format"] == "json":
        sys.stdout.write("[" + ",".join(map(str, pids)) + "]\n")
        return 0
    return _table(pids, args[1:] or ["-ef"])


def _table(pids: list[int], ps_args: list[str]) -> int:
    import subprocess

    try:
        out = subprocess.run(["ps", *ps_args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             check=False)
    except OSError as e:
        raise Error("ps", f"run ps: {e.strerror or e}") from None
    if out.returncode != 0:
        raise Error("ps", f"ps {' '.join(ps_args)}: {out.stderr.decode(errors='replace').strip()}")
    lines = out.stdout.decode(errors="replace").splitlines()
    if not lines:
        return 0
    header = lines[0].split()
    if "PID" not in header:
        raise Error("ps", "couldn't find PID field in ps output")
    col = header.index("PID")
    wanted = set(pids)
    keep = [lines[0]]
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > col and fields[col].isdigit() and int(fields[col]) in wanted:
            keep.append(line)
    os.write(1, ("\n".join(keep) + "\n").encode())
    return 0
