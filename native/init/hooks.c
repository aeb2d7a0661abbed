/* Hooks that run in the container's namespaces (createContainer,
 * startContainer): forked and exec'd by the init, the state on stdin. The
 * parent runs the runtime-namespace ones (prestart, createRuntime). */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *g_state[2]; /* createContainer, startContainer */

void hooks_sync(const struct plan *plan)
{
    static struct record answer;

    if (!plan_find(plan, PLAN_HOOKS_SYNC))
        return;
    sync_send(MSG_HOOKS, NULL, 0);
    plan_read_one(sync_fd(), SYNC_HOOKS_DONE, &answer);
    if (answer.n_strs != 2)
        fail("sync: malformed hook state");
    g_state[0] = answer.strs[0];
    g_state[1] = answer.strs[1];
}

static const char *phase_name(uint64_t phase)
{
    return phase ? "startContainer" : "createContainer";
}

/* Keep the first `cap` bytes of a hook's output for the error message and
 * throw the rest away, so that a chatty hook never blocks on a full pipe. */
static void drain(int fd, char *buf, size_t cap, size_t *len)
{
    char drop[512];

    for (;;) {
        int room = *len < cap;
        ssize_t n = read(fd, room ? buf + *len : drop, room ? cap - *len : sizeof drop);
        if (n <= 0)
            return;
        if (room)
            *len += (size_t)n;
    }
}

static void run_one(const struct record *r)
{
    uint64_t phase = r->ints[0], timeout = r->ints[1], nargs = r->ints[2];
    const char *path = r->strs[0];
    const char *state = g_state[phase] ? g_state[phase] : "{}";
    char *argv[256];
    char **envp = &r->strs[1 + nargs];
    int in[2], out[2], status;
    char output[1024];
    size_t out_len = 0;
    pid_t pid;
    struct timespec start, now;

    if (nargs >= 256)
        fail("%s hook %s: too many arguments", phase_name(phase), path);
    for (uint64_t i = 0; i < nargs; i++)
        argv[i] = r->strs[1 + i];
    if (nargs == 0)
        argv[nargs++] = (char *)path;
    argv[nargs] = NULL;
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0)
        fail_errno(errno, "%s hook %s: pipe", phase_name(phase), path);
    pid = fork();
    if (pid < 0)
        fail_errno(errno, "%s hook %s: fork", phase_name(phase), path);
    if (pid == 0) {
        /* The hook's output is ours (for the error), never the container's stdio. */
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
            _exit(127);
        execve(path, argv, envp);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    /* A hook that does not read its stdin must not block us: ignore EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    if (write(in[1], state, strlen(state)) < 0 && errno != EPIPE)
        fail_errno(errno, "%s hook %s: write state", phase_name(phase), path);
    close(in[1]);
    signal(SIGPIPE, SIG_DFL);

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        pid_t w;

        drain(out[0], output, sizeof output - 1, &out_len);
        w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            fail_errno(errno, "%s hook %s: wait", phase_name(phase), path);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (timeout && (uint64_t)(now.tv_sec - start.tv_sec) >= timeout) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail("%s hook %s: timed out after %llu s", phase_name(phase), path, (unsigned long long)timeout);
        }
        nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    }
    drain(out[0], output, sizeof output - 1, &out_len); /* what it wrote just before exiting */
    close(out[0]);
    output[out_len] = '\0';
    /* One line: the output's newlines would split the caller's error line. */
    for (size_t i = 0; i < out_len; i++)
        if (output[i] == '\n')
            output[i] = (i + 1 == out_len) ? '\0' : ' ';
    if (WIFSIGNALED(status))
        fail("%s hook %s: killed by signal %d%s%s", phase_name(phase), path, WTERMSIG(status),
             out_len ? ": " : "", output);
    if (WEXITSTATUS(status) == 127)
        fail("%s hook %s: exit status 127 (could it be executed?)%s%s", phase_name(phase), path,
             out_len ? ": " : "", output);
    if (WEXITSTATUS(status))
        fail("%s hook %s: exit status %d%s%s", phase_name(phase), path, WEXITSTATUS(status),
             out_len ? ": " : "", output);
}

void hooks_run(const struct plan *plan, uint64_t phase)
{
    for (size_t i = 0; i < plan->n; i++)
        if (plan->recs[i].type == PLAN_HOOK && plan->recs[i].ints[0] == phase)
            run_one(&plan->recs[i]);
}
