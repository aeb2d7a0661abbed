/* Syscalls the Python stdlib lacks (or only reaches through a costly import). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "syscalls.h"

int rt_pidfd_send_signal(int pidfd, int sig)
{
    /* signal.pidfd_send_signal exists, but `import signal` pulls in enum. */
    return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}
