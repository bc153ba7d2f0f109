/*
 * t_abort.c - calls that end abnormally: client cancellation, signals and
 * death; procedures that return; server death.
 *
 * Clauses exercised (door_call(3C), door_return(3C), door_ucred(3C),
 * door_server_create(3C); the "Process lifecycle" section of
 * KNOWN_DIFFERENCES.md: the
 * server thread of an aborted call is cancelled with pthread_cancel
 * unless the door has DOOR_NO_CANCEL):
 *  - a client thread cancelled (pthread_cancel) in door_call while the
 *    procedure runs ends as cancelled (door_call is a cancellation point);
 *    the server thread, running with cancellation enabled, is cancelled
 *    (its cleanup handler runs), and door_ucred in it then fails with
 *    EINVAL; the door keeps working;
 *  - the same on a DOOR_NO_CANCEL door: the procedure sees door_ucred
 *    EINVAL, is not cancelled, and finishes normally;
 *  - a client interrupted by a signal mid-call gets EINTR with rbuf
 *    untouched; the server's later door_return succeeds (does not return),
 *    its results are discarded, the DOOR_RELEASE descriptor it returned is
 *    closed in the server, and no descriptor leaks in either process;
 *  - a client process SIGKILLed mid-call: the same on the server side, and
 *    no thread or mapping leaks either;
 *  - a procedure that returns without door_return: its thread ends, the
 *    client (same process or another) gets EINTR, the door keeps working;
 *    when that was the last thread of the server process (its main thread
 *    serving alone), the process exits (status 0) and its door is dead;
 *  - a server process SIGKILLed mid-call: the client gets EINTR (rbuf
 *    untouched); door_info then shows di_target == -1 and DOOR_REVOKED, and
 *    door_call fails with EBADF; the client leaks no descriptor;
 *  - a signal while waiting for a free server thread (the only thread is
 *    busy; a private door with no thread at all) gives EAGAIN, and the
 *    call is not performed later, when a thread becomes free or binds;
 *  - calls that complete normally never cancel their server thread: a
 *    procedure that enables cancellation and reaches a cancellation point
 *    is not cancelled, over 48 client processes' first calls.
 *
 * The server is this process; clients are forked children.  State shared
 * with them lives in a MAP_SHARED page with process-shared semaphores.
 */
#define _GNU_SOURCE
#include <door.h>
#include <ucred.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "harness.h"

/* ---------------------------------------------------------------- utils */

/* CHECK that the descriptor count settles back to `want`; list if not. */
#define CHECK_FDS(want, why) do { \
	int w_ = (want); \
	if (!CHECK_EQ(count_fds_settled(w_), w_)) \
		dump_fds(why); \
} while (0)

/* SIGUSR1 interrupts system calls (no SA_RESTART). */
static void
catch_sigusr1(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof (sa));
	sa.sa_handler = on_sig;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

/* --------------------------------------------------------- shared state */

struct shm {
	sem_t entered;		/* the procedure is running */
	sem_t release;		/* the procedure may go on */
	sem_t done;		/* the procedure finished or was cancelled */
	sem_t aborted_seen;	/* the procedure saw door_ucred fail */
	sem_t client_ready;	/* the client is about to call */
	sem_t client_done;	/* the client's door_call returned */
	sem_t server_returned;	/* the server's door_return is over */
	sem_t go;		/* the client may make its call */
	volatile int cleanup_ran, finished;
	volatile pid_t ucred_pid_at_entry;
	volatile int ucred_after_rc, ucred_after_err;
	volatile int ret_rc, ret_err;	/* a door_return that returned */
	volatile int echo_count;
	volatile pid_t proc_tid;	/* thread of the last OP_RETURN_PLAIN */
	volatile int spurious;		/* cancellations without an abort */
};

static struct shm *sh;

static void
shm_reset(void)
{
	if (sh != NULL) {
		sem_destroy(&sh->entered);
		sem_destroy(&sh->release);
		sem_destroy(&sh->done);
		sem_destroy(&sh->aborted_seen);
		sem_destroy(&sh->client_ready);
		sem_destroy(&sh->client_done);
		sem_destroy(&sh->server_returned);
		sem_destroy(&sh->go);
	} else {
		sh = harness_shared(sizeof (*sh));
	}
	memset(sh, 0, sizeof (*sh));
	sem_init(&sh->entered, 1, 0);
	sem_init(&sh->release, 1, 0);
	sem_init(&sh->done, 1, 0);
	sem_init(&sh->aborted_seen, 1, 0);
	sem_init(&sh->client_ready, 1, 0);
	sem_init(&sh->client_done, 1, 0);
	sem_init(&sh->server_returned, 1, 0);
	sem_init(&sh->go, 1, 0);
}

/* ------------------------------------------------------ the procedure */

enum {
	OP_ECHO,
	OP_BLOCK,		/* wait for release, then echo */
	OP_CANCELLABLE,		/* wait, cancellable, with a cleanup handler */
	OP_NOCANCEL_WAIT,	/* wait for the abort, cancellable */
	OP_HOLD_RETURN_DESC,	/* wait, then return data + DOOR_RELEASE fd */
	OP_RETURN_PLAIN,	/* return without door_return */
	OP_TESTCANCEL		/* a cancellation point, cancellation enabled */
};

static volatile int rel_fd = -1;	/* OP_HOLD_RETURN_DESC's descriptor */

static void
cleanup(void *arg)
{
	ucred_t *uc = NULL;

	(void) arg;
	errno = 0;
	sh->ucred_after_rc = door_ucred(&uc);
	sh->ucred_after_err = errno;
	if (uc != NULL)
		ucred_free(uc);
	sh->cleanup_ran = 1;
	sem_post(&sh->done);
}

static void
count_spurious(void *arg)
{
	(void) arg;
	__atomic_fetch_add(&sh->spurious, 1, __ATOMIC_SEQ_CST);
}

static pid_t
caller_pid(void)
{
	ucred_t *uc = NULL;
	pid_t p = -2;

	if (door_ucred(&uc) == 0)
		p = ucred_getpid(uc);
	if (uc != NULL)
		ucred_free(uc);
	return (p);
}

static void
aproc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	int op = OP_ECHO;

	(void) cookie; (void) dp; (void) n_desc;
	if (argp != NULL && arg_size >= sizeof (int))
		memcpy(&op, argp, sizeof (int));
	switch (op) {
	case OP_ECHO:
		__atomic_fetch_add(&sh->echo_count, 1, __ATOMIC_SEQ_CST);
		break;
	case OP_BLOCK:
		sem_post(&sh->entered);
		while (sem_wait(&sh->release) != 0)
			;
		break;
	case OP_CANCELLABLE:
		sh->ucred_pid_at_entry = caller_pid();
		(void) pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL);
		(void) pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		pthread_cleanup_push(cleanup, NULL);
		sem_post(&sh->entered);
		while (sem_wait(&sh->release) != 0)	/* cancellation point */
			;
		pthread_cleanup_pop(0);
		(void) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		sh->finished = 1;
		sem_post(&sh->done);
		break;
	case OP_NOCANCEL_WAIT: {
		ucred_t *uc = NULL;

		sh->ucred_pid_at_entry = caller_pid();
		(void) pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL);
		(void) pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		pthread_cleanup_push(cleanup, NULL);
		sem_post(&sh->entered);
		/* until the client is gone (usleep: a cancellation point) */
		while ((sh->ucred_after_rc = door_ucred(&uc)) == 0)
			usleep(1000);
		sh->ucred_after_err = errno;
		sem_post(&sh->aborted_seen);
		while (sem_wait(&sh->release) != 0)	/* cancellation point */
			;
		pthread_cleanup_pop(0);
		(void) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		if (uc != NULL)
			ucred_free(uc);
		sh->finished = 1;
		sem_post(&sh->done);
		break;
	}
	case OP_HOLD_RETURN_DESC: {
		static char results[] = "results!";
		door_desc_t d;

		sem_post(&sh->entered);
		while (sem_wait(&sh->release) != 0)
			;
		memset(&d, 0, sizeof (d));
		d.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
		d.d_data.d_desc.d_descriptor = rel_fd;
		sh->ret_rc = door_return(results, sizeof (results), &d, 1);
		sh->ret_err = errno;
		(void) door_return(NULL, 0, NULL, 0);
		return;
	}
	case OP_RETURN_PLAIN:
		sh->proc_tid = tid();
		return;
	case OP_TESTCANCEL:
		(void) pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		pthread_cleanup_push(count_spurious, NULL);
		pthread_testcancel();
		pthread_cleanup_pop(0);
		(void) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		break;		/* ends this thread; the client gets EINTR */
	}
	(void) door_return(argp, arg_size, NULL, 0);
}

/* Call with an op; rbuf is filled with 0xAA first.  Returns door_call's. */
static unsigned char last_rbuf[64];

static int
call_op(int fd, int op)
{
	door_arg_t a;
	int buf[2] = { op, 7 };

	memset(&a, 0, sizeof (a));
	memset(last_rbuf, 0xAA, sizeof (last_rbuf));
	a.data_ptr = (char *)buf;
	a.data_size = sizeof (buf);
	a.rbuf = (char *)last_rbuf;
	a.rsize = sizeof (last_rbuf);
	return (door_call(fd, &a));
}

static int
rbuf_untouched(void)
{
	size_t i;

	for (i = 0; i < sizeof (last_rbuf); i++)
		if (last_rbuf[i] != 0xAA)
			return (0);
	return (1);
}

/* ------------------------------------ private doors with one bound thread */

static door_server_func_t *default_creator;
static int private_threads_wanted = 1;
static volatile door_id_t pub_id;
static volatile int pub_fd = -1;
static sem_t bound_ready;

static void *
bound_thread(void *arg)
{
	door_id_t id = (door_id_t)(uintptr_t)arg;

	while (__atomic_load_n(&pub_id, __ATOMIC_ACQUIRE) != id)
		usleep(1000);
	(void) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	if (door_bind(pub_fd) != 0) {
		perror("door_bind");
		sem_post(&bound_ready);
		return (NULL);
	}
	sem_post(&bound_ready);
	(void) door_return(NULL, 0, NULL, 0);
	return (NULL);
}

static void
creator(door_info_t *dip)
{
	if (dip == NULL)
		default_creator(NULL);
	else if (!(dip->di_attributes & DOOR_DEPLETION_CB) &&
	    private_threads_wanted)
		spawn(bound_thread, (void *)(uintptr_t)dip->di_uniquifier);
	/* private depletion: decline, the door keeps exactly one thread */
}

/* A DOOR_PRIVATE door served by exactly one thread (or none). */
static int
private_door(int nthreads)
{
	door_info_t di;
	int fd;

	private_threads_wanted = nthreads;
	fd = door_create(aproc, NULL, DOOR_PRIVATE);
	private_threads_wanted = 1;
	if (fd < 0 || door_info(fd, &di) != 0)
		return (-1);
	pub_fd = fd;
	__atomic_store_n(&pub_id, di.di_uniquifier, __ATOMIC_RELEASE);
	if (nthreads > 0 && wait_sem(&bound_ready, 20) != 0)
		return (-1);
	return (fd);
}

/* Make the client child `pid` give up its call: SIGUSR1 until it says so. */
static int
interrupt_until_done(pid_t pid)
{
	int i;

	for (i = 0; i < 400; i++) {
		kill(pid, SIGUSR1);
		if (wait_sem_ms(&sh->client_done, 50) == 0)
			return (0);
	}
	return (-1);
}

/* ------------------------------------------------------------ the cases */

struct caller { int fd, op, rc, err; };

static void *
caller_thread(void *arg)
{
	struct caller *c = arg;

	c->rc = call_op(c->fd, c->op);
	c->err = errno;
	return (NULL);
}

/* A client thread cancelled in door_call: the server thread is too. */
static void
cancel_case(int attrs)
{
	int fd, fds;
	pid_t pid;

	shm_reset();
	fds = count_fds_stable();
	fd = door_create(aproc, NULL, attrs);
	REQUIRE(fd >= 0);
	CHECK_EQ(call_op(fd, OP_ECHO), 0);	/* warm-up */
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct caller c = { fd, OP_CANCELLABLE, 0, 0 };
		pthread_t t;
		void *ret = NULL;

		if (attrs & DOOR_NO_CANCEL)
			c.op = OP_NOCANCEL_WAIT;
		REQUIRE(pthread_create(&t, NULL, caller_thread, &c) == 0);
		CHECK(wait_sem(&sh->entered, 20) == 0);
		CHECK_EQ(pthread_cancel(t), 0);
		CHECK_EQ(pthread_join(t, &ret), 0);
		CHECK_PTR_EQ(ret, PTHREAD_CANCELED);	/* a cancellation point */
		harness_child_exit();
	}
	harness_wait_child(pid);
	if (attrs & DOOR_NO_CANCEL) {
		/* The procedure sees the abort, and is not cancelled. */
		CHECK(wait_sem(&sh->aborted_seen, 20) == 0);
		usleep(300000);		/* give a wrong cancel a chance */
		sem_post(&sh->release);
		if (CHECK(wait_sem(&sh->done, 20) == 0)) {
			CHECK_EQ(sh->finished, 1);
			CHECK_EQ(sh->cleanup_ran, 0);
		}
	} else if (CHECK(wait_sem(&sh->done, 20) == 0)) {
		CHECK_EQ(sh->cleanup_ran, 1);	/* cancelled */
		CHECK_EQ(sh->finished, 0);
	}
	CHECK_EQ(sh->ucred_pid_at_entry, pid);
	CHECK_EQ(sh->ucred_after_rc, -1);	/* the client is gone */
	CHECK_EQ(sh->ucred_after_err, EINVAL);
	/* The door still works. */
	CHECK_EQ(call_op(fd, OP_ECHO), 0);
	CHECK_EQ(door_revoke(fd), 0);
	CHECK_FDS(fds, "after the revoke");
}

static void
test_cancelled_client(void)
{
	cancel_case(0);
}

static void
test_cancelled_client_no_cancel(void)
{
	cancel_case(DOOR_NO_CANCEL);
}

/*
 * A client that gives up mid-call (signal: EINTR; or SIGKILL): the
 * server's door_return, with data and a DOOR_RELEASE descriptor, succeeds;
 * the descriptor is closed; nothing leaks.  The door has one thread, so a
 * follow-up call completes only after that door_return is over.
 */
static void
aborted_client_case(int kill_it)
{
	int fd, fds, thr, maps, rel[2], st = 0;
	char c;
	pid_t pid;

	shm_reset();
	fd = private_door(1);
	REQUIRE(fd >= 0);
	CHECK_EQ(call_op(fd, OP_ECHO), 0);	/* warm-up */
	fds = count_fds_stable();
	thr = count_threads();
	maps = count_maps();
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int before;

		catch_sigusr1();
		CHECK_EQ(call_op(fd, OP_ECHO), 0);	/* warm-up */
		before = count_fds_stable();
		sem_post(&sh->client_ready);
		errno = 0;
		expect_errno(call_op(fd, OP_HOLD_RETURN_DESC), EINTR);
		CHECK(rbuf_untouched());
		CHECK(got_sig > 0);
		sem_post(&sh->client_done);
		/* Once the server has returned, nothing has arrived here. */
		CHECK(wait_sem(&sh->server_returned, 30) == 0);
		/*
		 * The aborted call's fast-path channel was closed (so that the
		 * server saw the abort); the next call makes a new one.
		 */
		CHECK_EQ(call_op(fd, OP_ECHO), 0);
		CHECK_FDS(before, "after the aborted call");
		harness_child_exit();
	}
	REQUIRE(wait_sem(&sh->client_ready, 20) == 0);
	REQUIRE(wait_sem(&sh->entered, 20) == 0);
	if (kill_it) {
		CHECK_EQ(kill(pid, SIGKILL), 0);
		CHECK_EQ(waitpid(pid, &st, 0), pid);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	} else {
		CHECK_EQ(interrupt_until_done(pid), 0);
	}
	/* Now the server returns data and a DOOR_RELEASE descriptor. */
	REQUIRE(pipe(rel) == 0);
	rel_fd = rel[1];
	sem_post(&sh->release);
	/* EOF: the released write end is closed in the server. */
	CHECK_EQ(read(rel[0], &c, 1), 0);
	close(rel[0]);
	/* The one thread is parked again: its door_return succeeded. */
	CHECK_EQ(call_op(fd, OP_ECHO), 0);
	CHECK_EQ(sh->ret_rc, 0);	/* door_return never came back */
	sem_post(&sh->server_returned);
	if (!kill_it)
		harness_wait_child(pid);
	CHECK_FDS(fds, "after the aborted call");
	CHECK_EQ(count_threads_settled(thr), thr);
	CHECK_MAPS(maps);
	CHECK_EQ(door_revoke(fd), 0);
}

static void
test_client_signalled(void)
{
	aborted_client_case(0);
}

static void
test_client_killed(void)
{
	aborted_client_case(1);
}

/* A procedure that returns: its thread ends, the client gets EINTR. */
static int
task_exists(pid_t t)
{
	char p[64];

	snprintf(p, sizeof (p), "/proc/self/task/%d", (int)t);
	return (access(p, F_OK) == 0);
}

static int
task_gone(pid_t t)
{
	int i;

	for (i = 0; i < 500 && task_exists(t); i++)
		usleep(10000);
	return (!task_exists(t));
}

static void
test_procedure_returns(void)
{
	int fd, fds;
	pid_t pid, t;

	shm_reset();
	fd = door_create(aproc, NULL, 0);
	REQUIRE(fd >= 0);
	CHECK_EQ(call_op(fd, OP_ECHO), 0);
	fds = count_fds_stable();

	expect_errno(call_op(fd, OP_RETURN_PLAIN), EINTR);
	CHECK(rbuf_untouched());
	t = sh->proc_tid;
	CHECK(t != 0 && t != tid());
	CHECK(task_gone(t));		/* the thread ended */
	CHECK_EQ(call_op(fd, OP_ECHO), 0);	/* the door keeps working */

	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		expect_errno(call_op(fd, OP_RETURN_PLAIN), EINTR);
		CHECK(rbuf_untouched());
		CHECK_EQ(call_op(fd, OP_ECHO), 0);
		harness_child_exit();
	}
	harness_wait_child(pid);
	t = sh->proc_tid;
	CHECK(task_gone(t));
	CHECK_EQ(call_op(fd, OP_ECHO), 0);
	CHECK_FDS(fds, "after the calls");
	CHECK_EQ(door_revoke(fd), 0);
}

/*
 * Let this thread's fast-path channel cache settle (KNOWN_DIFFERENCES.md,
 * "The fast path"): setting up a channel releases those whose server
 * died, and a door_revoke by this thread releases that door's own.
 */
static void
sweep(void)
{
	int fd = door_create(aproc, NULL, 0);

	if (fd >= 0) {
		(void) call_op(fd, OP_ECHO);
		(void) door_revoke(fd);
	}
}

/*
 * When the thread whose procedure returns is the last thread of its
 * process, the process exits (as on illumos).  The server here has
 * no thread but its main thread, which joined the pool with door_return.
 */
static void
no_threads(door_info_t *dip)
{
	(void) dip;
}

static void
test_last_thread_returns(void)
{
	int sv[2], fd, st = 0, i;
	pid_t pid, r = 0;

	shm_reset();
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int d;

		(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[0]);
		(void) door_server_create(no_threads);
		d = door_create(aproc, NULL, 0);
		CHECK(d >= 0);
		CHECK_EQ(send_fd(sv[1], d), 0);
		close(sv[1]);
		(void) door_return(NULL, 0, NULL, 0);
		harness_child_exit();		/* not reached */
	}
	close(sv[1]);
	fd = recv_fd(sv[0]);
	close(sv[0]);
	if (CHECK(fd >= 0)) {
		CHECK_EQ(call_op(fd, OP_ECHO), 0);	/* served by main */
		expect_errno(call_op(fd, OP_RETURN_PLAIN), EINTR);
		CHECK(rbuf_untouched());
	}
	for (i = 0; i < 1000 && r == 0; i++) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == 0)
			usleep(10000);
	}
	if (!CHECK_EQ(r, pid)) {
		NOTE("the server (%d) is still there 10 s after its last "
		    "thread ended", (int)pid);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	} else {
		CHECK(WIFEXITED(st));		/* exited, not killed */
		CHECK_EQ(WEXITSTATUS(st), 0);
	}
	if (fd >= 0) {
		door_info_t di;

		if (CHECK_EQ(door_info(fd, &di), 0)) {
			CHECK_EQ(di.di_target, -1);
			CHECK(di.di_attributes & DOOR_REVOKED);
		}
		expect_errno(call_op(fd, OP_ECHO), EBADF);
		close(fd);
	}
}

/* The server process dies mid-call. */
static volatile pid_t victim;

static void *
killer(void *arg)
{
	(void) arg;
	if (wait_sem(&sh->entered, 20) == 0)
		kill(victim, SIGKILL);
	return (NULL);
}

static void
test_server_killed(void)
{
	int sv[2], fd, fds, st = 0;
	door_info_t di;
	pthread_t k;
	pid_t pid;

	shm_reset();
	sweep();
	fds = count_fds_stable();
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int d;

		(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
		d = door_create(aproc, NULL, 0);
		close(sv[0]);
		CHECK(d >= 0);
		CHECK_EQ(send_fd(sv[1], d), 0);
		for (;;)
			pause();
	}
	close(sv[1]);
	fd = recv_fd(sv[0]);
	close(sv[0]);
	if (!CHECK(fd >= 0)) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return;
	}
	/*
	 * Asked while the server lives: libdoor learns di_proc from the
	 * server itself, and keeps it for after its death (a process that
	 * never asked gets 0 then: KNOWN_DIFFERENCES.md).
	 */
	CHECK_EQ(door_info(fd, &di), 0);
	victim = pid;
	REQUIRE(pthread_create(&k, NULL, killer, NULL) == 0);
	expect_errno(call_op(fd, OP_BLOCK), EINTR);
	CHECK(rbuf_untouched());
	pthread_join(k, NULL);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	if (CHECK_EQ(door_info(fd, &di), 0)) {
		CHECK_EQ(di.di_target, -1);
		CHECK(di.di_attributes & DOOR_REVOKED);
		CHECK(!(di.di_attributes & DOOR_LOCAL));
		CHECK_EQU(di.di_proc, (uintptr_t)aproc);
	}
	expect_errno(call_op(fd, OP_ECHO), EBADF);
	expect_errno(door_call(fd, NULL), EBADF);
	CHECK(rbuf_untouched());
	CHECK_EQ(close(fd), 0);
	sweep();
	CHECK_FDS(fds, "after closing the dead door");
}

/*
 * A signal while waiting for a free server thread: EAGAIN, and the call
 * is never performed.  (a) The only thread is busy.
 */
static void
test_signal_waiting_busy(void)
{
	struct caller a;
	pthread_t t;
	int fd, fds;
	pid_t pid;

	shm_reset();
	fd = private_door(1);
	REQUIRE(fd >= 0);
	CHECK_EQ(call_op(fd, OP_ECHO), 0);	/* warm-up */
	fds = count_fds_stable();
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int before;

		catch_sigusr1();
		CHECK_EQ(call_op(fd, OP_ECHO), 0);	/* warm-up */
		before = count_fds_stable();
		sem_post(&sh->client_ready);
		CHECK(wait_sem(&sh->go, 20) == 0);
		expect_errno(call_op(fd, OP_ECHO), EAGAIN);
		CHECK(rbuf_untouched());
		sem_post(&sh->client_done);
		CHECK_FDS(before, "after EAGAIN");
		harness_child_exit();
	}
	CHECK(wait_sem(&sh->client_ready, 20) == 0);
	sh->echo_count = 0;
	a.fd = fd;
	a.op = OP_BLOCK;
	REQUIRE(pthread_create(&t, NULL, caller_thread, &a) == 0);
	REQUIRE(wait_sem(&sh->entered, 20) == 0);	/* the thread is busy */
	sem_post(&sh->go);
	CHECK_EQ(interrupt_until_done(pid), 0);
	harness_wait_child(pid);
	/* Free the thread: the abandoned call must not run now. */
	sem_post(&sh->release);
	pthread_join(t, NULL);
	CHECK_EQ(a.rc, 0);
	CHECK_EQ(call_op(fd, OP_ECHO), 0);	/* queued after it */
	CHECK_EQ(sh->echo_count, 1);		/* only this one ran */
	CHECK_FDS(fds, "after the calls");
	CHECK_EQ(door_revoke(fd), 0);
}

/* (b) A private door with no thread at all; one binds afterwards. */
static void
test_signal_waiting_no_thread(void)
{
	int fd, fds;
	pid_t pid;

	shm_reset();
	fd = private_door(0);
	REQUIRE(fd >= 0);
	fds = count_fds_stable();
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int before;

		catch_sigusr1();
		sem_post(&sh->client_ready);
		expect_errno(call_op(fd, OP_ECHO), EAGAIN);
		CHECK(rbuf_untouched());
		sem_post(&sh->client_done);
		/* A second one: it costs nothing more. */
		before = count_fds_stable();
		CHECK(wait_sem(&sh->go, 20) == 0);
		expect_errno(call_op(fd, OP_ECHO), EAGAIN);
		sem_post(&sh->client_done);
		{
			/*
			 * The first call may have ended on the fast path
			 * (its channel withdrawn and kept) or on the socket
			 * path before this thread had a channel; then the
			 * second sets the channel up: two descriptors,
			 * documented, kept for the thread's later calls.
			 */
			int n = count_fds_settled(before);

			if (n == before + 2)
				NOTE("second EAGAIN set up this thread's fast-path channel");
			else if (!CHECK_EQ(n, before))
				dump_fds("after the second EAGAIN");
		}
		harness_child_exit();
	}
	CHECK(wait_sem(&sh->client_ready, 20) == 0);
	CHECK_EQ(interrupt_until_done(pid), 0);
	sem_post(&sh->go);
	CHECK_EQ(interrupt_until_done(pid), 0);
	harness_wait_child(pid);
	CHECK_EQ(sh->echo_count, 0);
	/* A thread binds now; the abandoned call must not run. */
	{
		door_info_t di;

		REQUIRE(door_info(fd, &di) == 0);
		spawn(bound_thread, (void *)(uintptr_t)di.di_uniquifier);
		REQUIRE(wait_sem(&bound_ready, 20) == 0);
	}
	CHECK_EQ(call_op(fd, OP_ECHO), 0);
	CHECK_EQ(sh->echo_count, 1);
	CHECK_EQ(door_revoke(fd), 0);
	/*
	 * One descriptor fewer (the door's); its parked thread may stay. The
	 * count may also drop further: a private pool of an earlier case
	 * closes its epoll descriptor when its last bound thread goes. Never
	 * more than before minus the door's.
	 */
	{
		int n = count_fds_settled(fds - 1);

		if (!CHECK(n <= fds - 1))
			dump_fds("after the revoke");
	}
}

/*
 * Calls that complete normally never cancel the server thread: a
 * procedure that enables cancellation and reaches a cancellation point is
 * not cancelled, however fast its clients come and go (16 client
 * processes, each making its first calls).
 */
static void
spurious_round(int fd)
{
	pid_t pid[16];
	int i;

	for (i = 0; i < 16; i++) {
		pid[i] = harness_fork();
		REQUIRE(pid[i] >= 0);
		if (pid[i] == 0) {
			int n, bad = 0;

			for (n = 0; n < 200; n++) {
				if (call_op(fd, OP_TESTCANCEL) == 0)
					continue;
				if (bad++ == 0)		/* report the first */
					CHECK_EQ(call_op(fd, OP_TESTCANCEL),
					    0);
			}
			CHECK_EQ(bad, 0);
			harness_child_exit();
		}
	}
	for (i = 0; i < 16; i++)
		harness_wait_child(pid[i]);
}

static void
test_no_spurious_cancel(void)
{
	int fd, i;

	shm_reset();
	fd = door_create(aproc, NULL, 0);
	REQUIRE(fd >= 0);
	for (i = 0; i < 3; i++)
		spurious_round(fd);
	for (i = 0; i < 2000; i++)
		if (!CHECK_EQ(call_op(fd, OP_TESTCANCEL), 0))
			break;
	CHECK_EQ(sh->spurious, 0);
	CHECK_EQ(door_revoke(fd), 0);
}

int
main(int argc, char **argv)
{
	harness_only(argc, argv);	/* `t_abort NAME...`: only those cases */
	sem_init(&bound_ready, 0, 0);
	shm_reset();
	default_creator = door_server_create(creator);
	{
		/* Warm-up: the library's one-time descriptors exist now. */
		int fd = door_create(aproc, NULL, 0);

		if (CHECK(fd >= 0)) {
			CHECK_EQ(call_op(fd, OP_ECHO), 0);
			CHECK_EQ(door_revoke(fd), 0);
		}
	}

	RUN(test_cancelled_client);
	RUN(test_cancelled_client_no_cancel);
	RUN(test_client_signalled);
	RUN(test_client_killed);
	RUN(test_procedure_returns);
	RUN(test_last_thread_returns);
	RUN(test_server_killed);
	RUN(test_signal_waiting_busy);
	RUN(test_signal_waiting_no_thread);
	RUN(test_no_spurious_cancel);
	return (harness_done());
}
