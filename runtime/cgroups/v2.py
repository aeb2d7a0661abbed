"""cgroup v2 (unified): one hierarchy, core files cgroup.kill / cgroup.freeze.

No controller is enabled in cgroup.subtree_control yet (limits come later).
The leaf we create has no children, so joining it respects the "no internal
processes" rule even when the parent has controllers enabled.
"""

from __future__ import annotations

import os

from .base import Driver, wait_for, write_file
from .fs import CgroupDir


def _events_frozen(text: str, want: str) -> bool:
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        if k == "frozen":
            return v.strip() == want
    return False


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

    def can_freeze(self) -> bool:
        d = self.unified()
        return d is not None and os.path.exists(d.file("cgroup.freeze"))   # Linux >= 5.2

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
