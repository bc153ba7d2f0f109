/*
 * t_lifecycle.c - doors across fork, exec and many create/call/revoke
 * cycles.
 *
 * Clauses exercised (door_create(3C), door_info(3C), door_revoke(3C),
 * door_bind(3C), door_setparam(3C) across fork(2) and exec(2)):
 *  - a fork child inherits the door descriptors and can door_call them as
 *    an ordinary client (door_info: the parent's pid, no DOOR_LOCAL); it
 *    has no server thread (one thread right after fork, still one after
 *    its calls); door_revoke and door_setparam in it fail with EPERM,
 *    door_bind with EINVAL; once it creates a door of its own it gets
 *    threads, and the inherited door_server_create function is called
 *    with NULL for its first door (the bookkeeping is per pid);
 *  - a thread bound to a private door forks: in the child door_return
 *    fails with EINVAL until door_unbind, which returns 0;
 *  - door_create's and door_xcreate's descriptors are FD_CLOEXEC; a door
 *    received through door_call is not;
 *  - after the server execs, every door it created is dead: the client's
 *    door_info shows di_target == -1 and DOOR_REVOKED, door_call fails
 *    with EBADF - also for a door whose descriptor the server kept open
 *    across the exec (FD_CLOEXEC cleared), as seen from the new image;
 *  - a door descriptor received by a process (no FD_CLOEXEC) survives that
 *    process's exec and still works as a client handle in the new image
 *    (this binary re-executed as a helper), while an inherited
 *    close-on-exec one is gone;
 *  - the library's threads do not keep a process alive: a server whose
 *    only thread of its own (main) calls pthread_exit exits with status 0;
 *  - no leaked threads, descriptors or mappings after 10,000
 *    create/call/revoke cycles; nor after 1,000 doors are passed to
 *    another process, called there and closed on both sides (no revoke),
 *    in either process.
 *
 * Counts are compared at points where libdoor's documented per-thread
 * fast-path channel cache has settled (KNOWN_DIFFERENCES.md, "The fast
 * path": a call releases channels of doors nobody holds, a door_revoke by
 * the thread releases that door's), and after a warm-up that fills the
 * library's bounded caches; the pool is expected not to grow during
 * sequential calls (busy + idle, as on illumos).
 */
#define _GNU_SOURCE
#include <door.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "harness.h"

/* ------------------------------------------------------ procedures */

static void
echo_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	(void) cookie; (void) dp; (void) n_desc;
	(void) door_return(argp, arg_size, NULL, 0);
}

/* Hands out the door in `give_fd` as a DOOR_DESCRIPTOR result. */
static volatile int give_fd = -1;

static void
broker_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	door_desc_t d;

	(void) cookie; (void) argp; (void) arg_size; (void) dp; (void) n_desc;
	memset(&d, 0, sizeof (d));
	d.d_attributes = DOOR_DESCRIPTOR;
	d.d_data.d_desc.d_descriptor = give_fd;
	(void) door_return(NULL, 0, &d, 1);
}

/* An echo round trip: 0 when the reply matches. */
static int
echo(int fd, int v)
{
	door_arg_t a;
	int buf[3] = { v, ~v, v ^ 0x5a5a }, rbuf[8];

	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)buf;
	a.data_size = sizeof (buf);
	a.rbuf = (char *)rbuf;
	a.rsize = sizeof (rbuf);
	if (door_call(fd, &a) != 0)
		return (-1);
	if (a.data_size != sizeof (buf) ||
	    memcmp(a.data_ptr, buf, sizeof (buf)) != 0) {
		errno = EPROTO;
		return (-2);
	}
	return (0);
}

/*
 * echo() in another thread, waiting at most `secs` seconds: its result
 * (errno set), or ECHO_HUNG when door_call is still blocked (the thread
 * and its record are then abandoned).
 */
#define ECHO_HUNG (-99)

struct tcall {
	int fd, v, rc, err, null_params;
	sem_t done;
};

static void *
tcall_thread(void *arg)
{
	struct tcall *t = arg;

	errno = 0;
	t->rc = t->null_params ? door_call(t->fd, NULL) : echo(t->fd, t->v);
	t->err = errno;
	sem_post(&t->done);
	return (NULL);
}

static int
echo_bounded(int fd, int v, int null_params, int secs)
{
	struct tcall *t = calloc(1, sizeof (*t));
	struct timespec ts;
	pthread_t th;
	int rc;

	if (t == NULL)
		return (-1);
	t->fd = fd;
	t->v = v;
	t->null_params = null_params;
	sem_init(&t->done, 0, 0);
	if (pthread_create(&th, NULL, tcall_thread, t) != 0) {
		free(t);
		return (-1);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	while ((rc = sem_timedwait(&t->done, &ts)) != 0 && errno == EINTR)
		;
	if (rc != 0) {
		pthread_detach(th);
		errno = ETIMEDOUT;
		return (ECHO_HUNG);
	}
	pthread_join(th, NULL);
	rc = t->rc;
	errno = t->err;
	free(t);
	return (rc);
}

/*
 * Let this thread's fast-path channel cache settle (KNOWN_DIFFERENCES.md,
 * "The fast path"): a call releases the channels of doors nobody holds
 * any more, and a door_revoke by this thread releases that door's own.
 * Leak checks compare counts taken after a sweep.
 */
static void
sweep(void)
{
	int fd = door_create(echo_proc, NULL, 0);

	if (fd >= 0) {
		(void) echo(fd, 0);
		(void) door_revoke(fd);
	}
}

/* door_call(broker): the received descriptor, or -1. */
static int
fetch(int broker, door_attr_t *attrs)
{
	door_arg_t a;
	char rbuf[128];

	memset(&a, 0, sizeof (a));
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	if (door_call(broker, &a) != 0)
		return (-1);
	if (a.desc_num != 1) {
		errno = EPROTO;
		return (-1);
	}
	if (attrs != NULL)
		*attrs = a.desc_ptr[0].d_attributes;
	return (a.desc_ptr[0].d_data.d_desc.d_descriptor);
}

/* ---------------------------------------------- exec'd helper images */

static int
arg_int(const char *s)
{
	return ((int)strtol(s, NULL, 10));
}

/*
 * --exec-client FD PPID CLOEXEC_FD: a received door survives exec and
 * works as a client handle; an inherited close-on-exec descriptor is gone.
 */
static int
helper_exec_client(char **argv)
{
	int fd = arg_int(argv[2]), i;
	pid_t server = arg_int(argv[3]);
	int gone = arg_int(argv[4]);
	door_info_t di;

	harness_in_child = 1;
	harness_test_name = "exec'd client";
	CHECK(fd_is_open(fd));
	CHECK_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	for (i = 0; i < 10; i++)
		CHECK_EQ(echo(fd, i), 0);
	if (CHECK_EQ(door_info(fd, &di), 0)) {
		CHECK_EQ(di.di_target, server);
		CHECK(!(di.di_attributes & (DOOR_LOCAL | DOOR_REVOKED)));
	}
	expect_errno(fcntl(gone, F_GETFD), EBADF);
	harness_child_exit();
	return (1);
}

/*
 * --after-exec FD REPORT_FD: this image replaced a door server whose door
 * FD survived (FD_CLOEXEC cleared): the door is dead even here.  Reports
 * its failure count on REPORT_FD, then stays alive (an exec, not an exit).
 */
static int
helper_after_exec(char **argv)
{
	int fd = arg_int(argv[2]), rep = arg_int(argv[3]);
	door_info_t di;
	char nfail;

	harness_in_child = 1;
	harness_test_name = "exec'd server";
	CHECK(fd_is_open(fd));
	if (CHECK_EQ(door_info(fd, &di), 0)) {
		CHECK_EQ(di.di_target, -1);
		CHECK(di.di_attributes & DOOR_REVOKED);
		CHECK(!(di.di_attributes & DOOR_LOCAL));
	}
	expect_errno(echo(fd, 1), EBADF);
	expect_errno(door_revoke(fd), EPERM);
	nfail = (char)harness_failed_n;
	if (write(rep, &nfail, 1) != 1)
		_exit(3);
	harness_watchdog(0);
	for (;;)
		pause();
	return (0);
}

/* ------------------------------------------------------------ the cases */

static void
test_fork_child_client(void)
{
	door_info_t pdi;
	int fd, pfd;
	pid_t pid;

	fd = door_create(echo_proc, (void *)&give_fd, 0);
	pfd = door_create(echo_proc, NULL, DOOR_PRIVATE);
	REQUIRE(fd >= 0 && pfd >= 0);
	REQUIRE(door_info(fd, &pdi) == 0);
	CHECK_EQ(echo(fd, 1), 0);
	CHECK(count_threads() > 1);	/* this process serves doors */
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		door_info_t di;
		size_t v = 0;
		int i, own;

		CHECK_EQ(count_threads(), 1);	/* no server threads */
		for (i = 0; i < 20; i++)
			CHECK_EQ(echo(fd, i), 0);
		if (CHECK_EQ(door_info(fd, &di), 0)) {
			CHECK_EQ(di.di_target, getppid());
			CHECK(!(di.di_attributes & (DOOR_LOCAL | DOOR_REVOKED)));
			CHECK_EQU(di.di_uniquifier, pdi.di_uniquifier);
			CHECK_EQU(di.di_proc, (uintptr_t)echo_proc);
			CHECK_EQU(di.di_data, (uintptr_t)(void *)&give_fd);
		}
		expect_errno(door_revoke(fd), EPERM);
		CHECK(fd_is_open(fd));
		expect_errno(door_setparam(fd, DOOR_PARAM_DATA_MAX, 100),
		    EPERM);
		expect_errno(door_setparam(pfd, DOOR_PARAM_DESC_MAX, 0),
		    EPERM);
		CHECK_EQ(door_getparam(fd, DOOR_PARAM_DATA_MAX, &v), 0);
		CHECK_EQU(v, SIZE_MAX);
		expect_errno(door_bind(pfd), EINVAL);
		expect_errno(door_bind(fd), EINVAL);
		CHECK_EQ(echo(fd, 99), 0);	/* still the parent's, working */
		CHECK_EQ(count_threads(), 1);	/* a client makes no threads */

		/* Its own door: server threads now. */
		own = door_create(echo_proc, NULL, 0);
		if (CHECK(own >= 0)) {
			CHECK(count_threads() > 1);
			CHECK_EQ(echo(own, 5), 0);
			if (CHECK_EQ(door_info(own, &di), 0)) {
				CHECK(di.di_attributes & DOOR_LOCAL);
				CHECK_EQ(di.di_target, getpid());
			}
			CHECK_EQ(door_revoke(own), 0);
		}
		harness_child_exit();
	}
	harness_wait_child(pid);
	/* The child's attempts changed nothing here. */
	CHECK_EQ(echo(fd, 2), 0);
	{
		size_t v = 0;
		CHECK_EQ(door_getparam(fd, DOOR_PARAM_DATA_MAX, &v), 0);
		CHECK_EQU(v, SIZE_MAX);
	}
	CHECK_EQ(door_revoke(fd), 0);
	CHECK_EQ(door_revoke(pfd), 0);
}

/* The door_server_create function is inherited; "first door" is per pid. */
static door_server_func_t *dflt;
static int null_calls;

static void
counting_creator(door_info_t *dip)
{
	if (dip == NULL)
		null_calls++;
	dflt(dip);
}

static void
test_fork_first_door_per_pid(void)
{
	pid_t c1;

	c1 = harness_fork();
	REQUIRE(c1 >= 0);
	if (c1 == 0) {
		pid_t c2;
		int fd;

		(void) door_server_create(counting_creator);
		null_calls = 0;
		fd = door_create(echo_proc, NULL, 0);
		CHECK(fd >= 0);
		CHECK_EQ(null_calls, 1);
		(void) door_create(echo_proc, NULL, 0);
		CHECK_EQ(null_calls, 1);
		c2 = harness_fork();
		if (c2 == 0) {
			int own;

			CHECK_EQ(count_threads(), 1);
			CHECK_EQ(null_calls, 1);	/* the parent's count */
			/* The inherited function starts this pid's pool. */
			own = door_create(echo_proc, NULL, 0);
			CHECK(own >= 0);
			CHECK_EQ(null_calls, 2);
			CHECK(count_threads() > 1);
			(void) door_create(echo_proc, NULL, 0);
			CHECK_EQ(null_calls, 2);	/* once per pid */
			harness_child_exit();
		}
		CHECK(c2 > 0);
		if (c2 > 0)
			harness_wait_child(c2);
		CHECK_EQ(null_calls, 1);	/* the child's call was its own */
		harness_child_exit();
	}
	harness_wait_child(c1);
}

/* A thread bound to a private door forks. */
struct bf { int pfd; int failures; };

static void *
bound_forker(void *arg)
{
	struct bf *b = arg;
	door_info_t di;
	pid_t pid;

	if (!CHECK_EQ(door_bind(b->pfd), 0))
		return (NULL);
	CHECK_EQ(door_info(DOOR_QUERY, &di), 0);
	pid = harness_fork();
	if (pid == 0) {
		/* The binding belongs to the parent's door. */
		expect_errno(door_info(DOOR_QUERY, &di), EBADF);
		expect_errno(door_return(NULL, 0, NULL, 0), EINVAL);
		expect_errno(door_return(NULL, 0, NULL, 0), EINVAL);
		CHECK_EQ(door_unbind(), 0);
		expect_errno(door_unbind(), EBADF);
		harness_child_exit();
	}
	if (CHECK(pid > 0))
		harness_wait_child(pid);
	/* The parent's thread is still bound. */
	if (CHECK_EQ(door_info(DOOR_QUERY, &di), 0)) {
		door_info_t pd;
		if (door_info(b->pfd, &pd) == 0)
			CHECK_EQU(di.di_uniquifier, pd.di_uniquifier);
	}
	CHECK_EQ(door_unbind(), 0);
	return (NULL);
}

static void
test_fork_bound_thread(void)
{
	struct bf b;
	pthread_t t;

	b.pfd = door_create(echo_proc, NULL, DOOR_PRIVATE);
	REQUIRE(b.pfd >= 0);
	/* the child's watchdog reports a hang first */
	harness_watchdog(harness_timeout + 30);
	REQUIRE(pthread_create(&t, NULL, bound_forker, &b) == 0);
	pthread_join(t, NULL);
	CHECK_EQ(door_revoke(b.pfd), 0);
}

static int
no_crf_thread(door_info_t *dip, void *(*startf)(void *), void *arg,
    void *cookie)
{
	pthread_t t;
	pthread_attr_t at;
	int r;

	(void) dip; (void) cookie;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &at, startf, arg);
	pthread_attr_destroy(&at);
	return (r == 0 ? 1 : -1);
}

static void
test_cloexec(void)
{
	static const door_attr_t attrs[] = { 0, DOOR_PRIVATE, DOOR_UNREF,
	    DOOR_UNREF_MULTI | DOOR_REFUSE_DESC | DOOR_NO_CANCEL };
	unsigned i;
	int fd, broker, r;
	door_attr_t da = 0;
	pid_t pid;

	for (i = 0; i < sizeof (attrs) / sizeof (attrs[0]); i++) {
		fd = door_create(echo_proc, NULL, attrs[i]);
		if (!CHECK(fd >= 0))
			continue;
		CHECK_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
		CHECK_EQ(door_revoke(fd), 0);
	}
	fd = door_xcreate(echo_proc, NULL, 0, no_crf_thread, NULL, NULL, 1);
	if (CHECK(fd >= 0)) {
		CHECK_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
		CHECK_EQ(door_revoke(fd), 0);
	}

	/* A received door has no FD_CLOEXEC (another process's door). */
	fd = door_create(echo_proc, NULL, 0);
	broker = door_create(broker_proc, NULL, 0);
	REQUIRE(fd >= 0 && broker >= 0);
	give_fd = fd;
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		r = fetch(broker, &da);
		if (CHECK(r >= 0)) {
			CHECK(da & DOOR_DESCRIPTOR);
			CHECK_EQ(fcntl(r, F_GETFD) & FD_CLOEXEC, 0);
			CHECK_EQ(echo(r, 8), 0);
		}
		harness_child_exit();
	}
	harness_wait_child(pid);
	/* ... and one received from our own door, too. */
	r = fetch(broker, &da);
	if (CHECK(r >= 0)) {
		CHECK(da & DOOR_LOCAL);
		CHECK_EQ(fcntl(r, F_GETFD) & FD_CLOEXEC, 0);
		CHECK_EQ(close(r), 0);
	}
	give_fd = -1;
	CHECK_EQ(door_revoke(fd), 0);
	CHECK_EQ(door_revoke(broker), 0);
}

/* The server execs: its doors die, also one it kept open across exec. */
static void
test_server_exec(void)
{
	int sv[2], rep[2], fds[2], st = 0, i, r, e;
	char go = 'g', nfail = 99;
	door_info_t di;
	pid_t pid;

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	REQUIRE(pipe(rep) == 0);
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		char a2[16], a3[16];
		int d[2];

		(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[0]);
		close(rep[0]);
		d[0] = door_create(echo_proc, NULL, 0);
		d[1] = door_create(echo_proc, NULL, 0);
		if (!CHECK(d[0] >= 0 && d[1] >= 0))
			harness_child_exit();
		CHECK_EQ(fcntl(d[1], F_SETFD, 0), 0);	/* survives exec */
		CHECK_EQ(send_fds(sv[1], d, 2), 0);
		/* wait for the parent's go, then exec */
		if (read(sv[1], &go, 1) != 1)
			harness_child_exit();
		snprintf(a2, sizeof (a2), "%d", d[1]);
		snprintf(a3, sizeof (a3), "%d", rep[1]);
		execl("/proc/self/exe", "t_lifecycle", "--after-exec", a2, a3,
		    (char *)NULL);
		CHECK(!"execl failed");
		harness_child_exit();
	}
	close(sv[1]);
	close(rep[1]);
	if (!CHECK_EQ(recv_fds(sv[0], fds, 2), 0)) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return;
	}
	/* Before the exec: live doors of that process. */
	for (i = 0; i < 2; i++) {
		CHECK_EQ(echo(fds[i], i), 0);
		if (CHECK_EQ(door_info(fds[i], &di), 0)) {
			CHECK_EQ(di.di_target, pid);
			CHECK(!(di.di_attributes & DOOR_REVOKED));
		}
	}
	CHECK_EQ(write(sv[0], &go, 1), 1);
	/* The new image reports: the exec has happened. */
	CHECK_EQ(read(rep[0], &nfail, 1), 1);
	CHECK_EQ(nfail, 0);
	CHECK_EQ(waitpid(pid, &st, WNOHANG), 0);	/* exec'd, not dead */
	for (i = 0; i < 2; i++) {
		if (CHECK_EQ(door_info(fds[i], &di), 0)) {
			CHECK_EQ(di.di_target, -1);
			CHECK(di.di_attributes & DOOR_REVOKED);
			CHECK(!(di.di_attributes & DOOR_LOCAL));
			CHECK_EQU(di.di_proc, (uintptr_t)echo_proc);
		}
		r = echo_bounded(fds[i], i, 0, 10);
		e = errno;
		if (!CHECK(r != ECHO_HUNG))
			NOTE("door_call on a door whose server exec'd is still "
			    "blocked after 10 s (expected -1/EBADF at once)");
		else
			expect_errno((errno = e, r), EBADF);
		r = echo_bounded(fds[i], i, 1, 10);
		e = errno;
		if (!CHECK(r != ECHO_HUNG))
			NOTE("door_call(d, NULL) on a door whose server exec'd "
			    "is still blocked after 10 s (expected -1/EBADF)");
		else
			expect_errno((errno = e, r), EBADF);
	}
	kill(pid, SIGKILL);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	for (i = 0; i < 2; i++)
		CHECK_EQ(close(fds[i]), 0);
	close(sv[0]);
	close(rep[0]);
}

/* A received door survives the receiver's exec. */
static void
test_received_survives_exec(void)
{
	int fd, broker;
	pid_t pid;

	fd = door_create(echo_proc, NULL, 0);
	broker = door_create(broker_proc, NULL, 0);
	REQUIRE(fd >= 0 && broker >= 0);
	give_fd = fd;
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		char a2[16], a3[16], a4[16];
		int r = fetch(broker, NULL);

		if (!CHECK(r >= 0))
			harness_child_exit();
		CHECK_EQ(echo(r, 1), 0);
		snprintf(a2, sizeof (a2), "%d", r);
		snprintf(a3, sizeof (a3), "%d", (int)getppid());
		snprintf(a4, sizeof (a4), "%d", broker);  /* close-on-exec */
		execl("/proc/self/exe", "t_lifecycle", "--exec-client", a2, a3,
		    a4, (char *)NULL);
		CHECK(!"execl failed");
		harness_child_exit();
	}
	harness_wait_child(pid);	/* the helper's verdict */
	give_fd = -1;
	CHECK_EQ(echo(fd, 3), 0);
	CHECK_EQ(door_revoke(fd), 0);
	CHECK_EQ(door_revoke(broker), 0);
}

/*
 * The library's own threads do not keep a process alive: a server whose
 * main thread calls pthread_exit() while no other thread of its own
 * exists (the creation function starts none, no DOOR_UNREF door) exits
 * with status 0, as an illumos process does when its last thread exits
 * (libdoor's manager thread has no illumos counterpart).
 */
static void
no_threads(door_info_t *dip)
{
	(void) dip;
}

static void
test_last_thread_exits(void)
{
	int st = 0, i, go[2];
	pid_t pid, r = 0;
	char c;

	REQUIRE(pipe(go) == 0);
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int d;

		(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(go[0]);
		(void) door_server_create(no_threads);
		d = door_create(echo_proc, NULL, 0);
		CHECK(d >= 0);	/* (no thread serves it: not called) */
		if (harness_failed_n != 0)
			harness_child_exit();
		close(go[1]);		/* "ready" */
		harness_watchdog(0);
		pthread_exit(NULL);
	}
	close(go[1]);
	CHECK_EQ(read(go[0], &c, 1), 0);
	close(go[0]);
	for (i = 0; i < 1000 && r == 0; i++) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == 0)
			usleep(10000);
	}
	if (!CHECK_EQ(r, pid)) {
		char path[64];
		DIR *d;
		struct dirent *e;
		int n = 0;

		snprintf(path, sizeof (path), "/proc/%d/task", (int)pid);
		if ((d = opendir(path)) != NULL) {
			while ((e = readdir(d)) != NULL)
				n += e->d_name[0] != '.';
			closedir(d);
		}
		NOTE("process %d still there 10 s after its last thread of "
		    "its own called pthread_exit (%d threads: the library's)",
		    (int)pid, n - 1);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	} else {
		CHECK(WIFEXITED(st));
		CHECK_EQ(WEXITSTATUS(st), 0);
	}
}

/* No leaks after many create/call/revoke cycles. */
static int
cycle(int i)
{
	int fd = door_create(echo_proc, NULL, (i % 4 == 3) ? DOOR_UNREF : 0);
	int r;

	if (fd < 0)
		return (-1);
	r = echo(fd, i);
	if (door_revoke(fd) != 0)
		return (-3);
	return (r);
}

static void
test_cycles_no_leak(void)
{
	int i, fds, thr, maps, bad = 0;
	time_t t0;

	/*
	 * Warm-up, long enough to fill the library's bounded caches (it
	 * remembers the parameters of the last 4096 revoked doors).
	 */
	for (i = 0; i < 5000; i++)
		(void) cycle(i);
	sweep();
	fds = count_fds_stable();
	thr = count_threads_settled(count_threads());
	maps = count_maps();
	t0 = time(NULL);
	for (i = 0; i < 10000; i++) {
		int r = cycle(i);

		if (r != 0 && bad++ == 0)
			CHECK_EQ(r, 0);
	}
	CHECK_EQ(bad, 0);
	sweep();
	if (time(NULL) - t0 > 30)
		NOTE("10,000 cycles took %ld s", (long)(time(NULL) - t0));
	if (!CHECK_EQ(count_fds_settled(fds), fds))
		dump_fds("after 10,000 cycles");
	CHECK_EQ(count_threads_settled(thr), thr);
	CHECK_MAPS(maps);
}

/*
 * No leaks when doors are passed to another process, called there and
 * closed on both sides (never revoked): neither the server nor the
 * client keeps anything per door.  One phase: a child that fetches n
 * doors through the broker, calls and closes each; the server calls and
 * closes each too.
 */
static void
passed_and_closed_phase(int broker, int n)
{
	int go[2], done[2], i;
	char c;
	pid_t pid;

	REQUIRE(pipe(go) == 0 && pipe(done) == 0);
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int cfds = 0, cmaps = 0, r, bad = 0;

		close(go[1]);
		close(done[0]);
		for (i = 0; i < n + 50; i++) {
			if (i == 50) {		/* after a warm-up */
				cfds = count_fds_stable();
				cmaps = count_maps();
			}
			if (read(go[0], &c, 1) != 1)
				break;
			r = fetch(broker, NULL);
			if (r < 0 || echo(r, i) != 0 || close(r) != 0)
				bad++;
			if (write(done[1], "d", 1) != 1)
				break;
		}
		CHECK_EQ(bad, 0);
		/* the same point of the loop: nothing per door kept */
		if (!CHECK_EQ(count_fds_settled(cfds), cfds))
			dump_fds("in the client after the cycles");
		CHECK_MAPS(cmaps);
		CHECK_EQ(count_threads(), 1);
		harness_child_exit();
	}
	close(go[0]);
	close(done[1]);
	for (i = 0; i < n + 50; i++) {
		int fd = door_create(echo_proc, NULL, 0);

		if (!CHECK(fd >= 0))
			break;
		give_fd = fd;
		if (!CHECK_EQ(write(go[1], "g", 1), 1) ||
		    !CHECK_EQ(read(done[0], &c, 1), 1))
			break;
		give_fd = -1;
		CHECK_EQ(echo(fd, i), 0);
		CHECK_EQ(close(fd), 0);
	}
	close(go[1]);
	harness_wait_child(pid);
	close(done[0]);
	sweep();
}

static void
test_passed_and_closed_no_leak(void)
{
	int broker, fds, thr, maps;

	broker = door_create(broker_proc, NULL, 0);
	REQUIRE(broker >= 0);
	passed_and_closed_phase(broker, 50);	/* warm-up */
	fds = count_fds_stable();
	thr = count_threads_settled(count_threads());
	maps = count_maps();
	passed_and_closed_phase(broker, 1000);
	if (!CHECK_EQ(count_fds_settled(fds), fds))
		dump_fds("in the server after the cycles");
	CHECK_EQ(count_threads_settled(thr), thr);
	CHECK_MAPS(maps);
	CHECK_EQ(door_revoke(broker), 0);
}

int
main(int argc, char **argv)
{
	/* Re-executed as a helper image. */
	if (argc == 5 && strcmp(argv[1], "--exec-client") == 0)
		return (helper_exec_client(argv));
	if (argc == 4 && strcmp(argv[1], "--after-exec") == 0)
		return (helper_after_exec(argv));

	harness_only(argc, argv);	/* `t_lifecycle NAME...`: only those */
	dflt = door_server_create(counting_creator);
	(void) door_server_create(dflt);

	RUN(test_fork_child_client);
	RUN(test_fork_first_door_per_pid);
	RUN(test_fork_bound_thread);
	RUN(test_cloexec);
	RUN(test_server_exec);
	RUN(test_received_survives_exec);
	RUN(test_last_thread_exits);
	RUN(test_cycles_no_leak);
	RUN(test_passed_and_closed_no_leak);
	return (harness_done());
}
