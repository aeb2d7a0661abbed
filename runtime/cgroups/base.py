"""The driver interface: one implementation per layout (v1, v2, hybrid).

A driver manages ONE container's cgroup ``path`` across the hierarchies of
its layout.  ``ContainerCgroup`` (the public facade in ``__init__``) picks the
driver for the detected layout and only ever talks to it through this
interface, so resource limits, freezing and stats can be added per layout
without touching the callers.

    create()            mkdir the cgroup in every hierarchy (undo on failure)
    apply(resources)    set linux.resources limits (not implemented yet)
    add(pid)            move a process into the cgroup in every hierarchy
    freeze() / thaw()   pause / resume every process
    stats()             usage numbers (minimal for now)
    pids()              every process of the container
    destroy(timeout)    remove what create() made
"""

from __future__ import annotations

import os
import time

from ..errors import Error
from .fs import CONTEXT, CgroupDir, fail, read, write


class Driver:
    kind = ""

    def __init__(self, path: str, dirs: list[CgroupDir]) -> None:
        self.path = path
        self.dirs = dirs            # one per hierarchy, in mountinfo order

    @classmethod
    def for_layout(cls, path: str, layout) -> "Driver":
        return cls(path, [CgroupDir(h, path) for h in layout.hierarchies])

    # -- lifecycle ------------------------------------------------------------
    def create(self) -> None:
        done: list[CgroupDir] = []
        try:
            for d in self.dirs:
                done.append(d)
                d.create(self._on_new_dir(d))
        except BaseException:
            for d in reversed(done):
                d.remove(timeout=0.5, quiet=True)
            raise

    def _on_new_dir(self, d: CgroupDir):
        """Hook run on each directory level create() makes (e.g. cpuset)."""
        return None

    def add(self, pid: int) -> None:
        for d in self.dirs:
            d.join(pid, self._join_hint(d))

    def _join_hint(self, d: CgroupDir) -> str:
        return ""

    def destroy(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        errors: list[Error] = []
        # leaf-first per hierarchy; keep going so one busy hierarchy does not
        # leave the others behind, then report the first failure.
        for d in self.dirs:
            try:
                d.remove(timeout=max(0.0, deadline - time.monotonic()))
            except Error as e:
                errors.append(e)
        if errors:
            raise errors[0]

    # -- processes --------------------------------------------------------
    def pids_dir(self) -> CgroupDir | None:
        """The hierarchy whose cgroup.procs lists the container's processes."""
        return self.dirs[0] if self.dirs else None

    def pids(self) -> list[int]:
        d = self.pids_dir()
        return d.procs() if d is not None else []

    def kill_dir(self) -> CgroupDir | None:
        """A v2 directory whose cgroup.kill can be used, if any."""
        return None

    # -- not implemented yet -------------------------------------------------
    def apply(self, resources: dict | None) -> None:
        if resources:
            raise Error(CONTEXT, "resource limits (linux.resources) are not supported yet")

    def freeze(self, timeout: float = 5.0) -> None:
        raise Error(CONTEXT, "freezing is not supported on this cgroup layout")

    def thaw(self) -> None:
        raise Error(CONTEXT, "freezing is not supported on this cgroup layout")

    def can_freeze(self) -> bool:
        return False

    def stats(self) -> dict:
        return {"pids": {"current": len(self.pids())}}


# -- freezer helpers shared by drivers --------------------------------------

def wait_for(path: str, predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            text = read(path)
        except OSError as e:
            raise fail("read", path, e) from None
        if predicate(text):
            return
        if time.monotonic() >= deadline:
            raise Error(CONTEXT, f"{path}: timed out waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def write_file(path: str, data: str) -> None:
    try:
        write(path, data)
    except OSError as e:
        raise fail("write", path, e) from None


def exists(path: str) -> bool:
    return os.path.exists(path)
