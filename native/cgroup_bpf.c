/* The cgroup v2 device controller has no interface files: device access is
 * decided by BPF_PROG_TYPE_CGROUP_DEVICE programs attached to the cgroup. We
 * assemble the program by hand from the rules, so that neither libbpf nor a
 * compiler for BPF is needed at build or run time. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup_bpf.h"

/* How we recognise our own programs among those attached to a cgroup, so
 * that `update` replaces them without detaching anybody else's. At most
 * BPF_OBJ_NAME_LEN - 1 characters of [A-Za-z0-9_.]. */
#define PROG_NAME "runtime_devices"

#define ACC_ALL (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)

/* Registers while the rules run; r1 (the context) is free once these are
 * loaded and serves as scratch. */
#define R_TYPE BPF_REG_2
#define R_ACCESS BPF_REG_3
#define R_MAJOR BPF_REG_4
#define R_MINOR BPF_REG_5
#define R_TMP BPF_REG_1

/* Far more than any container has; keeps the instruction count well inside
 * the verifier's limit and the allocation from overflowing. */
#define MAX_RULES 65536
#define INSNS_PER_RULE 8

static int sys_bpf(int cmd, union bpf_attr *attr)
{
    return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    struct bpf_insn i = { .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
    return i;
}

/* Returns the number of instructions, or -errno. The rules are emitted last
 * to first and the first match returns, which is "last match wins". */
static int assemble(const int *rules, int n_rules, struct bpf_insn *prog)
{
    int n = 0;

    prog[n++] = insn(BPF_LDX | BPF_MEM | BPF_W, R_TYPE, BPF_REG_1,
                     offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
    prog[n++] = insn(BPF_LDX | BPF_MEM | BPF_W, R_MAJOR, BPF_REG_1,
                     offsetof(struct bpf_cgroup_dev_ctx, major), 0);
    prog[n++] = insn(BPF_LDX | BPF_MEM | BPF_W, R_MINOR, BPF_REG_1,
                     offsetof(struct bpf_cgroup_dev_ctx, minor), 0);
    prog[n++] = insn(BPF_ALU | BPF_MOV | BPF_X, R_ACCESS, R_TYPE, 0, 0);
    prog[n++] = insn(BPF_ALU | BPF_RSH | BPF_K, R_ACCESS, 0, 0, 16);
    prog[n++] = insn(BPF_ALU | BPF_AND | BPF_K, R_TYPE, 0, 0, 0xffff);

    for (int r = n_rules - 1; r >= 0; r--) {
        const int *rule = rules + 5 * r;
        int allow = rule[0], type = rule[1], major = rule[2], minor = rule[3], access = rule[4];
        int jumps[INSNS_PER_RULE], n_jumps = 0;

        if ((allow != 0 && allow != 1) || type < 0 || type > BPF_DEVCG_DEV_CHAR
            || major < -1 || minor < -1 || access < 0 || access > ACC_ALL)
            return -EINVAL;

        if (type != 0) {
            jumps[n_jumps++] = n;
            prog[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, R_TYPE, 0, 0, type);
        }
        if (major != -1) {
            jumps[n_jumps++] = n;
            prog[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, R_MAJOR, 0, 0, major);
        }
        if (minor != -1) {
            jumps[n_jumps++] = n;
            prog[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, R_MINOR, 0, 0, minor);
        }
        if (access != ACC_ALL) {
            /* An allow rule must cover every access asked for (open for
             * read and write asks both at once); a deny rule applies as soon
             * as it covers one of them. So "allow c 1:3 rwm" followed by
             * "deny c 1:3 w" refuses O_RDWR and still permits O_RDONLY, as the
             * v1 controller does for the same rules. */
            prog[n++] = insn(BPF_ALU | BPF_MOV | BPF_X, R_TMP, R_ACCESS, 0, 0);
            prog[n++] = insn(BPF_ALU | BPF_AND | BPF_K, R_TMP, 0, 0, allow ? ~access : access);
            jumps[n_jumps++] = n;
            prog[n++] = insn(BPF_JMP | (allow ? BPF_JNE : BPF_JEQ) | BPF_K, R_TMP, 0, 0, 0);
        }
        prog[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, allow);
        prog[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        for (int j = 0; j < n_jumps; j++)
            prog[jumps[j]].off = (int16_t)(n - jumps[j] - 1);

        /* A rule that matches everything shadows all rules before it, and
         * the verifier rejects code that can never run. */
        if (n_jumps == 0)
            return n;
    }
    prog[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
    prog[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    return n;
}

static int load(const struct bpf_insn *prog, int n)
{
    union bpf_attr attr;
    struct rlimit old, inf = { RLIM_INFINITY, RLIM_INFINITY };
    int fd;

    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.expected_attach_type = BPF_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)prog;
    attr.insn_cnt = (uint32_t)n;
    attr.license = (uint64_t)(uintptr_t)"Apache-2.0";
    memcpy(attr.prog_name, PROG_NAME, sizeof PROG_NAME);
    fd = sys_bpf(BPF_PROG_LOAD, &attr);
    /* Before 5.11 BPF memory is charged to RLIMIT_MEMLOCK, whose default is
     * small; lift it for the load only, so that the container (and
     * anything else we start) keeps the limit it would have had. */
    if (fd < 0 && errno == EPERM && getrlimit(RLIMIT_MEMLOCK, &old) == 0
        && old.rlim_cur != RLIM_INFINITY && setrlimit(RLIMIT_MEMLOCK, &inf) == 0) {
        fd = sys_bpf(BPF_PROG_LOAD, &attr);
        int err = errno;
        setrlimit(RLIMIT_MEMLOCK, &old);
        errno = err;
    }
    return fd < 0 ? -errno : fd;
}

/* fds of the device programs we attached to the cgroup earlier. */
static int ours(int cgroup_fd, int **fds_out, int *n_out)
{
    union bpf_attr attr;
    uint32_t cap = 16, cnt;
    uint32_t *ids = NULL;
    int *fds = NULL, n = 0, err = 0;

    for (;;) {
        uint32_t *bigger = realloc(ids, cap * sizeof *ids);
        if (!bigger) {
            err = ENOMEM;
            goto out;
        }
        ids = bigger;
        memset(&attr, 0, sizeof attr);
        attr.query.target_fd = (uint32_t)cgroup_fd;
        attr.query.attach_type = BPF_CGROUP_DEVICE;
        attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
        attr.query.prog_cnt = cap;
        if (sys_bpf(BPF_PROG_QUERY, &attr) == 0)
            break;
        /* More attached than we had room for; prog_cnt says how many. */
        if (errno != ENOSPC || attr.query.prog_cnt <= cap) {
            err = errno;
            goto out;
        }
        cap = attr.query.prog_cnt;
    }
    cnt = attr.query.prog_cnt;
    if (cnt && !(fds = calloc(cnt, sizeof *fds))) {
        err = ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < cnt; i++) {
        struct bpf_prog_info info;
        int fd;

        memset(&attr, 0, sizeof attr);
        attr.prog_id = ids[i];
        fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
        if (fd < 0) {
            if (errno == ENOENT) /* detached and freed since the query */
                continue;
            err = errno;
            goto out;
        }
        memset(&info, 0, sizeof info);
        memset(&attr, 0, sizeof attr);
        attr.info.bpf_fd = (uint32_t)fd;
        attr.info.info_len = sizeof info;
        attr.info.info = (uint64_t)(uintptr_t)&info;
        if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) < 0) {
            err = errno;
            close(fd);
            goto out;
        }
        if (info.type == BPF_PROG_TYPE_CGROUP_DEVICE
            && strncmp(info.name, PROG_NAME, sizeof info.name) == 0)
            fds[n++] = fd;
        else
            close(fd);
    }
out:
    free(ids);
    if (err) {
        while (n > 0)
            close(fds[--n]);
        free(fds);
        return -err;
    }
    *fds_out = fds;
    *n_out = n;
    return 0;
}

int rt_cgroup_device_filter(int cgroup_fd, const int *rules, int n_rules)
{
    union bpf_attr attr;
    struct bpf_insn *prog;
    int *old = NULL, n_old = 0, prog_fd, n, err;

    if (n_rules < 0 || n_rules > MAX_RULES)
        return -EINVAL;
    prog = calloc((size_t)n_rules * INSNS_PER_RULE + 8, sizeof *prog);
    if (!prog)
        return -ENOMEM;
    n = assemble(rules, n_rules, prog);
    if (n < 0) {
        free(prog);
        return n;
    }
    prog_fd = load(prog, n);
    free(prog);
    if (prog_fd < 0)
        return prog_fd;

    err = ours(cgroup_fd, &old, &n_old);
    if (err < 0)
        goto out;

    /* ALLOW_MULTI lets the new program sit beside the old one, so the cgroup
     * is never without a filter while we swap; until the old one goes, a
     * device must pass both. It also leaves programs others attached (to
     * this cgroup or its ancestors) in force. */
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0) {
        err = -errno;
        goto out;
    }
    for (int i = 0; i < n_old; i++) {
        memset(&attr, 0, sizeof attr);
        attr.target_fd = (uint32_t)cgroup_fd;
        attr.attach_bpf_fd = (uint32_t)old[i];
        attr.attach_type = BPF_CGROUP_DEVICE;
        /* ENOENT: a concurrent update got there first. */
        if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT && !err)
            err = -errno;
    }
out:
    for (int i = 0; i < n_old; i++)
        close(old[i]);
    free(old);
    /* The attachment holds its own reference to the program. */
    close(prog_fd);
    return err;
}

int rt_cgroup_device_filters(int cgroup_fd)
{
    int *fds = NULL, n = 0, err = ours(cgroup_fd, &fds, &n);

    if (err < 0)
        return err;
    for (int i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    return n;
}
