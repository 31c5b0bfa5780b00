/* guard.c: what keeps a corrupt input file from taking the process down
 * with it: a watchdog on every HDF5 call and a forked probe of the metadata.
 *
 * DESIGN
 * Both exist because of libhdf5 (1.10, Debian 12), not because of this
 * project's code: fuzzing found corrupt files on which the library loops
 * forever or reads out of bounds. h5in.c calls guard_arm/guard_disarm around
 * its HDF5 calls, guard_note as it starts on each dataset (so a message can
 * name it), and guard_probe before it opens a file for real.
 *
 * Thread safety: process-wide state (the SIGALRM handler, the timeout, the
 * probe's pipe); inputs are opened from the main thread before any worker
 * thread exists, and batch reads come from one thread at a time.
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/input/guard.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The watchdog:
 * libhdf5 can loop forever on some corrupt files (fuzzing found a global-heap
 * loop inside H5Aread of a variable-length string). Every HDF5 call of this
 * module runs under alarm(): if the library does not return in time, the
 * handler prints the usual one-line error and ends the process with status 1
 * (async-signal-safe: write and _exit only). Outputs are unaffected: a run
 * writes into a staging directory that the next run removes. */
static unsigned wd_seconds = 120;
static volatile sig_atomic_t wd_armed;
static const char *volatile wd_path = "-";
static const char *volatile wd_what = "-";

static void wd_write(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void wd_handler(int sig)
{
    (void)sig;
    if (!wd_armed)
        return;
    wd_write("gradcam-study: ");
    wd_write(wd_path);
    wd_write(": ");
    wd_write(wd_what);
    wd_write(": the HDF5 library did not return within the time limit (a corrupt file can make it loop)\n");
    _exit(1);
}

void guard_set_timeout(unsigned seconds)
{
    wd_seconds = seconds;
}

void guard_arm(const char *path, const char *what)
{
    if (!wd_seconds)
        return;
    static int installed;
    if (!installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = wd_handler;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
        installed = 1;
    }
    wd_path = path;
    wd_what = what;
    wd_armed = 1;
    alarm(wd_seconds);
}

void guard_disarm(void)
{
    if (!wd_seconds)
        return;
    alarm(0);
    wd_armed = 0;
}

/* Isolation:
 * libhdf5 1.10 also crashes (out-of-bounds reads in H5HG_read, found by
 * fuzzing) on some corrupt files while converting variable-length strings.
 * So h5in_open first validates the file's metadata in a forked child: the
 * child reports each dataset it starts on through a pipe, then its verdict.
 * If it dies (a signal, a sanitizer abort) or hangs past the watchdog, the
 * parent refuses the file with one line naming the dataset it was reading;
 * the parent itself only reads metadata that the child read without harm.
 * The child's stderr goes to /dev/null (its crash report would be noise).
 * fork happens before any OpenMP thread exists (inputs are opened first). */
static int progress_fd = -1;
static int isolate = 1;

void guard_set_isolation(int on)
{
    isolate = on;
}

static void progress(const char *what)
{
    if (progress_fd < 0)
        return;
    char line[300];
    int n = snprintf(line, sizeof line, "W%s\n", what);
    if (n > 0 && write(progress_fd, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1)) < 0)
        progress_fd = -1;
}

void guard_note(const char *what)
{
    wd_what = what;
    progress(what);
}

int guard_isolation(void)
{
    return isolate;
}

/* Validate path's metadata in a child process. 0: the child opened it
 * cleanly; -1: refused (err set: the child's own message, or its crash). */
int guard_probe(const char *path, guard_open_fn open_fn, char *err, size_t errlen)
{
    int fds[2];
    if (pipe(fds) != 0)
        return 0; /* cannot isolate: fall back to reading in this process */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    if (pid == 0) {
        close(fds[0]);
        int dn = open("/dev/null", O_WRONLY);
        if (dn >= 0)
            dup2(dn, 2);
        progress_fd = fds[1];
        wd_seconds = 0; /* the parent keeps the time */
        char e[GUARD_ERRLEN];
        int rc = open_fn(path, e, sizeof e);
        char line[GUARD_ERRLEN + 8];
        int n = rc == 0 ? snprintf(line, sizeof line, "OK\n")
                        : snprintf(line, sizeof line, "E%s\n", e);
        if (write(fds[1], line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1)) < 0)
            _exit(3);
        _exit(0);
    }
    close(fds[1]);
    char buf[8192], last[300] = "-", verdict[GUARD_ERRLEN + 8] = "";
    size_t have = 0;
    int timed_out = 0;
    for (;;) {
        struct pollfd pf = {fds[0], POLLIN, 0};
        int pr = poll(&pf, 1, wd_seconds ? (int)wd_seconds * 1000 : -1);
        if (pr == 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        ssize_t r = read(fds[0], buf + have, sizeof buf - 1 - have);
        if (r <= 0)
            break;
        have += (size_t)r;
        buf[have] = 0;
        char *nl;
        while ((nl = strchr(buf, '\n')) != NULL) {
            *nl = 0;
            if (buf[0] == 'W')
                snprintf(last, sizeof last, "%.250s", buf + 1);
            else
                snprintf(verdict, sizeof verdict, "%.500s", buf);
            size_t used = (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, have - used + 1);
            have -= used;
        }
        if (have >= sizeof buf - 1)
            have = 0; /* an absurdly long line: drop it */
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out) {
        snprintf(err, errlen, "%s: %s: the HDF5 library did not return within %u s "
                 "(a corrupt file can make it loop)", path, last, wd_seconds);
        return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && verdict[0]) {
        if (!strcmp(verdict, "OK"))
            return 0;
        snprintf(err, errlen, "%s", verdict + 1);
        return -1;
    }
    snprintf(err, errlen, "%s: %s: the HDF5 library crashed reading it (a corrupt file)", path,
             last);
    return -1;
}

