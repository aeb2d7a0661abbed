#ifndef RUNTIME_SPAWN_H
#define RUNTIME_SPAWN_H
/* Returns the child's pid, or -errno. */
int rt_spawn(const char *init_path, int sync_fd, unsigned long clone_flags, int pidns_fd);
#endif
