"""Signal names -> numbers for `kill`.

Python's `signal` module imports `enum` (several ms per process), and `kill`
is latency sensitive, so this carries its own table. Numbers are the
generic Linux ones (x86, arm, arm64, riscv, s390, ppc); SIGRTMIN is 34, not
the kernel's 32, because glibc reserves 32 and 33 for itself and runc/crun
and kill(1) use the glibc numbering too.
"""

from __future__ import annotations

from runtime.errors import Error

RTMIN = 34
RTMAX = 64

NUMBERS: dict[str, int] = {
    "HUP": 1,
    "INT": 2,
    "QUIT": 3,
    "ILL": 4,
    "TRAP": 5,
    "ABRT": 6,
    "IOT": 6,
    "BUS": 7,
    "FPE": 8,
    "KILL": 9,
    "USR1": 10,
    "SEGV": 11,
    "USR2": 12,
    "PIPE": 13,
    "ALRM": 14,
    "TERM": 15,
    "STKFLT": 16,
    "CHLD": 17,
    "CLD": 17,
    "CONT": 18,
    "STOP": 19,
    "TSTP": 20,
    "TTIN": 21,
    "TTOU": 22,
    "URG": 23,
    "XCPU": 24,
    "XFSZ": 25,
    "VTALRM": 26,
    "PROF": 27,
    "WINCH": 28,
    "IO": 29,
    "POLL": 29,
    "PWR": 30,
    "SYS": 31,
    "RTMIN": RTMIN,
    "RTMAX": RTMAX,
}


def parse(text: str) -> int:
    """Signal number for `KILL`, `SIGKILL`, `kill`, `9`, `SIGRTMIN+3`, `RTMAX-1`..."""
    s = text.strip().upper()
    if s.isdigit() and s.isascii():
        n = int(s)
        # 0 would only probe for existence; runc refuses it too.
        if 1 <= n <= RTMAX:
            return n
        raise _invalid(text)
    if s.startswith("SIG"):
        s = s[3:]
    n = NUMBERS.get(s)
    if n is not None:
        return n
    for base, sign in (("RTMIN+", 1), ("RTMAX-", -1)):
        if s.startswith(base):
            off = s[len(base):]
            if off.isdigit() and off.isascii():
                n = (RTMIN if sign > 0 else RTMAX) + sign * int(off)
                if RTMIN <= n <= RTMAX:
                    return n
            break
    raise _invalid(text)


def _invalid(text: str) -> Error:
    return Error("kill", f'invalid signal "{text}"')
