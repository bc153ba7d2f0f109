/*
 * t_fuzzfound.c - regressions for what coverage-guided fuzzing found
 * (fuzz/README.md).
 *
 * Clauses exercised (door_call(3C), door_create(3C) DOOR_UNREF):
 *  - a hostile client (another process, uid/gid 65534) that holds a copy
 *    of the door descriptor writes zero-length messages on it (on the
 *    user-space backend the descriptor is an AF_UNIX SOCK_SEQPACKET
 *    socket, and an empty message reads like end of file): the door keeps
 *    serving every caller, on the socket path (calls with descriptors)
 *    and without descriptors; no unreferenced notification is delivered
 *    while the door is still referenced; the server leaks no descriptor.
 *  - a hostile door server (another process, uid/gid 65534, that made a
 *    socket pair of its own and named its end like a door) answers the
 *    "go on" step of a call (a call passing DOOR_RELEASE descriptors, or
 *    with more than 128 KiB of arguments) with descriptors attached, then
 *    vanishes: door_call fails with EINTR and the calling process holds
 *    no descriptor more than before the call.
 */
#define _GNU_SOURCE /* setresuid, setresgid */
#include <door.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

static volatile int unrefs;

static void proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp, uint_t n_desc) {
    uint_t i;

    (void)cookie;
    if (argp == DOOR_UNREF_DATA) {
        __atomic_fetch_add(&unrefs, 1, __ATOMIC_SEQ_CST);
        (void)door_return(NULL, 0, NULL, 0);
    }
    for (i = 0; i < n_desc; i++)
        close(dp[i].d_data.d_desc.d_descriptor);
    (void)door_return(argp, arg_size, NULL, 0);
}

/* One echo call; with_desc passes /dev/null, which forces the socket path. */
static int echo_ok(int d, int with_desc) {
    char buf[16] = "fuzz-found echo", rbuf[64];
    door_desc_t desc;
    door_arg_t a;
    int fd = -1, r;

    memset(&a, 0, sizeof(a));
    a.data_ptr = buf;
    a.data_size = sizeof(buf);
    a.rbuf = rbuf;
    a.rsize = sizeof(rbuf);
    if (with_desc) {
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        memset(&desc, 0, sizeof(desc));
        desc.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
        desc.d_data.d_desc.d_descriptor = fd;
        a.desc_ptr = &desc;
        a.desc_num = 1;
    }
    r = door_call(d, &a);
    if (r != 0 && fd >= 0)
        close(fd);
    return (r == 0 && a.data_size == sizeof(buf) && memcmp(a.data_ptr, buf, sizeof(buf)) == 0);
}

static void drop_privileges(void) {
    gid_t g = 65534;

    if (geteuid() != 0)
        return;
    CHECK_EQ(setgroups(1, &g), 0);
    CHECK_EQ(setresgid(65534, 65534, 65534), 0);
    CHECK_EQ(setresuid(65534, 65534, 65534), 0);
}

static void test_empty_messages(void) {
    int d, before, i;
    pid_t pid;

    d = door_create(proc, NULL, DOOR_UNREF);
    REQUIRE(d >= 0);
    /* Warm up both paths, so their descriptors exist before counting. */
    CHECK(echo_ok(d, 1));
    CHECK(echo_ok(d, 0));
    before = count_fds_stable();
    pid = harness_fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        drop_privileges();
        for (i = 0; i < 8; i++)
            CHECK_EQ(send(d, "", 0, MSG_NOSIGNAL), 0);
        /* The hostile process itself can still call. */
        CHECK(echo_ok(d, 1));
        harness_child_exit();
    }
    harness_wait_child(pid);
    for (i = 0; i < 20; i++) {
        CHECK(echo_ok(d, 1));
        CHECK(echo_ok(d, 0));
    }
    /* A second process can too. */
    pid = harness_fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        CHECK(echo_ok(d, 1));
        harness_child_exit();
    }
    harness_wait_child(pid);
    CHECK_EQ(__atomic_load_n(&unrefs, __ATOMIC_SEQ_CST), 0);
    CHECK_EQ(count_fds_settled(before), before);
    CHECK_EQ(door_revoke(d), 0);
}

/*
 * The hostile server's side of the user-space backend's wire format, as a
 * peer sees it: a door's server end is bound to the abstract name
 * "ldoor1:<id>:<pid>:<nonce>:<attrs>:<clone>:<token>" (hex; the
 * pid must be the socket pair's creator); a call's first message starts
 * with this header (size: bytes of arguments; status: flags) and carries
 * the reply channel as its first descriptor; the rest of the arguments
 * come on the reply channel, and every answer there starts with this
 * header too.
 */
struct wire_hdr {
    uint32_t magic, kind, status, ndesc;
    uint64_t size, aux;
};
#define WIRE_MAGIC     0x444f4f52u /* "DOOR" */
#define WIRE_K_GO      5u          /* the server accepted the call: go on */
#define WIRE_F_RELEASE 4u          /* call flag (in status): DOOR_RELEASE descriptors */

/* Serves calls on `srv` until `quit` is readable: each gets K_GO + fds. */
static void fake_go_server(int srv, int quit) {
    struct wire_hdr go = {WIRE_MAGIC, WIRE_K_GO, 0, 0, 0, 0}, call;
    static char buf[256 * 1024];
    ssize_t n;

    for (;;) {
        struct pollfd pf[2] = {{srv, POLLIN, 0}, {quit, POLLIN, 0}};
        union {
            char b[CMSG_SPACE(64 * sizeof(int))];
            struct cmsghdr align;
        } u;
        struct iovec iov = {buf, sizeof(buf)};
        struct msghdr m;
        struct cmsghdr *c;
        int fds[64], nfd = 0, i, give[2];

        if (poll(pf, 2, 30000) <= 0 || pf[1].revents != 0)
            return;
        memset(&m, 0, sizeof(m));
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = u.b;
        m.msg_controllen = sizeof(u.b);
        if ((n = recvmsg(srv, &m, MSG_CMSG_CLOEXEC)) <= 0)
            return;
        for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                nfd = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                memcpy(fds, CMSG_DATA(c), (size_t)nfd * sizeof(int));
            }
        if (nfd > 0 && n >= (ssize_t)sizeof(call)) {
            size_t got = (size_t)n - sizeof(call);
            int more;

            memcpy(&call, buf, sizeof(call));
            /* Take the call (read the client's token byte), then "go on",
             * with two descriptors nobody asked for. */
            (void)recv(fds[0], buf, 1, MSG_DONTWAIT);
            give[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
            give[1] = open("/dev/null", O_RDONLY | O_CLOEXEC);
            (void)send_msg_fds(fds[0], &go, sizeof(go), give, 2);
            close(give[0]);
            close(give[1]);
            /* Read what the client sends next (the rest of its arguments,
             * then the mark that it released its descriptors) before the
             * channel is closed, so that the client sees a plain end of
             * file: the server died after taking the call. */
            more = (call.status & WIRE_F_RELEASE) != 0;
            while (got < call.size || more) {
                struct pollfd rp = {fds[0], POLLIN, 0};

                if (poll(&rp, 1, 10000) != 1 || (n = recv(fds[0], buf, sizeof(buf), 0)) <= 0)
                    break;
                if (got < call.size)
                    got += (size_t)n;
                else
                    more = 0;
            }
        }
        for (i = 0; i < nfd; i++)
            close(fds[i]); /* and vanish */
    }
}

static void test_hostile_go_descriptors(void) {
    static char big[200 * 1024];
    int sv[2], quit[2], d, before, i, fd;
    door_desc_t desc;
    door_arg_t a;
    char rbuf[64];
    pid_t pid;

    if (geteuid() != 0)
        NOTE("not root: the hostile server runs as this user");
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    REQUIRE(pipe2(quit, O_CLOEXEC) == 0);
    pid = harness_fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct sockaddr_un sa;
        socklen_t len;
        int p[2];

        close(sv[0]);
        close(quit[1]);
        drop_privileges();
        REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) == 0);
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        len = (socklen_t)snprintf(
            sa.sun_path + 1, sizeof(sa.sun_path) - 1, "ldoor1:%016x:%08x:%016llx:%08x:%08x:%032x",
            1, (unsigned)getpid(), 0x0f0f0f0f00000000ULL | (unsigned)getpid(), 0, 0, 0);
        len += (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1);
        if (!CHECK_EQ(bind(p[0], (struct sockaddr *)&sa, len), 0) ||
            !CHECK_EQ(send_fd(sv[1], p[1]), 0))
            harness_child_exit();
        close(p[1]);
        fake_go_server(p[0], quit[0]);
        harness_child_exit();
    }
    close(sv[1]);
    close(quit[0]);
    d = recv_fd(sv[0]);
    if (CHECK(d >= 0)) {
        before = count_fds_stable();
        for (i = 0; i < 4; i++) {
            /* A DOOR_RELEASE descriptor: the server must say "go on" first. */
            fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            memset(&desc, 0, sizeof(desc));
            desc.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
            desc.d_data.d_desc.d_descriptor = fd;
            memset(&a, 0, sizeof(a));
            a.data_ptr = rbuf;
            a.data_size = 16;
            a.desc_ptr = &desc;
            a.desc_num = 1;
            a.rbuf = rbuf;
            a.rsize = sizeof(rbuf);
            CHECK_EQ(door_call(d, &a), -1);
            CHECK_EQ(errno, EINTR);
            if (fd_is_open(fd))
                close(fd);
            /* More than 128 KiB of arguments: the same step. */
            memset(&a, 0, sizeof(a));
            a.data_ptr = big;
            a.data_size = sizeof(big);
            a.rbuf = rbuf;
            a.rsize = sizeof(rbuf);
            CHECK_EQ(door_call(d, &a), -1);
            CHECK_EQ(errno, EINTR);
        }
        if (!CHECK_EQ(count_fds_settled(before), before))
            dump_fds("after the hostile server's answers");
        close(d);
    }
    close(quit[1]);
    harness_wait_child(pid);
    close(sv[0]);
}

int main(int argc, char **argv) {
    harness_only(argc, argv);
    RUN(test_empty_messages);
    RUN(test_hostile_go_descriptors);
    return (harness_done());
}
