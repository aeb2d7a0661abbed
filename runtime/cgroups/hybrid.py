"""Hybrid: v1 controllers (and name=systemd) plus a cgroup2 mount, usually at
/sys/fs/cgroup/unified with few or no controllers.

Each limit goes to the hierarchy its controller lives on: v1 first (that is
where the controllers usually are), else cgroup2 (e.g. hugetlb when it is
bound there); linux.resources.unified goes to the cgroup2 side.  Devices
use v1 devices.allow/deny, or the eBPF filter when devices is not on v1.
Freezing uses the v1 freezer, else cgroup.freeze.  The unified hierarchy
is the authoritative process list and gives cgroup.kill.
"""

from __future__ import annotations

from .fs import CgroupDir
from .v1 import V1Driver
from .v2 import V2Driver


class HybridDriver(V1Driver):
    kind = "hybrid"

    unified = V2Driver.unified
    kill_dir = V2Driver.kill_dir

    def pids_dir(self) -> CgroupDir | None:
        return self.unified() or V1Driver.pids_dir(self)

    def version_of(self, controller: str) -> int | None:
        return V1Driver.version_of(self, controller) or V2Driver._v2_version_of(self, controller)

    def dir_for(self, controller: str, enable: bool = True) -> CgroupDir:
        if V1Driver.version_of(self, controller):
            return V1Driver.dir_for(self, controller)
        return V2Driver._v2_dir_for(self, controller, enable)

    unified_dir_for = V2Driver.unified_dir_for

    def _apply_devices(self, rules) -> None:
        if self._find("devices") is not None:
            return V1Driver._apply_devices(self, rules)
        return V2Driver._apply_devices(self, rules)

    def can_freeze(self) -> bool:
        return V1Driver.can_freeze(self) or V2Driver.can_freeze(self)

    def is_frozen(self) -> bool:
        if V1Driver.can_freeze(self):
            return V1Driver.is_frozen(self)
        return V2Driver.is_frozen(self)

    def freeze(self, timeout: float = 5.0) -> None:
        if V1Driver.can_freeze(self):
            return V1Driver.freeze(self, timeout)
        return V2Driver.freeze(self, timeout)

    def thaw(self) -> None:
        if V1Driver.can_freeze(self):
            return V1Driver.thaw(self)
        return V2Driver.thaw(self)
