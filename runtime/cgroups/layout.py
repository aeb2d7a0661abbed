"""Which cgroup hierarchies are mounted, and how (v1, v2 or hybrid).

Detection parses /proc/self/mountinfo (proc(5)):

    36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
    (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)   (10)         (11)

Field 7 is zero or more optional fields, ended by the lone "-" separator (8);
then come the filesystem type, the source and the super options.  For a
cgroup (v1) mount the super options name the controllers bound to that
hierarchy ("cpu,cpuacct", "name=systemd", ...); for cgroup2 the controllers
are read from the mount's cgroup.controllers.

Pure: ``parse_mountinfo(text)`` does no I/O except (optionally) reading
cgroup.controllers of cgroup2 mounts, so tests can feed it sample text.
"""

from __future__ import annotations

import os

MOUNTINFO = "/proc/self/mountinfo"

# Super options of a v1 cgroup mount that are not controllers.  Options with
# '=' (release_agent=..., name=...) are handled separately: only "name=" is a
# (named) hierarchy.
_NOT_CONTROLLERS = frozenset(
    ("rw", "ro", "none", "noprefix", "clone_children", "xattr", "cpuset_v2_mode",
     "favordynmods", "nsdelegate", "memory_recursiveprot", "memory_localevents",
     "memory_hugetlb_accounting", "pids_localevents")
)


class Hierarchy:
    """One mounted cgroup hierarchy."""

    __slots__ = ("mountpoint", "version", "controllers", "root")

    def __init__(self, mountpoint: str, version: int, controllers: list[str],
                 root: str = "/") -> None:
        self.mountpoint = mountpoint
        self.version = version          # 1 or 2
        self.controllers = controllers  # v1: super options; v2: cgroup.controllers
        self.root = root                # the mount's root inside the hierarchy

    @property
    def name(self) -> str:
        """Directory name of the mount (what runc binds it as in the container)."""
        return os.path.basename(self.mountpoint.rstrip("/"))

    def dir(self, path: str) -> str:
        """Host directory of cgroup ``path`` (absolute, as in cgroupsPath).

        Like runc, the path is taken relative to the mountpoint (the root of
        the hierarchy as this process sees it).
        """
        rel = path.strip("/")
        return os.path.join(self.mountpoint, rel) if rel else self.mountpoint

    def to_dict(self) -> dict:
        return {"mountpoint": self.mountpoint, "version": self.version,
                "controllers": list(self.controllers), "root": self.root}

    @classmethod
    def from_dict(cls, d: dict) -> "Hierarchy":
        return cls(d["mountpoint"], int(d["version"]), list(d.get("controllers", [])),
                   d.get("root", "/"))

    def __repr__(self) -> str:
        return (f"Hierarchy({self.mountpoint!r}, v{self.version}, "
                f"{','.join(self.controllers) or '-'})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Hierarchy) and self.to_dict() == other.to_dict()


class Layout:
    """All hierarchies, and the kind: "v1", "v2" or "hybrid" ("" if none)."""

    __slots__ = ("hierarchies",)

    def __init__(self, hierarchies: list[Hierarchy]) -> None:
        self.hierarchies = hierarchies

    @property
    def kind(self) -> str:
        has1 = any(h.version == 1 for h in self.hierarchies)
        has2 = any(h.version == 2 for h in self.hierarchies)
        if has1 and has2:
            return "hybrid"
        if has2:
            return "v2"
        if has1:
            return "v1"
        return ""

    @property
    def v1(self) -> list[Hierarchy]:
        return [h for h in self.hierarchies if h.version == 1]

    @property
    def unified(self) -> Hierarchy | None:
        for h in self.hierarchies:
            if h.version == 2:
                return h
        return None

    def find(self, controller: str) -> Hierarchy | None:
        """The v1 hierarchy carrying ``controller`` (e.g. "memory", "name=systemd")."""
        for h in self.hierarchies:
            if h.version == 1 and controller in h.controllers:
                return h
        return None

    def to_dict(self) -> dict:
        return {"kind": self.kind, "hierarchies": [h.to_dict() for h in self.hierarchies]}

    @classmethod
    def from_dict(cls, d: dict) -> "Layout":
        return cls([Hierarchy.from_dict(h) for h in d.get("hierarchies", [])])

    def __repr__(self) -> str:
        return f"Layout({self.kind!r}, {self.hierarchies!r})"


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as \\ooo."""
    if "\\" not in field:
        return field
    out = []
    i = 0
    while i < len(field):
        c = field[i]
        code = field[i + 1:i + 4]
        if c == "\\" and len(code) == 3 and code.isdigit():
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _read_v2_controllers(mountpoint: str) -> list[str]:
    try:
        with open(os.path.join(mountpoint, "cgroup.controllers")) as f:
            return f.read().split()
    except OSError:
        return []


def parse_mountinfo(text: str, *, read_controllers=_read_v2_controllers) -> Layout:
    """The cgroup hierarchies in mountinfo ``text``.

    A hierarchy mounted more than once is listed once: the first mount of its
    root ("/") wins, else its first mount.  ``read_controllers(mountpoint)``
    gives a cgroup2 mount's controllers (default: read cgroup.controllers).
    """
    found: dict[tuple, Hierarchy] = {}
    order: list[tuple] = []
    for line in text.splitlines():
        fields = line.split(" ")
        # id parent major:minor root mountpoint options [optional...] - fstype source super
        try:
            sep = fields.index("-", 6)
        except ValueError:
            continue
        if len(fields) < sep + 3 or len(fields) < 6:
            continue
        fstype = fields[sep + 1]
        if fstype not in ("cgroup", "cgroup2"):
            continue
        root = _unescape(fields[3])
        mountpoint = _unescape(fields[4])
        super_opts = fields[sep + 3].split(",") if len(fields) > sep + 3 else []
        if fstype == "cgroup":
            controllers = [o for o in super_opts
                           if o.startswith("name=") or ("=" not in o and o not in _NOT_CONTROLLERS)]
            if not controllers:
                continue
            key: tuple = (1, tuple(sorted(controllers)))
            version = 1
        else:
            controllers = []
            key = (2,)
            version = 2
        old = found.get(key)
        if old is None:
            order.append(key)
        elif old.root == "/" or root != "/":
            continue
        found[key] = Hierarchy(mountpoint, version, controllers, root)
    hierarchies = [found[k] for k in order]
    for h in hierarchies:
        if h.version == 2:
            h.controllers = list(read_controllers(h.mountpoint))
    return Layout(hierarchies)


def detect(mountinfo: str | None = None, **kw) -> Layout:
    """The layout of this process's cgroup mounts (or of ``mountinfo`` text)."""
    if mountinfo is None:
        from ..errors import Error
        try:
            with open(MOUNTINFO) as f:
                mountinfo = f.read()
        except OSError as e:
            from ..errors import os_reason
            raise Error("cgroup", f"read {MOUNTINFO}: {os_reason(e)}") from None
        layout = parse_mountinfo(mountinfo, **kw)
        if not layout.hierarchies:
            raise Error("cgroup", "no cgroup hierarchy is mounted (see /proc/self/mountinfo)")
        return layout
    return parse_mountinfo(mountinfo, **kw)
