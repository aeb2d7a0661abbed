"""The driver interface: one implementation per layout (v1, v2, hybrid).

A driver manages ONE container's cgroup ``path`` across the hierarchies of
its layout.  ``ContainerCgroup`` (the public facade in ``__init__``) picks the
driver for the detected layout and only ever talks to it through this
interface, so resource limits, freezing and stats can be added per layout
without touching the callers.

    create()            mkdir the cgroup in every hierarchy (undo on failure)
    apply(resources)    set linux.resources limits (resources.py translates)
    add(pid)            move a process into the cgroup in every hierarchy
    freeze() / thaw()   pause / resume every process
    stats()             usage numbers, runc's events --stats shape (stats.py)
    pids()              every process of the container
    destroy(timeout)    remove what create() made
"""

from __future__ import annotations

import errno
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

    # -- resources --------------------------------------------------------------
    def version_of(self, controller: str) -> int | None:
        """1 or 2: the hierarchy ``controller`` lives on; None: not available.
        ``""`` asks for the unified hierarchy itself."""
        return None

    def dir_for(self, controller: str, enable: bool = True) -> CgroupDir:
        raise Error(CONTEXT, f"the {controller or 'unified'} controller is not available "
                             "(not mounted on cgroup v1 nor in cgroup.controllers of cgroup v2)")

    def unified_dir_for(self, controller: str) -> CgroupDir:
        """The cgroup2 directory, with ``controller`` enabled (unified key)."""
        raise Error(CONTEXT, "linux.resources.unified needs cgroup v2, which is not mounted")

    def dir_for_read(self, controller: str) -> CgroupDir:
        """dir_for() without enabling anything (for stats)."""
        return self.dir_for(controller, enable=False)

    def apply(self, resources: dict | None, devices: list | None = None) -> None:
        """Apply linux.resources; ``devices`` (linux.devices) are allowed too.

        Device rules are only touched when ``resources`` has a "devices" key.
        """
        from .resources import plan
        warnings: list[str] = []
        writes = plan(resources, self.version_of, warnings.append)
        if resources:
            self._check_before_update(resources)
        self._execute(writes)
        if resources and resources.get("devices") is not None:
            from .resources import device_rules
            rules = device_rules(resources["devices"])
            for dev in devices or []:
                if isinstance(dev, dict) and dev.get("type") in ("b", "c") \
                        and dev.get("major") is not None and dev.get("minor") is not None:
                    rules.append((True, dev["type"], int(dev["major"]), int(dev["minor"]), "rwm"))
            self._apply_devices(rules)
        if warnings:
            from ..log import warn
            for w in warnings:
                warn(w)

    def _apply_devices(self, rules) -> None:
        raise Error(CONTEXT, "linux.resources.devices: no devices controller on this layout")

    def _check_before_update(self, resources: dict) -> None:
        m = resources.get("memory") or {}
        limit = m.get("limit") or 0
        if not m.get("checkBeforeUpdate") or limit <= 0 or self.version_of("memory") is None:
            return
        d = self.dir_for("memory")
        name = "memory.usage_in_bytes" if self.version_of("memory") == 1 else "memory.current"
        try:
            usage = int(read(d.file(name)))
        except (OSError, ValueError):
            return
        if limit < usage:
            raise Error(CONTEXT, f"linux.resources.memory.limit: {limit} is below the current "
                                 f"usage {usage} (checkBeforeUpdate)")

    def _execute(self, writes) -> None:
        pending = list(writes)
        moved: set[int] = set()
        i = 0
        while i < len(pending):
            w = pending[i]
            if w.controller.startswith("@"):
                d = self.unified_dir_for(w.controller[1:])
            else:
                d = self.dir_for(w.controller)
            path = None
            for f in w.files:
                if os.path.exists(d.file(f)):
                    path = d.file(f)
                    break
            if path is None:
                i += 1
                if w.optional:
                    continue
                raise Error(CONTEXT, f"{w.controller or 'cgroup'}: {d.file(w.files[0])} does not "
                                     "exist (not supported by this kernel)")
            try:
                write(path, w.value)
            except OSError as e:
                # v1 memory: the limit must stay <= memsw; when raising both,
                # memsw has to go first (and the other way round).
                twin = _MEMSW_TWINS.get(w.files[0])
                later = [j for j in range(i + 1, len(pending)) if pending[j].files[0] == twin]
                if e.errno in (errno.EINVAL, errno.EBUSY) and later and id(w) not in moved:
                    moved.add(id(w))
                    pending.insert(later[0] + 1, pending.pop(i))
                    continue
                raise fail("write", path, e, f"value {w.value!r}") from None
            i += 1

    # -- freezing --------------------------------------------------------------
    def freeze(self, timeout: float = 5.0) -> None:
        raise Error(CONTEXT, "freezing is not supported on this cgroup layout "
                             "(no freezer controller, no cgroup.freeze)")

    def thaw(self) -> None:
        raise Error(CONTEXT, "freezing is not supported on this cgroup layout "
                             "(no freezer controller, no cgroup.freeze)")

    def can_freeze(self) -> bool:
        return False

    def is_frozen(self) -> bool:
        return False

    # -- stats ------------------------------------------------------------------
    def stats(self) -> dict:
        """runc's `events --stats` "data" object."""
        from .stats import collect
        return collect(self)

    def oom_count(self) -> int:
        """OOM kills so far (memory.oom_control / memory.events oom_kill)."""
        from .stats import oom_count
        return oom_count(self)


_MEMSW_TWINS = {"memory.limit_in_bytes": "memory.memsw.limit_in_bytes",
                "memory.memsw.limit_in_bytes": "memory.limit_in_bytes"}


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
