"""Fixtures for the engine suites (podman, containerd driving `runtime`).

The runtime under test is $RUNTIME (absolute path) or `runtime` on PATH.
Every engine action a test performs is recorded with the runtime argv it
produced; set RT_ENGINE_ARGV_REPORT=<file> to get them written out (one
"## engine: action" heading per action, then one argv per line).
"""

from __future__ import annotations

import os
import sys

import pytest

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _REPO not in sys.path:
    # appended, not prepended: an installed `runtime` package keeps precedence
    sys.path.append(_REPO)

from conformance.engines import common  # noqa: E402

_RECORDS: list[tuple[str, str, list[str]]] = []


@pytest.fixture(scope="session")
def runtime_bin() -> str:
    rt = common.runtime_path()
    if rt is None:
        pytest.skip("no runtime: set RUNTIME or put `runtime` on PATH")
    return rt


@pytest.fixture(scope="session")
def runtime_cmds(runtime_bin) -> set[str]:
    return common.runtime_commands(runtime_bin)


@pytest.fixture
def needs_cmds(runtime_cmds):
    """needs_cmds("pause", "resume"): skip unless `runtime --help` lists them."""
    def check(*names: str) -> None:
        missing = [n for n in names if n not in runtime_cmds]
        if missing:
            pytest.skip(f"runtime has no {'/'.join(missing)} yet (not in `runtime --help`)")
    return check


@pytest.fixture(scope="session")
def argv_record():
    """record(engine, action, argv_lines)"""
    def record(engine: str, action: str, lines: list[str]) -> None:
        _RECORDS.append((engine, action, list(lines)))
    yield record
    out = os.environ.get("RT_ENGINE_ARGV_REPORT")
    if out and _RECORDS:
        with open(out, "w") as f:
            for engine, action, lines in _RECORDS:
                f.write(f"## {engine}: {action}\n")
                for line in lines or ["(no runtime call)"]:
                    f.write(f"    runtime {line}\n")
                f.write("\n")

