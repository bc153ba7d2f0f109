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
 */
#define _GNU_SOURCE /* setresuid, setresgid */
#include <door.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
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

int main(int argc, char **argv) {
    harness_only(argc, argv);
    RUN(test_empty_messages);
    return (harness_done());
}
