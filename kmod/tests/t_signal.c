/*
 * t_signal - signals around a door call: a caught signal aborts a call with
 * EINTR and sends the cancellation signal to the server thread (not with
 * DOOR_NO_CANCEL); a signal while waiting for a free server thread gives
 * EAGAIN; a parked server thread gets EINTR; SIGSTOP/SIGCONT of the client
 * or of the server does not abort anything.
 */
#include "doorio.h"
#include "harness.h"

static sem_t *started, *release;
static volatile pid_t cancelled_tid;
static volatile int cancel_code;

static void
on_cancel(int sig, siginfo_t *si, void *uc)
{
	(void) sig;
	(void) uc;
	cancel_code = si->si_code;
	cancelled_tid = tid();
}

static void
blocking(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	(void) area;
	sem_post(started);
	(void) wait_sem(release, 30);
	r->data = (void *)(uintptr_t)inv->data_ptr;
	r->size = inv->data_size;
}

static void
drain(void)
{
	while (sem_trywait(started) == 0)
		;
	while (sem_trywait(release) == 0)
		;
}

struct caller {
	int door;
	int ret, err;
	volatile int done;
	pthread_t th;
};

static void *
call_thread(void *arg)
{
	struct caller *c = arg;
	char res[16];

	c->ret = kd_call(c->door, "x", 1, NULL, 0, res, sizeof (res), NULL);
	c->err = errno;
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
	return (NULL);
}

/* Signal the caller thread (SIGUSR1, caught) until its call returns. */
static void
interrupt_until_done(struct caller *c)
{
	int i;

	for (i = 0; i < 3000 && !c->done; i++) {
		pthread_kill(c->th, SIGUSR1);
		usleep(10000);
	}
	pthread_join(c->th, NULL);
}

static void
setup_cancel(void)
{
	struct door_uapi_config cfg = { .cancel_signal = SIGRTMIN + 2 };
	struct sigaction sa;

	memset(&sa, 0, sizeof (sa));
	sa.sa_sigaction = on_cancel;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGRTMIN + 2, &sa, NULL);
	signal(SIGUSR1, on_sig);
	CHECK_EQ(ioctl(kd_ctl, DOOR_IOC_CONFIG, &cfg), 0);
	cfg.cancel_signal = 9;
	expect_errno(ioctl(kd_ctl, DOOR_IOC_CONFIG, &cfg), EINVAL);
	cfg.cancel_signal = 1000;
	expect_errno(ioctl(kd_ctl, DOOR_IOC_CONFIG, &cfg), EINVAL);
}

static void
eintr_and_cancel(void)
{
	struct kd_server s;
	struct caller c;
	int i;

	drain();
	memset(&c, 0, sizeof (c));
	c.door = kd_create(1, 2, 0);
	REQUIRE(c.door >= 0);
	kd_server_start(&s, blocking, 1, -1);
	cancelled_tid = 0;
	REQUIRE(pthread_create(&c.th, NULL, call_thread, &c) == 0);
	CHECK_EQ(wait_sem(started, 30), 0);
	interrupt_until_done(&c);
	CHECK_EQ(c.ret, -1);
	CHECK_EQ(c.err, EINTR);
	/* the server thread was told, with a signal userspace cannot forge */
	for (i = 0; i < 500 && cancelled_tid == 0; i++)
		usleep(10000);
	CHECK(cancelled_tid != 0);
	CHECK_EQ(cancel_code, SI_KERNEL);
	sem_post(release);
	kd_server_stop(&s);
	close(c.door);
}

static void
no_cancel(void)
{
	struct kd_server s;
	struct caller c;

	drain();
	memset(&c, 0, sizeof (c));
	c.door = kd_create(1, 2, DOOR_UAPI_NO_CANCEL);
	REQUIRE(c.door >= 0);
	kd_server_start(&s, blocking, 1, -1);
	cancelled_tid = 0;
	REQUIRE(pthread_create(&c.th, NULL, call_thread, &c) == 0);
	CHECK_EQ(wait_sem(started, 30), 0);
	interrupt_until_done(&c);
	CHECK_EQ(c.err, EINTR);
	sem_post(release);
	kd_server_stop(&s); /* the procedure returned: it was not cancelled */
	CHECK_EQ(cancelled_tid, 0);
	close(c.door);
}

static void
eagain_waiting_for_thread(void)
{
	struct caller c;

	/* a private door with no thread bound: the caller waits for one */
	memset(&c, 0, sizeof (c));
	c.door = kd_create(1, 2, DOOR_UAPI_PRIVATE);
	REQUIRE(c.door >= 0);
	REQUIRE(pthread_create(&c.th, NULL, call_thread, &c) == 0);
	interrupt_until_done(&c);
	CHECK_EQ(c.ret, -1);
	CHECK_EQ(c.err, EAGAIN);
	close(c.door);
}

static void
revoked_while_waiting(void)
{
	struct caller c;
	int i;

	memset(&c, 0, sizeof (c));
	c.door = kd_create(1, 2, DOOR_UAPI_PRIVATE);
	REQUIRE(c.door >= 0);
	REQUIRE(pthread_create(&c.th, NULL, call_thread, &c) == 0);
	usleep(50000);
	/* revoking wakes it (whether it was already waiting or not) */
	CHECK_EQ(kd_revoke(dup(c.door)), 0);
	for (i = 0; i < 3000 && !c.done; i++)
		usleep(10000);
	pthread_join(c.th, NULL);
	CHECK_EQ(c.err, EBADF);
	close(c.door);
}

static volatile int parked_ret, parked_err, parked_done;

static void *
park_thread(void *arg)
{
	struct door_uapi_return ur;
	static char area[4096];

	(void) arg;
	memset(&ur, 0, sizeof (ur));
	ur.area_ptr = (uintptr_t)area;
	ur.area_size = sizeof (area);
	parked_ret = ioctl(kd_ctl, DOOR_IOC_RETURN, &ur);
	parked_err = errno;
	(void) ioctl(kd_ctl, DOOR_IOC_THREAD_EXIT);
	parked_done = 1;
	return (NULL);
}

static void
parked_thread_eintr(void)
{
	pthread_t th;
	int i;

	REQUIRE(pthread_create(&th, NULL, park_thread, NULL) == 0);
	for (i = 0; i < 3000 && !parked_done; i++) {
		pthread_kill(th, SIGUSR1);
		usleep(10000);
	}
	pthread_join(th, NULL);
	CHECK_EQ(parked_ret, -1);
	CHECK_EQ(parked_err, EINTR);
}

/* SIGSTOP and SIGCONT of a client in the middle of its call. */
static void
stop_cont_client(void)
{
	struct kd_server s;
	int door = kd_create(1, 2, 0), st;
	pid_t pid;

	drain();
	REQUIRE(door >= 0);
	kd_server_start(&s, blocking, 1, -1);
	pid = harness_fork();
	if (pid == 0) {
		char res[16] = { 0 };
		struct door_uapi_call out;

		CHECK_EQ(kd_call(door, "hello", 5, NULL, 0, res, sizeof (res),
		    &out), 0);
		CHECK_EQU(out.data_size, 5);
		CHECK(memcmp(res, "hello", 5) == 0);
		harness_child_exit();
	}
	CHECK_EQ(wait_sem(started, 30), 0);
	CHECK_EQ(kill(pid, SIGSTOP), 0);
	CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
	CHECK(WIFSTOPPED(st));
	CHECK_EQ(kill(pid, SIGCONT), 0);
	/* stop it again and let the reply arrive while it is stopped */
	CHECK_EQ(kill(pid, SIGSTOP), 0);
	CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
	sem_post(release);
	usleep(20000);
	CHECK_EQ(kill(pid, SIGCONT), 0);
	harness_wait_child(pid);
	CHECK_EQ(kd_stat("suspended"), 0);
	kd_server_stop(&s);
	close(door);
}

/* A stopped client that is killed: the suspended call is cleaned up. */
static void
stop_then_kill_client(void)
{
	struct kd_server s;
	int door = kd_create(1, 2, 0), i, st;
	pid_t pid;

	drain();
	REQUIRE(door >= 0);
	kd_server_start(&s, blocking, 1, -1);
	pid = harness_fork();
	if (pid == 0) {
		(void) kd_call(door, "x", 1, NULL, 0, NULL, 0, NULL);
		_exit(0);
	}
	CHECK_EQ(wait_sem(started, 30), 0);
	CHECK_EQ(kill(pid, SIGSTOP), 0);
	CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
	CHECK_EQ(kill(pid, SIGKILL), 0);
	CHECK_EQ(waitpid(pid, NULL, 0), pid);
	sem_post(release);
	for (i = 0; i < 500 && (kd_stat("suspended") != 0 ||
	    kd_stat("calls") != 0); i++)
		usleep(10000);
	CHECK_EQ(kd_stat("suspended"), 0);
	CHECK_EQ(kd_stat("calls"), 0);
	kd_server_stop(&s);
	close(door);
}

/* SIGSTOP/SIGCONT of a server process with parked threads. */
static void
stop_cont_server(void)
{
	int sv[2], door, st;
	pid_t pid;
	char res[8];

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	pid = harness_fork();
	if (pid == 0) {
		struct kd_server s;
		int fd;

		kd_ctl = -1;
		fd = kd_create(1, 2, 0);
		kd_server_start(&s, kd_echo, 2, -1);
		send_fd(sv[1], fd);
		for (;;)
			pause();
	}
	door = recv_fd(sv[0]);
	REQUIRE(door >= 0);
	CHECK_EQ(kill(pid, SIGSTOP), 0);
	CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
	CHECK_EQ(kill(pid, SIGCONT), 0);
	CHECK_EQ(kd_call(door, "ab", 2, NULL, 0, res, sizeof (res), NULL), 0);
	CHECK(memcmp(res, "ab", 2) == 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(door);
	close(sv[0]);
	close(sv[1]);
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
	setup_cancel();
	RUN(eintr_and_cancel);
	RUN(no_cancel);
	RUN(eagain_waiting_for_thread);
	RUN(revoked_while_waiting);
	RUN(parked_thread_eintr);
	RUN(stop_cont_client);
	RUN(stop_then_kill_client);
	RUN(stop_cont_server);
	return harness_done();
}
