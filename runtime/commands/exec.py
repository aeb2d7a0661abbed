from runtime.args import Flag, integer
from runtime.errors import Error

SYNOPSIS = "[options] <container-id> <command> [args...]  |  --process FILE <container-id>"
DESCRIPTION = ("Run a process in a running container: it joins every namespace of the\n"
               "container's init and its cgroup. Without --detach, waits and exits with the\n"
               "process's status (128+signal if it was killed).")
STOP_AT_POSITIONAL = True
FLAGS = [
    Flag("--process,-p", "process", True, None, "process.json (the engines' form) instead of a command"),
    Flag("--tty,-t", "tty", help="allocate a terminal"),
    Flag("--console-socket", "console_socket", True, None, "AF_UNIX socket to send the pty master to"),
    Flag("--detach,-d", "detach", help="do not wait for the process"),
    Flag("--pid-file", "pid_file", True, None, "write the process's pid here"),
    Flag("--env,-e", "env", True, help="KEY=VALUE to add (repeatable)", repeat=True),
    Flag("--cwd", "cwd", True, None, "working directory inside the container"),
    Flag("--user,-u", "user", True, None, "uid[:gid]"),
    Flag("--additional-gids,-g", "additional_gids", True, help="additional gid (repeatable)", repeat=True),
    Flag("--cap,-c", "cap", True, help="capability to add (repeatable; never inheritable)", repeat=True),
    Flag("--no-new-privs", "no_new_privs", help="set no_new_privs"),
    Flag("--preserve-fds", "preserve_fds", True, "0", "pass fds 3..3+N-1 to the process"),
    Flag("--ignore-paused", "ignore_paused", help="allow exec into a paused container"),
    Flag("--cgroup", "cgroup", True, None, "accepted; the process joins the container's cgroup"),
    Flag("--apparmor", "apparmor", True, None, "refused: AppArmor is not supported"),
    Flag("--process-label", "process_label", True, None, "refused: SELinux is not supported"),
]


def _load_process(path: str) -> dict:
    from runtime import jsonio

    try:
        with open(path, "rb") as f:
            doc = jsonio.loads(f.read())
    except OSError as exc:
        raise Error(f"process {path}", exc.strerror) from None
    except ValueError as exc:
        raise Error(f"process {path}", f"malformed JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise Error(f"process {path}", "must be a JSON object")
    return doc


def _check(process: dict) -> None:
    args = process.get("args")
    if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
        raise Error("exec", "process.args: must be a non-empty array of strings")
    cwd = process.get("cwd", "/")
    if not isinstance(cwd, str) or not cwd.startswith("/"):
        raise Error("exec", f"process.cwd: {cwd!r} must be an absolute path")
    for key in ("apparmorProfile", "selinuxLabel"):
        if process.get(key):
            raise Error("exec", f"process.{key}: not supported by this runtime")


def _build(base: dict, opts: dict, command: list[str]) -> dict:
    import copy

    p = copy.deepcopy(base)
    p["args"] = command
    p["terminal"] = opts["tty"]
    p.pop("consoleSize", None)
    p["env"] = list(p.get("env") or []) + opts["env"]
    if opts["cwd"]:
        p["cwd"] = opts["cwd"]
    user = dict(p.get("user") or {"uid": 0, "gid": 0})
    if opts["user"]:
        uid, _, gid = opts["user"].partition(":")
        user["uid"] = integer("exec", "--user", uid)
        user["gid"] = integer("exec", "--user", gid) if gid else 0
    if opts["additional_gids"]:
        user["additionalGids"] = [integer("exec", "--additional-gids", g) for g in opts["additional_gids"]]
    p["user"] = user
    if opts["cap"]:
        caps = {k: list(v) for k, v in (p.get("capabilities") or {}).items()}
        # Never inheritable (CVE-2022-29162): an added cap must not survive
        # into a program's file capabilities.
        for kind in ("bounding", "effective", "permitted", "ambient"):
            caps[kind] = list(dict.fromkeys((caps.get(kind) or []) + opts["cap"]))
        p["capabilities"] = caps
    if opts["no_new_privs"]:
        p["noNewPrivileges"] = True
    return p


def main(g, opts: dict, args: list[str]) -> int:
    import os

    from runtime import lifecycle
    from runtime.state import Container

    if opts["apparmor"] or opts["process_label"]:
        raise Error("exec", "--apparmor/--process-label: not supported by this runtime")
    if not args:
        raise Error("exec", "container id required")
    container_id, command = args[0], args[1:]
    if opts["process"]:
        if command:
            raise Error("exec", "a command makes no sense with --process")
        process = _load_process(opts["process"])
        if opts["tty"]:
            process["terminal"] = True
    else:
        if not command:
            raise Error("exec", "command required (or --process FILE)")
        c = Container.load(g.root, container_id, lock=False)
        process = _build(c.state.get("process") or {"cwd": "/"}, opts, command)
    process.setdefault("cwd", "/")
    _check(process)
    status = lifecycle.exec_process(
        g.root, container_id, process, detach=opts["detach"], pid_file=opts["pid_file"],
        console_socket=opts["console_socket"], ignore_paused=opts["ignore_paused"],
        preserve_fds=integer("exec", "--preserve-fds", opts["preserve_fds"]))
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)
