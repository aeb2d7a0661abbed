/*
 * The parent/child protocol, in one place.
 *
 * Processes:
 *   parent  the `runtime create`/`run` Python process.
 *   child   clone()d by rt_spawn() (spawn.c) with the new-namespace flags.
 *           It runs C only: waits for GO, then execve()s runtime-init.
 *   init    runtime-init (init/), pid 1 of the container until it execve()s
 *           the container process.
 *
 * Channel: one AF_UNIX SOCK_STREAM socketpair ("sync"). Frames are
 *   u32 type | u32 length | payload[length]      (host byte order)
 *
 * Order of events:
 *   1. parent  rt_spawn(): clone3() into the container's cgroup2 cgroup; the
 *              child joins its v1 cgroups itself, then blocks reading 1 byte.
 *   2. parent  writes its uid/gid maps (and moves net devices into it).
 *   3. parent  writes the GO byte, then the plan: a sequence of PLAN_* frames
 *              ending with PLAN_END.
 *   4. child   in a new user namespace setresuid/gid(0) (the mapped root),
 *              then execveat(runtime-init fd, [runtime-init, <sync fd>]).
 *   5. init    reads the plan, builds the container (namespaces joined,
 *              mounts, devices, pivot_root, hostname, user, capabilities).
 *   6. init    with a terminal, sends MSG_PTY_MASTER carrying the pty master
 *              (allocated in the container's devpts); the parent passes it
 *              on to --console-socket or keeps it to proxy `run`.
 *      init    with hooks, sends MSG_HOOKS before pivot_root; the parent runs
 *              prestart and createRuntime hooks and answers SYNC_HOOKS_DONE; the
 *              init runs createContainer hooks itself (container namespaces,
 *              host paths still visible), later startContainer hooks.
 *      init    sends MSG_READY and closes its end, or MSG_ERROR(text) and
 *              exits 1. EOF without either means the init died.
 *   7. init    blocks in open(exec fifo, O_WRONLY) until `runtime start`
 *              opens it for reading; runs the startContainer hooks; writes
 *              "0", or "1<error text>" if a hook (or anything up to execve)
 *              failed; keeps the fifo open (O_CLOEXEC) and execve()s the
 *              container process. `start` reads until EOF: EOF after "0"
 *              means the program is running (poststart hooks go now).
 *
 * A PLAN_* payload is generic so that one decoder serves every record:
 *   u32 n_ints | u64 ints[n_ints] | u32 n_strs | (NUL-terminated str)[n_strs]
 * What each int/str means per record type is listed below; Python
 * (runtime/plan.py) writes them, init/plan.c reads them.
 */
#ifndef RUNTIME_PROTOCOL_H
#define RUNTIME_PROTOCOL_H

#define SYNC_GO_BYTE 'G'

/* init -> parent */
#define MSG_READY 1           /* no payload */
#define MSG_ERROR 2           /* payload: one line of text, "context: reason" */
#define MSG_PTY_MASTER 3      /* no payload; the pty master fd rides along as SCM_RIGHTS */
#define MSG_HOOKS 4           /* mounts are done, pivot_root is next: run prestart and
                                 createRuntime hooks, then answer with SYNC_HOOKS_DONE */

/* parent -> init */
#define SYNC_HOOKS_DONE 100        /* answer to MSG_HOOKS; strs: state JSON for createContainer
                                 hooks, state JSON for startContainer hooks (pids as the
                                 container sees them) */
#define PLAN_END 0
#define PLAN_NS_JOIN 1        /* ints: nstype (CLONE_NEW*)   strs: path */
#define PLAN_LO_UP 2          /* bring up lo in a new network namespace */
#define PLAN_HOSTNAME 3       /* strs: name */
#define PLAN_DOMAINNAME 4     /* strs: name */
#define PLAN_ROOTFS 5         /* ints: propagation for "/" before, after pivot (0 = none), readonly, no_pivot
                                 strs: absolute host path of the rootfs */
#define PLAN_MOUNT 6          /* ints: flags, kind (MOUNT_KIND_*), remount_flags, prop1, prop2, attr_set, attr_clr,
                                       idmap user namespace fd (inherited; -1: none)
                                 strs: source, destination (inside the rootfs), fstype, data */
#define PLAN_DEVICE 7         /* ints: S_IFCHR/S_IFBLK/S_IFIFO, major, minor, mode, uid, gid
                                 strs: path inside the rootfs */
#define PLAN_SYMLINK 8        /* strs: target, link path inside the rootfs */
#define PLAN_EXEC_FIFO 9      /* ints: an inherited O_PATH fd of the exec fifo (no path: the
                                 state dir may be closed to a user namespace's root) */
#define PLAN_CWD 10           /* strs: cwd inside the container */
#define PLAN_USER 11          /* ints: uid, gid, umask, additional gids... */
#define PLAN_CAPS 12          /* ints: bounding, effective, permitted, inheritable, ambient */
#define PLAN_NO_NEW_PRIVS 13
#define PLAN_ENV 14           /* strs: KEY=VALUE... */
#define PLAN_ARGS 15          /* strs: argv... */
#define PLAN_PRESERVE_FDS 16  /* ints: n (fds 3..3+n-1 reach the container) */
#define PLAN_NEW_KEYRING 17   /* join a new session keyring */
#define PLAN_MASK 18          /* strs: path inside the rootfs (masked: /dev/null or a read-only tmpfs) */
#define PLAN_READONLY 19      /* strs: path inside the rootfs (bound read-only onto itself) */
#define PLAN_RLIMIT 20        /* ints: resource, soft, hard */
#define PLAN_OOM_SCORE_ADJ 21 /* ints: value (as int64) */
#define PLAN_SYSCTL 22        /* strs: key as a path under /proc/sys (a/b/c), value */
#define PLAN_PERSONALITY 23   /* ints: persona */
#define PLAN_SCHEDULER 24     /* ints: policy, flags, nice (int64), priority, runtime, deadline, period */
#define PLAN_IOPRIO 25        /* ints: ioprio value (class << 13 | level) */
#define PLAN_MEMPOLICY 26     /* ints: mode | flags, maxnode, nodemask words... */
#define PLAN_CGROUPNS 32      /* unshare a cgroup namespace (after the cgroup join, so the
                                 container's own cgroup is its root) */
#define PLAN_HOOKS_SYNC 30    /* stop before pivot_root for the parent's hooks (MSG_HOOKS) */
#define PLAN_HOOK 31          /* ints: 0 createContainer | 1 startContainer, timeout (s, 0 none), n_args
                                 strs: path, args[n_args], env... (run by the init itself) */
#define PLAN_CPU_AFFINITY 29  /* ints: 0 initial | 1 final, mask words... (exec only, per the spec) */
#define PLAN_TERMINAL 28      /* ints: rows, cols (0, 0: leave the size alone) */
#define PLAN_TIMENS 27        /* ints: (clock id, secs (int64), nsecs) per clock: unshare a time namespace */
#define PLAN_SECCOMP 33       /* ints: seccomp(2) filter flags, then the program: each struct sock_filter
                                 (8 bytes: u16 code, u8 jt, u8 jf, u32 k) as one u64, its bytes in host
                                 order (the parent compiled it with libseccomp; the init has none).
                                 Installed before the capabilities are dropped (it needs
                                 CAP_SYS_ADMIN) unless PLAN_NO_NEW_PRIVS is there, then right
                                 before execve, after the exec fifo and startContainer hooks */

/* PLAN_MOUNT kind bits */
#define MOUNT_KIND_BIND 1         /* bind: flags other than MS_BIND|MS_REC need remount_flags pass */
#define MOUNT_KIND_FILE 2         /* destination is created as a file, not a directory */
#define MOUNT_KIND_REMOUNT 4      /* only remount an existing mount point with flags/data */
#define MOUNT_KIND_NO_SYMLINKS 16 /* refuse a destination reached through a symlink (proc, sysfs, /dev) */
#define MOUNT_KIND_TMPCOPYUP 32   /* copy what the tmpfs covers into it */
#define MOUNT_KIND_TREE 64        /* ints[7] is a detached (idmapped) mount the parent made: attach it */

#endif
