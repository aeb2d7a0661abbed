"""The cgroup v2 eBPF device filter (native/cgroup_bpf.c) against the real kernel.

Each test makes its own cgroup, rt-bpf-test-<random>, directly under the
cgroup2 mount (the unified hierarchy of a hybrid machine works too: the
kernel runs device programs from there whatever the v1 devices controller
says), and removes it afterwards. Only children this module starts are put
in it.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
import uuid

import pytest

from runtime.cgroups.bpf import attach_device_filter


def _cgroup2_mount() -> str | None:
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                sep = fields.index("-")
                if fields[sep + 1] == "cgroup2":
                    return fields[4]
    except (OSError, ValueError, IndexError):
        pass
    return None


CGROUP2 = _cgroup2_mount()
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or CGROUP2 is None,
                                reason="needs root and a mounted cgroup2")

DENY_ALL = (False, "a", -1, -1, "rwm")
NULL = (True, "c", 1, 3, "rwm")       # /dev/null
ZERO = (1, 5)                         # /dev/zero


@pytest.fixture
def cgroup():
    path = os.path.join(CGROUP2, f"rt-bpf-test-{uuid.uuid4().hex[:12]}")
    try:
        os.mkdir(path)
    except OSError as e:
        pytest.skip(f"cannot create a cgroup under {CGROUP2}: {e}")
    try:
        yield path
    finally:
        # The children were waited for, but an exited process can linger in
        # cgroup.procs for a moment.
        for _ in range(100):
            try:
                os.rmdir(path)
                break
            except OSError as e:
                if e.errno != errno.EBUSY:
                    raise
                time.sleep(0.05)
        assert not os.path.exists(path)


_PROBE = r"""
import errno, os, sys
for arg in sys.argv[1:]:
    path, mode = arg.split(":")
    flags = {"r": os.O_RDONLY, "w": os.O_WRONLY, "rw": os.O_RDWR}[mode]
    try:
        os.close(os.open(path, flags))
        print("ok")
    except OSError as e:
        print(errno.errorcode[e.errno])
"""


def _opens(cgroup: str, *specs: str) -> list[str]:
    """From a child moved into `cgroup`, open each "path:mode"; ok or the errno name."""
    out = subprocess.run(
        ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup,
         sys.executable, "-c", _PROBE, *specs],
        capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def _attached(cgroup: str) -> int:
    """How many of our device programs are attached to the cgroup (BPF_PROG_QUERY)."""
    from runtime._native import lib

    fd = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY)
    try:
        n = lib.rt_cgroup_device_filters(fd)
    finally:
        os.close(fd)
    if n < 0:
        raise OSError(-n, os.strerror(-n))
    return n


def test_deny_all_but_dev_null(cgroup):
    attach_device_filter(cgroup, [DENY_ALL, NULL])
    assert _opens(cgroup, "/dev/null:rw", "/dev/zero:r", "/dev/zero:w", "/dev/full:rw") \
        == ["ok", "EPERM", "EPERM", "EPERM"]
    # Only the child was confined.
    with open("/dev/zero", "rb") as f:
        assert f.read(1) == b"\0"


def test_allow_all_wildcard(cgroup):
    attach_device_filter(cgroup, [DENY_ALL, (True, "a", -1, -1, "rwm")])
    assert _opens(cgroup, "/dev/null:rw", "/dev/zero:rw", "/dev/full:w") == ["ok", "ok", "ok"]


def test_last_match_wins_and_access_bits(cgroup):
    # All char devices, then /dev/zero read-only: a deny of w refuses O_RDWR
    # and O_WRONLY but leaves O_RDONLY.
    attach_device_filter(cgroup, [DENY_ALL, (True, "c", -1, -1, "rwm"),
                                  (False, "c", *ZERO, "w")])
    assert _opens(cgroup, "/dev/zero:r", "/dev/zero:w", "/dev/zero:rw", "/dev/full:rw") \
        == ["ok", "EPERM", "EPERM", "ok"]
    # An allow must cover everything asked for at once.
    attach_device_filter(cgroup, [DENY_ALL, NULL, (True, "c", *ZERO, "r")])
    assert _opens(cgroup, "/dev/zero:r", "/dev/zero:rw", "/dev/null:rw") == ["ok", "EPERM", "ok"]
    # Block rules do not match char devices, whatever the numbers.
    attach_device_filter(cgroup, [DENY_ALL, NULL, (True, "b", -1, -1, "rwm")])
    assert _opens(cgroup, "/dev/zero:r") == ["EPERM"]


def test_update_replaces_our_program(cgroup):
    attach_device_filter(cgroup, [DENY_ALL, NULL])
    assert _attached(cgroup) == 1
    assert _opens(cgroup, "/dev/zero:r") == ["EPERM"]

    attach_device_filter(cgroup, [DENY_ALL, NULL, (True, "c", *ZERO, "rwm")])
    # The old program is detached once the new one is in place.
    assert _attached(cgroup) == 1
    assert _opens(cgroup, "/dev/zero:rw", "/dev/full:r") == ["ok", "EPERM"]

    attach_device_filter(cgroup, [DENY_ALL, NULL])
    assert _attached(cgroup) == 1
    assert _opens(cgroup, "/dev/zero:r") == ["EPERM"]


def test_bad_rule_is_refused(cgroup):
    from runtime._native import ffi, lib

    fd = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert lib.rt_cgroup_device_filter(fd, ffi.new("int[]", [1, 7, 0, 0, 7]), 1) == -errno.EINVAL
        assert lib.rt_cgroup_device_filter(fd, ffi.new("int[]", [1, 2, 1, 3, 8]), 1) == -errno.EINVAL
    finally:
        os.close(fd)
    assert _attached(cgroup) == 0
