"""Fixtures for the end-to-end suite: real containers, looked at from inside.

The runtime under test is the command in $RUNTIME (default: `runtime` on
PATH).  Every test gets its own state directory (`--root`), its own bundle
(a busybox rootfs and a config.json made by `runtime spec`), and a teardown
that force-deletes whatever the test created.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

RUNTIME = os.environ.get("RUNTIME", "runtime")
BUSYBOX = "/bin/busybox"
RUNC = "/usr/sbin/runc"
DEFAULT_TIMEOUT = 30

# The dev wrapper runs the source tree with the schema validator stubbed out.
STUBBED_VALIDATOR = os.path.realpath(RUNTIME) == "/tmp/rt/rt" or RUNTIME.startswith("/tmp/rt/")
needs_validator = pytest.mark.skipif(
    STUBBED_VALIDATOR, reason="schema validator is stubbed in the dev wrapper (/tmp/rt/rt)")

APPLETS = (
    "sh ls cat id hostname ps mount grep sleep true false echo readlink env stat "
    "mknod touch wc kill ip head tail mkdir rm test printf sed cut tr sort uniq "
    "umount dd ln pwd expr seq"
).split()


def runtime_available() -> bool:
    return shutil.which(RUNTIME) is not None or os.access(RUNTIME, os.X_OK)


def pytest_collection_modifyitems(config, items):
    if runtime_available():
        return
    skip = pytest.mark.skip(reason=f"no runtime command {RUNTIME!r}: set RUNTIME")
    for item in items:
        if "e2e" in str(item.fspath):
            item.add_marker(skip)


def new_id(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------- rootfs / bundles

@pytest.fixture(scope="session")
def busybox_copy(tmp_path_factory) -> str:
    """One copy of the static busybox, hard-linked into every rootfs."""
    d = tmp_path_factory.mktemp("busybox")
    dst = str(d / "busybox")
    shutil.copy2(BUSYBOX, dst)
    os.chmod(dst, 0o755)
    return dst


@pytest.fixture(scope="session")
def default_spec(tmp_path_factory) -> dict:
    """The config.json that `runtime spec` writes (generated once)."""
    d = tmp_path_factory.mktemp("spec")
    r = subprocess.run([RUNTIME, "spec", "--bundle", str(d)], capture_output=True,
                       text=True, timeout=DEFAULT_TIMEOUT)
    assert r.returncode == 0, r.stderr
    with open(d / "config.json") as f:
        return json.load(f)


class Bundle:
    def __init__(self, path: str, config: dict):
        self.path = path
        self.rootfs = os.path.join(path, "rootfs")
        self.config = config

    @property
    def config_path(self) -> str:
        return os.path.join(self.path, "config.json")

    def write(self) -> "Bundle":
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=1)
        return self

    @property
    def process(self) -> dict:
        return self.config["process"]

    @property
    def linux(self) -> dict:
        return self.config.setdefault("linux", {})

    def set_ns(self, types: list[str]) -> None:
        self.linux["namespaces"] = [{"type": t} for t in types]


def make_rootfs(rootfs: str, busybox: str) -> None:
    os.makedirs(os.path.join(rootfs, "bin"))
    for d in ("proc", "sys", "dev", "tmp", "etc", "root"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
    try:
        os.link(busybox, os.path.join(rootfs, "bin", "busybox"))
    except OSError:
        shutil.copy2(busybox, os.path.join(rootfs, "bin", "busybox"))
    for a in APPLETS:
        os.symlink("busybox", os.path.join(rootfs, "bin", a))
    with open(os.path.join(rootfs, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    with open(os.path.join(rootfs, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")


@pytest.fixture
def make_bundle(tmp_path, busybox_copy, default_spec):
    """make_bundle(args=[...], name=None) -> Bundle (config already written).

    Edit bundle.config and call bundle.write() to change it afterwards.
    Each bundle has its own rootfs (busybox hard link + applet symlinks), so
    tests may write into it.
    """
    counter = [0]

    def make(args=None, name=None, **process) -> Bundle:
        counter[0] += 1
        path = str(tmp_path / (name or f"bundle{counter[0]}"))
        os.makedirs(path)
        make_rootfs(os.path.join(path, "rootfs"), busybox_copy)
        config = json.loads(json.dumps(default_spec))
        config["process"]["terminal"] = False
        config["process"]["args"] = list(args) if args is not None else ["sleep", "30"]
        config["process"].update(process)
        return Bundle(path, config).write()

    return make


# ---------------------------------------------------------------- runner

class Result:
    def __init__(self, rc: int, out: str, err: str, argv: list[str]):
        self.rc, self.out, self.err, self.argv = rc, out, err, argv

    def __iter__(self):
        return iter((self.rc, self.out, self.err))

    def __repr__(self):
        return f"Result(rc={self.rc}, argv={self.argv!r}, out={self.out!r}, err={self.err!r})"


class Runtime:
    """Calls $RUNTIME with its own --root; remembers the ids it touched."""

    def __init__(self, root: str):
        self.root = root
        self.ids: set[str] = set()

    def argv(self, *args, global_args=()) -> list[str]:
        return [RUNTIME, "--root", self.root, *global_args, *map(str, args)]

    def __call__(self, *args, timeout=DEFAULT_TIMEOUT, global_args=(), input=None,
                 **popen) -> Result:
        argv = self.argv(*args, global_args=global_args)
        self._remember(args)
        # stdout/stderr go to files, not pipes: a created container inherits
        # them and would keep a pipe open long after the runtime returned
        popen.setdefault("stdin", subprocess.DEVNULL if input is None else subprocess.PIPE)
        with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
            popen.setdefault("stdout", fo)
            popen.setdefault("stderr", fe)
            p = subprocess.Popen(argv, **popen)
            try:
                if input is not None:
                    p.stdin.write(input.encode())
                    p.stdin.close()
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise AssertionError(f"timeout after {timeout}s: {argv}")
            fo.seek(0)
            fe.seek(0)
            out = fo.read().decode(errors="replace")
            err = fe.read().decode(errors="replace")
        return Result(p.returncode, out or "", err or "", argv)

    def popen(self, *args, **popen) -> subprocess.Popen:
        self._remember(args)
        popen.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.Popen(self.argv(*args), **popen)

    def _remember(self, args) -> None:
        args = [str(a) for a in args]
        if args and args[0] in ("create", "run"):
            # the id is the first positional after the subcommand
            skip_next = False
            for a in args[1:]:
                if skip_next:
                    skip_next = False
                    continue
                if a in ("-b", "--bundle", "--pid-file", "--console-socket", "--preserve-fds"):
                    skip_next = True
                    continue
                if a.startswith("-"):
                    continue
                self.ids.add(a)
                break

    def ok(self, *args, **kw) -> Result:
        r = self(*args, **kw)
        assert r.rc == 0, r
        return r

    def state(self, cid: str) -> dict:
        r = self.ok("state", cid)
        return json.loads(r.out)

    def status(self, cid: str) -> str:
        return self.state(cid)["status"]

    def wait_status(self, cid: str, want: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            st = self.state(cid)
            if st["status"] == want:
                return st
            if time.monotonic() > deadline:
                raise AssertionError(f"{cid}: status {st['status']!r}, wanted {want!r}")
            time.sleep(0.05)

    def cleanup(self) -> None:
        ids = set(self.ids)
        if os.path.isdir(self.root):
            ids.update(n for n in os.listdir(self.root) if not n.startswith("."))
        for cid in ids:
            if not cid or cid.startswith("-") or "/" in cid or cid in (".", ".."):
                continue
            try:
                subprocess.run(self.argv("delete", "--force", cid), capture_output=True,
                               timeout=DEFAULT_TIMEOUT, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                pass


@pytest.fixture
def rt(tmp_path):
    r = Runtime(str(tmp_path / "state"))
    yield r
    r.cleanup()


@pytest.fixture
def run_in(rt, make_bundle):
    """run_in(args, edit=None, **process) -> Result of a foreground `run`.

    edit(bundle) may change bundle.config (written afterwards).
    """
    def run(args, edit=None, run_args=(), timeout=DEFAULT_TIMEOUT, **process) -> Result:
        b = make_bundle(args, **process)
        if edit is not None:
            edit(b)
            b.write()
        cid = new_id()
        r = rt("run", *run_args, "--bundle", b.path, cid, timeout=timeout)
        r.bundle = b
        r.id = cid
        return r
    return run


@pytest.fixture
def run_ok(run_in):
    def run(args, edit=None, **kw) -> str:
        r = run_in(args, edit=edit, **kw)
        assert r.rc == 0, r
        return r.out
    return run


# ---------------------------------------------------------------- leftovers

def cgroup_dirs(cid: str, parent: str = "/runtime") -> list[str]:
    parent = parent.strip("/")
    pats = [f"/sys/fs/cgroup/*/{parent}/{cid}", f"/sys/fs/cgroup/unified/{parent}/{cid}",
            f"/sys/fs/cgroup/{parent}/{cid}"]
    found = set()
    for p in pats:
        found.update(d for d in glob.glob(p) if os.path.isdir(d))
    return sorted(found)


def processes_rooted_at(rootfs: str) -> list[int]:
    """Pids whose root directory is the rootfs.

    After pivot_root, readlink(/proc/PID/root) says "/" (the root is in
    another mount namespace), so compare (st_dev, st_ino) as well: the
    container's root is a bind mount of the rootfs directory.
    """
    real = os.path.realpath(rootfs)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return []
    want = (st.st_dev, st.st_ino)
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            if os.readlink(f"/proc/{d}/root") == real:
                pids.append(int(d))
                continue
            s = os.stat(f"/proc/{d}/root")
            if (s.st_dev, s.st_ino) == want:
                pids.append(int(d))
        except OSError:
            pass
    return pids


def mounts_mentioning(path: str) -> list[str]:
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if path in line]


def wait_until(pred, timeout: float = 10, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return bool(pred())


def assert_one_line_error(r: Result) -> None:
    assert r.rc != 0, r
    assert "Traceback" not in r.err and "Traceback" not in r.out, r
    lines = r.err.splitlines()
    assert len(lines) == 1, f"expected exactly one stderr line: {r}"
    assert lines[0].startswith("runtime: "), r


def assert_nothing_left(rt: Runtime, cid: str | None, bundle: Bundle | None,
                        cgroup_parent: str = "/runtime") -> None:
    if cid:
        assert not os.path.exists(os.path.join(rt.root, cid)), \
            f"state dir left behind: {os.listdir(rt.root)}"
        if cid and "/" not in cid and cid not in (".", ".."):
            assert wait_until(lambda: not cgroup_dirs(cid, cgroup_parent), 5), \
                f"cgroup left behind: {cgroup_dirs(cid, cgroup_parent)}"
    if os.path.isdir(rt.root):
        left = [n for n in os.listdir(rt.root) if not n.startswith(".")]
        assert not left, f"entries left under --root: {left}"
    if bundle is not None:
        assert not mounts_mentioning(bundle.path), mounts_mentioning(bundle.path)
        assert wait_until(lambda: not processes_rooted_at(bundle.rootfs), 5), \
            f"processes left in the rootfs: {processes_rooted_at(bundle.rootfs)}"


@pytest.fixture
def clean_failure(rt):
    """clean_failure(result, cid, bundle): one-line error and nothing left behind."""
    def check(r: Result, cid: str | None = None, bundle: Bundle | None = None,
              cgroup_parent: str = "/runtime", contains: str | None = None) -> None:
        assert_one_line_error(r)
        if contains is not None:
            assert contains.lower() in r.err.lower(), r
        assert_nothing_left(rt, cid, bundle, cgroup_parent)
    return check


# ---------------------------------------------------------------- /proc/self/status

def status_fields(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def rmdir_leaf_first(dirs: list[str], timeout: float = 5.0) -> None:
    """Remove cgroup directories deepest first; EBUSY (tasks still exiting)
    is retried up to ``timeout``, anything else is left for the caller's check."""
    for d in sorted(dirs, key=lambda p: p.count("/"), reverse=True):
        deadline = time.monotonic() + timeout
        while True:
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError as e:
                if e.errno != errno.EBUSY or time.monotonic() > deadline:
                    break
                time.sleep(0.05)


_NOT_CONTROLLERS = {"rw", "ro", "none", "noprefix", "clone_children", "xattr", "cpuset_v2_mode",
                    "favordynmods", "nsdelegate", "memory_recursiveprot", "memory_localevents",
                    "memory_hugetlb_accounting", "pids_localevents"}


def cgroup_mounts() -> list[tuple[str, int, frozenset, str]]:
    """(mountpoint, version, controllers, root) of each cgroup hierarchy, once."""
    seen: dict = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            try:
                sep = fields.index("-", 6)
            except ValueError:
                continue
            fstype = fields[sep + 1]
            if fstype not in ("cgroup", "cgroup2"):
                continue
            root, mnt = fields[3], fields[4]
            if fstype == "cgroup":
                opts = fields[sep + 3].split(",") if len(fields) > sep + 3 else []
                ctrls = frozenset(o for o in opts if o.startswith("name=")
                                  or ("=" not in o and o not in _NOT_CONTROLLERS))
                key = (1, ctrls)
                version = 1
            else:
                ctrls = frozenset(_read_or(os.path.join(mnt, "cgroup.controllers"), "").split())
                key = (2,)
                version = 2
            if key not in seen or (seen[key][3] != "/" and root == "/"):
                seen[key] = (mnt, version, ctrls, root)
    return list(seen.values())


def _read_or(path: str, default: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default
