/* process.terminal: a pty from the container's own devpts, its slave as the
 * process's stdio and controlling terminal and bound at /dev/console, its
 * master handed to the parent (which passes it to --console-socket). */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

void terminal_setup(const struct record *r, int bind_console)
{
    int master, slave, unlock = 0, console;
    char slave_path[64];

    /* After pivot_root: /dev/ptmx is the container's (pts/ptmx). */
    master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        fail_errno(errno, "terminal: open /dev/ptmx (is devpts mounted at /dev/pts?)");
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
        fail_errno(errno, "terminal: unlock pty");
    slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        fail_errno(errno, "terminal: open pty slave");
    if (r->ints[0] && r->ints[1]) {
        struct winsize ws = { .ws_row = (unsigned short)r->ints[0], .ws_col = (unsigned short)r->ints[1] };
        if (ioctl(master, TIOCSWINSZ, &ws) < 0)
            fail_errno(errno, "terminal: set consoleSize");
    }

    /* Only the container's init owns /dev/console: an exec'd process with a
     * terminal would stack binds on it (and finds it already a pty). */
    if (bind_console) {
        console = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
        if (console < 0)
            fail_errno(errno, "terminal: create /dev/console");
        close(console);
        snprintf(slave_path, sizeof slave_path, "/proc/self/fd/%d", slave);
        if (mount(slave_path, "/dev/console", NULL, MS_BIND, NULL) < 0)
            fail_errno(errno, "terminal: bind the pty at /dev/console");
    }

    sync_send_fd(MSG_PTY_MASTER, master);
    close(master);

    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        fail_errno(errno, "terminal: make it the controlling terminal");
    for (int fd = 0; fd < 3; fd++)
        if (dup2(slave, fd) < 0)
            fail_errno(errno, "terminal: dup2 to fd %d", fd);
    close(slave);
}
