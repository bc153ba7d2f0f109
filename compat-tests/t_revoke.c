/*
 * t_revoke.c - door_revoke(3C).
 *
 * Clauses exercised (door_revoke(3C); door_call(3C) on a revoked door and
 * while waiting for a thread; fork):
 *  - door_revoke closes the descriptor it was given (F_GETFD -> EBADF);
 *  - later door_calls on any other copy (dup, fork child) fail with EBADF;
 *  - door_info on a surviving copy shows DOOR_REVOKED, and di_target still
 *    names the server;
 *  - an invocation already in progress completes and delivers its results,
 *    including when the procedure revokes its own door;
 *  - callers waiting for a server thread are woken with EBADF;
 *  - EPERM when the caller is not the server (a fork child); the child's
 *    descriptor stays open and usable;
 *  - EBADF for a descriptor that is not a door (pipe, file, closed, -1),
 *    which stays open.
 */
#include <door.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>

#include "harness.h"

static sem_t entered, release;
static int self_fd = -1;

enum { OP_ECHO, OP_BLOCK, OP_REVOKE_SELF };

static void
proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	int op = OP_ECHO;

	(void) cookie; (void) dp; (void) n_desc;
	if (arg_size >= sizeof (int))
		memcpy(&op, argp, sizeof (int));
	if (op == OP_BLOCK) {
		sem_post(&entered);
		while (sem_wait(&release) != 0)
			;
	} else if (op == OP_REVOKE_SELF) {
		int r = door_revoke(self_fd);
		memcpy(argp, &r, sizeof (r));
	}
	(void) door_return(argp, arg_size, NULL, 0);
}

static int
call_op(int fd, int op, int *reply)
{
	door_arg_t a;
	int buf[4] = { op, 1, 2, 3 };
	char rbuf[64];

	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)buf;
	a.data_size = sizeof (buf);
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	if (door_call(fd, &a) != 0)
		return (-1);
	if (a.data_size != sizeof (buf))
		return (-2);
	if (reply != NULL)
		memcpy(reply, a.data_ptr, sizeof (int));
	return (0);
}

static void
test_revoke_closes(void)
{
	door_info_t di;
	int fd = door_create(proc, NULL, 0), d;

	REQUIRE(fd >= 0);
	d = dup(fd);
	REQUIRE(d >= 0);
	CHECK_EQ(call_op(d, OP_ECHO, NULL), 0);
	CHECK_EQ(door_revoke(fd), 0);
	expect_errno(fcntl(fd, F_GETFD), EBADF);
	expect_errno(call_op(d, OP_ECHO, NULL), EBADF);
	expect_errno(door_call(d, NULL), EBADF);
	if (CHECK(door_info(d, &di) == 0)) {
		CHECK(di.di_attributes & DOOR_REVOKED);
		CHECK(di.di_attributes & DOOR_LOCAL);
		CHECK_EQ(di.di_target, getpid());
		CHECK_EQU(di.di_proc, (uintptr_t)proc);
	}
	/* The copy is dead but still an open descriptor. */
	CHECK(fd_is_open(d));
	CHECK_EQ(close(d), 0);
}

/* A fork child's copy goes dead too. */
static void
test_revoke_seen_by_child(void)
{
	int fd = door_create(proc, NULL, 0);
	int go[2], done[2];
	pid_t pid;
	char c;

	REQUIRE(fd >= 0);
	REQUIRE(pipe(go) == 0 && pipe(done) == 0);
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		door_info_t di;
		close(go[1]);
		close(done[0]);
		CHECK_EQ(call_op(fd, OP_ECHO, NULL), 0);
		CHECK_EQ(write(done[1], "1", 1), 1);
		CHECK_EQ(read(go[0], &c, 1), 1);
		expect_errno(call_op(fd, OP_ECHO, NULL), EBADF);
		if (CHECK(door_info(fd, &di) == 0)) {
			CHECK(di.di_attributes & DOOR_REVOKED);
			CHECK(!(di.di_attributes & DOOR_LOCAL));
			CHECK_EQ(di.di_target, getppid());
		}
		harness_child_exit();
	}
	close(go[0]);
	close(done[1]);
	CHECK_EQ(read(done[0], &c, 1), 1);
	CHECK_EQ(door_revoke(fd), 0);
	CHECK_EQ(write(go[1], "1", 1), 1);
	harness_wait_child(pid);
	close(go[1]);
	close(done[0]);
}

struct client {
	int fd;
	int op;
	int rc;
	int err;
	volatile int done;
};

static void *
client_thread(void *arg)
{
	struct client *c = arg;

	errno = 0;
	c->rc = call_op(c->fd, c->op, NULL);
	c->err = errno;
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	return (NULL);
}

static int
wait_done(struct client *c, int secs)
{
	int i;
	for (i = 0; i < secs * 100; i++) {
		if (__atomic_load_n(&c->done, __ATOMIC_ACQUIRE))
			return (1);
		usleep(10000);
	}
	return (0);
}

/* An in-flight call completes with its results after the revoke. */
static void
test_in_flight_completes(void)
{
	int fd = door_create(proc, NULL, 0), d;
	struct client c = { -1, OP_BLOCK, 0, 0, 0 };
	pthread_t t;

	REQUIRE(fd >= 0);
	d = dup(fd);
	c.fd = d;
	REQUIRE(pthread_create(&t, NULL, client_thread, &c) == 0);
	while (sem_wait(&entered) != 0)
		;
	CHECK_EQ(door_revoke(fd), 0);
	expect_errno(call_op(d, OP_ECHO, NULL), EBADF);
	CHECK_EQ(c.done, 0);
	sem_post(&release);
	pthread_join(t, NULL);
	CHECK_EQ(c.rc, 0);	/* results delivered normally */
	expect_errno(call_op(d, OP_ECHO, NULL), EBADF);
	close(d);
}

/* The procedure revokes its own door; its caller still gets the reply. */
static void
test_revoke_from_procedure(void)
{
	int d, reply = 12345;

	self_fd = door_create(proc, NULL, 0);
	REQUIRE(self_fd >= 0);
	d = dup(self_fd);
	CHECK_EQ(call_op(d, OP_REVOKE_SELF, &reply), 0);
	CHECK_EQ(reply, 0);	/* door_revoke() returned 0 in the server */
	expect_errno(fcntl(self_fd, F_GETFD), EBADF);
	expect_errno(call_op(d, OP_ECHO, NULL), EBADF);
	close(d);
	self_fd = -1;
}

/*
 * Callers queued for a server thread get EBADF.  In a child process: a
 * private door with exactly one bound server thread (the creation function
 * declines to grow its pool).  Caller A occupies that thread, caller B
 * waits for it, the door is revoked: B fails with EBADF at once, A's call
 * then completes normally.
 */
static volatile int private_fd = -1;

static void *
bound_thread(void *arg)
{
	(void) arg;
	while (__atomic_load_n(&private_fd, __ATOMIC_ACQUIRE) < 0)
		usleep(1000);
	(void) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	if (door_bind(private_fd) != 0) {
		perror("door_bind");
		return (NULL);
	}
	(void) door_return(NULL, 0, NULL, 0);
	return (NULL);
}

static void *
shared_thread(void *arg)
{
	(void) arg;
	(void) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	(void) door_return(NULL, 0, NULL, 0);
	return (NULL);
}

static int private_threads_made;

static void
one_thread_create(door_info_t *dip)
{
	pthread_t t;
	pthread_attr_t at;

	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (dip == NULL) {
		(void) pthread_create(&t, &at, shared_thread, NULL);
	} else if (!(dip->di_attributes & DOOR_DEPLETION_CB) &&
	    private_threads_made++ == 0) {
		(void) pthread_create(&t, &at, bound_thread, NULL);
	}
	pthread_attr_destroy(&at);
}

static void
test_queued_callers_get_ebadf(void)
{
	pid_t pid = harness_fork();

	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct client a = { -1, OP_BLOCK, 0, 0, 0 };
		struct client b = { -1, OP_ECHO, 0, 0, 0 };
		pthread_t ta, tb;
		int fd, d;

		(void) door_server_create(one_thread_create);
		fd = door_create(proc, NULL, DOOR_PRIVATE);
		if (!CHECK(fd >= 0))
			harness_child_exit();
		__atomic_store_n(&private_fd, fd, __ATOMIC_RELEASE);
		/* The single bound thread serves a call. */
		CHECK_EQ(call_op(fd, OP_ECHO, NULL), 0);
		CHECK_EQ(private_threads_made, 1);

		d = dup(fd);
		a.fd = d;
		b.fd = d;
		CHECK(pthread_create(&ta, NULL, client_thread, &a) == 0);
		while (sem_wait(&entered) != 0)
			;
		CHECK(pthread_create(&tb, NULL, client_thread, &b) == 0);
		usleep(200000);		/* let B queue up for the thread */
		CHECK_EQ(b.done, 0);	/* B has no thread to run on */
		CHECK_EQ(door_revoke(fd), 0);
		if (CHECK(wait_done(&b, 30))) {
			CHECK_EQ(b.rc, -1);
			CHECK_EQ(b.err, EBADF);
			pthread_join(tb, NULL);
		}
		CHECK_EQ(a.done, 0);
		sem_post(&release);
		pthread_join(ta, NULL);
		CHECK_EQ(a.rc, 0);
		close(d);
		harness_child_exit();
	}
	harness_wait_child(pid);
}

static void
test_eperm_in_child(void)
{
	int fd = door_create(proc, NULL, 0);
	pid_t pid;

	REQUIRE(fd >= 0);
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		expect_errno(door_revoke(fd), EPERM);
		CHECK(fd_is_open(fd));
		/* Not revoked: the child can still call it. */
		CHECK_EQ(call_op(fd, OP_ECHO, NULL), 0);
		harness_child_exit();
	}
	harness_wait_child(pid);
	/* Still alive for the parent too. */
	CHECK_EQ(call_op(fd, OP_ECHO, NULL), 0);
	CHECK_EQ(door_revoke(fd), 0);
}

static void
test_ebadf_non_door(void)
{
	int p[2], f, fd;
	char path[] = "/tmp/t_revoke.XXXXXX";

	REQUIRE(pipe(p) == 0);
	expect_errno(door_revoke(p[0]), EBADF);
	expect_errno(door_revoke(p[1]), EBADF);
	CHECK(fd_is_open(p[0]) && fd_is_open(p[1]));
	close(p[0]);
	close(p[1]);
	expect_errno(door_revoke(p[0]), EBADF);
	expect_errno(door_revoke(-1), EBADF);
	f = mkstemp(path);
	REQUIRE(f >= 0);
	unlink(path);
	expect_errno(door_revoke(f), EBADF);
	CHECK(fd_is_open(f));
	close(f);

	/* A revoked (hence closed) descriptor number. */
	fd = door_create(proc, NULL, 0);
	REQUIRE(fd >= 0);
	CHECK_EQ(door_revoke(fd), 0);
	expect_errno(door_revoke(fd), EBADF);
}

int
main(void)
{
	sem_init(&entered, 0, 0);
	sem_init(&release, 0, 0);
	RUN(test_revoke_closes);
	RUN(test_revoke_seen_by_child);
	RUN(test_in_flight_completes);
	RUN(test_revoke_from_procedure);
	RUN(test_queued_callers_get_ebadf);
	RUN(test_eperm_in_child);
	RUN(test_ebadf_non_door);
	return (harness_done());
}
