#ifndef RUNTIME_SYSCALLS_H
#define RUNTIME_SYSCALLS_H
/* 0 or -errno. */
int rt_pidfd_send_signal(int pidfd, int sig);
#endif
