"""cffi builder for runtime._seccomp (run by setuptools at install time, only
when libseccomp's header is there; see setup.py).

A module of its own, not part of runtime._native: only a config with
linux.seccomp pays for loading libseccomp, and the runtime still builds on a
machine without libseccomp-dev. The parent compiles the profile to classic
BPF here; runtime-init stays static and installs the bytes with seccomp(2).
"""

import os

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))

ffibuilder = FFI()
ffibuilder.cdef(
    """
typedef void *scmp_filter_ctx;
typedef uint64_t scmp_datum_t;
enum scmp_compare { SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT,
                    SCMP_CMP_MASKED_EQ, ... };
enum scmp_filter_attr { SCMP_FLTATR_CTL_NNP, ... };
struct scmp_arg_cmp { unsigned int arg; enum scmp_compare op; scmp_datum_t datum_a; scmp_datum_t datum_b; };

#define SCMP_ACT_KILL_PROCESS ...
#define SCMP_ACT_KILL_THREAD ...
#define SCMP_ACT_KILL ...
#define SCMP_ACT_TRAP ...
#define SCMP_ACT_LOG ...
#define SCMP_ACT_ALLOW ...
#define __NR_SCMP_ERROR ...

scmp_filter_ctx seccomp_init(uint32_t def_action);
void seccomp_release(scmp_filter_ctx ctx);
int seccomp_attr_set(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value);
uint32_t seccomp_arch_resolve_name(const char *arch_name);
int seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token);
int seccomp_syscall_resolve_name(const char *name);
int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name);
uint32_t seccomp_arch_native(void);
int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt,
                           const struct scmp_arg_cmp *arg_array);
int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd);

uint32_t rt_act_errno(uint32_t value);
uint32_t rt_act_trace(uint32_t value);
int rt_seccomp_flag_known(unsigned int flags);
"""
)
ffibuilder.set_source(
    "runtime._seccomp",
    r"""
#include <errno.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <seccomp.h>

#ifndef SECCOMP_SET_MODE_FILTER
#define SECCOMP_SET_MODE_FILTER 1
#endif

/* Function-like macros cffi cannot declare. */
static uint32_t rt_act_errno(uint32_t value) { return SCMP_ACT_ERRNO(value); }
static uint32_t rt_act_trace(uint32_t value) { return SCMP_ACT_TRACE(value); }

/* Whether the running kernel knows these filter flags: it checks them
 * before it reads the program, so a NULL program gives EFAULT for known
 * flags and EINVAL for unknown ones, and nothing is installed. */
static int rt_seccomp_flag_known(unsigned int flags)
{
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, NULL) < 0 && errno == EFAULT;
}
""",
    libraries=["seccomp"],
    extra_compile_args=["-O2", "-Wall"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
