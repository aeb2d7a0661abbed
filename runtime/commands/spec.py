from runtime.args import Flag
from runtime.errors import Error

SYNOPSIS = "[options]"
DESCRIPTION = "Write a default config.json (as runc spec does) into the bundle directory."
FLAGS = [
    Flag("--bundle,-b", "bundle", True, ".", "bundle directory"),
    Flag("--rootless", "rootless", help="a config for an unprivileged user"),
]


def main(g, opts: dict, args: list[str]) -> int:
    from runtime.default_spec import write_spec

    if args:
        raise Error("spec", f"unexpected arguments: {' '.join(args)}")
    write_spec(opts["bundle"], opts["rootless"])
    return 0
