/*
 * t_cancelsig.c - a server thread is cancelled only when its own client
 * gives up, never because some process sends it a signal.
 *
 * Under libdoor's kernel backend the /dev/door module tells a server
 * thread that its client gave up by sending it SIGRTMAX-1 with si_code
 * SI_KERNEL, and libdoor's handler then cancels the thread.  A process
 * that may signal the server (the same user, or root) must not be able to
 * cancel server threads by sending that signal itself: kill(2),
 * sigqueue(3) and tgkill(2) at the very thread serving a call must reach
 * the application's own handler for that signal (installed before the
 * door was made) and leave the invocation alone.  Under the userspace
 * backend the signal means nothing to libdoor, and the same holds.
 *
 *  1. kill(2) of the server process, sigqueue(3) and tgkill(2) of the
 *     serving thread, each from another process, while the procedure
 *     waits at a cancellation point with cancellation enabled: the
 *     procedure finishes, its cleanup handler does not run, the client
 *     gets its results, and the application's handler saw each signal.
 */
#include <door.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "harness.h"

struct shared {
	sem_t entered;		/* the procedure is waiting */
	sem_t release;		/* let it finish */
	volatile pid_t tid;	/* the serving thread */
	volatile int handled;	/* the application's handler ran */
	volatile int cleanup;	/* the procedure was cancelled */
	volatile int finished;	/* the procedure returned its results */
};
static struct shared *sh;

static void
app_handler(int sig)
{
	(void) sig;
	__atomic_add_fetch(&sh->handled, 1, __ATOMIC_SEQ_CST);
}

static void
cleanup(void *arg)
{
	(void) arg;
	sh->cleanup = 1;
}

static void
proc_wait(void *cookie, char *argp, size_t n, door_desc_t *dp, uint_t nd)
{
	int old;

	(void) cookie; (void) argp; (void) n; (void) dp; (void) nd;
	(void) pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
	pthread_cleanup_push(cleanup, NULL);
	sh->tid = (pid_t)syscall(SYS_gettid);
	sem_post(&sh->entered);
	/* sem_wait is a cancellation point: a cancel would act here. */
	while (sem_wait(&sh->release) != 0)
		;
	pthread_cleanup_pop(0);
	sh->finished = 1;
	(void) door_return("done", 5, NULL, 0);
}

/* How the signal is sent. */
enum how { BY_KILL, BY_SIGQUEUE, BY_TGKILL };

static void
one_case(enum how how)
{
	pid_t server = getpid(), client, sender;
	int fd, sig = SIGRTMAX - 1, i;

	sh->handled = sh->cleanup = sh->finished = 0;
	sh->tid = 0;
	fd = door_create(proc_wait, NULL, 0);
	REQUIRE(fd >= 0);
	client = harness_fork();
	REQUIRE(client >= 0);
	if (client == 0) {
		char rbuf[16];
		door_arg_t a;

		memset(&a, 0, sizeof (a));
		a.rbuf = rbuf;
		a.rsize = sizeof (rbuf);
		if (CHECK_EQ(door_call(fd, &a), 0))
			CHECK(a.data_size == 5 &&
			    strcmp(a.data_ptr, "done") == 0);
		harness_child_exit();
	}
	sender = harness_fork();
	REQUIRE(sender >= 0);
	if (sender == 0) {
		/* Another process of the server's user. */
		union sigval v;

		CHECK(wait_sem(&sh->entered, 20) == 0);
		v.sival_int = 1;
		for (i = 0; i < 3; i++) {
			if (how == BY_KILL)
				CHECK_EQ(kill(server, sig), 0);
			else if (how == BY_SIGQUEUE)
				CHECK_EQ(sigqueue(server, sig, v), 0);
			else
				CHECK_EQ(syscall(SYS_tgkill, server, sh->tid,
				    sig), 0);
		}
		/* Give the signals time to arrive before letting go. */
		for (i = 0; i < 500 && sh->handled < 1; i++)
			usleep(10000);
		usleep(100000);
		sem_post(&sh->release);
		harness_child_exit();
	}
	harness_wait_child(sender);
	harness_wait_child(client);
	CHECK(sh->handled >= 1);	/* the application's handler ran */
	CHECK_EQ(sh->cleanup, 0);	/* the procedure was not cancelled */
	CHECK_EQ(sh->finished, 1);
	CHECK_EQ(door_revoke(fd), 0);
}

static void
test_kill(void)
{
	one_case(BY_KILL);
}

static void
test_sigqueue(void)
{
	one_case(BY_SIGQUEUE);
}

static void
test_tgkill(void)
{
	one_case(BY_TGKILL);
}

int
main(void)
{
	struct sigaction sa;

	sh = mmap(NULL, sizeof (*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return (1);
	sem_init(&sh->entered, 1, 0);
	sem_init(&sh->release, 1, 0);
	/* The application's handler, installed before any door exists. */
	memset(&sa, 0, sizeof (sa));
	sa.sa_handler = app_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	(void) sigaction(SIGRTMAX - 1, &sa, NULL);
	RUN(test_kill);
	RUN(test_sigqueue);
	RUN(test_tgkill);
	return (harness_done());
}
