/* Syscalls the Python stdlib lacks (or only reaches through a costly import). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "syscalls.h"

int rt_pidfd_send_signal(int pidfd, int sig)
{
    /* signal.pidfd_send_signal exists, but `import signal` pulls in enum. */
    return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

/* A user namespace fd carrying the given maps, for MOUNT_ATTR_IDMAP: a child
 * unshares it and waits; we write its maps, keep a handle, and end it. */
int rt_userns_fd(const char *uid_map, const char *gid_map)
{
    int pipefd[2], fd = -1, err = 0;
    char path[64];
    pid_t pid;

    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
    pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0) {
        err = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        return -err;
    }
    if (pid == 0) {
        char c;
        close(pipefd[1]);
        (void)!read(pipefd[0], &c, 1); /* until the parent closes its end */
        _exit(0);
    }
    close(pipefd[0]);
    const char *maps[2][2] = { { "uid_map", uid_map }, { "gid_map", gid_map } };
    for (int i = 0; i < 2 && !err; i++) {
        int mfd;
        ssize_t len = (ssize_t)strlen(maps[i][1]);
        snprintf(path, sizeof path, "/proc/%d/%s", pid, maps[i][0]);
        mfd = open(path, O_WRONLY | O_CLOEXEC);
        if (mfd < 0 || write(mfd, maps[i][1], (size_t)len) != len)
            err = errno ? errno : EIO;
        if (mfd >= 0)
            close(mfd);
    }
    if (!err) {
        snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            err = errno;
    }
    close(pipefd[1]);
    waitpid(pid, NULL, 0);
    return err ? -err : fd;
}

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
struct rt_mount_attr {
    unsigned long long attr_set, attr_clr, propagation, userns_fd;
};

/* A detached, idmapped copy of `source` for the init to attach. Made here,
 * by the caller in the host's user namespace: MOUNT_ATTR_IDMAP needs
 * CAP_SYS_ADMIN over the source's superblock, which an init already inside
 * the container's user namespace lacks. */
int rt_idmapped_tree(const char *source, int userns_fd, int recursive_bind, int recursive_idmap)
{
    struct rt_mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (unsigned long long)userns_fd };
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, source,
                            OPEN_TREE_CLONE | O_CLOEXEC | (recursive_bind ? AT_RECURSIVE : 0));

    if (tree < 0)
        return -errno;
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive_idmap ? AT_RECURSIVE : 0), &attr,
                sizeof attr) < 0) {
        int err = errno;
        close(tree);
        return -err;
    }
    return tree;
}
