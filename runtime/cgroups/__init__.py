"""cgroup support: the container's init joins its own cgroup in EVERY mounted
hierarchy (all v1 hierarchies, named ones like name=systemd included, and
cgroup2); ``kill --all`` and ``delete`` find the container's processes there;
``delete`` removes the cgroup.

Layout of the package:

    layout.py   detection: parse /proc/self/mountinfo -> Layout (v1|v2|hybrid)
    fs.py       CgroupDir: the cgroup in one hierarchy (mkdir -p that remembers
                what it created, join, procs, careful rmdir)
    base.py     Driver: the per-layout interface (create, apply, add,
                freeze/thaw, stats, pids, destroy)
    v1.py       V1Driver      (cpuset inheritance, freezer.state, devices.allow)
    v2.py       V2Driver      (cgroup.kill, cgroup.freeze, delegation, eBPF devices)
    hybrid.py   HybridDriver  (each controller where it is mounted; unified
                               process list)
    resources.py  linux.resources -> (controller, file, value) per version
    stats.py    runc's `events --stats` numbers, OOM kill counter
    bpf.py      the v2 device filter (native/cgroup_bpf.c)
    __init__    the public API below; drivers are imported lazily

The resources last applied are kept in state.json (to_state()["resources"])
so `update` can merge into them and `state` stays truthful.
"""

from __future__ import annotations

import errno
import os
import time

from ..errors import Error, os_reason
from .fs import CgroupDir
from .layout import Hierarchy, Layout, detect, parse_mountinfo

__all__ = ["detect", "parse_mountinfo", "cgroup_path", "ContainerCgroup", "Layout",
           "Hierarchy", "RUNTIME_PARENT"]

RUNTIME_PARENT = "/runtime"
_SIGKILL = 9   # signal.SIGKILL on Linux, without importing signal/enum


def cgroup_path(cgroups_path: str | None, container_id: str, systemd: bool = False) -> str:
    """The container's cgroup path from linux.cgroupsPath (config-linux.md).

    absolute -> as is; relative -> under RUNTIME_PARENT; absent/empty ->
    RUNTIME_PARENT/<id>.  The result is normalised ("/a//b/" -> "/a/b").
    With ``systemd`` (--systemd-cgroup) the form is slice:prefix:name; there
    is no systemd to ask here, so it maps onto the cgroupfs path systemd
    itself would use (as runc's and crun's drivers compute it):
    "machine-x.slice:libpod:abc" -> /machine.slice/machine-x.slice/libpod-abc.scope.
    """
    if systemd:
        return _systemd_path(cgroups_path or f"system.slice:runtime:{container_id}", container_id)
    if not cgroups_path:
        if not container_id or "/" in container_id or container_id in (".", ".."):
            raise Error("cgroupsPath", f"container id {container_id!r} cannot name a cgroup")
        return f"{RUNTIME_PARENT}/{container_id}"
    if ":" in cgroups_path and not cgroups_path.startswith("/"):
        raise Error("cgroupsPath",
                    f"{cgroups_path!r}: a systemd cgroup path (slice:prefix:name) needs --systemd-cgroup")
    if cgroups_path.startswith("/"):
        return _normalise(cgroups_path)
    # a relative path must name something below the runtime's parent
    return RUNTIME_PARENT + _normalise("/" + cgroups_path, cgroups_path)


def _systemd_path(spec: str, container_id: str) -> str:
    parts = spec.split(":")
    if len(parts) != 3:
        raise Error("cgroupsPath", f"{spec!r}: with --systemd-cgroup the form is slice:prefix:name")
    slice_name, prefix, name = parts
    slice_name = slice_name or "system.slice"
    name = name or container_id
    if not slice_name.endswith(".slice") or "/" in slice_name or "/" in prefix or "/" in name:
        raise Error("cgroupsPath", f"{spec!r}: not a valid slice:prefix:name")
    # systemd nests a slice under each dash-separated parent: a-b.slice
    # lives in a.slice/a-b.slice.
    path = ""
    if slice_name != "-.slice":
        stem = slice_name[:-len(".slice")]
        words = stem.split("-")
        if "" in words:
            raise Error("cgroupsPath", f"{spec!r}: {slice_name!r} is not a valid slice name")
        for i in range(1, len(words) + 1):
            path += "/" + "-".join(words[:i]) + ".slice"
    unit = name if name.endswith((".scope", ".slice")) else (f"{prefix}-{name}.scope" if prefix else f"{name}.scope")
    return _normalise(path + "/" + unit)


def _normalise(path: str, shown: str | None = None) -> str:
    shown = path if shown is None else shown
    if "\0" in path:
        raise Error("cgroupsPath", f"{shown!r}: contains a NUL byte")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise Error("cgroupsPath", f"{shown!r}: '..' components are not allowed")
    if not parts:
        raise Error("cgroupsPath", f"{shown!r}: names no cgroup of its own (normalises to a parent)")
    return "/" + "/".join(parts)


def _driver_class(kind: str):
    if kind == "v1":
        from .v1 import V1Driver
        return V1Driver
    if kind == "v2":
        from .v2 import V2Driver
        return V2Driver
    if kind == "hybrid":
        from .hybrid import HybridDriver
        return HybridDriver
    raise Error("cgroup", f"unknown cgroup layout {kind!r}" if kind
                else "no cgroup hierarchy is mounted")


class ContainerCgroup:
    """One container's cgroup, across every hierarchy of the layout."""

    def __init__(self, driver, resources: dict | None = None, devices: list | None = None) -> None:
        self.driver = driver
        self.resources: dict = resources or {}
        # linux.devices: allowed whatever the device rules say, at create and
        # at every update that rewrites the rules.
        self.devices: list = devices or []

    @property
    def path(self) -> str:
        return self.driver.path

    @property
    def kind(self) -> str:
        return self.driver.kind

    @property
    def dirs(self) -> list[str]:
        """Host directories of the cgroup, one per hierarchy."""
        return [d.dir for d in self.driver.dirs]

    # -- lifecycle -----------------------------------------------------------
    @classmethod
    def create(cls, path: str, layout: Layout | None = None) -> "ContainerCgroup":
        """mkdir -p ``path`` in every hierarchy; undo everything on failure."""
        if not path.startswith("/"):
            raise Error("cgroupsPath", f"{path!r}: not absolute (use cgroup_path())")
        path = _normalise(path)
        if layout is None:
            layout = detect()
        driver = _driver_class(layout.kind).for_layout(path, layout)
        driver.create()
        return cls(driver)

    def add(self, pid: int) -> None:
        """Move ``pid`` into the cgroup in every hierarchy."""
        self.driver.add(pid)

    def destroy(self, timeout: float = 5.0) -> None:
        """rmdir what create() made, leaf first; EBUSY retried up to ``timeout``."""
        self.driver.destroy(timeout)
        if self.path.startswith(RUNTIME_PARENT + "/"):
            # The default parent is ours whoever made it: the last container
            # out removes it (a concurrent create that loses it retries).
            for d in self.driver.dirs:
                try:
                    os.rmdir(d.hierarchy.dir(RUNTIME_PARENT))
                except OSError:
                    pass  # still in use, or already gone

    # -- processes ---------------------------------------------------------
    def pids(self) -> list[int]:
        return self.driver.pids()

    def signal_all(self, sig: int) -> None:
        """Send ``sig`` to every process of the container.

        Vanished processes (ESRCH) are fine.  For SIGKILL: cgroup.kill when
        the v2 hierarchy has it, else freeze (if possible) so nothing forks
        while we kill; in any case re-read the process list until no new pid
        shows up.
        """
        sig = int(sig)
        if sig != _SIGKILL:
            for pid in self.pids():
                _kill(pid, sig)
            return
        kd = self.driver.kill_dir()
        if kd is not None:
            try:
                from .fs import write
                write(kd.file("cgroup.kill"), "1")
                # The kernel kills the whole subtree and races no fork; every
                # container process is in this cgroup2 cgroup (hybrid too).
                # A v1 freezer still holds them until thawed.
                if self.driver.is_frozen():
                    self.driver.thaw()
                return
            except FileNotFoundError:
                pass  # kernel < 5.14: no cgroup.kill
            except OSError as e:
                raise Error("cgroup", f"write {kd.file('cgroup.kill')}: {os_reason(e)}") from None
        frozen = False
        if kd is None and self.driver.can_freeze():
            try:
                self.driver.freeze(timeout=1.0)
                frozen = True
            except Error:
                pass       # kill anyway, the loop below catches forks
        try:
            signalled: set[int] = set()
            quiet_rounds = 0
            deadline = time.monotonic() + 10.0
            while quiet_rounds < 2 and time.monotonic() < deadline:
                new = [p for p in self.pids() if p not in signalled]
                if not new:
                    quiet_rounds += 1
                    if quiet_rounds < 2:
                        time.sleep(0.001)
                    continue
                quiet_rounds = 0
                for pid in new:
                    _kill(pid, sig)
                    signalled.add(pid)
        finally:
            # a paused container's processes only die once thawed (v1
            # freezer), as with runc's kill of a paused container
            if frozen or self.driver.is_frozen():
                self.driver.thaw()

    # -- limits, freezing, stats -----------------------------------------------
    def apply(self, resources: dict | None, devices: list | None = None) -> None:
        """Apply linux.resources (at create); ``devices`` is linux.devices,
        whose nodes are allowed when resources.devices restricts access."""
        self.driver.apply(resources, devices)
        self.resources = dict(resources or {})
        self.devices = [{k: d[k] for k in ("type", "major", "minor") if k in d} for d in devices or []]

    def update(self, changes: dict) -> dict:
        """Apply ``changes`` (0/absent = keep) and return the merged resources."""
        clean = prune_unset(changes)
        self.driver.apply(clean, self.devices)
        self.resources = merge_resources(self.resources, clean)
        return self.resources

    def freeze(self, timeout: float = 5.0) -> None:
        self.driver.freeze(timeout)

    def thaw(self) -> None:
        self.driver.thaw()

    def can_freeze(self) -> bool:
        return self.driver.can_freeze()

    def is_frozen(self) -> bool:
        """True when the container is paused (freezer FROZEN / cgroup.freeze 1)."""
        return self.driver.is_frozen()

    def stats(self) -> dict:
        """runc's `events --stats` "data" object."""
        return self.driver.stats()

    def oom_count(self) -> int:
        return self.driver.oom_count()

    # -- state.json ------------------------------------------------------------
    def to_state(self) -> dict:
        out = {"path": self.path, "kind": self.kind,
               "hierarchies": [d.to_dict() for d in self.driver.dirs]}
        if self.resources:
            out["resources"] = self.resources
        if self.devices:
            out["devices"] = self.devices
        return out

    @classmethod
    def from_state(cls, d: dict) -> "ContainerCgroup":
        try:
            path = d["path"]
            dirs = [CgroupDir(Hierarchy.from_dict(h["hierarchy"]), path, h.get("created", []))
                    for h in d.get("hierarchies", [])]
            return cls(_driver_class(d["kind"])(path, dirs), d.get("resources"), d.get("devices"))
        except (KeyError, TypeError, ValueError) as e:
            raise Error("cgroup", f"bad cgroup state: {e!r}") from None

    # -- the container's read-only view of /sys/fs/cgroup ---------------------
    def view_mounts(self) -> list[tuple[str, str]]:
        """(host directory, name under /sys/fs/cgroup) to bind in the container.

        Pure v2: [(dir, "")] -- the cgroup itself is /sys/fs/cgroup.
        """
        if self.kind == "v2":
            return [(d.dir, "") for d in self.driver.dirs if d.hierarchy.version == 2][:1]
        # Hybrid: the v1 controllers only, as runc shows them; the cgroup2
        # "unified" tree holds no controllers a container could read.
        return [(d.dir, d.hierarchy.name) for d in self.driver.dirs if d.hierarchy.version == 1]

    def view_symlinks(self) -> list[tuple[str, str]]:
        """(link name, target) under /sys/fs/cgroup for co-mounted v1 controllers,
        e.g. ("cpu", "cpu,cpuacct") and ("cpuacct", "cpu,cpuacct"), as runc makes."""
        out = []
        if self.kind == "v2":
            return out
        for d in self.driver.dirs:
            h = d.hierarchy
            if h.version != 1 or len(h.controllers) < 2:
                continue
            for c in h.controllers:
                c = c[5:] if c.startswith("name=") else c
                if c != h.name:
                    out.append((c, h.name))
        return out

    def __repr__(self) -> str:
        return f"ContainerCgroup({self.path!r}, {self.kind})"


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
    except OSError as e:
        if e.errno != errno.ESRCH:
            raise Error("cgroup", f"kill {pid}: {os_reason(e)}") from None


def prune_unset(r):
    """linux.resources without the "unset" values engines send (0, "", None,
    empty lists/objects); booleans and burst/idle/swappiness 0 are kept."""
    keep_zero = {"burst", "idle", "swappiness"}
    if isinstance(r, dict):
        out = {}
        for k, v in r.items():
            if isinstance(v, (dict, list)):
                v = prune_unset(v)
                if not v:
                    continue
            elif v is None or v == "" or (v == 0 and not isinstance(v, bool) and k not in keep_zero):
                continue
            out[k] = v
        return out
    if isinstance(r, list):
        return [prune_unset(x) if isinstance(x, dict) else x for x in r]
    return r


def merge_resources(old: dict, new: dict) -> dict:
    """``new`` over ``old``: objects merge key by key, anything else replaces."""
    out = dict(old or {})
    for k, v in (new or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_resources(out[k], v)
        else:
            out[k] = v
    return out
