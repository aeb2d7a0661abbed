"""cffi builder for runtime._native (run by setuptools at install time).

The protocol constants are read from protocol.h so that Python and C share
one definition."""

import os
import re

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))


def _protocol_constants() -> list[str]:
    with open(os.path.join(HERE, "protocol.h")) as f:
        return re.findall(r"^#define ((?:MSG|PLAN|MOUNT_KIND|SYNC)_\w+)\s", f.read(), re.M)


ffibuilder = FFI()
ffibuilder.cdef(
    "struct rt_spawn_args { int init_fd; int sync_fd; unsigned long clone_flags; int pidns_fd; const int *keep;"
    " int n_keep; int cgroup2_fd; char **tasks_files; int n_tasks; };\n"
    "int rt_spawn(const struct rt_spawn_args *args);\n"
    "int rt_pidfd_send_signal(int pidfd, int sig);\n"
    "int rt_userns_fd(const char *uid_map, const char *gid_map);\n"
    "int rt_idmapped_tree(const char *source, int userns_fd, int recursive_bind, int recursive_idmap);\n"
    "int rt_cgroup_device_filter(int cgroup_fd, const int *rules, int n_rules);\n"
    "int rt_cgroup_device_filters(int cgroup_fd);\n"
    + "".join(f"#define {name} ...\n" for name in _protocol_constants())
)
ffibuilder.set_source(
    "runtime._native",
    '#include "spawn.h"\n#include "syscalls.h"\n#include "cgroup_bpf.h"\n#include "protocol.h"\n',
    sources=[os.path.relpath(os.path.join(HERE, name)) for name in ("spawn.c", "syscalls.c", "cgroup_bpf.c")],
    include_dirs=[os.path.relpath(HERE)],
    extra_compile_args=["-O2", "-Wall"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
