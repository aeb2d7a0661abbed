/* The init's end of the sync socket (framing described in protocol.h). */
#include "init.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static int g_sync = -1;
static int g_fifo = -1; /* after start opened the exec fifo: errors go there */

void sync_init(int fd) { g_sync = fd; }
int sync_fd(void) { return g_sync; }

int read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t r = read(fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

void sync_send(uint32_t type, const void *buf, uint32_t len)
{
    uint32_t hdr[2] = { type, len };
    if (g_sync < 0)
        return;
    if (write_full(g_sync, hdr, sizeof hdr) < 0 || (len && write_full(g_sync, buf, len) < 0))
        _exit(1); /* the parent is gone: nobody is left to report to */
}

void sync_send_fd(uint32_t type, int fd)
{
    uint32_t hdr[2] = { type, 0 };
    struct iovec iov = { .iov_base = hdr, .iov_len = sizeof hdr };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

    memset(u.buf, 0, sizeof u.buf);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    if (sendmsg(g_sync, &msg, MSG_NOSIGNAL) != (ssize_t)sizeof hdr)
        fail_errno(errno, "terminal: send the pty master to the runtime");
}

void sync_report_to_fifo(int fd) { g_fifo = fd; }

void sync_close(void)
{
    if (g_sync >= 0)
        close(g_sync);
    g_sync = -1;
}

static void vreport(int err, const char *fmt, va_list ap)
{
    char msg[4096];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof msg)
        n = sizeof msg - 1;
    if (err)
        n += snprintf(msg + n, sizeof msg - (size_t)n, ": %s", strerror(err));
    if ((size_t)n >= sizeof msg)
        n = sizeof msg - 1;
    if (g_sync >= 0) {
        sync_send(MSG_ERROR, msg, (uint32_t)n);
    } else if (g_fifo >= 0) {
        /* `runtime start` is reading: it reports this instead of "0". */
        if (write_full(g_fifo, "1", 1) < 0 || write_full(g_fifo, msg, (size_t)n) < 0)
            dprintf(2, "runtime: %s\n", msg);
    } else {
        /* After start the caller's stderr is all we have. */
        dprintf(2, "runtime: %s\n", msg);
    }
}

void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(0, fmt, ap);
    va_end(ap);
    _exit(1);
}

void fail_errno(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(err, fmt, ap);
    va_end(ap);
    _exit(1);
}
