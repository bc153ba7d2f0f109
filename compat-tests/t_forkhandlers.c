/*
 * t_forkhandlers.c - fork() racing the library's lazy registration of its
 * fork handlers.
 *
 * Clauses exercised (fork(2) with doors, pthread_atfork(3); door_create(3C),
 * door_bind(3C)): a fork() by one thread of a process must neither hang
 * that process nor leave the child unable to use doors, whatever another
 * thread of the process is doing with doors at that moment, including its
 * first door_create or its first door_bind.
 *
 * Each case runs in a fresh process (the test program itself never uses
 * libdoor), so that what the library registers "at first use" happens
 * inside the case, and the race is forced, not hoped for:
 *
 *  - first_create_*, first_bind_*: a prepare handler of the test's own,
 *    registered after the library's first one (so it runs first), sleeps
 *    while the main thread makes its first door_create / door_bind.  glibc
 *    before 2.36 (commit 52a103e2; e.g. Debian 11, Ubuntu 22.04) holds its
 *    fork-handler lock across the prepare handlers, so a pthread_atfork
 *    made then waits for the whole fork: door_create, which registers a
 *    handler with the process state locked, deadlocks against the state's
 *    prepare handler; and a registration still in progress at the clone
 *    leaves the child's once-flag "running" for ever.  glibc 2.36 drops
 *    the lock while handlers run: there these two cases pass (run them
 *    with an LD_PRELOAD shim that holds a lock over fork() and
 *    __register_atfork to see the older behaviour).
 *  - *_while_fork_stalls: glibc 2.36 still takes that lock after the
 *    prepare handlers and holds it through the clone; the fork is stalled
 *    there (stdio's list lock, held by a fflush(NULL) waiting for a FILE
 *    another thread has locked) while another thread makes its first
 *    door_return or first fast-path call.  The child's first door_bind or
 *    first fast-path call then waits for ever on the inherited once-flag.
 *
 * Linux-specific only in the way the race is forced.
 */
#include <door.h>
#include "harness.h"

#define SCENARIO_SECS 10   /* a scenario process still running then hangs */

static volatile int armed;
static volatile int in_prepare;

static void
slow_prepare(void)
{
	if (__atomic_load_n(&armed, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&armed, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&in_prepare, 1, __ATOMIC_RELEASE);
		(void) usleep(300 * 1000);
	}
}

/* ARGSUSED */
static void
serve(void *cookie, char *argp, size_t asize, door_desc_t *dp, uint_t nd)
{
	(void) cookie; (void) argp; (void) asize; (void) dp; (void) nd;
	(void) door_return(NULL, 0, NULL, 0);
}

/* A creation function that starts no thread. */
/* ARGSUSED */
static void
no_threads(door_info_t *dip)
{
	(void) dip;
}

/*
 * Runs `fn` in a fresh process; fails if it is still running after
 * SCENARIO_SECS (it is then killed) or if it did not exit with 0.
 */
static void
in_fresh_process(void (*fn)(void), const char *what)
{
	pid_t pid = harness_fork();
	int st = 0, i;
	pid_t r = 0;

	if (pid == 0) {
		fn();
		harness_child_exit();
	}
	REQUIRE(pid > 0);
	for (i = 0; i < SCENARIO_SECS * 10; i++) {
		r = waitpid(pid, &st, WNOHANG);
		if (r != 0)
			break;
		(void) usleep(100 * 1000);
	}
	if (r == 0) {
		CHECK(!"scenario process hung");
		NOTE("%s: process %d still running after %d s (killed)", what,
		    (int)pid, SCENARIO_SECS);
		(void) kill(pid, SIGKILL);
		(void) waitpid(pid, &st, 0);
		return;
	}
	CHECK(r == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The forking thread: fork while our prepare handler holds glibc's lock. */
static void *
forker(void *arg)
{
	pid_t pid;
	int st = 0;

	(void) arg;
	__atomic_store_n(&armed, 1, __ATOMIC_RELEASE);
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		(void) waitpid(pid, &st, 0);
	return (NULL);
}

static void
wait_in_prepare(void)
{
	while (!__atomic_load_n(&in_prepare, __ATOMIC_ACQUIRE))
		(void) usleep(1000);
	(void) usleep(20 * 1000);   /* the prepare handler is sleeping now */
}

/*
 * A process that so far has only called a door (another process's) makes
 * its first door while another of its threads forks.
 */
static void
first_create_scenario(void)
{
	int sv[2], did, i;
	pid_t srv;
	char c = 0;
	pthread_t t;

	if (!CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0))
		return;
	srv = fork();
	if (srv == 0) {
		int d = door_create(serve, NULL, 0);

		(void) close(sv[0]);
		(void) send_fd(sv[1], d);
		(void) read(sv[1], &c, 1);   /* until the scenario ends */
		_exit(0);
	}
	(void) close(sv[1]);
	did = recv_fd(sv[0]);
	if (!CHECK(did >= 0))
		return;
	/* A client only, so far: a few calls (the fast path's channel). */
	for (i = 0; i < 4; i++) {
		door_arg_t a = { "x", 1, NULL, 0, NULL, 0 };

		CHECK_EQ(door_call(did, &a), 0);
	}
	CHECK_EQ(count_threads(), 1);   /* no library thread yet */

	(void) pthread_atfork(slow_prepare, NULL, NULL);
	if (!CHECK(pthread_create(&t, NULL, forker, NULL) == 0))
		return;
	wait_in_prepare();
	/* Before: returns once the fork is done.  After: never. */
	did = door_create(serve, NULL, 0);
	CHECK(did >= 0);
	(void) pthread_join(t, NULL);
	(void) close(sv[0]);
	(void) waitpid(srv, NULL, 0);
}

static void
first_create_while_forking(void)
{
	in_fresh_process(first_create_scenario, "first door_create");
}

/*
 * A thread's first door_bind (its first server state) while another thread
 * forks: the fork child must still be able to door_bind.
 */
static int child_bind_ok = 0;

static void *
forker_checking_child(void *arg)
{
	pid_t pid;
	int st = 0, i;
	pid_t r = 0;

	(void) arg;
	__atomic_store_n(&armed, 1, __ATOMIC_RELEASE);
	pid = fork();
	if (pid == 0) {
		/* The child: a private door of its own, and a bind to it. */
		int d = door_create(serve, NULL, DOOR_PRIVATE);

		_exit(d >= 0 && door_bind(d) == 0 ? 0 : 1);
	}
	if (pid < 0)
		return (NULL);
	for (i = 0; i < 50; i++) {
		r = waitpid(pid, &st, WNOHANG);
		if (r != 0)
			break;
		(void) usleep(100 * 1000);
	}
	if (r == 0) {
		(void) kill(pid, SIGKILL);
		(void) waitpid(pid, &st, 0);
		child_bind_ok = -1;   /* hung */
	} else {
		child_bind_ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	return (NULL);
}

static void
first_bind_scenario(void)
{
	int did;
	pthread_t t;

	/* A server process whose creation function starts no thread. */
	(void) door_server_create(no_threads);
	did = door_create(serve, NULL, DOOR_PRIVATE);
	if (!CHECK(did >= 0))
		return;

	(void) pthread_atfork(slow_prepare, NULL, NULL);
	if (!CHECK(pthread_create(&t, NULL, forker_checking_child, NULL) == 0))
		return;
	wait_in_prepare();
	/* This thread's first server state while the fork is under way. */
	CHECK_EQ(door_bind(did), 0);
	(void) pthread_join(t, NULL);
	if (child_bind_ok == -1)
		NOTE("the fork child's door_bind hung (killed after 5 s)");
	CHECK_EQ(child_bind_ok, 1);
}

static void
first_bind_while_forking(void)
{
	in_fresh_process(first_bind_scenario, "first door_bind");
}

/*
 * The same races on current glibc (which runs prepare handlers without its
 * fork-handler lock, but takes it again after them and holds it through
 * the clone): a fork stalled after its prepare handlers (here: on stdio's
 * list lock, which a fflush(NULL) holds while it waits for a FILE another
 * thread has locked) while another thread does its first door_return, or
 * its first fast-path call.  The fork child must still be able to serve
 * (door_bind) and to call.
 */
static volatile int stall_go;

static void *
hold_stdout(void *arg)
{
	(void) arg;
	flockfile(stdout);
	__atomic_store_n(&stall_go, 1, __ATOMIC_RELEASE);
	(void) usleep(500 * 1000);
	funlockfile(stdout);
	return (NULL);
}

static void *
flush_all(void *arg)
{
	(void) arg;
	(void) fflush(NULL);   /* holds stdio's list lock, waits for stdout */
	return (NULL);
}

static void *
first_return(void *arg)
{
	(void) arg;
	(void) door_return(NULL, 0, NULL, 0);   /* parks for ever */
	return (NULL);
}

static int stall_did = -1;

static void *
first_call(void *arg)
{
	door_arg_t a = { "x", 1, NULL, 0, NULL, 0 };

	int i;

	(void) arg;
	for (i = 0; i < 3; i++)
		(void) door_call(stall_did, &a);
	return (NULL);
}

static int stall_child_ok;

/* Forks; in the child, `child`; waits for it at most 5 s. */
static void *
stalled_forker(void *arg)
{
	int (*child)(void) = (int (*)(void))arg;
	pid_t pid;
	int st = 0, i;
	pid_t r = 0;

	pid = fork();
	if (pid == 0)
		_exit(child() ? 0 : 1);
	if (pid < 0)
		return (NULL);
	for (i = 0; i < 50; i++) {
		r = waitpid(pid, &st, WNOHANG);
		if (r != 0)
			break;
		(void) usleep(100 * 1000);
	}
	if (r == 0) {
		(void) kill(pid, SIGKILL);
		(void) waitpid(pid, &st, 0);
		stall_child_ok = -1;   /* hung */
	} else {
		stall_child_ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	return (NULL);
}

static int
child_binds(void)
{
	int d = door_create(serve, NULL, DOOR_PRIVATE);

	return (d >= 0 && door_bind(d) == 0);
}

static int
child_calls(void)
{
	door_arg_t a = { "x", 1, NULL, 0, NULL, 0 };

	return (door_call(stall_did, &a) == 0);
}

/* Stalls a fork, runs `during` in a new thread meanwhile. */
static void
stalled_fork(void *(*during)(void *), int (*child)(void))
{
	pthread_t t1, t2, t3, t4;

	stall_child_ok = 0;
	CHECK(pthread_create(&t1, NULL, hold_stdout, NULL) == 0);
	while (!__atomic_load_n(&stall_go, __ATOMIC_ACQUIRE))
		(void) usleep(1000);
	CHECK(pthread_create(&t2, NULL, flush_all, NULL) == 0);
	(void) usleep(50 * 1000);
	CHECK(pthread_create(&t3, NULL, stalled_forker, (void *)child) == 0);
	(void) usleep(100 * 1000);   /* the fork waits for stdio now */
	CHECK(pthread_create(&t4, NULL, during, NULL) == 0);
	(void) pthread_join(t1, NULL);
	(void) pthread_join(t2, NULL);
	(void) pthread_join(t3, NULL);
	if (stall_child_ok == -1)
		NOTE("the fork child hung (killed after 5 s)");
	CHECK_EQ(stall_child_ok, 1);
}

static void
first_return_scenario(void)
{
	/* Doors, but no thread with server state yet. */
	(void) door_server_create(no_threads);
	if (!CHECK(door_create(serve, NULL, DOOR_PRIVATE) >= 0))
		return;
	stalled_fork(first_return, child_binds);
}

static void
first_return_while_fork_stalls(void)
{
	in_fresh_process(first_return_scenario, "first door_return");
}

static void
first_call_scenario(void)
{
	/* A served door of our own, called through the socket path only. */
	stall_did = door_create(serve, NULL, 0);
	if (!CHECK(stall_did >= 0))
		return;
	stalled_fork(first_call, child_calls);
}

static void
first_call_while_fork_stalls(void)
{
	in_fresh_process(first_call_scenario, "first fast-path call");
}

int
main(int argc, char **argv)
{
	harness_only(argc, argv);
	RUN(first_create_while_forking);
	RUN(first_bind_while_forking);
	RUN(first_return_while_fork_stalls);
	RUN(first_call_while_fork_stalls);
	return (harness_done());
}
