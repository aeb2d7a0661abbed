"""cgroup v1: one hierarchy per controller group, plus named ones (name=systemd).

The container joins every mounted hierarchy.  v1 quirks handled here:

* cpuset: a new cgroup starts with empty cpuset.cpus / cpuset.mems and
  joining it fails with ENOSPC, so each level we create copies both from its
  parent (as runc does).  With the "noprefix" mount option the files are
  called "cpus" / "mems".
* freezing uses the freezer controller's freezer.state.
"""

from __future__ import annotations

import os

from ..errors import Error
from .base import Driver, wait_for, write_file
from .fs import CgroupDir, fail, read

# Where to read the container's pids from, best first: these hierarchies are
# never touched by anything but the runtime and the container.
_PIDS_PREFERENCE = ("pids", "freezer", "devices", "memory", "cpu", "name=systemd")


class V1Driver(Driver):
    kind = "v1"

    def _find(self, controller: str) -> CgroupDir | None:
        for d in self.dirs:
            if d.hierarchy.version == 1 and controller in d.hierarchy.controllers:
                return d
        return None

    # -- cpuset ---------------------------------------------------------------
    def _on_new_dir(self, d: CgroupDir):
        if "cpuset" in d.hierarchy.controllers:
            return _copy_cpuset_from_parent
        return None

    def _join_hint(self, d: CgroupDir) -> str:
        if "cpuset" in d.hierarchy.controllers:
            return "cpuset.cpus or cpuset.mems of the cgroup is empty"
        return ""

    # -- processes -----------------------------------------------------------
    def pids_dir(self) -> CgroupDir | None:
        for c in _PIDS_PREFERENCE:
            d = self._find(c)
            if d is not None:
                return d
        return super().pids_dir()

    # -- resources ------------------------------------------------------------
    def version_of(self, controller: str) -> int | None:
        return 1 if controller and self._find(controller) is not None else None

    def dir_for(self, controller: str, enable: bool = True) -> CgroupDir:
        d = self._find(controller) if controller else None
        if d is None:
            return Driver.dir_for(self, controller)
        return d

    def _apply_devices(self, rules) -> None:
        d = self._find("devices")
        if d is None:
            raise Error("cgroup", "linux.resources.devices needs the devices controller, "
                                  "which is not mounted")
        from .resources import v1_device_line
        for allow, typ, major, minor, access in rules:
            write_file(d.file("devices.allow" if allow else "devices.deny"),
                       v1_device_line(typ, major, minor, access))

    # -- freezer ------------------------------------------------------------
    def can_freeze(self) -> bool:
        d = self._find("freezer")
        return d is not None and os.path.exists(d.file("freezer.state"))

    def is_frozen(self) -> bool:
        d = self._find("freezer")
        if d is None:
            return False
        try:
            return read(d.file("freezer.state")).strip() in ("FROZEN", "FREEZING")
        except OSError:
            return False

    def freeze(self, timeout: float = 5.0) -> None:
        d = self._find("freezer")
        if d is None:
            return super().freeze(timeout)
        state = d.file("freezer.state")
        write_file(state, "FROZEN")
        try:
            wait_for(state, lambda s: s.strip() == "FROZEN", timeout, "FROZEN")
        except BaseException:
            self.thaw()
            raise

    def thaw(self) -> None:
        d = self._find("freezer")
        if d is None:
            return super().thaw()
        write_file(d.file("freezer.state"), "THAWED")


def _copy_cpuset_from_parent(directory: str) -> None:
    parent = os.path.dirname(directory)
    for name in ("cpus", "mems"):
        for fname in (f"cpuset.{name}", name):   # prefixed, or noprefix mount
            own = os.path.join(directory, fname)
            if os.path.exists(own):
                break
        else:
            continue
        try:
            if read(own).strip():
                continue                     # cgroup.clone_children did it
            value = read(os.path.join(parent, fname)).strip()
        except OSError as e:
            raise fail("read", own, e) from None
        if value:
            write_file(own, value)
