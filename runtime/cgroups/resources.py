"""linux.resources -> cgroup file writes, for v1 and v2 (pure: no I/O).

``plan(resources, version_of)`` returns a list of ``Write``s: the controller,
the candidate file names (the first that exists is written) and the value.
``version_of(controller)`` says on which hierarchy a controller lives (1, 2,
or None when it is not available); each section of linux.resources is
translated for the version its controller lives on, so the hybrid layout
(v1 controllers plus hugetlb on cgroup2) needs no code of its own.

"Unset" values are skipped, as runc does, since engines send them for
everything they do not set: Docker and containerd send 0 for memory limits,
cpu.shares, quota, period, blockIO.weight and pids.limit.  Asking for a
limit of a controller that is not available is an error naming it.

File names and formats are the kernel's (Documentation/admin-guide/cgroup-v1/
and cgroup-v2.rst).
"""

from __future__ import annotations

from ..errors import Error

CONTEXT = "cgroup"
MAX_U64 = 2 ** 64 - 1


class Write:
    __slots__ = ("controller", "files", "value", "optional")

    def __init__(self, controller: str, files, value: str, optional: bool = False) -> None:
        self.controller = controller
        self.files = (files,) if isinstance(files, str) else tuple(files)
        self.value = value
        self.optional = optional       # silently skipped when no file exists

    def __repr__(self) -> str:
        return f"Write({self.controller}, {'|'.join(self.files)}, {self.value!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Write) and (self.controller, self.files, self.value) == \
            (other.controller, other.files, other.value)


def _err(reason: str) -> Error:
    return Error(CONTEXT, reason)


def _int(section: str, key: str, v, lo: int | None = None, hi: int | None = None) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise _err(f"linux.resources.{section}.{key}: {v!r} is not an integer")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"{lo if lo is not None else ''}..{hi if hi is not None else ''}"
        raise _err(f"linux.resources.{section}.{key}: {v} is out of range ({rng})")
    return v


def _dict(resources: dict, key: str) -> dict:
    v = resources.get(key)
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise _err(f"linux.resources.{key}: not an object")
    return v


def _need(version_of, controller: str, what: str) -> int:
    v = version_of(controller)
    if v is None:
        raise _err(f"{what} needs the {controller} controller, which is not available "
                   f"(not mounted on cgroup v1 nor enabled on cgroup v2)")
    return v


# -- conversions (the ones runc, crun and the kernel docs agree on) ------------

def shares_to_weight(shares: int) -> int:
    """cpu.shares [2, 262144] -> cpu.weight [1, 10000] (0: unset)."""
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_weight_to_io_weight(weight: int) -> int:
    """blkio.weight [10, 1000] -> io.weight [1, 10000] (0: unset)."""
    if weight == 0:
        return 0
    return 1 + ((weight - 10) * 9999) // 990


def swap_v2(swap: int, limit: int) -> int | None:
    """Spec swap (memory+swap, as v1's memsw) -> memory.swap.max (-1: max).

    None means "leave unset".
    """
    if limit == -1 and swap == 0:
        return -1
    if swap in (-1, 0):
        return swap or None
    if limit in (0, -1):
        raise _err("linux.resources.memory.swap: cannot set a swap limit without a memory limit")
    if swap < limit:
        raise _err(f"linux.resources.memory.swap: {swap} is below the memory limit {limit} "
                   "(swap is memory+swap)")
    return swap - limit


def _max(v: int) -> str:
    return "max" if v == -1 else str(v)


def _limit_v1(v: int) -> str:
    return "-1" if v == -1 else str(v)


# -- sections ------------------------------------------------------------------

def _memory(r: dict, version_of, out: list, warn) -> None:
    m = _dict(r, "memory")
    if not m:
        return
    limit = _int("memory", "limit", m.get("limit"), -1) or 0
    reservation = _int("memory", "reservation", m.get("reservation"), -1) or 0
    swap = _int("memory", "swap", m.get("swap"), -1) or 0
    swappiness = _int("memory", "swappiness", m.get("swappiness"))
    if swappiness is not None and (swappiness < 0 or swappiness > 100):
        if swappiness in (-1, MAX_U64):      # "unset" as some engines send it
            swappiness = None
        else:
            raise _err(f"linux.resources.memory.swappiness: {swappiness} is out of range (0..100)")
    oom_off = m.get("disableOOMKiller")
    hierarchy = m.get("useHierarchy")
    for k in ("kernel", "kernelTCP"):
        if m.get(k):
            warn(f"linux.resources.memory.{k} is deprecated and ignored")
    wanted = limit or reservation or swap or swappiness is not None or oom_off or hierarchy is not None
    if not wanted:
        return
    v = _need(version_of, "memory", "linux.resources.memory")
    if v == 1:
        if limit:
            out.append(Write("memory", "memory.limit_in_bytes", _limit_v1(limit)))
        if swap:
            out.append(Write("memory", "memory.memsw.limit_in_bytes", _limit_v1(swap)))
        if reservation:
            out.append(Write("memory", "memory.soft_limit_in_bytes", _limit_v1(reservation)))
        if swappiness is not None:
            out.append(Write("memory", "memory.swappiness", str(swappiness)))
        if oom_off:
            out.append(Write("memory", "memory.oom_control", "1"))
        if hierarchy is not None:
            out.append(Write("memory", "memory.use_hierarchy", "1" if hierarchy else "0"))
        return
    if limit:
        out.append(Write("memory", "memory.max", _max(limit)))
    sw = swap_v2(swap, limit)
    if sw is not None:
        out.append(Write("memory", "memory.swap.max", _max(sw)))
    if reservation:
        out.append(Write("memory", "memory.low", _max(reservation)))
    if swappiness is not None:
        warn("linux.resources.memory.swappiness has no cgroup v2 equivalent; ignored")
    if oom_off:
        warn("linux.resources.memory.disableOOMKiller has no cgroup v2 equivalent; ignored")
    if hierarchy is False:
        warn("linux.resources.memory.useHierarchy: cgroup v2 is always hierarchical; ignored")


def _cpu(r: dict, version_of, out: list, warn) -> None:
    c = _dict(r, "cpu")
    if not c:
        return
    shares = _int("cpu", "shares", c.get("shares"), 0) or 0
    quota = _int("cpu", "quota", c.get("quota"), -1) or 0
    period = _int("cpu", "period", c.get("period"), 0) or 0
    burst = _int("cpu", "burst", c.get("burst"), 0)
    rt_runtime = _int("cpu", "realtimeRuntime", c.get("realtimeRuntime"), -1) or 0
    rt_period = _int("cpu", "realtimePeriod", c.get("realtimePeriod"), 0) or 0
    idle = _int("cpu", "idle", c.get("idle"), 0, 1)
    cpus = c.get("cpus") or ""
    mems = c.get("mems") or ""
    if shares or quota or period or burst is not None or rt_runtime or rt_period or idle is not None:
        v = _need(version_of, "cpu", "linux.resources.cpu")
        if v == 1:
            if shares:
                out.append(Write("cpu", "cpu.shares", str(shares)))
            if period:
                out.append(Write("cpu", "cpu.cfs_period_us", str(period)))
            if quota:
                out.append(Write("cpu", "cpu.cfs_quota_us", str(quota)))
            if burst is not None:
                out.append(Write("cpu", "cpu.cfs_burst_us", str(burst)))
            if rt_period:
                out.append(Write("cpu", "cpu.rt_period_us", str(rt_period)))
            if rt_runtime:
                out.append(Write("cpu", "cpu.rt_runtime_us", str(rt_runtime)))
            if idle is not None:
                out.append(Write("cpu", "cpu.idle", str(idle)))
        else:
            if rt_runtime or rt_period:
                raise _err("linux.resources.cpu.realtimeRuntime/realtimePeriod: "
                           "cgroup v2 has no realtime cpu controller")
            if shares:
                out.append(Write("cpu", "cpu.weight", str(shares_to_weight(shares))))
            if quota or period:
                out.append(Write("cpu", "cpu.max",
                                 ("max" if quota <= 0 else str(quota)) +
                                 (f" {period}" if period else "")))
            if burst is not None:
                out.append(Write("cpu", "cpu.max.burst", str(burst)))
            if idle is not None:
                out.append(Write("cpu", "cpu.idle", str(idle)))
    if cpus or mems:
        _need(version_of, "cpuset", "linux.resources.cpu.cpus/mems")
        # same names on v1 and v2 (a noprefix v1 mount calls them cpus/mems)
        if cpus:
            out.append(Write("cpuset", ("cpuset.cpus", "cpus"), str(cpus)))
        if mems:
            out.append(Write("cpuset", ("cpuset.mems", "mems"), str(mems)))


def _pids(r: dict, version_of, out: list, warn) -> None:
    p = _dict(r, "pids")
    limit = _int("pids", "limit", p.get("limit"))
    if not limit:
        return
    _need(version_of, "pids", "linux.resources.pids.limit")
    out.append(Write("pids", "pids.max", "max" if limit < 0 else str(limit)))


def _devnum(section: str, d) -> str:
    if not isinstance(d, dict):
        raise _err(f"linux.resources.blockIO.{section}: entries must be objects")
    major = _int(f"blockIO.{section}", "major", d.get("major"), 0)
    minor = _int(f"blockIO.{section}", "minor", d.get("minor"), 0)
    if major is None or minor is None:
        raise _err(f"linux.resources.blockIO.{section}: major and minor are required")
    return f"{major}:{minor}"


_THROTTLE = (("throttleReadBpsDevice", "read_bps_device", "rbps"),
             ("throttleWriteBpsDevice", "write_bps_device", "wbps"),
             ("throttleReadIOPSDevice", "read_iops_device", "riops"),
             ("throttleWriteIOPSDevice", "write_iops_device", "wiops"))


def _blkio(r: dict, version_of, out: list, warn) -> None:
    b = _dict(r, "blockIO")
    weight = _int("blockIO", "weight", b.get("weight"), 0) or 0
    leaf = _int("blockIO", "leafWeight", b.get("leafWeight"), 0) or 0
    devices = b.get("weightDevice") or []
    throttles = {key: b.get(key) or [] for key, _, _ in _THROTTLE}
    if not (weight or leaf or devices or any(throttles.values())):
        return
    for w, name in ((weight, "weight"), (leaf, "leafWeight")):
        if w and not 10 <= w <= 1000:
            raise _err(f"linux.resources.blockIO.{name}: {w} is out of range (10..1000)")
    if version_of("blkio") == 1:
        if weight:
            out.append(Write("blkio", ("blkio.weight", "blkio.bfq.weight"), str(weight)))
        if leaf:
            out.append(Write("blkio", "blkio.leaf_weight", str(leaf)))
        for d in devices:
            num = _devnum("weightDevice", d)
            if d.get("weight"):
                out.append(Write("blkio", ("blkio.weight_device", "blkio.bfq.weight_device"),
                                 f"{num} {d['weight']}"))
            if d.get("leafWeight"):
                out.append(Write("blkio", "blkio.leaf_weight_device", f"{num} {d['leafWeight']}"))
        for key, v1name, _ in _THROTTLE:
            for d in throttles[key]:
                rate = _int(f"blockIO.{key}", "rate", d.get("rate"), 0) or 0
                out.append(Write("blkio", f"blkio.throttle.{v1name}", f"{_devnum(key, d)} {rate}"))
        return
    _need(version_of, "io", "linux.resources.blockIO")
    if leaf:
        warn("linux.resources.blockIO.leafWeight has no cgroup v2 equivalent; ignored")
    if weight:
        out.append(Write("io", "io.weight", f"default {blkio_weight_to_io_weight(weight)}"))
    for d in devices:
        if d.get("weight"):
            out.append(Write("io", "io.weight",
                             f"{_devnum('weightDevice', d)} {blkio_weight_to_io_weight(d['weight'])}"))
    per_dev: dict[str, list[str]] = {}
    for key, _, v2key in _THROTTLE:
        for d in throttles[key]:
            rate = _int(f"blockIO.{key}", "rate", d.get("rate"), 0) or 0
            per_dev.setdefault(_devnum(key, d), []).append(f"{v2key}={rate if rate else 'max'}")
    for num, kv in per_dev.items():
        out.append(Write("io", "io.max", f"{num} {' '.join(kv)}"))


def _hugetlb(r: dict, version_of, out: list, warn) -> None:
    limits = r.get("hugepageLimits") or []
    if not limits:
        return
    v = _need(version_of, "hugetlb", "linux.resources.hugepageLimits")
    for h in limits:
        size = h.get("pageSize") if isinstance(h, dict) else None
        if not isinstance(size, str) or not size or "/" in size or "." in size:
            raise _err(f"linux.resources.hugepageLimits: bad pageSize {size!r}")
        limit = _int("hugepageLimits", "limit", h.get("limit"), 0) or 0
        if v == 1:
            out.append(Write("hugetlb", f"hugetlb.{size}.limit_in_bytes", str(limit)))
        else:
            out.append(Write("hugetlb", f"hugetlb.{size}.max", str(limit)))
            # reservations (Linux >= 5.7); runc sets both to the same limit
            out.append(Write("hugetlb", f"hugetlb.{size}.rsvd.max", str(limit), optional=True))


def _network(r: dict, version_of, out: list, warn) -> None:
    n = _dict(r, "network")
    classid = _int("network", "classID", n.get("classID"), 0, 2 ** 32 - 1)
    prios = n.get("priorities") or []
    if classid:
        if version_of("net_cls") != 1:
            raise _err("linux.resources.network.classID needs the net_cls controller "
                       "(cgroup v1 only), which is not mounted")
        out.append(Write("net_cls", "net_cls.classid", str(classid)))
    if prios:
        if version_of("net_prio") != 1:
            raise _err("linux.resources.network.priorities needs the net_prio controller "
                       "(cgroup v1 only), which is not mounted")
        for p in prios:
            name, prio = p.get("name"), _int("network.priorities", "priority", p.get("priority"), 0)
            if not name or prio is None or " " in name:
                raise _err(f"linux.resources.network.priorities: bad entry {p!r}")
            out.append(Write("net_prio", "net_prio.ifpriomap", f"{name} {prio}"))


def _rdma(r: dict, version_of, out: list, warn) -> None:
    rd = _dict(r, "rdma")
    if not rd:
        return
    _need(version_of, "rdma", "linux.resources.rdma")
    for dev, lim in rd.items():
        if not dev or " " in dev or not isinstance(lim, dict):
            raise _err(f"linux.resources.rdma: bad entry {dev!r}")
        kv = []
        for key, fkey in (("hcaHandles", "hca_handle"), ("hcaObjects", "hca_object")):
            if lim.get(key) is not None:
                kv.append(f"{fkey}={_int('rdma', key, lim[key], 0)}")
        if kv:
            out.append(Write("rdma", "rdma.max", f"{dev} {' '.join(kv)}"))


def _unified(r: dict, version_of, out: list, warn) -> None:
    u = _dict(r, "unified")
    if not u:
        return
    if version_of("") != 2:
        raise _err("linux.resources.unified needs cgroup v2, which is not mounted")
    for key, value in u.items():
        if not key or "/" in key or key in (".", "..") or "." not in key:
            raise _err(f"linux.resources.unified: bad file name {key!r}")
        if key.startswith("cgroup.") and key not in ("cgroup.max.depth", "cgroup.max.descendants"):
            raise _err(f"linux.resources.unified: {key} cannot be set")
        if not isinstance(value, str):
            raise _err(f"linux.resources.unified.{key}: value must be a string")
        ctrl = key.split(".", 1)[0]
        # "@": always the cgroup2 hierarchy, even where ctrl is on v1 (hybrid)
        out.append(Write("@" + ("" if ctrl == "cgroup" else ctrl), key, value))


SECTIONS = (_memory, _cpu, _pids, _blkio, _hugetlb, _network, _rdma, _unified)


def plan(resources: dict | None, version_of, warn=None) -> list[Write]:
    """The writes that apply ``resources`` (devices are handled separately)."""
    out: list[Write] = []
    if not resources:
        return out
    if not isinstance(resources, dict):
        raise _err("linux.resources: not an object")
    warn = warn or (lambda msg: None)
    for section in SECTIONS:
        section(resources, version_of, out, warn)
    return out


# -- devices --------------------------------------------------------------------

# What the spec requires every container to have (config-linux.md "Default
# Devices"), plus /dev/pts/* and /dev/ptmx, /dev/tty, /dev/net/tun as runc.
DEFAULT_ALLOW = (
    ("c", -1, -1, "m"), ("b", -1, -1, "m"),
    ("c", 1, 3, "rwm"), ("c", 1, 5, "rwm"), ("c", 1, 7, "rwm"), ("c", 1, 8, "rwm"),
    ("c", 1, 9, "rwm"), ("c", 5, 0, "rwm"), ("c", 5, 1, "rwm"), ("c", 5, 2, "rwm"),
    ("c", 136, -1, "rwm"), ("c", 10, 200, "rwm"),
)


def device_rules(devices) -> list[tuple[bool, str, int, int, str]]:
    """The effective list: (allow, type a|b|c, major|-1, minor|-1, access).

    Evaluated in order on a deny-all start, last match wins (v1's and the
    eBPF program's semantics); the default devices are always allowed.
    """
    rules: list[tuple[bool, str, int, int, str]] = [(False, "a", -1, -1, "rwm")]
    for d in devices or []:
        if not isinstance(d, dict) or not isinstance(d.get("allow"), bool):
            raise _err(f"linux.resources.devices: bad entry {d!r} (allow is required)")
        typ = d.get("type") or "a"
        if typ not in ("a", "b", "c"):
            raise _err(f"linux.resources.devices: bad type {typ!r}")
        major = -1 if d.get("major") is None else _int("devices", "major", d.get("major"), -1)
        minor = -1 if d.get("minor") is None else _int("devices", "minor", d.get("minor"), -1)
        access = d.get("access") or "rwm"
        if not access or any(ch not in "rwm" for ch in access):
            raise _err(f"linux.resources.devices: bad access {access!r}")
        access = "".join(ch for ch in "rwm" if ch in access)
        rules.append((d["allow"], typ, major, minor, access))
    rules += [(True,) + r for r in DEFAULT_ALLOW]
    return rules


def v1_device_line(typ: str, major: int, minor: int, access: str) -> str:
    if typ == "a":
        return "a"
    return f"{typ} {'*' if major < 0 else major}:{'*' if minor < 0 else minor} {access}"
