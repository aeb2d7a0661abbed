"""cgroup v2 (unified): one hierarchy, core files cgroup.kill / cgroup.freeze.

Controllers: a limit needs its controller enabled in cgroup.subtree_control
of every ancestor.  We enable it in the levels this runtime created; a
level that existed before (the hierarchy root, an engine's parent) must
already delegate it -- we never change cgroups we did not create -- and if
it does not, the limit is a clear error naming the controller.  The leaf we
create has no children, so joining it respects the "no internal processes"
rule.  Devices have no files on v2: an eBPF BPF_CGROUP_DEVICE program
(native/cgroup_bpf.c) is attached to the leaf instead.
"""

from __future__ import annotations

import os

from ..errors import Error
from .base import Driver, wait_for, write_file
from .fs import CONTEXT, CgroupDir, read


def _events_value(text: str, key: str) -> str | None:
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        if k == key:
            return v.strip()
    return None


def _events_frozen(text: str, want: str) -> bool:
    return _events_value(text, "frozen") == want


class V2Driver(Driver):
    kind = "v2"

    def unified(self) -> CgroupDir | None:
        for d in self.dirs:
            if d.hierarchy.version == 2:
                return d
        return None

    def pids_dir(self) -> CgroupDir | None:
        return self.unified() or Driver.pids_dir(self)

    def kill_dir(self) -> CgroupDir | None:
        d = self.unified()
        if d is not None and os.path.exists(d.file("cgroup.kill")):   # Linux >= 5.14
            return d
        return None

    # -- resources ------------------------------------------------------------
    def version_of(self, controller: str) -> int | None:
        return V2Driver._v2_version_of(self, controller)

    def _v2_version_of(self, controller: str) -> int | None:
        d = V2Driver.unified(self)
        if d is None:
            return None
        if not controller or controller in d.hierarchy.controllers:
            return 2
        return None

    def dir_for(self, controller: str, enable: bool = True) -> CgroupDir:
        return V2Driver._v2_dir_for(self, controller, enable)

    def _v2_dir_for(self, controller: str, enable: bool = True) -> CgroupDir:
        d = V2Driver.unified(self)
        if d is None or (controller and controller not in d.hierarchy.controllers):
            return Driver.dir_for(self, controller)
        if controller and enable:
            _delegate(d, controller)
        return d

    def unified_dir_for(self, controller: str) -> CgroupDir:
        if V2Driver.unified(self) is None:
            return Driver.unified_dir_for(self, controller)
        return V2Driver._v2_dir_for(self, controller)

    def _apply_devices(self, rules) -> None:
        d = V2Driver.unified(self)
        if d is None:
            return Driver._apply_devices(self, rules)
        from .bpf import attach_device_filter
        attach_device_filter(d.dir, rules)

    # -- freezer ------------------------------------------------------------
    def can_freeze(self) -> bool:
        d = self.unified()
        return d is not None and os.path.exists(d.file("cgroup.freeze"))   # Linux >= 5.2

    def is_frozen(self) -> bool:
        d = self.unified()
        if d is None:
            return False
        try:
            return read(d.file("cgroup.freeze")).strip() == "1"
        except OSError:
            return False

    def freeze(self, timeout: float = 5.0) -> None:
        d = self.unified()
        if d is None or not self.can_freeze():
            return Driver.freeze(self, timeout)
        write_file(d.file("cgroup.freeze"), "1")
        try:
            wait_for(d.file("cgroup.events"), lambda s: _events_frozen(s, "1"), timeout, "frozen")
        except BaseException:
            self.thaw()
            raise

    def thaw(self) -> None:
        d = self.unified()
        if d is None or not self.can_freeze():
            return Driver.thaw(self)
        write_file(d.file("cgroup.freeze"), "0")


def _delegate(d: CgroupDir, controller: str) -> None:
    """Make ``controller`` available in ``d``: +controller in the
    subtree_control of each ancestor we created; pre-existing ones must
    already have it."""
    mnt = d.hierarchy.mountpoint.rstrip("/")
    levels = [mnt]
    for part in [p for p in d.path.split("/") if p][:-1]:
        levels.append(os.path.join(levels[-1], part))
    ours = set(d.created)
    for level in levels:
        sc = os.path.join(level, "cgroup.subtree_control")
        try:
            enabled = read(sc).split()
        except OSError as e:
            raise Error(CONTEXT, f"{controller}: read {sc}: {e.strerror or e}") from None
        if controller in enabled or f"+{controller}" in enabled:
            continue
        if level not in ours:
            raise Error(CONTEXT, f"the {controller} controller is not enabled in {sc} "
                                 f"(not delegated to this cgroup; {level} is not ours to change)")
        write_file(sc, f"+{controller}")
