/*
 * t_param.c - door_getparam(3C), door_setparam(3C).
 *
 * Clauses exercised (door_getparam(3C), door_setparam(3C); the limits
 * in door_call(3C)):
 *  - defaults: DATA_MIN 0, DATA_MAX SIZE_MAX, DESC_MAX INT_MAX; with
 *    DOOR_REFUSE_DESC, DESC_MAX 0;
 *  - set/get round trips; getparam works on revoked doors and in a fork
 *    child (reporting the server's values);
 *  - errors: EINVAL unknown param (get and set), a MIN above the current
 *    MAX or a MAX below the current MIN; ERANGE DESC_MAX > INT_MAX;
 *    ENOTSUP DESC_MAX != 0 on a REFUSE_DESC door; EPERM from a process
 *    that is not the server (fork child); EBADF for a non-door, and for
 *    setparam on a revoked door; EFAULT for a NULL out pointer;
 *  - enforcement on requests only, in order: ENOBUFS below DATA_MIN or
 *    above DATA_MAX (also for params == NULL), ENOTSUP for descriptors to a
 *    REFUSE_DESC door, ENFILE above DESC_MAX; the procedure never runs and
 *    DOOR_RELEASE descriptors stay open; limits are inclusive;
 *  - replies larger than DATA_MAX (and with more descriptors than
 *    DESC_MAX) are delivered.
 */
#include <door.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <sys/mman.h>

#include "harness.h"

static volatile int invocations;
static int pipe_fds[2];

/* Request: a size_t reply size and a reply descriptor count. */
struct req {
	size_t reply_size;
	unsigned ndesc;
};

static char *big_reply;
#define BIG_REPLY (1u << 20)

static void
proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	struct req r = { 0, 0 };
	door_desc_t d[4];
	uint_t i;

	(void) cookie;
	__atomic_fetch_add(&invocations, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < n_desc; i++)
		close(dp[i].d_data.d_desc.d_descriptor);
	if (argp != NULL && arg_size >= sizeof (r))
		memcpy(&r, argp, sizeof (r));
	if (r.reply_size > BIG_REPLY)
		r.reply_size = BIG_REPLY;
	if (r.ndesc > 4)
		r.ndesc = 4;
	for (i = 0; i < r.ndesc; i++) {
		memset(&d[i], 0, sizeof (d[i]));
		d[i].d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
		d[i].d_data.d_desc.d_descriptor = dup(pipe_fds[0]);
	}
	(void) door_return(big_reply, r.reply_size, r.ndesc ? d : NULL,
	    r.ndesc);
}

static void
test_defaults(void)
{
	int fd = door_create(proc, NULL, 0);
	int rfd = door_create(proc, NULL, DOOR_REFUSE_DESC);
	size_t v;

	REQUIRE(fd >= 0 && rfd >= 0);
	v = 123;
	CHECK_EQ(door_getparam(fd, DOOR_PARAM_DATA_MIN, &v), 0);
	CHECK_EQU(v, 0);
	v = 123;
	CHECK_EQ(door_getparam(fd, DOOR_PARAM_DATA_MAX, &v), 0);
	CHECK_EQU(v, SIZE_MAX);
	v = 123;
	CHECK_EQ(door_getparam(fd, DOOR_PARAM_DESC_MAX, &v), 0);
	CHECK_EQU(v, INT_MAX);

	v = 123;
	CHECK_EQ(door_getparam(rfd, DOOR_PARAM_DESC_MAX, &v), 0);
	CHECK_EQU(v, 0);
	v = 123;
	CHECK_EQ(door_getparam(rfd, DOOR_PARAM_DATA_MAX, &v), 0);
	CHECK_EQU(v, SIZE_MAX);
	v = 123;
	CHECK_EQ(door_getparam(rfd, DOOR_PARAM_DATA_MIN, &v), 0);
	CHECK_EQU(v, 0);
	door_revoke(fd);
	door_revoke(rfd);
}

static void
test_set_get(void)
{
	int fd = door_create(proc, NULL, 0), d;
	size_t v;

	REQUIRE(fd >= 0);
	CHECK_EQ(door_setparam(fd, DOOR_PARAM_DATA_MAX, 4096), 0);
	CHECK_EQ(door_getparam(fd, DOOR_PARAM_DATA_MAX, &v), 0);
	CHECK_EQU(v, 4096);
	CHECK_EQ(door_setparam(fd, DOOR_PARAM_DATA_MIN, 16), 0);
	CHECK_EQ(door_getparam(fd, DOOR_PARAM_DATA_MIN, &v), 0);
	CHECK_EQU(v, 16);
	/* MIN == MAX is allowed. */
	CHECK_EQ(door_setparam(fd, DOOR_PARAM_DATA_MIN, 4096), 0);
	CHECK_EQ(door_setparam(fd, DOOR_PARAM_DATA_MIN, 16), 0);
	CHECK_EQ(door_setparam(fd, DOOR_PARAM_DESC_MAX, 7), 0);
	CHECK_EQ(door_getparam(fd, DOOR_PARAM_DESC_MAX, &v), 0);
	CHECK_EQU(v, 7);
	CHECK_EQ(door_setparam(fd, DOOR_PARAM_DESC_MAX, INT_MAX), 0);
	CHECK_EQ(door_getparam(fd, DOOR_PARAM_DESC_MAX, &v), 0);
	CHECK_EQU(v, INT_MAX);
	CHECK_EQ(door_setparam(fd, DOOR_PARAM_DESC_MAX, 0), 0);
	CHECK_EQ(door_setparam(fd, DOOR_PARAM_DATA_MAX, SIZE_MAX), 0);
	CHECK_EQ(door_getparam(fd, DOOR_PARAM_DATA_MAX, &v), 0);
	CHECK_EQU(v, SIZE_MAX);

	/* Values are per door and shared by all descriptors of it. */
	d = dup(fd);
	CHECK_EQ(door_getparam(d, DOOR_PARAM_DATA_MIN, &v), 0);
	CHECK_EQU(v, 16);
	CHECK_EQ(door_setparam(d, DOOR_PARAM_DATA_MIN, 20), 0);
	CHECK_EQ(door_getparam(fd, DOOR_PARAM_DATA_MIN, &v), 0);
	CHECK_EQU(v, 20);
	{
		int other = door_create(proc, NULL, 0);
		CHECK_EQ(door_getparam(other, DOOR_PARAM_DATA_MIN, &v), 0);
		CHECK_EQU(v, 0);
		door_revoke(other);
	}

	/* getparam works on a revoked door; setparam does not. */
	CHECK_EQ(door_revoke(fd), 0);
	CHECK_EQ(door_getparam(d, DOOR_PARAM_DATA_MIN, &v), 0);
	CHECK_EQU(v, 20);
	CHECK_EQ(door_getparam(d, DOOR_PARAM_DESC_MAX, &v), 0);
	CHECK_EQU(v, 0);
	expect_errno(door_setparam(d, DOOR_PARAM_DATA_MIN, 1), EBADF);
	close(d);
}

static void
test_errors(void)
{
	int fd = door_create(proc, NULL, 0);
	int rfd = door_create(proc, NULL, DOOR_REFUSE_DESC);
	int p[2], closed;
	size_t v;

	REQUIRE(fd >= 0 && rfd >= 0);
	/* Unknown parameter. */
	expect_errno(door_getparam(fd, 0, &v), EINVAL);
	expect_errno(door_getparam(fd, 4, &v), EINVAL);
	expect_errno(door_getparam(fd, -1, &v), EINVAL);
	expect_errno(door_setparam(fd, 0, 1), EINVAL);
	expect_errno(door_setparam(fd, 4, 1), EINVAL);
	expect_errno(door_setparam(fd, 1000, 1), EINVAL);

	/* MIN above MAX, MAX below MIN. */
	CHECK_EQ(door_setparam(fd, DOOR_PARAM_DATA_MAX, 100), 0);
	expect_errno(door_setparam(fd, DOOR_PARAM_DATA_MIN, 101), EINVAL);
	CHECK_EQ(door_getparam(fd, DOOR_PARAM_DATA_MIN, &v), 0);
	CHECK_EQU(v, 0);		/* unchanged by the failure */
	CHECK_EQ(door_setparam(fd, DOOR_PARAM_DATA_MIN, 50), 0);
	expect_errno(door_setparam(fd, DOOR_PARAM_DATA_MAX, 49), EINVAL);
	CHECK_EQ(door_getparam(fd, DOOR_PARAM_DATA_MAX, &v), 0);
	CHECK_EQU(v, 100);
	CHECK_EQ(door_setparam(fd, DOOR_PARAM_DATA_MAX, 50), 0);

	/* ERANGE: DESC_MAX beyond INT_MAX. */
	expect_errno(door_setparam(fd, DOOR_PARAM_DESC_MAX,
	    (size_t)INT_MAX + 1), ERANGE);
	expect_errno(door_setparam(fd, DOOR_PARAM_DESC_MAX, SIZE_MAX), ERANGE);
	CHECK_EQ(door_getparam(fd, DOOR_PARAM_DESC_MAX, &v), 0);
	CHECK_EQU(v, INT_MAX);

	/* ENOTSUP: descriptors on a REFUSE_DESC door. */
	expect_errno(door_setparam(rfd, DOOR_PARAM_DESC_MAX, 1), ENOTSUP);
	expect_errno(door_setparam(rfd, DOOR_PARAM_DESC_MAX, INT_MAX),
	    ENOTSUP);
	CHECK_EQ(door_setparam(rfd, DOOR_PARAM_DESC_MAX, 0), 0);
	CHECK_EQ(door_setparam(rfd, DOOR_PARAM_DATA_MAX, 10), 0);

	/* EFAULT: bad out pointer. */
	expect_errno(door_getparam(fd, DOOR_PARAM_DATA_MAX, NULL), EFAULT);
	expect_errno(door_getparam(fd, DOOR_PARAM_DATA_MAX,
	    (size_t *)harness_unmapped()), EFAULT);

	/* EBADF: not a door. */
	REQUIRE(pipe(p) == 0);
	expect_errno(door_getparam(p[0], DOOR_PARAM_DATA_MAX, &v), EBADF);
	expect_errno(door_setparam(p[0], DOOR_PARAM_DATA_MAX, 1), EBADF);
	closed = p[1];
	close(p[0]);
	close(p[1]);
	expect_errno(door_getparam(closed, DOOR_PARAM_DATA_MAX, &v), EBADF);
	expect_errno(door_setparam(closed, DOOR_PARAM_DATA_MAX, 1), EBADF);
	expect_errno(door_getparam(-1, DOOR_PARAM_DATA_MAX, &v), EBADF);
	expect_errno(door_setparam(-1, DOOR_PARAM_DATA_MAX, 1), EBADF);
	door_revoke(fd);
	door_revoke(rfd);
}

static void
test_eperm_child(void)
{
	int fd = door_create(proc, NULL, 0);
	pid_t pid;

	REQUIRE(fd >= 0);
	REQUIRE(door_setparam(fd, DOOR_PARAM_DATA_MAX, 777) == 0);
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		size_t v = 0;
		expect_errno(door_setparam(fd, DOOR_PARAM_DATA_MAX, 10),
		    EPERM);
		expect_errno(door_setparam(fd, DOOR_PARAM_DESC_MAX, 1), EPERM);
		CHECK_EQ(door_getparam(fd, DOOR_PARAM_DATA_MAX, &v), 0);
		CHECK_EQU(v, 777);
		harness_child_exit();
	}
	harness_wait_child(pid);
	{
		size_t v = 0;
		CHECK_EQ(door_getparam(fd, DOOR_PARAM_DATA_MAX, &v), 0);
		CHECK_EQU(v, 777);
	}
	door_revoke(fd);
}

static int
call(int fd, size_t size, door_desc_t *d, uint_t nd, struct req *r,
    door_arg_t *out)
{
	static char data[4096];
	door_arg_t a;
	char rbuf[256];
	int rc;

	memset(data, 0, sizeof (data));
	if (r != NULL && size >= sizeof (*r))
		memcpy(data, r, sizeof (*r));
	memset(&a, 0, sizeof (a));
	a.data_ptr = size ? data : NULL;
	a.data_size = size;
	a.desc_ptr = d;
	a.desc_num = nd;
	/* Callers that look at the results get them in a fresh mapping. */
	a.rbuf = out != NULL ? NULL : rbuf;
	a.rsize = out != NULL ? 0 : sizeof (rbuf);
	rc = door_call(fd, &a);
	if (rc == 0 && out != NULL)
		*out = a;
	else if (rc == 0 && a.rbuf != rbuf)
		munmap(a.rbuf, a.rsize);
	return (rc);
}

static void
set_desc(door_desc_t *d, int fd, door_attr_t extra)
{
	memset(d, 0, sizeof (*d));
	d->d_attributes = DOOR_DESCRIPTOR | extra;
	d->d_data.d_desc.d_descriptor = fd;
}

static void
test_enforce_data(void)
{
	int fd = door_create(proc, NULL, 0), n;

	REQUIRE(fd >= 0);
	REQUIRE(door_setparam(fd, DOOR_PARAM_DATA_MIN, 20) == 0);
	REQUIRE(door_setparam(fd, DOOR_PARAM_DATA_MAX, 40) == 0);
	n = invocations;
	expect_errno(call(fd, 19, NULL, 0, NULL, NULL), ENOBUFS);
	expect_errno(call(fd, 41, NULL, 0, NULL, NULL), ENOBUFS);
	expect_errno(call(fd, 4096, NULL, 0, NULL, NULL), ENOBUFS);
	expect_errno(call(fd, 0, NULL, 0, NULL, NULL), ENOBUFS);
	expect_errno(door_call(fd, NULL), ENOBUFS);
	CHECK_EQ(invocations, n);	/* the server never ran */
	CHECK_EQ(call(fd, 20, NULL, 0, NULL, NULL), 0);
	CHECK_EQ(call(fd, 40, NULL, 0, NULL, NULL), 0);
	CHECK_EQ(call(fd, 33, NULL, 0, NULL, NULL), 0);
	CHECK_EQ(invocations, n + 3);

	/* Back to the defaults: everything goes again. */
	REQUIRE(door_setparam(fd, DOOR_PARAM_DATA_MIN, 0) == 0);
	REQUIRE(door_setparam(fd, DOOR_PARAM_DATA_MAX, SIZE_MAX) == 0);
	CHECK_EQ(door_call(fd, NULL), 0);
	CHECK_EQ(call(fd, 4096, NULL, 0, NULL, NULL), 0);
	door_revoke(fd);
}

static void
test_enforce_desc(void)
{
	int fd = door_create(proc, NULL, 0);
	int rfd = door_create(proc, NULL, DOOR_REFUSE_DESC);
	door_desc_t d[3];
	int p[2], rel, n, i;

	REQUIRE(fd >= 0 && rfd >= 0 && pipe(p) == 0);

	/* REFUSE_DESC: ENOTSUP; DOOR_RELEASE descriptors stay open. */
	rel = dup(p[0]);
	set_desc(&d[0], rel, DOOR_RELEASE);
	expect_errno(call(rfd, 8, d, 1, NULL, NULL), ENOTSUP);
	CHECK(fd_is_open(rel));
	CHECK_EQ(call(rfd, 8, NULL, 0, NULL, NULL), 0);

	/* DESC_MAX 2: three descriptors are refused with ENFILE. */
	REQUIRE(door_setparam(fd, DOOR_PARAM_DESC_MAX, 2) == 0);
	for (i = 0; i < 3; i++)
		set_desc(&d[i], i == 0 ? rel : p[1], i == 0 ? DOOR_RELEASE : 0);
	n = invocations;
	expect_errno(call(fd, 8, d, 3, NULL, NULL), ENFILE);
	CHECK(fd_is_open(rel));
	CHECK_EQ(invocations, n);
	CHECK_EQ(call(fd, 8, d, 2, NULL, NULL), 0);	/* inclusive */
	CHECK(!fd_is_open(rel));	/* released on success */
	CHECK_EQ(invocations, n + 1);

	/* DESC_MAX 0 on an ordinary door refuses any descriptor (ENFILE). */
	REQUIRE(door_setparam(fd, DOOR_PARAM_DESC_MAX, 0) == 0);
	set_desc(&d[0], p[1], 0);
	expect_errno(call(fd, 8, d, 1, NULL, NULL), ENFILE);
	CHECK_EQ(call(fd, 8, NULL, 0, NULL, NULL), 0);

	/* Order of the checks: ENOBUFS, then ENOTSUP, then ENFILE. */
	REQUIRE(door_setparam(rfd, DOOR_PARAM_DATA_MIN, 100) == 0);
	expect_errno(call(rfd, 8, d, 1, NULL, NULL), ENOBUFS);
	REQUIRE(door_setparam(fd, DOOR_PARAM_DATA_MAX, 4) == 0);
	expect_errno(call(fd, 8, d, 1, NULL, NULL), ENOBUFS);
	REQUIRE(door_setparam(fd, DOOR_PARAM_DATA_MAX, SIZE_MAX) == 0);
	expect_errno(call(fd, 8, d, 1, NULL, NULL), ENFILE);

	close(p[0]);
	close(p[1]);
	door_revoke(fd);
	door_revoke(rfd);
}

/* Limits apply to requests only: big replies and reply fds still work. */
static void
test_replies_unlimited(void)
{
	int fd = door_create(proc, NULL, DOOR_REFUSE_DESC);
	struct req r = { BIG_REPLY, 0 };
	door_arg_t a;
	size_t i, bad = 0;

	REQUIRE(fd >= 0);
	REQUIRE(door_setparam(fd, DOOR_PARAM_DATA_MIN, 16) == 0);
	REQUIRE(door_setparam(fd, DOOR_PARAM_DATA_MAX, 16) == 0);
	REQUIRE(call(fd, 16, NULL, 0, &r, &a) == 0);
	CHECK_EQU(a.data_size, BIG_REPLY);
	CHECK(a.rbuf != NULL);
	if (a.data_size == BIG_REPLY) {
		for (i = 0; i < BIG_REPLY; i++)
			if (a.data_ptr[i] != big_reply[i])
				bad++;
		CHECK_EQU(bad, 0);
	}
	if (a.rbuf != NULL)
		munmap(a.rbuf, a.rsize);

	/* DESC_MAX is 0 (REFUSE_DESC), yet the reply may carry descriptors. */
	r.reply_size = 17;
	r.ndesc = 3;
	REQUIRE(call(fd, 16, NULL, 0, &r, &a) == 0);
	CHECK_EQU(a.data_size, 17);
	CHECK_EQ(a.desc_num, 3);
	for (i = 0; i < a.desc_num; i++) {
		int rfd = a.desc_ptr[i].d_data.d_desc.d_descriptor;
		CHECK(fd_is_open(rfd));
		close(rfd);
	}
	if (a.rbuf != NULL)
		munmap(a.rbuf, a.rsize);
	door_revoke(fd);
}

int
main(void)
{
	size_t i;

	big_reply = malloc(BIG_REPLY);
	if (big_reply == NULL || pipe(pipe_fds) != 0)
		return (1);
	for (i = 0; i < BIG_REPLY; i++)
		big_reply[i] = (char)(i * 7 + (i >> 9));
	RUN(test_defaults);
	RUN(test_set_get);
	RUN(test_errors);
	RUN(test_eperm_child);
	RUN(test_enforce_data);
	RUN(test_enforce_desc);
	RUN(test_replies_unlimited);
	return (harness_done());
}
