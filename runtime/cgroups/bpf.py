"""The cgroup v2 device filter: an eBPF BPF_CGROUP_DEVICE program built and
attached by native code (native/cgroup_bpf.c, rt_cgroup_device_filter)."""

from __future__ import annotations

import os

from ..errors import Error

_TYPES = {"a": 0, "b": 1, "c": 2}
_ACCESS = {"m": 1, "r": 2, "w": 4}      # BPF_DEVCG_ACC_MKNOD/READ/WRITE


def encode(rules) -> list[int]:
    """(allow, type, major, minor, access) -> 5 ints per rule, for the C side."""
    out: list[int] = []
    for allow, typ, major, minor, access in rules:
        out += [1 if allow else 0, _TYPES[typ], major, minor,
                sum(_ACCESS[ch] for ch in access)]
    return out


def attach_device_filter(directory: str, rules, lib=None, ffi=None) -> None:
    if lib is None:
        try:
            from runtime._native import ffi, lib
        except ImportError as e:
            raise Error("cgroup", f"linux.resources.devices on cgroup v2: native module: {e}") from None
    if not hasattr(lib, "rt_cgroup_device_filter"):
        raise Error("cgroup", "linux.resources.devices on cgroup v2 needs the eBPF device "
                              "filter, which this build lacks (native/cgroup_bpf.c)")
    ints = encode(rules)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        err = lib.rt_cgroup_device_filter(fd, ffi.new("int[]", ints), len(rules))
    finally:
        os.close(fd)
    if err < 0:
        raise Error("cgroup", f"attach the eBPF device filter to {directory}: {os.strerror(-err)}")
