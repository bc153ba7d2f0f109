/*
 * t_badinput.c - hostile and broken input to the door functions.
 *
 * Clauses exercised (door_call(3C) errors in order, door_return(3C),
 * door_info(3C), door_getparam(3C), server exit):
 *  - EBADF from every door function for closed, non-door and revoked
 *    descriptors;
 *  - EFAULT for unreadable params (NULL-free but PROT_NONE or unmapped),
 *    data_ptr and desc_ptr (NULL, PROT_NONE, unmapped, running off the end
 *    of a mapping), unwritable params and rbuf, and info/out pointers;
 *    the procedure does not run when the arguments cannot be read;
 *  - oversized desc_num: E2BIG above 1024, ENFILE above DESC_MAX
 *    (INT_MAX), checked before the array is read; an argument too large
 *    for any server thread's stack: E2BIG;
 *  - a client process killed (SIGKILL) while the procedure runs: the
 *    server survives, its door_return does not fail, the door keeps
 *    working;
 *  - a server process killed mid-call: the client gets EINTR (not a hang),
 *    then EBADF, and door_info shows di_target == -1 and DOOR_REVOKED;
 *  - a hostile child writing garbage straight onto its copy of the door
 *    descriptor (on the user-space backend it is an AF_UNIX socket), with
 *    and without SCM_RIGHTS payloads: later calls, including its own,
 *    still work and the server leaks no descriptor;
 *  - /proc/self/fd and /proc/self/maps counts are equal before and after
 *    each scenario (each scenario runs once as a warm-up first).
 */
#define _GNU_SOURCE	/* mallopt */
#include <door.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "harness.h"

static volatile int invocations;
static sem_t entered, release;
static volatile int hold_returned, hold_errno;

enum { OP_ECHO = 1, OP_HOLD, OP_BARRIER };

/* OP_BARRIER callers wait inside the procedure until `barrier_n` are in. */
static pthread_mutex_t barrier_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t barrier_cv = PTHREAD_COND_INITIALIZER;
static int barrier_in, barrier_n;

static void
proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	int op = OP_ECHO;
	uint_t i;

	(void) cookie;
	__atomic_fetch_add(&invocations, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < n_desc; i++)
		close(dp[i].d_data.d_desc.d_descriptor);
	if (argp != NULL && arg_size >= sizeof (int))
		memcpy(&op, argp, sizeof (int));
	if (op == OP_BARRIER) {
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 30;
		pthread_mutex_lock(&barrier_mu);
		barrier_in++;
		pthread_cond_broadcast(&barrier_cv);
		while (barrier_in < barrier_n &&
		    pthread_cond_timedwait(&barrier_cv, &barrier_mu, &dl) == 0)
			;
		pthread_mutex_unlock(&barrier_mu);
	} else if (op == OP_HOLD) {
		char reply[100];
		memset(reply, 'r', sizeof (reply));
		sem_post(&entered);
		while (sem_wait(&release) != 0)
			;
		/* The client is gone: the results are discarded. */
		(void) door_return(reply, sizeof (reply), NULL, 0);
		hold_errno = errno;
		__atomic_store_n(&hold_returned, 1, __ATOMIC_SEQ_CST);
		(void) door_return(NULL, 0, NULL, 0);
		return;
	}
	(void) door_return(argp, arg_size, NULL, 0);
}

static int door_fd = -1;
static long pgsz;

static int
echo_ok(int fd)
{
	int buf[8] = { OP_ECHO, 1, 2, 3, 4, 5, 6, 7 };
	char rbuf[64];
	door_arg_t a;

	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)buf;
	a.data_size = sizeof (buf);
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	return (door_call(fd, &a) == 0 && a.data_size == sizeof (buf) &&
	    memcmp(a.data_ptr, buf, sizeof (buf)) == 0);
}

/* Run a scenario twice; the second run must leave fds and maps as found. */
static void
leak_checked(const char *what, void (*fn)(void))
{
	int f0, m0, f1, m1, i;

	fn();
	f0 = count_fds_stable();
	m0 = count_maps();
	fn();
	/* Work the server finishes asynchronously settles quickly. */
	for (i = 0; i < 500; i++) {
		f1 = count_fds();
		m1 = count_maps();
		if (f1 == f0 && m1 == m0)
			break;
		usleep(10000);
	}
	if (!CHECK_EQ(f1, f0) | !CHECK_EQ(m1, m0))
		printf("  (%s)\n", what);
}

/* ---- bad descriptors ----------------------------------------------------- */

static void
bad_fd_all(int fd, const char *what)
{
	door_info_t di;
	door_arg_t a;
	size_t v;
	char rbuf[16];
	int bad = 0;

	memset(&a, 0, sizeof (a));
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	bad += !expect_errno(door_call(fd, &a), EBADF);
	bad += !expect_errno(door_call(fd, NULL), EBADF);
	bad += !expect_errno(door_info(fd, &di), EBADF);
	bad += !expect_errno(door_getparam(fd, DOOR_PARAM_DATA_MAX, &v), EBADF);
	bad += !expect_errno(door_setparam(fd, DOOR_PARAM_DATA_MAX, 9), EBADF);
	bad += !expect_errno(door_revoke(fd), EBADF);
	if (bad)
		printf("  (descriptor: %s)\n", what);
}

static void
scenario_bad_descriptors(void)
{
	int p[2], s[2], f, d, r, rd;
	char path[] = "/tmp/t_badinput.XXXXXX";

	bad_fd_all(-1, "-1");
	bad_fd_all(INT_MAX, "INT_MAX");
	REQUIRE(pipe(p) == 0);
	bad_fd_all(p[0], "pipe read end");
	bad_fd_all(p[1], "pipe write end");
	close(p[0]);
	close(p[1]);
	bad_fd_all(p[0], "closed");
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s) == 0);
	bad_fd_all(s[0], "AF_UNIX seqpacket socket");
	close(s[0]);
	close(s[1]);
	REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM, 0, s) == 0);
	bad_fd_all(s[0], "AF_UNIX datagram socket");
	close(s[0]);
	close(s[1]);
	f = mkstemp(path);
	REQUIRE(f >= 0);
	unlink(path);
	bad_fd_all(f, "regular file");
	close(f);
	d = open("/dev/null", O_RDWR);
	REQUIRE(d >= 0);
	bad_fd_all(d, "/dev/null");
	close(d);

	/* Revoked: calls fail with EBADF, door_info still answers. */
	r = door_create(proc, NULL, 0);
	REQUIRE(r >= 0);
	rd = dup(r);
	REQUIRE(door_revoke(r) == 0);
	{
		door_info_t di;
		door_arg_t a;
		memset(&a, 0, sizeof (a));
		expect_errno(door_call(rd, &a), EBADF);
		expect_errno(door_call(rd, NULL), EBADF);
		expect_errno(door_setparam(rd, DOOR_PARAM_DATA_MAX, 9), EBADF);
		CHECK(door_info(rd, &di) == 0 &&
		    (di.di_attributes & DOOR_REVOKED));
	}
	close(rd);
}

/* ---- bad pointers -------------------------------------------------------- */

static void
scenario_bad_pointers(void)
{
	char *none = harness_page(PROT_NONE);
	char *ro = harness_page(PROT_READ);
	char *two = mmap(NULL, (size_t)pgsz * 2, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int buf[4] = { OP_ECHO, 0, 0, 0 };
	char rbuf[64];
	door_desc_t d;
	door_arg_t a;
	int n;

	REQUIRE(none != NULL && ro != NULL && two != MAP_FAILED);
	REQUIRE(mprotect(two + pgsz, (size_t)pgsz, PROT_NONE) == 0);
	n = invocations;

	/* params itself */
	expect_errno(door_call(door_fd, (door_arg_t *)none), EFAULT);
	expect_errno(door_call(door_fd, (door_arg_t *)harness_unmapped()),
	    EFAULT);
	/* params straddling into a PROT_NONE page */
	expect_errno(door_call(door_fd, (door_arg_t *)(two + pgsz - 8)),
	    EFAULT);

	/* data_ptr */
	memset(&a, 0, sizeof (a));
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	a.data_ptr = NULL;
	a.data_size = 16;
	expect_errno(door_call(door_fd, &a), EFAULT);
	a.data_ptr = none;
	expect_errno(door_call(door_fd, &a), EFAULT);
	a.data_ptr = harness_unmapped();
	expect_errno(door_call(door_fd, &a), EFAULT);
	memcpy(two + pgsz - 16, buf, 16);
	a.data_ptr = two + pgsz - 16;
	a.data_size = 17;		/* one byte too far */
	expect_errno(door_call(door_fd, &a), EFAULT);
	a.data_size = 16;		/* exactly up to the end: fine */
	CHECK_EQ(door_call(door_fd, &a), 0);
	n++;

	/* desc_ptr */
	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)buf;
	a.data_size = sizeof (buf);
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	a.desc_num = 1;
	a.desc_ptr = NULL;
	expect_errno(door_call(door_fd, &a), EFAULT);
	a.desc_ptr = (door_desc_t *)none;
	expect_errno(door_call(door_fd, &a), EFAULT);
	a.desc_ptr = (door_desc_t *)harness_unmapped();
	expect_errno(door_call(door_fd, &a), EFAULT);
	memset(&d, 0, sizeof (d));
	d.d_attributes = DOOR_DESCRIPTOR;
	d.d_data.d_desc.d_descriptor = 1;
	memcpy(two + pgsz - sizeof (d), &d, sizeof (d));
	a.desc_ptr = (door_desc_t *)(two + pgsz - sizeof (d));
	a.desc_num = 2;			/* the second entry is unreadable */
	expect_errno(door_call(door_fd, &a), EFAULT);
	CHECK_EQ(invocations, n);	/* none of these reached the server */

	/* unwritable rbuf: the results cannot be delivered */
	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)buf;
	a.data_size = sizeof (buf);
	a.rbuf = ro;
	a.rsize = (size_t)pgsz;
	expect_errno(door_call(door_fd, &a), EFAULT);
	a.rbuf = none;
	expect_errno(door_call(door_fd, &a), EFAULT);

	/* unwritable params: the updated door_arg_t cannot be stored */
	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)buf;
	a.data_size = sizeof (buf);
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	{
		char *rop = harness_page(PROT_READ | PROT_WRITE);
		REQUIRE(rop != NULL);
		memcpy(rop, &a, sizeof (a));
		REQUIRE(mprotect(rop, (size_t)pgsz, PROT_READ) == 0);
		expect_errno(door_call(door_fd, (door_arg_t *)rop), EFAULT);
		munmap(rop, (size_t)pgsz);
	}

	/* door_info / door_getparam out pointers */
	{
		door_info_t *bad_infos[3] = { NULL, (door_info_t *)none,
		    (door_info_t *)ro };
		int i;
		for (i = 0; i < 3; i++)
			expect_errno(door_info(door_fd, bad_infos[i]), EFAULT);
		expect_errno(door_info(door_fd,
		    (door_info_t *)(two + pgsz - 8)), EFAULT);
		expect_errno(door_getparam(door_fd, DOOR_PARAM_DATA_MAX,
		    (size_t *)none), EFAULT);
		expect_errno(door_getparam(door_fd, DOOR_PARAM_DATA_MAX,
		    (size_t *)ro), EFAULT);
	}

	CHECK(echo_ok(door_fd));
	munmap(none, (size_t)pgsz);
	munmap(ro, (size_t)pgsz);
	munmap(two, (size_t)pgsz * 2);
}

/* ---- oversized counts ---------------------------------------------------- */

static void
scenario_oversized(void)
{
	door_desc_t d[2];
	door_arg_t a;
	int buf[4] = { OP_ECHO, 0, 0, 0 };
	char rbuf[64];
	int n = invocations;

	memset(d, 0, sizeof (d));
	d[0].d_attributes = d[1].d_attributes = DOOR_DESCRIPTOR;
	d[0].d_data.d_desc.d_descriptor = 1;
	d[1].d_data.d_desc.d_descriptor = 1;
	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)buf;
	a.data_size = sizeof (buf);
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	a.desc_ptr = d;		/* far shorter than desc_num says */

	a.desc_num = 1025;
	expect_errno(door_call(door_fd, &a), E2BIG);
	a.desc_num = 1000000;
	expect_errno(door_call(door_fd, &a), E2BIG);
	a.desc_num = (uint_t)INT_MAX;
	expect_errno(door_call(door_fd, &a), E2BIG);
	a.desc_num = (uint_t)INT_MAX + 1u;	/* > DESC_MAX */
	expect_errno(door_call(door_fd, &a), ENFILE);
	a.desc_num = UINT_MAX;
	expect_errno(door_call(door_fd, &a), ENFILE);

	/* More data than any server stack holds (checked before copying). */
	a.desc_num = 0;
	a.desc_ptr = NULL;
	a.data_size = SIZE_MAX / 2;
	expect_errno(door_call(door_fd, &a), E2BIG);
	CHECK_EQ(invocations, n);
	CHECK(echo_ok(door_fd));
}

/* ---- a client killed mid-call -------------------------------------------- */

static void
scenario_client_killed(void)
{
	pid_t pid;
	int i;

	hold_returned = 0;
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int buf[4] = { OP_HOLD, 0, 0, 0 };
		char rbuf[16];
		door_arg_t a;
		memset(&a, 0, sizeof (a));
		a.data_ptr = (char *)buf;
		a.data_size = sizeof (buf);
		a.rbuf = rbuf;
		a.rsize = sizeof (rbuf);
		(void) door_call(door_fd, &a);
		_exit(0);	/* not reached: killed while in the call */
	}
	while (sem_wait(&entered) != 0)
		;
	CHECK_EQ(kill(pid, SIGKILL), 0);
	{
		int st;
		CHECK_EQ(waitpid(pid, &st, 0), pid);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	}
	sem_post(&release);
	/* The door and its pool carry on. */
	for (i = 0; i < 20; i++)
		CHECK(echo_ok(door_fd));
	CHECK_EQ(hold_returned, 0);
	if (hold_returned)
		printf("  door_return failed with errno %d\n", hold_errno);
}

/* ---- a server killed mid-call -------------------------------------------- */

static volatile int mailbox_fd = -1;

static void
mailbox_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	(void) cookie; (void) argp; (void) arg_size;
	if (n_desc == 1)
		__atomic_store_n(&mailbox_fd, dp[0].d_data.d_desc.d_descriptor,
		    __ATOMIC_SEQ_CST);
	(void) door_return(NULL, 0, NULL, 0);
}

static int notify_w = -1;

static void
sleeper_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	(void) cookie; (void) argp; (void) arg_size; (void) dp; (void) n_desc;
	(void) write(notify_w, "x", 1);
	for (;;)
		pause();
}

struct victim_call {
	int fd;
	int rc;
	int err;
	char rbuf[16];
};

static void *
victim_thread(void *arg)
{
	struct victim_call *v = arg;
	door_arg_t a;

	memset(&a, 0, sizeof (a));
	memset(v->rbuf, 0x44, sizeof (v->rbuf));
	a.data_ptr = "zzz";
	a.data_size = 4;
	a.rbuf = v->rbuf;
	a.rsize = sizeof (v->rbuf);
	errno = 0;
	v->rc = door_call(v->fd, &a);
	v->err = errno;
	return (NULL);
}

static void
scenario_server_killed(void)
{
	int mbox = door_create(mailbox_proc, NULL, 0);
	int note[2], i;
	struct victim_call v;
	pthread_t t;
	pid_t pid;
	char c;

	REQUIRE(mbox >= 0);
	REQUIRE(pipe(note) == 0);
	mailbox_fd = -1;
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		door_desc_t d;
		door_arg_t a;
		int s;
		close(note[0]);
		notify_w = note[1];
		s = door_create(sleeper_proc, NULL, 0);
		memset(&d, 0, sizeof (d));
		d.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
		d.d_data.d_desc.d_descriptor = s;
		memset(&a, 0, sizeof (a));
		a.desc_ptr = &d;
		a.desc_num = 1;
		if (s < 0 || door_call(mbox, &a) != 0)
			_exit(1);
		for (;;)
			pause();
	}
	close(note[1]);
	for (i = 0; i < 3000 && mailbox_fd < 0; i++)
		usleep(10000);
	if (!CHECK(mailbox_fd >= 0)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(note[0]);
		door_revoke(mbox);
		return;
	}
	v.fd = mailbox_fd;
	REQUIRE(pthread_create(&t, NULL, victim_thread, &v) == 0);
	CHECK_EQ(read(note[0], &c, 1), 1);	/* the call is in progress */
	CHECK_EQ(kill(pid, SIGKILL), 0);
	waitpid(pid, NULL, 0);
	pthread_join(t, NULL);		/* a hang here trips the watchdog */
	CHECK_EQ(v.rc, -1);
	CHECK_EQ(v.err, EINTR);
	CHECK_EQ(v.rbuf[0], 0x44);	/* no results delivered */
	{
		door_info_t di;
		door_arg_t a;
		memset(&a, 0, sizeof (a));
		expect_errno(door_call(v.fd, &a), EBADF);
		if (CHECK(door_info(v.fd, &di) == 0)) {
			CHECK_EQ(di.di_target, -1);
			CHECK(di.di_attributes & DOOR_REVOKED);
		}
	}
	close(v.fd);
	close(note[0]);
	door_revoke(mbox);
}

/* ---- a hostile child writing garbage onto the door descriptor ---------- */

static void
scenario_garbage_writer(void)
{
	pid_t pid = harness_fork();
	int i;

	REQUIRE(pid >= 0);
	if (pid == 0) {
		static unsigned char junk[4096];
		unsigned seed = 12345;
		int p[2];

		signal(SIGPIPE, SIG_IGN);
		for (i = 0; i < (int)sizeof (junk); i++) {
			seed = seed * 1103515245u + 12345u;
			junk[i] = (unsigned char)(seed >> 16);
		}
		/* A handful of blocking write()s: they fit any buffer. */
		for (i = 0; i < 16; i++)
			(void) write(door_fd, junk + i, (size_t)(1 + i * 3));
		/* Many non-blocking sends of assorted sizes and shapes. */
		for (i = 0; i < 2000; i++) {
			size_t len = 1 + (size_t)(i * 37) % sizeof (junk);
			const unsigned char *src = junk;
			static unsigned char zeros[4096], ones[4096];
			if (i == 0)
				memset(ones, 0xff, sizeof (ones));
			if (i % 7 == 0)
				src = zeros;
			else if (i % 11 == 0)
				src = ones;
			if (i % 5 == 0)
				len = (size_t)8 << (i % 6);	/* 8..256 */
			(void) send(door_fd, src, len,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		}
		/* Garbage that carries descriptors. */
		if (pipe(p) == 0) {
			for (i = 0; i < 50; i++) {
				struct msghdr m;
				struct iovec iov;
				union {
					struct cmsghdr h;
					char b[CMSG_SPACE(2 * sizeof (int))];
				} cm;
				struct cmsghdr *h;
				int fds[2] = { p[0], p[1] };

				memset(&m, 0, sizeof (m));
				memset(&cm, 0, sizeof (cm));
				iov.iov_base = junk + i;
				iov.iov_len = 1 + (size_t)i * 13;
				m.msg_iov = &iov;
				m.msg_iovlen = 1;
				m.msg_control = cm.b;
				m.msg_controllen = sizeof (cm.b);
				h = CMSG_FIRSTHDR(&m);
				h->cmsg_level = SOL_SOCKET;
				h->cmsg_type = SCM_RIGHTS;
				h->cmsg_len = CMSG_LEN(2 * sizeof (int));
				memcpy(CMSG_DATA(h), fds, sizeof (fds));
				(void) sendmsg(door_fd, &m,
				    MSG_DONTWAIT | MSG_NOSIGNAL);
			}
			close(p[0]);
			close(p[1]);
		}
		/* This very process can still make legitimate calls. */
		for (i = 0; i < 10; i++)
			CHECK(echo_ok(door_fd));
		harness_child_exit();
	}
	harness_wait_child(pid);
	for (i = 0; i < 50; i++)
		CHECK(echo_ok(door_fd));
	/* And so can a well-behaved child. */
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		for (i = 0; i < 10; i++)
			CHECK(echo_ok(door_fd));
		harness_child_exit();
	}
	harness_wait_child(pid);
}

/*
 * Grow the server pool with N simultaneous calls, so the scenarios (at
 * most two calls at a time) never take its last idle thread: then no new
 * pool thread, with its stack mapping, appears during a leak check.
 */
static void *
barrier_client(void *arg)
{
	int buf[4] = { OP_BARRIER, 0, 0, 0 };
	char rbuf[64];
	door_arg_t a;

	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)buf;
	a.data_size = sizeof (buf);
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	*(int *)arg = door_call(door_fd, &a);
	return (NULL);
}

static void
warm_pool(int n)
{
	pthread_t t[16];
	int rc[16], i;

	barrier_in = 0;
	barrier_n = n;
	for (i = 0; i < n; i++)
		pthread_create(&t[i], NULL, barrier_client, &rc[i]);
	for (i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		if (rc[i] != 0)
			printf("warning: warm-up call failed\n");
	}
}

static void test_bad_descriptors(void)
{ leak_checked("bad descriptors", scenario_bad_descriptors); }
static void test_bad_pointers(void)
{ leak_checked("bad pointers", scenario_bad_pointers); }
static void test_oversized(void)
{ leak_checked("oversized counts", scenario_oversized); }
static void test_client_killed(void)
{ leak_checked("client killed", scenario_client_killed); }
static void test_server_killed(void)
{ leak_checked("server killed", scenario_server_killed); }
static void test_garbage_writer(void)
{ leak_checked("garbage writer", scenario_garbage_writer); }

int
main(void)
{
	/* One malloc arena: a pool thread's first malloc adds no mapping. */
	(void) mallopt(M_ARENA_MAX, 1);
	pgsz = sysconf(_SC_PAGESIZE);
	sem_init(&entered, 0, 0);
	sem_init(&release, 0, 0);
	door_fd = door_create(proc, NULL, 0);
	if (door_fd < 0) {
		perror("door_create");
		return (1);
	}
	warm_pool(8);
	RUN(test_bad_descriptors);
	RUN(test_bad_pointers);
	RUN(test_oversized);
	RUN(test_client_killed);
	RUN(test_server_killed);
	RUN(test_garbage_writer);
	return (harness_done());
}
