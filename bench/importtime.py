#!/usr/bin/env python3
"""Import cost of each subcommand, from `python -X importtime`.

Runs the installed `runtime` launcher under the same interpreter flags it
uses itself (-I -S) plus -X importtime, for each subcommand against a real
container, and prints the total import time (sum of top-level cumulative
times) and the most expensive modules.

usage: bench/importtime.py [--runtime PATH]"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lifecycle import make_bundle, set_args  # noqa: E402


def measure(python: str, launcher: str, argv: list[str]) -> tuple[float, list[tuple[int, str]]]:
    # stderr to a file, not a pipe: the container's init inherits it and
    # would hold a pipe open until it exits.
    with tempfile.TemporaryFile("w+") as err:
        subprocess.run([python, "-I", "-S", "-X", "importtime", launcher] + argv,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        err.seek(0)
        text = err.read()
    total = 0
    mods = []
    for line in text.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cum_us, name = line[len("import time:"):].split("|", 2)
        depth = len(name) - len(name.lstrip()) - 1
        mods.append((int(self_us), name.strip()))
        if depth == 0:
            total += int(cum_us)
    mods.sort(reverse=True)
    return total / 1000, mods[:4]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runtime", default=shutil.which("runtime"))
    a = ap.parse_args()
    launcher = os.path.realpath(a.runtime)
    python = os.path.join(os.path.dirname(launcher), "python3")
    with tempfile.TemporaryDirectory(prefix="rt-imp-") as work:
        bundle = os.path.join(work, "bundle")
        make_bundle(bundle)
        set_args(bundle, ["sleep", "30"], "/runtime-bench/imp")
        root = ["--root", os.path.join(work, "state")]
        steps = [
            ("create", ["create", "--bundle", bundle, "c"]),
            ("state", ["state", "c"]),
            ("list", ["list"]),
            ("start", ["start", "c"]),
            ("kill", ["kill", "c", "KILL"]),
            ("delete", ["delete", "--force", "c"]),
            ("spec", ["spec", "--bundle", os.path.join(work, "specdir")]),
            ("features", ["features"]),
            ("validate", ["validate", bundle]),
            ("--version", ["--version"]),
        ]
        os.mkdir(os.path.join(work, "specdir"))
        print(f"{'subcommand':<12}{'imports ms':>12}   most expensive (self us)")
        try:
            for name, argv in steps:
                total, top = measure(python, launcher, root + argv)
                print(f"{name:<12}{total:>12.1f}   " + ", ".join(f"{m} {us}" for us, m in top))
        finally:
            # Before the state dir goes with the temporary directory.
            subprocess.run([launcher] + root + ["delete", "--force", "c"], stderr=subprocess.DEVNULL)
    for h in os.listdir("/sys/fs/cgroup"):
        for d in (f"/sys/fs/cgroup/{h}/runtime-bench/imp", f"/sys/fs/cgroup/{h}/runtime-bench"):
            try:
                os.rmdir(d)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
