"""Filesystem helpers shared by the v1 and v2 drivers.

``CgroupDir`` is the container's cgroup in ONE hierarchy: it knows its host
directory and exactly which directories this runtime created (so that
removal never touches a directory that existed before, e.g. a parent the
engine created).
"""

from __future__ import annotations

import errno
import os
import time

from ..errors import Error, os_reason

CONTEXT = "cgroup"


def fail(action: str, path: str, exc: OSError, hint: str = "") -> Error:
    reason = f"{action} {path}: {os_reason(exc)}"
    return Error(CONTEXT, f"{reason} ({hint})" if hint else reason)


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def write(path: str, data: str) -> None:
    """One write(2) of ``data`` (cgroup files want the value in one go).

    O_TRUNC is a no-op on cgroupfs (runc uses it too) and makes the mimic
    trees of the tests behave like the kernel's files."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)


def read_procs(directory: str, recursive: bool = True) -> list[int]:
    """Pids in cgroup.procs of ``directory`` (and of its sub-cgroups).

    A missing directory (already removed) has no processes.
    """
    pids: list[int] = []
    seen: set[int] = set()
    dirs = [directory]
    while dirs:
        d = dirs.pop()
        try:
            text = read(os.path.join(d, "cgroup.procs"))
        except FileNotFoundError:
            continue
        except OSError as e:
            raise fail("read", os.path.join(d, "cgroup.procs"), e) from None
        for tok in text.split():
            pid = int(tok)
            # 0: a process outside our pid namespace; never signal it (kill(0)
            # would hit our own process group).
            if pid > 0 and pid not in seen:
                seen.add(pid)
                pids.append(pid)
        if recursive:
            dirs.extend(_subdirs(d))
    return pids


def _subdirs(d: str) -> list[str]:
    try:
        with os.scandir(d) as it:
            return [e.path for e in it if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _rmdir_busy_retry(d: str, deadline: float) -> None:
    """rmdir ``d``; EBUSY (processes still exiting) is retried until deadline."""
    delay = 0.001
    while True:
        try:
            os.rmdir(d)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() >= deadline:
                hint = ""
                if e.errno == errno.EBUSY:
                    left = read_procs(d)
                    hint = (f"processes still in it: {' '.join(map(str, left[:10]))}"
                            if left else "still busy")
                raise fail("rmdir", d, e, hint) from None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


class CgroupDir:
    """The container's cgroup ``path`` in one hierarchy."""

    __slots__ = ("hierarchy", "path", "dir", "created")

    def __init__(self, hierarchy, path: str, created: list[str] | None = None) -> None:
        self.hierarchy = hierarchy
        self.path = path
        self.dir = hierarchy.dir(path)
        self.created: list[str] = list(created or [])   # top-down

    # -- creation -----------------------------------------------------------
    def create(self, on_new=None) -> None:
        """mkdir -p, remembering what we made; ``on_new(dir)`` per new level.

        An existing leaf is accepted only if it has no processes.  On failure
        what this call created is removed again before raising.
        """
        try:
            self._mkdir_p(on_new)
            if not self.created or self.created[-1] != self.dir:
                left = read_procs(self.dir)
                if left:
                    raise Error(CONTEXT, f"cgroup {self.dir} is not empty: it already has "
                                         f"processes ({' '.join(map(str, left[:10]))})")
        except BaseException:
            self.remove(timeout=0.5, quiet=True)
            raise

    def _mkdir_p(self, on_new) -> None:
        mnt = self.hierarchy.mountpoint
        parts = [p for p in self.path.split("/") if p]
        for _attempt in range(5):
            d = mnt
            try:
                for p in parts:
                    d = os.path.join(d, p)
                    try:
                        os.mkdir(d, 0o755)
                    except FileExistsError:
                        if not os.path.isdir(d):
                            raise fail("mkdir", d, OSError(errno.ENOTDIR, "Not a directory"))
                        continue
                    self.created.append(d)
                    if on_new is not None:
                        on_new(d)
                return
            except FileNotFoundError as e:
                # A parent vanished under us: another container's delete
                # removed a shared intermediate it had created.  Start again.
                if not os.path.isdir(mnt):
                    raise fail("mkdir", d, e, f"{mnt} is not mounted") from None
                last = e
            except OSError as e:
                raise fail("mkdir", d, e) from None
        raise fail("mkdir", d, last) from None

    # -- processes ----------------------------------------------------------
    def join(self, pid: int, hint: str = "") -> None:
        procs = os.path.join(self.dir, "cgroup.procs")
        try:
            write(procs, str(pid))
        except OSError as e:
            raise fail(f"add pid {pid} to", procs, e, hint if e.errno == errno.ENOSPC else "") from None

    def procs(self) -> list[int]:
        return read_procs(self.dir)

    def file(self, name: str) -> str:
        return os.path.join(self.dir, name)

    # -- removal ------------------------------------------------------------
    def remove(self, timeout: float = 5.0, quiet: bool = False) -> None:
        """rmdir what we created, leaf first.

        If we created the leaf, sub-cgroups made inside it (by the container's
        own init system, or a nested runtime) are ours too and go first.  A
        parent we created is shared with other containers: it is removed only
        if it became empty, never waited for.
        """
        deadline = time.monotonic() + timeout
        try:
            if self.created and self.created[-1] == self.dir:
                for sub in _descendants_bottom_up(self.dir):
                    _rmdir_busy_retry(sub, deadline)
                _rmdir_busy_retry(self.dir, deadline)
                del self.created[-1]
            while self.created:
                d = self.created[-1]
                try:
                    os.rmdir(d)
                except FileNotFoundError:
                    pass
                except OSError as e:
                    if e.errno not in (errno.EBUSY, errno.ENOTEMPTY, errno.EEXIST):
                        raise fail("rmdir", d, e) from None
                    # another container's cgroup lives under it: leave it
                    # (and everything above it) alone.
                    self.created.clear()
                    break
                del self.created[-1]
        except Error:
            if not quiet:
                raise

    def to_dict(self) -> dict:
        return {"hierarchy": self.hierarchy.to_dict(), "dir": self.dir,
                "created": list(self.created)}


def _descendants_bottom_up(d: str) -> list[str]:
    out: list[str] = []
    stack = [d]
    while stack:
        cur = stack.pop()
        for sub in _subdirs(cur):
            out.append(sub)
            stack.append(sub)
    # deeper paths first
    out.sort(key=lambda p: p.count("/"), reverse=True)
    return out
