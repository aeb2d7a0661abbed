/* Installing the seccomp filter the parent compiled (PLAN_SECCOMP). No
 * libseccomp here: the program arrives as classic BPF, ready for seccomp(2). */
#include "init.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

void seccomp_install(const struct plan *plan)
{
    const struct record *r = plan_find(plan, PLAN_SECCOMP);
    struct sock_filter *insns;
    struct sock_fprog prog;
    size_t n;

    if (!r)
        return;
    if (r->n_ints < 2 || r->n_ints - 1 > BPF_MAXINSNS)
        fail("seccomp: a program of %u instructions", r->n_ints ? r->n_ints - 1 : 0);
    n = r->n_ints - 1;
    /* Each u64 carries one sock_filter's 8 bytes as the parent packed them. */
    _Static_assert(sizeof(struct sock_filter) == sizeof(uint64_t), "sock_filter is 8 bytes");
    insns = calloc(n, sizeof *insns);
    if (!insns)
        fail("seccomp: out of memory");
    memcpy(insns, &r->ints[1], n * sizeof *insns);
    prog.len = (unsigned short)n;
    prog.filter = insns;
    /* seccomp(2), not prctl: only it takes flags (TSYNC, LOG, SPEC_ALLOW). */
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned int)r->ints[0], &prog) < 0)
        fail_errno(errno, "seccomp: install the filter (flags %#llx)", (unsigned long long)r->ints[0]);
    free(insns);
}
