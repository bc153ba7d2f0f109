/*
 * t_hostile_rdv.c - the owner of a file answers libdoor's rendezvous for
 * it with something that is not a door.
 *
 * A door operation on a descriptor of a plain file asks the file's
 * rendezvous (named by the file, served by its owner or root) whether a
 * door is attached there.  The owner of the file may be hostile: here it
 * is uid 65534, which answers every request with a TCP socket that has
 * unsent data and SO_LINGER set to two minutes, keeping no reference of
 * its own.  The victim (root, door_info on its descriptor of the file)
 * must not block in the last close of that socket: door_info fails with
 * EBADF within a generous bound, and the victim's descriptor still names
 * the file.  (Clauses: door_info(3C) EBADF for a descriptor that is not a
 * door; fattach(3C), an open of a path with no door attached is the
 * file.)
 */
#define _GNU_SOURCE /* setresuid, setresgid, statx */
#include <door.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "harness.h"

#define NOBODY    65534
#define RDV_XATTR "user.libdoor.rendezvous"
#define RDV_MAGIC 0x444f4f52u
#define K_ANSWER  12
#define NNAMES    5

struct rdv_hdr {
    uint32_t magic, kind, status, ndesc;
    uint64_t size, aux;
};

/* The names a client may look the file up under: the published one (set
 * here when the filesystem takes user attributes) and the file-derived
 * ones. */
static int rdv_names(const char *path, char names[][128]) {
    struct statx sx;
    struct stat st;
    unsigned long long dev, bs = 0;
    unsigned bn = 0;
    int n = 0;

    memset(&sx, 0, sizeof(sx));
    if (statx(AT_FDCWD, path, 0, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0 || stat(path, &st) != 0)
        return (0);
    dev = ((unsigned long long)sx.stx_dev_major << 32) | sx.stx_dev_minor;
    if (sx.stx_mask & STATX_BTIME) {
        bs = (unsigned long long)sx.stx_btime.tv_sec;
        bn = sx.stx_btime.tv_nsec;
    }
    (void)snprintf(names[n], 128, "ldoor1r:%016llx%016llx", 0x6b686f7374ull,
                   (unsigned long long)getpid());
    if (setxattr(path, RDV_XATTR, names[n], strlen(names[n]), 0) == 0)
        n++;
    (void)snprintf(names[n++], 128, "ldoor1a:%llx:%llx:%llx.%x", dev,
                   (unsigned long long)sx.stx_ino, bs, bn);
    (void)snprintf(names[n++], 128, "ldoor1a:%llx:%llx:0.0", dev, (unsigned long long)sx.stx_ino);
    (void)snprintf(names[n++], 128, "ldoor1a:%llx:%llx:%llx.%x", (unsigned long long)st.st_dev,
                   (unsigned long long)st.st_ino, bs, bn);
    (void)snprintf(names[n++], 128, "ldoor1a:%llx:%llx", (unsigned long long)st.st_dev,
                   (unsigned long long)st.st_ino);
    return (n);
}

/* Loopback up (a bare guest may have it down); whether it is. */
static int loopback_up(void) {
    struct ifreq ifr;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ok = 0;

    if (s < 0)
        return (0);
    memset(&ifr, 0, sizeof(ifr));
    (void)strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
        if (!(ifr.ifr_flags & IFF_UP)) {
            ifr.ifr_flags |= IFF_UP;
            (void)ioctl(s, SIOCSIFFLAGS, &ifr);
        }
        ok = ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
    }
    (void)close(s);
    return (ok);
}

/*
 * A connected TCP socket whose send queue its peer (*peer, kept open and
 * never read) does not drain, with SO_LINGER set: its last close blocks
 * for up to `secs'.  -1 when the network cannot be used.
 */
static int lingering_socket(int secs, int *peer, int *lsn) {
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    struct linger lg = {1, secs};
    int l, c, small = 4096, one = 1;
    char buf[4096];

    *peer = -1;
    *lsn = -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0)
        return (-1);
    (void)setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    if (bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) != 0) {
        (void)close(l);
        return (-1);
    }
    c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) != 0) {
        (void)close(l);
        if (c >= 0)
            (void)close(c);
        return (-1);
    }
    *peer = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    *lsn = l;
    (void)setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    (void)fcntl(c, F_SETFL, O_NONBLOCK);
    memset(buf, 'x', sizeof(buf));
    while (write(c, buf, sizeof(buf)) > 0)
        ;
    (void)fcntl(c, F_SETFL, 0);
    (void)setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    return (c);
}

/* Answer one request on rendezvous connection `c' with descriptor `give'. */
static void answer_with(int c, int give) {
    struct rdv_hdr h;
    char cm[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&h, sizeof(h)};
    struct msghdr mh;
    struct cmsghdr *cmsg;
    struct pollfd pf = {c, POLLIN, 0};
    char rcm[CMSG_SPACE(8 * sizeof(int))];
    int i, n;

    /* the request (its proof descriptor is closed) */
    if (poll(&pf, 1, 5000) == 1) {
        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = rcm;
        mh.msg_controllen = sizeof(rcm);
        if (recvmsg(c, &mh, MSG_CMSG_CLOEXEC) > 0)
            for (cmsg = CMSG_FIRSTHDR(&mh); cmsg != NULL; cmsg = CMSG_NXTHDR(&mh, cmsg))
                if (cmsg->cmsg_type == SCM_RIGHTS) {
                    n = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                    for (i = 0; i < n; i++) {
                        int f;

                        memcpy(&f, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
                        (void)close(f);
                    }
                }
    }
    memset(&h, 0, sizeof(h));
    h.magic = RDV_MAGIC;
    h.kind = K_ANSWER;
    memset(&mh, 0, sizeof(mh));
    memset(cm, 0, sizeof(cm));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cm;
    mh.msg_controllen = sizeof(cm);
    cmsg = CMSG_FIRSTHDR(&mh);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &give, sizeof(int));
    (void)sendmsg(c, &mh, MSG_NOSIGNAL);
}

struct victim {
    int fd, r, e;
    volatile int done;
};

static void *victim_main(void *arg) {
    struct victim *v = arg;
    door_info_t di;

    errno = 0;
    v->r = door_info(v->fd, &di);
    v->e = errno;
    v->done = 1;
    return (NULL);
}

static char tdir[] = "/tmp/t_hostile_rdv.XXXXXX";

static void test_lingering_answer(void) {
    char path[256], names[NNAMES][128];
    int go[2], ready[2], fd, i;
    struct victim v;
    struct stat before, after;
    pthread_t t;
    pid_t pid;
    char c = 0;

    if (!loopback_up()) {
        NOTE("no loopback interface: case skipped");
        return;
    }
    (void)snprintf(path, sizeof(path), "%s/theirs", tdir);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(fchown(fd, NOBODY, NOBODY) == 0);
    close(fd);
    REQUIRE(pipe2(go, O_CLOEXEC) == 0 && pipe2(ready, O_CLOEXEC) == 0);
    pid = harness_fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int l[NNAMES], n, k, peer = -1, lsn = -1;
        struct pollfd pf[NNAMES + 1];

        close(go[1]);
        close(ready[0]);
        if (!CHECK(harness_become(NOBODY) == 0))
            harness_child_exit();
        n = rdv_names(path, names);
        for (k = 0; k < n; k++)
            l[k] = harness_listen_abstract(names[k], SOCK_NONBLOCK, 64);
        (void)write(ready[1], "r", 1);
        /* answer every request with a new lingering socket, until told */
        for (;;) {
            for (k = 0; k < n; k++) {
                pf[k].fd = l[k];
                pf[k].events = POLLIN;
            }
            pf[n].fd = go[0];
            pf[n].events = POLLIN;
            if (poll(pf, (nfds_t)n + 1, -1) <= 0)
                continue;
            if (pf[n].revents)
                break;
            for (k = 0; k < n; k++) {
                int cn, s;

                if (!pf[k].revents)
                    continue;
                cn = accept4(l[k], NULL, NULL, SOCK_CLOEXEC);
                if (cn < 0)
                    continue;
                if (peer >= 0)
                    (void)close(peer);
                if (lsn >= 0)
                    (void)close(lsn);
                s = lingering_socket(120, &peer, &lsn);
                answer_with(cn, s >= 0 ? s : 0);
                if (s >= 0)
                    (void)close(s); /* no reference left here */
                (void)close(cn);
            }
        }
        /* the receiver end goes: a lingering close still going on ends */
        harness_child_exit();
    }
    close(go[0]);
    close(ready[1]);
    (void)read(ready[0], &c, 1);
    close(ready[0]);

    v.fd = open(path, O_RDONLY | O_CLOEXEC);
    REQUIRE(v.fd >= 0);
    REQUIRE(fstat(v.fd, &before) == 0);
    v.done = 0;
    REQUIRE(pthread_create(&t, NULL, victim_main, &v) == 0);
    /* generous: a lingering close would take 120 s */
    for (i = 0; i < 600 && !v.done; i++)
        usleep(50000);
    CHECK(v.done);
    close(go[1]); /* the child lets go of everything */
    pthread_join(t, NULL);
    CHECK_EQ(v.r, -1);
    CHECK_EQ(v.e, EBADF);
    CHECK(fstat(v.fd, &after) == 0 && after.st_ino == before.st_ino && S_ISREG(after.st_mode));
    close(v.fd);
    harness_wait_child(pid);
    (void)unlink(path);
}

int main(int argc, char **argv) {
    int r;

    harness_only(argc, argv);
    if (geteuid() != 0) {
        NOTE("not root: the case needs a second uid; skipped");
        printf("1 passed, 0 failed\n");
        return (0);
    }
    if (mkdtemp(tdir) == NULL || chmod(tdir, 0755) != 0) {
        perror("mkdtemp");
        return (1);
    }
    RUN(test_lingering_answer);
    r = harness_done();
    (void)rmdir(tdir);
    return (r);
}
