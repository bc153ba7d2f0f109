/*
 * t_hostile_reply.c - abuse of the descriptor rules of calls and replies
 * and of DOOR_IOC_OPEN, at the ioctl level.
 *
 * - A DOOR_RELEASE descriptor is closed only while its number still names
 *   the file that was passed: a caller whose number is given to another
 *   file while its call waits for a server thread, and a server whose
 *   number is given to another file while its reply waits for a stopped
 *   client's verdict, keep the other file.
 * - A client killed between the reply and its consumption: the server's
 *   DOOR_RELEASE descriptor still goes, and its thread is free again.
 * - DOOR_IOC_OPEN refuses what is not a door (the control device, a pipe,
 *   a closed number) and unknown flags; an opener of a revoked door, or
 *   of the door of a server that is gone, gets a file that calls fail on;
 *   nothing is left in the module afterwards.
 */
#include "doorio.h"
#include "harness.h"
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

static sem_t *entered, *release;

static int
same_file(int fd, int other)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && fstat(other, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* ---- the caller's DOOR_RELEASE number is reused while it waits --------- */

static volatile int calls;

static void
hold_first(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	(void)inv; (void)area; (void)r;
	if (__atomic_fetch_add(&calls, 1, __ATOMIC_SEQ_CST) == 0) {
		sem_post(entered);
		while (sem_wait(release) != 0)
			;
	}
}

struct caller {
	int door, fd, ret;
};

static void *
occupy(void *arg)
{
	struct caller *c = arg;
	char rb[64];

	c->ret = kd_call(c->door, "x", 1, NULL, 0, rb, sizeof (rb), NULL);
	return (NULL);
}

static void *
pass_released(void *arg)
{
	struct caller *c = arg;
	struct door_uapi_desc d;
	char rb[64];

	memset(&d, 0, sizeof (d));
	d.attributes = DOOR_UAPI_DESCRIPTOR | DOOR_UAPI_RELEASE;
	d.descriptor = c->fd;
	c->ret = kd_call(c->door, "y", 1, &d, 1, rb, sizeof (rb), NULL);
	return (NULL);
}

static void
test_caller_release_renumbered(void)
{
	struct kd_server s;
	struct caller a, b;
	pthread_t ta, tb;
	int fd, p[2], q[2], victim;

	calls = 0;
	fd = kd_create(0, 0, 0);
	REQUIRE(fd >= 0);
	REQUIRE(kd_server_start(&s, hold_first, 1, -1) == 0);
	REQUIRE(pipe(p) == 0 && pipe(q) == 0);
	/* the one server thread is busy: the second call waits for it */
	a.door = b.door = fd;
	REQUIRE(pthread_create(&ta, NULL, occupy, &a) == 0);
	CHECK(sem_wait(entered) == 0);
	b.fd = victim = p[1];
	REQUIRE(pthread_create(&tb, NULL, pass_released, &b) == 0);
	usleep(300000); /* let it stage p[1] and wait (no harm if not yet) */
	/* the number now names another file (q's write end) */
	CHECK_EQ(dup2(q[1], victim), victim);
	sem_post(release);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CHECK_EQ(a.ret, 0);
	CHECK_EQ(b.ret, 0);
	/* the file at the number was never passed: it must still be there */
	CHECK(fcntl(victim, F_GETFD) >= 0);
	CHECK(same_file(victim, q[1]));
	kd_server_stop(&s);
	close(victim);
	close(p[0]);
	close(q[0]);
	close(q[1]);
	close(fd);
}

/* ---- the server's DOOR_RELEASE number is reused during the verdict ------ */

static int srv_rel = -1;

static void
reply_released(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	static struct door_uapi_desc d;

	(void)inv; (void)area;
	sem_post(entered);
	while (sem_wait(release) != 0)
		;
	r->data = "r";
	r->size = 2;
	kd_reply_released(r, &d, srv_rel);
}

static void
test_server_release_renumbered(void)
{
	struct kd_server s;
	int fd, p[2], q[2], st;
	pid_t pid;

	fd = kd_create(0, 0, 0);
	REQUIRE(fd >= 0);
	REQUIRE(pipe(p) == 0 && pipe(q) == 0);
	srv_rel = p[1];
	REQUIRE(kd_server_start(&s, reply_released, 1, -1) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct door_uapi_call out;
		char rb[256];
		int r = kd_call(fd, "x", 1, NULL, 0, rb, sizeof (rb), &out);

		_exit(r == 0 && out.desc_num == 1 ? 0 : 1);
	}
	CHECK(sem_wait(entered) == 0);
	/* the client stops before the reply: its verdict will be late */
	CHECK_EQ(kill(pid, SIGSTOP), 0);
	CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
	sem_post(release);
	usleep(200000); /* the server thread waits for the verdict now */
	CHECK_EQ(dup2(q[1], srv_rel), srv_rel);
	CHECK_EQ(kill(pid, SIGCONT), 0);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* the server thread is free again (bounded wait), and kept q's end */
	kd_server_stop(&s);
	CHECK(fcntl(srv_rel, F_GETFD) >= 0);
	CHECK(same_file(srv_rel, q[1]));
	close(srv_rel);
	close(p[0]);
	close(q[0]);
	close(q[1]);
	close(fd);
}

/*
 * The client is stopped before the reply and killed while its server
 * waits for its verdict: the server's DOOR_RELEASE descriptor is closed
 * for good (its pipe's reader sees end of file) and the thread is free.
 */
static void
test_client_killed_before_consume(void)
{
	struct kd_server s;
	struct pollfd pf;
	int fd, p[2], st;
	pid_t pid;
	char c;

	fd = kd_create(0, 0, 0);
	REQUIRE(fd >= 0);
	REQUIRE(pipe(p) == 0);
	srv_rel = p[1];
	REQUIRE(kd_server_start(&s, reply_released, 1, -1) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		char rb[256];

		(void) kd_call(fd, "x", 1, NULL, 0, rb, sizeof (rb), NULL);
		_exit(0);
	}
	CHECK(sem_wait(entered) == 0);
	CHECK_EQ(kill(pid, SIGSTOP), 0);
	CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
	sem_post(release);
	usleep(100000);
	CHECK_EQ(kill(pid, SIGKILL), 0);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	pf.fd = p[0];
	pf.events = POLLIN;
	CHECK_EQ(poll(&pf, 1, 10000), 1);
	CHECK_EQ(read(p[0], &c, 1), 0);
	CHECK(fcntl(srv_rel, F_GETFD) < 0); /* DOOR_RELEASE: closed */
	/* the thread serves the next call */
	{
		char rb[64];
		struct door_uapi_call out;
		int q[2];

		REQUIRE(pipe(q) == 0);
		srv_rel = q[1];
		sem_post(release);
		CHECK_EQ(kd_call(fd, "y", 1, NULL, 0, rb, sizeof (rb), &out), 0);
		CHECK_EQU(out.desc_num, 1);
		CHECK(sem_wait(entered) == 0);
		if (out.desc_num == 1) {
			struct door_uapi_desc rd;

			memcpy(&rd, rb + 24, sizeof (rd));
			close(rd.descriptor);
		}
		close(q[0]);
	}
	kd_server_stop(&s);
	close(p[0]);
	close(fd);
}

/* ---- DOOR_IOC_OPEN on what it must refuse, and on dead doors ------------ */

static int
kd_open_door(int fd, uint32_t flags)
{
	struct door_uapi_fd f = { .fd = fd, .flags = flags };

	return ioctl(kd_open(), DOOR_IOC_OPEN, &f);
}

static void
test_open_refuses(void)
{
	int p[2], fd, o;

	REQUIRE(pipe(p) == 0);
	fd = kd_create(0, 0, 0);
	REQUIRE(fd >= 0);
	errno = 0;
	CHECK_EQ(kd_open_door(fd, ~0u), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(kd_open_door(fd, 0x80000000u), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(kd_open_door(kd_open(), 0), -1);
	CHECK_EQ(errno, EBADF);
	errno = 0;
	CHECK_EQ(kd_open_door(p[0], 0), -1);
	CHECK_EQ(errno, EBADF);
	errno = 0;
	CHECK_EQ(kd_open_door(-1, 0), -1);
	CHECK_EQ(errno, EBADF);
	errno = 0;
	CHECK_EQ(kd_open_door(100000, 0), -1);
	CHECK_EQ(errno, EBADF);
	/* an opener's file is a door too: it can be opened again */
	o = kd_open_door(fd, DOOR_UAPI_FD_CLOEXEC);
	CHECK(o >= 0);
	if (o >= 0) {
		int o2 = kd_open_door(o, 0);

		CHECK(o2 >= 0);
		CHECK(fcntl(o, F_GETFD) == FD_CLOEXEC);
		CHECK(o2 < 0 || fcntl(o2, F_GETFD) == 0);
		if (o2 >= 0)
			close(o2);
		close(o);
	}
	close(fd);
	close(p[0]);
	close(p[1]);
}

static void
test_open_dead_doors(void)
{
	struct door_uapi_info info;
	int sv[2], fd, o, st, dead = -1;
	char rb[64];
	pid_t pid;

	/* a revoked door */
	fd = kd_create(0, 0, 0);
	REQUIRE(fd >= 0);
	CHECK_EQ(kd_revoke(fd), 0);
	o = kd_open_door(fd, 0);
	if (o >= 0) {
		errno = 0;
		CHECK_EQ(kd_call(o, "x", 1, NULL, 0, rb, sizeof (rb), NULL), -1);
		CHECK_EQ(errno, EBADF);
		CHECK_EQ(kd_info(o, &info), 0);
		CHECK(info.attributes & DOOR_UAPI_REVOKED);
		close(o);
	} else {
		CHECK_EQ(errno, EBADF);
	}
	close(fd);

	/* the door of a process that is gone, opened by an unprivileged one */
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		char cm[CMSG_SPACE(sizeof (int))] = { 0 };
		struct msghdr mh = { 0 };
		struct iovec iov = { (void *)"d", 1 };
		struct cmsghdr *c;
		int d = kd_create(0, 0, 0);

		if (d < 0)
			_exit(1);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm;
		mh.msg_controllen = sizeof (cm);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof (int));
		memcpy(CMSG_DATA(c), &d, sizeof (int));
		_exit(sendmsg(sv[1], &mh, 0) == 1 ? 0 : 1);
	}
	close(sv[1]);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	{
		char cm[CMSG_SPACE(sizeof (int))], b;
		struct iovec iov = { &b, 1 };
		struct msghdr mh = { 0 };
		struct cmsghdr *c;

		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm;
		mh.msg_controllen = sizeof (cm);
		if (recvmsg(sv[0], &mh, MSG_CMSG_CLOEXEC) == 1 &&
		    (c = CMSG_FIRSTHDR(&mh)) != NULL && c->cmsg_type == SCM_RIGHTS)
			memcpy(&dead, CMSG_DATA(c), sizeof (int));
	}
	close(sv[0]);
	REQUIRE(dead >= 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int ok = 1, i, d2;

		ok &= setresgid(65534, 65534, 65534) == 0;
		ok &= setresuid(65534, 65534, 65534) == 0;
		kd_ctl = -1;
		for (i = 0; i < 64; i++) {
			d2 = kd_open_door(dead, 0);
			if (d2 < 0) {
				ok &= errno == EBADF;
				continue;
			}
			errno = 0;
			ok &= kd_call(d2, "x", 1, NULL, 0, rb, sizeof (rb), NULL) == -1 &&
			    errno == EBADF;
			if (i & 1)
				close(d2); /* the rest go at exit */
		}
		_exit(ok ? 0 : 1);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(dead);
	/* nothing of it is left in the module */
	for (st = 0; st < 200 && kd_stat("doors") > 0; st++)
		usleep(10000);
	CHECK_EQ(kd_stat("doors"), 0);
	CHECK_EQ(kd_stat("calls"), 0);
}

int
main(void)
{
	if (kd_open() < 0) {
		printf("0 passed, 0 failed\n");
		return (0);
	}
	entered = mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0);
	release = entered + 1;
	sem_init(entered, 1, 0);
	sem_init(release, 1, 0);
	RUN(test_open_refuses);
	RUN(test_open_dead_doors);
	RUN(test_caller_release_renumbered);
	RUN(test_server_release_renumbered);
	RUN(test_client_killed_before_consume);
	return (harness_done());
}
