/* runtime-init: entry point. See protocol.h for who sends what, when. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static void lo_up(void)
{
    struct ifreq ifr;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (s < 0)
        fail_errno(errno, "network: socket");
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        fail_errno(errno, "network: get lo flags");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        fail_errno(errno, "network: bring lo up");
    close(s);
}

/* A new time namespace: this process enters it at execve, once its clock
 * offsets are written (they can only be written before anything runs in it). */
static void time_namespace(const struct record *r)
{
    char buf[1024];
    size_t len = 0;
    int fd;

    if (unshare(CLONE_NEWTIME) < 0)
        fail_errno(errno, "time namespace: unshare");
    for (uint32_t i = 0; i + 2 < r->n_ints; i += 3)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%d %lld %llu\n", (int)r->ints[i],
                                (long long)(int64_t)r->ints[i + 1], (unsigned long long)r->ints[i + 2]);
    if (len == 0)
        return;
    fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
        fail_errno(errno, "time namespace: write timens_offsets");
    close(fd);
}

static void reset_signals(void)
{
    sigset_t none;
    /* The runtime's Python ignores SIGPIPE; ignored signals survive execve. */
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

int main(int argc, char **argv)
{
    struct plan plan;
    const struct record *r;
    int fd, preserve = 0, exec_fifo_fd = -1;
    char *path, **cargv, **cenvp;

    if (argc != 2) {
        static const char msg[] = "runtime-init: internal helper of runtime; not meant to be run by hand\n";
        if (write(2, msg, sizeof msg - 1) < 0)
            return 2;
        return 2;
    }
    /* No other process may open our /proc/<pid>/exe or memory until execve. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    reset_signals();
    umask(0);
    fd = atoi(argv[1]);
    sync_init(fd);
    plan_read(fd, &plan);

    r = plan_find(&plan, PLAN_PRESERVE_FDS);
    if (r)
        preserve = (int)r->ints[0];
    if (fd < 3 + preserve) {
        int high = fcntl(fd, F_DUPFD_CLOEXEC, 3 + preserve);
        if (high < 0)
            fail_errno(errno, "move sync fd");
        close(fd);
        sync_init(high);
    }
    /* Every fd we inherited beyond the preserved ones (containerd leaks a
     * socket on fd 3) is closed at execve. */
    syscall(SYS_close_range, 3 + preserve, ~0U, CLOSE_RANGE_CLOEXEC);

    cpu_affinity(&plan, 0);
    namespaces_join(&plan);
    if (plan_find(&plan, PLAN_CGROUPNS) && unshare(CLONE_NEWCGROUP) < 0)
        fail_errno(errno, "cgroup namespace: unshare");
    if ((r = plan_find(&plan, PLAN_TIMENS)))
        time_namespace(r);
    if (plan_find(&plan, PLAN_LO_UP))
        lo_up();
    if (plan_find(&plan, PLAN_NEW_KEYRING) && syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 &&
        errno != ENOSYS)
        fail_errno(errno, "join a new session keyring");
    if ((r = plan_find(&plan, PLAN_HOSTNAME)) && sethostname(r->strs[0], strlen(r->strs[0])) < 0)
        fail_errno(errno, "sethostname %s", r->strs[0]);
    if ((r = plan_find(&plan, PLAN_DOMAINNAME)) && setdomainname(r->strs[0], strlen(r->strs[0])) < 0)
        fail_errno(errno, "setdomainname %s", r->strs[0]);

    /* An O_PATH handle, reopened for writing through /proc after pivot. */
    if ((r = plan_find(&plan, PLAN_EXEC_FIFO)))
        exec_fifo_fd = (int)r->ints[0];
    /* Without a rootfs record this is `exec`: the joined mount namespace
     * already is the container's filesystem. */
    if ((r = plan_find(&plan, PLAN_ROOTFS)))
        rootfs_setup(r, &plan);
    /* A session of its own, as runc gives every container process: otherwise
     * `kill(0, sig)` inside reaches the caller's process group, and a
     * terminal could not become the controlling one. */
    if (setsid() < 0)
        fail_errno(errno, "setsid");
    if ((r = plan_find(&plan, PLAN_TERMINAL)))
        terminal_setup(r, plan_find(&plan, PLAN_ROOTFS) != NULL);
    process_prepare(&plan, &path, &cargv, &cenvp);
    process_become_user(&plan);
    cpu_affinity(&plan, 1);
    process_exec(&plan, path, cargv, cenvp, exec_fifo_fd, preserve);
}
