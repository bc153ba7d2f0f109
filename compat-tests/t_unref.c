/*
 * t_unref.c - unreferenced notifications: DOOR_UNREF, DOOR_UNREF_MULTI,
 * DOOR_IS_UNREF.
 *
 * Clauses exercised (door_create(3C) unreferenced notifications,
 * door_info(3C) DOOR_IS_UNREF, door_ucred(3C) pid 0; the
 * "Unreferenced notifications and DOOR_IS_UNREF" rule of
 * KNOWN_DIFFERENCES.md, which is what is asserted where libdoor differs
 * from illumos: references are the ends libdoor hands out - door_create's
 * descriptor, each door received through door_call, each fattach - and
 * the notification fires when their number goes from 2 to 1):
 *  - DOOR_UNREF fires once: argp == DOOR_UNREF_DATA, arg_size 0, dp NULL,
 *    n_desc 0, the door's cookie, door_ucred pid 0; the handler itself
 *    sees DOOR_IS_UNREF; afterwards door_info no longer shows DOOR_UNREF,
 *    and a second 2 -> 1 transition delivers nothing;
 *  - DOOR_UNREF_MULTI fires every time the count goes back to one, and
 *    keeps its flag;
 *  - case (a): a door passed (DOOR_DESCRIPTOR result of a door_call) to
 *    three child processes, all copies closed but the server's: exactly
 *    one notification (none while one child still holds it); and the
 *    server closing its own descriptor while a client keeps its copy
 *    fires too (the client then sees DOOR_IS_UNREF and can still call);
 *  - case (b): the server fattach()es the door, then closes its own
 *    descriptor: a notification; fdetach afterwards delivers nothing more;
 *  - DOOR_IS_UNREF: set on a fresh door, clear (server's and client's
 *    door_info) while a client holds a passed copy, set again once the
 *    client closes it; libdoor rule: dup() neither clears it nor, when
 *    closed again, fires; a fork child exiting with an inherited copy does
 *    not fire;
 *  - a door whose only descriptor is closed never gets a notification;
 *  - a notification waits while an invocation is active (its client was
 *    killed mid-call; DOOR_UNREF still shown meanwhile) and is delivered
 *    once the procedure returns;
 *  - the handler's door_return with data or descriptors fails with E2BIG
 *    (and later notifications still flow);
 *  - notifications of two doors are serialised: the second handler does
 *    not start before the first door_returns;
 *  - DOOR_UNREF | DOOR_UNREF_MULTI -> EINVAL (door_create, door_xcreate).
 *
 * "No notification" is asserted after a sentinel: a fresh DOOR_UNREF door
 * is made unreferenced afterwards and its notification awaited.  The
 * process delivers notifications one at a time from one thread, which
 * takes a queued door as soon as it is idle; one queued before the
 * sentinel's would have been delivered by then.
 *
 * Clients are "holder" child processes forked at the start of each case,
 * before the case's doors exist, so that they inherit none of them (on
 * illumos an inherited copy is a reference too).
 */
#define _GNU_SOURCE
#include <door.h>
#include <stropts.h>
#include <ucred.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include "harness.h"

/* ------------------------------------------------------------ utilities */

static door_attr_t
attrs_of(int fd)
{
	door_info_t di;

	if (door_info(fd, &di) != 0)
		return ((door_attr_t)-1);
	return (di.di_attributes);
}

/* door_info(fd) once (attrs & mask) == want, at most `secs` seconds. */
static door_attr_t
attrs_settled(int fd, door_attr_t mask, door_attr_t want, int secs)
{
	door_attr_t a = attrs_of(fd);
	int i;

	for (i = 0; i < secs * 100 && (a & mask) != want; i++) {
		usleep(10000);
		a = attrs_of(fd);
	}
	return (a);
}

/* ------------------------------------------------- the unref procedure */

enum { M_PLAIN, M_BLOCK, M_DATA };
enum { OP_ECHO, OP_BLOCK };

struct urec {
	int fd;			/* server's descriptor, -1 once closed */
	int mode;
	struct urec *other;	/* serialisation: the other door's record */
	volatile int n;		/* notifications delivered */
	int bad_args;
	void *cookie_seen;
	pid_t ucred_pid;
	int ucred_rc;
	int info_rc;
	door_attr_t info_attrs;	/* door_info(fd) inside the handler */
	int e2big_data, e2big_desc;
	volatile int returning;	/* the handler is about to door_return */
	int saw_other_returning;
	int other_n_at_start;
	sem_t sem;		/* one post per notification */
	sem_t hentered, hrelease;	/* M_BLOCK */
	sem_t entered, release;		/* OP_BLOCK calls */
};

static void
urec_init(struct urec *u, int mode)
{
	memset(u, 0, sizeof (*u));
	u->fd = -1;
	u->mode = mode;
	sem_init(&u->sem, 0, 0);
	sem_init(&u->hentered, 0, 0);
	sem_init(&u->hrelease, 0, 0);
	sem_init(&u->entered, 0, 0);
	sem_init(&u->release, 0, 0);
}

static void
uproc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	struct urec *u = cookie;
	int op = OP_ECHO;

	if (argp == DOOR_UNREF_DATA) {
		ucred_t *uc = NULL;
		door_info_t di;

		if (arg_size != 0 || dp != NULL || n_desc != 0)
			u->bad_args++;
		u->cookie_seen = cookie;
		if (u->other != NULL) {
			u->saw_other_returning = u->other->returning;
			u->other_n_at_start = u->other->n;
		}
		u->ucred_rc = door_ucred(&uc);
		u->ucred_pid = (u->ucred_rc == 0) ? ucred_getpid(uc) : -2;
		if (uc != NULL)
			ucred_free(uc);
		if (u->fd >= 0) {
			u->info_rc = door_info(u->fd, &di);
			u->info_attrs = di.di_attributes;
		}
		if (u->mode == M_DATA) {
			char x = 'x';
			door_desc_t d;
			int p[2];

			errno = 0;
			u->e2big_data = door_return(&x, 1, NULL, 0) == -1 ?
			    errno : 0;
			if (pipe(p) == 0) {
				memset(&d, 0, sizeof (d));
				d.d_attributes = DOOR_DESCRIPTOR;
				d.d_data.d_desc.d_descriptor = p[0];
				errno = 0;
				u->e2big_desc = door_return(NULL, 0, &d, 1) ==
				    -1 ? errno : 0;
				close(p[0]);
				close(p[1]);
			}
		}
		__atomic_fetch_add(&u->n, 1, __ATOMIC_SEQ_CST);
		sem_post(&u->sem);
		if (u->mode == M_BLOCK) {
			sem_post(&u->hentered);
			while (sem_wait(&u->hrelease) != 0)
				;
		}
		u->returning = 1;
		(void) door_return(NULL, 0, NULL, 0);
		return;
	}
	if (argp != NULL && arg_size >= sizeof (int))
		memcpy(&op, argp, sizeof (int));
	if (op == OP_BLOCK) {
		sem_post(&u->entered);
		while (sem_wait(&u->release) != 0)
			;
	}
	(void) door_return(argp, arg_size, NULL, 0);
}

static int
call_op(int fd, int op)
{
	door_arg_t a;
	int buf[2] = { op, 42 }, rbuf[4];

	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)buf;
	a.data_size = sizeof (buf);
	a.rbuf = (char *)rbuf;
	a.rsize = sizeof (rbuf);
	if (door_call(fd, &a) != 0)
		return (-1);
	return (a.data_size == sizeof (buf) &&
	    ((int *)a.data_ptr)[1] == 42 ? 0 : -2);
}

static int
make_door(struct urec *u, int mode, door_attr_t attrs)
{
	urec_init(u, mode);
	u->fd = door_create(uproc, u, attrs);
	return (u->fd);
}

/* --------------------------------------------------- the broker door */

/*
 * The broker hands `give_fd` to whoever calls it, as a DOOR_DESCRIPTOR
 * result: the illumos way of passing a door to another process.
 */
static int broker_fd = -1;
static volatile int give_fd = -1;

static void
broker_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	door_desc_t d;

	(void) cookie; (void) argp; (void) arg_size; (void) dp; (void) n_desc;
	memset(&d, 0, sizeof (d));
	d.d_attributes = DOOR_DESCRIPTOR;
	d.d_data.d_desc.d_descriptor = give_fd;
	(void) door_return(NULL, 0, &d, 1);
}

/* ------------------------------------------------------ holder children */

struct holder {
	pid_t pid;
	int cmd_w, rep_r;
};

struct hmsg { char cmd; int slot; };
struct hrep { int rc; int err; int val; };

#define NSLOT 8

static void
holder_main(int cmd_r, int rep_w)
{
	int slots[NSLOT];
	struct hmsg m;
	struct hrep r;
	int i;

	for (i = 0; i < NSLOT; i++)
		slots[i] = -1;
	/* Other holders' pipes (and anything else inherited) are not ours. */
	for (i = 3; i < 1024; i++)
		if (i != cmd_r && i != rep_w && i != broker_fd)
			(void) close(i);
	for (;;) {
		if (read(cmd_r, &m, sizeof (m)) != (ssize_t)sizeof (m))
			break;		/* EOF: the parent is done with us */
		memset(&r, 0, sizeof (r));
		errno = 0;
		if (m.slot < 0 || m.slot >= NSLOT) {
			r.rc = -1;
			r.err = EINVAL;
		} else if (m.cmd == 'f') {	/* fetch through the broker */
			door_arg_t a;
			char rbuf[256];

			memset(&a, 0, sizeof (a));
			a.rbuf = rbuf;
			a.rsize = sizeof (rbuf);
			r.rc = door_call(broker_fd, &a);
			r.err = errno;
			if (r.rc == 0 && a.desc_num == 1) {
				slots[m.slot] =
				    a.desc_ptr[0].d_data.d_desc.d_descriptor;
				r.val = (int)a.desc_ptr[0].d_attributes;
			} else if (r.rc == 0) {
				r.rc = -1;
				r.err = EPROTO;
			}
		} else if (m.cmd == 'c') {	/* close */
			r.rc = close(slots[m.slot]);
			r.err = errno;
			slots[m.slot] = -1;
		} else if (m.cmd == 'i') {	/* door_info attributes */
			door_info_t di;

			r.rc = door_info(slots[m.slot], &di);
			r.err = errno;
			r.val = (int)di.di_attributes;
		} else if (m.cmd == 'q') {	/* exit (closing everything) */
			break;
		} else if (m.cmd == 'b') {	/* a call that blocks */
			struct hrep ack;

			memset(&ack, 0, sizeof (ack));
			if (write(rep_w, &ack, sizeof (ack)) !=
			    (ssize_t)sizeof (ack))
				break;
			r.rc = call_op(slots[m.slot], OP_BLOCK);
			r.err = errno;
			continue;	/* (killed before it returns) */
		} else if (m.cmd == 'k') {	/* call it */
			r.rc = call_op(slots[m.slot], OP_ECHO);
			r.err = errno;
		} else {
			r.rc = -1;
			r.err = EINVAL;
		}
		if (write(rep_w, &r, sizeof (r)) != (ssize_t)sizeof (r))
			break;
	}
	harness_child_exit();
}

static int
holder_start(struct holder *h)
{
	int c[2], r[2];

	if (pipe(c) != 0 || pipe(r) != 0)
		return (-1);
	h->pid = harness_fork();
	if (h->pid < 0)
		return (-1);
	if (h->pid == 0) {
		close(c[1]);
		close(r[0]);
		holder_main(c[0], r[1]);
	}
	close(c[0]);
	close(r[1]);
	h->cmd_w = c[1];
	h->rep_r = r[0];
	return (0);
}

/* Send a command; returns the holder's rc (-1 with errno set on failure). */
static int
holder_cmd(struct holder *h, char cmd, int slot, int *val)
{
	struct hmsg m;
	struct hrep r;

	memset(&m, 0, sizeof (m));
	m.cmd = cmd;
	m.slot = slot;
	if (write(h->cmd_w, &m, sizeof (m)) != (ssize_t)sizeof (m))
		return (-1);
	if (read(h->rep_r, &r, sizeof (r)) != (ssize_t)sizeof (r)) {
		errno = EPIPE;
		return (-1);
	}
	if (val != NULL)
		*val = r.val;
	errno = r.err;
	return (r.rc);
}

/* Hand `fd` to the holder (slot), through the broker door. */
static int
give(struct holder *h, int fd, int slot)
{
	int attrs = 0, rc;

	give_fd = fd;
	rc = holder_cmd(h, 'f', slot, &attrs);
	give_fd = -1;
	return (rc);
}

/* End a holder: it exits, which closes everything it holds. */
static void
holder_stop(struct holder *h)
{
	struct hmsg m;

	if (h->pid <= 0)
		return;
	memset(&m, 0, sizeof (m));
	m.cmd = 'q';
	CHECK_EQ(write(h->cmd_w, &m, sizeof (m)), (ssize_t)sizeof (m));
	close(h->cmd_w);
	harness_wait_child(h->pid);
	close(h->rep_r);
	h->pid = -1;
}

/*
 * The sentinel: a fresh DOOR_UNREF door goes to the holder and back to one
 * reference; once its notification is here, every notification queued
 * before it has been delivered.  Returns 0 when it arrived.
 */
static int
flush_unref(struct holder *h)
{
	static struct urec ring[8];
	static int next;
	struct urec *s = &ring[next++ % 8];
	int fd = make_door(s, M_PLAIN, DOOR_UNREF), ok;

	if (fd < 0)
		return (-1);
	ok = give(h, fd, NSLOT - 1) == 0 &&
	    holder_cmd(h, 'c', NSLOT - 1, NULL) == 0 &&
	    wait_sem(&s->sem, 20) == 0;
	(void) door_revoke(fd);
	return (ok ? 0 : -1);
}

/* ------------------------------------------------------------- the cases */

static void
test_unref_once(void)
{
	struct holder h;
	static struct urec u;
	door_attr_t a;
	int fd, attrs = 0;

	REQUIRE(holder_start(&h) == 0);
	fd = make_door(&u, M_PLAIN, DOOR_UNREF);
	REQUIRE(fd >= 0);
	a = attrs_of(fd);
	CHECK(a & DOOR_UNREF);
	CHECK(a & DOOR_IS_UNREF);	/* one reference */

	give_fd = fd;
	CHECK_EQ(holder_cmd(&h, 'f', 0, &attrs), 0);
	give_fd = -1;
	CHECK(attrs & DOOR_DESCRIPTOR);
	CHECK(attrs & DOOR_UNREF);
	CHECK(!(attrs & (DOOR_LOCAL | DOOR_IS_UNREF)));
	a = attrs_of(fd);
	CHECK(a & DOOR_UNREF);
	CHECK(!(a & DOOR_IS_UNREF));	/* two references */
	CHECK_EQ(u.n, 0);

	CHECK_EQ(holder_cmd(&h, 'c', 0, NULL), 0);
	if (CHECK(wait_sem(&u.sem, 20) == 0)) {
		CHECK_EQ(u.n, 1);
		CHECK_EQ(u.bad_args, 0);
		CHECK_PTR_EQ(u.cookie_seen, &u);
		CHECK_EQ(u.ucred_rc, 0);
		CHECK_EQ(u.ucred_pid, 0);
		CHECK_EQ(u.info_rc, 0);
		CHECK(u.info_attrs & DOOR_IS_UNREF);	/* the handler sees it */
		a = attrs_of(fd);
		CHECK(!(a & DOOR_UNREF));		/* one-shot: flag gone */
		CHECK(a & DOOR_IS_UNREF);
	}

	/* Another 2 -> 1 transition: nothing more. */
	CHECK_EQ(give(&h, fd, 1), 0);
	CHECK(!(attrs_of(fd) & DOOR_IS_UNREF));
	CHECK_EQ(holder_cmd(&h, 'c', 1, NULL), 0);
	CHECK(attrs_settled(fd, DOOR_IS_UNREF, DOOR_IS_UNREF, 10) &
	    DOOR_IS_UNREF);
	CHECK_EQ(flush_unref(&h), 0);
	CHECK_EQ(u.n, 1);
	CHECK_EQ(door_revoke(fd), 0);
	holder_stop(&h);
}

static void
test_unref_multi(void)
{
	struct holder h;
	static struct urec u;
	door_attr_t a;
	int fd, round;

	REQUIRE(holder_start(&h) == 0);
	fd = make_door(&u, M_PLAIN, DOOR_UNREF_MULTI);
	REQUIRE(fd >= 0);
	for (round = 1; round <= 4; round++) {
		if (!CHECK_EQ(give(&h, fd, 0), 0))
			break;
		CHECK(!(attrs_of(fd) & DOOR_IS_UNREF));
		CHECK_EQ(holder_cmd(&h, 'c', 0, NULL), 0);
		if (!CHECK(wait_sem(&u.sem, 20) == 0))
			break;
		CHECK_EQ(u.n, round);
		CHECK_EQ(u.bad_args, 0);
		CHECK_EQ(u.ucred_pid, 0);
		CHECK(u.info_attrs & DOOR_IS_UNREF);
		a = attrs_of(fd);
		CHECK(a & DOOR_UNREF_MULTI);		/* stays */
		CHECK(!(a & DOOR_UNREF));
	}
	CHECK_EQ(flush_unref(&h), 0);
	CHECK_EQ(u.n, 4);
	CHECK_EQ(door_revoke(fd), 0);
	holder_stop(&h);
}

/* Case (a): passed to several processes, all but one copy closed. */
static void
test_passed_to_children(void)
{
	struct holder h[3], k;
	static struct urec u, c;
	int fd, cfd, i, v = 0;

	for (i = 0; i < 3; i++)
		REQUIRE(holder_start(&h[i]) == 0);
	REQUIRE(holder_start(&k) == 0);
	fd = make_door(&u, M_PLAIN, DOOR_UNREF_MULTI);
	REQUIRE(fd >= 0);
	for (i = 0; i < 3; i++)
		CHECK_EQ(give(&h[i], fd, 0), 0);
	CHECK(!(attrs_of(fd) & DOOR_IS_UNREF));
	CHECK_EQ(holder_cmd(&h[0], 'k', 0, NULL), 0);	/* a client can call */
	CHECK_EQ(holder_cmd(&h[0], 'c', 0, NULL), 0);
	CHECK_EQ(holder_cmd(&h[1], 'c', 0, NULL), 0);
	/* Two references left (server + h[2]): nothing yet. */
	CHECK_EQ(flush_unref(&k), 0);
	CHECK_EQ(u.n, 0);
	CHECK(!(attrs_of(fd) & DOOR_IS_UNREF));
	/* The last client goes away by exiting. */
	holder_stop(&h[2]);
	if (CHECK(wait_sem(&u.sem, 20) == 0)) {
		CHECK_EQ(u.n, 1);
		CHECK_EQ(u.bad_args, 0);
	}
	CHECK_EQ(flush_unref(&k), 0);
	CHECK_EQ(u.n, 1);			/* exactly one */
	CHECK(attrs_of(fd) & DOOR_IS_UNREF);
	CHECK_EQ(door_revoke(fd), 0);
	holder_stop(&h[0]);
	holder_stop(&h[1]);

	/*
	 * The trigger ignores who keeps the last reference: the server
	 * closes its own descriptor while a client keeps its copy.
	 */
	cfd = make_door(&c, M_PLAIN, DOOR_UNREF);
	REQUIRE(cfd >= 0);
	CHECK_EQ(give(&k, cfd, 0), 0);
	c.fd = -1;
	CHECK_EQ(close(cfd), 0);
	if (CHECK(wait_sem(&c.sem, 20) == 0)) {
		CHECK_EQ(c.n, 1);
		CHECK_EQ(c.bad_args, 0);
		CHECK_EQ(c.ucred_pid, 0);
	}
	/* The client's copy: the one reference, still a working door. */
	if (CHECK_EQ(holder_cmd(&k, 'i', 0, &v), 0)) {
		CHECK(v & DOOR_IS_UNREF);
		CHECK(!(v & DOOR_UNREF));
		CHECK(!(v & (DOOR_LOCAL | DOOR_REVOKED)));
	}
	CHECK_EQ(holder_cmd(&k, 'k', 0, NULL), 0);
	CHECK_EQ(holder_cmd(&k, 'c', 0, NULL), 0);
	holder_stop(&k);
}

/* Case (b): attached to a name, then the server closes its descriptor. */
static void
test_fattach_then_close(void)
{
	struct holder k;
	static struct urec u;
	char path[] = "/tmp/t_unref.XXXXXX";
	int fd, f, cfd;

	REQUIRE(holder_start(&k) == 0);
	f = mkstemp(path);
	REQUIRE(f >= 0);
	close(f);
	fd = make_door(&u, M_PLAIN, DOOR_UNREF_MULTI);
	REQUIRE(fd >= 0);
	CHECK(attrs_of(fd) & DOOR_IS_UNREF);
	if (!CHECK_EQ(fattach(fd, path), 0)) {
		door_revoke(fd);
		unlink(path);
		holder_stop(&k);
		return;
	}
	CHECK(!(attrs_of(fd) & DOOR_IS_UNREF));	/* fd + attachment */
	CHECK_EQ(u.n, 0);
	u.fd = -1;
	CHECK_EQ(close(fd), 0);
	if (CHECK(wait_sem(&u.sem, 20) == 0)) {
		CHECK_EQ(u.n, 1);
		CHECK_EQ(u.bad_args, 0);
		CHECK_EQ(u.ucred_pid, 0);
	}
	/* The name still reaches the door. */
	cfd = open(path, O_RDONLY);
	if (CHECK(cfd >= 0)) {
		CHECK_EQ(call_op(cfd, OP_ECHO), 0);
		close(cfd);
	}
	/* Detaching takes the count to 0, not 2 -> 1: nothing more. */
	CHECK_EQ(fdetach(path), 0);
	CHECK_EQ(flush_unref(&k), 0);
	CHECK_EQ(u.n, 1);
	unlink(path);
	holder_stop(&k);
}

static void
test_is_unref(void)
{
	struct holder h;
	static struct urec u, m;
	door_attr_t a;
	int fd, mfd, d, v = 0;
	pid_t pid;

	REQUIRE(holder_start(&h) == 0);
	/* Any door reports DOOR_IS_UNREF, whatever its attributes. */
	fd = make_door(&u, M_PLAIN, 0);
	REQUIRE(fd >= 0);
	CHECK(attrs_of(fd) & DOOR_IS_UNREF);
	CHECK_EQ(give(&h, fd, 0), 0);
	CHECK(!(attrs_of(fd) & DOOR_IS_UNREF));
	if (CHECK_EQ(holder_cmd(&h, 'i', 0, &v), 0))
		CHECK(!(v & DOOR_IS_UNREF));	/* the client's view too */
	CHECK_EQ(give(&h, fd, 1), 0);		/* three references */
	CHECK(!(attrs_of(fd) & DOOR_IS_UNREF));
	CHECK_EQ(holder_cmd(&h, 'c', 0, NULL), 0);
	CHECK(!(attrs_of(fd) & DOOR_IS_UNREF));	/* still two */
	CHECK_EQ(holder_cmd(&h, 'c', 1, NULL), 0);
	a = attrs_settled(fd, DOOR_IS_UNREF, DOOR_IS_UNREF, 10);
	CHECK(a & DOOR_IS_UNREF);		/* set again */
	CHECK_EQ(door_revoke(fd), 0);

	/*
	 * Userspace backend rule (KNOWN_DIFFERENCES.md): a dup() is not a
	 * reference. It does not clear DOOR_IS_UNREF, and closing it does
	 * not fire. Nor does a fork child that exits holding an inherited
	 * copy. The kernel backend counts both, as illumos does.
	 */
	mfd = make_door(&m, M_PLAIN, DOOR_UNREF_MULTI);
	REQUIRE(mfd >= 0);
	d = dup(mfd);
	REQUIRE(d >= 0);
	if (harness_kernel_backend()) {
		CHECK(!(attrs_of(mfd) & DOOR_IS_UNREF));
		CHECK(!(attrs_of(d) & DOOR_IS_UNREF));
	} else {
		CHECK(attrs_of(mfd) & DOOR_IS_UNREF);
		CHECK(attrs_of(d) & DOOR_IS_UNREF);
	}
	CHECK_EQ(close(d), 0);
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		CHECK_EQ(call_op(mfd, OP_ECHO), 0);
		harness_child_exit();
	}
	harness_wait_child(pid);
	CHECK_EQ(flush_unref(&h), 0);
	if (harness_kernel_backend()) {
		/* The dup's close and the child's exit: two 2 -> 1. */
		(void) attrs_settled(mfd, DOOR_IS_UNREF, DOOR_IS_UNREF, 10);
		CHECK_EQ(flush_unref(&h), 0);
		CHECK_EQ(m.n, 2);
	} else {
		CHECK_EQ(m.n, 0);
	}
	CHECK(attrs_of(mfd) & DOOR_IS_UNREF);
	CHECK_EQ(door_revoke(mfd), 0);
	holder_stop(&h);
}

/* A door whose only descriptor is closed never gets a notification. */
static void
test_only_descriptor_closed(void)
{
	struct holder h;
	static struct urec u1, u2;
	int fd1, fd2;

	REQUIRE(holder_start(&h) == 0);
	fd1 = make_door(&u1, M_PLAIN, DOOR_UNREF);
	fd2 = make_door(&u2, M_PLAIN, DOOR_UNREF_MULTI);
	REQUIRE(fd1 >= 0 && fd2 >= 0);
	CHECK_EQ(call_op(fd1, OP_ECHO), 0);	/* used, then dropped */
	u1.fd = -1;
	u2.fd = -1;
	CHECK_EQ(close(fd1), 0);
	CHECK_EQ(close(fd2), 0);
	CHECK_EQ(flush_unref(&h), 0);
	CHECK_EQ(flush_unref(&h), 0);
	CHECK_EQ(u1.n, 0);
	CHECK_EQ(u2.n, 0);
	holder_stop(&h);
}

/*
 * Delivery waits while an invocation is active.  The client of that
 * invocation is killed mid-call (so it holds nothing any more), which
 * takes the count from two to one while the procedure still runs.
 */
static void
test_waits_for_active_call(void)
{
	struct holder h, k;
	static struct urec u;
	door_attr_t a;
	int fd, st = 0;

	if (harness_skip_on_kernel("the module ends an invocation's count "
	    "when its client dies, so the notification is not delayed"))
		return;
	REQUIRE(holder_start(&h) == 0);
	REQUIRE(holder_start(&k) == 0);
	fd = make_door(&u, M_PLAIN, DOOR_UNREF);
	REQUIRE(fd >= 0);
	CHECK_EQ(give(&h, fd, 0), 0);
	CHECK_EQ(holder_cmd(&h, 'b', 0, NULL), 0);
	REQUIRE(wait_sem(&u.entered, 20) == 0);	/* the procedure runs */
	CHECK_EQ(kill(h.pid, SIGKILL), 0);
	CHECK_EQ(waitpid(h.pid, &st, 0), h.pid);
	close(h.cmd_w);
	close(h.rep_r);
	a = attrs_settled(fd, DOOR_IS_UNREF, DOOR_IS_UNREF, 10);
	CHECK(a & DOOR_IS_UNREF);
	CHECK(a & DOOR_UNREF);		/* not queued yet */
	CHECK_EQ(flush_unref(&k), 0);
	CHECK_EQ(u.n, 0);		/* not while the invocation runs */
	sem_post(&u.release);		/* the procedure returns */
	if (CHECK(wait_sem(&u.sem, 20) == 0)) {
		CHECK_EQ(u.n, 1);
		CHECK_EQ(u.bad_args, 0);
		CHECK(!(attrs_of(fd) & DOOR_UNREF));
	}
	CHECK_EQ(door_revoke(fd), 0);
	holder_stop(&k);
}

/* The handler may not return results: E2BIG. */
static void
test_handler_results_e2big(void)
{
	struct holder h;
	static struct urec u;
	int fd;

	REQUIRE(holder_start(&h) == 0);
	fd = make_door(&u, M_DATA, DOOR_UNREF);
	REQUIRE(fd >= 0);
	CHECK_EQ(give(&h, fd, 0), 0);
	CHECK_EQ(holder_cmd(&h, 'c', 0, NULL), 0);
	if (CHECK(wait_sem(&u.sem, 20) == 0)) {
		CHECK_EQ(u.e2big_data, E2BIG);
		CHECK_EQ(u.e2big_desc, E2BIG);
	}
	/* It then returned nothing; notifications still flow. */
	CHECK_EQ(flush_unref(&h), 0);
	CHECK_EQ(u.n, 1);
	CHECK_EQ(door_revoke(fd), 0);
	holder_stop(&h);
}

/* Notifications are delivered one at a time. */
static void
test_serialised(void)
{
	struct holder h;
	static struct urec a, b;
	int fa, fb;
	door_attr_t at;

	REQUIRE(holder_start(&h) == 0);
	fa = make_door(&a, M_BLOCK, DOOR_UNREF);
	fb = make_door(&b, M_PLAIN, DOOR_UNREF);
	REQUIRE(fa >= 0 && fb >= 0);
	b.other = &a;
	CHECK_EQ(give(&h, fa, 0), 0);
	CHECK_EQ(give(&h, fb, 1), 0);
	CHECK_EQ(holder_cmd(&h, 'c', 0, NULL), 0);
	REQUIRE(wait_sem(&a.hentered, 20) == 0);	/* A's handler runs */
	CHECK_EQ(holder_cmd(&h, 'c', 1, NULL), 0);
	at = attrs_settled(fb, DOOR_IS_UNREF, DOOR_IS_UNREF, 10);
	CHECK(at & DOOR_IS_UNREF);
	usleep(300000);		/* give a wrong implementation a chance */
	CHECK_EQ(b.n, 0);	/* B waits for A's handler */
	sem_post(&a.hrelease);
	if (CHECK(wait_sem(&b.sem, 20) == 0)) {
		CHECK_EQ(b.saw_other_returning, 1);
		CHECK_EQ(b.other_n_at_start, 1);
		CHECK_EQ(b.bad_args, 0);
	}
	CHECK_EQ(a.n, 1);
	CHECK_EQ(b.n, 1);
	CHECK_EQ(door_revoke(fa), 0);
	CHECK_EQ(door_revoke(fb), 0);
	holder_stop(&h);
}

static int
no_crf(door_info_t *dip, void *(*startf)(void *), void *arg, void *cookie)
{
	(void) dip; (void) startf; (void) arg; (void) cookie;
	CHECK(!"crf called for invalid attributes");
	return (0);
}

static void
test_unref_and_multi_einval(void)
{
	static struct urec u;
	int fds = count_fds_stable();

	urec_init(&u, M_PLAIN);
	expect_errno(door_create(uproc, &u, DOOR_UNREF | DOOR_UNREF_MULTI),
	    EINVAL);
	expect_errno(door_create(uproc, &u, DOOR_UNREF | DOOR_UNREF_MULTI |
	    DOOR_PRIVATE), EINVAL);
	expect_errno(door_create(uproc, &u, DOOR_UNREF | DOOR_UNREF_MULTI |
	    DOOR_REFUSE_DESC | DOOR_NO_CANCEL), EINVAL);
	expect_errno(door_xcreate(uproc, &u, DOOR_UNREF | DOOR_UNREF_MULTI,
	    no_crf, NULL, NULL, 1), EINVAL);
	CHECK_EQ(count_fds(), fds);
}

/* `t_unref NAME...` runs only the named cases (for debugging). */
/*
 * Every case is also a leak check: the same descriptors before and after
 * (every case closes, revokes and reaps what it made).
 */
static void (*case_fn)(void);

static int ping_fd = -1;

/*
 * Let this thread's fast-path channel cache settle (KNOWN_DIFFERENCES.md,
 * "The fast path"): a call releases the channels of doors nobody holds
 * any more (and the ping door stays, with its channel).
 */
static void
sweep(void)
{
	(void) call_op(ping_fd, OP_ECHO);
}

static void
leak_checked(void)
{
	int before, after;

	sweep();
	before = count_fds_stable();
	case_fn();
	sweep();
	after = count_fds_settled(before);
	if (!CHECK_EQ(after, before))
		dump_fds("after the case");
}

static void
run_case(const char *name, void (*fn)(void))
{
	case_fn = fn;
	harness_run(name, leak_checked);
}
#undef RUN
#define RUN(fn) run_case(#fn, fn)

int
main(int argc, char **argv)
{
	harness_only(argc, argv);	/* `t_unref NAME...`: only those cases */
	broker_fd = door_create(broker_proc, NULL, 0);
	if (!CHECK(broker_fd >= 0))
		return (harness_done());
	{
		static struct urec pu;

		ping_fd = make_door(&pu, M_PLAIN, 0);
		CHECK(ping_fd >= 0);
	}
	{
		/* Warm-up: the library's one-time descriptors exist now. */
		struct holder h;

		if (CHECK(holder_start(&h) == 0)) {
			CHECK_EQ(flush_unref(&h), 0);
			holder_stop(&h);
		}
	}
	RUN(test_unref_once);
	RUN(test_unref_multi);
	RUN(test_passed_to_children);
	RUN(test_fattach_then_close);
	RUN(test_is_unref);
	RUN(test_only_descriptor_closed);
	RUN(test_waits_for_active_call);
	RUN(test_handler_results_e2big);
	RUN(test_serialised);
	RUN(test_unref_and_multi_einval);
	return (harness_done());
}
