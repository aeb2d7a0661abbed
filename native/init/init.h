/* runtime-init: the C that runs between clone() and execve() of the container. */
#ifndef RUNTIME_INIT_H
#define RUNTIME_INIT_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../protocol.h"

struct record {
    uint32_t type;
    uint32_t n_ints;
    uint64_t *ints;
    uint32_t n_strs;
    char **strs;
};

struct plan {
    struct record *recs;
    size_t n;
};

/* sync.c: talking to the parent; fail() reports and exits. */
void sync_init(int fd);
int sync_fd(void);
void sync_send(uint32_t type, const void *buf, uint32_t len);
void sync_send_fd(uint32_t type, int fd);
void sync_close(void);
/* From now on fail() reports through the exec fifo `runtime start` reads. */
void sync_report_to_fifo(int fd);
int read_full(int fd, void *buf, size_t len);
__attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...);
__attribute__((noreturn, format(printf, 2, 3))) void fail_errno(int err, const char *fmt, ...);

/* plan.c */
void plan_read(int fd, struct plan *plan);
void plan_read_one(int fd, uint32_t type, struct record *rec);
const struct record *plan_find(const struct plan *plan, uint32_t type);

/* rootfs.c */
int open_in_root(int rootfd, const char *path, int create, mode_t mode);
void rootfs_setup(const struct record *root, const struct plan *plan);

/* hooks.c */
void hooks_sync(const struct plan *plan);
void hooks_run(const struct plan *plan, uint64_t phase);

/* terminal.c */
void terminal_setup(const struct record *r, int bind_console);

/* seccomp.c */
void seccomp_install(const struct plan *plan);

/* process.c */
void cpu_affinity(const struct plan *plan, uint64_t which);
void namespaces_join(const struct plan *plan);
void process_prepare(const struct plan *plan, char **path_out, char ***argv_out, char ***envp_out);
void process_become_user(const struct plan *plan);
__attribute__((noreturn)) void process_exec(const struct plan *plan, const char *path, char **argv, char **envp, int exec_fifo_fd, int preserve_fds);

#define CREATE_NONE 0
#define CREATE_DIR 1
#define CREATE_FILE 2

#endif
