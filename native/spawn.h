#ifndef RUNTIME_SPAWN_H
#define RUNTIME_SPAWN_H

struct rt_spawn_args {
    int init_fd;                /* runtime-init, executed by fd */
    int sync_fd;                /* the child's end of the sync socket */
    unsigned long clone_flags;  /* CLONE_NEW* */
    int pidns_fd;               /* a pid namespace to join, or -1 */
    const int *keep;            /* fds the init inherits besides sync_fd */
    int n_keep;
    int cgroup2_fd;             /* the container's cgroup2 directory, or -1 */
    char **tasks_files;         /* v1 `tasks` files the child joins */
    int n_tasks;
};

/* Returns the child's pid, or -errno. */
int rt_spawn(const struct rt_spawn_args *args);
#endif
