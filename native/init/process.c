/* The container process: namespaces joined, identity, capabilities, exec. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

void namespaces_join(const struct plan *plan)
{
    for (size_t i = 0; i < plan->n; i++) {
        const struct record *r = &plan->recs[i];
        int fd;
        if (r->type != PLAN_NS_JOIN)
            continue;
        fd = open(r->strs[0], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            fail_errno(errno, "namespace %s: open", r->strs[0]);
        if (setns(fd, (int)r->ints[0]) < 0)
            fail_errno(errno, "namespace %s: setns", r->strs[0]);
        close(fd);
    }
}

static const char *env_get(char **envp, const char *key)
{
    size_t klen = strlen(key);
    for (; *envp; envp++)
        if (!strncmp(*envp, key, klen) && (*envp)[klen] == '=')
            return *envp + klen + 1;
    return NULL;
}

static int is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

/* exec resolution along the container's PATH, as execvp would, but done
 * before `start` so that a missing binary fails `create`. */
static char *look_path(const char *file, char **envp)
{
    static char buf[PATH_MAX];
    const char *path, *p;

    if (strchr(file, '/')) {
        if (!is_executable_file(file))
            fail_errno(errno ? errno : EACCES, "exec: \"%s\"", file);
        return (char *)file;
    }
    path = env_get(envp, "PATH");
    if (!path)
        path = DEFAULT_PATH;
    for (p = path;;) {
        const char *end = strchrnul(p, ':');
        size_t dlen = (size_t)(end - p);
        if (dlen == 0)
            snprintf(buf, sizeof buf, "./%s", file);
        else
            snprintf(buf, sizeof buf, "%.*s/%s", (int)dlen, p, file);
        if (is_executable_file(buf))
            return buf;
        if (!*end)
            break;
        p = end + 1;
    }
    fail("exec: \"%s\": executable file not found in $PATH", file);
}

/* HOME from the container's /etc/passwd, "/" when there is none (runc does the same). */
static char *home_for(uid_t uid)
{
    static char line[1024];
    static char env[1100];
    const char *home = "/";
    FILE *f = fopen("/etc/passwd", "re");

    if (f) {
        while (fgets(line, sizeof line, f)) {
            char *fields[7];
            char *s = line;
            int n = 0;
            for (; n < 7; n++) {
                fields[n] = s;
                s = strchr(s, ':');
                if (!s) {
                    n++;
                    break;
                }
                *s++ = '\0';
            }
            if (n >= 6 && strtoul(fields[2], NULL, 10) == uid && fields[2][0]) {
                home = fields[5];
                break;
            }
        }
        fclose(f);
    }
    snprintf(env, sizeof env, "HOME=%s", home);
    return env;
}

void process_prepare(const struct plan *plan, char **path_out, char ***argv_out, char ***envp_out)
{
    const struct record *args = plan_find(plan, PLAN_ARGS);
    const struct record *env = plan_find(plan, PLAN_ENV);
    const struct record *cwd = plan_find(plan, PLAN_CWD);
    const struct record *user = plan_find(plan, PLAN_USER);
    char **envp;
    size_t n = env ? env->n_strs : 0;

    if (!args || args->n_strs == 0)
        fail("process.args: empty");
    if (cwd) {
        if (chdir(cwd->strs[0]) < 0)
            fail_errno(errno, "cwd %s: chdir", cwd->strs[0]);
    }
    envp = calloc(n + 2, sizeof(char *));
    if (!envp)
        fail("env: out of memory");
    for (size_t i = 0; i < n; i++)
        envp[i] = env->strs[i];
    if (!env_get(envp, "HOME"))
        envp[n] = home_for(user ? (uid_t)user->ints[0] : 0);
    *argv_out = args->strs;
    *envp_out = envp;
    errno = 0;
    *path_out = look_path(args->strs[0], envp);
}

struct rt_sched_attr {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
    uint32_t sched_util_min, sched_util_max;
};

/* Per-process settings that need no privilege we are about to drop. */
static void apply_process_settings(const struct plan *plan)
{
    const struct record *r;

    if ((r = plan_find(plan, PLAN_PERSONALITY)) && personality((unsigned long)r->ints[0]) < 0)
        fail_errno(errno, "personality %#llx", (unsigned long long)r->ints[0]);
    if ((r = plan_find(plan, PLAN_SCHEDULER))) {
        struct rt_sched_attr attr = {
            .size = sizeof attr,
            .sched_policy = (uint32_t)r->ints[0],
            .sched_flags = r->ints[1],
            .sched_nice = (int32_t)(int64_t)r->ints[2],
            .sched_priority = (uint32_t)r->ints[3],
            .sched_runtime = r->ints[4],
            .sched_deadline = r->ints[5],
            .sched_period = r->ints[6],
        };
        if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
            fail_errno(errno, "scheduler: sched_setattr policy %u", attr.sched_policy);
    }
    if ((r = plan_find(plan, PLAN_IOPRIO)) && syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)r->ints[0]) < 0)
        fail_errno(errno, "ioPriority: ioprio_set");
    if ((r = plan_find(plan, PLAN_MEMPOLICY))) {
        unsigned long mask[64] = { 0 };
        size_t words = r->n_ints - 2;
        if (words > 64)
            fail("memoryPolicy: node mask too large");
        for (size_t i = 0; i < words; i++)
            mask[i] = (unsigned long)r->ints[2 + i];
        if (syscall(SYS_set_mempolicy, (int)r->ints[0], words ? mask : NULL, (unsigned long)r->ints[1]) < 0)
            fail_errno(errno, "memoryPolicy: set_mempolicy");
    }
}

void process_become_user(const struct plan *plan)
{
    apply_process_settings(plan);

    const struct record *user = plan_find(plan, PLAN_USER);
    const struct record *caps = plan_find(plan, PLAN_CAPS);
    uid_t uid = user ? (uid_t)user->ints[0] : 0;
    gid_t gid = user ? (gid_t)user->ints[1] : 0;
    mode_t mask = user ? (mode_t)user->ints[2] : 022;

    for (size_t i = 0; i < plan->n; i++) {
        const struct record *r = &plan->recs[i];
        struct rlimit rl;
        if (r->type != PLAN_RLIMIT)
            continue;
        rl.rlim_cur = (rlim_t)r->ints[1];
        rl.rlim_max = (rlim_t)r->ints[2];
        if (setrlimit((int)r->ints[0], &rl) < 0)
            fail_errno(errno, "rlimit %d (soft %llu, hard %llu; a hard limit above the caller's needs CAP_SYS_RESOURCE)",
                       (int)r->ints[0], (unsigned long long)r->ints[1], (unsigned long long)r->ints[2]);
    }
    const struct record *oom = plan_find(plan, PLAN_OOM_SCORE_ADJ);
    if (oom) {
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%lld", (long long)(int64_t)oom->ints[0]);
        if (fd < 0 || write(fd, buf, (size_t)n) != n)
            fail_errno(errno, "oomScoreAdj %s", buf);
        close(fd);
    }

    /* Without no_new_privs installing a filter needs CAP_SYS_ADMIN: now,
     * before the capabilities go (runc's order). With it, process_exec
     * installs it as late as possible so the fewest syscalls meet it. */
    if (!plan_find(plan, PLAN_NO_NEW_PRIVS))
        seccomp_install(plan);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        fail_errno(errno, "prctl keepcaps");
    if (caps) {
        uint64_t bounding = caps->ints[0];
        /* Dropping the bounding set needs CAP_SETPCAP: do it while root. */
        for (int cap = 0; cap < 64; cap++) {
            if (bounding & (1ULL << cap))
                continue;
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                fail_errno(errno, "capabilities: drop %d from the bounding set", cap);
        }
    }
    if (user) {
        size_t ngroups = user->n_ints - 3;
        gid_t groups[NGROUPS_MAX];
        if (ngroups > NGROUPS_MAX)
            fail("user: too many additional gids");
        for (size_t i = 0; i < ngroups; i++)
            groups[i] = (gid_t)user->ints[3 + i];
        if (setgroups(ngroups, groups) < 0)
            fail_errno(errno, "user: setgroups");
    }
    if (setresgid(gid, gid, gid) < 0)
        fail_errno(errno, "user: setgid %u", gid);
    if (setresuid(uid, uid, uid) < 0)
        fail_errno(errno, "user: setuid %u", uid);
    if (caps) {
        struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct data[2];
        uint64_t eff = caps->ints[1], perm = caps->ints[2], inh = caps->ints[3], amb = caps->ints[4];
        for (int i = 0; i < 2; i++) {
            data[i].effective = (uint32_t)(eff >> (32 * i));
            data[i].permitted = (uint32_t)(perm >> (32 * i));
            data[i].inheritable = (uint32_t)(inh >> (32 * i));
        }
        if (syscall(SYS_capset, &hdr, data) < 0)
            fail_errno(errno, "capabilities: capset");
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
            fail_errno(errno, "capabilities: clear ambient");
        for (int cap = 0; cap < 64; cap++)
            if ((amb & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
                fail_errno(errno, "capabilities: raise ambient %d (it must be permitted and inheritable)", cap);
    }
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        fail_errno(errno, "prctl keepcaps");
    umask(mask);
    if (plan_find(plan, PLAN_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail_errno(errno, "prctl no_new_privs");
}

void cpu_affinity(const struct plan *plan, uint64_t which)
{
    for (size_t i = 0; i < plan->n; i++) {
        const struct record *r = &plan->recs[i];
        cpu_set_t set;
        if (r->type != PLAN_CPU_AFFINITY || r->ints[0] != which)
            continue;
        CPU_ZERO(&set);
        for (uint32_t w = 1; w < r->n_ints; w++)
            for (int b = 0; b < 64; b++)
                if (r->ints[w] & (1ULL << b) && (w - 1) * 64 + b < CPU_SETSIZE)
                    CPU_SET((w - 1) * 64 + b, &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0)
            fail_errno(errno, "execCPUAffinity.%s", which ? "final" : "initial");
    }
}

void process_exec(const struct plan *plan, const char *path, char **argv, char **envp, int exec_fifo_fd, int preserve_fds)
{
    char fifo_path[64];

    if (exec_fifo_fd >= 0) {
        snprintf(fifo_path, sizeof fifo_path, "/proc/self/fd/%d", exec_fifo_fd);
        /* Reopening needs the container's /proc: fail now, not after start. */
        if (access(fifo_path, F_OK) < 0)
            fail_errno(errno, "exec fifo: %s (is /proc mounted in the container?)", fifo_path);
    }
    /* Before READY: once the parent has it, `runtime create` may exit at
     * any moment, and a death signal still armed would kill us with it. */
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    sync_send(MSG_READY, NULL, 0);
    sync_close();

    if (exec_fifo_fd >= 0) {
        /* Blocks until `runtime start` opens the fifo for reading. Then:
         * startContainer hooks, "0" (or "1<error>" from fail()), and the
         * write end stays open until execve closes it (CLOEXEC), so start
         * sees EOF exactly when the user program runs: poststart after it. */
        int w = open(fifo_path, O_WRONLY | O_CLOEXEC);
        if (w < 0)
            fail_errno(errno, "exec fifo: open");
        close(exec_fifo_fd);
        sync_report_to_fifo(w);
        hooks_run(plan, 1);
        if (write(w, "0", 1) != 1)
            fail_errno(errno, "exec fifo: write");
    } else {
        hooks_run(plan, 1);
    }
    syscall(SYS_close_range, 3 + preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
    if (plan_find(plan, PLAN_NO_NEW_PRIVS))
        seccomp_install(plan);
    execve(path, argv, envp);
    fail_errno(errno, "exec %s", path);
}
