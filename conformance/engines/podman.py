"""An isolated podman driving `runtime`.

Everything lives under one temp dir: graphroot, runroot, tmp_dir (file locks),
events log, volumes, hooks dir, containers.conf (CONTAINERS_CONF) and
storage.conf (CONTAINERS_STORAGE_CONF).  The runtime is registered under
[engine.runtimes] as "runc" (a name podman knows, so it passes
`--log-format=json --log FILE`) and points at an argv-logging wrapper.
Every container gets `--cgroup-parent=/<prefix>` so its cgroups can be found
and checked; teardown removes containers, images, mounts and those cgroups.

    with Podman(runtime) as pm:
        pm.import_busybox()
        pm.podman("run", "--rm", *pm.SAFE, pm.image, "true")
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid

from . import common, images

RUNTIME_NAME = "runc"

# made by podman whatever --root/--runroot say (the blob info cache of
# `podman import`, the network run dir)
SYSTEM_PATHS = ("/var/lib/containers/cache", "/var/lib/containers", "/run/containers")


def available() -> str | None:
    """Why podman can't be used here, or None when it can."""
    if shutil.which("podman") is None:
        return "podman not installed"
    if shutil.which("conmon") is None and not os.path.exists("/usr/libexec/podman/conmon"):
        return "conmon not installed"
    if os.geteuid() != 0:
        return "needs root"
    if images.busybox_path() is None:
        return "no static busybox"
    return None


class Podman:
    # Extra `run`/`create` options every test passes. Empty: podman's own
    # defaults (its seccomp profile included) are what engines' users get.
    SAFE: tuple = ()

    def __init__(self, runtime: str, *, keep: bool = False):
        self.runtime = runtime
        self.keep = keep
        self.tmp = tempfile.mkdtemp(prefix="rt-podman-")
        os.chmod(self.tmp, 0o755)
        self.tag = "rt-test-" + uuid.uuid4().hex[:10]
        self.cgroup_parent = "/" + self.tag
        self.image = f"localhost/{self.tag}-busybox:latest"
        self.argv_log = os.path.join(self.tmp, "runtime-argv.log")
        d = self.dirs = {k: os.path.join(self.tmp, k) for k in
                         ("root", "runroot", "tmpdir", "volumes", "hooks.d", "bin")}
        for p in d.values():
            os.makedirs(p, exist_ok=True)
        self.wrapper = common.write_wrapper(os.path.join(d["bin"], RUNTIME_NAME),
                                            runtime, self.argv_log)
        self.conf = os.path.join(self.tmp, "containers.conf")
        self.storage_conf = os.path.join(self.tmp, "storage.conf")
        with open(self.conf, "w") as f:
            f.write(f"""[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"
log_driver = "k8s-file"

[network]
network_config_dir = "{self.tmp}/net"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{self.tmp}/events.log"
runtime = "{RUNTIME_NAME}"
tmp_dir = "{d['tmpdir']}"
volume_path = "{d['volumes']}"
static_dir = "{d['root']}/libpod"
hooks_dir = ["{d['hooks.d']}"]
lock_type = "file"
num_locks = 128

[engine.runtimes]
{RUNTIME_NAME} = ["{self.wrapper}"]
""")
        with open(self.storage_conf, "w") as f:
            f.write(f"""[storage]
driver = "overlay"
graphroot = "{d['root']}"
runroot = "{d['runroot']}"
""")
        # podman's own system paths it may create outside --root/--runroot:
        # removed at teardown when this helper created them
        self._system_paths = [p for p in SYSTEM_PATHS if not os.path.lexists(p)]
        self.env = dict(os.environ)
        self.env.update(CONTAINERS_CONF=self.conf, CONTAINERS_STORAGE_CONF=self.storage_conf,
                        TMPDIR=d["tmpdir"])
        self.env.pop("CONTAINERS_REGISTRIES_CONF", None)

    # -- running podman ------------------------------------------------------

    def argv(self, *args: str) -> list[str]:
        return ["podman", "--root", self.dirs["root"], "--runroot", self.dirs["runroot"],
                "--tmpdir", self.dirs["tmpdir"], "--cgroup-manager", "cgroupfs",
                "--events-backend", "file", *args]

    def podman(self, *args: str, check: bool = True, timeout: float = 120,
               input: str | None = None, **kw) -> subprocess.CompletedProcess:
        """Run podman; args after a `run`/`create` get --cgroup-parent added."""
        args = list(args)
        if args and args[0] in ("run", "create"):
            args.insert(1, f"--cgroup-parent={self.cgroup_parent}")
        kw.setdefault("capture_output", True)
        if input is None and "stdin" not in kw:
            kw["stdin"] = subprocess.DEVNULL
        p = subprocess.run(self.argv(*args), env=self.env, text=True, timeout=timeout,
                           input=input, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} -> {p.returncode}\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def import_busybox(self) -> str:
        tar = images.rootfs_tar(os.path.join(self.tmp, "busybox-rootfs.tar"))
        self.podman("import", "--change", "CMD=/bin/sh", tar, self.image)
        os.unlink(tar)
        return self.image

    # -- argv log ------------------------------------------------------------

    def log_mark(self) -> int:
        return len(common.read_argv_log(self.argv_log))

    def calls_since(self, mark: int) -> list[dict]:
        return common.read_argv_log(self.argv_log)[mark:]

    def normalized(self, calls: list[dict]) -> list[str]:
        subst = {self.tmp: "$TMP", self.runtime: "runtime", self.tag: "$TAG"}
        return [common.normalize(c["argv"], subst) for c in calls]

    # -- teardown ------------------------------------------------------------

    def leftovers(self) -> list[str]:
        """What this podman left on the host (empty when clean)."""
        left = []
        left += ["mount " + m for m in common.mounts_under(self.tmp)]
        left += ["cgroup " + c for c in common.cgroup_dirs(self.cgroup_parent)]
        left += [f"process {pid}: {cmd}" for pid, cmd in common.processes_mentioning(self.tmp)]
        return left

    def close(self) -> list[str]:
        """Remove every container and image, unmount, remove cgroups and the
        temp dir.  Returns what was left behind before the forced cleanup
        (containers still present after `rm -af`, mounts, cgroups)."""
        problems = []
        try:
            self.podman("rm", "-a", "-f", "-t", "0", check=False, timeout=120)
            left = self.podman("ps", "-a", "-q", check=False).stdout.split()
            if left:
                problems.append(f"containers survived `podman rm -af`: {left}")
            self.podman("rmi", "-a", "-f", check=False, timeout=120)
            # storage keeps its home bind-mounted; that is podman's, not a leak
            self.podman("system", "prune", "-a", "-f", check=False)
        except Exception as e:  # noqa: BLE001
            problems.append(f"podman teardown: {e!r}")
        for c in common.cgroup_dirs(self.cgroup_parent):
            left = common.remove_cgroup_tree(c)
            # the runtime should have removed each container's own cgroup
            for sub in os.listdir(c) if os.path.isdir(c) else []:
                if os.path.isdir(os.path.join(c, sub)):
                    problems.append(f"container cgroup left: {os.path.join(c, sub)}")
            if left:
                problems.append(f"cgroups could not be removed: {left}")
        # podman's storage mounts its own overlay home; unmount whatever is left
        storage_mounts = [m for m in common.mounts_under(self.tmp)
                          if m != os.path.join(self.dirs["root"], "overlay")]
        if storage_mounts:
            problems.append(f"mounts left under {self.tmp}: {storage_mounts}")
        common.unmount_under(self.tmp)
        procs = common.processes_mentioning(self.tmp)
        if procs:
            problems.append(f"processes left: {procs}")
        for p in self._system_paths:  # in order: children before parents
            if p == "/var/lib/containers":
                _rmdir(p)  # only when empty: it may hold someone else's storage by now
            else:
                shutil.rmtree(p, ignore_errors=True)
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return problems

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _rmdir(p: str) -> None:
    try:
        os.rmdir(p)
    except OSError:
        pass
