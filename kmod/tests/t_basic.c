/*
 * t_basic - the /dev/door module's core path: version, create, call and
 * return, result placement (in place, overflow mapping), info, revoke,
 * parameters, and the call-time errors in their illumos order.
 */
#include "doorio.h"
#include "harness.h"

#include <sys/stat.h>

static struct kd_server srv;
static int door_fd = -1;

static void
version(void)
{
	struct door_uapi_version v;

	memset(&v, 0xff, sizeof (v));
	REQUIRE(kd_open() >= 0);
	CHECK_EQ(ioctl(kd_ctl, DOOR_IOC_VERSION, &v), 0);
	CHECK_EQ(v.api, DOOR_UAPI_VERSION);
	CHECK_EQ(v.max_desc, 1024);
	expect_errno(ioctl(kd_ctl, _IO(DOOR_IOC_MAGIC, 0x7f)), ENOTTY);
	/* a size field that does not match is another ioctl number */
	expect_errno(ioctl(kd_ctl, _IOC(_IOC_READ, DOOR_IOC_MAGIC, 0, 8), &v),
	    ENOTTY);
	expect_errno(ioctl(kd_ctl, DOOR_IOC_VERSION, (void *)8), EFAULT);
	expect_errno(ioctl(kd_ctl, DOOR_IOC_CREATE, (void *)-4096L), EFAULT);
	expect_errno(ioctl(kd_ctl, DOOR_IOC_CALL, NULL), EFAULT);
}

static void
create(void)
{
	struct stat st;
	int fd, before = count_fds();

	fd = kd_create(0x1000, 0x2000, 0);
	REQUIRE(fd >= 0);
	CHECK_EQ(count_fds(), before + 1);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK_EQ(fstat(fd, &st), 0);
	/* the door's inode says "door" (Solaris' S_IFDOOR, 0xD000) */
	CHECK_EQ(st.st_mode & S_IFMT, 0xD000);
	{
		char path[64], link[64];
		ssize_t n;

		snprintf(path, sizeof (path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof (link) - 1);
		CHECK(n > 0);
		link[n > 0 ? n : 0] = 0;
		CHECK(strncmp(link, "door:[", 6) == 0);
		/* no second open file of the same door */
		expect_errno(open(path, O_RDWR), ENXIO);
	}
	/* a door descriptor is not writable, readable or ioctl-able */
	expect_errno(write(fd, "x", 1), EINVAL);
	expect_errno(ioctl(fd, DOOR_IOC_VERSION, &st), ENOTTY);
	CHECK_EQ(close(fd), 0);
	expect_errno(kd_create(0, 0, 0x4), EINVAL); /* LOCAL is not settable */
	expect_errno(kd_create(0, 0, DOOR_UAPI_UNREF | DOOR_UAPI_UNREF_MULTI),
	    EINVAL);
	expect_errno(kd_create(0, 0, 0x10000), EINVAL);
	CHECK_EQ(count_fds(), before);
}

static void
echo_call(void)
{
	struct door_uapi_call out;
	char arg[100], res[200];

	memset(arg, 'a', sizeof (arg));
	memset(res, 0, sizeof (res));
	CHECK_EQ(kd_call(door_fd, arg, sizeof (arg), NULL, 0, res,
	    sizeof (res), &out), 0);
	CHECK_EQU(out.data_size, sizeof (arg));
	CHECK_EQ(out.desc_num, 0);
	CHECK_EQU(out.rbuf, (uintptr_t)res);
	CHECK_EQ(out.flags & DOOR_CALL_MAPPED, 0);
	CHECK(memcmp(res, arg, sizeof (arg)) == 0);

	/* the argument and result buffers may be the same memory */
	CHECK_EQ(kd_call(door_fd, arg, 10, NULL, 0, arg, sizeof (arg), &out),
	    0);
	CHECK_EQU(out.data_size, 10);

	/* nothing at all */
	CHECK_EQ(kd_call(door_fd, NULL, 0, NULL, 0, res, sizeof (res), &out),
	    0);
	CHECK_EQU(out.data_size, 0);
	CHECK_EQU(out.rbuf, (uintptr_t)res);
}

static void
overflow(void)
{
	struct door_uapi_call out;
	static char big[100000];
	char small[16];

	memset(big, 'b', sizeof (big));
	CHECK_EQ(kd_call(door_fd, big, sizeof (big), NULL, 0, small,
	    sizeof (small), &out), 0);
	CHECK(out.flags & DOOR_CALL_MAPPED);
	CHECK(out.rbuf != (uintptr_t)small);
	CHECK_EQU(out.rsize, (sizeof (big) + 4095) & ~4095UL);
	CHECK_EQU(out.data_size, sizeof (big));
	CHECK(memcmp((void *)(uintptr_t)out.rbuf, big, sizeof (big)) == 0);
	CHECK_EQ(munmap((void *)(uintptr_t)out.rbuf, out.rsize), 0);
	/* no result buffer at all */
	CHECK_EQ(kd_call(door_fd, big, 10, NULL, 0, NULL, 0, &out), 0);
	CHECK(out.flags & DOOR_CALL_MAPPED);
	CHECK_EQU(out.rsize, 4096);
	CHECK_EQ(munmap((void *)(uintptr_t)out.rbuf, out.rsize), 0);
}

static void
bad_result_buffer(void)
{
	struct door_uapi_call out;
	char arg[64] = "x";
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);

	REQUIRE(ro != MAP_FAILED);
	expect_errno(kd_call(door_fd, arg, sizeof (arg), NULL, 0, ro, 4096,
	    &out), EFAULT);
	expect_errno(kd_call(door_fd, (void *)8, 16, NULL, 0, NULL, 0, &out),
	    EFAULT);
	munmap(ro, 4096);
}

static void
info(void)
{
	struct door_uapi_info di;
	int p[2];

	CHECK_EQ(kd_info(door_fd, &di), 0);
	CHECK_EQ(di.target, getpid());
	CHECK_EQU(di.pc, 0x1234);
	CHECK_EQU(di.cookie, 0x5678);
	CHECK(di.id != 0);
	CHECK(di.attributes & DOOR_UAPI_LOCAL);
	CHECK_EQ(di.attributes & DOOR_UAPI_REVOKED, 0);
	REQUIRE(pipe(p) == 0);
	expect_errno(kd_info(p[0], &di), EBADF);
	expect_errno(kd_info(-1, &di), EBADF);
	expect_errno(kd_info(12345, &di), EBADF);
	expect_errno(kd_info(DOOR_UAPI_QUERY, &di), EBADF);
	expect_errno(kd_info(kd_ctl, &di), EBADF); /* the control file */
	close(p[0]);
	close(p[1]);
}

static void
limits(void)
{
	struct door_uapi_desc d[2];
	uint64_t v;
	char arg[32] = { 0 };
	int fd = kd_create(1, 2, DOOR_UAPI_REFUSE_DESC);

	REQUIRE(fd >= 0);
	CHECK_EQ(kd_getparam(door_fd, DOOR_UAPI_PARAM_DATA_MAX, &v), 0);
	CHECK_EQU(v, (uint64_t)SIZE_MAX); /* the creator's size_t (-m32: 2^32-1) */
	CHECK_EQ(kd_getparam(door_fd, DOOR_UAPI_PARAM_DESC_MAX, &v), 0);
	CHECK_EQU(v, 0x7fffffff);
	CHECK_EQ(kd_getparam(fd, DOOR_UAPI_PARAM_DESC_MAX, &v), 0);
	CHECK_EQU(v, 0);
	expect_errno(kd_getparam(door_fd, 77, &v), EINVAL);
	expect_errno(kd_setparam(door_fd, DOOR_UAPI_PARAM_DESC_MAX,
	    0x80000000ULL), ERANGE);
	expect_errno(kd_setparam(fd, DOOR_UAPI_PARAM_DESC_MAX, 1), ENOTSUP);
	CHECK_EQ(kd_setparam(door_fd, DOOR_UAPI_PARAM_DATA_MIN, 8), 0);
	expect_errno(kd_setparam(door_fd, DOOR_UAPI_PARAM_DATA_MAX, 4),
	    EINVAL);
	CHECK_EQ(kd_setparam(door_fd, DOOR_UAPI_PARAM_DATA_MAX, 16), 0);
	expect_errno(kd_setparam(door_fd, DOOR_UAPI_PARAM_DATA_MIN, 17),
	    EINVAL);
	expect_errno(kd_call(door_fd, arg, 4, NULL, 0, NULL, 0, NULL),
	    ENOBUFS);
	expect_errno(kd_call(door_fd, arg, 17, NULL, 0, NULL, 0, NULL),
	    ENOBUFS);
	CHECK_EQ(kd_call(door_fd, arg, 16, NULL, 0, arg, 32, NULL), 0);
	CHECK_EQ(kd_setparam(door_fd, DOOR_UAPI_PARAM_DATA_MIN, 0), 0);
	CHECK_EQ(kd_setparam(door_fd, DOOR_UAPI_PARAM_DATA_MAX, UINT64_MAX), 0);

	memset(d, 0, sizeof (d));
	d[0].attributes = DOOR_UAPI_DESCRIPTOR;
	d[0].descriptor = 0;
	expect_errno(kd_call(fd, NULL, 0, d, 1, NULL, 0, NULL), ENOTSUP);
	CHECK_EQ(kd_setparam(door_fd, DOOR_UAPI_PARAM_DESC_MAX, 1), 0);
	d[1] = d[0];
	expect_errno(kd_call(door_fd, NULL, 0, d, 2, NULL, 0, NULL), ENFILE);
	CHECK_EQ(kd_setparam(door_fd, DOOR_UAPI_PARAM_DESC_MAX, 0x7fffffff), 0);
	/* the order: ENOBUFS before ENOTSUP */
	CHECK_EQ(kd_setparam(fd, DOOR_UAPI_PARAM_DATA_MAX, 1), 0);
	expect_errno(kd_call(fd, arg, 2, d, 1, NULL, 0, NULL), ENOBUFS);
	close(fd);
}

static void
stage_errors(void)
{
	static struct door_uapi_desc d[1025];
	char *big = malloc(KD_AREA + 1);
	int p[2], i, before;

	REQUIRE(big != NULL && pipe(p) == 0);
	before = count_fds();
	/* more than 1024 descriptors */
	for (i = 0; i < 1025; i++) {
		d[i].attributes = DOOR_UAPI_DESCRIPTOR | DOOR_UAPI_RELEASE;
		d[i].descriptor = p[0];
	}
	expect_errno(kd_call(door_fd, NULL, 0, d, 1025, NULL, 0, NULL), E2BIG);
	/* larger than the server thread's area */
	expect_errno(kd_call(door_fd, big, KD_AREA + 1, NULL, 0, NULL, 0,
	    NULL), E2BIG);
	/* E2BIG wins over EFAULT and EINVAL; RELEASE entries stay open */
	expect_errno(kd_call(door_fd, (void *)8, KD_AREA + 1, d, 1, NULL, 0,
	    NULL), E2BIG);
	expect_errno(kd_call(door_fd, (void *)8, 8, d, 1, NULL, 0, NULL),
	    EFAULT);
	expect_errno(kd_call(door_fd, NULL, 0, (void *)8, 1, NULL, 0, NULL),
	    EFAULT);
	CHECK_EQ(count_fds(), before);
	/* a bad entry: EINVAL, and every valid RELEASE entry is closed */
	d[0].descriptor = dup(p[0]);
	d[1].attributes = 0;
	d[1].descriptor = p[1];
	expect_errno(kd_call(door_fd, NULL, 0, d, 2, NULL, 0, NULL), EINVAL);
	CHECK_EQ(count_fds(), before);
	d[1].attributes = DOOR_UAPI_DESCRIPTOR;
	d[1].descriptor = 999;
	expect_errno(kd_call(door_fd, NULL, 0, d, 2, NULL, 0, NULL), EINVAL);
	/* the server thread is back in its pool after each */
	CHECK_EQ(kd_call(door_fd, "x", 1, NULL, 0, NULL, 0, NULL), 0);
	close(p[0]);
	close(p[1]);
	free(big);
}

static void
revoke_door(void)
{
	struct door_uapi_info di;
	int fd = kd_create(1, 2, 0), fd2, before = count_fds();
	pid_t pid;

	REQUIRE(fd >= 0);
	fd2 = dup(fd);
	pid = harness_fork();
	if (pid == 0) {
		/* a fork child is not the server */
		expect_errno(kd_revoke(fd), EPERM);
		harness_child_exit();
	}
	harness_wait_child(pid);
	CHECK_EQ(kd_revoke(fd), 0);
	/* revoke closed fd itself */
	expect_errno(fcntl(fd, F_GETFD), EBADF);
	CHECK_EQ(count_fds(), before);
	CHECK_EQ(kd_info(fd2, &di), 0);
	CHECK(di.attributes & DOOR_UAPI_REVOKED);
	CHECK_EQ(di.target, getpid()); /* only exit or exec clears it */
	expect_errno(kd_call(fd2, NULL, 0, NULL, 0, NULL, 0, NULL), EBADF);
	expect_errno(kd_setparam(fd2, DOOR_UAPI_PARAM_DATA_MIN, 1), EBADF);
	expect_errno(kd_revoke(0), EBADF);
	close(fd2);
}

static int nr_door = -1;
static volatile int nr_errno;

static void
no_results(void)
{
	struct door_uapi_call c;

	/* a call marked "no results" must not get any: the server's RETURN
	 * with data fails with E2BIG and the client keeps waiting until the
	 * server returns nothing */
	memset(&c, 0, sizeof (c));
	c.fd = nr_door;
	c.flags = DOOR_CALL_NO_RESULTS;
	CHECK_EQ(ioctl(kd_ctl, DOOR_IOC_CALL, &c), 0);
	CHECK_EQU(c.data_size, 0);
	CHECK_EQ(nr_errno, E2BIG);
	c.flags = 0x80;
	expect_errno(ioctl(kd_ctl, DOOR_IOC_CALL, &c), EINVAL);
}

static void
proc(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	if (inv->cookie == 0x999) {
		struct door_uapi_return ur;

		memset(&ur, 0, sizeof (ur));
		ur.data_ptr = (uintptr_t)"abc";
		ur.data_size = 3;
		nr_errno = ioctl(kd_ctl, DOOR_IOC_RETURN, &ur) == 0 ? 0 : errno;
		return; /* then return nothing */
	}
	kd_echo(inv, area, r);
}

int
main(int argc, char **argv)
{
	harness_only(argc, argv);
	if (kd_open() < 0) {
		printf("cannot open %s: %s\n", DOOR_UAPI_DEVICE, strerror(errno));
		return 1;
	}
	door_fd = kd_create(0x1234, 0x5678, 0);
	nr_door = kd_create(1, 0x999, 0);
	kd_server_start(&srv, proc, 2, -1);
	RUN(version);
	RUN(create);
	RUN(echo_call);
	RUN(overflow);
	RUN(bad_result_buffer);
	RUN(info);
	RUN(limits);
	RUN(stage_errors);
	RUN(revoke_door);
	RUN(no_results);
	kd_server_stop(&srv);
	close(door_fd);
	close(nr_door);
	return harness_done();
}
