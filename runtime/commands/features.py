import sys

from runtime.errors import Error

SYNOPSIS = ""
DESCRIPTION = "Show what this runtime implements (features.md of the OCI runtime spec)."
FLAGS: list = []


def main(g, opts: dict, args: list[str]) -> int:
    from runtime import jsonio
    from runtime.features_doc import features

    if args:
        raise Error("features", f"unexpected arguments: {' '.join(args)}")
    sys.stdout.write(jsonio.dumps(features(), indent=4) + "\n")
    return 0
