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


# ------------------------------------------------------------------ ENOSYS stub

AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_S390X = 0xC000003E, 0x40000003, 0x80000016
X32_BIT = 0x40000000
RET_ALLOW, RET_KILL_THREAD, RET_ERRNO = 0x7FFF0000, 0x00000000, 0x00050000
ENOSYS_RET, EPERM_RET = RET_ERRNO | errno.ENOSYS, RET_ERRNO | errno.EPERM
NR_MKDIR, NR_CLOSE_RANGE, NR_OPENAT2, NR_CLONE3 = 83, 436, 437, 435  # x86_64


def _run_bpf(prog: list, arch: int, nr: int, args=(0,) * 6) -> int:
    """A small classic-BPF interpreter over struct seccomp_data (enough for
    what libseccomp and the stub emit): the action the kernel would take."""
    data = struct.pack("=iIQ6Q", nr, arch, 0, *args)
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = prog[pc]
        pc += 1
        cls = code & 0x07
        if code == 0x20:                       # ld [k]
            acc = struct.unpack_from("=I", data, k)[0]
        elif code == 0x06:                     # ret k
            return k
        elif code == 0x05:                     # ja k
            pc += k
        elif cls == 0x05 and code & 0x08 == 0:  # conditional jumps against k
            test = {0x10: acc == k, 0x20: acc > k, 0x30: acc >= k, 0x40: acc & k != 0}[code & 0xF0]
            pc += jt if test else jf
        elif code == 0x54:                     # and k
            acc &= k
        else:
            raise AssertionError(f"unhandled BPF opcode {code:#x} at {pc - 1}")


ALLOW_LIST = {"defaultAction": "SCMP_ACT_ERRNO",
              "syscalls": [{"names": ["read", "write", "close_range", "not_a_syscall"], "action": "SCMP_ACT_ALLOW"}]}


def test_enosys_stub_prologue_shape():
    prog = _program(ALLOW_LIST)
    stub = seccomp.enosys_stub(ALLOW_LIST)
    assert stub and prog[:len(stub)] == stub
    assert stub[0] == (0x20, 0, 0, 4)                    # ld seccomp_data.arch
    assert stub[1][0] == 0x15 and stub[1][3] == AUDIT_ARCH_X86_64  # jeq native arch
    assert (0x06, 0, 0, ENOSYS_RET) in stub              # ret ERRNO|ENOSYS
    assert any(code == 0x25 and k == NR_CLOSE_RANGE for code, _, _, k in stub)  # jgt highest named
    # The original program starts right after the stub, as libseccomp made it.
    assert prog[len(stub)] == (0x20, 0, 0, 4)
    # Every jump of the stub lands inside the stub or on the program's start.
    for pc, (code, jt, jf, k) in enumerate(stub):
        if code == 0x05:
            assert pc + 1 + k <= len(stub)
        elif code & 0x07 == 0x05:
            assert pc + 1 + max(jt, jf) <= len(stub)


def test_enosys_stub_behaviour_native():
    prog = _program(ALLOW_LIST)
    assert _run_bpf(prog, AUDIT_ARCH_X86_64, 0) == RET_ALLOW                # read: listed
    assert _run_bpf(prog, AUDIT_ARCH_X86_64, NR_CLOSE_RANGE) == RET_ALLOW   # the highest named
    assert _run_bpf(prog, AUDIT_ARCH_X86_64, NR_MKDIR) == EPERM_RET         # below it: default
    assert _run_bpf(prog, AUDIT_ARCH_X86_64, NR_CLONE3) == EPERM_RET        # below it too
    assert _run_bpf(prog, AUDIT_ARCH_X86_64, NR_OPENAT2) == ENOSYS_RET      # above: ENOSYS
    assert _run_bpf(prog, AUDIT_ARCH_X86_64, 100000) == ENOSYS_RET
    # x32 and i386 are not in the filter: libseccomp's bad-arch action.
    assert _run_bpf(prog, AUDIT_ARCH_X86_64, X32_BIT | NR_OPENAT2) == RET_KILL_THREAD
    assert _run_bpf(prog, AUDIT_ARCH_I386, 500) == RET_KILL_THREAD


def test_enosys_stub_other_arches():
    profile = dict(ALLOW_LIST, architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                                              "SCMP_ARCH_NOT_ONE"])
    maxes = seccomp.last_syscalls(profile)
    assert maxes == {AUDIT_ARCH_X86_64: {AUDIT_ARCH_X86_64: NR_CLOSE_RANGE, 0x4000003E: X32_BIT | NR_CLOSE_RANGE},
                     AUDIT_ARCH_I386: {AUDIT_ARCH_I386: NR_CLOSE_RANGE}}
    prog = _program(profile)
    for arch, base in [(AUDIT_ARCH_X86_64, 0), (AUDIT_ARCH_X86_64, X32_BIT), (AUDIT_ARCH_I386, 0)]:
        assert _run_bpf(prog, arch, base | NR_OPENAT2) == ENOSYS_RET, (hex(arch), base)
        assert _run_bpf(prog, arch, base | NR_CLOSE_RANGE) == RET_ALLOW, (hex(arch), base)
        assert _run_bpf(prog, arch, base | 200) == EPERM_RET, (hex(arch), base)


def test_enosys_stub_s390x_setup():
    """libseccomp will not mix s390x into an x86_64 filter, so the stub is
    checked alone, in front of a stand-in program that allows everything.
    s390x's setup(2), number 0, is where unknown large syscalls end up."""
    profile = dict(ALLOW_LIST, architectures=["SCMP_ARCH_S390X"])
    prog = seccomp.enosys_stub(profile) + [(0x06, 0, 0, RET_ALLOW)]
    assert _run_bpf(prog, AUDIT_ARCH_S390X, 0) == ENOSYS_RET
    assert _run_bpf(prog, AUDIT_ARCH_S390X, NR_OPENAT2) == ENOSYS_RET
    assert _run_bpf(prog, AUDIT_ARCH_S390X, 3) == RET_ALLOW
    assert _run_bpf(prog, AUDIT_ARCH_X86_64, 0) == RET_ALLOW
    assert _run_bpf(prog, AUDIT_ARCH_X86_64, NR_OPENAT2) == ENOSYS_RET
    assert _run_bpf(prog, AUDIT_ARCH_I386, 1000) == RET_ALLOW  # not in the stub: straight to the program


@pytest.mark.parametrize("default", ["SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO"])
def test_enosys_stub_for_restrictive_defaults(default):
    profile = dict(ALLOW_LIST, defaultAction=default)
    prog = _program(profile)
    assert _run_bpf(prog, AUDIT_ARCH_X86_64, NR_OPENAT2) == ENOSYS_RET
    assert _run_bpf(prog, AUDIT_ARCH_X86_64, NR_MKDIR) != ENOSYS_RET


@pytest.mark.parametrize("profile", [
    {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]},
    {"defaultAction": "SCMP_ACT_LOG", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]},
    {"defaultAction": "SCMP_ACT_TRACE", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]},
    dict(ALLOW_LIST, defaultErrnoRet=errno.ENOSYS),       # the default is ENOSYS already
    {"defaultAction": "SCMP_ACT_ERRNO"},                  # names nothing: no highest syscall
], ids=["allow", "log", "trace", "errno-enosys", "empty"])
def test_no_enosys_stub(profile):
    assert seccomp.enosys_stub(profile) == []
    prog = _program(profile)
    assert prog[0] == (0x20, 0, 0, 4) and prog[1][0] == 0x15  # libseccomp's own start
    assert _run_bpf(prog, AUDIT_ARCH_X86_64, NR_OPENAT2) == _run_bpf(prog, AUDIT_ARCH_X86_64, 1000)


def test_enosys_stub_counts_rules_of_any_action():
    """As runc: every named syscall counts, whatever its action (even the
    default's, whose rule is dropped)."""
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["openat2"], "action": "SCMP_ACT_ERRNO"}]}
    prog = _program(profile)
    assert _run_bpf(prog, AUDIT_ARCH_X86_64, NR_OPENAT2) == EPERM_RET
    assert _run_bpf(prog, AUDIT_ARCH_X86_64, NR_OPENAT2 + 1) == ENOSYS_RET
