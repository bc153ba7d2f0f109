/* doorbench.c - libdoor benchmark: door_call round trips next to the IPC floors and the usual
 * alternatives, between two processes, for one placement per invocation.
 *
 * usage:
 *   doorbench lat MECH PLACE [SIZE]   round-trip latency, ns per call
 *       MECH  door       libdoor door_call, SIZE-byte argument (0 B -> 0 B reply, else 16 B reply)
 *             futex      16 B in shared memory, shared futex hand-off, no spinning
 *             spin       16 B in shared memory, both sides poll (no syscalls)
 *             pipe       two pipes, write/read 16 B
 *             seqpacket  AF_UNIX SOCK_SEQPACKET socketpair, write/read 16 B request and response
 *             binder     Android binder (/dev/binder): a synchronous 16 B transaction to the
 *                        context manager and its 16 B reply (needs the binder_linux module)
 *   doorbench tput PLACE THREADS      16 B door_call throughput, THREADS client threads, calls/s
 *   doorbench memcpy PLACE [SIZE]     memcpy bandwidth in one process, MB/s (1 MB = 1e6 B)
 *   PLACE: same (client and server on CPU 0) | diff (client CPU 0, server CPU 1) | none (unpinned)
 *
 * The parent process is the server: it pins itself (so every thread it creates later, door pool
 * threads included, inherits the mask), creates the door or channel, then forks the client, which
 * pins itself, measures and prints one line:
 *   RESULT kind=lat mech=door place=same size=16 N=.. reps=5 med=<ns> min=<ns> all=<ns,..>
 *          cpu_med=<ns> cpu_all=<ns,..>
 * cpu = CPU time of client + server process (CLOCK_PROCESS_CPUTIME_ID of both, the server's read
 * through clock_getcpuclockid) per call, per repetition.
 *
 * Method (the same loop for every mechanism): warm up for up to 20k calls or BENCH_WARM_MS
 * (300 ms), choose N so that one repetition takes BENCH_REP_MS (200 ms), at least 50, then time N
 * calls BENCH_REPS (5) times. A repetition that runs over 5x its budget stops early (capped=1).
 */
#include "bench.h"

#include <door.h>
#include <fcntl.h>
#include <linux/android/binder.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define XORK    0x5a5a5a5a5a5a5a5aull
#define QUIT    UINT64_MAX
#define MAXREPS 64

struct msg {
    uint64_t seq, val;
};

static int reps = 5;
static uint64_t warm_ns = 300000000ull, rep_ns = 200000000ull;
static clockid_t srv_clock; /* CPU-time clock of the server process */

static long envl(const char *name, long def) {
    const char *s = getenv(name);
    return s && *s ? atol(s) : def;
}

/* ------------------------------------------------------------------ */
/* shared-memory channel (futex and spin), as in ipc-floor/rtt.c       */

struct chan {
    _Atomic uint32_t w; /* (seq << 1) | waiter bit */
    uint32_t pad;
    uint64_t seq, val;
    char pad2[64 - 24];
} __attribute__((aligned(64)));

struct shm {
    struct chan req, resp;
};

static struct shm *sh;
static int spin_mode;
static uint32_t cseq;

static void chan_post(struct chan *c, uint32_t s) {
    if (spin_mode) {
        atomic_store_explicit(&c->w, s << 1, memory_order_release);
        return;
    }
    uint32_t old = atomic_exchange_explicit(&c->w, s << 1, memory_order_acq_rel);
    if (old & 1)
        sys_futex(&c->w, FUTEX_WAKE, 1, NULL);
}

static void chan_wait(struct chan *c, uint32_t s) {
    const uint32_t want = s << 1;
    if (spin_mode) {
        while ((atomic_load_explicit(&c->w, memory_order_acquire) & ~1u) != want)
            cpu_relax();
        return;
    }
    for (;;) {
        uint32_t v = atomic_load_explicit(&c->w, memory_order_acquire);
        if ((v & ~1u) == want)
            return;
        if (!(v & 1)) {
            if (!atomic_compare_exchange_weak_explicit(&c->w, &v, v | 1, memory_order_acq_rel,
                                                       memory_order_acquire))
                continue;
            v |= 1;
        }
        sys_futex(&c->w, FUTEX_WAIT, v, NULL);
    }
}

static void bad_reply(void) {
    errno = 0;
    DIE("bad reply");
}

static void rt_shm(uint64_t i) {
    cseq++;
    sh->req.seq = i;
    sh->req.val = i * 3;
    chan_post(&sh->req, cseq);
    chan_wait(&sh->resp, cseq);
    if (sh->resp.seq != i || sh->resp.val != ((i * 3) ^ XORK))
        bad_reply();
}

static void serve_shm(void) {
    for (uint32_t s = 1;; s++) {
        chan_wait(&sh->req, s);
        uint64_t seq = sh->req.seq, val = sh->req.val;
        if (seq == QUIT)
            return;
        sh->resp.seq = seq;
        sh->resp.val = val ^ XORK;
        chan_post(&sh->resp, s);
    }
}

static void quit_shm(void) {
    cseq++;
    sh->req.seq = QUIT;
    chan_post(&sh->req, cseq);
}

/* ------------------------------------------------------------------ */
/* pipe and SOCK_SEQPACKET: 16-byte messages                            */

static int c_rfd, c_wfd, s_rfd, s_wfd;

static void xfer(int fd, void *buf, int wr) {
    char *p = buf;
    size_t n = sizeof(struct msg);
    while (n) {
        ssize_t r = wr ? write(fd, p, n) : read(fd, p, n);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            DIE("%s", wr ? "write" : "read");
        }
        p += r;
        n -= (size_t)r;
    }
}

static void rt_fd(uint64_t i) {
    struct msg m = {i, i * 3}, r;
    xfer(c_wfd, &m, 1);
    xfer(c_rfd, &r, 0);
    if (r.seq != i || r.val != ((i * 3) ^ XORK))
        bad_reply();
}

static void serve_fd(void) {
    struct msg m;
    for (;;) {
        xfer(s_rfd, &m, 0);
        if (m.seq == QUIT)
            return;
        m.val ^= XORK;
        xfer(s_wfd, &m, 1);
    }
}

static void quit_fd(void) {
    struct msg m = {QUIT, 0};
    xfer(c_wfd, &m, 1);
}

/* ------------------------------------------------------------------ */
/* binder: the server is the context manager (handle 0); each call is one */
/* synchronous transaction and its reply, through BINDER_WRITE_READ.       */

static int b_srv = -1, b_cli = -1;
static binder_uintptr_t b_cli_free; /* the last reply's buffer, freed with the next call */

static int binder_open(void) {
    struct binder_version v;
    int fd = open("/dev/binder", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        DIE("open /dev/binder");
    if (ioctl(fd, BINDER_VERSION, &v) < 0 || v.protocol_version != BINDER_CURRENT_PROTOCOL_VERSION)
        DIE("binder protocol version");
    if (mmap(NULL, 1 << 20, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED)
        DIE("mmap /dev/binder");
    return fd;
}

/* Appends command `cmd` and its payload to w (at *wn). */
static void binder_put(uint8_t *w, size_t *wn, uint32_t cmd, const void *arg, size_t n) {
    memcpy(w + *wn, &cmd, sizeof cmd);
    if (n)
        memcpy(w + *wn + sizeof cmd, arg, n);
    *wn += sizeof cmd + n;
}

/* One BINDER_WRITE_READ: writes w[0..wn), reads into r; the bytes read. */
static size_t binder_io(int fd, const uint8_t *w, size_t wn, uint8_t *r, size_t rn) {
    struct binder_write_read bwr = {.write_size = wn,
                                    .write_buffer = (binder_uintptr_t)(uintptr_t)w,
                                    .read_size = rn,
                                    .read_buffer = (binder_uintptr_t)(uintptr_t)r};
    while (ioctl(fd, BINDER_WRITE_READ, &bwr) < 0)
        if (errno != EINTR)
            DIE("BINDER_WRITE_READ");
    return (size_t)bwr.read_consumed;
}

/* The next command in r (at *at, of n), its transaction if it carries one. */
static uint32_t binder_next(const uint8_t *r, size_t n, size_t *at, struct binder_transaction_data *tr) {
    uint32_t cmd;
    memcpy(&cmd, r + *at, sizeof cmd);
    *at += sizeof cmd;
    if (cmd == BR_TRANSACTION || cmd == BR_REPLY) {
        if (*at + sizeof *tr > n)
            DIE("short binder transaction");
        memcpy(tr, r + *at, sizeof *tr);
        *at += sizeof *tr;
    } else if (cmd == BR_ERROR) {
        *at += sizeof(int32_t);
    } else if (cmd != BR_NOOP && cmd != BR_TRANSACTION_COMPLETE && cmd != BR_SPAWN_LOOPER) {
        errno = 0;
        DIE("binder: unexpected return command %#x", cmd);
    }
    return cmd;
}

static void setup_binder(void) {
    b_srv = binder_open();
    if (ioctl(b_srv, BINDER_SET_CONTEXT_MGR, 0) < 0)
        DIE("BINDER_SET_CONTEXT_MGR");
}

static void serve_binder(void) {
    static struct msg reply;
    uint8_t w[256], r[256];
    size_t wn = 0;
    int quit = 0;
    binder_put(w, &wn, BC_ENTER_LOOPER, NULL, 0);
    for (;;) {
        size_t n = binder_io(b_srv, w, wn, r, quit ? 0 : sizeof r), at = 0;
        wn = 0;
        if (quit)
            return;
        while (at < n) {
            struct binder_transaction_data tr;
            if (binder_next(r, n, &at, &tr) != BR_TRANSACTION)
                continue;
            binder_uintptr_t buf = tr.data.ptr.buffer;
            memcpy(&reply, (const void *)(uintptr_t)buf, sizeof reply);
            quit = reply.seq == QUIT;
            reply.val ^= XORK;
            binder_put(w, &wn, BC_FREE_BUFFER, &buf, sizeof buf);
            memset(&tr, 0, sizeof tr);
            tr.data_size = sizeof reply;
            tr.data.ptr.buffer = (binder_uintptr_t)(uintptr_t)&reply;
            binder_put(w, &wn, BC_REPLY, &tr, sizeof tr);
        }
    }
}

/* One transaction {seq, val} to handle 0; its reply into *out. */
static void binder_call(uint64_t seq, uint64_t val, struct msg *out) {
    struct msg m = {seq, val};
    struct binder_transaction_data tr;
    uint8_t w[128], r[256];
    size_t wn = 0;
    if (b_cli < 0)
        b_cli = binder_open();
    if (b_cli_free)
        binder_put(w, &wn, BC_FREE_BUFFER, &b_cli_free, sizeof b_cli_free);
    b_cli_free = 0;
    memset(&tr, 0, sizeof tr);
    tr.target.handle = 0;
    tr.code = 1;
    tr.data_size = sizeof m;
    tr.data.ptr.buffer = (binder_uintptr_t)(uintptr_t)&m;
    binder_put(w, &wn, BC_TRANSACTION, &tr, sizeof tr);
    for (;;) {
        size_t n = binder_io(b_cli, w, wn, r, sizeof r), at = 0;
        wn = 0;
        while (at < n) {
            if (binder_next(r, n, &at, &tr) == BR_REPLY) {
                if (tr.data_size != sizeof *out)
                    bad_reply();
                memcpy(out, (const void *)(uintptr_t)tr.data.ptr.buffer, sizeof *out);
                b_cli_free = tr.data.ptr.buffer;
                return;
            }
        }
    }
}

static void rt_binder(uint64_t i) {
    struct msg r;
    binder_call(i, i * 3, &r);
    if (r.seq != i || r.val != ((i * 3) ^ XORK))
        bad_reply();
}

static void quit_binder(void) {
    struct msg r;
    binder_call(QUIT, 0, &r);
}

/* ------------------------------------------------------------------ */
/* libdoor                                                             */

static int dfd = -1;

/* Request: asz bytes, {seq, val} first and the low byte of seq last; reply {seq, val^K}
 * (16 B), or nothing for an empty request. */
static void srv_proc(void *cookie, char *argp, size_t n, door_desc_t *dp, uint_t nd) {
    (void)cookie;
    (void)dp;
    (void)nd;
    if (n < sizeof(struct msg))
        door_return(NULL, 0, NULL, 0);
    struct msg m;
    memcpy(&m, argp, sizeof m);
    if (n > sizeof m && argp[n - 1] != (char)m.seq)
        m.val = 0; /* corrupted transfer: the client will notice */
    else
        m.val ^= XORK;
    door_return((char *)&m, sizeof m, NULL, 0);
}

/* Server threads with a 32 MiB stack: on illumos (and in libdoor) an argument must fit on the
 * server thread's stack, so the default 8 MiB threads cannot take 1-8 MiB arguments. */
static void *srv_thread(void *a) {
    (void)a;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    door_return(NULL, 0, NULL, 0);
    return NULL;
}

static void create_srv_thread(door_info_t *di) {
    (void)di;
    pthread_attr_t at;
    pthread_t t;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 32u << 20);
    if (pthread_create(&t, &at, srv_thread, NULL))
        fprintf(stderr, "doorbench: server thread creation failed\n");
    pthread_attr_destroy(&at);
}

static void setup_door(void) {
    door_server_create(create_srv_thread);
    dfd = door_create(srv_proc, NULL, 0);
    if (dfd < 0)
        DIE("door_create");
}

struct dcall {
    char *abuf;
    size_t asz;
    _Alignas(16) char rbuf[64];
};

static void door_rt(struct dcall *c, uint64_t i) {
    struct msg m = {i, i * 3};
    if (c->asz >= sizeof m) {
        memcpy(c->abuf, &m, sizeof m);
        if (c->asz > sizeof m)
            c->abuf[c->asz - 1] = (char)i;
    }
    door_arg_t a = {.data_ptr = c->asz ? c->abuf : NULL,
                    .data_size = c->asz,
                    .desc_ptr = NULL,
                    .desc_num = 0,
                    .rbuf = c->rbuf,
                    .rsize = sizeof c->rbuf};
    if (door_call(dfd, &a))
        DIE("door_call(%zu B)", c->asz);
    if (c->asz >= sizeof m) {
        struct msg r;
        if (a.data_size != sizeof r) {
            errno = 0;
            DIE("reply of %zu bytes, expected %zu", a.data_size, sizeof r);
        }
        memcpy(&r, a.data_ptr, sizeof r);
        if (r.seq != i || r.val != ((i * 3) ^ XORK)) {
            errno = 0;
            DIE("bad reply to call %llu: {%llu, %#llx}", (unsigned long long)i,
                (unsigned long long)r.seq, (unsigned long long)r.val);
        }
    } else if (a.data_size != 0) {
        bad_reply();
    }
    if (a.rbuf != c->rbuf)
        munmap(a.rbuf, a.rsize);
}

static struct dcall main_call;
static void rt_door(uint64_t i) {
    door_rt(&main_call, i);
}

/* ------------------------------------------------------------------ */

static void *alloc_touch(size_t n) {
    if (n == 0)
        return NULL;
    char *p =
        mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED)
        DIE("mmap %zu", n);
    for (size_t i = 0; i < n; i += 4096)
        p[i] = (char)i;
    return p;
}

static void print_list(const char *key, const double *v, int n, const char *fmt) {
    printf(" %s=", key);
    for (int r = 0; r < n; r++) {
        if (r)
            putchar(',');
        printf(fmt, v[r]);
    }
}

static void run_lat(void (*rt)(uint64_t), const char *mech, const char *place, size_t size) {
    uint64_t i = 0, t0 = now_ns(), t;
    do {
        rt(++i);
        t = now_ns();
    } while (i < 20000 && t - t0 < warm_ns);
    double est = (double)(t - t0) / (double)i;
    long n = (long)((double)rep_ns / est);
    if (n < 50)
        n = 50;
    if (n > 20000000)
        n = 20000000;
    double lat[MAXREPS], cpu[MAXREPS];
    int capped = 0;
    for (int r = 0; r < reps; r++) {
        uint64_t c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), s0 = clock_ns(srv_clock);
        uint64_t a = now_ns();
        long done = 0;
        while (done < n) {
            rt(++i);
            done++;
            if ((done & 15) == 0 && now_ns() - a > 5 * rep_ns) {
                capped = 1;
                break;
            }
        }
        uint64_t b = now_ns();
        uint64_t c1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), s1 = clock_ns(srv_clock);
        lat[r] = (double)(b - a) / (double)done;
        cpu[r] = (double)((c1 - c0) + (s1 - s0)) / (double)done;
    }
    printf("RESULT kind=lat mech=%s place=%s size=%zu N=%ld reps=%d med=%.1f min=%.1f", mech, place,
           size, n, reps, median_of(lat, reps), min_of(lat, reps));
    printf(" cpu_med=%.1f", median_of(cpu, reps));
    print_list("all", lat, reps, "%.1f");
    print_list("cpu_all", cpu, reps, "%.1f");
    printf(" capped=%d\n", capped);
    fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* throughput: THREADS client threads calling one door                 */

struct worker {
    pthread_t t;
    struct dcall c;
    _Atomic uint64_t calls;
    char pad[64];
} __attribute__((aligned(64)));

static _Atomic int stop_workers;

static void *worker_main(void *arg) {
    struct worker *w = arg;
    uint64_t i = 0;
    while (!atomic_load_explicit(&stop_workers, memory_order_relaxed)) {
        door_rt(&w->c, ++i);
        atomic_store_explicit(&w->calls, i, memory_order_relaxed);
    }
    return NULL;
}

static uint64_t total_calls(struct worker *w, int nt) {
    uint64_t s = 0;
    for (int k = 0; k < nt; k++)
        s += atomic_load_explicit(&w[k].calls, memory_order_relaxed);
    return s;
}

static void sleep_ns(uint64_t ns) {
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
        ;
}

static void run_tput(const char *place, int nt) {
    struct worker *w = aligned_alloc(64, sizeof(struct worker) * (size_t)nt);
    memset(w, 0, sizeof(struct worker) * (size_t)nt);
    for (int k = 0; k < nt; k++) {
        w[k].c.asz = sizeof(struct msg);
        w[k].c.abuf = alloc_touch(4096);
        if (pthread_create(&w[k].t, NULL, worker_main, &w[k]))
            DIE("pthread_create");
    }
    sleep_ns(warm_ns);
    double cps[MAXREPS], cpu[MAXREPS];
    for (int r = 0; r < reps; r++) {
        uint64_t c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), s0 = clock_ns(srv_clock);
        uint64_t n0 = total_calls(w, nt), a = now_ns();
        sleep_ns(rep_ns);
        uint64_t n1 = total_calls(w, nt), b = now_ns();
        uint64_t c1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), s1 = clock_ns(srv_clock);
        double calls = (double)(n1 - n0);
        cps[r] = calls * 1e9 / (double)(b - a);
        cpu[r] = calls > 0 ? (double)((c1 - c0) + (s1 - s0)) / calls : 0;
    }
    atomic_store(&stop_workers, 1);
    for (int k = 0; k < nt; k++)
        pthread_join(w[k].t, NULL);
    double best = cps[0];
    for (int r = 1; r < reps; r++)
        if (cps[r] > best)
            best = cps[r];
    printf("RESULT kind=tput mech=door place=%s size=16 threads=%d reps=%d med=%.0f max=%.0f",
           place, nt, reps, median_of(cps, reps), best);
    printf(" cpu_med=%.1f", median_of(cpu, reps));
    print_list("all", cps, reps, "%.0f");
    print_list("cpu_all", cpu, reps, "%.1f");
    printf("\n");
    fflush(stdout);
}

/* ------------------------------------------------------------------ */

static void run_memcpy(const char *place, int cpu, size_t size) {
    pin_self(cpu);
    char *a = alloc_touch(size), *b = alloc_touch(size);
    uint64_t t0 = now_ns(), t;
    long k = 0;
    do {
        a[0] = (char)k;
        memcpy(b, a, size);
        k++;
        t = now_ns();
    } while (t - t0 < warm_ns);
    long n = (long)((double)rep_ns / ((double)(t - t0) / (double)k));
    if (n < 5)
        n = 5;
    double mbs[MAXREPS], ns[MAXREPS];
    for (int r = 0; r < reps; r++) {
        uint64_t s = now_ns();
        for (long j = 0; j < n; j++) {
            a[0] = (char)j;
            memcpy(b, a, size);
            __asm__ __volatile__("" : : "r"(b) : "memory");
        }
        ns[r] = (double)(now_ns() - s) / (double)n;
        mbs[r] = (double)size * 1e3 / ns[r];
    }
    double best = mbs[0];
    for (int r = 1; r < reps; r++)
        if (mbs[r] > best)
            best = mbs[r];
    printf(
        "RESULT kind=bw mech=memcpy place=%s size=%zu N=%ld reps=%d med=%.0f max=%.0f ns_med=%.1f",
        place, size, n, reps, median_of(mbs, reps), best, median_of(ns, reps));
    print_list("all", mbs, reps, "%.0f");
    printf("\n");
    fflush(stdout);
}

/* ------------------------------------------------------------------ */

static void usage(void) {
    fprintf(stderr, "usage: doorbench lat door|futex|spin|pipe|seqpacket|binder same|diff|none [SIZE]\n"
                    "       doorbench tput same|diff|none THREADS\n"
                    "       doorbench memcpy same|diff|none [SIZE]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage();
    reps = (int)envl("BENCH_REPS", 5);
    if (reps < 1 || reps > MAXREPS)
        reps = 5;
    warm_ns = (uint64_t)envl("BENCH_WARM_MS", 300) * 1000000ull;
    rep_ns = (uint64_t)envl("BENCH_REP_MS", 200) * 1000000ull;

    const char *kind = argv[1];
    int ccpu, scpu;
    if (!strcmp(kind, "memcpy")) {
        placement(argv[2], &ccpu, &scpu);
        run_memcpy(argv[2], ccpu, argc > 3 ? strtoul(argv[3], NULL, 0) : 8u << 20);
        return 0;
    }
    const char *mech, *place;
    int nthreads = 1;
    size_t size = sizeof(struct msg);
    if (!strcmp(kind, "lat")) {
        if (argc < 4)
            usage();
        mech = argv[2];
        place = argv[3];
        if (argc > 4)
            size = strtoul(argv[4], NULL, 0);
    } else if (!strcmp(kind, "tput")) {
        if (argc < 4)
            usage();
        mech = "door";
        place = argv[2];
        nthreads = atoi(argv[3]);
        if (nthreads < 1)
            usage();
    } else {
        usage();
    }
    placement(place, &ccpu, &scpu);
    if (strcmp(mech, "door") && size != sizeof(struct msg)) {
        fprintf(stderr, "doorbench: %s measures 16-byte messages only\n", mech);
        return 2;
    }
    if (!strcmp(mech, "door") && size > 0 && size < sizeof(struct msg)) {
        fprintf(stderr, "doorbench: door sizes are 0 or >= 16\n");
        return 2;
    }

    /* The server (this process) pins itself first: threads it creates inherit the mask. */
    pin_self(scpu);
    void (*rt)(uint64_t) = NULL, (*serve)(void) = NULL, (*quit)(void) = NULL;
    if (!strcmp(mech, "door")) {
        setup_door();
        rt = rt_door;
    } else if (!strcmp(mech, "futex") || !strcmp(mech, "spin")) {
        spin_mode = !strcmp(mech, "spin");
        sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (sh == MAP_FAILED)
            DIE("mmap");
        memset(sh, 0, sizeof *sh);
        rt = rt_shm;
        serve = serve_shm;
        quit = quit_shm;
    } else if (!strcmp(mech, "binder")) {
        setup_binder();
        rt = rt_binder;
        serve = serve_binder;
        quit = quit_binder;
    } else if (!strcmp(mech, "pipe") || !strcmp(mech, "seqpacket")) {
        int a[2], b[2];
        if (!strcmp(mech, "pipe")) {
            if (pipe(a) || pipe(b))
                DIE("pipe");
            c_wfd = a[1];
            s_rfd = a[0];
            s_wfd = b[1];
            c_rfd = b[0];
        } else {
            if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, a))
                DIE("socketpair");
            c_rfd = c_wfd = a[0];
            s_rfd = s_wfd = a[1];
        }
        rt = rt_fd;
        serve = serve_fd;
        quit = quit_fd;
    } else {
        usage();
    }

    fflush(stdout);
    pid_t server = getpid();
    pid_t child = fork();
    if (child < 0)
        DIE("fork");
    if (child == 0) {
        pin_self(ccpu);
        if (clock_getcpuclockid(server, &srv_clock))
            DIE("clock_getcpuclockid");
        if (!strcmp(kind, "tput")) {
            run_tput(place, nthreads);
        } else {
            main_call.asz = size;
            main_call.abuf = alloc_touch(size);
            run_lat(rt, mech, place, size);
        }
        if (quit)
            quit();
        _exit(0);
    }
    if (serve)
        serve();
    int st;
    if (waitpid(child, &st, 0) < 0)
        DIE("waitpid");
    fflush(stdout);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 3);
}
