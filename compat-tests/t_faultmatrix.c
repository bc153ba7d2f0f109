/*
 * t_faultmatrix.c - SIGKILL of a door client or a door server at chosen
 * and at random points of its calls; the survivor must neither hang nor
 * leak.
 *
 * Every point is repeated FAULTMATRIX_ITERS times (default 15, so that the
 * plain, fast-path-off and sanitizer runs of `make check` stay short; set
 * FAULTMATRIX_ITERS=1000 for the full matrix).  Random delays come from a
 * seed printed at the start (FAULTMATRIX_SEED repeats a run).
 *
 * The server dies, the client (this process) survives:
 *  - srv_dead_before_call: the server is dead and reaped before the call:
 *    EBADF, and door_info shows DOOR_REVOKED with di_target -1;
 *  - srv_in_procedure: the server dies inside its procedure: EINTR, rbuf
 *    untouched;
 *  - srv_big_reply: the server dies at a random moment of its door_return
 *    of 8 MiB: the call either completes (and every byte is right) or
 *    fails with EINTR (the call was taken: never EBADF);
 *  - srv_random_calls: the server dies at a random moment while calls go
 *    back to back: each call succeeds, or fails with EINTR or EBADF; the
 *    next call after its death fails with EBADF;
 *  - srv_desc_in_flight: the same with two descriptors sent and two
 *    returned by every call;
 *  - srv_first_call: the server dies while a new thread makes its first
 *    call to the door (the fast path's channel set-up): success, EINTR or
 *    EBADF, and the thread's channel goes away with the thread;
 *  - srv_create_fattach: the server dies while it creates doors and
 *    attaches them to a path that this process opens and calls: success,
 *    EBADF or (it died in the call) EINTR, and afterwards this process can attach its own door at
 * the same path.
 *
 * The client dies, the server (this process) survives:
 *  - cli_random_calls, cli_in_procedure, cli_big_reply, cli_desc_in_flight,
 *    cli_first_call: the same points seen from the server;
 *  - cli_create_fattach: the client dies while it creates a door, attaches
 *    it, passes it to this process in a call, detaches and revokes it.
 *
 * A fork in the middle of fattach/fdetach:
 *  - fork_window_fattach: a fork child that has not yet run libdoor's
 *    fork handler (here: an earlier pthread_atfork child handler sleeps)
 *    still holds the parent's copy of an attachment; after the parent's
 *    fdetach, the parent's fattach of another door at the same path must
 *    succeed, and fdetach must then detach it (each attachment has a
 *    rendezvous name of its own, so the child's copy of the old one is
 *    in nobody's way).
 *
 * After each point, with settling: the survivor's descriptors
 * (/proc/self/fd) and mappings (/proc/self/maps lines; not under ASan)
 * are back to their count before the point, and its threads
 * (/proc/self/task) too - for a surviving server, up to two more threads
 * are allowed, the idle reserve of its pool, whose size depends on when a
 * cancelled procedure's thread was replaced, and the mappings that are
 * not libdoor's own memfds may differ by glibc's malloc arenas and cached
 * thread stacks (see GLIBC_SPARE_MAPS).  A hang anywhere trips the harness
 * watchdog.
 */
#define _GNU_SOURCE
#include <door.h>
#include <stropts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "harness.h"

#define BIG (8u << 20) /* the large reply */

enum { OP_ECHO = 1, OP_BLOCK, OP_BIG, OP_DESC, OP_DOOR };

struct shm {
    volatile int entered;    /* procedures entered (OP_BLOCK, OP_BIG) */
    volatile int started;    /* the child is about to make its calls */
    volatile int attached;   /* srv_create_fattach: first attach done */
    volatile int unexpected; /* a child saw an unexpected result */
    volatile int desc_bad;   /* OP_DESC got the wrong descriptors */
};

static struct shm *sh;
static char *big; /* BIG bytes of a known pattern */
static int iters = 15;
static unsigned seed;
static pthread_mutex_t seed_lock = PTHREAD_MUTEX_INITIALIZER;
static char path[128]; /* a file for the fattach points */

/* A random number below n (shared by threads). */
static unsigned rnd(unsigned n) {
    unsigned r;

    pthread_mutex_lock(&seed_lock);
    r = (unsigned)rand_r(&seed);
    pthread_mutex_unlock(&seed_lock);
    return (n == 0 ? 0 : r % n);
}

/* Wait (bounded, 20 s) until *counter differs from `from`. */
static int wait_change(volatile int *counter, int from) {
    int i;

    for (i = 0; i < 200000 && *counter == from; i++)
        usleep(100);
    return (*counter != from ? 0 : -1);
}

/* -------------------------------------------------------- the procedure */

static void proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp, uint_t n_desc) {
    door_desc_t out[2];
    door_info_t di;
    int op = 0, p[2], old, ok;
    uint_t i;

    (void)cookie;
    if (argp != DOOR_UNREF_DATA && arg_size >= sizeof(int))
        memcpy(&op, argp, sizeof(int));
    switch (op) {
    case OP_BLOCK:
        /*
         * Server threads start with cancellation disabled, as on
         * illumos; a procedure that waits for its client enables it.
         */
        (void)pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL);
        (void)pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
        __atomic_add_fetch(&sh->entered, 1, __ATOMIC_SEQ_CST);
        for (;;)
            pause(); /* a cancellation point */
    case OP_BIG:
        __atomic_add_fetch(&sh->entered, 1, __ATOMIC_SEQ_CST);
        (void)door_return(big, BIG, NULL, 0);
        return;
    case OP_DESC:
        /* Close what came (not to be cancelled half-way), send two. */
        (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
        ok = (n_desc == 2);
        for (i = 0; i < n_desc; i++) {
            if (!(dp[i].d_attributes & DOOR_DESCRIPTOR) ||
                close(dp[i].d_data.d_desc.d_descriptor) != 0)
                ok = 0;
        }
        if (!ok)
            sh->desc_bad++;
        if (pipe2(p, O_CLOEXEC) != 0) {
            (void)pthread_setcancelstate(old, NULL);
            (void)door_return(NULL, 0, NULL, 0);
            return;
        }
        (void)pthread_setcancelstate(old, NULL);
        memset(out, 0, sizeof(out));
        for (i = 0; i < 2; i++) {
            out[i].d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
            out[i].d_data.d_desc.d_descriptor = p[i];
        }
        (void)door_return(argp, arg_size, out, 2);
        return;
    case OP_DOOR:
        (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
        ok = (n_desc == 1);
        for (i = 0; i < n_desc; i++) {
            if (!(dp[i].d_attributes & DOOR_DESCRIPTOR))
                ok = 0;
            else {
                (void)door_info(dp[i].d_data.d_desc.d_descriptor, &di);
                if (close(dp[i].d_data.d_desc.d_descriptor))
                    ok = 0;
            }
        }
        if (!ok)
            sh->desc_bad++;
        (void)pthread_setcancelstate(old, NULL);
        (void)door_return(argp, arg_size, NULL, 0);
        return;
    default:
        (void)door_return(argp, arg_size, NULL, 0);
    }
}

/* ------------------------------------------------------------ calling */

/*
 * One call of `op` on fd.  OP_DESC sends two descriptors (closed here
 * afterwards) and closes the two it gets back.  Returns 0 (results
 * checked; a mismatch is EPROTO) or -1 with errno.
 */
static int call_op(int fd, int op, int *rbuf_touched) {
    door_arg_t a;
    door_desc_t d[2];
    int buf[4] = {op, 0x1234, 0x5678, 0x7abc};
    int rbuf[16], p[2] = {-1, -1}, rc, e = 0;
    uint_t i;

    for (i = 0; i < 16; i++)
        rbuf[i] = 0x5a5a5a5a;
    memset(&a, 0, sizeof(a));
    a.data_ptr = (char *)buf;
    a.data_size = sizeof(buf);
    a.rbuf = (char *)rbuf;
    a.rsize = sizeof(rbuf);
    if (op == OP_DESC) {
        if (pipe2(p, O_CLOEXEC) != 0)
            return (-1);
        memset(d, 0, sizeof(d));
        for (i = 0; i < 2; i++) {
            d[i].d_attributes = DOOR_DESCRIPTOR;
            d[i].d_data.d_desc.d_descriptor = p[i];
        }
        a.desc_ptr = d;
        a.desc_num = 2;
    }
    rc = door_call(fd, &a);
    e = errno;
    if (rc == 0) {
        if (op == OP_BIG) {
            if (a.data_size != BIG || memcmp(a.data_ptr, big, BIG) != 0) {
                rc = -1;
                e = EPROTO;
            }
        } else if (a.data_size != sizeof(buf) || memcmp(a.data_ptr, buf, sizeof(buf)) != 0) {
            rc = -1;
            e = EPROTO;
        }
        if (op == OP_DESC) {
            if (a.desc_num != 2) {
                rc = -1;
                e = EPROTO;
            }
            for (i = 0; i < a.desc_num; i++)
                if (a.desc_ptr[i].d_attributes & DOOR_DESCRIPTOR)
                    (void)close(a.desc_ptr[i].d_data.d_desc.d_descriptor);
        }
        if (a.rbuf != (char *)rbuf)
            (void)munmap(a.rbuf, a.rsize);
    } else if (rbuf_touched != NULL) {
        for (i = 0; i < 16; i++)
            if (rbuf[i] != 0x5a5a5a5a)
                *rbuf_touched = 1;
    }
    if (p[0] >= 0) {
        (void)close(p[0]);
        (void)close(p[1]);
    }
    errno = e;
    return (rc);
}

/* A plain call on a door of this process: lets the fast path's cache
 * settle (a thread's channels to doors whose server died are released
 * when it next sets one up), as the other tests do. */
static void sweep(void) {
    int fd = door_create(proc, NULL, 0);

    if (fd >= 0) {
        (void)call_op(fd, OP_ECHO, NULL);
        /* One reply on a socket too: this thread's landing area for such
         * replies is allocated on its first one, then kept. */
        (void)call_op(fd, OP_DESC, NULL);
        (void)door_revoke(fd);
    }
}

/* ---------------------------------------------------------- counting */

struct first {
    int fd, op, rc, err;
};

static void *first_call_main(void *arg) {
    struct first *f = arg;

    f->rc = call_op(f->fd, f->op, NULL);
    f->err = errno;
    return (NULL);
}

/*
 * call_op() from a new thread (whose fast-path channel goes away with
 * it): checks that a door still works without leaving a channel behind.
 */
static int call_in_thread(int fd, int op) {
    struct first f = {fd, op, -1, 0};
    pthread_t th;

    if (pthread_create(&th, NULL, first_call_main, &f) != 0)
        return (-1);
    pthread_join(th, NULL);
    errno = f.err;
    return (f.rc);
}

struct counts {
    int fds, maps, lmaps, threads;
};

/* Lines of /proc/self/maps that name a libdoor memfd (fast-path channels
 * and boards).  Read without allocating, like count_maps(). */
static int count_libdoor_maps(void) {
    char buf[4096], line[512];
    ssize_t r, i;
    size_t l = 0;
    int n = 0, fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return (-1);
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        for (i = 0; i < r; i++) {
            if (buf[i] != '\n') {
                if (l < sizeof(line) - 1)
                    line[l++] = buf[i];
                continue;
            }
            line[l] = 0;
            if (strstr(line, "libdoor") != NULL && strstr(line, ".so") == NULL)
                n++;
            l = 0;
        }
    close(fd);
    return (n);
}

static void take_counts(struct counts *c) {
    sweep();
    c->fds = count_fds_stable();
    c->maps = count_maps();
    c->lmaps = count_libdoor_maps();
    c->threads = count_threads();
}

/*
 * glibc's share of a surviving server's mappings that may legitimately
 * differ: a thread started to replace a cancelled one can get a malloc
 * arena of its own (up to 8 per CPU, a heap and its guard each), and glibc
 * keeps the stacks of exited threads mapped for reuse (stack and guard).
 */
#define GLIBC_SPARE_MAPS 48

/*
 * The survivor's counts are back to `c`.  A surviving server may have up
 * to `spare_threads` more threads (its pool's idle reserve depends on when
 * a thread was added for a call that found none idle), and, among its
 * mappings other than libdoor's own memfd ones (which must match exactly),
 * up to GLIBC_SPARE_MAPS more.
 */
static void check_counts(const struct counts *c, int spare_threads, const char *why) {
    int n, m;

    sweep();
    if (!CHECK_EQ(count_fds_settled_of(getpid(), c->fds, 10), c->fds))
        dump_fds(why);
    n = harness_settle(count_threads, c->threads, 10);
    if (n != c->threads && n <= c->threads + spare_threads && n > 0)
        NOTE("%s: %d threads, %d before (pool reserve)", why, n, c->threads);
    else
        CHECK_EQ(n, c->threads);
    if (MAPS_RELIABLE) {
        CHECK_EQ(harness_settle(count_libdoor_maps, c->lmaps, 10), c->lmaps);
        m = harness_settle(count_maps, c->maps, 10);
        /* libdoor's own mappings are exact (just above); any other
         * difference is glibc's, also with no thread more than before: a
         * helper thread of this test (the killer) or a library thread that
         * ended leaves its stack cached (seen in CI under load: +2) */
        if (m != c->maps && m <= c->maps + GLIBC_SPARE_MAPS)
            NOTE("%s: %d mappings, %d before (glibc arenas and cached stacks)", why, m, c->maps);
        else
            CHECK_EQ(m, c->maps);
    }
}

/* --------------------------------------------- a server that will die */

/* Fork a server child; *door gets its door. */
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

static void kill_reap(pid_t pid) {
    int st;

    (void)kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
        ;
}

/* Kills `pid` after `delay` µs (optionally once *counter moves). */
struct killer {
    pid_t pid;
    unsigned delay;
    volatile int *counter;
    int from;
    pthread_t th;
};

static void *killer_main(void *arg) {
    struct killer *k = arg;

    if (k->counter != NULL)
        (void)wait_change(k->counter, k->from);
    if (k->delay > 0)
        usleep(k->delay);
    (void)kill(k->pid, SIGKILL);
    return (NULL);
}

static int start_killer_from(struct killer *k, pid_t pid, unsigned delay, volatile int *counter,
                             int from) {
    k->pid = pid;
    k->delay = delay;
    k->counter = counter;
    k->from = from;
    return (pthread_create(&k->th, NULL, killer_main, k));
}

static int start_killer(struct killer *k, pid_t pid, unsigned delay, volatile int *counter) {
    k->pid = pid;
    k->delay = delay;
    k->counter = counter;
    k->from = counter != NULL ? *counter : 0;
    return (pthread_create(&k->th, NULL, killer_main, k));
}

static void end_killer(struct killer *k) {
    int st;

    pthread_join(k->th, NULL);
    while (waitpid(k->pid, &st, 0) == -1 && errno == EINTR)
        ;
}

/* ----------------------------------------------- the server dies */

static void test_srv_dead_before_call(void) {
    struct counts c;
    door_info_t di;
    int i, fd;
    pid_t pid;

    for (i = -1; i < iters; i++) {
        if (i == 0) /* after a warm-up round */
            take_counts(&c);
        pid = fork_server(&fd);
        REQUIRE(pid > 0 && fd >= 0);
        if (i % 2 == 0) /* half the time, a call first */
            CHECK_EQ(call_op(fd, OP_ECHO, NULL), 0);
        kill_reap(pid);
        expect_errno(call_op(fd, OP_ECHO, NULL), EBADF);
        if (CHECK_EQ(door_info(fd, &di), 0)) {
            CHECK_EQ(di.di_target, -1);
            CHECK(di.di_attributes & DOOR_REVOKED);
        }
        CHECK_EQ(close(fd), 0);
    }
    check_counts(&c, 0, "srv_dead_before_call");
}

static void test_srv_in_procedure(void) {
    struct killer k;
    struct counts c;
    int i, fd, touched;
    pid_t pid;

    for (i = -1; i < iters; i++) {
        if (i == 0) /* after a warm-up round */
            take_counts(&c);
        pid = fork_server(&fd);
        REQUIRE(pid > 0 && fd >= 0);
        REQUIRE(start_killer(&k, pid, rnd(2000), &sh->entered) == 0);
        touched = 0;
        expect_errno(call_op(fd, OP_BLOCK, &touched), EINTR);
        CHECK(!touched);
        end_killer(&k);
        expect_errno(call_op(fd, OP_ECHO, NULL), EBADF);
        CHECK_EQ(close(fd), 0);
    }
    check_counts(&c, 0, "srv_in_procedure");
}

static void test_srv_big_reply(void) {
    struct killer k;
    struct counts c;
    int i, fd, rc, done = 0, intr = 0;
    pid_t pid;

    for (i = -1; i < iters; i++) {
        if (i == 0) /* after a warm-up round */
            take_counts(&c);
        pid = fork_server(&fd);
        REQUIRE(pid > 0 && fd >= 0);
        REQUIRE(start_killer(&k, pid, rnd(20000), &sh->entered) == 0);
        errno = 0;
        rc = call_op(fd, OP_BIG, NULL);
        if (rc == 0)
            done++;
        else if (CHECK_EQ(errno, EINTR))
            intr++;
        end_killer(&k);
        expect_errno(call_op(fd, OP_ECHO, NULL), EBADF);
        CHECK_EQ(close(fd), 0);
    }
    NOTE("8 MiB reply: %d completed, %d EINTR (with the warm-up)", done, intr);
    check_counts(&c, 0, "srv_big_reply");
}

/* Calls of `op` back to back until one fails; the server dies meanwhile. */
static void srv_random(int op, const char *why) {
    struct killer k;
    struct counts c;
    int i, fd, rc, n, e, tally[3] = {0, 0, 0};
    pid_t pid;

    for (i = -1; i < iters; i++) {
        if (i == 0) /* after a warm-up round */
            take_counts(&c);
        pid = fork_server(&fd);
        REQUIRE(pid > 0 && fd >= 0);
        REQUIRE(start_killer(&k, pid, rnd(3000), NULL) == 0);
        n = 0;
        while ((rc = call_op(fd, op, NULL)) == 0 && n < 10000000)
            n++;
        e = errno;
        if (rc != 0 && (e == EINTR || e == EBADF))
            tally[e == EINTR ? 1 : 2]++;
        else
            CHECK(rc != 0 && (e == EINTR || e == EBADF));
        if (n == 0)
            tally[0]++;
        end_killer(&k);
        expect_errno(call_op(fd, op, NULL), EBADF);
        CHECK_EQ(close(fd), 0);
    }
    NOTE("%s: last call EINTR %d times, EBADF %d times; %d times no "
         "call completed",
         why, tally[1], tally[2], tally[0]);
    check_counts(&c, 0, why);
}

static void test_srv_random_calls(void) {
    srv_random(OP_ECHO, "srv_random_calls");
}

static void test_srv_desc_in_flight(void) {
    srv_random(OP_DESC, "srv_desc_in_flight");
}

static void test_srv_first_call(void) {
    struct killer k;
    struct counts c;
    struct first f;
    pthread_t th;
    int i, fd, tally[3] = {0, 0, 0};
    pid_t pid;

    for (i = -1; i < iters; i++) {
        if (i == 0) /* after a warm-up round */
            take_counts(&c);
        pid = fork_server(&fd);
        REQUIRE(pid > 0 && fd >= 0);
        f.fd = fd;
        f.op = OP_ECHO;
        f.rc = -2;
        REQUIRE(start_killer(&k, pid, rnd(1500), NULL) == 0);
        REQUIRE(pthread_create(&th, NULL, first_call_main, &f) == 0);
        pthread_join(th, NULL);
        if (f.rc == 0)
            tally[0]++;
        else if (f.rc == -1 && (f.err == EINTR || f.err == EBADF))
            tally[f.err == EINTR ? 1 : 2]++;
        else
            CHECK_EQ(f.err, EBADF);
        end_killer(&k);
        CHECK_EQ(close(fd), 0);
    }
    NOTE("first call: %d completed, %d EINTR, %d EBADF", tally[0], tally[1], tally[2]);
    check_counts(&c, 0, "srv_first_call");
}

static void test_srv_create_fattach(void) {
    struct killer k;
    struct counts c;
    int i, fd, d, rc, mine, ok = 0, bad = 0;
    pid_t pid;

    mine = door_create(proc, NULL, 0);
    REQUIRE(mine >= 0);
    for (i = -1; i < iters; i++) {
        int from = sh->attached;

        if (i == 0) /* after a warm-up round */
            take_counts(&c);

        pid = harness_fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
            for (;;) {
                d = door_create(proc, NULL, 0);
                if (d < 0 || fattach(d, path) != 0)
                    _exit(1);
                __atomic_add_fetch(&sh->attached, 1, __ATOMIC_SEQ_CST);
                if (fdetach(path) != 0 || door_revoke(d) != 0)
                    _exit(1);
            }
        }
        (void)wait_change(&sh->attached, from);
        REQUIRE(start_killer(&k, pid, rnd(3000), NULL) == 0);
        for (;;) {
            int st;

            fd = open(path, O_RDONLY | O_CLOEXEC);
            if (!CHECK(fd >= 0))
                break;
            rc = call_op(fd, OP_ECHO, NULL);
            /* EINTR: the server died in the middle of this call. */
            if (rc == 0)
                ok++;
            else if (!CHECK(errno == EBADF || errno == EINTR))
                bad++;
            (void)close(fd);
            if (waitpid(pid, &st, WNOHANG) == pid)
                break;
        }
        pthread_join(k.th, NULL);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (CHECK(fd >= 0)) {
            expect_errno(call_op(fd, OP_ECHO, NULL), EBADF);
            (void)close(fd);
        }
        /* The dead process's name is gone: the path is free. */
        if (CHECK_EQ(fattach(mine, path), 0))
            CHECK_EQ(fdetach(path), 0);
    }
    NOTE("calls through the path: %d completed, %d unexpected", ok, bad);
    check_counts(&c, 0, "srv_create_fattach");
    CHECK_EQ(door_revoke(mine), 0);
}

/* ------------------------------------------------ the client dies */

/*
 * Fork a client of `fd` that makes calls of `op` back to back (OP_BLOCK:
 * one call); it is killed after `delay` µs, counted from its start or,
 * with `counter`, from when the counter moves.
 */
static void cli_one(int fd, int op, unsigned delay, volatile int *counter) {
    struct killer k;
    int from = sh->started, efrom = counter != NULL ? *counter : 0;
    pid_t pid;

    pid = harness_fork();
    if (pid < 0)
        return;
    if (pid == 0) {
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        __atomic_add_fetch(&sh->started, 1, __ATOMIC_SEQ_CST);
        for (;;) {
            if (call_op(fd, op, NULL) != 0 && op != OP_BLOCK) {
                sh->unexpected++;
                for (;;)
                    pause();
            }
        }
    }
    if (counter == NULL) {
        (void)wait_change(&sh->started, from);
        (void)start_killer(&k, pid, delay, NULL);
    } else {
        (void)start_killer_from(&k, pid, delay, counter, efrom);
    }
    end_killer(&k);
}

static void cli_point(int op, unsigned range, int wait_entered, const char *why) {
    struct counts c;
    int fd, i;

    fd = door_create(proc, NULL, 0);
    REQUIRE(fd >= 0);
    sh->unexpected = 0;
    sh->desc_bad = 0;
    cli_one(fd, op, 2000, wait_entered ? &sh->entered : NULL); /* warm */
    take_counts(&c);
    for (i = 0; i < iters; i++)
        cli_one(fd, op, rnd(range), wait_entered ? &sh->entered : NULL);
    CHECK_EQ(sh->unexpected, 0);
    CHECK_EQ(sh->desc_bad, 0);
    /* The door still works, for this process and for another. */
    CHECK_EQ(call_in_thread(fd, op == OP_BLOCK ? OP_ECHO : op), 0);
    check_counts(&c, 2, why);
    CHECK_EQ(door_revoke(fd), 0);
}

static void test_cli_random_calls(void) {
    cli_point(OP_ECHO, 3000, 0, "cli_random_calls");
}

static void test_cli_in_procedure(void) {
    cli_point(OP_BLOCK, 2000, 1, "cli_in_procedure");
}

static void test_cli_big_reply(void) {
    cli_point(OP_BIG, 20000, 1, "cli_big_reply");
}

static void test_cli_desc_in_flight(void) {
    cli_point(OP_DESC, 3000, 0, "cli_desc_in_flight");
}

/* A fresh process's first call: killed at a random moment of it. */
static void test_cli_first_call(void) {
    struct counts c;
    struct killer k;
    int fd, i, from;
    pid_t pid;

    fd = door_create(proc, NULL, 0);
    REQUIRE(fd >= 0);
    for (i = -1; i < iters; i++) {
        if (i == 0) /* after a warm-up round */
            take_counts(&c);
        from = sh->started;
        pid = harness_fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
            __atomic_add_fetch(&sh->started, 1, __ATOMIC_SEQ_CST);
            (void)call_op(fd, OP_ECHO, NULL);
            for (;;)
                pause();
        }
        (void)wait_change(&sh->started, from);
        REQUIRE(start_killer(&k, pid, rnd(1500), NULL) == 0);
        end_killer(&k);
    }
    CHECK_EQ(call_in_thread(fd, OP_ECHO), 0);
    check_counts(&c, 2, "cli_first_call");
    CHECK_EQ(door_revoke(fd), 0);
}

/* The client creates and attaches a door and sends it, and dies. */
static void test_cli_create_fattach(void) {
    struct counts c;
    struct killer k;
    int fd, i, from;
    pid_t pid;

    fd = door_create(proc, NULL, 0);
    REQUIRE(fd >= 0);
    sh->desc_bad = 0;
    for (i = -1; i < iters; i++) {
        if (i == 0) /* after a warm-up round */
            take_counts(&c);
        from = sh->started;
        pid = harness_fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            door_arg_t a;
            door_desc_t dd;
            int op = OP_DOOR, d;
            char rb[64];

            (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
            __atomic_add_fetch(&sh->started, 1, __ATOMIC_SEQ_CST);
            for (;;) {
                d = door_create(proc, NULL, 0);
                if (d < 0)
                    _exit(1);
                (void)fattach(d, path);
                memset(&dd, 0, sizeof(dd));
                dd.d_attributes = DOOR_DESCRIPTOR;
                dd.d_data.d_desc.d_descriptor = d;
                memset(&a, 0, sizeof(a));
                a.data_ptr = (char *)&op;
                a.data_size = sizeof(op);
                a.desc_ptr = &dd;
                a.desc_num = 1;
                a.rbuf = rb;
                a.rsize = sizeof(rb);
                (void)door_call(fd, &a);
                (void)fdetach(path);
                (void)door_revoke(d);
            }
        }
        (void)wait_change(&sh->started, from);
        REQUIRE(start_killer(&k, pid, rnd(5000), NULL) == 0);
        end_killer(&k);
    }
    CHECK_EQ(sh->desc_bad, 0);
    CHECK_EQ(call_in_thread(fd, OP_ECHO), 0);
    check_counts(&c, 2, "cli_create_fattach");
    /* Nothing is left attached at the path. */
    if (CHECK_EQ(fattach(fd, path), 0))
        CHECK_EQ(fdetach(path), 0);
    CHECK_EQ(door_revoke(fd), 0);
}

/* ------------------------------------------ a fork inside fattach */

static volatile int slow_fork_child; /* fork_window_fattach sets it */

/* Runs in a fork child before libdoor's own handler (registered first). */
static void before_libdoor_child(void) {
    if (slow_fork_child)
        usleep(300000);
}

static void test_fork_window_fattach(void) {
    struct counts c;
    int d1, d2, rc, st;
    pid_t pid;

    if (!harness_user_xattrs(path)) {
        /* The derived name a fork child briefly holds (KNOWN_DIFFERENCES.md). */
        NOTE("%s has no user extended attributes: skipped", path);
        return;
    }
    d1 = door_create(proc, NULL, 0);
    d2 = door_create(proc, NULL, 0);
    REQUIRE(d1 >= 0 && d2 >= 0);
    take_counts(&c);
    REQUIRE(fattach(d1, path) == 0);
    slow_fork_child = 1;
    pid = harness_fork();
    if (pid == 0)
        _exit(0);
    slow_fork_child = 0;
    REQUIRE(pid > 0);
    /* The child sleeps in before_libdoor_child() for 300 ms. */
    CHECK_EQ(fdetach(path), 0);
    errno = 0;
    rc = fattach(d2, path);
    CHECK_EQ(rc, 0); /* fattach after fdetach, a fork child in its handlers */
    errno = 0;
    rc = fdetach(path);
    CHECK_EQ(rc, 0); /* fdetach of that attachment */
    while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
        ;
    /* Once the child is gone, the path is free again. */
    (void)fdetach(path);
    if (CHECK_EQ(fattach(d2, path), 0))
        CHECK_EQ(fdetach(path), 0);
    check_counts(&c, 0, "fork_window_fattach");
    CHECK_EQ(door_revoke(d1), 0);
    CHECK_EQ(door_revoke(d2), 0);
}

int main(int argc, char **argv) {
    const char *e;
    char dir[] = "/tmp/t_faultmatrix.XXXXXX";
    size_t i;
    int f;

    harness_only(argc, argv);
    /* Before any door call, so that it runs before libdoor's handler. */
    pthread_atfork(NULL, NULL, before_libdoor_child);
    if ((e = getenv("FAULTMATRIX_ITERS")) != NULL && atoi(e) > 0)
        iters = atoi(e);
    seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    if ((e = getenv("FAULTMATRIX_SEED")) != NULL)
        seed = (unsigned)strtoul(e, NULL, 0);
    printf("  note: %d iterations per point, FAULTMATRIX_SEED=%u\n", iters, seed);
    /* Worst case per iteration is well under 0.2 s; be generous. */
    harness_timeout = 120 + (unsigned)iters;
    sh = harness_shared(sizeof(*sh));
    big = harness_shared(BIG);
    for (i = 0; i < BIG; i++)
        big[i] = (char)(i * 131 + (i >> 12));
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return (1);
    }
    snprintf(path, sizeof(path), "%s/door", dir);
    if ((f = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0644)) < 0) {
        perror(path);
        return (1);
    }
    close(f);
    /*
     * Start this process's own libdoor threads (manager, pool) before any
     * point takes its counts: started later, by the sweep in take_counts(),
     * the first of them takes the stack glibc cached from the warm-up
     * round's killer thread, and the next killer then maps a stack of its
     * own that stays cached after the counts were taken.
     */
    sweep();

    RUN(test_srv_dead_before_call);
    RUN(test_srv_in_procedure);
    RUN(test_srv_big_reply);
    RUN(test_srv_random_calls);
    RUN(test_srv_desc_in_flight);
    RUN(test_srv_first_call);
    RUN(test_srv_create_fattach);
    RUN(test_cli_random_calls);
    RUN(test_cli_in_procedure);
    RUN(test_cli_big_reply);
    RUN(test_cli_desc_in_flight);
    RUN(test_cli_first_call);
    RUN(test_cli_create_fattach);
    RUN(test_fork_window_fattach);

    (void)unlink(path);
    (void)rmdir(dir);
    return (harness_done());
}
