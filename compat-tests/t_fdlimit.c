/*
 * t_fdlimit.c - a door client with no free descriptor, as a daemon's client
 * that has run out of descriptors is.  The door server is another process
 * with room to spare; the client lowers its soft RLIMIT_NOFILE and fills
 * its descriptor table up to it with dup(2) before calling.
 *
 *  1. door_call(3C) on a door descriptor, for a door that passes no
 *     descriptors, works with zero free slots, call after call, from a
 *     thread that never called before (the server procedure runs exactly
 *     once per call); so does a door_call through a descriptor of an
 *     attached path opened before the table filled up;
 *  2. a door whose procedure returns descriptors (DOOR_RELEASE), called by
 *     that client: as recorded on illumos, the client's door_call succeeds
 *     with the data and desc_num 0, and the server's door_return returns
 *     -1 leaving errno as it was, its descriptors still open;
 *  3. none of this takes a slot below the client's limit, the limit is
 *     left as the client set it, and once the calling thread is gone
 *     neither process holds a descriptor more than before; with room
 *     again, the same door hands over both descriptors.
 */
#include <door.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define LIMIT  64 /* the client's soft descriptor limit */
#define NCALLS 5

struct shared {
    volatile int plain_calls;
    volatile int give_calls;
    volatile int give_failed; /* door_return came back */
    volatile int give_ret;
    volatile int give_errno_kept;
    volatile int give_fds_open;
    volatile int server_fds_ok;
};

static struct shared *sh;
static int pipe_fds[2];
static char path[64];

static void plain_proc(void *cookie, char *argp, size_t n, door_desc_t *dp, uint_t nd) {
    int v;

    (void)cookie;
    (void)argp;
    (void)n;
    (void)dp;
    (void)nd;
    v = __atomic_add_fetch(&sh->plain_calls, 1, __ATOMIC_SEQ_CST);
    (void)door_return((char *)&v, sizeof(v), NULL, 0);
}

static void give_proc(void *cookie, char *argp, size_t n, door_desc_t *dp, uint_t nd) {
    door_desc_t d[2];
    int i, r, e;

    (void)cookie;
    (void)argp;
    (void)n;
    (void)dp;
    (void)nd;
    __atomic_add_fetch(&sh->give_calls, 1, __ATOMIC_SEQ_CST);
    for (i = 0; i < 2; i++) {
        d[i].d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
        d[i].d_data.d_desc.d_descriptor = dup(pipe_fds[0]);
    }
    errno = EDOM;
    r = door_return("gift", 5, d, 2);
    /* Only when the client could not take them. */
    e = errno;
    sh->give_ret = r;
    sh->give_errno_kept = (e == EDOM);
    sh->give_fds_open =
        fd_is_open(d[0].d_data.d_desc.d_descriptor) && fd_is_open(d[1].d_data.d_desc.d_descriptor);
    for (i = 0; i < 2; i++)
        (void)close(d[i].d_data.d_desc.d_descriptor);
    __atomic_add_fetch(&sh->give_failed, 1, __ATOMIC_SEQ_CST);
    (void)door_return(NULL, 0, NULL, 0);
}

/* The server process: two doors, one attached at `path`. */
static void server(int sock) {
    int plain, give, base;
    char c;

    plain = door_create(plain_proc, NULL, 0);
    give = door_create(give_proc, NULL, 0);
    if (!CHECK(plain >= 0 && give >= 0) || !CHECK_EQ(fattach(plain, path), 0) ||
        !CHECK_EQ(send_fd(sock, plain), 0) || !CHECK_EQ(send_fd(sock, give), 0))
        harness_child_exit();
    base = count_fds_stable();
    /* Wait for the end of the test, then look for leaks. */
    (void)read(sock, &c, 1);
    sh->server_fds_ok = (count_fds_settled(base) == base);
    (void)fdetach(path);
    harness_child_exit();
}

struct calls {
    int plain, give, pfd;
};

/* The client's calls, from a thread that has never called a door. */
static void *calls_thread(void *arg) {
    struct calls *c = arg;
    door_arg_t a;
    char rbuf[64];
    int i, v, before;

    for (i = 0; i < NCALLS; i++) {
        before = sh->plain_calls;
        memset(&a, 0, sizeof(a));
        a.rbuf = rbuf;
        a.rsize = sizeof(rbuf);
        if (!CHECK_EQ(door_call(c->plain, &a), 0))
            break;
        CHECK_EQU(a.data_size, sizeof(v));
        memcpy(&v, a.data_ptr, sizeof(v));
        CHECK_EQ(v, before + 1);
        CHECK_EQ(sh->plain_calls, before + 1);
    }
    /* Through the attached path, opened before the table filled up. */
    for (i = 0; i < NCALLS; i++) {
        before = sh->plain_calls;
        memset(&a, 0, sizeof(a));
        a.rbuf = rbuf;
        a.rsize = sizeof(rbuf);
        if (!CHECK_EQ(door_call(c->pfd, &a), 0))
            break;
        CHECK_EQU(a.data_size, sizeof(v));
        memcpy(&v, a.data_ptr, sizeof(v));
        CHECK_EQ(v, before + 1);
    }
    /* Results with descriptors the client has no room for. */
    for (i = 0; i < 2; i++) {
        before = sh->give_failed;
        memset(&a, 0, sizeof(a));
        a.rbuf = rbuf;
        a.rsize = sizeof(rbuf);
        if (!CHECK_EQ(door_call(c->give, &a), 0))
            break;
        CHECK_EQU(a.desc_num, 0);
        CHECK_EQU(a.data_size, 5);
        CHECK_PTR_EQ(a.data_ptr, rbuf);
        CHECK_EQ(memcmp(rbuf, "gift", 5), 0);
        /* The server's door_return has failed by the time we return. */
        for (v = 0; v < 500 && sh->give_failed == before; v++)
            (void)usleep(10000);
        CHECK_EQ(sh->give_failed, before + 1);
        CHECK_EQ(sh->give_ret, -1);
        CHECK(sh->give_errno_kept);
        CHECK(sh->give_fds_open);
    }
    return (NULL);
}

static void client(int plain, int give) {
    struct rlimit rl, now;
    struct calls c;
    pthread_t t;
    int *fill, nfill = 0, fds0, f, pfd, nul;
    door_arg_t a;
    char rbuf[64];

    c.plain = plain;
    c.give = give;
    REQUIRE((pfd = open(path, O_RDONLY)) >= 0);
    c.pfd = pfd;
    REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    rl.rlim_cur = LIMIT;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    fill = calloc(LIMIT, sizeof(int));
    REQUIRE(fill != NULL);
    REQUIRE((nul = open("/dev/null", O_RDONLY)) >= 0);
    while ((f = dup(nul)) >= 0)
        fill[nfill++] = f;
    CHECK_EQ(errno, EMFILE);
    fds0 = count_fds_stable();

    REQUIRE(pthread_create(&t, NULL, calls_thread, &c) == 0);
    (void)pthread_join(t, NULL);

    /* Still no free slot below the limit, and the limit is ours. */
    expect_errno(dup(nul), EMFILE);
    CHECK(getrlimit(RLIMIT_NOFILE, &now) == 0 && now.rlim_cur == LIMIT);
    CHECK_EQ(count_fds_settled(fds0), fds0);

    /* With room again, both descriptors arrive. */
    while (nfill > 0)
        (void)close(fill[--nfill]);
    free(fill);
    (void)close(nul);
    memset(&a, 0, sizeof(a));
    a.rbuf = rbuf;
    a.rsize = sizeof(rbuf);
    if (CHECK_EQ(door_call(give, &a), 0) && CHECK_EQU(a.desc_num, 2)) {
        CHECK_EQ(memcmp(a.data_ptr, "gift", 5), 0);
        (void)close(a.desc_ptr[0].d_data.d_desc.d_descriptor);
        (void)close(a.desc_ptr[1].d_data.d_desc.d_descriptor);
    }
    (void)close(pfd);
}

static void caller_at_its_limit(void) {
    int sv[2], plain, give, fd;
    pid_t spid, cpid;

    strcpy(path, "/tmp/t_fdlimit.XXXXXX");
    REQUIRE((fd = mkstemp(path)) >= 0);
    (void)close(fd);
    (void)chmod(path, 0644);
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    spid = harness_fork();
    REQUIRE(spid >= 0);
    if (spid == 0) {
        (void)close(sv[0]);
        server(sv[1]);
    }
    (void)close(sv[1]);
    plain = recv_fd(sv[0]);
    give = recv_fd(sv[0]);
    if (CHECK(plain >= 0 && give >= 0)) {
        cpid = harness_fork();
        if (cpid == 0) {
            client(plain, give);
            harness_child_exit();
        }
        (void)harness_wait_child(cpid);
    }
    (void)write(sv[0], "x", 1);
    (void)harness_wait_child(spid);
    CHECK(sh->server_fds_ok);
    CHECK_EQ(sh->give_calls, 3);
    CHECK_EQ(sh->give_failed, 2);
    CHECK_EQ(sh->plain_calls, 2 * NCALLS);
    (void)close(sv[0]);
    (void)close(plain);
    (void)close(give);
    (void)unlink(path);
}

int main(int argc, char **argv) {
    harness_only(argc, argv);
    sh = harness_shared(sizeof(*sh));
    if (pipe(pipe_fds) != 0)
        return (1);
    RUN(caller_at_its_limit);
    return (harness_done());
}
