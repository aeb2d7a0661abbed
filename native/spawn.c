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

static void child(const char *init_path, int sync_fd)
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
    snprintf(fdarg, sizeof fdarg, "%d", sync_fd);
    execve(init_path, argv, envp);
    _exit(127);
}

int rt_spawn(const char *init_path, int sync_fd, unsigned long clone_flags, int pidns_fd)
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
        child(init_path, sync_fd);
    if (pid < 0)
        err = errno;
    if (own_pidns >= 0) {
        setns(own_pidns, CLONE_NEWPID);
        close(own_pidns);
    }
    return pid < 0 ? -err : (int)pid;
}
