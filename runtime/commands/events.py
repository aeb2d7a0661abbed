import os
import time

from runtime.args import Flag
from runtime.errors import Error

SYNOPSIS = "[options] <container-id>"
DESCRIPTION = ("Print container events as JSON lines: stats every --interval and OOM kills "
               '({"type":"oom","id":...}); with --stats one stats object, then exit.')
FLAGS = [
    Flag("--interval", "interval", True, "5s", "stats interval (Go duration: 5s, 100ms)"),
    Flag("--stats", "stats", help="print stats once and exit"),
]

_DURATION_UNITS = (("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0),
                   ("m", 60.0), ("h", 3600.0))


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration, for the simple forms ("5s", "1m30s", "250ms")."""
    t = text.strip()
    if t == "0":
        return 0.0
    total = 0.0
    i = 0
    if not t:
        raise Error("events", f"invalid duration {text!r}")
    while i < len(t):
        j = i
        while j < len(t) and (t[j].isdigit() or t[j] == "."):
            j += 1
        if j == i:
            raise Error("events", f"invalid duration {text!r}")
        num = float(t[i:j])
        for unit, scale in sorted(_DURATION_UNITS, key=lambda u: -len(u[0])):
            if t.startswith(unit, j):
                total += num * scale
                i = j + len(unit)
                break
        else:
            raise Error("events", f"invalid duration {text!r} (missing unit)")
    return total


def _emit(obj) -> None:
    from runtime import jsonio

    try:
        os.write(1, (jsonio.dumps(obj) + "\n").encode())
    except BrokenPipeError:
        raise SystemExit(0)


def main(g, opts: dict, args: list[str]) -> int:
    from runtime.cgroups import ContainerCgroup
    from runtime.commands.start import one_id
    from runtime.state import Container

    cid = one_id("events", args)
    interval = parse_duration(opts["interval"])
    if interval <= 0:
        raise Error("events", "duration interval must be greater than 0")
    c = Container.load(g.root, cid, lock=False)
    status = c.status()
    if status == "stopped" or not c.state.get("cgroup"):
        raise Error(cid, f"container is not running (status {status})")
    cg = ContainerCgroup.from_state(c.state["cgroup"])
    if opts["stats"]:
        _emit({"type": "stats", "id": cid, "data": cg.stats()})
        return 0
    ooms = cg.oom_count()
    next_stats = time.monotonic()
    while True:
        now = time.monotonic()
        n = cg.oom_count()
        if n > ooms:
            ooms = n
            _emit({"type": "oom", "id": cid})
        if now >= next_stats:
            _emit({"type": "stats", "id": cid, "data": cg.stats()})
            next_stats = now + interval
        try:
            stopped = Container.load(g.root, cid, lock=False).status() == "stopped"
        except Error:
            stopped = True       # deleted
        if stopped:
            # a last look: the OOM kill is often what stopped it
            if cg.oom_count() > ooms:
                _emit({"type": "oom", "id": cid})
            return 0
        time.sleep(min(0.1, interval))
