"""Python plans, C executes: turn a validated config into the plan records
runtime-init executes (record layouts in native/protocol.h)."""

import os
import stat
import struct

from runtime import capabilities, linux_settings, mountopts
from runtime._native import lib as N
from runtime.errors import Error, os_reason

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080
NAMESPACE_FLAGS = {
    "mount": CLONE_NEWNS, "cgroup": CLONE_NEWCGROUP, "uts": CLONE_NEWUTS, "ipc": CLONE_NEWIPC,
    "user": CLONE_NEWUSER, "pid": CLONE_NEWPID, "network": CLONE_NEWNET, "time": CLONE_NEWTIME,
}
# setns order: the user namespace first (it owns the others), mount last
# (joining it changes our root and cwd).
_JOIN_ORDER = ("user", "ipc", "uts", "network", "cgroup", "time", "mount")
_PROC_NS = {"user": "user", "ipc": "ipc", "uts": "uts", "network": "net", "cgroup": "cgroup",
            "time": "time", "mount": "mnt", "pid": "pid"}

RLIMITS = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
    "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
    "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}
_PROPAGATION = {
    "private": mountopts.MS_PRIVATE, "shared": mountopts.MS_SHARED,
    "slave": mountopts.MS_SLAVE, "unbindable": mountopts.MS_UNBINDABLE,
}
# Devices every container gets (config-linux.md "Default Devices").
_DEFAULT_DEVICES = (
    ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
    ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
)
_DEFAULT_SYMLINKS = (
    ("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"), ("/proc/self/fd/2", "/dev/stderr"),
    ("pts/ptmx", "/dev/ptmx"),
)
_DEVICE_TYPES = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}
_U64 = (1 << 64) - 1


def encode_record(rtype: int, ints: tuple | list = (), strs: tuple | list = ()) -> bytes:
    """One frame in the generic record layout of native/protocol.h."""
    payload = [struct.pack(f"=I{len(ints)}QI", len(ints), *[i & _U64 for i in ints], len(strs))]
    for s in strs:
        b = s.encode() if isinstance(s, str) else s
        if b"\0" in b:
            raise Error("config", f"string contains a NUL byte: {s!r}")
        payload.append(b + b"\0")
    body = b"".join(payload)
    return struct.pack("=II", rtype, len(body)) + body


class Plan:
    """The encoded records, plus what the parent itself needs to know."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.clone_flags = 0
        self.pidns_path: str | None = None
        self.id_maps: dict[str, str] = {}  # uid_map/gid_map contents for a new user namespace
        self.keep_fds: list[int] = []  # inherited by the init; closed by close()

    def close(self) -> None:
        for fd in self.keep_fds:
            os.close(fd)
        self.keep_fds = []

    def add(self, rtype: int, ints: tuple | list = (), strs: tuple | list = ()) -> None:
        self.frames.append(encode_record(rtype, ints, strs))

    def encode(self) -> bytes:
        return b"".join(self.frames) + struct.pack("=II", N.PLAN_END, 0)


def build(config: dict, bundle: str, rootfs: str, exec_fifo: str | None, cgroup, *,
          no_pivot: bool = False, no_new_keyring: bool = False, preserve_fds: int = 0) -> Plan:
    plan = Plan()
    linux = config.get("linux") or {}
    process = config["process"]
    namespaces = {ns["type"]: ns.get("path") for ns in linux.get("namespaces") or []}

    for kind, path in namespaces.items():
        if kind in ("time", "cgroup") and not path:
            continue  # unshared by the init: see PLAN_TIMENS, PLAN_CGROUPNS
        if not path:
            plan.clone_flags |= NAMESPACE_FLAGS[kind]
        elif kind == "pid":
            plan.pidns_path = path
    for kind in _JOIN_ORDER:
        if namespaces.get(kind):
            plan.add(N.PLAN_NS_JOIN, (NAMESPACE_FLAGS[kind],), (namespaces[kind],))
    if "user" in namespaces and not namespaces["user"]:
        plan.id_maps = {
            "uid_map": _id_map(linux.get("uidMappings"), "linux.uidMappings"),
            "gid_map": _id_map(linux.get("gidMappings"), "linux.gidMappings"),
        }
    if "cgroup" in namespaces and not namespaces["cgroup"]:
        plan.add(N.PLAN_CGROUPNS)
    if "time" in namespaces and not namespaces["time"]:
        plan.add(N.PLAN_TIMENS, linux_settings.time_offsets(linux.get("timeOffsets")))
    if "network" in namespaces and not namespaces["network"]:
        plan.add(N.PLAN_LO_UP)
    if not no_new_keyring:
        plan.add(N.PLAN_NEW_KEYRING)
    if config.get("hostname"):
        plan.add(N.PLAN_HOSTNAME, (), (config["hostname"],))
    if config.get("domainname"):
        plan.add(N.PLAN_DOMAINNAME, (), (config["domainname"],))

    _add_rootfs(plan, config, linux, rootfs, no_pivot)
    _add_mounts(plan, config, bundle, cgroup, "cgroup" in namespaces)
    _add_devices(plan, config, linux)
    for key, value in linux_settings.sysctls(config):
        plan.add(N.PLAN_SYSCTL, (), (key, value))
    # runc's order: a masked path below a read-only one (/proc/sys/x under
    # /proc/sys) must still be masked, not hidden under the new ro bind.
    for path in linux.get("readonlyPaths") or []:
        plan.add(N.PLAN_READONLY, (), (path,))
    for path in linux.get("maskedPaths") or []:
        plan.add(N.PLAN_MASK, (), (path,))
    if exec_fifo:
        try:
            fifo_fd = os.open(exec_fifo, os.O_PATH | os.O_CLOEXEC)
        except OSError as exc:
            raise Error(f"exec fifo {exec_fifo}", os_reason(exc)) from None
        plan.keep_fds.append(fifo_fd)
        plan.add(N.PLAN_EXEC_FIFO, (fifo_fd,))
    _add_hooks(plan, config.get("hooks") or {})
    if linux.get("personality"):
        plan.add(N.PLAN_PERSONALITY, (linux_settings.personality(linux["personality"]),))
    if linux.get("memoryPolicy"):
        plan.add(N.PLAN_MEMPOLICY, linux_settings.mempolicy(linux["memoryPolicy"]))
    _add_process(plan, process, preserve_fds)
    _add_seccomp(plan, linux.get("seccomp"))
    return plan


def build_exec(process: dict, namespaces: list[str], init_pid: int, preserve_fds: int = 0,
               seccomp: dict | None = None) -> Plan:
    """A process joining every namespace of a running container's init
    (and confined by the container's seccomp filter, as runc does)."""
    plan = Plan()
    for kind in _JOIN_ORDER:
        if kind in namespaces:
            plan.add(N.PLAN_NS_JOIN, (NAMESPACE_FLAGS[kind],), (f"/proc/{init_pid}/ns/{_PROC_NS[kind]}",))
    if "pid" in namespaces:
        plan.pidns_path = f"/proc/{init_pid}/ns/pid"
    affinity = process.get("execCPUAffinity") or {}
    for which, key in ((0, "initial"), (1, "final")):
        if affinity.get(key):
            cpus = linux_settings.parse_list(affinity[key], f"process.execCPUAffinity.{key}")
            words = [0] * (max(cpus) // 64 + 1)
            for cpu in cpus:
                words[cpu // 64] |= 1 << (cpu % 64)
            plan.add(N.PLAN_CPU_AFFINITY, (which, *words))
    _add_process(plan, process, preserve_fds)
    _add_seccomp(plan, seccomp)
    return plan


def _add_seccomp(plan: Plan, seccomp: dict | None) -> None:
    if not seccomp:
        return
    # Imported only here: it loads libseccomp, which no other config needs.
    from runtime import seccomp as seccompmod

    flags, program = seccompmod.compile_filter(seccomp)
    plan.add(N.PLAN_SECCOMP, seccompmod.plan_ints(flags, program))


def _id_map(mappings: list | None, field: str) -> str:
    if not mappings:
        raise Error(field, "a new user namespace needs mappings")
    lines = [f"{m['containerID']} {m['hostID']} {m['size']}" for m in mappings]
    if not any(m["containerID"] == 0 for m in mappings):
        raise Error(field, "container id 0 (the namespace's root) must be mapped")
    return "\n".join(lines) + "\n"


def _add_hooks(plan: Plan, hooks: dict) -> None:
    if any(hooks.get(p) for p in ("prestart", "createRuntime", "createContainer", "startContainer")):
        plan.add(N.PLAN_HOOKS_SYNC)
    for phase_number, phase in enumerate(("createContainer", "startContainer")):
        for hook in hooks.get(phase) or []:
            args = hook.get("args") or [hook["path"]]
            plan.add(N.PLAN_HOOK, (phase_number, hook.get("timeout", 0), len(args)),
                     (hook["path"], *args, *(hook.get("env") or [])))


def _add_rootfs(plan: Plan, config: dict, linux: dict, rootfs: str, no_pivot: bool) -> None:
    propagation = linux.get("rootfsPropagation") or ""
    before = mountopts.MS_REC | mountopts.MS_SLAVE
    after = 0
    if propagation:
        kind = propagation[1:] if propagation.startswith("r") and propagation[1:] in _PROPAGATION else propagation
        if kind not in _PROPAGATION:
            raise Error("linux.rootfsPropagation", f"unknown propagation {propagation!r}")
        if kind in ("private", "unbindable"):
            before = mountopts.MS_REC | mountopts.MS_PRIVATE
        # Applied to / after pivot, as runc does: recursive only for the r-
        # forms, so mounts with a propagation option of their own keep it.
        after = _PROPAGATION[kind] | (mountopts.MS_REC if kind != propagation else 0)
    readonly = bool((config.get("root") or {}).get("readonly"))
    plan.add(N.PLAN_ROOTFS, (before, after, int(readonly), int(no_pivot)), (rootfs,))


def _add_mounts(plan: Plan, config: dict, bundle: str, cgroup, cgroupns: bool) -> None:
    for i, m in enumerate(config.get("mounts") or []):
        field = f"mounts[{i}]"
        dest = m["destination"]
        if not dest.startswith("/"):
            dest = "/" + dest  # deprecated relative form: relative to "/"
        opts = mountopts.parse(m.get("options"), f"{field}.options")
        fstype = m.get("type") or ""
        source = m.get("source") or ""
        if fstype == "bind":
            opts.bind = True
        if fstype == "cgroup" and not opts.bind:
            _add_cgroup_view(plan, dest, opts, cgroup, cgroupns)
            continue
        props = (opts.propagation + [0, 0])[:2]
        if len(opts.propagation) > 2:
            raise Error(f"{field}.options", "more than two propagation options")
        if opts.bind:
            if not source:
                raise Error(f"{field}.source", "a bind mount needs a source")
            source = os.path.normpath(os.path.join(bundle, source))
            try:
                is_dir = stat.S_ISDIR(os.stat(source).st_mode)
            except OSError as exc:
                raise Error(f"{field}.source", f"{source}: {os_reason(exc)}") from None
            flags = mountopts.MS_BIND | (mountopts.MS_REC if opts.recursive else 0)
            kind = N.MOUNT_KIND_BIND | (0 if is_dir else N.MOUNT_KIND_FILE)
            tree = _idmapped_tree(plan, config, m, opts, field, source)
            if tree >= 0:
                kind |= N.MOUNT_KIND_TREE
            remount = opts.remount_flags & ~(mountopts.MS_REMOUNT | mountopts.MS_BIND) if opts.needs_remount else 0
            plan.add(N.PLAN_MOUNT, (flags, kind, remount, *props, opts.rec_attr_set, opts.rec_attr_clr, tree),
                     (source, dest, "", ""))
        else:
            if not fstype:
                raise Error(f"{field}.type", f"mount of {dest} needs a type (or a bind option)")
            if opts.idmap or opts.ridmap:
                raise Error(f"{field}.options", "idmap/ridmap apply to bind mounts only")
            kind = 0
            # runc's rule: never mount procfs or sysfs (or /dev) through a
            # symlink the image planted.
            if fstype in ("proc", "sysfs") or dest == "/dev":
                kind |= N.MOUNT_KIND_NO_SYMLINKS
            if opts.tmpcopyup:
                if fstype != "tmpfs":
                    raise Error(f"{field}.options", "tmpcopyup applies to tmpfs mounts only")
                kind |= N.MOUNT_KIND_TMPCOPYUP
            plan.add(N.PLAN_MOUNT, (opts.flags, kind, 0, *props, opts.rec_attr_set, opts.rec_attr_clr, -1),
                     (source or fstype, dest, fstype, opts.data))


def _idmapped_tree(plan: Plan, config: dict, m: dict, opts, field: str, source: str) -> int:
    """A detached idmapped copy of ``source`` for the init to attach, or -1."""
    if not (opts.idmap or opts.ridmap or m.get("uidMappings") or m.get("gidMappings")):
        return -1
    linux = config.get("linux") or {}
    uids, gids = m.get("uidMappings"), m.get("gidMappings")
    if bool(uids) != bool(gids):
        raise Error(field, "uidMappings and gidMappings go together")
    if not uids:
        if not any(ns.get("type") == "user" for ns in linux.get("namespaces") or []):
            raise Error(field, "idmap without mappings needs the container to have a user namespace")
        uids, gids = linux.get("uidMappings"), linux.get("gidMappings")
    maps = tuple("".join(f"{x['containerID']} {x['hostID']} {x['size']}\n" for x in ms) for ms in (uids, gids))
    userns = N.rt_userns_fd(maps[0].encode(), maps[1].encode())
    if userns < 0:
        raise Error(f"{field}: idmap user namespace", os.strerror(-userns))
    try:
        tree = N.rt_idmapped_tree(source.encode(), userns, int(opts.recursive), int(opts.ridmap))
    finally:
        os.close(userns)
    if tree < 0:
        raise Error(f"{field}: idmapped mount of {source}", os.strerror(-tree))
    plan.keep_fds.append(tree)
    return tree


def _add_cgroup_view(plan: Plan, dest: str, opts, cgroup, cgroupns: bool) -> None:
    """A `cgroup` mount: the container's own cgroups, read-only if asked.

    In a cgroup namespace (new or joined) the hierarchies are mounted afresh
    from inside it, so the container sees that namespace's view, as runc
    shows it; otherwise the container's own cgroup directories are bound."""
    ro = opts.flags & mountopts.MS_RDONLY
    base = opts.flags & (mountopts.MS_NOSUID | mountopts.MS_NODEV | mountopts.MS_NOEXEC)
    views = cgroup.view_mounts()
    if cgroup.kind == "v2":
        if cgroupns:
            plan.add(N.PLAN_MOUNT, (opts.flags, 0, 0, 0, 0, 0, 0, -1), ("cgroup2", dest, "cgroup2", ""))
        else:
            plan.add(N.PLAN_MOUNT, (mountopts.MS_BIND | mountopts.MS_REC, N.MOUNT_KIND_BIND, ro | base, 0, 0, 0, 0, -1),
                     (views[0][0], dest, "", ""))
        return
    # 0555 as runc leaves it: without CAP_DAC_OVERRIDE nothing is created there.
    plan.add(N.PLAN_MOUNT, (base, 0, 0, 0, 0, 0, 0, -1), ("tmpfs", dest, "tmpfs", "mode=555"))
    hierarchies = {d.dir: d.hierarchy for d in cgroup.driver.dirs}
    for host_dir, name in views:
        if cgroupns:
            options = hierarchies[host_dir].controllers
            data = ",".join(options if any(not o.startswith("name=") for o in options) else ["none", *options])
            plan.add(N.PLAN_MOUNT, (ro | base, 0, 0, 0, 0, 0, 0, -1), ("cgroup", f"{dest}/{name}", "cgroup", data))
            continue
        plan.add(N.PLAN_MOUNT, (mountopts.MS_BIND | mountopts.MS_REC, N.MOUNT_KIND_BIND, ro | base, 0, 0, 0, 0, -1),
                 (host_dir, f"{dest}/{name}", "", ""))
    for link, target in cgroup.view_symlinks():
        plan.add(N.PLAN_SYMLINK, (), (target, f"{dest}/{link}"))
    if ro:
        plan.add(N.PLAN_MOUNT, (base | mountopts.MS_RDONLY, N.MOUNT_KIND_REMOUNT, 0, 0, 0, 0, 0, -1),
                 ("", dest, "", "mode=555"))


def _add_devices(plan: Plan, config: dict, linux: dict) -> None:
    listed = set()
    for i, d in enumerate(linux.get("devices") or []):
        kind = _DEVICE_TYPES.get(d.get("type"))
        if kind is None:
            raise Error(f"linux.devices[{i}].type", f"unknown device type {d.get('type')!r}")
        mode = d.get("fileMode", 0o666)
        plan.add(N.PLAN_DEVICE, (kind, d.get("major", 0), d.get("minor", 0), mode, d.get("uid", 0), d.get("gid", 0)),
                 (d["path"],))
        listed.add(d["path"])
    for path, major, minor in _DEFAULT_DEVICES:
        if path not in listed:
            plan.add(N.PLAN_DEVICE, (stat.S_IFCHR, major, minor, 0o666, 0, 0), (path,))
    for target, link in _DEFAULT_SYMLINKS:
        plan.add(N.PLAN_SYMLINK, (), (target, link))


def _add_process(plan: Plan, process: dict, preserve_fds: int) -> None:
    user = process.get("user") or {}
    if process.get("terminal"):
        size = process.get("consoleSize") or {}
        plan.add(N.PLAN_TERMINAL, (size.get("height", 0), size.get("width", 0)))
    plan.add(N.PLAN_CWD, (), (process["cwd"],))
    umask = user.get("umask", 0o022)
    plan.add(N.PLAN_USER, (user.get("uid", 0), user.get("gid", 0), umask, *(user.get("additionalGids") or [])))
    for i, rl in enumerate(process.get("rlimits") or []):
        number = RLIMITS.get(rl["type"])
        if number is None:
            raise Error(f"process.rlimits[{i}].type", f"unknown rlimit {rl['type']!r}")
        if rl["soft"] > rl["hard"]:
            raise Error(f"process.rlimits[{i}]", f"soft limit {rl['soft']} is above the hard limit {rl['hard']}")
        plan.add(N.PLAN_RLIMIT, (number, rl["soft"], rl["hard"]))
    if process.get("scheduler"):
        plan.add(N.PLAN_SCHEDULER, linux_settings.scheduler(process["scheduler"]))
    if process.get("ioPriority"):
        plan.add(N.PLAN_IOPRIO, (linux_settings.ioprio(process["ioPriority"]),))
    if "oomScoreAdj" in process:
        plan.add(N.PLAN_OOM_SCORE_ADJ, (process["oomScoreAdj"],))
    # Absent capabilities mean none: dropping is the confinement, so nothing
    # is kept that the config does not list.
    caps = process.get("capabilities") or {}
    masks = [capabilities.to_mask(caps.get(s) or [], f"process.capabilities.{s}")
             for s in ("bounding", "effective", "permitted", "inheritable", "ambient")]
    # runc raises only the ambient capabilities that are also permitted and
    # inheritable (the kernel refuses the others); `runtime spec` relies on it.
    masks[4] &= masks[2] & masks[3]
    plan.add(N.PLAN_CAPS, masks)
    if process.get("noNewPrivileges"):
        plan.add(N.PLAN_NO_NEW_PRIVS)
    plan.add(N.PLAN_ENV, (), process.get("env") or [])
    plan.add(N.PLAN_ARGS, (), process["args"])
    plan.add(N.PLAN_PRESERVE_FDS, (preserve_fds,))
