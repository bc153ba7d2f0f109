/*
 * t_desc - descriptors passed both ways: what the receiver gets (new
 * numbers, no close-on-exec unless asked, door attributes and ids),
 * DOOR_RELEASE on call and on return, 1024 descriptors in one call,
 * EMFILE in the server and in the client, and private pools (bind,
 * unbind, DOOR_QUERY, POOL_EMPTY).
 */
#include "doorio.h"
#include "harness.h"

#include <sys/resource.h>

static struct kd_server srv;
static int door;
static volatile int last_ndesc;
static volatile uint32_t last_attrs;
static volatile uint64_t last_id;
static volatile int last_cloexec;

/*
 * cookie 1: write "hi" into each received descriptor, close them all and
 *   return a pipe's read end with DOOR_RELEASE;
 * cookie 2: close every received descriptor and return nothing.
 */
static int ret_pipe[2];
static struct door_uapi_desc ret_desc;

static void
proc(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	struct door_uapi_desc *d = (void *)(uintptr_t)inv->desc_ptr;
	uint32_t i;

	(void) area;
	last_ndesc = inv->desc_num;
	if (inv->desc_num > 0) {
		last_attrs = d[0].attributes;
		last_id = d[0].id;
		last_cloexec = fcntl(d[0].descriptor, F_GETFD) & FD_CLOEXEC;
	}
	for (i = 0; i < inv->desc_num; i++) {
		if (inv->cookie == 1)
			(void) write(d[i].descriptor, "hi", 2);
		close(d[i].descriptor);
	}
	if (inv->cookie == 1) {
		if (pipe(ret_pipe) != 0)
			return;
		(void) write(ret_pipe[1], "back", 4);
		close(ret_pipe[1]);
		ret_desc.attributes = DOOR_UAPI_DESCRIPTOR | DOOR_UAPI_RELEASE;
		ret_desc.descriptor = ret_pipe[0];
		r->desc = &ret_desc;
		r->ndesc = 1;
		r->data = "abc";
		r->size = 3;
	}
}

static void
both_ways(void)
{
	struct door_uapi_desc d;
	struct door_uapi_call out;
	int p[2], before, got;
	char buf[8], res[200];
	struct door_uapi_desc *rd;

	REQUIRE(pipe(p) == 0);
	before = count_fds();
	d.attributes = DOOR_UAPI_DESCRIPTOR | DOOR_UAPI_RELEASE;
	d.descriptor = p[1];
	d.id = d.resv = 0;
	CHECK_EQ(kd_call(door, NULL, 0, &d, 1, res, sizeof (res), &out), 0);
	CHECK_EQ(last_ndesc, 1);
	CHECK_EQ(last_attrs, DOOR_UAPI_DESCRIPTOR);
	CHECK_EQ(last_cloexec, 0);
	/* our write end was released; the server wrote and closed its copy */
	CHECK_EQ(read(p[0], buf, 8), 2);
	CHECK(memcmp(buf, "hi", 2) == 0);
	/* the result: 3 bytes, then one record at offset 24 */
	CHECK_EQU(out.data_size, 3);
	CHECK_EQ(out.desc_num, 1);
	rd = (struct door_uapi_desc *)(res + 24);
	CHECK_EQ(rd->attributes, DOOR_UAPI_DESCRIPTOR);
	got = rd->descriptor;
	/* the released descriptor is closed once the reply is translated
	 * into the client (here: this same process), as on illumos, so the
	 * received one has another number */
	CHECK(got != p[1]);
	CHECK(!fd_is_open(p[1]));
	CHECK(fd_is_open(got));
	CHECK_EQ(fcntl(got, F_GETFD) & FD_CLOEXEC, 0);
	CHECK_EQ(read(got, buf, 8), 4);
	close(got);
	close(p[0]);
	CHECK_EQ(count_fds(), before - 2);
}

static void
cloexec_on_request(void)
{
	struct door_uapi_call c;
	struct door_uapi_desc *rd;
	char res[200];

	memset(&c, 0, sizeof (c));
	c.fd = door;
	c.flags = DOOR_CALL_RECV_CLOEXEC;
	c.rbuf = (uintptr_t)res;
	c.rsize = sizeof (res);
	CHECK_EQ(ioctl(kd_ctl, DOOR_IOC_CALL, &c), 0);
	rd = (struct door_uapi_desc *)(res + 24);
	CHECK(fcntl(rd->descriptor, F_GETFD) & FD_CLOEXEC);
	close(rd->descriptor);
}

static void
door_passed(void)
{
	struct door_uapi_desc d;
	char res[200];
	struct door_uapi_info di;
	int other = kd_create(7, 8, DOOR_UAPI_UNREF_MULTI | DOOR_UAPI_NO_CANCEL);
	struct door_uapi_desc *rd;

	REQUIRE(other >= 0);
	CHECK_EQ(kd_info(other, &di), 0);
	d.attributes = DOOR_UAPI_DESCRIPTOR;
	d.descriptor = other;
	CHECK_EQ(kd_call(door, NULL, 0, &d, 1, res, sizeof (res), NULL), 0);
	CHECK_EQ(last_attrs, DOOR_UAPI_DESCRIPTOR | DOOR_UAPI_LOCAL |
	    DOOR_UAPI_UNREF_MULTI | DOOR_UAPI_NO_CANCEL);
	CHECK_EQU(last_id, di.id);
	rd = (struct door_uapi_desc *)(res + 24);
	close(rd->descriptor);
	close(other);
}

static void
many_descriptors(void)
{
	static struct door_uapi_desc d[1024];
	struct rlimit rl = { 4096, 4096 };
	int i, base, before, cookie2 = kd_create(1, 2, 0);

	REQUIRE(cookie2 >= 0);
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	base = open("/dev/null", O_RDONLY);
	before = count_fds();
	for (i = 0; i < 1024; i++) {
		d[i].attributes = DOOR_UAPI_DESCRIPTOR;
		d[i].descriptor = base;
	}
	CHECK_EQ(kd_call(cookie2, NULL, 0, d, 1024, NULL, 0, NULL), 0);
	CHECK_EQ(last_ndesc, 1024);
	CHECK_EQ(count_fds(), before);
	close(base);
	close(cookie2);
}

static void
emfile_in_server(void)
{
	int sv[2], fds[40], i, dr;
	struct door_uapi_desc d[40];
	pid_t pid;
	char res[8];

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	pid = harness_fork();
	if (pid == 0) {
		struct rlimit rl = { 30, 30 };
		struct kd_server s;
		int fd;

		kd_ctl = -1;
		fd = kd_create(1, 2, 0);
		kd_server_start(&s, proc, 1, -1);
		CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
		send_fd(sv[1], fd);
		for (;;)
			pause();
	}
	dr = recv_fd(sv[0]);
	REQUIRE(dr >= 0);
	for (i = 0; i < 40; i++) {
		fds[i] = open("/dev/null", O_RDONLY);
		d[i].attributes = DOOR_UAPI_DESCRIPTOR | DOOR_UAPI_RELEASE;
		d[i].descriptor = fds[i];
	}
	/* too many for the server: EMFILE; our RELEASE entries are closed
	 * anyway (they were translated) */
	expect_errno(kd_call(dr, NULL, 0, d, 40, NULL, 0, NULL), EMFILE);
	CHECK(!fd_is_open(fds[0]));
	/* the server thread went back to its pool */
	CHECK_EQ(kd_call(dr, NULL, 0, NULL, 0, res, 8, NULL), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(dr);
	close(sv[0]);
	close(sv[1]);
}

static void
emfile_in_client(void)
{
	pid_t pid = harness_fork();

	if (pid == 0) {
		struct rlimit rl;
		char res[200];
		int n = count_fds(), fd;

		/* no room for the returned descriptor */
		while ((fd = open("/dev/null", O_RDONLY)) >= 0)
			n = fd;
		rl.rlim_cur = rl.rlim_max = (rlim_t)n + 1;
		CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
		struct door_uapi_call out;

		/* illumos: the call succeeds without the descriptor (the
		 * server's RETURN fails with EMFILE and keeps it) */
		CHECK_EQ(kd_call(door, NULL, 0, NULL, 0, res, sizeof (res),
		    &out), 0);
		CHECK_EQU(out.desc_num, 0);
		harness_child_exit();
	}
	harness_wait_child(pid);
}

static volatile pid_t served_by;
static volatile int pool_empty_seen;

static void
private_proc(const struct door_uapi_invocation *inv, char *area,
    struct kd_reply *r)
{
	struct door_uapi_info di;

	(void) area;
	(void) r;
	served_by = tid();
	pool_empty_seen = !!(inv->flags & DOOR_INV_POOL_EMPTY);
	if (kd_info(DOOR_UAPI_QUERY, &di) == 0)
		last_id = di.id;
	else
		last_id = 0;
}

static void
private_pool(void)
{
	struct kd_server ps;
	struct door_uapi_info di;
	int pd = kd_create(1, 3, DOOR_UAPI_PRIVATE);
	uint64_t pd_id;

	REQUIRE(pd >= 0);
	expect_errno(kd_bind(door), EINVAL); /* not private */
	expect_errno(kd_bind(-1), EBADF);
	expect_errno(kd_unbind(), EBADF);
	CHECK_EQ(kd_bind(pd), 0);
	CHECK_EQ(kd_info(DOOR_UAPI_QUERY, &di), 0);
	CHECK_EQ(kd_info(pd, &di), 0);
	pd_id = di.id;
	CHECK_EQ(kd_unbind(), 0);
	expect_errno(kd_unbind(), EBADF);
	expect_errno(kd_info(DOOR_UAPI_QUERY, &di), EBADF);

	kd_server_start(&ps, private_proc, 1, pd);
	CHECK_EQ(kd_call(pd, NULL, 0, NULL, 0, NULL, 0, NULL), 0);
	CHECK(served_by != 0);
	CHECK_EQU(last_id, pd_id); /* QUERY in the procedure: the bound door */
	CHECK_EQ(pool_empty_seen, 1); /* it took the only parked thread */
	kd_server_stop(&ps);
	close(pd);
}

int
main(int argc, char **argv)
{
	harness_only(argc, argv);
	if (kd_open() < 0)
		return 1;
	door = kd_create(1, 1, 0);
	kd_server_start(&srv, proc, 1, -1);
	RUN(both_ways);
	RUN(cloexec_on_request);
	RUN(door_passed);
	RUN(many_descriptors);
	RUN(emfile_in_server);
	RUN(emfile_in_client);
	RUN(private_pool);
	kd_server_stop(&srv);
	close(door);
	return harness_done();
}
