/*
 * t_info.c - door_info(3C).
 *
 * Clauses exercised (door_info(3C); fork; the stale-door idiom):
 *  - di_target is the server's pid, di_proc / di_data are the procedure
 *    and cookie as 64-bit numbers, di_uniquifier is the door id, the
 *    reserved words di_resv[] are zeroed;
 *  - di_attributes: the door's stored flags, DOOR_LOCAL when the caller is
 *    the server, DOOR_IS_UNREF when exactly one reference exists (second
 *    reference passed through a door call, or made by dup());
 *  - in a fork child: the parent's pid, no DOOR_LOCAL, same id/proc/data;
 *  - a door served by another process: no DOOR_LOCAL, that process's pid;
 *    once that server has exited, di_target == -1 and DOOR_REVOKED is set
 *    (the stale-door idiom), di_proc/di_data keep their values;
 *  - EBADF for a closed descriptor, -1, a pipe, a regular file, a plain
 *    AF_UNIX socket and /dev/null; EBADF for DOOR_QUERY from an unbound
 *    thread;
 *  - EFAULT for a NULL, unmapped or read-only info pointer.
 */
#include <door.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "harness.h"

static int cookie_a, cookie_b;

static void
proc_a(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	(void) cookie; (void) dp; (void) n_desc;
	(void) door_return(argp, arg_size, NULL, 0);
}

static void
proc_b(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	(void) cookie; (void) argp; (void) arg_size; (void) dp; (void) n_desc;
	(void) door_return(NULL, 0, NULL, 0);
}

static void
test_fields(void)
{
	door_info_t di, di2;
	int fd = door_create(proc_a, &cookie_a, 0);
	int fd2 = door_create(proc_b, &cookie_b, DOOR_REFUSE_DESC |
	    DOOR_NO_CANCEL);
	int i;

	REQUIRE(fd >= 0 && fd2 >= 0);
	memset(&di, 0xff, sizeof (di));
	REQUIRE(door_info(fd, &di) == 0);
	CHECK_EQ(di.di_target, getpid());
	CHECK_EQU(di.di_proc, (uintptr_t)proc_a);
	CHECK_EQU(di.di_data, (uintptr_t)&cookie_a);
	CHECK_EQ(di.di_attributes & ~DOOR_IS_UNREF, DOOR_LOCAL);
	CHECK(di.di_uniquifier != 0 && di.di_uniquifier != ~0ull);
	for (i = 0; i < 4; i++)
		CHECK_EQ(di.di_resv[i], 0);

	memset(&di2, 0xff, sizeof (di2));
	REQUIRE(door_info(fd2, &di2) == 0);
	CHECK_EQ(di2.di_target, getpid());
	CHECK_EQU(di2.di_proc, (uintptr_t)proc_b);
	CHECK_EQU(di2.di_data, (uintptr_t)&cookie_b);
	CHECK_EQ(di2.di_attributes & ~DOOR_IS_UNREF,
	    DOOR_LOCAL | DOOR_REFUSE_DESC | DOOR_NO_CANCEL);
	CHECK(di2.di_uniquifier != di.di_uniquifier);
	for (i = 0; i < 4; i++)
		CHECK_EQ(di2.di_resv[i], 0);

	/* A NULL cookie reads back as 0. */
	{
		int fd3 = door_create(proc_a, NULL, DOOR_UNREF);
		door_info_t d3;
		REQUIRE(fd3 >= 0);
		REQUIRE(door_info(fd3, &d3) == 0);
		CHECK_EQU(d3.di_data, 0);
		CHECK_EQ(d3.di_attributes & (DOOR_UNREF | DOOR_LOCAL),
		    DOOR_UNREF | DOOR_LOCAL);
		door_revoke(fd3);
	}
	door_revoke(fd);
	door_revoke(fd2);
}

/*
 * DOOR_IS_UNREF: set while exactly one reference to the door exists.
 * Here the second reference is a copy received through a door call.
 */
static volatile int kept_fd = -1;

static void
keeper_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	(void) cookie; (void) argp; (void) arg_size;
	if (n_desc == 1)
		kept_fd = dp[0].d_data.d_desc.d_descriptor;
	(void) door_return(NULL, 0, NULL, 0);
}

static void
test_is_unref_passed(void)
{
	door_info_t di;
	door_desc_t d;
	door_arg_t a;
	int fd = door_create(proc_a, NULL, 0);
	int keeper = door_create(keeper_proc, NULL, 0);

	REQUIRE(fd >= 0 && keeper >= 0);
	REQUIRE(door_info(fd, &di) == 0);
	CHECK(di.di_attributes & DOOR_IS_UNREF);
	memset(&d, 0, sizeof (d));
	d.d_attributes = DOOR_DESCRIPTOR;
	d.d_data.d_desc.d_descriptor = fd;
	memset(&a, 0, sizeof (a));
	a.desc_ptr = &d;
	a.desc_num = 1;
	kept_fd = -1;
	REQUIRE(door_call(keeper, &a) == 0);
	REQUIRE(kept_fd >= 0);
	REQUIRE(door_info(fd, &di) == 0);
	CHECK(!(di.di_attributes & DOOR_IS_UNREF));
	REQUIRE(door_info(kept_fd, &di) == 0);
	CHECK(!(di.di_attributes & DOOR_IS_UNREF));
	close(kept_fd);
	REQUIRE(door_info(fd, &di) == 0);
	CHECK(di.di_attributes & DOOR_IS_UNREF);
	door_revoke(fd);
	door_revoke(keeper);
}

/* The same with the second reference made by dup(). */
static void
test_is_unref_dup(void)
{
	door_info_t di;
	int fd = door_create(proc_a, NULL, 0), d;

	/*
	 * Known difference of the userspace backend (KNOWN_DIFFERENCES.md,
	 * "Unreferenced notifications"): a dup() shares the descriptor's
	 * reference, so it still reports DOOR_IS_UNREF on both copies
	 * (illumos, and the kernel backend, clear it while the dup exists).
	 */
	REQUIRE(fd >= 0);
	REQUIRE(door_info(fd, &di) == 0);
	CHECK(di.di_attributes & DOOR_IS_UNREF);
	d = dup(fd);
	REQUIRE(d >= 0);
	if (harness_kernel_backend()) {
		/* The kernel backend counts the dup, as illumos does. */
		REQUIRE(door_info(fd, &di) == 0);
		CHECK(!(di.di_attributes & DOOR_IS_UNREF));
		REQUIRE(door_info(d, &di) == 0);
		CHECK(!(di.di_attributes & DOOR_IS_UNREF));
	} else {
		REQUIRE(door_info(fd, &di) == 0);
		CHECK(di.di_attributes & DOOR_IS_UNREF);
		REQUIRE(door_info(d, &di) == 0);
		CHECK(di.di_attributes & DOOR_IS_UNREF);
	}
	close(d);
	REQUIRE(door_info(fd, &di) == 0);
	CHECK(di.di_attributes & DOOR_IS_UNREF);
	door_revoke(fd);
}

/* A dup and the original describe the same door. */
static void
test_dup_same(void)
{
	door_info_t a, b;
	int fd = door_create(proc_a, &cookie_a, DOOR_REFUSE_DESC);
	int d;

	REQUIRE(fd >= 0);
	d = dup(fd);
	REQUIRE(d >= 0);
	REQUIRE(door_info(fd, &a) == 0);
	REQUIRE(door_info(d, &b) == 0);
	CHECK_EQ(a.di_target, b.di_target);
	CHECK_EQU(a.di_proc, b.di_proc);
	CHECK_EQU(a.di_data, b.di_data);
	CHECK_EQU(a.di_uniquifier, b.di_uniquifier);
	CHECK_EQ(a.di_attributes, b.di_attributes);
	close(d);
	door_revoke(fd);
}

static void
test_fork_child(void)
{
	door_info_t parent;
	int fd = door_create(proc_a, &cookie_a, DOOR_NO_CANCEL);
	pid_t ppid = getpid(), pid;

	REQUIRE(fd >= 0);
	REQUIRE(door_info(fd, &parent) == 0);
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		door_info_t di;
		int i;
		memset(&di, 0xff, sizeof (di));
		if (CHECK(door_info(fd, &di) == 0)) {
			CHECK_EQ(di.di_target, ppid);
			CHECK(!(di.di_attributes & DOOR_LOCAL));
			CHECK(di.di_attributes & DOOR_NO_CANCEL);
			CHECK(!(di.di_attributes & DOOR_REVOKED));
			CHECK_EQU(di.di_proc, parent.di_proc);
			CHECK_EQU(di.di_data, parent.di_data);
			CHECK_EQU(di.di_uniquifier, parent.di_uniquifier);
			for (i = 0; i < 4; i++)
				CHECK_EQ(di.di_resv[i], 0);
		}
		harness_child_exit();
	}
	harness_wait_child(pid);
	/* The parent still sees its own door as local. */
	REQUIRE(door_info(fd, &parent) == 0);
	CHECK(parent.di_attributes & DOOR_LOCAL);
	door_revoke(fd);
}

/*
 * A door served by another process.  The child creates a door and passes
 * it to the parent through the parent's "mailbox" door; then it waits for
 * a byte on a pipe and exits.
 */
static int received_fd = -1;
static int mailbox_calls;

static void
mailbox_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	(void) cookie; (void) argp; (void) arg_size;
	if (n_desc == 1 && (dp[0].d_attributes & DOOR_DESCRIPTOR))
		received_fd = dp[0].d_data.d_desc.d_descriptor;
	mailbox_calls++;
	(void) door_return(NULL, 0, NULL, 0);
}

static int child_cookie;

static void
test_remote_server_and_exit(void)
{
	int mbox = door_create(mailbox_proc, NULL, 0);
	int go[2];
	pid_t pid;
	door_info_t di, before;
	door_arg_t a;
	char buf[16];

	REQUIRE(mbox >= 0);
	REQUIRE(pipe(go) == 0);
	received_fd = -1;
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		door_desc_t dd;
		door_arg_t ca;
		char c;
		int mine = door_create(proc_a, &child_cookie, DOOR_REFUSE_DESC);

		close(go[1]);
		if (!CHECK(mine >= 0))
			harness_child_exit();
		memset(&dd, 0, sizeof (dd));
		dd.d_attributes = DOOR_DESCRIPTOR;
		dd.d_data.d_desc.d_descriptor = mine;
		memset(&ca, 0, sizeof (ca));
		ca.desc_ptr = &dd;
		ca.desc_num = 1;
		CHECK(door_call(mbox, &ca) == 0);
		/* Serve until the parent says we may go. */
		CHECK_EQ(read(go[0], &c, 1), 1);
		harness_child_exit();
	}
	close(go[0]);
	/* Wait for the mailbox delivery (the child's door_call). */
	{
		int spins = 0;
		while (__atomic_load_n(&received_fd, __ATOMIC_ACQUIRE) < 0 &&
		    spins++ < 30000)
			usleep(1000);
	}
	if (!CHECK(received_fd >= 0)) {
		close(go[1]);
		harness_wait_child(pid);
		door_revoke(mbox);
		return;
	}
	memset(&before, 0, sizeof (before));
	CHECK(door_info(received_fd, &before) == 0);
	CHECK_EQ(before.di_target, pid);
	CHECK(!(before.di_attributes & DOOR_LOCAL));
	CHECK(before.di_attributes & DOOR_REFUSE_DESC);
	CHECK(!(before.di_attributes & DOOR_REVOKED));
	CHECK_EQU(before.di_proc, (uintptr_t)proc_a);
	CHECK_EQU(before.di_data, (uintptr_t)&child_cookie);
	/* It really is the child's door: call it. */
	memset(&a, 0, sizeof (a));
	a.data_ptr = "ping";
	a.data_size = 5;
	a.rbuf = buf;
	a.rsize = sizeof (buf);
	if (CHECK(door_call(received_fd, &a) == 0))
		CHECK(a.data_size == 5 && strcmp(a.data_ptr, "ping") == 0);

	/* Let the server exit. */
	CHECK_EQ(write(go[1], "x", 1), 1);
	close(go[1]);
	harness_wait_child(pid);

	memset(&di, 0, sizeof (di));
	if (CHECK(door_info(received_fd, &di) == 0)) {
		CHECK_EQ(di.di_target, -1);
		CHECK(di.di_attributes & DOOR_REVOKED);
		CHECK(!(di.di_attributes & DOOR_LOCAL));
		CHECK_EQU(di.di_proc, before.di_proc);
		CHECK_EQU(di.di_data, before.di_data);
		CHECK_EQU(di.di_uniquifier, before.di_uniquifier);
	}
	memset(&a, 0, sizeof (a));
	expect_errno(door_call(received_fd, &a), EBADF);
	close(received_fd);
	received_fd = -1;
	door_revoke(mbox);
}

static void
test_ebadf(void)
{
	door_info_t di;
	int p[2], s[2], fd, f;
	char path[] = "/tmp/t_info.XXXXXX";

	fd = door_create(proc_a, NULL, 0);
	REQUIRE(fd >= 0);
	REQUIRE(door_revoke(fd) == 0);
	/* door_revoke closed it */
	expect_errno(door_info(fd, &di), EBADF);
	expect_errno(door_info(-1, &di), EBADF);
	expect_errno(door_info(1 << 20, &di), EBADF);

	REQUIRE(pipe(p) == 0);
	expect_errno(door_info(p[0], &di), EBADF);
	expect_errno(door_info(p[1], &di), EBADF);
	close(p[0]);
	close(p[1]);

	f = mkstemp(path);
	REQUIRE(f >= 0);
	unlink(path);
	expect_errno(door_info(f, &di), EBADF);
	close(f);

	f = open("/dev/null", O_RDWR);
	REQUIRE(f >= 0);
	expect_errno(door_info(f, &di), EBADF);
	close(f);

	/* An ordinary AF_UNIX socket is not a door. */
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s) == 0);
	expect_errno(door_info(s[0], &di), EBADF);
	expect_errno(door_info(s[1], &di), EBADF);
	close(s[0]);
	close(s[1]);
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
	expect_errno(door_info(s[0], &di), EBADF);
	close(s[0]);
	close(s[1]);

	/* DOOR_QUERY from a thread that is not bound to a door. */
	expect_errno(door_info(DOOR_QUERY, &di), EBADF);
}

static void
test_efault(void)
{
	int fd = door_create(proc_a, NULL, 0);
	void *ro = harness_page(PROT_READ);
	void *none = harness_page(PROT_NONE);

	REQUIRE(fd >= 0 && ro != NULL && none != NULL);
	expect_errno(door_info(fd, NULL), EFAULT);
	expect_errno(door_info(fd, (door_info_t *)harness_unmapped()), EFAULT);
	expect_errno(door_info(fd, (door_info_t *)none), EFAULT);
	expect_errno(door_info(fd, (door_info_t *)ro), EFAULT);
	/* The descriptor is still usable afterwards. */
	{
		door_info_t di;
		CHECK(door_info(fd, &di) == 0);
	}
	munmap(ro, (size_t)sysconf(_SC_PAGESIZE));
	munmap(none, (size_t)sysconf(_SC_PAGESIZE));
	door_revoke(fd);
}

int
main(void)
{
	RUN(test_fields);
	RUN(test_is_unref_passed);
	RUN(test_is_unref_dup);
	RUN(test_dup_same);
	RUN(test_fork_child);
	RUN(test_remote_server_and_exit);
	RUN(test_ebadf);
	RUN(test_efault);
	return (harness_done());
}
