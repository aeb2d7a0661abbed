"""OCI mount `options` -> arguments for mount(2) and mount_setattr(2).

Follows config.md "Linux mount options": the mount(8) filesystem-independent
names become MS_* flags (processed in order, so a later `rw` undoes an
earlier `ro`, as in mount(8)), propagation names become a separate list
(the kernel refuses propagation mixed with other flags, so each needs its
own mount(2) call), the recursive `r*` forms become MOUNT_ATTR_* for
mount_setattr(AT_RECURSIVE), and anything unrecognised is filesystem
specific and goes to mount(2)'s data argument.
"""

from __future__ import annotations

from runtime.errors import Error

# <linux/mount.h> / <sys/mount.h>
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOSYMFOLLOW = 0x100
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_SILENT = 0x8000
MS_POSIXACL = 0x10000
MS_UNBINDABLE = 0x20000
MS_PRIVATE = 0x40000
MS_SLAVE = 0x80000
MS_SHARED = 0x100000
MS_RELATIME = 0x200000
MS_I_VERSION = 0x800000
MS_STRICTATIME = 0x1000000
MS_LAZYTIME = 0x2000000

MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8
MOUNT_ATTR__ATIME = 0x70
MOUNT_ATTR_RELATIME = 0x0
MOUNT_ATTR_NOATIME = 0x10
MOUNT_ATTR_STRICTATIME = 0x20
MOUNT_ATTR_NODIRATIME = 0x80
MOUNT_ATTR_IDMAP = 0x100000
MOUNT_ATTR_NOSYMFOLLOW = 0x200000

# Per-mount (vfsmount) flags: the only ones a bind mount can carry, and the
# kernel ignores them on the initial MS_BIND, hence the remount pass.
MNT_FLAGS = (
    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOSYMFOLLOW
    | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME
)

# name -> (clear?, flag)
_FLAGS: dict[str, tuple[bool, int]] = {
    "async": (True, MS_SYNCHRONOUS),
    "atime": (True, MS_NOATIME),
    "bind": (False, MS_BIND),
    # mount(8): defaults = rw,suid,dev,exec,auto,nouser,async
    "defaults": (True, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS),
    "dev": (True, MS_NODEV),
    "diratime": (True, MS_NODIRATIME),
    "dirsync": (False, MS_DIRSYNC),
    "exec": (True, MS_NOEXEC),
    "iversion": (False, MS_I_VERSION),
    "lazytime": (False, MS_LAZYTIME),
    "loud": (True, MS_SILENT),
    "mand": (False, MS_MANDLOCK),
    "noatime": (False, MS_NOATIME),
    "nodev": (False, MS_NODEV),
    "nodiratime": (False, MS_NODIRATIME),
    "noexec": (False, MS_NOEXEC),
    "noiversion": (True, MS_I_VERSION),
    "nolazytime": (True, MS_LAZYTIME),
    "nomand": (True, MS_MANDLOCK),
    "norelatime": (True, MS_RELATIME),
    "nostrictatime": (True, MS_STRICTATIME),
    "nosuid": (False, MS_NOSUID),
    "nosymfollow": (False, MS_NOSYMFOLLOW),
    "rbind": (False, MS_BIND | MS_REC),
    "relatime": (False, MS_RELATIME),
    "remount": (False, MS_REMOUNT),
    "ro": (False, MS_RDONLY),
    "rw": (True, MS_RDONLY),
    "silent": (False, MS_SILENT),
    "strictatime": (False, MS_STRICTATIME),
    "suid": (True, MS_NOSUID),
    "symfollow": (True, MS_NOSYMFOLLOW),
    "sync": (False, MS_SYNCHRONOUS),
}

_PROPAGATION: dict[str, int] = {
    "private": MS_PRIVATE,
    "rprivate": MS_PRIVATE | MS_REC,
    "shared": MS_SHARED,
    "rshared": MS_SHARED | MS_REC,
    "slave": MS_SLAVE,
    "rslave": MS_SLAVE | MS_REC,
    "unbindable": MS_UNBINDABLE,
    "runbindable": MS_UNBINDABLE | MS_REC,
}

# name -> (clear?, MOUNT_ATTR_*)
_REC_ATTRS: dict[str, tuple[bool, int]] = {
    "rro": (False, MOUNT_ATTR_RDONLY),
    "rrw": (True, MOUNT_ATTR_RDONLY),
    "rnosuid": (False, MOUNT_ATTR_NOSUID),
    "rsuid": (True, MOUNT_ATTR_NOSUID),
    "rnodev": (False, MOUNT_ATTR_NODEV),
    "rdev": (True, MOUNT_ATTR_NODEV),
    "rnoexec": (False, MOUNT_ATTR_NOEXEC),
    "rexec": (True, MOUNT_ATTR_NOEXEC),
    "rnodiratime": (False, MOUNT_ATTR_NODIRATIME),
    "rdiratime": (True, MOUNT_ATTR_NODIRATIME),
    "rnosymfollow": (False, MOUNT_ATTR_NOSYMFOLLOW),
    "rsymfollow": (True, MOUNT_ATTR_NOSYMFOLLOW),
}

# The access-time attributes are an enum inside MOUNT_ATTR__ATIME, not bits:
# mount_setattr(2) wants the whole field in attr_clr and exactly one value in
# attr_set (clearing only MOUNT_ATTR_NOATIME is EINVAL). So each name picks a
# mode, last one wins. The "negative" names resolve to what the kernel does
# without the positive one: no noatime/strictatime means relatime; the only
# mode without relatime that still records access times is strictatime.
_REC_ATIME: dict[str, int] = {
    "rrelatime": MOUNT_ATTR_RELATIME,
    "rnorelatime": MOUNT_ATTR_STRICTATIME,
    "rnoatime": MOUNT_ATTR_NOATIME,
    "ratime": MOUNT_ATTR_RELATIME,
    "rstrictatime": MOUNT_ATTR_STRICTATIME,
    "rnostrictatime": MOUNT_ATTR_RELATIME,
}

_EXTENSIONS = ("idmap", "ridmap", "tmpcopyup")

KNOWN: tuple[str, ...] = tuple(
    sorted((*_FLAGS, *_PROPAGATION, *_REC_ATTRS, *_REC_ATIME, *_EXTENSIONS))
)


class MountOptions:
    """One mount's options, split by the syscall that applies them.

    `cleared` holds the MS_* flags the options explicitly turned off; when
    remounting a bind mount the caller keeps the source's locked flags
    (statvfs) except these, since a user namespace may not drop them.
    """

    __slots__ = (
        "flags", "cleared", "propagation", "bind", "recursive", "data",
        "rec_attr_set", "rec_attr_clr", "idmap", "ridmap", "tmpcopyup",
    )

    def __init__(self) -> None:
        self.flags = 0
        self.cleared = 0
        self.propagation: list[int] = []
        self.bind = False
        self.recursive = False
        self.data = ""
        self.rec_attr_set = 0
        self.rec_attr_clr = 0
        self.idmap = False
        self.ridmap = False
        self.tmpcopyup = False

    @property
    def needs_remount(self) -> bool:
        """Whether a bind mount needs a MS_REMOUNT|MS_BIND pass for its flags."""
        return self.bind and bool(self.flags & MNT_FLAGS)

    @property
    def remount_flags(self) -> int:
        """mount(2) flags for that second pass (before adding locked flags)."""
        return MS_REMOUNT | MS_BIND | (self.flags & MNT_FLAGS)

    @property
    def rec_attr(self) -> bool:
        """Whether mount_setattr(AT_RECURSIVE) has anything to do."""
        return bool(self.rec_attr_set or self.rec_attr_clr)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__)
        return f"MountOptions({fields})"


def parse(options: list[str] | None, field: str) -> MountOptions:
    """Translate an OCI mount's `options`; `field` names it in errors."""
    m = MountOptions()
    if options is None:
        return m
    if not isinstance(options, list):
        raise Error(field, "must be an array of strings")
    data = []
    atime = -1
    for opt in options:
        if not isinstance(opt, str):
            raise Error(field, f"mount option {opt!r} is not a string")
        f = _FLAGS.get(opt)
        if f is not None:
            clear, flag = f
            if clear:
                m.flags &= ~flag
                m.cleared |= flag
            else:
                m.flags |= flag
                m.cleared &= ~flag
            if flag & MS_BIND:
                m.bind = True
                m.recursive = m.recursive or bool(flag & MS_REC)
            continue
        p = _PROPAGATION.get(opt)
        if p is not None:
            m.propagation.append(p)
            continue
        r = _REC_ATTRS.get(opt)
        if r is not None:
            clear, attr = r
            if clear:
                m.rec_attr_clr |= attr
                m.rec_attr_set &= ~attr
            else:
                m.rec_attr_set |= attr
                m.rec_attr_clr &= ~attr
            continue
        a = _REC_ATIME.get(opt)
        if a is not None:
            atime = a
            continue
        if opt == "idmap":
            m.idmap = True
        elif opt == "ridmap":
            m.ridmap = True
        elif opt == "tmpcopyup":
            m.tmpcopyup = True
        elif opt:
            data.append(opt)
    if atime >= 0:
        m.rec_attr_clr |= MOUNT_ATTR__ATIME
        m.rec_attr_set |= atime
    m.data = ",".join(data)
    return m
