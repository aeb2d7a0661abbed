"""Linux capability names and the bitmasks capset(2)/prctl(2) want.

Numbers are from <linux/capability.h>; they are ABI and never change, so a
table is both faster to import and more complete than asking libcap.
"""

from __future__ import annotations

from runtime.errors import Error

NUMBERS: dict[str, int] = {
    "CAP_CHOWN": 0,
    "CAP_DAC_OVERRIDE": 1,
    "CAP_DAC_READ_SEARCH": 2,
    "CAP_FOWNER": 3,
    "CAP_FSETID": 4,
    "CAP_KILL": 5,
    "CAP_SETGID": 6,
    "CAP_SETUID": 7,
    "CAP_SETPCAP": 8,
    "CAP_LINUX_IMMUTABLE": 9,
    "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12,
    "CAP_NET_RAW": 13,
    "CAP_IPC_LOCK": 14,
    "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16,
    "CAP_SYS_RAWIO": 17,
    "CAP_SYS_CHROOT": 18,
    "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20,
    "CAP_SYS_ADMIN": 21,
    "CAP_SYS_BOOT": 22,
    "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24,
    "CAP_SYS_TIME": 25,
    "CAP_SYS_TTY_CONFIG": 26,
    "CAP_MKNOD": 27,
    "CAP_LEASE": 28,
    "CAP_AUDIT_WRITE": 29,
    "CAP_AUDIT_CONTROL": 30,
    "CAP_SETFCAP": 31,
    "CAP_MAC_OVERRIDE": 32,
    "CAP_MAC_ADMIN": 33,
    "CAP_SYSLOG": 34,
    "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36,
    "CAP_AUDIT_READ": 37,
    "CAP_PERFMON": 38,
    "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}

_NAMES: dict[int, str] = {n: name for name, n in NUMBERS.items()}

_last_cap: int | None = None


def last_cap() -> int:
    """The highest capability number the running kernel knows."""
    global _last_cap
    if _last_cap is None:
        try:
            with open("/proc/sys/kernel/cap_last_cap", "rb") as f:
                _last_cap = int(f.read())
        except (OSError, ValueError):
            # /proc may not be mounted (e.g. very early in a container's
            # setup); assuming our own table matches the kernel is the
            # least surprising fallback.
            _last_cap = max(NUMBERS.values())
    return _last_cap


def to_mask(names: list[str], field: str) -> int:
    """Bitmask of the named capabilities.

    A name this table knows but the kernel does not (newer than the kernel)
    is dropped silently, as runc does, so one config works across kernels.
    """
    top = last_cap()
    mask = 0
    for name in names:
        n = NUMBERS.get(name) if isinstance(name, str) else None
        if n is None:
            raise Error(field, f"unknown capability {_quote(name)}")
        if n <= top:
            mask |= 1 << n
    return mask


def names(mask: int) -> list[str]:
    """Capability names in a bitmask, in numeric order; unnamed bits are skipped."""
    out = []
    n = 0
    while mask >> n:
        if (mask >> n) & 1 and n in _NAMES:
            out.append(_NAMES[n])
        n += 1
    return out


def _quote(value: object) -> str:
    if isinstance(value, str):
        return '"' + value + '"'
    return repr(value)
