/*
 * t_unref - unreferenced notifications follow the door file's reference
 * count exactly: dup+close, a fork child that exits, a copy passed to
 * another process, the server closing its own descriptor.  One-shot
 * DOOR_UNREF fires once and is then cleared; DOOR_UNREF_MULTI fires at
 * each 2->1; a lone descriptor's close fires nothing; door_info's
 * DOOR_IS_UNREF; door_ucred in the handler says "kernel", pid 0.
 */
#include "doorio.h"
#include "harness.h"

static volatile int unrefs, ucred_pid = -99, ucred_flags, last_cookie;

static void
proc(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	struct door_uapi_ucred u;

	(void) area;
	(void) r;
	if (inv->flags & DOOR_INV_UNREF) {
		if (kd_ucred(&u, NULL, 0) == 0) {
			ucred_pid = u.pid;
			ucred_flags = u.flags;
		}
		last_cookie = (int)inv->cookie;
		__atomic_fetch_add(&unrefs, 1, __ATOMIC_SEQ_CST);
	}
}

static struct kd_server srv;
static int sync_door;

/*
 * An unref is handed to a parked thread when the close happens; with one
 * server thread, a call that completes afterwards proves it has run.
 */
static void
sync_calls(void)
{
	char res[4];

	(void) kd_call(sync_door, NULL, 0, NULL, 0, res, 4, NULL);
}

static int
wait_unrefs(int want)
{
	int i;

	for (i = 0; i < 500 && unrefs < want; i++)
		usleep(10000);
	sync_calls();
	return unrefs;
}

static void
dup_close_once(void)
{
	struct door_uapi_info di;
	int d = kd_create(1, 11, DOOR_UAPI_UNREF), d2;

	REQUIRE(d >= 0);
	unrefs = 0;
	CHECK_EQ(kd_info(d, &di), 0);
	CHECK(di.attributes & DOOR_UAPI_IS_UNREF);
	d2 = dup(d);
	CHECK_EQ(kd_info(d, &di), 0);
	CHECK_EQ(di.attributes & DOOR_UAPI_IS_UNREF, 0);
	CHECK_EQ(close(d2), 0);
	CHECK_EQ(wait_unrefs(1), 1);
	CHECK_EQ(last_cookie, 11);
	CHECK_EQ(ucred_pid, 0);
	CHECK_EQ(ucred_flags, DOOR_UCRED_KERNEL);
	CHECK_EQ(kd_info(d, &di), 0);
	CHECK_EQ(di.attributes & DOOR_UAPI_UNREF, 0); /* one-shot: spent */
	CHECK(di.attributes & DOOR_UAPI_IS_UNREF);
	d2 = dup(d);
	close(d2);
	CHECK_EQ(wait_unrefs(2), 1);
	close(d);
}

static void
multi(void)
{
	struct door_uapi_info di;
	int d = kd_create(1, 12, DOOR_UAPI_UNREF_MULTI), i;

	REQUIRE(d >= 0);
	unrefs = 0;
	for (i = 1; i <= 3; i++) {
		close(dup(d));
		CHECK_EQ(wait_unrefs(i), i);
	}
	CHECK_EQ(kd_info(d, &di), 0);
	CHECK(di.attributes & DOOR_UAPI_UNREF_MULTI);
	/* three descriptors, closed one by one: only the last 2->1 counts */
	{
		int a = dup(d), b = dup(d);

		close(a);
		sync_calls();
		CHECK_EQ(unrefs, 3);
		close(b);
		CHECK_EQ(wait_unrefs(4), 4);
	}
	close(d);
}

static void
lone_close(void)
{
	int d = kd_create(1, 13, DOOR_UAPI_UNREF_MULTI);

	REQUIRE(d >= 0);
	unrefs = 0;
	close(d);
	sync_calls();
	CHECK_EQ(unrefs, 0);
}

static void
fork_child_exits(void)
{
	int d = kd_create(1, 14, DOOR_UAPI_UNREF_MULTI);
	pid_t pid;
	int p[2];

	REQUIRE(d >= 0 && pipe(p) == 0);
	unrefs = 0;
	pid = harness_fork();
	if (pid == 0) {
		char c;

		close(p[1]);
		(void) read(p[0], &c, 1);
		_exit(0); /* its copy goes with it */
	}
	close(p[0]);
	sync_calls();
	CHECK_EQ(unrefs, 0);
	close(p[1]);
	waitpid(pid, NULL, 0);
	CHECK_EQ(wait_unrefs(1), 1);
	close(d);
}

static void
passed_then_server_closes(void)
{
	int d, sv[2];
	pid_t pid;
	char c;

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	unrefs = 0;
	pid = harness_fork();
	if (pid == 0) {
		int got, i;

		/* the child holds only what it receives */
		got = recv_fd(sv[1]);
		CHECK(got >= 0);
		for (i = 0; i < 3; i++)
			close(dup(got)); /* 3 refs -> 2: nothing */
		CHECK_EQ(write(sv[1], "k", 1), 1);
		(void) read(sv[1], &c, 1);
		harness_child_exit();
	}
	d = kd_create(1, 15, DOOR_UAPI_UNREF);
	REQUIRE(d >= 0);
	CHECK_EQ(send_fd(sv[0], d), 0);
	CHECK_EQ(read(sv[0], &c, 1), 1);
	sync_calls();
	CHECK_EQ(unrefs, 0);
	/* the server closes its own descriptor: the client's copy is the
	 * last reference */
	close(d);
	CHECK_EQ(wait_unrefs(1), 1);
	CHECK_EQ(write(sv[0], "x", 1), 1);
	harness_wait_child(pid);
	close(sv[0]);
	close(sv[1]);
}

static void
revoked_fires_nothing(void)
{
	int d = kd_create(1, 16, DOOR_UAPI_UNREF_MULTI), d2;

	REQUIRE(d >= 0);
	unrefs = 0;
	d2 = dup(d);
	CHECK_EQ(kd_revoke(d), 0);
	close(d2);
	sync_calls();
	CHECK_EQ(unrefs, 0);
}

int
main(int argc, char **argv)
{
	harness_only(argc, argv);
	if (kd_open() < 0)
		return 1;
	sync_door = kd_create(1, 0, 0);
	kd_server_start(&srv, proc, 1, -1);
	RUN(dup_close_once);
	RUN(multi);
	RUN(lone_close);
	RUN(fork_child_exits);
	RUN(passed_then_server_closes);
	RUN(revoked_fires_nothing);
	kd_server_stop(&srv);
	close(sync_door);
	return harness_done();
}
