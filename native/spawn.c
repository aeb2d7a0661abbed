/* The only C the runtime's Python calls to start a container: clone() with
 * the new namespaces, and in the child nothing but a wait and execve() of
 * runtime-init. See protocol.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "protocol.h"
#include "spawn.h"

static void child(int init_fd, int sync_fd, unsigned long clone_flags, const int *keep, int nkeep)
{
    char fdarg[16];
    char *argv[] = { "runtime-init", fdarg, NULL };
    char *envp[] = { NULL };
    char go;

    /* If `create` dies before the init is ready, the init must die too. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (read(sync_fd, &go, 1) != 1 || go != SYNC_GO_BYTE)
        _exit(1);
    if (fcntl(sync_fd, F_SETFD, 0) < 0)
        _exit(1);
    for (int i = 0; i < nkeep; i++)
        if (fcntl(keep[i], F_SETFD, 0) < 0)
            _exit(1);
    if (clone_flags & CLONE_NEWUSER) {
        /* The parent has written the id maps. Become the namespace's root
         * now: execve recomputes capabilities, and only root keeps them. */
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
            static const char msg[] = "runtime: user namespace: container uid/gid 0 is not mapped\n";
            if (write(2, msg, sizeof msg - 1) < 0)
                _exit(1);
            _exit(1);
        }
    }
    snprintf(fdarg, sizeof fdarg, "%d", sync_fd);
    /* By fd: the init binary may sit where the namespace's root cannot
     * traverse (e.g. under /root); only the file's own mode matters. */
    syscall(SYS_execveat, init_fd, "", argv, envp, AT_EMPTY_PATH);
    _exit(127);
}

int rt_spawn(int init_fd, int sync_fd, unsigned long clone_flags, int pidns_fd, const int *keep, int nkeep)
{
    int own_pidns = -1, err = 0;
    long pid;

    if (pidns_fd >= 0) {
        /* Joining a pid namespace affects children only: enter it for the
         * clone and come back. */
        own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (own_pidns < 0)
            return -errno;
        if (setns(pidns_fd, CLONE_NEWPID) < 0) {
            err = errno;
            close(own_pidns);
            return -err;
        }
    }
    pid = syscall(SYS_clone, clone_flags | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid == 0)
        child(init_fd, sync_fd, clone_flags, keep, nkeep);
    if (pid < 0)
        err = errno;
    if (own_pidns >= 0) {
        setns(own_pidns, CLONE_NEWPID);
        close(own_pidns);
    }
    return pid < 0 ? -err : (int)pid;
}
