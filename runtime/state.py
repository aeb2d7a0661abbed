"""The state store under --root: one directory per container.

<root>/<id>/            created with mkdir (atomic: a second create fails)
<root>/<id>/state.json  written with temp file + rename
<root>/<id>/exec.fifo   exists from create until start
A flock on the container directory is held by every operation that changes
the container, so concurrent start/kill/delete on one id are serialised.

Status is derived, never just trusted: the init pid must be alive *with the
start time recorded at create*, so a recycled pid never passes for ours."""

import fcntl
import os

from runtime import jsonio
from runtime.errors import Error, os_reason

STATE_FILE = "state.json"
EXEC_FIFO = "exec.fifo"
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-")


def validate_id(container_id: str) -> None:
    if not container_id:
        raise Error("container id", "must not be empty")
    if len(container_id) > 1024:
        raise Error(f"container id {container_id[:32]}...", "longer than 1024 characters")
    if (container_id in (".", "..") or not container_id[0].isascii() or not container_id[0].isalnum()
            or not _ID_CHARS.issuperset(container_id)):
        raise Error(f"container id {container_id!r}",
                    "invalid: use letters, digits and _ . + - and start with a letter or digit")


# What create writes, by type: a state.json edited or truncated by hand must
# be an error naming the field, not a crash further down.
_STATE_TYPES: dict = {
    "ociVersion": str, "id": str, "status": str, "pid": int, "bundle": str, "rootfs": str,
    "created": str, "owner": str, "annotations": dict, "init_start_time": int, "cgroup": dict,
    "process": dict, "namespaces": list, "seccomp": (dict, type(None)), "hooks": dict,
    "notify_socket": (str, type(None)),
}
_CGROUP_TYPES: dict = {"path": str, "kind": str, "hierarchies": list, "resources": dict, "devices": list,
                       "paused": bool}


def state_problem(state: object) -> str | None:
    """Why a loaded state.json cannot be trusted, or None."""
    if not isinstance(state, dict):
        return "not a JSON object"
    for table, doc, prefix in ((_STATE_TYPES, state, ""), (_CGROUP_TYPES, state.get("cgroup"), "cgroup.")):
        if not isinstance(doc, dict):
            continue
        for key, want in table.items():
            if key not in doc:
                continue  # written later, or by an older runtime
            value = doc[key]
            if not isinstance(value, want) or (want is int and isinstance(value, bool)):
                return f"{prefix}{key} has the wrong type"
    if state and "pid" not in state:
        return "pid is missing"
    if isinstance(state.get("cgroup"), dict) and "path" not in state["cgroup"]:
        return "cgroup.path is missing"
    return None


def ensure_root(root: str) -> None:
    try:
        os.makedirs(root, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise Error(f"root {root}", os_reason(exc)) from None


def proc_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat, or None if the pid is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


class Container:
    """A container directory, locked for the lifetime of the object's use."""

    __slots__ = ("root", "id", "dir", "_lock_fd", "state")

    def __init__(self, root: str, container_id: str) -> None:
        self.root = root
        self.id = container_id
        self.dir = os.path.join(root, container_id)
        self._lock_fd: int | None = None
        self.state: dict = {}

    # -- creation and lookup -------------------------------------------------
    @classmethod
    def new(cls, root: str, container_id: str) -> "Container":
        validate_id(container_id)
        ensure_root(root)
        c = cls(root, container_id)
        try:
            os.mkdir(c.dir, 0o711)
        except FileExistsError:
            raise Error("create", f"container with id {container_id} already exists") from None
        except OSError as exc:
            raise Error(f"create {c.dir}", os_reason(exc)) from None
        c.lock()
        return c

    @classmethod
    def load(cls, root: str, container_id: str, lock: bool = True) -> "Container":
        """The existing container; Error 'container does not exist' otherwise."""
        validate_id(container_id)
        c = cls(root, container_id)
        if lock:
            try:
                c.lock()
            except FileNotFoundError:
                raise Error(container_id, "container does not exist") from None
        try:
            with open(os.path.join(c.dir, STATE_FILE), "rb") as f:
                c.state = jsonio.loads(f.read())
        except FileNotFoundError:
            if not os.path.isdir(c.dir):
                c.unlock()
                raise Error(container_id, "container does not exist") from None
            c.state = {}  # create is still running, or died half-way
        except (OSError, ValueError) as exc:
            c.unlock()
            raise Error(f"{container_id}: {STATE_FILE}", exc) from None
        problem = state_problem(c.state)
        if problem:
            c.unlock()
            raise Error(f"{container_id}: {STATE_FILE}", f"corrupt ({problem}); check for the container's "
                        f"processes and cgroup, then remove {c.dir} by hand") from None
        return c

    def lock(self) -> None:
        fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._lock_fd = fd
        if not os.path.isdir(self.dir):  # deleted while we waited
            self.unlock()
            raise FileNotFoundError(self.dir)

    def unlock(self) -> None:
        if self._lock_fd is not None:
            # Explicitly: a child forked meanwhile shares the open file (and
            # so the lock) until it execs; closing our fd alone would not do.
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def lock_is_held_elsewhere(self) -> bool:
        try:
            fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    # -- state ----------------------------------------------------------------
    def save(self) -> None:
        path = os.path.join(self.dir, STATE_FILE)
        tmp = path + ".tmp"
        data = jsonio.dumps(self.state).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.rename(tmp, path)

    @property
    def exec_fifo(self) -> str:
        return os.path.join(self.dir, EXEC_FIFO)

    def set_paused(self, paused: bool) -> None:
        """Record a freeze or thaw, so that `state` and `list` tell paused
        apart without importing the cgroup code. Saved at once."""
        if paused:
            self.state["cgroup"]["paused"] = True
        else:
            self.state["cgroup"].pop("paused", None)
        self.save()

    def init_alive(self) -> bool:
        pid = self.state.get("pid") or 0
        return pid > 0 and proc_start_time(pid) == self.state.get("init_start_time")

    def status(self) -> str:
        if not self.state:
            return "creating" if self.lock_is_held_elsewhere() else "stopped"
        if not self.init_alive():
            return "stopped"
        # Paused first: a created container can be paused too (runc agrees),
        # and start must then refuse rather than wait on a frozen init.
        if self.state.get("cgroup", {}).get("paused"):
            return "paused"
        if os.path.exists(self.exec_fifo):
            return "created"
        return "running"

    def oci_state(self) -> dict:
        """The state as `runtime state` prints it (runc's fields, OCI order)."""
        s = self.state
        status = self.status()
        out = {
            "ociVersion": s.get("ociVersion", ""),
            "id": self.id,
            "pid": s.get("pid", 0) if status in ("created", "running", "paused") else 0,
            "status": status,
            "bundle": s.get("bundle", ""),
            "rootfs": s.get("rootfs", ""),
            "created": s.get("created", ""),
            "owner": s.get("owner", ""),
        }
        if s.get("annotations"):
            out["annotations"] = s["annotations"]
        return out

    def remove(self) -> None:
        """Remove the directory and everything in it."""
        _remove_tree(self.dir)
        self.unlock()


def _remove_tree(path: str) -> None:
    # shutil.rmtree would cost its import on every delete; the tree is ours
    # and shallow (state.json, exec.fifo, notify/).
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            _remove_tree(entry.path)
        else:
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                pass
    os.rmdir(path)


def list_ids(root: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n)))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise Error(f"root {root}", os_reason(exc)) from None
