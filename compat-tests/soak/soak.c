/*
 * soak.c - libdoor under sustained mixed load, watched from outside.
 *
 * P server/client processes (default 8) of T calling threads each
 * (default 8).  Every process creates a door and fattach()es it to a path
 * in a scratch directory; every thread opens all those paths and calls
 * random doors in a loop.  Mixed into the plain echo calls:
 *
 *  - descriptor passing both ways (a pipe end sent with DOOR_RELEASE, which
 *    the server checks and closes; an eventfd returned with DOOR_RELEASE,
 *    which the client checks and closes);
 *  - door_revoke: a fresh door of the caller is passed to a peer, which
 *    calls it back from inside its procedure; the caller then revokes it;
 *  - fork: a thread forks a child that calls two doors and exits;
 *  - fattach/fdetach churn: one thread per process attaches a fresh door
 *    to a second path, detaches and revokes it; others call that path and
 *    accept only success or EBADF (nothing attached, or already revoked).
 *
 * The parent process samples every child's RSS (VmRSS), descriptor count
 * (/proc/PID/fd) and thread count (Threads:) once a second into a CSV
 * file.  At the end each series must be flat: the median of its last
 * quarter within a small margin of the median of its first quarter (after
 * a warm-up, the first tenth of the run), the margins explained at
 * GROW_RSS_PCT below; threads, which only grow with the pools' high-water
 * mark, must stay within the concurrency the mix can reach.  Any
 * unexpected call result is a failure too.
 *
 * Usage: soak [-p procs] [-t threads] [-d max_seconds] [-c min_calls]
 *             [-o file.csv] [-x churn,revoke,fork,desc]
 * (-x leaves those parts out of the mix, to find where a growth comes from.)
 * Runs until min_calls calls were made (and at least 20 s) or max_seconds
 * passed, whichever comes first; without -c, for max_seconds.
 * Ends with the line "N passed, N failed".
 */
#define _GNU_SOURCE
#include <door.h>
#include <stropts.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define MAXP 16
#define MAXT 32
#define MAXS 100000 /* samples per process */
/*
 * Left out of the flatness check: the first tenth of the run, at least
 * WARMUP_S seconds (pools and channel caches fill then).
 */
#define WARMUP_S 5
/*
 * Allowed growth of a median from the first to the last quarter.  Server
 * pools grow to the highest concurrency seen and never shrink (as on
 * illumos), so the thread count is a staircase up to a high-water mark
 * that rare peaks keep raising for a while: it is bounded by the
 * concurrency the mix can reach (every calling thread of every process in
 * a call to this process, and as many nested callbacks, plus this
 * process's own threads), not by a growth margin.  A pool thread that
 * called a since-revoked door keeps that channel (two descriptors here,
 * one in the door's server) until its next call, so descriptors may grow
 * by GROW_FDS plus three per added thread.  A leak of one object per
 * thousand revokes, forks, descriptor passes or fattach cycles would
 * exceed these bounds many times over.
 */
#define GROW_RSS_PCT   10 /* plus GROW_RSS_KB, plus RSS_PER_THREAD_KB per added thread */
#define GROW_RSS_KB    2048
/* A server thread added at the pool's high-water mark keeps its touched
 * stack pages, its signal stack and its argument buffer (the pool grows
 * further on a loaded machine, where replies wait longer for clients). */
#define RSS_PER_THREAD_KB 128
#define GROW_FDS       32
#define FDS_PER_THREAD 3
/*
 * A run shorter than SHORT_RUN_S (make check's 40 s) judges quarters of a
 * few seconds, whose medians follow the random set of live doors each
 * thread holds a channel to: on a loaded machine a build without any leak
 * was measured at +36 to +61 descriptors there, with no thread added.  Such
 * runs allow GROW_FDS_SHORT instead (a leak of one descriptor per hundred
 * descriptor passes still exceeds it several times over); the full soak
 * keeps GROW_FDS.
 */
#define SHORT_RUN_S    300
#define GROW_FDS_SHORT 96

enum op { OP_ECHO = 1, OP_TAKE_FD, OP_GIVE_FD, OP_CALLBACK };

struct req {
    uint32_t op;
    uint32_t seq;
    uint64_t pad[2];
};

/* Shared between the parent and the children (MAP_SHARED). */
struct shared {
    volatile int stop;
    volatile int ready;
    volatile long calls[MAXP];
    volatile long errors[MAXP];
    volatile long forks[MAXP];
    volatile long revokes[MAXP];
    volatile long attaches[MAXP];
    volatile long descs[MAXP];
    volatile long churn_ebadf[MAXP];
};

static struct shared *sh;
static int nprocs = 8, nthreads = 8, me;
/* -x: parts of the mix left out (to find which one a growth comes from) */
#define SKIP_CHURN  1
#define SKIP_REVOKE 2
#define SKIP_FORK   4
#define SKIP_DESC   8
static int skip;
static char dir[128];
static int doors[MAXP]; /* this process's descriptors for every door */

static void fail(const char *what, int err) {
    fprintf(stderr, "soak[%d] pid %d: %s: %s\n", me, (int)getpid(), what, strerror(err));
    __atomic_fetch_add(&sh->errors[me], 1, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------ server */

static void server_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp, uint_t n_desc) {
    struct req r;
    door_desc_t d;
    door_arg_t a;
    char rb[64];
    uint64_t v = 1;
    int fd;

    (void)cookie;
    if (argp == DOOR_UNREF_DATA || arg_size < sizeof(r)) {
        (void)door_return(NULL, 0, NULL, 0);
        return;
    }
    memcpy(&r, argp, sizeof(r));
    switch (r.op) {
    case OP_TAKE_FD:
        if (n_desc != 1 || !(dp[0].d_attributes & DOOR_DESCRIPTOR) ||
            fcntl(dp[0].d_data.d_desc.d_descriptor, F_GETFD) == -1)
            r.op = 0;
        else
            (void)close(dp[0].d_data.d_desc.d_descriptor);
        (void)door_return((char *)&r, sizeof(r), NULL, 0);
        return;
    case OP_GIVE_FD:
        fd = eventfd(0, EFD_CLOEXEC);
        if (fd >= 0 && write(fd, &v, sizeof(v)) != sizeof(v))
            r.op = 0;
        memset(&d, 0, sizeof(d));
        d.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
        d.d_data.d_desc.d_descriptor = fd;
        (void)door_return((char *)&r, sizeof(r), &d, fd >= 0 ? 1 : 0);
        return;
    case OP_CALLBACK:
        /* Call the door we were given, then close our copy of it. */
        if (n_desc != 1 || !(dp[0].d_attributes & DOOR_DESCRIPTOR)) {
            r.op = 0;
        } else {
            fd = dp[0].d_data.d_desc.d_descriptor;
            memset(&a, 0, sizeof(a));
            r.op = OP_ECHO;
            a.data_ptr = (char *)&r;
            a.data_size = sizeof(r);
            a.rbuf = rb;
            a.rsize = sizeof(rb);
            if (door_call(fd, &a) != 0 || a.data_size != sizeof(r))
                r.op = 0;
            else
                r.op = OP_CALLBACK;
            if (a.rbuf != rb)
                (void)munmap(a.rbuf, a.rsize);
            (void)close(fd);
        }
        (void)door_return((char *)&r, sizeof(r), NULL, 0);
        return;
    default:
        for (uint_t i = 0; i < n_desc; i++)
            if (dp[i].d_attributes & DOOR_DESCRIPTOR)
                (void)close(dp[i].d_data.d_desc.d_descriptor);
        (void)door_return(argp, arg_size, NULL, 0);
    }
}

/* ------------------------------------------------------------ client */

/* One call of `op` on fd; the result (0, or -1 with errno). */
static int do_call(int fd, uint32_t op, uint32_t seq, door_desc_t *dp, uint_t nd, int *got_fd) {
    struct req q, *rp;
    door_arg_t a;
    char rb[64];
    int rc = 0, e = 0;

    memset(&q, 0, sizeof(q));
    q.op = op;
    q.seq = seq;
    memset(&a, 0, sizeof(a));
    a.data_ptr = (char *)&q;
    a.data_size = sizeof(q);
    a.desc_ptr = dp;
    a.desc_num = nd;
    a.rbuf = rb;
    a.rsize = sizeof(rb);
    if (door_call(fd, &a) != 0)
        return (-1);
    rp = (struct req *)(void *)a.data_ptr;
    if (a.data_size != sizeof(q) || rp->seq != seq || rp->op != op) {
        rc = -1;
        e = EPROTO;
    }
    if (got_fd != NULL) {
        *got_fd = -1;
        if (a.desc_num == 1 && (a.desc_ptr[0].d_attributes & DOOR_DESCRIPTOR))
            *got_fd = a.desc_ptr[0].d_data.d_desc.d_descriptor;
        else if (rc == 0) {
            rc = -1;
            e = EPROTO;
        }
    }
    if (a.rbuf != rb)
        (void)munmap(a.rbuf, a.rsize);
    errno = e;
    return (rc);
}

static unsigned rnd(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (*s >> 8);
}

static void fork_child(unsigned seed) {
    pid_t pid = fork();
    int st = 0, bad = 0;

    if (pid == 0) {
        for (int k = 0; k < 2; k++)
            if (do_call(doors[rnd(&seed) % nprocs], OP_ECHO, k, NULL, 0, NULL) != 0)
                bad = 1;
        _exit(bad);
    }
    if (pid < 0) {
        fail("fork", errno);
        return;
    }
    while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail("fork child's calls", EPROTO);
    __atomic_fetch_add(&sh->forks[me], 1, __ATOMIC_RELAXED);
}

/* Attach a fresh door at c<me>, let it be called a while, take it away. */
static void churn_once(void) {
    char path[160];
    int d = door_create(server_proc, NULL, 0);

    if (d < 0) {
        fail("door_create (churn)", errno);
        return;
    }
    snprintf(path, sizeof(path), "%s/c%d", dir, me);
    if (fattach(d, path) != 0) {
        fail("fattach (churn)", errno);
    } else {
        __atomic_fetch_add(&sh->attaches[me], 1, __ATOMIC_RELAXED);
        usleep(2000);
        if (fdetach(path) != 0)
            fail("fdetach (churn)", errno);
    }
    if (door_revoke(d) != 0)
        fail("door_revoke (churn)", errno);
}

static void revoke_once(int peer, uint32_t seq) {
    door_desc_t d;
    int t = door_create(server_proc, NULL, 0);

    if (t < 0) {
        fail("door_create (revoke)", errno);
        return;
    }
    memset(&d, 0, sizeof(d));
    d.d_attributes = DOOR_DESCRIPTOR;
    d.d_data.d_desc.d_descriptor = t;
    if (do_call(doors[peer], OP_CALLBACK, seq, &d, 1, NULL) != 0)
        fail("callback call", errno);
    if (door_revoke(t) != 0)
        fail("door_revoke", errno);
    __atomic_fetch_add(&sh->revokes[me], 1, __ATOMIC_RELAXED);
}

/* A call on a path under fattach/fdetach churn: opened afresh each time. */
static void churn_call(int peer, uint32_t seq) {
    char path[160];
    int fd;

    snprintf(path, sizeof(path), "%s/c%d", dir, peer);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        fail("open churn path", errno);
        return;
    }
    if (do_call(fd, OP_ECHO, seq, NULL, 0, NULL) != 0) {
        if (errno == EBADF)
            __atomic_fetch_add(&sh->churn_ebadf[me], 1, __ATOMIC_RELAXED);
        else
            fail("call on churn path", errno);
    }
    (void)close(fd);
}

static void *worker(void *arg) {
    int ti = (int)(intptr_t)arg;
    unsigned seed = (unsigned)(getpid() * 7919 + ti * 104729);
    long local = 0;
    uint32_t seq = 0;
    int p[2], got;
    uint64_t v;
    door_desc_t d;

    while (!sh->stop) {
        unsigned r = rnd(&seed);
        int peer = (int)(r % (unsigned)nprocs);
        unsigned kind = (r >> 4) % 1000;

        seq++;
        if ((ti == 0 && kind < 2 && (skip & SKIP_CHURN)) ||
            (kind >= 5 && kind < 10 && (skip & SKIP_CHURN)) ||
            (kind >= 2 && kind < 5 && (skip & SKIP_REVOKE)) ||
            (ti == 1 && kind < 1 && (skip & SKIP_FORK)) ||
            (kind >= 10 && kind < 50 && (skip & SKIP_DESC))) {
            if (do_call(doors[peer], OP_ECHO, seq, NULL, 0, NULL))
                fail("echo call", errno);
        } else if (ti == 0 && kind < 2) {
            churn_once();
        } else if (ti == 1 && kind < 1) {
            fork_child(r);
            local += 2;
        } else if (kind < 5) {
            revoke_once(peer, seq);
            local += 2;
        } else if (kind < 10) {
            churn_call(peer, seq);
        } else if (kind < 30) {
            if (pipe2(p, O_CLOEXEC) != 0) {
                fail("pipe2", errno);
                continue;
            }
            memset(&d, 0, sizeof(d));
            d.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
            d.d_data.d_desc.d_descriptor = p[0];
            if (do_call(doors[peer], OP_TAKE_FD, seq, &d, 1, NULL))
                fail("call passing a descriptor", errno);
            (void)close(p[1]);
            __atomic_fetch_add(&sh->descs[me], 1, __ATOMIC_RELAXED);
        } else if (kind < 50) {
            if (do_call(doors[peer], OP_GIVE_FD, seq, NULL, 0, &got) != 0) {
                fail("call returning a descriptor", errno);
            } else {
                if (read(got, &v, sizeof(v)) != sizeof(v) || v != 1)
                    fail("returned eventfd", EPROTO);
                (void)close(got);
            }
            __atomic_fetch_add(&sh->descs[me], 1, __ATOMIC_RELAXED);
        } else {
            if (do_call(doors[peer], OP_ECHO, seq, NULL, 0, NULL))
                fail("echo call", errno);
        }
        if (++local >= 256) {
            __atomic_fetch_add(&sh->calls[me], local, __ATOMIC_RELAXED);
            local = 0;
        }
    }
    __atomic_fetch_add(&sh->calls[me], local, __ATOMIC_RELAXED);
    return (NULL);
}

static int child_main(void) {
    char path[160];
    pthread_t th[MAXT];
    int d, fd, i;

    d = door_create(server_proc, NULL, 0);
    if (d < 0) {
        fail("door_create", errno);
        return (1);
    }
    snprintf(path, sizeof(path), "%s/d%d", dir, me);
    if (fattach(d, path) != 0) {
        fail("fattach", errno);
        return (1);
    }
    __atomic_fetch_add(&sh->ready, 1, __ATOMIC_SEQ_CST);
    for (i = 0; i < 6000 && sh->ready < nprocs; i++)
        usleep(10000);
    if (sh->ready < nprocs) {
        fail("peers never became ready", ETIMEDOUT);
        return (1);
    }
    for (i = 0; i < nprocs; i++) {
        snprintf(path, sizeof(path), "%s/d%d", dir, i);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
            fail("open door path", errno);
            return (1);
        }
        doors[i] = fd;
    }
    for (i = 0; i < nthreads; i++)
        if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i))
            fail("pthread_create", EAGAIN);
    for (i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    /* Wait until every peer is done calling us before we go. */
    __atomic_fetch_sub(&sh->ready, 1, __ATOMIC_SEQ_CST);
    for (i = 0; i < 6000 && sh->ready > 0; i++)
        usleep(10000);
    return (sh->errors[me] != 0);
}

/* ------------------------------------------------------------ parent */

struct sample {
    double t;
    long rss_kb, fds, threads;
};

static struct sample *samples[MAXP];
static int nsamples;

static long status_field(pid_t pid, const char *key) {
    char p[64], line[256];
    size_t kl = strlen(key);
    long v = -1;
    FILE *f;

    snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
    if ((f = fopen(p, "r")) == NULL)
        return (-1);
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, key, kl) == 0) {
            v = strtol(line + kl, NULL, 10);
            break;
        }
    fclose(f);
    return (v);
}

static long count_fds_of(pid_t pid) {
    char p[64];
    struct dirent *e;
    long n = 0;
    DIR *d;

    snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
    if ((d = opendir(p)) == NULL)
        return (-1);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return (n);
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return ((x > y) - (x < y));
}

static long median(long *v, int n) {
    qsort(v, (size_t)n, sizeof(long), cmp_long);
    return (n > 0 ? v[n / 2] : 0);
}

static double now(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static void rm_dir(void) {
    char path[200];

    for (int i = 0; i < nprocs; i++) {
        snprintf(path, sizeof(path), "%s/d%d", dir, i);
        (void)unlink(path);
        snprintf(path, sizeof(path), "%s/c%d", dir, i);
        (void)unlink(path);
    }
    (void)rmdir(dir);
}

int main(int argc, char **argv) {
    const char *csv = NULL;
    double maxs = 40, t0, t;
    long min_calls = 0, total = 0, prev_total = 0;
    pid_t pids[MAXP];
    int passed = 0, failed = 0, opt, i, k, st, alive;
    char path[200];
    FILE *out = NULL;

    while ((opt = getopt(argc, argv, "p:t:d:c:o:x:")) != -1) {
        switch (opt) {
        case 'p':
            nprocs = atoi(optarg);
            break;
        case 't':
            nthreads = atoi(optarg);
            break;
        case 'd':
            maxs = atof(optarg);
            break;
        case 'c':
            min_calls = atol(optarg);
            break;
        case 'x':
            skip |= strstr(optarg, "churn") ? SKIP_CHURN : 0;
            skip |= strstr(optarg, "revoke") ? SKIP_REVOKE : 0;
            skip |= strstr(optarg, "fork") ? SKIP_FORK : 0;
            skip |= strstr(optarg, "desc") ? SKIP_DESC : 0;
            break;
        case 'o':
            csv = optarg;
            break;
        default:
            fprintf(stderr, "usage: soak [-p procs] [-t threads] "
                            "[-d max_seconds] [-c min_calls] [-o csv]\n");
            return (2);
        }
    }
    if (nprocs < 2 || nprocs > MAXP || nthreads < 2 || nthreads > MAXT) {
        fprintf(stderr, "soak: 2..%d processes, 2..%d threads\n", MAXP, MAXT);
        return (2);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        return (2);
    snprintf(dir, sizeof(dir), "%s/libdoor-soak.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return (2);
    }
    for (i = 0; i < nprocs; i++) {
        int fd;

        snprintf(path, sizeof(path), "%s/d%d", dir, i);
        fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
        if (fd >= 0)
            close(fd);
        snprintf(path, sizeof(path), "%s/c%d", dir, i);
        fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
        if (fd >= 0)
            close(fd);
        samples[i] = calloc(MAXS, sizeof(struct sample));
    }
    if (csv != NULL && (out = fopen(csv, "w")) == NULL) {
        perror(csv);
        return (2);
    }
    if (out != NULL)
        fprintf(out, "t_s,proc,pid,rss_kb,fds,threads,calls_total\n");
    fflush(stdout);
    for (i = 0; i < nprocs; i++) {
        if ((pids[i] = fork()) == 0) {
            me = i;
            _exit(child_main());
        }
    }
    printf("soak: %d processes x %d threads, up to %.0f s%s\n", nprocs, nthreads, maxs,
           min_calls ? " (or until enough calls)" : "");
    t0 = now();
    for (;;) {
        usleep(1000000);
        t = now() - t0;
        total = 0;
        for (i = 0; i < nprocs; i++)
            total += sh->calls[i];
        for (i = 0; i < nprocs && nsamples < MAXS; i++) {
            struct sample *s = &samples[i][nsamples];

            s->t = t;
            s->rss_kb = status_field(pids[i], "VmRSS:");
            s->fds = count_fds_of(pids[i]);
            s->threads = status_field(pids[i], "Threads:");
            if (out != NULL)
                fprintf(out, "%.2f,%d,%d,%ld,%ld,%ld,%ld\n", t, i, (int)pids[i], s->rss_kb, s->fds,
                        s->threads, total);
        }
        if (nsamples < MAXS)
            nsamples++;
        if ((int)t % 10 == 0)
            printf("  %5.0f s: %ld calls (%.0f/s last second)\n", t, total,
                   (double)(total - prev_total));
        prev_total = total;
        for (i = 0, alive = 0; i < nprocs; i++)
            alive += waitpid(pids[i], &st, WNOHANG) == 0;
        if (alive < nprocs) {
            printf("FAIL a soak process ended early\n");
            failed++;
            break;
        }
        if (t >= maxs || (min_calls > 0 && total >= min_calls && t >= 20))
            break;
    }
    sh->stop = 1;
    t = now() - t0;
    for (i = 0; i < nprocs; i++) {
        if (waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            passed++;
        } else {
            printf("FAIL soak process %d (pid %d): status 0x%x, "
                   "%ld errors\n",
                   i, (int)pids[i], st, sh->errors[i]);
            failed++;
        }
    }
    total = 0;
    long forks = 0, revokes = 0, attaches = 0, descs = 0, ebadf = 0;
    for (i = 0; i < nprocs; i++) {
        total += sh->calls[i];
        forks += sh->forks[i];
        revokes += sh->revokes[i];
        attaches += sh->attaches[i];
        descs += sh->descs[i];
        ebadf += sh->churn_ebadf[i];
    }
    printf("soak: %ld calls in %.1f s = %.0f calls/s; %ld with "
           "descriptors, %ld revoked doors, %ld forks, %ld fattach cycles, "
           "%ld EBADF on detached paths\n",
           total, t, (double)total / t, descs, revokes, forks, attaches, ebadf);
    if (min_calls > 0) {
        if (total >= min_calls)
            passed++;
        else {
            printf("FAIL only %ld calls, wanted %ld\n", total, min_calls);
            failed++;
        }
    }

    /* Flatness: median of the last quarter vs the first quarter. */
    int first = 0;
    while (first < nsamples && (samples[0][first].t < WARMUP_S ||
                                samples[0][first].t < samples[0][nsamples - 1].t / 10))
        first++;
    int span = nsamples - first, q = span / 4;
    if (q < 3) {
        printf("FAIL too few samples (%d) to judge flatness\n", span);
        failed++;
    } else {
        long v[MAXS];
        long worst_rss = 0, worst_fd = 0, worst_th = 0;

        for (i = 0; i < nprocs; i++) {
            long a[3], b[3];
            for (k = 0; k < 3; k++) {
                for (int j = 0; j < q; j++) {
                    struct sample *s = &samples[i][first + j];
                    v[j] = k == 0 ? s->rss_kb : k == 1 ? s->fds : s->threads;
                }
                a[k] = median(v, q);
                for (int j = 0; j < q; j++) {
                    struct sample *s = &samples[i][nsamples - q + j];
                    v[j] = k == 0 ? s->rss_kb : k == 1 ? s->fds : s->threads;
                }
                b[k] = median(v, q);
            }
            printf("  proc %d: rss %ld -> %ld KiB, fds %ld -> %ld, "
                   "threads %ld -> %ld (first/last quarter "
                   "medians)\n",
                   i, a[0], b[0], a[1], b[1], a[2], b[2]);
            if (b[0] - a[0] > worst_rss)
                worst_rss = b[0] - a[0];
            if (b[1] - a[1] > worst_fd)
                worst_fd = b[1] - a[1];
            if (b[2] - a[2] > worst_th)
                worst_th = b[2] - a[2];
            if (b[0] > a[0] + a[0] * GROW_RSS_PCT / 100 + GROW_RSS_KB +
                           RSS_PER_THREAD_KB * (b[2] > a[2] ? b[2] - a[2] : 0)) {
                printf("FAIL proc %d: RSS grew from %ld to %ld "
                       "KiB\n",
                       i, a[0], b[0]);
                failed++;
            } else
                passed++;
            if (b[1] > a[1] + (samples[0][nsamples - 1].t < SHORT_RUN_S ? GROW_FDS_SHORT : GROW_FDS) +
                           FDS_PER_THREAD * (b[2] > a[2] ? b[2] - a[2] : 0)) {
                printf("FAIL proc %d: descriptors grew from "
                       "%ld to %ld\n",
                       i, a[1], b[1]);
                failed++;
            } else
                passed++;
            if (b[2] > 2 * nprocs * nthreads + nthreads + 8) {
                printf("FAIL proc %d: %ld threads (from %ld), more than the "
                       "calls that can be in progress at once\n",
                       i, b[2], a[2]);
                failed++;
            } else
                passed++;
        }
        printf("soak: worst growth of a median (last quarter minus "
               "first quarter): RSS %+ld KiB, descriptors %+ld, threads "
               "%+ld\n",
               worst_rss, worst_fd, worst_th);
    }
    if (out != NULL)
        fclose(out);
    rm_dir();
    printf("%d passed, %d failed\n", passed, failed);
    return (failed == 0 ? 0 : 1);
}
