/*
 * t_closefrom.c - a program that closes every descriptor from 3 up after
 * using doors (closefrom(3C), close_range(2), a daemonize loop of close(2)).
 *
 * On illumos a door server's library keeps no descriptors of its own, so
 * such a program simply loses its doors.  libdoor's userspace backend does
 * keep descriptors (sockets, epoll sets); when the application closes them
 * the library must notice, never close or use those numbers again (they
 * may name the application's own files by then), and serve doors created
 * afterwards as if nothing had happened.
 *
 * Each case runs in a fresh child process:
 *  1. create a door and call it, close everything from 3 up, open eight
 *     files (which take the numbers libdoor used); then a fork child finds
 *     all eight still open (the library's fork handler closes nothing of
 *     the application's); door_create works again and a call through the
 *     new door, from this process and from a fork child, gets the right
 *     reply; the eight files are still open and unchanged at the end;
 *  2. the same with a loop of close(2) from 3 to 1023;
 *  3. the same with close_range(3, ~0U, 0);
 *  4. only a client: a process that called a door served by another
 *     process closes everything, opens its files, calls a door again
 *     (passed anew) and forks; nothing of its own is closed;
 *  5. with a door attached to a file: after closefrom every number the
 *     library held names the application's own file; a new fattach works
 *     and its path can be opened and called from another process, the
 *     lost attachment's path is no door any more, and nothing was read
 *     from or written to the application's file through those numbers
 *     (the kernel backend's rendezvous thread once slept on its lost
 *     wake-up descriptor, so the new attachment was never served, and
 *     the next fattach wrote its wake-up into the application's file);
 *  6. (kernel backend) the application replaces only the rendezvous
 *     thread's wake-up descriptor with its own file: the attachment, whose
 *     descriptors are intact, is still served, a new one too, and nothing
 *     touches the application's file.
 */
#define _GNU_SOURCE
#include <door.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "harness.h"

#define NFILES 8

static void echo(void *cookie, char *argp, size_t n, door_desc_t *dp, uint_t nd) {
    char buf[64];
    int len;

    (void)dp;
    (void)nd;
    len = snprintf(buf, sizeof(buf), "%s:%.*s", (char *)cookie, (int)(n > 32 ? 32 : n),
                   argp ? argp : "");
    (void)door_return(buf, (size_t)len + 1, NULL, 0);
}

/* Calls `d` with "hi"; the reply must be "<tag>:hi". */
static int call_ok(int d, const char *tag) {
    char rbuf[64], want[64];
    door_arg_t a;

    memset(&a, 0, sizeof(a));
    a.data_ptr = "hi";
    a.data_size = 2;
    a.rbuf = rbuf;
    a.rsize = sizeof(rbuf);
    if (door_call(d, &a) != 0)
        return (0);
    (void)snprintf(want, sizeof(want), "%s:hi", tag);
    return (a.data_size == strlen(want) + 1 && strcmp(a.data_ptr, want) == 0);
}

static int files[NFILES];

/* Open NFILES files of our own, each with a distinct, known content. */
static void open_files(void) {
    int i;

    for (i = 0; i < NFILES; i++) {
        char name[] = "/tmp/t_closefrom.XXXXXX";
        char c = (char)('a' + i);

        files[i] = mkstemp(name);
        CHECK(files[i] >= 0);
        (void)unlink(name);
        CHECK_EQ(write(files[i], &c, 1), 1);
    }
}

/* Are all our files still open, and still ours (same content)? */
static int files_intact(void) {
    int i;

    for (i = 0; i < NFILES; i++) {
        char c = 0;

        if (fcntl(files[i], F_GETFD) == -1)
            return (0);
        if (pread(files[i], &c, 1, 0) != 1 || c != (char)('a' + i))
            return (0);
    }
    return (1);
}

/* A fork child must find every file of ours open. */
static void check_fork_child_keeps_files(void) {
    pid_t pid = harness_fork();

    if (pid == 0) {
        CHECK(files_intact());
        harness_child_exit();
    }
    harness_wait_child(pid);
}

enum how { CLOSEFROM, CLOSE_LOOP, CLOSE_RANGE };

static void close_all(enum how how) {
    int i;

    fflush(stdout);
    switch (how) {
    case CLOSEFROM:
        closefrom(3);
        break;
    case CLOSE_LOOP:
        for (i = 3; i < 1024; i++)
            (void)close(i);
        break;
    case CLOSE_RANGE:
        CHECK_EQ(close_range(3, ~0U, 0), 0);
        break;
    }
}

static void server_case(enum how how) {
    pid_t pid = harness_fork();

    if (pid == 0) {
        int d1, d2;
        pid_t c;

        d1 = door_create(echo, "one", 0);
        REQUIRE(d1 >= 0);
        CHECK(call_ok(d1, "one"));
        close_all(how);
        open_files();
        check_fork_child_keeps_files();
        CHECK(files_intact());
        d2 = door_create(echo, "two", 0);
        CHECK(d2 >= 0);
        if (d2 >= 0) {
            CHECK(call_ok(d2, "two"));
            c = harness_fork();
            if (c == 0) {
                CHECK(call_ok(d2, "two"));
                CHECK(files_intact());
                harness_child_exit();
            }
            harness_wait_child(c);
            CHECK(call_ok(d2, "two"));
        }
        check_fork_child_keeps_files();
        CHECK(files_intact());
        harness_child_exit();
    }
    harness_wait_child(pid);
}

static void test_closefrom(void) {
    server_case(CLOSEFROM);
}

static void test_close_loop(void) {
    server_case(CLOSE_LOOP);
}

static void test_close_range(void) {
    server_case(CLOSE_RANGE);
}

static void test_client_only(void) {
    int sv[2], d;
    pid_t srv, cli;
    int i;

    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    srv = harness_fork();
    if (srv == 0) {
        char b;

        (void)close(sv[1]);
        d = door_create(echo, "srv", 0);
        REQUIRE(d >= 0);
        /* A door for each byte the client sends, until it hangs up. */
        while (read(sv[0], &b, 1) > 0)
            CHECK_EQ(send_fd(sv[0], d), 0);
        harness_child_exit();
    }
    (void)close(sv[0]);
    cli = harness_fork();
    if (cli == 0) {
        /* Keep the link to the server at 900, close all else. */
        int s = dup2(sv[1], 900);

        REQUIRE(s == 900);
        CHECK_EQ(write(s, "n", 1), 1);
        d = recv_fd(s);
        REQUIRE(d >= 0);
        for (i = 0; i < 100; i++)
            CHECK(call_ok(d, "srv"));
        CHECK_EQ(close_range(3, 899, 0), 0);
        CHECK_EQ(close_range(901, ~0U, 0), 0);
        open_files();
        check_fork_child_keeps_files();
        CHECK(files_intact());
        /* The door anew: calls work again, from here and a child. */
        CHECK_EQ(write(s, "n", 1), 1);
        d = recv_fd(s);
        REQUIRE(d >= 0);
        for (i = 0; i < 100; i++)
            CHECK(call_ok(d, "srv"));
        check_fork_child_keeps_files();
        CHECK(files_intact());
        harness_child_exit();
    }
    (void)close(sv[1]);
    harness_wait_child(cli);
    (void)kill(srv, SIGKILL);
    (void)waitpid(srv, NULL, 0);
}

/* Every descriptor number from 3 up that is open now, but `except`. */
static int open_numbers(int *out, int max, int except) {
    int n = 0, fd;

    for (fd = 3; fd < 4096 && n < max; fd++)
        if (fd != except && fcntl(fd, F_GETFD) != -1)
            out[n++] = fd;
    return (n);
}

/* A fork child opens `path` and calls it: the reply must be "<tag>:hi". */
static int child_calls_path(const char *path, const char *tag) {
    pid_t pid = harness_fork();

    if (pid == 0) {
        int fd = open(path, O_RDONLY);

        CHECK(fd >= 0);
        CHECK(fd >= 0 && call_ok(fd, tag));
        harness_child_exit();
    }
    return (harness_wait_child(pid) == 0);
}

/* A fork child opens `path`: it must be no door (EBADF). */
static void child_finds_no_door(const char *path) {
    pid_t pid = harness_fork();

    if (pid == 0) {
        door_info_t info;
        int fd = open(path, O_RDONLY);

        CHECK(fd >= 0);
        expect_errno(door_info(fd, &info), EBADF);
        harness_child_exit();
    }
    harness_wait_child(pid);
}

static void test_attached(void) {
    pid_t pid = harness_fork();

    if (pid == 0) {
        char p1[] = "/tmp/t_closefrom.a.XXXXXX", p2[] = "/tmp/t_closefrom.b.XXXXXX";
        int held[256], nheld, i, d1, d2, v, f;
        struct stat vs, st;
        char buf[16];

        f = mkstemp(p1);
        REQUIRE(f >= 0);
        (void)close(f);
        f = mkstemp(p2);
        REQUIRE(f >= 0);
        (void)close(f);
        d1 = door_create(echo, "one", 0);
        REQUIRE(d1 >= 0);
        CHECK_EQ(fattach(d1, p1), 0);
        CHECK(child_calls_path(p1, "one"));
        /* The library's numbers: all that is open but the door. */
        nheld = open_numbers(held, 256, d1);
        CHECK(nheld > 0);
        close_all(CLOSEFROM);
        /* Each of those numbers names our own file now. */
        v = memfd_create("victim", 0);
        REQUIRE(v >= 0);
        CHECK_EQ(write(v, "victim", 6), 6);
        for (i = 0; i < nheld; i++)
            if (held[i] != v)
                CHECK_EQ(dup2(v, held[i]), held[i]);
        d2 = door_create(echo, "two", 0);
        REQUIRE(d2 >= 0);
        CHECK_EQ(fattach(d2, p2), 0);
        CHECK(child_calls_path(p2, "two"));
        CHECK(child_calls_path(p2, "two"));
        child_finds_no_door(p1);
        /* Our file, through every number, is as we left it. */
        REQUIRE(fstat(v, &vs) == 0);
        CHECK_EQ((long)vs.st_size, 6L);
        CHECK_EQ(pread(v, buf, sizeof(buf), 0), 6);
        CHECK(memcmp(buf, "victim", 6) == 0);
        CHECK_EQ((long)lseek(v, 0, SEEK_CUR), 6L);
        for (i = 0; i < nheld; i++) {
            CHECK(fstat(held[i], &st) == 0 && st.st_ino == vs.st_ino && st.st_dev == vs.st_dev);
        }
        CHECK_EQ(fdetach(p2), 0);
        child_finds_no_door(p2);
        (void)unlink(p1);
        (void)unlink(p2);
        harness_child_exit();
    }
    harness_wait_child(pid);
}

/* Every library number from 3 up that names an eventfd (the kernel
 * backend's rendezvous wake-up). */
static int eventfd_numbers(int *out, int max) {
    char path[64], link[64];
    int n = 0, fd;
    ssize_t len;

    for (fd = 3; fd < 4096 && n < max; fd++) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        len = readlink(path, link, sizeof(link) - 1);
        if (len <= 0)
            continue;
        link[len] = 0;
        if (strcmp(link, "anon_inode:[eventfd]") == 0)
            out[n++] = fd;
    }
    return (n);
}

/*
 * The application replaces only the rendezvous thread's wake-up descriptor
 * (dup2 of its own file onto that number): the attachment, whose own
 * descriptors are all intact, is still served (the thread that slept on
 * the lost number once ended and nothing served the path until the next
 * fattach), and the application's file is neither read nor written.
 */
static void test_wake_lost(void) {
    pid_t pid;

    if (!harness_kernel_backend()) {
        /* the userspace backend starts afresh when any of its
         * descriptors goes (KNOWN_DIFFERENCES.md) */
        fprintf(stderr, "SKIP %s: the kernel backend's rendezvous thread\n", harness_test_name);
        return;
    }
    pid = harness_fork();
    if (pid == 0) {
        char p1[] = "/tmp/t_closefrom.w.XXXXXX", p2[] = "/tmp/t_closefrom.x.XXXXXX";
        int ev[8], nev, i, d1, d2, v, f;
        struct stat vs;
        char buf[16];

        f = mkstemp(p1);
        REQUIRE(f >= 0);
        (void)close(f);
        f = mkstemp(p2);
        REQUIRE(f >= 0);
        (void)close(f);
        d1 = door_create(echo, "one", 0);
        REQUIRE(d1 >= 0);
        CHECK_EQ(fattach(d1, p1), 0);
        CHECK(child_calls_path(p1, "one"));
        nev = eventfd_numbers(ev, 8);
        CHECK(nev > 0);
        v = memfd_create("victim", 0);
        REQUIRE(v >= 0);
        CHECK_EQ(write(v, "victim", 6), 6);
        for (i = 0; i < nev; i++)
            CHECK_EQ(dup2(v, ev[i]), ev[i]);
        /* the attachment is still served, again and again */
        CHECK(child_calls_path(p1, "one"));
        CHECK(child_calls_path(p1, "one"));
        /* and a new one too */
        d2 = door_create(echo, "two", 0);
        REQUIRE(d2 >= 0);
        CHECK_EQ(fattach(d2, p2), 0);
        CHECK(child_calls_path(p2, "two"));
        CHECK(child_calls_path(p1, "one"));
        CHECK_EQ(fdetach(p1), 0);
        child_finds_no_door(p1);
        CHECK(child_calls_path(p2, "two"));
        CHECK_EQ(fdetach(p2), 0);
        child_finds_no_door(p2);
        /* our file, through every number, is as we left it */
        REQUIRE(fstat(v, &vs) == 0);
        CHECK_EQ((long)vs.st_size, 6L);
        CHECK_EQ(pread(v, buf, sizeof(buf), 0), 6);
        CHECK(memcmp(buf, "victim", 6) == 0);
        for (i = 0; i < nev; i++) {
            struct stat st;

            CHECK(fstat(ev[i], &st) == 0 && st.st_ino == vs.st_ino);
        }
        (void)unlink(p1);
        (void)unlink(p2);
        harness_child_exit();
    }
    harness_wait_child(pid);
}

int main(int argc, char **argv) {
    harness_only(argc, argv);
    RUN(test_closefrom);
    RUN(test_close_loop);
    RUN(test_close_range);
    RUN(test_client_only);
    RUN(test_attached);
    RUN(test_wake_lost);
    return (harness_done());
}
