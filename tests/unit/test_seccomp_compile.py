"""runtime.seccomp: OCI linux.seccomp → classic BPF (needs libseccomp in the build)."""

from __future__ import annotations

import errno
import struct

import pytest

from runtime import seccomp
from runtime.errors import Error

pytestmark = pytest.mark.skipif(not seccomp.available(), reason=seccomp.NO_LIBSECCOMP)

# struct sock_filter: u16 code, u8 jt, u8 jf, u32 k
BPF_RET_K = 0x06


def _program(profile: dict) -> list[tuple[int, int, int, int]]:
    flags, prog = seccomp.compile_filter(profile)
    assert len(prog) % 8 == 0
    return list(struct.iter_unpack("=HBBI", prog))


def _returns(profile: dict) -> set[int]:
    return {k for code, _, _, k in _program(profile) if code == BPF_RET_K}


def test_errno_and_default_errno_ret():
    rets = _returns({"defaultAction": "SCMP_ACT_ALLOW",
                     "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
                                  {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]})
    assert 0x7FFF0000 in rets                         # ALLOW
    assert 0x00050000 | errno.EPERM in rets           # ERRNO without errnoRet: EPERM
    assert 0x00050000 | 38 in rets
    rets = _returns({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38})
    assert 0x00050000 | 38 in rets


def test_kill_actions():
    assert 0x80000000 in _returns({"defaultAction": "SCMP_ACT_KILL_PROCESS"})
    assert 0 in _returns({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_KILL"}]})


def test_unknown_names_are_skipped_and_default_action_rules_too():
    base = _program({"defaultAction": "SCMP_ACT_ALLOW"})
    same = _program({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["no_such_syscall"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["mkdir"], "action": "SCMP_ACT_ALLOW"}]})
    assert base == same


def test_same_index_becomes_separate_rules():
    """runc's rule: each condition of a repeated index is a rule of its own."""
    cond = lambda v: {"index": 0, "value": v, "op": "SCMP_CMP_EQ"}  # noqa: E731
    one = {"defaultAction": "SCMP_ACT_ALLOW",
           "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [cond(1), cond(2)]}]}
    two = {"defaultAction": "SCMP_ACT_ALLOW",
           "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [cond(1)]},
                        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [cond(2)]}]}
    assert _program(one) == _program(two)


def test_plan_ints_round_trip():
    flags, prog = seccomp.compile_filter({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"]})
    ints = seccomp.plan_ints(flags, prog)
    assert ints[0] == flags
    assert struct.pack(f"={len(ints) - 1}Q", *ints[1:]) == prog


@pytest.mark.parametrize("profile, field", [
    ({"defaultAction": "SCMP_ACT_NOTIFY"}, "linux.seccomp.defaultAction"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 7, "value": 0, "op": "SCMP_CMP_EQ"}]}]},
     "linux.seccomp.syscalls[1].args[0].index"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NOPE"]}, "linux.seccomp.flags[0]"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}, "linux.seccomp.defaultAction"),
])
def test_errors_name_the_field(profile, field):
    with pytest.raises(Error) as e:
        seccomp.compile_filter(profile)
    assert e.value.context == field, e.value


def test_problems_refuse_notify():
    out = seccomp.problems({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x",
                            "syscalls": [{"names": ["a"], "action": "SCMP_ACT_NOTIFY"}]})
    assert [p.split(":")[0] for p in out] == ["linux.seccomp.listenerPath", "linux.seccomp.syscalls[0].action"]
