#ifndef RUNTIME_SYSCALLS_H
#define RUNTIME_SYSCALLS_H
/* 0 or -errno. */
int rt_pidfd_send_signal(int pidfd, int sig);
/* An fd of a new user namespace with these maps ("inside outside count\n"...), or -errno. */
int rt_userns_fd(const char *uid_map, const char *gid_map);
/* A detached idmapped copy of source (open_tree + MOUNT_ATTR_IDMAP), or -errno. */
int rt_idmapped_tree(const char *source, int userns_fd, int recursive_bind, int recursive_idmap);
#endif
