import os
import sys

from runtime.errors import Error

SYNOPSIS = "[<bundle>]"
DESCRIPTION = ("Check a bundle's config.json against the OCI runtime spec 1.3.0 schema and\n"
               "the rules the schema cannot express; print every problem with its JSON path.\n"
               "Exits 1 if there is any problem.")
FLAGS: list = []


def main(g, opts: dict, args: list[str]) -> int:
    from runtime import config as configmod
    from runtime.validation import config_problems

    if len(args) > 1:
        raise Error("validate", f"too many arguments: {' '.join(args[1:])}")
    bundle = os.path.abspath(args[0] if args else os.getcwd())
    doc = configmod.load(bundle)
    problems = config_problems(doc)
    try:
        # Also on a schema-invalid doc: one run should show every problem.
        semantic = configmod.semantic_problems(doc, bundle)
    except (AttributeError, TypeError, KeyError, ValueError):
        semantic = []  # a shape the schema already reported
    reported = {p.split(":", 1)[0] for p in problems}
    problems += [p for p in semantic if p.split(":", 1)[0] not in reported]
    out = sys.stdout
    for p in problems:
        out.write(f"error: {p}\n")
    if not problems:
        for note in configmod.notes(doc):
            out.write(f"note: {note}\n")
        out.write(f"{os.path.join(bundle, 'config.json')}: valid\n")
        return 0
    out.write(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {os.path.join(bundle, 'config.json')}\n")
    return 1
