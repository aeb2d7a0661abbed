"""Differential conformance: every config of the corpus under runc and under
`runtime`, compared through what a probe inside the container observes.

Each config in configs/*.json is a partial config merged over `runc spec`
(see conformance/diff.py for the placeholders). A difference fails the test
unless expected_differences.json lists it with the spec clause or reason
that makes our behaviour the right one. The runtime under test is $RUNTIME
(default: `runtime` on PATH, else the dev wrapper /tmp/rt/rt).

Skipped as a whole when runc, gcc or the runtime is missing, or when not
root. All configs run up front on a small thread pool (each run takes a
fraction of a second), then one test per config reports its differences.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CONFIG_DIR = os.path.join(HERE, "configs")
EXPECTED = os.path.join(HERE, "expected_differences.json")


def _load_harness():
    spec = importlib.util.spec_from_file_location("conformance_diff", os.path.join(REPO, "conformance", "diff.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


diff = _load_harness()
RUNC = os.environ.get("RUNC") or (diff.DEFAULT_RUNC if os.access(diff.DEFAULT_RUNC, os.X_OK) else shutil.which("runc"))
RUNTIME = diff.default_runtime()


def _why_skip() -> str | None:
    if not RUNC:
        return "runc is not installed"
    if os.geteuid() != 0:
        return "needs root (real containers)"
    if not shutil.which("gcc"):
        return "gcc is needed to build the probe"
    if not os.access(diff.BUSYBOX, os.X_OK):
        return f"{diff.BUSYBOX} (busybox-static) is missing"
    if not (shutil.which(RUNTIME) or os.access(RUNTIME, os.X_OK)):
        return f"no runtime command {RUNTIME!r}: set RUNTIME"
    return None


_skip = _why_skip()
pytestmark = pytest.mark.skipif(_skip is not None, reason=_skip or "")

CONFIGS = sorted(os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(CONFIG_DIR, "*.json")))


def _load(name: str) -> dict:
    with open(os.path.join(CONFIG_DIR, name + ".json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def results() -> dict:
    """name -> list[Difference] or the exception the run raised."""
    diff.build_probe()
    diff.base_config(RUNC)

    def one(name):
        try:
            return name, diff.compare(_load(name), runtime=RUNTIME, runc=RUNC)
        except Exception as e:  # RuntimeFailure, or a harness error
            return name, e

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(one, CONFIGS))


@pytest.fixture(scope="module")
def expected() -> list[dict]:
    return diff.load_expected(EXPECTED)


def test_expected_differences_are_justified(expected):
    for e in expected:
        assert e.get("key") and e.get("config"), e
        assert len(e.get("reason", "")) > 20, f"entry without a reason: {e}"


@pytest.mark.parametrize("name", CONFIGS)
def test_same_world_as_runc(name, results, expected):
    r = results[name]
    if isinstance(r, diff.RuntimeFailure):
        pytest.fail(f"{r}\n{r.stdout[-2000:] if r.stdout else ''}", pytrace=False)
    if isinstance(r, Exception):
        raise r
    unexpected = [d for d in r if not diff.is_expected(name, d, expected)]
    if unexpected:
        pytest.fail(f"{len(unexpected)} difference(s) from runc in {name}:\n"
                    + "\n".join(str(d) for d in unexpected), pytrace=False)
