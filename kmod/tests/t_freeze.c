/*
 * t_freeze.c - the cgroup freezer does not abort door calls: a client
 * frozen while it waits for its reply, and a server frozen while its
 * procedure runs, both carry on once thawed, and the call completes with
 * its results (no EINTR), as a stop and continue do (t_signal).
 */
#include "doorio.h"
#include "harness.h"
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define CG "/sys/fs/cgroup"
#define GRP CG "/doorfreeze"

static volatile int served;

/* A procedure that takes a moment, so that the freeze lands mid-call. */
static void
slow_echo(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	usleep(400000);
	served++;
	kd_echo(inv, area, r);
}

static int
put(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, v, strlen(v)) == (ssize_t)strlen(v);
	close(fd);
	return ok ? 0 : -1;
}

/* Waits (bounded) until the group says frozen (1) or not (0). */
static int
frozen_is(int want)
{
	char buf[256], *p;
	int i, fd, n;

	for (i = 0; i < 500; i++) {
		fd = open(GRP "/cgroup.events", O_RDONLY);
		if (fd < 0)
			return -1;
		n = (int)read(fd, buf, sizeof (buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			p = strstr(buf, "frozen ");
			if (p != NULL && p[7] - '0' == want)
				return 0;
		}
		usleep(10000);
	}
	return -1;
}

static int
cgroup_ready(void)
{
	if (access(CG "/cgroup.controllers", F_OK) != 0)
		(void) mount("none", CG, "cgroup2", 0, NULL);
	if (access(CG "/cgroup.controllers", F_OK) != 0)
		return 0;
	(void) mkdir(GRP, 0755);
	return access(GRP "/cgroup.freeze", F_OK) == 0;
}

/* Freezes pid mid-call for half a second, then thaws it. */
static void
freeze_a_while(pid_t pid)
{
	char s[32];

	(void) snprintf(s, sizeof (s), "%d", (int)pid);
	CHECK_EQ(put(GRP "/cgroup.procs", s), 0);
	usleep(100000); /* the call is under way */
	CHECK_EQ(put(GRP "/cgroup.freeze", "1"), 0);
	CHECK_EQ(frozen_is(1), 0);
	usleep(500000);
	CHECK_EQ(put(GRP "/cgroup.freeze", "0"), 0);
	CHECK_EQ(frozen_is(0), 0);
}

static void
client_frozen(void)
{
	struct kd_server s;
	int door, st, ready[2];
	pid_t pid;
	char c;

	if (!cgroup_ready()) {
		printf("  note: no cgroup v2 freezer: skipped\n");
		return;
	}
	door = kd_create(0, 0, 0);
	REQUIRE(door >= 0);
	REQUIRE(kd_server_start(&s, slow_echo, 2, -1) == 0);
	REQUIRE(pipe(ready) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct door_uapi_call out;
		char rb[64];
		int r;

		(void) write(ready[1], "r", 1);
		r = kd_call(door, "frozen", 7, NULL, 0, rb, sizeof (rb), &out);
		_exit(r == 0 && out.data_size == 7 && memcmp(rb, "frozen", 7) == 0 ? 0 : 1);
	}
	REQUIRE(read(ready[0], &c, 1) == 1);
	freeze_a_while(pid);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	kd_server_stop(&s);
	close(door);
	close(ready[0]);
	close(ready[1]);
}

static pid_t freeze_target;

static void *
freezer_thread(void *arg)
{
	(void) arg;
	freeze_a_while(freeze_target);
	return (NULL);
}

static void
server_frozen(void)
{
	struct door_uapi_call out;
	char rb[64];
	int sv[2], door = -1, st;
	pthread_t t;
	pid_t pid;

	if (!cgroup_ready()) {
		printf("  note: no cgroup v2 freezer: skipped\n");
		return;
	}
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct kd_server s;
		int d = kd_create(0, 0, 0);

		if (d < 0 || kd_server_start(&s, slow_echo, 2, -1) != 0)
			_exit(2);
		(void) send_fd(sv[1], d);
		for (;;)
			pause();
	}
	door = recv_fd(sv[0]);
	if (CHECK(door >= 0)) {
		/* the server is frozen while its procedure runs */
		freeze_target = pid;
		REQUIRE(pthread_create(&t, NULL, freezer_thread, NULL) == 0);
		CHECK_EQ(kd_call(door, "thawed", 7, NULL, 0, rb, sizeof (rb), &out), 0);
		CHECK_EQU(out.data_size, 7);
		CHECK_EQ(memcmp(rb, "thawed", 7), 0);
		pthread_join(t, NULL);
		close(door);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	RUN(client_frozen);
	RUN(server_frozen);
	(void) rmdir(GRP);
	return (harness_done());
}
