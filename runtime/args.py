"""Flag parsing for subcommands, with runc's spellings.

Engines pass `--flag value`, `--flag=value`, `-f value` and occasionally the
Go-style `-flag value`; all are accepted. argparse is avoided: its import and
its error style (usage dump, exit 2) both differ from what runc users expect."""

from runtime.errors import Error


class Flag:
    __slots__ = ("names", "dest", "takes_value", "default", "help", "repeat")

    def __init__(self, names: str, dest: str, takes_value: bool = False, default: object = None,
                 help: str = "", repeat: bool = False) -> None:
        self.names = names.split(",")
        self.dest = dest
        self.takes_value = takes_value
        self.default = [] if repeat else (default if takes_value else bool(default))
        self.help = help
        self.repeat = repeat


HELP = Flag("--help,-h", "help", help="show help")

_TRUE = {"true": True, "1": True, "t": True, "false": False, "0": False, "f": False}


def parse(command: str, argv: list[str], flags: list[Flag], stop_at_positional: bool = False) -> tuple[dict, list[str]]:
    """Returns ({dest: value}, positionals). With stop_at_positional everything
    after the first positional is positional (for `exec <id> <cmd> -flags`)."""
    table: dict[str, Flag] = {}
    for flag in flags + [HELP]:
        for name in flag.names:
            table[name] = flag
    values: dict = {f.dest: (list(f.default) if f.repeat else f.default) for f in flags}
    values["help"] = False
    positionals: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            positionals.extend(argv[i:])
            break
        if not arg.startswith("-") or arg == "-":
            positionals.append(arg)
            if stop_at_positional:
                positionals.extend(argv[i:])
                break
            continue
        name, eq, value = arg.partition("=")
        flag = table.get(name)
        if flag is None and not name.startswith("--"):
            flag = table.get("-" + name)  # Go accepts -bundle for --bundle
        if flag is None:
            raise Error(command, f"flag provided but not defined: {name}")
        if flag.takes_value:
            if not eq:
                if i >= len(argv):
                    raise Error(command, f"flag needs an argument: {name}")
                value = argv[i]
                i += 1
            if flag.repeat:
                values[flag.dest].append(value)
            else:
                values[flag.dest] = value
        elif eq:
            if value.lower() not in _TRUE:
                raise Error(command, f"invalid boolean value {value!r} for {name}")
            values[flag.dest] = _TRUE[value.lower()]
        else:
            values[flag.dest] = True
    return values, positionals


def usage(command: str, synopsis: str, description: str, flags: list[Flag]) -> str:
    lines = [f"usage: runtime {command} {synopsis}".rstrip(), "", description, ""]
    if flags:
        lines.append("options:")
        for flag in flags + [HELP]:
            spelled = ", ".join(flag.names) + (" VALUE" if flag.takes_value else "")
            lines.append(f"  {spelled:<28} {flag.help}")
    return "\n".join(lines) + "\n"


def integer(command: str, name: str, text: str, minimum: int = 0) -> int:
    try:
        value = int(text, 10)
    except (TypeError, ValueError):
        raise Error(command, f"invalid value {text!r} for {name}: not an integer") from None
    if value < minimum:
        raise Error(command, f"invalid value {text!r} for {name}: must be >= {minimum}")
    return value
