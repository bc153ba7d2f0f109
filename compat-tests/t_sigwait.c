/*
 * t_sigwait.c - a handled signal that reaches a door client at any moment
 * of its wait for a call that a server thread has taken ends that call
 * with EINTR at once, as on illumos.
 *
 *  - signal_after_take: the server's procedure (in another process) marks
 *    that it runs, and a thread of the client signals the calling thread
 *    as soon as it sees the mark: the signal lands while the caller still
 *    spins, looks at the channel, or already sleeps.  Every call must
 *    fail with EINTR; a signal that went unnoticed shows as a call that
 *    completes normally once the procedure gives up waiting (3 s).
 *  - signal_blocked: a caller that blocks the signal is not interrupted
 *    by it (the call completes when the procedure returns).
 *  - signal_queue_full: a door with no server thread at all; calls with
 *    large arguments fill its queue, so a further call waits for room to
 *    send.  A handled signal (SA_RESTART) ends every one of these calls
 *    with EAGAIN (no server thread ever took them), the one waiting to
 *    send included.
 *  - sigterm_queue_full: the same wait to send, in a process whose other
 *    threads block SIGTERM: an unhandled SIGTERM still ends the process.
 *
 * Runs with and without the fast path (LIBDOOR_FASTPATH=0).
 */
#define _GNU_SOURCE
#include <door.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "harness.h"

#define ROUNDS 400

struct shm {
    volatile int entered; /* procedures entered */
    volatile int release; /* the procedure for this round may return */
};

static struct shm *sh;
static volatile int handled;

static void on_usr1(int s) {
    (void)s;
    handled++;
}

/* Waits (3 s at most) until the client releases this round, then returns. */
static void proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp, uint_t n_desc) {
    int round = 0, i;

    (void)cookie;
    (void)dp;
    (void)n_desc;
    if (argp != DOOR_UNREF_DATA && arg_size >= sizeof(int))
        memcpy(&round, argp, sizeof(int));
    __atomic_add_fetch(&sh->entered, 1, __ATOMIC_SEQ_CST);
    for (i = 0; i < 30000 && sh->release < round; i++)
        usleep(100);
    (void)door_return(NULL, 0, NULL, 0);
}

static pid_t fork_server(int *door) {
    int sv[2], d;
    pid_t pid;

    *door = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return (-1);
    pid = harness_fork();
    if (pid == 0) {
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(sv[0]);
        d = door_create(proc, NULL, 0);
        if (d < 0 || send_fd(sv[1], d) != 0)
            _exit(1);
        for (;;)
            pause();
    }
    close(sv[1]);
    if (pid > 0)
        *door = recv_fd(sv[0]);
    close(sv[0]);
    return (pid);
}

struct signaller {
    pthread_t target;
    volatile int from; /* sh->entered before the round's call */
    volatile int go;   /* a round is armed */
    volatile int quit;
};

/* Signals the target as soon as the round's procedure runs. */
static void *signaller_main(void *arg) {
    struct signaller *s = arg;
    int i;

    while (!s->quit) {
        if (!s->go) {
            sched_yield();
            continue;
        }
        for (i = 0; i < 3000000 && sh->entered == s->from; i++)
            sched_yield();
        s->go = 0;
        (void)pthread_kill(s->target, SIGUSR1);
    }
    return (NULL);
}

static int call_round(int fd, int round) {
    door_arg_t a;
    char rbuf[64];

    memset(&a, 0, sizeof(a));
    a.data_ptr = (char *)&round;
    a.data_size = sizeof(round);
    a.rbuf = rbuf;
    a.rsize = sizeof(rbuf);
    return (door_call(fd, &a));
}

static void test_signal_after_take(void) {
    struct signaller s;
    pthread_t th;
    int fd, round, rc, e, intr = 0, lost = 0, other = 0;
    pid_t pid;

    pid = fork_server(&fd);
    REQUIRE(pid > 0 && fd >= 0);
    memset(&s, 0, sizeof(s));
    s.target = pthread_self();
    REQUIRE(pthread_create(&th, NULL, signaller_main, &s) == 0);
    sh->release = 0;
    for (round = 1; round <= ROUNDS; round++) {
        /* Two quick calls first: the fast path's channel is set up (a
         * call that was interrupted leaves it) and a server thread parks
         * on it, so the signalled call is a fast-path one. */
        if (call_round(fd, 0) != 0 || call_round(fd, 0) != 0)
            other++;
        s.from = sh->entered;
        __atomic_store_n(&s.go, 1, __ATOMIC_SEQ_CST);
        errno = 0;
        rc = call_round(fd, round);
        e = errno;
        while (s.go) /* the signal went out */
            sched_yield();
        sh->release = round;
        if (rc == -1 && e == EINTR)
            intr++;
        else if (rc == 0)
            lost++;
        else
            other++;
    }
    s.quit = 1;
    pthread_join(th, NULL);
    NOTE("%d rounds: %d EINTR, %d completed (signal unnoticed), %d other", ROUNDS, intr, lost,
         other);
    CHECK_EQ(lost, 0);
    CHECK_EQ(other, 0);
    CHECK_EQ(intr, ROUNDS);
    CHECK_EQ(close(fd), 0);
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
        ;
}

static void test_signal_blocked(void) {
    sigset_t set, old;
    int fd, i, rc;
    pid_t pid;

    pid = fork_server(&fd);
    REQUIRE(pid > 0 && fd >= 0);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    for (i = 0; i < 3; i++) {
        int from = sh->entered, n;

        sh->release = 0;
        /* The procedure waits for release; signal while it does. */
        if (fork() == 0) {
            for (n = 0; n < 200000 && sh->entered == from; n++)
                usleep(100);
            (void)kill(getppid(), SIGUSR1);
            usleep(20000);
            sh->release = 1000;
            _exit(0);
        }
        rc = call_round(fd, 1000);
        CHECK_EQ(rc, 0);
        while (wait(NULL) == -1 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    CHECK(handled > 0); /* delivered once unblocked */
    CHECK_EQ(close(fd), 0);
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
        ;
}

/* A door of a process that has no server thread (the creation function
 * makes none): calls to it are never taken. */
static void no_threads(door_info_t *di) {
    (void)di;
}

static pid_t fork_threadless_server(int *door) {
    int sv[2], d;
    pid_t pid;

    *door = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return (-1);
    pid = harness_fork();
    if (pid == 0) {
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(sv[0]);
        (void)door_server_create(no_threads);
        d = door_create(proc, NULL, 0);
        if (d < 0 || send_fd(sv[1], d) != 0)
            _exit(1);
        for (;;)
            pause();
    }
    close(sv[1]);
    if (pid > 0)
        *door = recv_fd(sv[0]);
    close(sv[0]);
    return (pid);
}

#define BIG     (128 * 1024) /* the largest call sent in one message */
#define FILLERS 3

struct filler {
    pthread_t th;
    int fd;
    volatile int done;
    int rc, err;
};

static void *filler_main(void *arg) {
    struct filler *f = arg;
    door_arg_t a;
    char *buf = calloc(1, BIG);

    memset(&a, 0, sizeof(a));
    a.data_ptr = buf;
    a.data_size = BIG;
    f->rc = door_call(f->fd, &a);
    f->err = errno;
    free(buf);
    __atomic_store_n(&f->done, 1, __ATOMIC_SEQ_CST);
    return (NULL);
}

/* Bytes this process sent on the door that its server has not read. */
static int unread(int fd) {
    int n = 0;

    return (ioctl(fd, TIOCOUTQ, &n) == 0 ? n : -1);
}

static void test_signal_queue_full(void) {
    struct filler f[FILLERS];
    int fd, i, n, left;
    pid_t pid;

    pid = fork_threadless_server(&fd);
    REQUIRE(pid > 0 && fd >= 0);
    handled = 0;
    for (i = 0; i < FILLERS; i++) {
        memset(&f[i], 0, sizeof(f[i]));
        f[i].fd = fd;
        REQUIRE(pthread_create(&f[i].th, NULL, filler_main, &f[i]) == 0);
    }
    /* Until every call ends (or 10 s): wait for the queue to hold two
     * calls (the third cannot be sent), then signal the callers left. */
    for (n = 0; n < 100000 && unread(fd) < 2 * 128 * 1024; n++)
        usleep(100);
    for (n = 0, left = FILLERS; n < 100 && left > 0; n++) {
        for (i = 0, left = 0; i < FILLERS; i++)
            if (!f[i].done) {
                left++;
                (void)pthread_kill(f[i].th, SIGUSR1);
            }
        usleep(100000);
    }
    CHECK_EQ(left, 0);
    if (left > 0) {
        NOTE("%d call(s) still waiting 10 s after the first signal", left);
        (void)kill(pid, SIGKILL); /* the door goes: they end */
    }
    for (i = 0; i < FILLERS; i++) {
        pthread_join(f[i].th, NULL);
        CHECK_EQ(f[i].rc, -1);
        if (left == 0)
            CHECK_EQ(f[i].err, EAGAIN);
    }
    CHECK(handled > 0);
    CHECK_EQ(close(fd), 0);
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
        ;
}

/* The state letter of /proc/PID/stat ('S': sleeping), or 0. */
static char proc_state(pid_t pid) {
    char path[64], buf[256], *p;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return (0);
    p = fgets(buf, sizeof(buf), f);
    fclose(f);
    if (p == NULL || (p = strrchr(buf, ')')) == NULL || p[1] != ' ')
        return (0);
    return (p[2]);
}

static void test_sigterm_queue_full(void) {
    int fd, st = 0, n, ready[2];
    pid_t pid, cl, r = 0;
    char c = 0;

    pid = fork_threadless_server(&fd);
    REQUIRE(pid > 0 && fd >= 0);
    REQUIRE(pipe(ready) == 0);
    cl = harness_fork();
    REQUIRE(cl >= 0);
    if (cl == 0) {
        struct filler f[2];
        sigset_t set, old;
        int i;

        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        (void)signal(SIGTERM, SIG_DFL);
        /* The fillers block SIGTERM: only the last caller can take it. */
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, &old);
        for (i = 0; i < 2; i++) {
            memset(&f[i], 0, sizeof(f[i]));
            f[i].fd = fd;
            if (pthread_create(&f[i].th, NULL, filler_main, &f[i]) != 0)
                _exit(2);
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        for (n = 0; n < 100000 && unread(fd) < 2 * 128 * 1024; n++)
            usleep(100);
        (void)write(ready[1], &c, 1);
        memset(&f[0], 0, sizeof(f[0]));
        f[0].fd = fd;
        (void)filler_main(&f[0]); /* waits for room to send */
        _exit(3);
    }
    close(ready[1]);
    /* Once the client's last call sleeps (in door_call, nothing else is
     * left), signal until the client ends (or 10 s). */
    (void)read(ready[0], &c, 1);
    close(ready[0]);
    for (n = 0; n < 10000 && proc_state(cl) != 'S'; n++)
        usleep(100);
    usleep(100000);
    for (n = 0; n < 100 && r == 0; n++) {
        (void)kill(cl, SIGTERM);
        usleep(100000);
        r = waitpid(cl, &st, WNOHANG);
    }
    if (!CHECK_EQ(r, cl)) {
        NOTE("the client ignored SIGTERM for 10 s");
        (void)kill(cl, SIGKILL);
        while (waitpid(cl, &st, 0) == -1 && errno == EINTR)
            ;
    } else {
        CHECK(WIFSIGNALED(st));
        CHECK_EQ(WTERMSIG(st), SIGTERM);
    }
    CHECK_EQ(close(fd), 0);
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
        ;
}

int main(int argc, char **argv) {
    struct sigaction sa;

    harness_only(argc, argv);
    sh = harness_shared(sizeof(*sh));
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    RUN(test_signal_after_take);
    RUN(test_signal_blocked);
    RUN(test_signal_queue_full);
    RUN(test_sigterm_queue_full);
    return (harness_done());
}
