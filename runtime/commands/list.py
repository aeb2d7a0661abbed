import os
import sys

from runtime import log

from runtime.args import Flag
from runtime.errors import Error

SYNOPSIS = "[options]"
DESCRIPTION = "List the containers under --root."
FLAGS = [
    Flag("--format,-f", "format", True, "table", "table or json"),
    Flag("--quiet,-q", "quiet", help="only ids"),
]


def main(g, opts: dict, args: list[str]) -> int:
    from runtime import jsonio
    from runtime.state import Container, list_ids

    if args:
        raise Error("list", f"unexpected arguments: {' '.join(args)}")
    if opts["format"] not in ("table", "json"):
        raise Error("list", f"invalid format {opts['format']!r} (want table or json)")
    states = []
    for cid in list_ids(g.root):
        try:
            states.append(Container.load(g.root, cid, lock=False).oci_state())
        except Error as exc:
            # Vanished while listing, or corrupt: one bad container must not
            # hide the others.
            if os.path.isdir(os.path.join(g.root, cid)):
                log.warn(str(exc))
            continue
    if opts["quiet"]:
        sys.stdout.write("".join(s["id"] + "\n" for s in states))
    elif opts["format"] == "json":
        sys.stdout.write(jsonio.dumps(states) + "\n")
    else:
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        rows += [(s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"], s["owner"]) for s in states]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for r in rows:
            sys.stdout.write("   ".join(r[i].ljust(widths[i]) for i in range(5)) + "   " + r[5] + "\n")
    return 0
