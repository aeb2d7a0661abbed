"""linux.seccomp → a classic BPF program, compiled in the parent with
libseccomp (runtime._seccomp) as runc and crun do.

runtime-init is static and has no libseccomp: it receives the program's
bytes in PLAN_SECCOMP (native/protocol.h) and installs them with seccomp(2).
runtime._seccomp is imported only here, and this module only when a config
has linux.seccomp: every subcommand is a fresh process.
"""

from __future__ import annotations

import errno
import os
import struct

from runtime.errors import Error

NO_LIBSECCOMP = "this build has no libseccomp (install libseccomp-dev and reinstall)"

# Flag bits of seccomp(SECCOMP_SET_MODE_FILTER) (linux/seccomp.h).
FLAGS = {
    "SECCOMP_FILTER_FLAG_TSYNC": 1 << 0,
    "SECCOMP_FILTER_FLAG_LOG": 1 << 1,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 1 << 2,
}
_NEW_LISTENER = 1 << 3
_WAIT_KILLABLE_RECV = 1 << 5

ACTIONS = ("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
           "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG")
OPERATORS = ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
             "SCMP_CMP_MASKED_EQ")
# The spec's names; libseccomp's are the same, lower case, without the prefix.
ARCHES = ("SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
          "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
          "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",
          "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
          "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB")
_MAX_ARGS = 6  # a syscall has at most six arguments
_BPF_MAXINSNS = 4096  # the kernel's limit on a classic BPF program


def _lib():
    try:
        from runtime._seccomp import ffi, lib
    except ImportError:
        raise Error("linux.seccomp", NO_LIBSECCOMP) from None
    return ffi, lib


def available() -> bool:
    try:
        _lib()
    except Error:
        return False
    return True


def problems(seccomp: dict) -> list[str]:
    """What `validate` and `create` refuse before compiling: '<path>: <reason>'."""
    out = []
    if not available():
        out.append(f"linux.seccomp: {NO_LIBSECCOMP}")
    if seccomp.get("listenerPath"):
        out.append("linux.seccomp.listenerPath: seccomp agents (SCMP_ACT_NOTIFY) are not supported yet")
    if seccomp.get("defaultAction") == "SCMP_ACT_NOTIFY":
        out.append("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported yet")
    for i, call in enumerate(seccomp.get("syscalls") or []):
        if isinstance(call, dict) and call.get("action") == "SCMP_ACT_NOTIFY":
            out.append(f"linux.seccomp.syscalls[{i}].action: SCMP_ACT_NOTIFY is not supported yet")
    return out


def compile_filter(seccomp: dict, field: str = "linux.seccomp") -> tuple[int, bytes]:
    """(flags for seccomp(2), the program as bytes of struct sock_filter[])."""
    ffi, lib = _lib()
    flags = _flags(seccomp.get("flags") or [], f"{field}.flags", lib)
    default = _action(lib, seccomp["defaultAction"], seccomp.get("defaultErrnoRet"), f"{field}.defaultAction")
    ctx = lib.seccomp_init(default)
    if ctx == ffi.NULL:
        raise Error(f"{field}.defaultAction", f"libseccomp refuses {seccomp['defaultAction']}")
    try:
        # Installing is the init's business, and whether no_new_privs is set
        # is process.noNewPrivileges' (the exported program ignores it anyway).
        lib.seccomp_attr_set(ctx, lib.SCMP_FLTATR_CTL_NNP, 0)
        for i, arch in enumerate(seccomp.get("architectures") or []):
            _add_arch(lib, ctx, arch, f"{field}.architectures[{i}]")
        for i, call in enumerate(seccomp.get("syscalls") or []):
            _add_rules(ffi, lib, ctx, default, call, f"{field}.syscalls[{i}]")
        program = _export(lib, ctx, field)
        stub = enosys_stub(seccomp)
        if len(stub) + len(program) // 8 > _BPF_MAXINSNS:
            raise Error(field, f"the filter and its ENOSYS stub have {len(stub) + len(program) // 8} "
                        f"instructions; the kernel takes at most {_BPF_MAXINSNS}")
        return flags, _assemble(stub) + program
    finally:
        lib.seccomp_release(ctx)


def plan_ints(flags: int, program: bytes) -> tuple[int, ...]:
    """PLAN_SECCOMP's ints: the flags, then each 8-byte sock_filter as one u64
    (native byte order both ways, so the C side gets the same bytes back)."""
    return (flags, *struct.unpack(f"={len(program) // 8}Q", program))


def features() -> dict:
    """features-linux.md's seccomp section; {"enabled": False} without libseccomp."""
    try:
        _, lib = _lib()
    except Error:
        return {"enabled": False}
    return {
        "enabled": True,
        "actions": list(ACTIONS),
        "operators": list(OPERATORS),
        "archs": [a for a in ARCHES if _arch_token(lib, a)],
        "knownFlags": list(FLAGS),
        "supportedFlags": [name for name, bit in FLAGS.items() if lib.rt_seccomp_flag_known(bit)],
    }


def _flags(names: list, field: str, lib) -> int:
    flags = 0
    for i, name in enumerate(names):
        if name == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV":
            # Only meaningful for a listener, and listeners are refused.
            continue
        bit = FLAGS.get(name)
        if bit is None:
            raise Error(f"{field}[{i}]", f"unknown flag {name!r}")
        # As runc: a flag this kernel does not know is left out, not fatal.
        if lib.rt_seccomp_flag_known(bit):
            flags |= bit
    return flags


def _action(lib, name: str, errno_ret: int | None, field: str) -> int:
    if name in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
        value = errno.EPERM if errno_ret is None else errno_ret
        if not 0 <= value <= 0xFFFF:
            raise Error(field, f"errno {value} does not fit the 16 bits seccomp returns")
        return lib.rt_act_errno(value) if name == "SCMP_ACT_ERRNO" else lib.rt_act_trace(value)
    if name == "SCMP_ACT_NOTIFY":
        raise Error(field, "SCMP_ACT_NOTIFY is not supported yet")
    fixed = {"SCMP_ACT_KILL": lib.SCMP_ACT_KILL, "SCMP_ACT_KILL_THREAD": lib.SCMP_ACT_KILL_THREAD,
             "SCMP_ACT_KILL_PROCESS": lib.SCMP_ACT_KILL_PROCESS, "SCMP_ACT_TRAP": lib.SCMP_ACT_TRAP,
             "SCMP_ACT_ALLOW": lib.SCMP_ACT_ALLOW, "SCMP_ACT_LOG": lib.SCMP_ACT_LOG}
    if name not in fixed:
        raise Error(field, f"unknown action {name!r}")
    return fixed[name]


def _arch_token(lib, name: str) -> int:
    if not name.startswith("SCMP_ARCH_"):
        return 0
    return lib.seccomp_arch_resolve_name(name[len("SCMP_ARCH_"):].lower().encode())


def _add_arch(lib, ctx, name: str, field: str) -> None:
    token = _arch_token(lib, name)
    if not token:
        # An architecture this libseccomp does not know cannot be this
        # kernel's native or compat one: its syscalls meet the filter's
        # bad-arch action (kill), which is the stricter outcome.
        return
    rc = lib.seccomp_arch_add(ctx, token)
    if rc < 0 and rc != -errno.EEXIST:  # the native arch is always in
        raise Error(field, f"{name}: {os.strerror(-rc)}")


def _add_rules(ffi, lib, ctx, default: int, call: dict, field: str) -> None:
    action = _action(lib, call["action"], call.get("errnoRet"), f"{field}.action")
    if action == default:
        # libseccomp refuses a rule that repeats the default action, and it
        # would change nothing (runc skips it as well).
        return
    conditions = _conditions(ffi, lib, call.get("args") or [], f"{field}.args")
    for j, name in enumerate(call["names"]):
        number = lib.seccomp_syscall_resolve_name(name.encode())
        if number == lib.__NR_SCMP_ERROR:
            # Profiles list syscalls newer than this libseccomp or kernel;
            # runc skips those too.
            continue
        for group in conditions:
            rc = lib.seccomp_rule_add_array(ctx, action, number, len(group), group if len(group) else ffi.NULL)
            if rc < 0:
                raise Error(f"{field}.names[{j}]", f"{name}: libseccomp: {os.strerror(-rc)}")


def _conditions(ffi, lib, args: list, field: str) -> list:
    """The condition arrays to add one rule each for.

    runc's semantics: conditions on distinct arguments form one rule (all
    must hold); if any argument index appears more than once, libseccomp
    could not express that as one rule, so each condition becomes a rule of
    its own (any may match)."""
    if not args:
        return [[]]
    conds = []
    for k, arg in enumerate(args):
        index = arg["index"]
        if not 0 <= index < _MAX_ARGS:
            raise Error(f"{field}[{k}].index", f"{index} is not an argument index (0..{_MAX_ARGS - 1})")
        op = arg["op"]
        if op not in OPERATORS:
            raise Error(f"{field}[{k}].op", f"unknown operator {op!r}")
        conds.append((index, op, arg["value"], arg.get("valueTwo", 0)))
    indexes = [c[0] for c in conds]
    groups = [conds] if len(set(indexes)) == len(indexes) else [[c] for c in conds]
    out = []
    for group in groups:
        array = ffi.new("struct scmp_arg_cmp[]", len(group))
        for slot, (index, op, value, value_two) in zip(array, group):
            slot.arg = index
            slot.op = getattr(lib, op)
            slot.datum_a = value
            slot.datum_b = value_two
        out.append(array)
    return out


def _export(lib, ctx, field: str) -> bytes:
    fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
    try:
        rc = lib.seccomp_export_bpf(ctx, fd)
        if rc < 0:
            raise Error(field, f"libseccomp: export the filter: {os.strerror(-rc)}")
        size = os.lseek(fd, 0, os.SEEK_END)
        program = os.pread(fd, size, 0)
    finally:
        os.close(fd)
    if not program or len(program) % 8:
        raise Error(field, f"libseccomp exported a malformed program ({len(program)} bytes)")
    if len(program) // 8 > _BPF_MAXINSNS:
        raise Error(field, f"the filter has {len(program) // 8} instructions; the kernel takes at most "
                    f"{_BPF_MAXINSNS}")
    return program


# ------------------------------------------------------------------ ENOSYS stub
#
# As runc's patchbpf: with a restrictive default action, a syscall newer than
# every syscall the profile names (for that architecture) gets ENOSYS instead
# of the default action, so that programs fall back (clone3 → clone, openat2
# → openat, ...) as they do on a kernel that lacks the syscall. A classic BPF
# prologue is put in front of libseccomp's program; the original program's
# jumps are relative and it starts by loading seccomp_data.arch itself, so
# it runs unchanged when the prologue falls through into it.

# classic BPF opcodes (linux/filter.h)
_LD_W_ABS = 0x20        # BPF_LD | BPF_W | BPF_ABS
_JA = 0x05              # BPF_JMP | BPF_JA
_JEQ_K = 0x15           # BPF_JMP | BPF_JEQ | BPF_K
_JGT_K = 0x25           # BPF_JMP | BPF_JGT | BPF_K
_JSET_K = 0x45          # BPF_JMP | BPF_JSET | BPF_K
_RET_K = 0x06           # BPF_RET | BPF_K
_OFF_NR, _OFF_ARCH = 0, 4  # struct seccomp_data
_RET_ERRNO = 0x00050000    # SECCOMP_RET_ERRNO
_X32_BIT = 0x40000000      # __X32_SYSCALL_BIT
_AUDIT_ARCH_X86_64 = 0xC000003E
# libseccomp's tokens are the kernel's AUDIT_ARCH_* values except x32's,
# which shares x86_64's arch value and flags its syscall numbers instead.
_SCMP_ARCH_X32 = 0x4000003E
_S390 = (0x00000016, 0x80000016)  # AUDIT_ARCH_S390, AUDIT_ARCH_S390X
# Actions after which a new syscall is not refused anyway (runc's list): a
# tracer is expected to handle unknown syscalls itself.
_PERMISSIVE = ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE")


def _stub_wanted(seccomp: dict) -> bool:
    default = seccomp.get("defaultAction")
    if default in _PERMISSIVE:
        return False
    if default == "SCMP_ACT_ERRNO" and seccomp.get("defaultErrnoRet") == errno.ENOSYS:
        return False  # the default action already says ENOSYS
    return True


def last_syscalls(seccomp: dict) -> dict[int, dict[int, int]]:
    """{AUDIT_ARCH value: {libseccomp arch token: highest syscall number the
    profile names}} for the native architecture and every listed one this
    libseccomp knows; x86_64 and x32 share one AUDIT_ARCH value."""
    _, lib = _lib()
    tokens = [lib.seccomp_arch_native()]
    for name in seccomp.get("architectures") or []:
        token = _arch_token(lib, name) if isinstance(name, str) else 0
        if token and token not in tokens:
            tokens.append(token)
    names = {n for call in seccomp.get("syscalls") or [] if isinstance(call, dict)
             for n in call.get("names") or [] if isinstance(n, str)}
    out: dict[int, dict[int, int]] = {}
    for token in tokens:
        numbers = [lib.seccomp_syscall_resolve_name_arch(token, n.encode()) for n in names]
        # Negative: not a syscall of this arch (or a libseccomp pseudo-number).
        highest = max((nr for nr in numbers if nr >= 0), default=0)
        if highest <= 0:
            continue
        audit = _AUDIT_ARCH_X86_64 if token == _SCMP_ARCH_X32 else token
        out.setdefault(audit, {})[token] = highest
    return out


def enosys_stub(seccomp: dict) -> list[tuple[int, int, int, int]]:
    """The prologue as (code, jt, jf, k) instructions; [] when none is due."""
    if not _stub_wanted(seccomp):
        return []
    arches = last_syscalls(seccomp)
    if not arches:
        return []
    # Assembled with labels: ("label", name) marks a position; a jump's
    # targets are label names, resolved to offsets below.
    code: list = [(_LD_W_ABS, None, None, _OFF_ARCH)]
    for audit in arches:
        code.append((_JEQ_K, f"arch{audit:x}", None, audit))
    code.append((_JA, None, None, "filter"))
    for audit, maxes in arches.items():
        sec = f"arch{audit:x}"
        code += [("label", sec), (_LD_W_ABS, None, None, _OFF_NR)]
        if audit in _S390:
            # Unknown syscalls past the table reach the filter as setup(2),
            # number 0, which nothing uses any more: ENOSYS for it too.
            code.append((_JEQ_K, "enosys", None, 0))
        if audit == _AUDIT_ARCH_X86_64:
            native, x32 = maxes.get(_AUDIT_ARCH_X86_64), maxes.get(_SCMP_ARCH_X32)
            code.append((_JSET_K, f"{sec}x32" if x32 else "filter", None, _X32_BIT))
            if native:
                code.append((_JGT_K, "enosys", None, native))
            code.append((_JA, None, None, "filter"))
            if x32:
                code += [("label", f"{sec}x32"), (_JGT_K, "enosys", None, x32)]
                code.append((_JA, None, None, "filter"))
        else:
            code.append((_JGT_K, "enosys", None, maxes[audit]))
            code.append((_JA, None, None, "filter"))
    code += [("label", "enosys"), (_RET_K, None, None, _RET_ERRNO | errno.ENOSYS), ("label", "filter")]
    return _resolve(code)


def _resolve(code: list) -> list[tuple[int, int, int, int]]:
    where: dict[str, int] = {}
    insns = []
    for item in code:
        if item[0] == "label":
            where[item[1]] = len(insns)
        else:
            insns.append(item)
    out = []
    for pc, (op, jt, jf, k) in enumerate(insns):
        def rel(target):
            return 0 if target is None else where[target] - (pc + 1)
        if op == _JA:
            k, jt, jf = rel(k), 0, 0
        else:
            jt, jf = rel(jt), rel(jf)
            if not (0 <= jt <= 255 and 0 <= jf <= 255):
                raise Error("linux.seccomp", f"ENOSYS stub: a conditional jump of {max(jt, jf)} instructions")
        out.append((op, jt, jf, k))
    return out


def _assemble(insns: list[tuple[int, int, int, int]]) -> bytes:
    return b"".join(struct.pack("=HBBI", *insn) for insn in insns)
