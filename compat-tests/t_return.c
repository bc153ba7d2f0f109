/*
 * t_return.c - door_return(3C).
 *
 * Clauses exercised (door_return(3C); the stack reset; illumos' own
 * door tests on stack alignment):
 *  - door_return does not return to its caller on success;
 *  - every invocation starts the procedure on a fresh frame: its entry
 *    stack is 16-byte aligned whatever the argument size (the illumos
 *    stackalign test uses 9 and 14 bytes), and the address of a local in
 *    the procedure is the same on call 1 and call 1,000,000 (the stack
 *    does not grow);
 *  - failures return -1 to the server and leave the client waiting for a
 *    later door_return:
 *      E2BIG  when the client passed params == NULL and the server returns
 *             data or descriptors (the client stays blocked until the
 *             server returns nothing);
 *      E2BIG  for more than 1024 descriptors (DOOR_RELEASE ones are kept);
 *      EINVAL for a descriptor entry without DOOR_DESCRIPTOR or naming a
 *             closed fd (valid DOOR_RELEASE entries are still closed);
 *      EFAULT for unreadable data or descriptor lists;
 *  - door_return with no current caller closes DOOR_RELEASE descriptors
 *    and parks the thread;
 *  - a procedure that returns instead of calling door_return ends its
 *    thread and the client gets EINTR; the door keeps working.
 */
#include <door.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <sys/mman.h>

#include "harness.h"

/* ---- door_return does not return on success ---------------------------- */

static volatile int returned_after_success;

static void
plain_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	(void) cookie; (void) dp; (void) n_desc;
	(void) door_return(argp, arg_size, NULL, 0);
	/* Only reached if door_return failed or (wrongly) returned. */
	__atomic_fetch_add(&returned_after_success, 1, __ATOMIC_SEQ_CST);
	(void) door_return(NULL, 0, NULL, 0);
}

static int
call_bytes(int fd, const void *data, size_t size, void *rbuf, size_t rsize,
    door_arg_t *out)
{
	door_arg_t a;

	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)data;
	a.data_size = size;
	a.rbuf = rbuf;
	a.rsize = rsize;
	if (door_call(fd, &a) != 0)
		return (-1);
	if (out != NULL)
		*out = a;
	return (0);
}

static void
test_no_return_on_success(void)
{
	int fd = door_create(plain_proc, NULL, 0), i;
	char rbuf[32];

	REQUIRE(fd >= 0);
	for (i = 0; i < 200; i++) {
		door_arg_t a;
		if (!CHECK(call_bytes(fd, "abc", 4, rbuf, sizeof (rbuf),
		    &a) == 0))
			break;
		CHECK(a.data_size == 4 && strcmp(a.data_ptr, "abc") == 0);
	}
	/* A later, unrelated round trip orders us after any stray return. */
	CHECK(call_bytes(fd, "x", 2, rbuf, sizeof (rbuf), NULL) == 0);
	CHECK_EQ(returned_after_success, 0);
	door_revoke(fd);
}

/* ---- entry stack alignment --------------------------------------------- */

static volatile uintptr_t align_frame;
static volatile uintptr_t align_local;
static volatile int align_calls;

__attribute__((noinline)) static void
align_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	char buf[16] __attribute__((aligned(16)));
	uint_t i;

	(void) cookie; (void) argp; (void) arg_size;
	align_frame = (uintptr_t)__builtin_frame_address(0);
	__asm__ volatile("" : : "r"(buf) : "memory");
	align_local = (uintptr_t)buf;
	align_calls++;
	for (i = 0; i < n_desc; i++)
		close(dp[i].d_data.d_desc.d_descriptor);
	(void) door_return(NULL, 0, NULL, 0);
}

static void
test_stack_alignment(void)
{
	static const size_t sizes[] = { 0, 1, 7, 8, 9, 14, 15, 16, 17, 24, 31,
	    33, 100, 1000, 4095, 4097, 20000 };
	int fd = door_create(align_proc, NULL, 0);
	char *data = calloc(1, 20000);
	unsigned k, nd;
	int p[2];

	REQUIRE(fd >= 0 && data != NULL);
	REQUIRE(pipe(p) == 0);
	for (nd = 0; nd <= 3; nd++) {
		for (k = 0; k < sizeof (sizes) / sizeof (sizes[0]); k++) {
			door_desc_t d[3];
			door_arg_t a;
			unsigned j;
			int calls = align_calls;

			for (j = 0; j < nd; j++) {
				memset(&d[j], 0, sizeof (d[j]));
				d[j].d_attributes = DOOR_DESCRIPTOR;
				d[j].d_data.d_desc.d_descriptor = p[0];
			}
			memset(&a, 0, sizeof (a));
			a.data_ptr = sizes[k] ? data : NULL;
			a.data_size = sizes[k];
			a.desc_ptr = nd ? d : NULL;
			a.desc_num = nd;
			align_frame = 1;
			align_local = 1;
			if (!CHECK(door_call(fd, &a) == 0))
				continue;
			CHECK_EQ(align_calls, calls + 1);
			if (!CHECK_EQU(align_frame % 16, 0) ||
			    !CHECK_EQU(align_local % 16, 0))
				printf("  arg size %zu, %u descriptors\n",
				    sizes[k], nd);
		}
	}
	free(data);
	close(p[0]);
	close(p[1]);
	door_revoke(fd);
}

/* ---- the stack does not grow ------------------------------------------- */

#define NLOOP	1000000
static __thread uintptr_t tls_first_local;
static volatile uintptr_t first_call_local, last_call_local;
static volatile pthread_t first_call_thread, last_call_thread;
static int loop_calls, loop_mismatch, loop_threads;
static int nloop = NLOOP;

__attribute__((noinline)) static void
loop_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	volatile char local = 0;
	uintptr_t here = (uintptr_t)&local;
	int n;

	(void) cookie; (void) argp; (void) arg_size; (void) dp; (void) n_desc;
	n = __atomic_add_fetch(&loop_calls, 1, __ATOMIC_RELAXED);
	if (tls_first_local == 0) {
		tls_first_local = here;
		__atomic_fetch_add(&loop_threads, 1, __ATOMIC_RELAXED);
	} else if (tls_first_local != here) {
		__atomic_fetch_add(&loop_mismatch, 1, __ATOMIC_RELAXED);
	}
	if (n == 1) {
		first_call_local = here;
		first_call_thread = pthread_self();
	} else if (n == nloop) {
		last_call_local = here;
		last_call_thread = pthread_self();
	}
	(void) door_return(NULL, 0, NULL, 0);
}

static void
test_stack_does_not_grow(void)
{
	int fd = door_create(loop_proc, NULL, 0), i;
	long long arg = 0x1122334455667788LL;
	struct timespec t0, t1;
	double secs;

	REQUIRE(fd >= 0);
	/*
	 * Under full-system emulation (the kernel module's qemu guest,
	 * which sets LIBDOOR_TEST_EMULATED) a million calls take too long:
	 * 20,000 still show any growth, which moves the local's address.
	 */
	if (getenv("LIBDOOR_TEST_EMULATED") != NULL)
		nloop = 20000;
	harness_watchdog(280);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nloop; i++) {
		door_arg_t a;
		char rbuf[16];

		memset(&a, 0, sizeof (a));
		a.data_ptr = (char *)&arg;
		a.data_size = sizeof (arg);
		a.rbuf = rbuf;
		a.rsize = sizeof (rbuf);
		if (door_call(fd, &a) != 0) {
			CHECK_EQ(door_call(fd, &a), 0);
			printf("  door_call failed at call %d\n", i + 1);
			break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	NOTE("%d calls in %.1f s (%.2f us/call), served by %d thread(s)",
	    i, secs, secs * 1e6 / (i ? i : 1), loop_threads);
	CHECK_EQ(loop_calls, nloop);
	CHECK_EQ(loop_mismatch, 0);
	if (pthread_equal(first_call_thread, last_call_thread))
		CHECK_EQU(last_call_local, first_call_local);
	door_revoke(fd);
}

/* ---- E2BIG: results for a params == NULL call -------------------------- */

static volatile int nullp_err_data, nullp_err_desc, nullp_rc_data;
static volatile int client_returned, client_was_blocked;

static void
nullp_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	door_desc_t d;
	int p[2], r;

	(void) cookie; (void) argp; (void) arg_size; (void) dp; (void) n_desc;
	errno = 0;
	r = door_return("data", 5, NULL, 0);
	nullp_rc_data = r;
	nullp_err_data = errno;

	if (pipe(p) == 0) {
		memset(&d, 0, sizeof (d));
		d.d_attributes = DOOR_DESCRIPTOR;
		d.d_data.d_desc.d_descriptor = p[0];
		errno = 0;
		r = door_return(NULL, 0, &d, 1);
		nullp_err_desc = r == -1 ? errno : -1;
		close(p[0]);
		close(p[1]);
	}
	/* The client must still be inside door_call. */
	usleep(200000);
	client_was_blocked = !client_returned;
	(void) door_return(NULL, 0, NULL, 0);
}

static void
test_e2big_params_null(void)
{
	int fd = door_create(nullp_proc, NULL, 0);

	REQUIRE(fd >= 0);
	client_returned = 0;
	nullp_err_data = nullp_err_desc = 0;
	nullp_rc_data = 0;
	CHECK_EQ(door_call(fd, NULL), 0);
	client_returned = 1;
	CHECK_EQ(nullp_rc_data, -1);
	CHECK_EQ(nullp_err_data, E2BIG);
	CHECK_EQ(nullp_err_desc, E2BIG);
	CHECK_EQ(client_was_blocked, 1);
	door_revoke(fd);
}

/* ---- failures reported to the server; client waits for the next reply -- */

enum { BAD_TOO_MANY = 1, BAD_NO_DESCRIPTOR, BAD_CLOSED_FD,
    BAD_RELEASE_THEN_INVALID, BAD_DATA_FAULT, BAD_DESC_FAULT };

struct bad_reply {
	int rc;		/* what the bad door_return returned */
	int err;	/* its errno */
	int extra;	/* case-specific: descriptors still open, ... */
};

static void *none_page;

/* A descriptor number that is certainly not open (high, so not reused). */
static int
closed_fd(int like)
{
	int c = fcntl(like, F_DUPFD, 10000);
	close(c);
	return (c);
}

static void
bad_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	struct bad_reply br = { 0, 0, -1 };
	int which = 0;
	int p[2];

	(void) cookie; (void) dp; (void) n_desc;
	if (arg_size >= sizeof (int))
		memcpy(&which, argp, sizeof (int));
	if (pipe(p) != 0) {
		br.err = -2;
		(void) door_return((char *)&br, sizeof (br), NULL, 0);
	}
	switch (which) {
	case BAD_TOO_MANY: {
		/* 1025 DOOR_RELEASE entries: E2BIG, and nothing is closed. */
		enum { N = 1025 };
		door_desc_t *d = calloc(N, sizeof (*d));
		int i, open_after = 0;
		for (i = 0; i < N; i++) {
			d[i].d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
			d[i].d_data.d_desc.d_descriptor = dup(p[0]);
		}
		errno = 0;
		br.rc = door_return("x", 2, d, N);
		br.err = errno;
		for (i = 0; i < N; i++) {
			if (fd_is_open(d[i].d_data.d_desc.d_descriptor))
				open_after++;
			close(d[i].d_data.d_desc.d_descriptor);
		}
		br.extra = open_after;
		free(d);
		break;
	}
	case BAD_NO_DESCRIPTOR: {
		door_desc_t d;
		memset(&d, 0, sizeof (d));
		d.d_attributes = 0;
		d.d_data.d_desc.d_descriptor = p[0];
		errno = 0;
		br.rc = door_return(NULL, 0, &d, 1);
		br.err = errno;
		br.extra = fd_is_open(p[0]);
		break;
	}
	case BAD_CLOSED_FD: {
		door_desc_t d;
		int c = closed_fd(p[0]);
		memset(&d, 0, sizeof (d));
		d.d_attributes = DOOR_DESCRIPTOR;
		d.d_data.d_desc.d_descriptor = c;
		errno = 0;
		br.rc = door_return("y", 2, &d, 1);
		br.err = errno;
		break;
	}
	case BAD_RELEASE_THEN_INVALID: {
		door_desc_t d[2];
		int rel = dup(p[0]), c = closed_fd(p[1]);
		memset(d, 0, sizeof (d));
		d[0].d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
		d[0].d_data.d_desc.d_descriptor = rel;
		d[1].d_attributes = DOOR_DESCRIPTOR;
		d[1].d_data.d_desc.d_descriptor = c;
		errno = 0;
		br.rc = door_return(NULL, 0, d, 2);
		br.err = errno;
		br.extra = fd_is_open(rel);
		if (br.extra)
			close(rel);
		break;
	}
	case BAD_DATA_FAULT:
		errno = 0;
		br.rc = door_return((char *)none_page, 100, NULL, 0);
		br.err = errno;
		break;
	case BAD_DESC_FAULT:
		errno = 0;
		br.rc = door_return(NULL, 0, (door_desc_t *)none_page, 1);
		br.err = errno;
		break;
	}
	close(p[0]);
	close(p[1]);
	/* The client is still waiting: give it the outcome. */
	(void) door_return((char *)&br, sizeof (br), NULL, 0);
}

static void
run_bad(int fd, int which, int want_errno, int want_extra)
{
	struct bad_reply br;
	door_arg_t a;
	char rbuf[64];

	memset(&br, 0x55, sizeof (br));
	if (!CHECK(call_bytes(fd, &which, sizeof (which), rbuf,
	    sizeof (rbuf), &a) == 0))
		return;
	if (!CHECK_EQU(a.data_size, sizeof (br)))
		return;
	memcpy(&br, a.data_ptr, sizeof (br));
	if (!CHECK_EQ(br.rc, -1) || !CHECK_EQ(br.err, want_errno))
		printf("  (case %d)\n", which);
	if (want_extra != -1 && !CHECK_EQ(br.extra, want_extra))
		printf("  (case %d)\n", which);
}

static void
test_return_errors(void)
{
	int fd = door_create(bad_proc, NULL, 0);
	int fds0;

	none_page = harness_page(PROT_NONE);
	REQUIRE(fd >= 0 && none_page != NULL);
	/* warm up the pool and any lazy state */
	run_bad(fd, BAD_CLOSED_FD, EINVAL, -1);
	fds0 = count_fds_stable();
	run_bad(fd, BAD_TOO_MANY, E2BIG, 1025);
	run_bad(fd, BAD_NO_DESCRIPTOR, EINVAL, 1);
	run_bad(fd, BAD_CLOSED_FD, EINVAL, -1);
	run_bad(fd, BAD_RELEASE_THEN_INVALID, EINVAL, 0);
	run_bad(fd, BAD_DATA_FAULT, EFAULT, -1);
	run_bad(fd, BAD_DESC_FAULT, EFAULT, -1);
	CHECK_EQ(count_fds_settled(fds0), fds0);
	door_revoke(fd);
	munmap(none_page, (size_t)sysconf(_SC_PAGESIZE));
}

/* ---- door_return with no current caller --------------------------------- */

static int lonely_fd = -1;

static void *
lonely_thread(void *arg)
{
	door_desc_t d;

	(void) arg;
	memset(&d, 0, sizeof (d));
	d.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
	d.d_data.d_desc.d_descriptor = lonely_fd;
	(void) door_return(NULL, 0, &d, 1);
	/* Not reached: the thread parks in the pool. */
	return ((void *)1);
}

static void
test_return_without_caller(void)
{
	pthread_t t;
	int p[2], i, fd;
	char rbuf[16];

	/* The process must already serve doors for the thread to park. */
	fd = door_create(plain_proc, NULL, 0);
	REQUIRE(fd >= 0);
	REQUIRE(pipe(p) == 0);
	lonely_fd = p[0];
	REQUIRE(pthread_create(&t, NULL, lonely_thread, NULL) == 0);
	pthread_detach(t);
	for (i = 0; i < 10000 && fd_is_open(p[0]); i++)
		usleep(1000);
	if (!CHECK(!fd_is_open(p[0])))
		close(p[0]);
	/* The extra parked thread does not disturb normal calls. */
	for (i = 0; i < 20; i++)
		CHECK(call_bytes(fd, "q", 2, rbuf, sizeof (rbuf), NULL) == 0);
	close(p[1]);
	door_revoke(fd);
}

/* ---- the procedure returns instead of calling door_return -------------- */

static void
returning_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	(void) cookie; (void) dp; (void) n_desc;
	if (arg_size == 2 && argp[0] == 'r')
		return;		/* ends this server thread */
	(void) door_return(argp, arg_size, NULL, 0);
}

static void
test_procedure_returns(void)
{
	int fd = door_create(returning_proc, NULL, 0), i;
	char rbuf[16];
	door_arg_t a;

	REQUIRE(fd >= 0);
	for (i = 0; i < 3; i++) {
		memset(rbuf, 0x11, sizeof (rbuf));
		memset(&a, 0, sizeof (a));
		a.data_ptr = "r";
		a.data_size = 2;
		a.rbuf = rbuf;
		a.rsize = sizeof (rbuf);
		expect_errno(door_call(fd, &a), EINTR);
		CHECK_EQ(rbuf[0], 0x11);	/* no results delivered */
		CHECK(call_bytes(fd, "ok", 3, rbuf, sizeof (rbuf), &a) == 0);
		CHECK(strcmp(rbuf, "ok") == 0);
	}
	door_revoke(fd);
}

int
main(void)
{
	RUN(test_no_return_on_success);
	RUN(test_stack_alignment);
	RUN(test_stack_does_not_grow);
	RUN(test_e2big_params_null);
	RUN(test_return_errors);
	RUN(test_return_without_caller);
	RUN(test_procedure_returns);
	return (harness_done());
}
