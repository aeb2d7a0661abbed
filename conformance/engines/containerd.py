"""An isolated containerd daemon driving `runtime` as its runc binary.

The helper writes a config with its own root, state, grpc/ttrpc sockets and
opt dir under a temp dir, disables the CRI plugin, starts `containerd` and
stops it again.  Containers run in a namespace of their own through
`ctr run --runc-binary <argv-logging wrapper> --runc-root <tmp>/runc
--fifo-dir <tmp>/fifo`; the daemon's PATH also starts with the wrapper's
dir, so a "runc" looked up by name is the wrapper too.  Paths outside the
temp dir: the shims' socket dir /run/containerd/s (fixed in containerd 1.6),
and /run/containerd/runc/<namespace> when task options replace the runc
options (`ctr run --no-pivot`): both are removed at teardown when this helper
created them.

    with Containerd(runtime) as cd:
        cd.import_busybox()
        cd.ctr("run", "--rm", *cd.run_opts(), cd.image, "c1", "true")
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

from . import common, images

SHIM_SOCKET_DIR = "/run/containerd/s"


def available() -> str | None:
    for b in ("containerd", "ctr", "containerd-shim-runc-v2"):
        if shutil.which(b) is None:
            return f"{b} not installed"
    if os.geteuid() != 0:
        return "needs root"
    if images.busybox_path() is None:
        return "no static busybox"
    return None


class Containerd:
    def __init__(self, runtime: str, *, keep: bool = False):
        self.runtime = runtime
        self.keep = keep
        self.tmp = tempfile.mkdtemp(prefix="rt-containerd-")
        os.chmod(self.tmp, 0o755)
        self.tag = "rt-test-" + uuid.uuid4().hex[:10]
        self.namespace = self.tag
        self.image = f"docker.io/library/{self.tag}-busybox:latest"
        self.sock = os.path.join(self.tmp, "containerd.sock")
        self.argv_log = os.path.join(self.tmp, "runtime-argv.log")
        d = self.dirs = {k: os.path.join(self.tmp, k) for k in
                         ("root", "state", "opt", "runc", "fifo", "bin")}
        for p in d.values():
            os.makedirs(p, exist_ok=True)
        self.wrapper = common.write_wrapper(os.path.join(d["bin"], "runc"), runtime,
                                            self.argv_log)
        self.config = os.path.join(self.tmp, "config.toml")
        with open(self.config, "w") as f:
            f.write(f"""version = 2
root = "{d['root']}"
state = "{d['state']}"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "{self.sock}"

[ttrpc]
  address = "{self.sock}.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{d['opt']}"
""")
        self.proc: subprocess.Popen | None = None
        self._made_run_containerd = not os.path.exists("/run/containerd")
        self._made_shim_dir = not os.path.exists(SHIM_SOCKET_DIR)

    # -- daemon --------------------------------------------------------------

    def start(self, timeout: float = 30) -> None:
        logf = open(os.path.join(self.tmp, "containerd.log"), "wb")
        # the shims inherit this PATH: task options that replace the runc
        # options (ctr run --no-pivot does, dropping --runc-binary and
        # --runc-root) still find our wrapper as "runc"
        env = dict(os.environ)
        env["PATH"] = self.dirs["bin"] + os.pathsep + env.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        self.proc = subprocess.Popen(["containerd", "--config", self.config], env=env,
                                     stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                     start_new_session=True)
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("containerd exited: " + self.daemon_log()[-3000:])
            if os.path.exists(self.sock):
                if self.ctr("version", check=False, timeout=10).returncode == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("containerd did not come up: " + self.daemon_log()[-3000:])

    def daemon_log(self) -> str:
        try:
            with open(os.path.join(self.tmp, "containerd.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    # -- ctr -----------------------------------------------------------------

    def ctr_argv(self, *args: str) -> list[str]:
        return ["ctr", "--address", self.sock, "--namespace", self.namespace, *args]

    def ctr(self, *args: str, check: bool = True, timeout: float = 120,
            **kw) -> subprocess.CompletedProcess:
        kw.setdefault("capture_output", True)
        if "input" not in kw and "stdin" not in kw:
            kw["stdin"] = subprocess.DEVNULL
        p = subprocess.run(self.ctr_argv(*args), text=True, timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"ctr {' '.join(args)} -> {p.returncode}\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def run_opts(self) -> list[str]:
        """Options every `ctr run` here needs (before IMAGE ID)."""
        return ["--runc-binary", self.wrapper, "--runc-root", self.dirs["runc"],
                "--fifo-dir", self.dirs["fifo"]]

    def exec_opts(self) -> list[str]:
        return ["--fifo-dir", self.dirs["fifo"]]

    def import_busybox(self) -> str:
        arc = images.oci_archive(os.path.join(self.tmp, "busybox-oci.tar"), self.image)
        self.ctr("images", "import", arc)
        os.unlink(arc)
        return self.image

    def cgroup_name(self, cid: str) -> str:
        """ctr's default cgroupsPath for a container: /<namespace>/<id>."""
        return f"/{self.namespace}/{cid}"

    # -- Tasks API (ctr 1.6 has no `update`) ----------------------------------

    def update_task(self, cid: str, resources: dict, timeout: float = 30) -> None:
        """containerd.services.tasks.v1.Tasks/Update with LinuxResources
        (JSON in a protobuf Any, as containerd's typeurl encodes spec types).
        Needs grpcio; raises ImportError without it."""
        import json

        import grpc

        def field(num: int, payload: bytes) -> bytes:  # length-delimited field
            return _varint(num << 3 | 2) + _varint(len(payload)) + payload

        any_msg = (field(1, b"types.containerd.io/opencontainers/runtime-spec/1/LinuxResources")
                   + field(2, json.dumps(resources).encode()))
        req = field(1, cid.encode()) + field(2, any_msg)
        with grpc.insecure_channel("unix://" + self.sock) as ch:
            call = ch.unary_unary("/containerd.services.tasks.v1.Tasks/Update",
                                  request_serializer=None, response_deserializer=None)
            call(req, metadata=(("containerd-namespace", self.namespace),), timeout=timeout)

    # -- argv log ------------------------------------------------------------

    def log_mark(self) -> int:
        return len(common.read_argv_log(self.argv_log))

    def calls_since(self, mark: int) -> list[dict]:
        return common.read_argv_log(self.argv_log)[mark:]

    def normalized(self, calls: list[dict]) -> list[str]:
        subst = {self.tmp: "$TMP", self.runtime: "runtime", self.namespace: "$NS"}
        return [common.normalize(c["argv"], subst) for c in calls]

    # -- teardown ------------------------------------------------------------

    def leftovers(self) -> list[str]:
        left = ["mount " + m for m in common.mounts_under(self.tmp)]
        left += ["cgroup " + c for c in common.cgroup_dirs("/" + self.namespace)]
        left += [f"process {pid}: {cmd}" for pid, cmd in common.processes_mentioning(self.tmp)]
        return left

    def remove_all(self) -> list[str]:
        """Kill and delete every task and container of our namespace."""
        problems = []
        if self.proc is None or self.proc.poll() is not None:
            return problems
        tasks = self.ctr("tasks", "ls", "-q", check=False).stdout.split()
        for t in tasks:
            self.ctr("tasks", "kill", "-a", "-s", "SIGKILL", t, check=False)
        for t in tasks:
            p = self.ctr("tasks", "delete", "-f", t, check=False)
            if p.returncode != 0:
                problems.append(f"task delete -f {t}: {p.stderr.strip()}")
        for c in self.ctr("containers", "ls", "-q", check=False).stdout.split():
            self.ctr("containers", "rm", c, check=False)
        for i in self.ctr("images", "ls", "-q", check=False).stdout.split():
            self.ctr("images", "rm", i, check=False)
        return problems

    def close(self) -> list[str]:
        problems = []
        try:
            problems += self.remove_all()
        except Exception as e:  # noqa: BLE001
            problems.append(f"ctr teardown: {e!r}")
        self.stop()
        # shims die once their task is deleted; give them a moment
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and common.processes_mentioning(self.tmp):
            time.sleep(0.1)
        procs = common.processes_mentioning(self.tmp)
        if procs:
            problems.append(f"processes left: {procs}")
            for pid, _ in procs:  # our shims / containers only: they name our tmp dir
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        mounts = [m for m in common.mounts_under(self.tmp)]
        if mounts:
            problems.append(f"mounts left: {mounts}")
        common.unmount_under(self.tmp)
        for c in common.cgroup_dirs("/" + self.namespace):
            subs = [s for s in os.listdir(c) if os.path.isdir(os.path.join(c, s))]
            if subs:
                problems.append(f"container cgroups left in {c}: {subs}")
            left = common.remove_cgroup_tree(c)
            if left:
                problems.append(f"cgroups could not be removed: {left}")
        # runc options replaced by task options (--no-pivot) mean the default
        # root, /run/containerd/runc/<namespace>: ours by its unique name
        default_root = os.path.join("/run/containerd/runc", self.namespace)
        if os.path.isdir(default_root):
            if os.listdir(default_root):
                problems.append(f"runtime state left in {default_root}: "
                                f"{os.listdir(default_root)}")
            shutil.rmtree(default_root, ignore_errors=True)
        if self._made_run_containerd:
            try:
                os.rmdir("/run/containerd/runc")
            except OSError:
                pass
        if self._made_shim_dir:
            try:
                os.rmdir(SHIM_SOCKET_DIR)
            except OSError:
                pass
        if self._made_run_containerd:
            for d in ("/run/containerd/fifo", "/run/containerd"):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return problems

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)
