"""Hybrid: v1 controllers (and name=systemd) plus a cgroup2 mount, usually at
/sys/fs/cgroup/unified with no controllers.

Limits and freezing belong to the v1 side (that is where the controllers
are); the unified hierarchy is joined too, and serves as the authoritative
process list and for cgroup.kill.
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

    def can_freeze(self) -> bool:
        return V1Driver.can_freeze(self) or V2Driver.can_freeze(self)

    def freeze(self, timeout: float = 5.0) -> None:
        if V1Driver.can_freeze(self):
            return V1Driver.freeze(self, timeout)
        return V2Driver.freeze(self, timeout)

    def thaw(self) -> None:
        if V1Driver.can_freeze(self):
            return V1Driver.thaw(self)
        return V2Driver.thaw(self)
