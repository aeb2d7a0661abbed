"""Usage numbers in runc's `events --stats` shape (runc's types/events.go).

Each part is read from the hierarchy its controller lives on, in that
version's files; missing files (controller absent, older kernel) leave
their part out or zero, as runc does.
"""

from __future__ import annotations

import os

from .fs import read

MAX_U64 = 2 ** 64 - 1
_USER_HZ = 100


def _read(d, name: str) -> str | None:
    try:
        return read(d.file(name))
    except OSError:
        return None


def _num(d, name: str, default: int = 0) -> int:
    text = _read(d, name)
    if text is None:
        return default
    text = text.strip()
    if text == "max":
        return MAX_U64
    try:
        return int(text)
    except ValueError:
        return default


def _kv(text: str | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        k, _, v = line.partition(" ")
        try:
            out[k] = int(v.strip())
        except ValueError:
            pass
    return out


def _entry(d, prefix: str, v1: bool) -> dict:
    if v1:
        return {"limit": _num(d, prefix + "limit_in_bytes"), "usage": _num(d, prefix + "usage_in_bytes"),
                "max": _num(d, prefix + "max_usage_in_bytes"), "failcnt": _num(d, prefix + "failcnt")}
    return {}


def collect(driver) -> dict:
    out: dict = {"cpu": {}, "memory": {}, "pids": {}, "blkio": {}, "hugetlb": {}}
    ver = driver.version_of
    if ver("cpu") or ver("cpuacct"):
        out["cpu"] = _cpu(driver)
    elif ver("") == 2:
        # cpu.stat's usage lines exist in every cgroup2 cgroup, cpu
        # controller or not (runc reads them the same way).
        out["cpu"] = _cpu_v2(driver.dir_for_read(""))
    if ver("memory"):
        out["memory"] = _memory(driver.dir_for_read("memory"), ver("memory") == 1)
    if ver("pids"):
        d = driver.dir_for_read("pids")
        limit = _num(d, "pids.max")
        out["pids"] = {"current": _num(d, "pids.current"), "limit": 0 if limit == MAX_U64 else limit}
    else:
        out["pids"] = {"current": len(driver.pids())}
    if ver("blkio") == 1:
        out["blkio"] = _blkio_v1(driver.dir_for_read("blkio"))
    elif ver("io"):
        out["blkio"] = _io_v2(driver.dir_for_read("io"))
    if ver("hugetlb"):
        out["hugetlb"] = _hugetlb(driver.dir_for_read("hugetlb"), ver("hugetlb") == 1)
    return out


def _cpu(driver) -> dict:
    usage: dict = {}
    throttling: dict = {}
    if driver.version_of("cpu") == 2:
        return _cpu_v2(driver.dir_for_read("cpu"))
    if driver.version_of("cpuacct"):
        d = driver.dir_for_read("cpuacct")
        st = _kv(_read(d, "cpuacct.stat"))
        usage = {"total": _num(d, "cpuacct.usage"),
                 "percpu": [int(x) for x in (_read(d, "cpuacct.usage_percpu") or "").split()],
                 "kernel": st.get("system", 0) * (10 ** 9 // _USER_HZ),
                 "user": st.get("user", 0) * (10 ** 9 // _USER_HZ)}
        for name, key in (("cpuacct.usage_percpu_sys", "percpu_kernel"),
                          ("cpuacct.usage_percpu_user", "percpu_user")):
            text = _read(d, name)
            if text:
                usage[key] = [int(x) for x in text.split()]
    if driver.version_of("cpu"):
        st = _kv(_read(driver.dir_for_read("cpu"), "cpu.stat"))
        throttling = {"periods": st.get("nr_periods", 0), "throttled_periods": st.get("nr_throttled", 0),
                      "throttled_time": st.get("throttled_time", 0)}
    return {"usage": usage, "throttling": throttling}


def _cpu_v2(d) -> dict:
    st = _kv(_read(d, "cpu.stat"))
    usage = {"total": st.get("usage_usec", 0) * 1000, "kernel": st.get("system_usec", 0) * 1000,
             "user": st.get("user_usec", 0) * 1000}
    throttling = {"periods": st.get("nr_periods", 0), "throttled_periods": st.get("nr_throttled", 0),
                  "throttled_time": st.get("throttled_usec", 0) * 1000}
    return {"usage": usage, "throttling": throttling}


def _memory(d, v1: bool) -> dict:
    raw = _kv(_read(d, "memory.stat"))
    if v1:
        return {"cache": raw.get("total_cache", raw.get("cache", 0)),
                "usage": _entry(d, "memory.", True), "swap": _entry(d, "memory.memsw.", True),
                "kernel": _entry(d, "memory.kmem.", True), "kernelTCP": _entry(d, "memory.kmem.tcp.", True),
                "raw": raw}
    usage = _num(d, "memory.current")
    events = _kv(_read(d, "memory.events"))
    mem = {"limit": _num(d, "memory.max", MAX_U64), "usage": usage,
           "max": _num(d, "memory.peak"), "failcnt": events.get("max", 0)}
    swap = {"limit": _num(d, "memory.swap.max", MAX_U64),
            "usage": _num(d, "memory.swap.current") + usage,
            "max": _num(d, "memory.swap.peak"), "failcnt": 0}
    return {"cache": raw.get("file", 0), "usage": mem, "swap": swap,
            "kernel": {"limit": 0, "usage": raw.get("kernel", 0), "max": 0, "failcnt": 0},
            "kernelTCP": {"limit": 0, "usage": raw.get("sock", 0), "max": 0, "failcnt": 0},
            "raw": raw}


def _blkio_lines(text: str | None) -> list[dict]:
    out = []
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) != 3 or ":" not in parts[0]:
            continue                       # "Total N"
        major, _, minor = parts[0].partition(":")
        out.append({"major": int(major), "minor": int(minor), "op": parts[1], "value": int(parts[2])})
    return out


def _blkio_v1(d) -> dict:
    out = {}
    for key, names in (("ioServiceBytesRecursive", ("blkio.io_service_bytes_recursive",
                                                   "blkio.throttle.io_service_bytes_recursive")),
                       ("ioServicedRecursive", ("blkio.io_serviced_recursive",
                                                "blkio.throttle.io_serviced_recursive"))):
        for n in names:
            text = _read(d, n)
            if text is not None:
                out[key] = _blkio_lines(text)
                break
    return out


def _io_v2(d) -> dict:
    """io.stat: "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0"."""
    sb: list[dict] = []
    sd: list[dict] = []
    for line in (_read(d, "io.stat") or "").splitlines():
        parts = line.split()
        if not parts or ":" not in parts[0]:
            continue
        major, _, minor = parts[0].partition(":")
        kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        for target, rk, wk in ((sb, "rbytes", "wbytes"), (sd, "rios", "wios")):
            r, w = int(kv.get(rk, 0)), int(kv.get(wk, 0))
            for op, v in (("Read", r), ("Write", w), ("Total", r + w)):
                target.append({"major": int(major), "minor": int(minor), "op": op, "value": v})
    return {"ioServiceBytesRecursive": sb, "ioServicedRecursive": sd}


def _page_sizes(d, suffix: str) -> list[str]:
    try:
        names = os.listdir(d.dir)
    except OSError:
        return []
    return sorted(n[len("hugetlb."):-len(suffix)] for n in names
                  if n.startswith("hugetlb.") and n.endswith(suffix) and ".rsvd." not in n)


def _hugetlb(d, v1: bool) -> dict:
    out = {}
    if v1:
        for size in _page_sizes(d, ".limit_in_bytes"):
            p = f"hugetlb.{size}."
            out[size] = {"usage": _num(d, p + "usage_in_bytes"), "max": _num(d, p + "max_usage_in_bytes"),
                         "failcnt": _num(d, p + "failcnt")}
        return out
    for size in _page_sizes(d, ".max"):
        p = f"hugetlb.{size}."
        out[size] = {"usage": _num(d, p + "current"), "max": _num(d, p + "max"),
                     "failcnt": _kv(_read(d, p + "events")).get("max", 0)}
    return out


def oom_count(driver) -> int:
    """OOM kills in the container's memory cgroup (0 without the controller)."""
    v = driver.version_of("memory")
    if v == 1:
        return _kv(_read(driver.dir_for_read("memory"), "memory.oom_control")).get("oom_kill", 0)
    if v == 2:
        return _kv(_read(driver.dir_for_read("memory"), "memory.events")).get("oom_kill", 0)
    return 0
