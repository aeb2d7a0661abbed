/* The only C the runtime's Python calls to start a container process:
 * clone3() with the new namespaces (straight into the container's cgroup2
 * cgroup), and in the child only cgroup v1 joins, a wait and execve() of
 * runtime-init. See protocol.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "protocol.h"
#include "spawn.h"

/* <linux/sched.h> would clash with <sched.h>; clone3's ABI is stable. */
struct clone3_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

static void die(const char *what)
{
    char msg[256];
    int n = snprintf(msg, sizeof msg, "runtime: %s: %s\n", what, strerror(errno));
    if (write(2, msg, (size_t)n) < 0)
        _exit(1);
    _exit(1);
}

static void child(const struct rt_spawn_args *a)
{
    char fdarg[16];
    char *argv[] = { "runtime-init", fdarg, NULL };
    char *envp[] = { NULL };
    char go;

    /* If `create` dies before the init is ready, the init must die too. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    /* Joining by writing "0" to a v1 `tasks` file moves only this thread,
     * which skips the global threadgroup lock and its RCU grace period
     * (~10 ms per create otherwise); a fresh child is a single thread. */
    for (int i = 0; i < a->n_tasks; i++) {
        int fd = open(a->tasks_files[i], O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1) {
            char what[300];
            snprintf(what, sizeof what, "cgroup: join %s", a->tasks_files[i]);
            die(what);
        }
        close(fd);
    }
    if (read(a->sync_fd, &go, 1) != 1 || go != SYNC_GO_BYTE)
        _exit(1);
    if (fcntl(a->sync_fd, F_SETFD, 0) < 0)
        _exit(1);
    for (int i = 0; i < a->n_keep; i++)
        if (fcntl(a->keep[i], F_SETFD, 0) < 0)
            _exit(1);
    if (a->clone_flags & CLONE_NEWUSER) {
        /* The parent has written the id maps. Become the namespace's root
         * now: execve recomputes capabilities, and only root keeps them. */
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
            die("user namespace: become the mapped root (is container id 0 mapped?)");
    }
    snprintf(fdarg, sizeof fdarg, "%d", a->sync_fd);
    /* By fd: the init binary may sit where the namespace's root cannot
     * traverse (e.g. under /root); only the file's own mode matters. */
    syscall(SYS_execveat, a->init_fd, "", argv, envp, AT_EMPTY_PATH);
    die("execute runtime-init");
}

int rt_spawn(const struct rt_spawn_args *a)
{
    struct clone3_args ca;
    int own_pidns = -1, err = 0;
    long pid;

    if (a->pidns_fd >= 0) {
        /* Joining a pid namespace affects children only: enter it for the
         * clone and come back. */
        own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (own_pidns < 0)
            return -errno;
        if (setns(a->pidns_fd, CLONE_NEWPID) < 0) {
            err = errno;
            close(own_pidns);
            return -err;
        }
    }
    memset(&ca, 0, sizeof ca);
    ca.flags = a->clone_flags;
    ca.exit_signal = SIGCHLD;
    if (a->cgroup2_fd >= 0) {
        /* Born in its cgroup2 cgroup: no migration at all. */
        ca.flags |= CLONE_INTO_CGROUP;
        ca.cgroup = (uint64_t)a->cgroup2_fd;
    }
    pid = syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0)
        child(a);
    if (pid < 0)
        err = errno;
    if (own_pidns >= 0) {
        setns(own_pidns, CLONE_NEWPID);
        close(own_pidns);
    }
    return pid < 0 ? -err : (int)pid;
}
