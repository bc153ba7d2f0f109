/*
 * t_pool.c - server thread pools: door_server_create(3C), door_bind(3C),
 * door_unbind(3C), door_info(DOOR_QUERY), door_xcreate(3C).
 *
 * Clauses exercised (door_server_create(3C), door_bind(3C), door_xcreate(3C),
 * door_info(3C) with DOOR_QUERY, pool growth):
 *  - door_server_create returns the previous function; the first call
 *    returns the (non-NULL) default; installing calls nothing;
 *  - the installed function is called with NULL once, in the creating
 *    thread, at the first non-private door of the process (not at later
 *    ones, not at a private door), and again, in the serving thread and
 *    before the procedure runs, whenever the last idle thread of the shared
 *    pool takes a call (depletion);
 *  - a DOOR_PRIVATE door calls it with a door_info_t (DOOR_LOCAL |
 *    DOOR_PRIVATE, right di_uniquifier/di_proc/di_data/di_target); a
 *    thread it starts that door_bind()s and parks serves that door, and
 *    door_info(DOOR_QUERY) inside the procedure describes it; depletion of
 *    that private pool calls the function with the door's info and
 *    DOOR_DEPLETION_CB, in the serving thread, before the procedure;
 *  - DOOR_PRIVATE with the default creation function has no threads: a
 *    call from another process waits until a signal, then fails with
 *    EAGAIN, and the procedure never ran;
 *  - door_bind: EBADF for non-doors, EINVAL for a non-private door and for
 *    another process's door; rebinding switches doors; door_unbind EBADF
 *    when unbound; door_info(DOOR_QUERY) describes the bound door, EBADF
 *    when unbound;
 *  - door_xcreate: crf called nthread times in the creating thread with
 *    DOOR_LOCAL|DOOR_PRIVATE|DOOR_PRIVCREATE (+ DOOR_NO_DEPLETION_CB when
 *    asked) and crcookie; its threads run the start routine, call setupf
 *    with crcookie (each in its own new thread) and are bound (calls are
 *    served by them, door_info(DOOR_QUERY) works in the procedure); the
 *    descriptor is FD_CLOEXEC;
 *  - door_xcreate return-value contract: crf returning 0 -> EINVAL, -1 ->
 *    EPIPE (threads already started exit, nothing leaks), nthread < 1,
 *    crf NULL, DOOR_PRIVCREATE or bad attributes -> EINVAL (crf not
 *    called);
 *  - depletion of an xcreate'd door calls crf in the serving thread before
 *    the procedure with DOOR_DEPLETION_CB; crf may decline (return 0) or
 *    start one more bound thread; with DOOR_NO_DEPLETION_CB crf is never
 *    called after creation;
 *  - the main thread of a server process can join the pool with
 *    door_return(NULL, 0, NULL, 0) and serve calls;
 *  - sequential calls keep the pool at busy + idle: once every thread has
 *    parked, 5,000 calls one at a time make no depletion call and no
 *    thread (the server thread of a call is parked again before its
 *    client resumes); thread counts come from /proc/self/task.
 *
 * Every case runs in a fresh forked process, so "first door of the
 * process" and the installed creation function are the case's own.
 */
#define _GNU_SOURCE
#include <door.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "harness.h"

/* ---------------------------------------------------------------- utils */

/* Run `fn` in a fresh forked process; its failures come back here. */
static void
in_child(void (*fn)(void))
{
	pid_t pid = harness_fork();

	if (pid == 0) {
		fn();
		harness_child_exit();
	}
	/* The child's own watchdog reports a hang first. */
	harness_watchdog(harness_timeout + 30);
	if (CHECK(pid > 0))
		harness_wait_child(pid);
}

/* ------------------------------------------- recording creation function */

#define MAXREC 4096

struct crrec {
	int null;		/* called with NULL */
	pid_t tid;		/* calling thread */
	door_info_t info;	/* copy of *dip */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int cr_n;
static struct crrec cr[MAXREC];
static door_server_func_t *default_creator;

enum { SHARED_NONE, SHARED_ONCE, SHARED_DEFAULT };
static int shared_policy = SHARED_ONCE;
static int shared_spawned;

/* A private door's id and descriptor, published for its bound threads. */
static volatile door_id_t pub_id;
static volatile int pub_fd = -1;
static volatile pid_t bound_tid;
static sem_t bound_ready;

static void *
shared_thread(void *arg)
{
	(void) arg;
	(void) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	(void) door_return(NULL, 0, NULL, 0);
	printf("  note: shared_thread: door_return returned: %s\n",
	    strerror(errno));
	return (NULL);
}

struct bound_arg {
	door_id_t id;
	int bind_rc, bind_err;
	int query_rc;
	door_info_t query;
};
static struct bound_arg bound_result;

static void *
bound_thread(void *arg)
{
	door_id_t id = (door_id_t)(uintptr_t)arg;

	while (__atomic_load_n(&pub_id, __ATOMIC_ACQUIRE) != id)
		usleep(1000);
	(void) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	errno = 0;
	bound_result.id = id;
	bound_result.bind_rc = door_bind(pub_fd);
	bound_result.bind_err = errno;
	bound_result.query_rc = door_info(DOOR_QUERY, &bound_result.query);
	bound_tid = tid();
	sem_post(&bound_ready);
	if (bound_result.bind_rc != 0)
		return (NULL);
	(void) door_return(NULL, 0, NULL, 0);
	printf("  note: bound_thread: door_return returned: %s\n",
	    strerror(errno));
	return (NULL);
}

static void
rec_creator(door_info_t *dip)
{
	int i;

	pthread_mutex_lock(&mu);
	i = cr_n < MAXREC ? cr_n++ : MAXREC - 1;
	cr[i].null = (dip == NULL);
	cr[i].tid = tid();
	if (dip != NULL)
		cr[i].info = *dip;
	else
		memset(&cr[i].info, 0, sizeof (cr[i].info));
	pthread_mutex_unlock(&mu);

	if (dip == NULL) {
		if (shared_policy == SHARED_ONCE && !shared_spawned) {
			shared_spawned = 1;
			spawn(shared_thread, NULL);
		} else if (shared_policy == SHARED_DEFAULT) {
			default_creator(NULL);
		}
	} else if (!(dip->di_attributes & DOOR_DEPLETION_CB)) {
		/* A new private door: one thread bound to it. */
		spawn(bound_thread, (void *)(uintptr_t)dip->di_uniquifier);
	}
	/* Depletion of a private pool: decline. */
}

static void
rec_creator2(door_info_t *dip)
{
	(void) dip;
}

static int
cr_count(void)
{
	int n;

	pthread_mutex_lock(&mu);
	n = cr_n;
	pthread_mutex_unlock(&mu);
	return (n);
}

/* -------------------------------------------------- the server procedure */

struct pres {
	int cr_n_at_entry;	/* creation-function calls seen on entry */
	pid_t tid;		/* serving thread */
	int is_main;		/* the process's main thread serves */
	int query_rc, query_err;
	door_info_t query;	/* door_info(DOOR_QUERY) in the procedure */
	int xr_n_at_entry;	/* crf calls seen on entry (xcreate) */
};

static int xr_count(void);

static sem_t p_entered, p_release;

enum { OP_INFO, OP_BLOCK };

static void
pproc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	struct pres r;
	int op = OP_INFO;

	(void) cookie; (void) dp; (void) n_desc;
	memset(&r, 0, sizeof (r));
	r.cr_n_at_entry = cr_count();
	r.xr_n_at_entry = xr_count();
	r.tid = tid();
	r.is_main = (getpid() == r.tid);
	errno = 0;
	r.query_rc = door_info(DOOR_QUERY, &r.query);
	r.query_err = errno;
	if (argp != NULL && arg_size >= sizeof (int))
		memcpy(&op, argp, sizeof (int));
	if (op == OP_BLOCK) {
		sem_post(&p_entered);
		while (sem_wait(&p_release) != 0)
			;
	}
	(void) door_return((char *)&r, sizeof (r), NULL, 0);
}

static int
call_info(int fd, int op, struct pres *out)
{
	door_arg_t a;
	struct pres rbuf;

	memset(&a, 0, sizeof (a));
	memset(&rbuf, 0, sizeof (rbuf));
	a.data_ptr = (char *)&op;
	a.data_size = sizeof (op);
	a.rbuf = (char *)&rbuf;
	a.rsize = sizeof (rbuf);
	if (door_call(fd, &a) != 0)
		return (-1);
	if (a.data_size != sizeof (struct pres))
		return (-2);
	memcpy(out, a.data_ptr, sizeof (*out));
	return (0);
}

/* ----------------------------------------- door_server_create: basics */

static int pcookie;

static void
server_create_body(void)
{
	door_server_func_t *prev, *p2, *p3;
	pid_t me = tid();
	int fd1, fd2, fd3, pfd, i, n0, t0;
	door_info_t pdi;
	struct pres r;

	prev = door_server_create(rec_creator);
	CHECK_PTR_NE(prev, NULL);
	CHECK(prev != rec_creator);
	p2 = door_server_create(rec_creator2);
	CHECK(p2 == rec_creator);
	p3 = door_server_create(rec_creator);
	CHECK(p3 == rec_creator2);
	CHECK_EQ(cr_count(), 0);	/* installing calls nothing */

	shared_policy = SHARED_ONCE;
	/* A private door first: the function gets its info, not NULL. */
	pfd = door_create(pproc, &pcookie, DOOR_PRIVATE);
	REQUIRE(pfd >= 0);
	CHECK_EQ(cr_count(), 1);
	CHECK_EQ(cr[0].null, 0);
	REQUIRE(door_info(pfd, &pdi) == 0);
	pub_fd = pfd;
	__atomic_store_n(&pub_id, pdi.di_uniquifier, __ATOMIC_RELEASE);
	CHECK(wait_sem(&bound_ready, 20) == 0);

	/* The first non-private door: NULL, once, in this thread. */
	fd1 = door_create(pproc, &pcookie, 0);
	REQUIRE(fd1 >= 0);
	CHECK_EQ(cr_count(), 2);
	CHECK_EQ(cr[1].null, 1);
	CHECK_EQ(cr[1].tid, me);
	/* Later non-private doors call nothing. */
	fd2 = door_create(pproc, &pcookie, 0);
	fd3 = door_create(pproc, &pcookie, DOOR_UNREF | DOOR_REFUSE_DESC);
	REQUIRE(fd2 >= 0 && fd3 >= 0);
	CHECK_EQ(cr_count(), 2);

	/*
	 * The pool has exactly one thread (the function starts one at the
	 * first door and declines at depletion), so every call takes the
	 * last idle thread: the function runs with NULL in the serving
	 * thread, before the procedure.
	 */
	t0 = count_threads();
	for (i = 0; i < 20; i++) {
		int fd = (i % 3 == 0) ? fd1 : (i % 3 == 1) ? fd2 : fd3;

		n0 = cr_count();
		if (!CHECK_EQ(call_info(fd, OP_INFO, &r), 0))
			break;
		CHECK_EQ(r.cr_n_at_entry, n0 + 1);	/* before the procedure */
		CHECK_EQ(cr_count(), n0 + 1);		/* exactly once */
		pthread_mutex_lock(&mu);
		CHECK_EQ(cr[n0].null, 1);
		CHECK_EQ(cr[n0].tid, r.tid);		/* in the serving thread */
		pthread_mutex_unlock(&mu);
		CHECK(r.tid != me);
		CHECK_EQ(r.query_rc, -1);		/* not bound */
		CHECK_EQ(r.query_err, EBADF);
	}
	CHECK_EQ(count_threads(), t0);	/* no thread per call */

	/* Installing a function again returns the one in use. */
	CHECK(door_server_create(prev) == rec_creator);
	CHECK(door_server_create(rec_creator) == prev);
}

static void
test_server_create(void)
{
	in_child(server_create_body);
}

/* The default function's pool stays bounded under sequential calls. */
static int dflt_calls;

static void
counting_default(door_info_t *dip)
{
	__atomic_fetch_add(&dflt_calls, 1, __ATOMIC_SEQ_CST);
	default_creator(dip);
}

static void
bounded_body(void)
{
	int fd, i, t_before, t_after, n_before, n_after;
	struct pres r;

	(void) door_server_create(counting_default);
	fd = door_create(pproc, NULL, 0);
	REQUIRE(fd >= 0);
	CHECK_EQ(dflt_calls, 1);
	/* The only thread takes the first call: the pool is depleted. */
	CHECK_EQ(call_info(fd, OP_INFO, &r), 0);
	CHECK(dflt_calls >= 2);
	/* Let every thread started so far park (warm-up). */
	for (i = 0; i < 200; i++)
		(void) call_info(fd, OP_INFO, &r);
	usleep(100000);
	t_before = count_threads();
	n_before = dflt_calls;
	/*
	 * One call at a time: the thread that takes a call always leaves
	 * another parked one (the previous caller's server thread re-parks
	 * when it returns), so the pool does not grow any more: busy (1) +
	 * idle.  (No thread per call, and none for a thread that has
	 * replied but is not parked yet.)
	 */
	for (i = 0; i < 5000; i++)
		if (!CHECK_EQ(call_info(fd, OP_INFO, &r), 0))
			break;
	t_after = count_threads();
	n_after = dflt_calls;
	CHECK_EQ(n_after - n_before, 0);
	CHECK_EQ(t_after, t_before);
	CHECK(n_after < 10);
}

static void
test_default_pool_bounded(void)
{
	in_child(bounded_body);
}

/* ------------------------------------------------------- DOOR_PRIVATE */

static void
private_body(void)
{
	pid_t me = tid();
	door_info_t di;
	struct pres r;
	int fd, sfd, i, n0;

	shared_policy = SHARED_ONCE;
	(void) door_server_create(rec_creator);
	fd = door_create(pproc, &pcookie, DOOR_PRIVATE);
	REQUIRE(fd >= 0);
	REQUIRE(door_info(fd, &di) == 0);
	CHECK_EQ(cr_count(), 1);
	CHECK_EQ(cr[0].null, 0);
	CHECK_EQ(cr[0].tid, me);			/* creating thread */
	CHECK((cr[0].info.di_attributes & (DOOR_LOCAL | DOOR_PRIVATE)) ==
	    (DOOR_LOCAL | DOOR_PRIVATE));
	CHECK(!(cr[0].info.di_attributes & DOOR_DEPLETION_CB));
	CHECK(!(cr[0].info.di_attributes & DOOR_PRIVCREATE));
	CHECK(!(cr[0].info.di_attributes & DOOR_REVOKED));
	CHECK_EQU(cr[0].info.di_uniquifier, di.di_uniquifier);
	CHECK_EQU(cr[0].info.di_proc, (uintptr_t)pproc);
	CHECK_EQU(cr[0].info.di_data, (uintptr_t)&pcookie);
	CHECK_EQ(cr[0].info.di_target, getpid());

	/* Publish the descriptor; the bound thread binds and parks. */
	pub_fd = fd;
	__atomic_store_n(&pub_id, di.di_uniquifier, __ATOMIC_RELEASE);
	REQUIRE(wait_sem(&bound_ready, 20) == 0);
	CHECK_EQ(bound_result.bind_rc, 0);
	CHECK_EQ(bound_result.query_rc, 0);
	CHECK_EQU(bound_result.query.di_uniquifier, di.di_uniquifier);

	for (i = 0; i < 3; i++) {
		n0 = cr_count();
		if (!CHECK_EQ(call_info(fd, OP_INFO, &r), 0))
			break;
		/* Served by the bound thread, which knows its door. */
		CHECK_EQ(r.tid, bound_tid);
		CHECK_EQ(r.query_rc, 0);
		CHECK_EQU(r.query.di_uniquifier, di.di_uniquifier);
		CHECK_EQ(r.query.di_target, getpid());
		CHECK((r.query.di_attributes & (DOOR_LOCAL | DOOR_PRIVATE)) ==
		    (DOOR_LOCAL | DOOR_PRIVATE));
		CHECK_EQU(r.query.di_proc, (uintptr_t)pproc);
		CHECK_EQU(r.query.di_data, (uintptr_t)&pcookie);
		/*
		 * The private pool's only thread took the call: the function
		 * ran with the door's info and DOOR_DEPLETION_CB, in the
		 * serving thread, before the procedure.
		 */
		CHECK_EQ(r.cr_n_at_entry, n0 + 1);
		CHECK_EQ(cr_count(), n0 + 1);
		pthread_mutex_lock(&mu);
		if (CHECK_EQ(cr[n0].null, 0)) {
			CHECK_EQ(cr[n0].tid, r.tid);
			CHECK((cr[n0].info.di_attributes &
			    (DOOR_DEPLETION_CB | DOOR_PRIVATE | DOOR_LOCAL)) ==
			    (DOOR_DEPLETION_CB | DOOR_PRIVATE | DOOR_LOCAL));
			CHECK_EQU(cr[n0].info.di_uniquifier, di.di_uniquifier);
			CHECK_EQU(cr[n0].info.di_proc, (uintptr_t)pproc);
		}
		pthread_mutex_unlock(&mu);
	}

	/* No NULL call so far: no non-private door yet. */
	n0 = cr_count();
	for (i = 0; i < n0; i++)
		CHECK_EQ(cr[i].null, 0);
	sfd = door_create(pproc, NULL, 0);
	REQUIRE(sfd >= 0);
	CHECK_EQ(cr_count(), n0 + 1);
	CHECK_EQ(cr[n0].null, 1);
	/* The shared door is not served by the bound thread. */
	if (CHECK_EQ(call_info(sfd, OP_INFO, &r), 0)) {
		CHECK(r.tid != bound_tid);
		CHECK_EQ(r.query_rc, -1);
		CHECK_EQ(r.query_err, EBADF);
	}
}

static void
test_private_creator(void)
{
	in_child(private_body);
}

/*
 * DOOR_PRIVATE with the default function: its thread joins the shared
 * pool, so the door has no thread.  A call from another process waits; a
 * signal makes it fail with EAGAIN; the procedure never ran.
 */
static volatile int echo_ran;

static void
echo_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	(void) cookie; (void) dp; (void) n_desc;
	__atomic_fetch_add(&echo_ran, 1, __ATOMIC_SEQ_CST);
	(void) door_return(argp, arg_size, NULL, 0);
}

static void
private_default_body(void)
{
	int fd, go[2], st = 0, i;
	pid_t pid, r;

	fd = door_create(echo_proc, NULL, DOOR_PRIVATE);
	REQUIRE(fd >= 0);
	REQUIRE(pipe(go) == 0);
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct sigaction sa;
		door_arg_t a;
		char buf[16] = "hello", rbuf[16];

		memset(&sa, 0, sizeof (sa));
		sa.sa_handler = on_sig;	/* no SA_RESTART */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
		close(go[0]);
		memset(&a, 0, sizeof (a));
		a.data_ptr = buf;
		a.data_size = sizeof (buf);
		a.rbuf = rbuf;
		a.rsize = sizeof (rbuf);
		CHECK_EQ(write(go[1], "g", 1), 1);
		expect_errno(door_call(fd, &a), EAGAIN);
		CHECK(got_sig > 0);
		harness_child_exit();
	}
	close(go[1]);
	{
		char c;
		CHECK_EQ(read(go[0], &c, 1), 1);
	}
	close(go[0]);
	/* Interrupt until the call gives up (it may start after a signal). */
	for (i = 0; i < 3000; i++) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		kill(pid, SIGUSR1);
		usleep(20000);
	}
	if (CHECK(r == pid)) {
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	} else {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	CHECK_EQ(echo_ran, 0);
}

static void
test_private_default_no_threads(void)
{
	in_child(private_default_body);
}

/* -------------------------------------------------- door_bind / unbind */

struct bind_probe {
	int fd1, fd2;			/* two private doors */
	door_id_t id1, id2;
	int failures;
};

static void *
bind_thread(void *arg)
{
	struct bind_probe *p = arg;
	door_info_t di;
	int before = harness_failed_n;

	/* A fresh thread is not bound. */
	expect_errno(door_unbind(), EBADF);
	expect_errno(door_info(DOOR_QUERY, &di), EBADF);
	CHECK_EQ(door_bind(p->fd1), 0);
	memset(&di, 0, sizeof (di));
	if (CHECK_EQ(door_info(DOOR_QUERY, &di), 0)) {
		CHECK_EQU(di.di_uniquifier, p->id1);
		CHECK_EQ(di.di_target, getpid());
		CHECK((di.di_attributes & (DOOR_LOCAL | DOOR_PRIVATE)) ==
		    (DOOR_LOCAL | DOOR_PRIVATE));
		CHECK_EQU(di.di_proc, (uintptr_t)echo_proc);
		CHECK_EQU(di.di_data, (uintptr_t)&pcookie);
	}
	/* Binding again switches to the other door. */
	CHECK_EQ(door_bind(p->fd2), 0);
	if (CHECK_EQ(door_info(DOOR_QUERY, &di), 0))
		CHECK_EQU(di.di_uniquifier, p->id2);
	CHECK_EQ(door_unbind(), 0);
	expect_errno(door_unbind(), EBADF);
	expect_errno(door_info(DOOR_QUERY, &di), EBADF);
	/* Binding to the same door twice is fine too. */
	CHECK_EQ(door_bind(p->fd1), 0);
	CHECK_EQ(door_bind(p->fd1), 0);
	if (CHECK_EQ(door_info(DOOR_QUERY, &di), 0))
		CHECK_EQU(di.di_uniquifier, p->id1);
	CHECK_EQ(door_unbind(), 0);
	p->failures = harness_failed_n - before;
	return (NULL);
}

static void
bind_body(void)
{
	struct bind_probe p;
	door_info_t di;
	pthread_t t;
	int pp[2], sfd, f, closed;
	char path[] = "/tmp/t_pool.XXXXXX";
	pid_t pid;

	memset(&p, 0, sizeof (p));
	p.fd1 = door_create(echo_proc, &pcookie, DOOR_PRIVATE);
	p.fd2 = door_create(echo_proc, &pcookie, DOOR_PRIVATE);
	sfd = door_create(echo_proc, &pcookie, 0);
	REQUIRE(p.fd1 >= 0 && p.fd2 >= 0 && sfd >= 0);
	REQUIRE(door_info(p.fd1, &di) == 0);
	p.id1 = di.di_uniquifier;
	REQUIRE(door_info(p.fd2, &di) == 0);
	p.id2 = di.di_uniquifier;

	/* EBADF: not a door. */
	REQUIRE(pipe(pp) == 0);
	expect_errno(door_bind(pp[0]), EBADF);
	expect_errno(door_bind(pp[1]), EBADF);
	expect_errno(door_bind(-1), EBADF);
	f = mkstemp(path);
	REQUIRE(f >= 0);
	unlink(path);
	expect_errno(door_bind(f), EBADF);
	close(f);
	closed = dup(pp[0]);
	close(closed);
	expect_errno(door_bind(closed), EBADF);
	close(pp[0]);
	close(pp[1]);

	/* EINVAL: not DOOR_PRIVATE. */
	expect_errno(door_bind(sfd), EINVAL);
	/* The main thread has never been bound. */
	expect_errno(door_unbind(), EBADF);
	expect_errno(door_info(DOOR_QUERY, &di), EBADF);

	REQUIRE(pthread_create(&t, NULL, bind_thread, &p) == 0);
	pthread_join(t, NULL);
	CHECK_EQ(p.failures, 0);

	/* EINVAL: a private door served by another process. */
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		expect_errno(door_bind(p.fd1), EINVAL);
		expect_errno(door_bind(sfd), EINVAL);
		expect_errno(door_info(DOOR_QUERY, &di), EBADF);
		expect_errno(door_unbind(), EBADF);
		harness_child_exit();
	}
	harness_wait_child(pid);
}

static void
test_bind_unbind(void)
{
	in_child(bind_body);
}

/* ------------------------------------------------------- door_xcreate */

struct xrec {
	pid_t tid;
	door_info_t info;
	void *crcookie;
};

static int xr_n;
static struct xrec xr[MAXREC];
static int x_fail_at = -1;	/* crf call index that fails */
static int x_fail_rv;		/* what it returns then (0 or -1) */
static int x_depl_budget;	/* threads crf may start at depletion */

struct srec {
	pid_t tid;
	void *cookie;
};
static int xs_n;
static struct srec xs[MAXREC];

static int
xr_count(void)
{
	int n;

	pthread_mutex_lock(&mu);
	n = xr_n;
	pthread_mutex_unlock(&mu);
	return (n);
}

static int
rec_crf(door_info_t *dip, void *(*startf)(void *), void *arg,
    void *crcookie)
{
	pthread_t t;
	pthread_attr_t at;
	int i, r;

	pthread_mutex_lock(&mu);
	i = xr_n < MAXREC ? xr_n++ : MAXREC - 1;
	xr[i].tid = tid();
	xr[i].info = *dip;
	xr[i].crcookie = crcookie;
	pthread_mutex_unlock(&mu);

	if (dip->di_attributes & DOOR_DEPLETION_CB) {
		if (x_depl_budget <= 0)
			return (0);		/* decline */
		x_depl_budget--;
	} else if (i == x_fail_at) {
		return (x_fail_rv);
	}
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &at, startf, arg);
	pthread_attr_destroy(&at);
	return (r == 0 ? 1 : -1);
}

static void
rec_setup(void *cookie)
{
	int i;

	pthread_mutex_lock(&mu);
	i = xs_n < MAXREC ? xs_n++ : MAXREC - 1;
	xs[i].tid = tid();
	xs[i].cookie = cookie;
	pthread_mutex_unlock(&mu);
	(void) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
}

static int crc, xcookie;

static void
xcreate_basic_body(void)
{
	pid_t me = tid();
	door_info_t di;
	struct pres r;
	int fd, i, j, t0, found;

	t0 = count_threads();
	fd = door_xcreate(pproc, &xcookie, 0, rec_crf, rec_setup, &crc, 3);
	REQUIRE(fd >= 0);
	REQUIRE(door_info(fd, &di) == 0);
	CHECK((di.di_attributes & (DOOR_LOCAL | DOOR_PRIVATE |
	    DOOR_PRIVCREATE)) == (DOOR_LOCAL | DOOR_PRIVATE | DOOR_PRIVCREATE));
	CHECK(!(di.di_attributes & DOOR_NO_DEPLETION_CB));
	CHECK_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

	/* crf: nthread calls, in this thread, with the door's info. */
	CHECK_EQ(xr_count(), 3);
	for (i = 0; i < 3 && i < xr_n; i++) {
		CHECK_EQ(xr[i].tid, me);
		CHECK((xr[i].info.di_attributes & (DOOR_LOCAL | DOOR_PRIVATE |
		    DOOR_PRIVCREATE)) ==
		    (DOOR_LOCAL | DOOR_PRIVATE | DOOR_PRIVCREATE));
		CHECK(!(xr[i].info.di_attributes &
		    (DOOR_NO_DEPLETION_CB | DOOR_DEPLETION_CB)));
		CHECK_EQU(xr[i].info.di_uniquifier, di.di_uniquifier);
		CHECK_EQU(xr[i].info.di_proc, (uintptr_t)pproc);
		CHECK_EQU(xr[i].info.di_data, (uintptr_t)&xcookie);
		CHECK_EQ(xr[i].info.di_target, getpid());
		CHECK_PTR_EQ(xr[i].crcookie, &crc);
	}
	/* setupf: once in each new thread (all bound before return). */
	CHECK_EQ(xs_n, 3);
	for (i = 0; i < 3 && i < xs_n; i++) {
		CHECK_PTR_EQ(xs[i].cookie, &crc);
		CHECK(xs[i].tid != me);
		for (j = 0; j < i; j++)
			CHECK(xs[i].tid != xs[j].tid);
	}
	CHECK(count_threads() >= t0 + 3);

	/* Calls are served by those threads, bound to the door. */
	for (i = 0; i < 10; i++) {
		if (!CHECK_EQ(call_info(fd, OP_INFO, &r), 0))
			break;
		CHECK_EQ(r.query_rc, 0);
		CHECK_EQU(r.query.di_uniquifier, di.di_uniquifier);
		CHECK((r.query.di_attributes & (DOOR_PRIVATE |
		    DOOR_PRIVCREATE)) == (DOOR_PRIVATE | DOOR_PRIVCREATE));
		found = 0;
		for (j = 0; j < xs_n; j++)
			if (xs[j].tid == r.tid)
				found = 1;
		CHECK(found);
	}
}

static void
test_xcreate_basic(void)
{
	in_child(xcreate_basic_body);
}

static void
xcreate_errors_body(void)
{
	int fds, thr, fd;

	(void) door_create(echo_proc, NULL, 0);	/* start the process */
	fds = count_fds_stable();
	thr = count_threads_settled(count_threads());

	/* Argument checks: crf never called. */
	expect_errno(door_xcreate(pproc, NULL, 0, rec_crf, NULL, NULL, 0),
	    EINVAL);
	expect_errno(door_xcreate(pproc, NULL, 0, rec_crf, NULL, NULL, -1),
	    EINVAL);
	expect_errno(door_xcreate(pproc, NULL, 0, NULL, NULL, NULL, 1),
	    EINVAL);
	expect_errno(door_xcreate(pproc, NULL, DOOR_PRIVCREATE, rec_crf, NULL,
	    NULL, 1), EINVAL);
	expect_errno(door_xcreate(pproc, NULL, DOOR_UNREF | DOOR_UNREF_MULTI,
	    rec_crf, NULL, NULL, 1), EINVAL);
	expect_errno(door_xcreate(pproc, NULL, 0x8000, rec_crf, NULL, NULL,
	    1), EINVAL);
	CHECK_EQ(xr_count(), 0);
	CHECK_EQ(count_fds(), fds);

	/* crf returns 0 (declined) during creation: EINVAL. */
	xr_n = 0;
	x_fail_at = 0;
	x_fail_rv = 0;
	expect_errno(door_xcreate(pproc, NULL, 0, rec_crf, rec_setup, &crc,
	    1), EINVAL);
	CHECK_EQ(xr_count(), 1);
	CHECK_EQ(count_fds_settled(fds), fds);

	/* crf returns -1 (failed) during creation: EPIPE. */
	xr_n = 0;
	x_fail_at = 0;
	x_fail_rv = -1;
	expect_errno(door_xcreate(pproc, NULL, 0, rec_crf, rec_setup, &crc,
	    1), EPIPE);
	CHECK_EQ(xr_count(), 1);
	CHECK_EQ(count_fds_settled(fds), fds);

	/*
	 * The second of three crf calls declines / fails after the first
	 * started a thread: the call fails, that thread exits, the door is
	 * gone, nothing leaks.
	 */
	xr_n = 0;
	xs_n = 0;
	x_fail_at = 1;
	x_fail_rv = 0;
	expect_errno(door_xcreate(pproc, NULL, 0, rec_crf, rec_setup, &crc,
	    3), EINVAL);
	CHECK(xr_count() >= 2);
	CHECK_EQ(count_threads_settled(thr), thr);
	CHECK_EQ(count_fds_settled(fds), fds);

	xr_n = 0;
	xs_n = 0;
	x_fail_at = 1;
	x_fail_rv = -1;
	expect_errno(door_xcreate(pproc, NULL, 0, rec_crf, rec_setup, &crc,
	    3), EPIPE);
	CHECK(xr_count() >= 2);
	CHECK_EQ(count_threads_settled(thr), thr);
	CHECK_EQ(count_fds_settled(fds), fds);

	/* And a good one still works afterwards. */
	x_fail_at = -1;
	fd = door_xcreate(pproc, NULL, 0, rec_crf, rec_setup, &crc, 2);
	if (CHECK(fd >= 0)) {
		struct pres r;
		CHECK_EQ(call_info(fd, OP_INFO, &r), 0);
	}
}

static void
test_xcreate_errors(void)
{
	in_child(xcreate_errors_body);
}

struct targ { int fd; struct pres *r; int rc; };

static void *
block_caller(void *arg)
{
	struct targ *t = arg;

	t->rc = call_info(t->fd, OP_BLOCK, t->r);
	return (NULL);
}

static sem_t info_done;

static void *
info_caller(void *arg)
{
	struct targ *t = arg;

	t->rc = call_info(t->fd, OP_INFO, t->r);
	sem_post(&info_done);
	return (NULL);
}

/* Depletion of an xcreate'd door's pool. */
static void
xcreate_depletion_body(void)
{
	door_info_t di;
	struct pres r;
	int fd, i, n0;
	pid_t first_tid = 0;

	x_depl_budget = 0;
	fd = door_xcreate(pproc, &xcookie, 0, rec_crf, rec_setup, &crc, 1);
	REQUIRE(fd >= 0);
	REQUIRE(door_info(fd, &di) == 0);
	REQUIRE(xr_count() == 1);
	/*
	 * One thread: every call takes the last idle one, so crf runs with
	 * DOOR_DEPLETION_CB in the serving thread before the procedure; it
	 * declines (returns 0) and the call still completes.
	 */
	for (i = 0; i < 3; i++) {
		n0 = xr_count();
		if (!CHECK_EQ(call_info(fd, OP_INFO, &r), 0))
			break;
		if (i == 0)
			first_tid = r.tid;
		CHECK_EQ(r.tid, first_tid);	/* still one thread */
		CHECK_EQ(r.xr_n_at_entry, n0 + 1);
		CHECK_EQ(xr_count(), n0 + 1);
		pthread_mutex_lock(&mu);
		CHECK_EQ(xr[n0].tid, r.tid);
		CHECK((xr[n0].info.di_attributes & (DOOR_DEPLETION_CB |
		    DOOR_PRIVATE | DOOR_PRIVCREATE | DOOR_LOCAL)) ==
		    (DOOR_DEPLETION_CB | DOOR_PRIVATE | DOOR_PRIVCREATE |
		    DOOR_LOCAL));
		CHECK_EQU(xr[n0].info.di_uniquifier, di.di_uniquifier);
		CHECK_PTR_EQ(xr[n0].crcookie, &crc);
		pthread_mutex_unlock(&mu);
		CHECK_EQ(r.query_rc, 0);
		CHECK_EQU(r.query.di_uniquifier, di.di_uniquifier);
	}
	CHECK_EQ(xs_n, 1);

	/*
	 * Now let crf start one more thread at the next depletion: it runs
	 * setupf and binds, so two calls can be inside the procedure at once.
	 */
	x_depl_budget = 1;
	{
		struct pres r2;
		pthread_t t, t2;
		struct targ ta = { fd, &r, -1 };
		struct targ tb = { fd, &r2, -1 };

		/* the first call blocks in the procedure on the old thread */
		REQUIRE(pthread_create(&t, NULL, block_caller, &ta) == 0);
		REQUIRE(wait_sem(&p_entered, 20) == 0);
		/*
		 * The second is served by the thread crf just started.  (If
		 * crf was not called, nothing can serve it until the first
		 * returns: fail, release the first, and let it finish.)
		 */
		REQUIRE(pthread_create(&t2, NULL, info_caller, &tb) == 0);
		if (!CHECK(wait_sem(&info_done, 20) == 0)) {
			sem_post(&p_release);
			pthread_join(t2, NULL);
			pthread_join(t, NULL);
			return;
		}
		pthread_join(t2, NULL);
		if (CHECK_EQ(tb.rc, 0)) {
			CHECK(r2.tid != first_tid);
			CHECK_EQ(r2.query_rc, 0);
			CHECK_EQU(r2.query.di_uniquifier, di.di_uniquifier);
			CHECK_EQ(xs_n, 2);
			CHECK_EQ(xs[1].tid, r2.tid);
			CHECK_PTR_EQ(xs[1].cookie, &crc);
		}
		CHECK_EQ(x_depl_budget, 0);
		sem_post(&p_release);
		pthread_join(t, NULL);
		CHECK_EQ(ta.rc, 0);
		CHECK_EQ(r.tid, first_tid);
	}
}

static void
test_xcreate_depletion(void)
{
	in_child(xcreate_depletion_body);
}

static void
xcreate_no_depletion_body(void)
{
	door_info_t di;
	struct pres r;
	int fd, i;

	x_depl_budget = 5;	/* would start threads if it were asked */
	fd = door_xcreate(pproc, &xcookie, DOOR_NO_DEPLETION_CB, rec_crf,
	    rec_setup, &crc, 1);
	REQUIRE(fd >= 0);
	REQUIRE(door_info(fd, &di) == 0);
	CHECK(di.di_attributes & DOOR_NO_DEPLETION_CB);
	CHECK((di.di_attributes & (DOOR_PRIVATE | DOOR_PRIVCREATE)) ==
	    (DOOR_PRIVATE | DOOR_PRIVCREATE));
	REQUIRE(xr_count() == 1);
	CHECK((xr[0].info.di_attributes & (DOOR_NO_DEPLETION_CB |
	    DOOR_PRIVATE | DOOR_PRIVCREATE | DOOR_LOCAL)) ==
	    (DOOR_NO_DEPLETION_CB | DOOR_PRIVATE | DOOR_PRIVCREATE |
	    DOOR_LOCAL));
	CHECK(!(xr[0].info.di_attributes & DOOR_DEPLETION_CB));
	for (i = 0; i < 10; i++) {
		if (!CHECK_EQ(call_info(fd, OP_INFO, &r), 0))
			break;
		CHECK_EQ(r.query_rc, 0);
	}
	CHECK_EQ(xr_count(), 1);	/* never called after creation */
	CHECK_EQ(x_depl_budget, 5);
	CHECK_EQ(xs_n, 1);
}

static void
test_xcreate_no_depletion_cb(void)
{
	in_child(xcreate_no_depletion_body);
}

/* ------------------------------------- the main thread joins the pool */

struct joins_arg {
	int fd;
	int rc[3];
	struct pres r[3];
	sem_t done;
};

static void *
joins_client(void *arg)
{
	struct joins_arg *j = arg;
	int i;

	for (i = 0; i < 3; i++)
		j->rc[i] = call_info(j->fd, OP_INFO, &j->r[i]);
	sem_post(&j->done);
	return (NULL);
}

static void
main_joins_body(void)
{
	struct joins_arg j;
	pthread_t t;
	int sv[2], st = 0, i;
	pid_t pid;

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int d;

		(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[0]);
		shared_policy = SHARED_NONE;	/* no thread but main */
		(void) door_server_create(rec_creator);
		d = door_create(pproc, NULL, 0);
		if (!CHECK(d >= 0))
			harness_child_exit();
		CHECK_EQ(cr_count(), 1);
		CHECK_EQ(send_fd(sv[1], d), 0);
		close(sv[1]);
		(void) door_return(NULL, 0, NULL, 0);
		CHECK(!"door_return returned in the main thread");
		harness_child_exit();
	}
	close(sv[1]);
	memset(&j, 0, sizeof (j));
	sem_init(&j.done, 0, 0);
	j.fd = recv_fd(sv[0]);
	close(sv[0]);
	if (CHECK(j.fd >= 0)) {
		REQUIRE(pthread_create(&t, NULL, joins_client, &j) == 0);
		/* A hang means the server's only thread is gone. */
		if (!CHECK(wait_sem(&j.done, 20) == 0))
			NOTE("calls to the server's main thread hang; is its "
			    "main thread (%d) still there? %s", (int)pid,
			    kill(pid, 0) == 0 ? "process alive" : "no");
		kill(pid, SIGKILL);
		pthread_join(t, NULL);
		for (i = 0; i < 3; i++) {
			if (!CHECK_EQ(j.rc[i], 0))
				break;
			CHECK_EQ(j.r[i].is_main, 1);
			CHECK_EQ(j.r[i].tid, pid);
			/* depletion: the function ran again, before us */
			CHECK_EQ(j.r[i].cr_n_at_entry, 2 + i);
		}
		close(j.fd);
	}
	kill(pid, SIGKILL);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	/* Still parked in door_return when killed (not exited early). */
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static void
test_main_thread_joins_pool(void)
{
	in_child(main_joins_body);
}

int
main(int argc, char **argv)
{
	harness_only(argc, argv);	/* `t_pool NAME...`: only those cases */
	sem_init(&bound_ready, 0, 0);
	sem_init(&p_entered, 0, 0);
	sem_init(&p_release, 0, 0);
	sem_init(&info_done, 0, 0);
	/* The default function, without installing anything for good. */
	default_creator = door_server_create(rec_creator2);
	CHECK_PTR_NE(default_creator, NULL);	/* the first call: the default */
	CHECK(door_server_create(default_creator) == rec_creator2);

	RUN(test_server_create);
	RUN(test_default_pool_bounded);
	RUN(test_private_creator);
	RUN(test_private_default_no_threads);
	RUN(test_bind_unbind);
	RUN(test_xcreate_basic);
	RUN(test_xcreate_errors);
	RUN(test_xcreate_depletion);
	RUN(test_xcreate_no_depletion_cb);
	RUN(test_main_thread_joins_pool);
	return (harness_done());
}
