/*
 * t_hostile_names.c - what a local user who holds no door learns about
 * door servers, and what a holder is told.
 *
 * On illumos only a holder of a door can learn its server procedure and
 * cookie (door_info's di_proc and di_data).  libdoor's doors are sockets
 * whose abstract names every local user can read in /proc/net/unix.  The
 * test process runs as root (every case is skipped otherwise) and plays
 * the door server; the other side is a forked child that drops to uid/gid
 * 65534.  Clauses exercised (door_info(3C); KNOWN_DIFFERENCES.md,
 * "Descriptors and file types" and "Peers that do not answer"):
 *  - the other uid reads /proc/net/unix: the server's doors are listed,
 *    but no name carries the procedure or cookie address, in any spelling;
 *  - the same process, once it has opened the door's attached 0644 name
 *    (a holder now), gets the right di_proc, di_data, di_target,
 *    di_attributes and di_uniquifier from door_info, and still gets the
 *    procedure and cookie (with DOOR_REVOKED) after the server revokes the
 *    door;
 *  - hand-made requests to the server's control socket from that uid,
 *    with no descriptor, with /dev/null, or with a socket of its own named
 *    like the door, are refused: no descriptor, no address in the answer;
 *    the same request carrying the door it holds is answered (so the
 *    refusals are not a malformed request's);
 *  - a door received from a server that then exits: door_info reports
 *    di_target -1 and DOOR_REVOKED, and the procedure and cookie it
 *    reported while the server lived;
 *  - every open of an attached name is an end of its own: the other uid
 *    opens a root door's 0644 name, calls it and shuts its descriptor down
 *    (shutdown(2), SHUT_RDWR); later openers (root in the server process,
 *    and another process of that uid) still call the door, with and
 *    without descriptors, and the server's door is not unreferenced by it;
 *  - 300 opens held by the other uid all work; they cost the server at
 *    most 256 descriptors, all given back when they are closed.
 */
#define _GNU_SOURCE /* setresuid, setresgid, memmem */
#include <door.h>
#include <stropts.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "harness.h"

#define NOBODY 65534

/*
 * The manager's control requests as a peer sees them: a 32-byte header
 * (magic "DOOR", kind, status, descriptor count, size, and the door id in
 * `aux'), with the door's descriptor (SCM_RIGHTS) as the proof of holding
 * it.  The answer starts with the same header; `status' is 0 or an errno.
 */
struct wire_hdr {
    uint32_t magic, kind, status, ndesc;
    uint64_t size, aux;
};
#define WIRE_MAGIC 0x444f4f52u
#define K_QUERY    3u
#define K_CLONE    6u

static char tdir[256];
static int secret_cookie = 42;

static void secret_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp, uint_t n_desc) {
    (void)cookie;
    (void)argp;
    (void)arg_size;
    (void)dp;
    (void)n_desc;
    (void)door_return("ok", 2, NULL, 0);
}

/* Closes what it is given; answers "ok" and how many it got. */
static void closing_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
                         uint_t n_desc) {
    char r[3] = {'o', 'k', 0};
    uint_t i;

    (void)cookie;
    (void)argp;
    (void)arg_size;
    for (i = 0; i < n_desc; i++)
        if (dp[i].d_attributes & DOOR_DESCRIPTOR)
            (void)close(dp[i].d_data.d_desc.d_descriptor);
    r[2] = (char)n_desc;
    (void)door_return(r, sizeof(r), NULL, 0);
}

/*
 * door_call on `fd', passing a descriptor (a pipe's end) if `with_desc':
 * 0 if the door answered "ok" and saw the descriptor, else -1.
 */
static int call_ok(int fd, int with_desc) {
    door_arg_t a;
    door_desc_t dd;
    char rbuf[16];
    int p[2] = {-1, -1}, rc;

    memset(&a, 0, sizeof(a));
    a.data_ptr = "hi";
    a.data_size = 2;
    a.rbuf = rbuf;
    a.rsize = sizeof(rbuf);
    if (with_desc) {
        if (pipe(p) != 0)
            return (-1);
        dd.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
        dd.d_data.d_desc.d_descriptor = p[0];
        a.desc_ptr = &dd;
        a.desc_num = 1;
    }
    rc = door_call(fd, &a);
    if (p[1] >= 0)
        (void)close(p[1]);
    if (rc != 0)
        return (-1);
    return (a.data_size == 3 && memcmp(a.data_ptr, "ok", 2) == 0 && a.data_ptr[2] == (char)with_desc
                ? 0
                : -1);
}

static char *mkfile(char *buf, const char *name, mode_t mode) {
    int fd;

    (void)snprintf(buf, PATH_MAX, "%s/%s", tdir, name);
    (void)unlink(buf);
    fd = open(buf, O_CREAT | O_EXCL | O_WRONLY, 0600);
    if (!CHECK(fd >= 0))
        return (buf);
    CHECK_EQ(fchmod(fd, mode), 0);
    (void)close(fd);
    return (buf);
}

/* The whole of /proc/net/unix (malloc'd, NUL-terminated), or NULL. */
static char *read_net_unix(size_t *lenp) {
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t r;
    int fd = open("/proc/net/unix", O_RDONLY | O_CLOEXEC);

    if (fd < 0 || buf == NULL) {
        free(buf);
        if (fd >= 0)
            (void)close(fd);
        return (NULL);
    }
    for (;;) {
        if (cap - len < 4096) {
            char *nb = realloc(buf, cap * 2);

            if (nb == NULL)
                break;
            buf = nb;
            cap *= 2;
        }
        r = read(fd, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    (void)close(fd);
    buf[len] = 0;
    *lenp = len;
    return (buf);
}

/* Does `text' contain the hex spelling of `v' (padded or not, any case)? */
static int mentions(const char *text, uint64_t v) {
    char s[4][40];
    int i;

    (void)snprintf(s[0], sizeof(s[0]), "%016llx", (unsigned long long)v);
    (void)snprintf(s[1], sizeof(s[1]), "%llx", (unsigned long long)v);
    (void)snprintf(s[2], sizeof(s[2]), "%016llX", (unsigned long long)v);
    (void)snprintf(s[3], sizeof(s[3]), "%llX", (unsigned long long)v);
    for (i = 0; i < 4; i++)
        if (strstr(text, s[i]) != NULL) {
            NOTE("/proc/net/unix mentions %s", s[i]);
            return (1);
        }
    return (0);
}

/*
 * From /proc/net/unix: the nonce of door `id' served by `pid' (its name is
 * "ldoor1:<id>:<pid>:<nonce>:..."). 0 if found.
 */
static int find_door_name(const char *text, pid_t pid, uint64_t id, unsigned long long *nonce) {
    char want[48];
    const char *p;

    (void)snprintf(want, sizeof(want), "@ldoor1:%016llx:%08x:", (unsigned long long)id,
                   (unsigned)pid);
    p = strstr(text, want);
    if (p == NULL)
        return (-1);
    *nonce = strtoull(p + strlen(want), NULL, 16);
    return (0);
}

/*
 * One hand-made control request of `kind' about door `id' to the control
 * socket `ctl', with descriptor `fd' (none if -1).  Fills `ans' (up to
 * `cap' bytes) with the answer; returns its length (0: the manager closed
 * the connection without answering, -1: no answer within 5 s).
 * `*nfds' is the number of descriptors that came with it (closed here).
 */
static ssize_t request(const char *ctl, uint32_t kind, uint64_t id, int fd, void *ans, size_t cap,
                       int *nfds) {
    struct wire_hdr h;
    struct pollfd pf;
    union {
        struct cmsghdr c;
        char b[CMSG_SPACE(8 * sizeof(int))];
    } u;
    struct iovec iov = {ans, cap};
    struct msghdr m;
    struct cmsghdr *c;
    ssize_t r;
    int s = harness_connect_abstract(ctl, 0);

    *nfds = 0;
    if (s < 0)
        return (-1);
    memset(&h, 0, sizeof(h));
    h.magic = WIRE_MAGIC;
    h.kind = kind;
    h.aux = id;
    if (fd >= 0)
        r = send_msg_fds(s, &h, sizeof(h), &fd, 1);
    else
        r = send(s, &h, sizeof(h), MSG_NOSIGNAL);
    if (r != (ssize_t)sizeof(h)) {
        (void)close(s);
        return (-1);
    }
    pf.fd = s;
    pf.events = POLLIN;
    pf.revents = 0;
    if (poll(&pf, 1, 5000) != 1) {
        (void)close(s);
        return (-1);
    }
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.b;
    m.msg_controllen = sizeof(u.b);
    r = recvmsg(s, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    for (c = CMSG_FIRSTHDR(&m); r >= 0 && c != NULL; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int)), i, got;

            for (i = 0; i < k; i++) {
                memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                (void)close(got);
                (*nfds)++;
            }
        }
    }
    (void)close(s);
    return (r < 0 ? 0 : r);
}

/* Does the answer `a' of `len' bytes carry the 8 bytes of `v'? */
static int carries(const void *a, ssize_t len, uint64_t v) {
    return (len > 0 && memmem(a, (size_t)len, &v, sizeof(v)) != NULL);
}

/* A socket pair of this process whose bound end carries `name'. */
static int forged_door(const char *name) {
    struct sockaddr_un a;
    size_t n = strlen(name);
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return (-1);
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path + 1, name, n);
    if (bind(sv[0], (struct sockaddr *)&a,
             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) != 0) {
        (void)close(sv[0]);
        (void)close(sv[1]);
        return (-1);
    }
    /* sv[0] stays open so the "door" looks alive. */
    return (sv[1]);
}

/* ---------------------------------------------------------------- */

/*
 * The other uid reads /proc/net/unix (no address there), then opens the
 * attached name and is told the door's procedure and cookie, also once
 * the door is revoked; its hand-made control requests without the door
 * are refused.
 */
static void test_names_and_holders(void) {
    char p[PATH_MAX];
    uint64_t proc = (uint64_t)(uintptr_t)secret_proc, data = (uint64_t)(uintptr_t)&secret_cookie;
    int d, d2, go[2], done[2];
    door_info_t mine;
    pid_t pid, server = getpid();

    if (harness_skip_on_kernel(
            "the door names and holder sockets it attacks are the userspace backend's"))
        return;
    d = door_create(secret_proc, &secret_cookie, DOOR_UNREF | DOOR_REFUSE_DESC);
    REQUIRE(d >= 0);
    d2 = door_create(secret_proc, &secret_cookie, DOOR_PRIVATE);
    REQUIRE(d2 >= 0);
    REQUIRE(door_info(d, &mine) == 0);
    mkfile(p, "door", 0644);
    REQUIRE(fattach(d, p) == 0);
    REQUIRE(pipe(go) == 0 && pipe(done) == 0);

    pid = harness_fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        unsigned long long id = mine.di_uniquifier, nonce = 0;
        char ctl[64], forged[128], ans[256];
        door_info_t di;
        door_arg_t a;
        char rbuf[16];
        size_t len = 0;
        ssize_t n;
        char *text;
        int fd, nfds, devnull, fake;

        (void)close(d);
        (void)close(d2);
        (void)close(go[1]);
        (void)close(done[0]);
        if (!CHECK_EQ(harness_become(NOBODY), 0))
            harness_child_exit();

        /* 1. A non-holder reads /proc/net/unix. */
        text = read_net_unix(&len);
        if (CHECK(text != NULL)) {
            CHECK_EQ(find_door_name(text, server, id, &nonce), 0);
            CHECK(!mentions(text, proc));
            CHECK(!mentions(text, data));
            free(text);
        }

        /* 2. Hand-made control requests without the door. */
        (void)snprintf(ctl, sizeof(ctl), "ldoor1c:%08x:%016llx", (unsigned)server, nonce);
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        (void)snprintf(forged, sizeof(forged), "ldoor1:%016llx:%08x:%016llx:%08x:%08x:%032x", id,
                       (unsigned)server, nonce, 0x60u, 0u, 0u);
        fake = forged_door(forged);
        CHECK(devnull >= 0);
        CHECK(fake >= 0);
        {
            int with[3] = {-1, devnull, fake}, i;
            uint32_t kinds[2] = {K_QUERY, K_CLONE};
            int k;

            for (k = 0; k < 2; k++)
                for (i = 0; i < 3; i++) {
                    struct wire_hdr h;

                    memset(ans, 0, sizeof(ans));
                    n = request(ctl, kinds[k], id, with[i], ans, sizeof(ans), &nfds);
                    CHECK(n >= 0);
                    CHECK_EQ(nfds, 0);
                    CHECK(!carries(ans, n, proc));
                    CHECK(!carries(ans, n, data));
                    if (n >= (ssize_t)sizeof(h)) {
                        memcpy(&h, ans, sizeof(h));
                        CHECK(h.status != 0);
                    }
                }
        }
        (void)close(devnull);
        (void)close(fake);

        /* 3. Now a holder: open the attached name. */
        fd = open(p, O_RDONLY);
        if (CHECK(fd >= 0)) {
            memset(&di, 0, sizeof(di));
            CHECK_EQ(door_info(fd, &di), 0);
            CHECK_EQ(di.di_target, server);
            CHECK_EQU(di.di_proc, proc);
            CHECK_EQU(di.di_data, data);
            CHECK_EQU(di.di_uniquifier, mine.di_uniquifier);
            CHECK_EQ(di.di_attributes, DOOR_UNREF | DOOR_REFUSE_DESC);
            memset(&a, 0, sizeof(a));
            a.rbuf = rbuf;
            a.rsize = sizeof(rbuf);
            CHECK_EQ(door_call(fd, &a), 0);
            CHECK_EQU(a.data_size, 2);
            /* The same hand-made request, with the door: answered. */
            memset(ans, 0, sizeof(ans));
            n = request(ctl, K_QUERY, id, fd, ans, sizeof(ans), &nfds);
            CHECK(n >= (ssize_t)sizeof(struct wire_hdr));
            CHECK_EQ(((struct wire_hdr *)(void *)ans)->status, 0);
            CHECK_EQ(nfds, 0);
            CHECK(carries(ans, n, proc));
            CHECK(carries(ans, n, data));

            /* 4. The server revokes the door: still reported. */
            harness_put1(done[1]);
            CHECK(harness_get1(go[0]));
            memset(&di, 0, sizeof(di));
            CHECK_EQ(door_info(fd, &di), 0);
            CHECK_EQ(di.di_target, server);
            CHECK(di.di_attributes & DOOR_REVOKED);
            CHECK_EQU(di.di_proc, proc);
            CHECK_EQU(di.di_data, data);
            CHECK_EQU(di.di_uniquifier, mine.di_uniquifier);
            (void)close(fd);
        } else {
            harness_put1(done[1]);
        }
        harness_child_exit();
    }
    (void)close(go[0]);
    (void)close(done[1]);
    if (CHECK(harness_get1(done[0]))) {
        CHECK_EQ(fdetach(p), 0);
        CHECK_EQ(door_revoke(d), 0);
    }
    harness_put1(go[1]);
    harness_wait_child(pid);
    (void)close(go[1]);
    (void)close(done[0]);
    (void)door_revoke(d2);
    (void)close(d);
    (void)close(d2);
    (void)unlink(p);
}

/*
 * A door received from a server process that then exits: door_info keeps
 * reporting the procedure and cookie its server told while it lived.
 */
static void test_dead_server(void) {
    uint64_t proc = (uint64_t)(uintptr_t)secret_proc, data = (uint64_t)(uintptr_t)&secret_cookie;
    int sv[2], fd;
    pid_t pid;
    door_info_t di;

    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    pid = harness_fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int dd;

        (void)close(sv[0]);
        dd = door_create(secret_proc, &secret_cookie, DOOR_NO_CANCEL);
        if (!CHECK(dd >= 0) || !CHECK_EQ(send_fd(sv[1], dd), 0))
            harness_child_exit();
        (void)harness_get1(sv[1]); /* until the parent has asked */
        harness_child_exit();
    }
    (void)close(sv[1]);
    fd = recv_fd(sv[0]);
    if (CHECK(fd >= 0)) {
        memset(&di, 0, sizeof(di));
        CHECK_EQ(door_info(fd, &di), 0);
        CHECK_EQ(di.di_target, pid);
        CHECK_EQU(di.di_proc, proc);
        CHECK_EQU(di.di_data, data);
        CHECK_EQ(di.di_attributes & ~DOOR_IS_UNREF, DOOR_NO_CANCEL);
    }
    harness_put1(sv[0]);
    harness_wait_child(pid);
    if (fd >= 0) {
        memset(&di, 0, sizeof(di));
        CHECK_EQ(door_info(fd, &di), 0);
        CHECK_EQ(di.di_target, -1);
        CHECK(di.di_attributes & DOOR_REVOKED);
        CHECK_EQU(di.di_proc, proc);
        CHECK_EQU(di.di_data, data);
        (void)close(fd);
    }
    (void)close(sv[0]);
}

/*
 * One opener's shutdown(2) of its descriptor cuts no other opener, and is
 * no reference going away.
 */
static void test_opener_shutdown(void) {
    char p[PATH_MAX];
    int d, fb, st[2], i;
    pid_t a, b;
    door_info_t di;

    if (harness_skip_on_kernel("per-opener ends are the userspace backend's (the kernel backend "
                               "hands out the door file itself)"))
        return;
    d = door_create(closing_proc, NULL, DOOR_UNREF_MULTI);
    REQUIRE(d >= 0);
    mkfile(p, "shut", 0644);
    REQUIRE(fattach(d, p) == 0);
    REQUIRE(pipe(st) == 0);

    /* A: another uid opens the name, calls, and shuts its end down. */
    a = harness_fork();
    REQUIRE(a >= 0);
    if (a == 0) {
        int fa;

        (void)close(d);
        (void)close(st[0]);
        if (!CHECK_EQ(harness_become(NOBODY), 0))
            harness_child_exit();
        fa = open(p, O_RDONLY);
        if (CHECK(fa >= 0)) {
            CHECK_EQ(call_ok(fa, 0), 0);
            CHECK_EQ(call_ok(fa, 1), 0);
            CHECK_EQ(shutdown(fa, SHUT_RDWR), 0);
            /* Its own descriptor is cut. */
            CHECK(call_ok(fa, 1) != 0);
        }
        harness_put1(st[1]);
        harness_child_exit();
    }
    (void)close(st[1]);
    CHECK(harness_get1(st[0]));
    harness_wait_child(a);
    (void)close(st[0]);

    /* The server's view: still two references (its own and the name's). */
    memset(&di, 0, sizeof(di));
    CHECK_EQ(door_info(d, &di), 0);
    CHECK(!(di.di_attributes & DOOR_IS_UNREF));

    /* Later openers: root in this (the server) process... */
    for (i = 0; i < 2; i++) {
        fb = open(p, O_RDONLY);
        if (CHECK(fb >= 0)) {
            CHECK_EQ(call_ok(fb, 1), 0);
            CHECK_EQ(call_ok(fb, 0), 0);
            CHECK_EQ(call_ok(fb, 1), 0);
            (void)close(fb);
        }
    }
    /* ...and another process of the other uid. */
    b = harness_fork();
    REQUIRE(b >= 0);
    if (b == 0) {
        (void)close(d);
        if (!CHECK_EQ(harness_become(NOBODY), 0))
            harness_child_exit();
        fb = open(p, O_RDONLY);
        if (CHECK(fb >= 0)) {
            CHECK_EQ(call_ok(fb, 1), 0);
            CHECK_EQ(call_ok(fb, 0), 0);
            CHECK_EQ(call_ok(fb, 1), 0);
        }
        harness_child_exit();
    }
    harness_wait_child(b);
    /* The door's own descriptor works, and still has company. */
    CHECK_EQ(call_ok(d, 1), 0);
    memset(&di, 0, sizeof(di));
    CHECK_EQ(door_info(d, &di), 0);
    CHECK(!(di.di_attributes & DOOR_IS_UNREF));
    CHECK_EQ(fdetach(p), 0);
    CHECK_EQ(door_revoke(d), 0);
    (void)close(d);
    (void)unlink(p);
}

#define NOPEN 300 /* more opens than one other user gets ends of its own */

/*
 * Opens of another user cost the server a descriptor each (their ends'
 * server sides), up to a cap: past it they share the attachment's end,
 * and still work.  Closing them gives every descriptor back.
 */
static void test_many_opens(void) {
    char p[PATH_MAX];
    int d, st[2], go[2], base, peak;
    pid_t pid;

    if (harness_skip_on_kernel("per-opener ends are the userspace backend's (the kernel backend "
                               "hands out the door file itself)"))
        return;
    d = door_create(closing_proc, NULL, 0);
    REQUIRE(d >= 0);
    mkfile(p, "many", 0644);
    REQUIRE(fattach(d, p) == 0);
    REQUIRE(pipe(st) == 0 && pipe(go) == 0);
    base = count_fds_stable();
    pid = harness_fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        static int fds[NOPEN];
        int i, ok = 0;

        (void)close(d);
        (void)close(st[0]);
        (void)close(go[1]);
        if (!CHECK_EQ(harness_become(NOBODY), 0))
            harness_child_exit();
        for (i = 0; i < NOPEN; i++) {
            door_info_t di;

            fds[i] = open(p, O_RDONLY);
            if (fds[i] >= 0 && door_info(fds[i], &di) == 0)
                ok++;
        }
        CHECK_EQ(ok, NOPEN);
        CHECK_EQ(call_ok(fds[0], 1), 0);
        CHECK_EQ(call_ok(fds[NOPEN - 1], 1), 0);
        harness_put1(st[1]);
        CHECK(harness_get1(go[0]));
        for (i = 0; i < NOPEN; i++)
            if (fds[i] >= 0)
                (void)close(fds[i]);
        harness_child_exit();
    }
    (void)close(st[1]);
    (void)close(go[0]);
    base -= 2; /* the pipe ends just closed */
    if (CHECK(harness_get1(st[0]))) {
        peak = count_fds();
        CHECK(peak <= base + 256 + 8);
        CHECK(peak >= base + 200);
    }
    harness_put1(go[1]);
    harness_wait_child(pid);
    CHECK_EQ(count_fds_settled(base), base);
    (void)close(st[0]);
    (void)close(go[1]);
    CHECK_EQ(fdetach(p), 0);
    CHECK_EQ(door_revoke(d), 0);
    (void)close(d);
    (void)unlink(p);
}

int main(int argc, char **argv) {
    char tmpl[] = "/tmp/t_hostile_names.XXXXXX";

    harness_only(argc, argv);
    if (mkdtemp(tmpl) == NULL || chmod(tmpl, 0755) != 0) {
        perror("mkdtemp");
        return (1);
    }
    (void)snprintf(tdir, sizeof(tdir), "%s", tmpl);
    if (geteuid() == 0) {
        RUN(test_names_and_holders);
        RUN(test_opener_shutdown);
        RUN(test_many_opens);
    } else {
        NOTE("not root: the other-uid cases need a second uid; skipped");
    }
    RUN(test_dead_server);
    (void)rmdir(tdir);
    return (harness_done());
}
