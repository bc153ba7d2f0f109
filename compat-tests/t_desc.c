/*
 * t_desc.c - passing descriptors through doors (door_desc_t).
 *
 * Clauses exercised (descriptor passing and DOOR_RELEASE in door_call(3C)
 * and door_return(3C); the 1024-descriptor limit):
 *  - descriptors pass in both directions; a passed pipe end works on the
 *    other side; the receiver shares the sender's open file (offset and
 *    status flags);
 *  - the receiver's entries carry DOOR_DESCRIPTOR (never DOOR_RELEASE,
 *    never DOOR_IS_UNREF) and new descriptors without FD_CLOEXEC;
 *  - a passed door arrives with its attributes (DOOR_LOCAL when the
 *    receiver is its server, DOOR_REVOKED when revoked) and d_id equal to
 *    its di_uniquifier, and works as a door on the receiving side;
 *  - DOOR_RELEASE closes the sender's descriptor (call and return paths);
 *  - up to 1024 descriptors work both ways; 1025 -> E2BIG, with the
 *    DOOR_RELEASE descriptors left open; an entry without DOOR_DESCRIPTOR
 *    or naming a closed fd -> EINVAL, with the valid DOOR_RELEASE entries
 *    closed; a DOOR_REFUSE_DESC door -> ENOTSUP; the server never runs;
 *  - a client without room for all the returned descriptors (as recorded
 *    on illumos): its door_call succeeds with the data and desc_num 0, and
 *    the server's door_return returns -1 with errno unchanged, its
 *    descriptors (DOOR_RELEASE) still open; no descriptor leaked;
 *  - descriptor counts are the same before and after.
 */
#include <door.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "harness.h"

enum op { OP_TAKE_WRITE = 1, OP_GIVE_PIPE, OP_INSPECT, OP_COUNT, OP_GIVE_N,
    OP_GIVE_DOOR, OP_WRITE_FILE, OP_NOTHING, OP_GIVE_HIGH };

struct req {
	int op;
	int n;
	ino_t ino;
};

#define NINSPECT 4
struct inspect {
	unsigned n;
	struct {
		door_attr_t attr;
		door_id_t id;
		int is_door;
		door_id_t uniq;
		door_attr_t di_attr;
		pid_t di_target;
		int cloexec;
		int call_ok;
	} e[NINSPECT];
};

struct count {
	unsigned n, open, distinct_from_sender, same_file, cloexec, attrs_ok;
};

static int pipe_fds[2];
static int give_door_fd = -1;
static int sender_fd_hint = -1;
static volatile int invocations;
/* OP_GIVE_N's door_return came back: its result, errno kept, fds open. */
static volatile int give_failed, give_ret, give_errno_kept, give_open;

static void
close_all(door_desc_t *dp, uint_t n)
{
	uint_t i;
	for (i = 0; i < n; i++)
		if (dp[i].d_attributes & DOOR_DESCRIPTOR)
			close(dp[i].d_data.d_desc.d_descriptor);
}

static void
server(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	struct req r;

	(void) cookie;
	__atomic_fetch_add(&invocations, 1, __ATOMIC_SEQ_CST);
	memset(&r, 0, sizeof (r));
	if (argp != NULL && arg_size >= sizeof (r))
		memcpy(&r, argp, sizeof (r));
	switch (r.op) {
	case OP_TAKE_WRITE: {
		int res[3] = { -1, -1, -1 };
		if (n_desc == 1) {
			int fd = dp[0].d_data.d_desc.d_descriptor;
			res[0] = (int)dp[0].d_attributes;
			res[1] = fcntl(fd, F_GETFD);
			res[2] = (int)write(fd, "hello from server", 18);
		}
		close_all(dp, n_desc);
		(void) door_return((char *)res, sizeof (res), NULL, 0);
		break;
	}
	case OP_GIVE_PIPE: {
		door_desc_t d;
		int p[2];
		if (pipe(p) != 0)
			break;
		(void) write(p[1], "hello from server", 18);
		close(p[1]);
		memset(&d, 0, sizeof (d));
		d.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
		d.d_data.d_desc.d_descriptor = p[0];
		(void) door_return(NULL, 0, &d, 1);
		break;
	}
	case OP_GIVE_HIGH: {
		/* Give away a high-numbered descriptor; report its number. */
		door_desc_t d;
		int p[2], h;
		if (pipe(p) != 0)
			break;
		h = fcntl(p[0], F_DUPFD, 7000);
		close(p[0]);
		close(p[1]);
		memset(&d, 0, sizeof (d));
		d.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
		d.d_data.d_desc.d_descriptor = h;
		(void) door_return((char *)&h, sizeof (h), &d, 1);
		break;
	}
	case OP_INSPECT: {
		struct inspect in;
		uint_t i;
		memset(&in, 0, sizeof (in));
		in.n = n_desc;
		for (i = 0; i < n_desc && i < NINSPECT; i++) {
			int fd = dp[i].d_data.d_desc.d_descriptor;
			door_info_t di;
			in.e[i].attr = dp[i].d_attributes;
			in.e[i].id = dp[i].d_data.d_desc.d_id;
			in.e[i].cloexec = (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
			if (door_info(fd, &di) == 0) {
				in.e[i].is_door = 1;
				in.e[i].uniq = di.di_uniquifier;
				in.e[i].di_attr = di.di_attributes;
				in.e[i].di_target = di.di_target;
				if (!(di.di_attributes & (DOOR_LOCAL |
				    DOOR_REVOKED))) {
					door_arg_t a;
					char rb[64];
					memset(&a, 0, sizeof (a));
					a.data_ptr = "ping";
					a.data_size = 5;
					a.rbuf = rb;
					a.rsize = sizeof (rb);
					in.e[i].call_ok = door_call(fd, &a) == 0 &&
					    a.data_size == 5 &&
					    strcmp(a.data_ptr, "ping") == 0;
				}
			}
		}
		close_all(dp, n_desc);
		(void) door_return((char *)&in, sizeof (in), NULL, 0);
		break;
	}
	case OP_COUNT: {
		struct count c;
		uint_t i, j;
		memset(&c, 0, sizeof (c));
		c.n = n_desc;
		c.distinct_from_sender = 1;
		for (i = 0; i < n_desc; i++) {
			int fd = dp[i].d_data.d_desc.d_descriptor;
			struct stat st;
			if (dp[i].d_attributes == DOOR_DESCRIPTOR)
				c.attrs_ok++;
			if (fd_is_open(fd))
				c.open++;
			if (fcntl(fd, F_GETFD) & FD_CLOEXEC)
				c.cloexec++;
			if (fstat(fd, &st) == 0 && st.st_ino == r.ino)
				c.same_file++;
			if (fd == sender_fd_hint)
				c.distinct_from_sender = 0;
		}
		/* all received numbers distinct (sampled pairs) */
		for (i = 0; i + 1 < n_desc; i += 7)
			for (j = i + 1; j < n_desc; j += 13)
				if (dp[i].d_data.d_desc.d_descriptor ==
				    dp[j].d_data.d_desc.d_descriptor)
					c.distinct_from_sender = 0;
		close_all(dp, n_desc);
		(void) door_return((char *)&c, sizeof (c), NULL, 0);
		break;
	}
	case OP_GIVE_N: {
		/* Not malloc'd: a successful door_return never comes back. */
		static __thread door_desc_t d[1024];
		int i;
		char msg[] = "fallback";
		close_all(dp, n_desc);
		if (r.n < 0 || r.n > 1024)
			break;
		for (i = 0; i < r.n; i++) {
			d[i].d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
			d[i].d_data.d_desc.d_descriptor = dup(pipe_fds[0]);
		}
		{
			int rv, open_n = 0;
			errno = EDOM;
			rv = door_return("many", 5, d, (uint_t)r.n);
			/*
			 * Failed: the client had no room for them.  It has
			 * the data already; the call is over.
			 */
			give_errno_kept = (errno == EDOM);
			give_ret = rv;
			for (i = 0; i < r.n; i++)
				if (fd_is_open(d[i].d_data.d_desc.d_descriptor)) {
					open_n++;
					close(d[i].d_data.d_desc.d_descriptor);
				}
			give_open = open_n;
			give_failed++;
			(void) msg;
			(void) door_return(NULL, 0, NULL, 0);
		}
		break;
	}
	case OP_GIVE_DOOR: {
		door_desc_t d;
		memset(&d, 0, sizeof (d));
		d.d_attributes = DOOR_DESCRIPTOR;
		d.d_data.d_desc.d_descriptor = give_door_fd;
		(void) door_return(NULL, 0, &d, 1);
		break;
	}
	case OP_WRITE_FILE: {
		int ok = 0;
		if (n_desc == 1) {
			int fd = dp[0].d_data.d_desc.d_descriptor;
			ok = write(fd, "abc", 3) == 3 &&
			    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND) == 0;
		}
		close_all(dp, n_desc);
		(void) door_return((char *)&ok, sizeof (ok), NULL, 0);
		break;
	}
	default:
		close_all(dp, n_desc);
	}
	(void) door_return(NULL, 0, NULL, 0);
}

static int door_fd = -1;

static int
call(int fd, struct req *r, door_desc_t *d, uint_t nd, door_arg_t *out,
    char *rbuf, size_t rsize)
{
	door_arg_t a;

	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)r;
	a.data_size = sizeof (*r);
	a.desc_ptr = d;
	a.desc_num = nd;
	a.rbuf = rbuf;
	a.rsize = rsize;
	if (door_call(fd, &a) != 0)
		return (-1);
	if (out != NULL)
		*out = a;
	return (0);
}

static void
set_desc(door_desc_t *d, int fd, door_attr_t extra)
{
	memset(d, 0, sizeof (*d));
	d->d_attributes = DOOR_DESCRIPTOR | extra;
	d->d_data.d_desc.d_descriptor = fd;
}

/* A descriptor numbered high, so a freshly received one never reuses it. */
static int
high_dup(int fd)
{
	return (fcntl(fd, F_DUPFD, 5000));
}

static void
test_client_to_server(void)
{
	struct req r = { OP_TAKE_WRITE, 0, 0 };
	door_desc_t d;
	door_arg_t a;
	int p[2], res[3], fds0;
	char buf[64], rbuf[64];

	REQUIRE(pipe(p) == 0);
	fds0 = count_fds_stable();
	set_desc(&d, p[1], 0);
	REQUIRE(call(door_fd, &r, &d, 1, &a, rbuf, sizeof (rbuf)) == 0);
	REQUIRE(a.data_size == sizeof (res));
	memcpy(res, a.data_ptr, sizeof (res));
	CHECK_EQ(res[0], DOOR_DESCRIPTOR);
	CHECK(res[1] != -1 && !(res[1] & FD_CLOEXEC));
	CHECK_EQ(res[2], 18);
	CHECK(fd_is_open(p[1]));	/* no DOOR_RELEASE: still ours */
	memset(buf, 0, sizeof (buf));
	CHECK_EQ(read(p[0], buf, sizeof (buf)), 18);
	CHECK(strcmp(buf, "hello from server") == 0);
	CHECK_EQ(count_fds_settled(fds0), fds0);
	close(p[0]);
	close(p[1]);
}

static void
test_server_to_client(void)
{
	struct req r = { OP_GIVE_PIPE, 0, 0 };
	door_arg_t a;
	char buf[64], rbuf[128];
	int fds0, fd;
	struct req warm = { OP_NOTHING, 0, 0 };

	/*
	 * A first call without descriptors sets up this thread's fast-path
	 * channel to the door (library state kept for later calls, like pool
	 * threads): make it before counting.
	 */
	REQUIRE(call(door_fd, &warm, NULL, 0, &a, rbuf, sizeof (rbuf)) == 0);
	fds0 = count_fds_stable();
	REQUIRE(call(door_fd, &r, NULL, 0, &a, rbuf, sizeof (rbuf)) == 0);
	REQUIRE(a.desc_num == 1);
	CHECK_EQU(a.data_size, 0);
	CHECK_EQ(a.desc_ptr[0].d_attributes, DOOR_DESCRIPTOR);
	fd = a.desc_ptr[0].d_data.d_desc.d_descriptor;
	CHECK(fd_is_open(fd));
	CHECK_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	/* The server kept nothing: exactly one more descriptor, ours. */
	CHECK_EQ(count_fds_settled(fds0 + 1), fds0 + 1);
	memset(buf, 0, sizeof (buf));
	CHECK_EQ(read(fd, buf, sizeof (buf)), 18);
	CHECK(strcmp(buf, "hello from server") == 0);
	CHECK_EQ(read(fd, buf, sizeof (buf)), 0);	/* writer closed */
	close(fd);
	if (a.rbuf != rbuf)
		munmap(a.rbuf, a.rsize);
	CHECK_EQ(count_fds_settled(fds0), fds0);

	/*
	 * The server's DOOR_RELEASE descriptor is closed by the time the
	 * client has its results (illumos closes it while translating the
	 * results, before the client runs again).
	 */
	r.op = OP_GIVE_HIGH;
	REQUIRE(call(door_fd, &r, NULL, 0, &a, rbuf, sizeof (rbuf)) == 0);
	if (CHECK_EQ(a.desc_num, 1) && CHECK_EQU(a.data_size, sizeof (int))) {
		int h;
		memcpy(&h, a.data_ptr, sizeof (h));
		CHECK(h >= 7000);
		CHECK(!fd_is_open(h));
		close(a.desc_ptr[0].d_data.d_desc.d_descriptor);
	}
}

static void
test_release(void)
{
	struct req r = { OP_NOTHING, 0, 0 };
	door_desc_t d[2];
	int p[2], h1, h2, fds0;
	char rbuf[64];

	REQUIRE(pipe(p) == 0);
	h1 = high_dup(p[0]);
	h2 = high_dup(p[1]);
	REQUIRE(h1 >= 0 && h2 >= 0);
	fds0 = count_fds_stable();
	set_desc(&d[0], h1, DOOR_RELEASE);
	set_desc(&d[1], h2, 0);
	REQUIRE(call(door_fd, &r, d, 2, NULL, rbuf, sizeof (rbuf)) == 0);
	CHECK(!fd_is_open(h1));
	CHECK(fd_is_open(h2));
	CHECK_EQ(count_fds_settled(fds0 - 1), fds0 - 1);
	close(h2);
	close(p[0]);
	close(p[1]);
}

/* The receiver shares the sender's open file: offset and status flags. */
static void
test_shared_open_file(void)
{
	struct req r = { OP_WRITE_FILE, 0, 0 };
	char path[] = "/tmp/t_desc.XXXXXX";
	door_desc_t d;
	door_arg_t a;
	char rbuf[16];
	int f, ok = 0;

	f = mkstemp(path);
	REQUIRE(f >= 0);
	unlink(path);
	set_desc(&d, f, 0);
	REQUIRE(call(door_fd, &r, &d, 1, &a, rbuf, sizeof (rbuf)) == 0);
	REQUIRE(a.data_size == sizeof (ok));
	memcpy(&ok, a.data_ptr, sizeof (ok));
	CHECK(ok);
	CHECK_EQ(lseek(f, 0, SEEK_CUR), 3);
	CHECK(fcntl(f, F_GETFL) & O_APPEND);
	close(f);
}

static void
dummy_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	(void) cookie; (void) dp; (void) n_desc;
	(void) door_return(argp, arg_size, NULL, 0);
}

/* A passed door: attributes, d_id, no FD_CLOEXEC (same process). */
static void
test_pass_door_local(void)
{
	struct req r = { OP_INSPECT, 0, 0 };
	door_info_t xi, zi;
	door_desc_t d[2];
	door_arg_t a;
	struct inspect in;
	int x, z, zd, fds0;
	char rbuf[sizeof (struct inspect) + 64];

	x = door_create(dummy_proc, NULL, DOOR_REFUSE_DESC | DOOR_NO_CANCEL);
	z = door_create(dummy_proc, NULL, 0);
	REQUIRE(x >= 0 && z >= 0);
	REQUIRE(door_info(x, &xi) == 0 && door_info(z, &zi) == 0);
	zd = dup(z);
	REQUIRE(door_revoke(z) == 0);
	fds0 = count_fds_stable();
	set_desc(&d[0], x, 0);
	set_desc(&d[1], zd, 0);
	REQUIRE(call(door_fd, &r, d, 2, &a, rbuf, sizeof (rbuf)) == 0);
	REQUIRE(a.data_size == sizeof (in));
	memcpy(&in, a.data_ptr, sizeof (in));
	CHECK_EQ(in.n, 2);
	CHECK_EQ(in.e[0].attr, DOOR_DESCRIPTOR | DOOR_LOCAL |
	    DOOR_REFUSE_DESC | DOOR_NO_CANCEL);
	CHECK_EQU(in.e[0].id, xi.di_uniquifier);
	CHECK(in.e[0].is_door);
	CHECK_EQU(in.e[0].uniq, xi.di_uniquifier);
	CHECK_EQ(in.e[0].di_target, getpid());
	CHECK_EQ(in.e[0].cloexec, 0);	/* door_create's copy had it */
	CHECK_EQ(in.e[1].attr, DOOR_DESCRIPTOR | DOOR_LOCAL | DOOR_REVOKED);
	CHECK_EQU(in.e[1].id, zi.di_uniquifier);
	CHECK(in.e[1].is_door);
	CHECK(in.e[1].di_attr & DOOR_REVOKED);
	CHECK(fcntl(x, F_GETFD) & FD_CLOEXEC);	/* sender's copy unchanged */
	CHECK_EQ(count_fds_settled(fds0), fds0);
	close(zd);
	door_revoke(x);
}

/* Doors crossing process boundaries, both directions. */
static void
test_pass_door_between_processes(void)
{
	door_info_t gi;
	pid_t pid;

	give_door_fd = door_create(dummy_proc, NULL, DOOR_REFUSE_DESC |
	    DOOR_NO_CANCEL);
	REQUIRE(give_door_fd >= 0);
	REQUIRE(door_info(give_door_fd, &gi) == 0);
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct req r = { OP_INSPECT, 0, 0 };
		struct req g = { OP_GIVE_DOOR, 0, 0 };
		door_info_t yi;
		door_desc_t d;
		door_arg_t a;
		struct inspect in;
		char rbuf[sizeof (struct inspect) + 64];
		int y = door_create(dummy_proc, NULL, DOOR_NO_CANCEL);

		if (!CHECK(y >= 0 && door_info(y, &yi) == 0))
			harness_child_exit();
		/* Child -> parent: the parent sees a foreign door. */
		set_desc(&d, y, 0);
		if (CHECK(call(door_fd, &r, &d, 1, &a, rbuf,
		    sizeof (rbuf)) == 0) && CHECK(a.data_size == sizeof (in))) {
			memcpy(&in, a.data_ptr, sizeof (in));
			CHECK_EQ(in.n, 1);
			CHECK_EQ(in.e[0].attr, DOOR_DESCRIPTOR |
			    DOOR_NO_CANCEL);
			CHECK_EQU(in.e[0].id, yi.di_uniquifier);
			CHECK_EQU(in.e[0].uniq, yi.di_uniquifier);
			CHECK_EQ(in.e[0].di_target, getpid());
			CHECK_EQ(in.e[0].cloexec, 0);
			CHECK(in.e[0].call_ok);	/* parent called our door */
		}
		/* Parent -> child: we receive the parent's door. */
		if (CHECK(call(door_fd, &g, NULL, 0, &a, rbuf,
		    sizeof (rbuf)) == 0) && CHECK_EQ(a.desc_num, 1)) {
			int fd = a.desc_ptr[0].d_data.d_desc.d_descriptor;
			door_info_t di;
			door_arg_t b;
			char rb[16];
			CHECK_EQ(a.desc_ptr[0].d_attributes, DOOR_DESCRIPTOR |
			    DOOR_REFUSE_DESC | DOOR_NO_CANCEL);
			CHECK_EQU(a.desc_ptr[0].d_data.d_desc.d_id,
			    gi.di_uniquifier);
			CHECK_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
			if (CHECK(door_info(fd, &di) == 0)) {
				CHECK_EQ(di.di_target, getppid());
				CHECK_EQU(di.di_uniquifier, gi.di_uniquifier);
			}
			memset(&b, 0, sizeof (b));
			b.data_ptr = "hi";
			b.data_size = 3;
			b.rbuf = rb;
			b.rsize = sizeof (rb);
			CHECK(door_call(fd, &b) == 0 && b.data_size == 3);
			close(fd);
		}
		harness_child_exit();
	}
	harness_wait_child(pid);
	door_revoke(give_door_fd);
	give_door_fd = -1;
}

static void
raise_nofile(rlim_t want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
test_1024_both_ways(void)
{
	enum { N = 1024 };
	struct req r = { OP_COUNT, 0, 0 };
	door_desc_t *d = calloc(N, sizeof (*d));
	struct count c;
	struct stat st;
	door_arg_t a;
	int p[2], i, fds0, h;
	char rbuf[256];

	raise_nofile(8192);
	REQUIRE(d != NULL && pipe(p) == 0);
	REQUIRE(fstat(p[1], &st) == 0);
	h = high_dup(p[1]);
	r.ino = st.st_ino;
	sender_fd_hint = h;
	fds0 = count_fds_stable();
	for (i = 0; i < N; i++)
		set_desc(&d[i], h, 0);	/* the same descriptor N times */
	if (CHECK(call(door_fd, &r, d, N, &a, rbuf, sizeof (rbuf)) == 0) &&
	    CHECK(a.data_size == sizeof (c))) {
		memcpy(&c, a.data_ptr, sizeof (c));
		CHECK_EQ(c.n, N);
		CHECK_EQ(c.open, N);
		CHECK_EQ(c.same_file, N);
		CHECK_EQ(c.attrs_ok, N);
		CHECK_EQ(c.cloexec, 0);
		CHECK(c.distinct_from_sender);
	}
	CHECK_EQ(count_fds_settled(fds0), fds0);

	/* And N back from the server. */
	r.op = OP_GIVE_N;
	r.n = N;
	if (CHECK(call(door_fd, &r, NULL, 0, &a, NULL, 0) == 0)) {
		unsigned good = 0, cloexec = 0;
		struct stat pst;
		CHECK_EQ(a.desc_num, N);
		CHECK_EQU(a.data_size, 5);
		fstat(pipe_fds[0], &pst);
		for (i = 0; i < (int)a.desc_num; i++) {
			int fd = a.desc_ptr[i].d_data.d_desc.d_descriptor;
			if (a.desc_ptr[i].d_attributes == DOOR_DESCRIPTOR &&
			    fstat(fd, &st) == 0 && st.st_ino == pst.st_ino)
				good++;
			if (fcntl(fd, F_GETFD) & FD_CLOEXEC)
				cloexec++;
			close(fd);
		}
		CHECK_EQ(good, N);
		CHECK_EQ(cloexec, 0);
		if (a.rbuf != NULL)
			munmap(a.rbuf, a.rsize);
	}
	CHECK_EQ(count_fds_settled(fds0), fds0);
	close(h);
	close(p[0]);
	close(p[1]);
	free(d);
	sender_fd_hint = -1;
}

static void
test_errors(void)
{
	enum { N = 1025 };
	struct req r = { OP_NOTHING, 0, 0 };
	door_desc_t *d = calloc(N, sizeof (*d));
	int p[2], i, open_after = 0, fds0, n, rfd, closed;
	char rbuf[64];

	raise_nofile(8192);
	REQUIRE(d != NULL && pipe(p) == 0);
	fds0 = count_fds_stable();
	n = invocations;

	/* 1025 descriptors: E2BIG; DOOR_RELEASE ones are not closed. */
	for (i = 0; i < N; i++)
		set_desc(&d[i], dup(p[0]), DOOR_RELEASE);
	expect_errno(call(door_fd, &r, d, N, NULL, rbuf, sizeof (rbuf)),
	    E2BIG);
	for (i = 0; i < N; i++) {
		if (fd_is_open(d[i].d_data.d_desc.d_descriptor))
			open_after++;
		close(d[i].d_data.d_desc.d_descriptor);
	}
	CHECK_EQ(open_after, N);

	/* An entry without DOOR_DESCRIPTOR: EINVAL. */
	memset(&d[0], 0, sizeof (d[0]));
	d[0].d_attributes = 0;
	d[0].d_data.d_desc.d_descriptor = p[0];
	expect_errno(call(door_fd, &r, d, 1, NULL, rbuf, sizeof (rbuf)),
	    EINVAL);
	d[0].d_attributes = DOOR_RELEASE;	/* RELEASE alone is no tag */
	expect_errno(call(door_fd, &r, d, 1, NULL, rbuf, sizeof (rbuf)),
	    EINVAL);
	CHECK(fd_is_open(p[0]));

	/* A closed descriptor: EINVAL; valid DOOR_RELEASE entries closed. */
	closed = fcntl(p[1], F_DUPFD, 6000);	/* above high_dup()'s range */
	close(closed);
	set_desc(&d[0], closed, 0);
	expect_errno(call(door_fd, &r, d, 1, NULL, rbuf, sizeof (rbuf)),
	    EINVAL);
	set_desc(&d[0], high_dup(p[0]), DOOR_RELEASE);
	set_desc(&d[1], closed, 0);
	expect_errno(call(door_fd, &r, d, 2, NULL, rbuf, sizeof (rbuf)),
	    EINVAL);
	if (!CHECK(!fd_is_open(d[0].d_data.d_desc.d_descriptor)))
		close(d[0].d_data.d_desc.d_descriptor);

	/* REFUSE_DESC: ENOTSUP. */
	rfd = door_create(server, NULL, DOOR_REFUSE_DESC);
	REQUIRE(rfd >= 0);
	set_desc(&d[0], p[0], 0);
	expect_errno(call(rfd, &r, d, 1, NULL, rbuf, sizeof (rbuf)), ENOTSUP);
	CHECK_EQ(call(rfd, &r, NULL, 0, NULL, rbuf, sizeof (rbuf)), 0);
	door_revoke(rfd);

	CHECK_EQ(invocations, n + 1);	/* only the last, valid call ran */
	CHECK_EQ(count_fds_settled(fds0), fds0);
	close(p[0]);
	close(p[1]);
	free(d);
}

/* A client with too little room for the returned descriptors. */
static void
test_client_emfile(void)
{
	/*
	 * Set by the child when its call took longer than the server's wait
	 * for the caller's word on the descriptors (5 s; 1 s under the kernel
	 * backend): the call lasts at least from the reply to that word, so a
	 * shorter call proves the server heard it, and only a longer one (a
	 * heavily loaded machine) may have counted them as taken, as
	 * documented.
	 */
	volatile int *slow = harness_shared(sizeof (int));
	double window = harness_kernel_backend() ? 1.0 : 5.0;
	pid_t pid = harness_fork();

	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct req r = { OP_GIVE_N, 20, 0 };
		struct rlimit rl;
		door_arg_t a;
		int fill[64], nfill = 0, fds0, rc, e, i;

		/* Warm up this process's client side first. */
		r.n = 1;
		if (CHECK(call(door_fd, &r, NULL, 0, &a, NULL, 0) == 0)) {
			if (a.desc_num == 1)
				close(a.desc_ptr[0].d_data.d_desc.d_descriptor);
			munmap(a.rbuf, a.rsize);
		}
		r.n = 20;
		fds0 = count_fds_stable();
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = (rlim_t)fds0 + 40;
		CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
		/* Leave 8 free slots. */
		while (nfill < 64 && count_fds() < fds0 + 32) {
			int f = open("/dev/null", O_RDONLY);
			if (f < 0)
				break;
			fill[nfill++] = f;
		}
		fds0 = count_fds_stable();
		errno = 0;
		{
			struct timespec t0, t1;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			rc = call(door_fd, &r, NULL, 0, &a, NULL, 0);
			e = errno;
			clock_gettime(CLOCK_MONOTONIC, &t1);
			*slow = (t1.tv_sec - t0.tv_sec) +
			    (t1.tv_nsec - t0.tv_nsec) / 1e9 >= window - 0.1;
		}
		if (CHECK_EQ(rc, 0)) {
			/* Success, with the data, without the descriptors. */
			CHECK_EQU(a.desc_num, 0);
			if (CHECK_EQU(a.data_size, 5))
				CHECK_EQ(memcmp(a.data_ptr, "many", 5), 0);
			for (i = 0; i < (int)a.desc_num; i++)
				close(a.desc_ptr[i].d_data.d_desc.d_descriptor);
			if (a.rbuf != NULL)
				munmap(a.rbuf, a.rsize);
		} else {
			NOTE("door_call failed with errno %d", e);
		}
		CHECK_EQ(count_fds_settled(fds0), fds0);
		/* With room again, the same call delivers all 20. */
		while (nfill > 0)
			close(fill[--nfill]);
		if (CHECK(call(door_fd, &r, NULL, 0, &a, NULL, 0) == 0)) {
			CHECK_EQ(a.desc_num, 20);
			for (i = 0; i < (int)a.desc_num; i++)
				close(a.desc_ptr[i].d_data.d_desc.d_descriptor);
			munmap(a.rbuf, a.rsize);
		}
		harness_child_exit();
	}
	harness_wait_child(pid);
	if (*slow && give_failed == 0) {
		NOTE("the call took longer than the server's %.0f s wait for the "
		    "caller's word: the descriptors counted as taken, as "
		    "documented; the server-side checks are skipped", window);
		return;
	}
	/* The server side: door_return failed once, errno kept, fds open. */
	CHECK_EQ(give_failed, 1);
	CHECK_EQ(give_ret, -1);
	CHECK(give_errno_kept);
	CHECK_EQ(give_open, 20);
}

int
main(void)
{
	if (pipe(pipe_fds) != 0)
		return (1);
	door_fd = door_create(server, NULL, 0);
	if (door_fd < 0) {
		perror("door_create");
		return (1);
	}
	RUN(test_client_to_server);
	RUN(test_server_to_client);
	RUN(test_release);
	RUN(test_shared_open_file);
	RUN(test_pass_door_local);
	RUN(test_pass_door_between_processes);
	RUN(test_1024_both_ways);
	RUN(test_errors);
	RUN(test_client_emfile);
	return (harness_done());
}
