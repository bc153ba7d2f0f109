/*
 * t_life - lifetimes: a server that dies or execs mid-call, a client
 * killed mid-call, a server thread that leaves mid-call, a fork child
 * that exits.  Every case ends with no door object left in the module.
 */
#include "doorio.h"
#include "harness.h"

/* A procedure that tells the test it started, then waits to be released. */
static sem_t *started, *release;

static void
blocking(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	(void) inv;
	(void) area;
	sem_post(started);
	(void) wait_sem(release, 30);
	r->data = "done";
	r->size = 4;
}

static void
leaving(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	(void) inv;
	(void) area;
	r->exit_thread = 1; /* the thread leaves while its client waits */
}

/* Wait (bounded) until the module holds no calls and `doors` doors. */
static int
settle(const char *what, int want)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (kd_stat(what) == want)
			return 1;
		usleep(10000);
	}
	return 0;
}

/* Fork a server process serving a door with `proc`; the door comes back
 * over a socket.  The child stays until killed. */
static pid_t
fork_server(kd_proc_t *proc, int *door)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0)
		return -1;
	pid = harness_fork();
	if (pid == 0) {
		struct kd_server s;
		int fd;

		close(sv[0]);
		kd_ctl = -1;
		fd = kd_create(1, 2, 0);
		kd_server_start(&s, proc, 2, -1);
		send_fd(sv[1], fd);
		for (;;)
			pause();
	}
	close(sv[1]);
	*door = recv_fd(sv[0]);
	close(sv[0]);
	return pid;
}

static void
server_killed_mid_call(void)
{
	struct door_uapi_info di;
	int door, st;
	pid_t pid = fork_server(blocking, &door);
	pid_t killer;

	REQUIRE(pid > 0 && door >= 0);
	killer = harness_fork();
	if (killer == 0) {
		/* kill the server once its procedure runs */
		if (wait_sem(started, 30) == 0)
			kill(pid, SIGKILL);
		harness_child_exit();
	}
	expect_errno(kd_call(door, "x", 1, NULL, 0, NULL, 0, NULL), EINTR);
	harness_wait_child(killer);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	CHECK_EQ(kd_info(door, &di), 0);
	CHECK_EQ(di.target, -1);
	CHECK(di.attributes & DOOR_UAPI_REVOKED);
	CHECK_EQ(di.attributes & DOOR_UAPI_LOCAL, 0);
	expect_errno(kd_call(door, "x", 1, NULL, 0, NULL, 0, NULL), EBADF);
	close(door);
	CHECK(settle("calls", 0));
	CHECK(settle("doors", 0));
}

static void
server_exec_revokes(void)
{
	struct door_uapi_info di;
	int sv[2], door, i, gone = 0;
	pid_t pid;

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	pid = harness_fork();
	if (pid == 0) {
		int fd;
		char c;

		kd_ctl = -1;
		fd = kd_create(1, 2, 0);
		send_fd(sv[1], fd);
		(void) read(sv[1], &c, 1);
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	door = recv_fd(sv[0]);
	REQUIRE(door >= 0);
	CHECK_EQ(kd_info(door, &di), 0);
	CHECK_EQ(di.target, pid);
	CHECK_EQ(write(sv[0], "g", 1), 1);
	/* the process lives on in the new image; the door is dead */
	for (i = 0; i < 500 && !gone; i++) {
		if (kd_info(door, &di) == 0 && di.target == -1)
			gone = 1;
		else
			usleep(10000);
	}
	CHECK(gone);
	CHECK(di.attributes & DOOR_UAPI_REVOKED);
	CHECK_EQ(kill(pid, 0), 0);
	expect_errno(kd_call(door, NULL, 0, NULL, 0, NULL, 0, NULL), EBADF);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(sv[0]);
	close(door);
	CHECK(settle("doors", 0));
}

static void
client_killed_mid_call(void)
{
	struct kd_server s;
	int door = kd_create(1, 2, 0);
	pid_t pid;
	char res[16];

	REQUIRE(door >= 0);
	kd_server_start(&s, blocking, 1, -1);
	pid = harness_fork();
	if (pid == 0) {
		(void) kd_call(door, "x", 1, NULL, 0, NULL, 0, NULL);
		_exit(3); /* never reached */
	}
	CHECK_EQ(wait_sem(started, 30), 0);
	CHECK_EQ(kill(pid, SIGKILL), 0);
	CHECK_EQ(waitpid(pid, NULL, 0), pid);
	sem_post(release); /* the reply goes nowhere; the thread parks again */
	CHECK(settle("calls", 0));
	/* and serves the next call */
	sem_post(release);
	CHECK_EQ(kd_call(door, "y", 1, NULL, 0, res, sizeof (res), NULL), 0);
	(void) wait_sem(started, 1);
	kd_server_stop(&s);
	close(door);
	while (sem_trywait(release) == 0)
		;
	while (sem_trywait(started) == 0)
		;
}

static void
server_thread_leaves(void)
{
	struct kd_server s;
	int door = kd_create(1, 2, 0);

	REQUIRE(door >= 0);
	kd_server_start(&s, leaving, 1, -1);
	expect_errno(kd_call(door, "x", 1, NULL, 0, NULL, 0, NULL), EINTR);
	kd_server_stop(&s);
	close(door);
	CHECK(settle("calls", 0));
}

static void
fork_child_keeps_nothing(void)
{
	struct kd_server s;
	int door = kd_create(1, 2, 0);
	pid_t pid;

	REQUIRE(door >= 0);
	kd_server_start(&s, kd_echo, 1, -1);
	pid = harness_fork();
	if (pid == 0) {
		char res[8];
		struct door_uapi_info di;

		/* the child can call the parent's door; it is not its server */
		CHECK_EQ(kd_call(door, "abc", 3, NULL, 0, res, 8, NULL), 0);
		CHECK_EQ(kd_info(door, &di), 0);
		CHECK_EQ(di.attributes & DOOR_UAPI_LOCAL, 0);
		CHECK_EQ(di.target, getppid());
		expect_errno(kd_revoke(door), EPERM);
		expect_errno(kd_bind(door), EINVAL);
		harness_child_exit();
	}
	harness_wait_child(pid);
	/* the child's exit did not revoke anything */
	{
		char res[8];

		CHECK_EQ(kd_call(door, "abc", 3, NULL, 0, res, 8, NULL), 0);
	}
	kd_server_stop(&s);
	close(door);
}

int
main(int argc, char **argv)
{
	harness_only(argc, argv);
	started = harness_shared(2 * sizeof (sem_t));
	release = started + 1;
	sem_init(started, 1, 0);
	sem_init(release, 1, 0);
	if (kd_open() < 0)
		return 1;
	RUN(server_killed_mid_call);
	RUN(server_exec_revokes);
	RUN(client_killed_mid_call);
	RUN(server_thread_leaves);
	RUN(fork_child_keeps_nothing);
	return harness_done();
}
