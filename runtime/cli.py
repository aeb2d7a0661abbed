"""Command line: runc's global flags, then one subcommand.

Each subcommand lives in runtime/commands/<name>.py and is imported only when
called, so `runtime state` never pays for what `runtime create` needs. A
command module defines SYNOPSIS, DESCRIPTION, FLAGS and main(g, opts, args)."""

import os
import sys

from runtime import args as argparse_lite
from runtime import log
from runtime.errors import Error

COMMANDS = {
    "create": "create a container",
    "start": "start a created container",
    "run": "create and start a container, wait for it",
    "exec": "run a process in a running container",
    "state": "output the state of a container",
    "kill": "send a signal to the container's init (or all its processes)",
    "delete": "delete a container and everything it holds",
    "list": "list containers",
    "spec": "write a default config.json",
    "features": "show the enabled features",
    "validate": "report every problem of a bundle's config.json",
    "pause": "suspend every process of a container",
    "resume": "resume a paused container",
    "update": "change a running container's cgroup limits",
    "ps": "list the processes of a container",
    "events": "print resource usage statistics and OOM events",
}

GLOBAL_FLAGS = [
    argparse_lite.Flag("--root", "root", True, "/run/runtime", "root directory for container state"),
    argparse_lite.Flag("--log", "log", True, None, "append log lines to this file"),
    argparse_lite.Flag("--log-format", "log_format", True, "text", "log format: text or json"),
    argparse_lite.Flag("--debug", "debug", help="log debug detail"),
    argparse_lite.Flag("--systemd-cgroup", "systemd_cgroup", help="cgroupsPath is slice:prefix:name"),
    argparse_lite.Flag("--rootless", "rootless", True, "auto", "auto, true or false"),
    argparse_lite.Flag("--criu", "criu", True, None, "ignored (no checkpoint support)"),
    argparse_lite.Flag("--version,-v", "version", help="print the version"),
]


class Globals:
    __slots__ = ("root", "log", "log_format", "debug", "systemd_cgroup", "rootless")

    def __init__(self, values: dict) -> None:
        for name in self.__slots__:
            setattr(self, name, values[name])


def _split_globals(argv: list[str]) -> tuple[list[str], list[str]]:
    """Global flags are those before the subcommand name."""
    valued = {n for f in GLOBAL_FLAGS if f.takes_value for n in f.names}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-"):
            break
        name = arg.split("=", 1)[0]
        i += 1 if ("=" in arg or name not in valued and "-" + name not in valued) else 2
    return argv[:i], argv[i:]


def _top_help() -> str:
    lines = ["usage: runtime [global options] <command> [options] [arguments]", "",
             "An OCI runtime (spec 1.3.0) with runc's command line.", "", "commands:"]
    lines += [f"  {name:<10} {summary}" for name, summary in COMMANDS.items()]
    lines += ["", argparse_lite.usage("", "", "", GLOBAL_FLAGS).split("\n", 4)[4]]
    return "\n".join(lines)


def _version() -> str:
    from runtime import SPEC_VERSION, __version__

    commit = "unknown"
    try:
        from runtime import _build_info  # written at build time

        commit = _build_info.COMMIT
    except ImportError:
        pass
    return f"runtime version {__version__}\ncommit: {commit}\nspec: {SPEC_VERSION}\n"


def run(argv: list[str]) -> int:
    global_argv, rest = _split_globals(argv)
    gvalues, stray = argparse_lite.parse("global options", global_argv, GLOBAL_FLAGS)
    if gvalues["log_format"] not in ("text", "json"):
        raise Error("--log-format", f"invalid value {gvalues['log_format']!r} (want text or json)")
    if gvalues["rootless"] not in ("auto", "true", "false"):
        raise Error("--rootless", f"invalid value {gvalues['rootless']!r} (want auto, true or false)")
    log.configure(gvalues["log"], gvalues["log_format"], gvalues["debug"])
    if gvalues["version"]:
        sys.stdout.write(_version())
        return 0
    if gvalues["help"] or not rest or rest[0] == "help":
        sys.stdout.write(_top_help())
        return 0 if (gvalues["help"] or rest) else 1
    name, cmd_argv = rest[0], rest[1:]
    if name not in COMMANDS:
        raise Error(name, "unknown command (see runtime --help)")
    module = __import__(f"runtime.commands.{name}", fromlist=["main"])
    opts, positionals = argparse_lite.parse(name, cmd_argv, module.FLAGS, getattr(module, "STOP_AT_POSITIONAL", False))
    if opts.pop("help"):
        sys.stdout.write(argparse_lite.usage(name, module.SYNOPSIS, module.DESCRIPTION, module.FLAGS))
        return 0
    g = Globals(gvalues)
    g.root = os.path.abspath(g.root)
    return module.main(g, opts, positionals)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        return run(argv)
    except Error as exc:
        return _report(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return _report("interrupted", 130)
    except BrokenPipeError:
        return 1
    except Exception as exc:  # a bug: still one line, detail under --debug
        if log.debugging():
            import traceback

            traceback.print_exc()
        return _report(f"internal error: {type(exc).__name__}: {exc}", 1)


def _report(msg: str, code: int) -> int:
    # One line whatever the input: a newline from an argument or a file
    # would split it (and break callers that read the last line).
    msg = msg.replace("\r", "\\r").replace("\n", "\\n")
    log.write("error", msg)
    try:
        os.write(2, f"runtime: {msg}\n".encode(errors="replace"))
    except OSError:
        pass
    return code
