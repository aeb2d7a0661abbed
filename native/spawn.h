#ifndef RUNTIME_SPAWN_H
#define RUNTIME_SPAWN_H
/* Returns the child's pid, or -errno. */
/* keep: fds the init inherits besides the sync socket. */
int rt_spawn(int init_fd, int sync_fd, unsigned long clone_flags, int pidns_fd, const int *keep, int nkeep);
#endif
