/*
 * t_footprint.c - where a door library's descriptors go.
 *
 * illumos keeps no descriptor of its own for doors: a process's first
 * door_create(3C) returns 3, and a file opened after it gets 4.  libdoor's
 * userspace backend does keep descriptors (sockets, epoll sets); it keeps
 * them at high numbers (256 and up, where the limit allows), so that the
 * numbers the application sees are the ones it would see on illumos.
 *
 *  1. in a process with only 0, 1 and 2 open: door_create returns 3, a
 *     call through it works, open(2) then returns 4, and every other
 *     descriptor the library holds is at 256 or above;
 *  2. a door descriptor received in a door_call's results takes the
 *     lowest free number, as on illumos;
 *  3. with RLIMIT_NOFILE at 32 (no room above 256), door_create and calls
 *     still work: the library keeps its descriptors where they fall.
 */
#include <door.h>
#include <unistd.h>
#include <sys/resource.h>

#include "harness.h"

static void echo(void *cookie, char *argp, size_t n, door_desc_t *dp, uint_t nd) {
    (void)cookie;
    (void)dp;
    (void)nd;
    (void)door_return(argp, n, NULL, 0);
}

static int call_ok(int d) {
    char rbuf[16];
    door_arg_t a;

    memset(&a, 0, sizeof(a));
    a.data_ptr = "ping";
    a.data_size = 5;
    a.rbuf = rbuf;
    a.rsize = sizeof(rbuf);
    return door_call(d, &a) == 0 && a.data_size == 5 && strcmp(a.data_ptr, "ping") == 0;
}

/* Descriptors open below `lim`, other than 0, 1 and 2 and `keep`. */
static int open_below(int lim) {
    int fd, n = 0;

    for (fd = 3; fd < lim; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

static void test_first_door_is_3(void) {
    pid_t pid = harness_fork();

    if (pid == 0) {
        int d, f;

        closefrom(3);
        d = door_create(echo, NULL, 0);
        CHECK_EQ(d, 3);
        CHECK(call_ok(d));
        f = open("/dev/null", O_RDONLY);
        CHECK_EQ(f, 4);
        CHECK_EQ(open_below(256), 2);
        CHECK((fcntl(d, F_GETFD) & FD_CLOEXEC) != 0);
        harness_child_exit();
    }
    harness_wait_child(pid);
}

static int passed_door = -1;

static void give_door(void *cookie, char *argp, size_t n, door_desc_t *dp, uint_t nd) {
    door_desc_t desc;

    (void)cookie;
    (void)argp;
    (void)n;
    (void)dp;
    (void)nd;
    desc.d_attributes = DOOR_DESCRIPTOR;
    desc.d_data.d_desc.d_descriptor = passed_door;
    (void)door_return(NULL, 0, &desc, 1);
}

static void test_received_door_lowest(void) {
    int sv[2];
    pid_t srv, cli;

    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    srv = harness_fork();
    if (srv == 0) {
        int g;
        char b;

        (void)close(sv[1]);
        passed_door = door_create(echo, NULL, 0);
        g = door_create(give_door, NULL, 0);
        REQUIRE(passed_door >= 0 && g >= 0);
        CHECK_EQ(send_fd(sv[0], g), 0);
        while (read(sv[0], &b, 1) > 0)
            continue;
        harness_child_exit();
    }
    cli = harness_fork();
    if (cli == 0) {
        door_desc_t descs[2];
        door_arg_t a;
        int g = recv_fd(sv[1]);
        int low;

        REQUIRE(g >= 0);
        /* A first call sets up whatever the library keeps. */
        memset(&a, 0, sizeof(a));
        a.rbuf = (char *)descs;
        a.rsize = sizeof(descs);
        CHECK_EQ(door_call(g, &a), 0);
        CHECK_EQ(a.desc_num, 1);
        if (a.desc_num == 1)
            (void)close(a.desc_ptr[0].d_data.d_desc.d_descriptor);
        low = open("/dev/null", O_RDONLY);
        REQUIRE(low >= 0);
        (void)close(low);
        memset(&a, 0, sizeof(a));
        a.rbuf = (char *)descs;
        a.rsize = sizeof(descs);
        CHECK_EQ(door_call(g, &a), 0);
        CHECK_EQ(a.desc_num, 1);
        if (a.desc_num == 1) {
            CHECK_EQ(a.desc_ptr[0].d_data.d_desc.d_descriptor, low);
            CHECK(call_ok(a.desc_ptr[0].d_data.d_desc.d_descriptor));
        }
        harness_child_exit();
    }
    harness_wait_child(cli);
    (void)close(sv[0]);
    (void)close(sv[1]);
    harness_wait_child(srv);
}

static void test_low_limit(void) {
    pid_t pid = harness_fork();

    if (pid == 0) {
        struct rlimit rl = {32, 32};
        int d, i;

        closefrom(3);
        REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);
        d = door_create(echo, NULL, 0);
        CHECK_EQ(d, 3);
        for (i = 0; i < 10; i++)
            CHECK(call_ok(d));
        harness_child_exit();
    }
    harness_wait_child(pid);
}

int main(int argc, char **argv) {
    harness_only(argc, argv);
    RUN(test_first_door_is_3);
    RUN(test_received_door_lowest);
    RUN(test_low_limit);
    return (harness_done());
}
