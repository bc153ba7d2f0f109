/*
 * t_release.c - a descriptor a procedure returns with DOOR_RELEASE is
 * closed for good once its reply is done with: the server's copy is
 * closed and nothing else keeps the open file, whether the client took
 * it (and closed it) or gave up on the call before the reply (a caught
 * signal: EINTR; or SIGKILL), with or without a cancellation signal.
 * The proof is a pipe's write end: its reader must see end of file while
 * the server thread is parked again (an fput left to the server thread's
 * return to user space would keep it open until the next call).
 */
#include "doorio.h"
#include "harness.h"
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>

static sem_t *entered, *release;
static int relfd = -1;
static volatile int cancel_mode;

static void
hold(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	static struct door_uapi_desc d;
	(void)inv; (void)area;
	sem_post(entered);
	while (sem_wait(release) != 0)
		;
	r->data = "results!";
	r->size = 9;
	kd_reply_released(r, &d, relfd);
}

static volatile int got;
static void onusr1(int s) { (void)s; got++; }

static void
one(int kill_it, int cancel_sig)
{
	struct kd_server s;
	int fd, rel[2], i;
	pid_t pid;
	struct pollfd p;
	char c;

	if (cancel_sig) {
		struct door_uapi_config cfg = { .cancel_signal = cancel_sig };
		signal(cancel_sig, onusr1);
		CHECK_EQ(ioctl(kd_open(), DOOR_IOC_CONFIG, &cfg), 0);
	}
	fd = kd_create(0, 0, 0);
	REQUIRE(fd >= 0);
	REQUIRE(kd_server_start(&s, hold, 1, -1) == 0);
	pid = fork();
	if (pid == 0) {
		char rb[64];
		struct door_uapi_call out;
		signal(SIGUSR1, onusr1);
		(void) kd_call(fd, "x", 1, NULL, 0, rb, sizeof (rb), &out);
		sleep(kill_it ? 100 : 8);
		_exit(0);
	}
	CHECK(sem_wait(entered) == 0);
	usleep(100000);
	if (kill_it) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	} else {
		for (i = 0; i < 10; i++) { kill(pid, SIGUSR1); usleep(50000); }
	}
	REQUIRE(pipe(rel) == 0);
	relfd = rel[1];
	sem_post(release);
	p.fd = rel[0]; p.events = POLLIN;
	i = poll(&p, 1, 5000);
	CHECK_EQ(i, 1);
	if (i == 1)
		CHECK_EQ(read(rel[0], &c, 1), 0); /* end of file */
	if (!kill_it) { kill(pid, SIGKILL); waitpid(pid, NULL, 0); }
	kd_server_stop(&s);
	close(rel[0]);
	close(fd);
}

/* The client takes the released descriptor and closes it. */
static int give_fd = -1;

static void
give(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	static struct door_uapi_desc d[2];
	(void)inv; (void)area;
	memset(d, 0, sizeof (d));
	d[0].attributes = DOOR_UAPI_DESCRIPTOR | DOOR_UAPI_RELEASE;
	d[0].descriptor = relfd;
	d[1].attributes = DOOR_UAPI_DESCRIPTOR;
	d[1].descriptor = give_fd;
	r->data = "gift";
	r->size = 5;
	r->desc = d;
	r->ndesc = give_fd >= 0 ? 2 : 1;
}

static void
test_taken_and_closed(void)
{
	struct kd_server s;
	struct door_uapi_call out;
	struct door_uapi_desc rd;
	struct pollfd p;
	char rb[256], c;
	int fd, rel[2];

	fd = kd_create(0, 0, 0);
	REQUIRE(fd >= 0);
	REQUIRE(kd_server_start(&s, give, 1, -1) == 0);
	REQUIRE(pipe(rel) == 0);
	relfd = rel[1];
	give_fd = -1;
	CHECK_EQ(kd_call(fd, "x", 1, NULL, 0, rb, sizeof (rb), &out), 0);
	CHECK_EQU(out.desc_num, 1);
	memcpy(&rd, rb + 24, sizeof (rd));
	CHECK(rd.descriptor != rel[1] || fcntl(rel[1], F_GETFD) >= 0);
	CHECK_EQ(close(rd.descriptor), 0);
	/* the server thread is parked again: nothing holds the write end */
	p.fd = rel[0];
	p.events = POLLIN;
	CHECK_EQ(poll(&p, 1, 5000), 1);
	CHECK_EQ(read(rel[0], &c, 1), 0);
	kd_server_stop(&s);
	close(rel[0]);
	close(fd);
}

/*
 * A client with no room in its descriptor table: its call succeeds with
 * the data and no descriptors, and the server's RETURN fails with EMFILE,
 * the server keeping both descriptors (the DOOR_RELEASE one too), as
 * illumos does.
 */
static void
test_client_without_room(void)
{
	struct kd_server s;
	int fd, rel[2], st;
	pid_t pid;

	fd = kd_create(0, 0, 0);
	REQUIRE(fd >= 0);
	REQUIRE(pipe(rel) == 0);
	relfd = rel[1];
	give_fd = rel[0];
	REQUIRE(kd_server_start(&s, give, 1, -1) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct door_uapi_call out;
		struct rlimit rl = { 64, 64 };
		char rb[256];
		int ok = 1, r;

		(void) kd_open();
		ok &= setrlimit(RLIMIT_NOFILE, &rl) == 0;
		while (dup(0) >= 0)
			;
		r = kd_call(fd, "x", 1, NULL, 0, rb, sizeof (rb), &out);
		ok &= r == 0 && out.desc_num == 0 && out.data_size == 5 &&
		    memcmp(rb, "gift", 5) == 0 && !(out.flags & DOOR_CALL_MAPPED);
		_exit(ok ? 0 : 1);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ(s.reply_emfile, 1);
	CHECK(fcntl(rel[1], F_GETFD) >= 0); /* DOOR_RELEASE: kept */
	CHECK(fcntl(rel[0], F_GETFD) >= 0);
	kd_server_stop(&s);
	close(rel[0]);
	close(rel[1]);
	close(fd);
}

static void t1(void) { one(0, 0); }
static void t2(void) { one(1, 0); }
static void t3(void) { one(0, 63); }
static void t4(void) { one(1, 63); }

int
main(void)
{
	entered = mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0);
	release = entered + 1;
	sem_init(entered, 1, 0);
	sem_init(release, 1, 0);
	RUN(test_taken_and_closed);
	RUN(test_client_without_room);
	RUN(t1); RUN(t2); RUN(t3); RUN(t4);
	return (harness_done());
}
