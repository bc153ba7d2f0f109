/*
 * t_call.c - door_call(3C) and the results rules of door_arg_t.
 *
 * Clauses exercised (door_call(3C): errors, results, nested calls, the
 * server-stack rule of door_server_create(3C)):
 *  - round trips with data; the server sees exactly the bytes sent;
 *  - results that fit in rbuf: written at rbuf, data_ptr = rbuf, rbuf and
 *    rsize unchanged; exact fit vs one byte short; with descriptors the
 *    array sits at rbuf + roundup(data_size, sizeof (door_desc_t));
 *  - results that do not fit (rsize too small, or rbuf == NULL): a fresh
 *    page-rounded, zero-filled, writable mapping; rbuf/rsize describe it,
 *    data_ptr = rbuf, the caller's own buffer is untouched, the caller
 *    munmap()s it;
 *  - an empty result leaves data_ptr, desc_ptr, rbuf and rsize as they
 *    were and sets data_size = desc_num = 0;
 *  - params == NULL: no arguments (the procedure gets argp == NULL,
 *    arg_size 0, n_desc 0) and no results;
 *  - the argument and result buffers may be the same memory; a server may
 *    reply in place from argp or from a local array;
 *  - large arguments (64 KiB, 1 MiB; 8 MiB through a pool of big-stack
 *    threads installed with door_server_create) and large results (8 MiB),
 *    verified byte for byte;
 *  - arguments that do not fit the serving thread's stack: E2BIG (see
 *    door_server_create(3C)), checked with a pool of 256 KiB-stack threads;
 *  - nested calls: a procedure door_calls another door, and its own door
 *    recursively (the pool grows to serve them);
 *  - EBADF for a closed descriptor and for a pipe.
 */
#include <door.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>

#include "harness.h"

#define DS	sizeof (door_desc_t)
#define ROUNDUP(x, m)	((((x) + (m) - 1) / (m)) * (m))

enum op {
	OP_ECHO = 1,		/* reply = the arguments */
	OP_SIZED,		/* reply = reply_size pattern bytes + ndesc fds */
	OP_EMPTY,		/* reply = nothing */
	OP_INPLACE,		/* add 1 to every payload byte in argp, reply argp */
	OP_LOCAL,		/* reply from a local array */
	OP_VERIFY,		/* check payload against the pattern, echo it */
	OP_NESTED		/* call nest_target (depth > 0: own door) */
};

struct req {
	unsigned op;
	unsigned ndesc;
	size_t reply_size;
	unsigned seed;
	int depth;
};

static unsigned char
pat(size_t i, unsigned seed)
{
	return ((unsigned char)(((i * 2654435761u) >> 13) ^ (i >> 17) ^ seed));
}

static void
fill_pat(unsigned char *p, size_t n, size_t from, unsigned seed)
{
	size_t i;
	for (i = 0; i < n; i++)
		p[i] = pat(from + i, seed);
}

static size_t
first_mismatch(const unsigned char *p, size_t n, size_t from, unsigned seed)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (p[i] != pat(from + i, seed))
			return (i);
	return ((size_t)-1);
}

#define BIG	(8u << 20)
static unsigned char *reply_pattern;	/* BIG + 256 bytes, seed 0 */
static int pipe_fds[2];
static int nest_target = -1;
static int self_door = -1;

/* What the procedure saw, for the params == NULL checks. */
static char *volatile seen_argp;
static volatile size_t seen_size;
static volatile uint_t seen_ndesc;
static volatile int seen_calls;

static void
server(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	struct req r;
	(void) cookie;

	seen_argp = argp;
	seen_size = arg_size;
	seen_ndesc = n_desc;
	__atomic_fetch_add(&seen_calls, 1, __ATOMIC_SEQ_CST);
	if (argp == NULL || arg_size < sizeof (r)) {
		(void) door_return(NULL, 0, NULL, 0);
		return;
	}
	memcpy(&r, argp, sizeof (r));
	switch (r.op) {
	case OP_ECHO:
		(void) door_return(argp, arg_size, dp, n_desc);
		break;
	case OP_SIZED: {
		door_desc_t d[8];
		unsigned i;
		if (r.ndesc > 8)
			r.ndesc = 8;
		for (i = 0; i < r.ndesc; i++) {
			memset(&d[i], 0, sizeof (d[i]));
			d[i].d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
			d[i].d_data.d_desc.d_descriptor = dup(pipe_fds[1]);
		}
		(void) door_return((char *)reply_pattern + r.seed,
		    r.reply_size, r.ndesc ? d : NULL, r.ndesc);
		break;
	}
	case OP_INPLACE: {
		size_t i;
		for (i = sizeof (r); i < arg_size; i++)
			argp[i]++;
		(void) door_return(argp, arg_size, NULL, 0);
		break;
	}
	case OP_LOCAL: {
		char local[300];
		size_t i;
		for (i = 0; i < sizeof (local); i++)
			local[i] = (char)(i ^ 0x5a);
		(void) door_return(local, sizeof (local), NULL, 0);
		break;
	}
	case OP_VERIFY: {
		size_t bad = first_mismatch((unsigned char *)argp + sizeof (r),
		    arg_size - sizeof (r), sizeof (r), r.seed);
		if (bad != (size_t)-1) {
			char msg[] = "server saw a corrupted argument";
			(void) door_return(msg, sizeof (msg), NULL, 0);
		}
		(void) door_return(argp, arg_size, NULL, 0);
		break;
	}
	case OP_NESTED: {
		char out[256];
		door_arg_t a;
		struct req in = r;
		int target = r.depth > 0 ? self_door : nest_target;
		int n;

		in.depth = r.depth - 1;
		in.op = r.depth > 0 ? OP_NESTED : OP_ECHO;
		memset(&a, 0, sizeof (a));
		a.data_ptr = (char *)&in;
		a.data_size = sizeof (in);
		a.rbuf = out;
		a.rsize = sizeof (out);
		if (door_call(target, &a) != 0) {
			n = snprintf(out, sizeof (out), "nested call failed");
			(void) door_return(out, (size_t)n + 1, NULL, 0);
			break;
		}
		if (in.op == OP_ECHO) {
			/* the innermost reply is our own request echoed */
			n = snprintf(out, sizeof (out), "[%d]", r.depth);
		} else {
			char tmp[256];
			snprintf(tmp, sizeof (tmp), "%s", a.data_ptr);
			n = snprintf(out, sizeof (out), "%s[%d]", tmp,
			    r.depth);
		}
		(void) door_return(out, (size_t)n + 1, NULL, 0);
		break;
	}
	default:
		(void) door_return(NULL, 0, NULL, 0);
	}
}

static int door_fd = -1;

static void
set_req(door_arg_t *a, struct req *r, char *rbuf, size_t rsize)
{
	memset(a, 0, sizeof (*a));
	a->data_ptr = (char *)r;
	a->data_size = sizeof (*r);
	a->rbuf = rbuf;
	a->rsize = rsize;
}

static void
test_round_trip(void)
{
	struct {
		struct req r;
		char text[32];
	} msg;
	char rbuf[128];
	door_arg_t a;
	int i;

	for (i = 0; i < 100; i++) {
		memset(&msg, 0, sizeof (msg));
		msg.r.op = OP_ECHO;
		snprintf(msg.text, sizeof (msg.text), "message %d", i);
		memset(rbuf, 0, sizeof (rbuf));
		memset(&a, 0, sizeof (a));
		a.data_ptr = (char *)&msg;
		a.data_size = sizeof (msg);
		a.rbuf = rbuf;
		a.rsize = sizeof (rbuf);
		if (!CHECK(door_call(door_fd, &a) == 0))
			break;
		CHECK_PTR_EQ(a.data_ptr, rbuf);
		CHECK_EQU(a.data_size, sizeof (msg));
		CHECK_EQ(memcmp(a.data_ptr, &msg, sizeof (msg)), 0);
		CHECK_EQ(a.desc_num, 0);
		CHECK_PTR_EQ(a.rbuf, rbuf);
		CHECK_EQU(a.rsize, sizeof (rbuf));
	}
	CHECK_EQU(seen_size, sizeof (msg));
}

/* Result fits: data at rbuf, rbuf/rsize unchanged. */
static void
test_fits(void)
{
	struct req r = { OP_SIZED, 0, 100, 3, 0 };
	char rbuf[256];
	door_arg_t a;

	memset(rbuf, 0x77, sizeof (rbuf));
	set_req(&a, &r, rbuf, sizeof (rbuf));
	REQUIRE(door_call(door_fd, &a) == 0);
	CHECK_PTR_EQ(a.data_ptr, rbuf);
	CHECK_EQU(a.data_size, 100);
	CHECK_PTR_EQ(a.rbuf, rbuf);
	CHECK_EQU(a.rsize, sizeof (rbuf));
	CHECK_EQ(a.desc_num, 0);
	CHECK_EQU(first_mismatch((unsigned char *)rbuf, 100, 3, 0),
	    (size_t)-1);

	/* Exact fit: rsize == data_size. */
	r.reply_size = 256;
	set_req(&a, &r, rbuf, 256);
	REQUIRE(door_call(door_fd, &a) == 0);
	CHECK_PTR_EQ(a.data_ptr, rbuf);
	CHECK_PTR_EQ(a.rbuf, rbuf);
	CHECK_EQU(a.rsize, 256);
	CHECK_EQU(a.data_size, 256);
	CHECK_EQU(first_mismatch((unsigned char *)rbuf, 256, 3, 0),
	    (size_t)-1);
}

/* Result does not fit: new mapping, caller's buffer untouched. */
static void
test_overflow(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	static const size_t sizes[] = { 17, 100, 4096, 4097, 3 * 4096 + 1,
	    65536, 1u << 20 };
	unsigned k;

	for (k = 0; k < sizeof (sizes) / sizeof (sizes[0]); k++) {
		struct req r = { OP_SIZED, 0, sizes[k], 5, 0 };
		char rbuf[16];
		door_arg_t a;
		size_t i, nz = 0;

		memset(rbuf, 0x5a, sizeof (rbuf));
		set_req(&a, &r, rbuf, sizeof (rbuf));
		if (!CHECK(door_call(door_fd, &a) == 0))
			continue;
		CHECK_PTR_NE(a.rbuf, rbuf);
		CHECK_PTR_EQ(a.data_ptr, a.rbuf);
		CHECK_EQU(a.data_size, sizes[k]);
		CHECK_EQU(a.rsize, ROUNDUP(sizes[k], (size_t)pg));
		CHECK_EQU((uintptr_t)a.rbuf % (uintptr_t)pg, 0);
		CHECK_EQ(a.desc_num, 0);
		for (i = 0; i < sizeof (rbuf); i++)
			if (rbuf[i] != 0x5a)
				nz++;
		CHECK_EQU(nz, 0);	/* original buffer untouched */
		CHECK_EQU(first_mismatch((unsigned char *)a.data_ptr,
		    sizes[k], 5, 0), (size_t)-1);
		/* zero-filled beyond the data, and writable */
		nz = 0;
		for (i = sizes[k]; i < a.rsize; i++)
			if (a.rbuf[i] != 0)
				nz++;
		CHECK_EQU(nz, 0);
		a.rbuf[a.rsize - 1] = 1;
		CHECK_EQ(munmap(a.rbuf, a.rsize), 0);
	}

	/* One byte too small. */
	{
		struct req r = { OP_SIZED, 0, 200, 0, 0 };
		char rbuf[199];
		door_arg_t a;
		set_req(&a, &r, rbuf, sizeof (rbuf));
		REQUIRE(door_call(door_fd, &a) == 0);
		CHECK_PTR_NE(a.rbuf, rbuf);
		CHECK_EQU(a.rsize, (size_t)pg);
		CHECK_EQU(a.data_size, 200);
		if (a.rbuf != rbuf)
			CHECK_EQ(munmap(a.rbuf, a.rsize), 0);
	}
}

/* rbuf == NULL: any non-empty result is mapped fresh. */
static void
test_rbuf_null(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct req r = { OP_SIZED, 0, 10, 1, 0 };
	door_arg_t a;

	set_req(&a, &r, NULL, 0);
	REQUIRE(door_call(door_fd, &a) == 0);
	CHECK(a.rbuf != NULL);
	CHECK_PTR_EQ(a.data_ptr, a.rbuf);
	CHECK_EQU(a.rsize, (size_t)pg);
	CHECK_EQU(a.data_size, 10);
	if (a.rbuf != NULL) {
		CHECK_EQU(first_mismatch((unsigned char *)a.rbuf, 10, 1, 0),
		    (size_t)-1);
		CHECK_EQ(munmap(a.rbuf, a.rsize), 0);
	}

	/* Empty result with rbuf == NULL: rbuf stays NULL. */
	r.op = OP_EMPTY;
	set_req(&a, &r, NULL, 0);
	REQUIRE(door_call(door_fd, &a) == 0);
	CHECK_PTR_EQ(a.rbuf, NULL);
	CHECK_EQU(a.rsize, 0);
	CHECK_EQU(a.data_size, 0);
	CHECK_PTR_EQ(a.data_ptr, (char *)&r);
}

/* Empty result: pointers untouched, sizes zeroed. */
static void
test_empty_result(void)
{
	struct req r = { OP_EMPTY, 0, 0, 0, 0 };
	door_desc_t sentinel[2];
	char rbuf[64];
	door_arg_t a;
	size_t i, changed = 0;

	memset(rbuf, 0x33, sizeof (rbuf));
	memset(sentinel, 0, sizeof (sentinel));
	set_req(&a, &r, rbuf, sizeof (rbuf));
	a.desc_ptr = sentinel;
	a.desc_num = 0;
	REQUIRE(door_call(door_fd, &a) == 0);
	CHECK_PTR_EQ(a.data_ptr, (char *)&r);
	CHECK_PTR_EQ(a.desc_ptr, sentinel);
	CHECK_PTR_EQ(a.rbuf, rbuf);
	CHECK_EQU(a.rsize, sizeof (rbuf));
	CHECK_EQU(a.data_size, 0);
	CHECK_EQ(a.desc_num, 0);
	for (i = 0; i < sizeof (rbuf); i++)
		if (rbuf[i] != 0x33)
			changed++;
	CHECK_EQU(changed, 0);

	/* Same with a tiny rsize: nothing is mapped for an empty reply. */
	set_req(&a, &r, rbuf, 1);
	REQUIRE(door_call(door_fd, &a) == 0);
	CHECK_PTR_EQ(a.rbuf, rbuf);
	CHECK_EQU(a.rsize, 1);
	CHECK_EQU(a.data_size, 0);
}

/* params == NULL: no arguments, no results. */
static void
test_params_null(void)
{
	int calls = seen_calls;

	seen_argp = (char *)1;
	seen_size = 12345;
	seen_ndesc = 77;
	REQUIRE(door_call(door_fd, NULL) == 0);
	CHECK_EQ(seen_calls, calls + 1);
	CHECK_PTR_EQ(seen_argp, NULL);
	CHECK_EQU(seen_size, 0);
	CHECK_EQ(seen_ndesc, 0);

	/* A door_arg_t with no data behaves the same for the procedure. */
	{
		door_arg_t a;
		char rbuf[8];
		seen_argp = (char *)1;
		memset(&a, 0, sizeof (a));
		a.rbuf = rbuf;
		a.rsize = sizeof (rbuf);
		REQUIRE(door_call(door_fd, &a) == 0);
		CHECK_PTR_EQ(seen_argp, NULL);
		CHECK_EQU(seen_size, 0);
		CHECK_EQU(a.data_size, 0);
	}
}

/* Descriptor placement in rbuf and in an overflow mapping. */
static void
test_result_layout_with_descs(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct req r = { OP_SIZED, 1, 10, 0, 0 };
	union {
		char c[256];
		door_desc_t align;
	} u;
	door_arg_t a;
	size_t need = ROUNDUP((size_t)10, DS) + DS;

	/* Fits exactly. */
	set_req(&a, &r, u.c, need);
	REQUIRE(door_call(door_fd, &a) == 0);
	CHECK_PTR_EQ(a.rbuf, u.c);
	CHECK_PTR_EQ(a.data_ptr, u.c);
	CHECK_EQU(a.data_size, 10);
	CHECK_EQ(a.desc_num, 1);
	CHECK_PTR_EQ((char *)a.desc_ptr, u.c + ROUNDUP((size_t)10, DS));
	if (a.desc_num == 1) {
		CHECK(a.desc_ptr[0].d_attributes & DOOR_DESCRIPTOR);
		CHECK(fd_is_open(a.desc_ptr[0].d_data.d_desc.d_descriptor));
		close(a.desc_ptr[0].d_data.d_desc.d_descriptor);
	}

	/* One byte short (data + descs alone would fit, the padding not). */
	set_req(&a, &r, u.c, need - 1);
	REQUIRE(door_call(door_fd, &a) == 0);
	CHECK_PTR_NE(a.rbuf, u.c);
	CHECK_EQ(a.desc_num, 1);
	CHECK_EQU(a.rsize % (size_t)pg, 0);
	CHECK(a.rsize >= need);
	CHECK_PTR_EQ(a.data_ptr, a.rbuf);
	CHECK_PTR_EQ((char *)a.desc_ptr, a.rbuf + ROUNDUP((size_t)10, DS));
	if (a.desc_num == 1) {
		close(a.desc_ptr[0].d_data.d_desc.d_descriptor);
		CHECK_EQU(first_mismatch((unsigned char *)a.rbuf, 10, 0, 0),
		    (size_t)-1);
	}
	if (a.rbuf != u.c)
		CHECK_EQ(munmap(a.rbuf, a.rsize), 0);

	/* Descriptors only, no buffer: data_ptr is left unchanged. */
	r.reply_size = 0;
	r.ndesc = 2;
	set_req(&a, &r, NULL, 0);
	REQUIRE(door_call(door_fd, &a) == 0);
	CHECK(a.rbuf != NULL);
	CHECK_EQ(a.desc_num, 2);
	CHECK_EQU(a.data_size, 0);
	CHECK_PTR_EQ(a.data_ptr, (char *)&r);
	CHECK_PTR_EQ(a.desc_ptr, a.rbuf);
	if (a.desc_num == 2) {
		close(a.desc_ptr[0].d_data.d_desc.d_descriptor);
		close(a.desc_ptr[1].d_data.d_desc.d_descriptor);
	}
	if (a.rbuf != NULL)
		CHECK_EQ(munmap(a.rbuf, a.rsize), 0);
}

/* Arguments and results in the same buffer; replies in place. */
static void
test_same_buffer_and_in_place(void)
{
	struct {
		struct req r;
		unsigned char payload[1000];
	} m;
	door_arg_t a;
	size_t i, bad = 0;

	memset(&m, 0, sizeof (m));
	m.r.op = OP_INPLACE;
	for (i = 0; i < sizeof (m.payload); i++)
		m.payload[i] = (unsigned char)i;
	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)&m;
	a.data_size = sizeof (m);
	a.rbuf = (char *)&m;
	a.rsize = sizeof (m);
	REQUIRE(door_call(door_fd, &a) == 0);
	CHECK_PTR_EQ(a.data_ptr, &m);
	CHECK_PTR_EQ(a.rbuf, &m);
	CHECK_EQU(a.data_size, sizeof (m));
	for (i = 0; i < sizeof (m.payload); i++)
		if (m.payload[i] != (unsigned char)(i + 1))
			bad++;
	CHECK_EQU(bad, 0);

	/* Reply from the procedure's local array. */
	{
		struct req r = { OP_LOCAL, 0, 0, 0, 0 };
		char rbuf[512];
		set_req(&a, &r, rbuf, sizeof (rbuf));
		REQUIRE(door_call(door_fd, &a) == 0);
		CHECK_EQU(a.data_size, 300);
		bad = 0;
		for (i = 0; i < 300; i++)
			if (rbuf[i] != (char)(i ^ 0x5a))
				bad++;
		CHECK_EQU(bad, 0);
	}
}

/* Large arguments, sent to the pattern verifier and echoed back. */
static void
big_round_trip(int fd, size_t size, unsigned seed)
{
	unsigned char *buf = malloc(size);
	struct req r = { OP_VERIFY, 0, 0, seed, 0 };
	door_arg_t a;
	char small[64];

	if (!CHECK(buf != NULL))
		return;
	fill_pat(buf, size, 0, seed);
	memcpy(buf, &r, sizeof (r));
	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)buf;
	a.data_size = size;
	a.rbuf = small;
	a.rsize = sizeof (small);
	if (CHECK(door_call(fd, &a) == 0)) {
		if (!CHECK_EQU(a.data_size, size))
			printf("  reply: %.*s\n", (int)a.data_size, a.data_ptr);
		else {
			CHECK_EQ(memcmp(a.data_ptr, &r, sizeof (r)), 0);
			CHECK_EQU(first_mismatch((unsigned char *)a.data_ptr +
			    sizeof (r), size - sizeof (r), sizeof (r), seed),
			    (size_t)-1);
		}
		if (a.rbuf != small)
			CHECK_EQ(munmap(a.rbuf, a.rsize), 0);
	} else {
		printf("  (argument size %zu)\n", size);
	}
	/* The argument buffer itself was not modified. */
	CHECK_EQU(first_mismatch(buf + sizeof (r), size - sizeof (r),
	    sizeof (r), seed), (size_t)-1);
	free(buf);
}

static void
test_large_args_default_pool(void)
{
	big_round_trip(door_fd, 64u << 10, 11);
	big_round_trip(door_fd, 1u << 20, 12);
}

static void
test_large_result(void)
{
	struct req r = { OP_SIZED, 0, BIG, 7, 0 };
	char rbuf[64];
	door_arg_t a;

	set_req(&a, &r, rbuf, sizeof (rbuf));
	REQUIRE(door_call(door_fd, &a) == 0);
	CHECK_EQU(a.data_size, BIG);
	CHECK_PTR_NE(a.rbuf, rbuf);
	if (a.data_size == BIG)
		CHECK_EQU(first_mismatch((unsigned char *)a.data_ptr, BIG, 7,
		    0), (size_t)-1);
	if (a.rbuf != rbuf)
		CHECK_EQ(munmap(a.rbuf, a.rsize), 0);
}

/* A thread-creation function whose threads have a chosen stack size. */
static size_t pool_stack;

static void *
pool_thread(void *arg)
{
	(void) arg;
	(void) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	(void) door_return(NULL, 0, NULL, 0);
	return (NULL);
}

static void
pool_create(door_info_t *dip)
{
	pthread_attr_t at;
	pthread_t t;

	(void) dip;
	(void) pthread_attr_init(&at);
	(void) pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	(void) pthread_attr_setstacksize(&at, pool_stack);
	(void) pthread_create(&t, &at, pool_thread, NULL);
	(void) pthread_attr_destroy(&at);
}

/*
 * In a fresh child: every server thread has a 64 MiB stack, so 8 MiB of
 * arguments fit (on illumos they land on the server thread's stack).
 */
static void
test_large_args_big_stacks(void)
{
	pid_t pid = harness_fork();

	REQUIRE(pid >= 0);
	if (pid == 0) {
		int fd;
		pool_stack = 64u << 20;
		(void) door_server_create(pool_create);
		fd = door_create(server, NULL, 0);
		if (CHECK(fd >= 0)) {
			big_round_trip(fd, 64u << 10, 21);
			big_round_trip(fd, 1u << 20, 22);
			big_round_trip(fd, BIG, 23);
			big_round_trip(fd, BIG, 24);
		}
		harness_child_exit();
	}
	harness_wait_child(pid);
}

/* Arguments larger than the server thread's stack: E2BIG. */
static void
test_args_exceed_server_stack(void)
{
	pid_t pid = harness_fork();

	REQUIRE(pid >= 0);
	if (pid == 0) {
		int fd;
		pool_stack = 256u << 10;
		(void) door_server_create(pool_create);
		fd = door_create(server, NULL, 0);
		if (CHECK(fd >= 0)) {
			unsigned char *buf = calloc(1, 1u << 20);
			struct req r = { OP_ECHO, 0, 0, 0, 0 };
			door_arg_t a;
			char rbuf[64];

			memcpy(buf, &r, sizeof (r));
			/* A small call works on these threads. */
			big_round_trip(fd, 16u << 10, 31);
			memset(&a, 0, sizeof (a));
			a.data_ptr = (char *)buf;
			a.data_size = 1u << 20;
			a.rbuf = rbuf;
			a.rsize = sizeof (rbuf);
			expect_errno(door_call(fd, &a), E2BIG);
			/* The pool is still fine afterwards. */
			big_round_trip(fd, 16u << 10, 32);
			free(buf);
		}
		harness_child_exit();
	}
	harness_wait_child(pid);
}

static void
nest_target_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	(void) cookie; (void) dp; (void) n_desc;
	(void) door_return(argp, arg_size, NULL, 0);
}

static void
test_nested(void)
{
	int depth;

	nest_target = door_create(nest_target_proc, NULL, 0);
	self_door = door_fd;
	REQUIRE(nest_target >= 0);
	for (depth = 0; depth <= 4; depth++) {
		struct req r = { OP_NESTED, 0, 0, 0, depth };
		char rbuf[256], want[256];
		door_arg_t a;
		int i, n = 0;

		for (i = 0; i <= depth; i++)
			n += snprintf(want + n, sizeof (want) - (size_t)n,
			    "[%d]", i);
		set_req(&a, &r, rbuf, sizeof (rbuf));
		if (!CHECK(door_call(door_fd, &a) == 0))
			continue;
		if (!CHECK(strcmp(a.data_ptr, want) == 0))
			printf("  depth %d: got \"%s\", want \"%s\"\n", depth,
			    a.data_ptr, want);
	}
	door_revoke(nest_target);
	nest_target = -1;
}

static void
test_ebadf(void)
{
	int p[2], fd;
	struct req r = { OP_ECHO, 0, 0, 0, 0 };
	char rbuf[64];
	door_arg_t a;

	fd = door_create(server, NULL, 0);
	REQUIRE(fd >= 0);
	REQUIRE(close(fd) == 0);
	set_req(&a, &r, rbuf, sizeof (rbuf));
	expect_errno(door_call(fd, &a), EBADF);
	expect_errno(door_call(fd, NULL), EBADF);
	expect_errno(door_call(-1, &a), EBADF);

	REQUIRE(pipe(p) == 0);
	expect_errno(door_call(p[0], &a), EBADF);
	expect_errno(door_call(p[1], &a), EBADF);
	expect_errno(door_call(p[1], NULL), EBADF);
	CHECK_PTR_EQ(a.rbuf, rbuf);	/* untouched on failure */
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	reply_pattern = malloc(BIG + 256);
	if (reply_pattern == NULL || pipe(pipe_fds) != 0) {
		perror("setup");
		return (1);
	}
	fill_pat(reply_pattern, BIG + 256, 0, 0);
	door_fd = door_create(server, NULL, 0);
	if (door_fd < 0) {
		perror("door_create");
		return (1);
	}
	RUN(test_round_trip);
	RUN(test_fits);
	RUN(test_overflow);
	RUN(test_rbuf_null);
	RUN(test_empty_result);
	RUN(test_params_null);
	RUN(test_result_layout_with_descs);
	RUN(test_same_buffer_and_in_place);
	RUN(test_large_args_default_pool);
	RUN(test_large_result);
	RUN(test_large_args_big_stacks);
	RUN(test_args_exceed_server_stack);
	RUN(test_nested);
	RUN(test_ebadf);
	return (harness_done());
}
