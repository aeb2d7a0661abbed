/* The container's filesystem: mounts, devices and symlinks inside the rootfs,
 * then pivot_root. Every path inside the rootfs is resolved with openat2()
 * RESOLVE_IN_ROOT, so a symlink planted in the rootfs can never send a mount,
 * a mkdir or a mknod to the host; the mount then targets /proc/self/fd/N. */
#include "init.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef MOUNT_ATTR_SIZE_VER0
struct mount_attr {
    uint64_t attr_set;
    uint64_t attr_clr;
    uint64_t propagation;
    uint64_t userns_fd;
};
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

static int openat_in_root(int rootfd, const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* O_PATH fd of `path` inside the rootfs, creating what is missing (parents as
 * directories, the last one as `create` says). -1 with errno on failure. */
static int open_in_root_depth(int rootfd, const char *path, int create, mode_t mode, int depth);

int open_in_root(int rootfd, const char *path, int create, mode_t mode)
{
    return open_in_root_depth(rootfd, path, create, mode, 0);
}

/* The rest of the path continues from a dangling symlink's target, resolved
 * as if the rootfs were / (what runc's securejoin does): a mount onto
 * /evil -> /host/dir creates rootfs/host/dir, never the host's. */
static int follow_dangling(int rootfd, int parent, const char *comp, const char *prefix, size_t plen,
                           const char *rest, int create, mode_t mode, int depth)
{
    char link[PATH_MAX], next[PATH_MAX];
    ssize_t n;
    int len;

    if (depth >= 40) {
        errno = ELOOP;
        return -1;
    }
    n = readlinkat(parent, comp, link, sizeof link - 1);
    if (n <= 0) {
        errno = ELOOP;
        return -1;
    }
    link[n] = '\0';
    if (link[0] == '/')
        len = snprintf(next, sizeof next, "%s/%s", link, rest);
    else
        len = snprintf(next, sizeof next, "%.*s/%s/%s", (int)(plen - strlen(comp) - 1), prefix, link, rest);
    if (len < 0 || (size_t)len >= sizeof next) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return open_in_root_depth(rootfd, next, create, mode, depth + 1);
}

static int open_in_root_depth(int rootfd, const char *path, int create, mode_t mode, int depth)
{
    char prefix[PATH_MAX] = "";
    size_t plen = 0;
    const char *p = path;
    int parent, fd;

    fd = openat_in_root(rootfd, path[0] ? path : ".", O_PATH);
    if (fd >= 0 || errno != ENOENT || create == CREATE_NONE)
        return fd;

    parent = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
    if (parent < 0)
        return -1;
    while (*p) {
        const char *end;
        size_t clen;
        char comp[NAME_MAX + 1];
        int last;

        while (*p == '/')
            p++;
        end = strchrnul(p, '/');
        clen = (size_t)(end - p);
        if (clen == 0)
            break;
        if (clen > NAME_MAX || plen + clen + 2 > sizeof prefix) {
            close(parent);
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(comp, p, clen);
        comp[clen] = '\0';
        prefix[plen++] = '/';
        memcpy(prefix + plen, comp, clen + 1);
        plen += clen;
        p = end;
        while (*p == '/')
            p++;
        last = (*p == '\0');

        fd = openat_in_root(rootfd, prefix, O_PATH);
        if (fd < 0 && errno == ENOENT) {
            int r;
            if (last && create == CREATE_FILE) {
                r = openat(parent, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
                if (r >= 0)
                    close(r);
            } else {
                r = mkdirat(parent, comp, 0755);
            }
            if (r < 0 && errno != EEXIST) {
                int saved = errno;
                close(parent);
                errno = saved;
                return -1;
            }
            fd = openat_in_root(rootfd, prefix, O_PATH);
            if (fd < 0 && errno == ENOENT) {
                /* it exists but leads nowhere: a dangling symlink */
                fd = follow_dangling(rootfd, parent, comp, prefix, plen, p, create, mode, depth);
                close(parent);
                return fd;
            }
        }
        close(parent);
        if (fd < 0)
            return -1;
        parent = fd;
    }
    return parent;
}

static void fd_path(char *buf, size_t len, int fd)
{
    snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/* The mount flags of the mount at target, as MS_* bits for a remount. */
static unsigned long mounted_flags(const char *target)
{
    static const struct { unsigned long st, ms; } map[] = {
        { ST_NODEV, MS_NODEV }, { ST_NOSUID, MS_NOSUID }, { ST_NOEXEC, MS_NOEXEC },
        { ST_RDONLY, MS_RDONLY }, { ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME },
        { ST_RELATIME, MS_RELATIME },
    };
    struct statvfs st;
    unsigned long flags = 0;

    if (statvfs(target, &st) < 0)
        return 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (st.f_flag & map[i].st)
            flags |= map[i].ms;
    return flags;
}

/* A bind mount ignores ro/nosuid/... until remounted; flags the kernel has
 * locked on the source (e.g. nodev from a user namespace) must be kept. */
static int remount_bind(const char *target, unsigned long flags)
{
    if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags, NULL) == 0)
        return 0;
    if (errno != EPERM)
        return -1;
    return mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags | mounted_flags(target), NULL);
}

/* tmpcopyup: files, directories and symlinks with their modes and owners. */
static void copy_tree(int from, int to, const char *dst)
{
    DIR *d = fdopendir(dup(from));
    struct dirent *e;

    if (!d)
        fail_errno(errno, "mount %s: tmpcopyup: read directory", dst);
    while ((e = readdir(d))) {
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (fstatat(from, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            fail_errno(errno, "mount %s: tmpcopyup: stat %s", dst, e->d_name);
        if (S_ISDIR(st.st_mode)) {
            int sf, tf;
            if (mkdirat(to, e->d_name, st.st_mode & 07777) < 0 && errno != EEXIST)
                fail_errno(errno, "mount %s: tmpcopyup: mkdir %s", dst, e->d_name);
            sf = openat(from, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            tf = openat(to, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sf < 0 || tf < 0)
                fail_errno(errno, "mount %s: tmpcopyup: open %s", dst, e->d_name);
            copy_tree(sf, tf, dst);
            close(sf);
            close(tf);
        } else if (S_ISLNK(st.st_mode)) {
            char link[PATH_MAX];
            ssize_t n = readlinkat(from, e->d_name, link, sizeof link - 1);
            if (n < 0)
                fail_errno(errno, "mount %s: tmpcopyup: readlink %s", dst, e->d_name);
            link[n] = '\0';
            if (symlinkat(link, to, e->d_name) < 0)
                fail_errno(errno, "mount %s: tmpcopyup: symlink %s", dst, e->d_name);
        } else if (S_ISREG(st.st_mode)) {
            int sf = openat(from, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            int tf = openat(to, e->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777);
            char buf[65536];
            ssize_t n;
            if (sf < 0 || tf < 0)
                fail_errno(errno, "mount %s: tmpcopyup: open %s", dst, e->d_name);
            while ((n = read(sf, buf, sizeof buf)) > 0)
                if (write(tf, buf, (size_t)n) != n)
                    fail_errno(errno, "mount %s: tmpcopyup: write %s", dst, e->d_name);
            if (n < 0)
                fail_errno(errno, "mount %s: tmpcopyup: read %s", dst, e->d_name);
            close(sf);
            close(tf);
        } else {
            continue; /* devices, fifos, sockets: not copied, as runc */
        }
        if (fchownat(to, e->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
            fail_errno(errno, "mount %s: tmpcopyup: chown %s", dst, e->d_name);
        if (!S_ISLNK(st.st_mode) && fchmodat(to, e->d_name, st.st_mode & 07777, 0) < 0)
            fail_errno(errno, "mount %s: tmpcopyup: chmod %s", dst, e->d_name);
    }
    closedir(d);
}

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif

/* An idmapped bind arrives as a detached tree the parent made (see
 * rt_idmapped_tree): only attaching it is left to do here. */
static void attach_tree(int tree, int target_fd, const char *dst)
{
    if (syscall(SYS_move_mount, tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        fail_errno(errno, "mount %s: attach the idmapped mount", dst);
    close(tree);
}

static void do_mount(int rootfd, const struct record *r)
{
    unsigned long flags = r->ints[0], kind = r->ints[1], remount = r->ints[2];
    unsigned long props[2] = { r->ints[3], r->ints[4] };
    uint64_t attr_set = r->ints[5], attr_clr = r->ints[6];
    int tree = (int)(int64_t)r->ints[7];
    const char *src = r->strs[0], *dst = r->strs[1], *fstype = r->strs[2], *data = r->strs[3];
    char target[64];
    int fd;

    if (kind & MOUNT_KIND_NO_SYMLINKS) {
        struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS };
        int probe = (int)syscall(SYS_openat2, rootfd, dst, &how, sizeof how);
        if (probe < 0 && errno == ELOOP)
            fail("mount %s: the destination is a symlink in the rootfs; refusing to mount %s through it", dst,
                 fstype[0] ? fstype : src);
        if (probe >= 0)
            close(probe);
    }
    fd = open_in_root(rootfd, dst, (kind & MOUNT_KIND_FILE) ? CREATE_FILE : CREATE_DIR, 0644);
    if (fd < 0)
        fail_errno(errno, "mount %s: create mount point", dst);
    fd_path(target, sizeof target, fd);

    if (kind & MOUNT_KIND_REMOUNT) {
        if (mount(NULL, target, NULL, MS_REMOUNT | flags, data[0] ? data : NULL) < 0)
            fail_errno(errno, "mount %s: remount", dst);
    } else if (kind & MOUNT_KIND_TREE) {
        attach_tree(tree, fd, dst);
    } else if (kind & MOUNT_KIND_BIND) {
        if (mount(src, target, NULL, flags, NULL) < 0)
            fail_errno(errno, "mount %s: bind %s", dst, src);
    } else {
        if (mount(src, target, fstype, flags, data[0] ? data : NULL) < 0)
            fail_errno(errno, "mount %s: mount %s (type %s)", dst, src, fstype);
    }
    if (kind & MOUNT_KIND_TMPCOPYUP) {
        /* fd still names the covered directory; the new tmpfs is reached by path. */
        int from = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int to = open_in_root(rootfd, dst, CREATE_NONE, 0);
        int to_dir = to >= 0 ? openat(to, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (from < 0 || to_dir < 0)
            fail_errno(errno, "mount %s: tmpcopyup: open", dst);
        copy_tree(from, to_dir, dst);
        close(from);
        close(to_dir);
        close(to);
    }
    close(fd);

    if (!remount && !props[0] && !props[1] && !attr_set && !attr_clr)
        return;
    /* The fd above names the covered directory: reopen to reach the new mount. */
    fd = open_in_root(rootfd, dst, CREATE_NONE, 0);
    if (fd < 0)
        fail_errno(errno, "mount %s: reopen", dst);
    fd_path(target, sizeof target, fd);
    if (remount && remount_bind(target, remount) < 0)
        fail_errno(errno, "mount %s: remount bind with its options", dst);
    for (int i = 0; i < 2; i++)
        if (props[i] && mount(NULL, target, NULL, props[i], NULL) < 0)
            fail_errno(errno, "mount %s: set propagation", dst);
    if (attr_set || attr_clr) {
        struct mount_attr attr = { .attr_set = attr_set, .attr_clr = attr_clr };
        if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
            fail_errno(errno, "mount %s: set recursive attributes", dst);
    }
    close(fd);
}

/* Split path into its parent (opened, created if missing) and last name. */
static int open_parent(int rootfd, const char *path, char *name, size_t name_len)
{
    char parent[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t plen = slash ? (size_t)(slash - path) : 0;

    if (!slash || !slash[1] || plen >= sizeof parent || strlen(slash + 1) >= name_len) {
        errno = EINVAL;
        return -1;
    }
    memcpy(parent, path, plen);
    parent[plen] = '\0';
    strcpy(name, slash + 1);
    return open_in_root(rootfd, parent, CREATE_DIR, 0755);
}

static void do_device(int rootfd, const struct record *r)
{
    mode_t type = (mode_t)r->ints[0], mode = (mode_t)r->ints[3];
    dev_t dev = makedev(r->ints[1], r->ints[2]);
    uid_t uid = (uid_t)r->ints[4];
    gid_t gid = (gid_t)r->ints[5];
    const char *path = r->strs[0];
    char name[NAME_MAX + 1];
    int dirfd = open_parent(rootfd, path, name, sizeof name);

    if (dirfd < 0)
        fail_errno(errno, "device %s: create parent directory", path);
    if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
        fail_errno(errno, "device %s: remove existing file", path);
    if (mknodat(dirfd, name, type | (mode & 07777), dev) == 0) {
        /* mknod honours the umask; the config's fileMode must win. */
        if (fchmodat(dirfd, name, mode & 07777, 0) < 0 || fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
            fail_errno(errno, "device %s: set mode and owner", path);
    } else if (errno == EPERM) {
        /* No mknod (a user namespace): bind the host's node instead. */
        char target[64];
        int fd = open_in_root(rootfd, path, CREATE_FILE, 0644);
        if (fd < 0)
            fail_errno(errno, "device %s: create bind target", path);
        fd_path(target, sizeof target, fd);
        if (mount(path, target, NULL, MS_BIND, NULL) < 0)
            fail_errno(errno, "device %s: bind from host", path);
        close(fd);
    } else {
        fail_errno(errno, "device %s: mknod", path);
    }
    close(dirfd);
}

static void do_symlink(int rootfd, const struct record *r)
{
    const char *target = r->strs[0], *path = r->strs[1];
    char name[NAME_MAX + 1];
    int dirfd = open_parent(rootfd, path, name, sizeof name);

    if (dirfd < 0)
        fail_errno(errno, "symlink %s: create parent directory", path);
    if (symlinkat(target, dirfd, name) < 0 && errno != EEXIST)
        fail_errno(errno, "symlink %s -> %s", path, target);
    close(dirfd);
}

static void do_mask(int rootfd, const struct record *r);
static void do_sysctl(int rootfd, const struct record *r);
static void do_readonly(int rootfd, const struct record *r);

static void enter_root(const char *rootfs, int no_pivot)
{
    int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);

    if (newroot < 0 || fchdir(newroot) < 0)
        fail_errno(errno, "rootfs %s: enter", rootfs);
    if (no_pivot) {
        if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
            fail_errno(errno, "rootfs %s: move to /", rootfs);
        if (chroot(".") < 0)
            fail_errno(errno, "rootfs %s: chroot", rootfs);
    } else {
        /* pivot_root(".", ".") stacks the old root on top of the new one;
         * detaching it leaves no path back to the host. */
        int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (oldroot < 0)
            fail_errno(errno, "open old root");
        if (syscall(SYS_pivot_root, ".", ".") < 0)
            fail_errno(errno, "rootfs %s: pivot_root", rootfs);
        if (fchdir(oldroot) < 0)
            fail_errno(errno, "pivot_root: enter old root");
        if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
            fail_errno(errno, "pivot_root: make old root rslave");
        if (umount2(".", MNT_DETACH) < 0)
            fail_errno(errno, "pivot_root: detach old root");
        close(oldroot);
    }
    if (chdir("/") < 0)
        fail_errno(errno, "chdir /");
    close(newroot);
}

void rootfs_setup(const struct record *root, const struct plan *plan)
{
    unsigned long prop_before, prop_after;
    int readonly, no_pivot, rootfd;
    const char *rootfs;

    prop_before = root->ints[0];
    prop_after = root->ints[1];
    readonly = (int)root->ints[2];
    no_pivot = (int)root->ints[3];
    rootfs = root->strs[0];

    /* Nothing mounted from here on may propagate back to the host. */
    if (mount(NULL, "/", NULL, prop_before, NULL) < 0)
        fail_errno(errno, "set propagation of /");
    if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        fail_errno(errno, "rootfs %s: bind onto itself", rootfs);
    rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        fail_errno(errno, "rootfs %s: open", rootfs);

    for (size_t i = 0; i < plan->n; i++) {
        const struct record *r = &plan->recs[i];
        if (r->type == PLAN_MOUNT)
            do_mount(rootfd, r);
        else if (r->type == PLAN_DEVICE)
            do_device(rootfd, r);
        else if (r->type == PLAN_SYMLINK)
            do_symlink(rootfd, r);
        else if (r->type == PLAN_SYSCTL)
            do_sysctl(rootfd, r);
        else if (r->type == PLAN_MASK)
            do_mask(rootfd, r);
        else if (r->type == PLAN_READONLY)
            do_readonly(rootfd, r);
    }
    /* The cwd is created (as runc does) while the rootfs is still writable. */
    const struct record *cwd = plan_find(plan, PLAN_CWD);
    if (cwd) {
        int fd = open_in_root(rootfd, cwd->strs[0], CREATE_DIR, 0755);
        if (fd < 0)
            fail_errno(errno, "cwd %s: create", cwd->strs[0]);
        close(fd);
    }
    close(rootfd);

    hooks_sync(plan);
    hooks_run(plan, 0);
    enter_root(rootfs, no_pivot);
    if (readonly && remount_bind("/", MS_RDONLY) < 0)
        fail_errno(errno, "remount / read-only");
    if (prop_after && mount(NULL, "/", NULL, prop_after, NULL) < 0)
        fail_errno(errno, "set rootfs propagation");
}

/* maskedPaths: files get the host's /dev/null (checked to be the real 1:3, so
 * a node the container planted cannot stand in), directories an empty
 * read-only tmpfs. Missing paths are skipped, as the spec's example
 * (/proc/kcore on kernels without it) needs. */
static void do_mask(int rootfd, const struct record *r)
{
    const char *path = r->strs[0];
    char target[64];
    struct stat st;
    int fd = open_in_root(rootfd, path, CREATE_NONE, 0);

    if (fd < 0) {
        if (errno == ENOENT)
            return;
        fail_errno(errno, "maskedPaths %s: open", path);
    }
    if (fstat(fd, &st) < 0)
        fail_errno(errno, "maskedPaths %s: stat", path);
    fd_path(target, sizeof target, fd);
    if (S_ISDIR(st.st_mode)) {
        if (mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0755") < 0)
            fail_errno(errno, "maskedPaths %s: mount read-only tmpfs", path);
    } else {
        struct stat null_st;
        int null_fd = open("/dev/null", O_PATH | O_CLOEXEC | O_NOFOLLOW);
        char source[64];
        if (null_fd < 0 || fstat(null_fd, &null_st) < 0)
            fail_errno(errno, "maskedPaths %s: open host /dev/null", path);
        if (!S_ISCHR(null_st.st_mode) || major(null_st.st_rdev) != 1 || minor(null_st.st_rdev) != 3)
            fail("maskedPaths %s: host /dev/null is not the null device (1:3)", path);
        fd_path(source, sizeof source, null_fd);
        if (mount(source, target, NULL, MS_BIND, NULL) < 0)
            fail_errno(errno, "maskedPaths %s: bind /dev/null", path);
        close(null_fd);
    }
    close(fd);
}

static void do_readonly(int rootfd, const struct record *r)
{
    const char *path = r->strs[0];
    char target[64];
    int fd = open_in_root(rootfd, path, CREATE_NONE, 0);

    if (fd < 0) {
        if (errno == ENOENT)
            return;
        fail_errno(errno, "readonlyPaths %s: open", path);
    }
    fd_path(target, sizeof target, fd);
    if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
        fail_errno(errno, "readonlyPaths %s: bind onto itself", path);
    close(fd);
    fd = open_in_root(rootfd, path, CREATE_NONE, 0);
    if (fd < 0)
        fail_errno(errno, "readonlyPaths %s: reopen", path);
    fd_path(target, sizeof target, fd);
    /* Read-only on top of what the path already had: a read-only /proc/sys
     * must stay nosuid,nodev,noexec, as runc keeps it. */
    if (remount_bind(target, MS_RDONLY | MS_REC | mounted_flags(target)) < 0)
        fail_errno(errno, "readonlyPaths %s: remount read-only", path);
    close(fd);
}

/* Written through the container's own /proc (already mounted in the rootfs,
 * in its pid namespace) while this process is in the container's network,
 * ipc and uts namespaces, and before readonlyPaths make /proc/sys read-only. */
static void do_sysctl(int rootfd, const struct record *r)
{
    char path[PATH_MAX];
    const char *value = r->strs[1];
    size_t len = strlen(value);
    int fd;

    snprintf(path, sizeof path, "/proc/sys/%s", r->strs[0]);
    fd = openat_in_root(rootfd, path, O_WRONLY);
    if (fd < 0)
        fail_errno(errno, "sysctl %s: open %s (is /proc mounted in the container?)", r->strs[0], path);
    if (write(fd, value, len) != (ssize_t)len)
        fail_errno(errno, "sysctl %s=%s", r->strs[0], value);
    close(fd);
}
