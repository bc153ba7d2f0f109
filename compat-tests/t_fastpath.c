/*
 * t_fastpath.c - door_call(3C) on libdoor's shared-memory fast path.
 *
 * A call without descriptors goes through memory shared between client and
 * server (KNOWN_DIFFERENCES.md, "The fast path"): per (client thread, door)
 * a channel that the client maps read-write (the server's scheduling state
 * is never in shared memory).  Whatever goes through that memory, the
 * guarantees of the man pages must hold as on the socket path; with
 * LIBDOOR_FASTPATH=0 the same cases run on the socket path.
 *
 * Every server here is a separate process (a harness child) that publishes
 * its doors with fattach(3C); clients are other children that open(2) the
 * path.  The test process itself never calls a door, so no child inherits
 * a door mapping it did not make.
 *
 * Clauses exercised (door_call(3C), door_return(3C), door_bind(3C),
 * door_revoke(3C), door_ucred(3C), door_server_create(3C)):
 *  1. a hostile client that scribbles garbage over every libdoor shared
 *     mapping it has (its channels), interleaved with
 *     its own calls: its own calls may fail but neither crash nor hang;
 *     honest clients calling the same door meanwhile all get their own,
 *     correct replies; the server survives, serves fresh clients, and its
 *     descriptor and thread counts stay bounded;
 *  2. stress: threads x processes x calls with arguments of 0 B, 16 B,
 *     4 KiB, 100 KiB and 1 MiB (server threads with big stacks, made by a
 *     door_server_create function), results larger than rbuf (a fresh
 *     mapping the caller unmaps) and results carrying a descriptor; every
 *     reply checked byte for byte, every call served exactly once;
 *  3. calls racing door_revoke (by a server thread, and by procedures
 *     revoking their own door) and door re-creation: every call succeeds
 *     with the right door's reply or fails with EBADF; a call that failed
 *     with EBADF never ran, a call that succeeded ran exactly once;
 *  4. credentials: a thread that set up its channel, then its process
 *     changed ids (setgroups, setresgid, setresuid, seteuid), is seen by
 *     door_ucred with the new ids at its next call (root only);
 *  5. abort: a signal (SA_RESTART handler) ends a fast door_call with
 *     EINTR while the procedure runs, after which door_ucred in the
 *     procedure fails with EINVAL (DOOR_NO_CANCEL door) or the server
 *     thread is cancelled; with EAGAIN when no server thread took the call
 *     (server stopped), which is then never performed; the thread's next
 *     call works, on a fresh channel;
 *  6. hygiene: when a thread that used the fast path exits, its process's
 *     descriptors and libdoor mappings, and the server's descriptors, go
 *     back to their counts before the thread started;
 *  7. a descriptor from open(2) of an attached path whose first use as a
 *     door is a door_call from several threads at once: every call works
 *     (fattach(3C); found while writing the cases above, which therefore use
 *     each opened path once from one thread first).
 *
 * Linux facts are read from /proc (descriptors, threads, mappings, thread
 * states) only where a case must observe them.  `t_fastpath NAME...` runs
 * only the named cases; T_FASTPATH_SCRIBBLE=k limits case 1 to garbage
 * of kind k (100: none), for diagnosis.
 */
#define _GNU_SOURCE
#include <door.h>
#include <ucred.h>
#include <stropts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "harness.h"

/* ---------------------------------------------------------------- utils */

static int fast_on;		/* LIBDOOR_FASTPATH is not "0" */
static char tdir[64];		/* where the doors are attached */

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ULL;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dULL;
	x ^= x >> 33;
	return (x);
}

static uint32_t
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((uint32_t)(*s >> 33));
}

/* The bytes of message `kind` (1 request, 2 reply) of call (tag, seq). */
static uint64_t
seed_of(uint32_t tag, uint32_t seq, uint32_t kind)
{
	return (mix((((uint64_t)tag << 32) | seq) * 3 + kind));
}

static void
pat_fill(unsigned char *p, size_t n, uint64_t seed)
{
	size_t j;
	uint64_t w;

	for (j = 0; j + 8 <= n; j += 8) {
		w = mix(seed + j);
		memcpy(p + j, &w, 8);
	}
	if (j < n) {
		w = mix(seed + j);
		memcpy(p + j, &w, n - j);
	}
}

static int
pat_ok(const unsigned char *p, size_t n, uint64_t seed)
{
	size_t j;
	uint64_t w;

	for (j = 0; j + 8 <= n; j += 8) {
		w = mix(seed + j);
		if (memcmp(p + j, &w, 8) != 0)
			return (0);
	}
	if (j < n) {
		w = mix(seed + j);
		if (memcmp(p + j, &w, n - j) != 0)
			return (0);
	}
	return (1);
}

/* Threads of another process (Threads: in /proc/PID/status). */
static int
proc_threads(pid_t pid)
{
	char p[64], line[256];
	FILE *f;
	int n = -1;

	snprintf(p, sizeof (p), "/proc/%d/status", (int)pid);
	if ((f = fopen(p, "re")) == NULL)
		return (-1);
	while (fgets(line, sizeof (line), f) != NULL)
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return (n);
}

/* Wait (at most 5 s) until every thread of `pid` is stopped (SIGSTOP). */
static int
wait_stopped(pid_t pid)
{
	char p[64], sp[384], buf[512], *q;
	int i, fd, all;
	ssize_t n;
	DIR *d;
	struct dirent *e;

	snprintf(p, sizeof (p), "/proc/%d/task", (int)pid);
	for (i = 0; i < 500; i++) {
		if ((d = opendir(p)) == NULL)
			return (-1);
		all = 1;
		while ((e = readdir(d)) != NULL && all) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(sp, sizeof (sp), "%s/%s/stat", p, e->d_name);
			if ((fd = open(sp, O_RDONLY | O_CLOEXEC)) < 0)
				continue;	/* the thread is gone */
			n = read(fd, buf, sizeof (buf) - 1);
			close(fd);
			buf[n > 0 ? n : 0] = 0;
			q = strrchr(buf, ')');
			if (q == NULL || q[1] != ' ' ||
			    (q[2] != 'T' && q[2] != 't'))
				all = 0;
		}
		closedir(d);
		if (all)
			return (0);
		usleep(10000);
	}
	return (-1);
}

/* This process's libdoor shared mappings ("/memfd:libdoor (deleted)"). */
struct lmap {
	unsigned long start, end, ino;
	int rw;
};

static int
libdoor_maps(struct lmap *m, int max)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;

	if (f == NULL)
		return (-1);
	while (fgets(line, sizeof (line), f) != NULL) {
		unsigned long s, e, ino;
		char perms[8];

		if (strstr(line, "/memfd:libdoor") == NULL)
			continue;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %lu", &s, &e, perms,
		    &ino) != 4)
			continue;
		if (n < max) {
			m[n].start = s;
			m[n].end = e;
			m[n].ino = ino;
			m[n].rw = perms[0] == 'r' && perms[1] == 'w';
		}
		n++;
	}
	fclose(f);
	return (n);
}

static int
libdoor_maps_settled(int want)
{
	int i, n = libdoor_maps(NULL, 0);

	for (i = 0; i < 300 && n != want; i++) {
		usleep(10000);
		n = libdoor_maps(NULL, 0);
	}
	return (n);
}

/*
 * Hang detector for client processes: a thread that reports (and ends the
 * process) when a door_call has been in progress for more than
 * guard_limit seconds, naming the caller and its call.
 */
#define GUARD_MAX 64
static struct guard {
	volatile long long since;	/* 0: not in a call */
	volatile unsigned seq;
	volatile unsigned len;
} guards[GUARD_MAX];
static int guard_limit = 15;
static const char *guard_what = "client";

static void
guard_enter(int i, unsigned seq, unsigned len)
{
	guards[i].seq = seq;
	guards[i].len = len;
	__atomic_store_n(&guards[i].since, now_ns(), __ATOMIC_RELEASE);
}

static void
guard_leave(int i)
{
	__atomic_store_n(&guards[i].since, 0, __ATOMIC_RELEASE);
}

static void *
guard_main(void *arg)
{
	int i;

	(void) arg;
	for (;;) {
		usleep(100000);
		for (i = 0; i < GUARD_MAX; i++) {
			long long s = __atomic_load_n(&guards[i].since,
			    __ATOMIC_ACQUIRE);
			if (s != 0 && now_ns() - s >
			    (long long)guard_limit * 1000000000LL) {
				harness_report(0, 0, __FILE__, __func__,
				    __LINE__, "%s %d (pid %d): door_call #%u "
				    "(%u bytes) has not returned after %d s",
				    guard_what, i, (int)getpid(),
				    guards[i].seq, guards[i].len,
				    guard_limit);
				harness_child_exit();
			}
		}
	}
	return (NULL);
}

static void
guard_start(const char *what, int limit)
{
	pthread_t t;

	memset(guards, 0, sizeof (guards));
	guard_what = what;
	guard_limit = limit;
	if (pthread_create(&t, NULL, guard_main, NULL) == 0)
		pthread_detach(t);
}

/* ------------------------------------------- shared state and processes */

#define MAXTAG 64
#define MAXSEQ 20000

struct shm {
	volatile int stop;
	unsigned served;		/* invocations (tests 1, 2) */
	/* test 5 */
	sem_t entered, aborted, done, never;
	volatile int ucred_before, ucred_after_ret, ucred_after_err;
	volatile int cancelled, not_cancelled;
	unsigned counted;
	/* test 3 */
	unsigned nseq[MAXTAG];
	unsigned char exec[MAXTAG][MAXSEQ];	/* times the procedure ran */
	unsigned char res[MAXTAG][MAXSEQ];	/* what the client got */
};
static struct shm *shm;

static void
shm_reset(void)
{
	if (shm == NULL) {
		shm = harness_shared(sizeof (*shm));
	}
	memset(shm, 0, sizeof (*shm));
	sem_init(&shm->entered, 1, 0);
	sem_init(&shm->aborted, 1, 0);
	sem_init(&shm->done, 1, 0);
	sem_init(&shm->never, 1, 0);
}

static void
path_of(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", tdir, name);
}

/* In a server: attach door `dfd` to tdir/name. */
static int
publish(int dfd, const char *name)
{
	char p[128];
	int f;

	path_of(p, sizeof (p), name);
	f = open(p, O_CREAT | O_RDWR, 0644);
	if (f < 0)
		return (-1);
	close(f);
	return (fattach(dfd, p));
}

/*
 * In a client: the door attached to tdir/name, already used once as a door
 * (door_info) by this one thread, so that the threads that call it next
 * do not race the first use (test_first_use_concurrent covers that).
 */
static int
open_door(const char *name)
{
	door_info_t di;
	char p[128];
	int fd;

	path_of(p, sizeof (p), name);
	fd = open(p, O_RDONLY);
	if (fd >= 0 && !CHECK_EQ(door_info(fd, &di), 0)) {
		close(fd);
		fd = -1;
	}
	return (fd);
}

/*
 * A server process: setup() makes and publishes its doors; it serves until
 * the test process closes `ctl`, then runs teardown() and exits with its
 * own checks' verdict.
 */
struct server {
	pid_t pid;
	int ctl;
};
static int server_ctls[4] = { -1, -1, -1, -1 };

static void
server_start(struct server *s, void (*setup)(void), void (*teardown)(void))
{
	int ready[2], ctl[2], i;
	ssize_t r;
	char c = 0;

	s->pid = -1;
	s->ctl = -1;
	if (!CHECK(pipe2(ready, O_CLOEXEC) == 0 && pipe2(ctl, O_CLOEXEC) == 0))
		return;
	s->pid = harness_fork();
	if (s->pid == 0) {
		close(ready[0]);
		close(ctl[1]);
		for (i = 0; i < 4; i++)
			if (server_ctls[i] >= 0)
				close(server_ctls[i]);
		harness_test_name = "server";
		harness_watchdog(900);
		setup();
		c = 'R';
		if (write(ready[1], &c, 1) != 1)
			_exit(3);
		close(ready[1]);
		while (read(ctl[0], &c, 1) == -1 && errno == EINTR)
			;
		if (teardown != NULL)
			teardown();
		harness_child_exit();
	}
	close(ready[1]);
	close(ctl[0]);
	s->ctl = ctl[1];
	for (i = 0; i < 4; i++)
		if (server_ctls[i] < 0) {
			server_ctls[i] = s->ctl;
			break;
		}
	do {
		r = read(ready[0], &c, 1);
	} while (r == -1 && errno == EINTR);
	CHECK_EQ(r, 1);
	close(ready[0]);
}

static int
server_alive(struct server *s)
{
	int st;

	return (s->pid > 0 && waitpid(s->pid, &st, WNOHANG) == 0);
}

static void
server_stop(struct server *s)
{
	int i;

	if (s->pid <= 0)
		return;
	for (i = 0; i < 4; i++)
		if (server_ctls[i] == s->ctl)
			server_ctls[i] = -1;
	close(s->ctl);
	harness_wait_child(s->pid);
	s->pid = -1;
}

/* A client process: does not hold the servers' control pipes. */
static pid_t
client_fork(void)
{
	pid_t pid = harness_fork();
	int i;

	if (pid == 0)
		for (i = 0; i < 4; i++)
			if (server_ctls[i] >= 0)
				close(server_ctls[i]);
	return (pid);
}

/*
 * A thread that runs calls on request, so that one thread (with its
 * channels) makes calls across a test's steps.
 */
struct caller {
	pthread_t t;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void (*fn)(void *);
	void *arg;
	int state;		/* 0 idle, 1 posted, 2 done, 3 quit */
};

static void *
caller_main(void *p)
{
	struct caller *c = p;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (c->state != 1 && c->state != 3)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->state == 3)
			break;
		pthread_mutex_unlock(&c->mu);
		c->fn(c->arg);
		pthread_mutex_lock(&c->mu);
		c->state = 2;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return (NULL);
}

static int
caller_start(struct caller *c)
{
	memset(c, 0, sizeof (*c));
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	return (pthread_create(&c->t, NULL, caller_main, c));
}

static void
caller_post(struct caller *c, void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&c->mu);
	c->fn = fn;
	c->arg = arg;
	c->state = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void
caller_wait(struct caller *c)
{
	pthread_mutex_lock(&c->mu);
	while (c->state != 2)
		pthread_cond_wait(&c->cv, &c->mu);
	c->state = 0;
	pthread_mutex_unlock(&c->mu);
}

static void
caller_run(struct caller *c, void (*fn)(void *), void *arg)
{
	caller_post(c, fn, arg);
	caller_wait(c);
}

static void
caller_stop(struct caller *c)
{
	pthread_mutex_lock(&c->mu);
	c->state = 3;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->t, NULL);
}

/* ----------------------------------------- the echo protocol (1 and 6) */

#define H_MAGIC 0x48514552u
#define H_STATUS_BADARG 0x21444142u
#define H_MAXLEN (128u << 10)

struct hmsg {
	uint32_t magic;		/* in a reply: H_MAGIC, or H_STATUS_BADARG */
	uint32_t tag;
	uint32_t seq;
	uint32_t len;		/* payload bytes that follow */
};

/*
 * Echo: the reply has the request's header and `len` bytes of the reply
 * pattern of (tag, seq).  Anything malformed gets the 4 bytes "bad!".
 */
static void
h_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	static __thread unsigned char *out;
	struct hmsg m;

	(void) cookie; (void) dp; (void) n_desc;
	if (out == NULL)
		out = malloc(sizeof (m) + H_MAXLEN);
	if (argp == DOOR_UNREF_DATA || argp == NULL ||
	    arg_size < sizeof (m) || out == NULL)
		goto bad;
	memcpy(&m, argp, sizeof (m));
	if (m.magic != H_MAGIC || m.len > H_MAXLEN ||
	    arg_size != sizeof (m) + m.len)
		goto bad;
	if (!pat_ok((unsigned char *)argp + sizeof (m), m.len,
	    seed_of(m.tag, m.seq, 1)))
		m.magic = H_STATUS_BADARG;
	memcpy(out, &m, sizeof (m));
	pat_fill(out + sizeof (m), m.len, seed_of(m.tag, m.seq, 2));
	__atomic_fetch_add(&shm->served, 1, __ATOMIC_RELAXED);
	(void) door_return((char *)out, sizeof (m) + m.len, NULL, 0);
bad:
	(void) door_return("bad!", 4, NULL, 0);
}

/*
 * One checked echo call.  0: the right reply.  Otherwise a letter: F the
 * call failed (*err is errno), S wrong size, A the server saw wrong
 * argument bytes, M no magic, X another call's header, P wrong payload,
 * R results not in rbuf although they fit.
 */
static int
h_call(int fd, uint32_t tag, uint32_t seq, uint32_t len, unsigned char *req,
    int *err)
{
	unsigned char rbuf[4096];
	struct hmsg m = { H_MAGIC, tag, seq, len }, r;
	door_arg_t a;
	int bad = 0;

	memcpy(req, &m, sizeof (m));
	pat_fill(req + sizeof (m), len, seed_of(tag, seq, 1));
	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)req;
	a.data_size = sizeof (m) + len;
	a.rbuf = (char *)rbuf;
	a.rsize = sizeof (rbuf);
	*err = 0;
	if (door_call(fd, &a) != 0) {
		*err = errno;
		return ('F');
	}
	if (a.data_size != sizeof (m) + len || a.desc_num != 0) {
		bad = 'S';
	} else {
		memcpy(&r, a.data_ptr, sizeof (r));
		if (r.magic == H_STATUS_BADARG)
			bad = 'A';
		else if (r.magic != H_MAGIC)
			bad = 'M';
		else if (r.tag != tag || r.seq != seq || r.len != len)
			bad = 'X';
		else if (!pat_ok((unsigned char *)a.data_ptr + sizeof (r),
		    len, seed_of(tag, seq, 2)))
			bad = 'P';
	}
	if (a.rbuf != (char *)rbuf) {
		if (!bad && sizeof (m) + len <= sizeof (rbuf))
			bad = 'R';
		(void) munmap(a.rbuf, a.rsize);
	}
	return (bad);
}

static const uint32_t h_lens[] = { 0, 16, 1000, 5000, 20000, 60000 };
#define N_HLENS (sizeof (h_lens) / sizeof (h_lens[0]))

struct hworker {
	pthread_t t;
	int fd, idx;
	uint32_t tag;
	unsigned calls;		/* 0: until shm->stop */
	unsigned done, failed, bad;
	int first_err, first_bad;
	unsigned first_seq;
};

static void *
h_worker(void *arg)
{
	struct hworker *w = arg;
	unsigned char *req = malloc(sizeof (struct hmsg) + H_MAXLEN);
	uint64_t s = w->tag * 7919ULL + 17;
	unsigned seq;

	if (req == NULL) {
		w->failed++;
		return (NULL);
	}
	for (seq = 0; w->calls == 0 ? !shm->stop : seq < w->calls; seq++) {
		uint32_t len = h_lens[rnd(&s) % N_HLENS];
		int err, r;

		guard_enter(w->idx, seq, len);
		r = h_call(w->fd, w->tag, seq, len, req, &err);
		guard_leave(w->idx);
		w->done++;
		if (r == 0)
			continue;
		if (r == 'F')
			w->failed++;
		else
			w->bad++;
		if (w->first_bad == 0) {
			w->first_bad = r;
			w->first_err = err;
			w->first_seq = seq;
		}
	}
	free(req);
	return (NULL);
}

/* In a client process: n threads of echo calls on door `name`. */
static void
h_client(const char *name, int n, unsigned calls, uint32_t tagbase)
{
	struct hworker w[16];
	int fd = open_door(name), i;

	guard_start("honest client thread", 15);
	if (!CHECK(fd >= 0))
		return;
	for (i = 0; i < n; i++) {
		memset(&w[i], 0, sizeof (w[i]));
		w[i].fd = fd;
		w[i].idx = i;
		w[i].tag = tagbase + (uint32_t)i;
		w[i].calls = calls;
		if (!CHECK(pthread_create(&w[i].t, NULL, h_worker, &w[i]) == 0))
			return;
	}
	for (i = 0; i < n; i++) {
		pthread_join(w[i].t, NULL);
		CHECK(w[i].done > 0);
		CHECK_EQ(w[i].failed, 0);
		CHECK_EQ(w[i].bad, 0);
		if (w[i].first_bad != 0)
			NOTE("pid %d thread %d: %u calls, %u failed, %u bad; "
			    "first: call #%u '%c' errno %s", (int)getpid(), i,
			    w[i].done, w[i].failed, w[i].bad, w[i].first_seq,
			    w[i].first_bad, harness_errno_name(w[i].first_err));
	}
	close(fd);
}

/*
 * Barrier door: each call waits (at most 10 s) until as many callers as
 * its argument says are inside at once; the result is that number, or
 * minus the number that were inside when it gave up.  It takes as many
 * server threads at once as there are callers (the pool grows).
 */
static pthread_mutex_t hb_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hb_cv = PTHREAD_COND_INITIALIZER;
static int hb_inside, hb_open;

static void
hb_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	struct timespec dl;
	int target = 1, reached, rc = 0;

	(void) cookie; (void) dp; (void) n_desc;
	if (argp != NULL && arg_size == sizeof (target))
		memcpy(&target, argp, sizeof (target));
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	pthread_mutex_lock(&hb_mu);
	if (++hb_inside >= target) {
		hb_open = 1;
		pthread_cond_broadcast(&hb_cv);
	}
	while (!hb_open && rc == 0)
		rc = pthread_cond_timedwait(&hb_cv, &hb_mu, &dl);
	reached = hb_open ? target : -hb_inside;
	if (--hb_inside == 0)
		hb_open = 0;
	pthread_mutex_unlock(&hb_mu);
	(void) door_return((char *)&reached, sizeof (reached), NULL, 0);
}

struct hbcall {
	pthread_t t;
	int fd, target, got, idx;
};

static void *
hb_caller(void *arg)
{
	struct hbcall *c = arg;
	door_arg_t a;
	char rbuf[16];

	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)&c->target;
	a.data_size = sizeof (c->target);
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	c->got = -1000;
	guard_enter(c->idx, 0, sizeof (c->target));
	if (door_call(c->fd, &a) == 0 && a.data_size == sizeof (int))
		memcpy(&c->got, a.data_ptr, sizeof (int));
	else
		c->got = -2000 - errno;
	guard_leave(c->idx);
	return (NULL);
}

/* In a client: n threads inside the barrier door "hb" at once. */
static void
hb_round(int n)
{
	struct hbcall c[16];
	int fd = open_door("hb"), i;

	if (!CHECK(fd >= 0))
		return;
	for (i = 0; i < n; i++) {
		c[i].fd = fd;
		c[i].target = n;
		c[i].idx = 16 + i;	/* guard slots of barrier callers */
		if (!CHECK(pthread_create(&c[i].t, NULL, hb_caller, &c[i]) ==
		    0))
			return;
	}
	for (i = 0; i < n; i++) {
		pthread_join(c[i].t, NULL);
		if (!CHECK_EQ(c[i].got, n))
			NOTE("barrier of %d: caller %d got %d (negative: gave "
			    "up with that many inside)", n, i, c[i].got);
	}
	close(fd);
}

static void
h_setup(void)
{
	int fd = door_create(h_proc, NULL, 0);
	int hb = door_create(hb_proc, NULL, 0);

	if (CHECK(fd >= 0))
		CHECK_EQ(publish(fd, "h"), 0);
	if (CHECK(hb >= 0))
		CHECK_EQ(publish(hb, "hb"), 0);
}

/* ---------------------------------------------- 1. the hostile client */

/* Overwrite [p, p+n) with garbage of one of several kinds. */
static const char *
scribble(unsigned char *p, size_t n, int kind, uint64_t *s)
{
	uint32_t *w = (uint32_t *)(void *)p;
	uint64_t *q = (uint64_t *)(void *)p;
	size_t i, nw = n / 4, nq = n / 8;
	uint32_t v, off;

	switch (kind) {
	case 0:
		for (i = 0; i < nw; i++)
			w[i] = rnd(s) ^ (rnd(s) << 16);
		return ("random bytes");
	case 1:
		memset(p, 0xff, n);
		return ("all 0xff");
	case 2:
		memset(p, 0, n);
		return ("all zero");
	case 3:
		for (i = 0; i < nw; i++)
			w[i] = rnd(s) % 5;
		return ("small values 0..4 in every word");
	case 4:
		for (i = 0; i < nw; i++)
			w[i] = 1;
		return ("1 in every word");
	case 5:
		/* Cache-line arrays: the same small value at the same word. */
		off = rnd(s) % 6;
		v = rnd(s) % 5;
		for (i = off; i < nw; i += 16)
			w[i] = v;
		return ("one word of every 64-byte line");
	case 6:
		for (i = 0; i < nw; i++)
			w[i] = ((rnd(s) % 4 + 1) << 16) | (rnd(s) % 16);
		return ("plausible ids in every word");
	case 7:
		for (i = 0; i < nq; i++) {
			static const uint64_t big[] = {
				0x7fffffffffffffffULL, 0xffffffffffffffffULL,
				(64u << 10) + 1, (1u << 30) + 1, 4096 * 17,
				0x100000000ULL
			};
			q[i] = big[rnd(s) % 6];
		}
		return ("huge sizes in every 64-bit word");
	default:
		if (n > 64) {
			i = (rnd(s) % (n / 64)) * 64;
			for (off = 0; off < 16; off++)
				w[i / 4 + off] = rnd(s);
		}
		return ("one random 64-byte line");
	}
}

static void
hostile(void)
{
	unsigned char *req = malloc(sizeof (struct hmsg) + H_MAXLEN);
	uint64_t s = (uint64_t)getpid() * 1000003ULL;
	unsigned scribbles = 0, calls = 0, ok = 0, fails[8] = { 0 };
	long long end;
	struct lmap m[64];
	const char *k = getenv("T_FASTPATH_SCRIBBLE");	/* debugging aid */
	int only_kind = k != NULL ? atoi(k) : -1;
	int fd = open_door("h"), n, i, err, r;

	guard_start("hostile client", 10);
	if (!CHECK(fd >= 0) || !CHECK(req != NULL))
		return;
	/*
	 * Good calls: the first makes the opened path a door (socket path),
	 * the second sets up this thread's channel.
	 */
	for (i = 0; i < 2; i++) {
		guard_enter(0, 0, 100);
		r = h_call(fd, 999, 0, 100, req, &err);
		guard_leave(0);
		CHECK_EQ(r, 0);
	}
	n = libdoor_maps(m, 64);
	if (fast_on) {
		CHECK(n >= 1);
	} else {
		CHECK_EQ(n, 0);
		NOTE("socket path: no shared memory to scribble on");
	}
	end = now_ns() + 3000000000LL;
	while (now_ns() < end) {
		int kind = (int)(rnd(&s) % 9), ncalls = (int)(rnd(&s) % 3);

		if (only_kind >= 0)
			kind = only_kind;

		/* Every libdoor mapping there is now (channels come and go). */
		n = libdoor_maps(m, 64);
		for (i = 0; i < n && i < 64; i++) {
			size_t len = m[i].end - m[i].start;

			if (!m[i].rw || only_kind == 100)	/* 100: none */
				continue;
			/* Headers only half the time: the first page. */
			if (rnd(&s) % 2)
				len = 4096;
			(void) scribble((unsigned char *)m[i].start, len, kind,
			    &s);
			scribbles++;
		}
		for (i = 0; i < ncalls; i++) {
			uint32_t len = h_lens[rnd(&s) % N_HLENS];

			calls++;
			guard_enter(0, calls, len);
			r = h_call(fd, 999, calls, len, req, &err);
			guard_leave(0);
			if (r == 0)
				ok++;
			else if (r == 'F')
				fails[err == EINTR ? 0 : err == EBADF ? 1 :
				    err == EAGAIN ? 2 : err == EINVAL ? 3 :
				    err == E2BIG ? 4 : err == ENOBUFS ? 5 : 6]++;
			else
				fails[7]++;
		}
		if (rnd(&s) % 4 == 0)
			usleep(rnd(&s) % 2000);
	}
	NOTE("hostile: %u scribbles, %u own calls: %u ok, failed: EINTR %u "
	    "EBADF %u EAGAIN %u EINVAL %u E2BIG %u ENOBUFS %u other %u, "
	    "wrong reply %u", scribbles, calls, ok, fails[0], fails[1],
	    fails[2], fails[3], fails[4], fails[5], fails[6], fails[7]);
	free(req);
}

static void
test_hostile_scribbler(void)
{
	enum { NHON = 2, NT = 3 };
	struct server s;
	pid_t hon[NHON], hos, p;
	int fds0, thr0, fds1, thr1, i;

	harness_watchdog(180);
	shm_reset();
	server_start(&s, h_setup, NULL);
	REQUIRE(s.pid > 0);
	/* Warm-up: the server's pool and one-time descriptors. */
	p = client_fork();
	if (p == 0) {
		h_client("h", 2, 200, 1);
		hb_round(4);
		hb_round(8);
		harness_child_exit();
	}
	harness_wait_child(p);
	fds0 = count_fds_stable_of(s.pid);
	thr0 = proc_threads(s.pid);

	for (i = 0; i < NHON; i++) {
		hon[i] = client_fork();
		if (hon[i] == 0) {
			harness_watchdog(120);
			h_client("h", NT, 0, 100 + 10 * (uint32_t)i);
			harness_child_exit();
		}
	}
	usleep(300000);
	hos = client_fork();
	if (hos == 0) {
		harness_watchdog(60);
		hostile();
		harness_child_exit();
	}
	harness_wait_child(hos);
	usleep(500000);
	shm->stop = 1;
	for (i = 0; i < NHON; i++)
		harness_wait_child(hon[i]);

	/* The server is alive and serves fresh clients. */
	CHECK(server_alive(&s));
	shm->stop = 0;
	p = client_fork();
	if (p == 0) {
		h_client("h", 2, 300, 500);
		/* As many threads at once as before the attack. */
		hb_round(4);
		hb_round(8);
		harness_child_exit();
	}
	harness_wait_child(p);
	CHECK(server_alive(&s));

	/* Nothing leaked in the server; threads only as the pool grew. */
	fds1 = count_fds_settled_of(s.pid, fds0, 5);
	thr1 = proc_threads(s.pid);
	CHECK_EQ(fds1, fds0);
	CHECK(thr1 >= 1 && thr1 <= thr0 + 2 * (NHON * NT + 1 + 8));
	NOTE("server: descriptors %d -> %d, threads %d -> %d, %u calls "
	    "served", fds0, fds1, thr0, thr1, shm->served);
	server_stop(&s);
}

/* ------------------------------------------------------- 2. stress */

#define S_MAGIC 0x5354
#define S_BADARG 0x5342
#define SF_DESC 1
#define S_RMAX (1u << 20)

struct sreq {			/* exactly 16 bytes: the 16 B class */
	uint16_t magic, flags;
	uint32_t tag, seq, rlen;
};

struct srep {
	uint16_t magic, flags;	/* magic: S_MAGIC, or S_BADARG */
	uint32_t tag, seq, rlen;
	uint64_t arg_size;	/* as the procedure saw it */
};

static void *
big_thread(void *arg)
{
	(void) arg;
	(void) door_return(NULL, 0, NULL, 0);
	return (NULL);
}

/* Server threads with 32 MiB stacks: 1 MiB arguments fit. */
static void
big_creator(door_info_t *dip)
{
	pthread_attr_t at;
	pthread_t t;

	(void) dip;
	(void) pthread_attr_init(&at);
	(void) pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	(void) pthread_attr_setstacksize(&at, 32u << 20);
	(void) pthread_create(&t, &at, big_thread, NULL);
	(void) pthread_attr_destroy(&at);
}

static void
s_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	static __thread unsigned char *out;
	struct sreq q;
	struct srep r;
	door_desc_t d;
	int p[2];
	uint32_t mark[2];

	(void) cookie; (void) dp; (void) n_desc;
	__atomic_fetch_add(&shm->served, 1, __ATOMIC_RELAXED);
	if (arg_size == 0) {
		(void) door_return(NULL, 0, NULL, 0);
		goto bad;
	}
	if (out == NULL)
		out = malloc(sizeof (r) + S_RMAX);
	if (argp == NULL || arg_size < sizeof (q) || out == NULL)
		goto bad;
	memcpy(&q, argp, sizeof (q));
	if (q.magic != S_MAGIC || q.rlen > S_RMAX)
		goto bad;
	r.magic = pat_ok((unsigned char *)argp + sizeof (q),
	    arg_size - sizeof (q), seed_of(q.tag, q.seq, 1)) ?
	    S_MAGIC : S_BADARG;
	r.flags = q.flags;
	r.tag = q.tag;
	r.seq = q.seq;
	r.rlen = q.rlen;
	r.arg_size = arg_size;
	memcpy(out, &r, sizeof (r));
	pat_fill(out + sizeof (r), q.rlen, seed_of(q.tag, q.seq, 2));
	if (q.flags & SF_DESC) {
		/* A pipe whose first 8 bytes name the call. */
		if (pipe2(p, O_CLOEXEC) != 0)
			goto bad;
		mark[0] = q.tag;
		mark[1] = q.seq;
		if (write(p[1], mark, sizeof (mark)) != sizeof (mark))
			r.magic = 0;
		close(p[1]);
		memset(&d, 0, sizeof (d));
		d.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
		d.d_data.d_desc.d_descriptor = p[0];
		(void) door_return((char *)out, sizeof (r) + q.rlen, &d, 1);
		close(p[0]);
		goto bad;
	}
	(void) door_return((char *)out, sizeof (r) + q.rlen, NULL, 0);
bad:
	(void) door_return("bad!", 4, NULL, 0);
}

static void
s_setup(void)
{
	int fd;

	(void) door_server_create(big_creator);
	fd = door_create(s_proc, NULL, 0);
	if (CHECK(fd >= 0))
		CHECK_EQ(publish(fd, "s"), 0);
}

static const size_t s_args[] = { 0, 16, 4096, 100 << 10, 1 << 20 };
static const unsigned s_argw[] = { 12, 25, 30, 28, 5 };	/* weights, % */
static const uint32_t s_rlens[] = { 0, 16, 2000, 9000, 150000, S_RMAX };
static const unsigned s_rlw[] = { 20, 15, 30, 15, 15, 5 };

static size_t
pick(const unsigned *w, size_t n, uint64_t *s)
{
	unsigned x = rnd(s) % 100, acc = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		acc += w[i];
		if (x < acc)
			return (i);
	}
	return (n - 1);
}

struct sworker {
	pthread_t t;
	int fd, idx;
	uint32_t tag;
	unsigned calls, done, failed, bad, mapped, descs;
	int first_bad, first_err;
	unsigned first_seq;
	size_t first_size;
};

/*
 * One checked stress call.  0 if right, else a letter: F failed (errno in
 * *err), Z a 0-byte call got results, S size, A server saw wrong bytes,
 * X another call's reply, P payload, D descriptor, R rbuf placement.
 */
static int
s_call(struct sworker *w, unsigned char *req, uint32_t seq, size_t asz,
    uint32_t rlen, int desc, int *err)
{
	unsigned char rbuf[8192];
	struct sreq q;
	struct srep r;
	door_arg_t a;
	uint32_t mark[2];
	int bad = 0, rfd = -1;
	size_t want = asz == 0 ? 0 : sizeof (r) + rlen;

	memset(&a, 0, sizeof (a));
	if (asz > 0) {
		q.magic = S_MAGIC;
		q.flags = desc ? SF_DESC : 0;
		q.tag = w->tag;
		q.seq = seq;
		q.rlen = rlen;
		memcpy(req, &q, sizeof (q));
		pat_fill(req + sizeof (q), asz - sizeof (q),
		    seed_of(w->tag, seq, 1));
		a.data_ptr = (char *)req;
		a.data_size = asz;
	}
	a.rbuf = (char *)rbuf;
	a.rsize = sizeof (rbuf);
	*err = 0;
	if (door_call(w->fd, &a) != 0) {
		*err = errno;
		return ('F');
	}
	if (a.desc_num == 1 && a.desc_ptr != NULL)
		rfd = a.desc_ptr[0].d_data.d_desc.d_descriptor;
	if (a.data_size != want) {
		bad = asz == 0 ? 'Z' : 'S';
	} else if (asz > 0) {
		memcpy(&r, a.data_ptr, sizeof (r));
		if (r.magic == S_BADARG)
			bad = 'A';
		else if (r.magic != S_MAGIC || r.tag != w->tag ||
		    r.seq != seq || r.rlen != rlen || r.arg_size != asz)
			bad = 'X';
		else if (!pat_ok((unsigned char *)a.data_ptr + sizeof (r),
		    rlen, seed_of(w->tag, seq, 2)))
			bad = 'P';
	}
	if (!bad && desc) {
		if (a.desc_num != 1 || a.desc_ptr == NULL ||
		    !(a.desc_ptr[0].d_attributes & DOOR_DESCRIPTOR) ||
		    rfd < 0 || read(rfd, mark, sizeof (mark)) !=
		    sizeof (mark) || mark[0] != w->tag || mark[1] != seq)
			bad = 'D';
		else
			w->descs++;
	} else if (!bad && a.desc_num != 0) {
		bad = 'D';
	}
	if (rfd >= 0)
		close(rfd);
	if (a.rbuf != (char *)rbuf) {
		if (!bad && want <= sizeof (rbuf))
			bad = 'R';
		if (!bad && (a.rsize < want || a.data_ptr < a.rbuf ||
		    a.data_ptr + want > a.rbuf + a.rsize))
			bad = 'R';
		if (munmap(a.rbuf, a.rsize) != 0 && !bad)
			bad = 'R';
		w->mapped++;
	} else if (!bad && want > sizeof (rbuf)) {
		bad = 'R';
	}
	return (bad);
}

static void *
s_worker(void *arg)
{
	struct sworker *w = arg;
	unsigned char *req = malloc((1u << 20) + 64);
	uint64_t s = w->tag * 104729ULL + 3;
	uint32_t seq;

	if (req == NULL) {
		w->failed = w->calls;
		return (NULL);
	}
	for (seq = 0; seq < w->calls; seq++) {
		size_t asz = s_args[pick(s_argw, 5, &s)];
		uint32_t rlen = s_rlens[pick(s_rlw, 6, &s)];
		int desc = asz > 0 && rnd(&s) % 10 == 0, err, r;

		guard_enter(w->idx, seq, (unsigned)asz);
		r = s_call(w, req, seq, asz, rlen, desc, &err);
		guard_leave(w->idx);
		w->done++;
		if (r == 0)
			continue;
		if (r == 'F')
			w->failed++;
		else
			w->bad++;
		if (w->first_bad == 0) {
			w->first_bad = r;
			w->first_err = err;
			w->first_seq = seq;
			w->first_size = asz;
		}
	}
	free(req);
	return (NULL);
}

static void
test_stress(void)
{
	enum { NP = 3, NT = 8, CALLS = 3000 };
	struct server s;
	pid_t pids[NP];
	int i;

	harness_watchdog(600);
	shm_reset();
	server_start(&s, s_setup, NULL);
	REQUIRE(s.pid > 0);
	for (i = 0; i < NP; i++) {
		pids[i] = client_fork();
		if (pids[i] == 0) {
			struct sworker w[NT];
			unsigned mapped = 0, descs = 0;
			int fd = open_door("s"), j;

			harness_watchdog(590);
			guard_start("stress thread", 60);
			if (!CHECK(fd >= 0))
				harness_child_exit();
			for (j = 0; j < NT; j++) {
				memset(&w[j], 0, sizeof (w[j]));
				w[j].fd = fd;
				w[j].idx = j;
				w[j].tag = 1000u * (uint32_t)(i + 1) +
				    (uint32_t)j;
				w[j].calls = CALLS;
				if (!CHECK(pthread_create(&w[j].t, NULL,
				    s_worker, &w[j]) == 0))
					harness_child_exit();
			}
			for (j = 0; j < NT; j++) {
				pthread_join(w[j].t, NULL);
				CHECK_EQ(w[j].done, CALLS);
				CHECK_EQ(w[j].failed, 0);
				CHECK_EQ(w[j].bad, 0);
				mapped += w[j].mapped;
				descs += w[j].descs;
				if (w[j].first_bad != 0)
					NOTE("pid %d thread %d: first bad "
					    "call #%u (%zu bytes): '%c' "
					    "errno %s", (int)getpid(), j,
					    w[j].first_seq, w[j].first_size,
					    w[j].first_bad, harness_errno_name(
					    w[j].first_err));
			}
			/* The mix really had both kinds of results. */
			CHECK(mapped > 0);
			CHECK(descs > 0);
			close(fd);
			harness_child_exit();
		}
	}
	for (i = 0; i < NP; i++)
		harness_wait_child(pids[i]);
	CHECK_EQ(shm->served, NP * NT * CALLS);
	CHECK(server_alive(&s));
	server_stop(&s);
}

/* ------------------------------------------- 3. calls racing revokes */

#define R_NSLOT 3
#define R_LOCAL 2		/* client threads inside the server */
#define R_TAG_LOCAL 60

struct rreq {
	uint32_t tag, seq;
};

struct rrep {
	uint32_t slot, gen, tag, seq;
};

static struct {
	int fd;
	uint32_t gen;
} rslots[R_NSLOT];
static pthread_mutex_t rmu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t r_gen_next = 1;
static volatile int r_stop;
static unsigned r_revokes;
static pthread_t r_threads[1 + R_LOCAL];

static void r_proc(void *, char *, size_t, door_desc_t *, uint_t);

/* A new door for `slot`, then the old one revoked (if it is still `gen`). */
static void
r_replace(uint32_t slot, uint32_t gen)
{
	uint32_t g;
	int old, nfd;

	pthread_mutex_lock(&rmu);
	if (gen != 0 && rslots[slot].gen != gen) {
		pthread_mutex_unlock(&rmu);
		return;
	}
	g = r_gen_next++;
	nfd = door_create(r_proc, (void *)(uintptr_t)((slot << 24) | g), 0);
	if (!CHECK(nfd >= 0)) {
		pthread_mutex_unlock(&rmu);
		return;
	}
	old = rslots[slot].fd;
	rslots[slot].fd = nfd;
	rslots[slot].gen = g;
	pthread_mutex_unlock(&rmu);
	CHECK_EQ(door_revoke(old), 0);
	__atomic_fetch_add(&r_revokes, 1, __ATOMIC_RELAXED);
}

static void
r_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	uintptr_t c = (uintptr_t)cookie;
	struct rreq q;
	struct rrep p;

	(void) dp; (void) n_desc;
	if (argp == NULL || arg_size != sizeof (q)) {
		(void) door_return(NULL, 0, NULL, 0);
		return;
	}
	memcpy(&q, argp, sizeof (q));
	if (q.tag < MAXTAG && q.seq < MAXSEQ)
		__atomic_fetch_add(&shm->exec[q.tag][q.seq], 1,
		    __ATOMIC_RELAXED);
	p.slot = (uint32_t)(c >> 24);
	p.gen = (uint32_t)(c & 0xffffff);
	p.tag = q.tag;
	p.seq = q.seq;
	/* Now and then a procedure revokes its own door (door_revoke(3C): this call
	 * still completes). */
	if (q.seq % 61 == 13)
		r_replace(p.slot, p.gen);
	(void) door_return((char *)&p, sizeof (p), NULL, 0);
}

/* The directory: argument a slot number; result (slot, gen) + its door. */
static void
rdir_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	uint32_t slot = 0, out[2];
	door_desc_t d;

	(void) cookie; (void) dp; (void) n_desc;
	if (argp != NULL && arg_size == sizeof (slot))
		memcpy(&slot, argp, sizeof (slot));
	slot %= R_NSLOT;
	memset(&d, 0, sizeof (d));
	pthread_mutex_lock(&rmu);
	d.d_data.d_desc.d_descriptor = dup(rslots[slot].fd);
	out[1] = rslots[slot].gen;
	pthread_mutex_unlock(&rmu);
	out[0] = slot;
	d.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
	(void) door_return((char *)out, sizeof (out), &d, 1);
}

/* What a client got: 1 right reply, 2 EBADF, 3 other error, 4 wrong. */
static int
r_call(int fd, uint32_t slot, uint32_t gen, uint32_t tag, uint32_t seq)
{
	struct rreq q = { tag, seq };
	struct rrep p;
	char rbuf[64];
	door_arg_t a;
	int res;

	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)&q;
	a.data_size = sizeof (q);
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	if (door_call(fd, &a) != 0) {
		res = errno == EBADF ? 2 : 3;
		if (res == 3)
			NOTE("tag %u seq %u: door_call failed with %s", tag,
			    seq, harness_errno_name(errno));
	} else if (a.data_size != sizeof (p) || a.desc_num != 0) {
		res = 4;
		NOTE("tag %u seq %u: %zu bytes, %u descriptors", tag, seq,
		    a.data_size, a.desc_num);
	} else {
		memcpy(&p, a.data_ptr, sizeof (p));
		res = (p.slot == slot && p.gen == gen && p.tag == tag &&
		    p.seq == seq) ? 1 : 4;
		if (res == 4)
			NOTE("tag %u seq %u to door %u/%u: reply from door "
			    "%u/%u for tag %u seq %u", tag, seq, slot, gen,
			    p.slot, p.gen, p.tag, p.seq);
	}
	if (a.rbuf != rbuf)
		(void) munmap(a.rbuf, a.rsize);
	if (tag < MAXTAG && seq < MAXSEQ)
		shm->res[tag][seq] = (unsigned char)res;
	return (res);
}

/* Client threads inside the server: they take a dup of a slot's door. */
static void *
r_local(void *arg)
{
	uint32_t tag = (uint32_t)(uintptr_t)arg, seq = 0, slot = 0;

	while (!r_stop && seq < MAXSEQ) {
		uint32_t gen;
		int fd, k;

		slot = (slot + 1) % R_NSLOT;
		pthread_mutex_lock(&rmu);
		fd = dup(rslots[slot].fd);
		gen = rslots[slot].gen;
		pthread_mutex_unlock(&rmu);
		if (!CHECK(fd >= 0))
			break;
		for (k = 0; k < 30 && seq < MAXSEQ; k++)
			if (r_call(fd, slot, gen, tag, seq++) != 1)
				break;
		close(fd);
	}
	shm->nseq[tag] = seq;
	return (NULL);
}

static void *
r_revoker(void *arg)
{
	uint64_t s = 12345;

	(void) arg;
	while (!r_stop) {
		usleep(200 + rnd(&s) % 1800);
		r_replace(rnd(&s) % R_NSLOT, 0);
	}
	return (NULL);
}

static void
r_setup(void)
{
	int i, dir;

	for (i = 0; i < R_NSLOT; i++) {
		rslots[i].gen = r_gen_next++;
		rslots[i].fd = door_create(r_proc,
		    (void *)(uintptr_t)(((uint32_t)i << 24) | rslots[i].gen),
		    0);
		CHECK(rslots[i].fd >= 0);
	}
	dir = door_create(rdir_proc, NULL, 0);
	if (CHECK(dir >= 0))
		CHECK_EQ(publish(dir, "r"), 0);
	CHECK(pthread_create(&r_threads[0], NULL, r_revoker, NULL) == 0);
	for (i = 0; i < R_LOCAL; i++)
		CHECK(pthread_create(&r_threads[1 + i], NULL, r_local,
		    (void *)(uintptr_t)(R_TAG_LOCAL + i)) == 0);
}

static void
r_teardown(void)
{
	int i;

	r_stop = 1;
	for (i = 0; i < 1 + R_LOCAL; i++)
		pthread_join(r_threads[i], NULL);
	CHECK(r_revokes > 20);
	NOTE("server: %u revocations", r_revokes);
}

struct rclient {
	pthread_t t;
	int dir, idx;
	uint32_t tag;
};

static void *
r_client(void *arg)
{
	struct rclient *c = arg;
	uint64_t s = c->tag * 31337ULL + 1;
	long long end = now_ns() + 3000000000LL;
	uint32_t seq = 0;

	while (now_ns() < end && seq < MAXSEQ) {
		uint32_t slot = rnd(&s) % R_NSLOT, got[2] = { 0, 0 };
		door_arg_t a;
		char rbuf[64];
		int fd = -1, k, n = 1 + (int)(rnd(&s) % 40);

		memset(&a, 0, sizeof (a));
		a.data_ptr = (char *)&slot;
		a.data_size = sizeof (slot);
		a.rbuf = rbuf;
		a.rsize = sizeof (rbuf);
		guard_enter(c->idx, seq, 4);
		if (!CHECK_EQ(door_call(c->dir, &a), 0)) {
			guard_leave(c->idx);
			break;
		}
		guard_leave(c->idx);
		if (CHECK_EQU(a.data_size, sizeof (got)) &&
		    CHECK_EQ(a.desc_num, 1) &&
		    CHECK(a.desc_ptr[0].d_attributes & DOOR_DESCRIPTOR)) {
			memcpy(got, a.data_ptr, sizeof (got));
			fd = a.desc_ptr[0].d_data.d_desc.d_descriptor;
		}
		if (a.rbuf != rbuf)
			(void) munmap(a.rbuf, a.rsize);
		if (!CHECK(fd >= 0) || !CHECK_EQ(got[0], slot))
			break;
		for (k = 0; k < n && seq < MAXSEQ; k++) {
			int r;

			guard_enter(c->idx, seq, 8);
			r = r_call(fd, slot, got[1], c->tag, seq++);
			guard_leave(c->idx);
			if (r != 1)
				break;
		}
		close(fd);
	}
	shm->nseq[c->tag] = seq;
	return (NULL);
}

static void
test_revoke_race(void)
{
	enum { NP = 2, NT = 3 };
	struct server s;
	pid_t pids[NP];
	unsigned ok = 0, ebadf = 0, other = 0, wrong = 0, twice = 0;
	unsigned ran_ebadf = 0, ran_ebadf_local = 0, missing = 0, tag, seq;
	int i;

	harness_watchdog(120);
	shm_reset();
	server_start(&s, r_setup, r_teardown);
	REQUIRE(s.pid > 0);
	for (i = 0; i < NP; i++) {
		pids[i] = client_fork();
		if (pids[i] == 0) {
			struct rclient c[NT];
			int j, fds0;

			harness_watchdog(100);
			guard_start("revoke-race client", 15);
			c[0].dir = open_door("r");
			if (!CHECK(c[0].dir >= 0))
				harness_child_exit();
			{
				/* First contact, then count descriptors. */
				uint32_t sl = 0;
				door_arg_t a;
				char rb[64];

				memset(&a, 0, sizeof (a));
				a.data_ptr = (char *)&sl;
				a.data_size = sizeof (sl);
				a.rbuf = rb;
				a.rsize = sizeof (rb);
				if (CHECK_EQ(door_call(c[0].dir, &a), 0) &&
				    a.desc_num == 1)
					close(a.desc_ptr[0].d_data.d_desc.
					    d_descriptor);
			}
			fds0 = count_fds_stable();
			for (j = 0; j < NT; j++) {
				c[j].dir = c[0].dir;
				c[j].idx = j;
				c[j].tag = 8u * (uint32_t)i + (uint32_t)j;
				if (!CHECK(pthread_create(&c[j].t, NULL,
				    r_client, &c[j]) == 0))
					harness_child_exit();
			}
			for (j = 0; j < NT; j++)
				pthread_join(c[j].t, NULL);
			/* Revoked doors' channels went with the threads. */
			CHECK_EQ(count_fds_settled(fds0), fds0);
			harness_child_exit();
		}
	}
	for (i = 0; i < NP; i++)
		harness_wait_child(pids[i]);
	server_stop(&s);	/* the procedures are all over now */

	for (tag = 0; tag < MAXTAG; tag++) {
		for (seq = 0; seq < shm->nseq[tag] && seq < MAXSEQ; seq++) {
			int e = shm->exec[tag][seq];

			switch (shm->res[tag][seq]) {
			case 1:
				ok++;
				if (e == 0 && missing++ < 5)
					NOTE("tag %u seq %u: reply, but the "
					    "procedure never ran", tag, seq);
				if (e > 1 && twice++ < 5)
					NOTE("tag %u seq %u: ran %d times",
					    tag, seq, e);
				break;
			case 2:
				ebadf++;
				if (e != 0 && tag >= R_TAG_LOCAL)
					ran_ebadf_local++;
				if (e != 0 && ran_ebadf++ < 5)
					NOTE("tag %u seq %u: EBADF, but the "
					    "procedure ran %d time(s)", tag,
					    seq, e);
				break;
			case 3:
				other++;
				break;
			default:
				wrong++;
				break;
			}
		}
	}
	NOTE("%u calls right, %u EBADF (%u of them after the procedure ran, "
	    "%u in the server's own threads), %u other errors, %u wrong "
	    "replies", ok, ebadf, ran_ebadf, ran_ebadf_local, other, wrong);
	CHECK(ok > 1000);
	CHECK(ebadf > 10);
	CHECK_EQ(other, 0);
	CHECK_EQ(wrong, 0);
	CHECK_EQ(missing, 0);
	CHECK_EQ(twice, 0);
	CHECK_EQ(ran_ebadf, 0);
}

/* ------------------------------------------------------ 4. credentials */

struct credrep {
	int ok;
	pid_t pid;
	uid_t euid, ruid, suid;
	gid_t egid, rgid, sgid;
	int ngroups;
	gid_t groups[8];
};

static void
c_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	struct credrep r;
	ucred_t *uc = NULL;
	const gid_t *g;
	int i;

	(void) cookie; (void) argp; (void) arg_size; (void) dp; (void) n_desc;
	memset(&r, 0, sizeof (r));
	if (door_ucred(&uc) == 0) {
		r.ok = 1;
		r.pid = ucred_getpid(uc);
		r.euid = ucred_geteuid(uc);
		r.ruid = ucred_getruid(uc);
		r.suid = ucred_getsuid(uc);
		r.egid = ucred_getegid(uc);
		r.rgid = ucred_getrgid(uc);
		r.sgid = ucred_getsgid(uc);
		r.ngroups = ucred_getgroups(uc, &g);
		for (i = 0; i < r.ngroups && i < 8; i++)
			r.groups[i] = g[i];
		ucred_free(uc);
	}
	(void) door_return((char *)&r, sizeof (r), NULL, 0);
}

static void
c_setup(void)
{
	int fd = door_create(c_proc, NULL, 0);

	if (CHECK(fd >= 0))
		CHECK_EQ(publish(fd, "c"), 0);
}

struct ccall {
	int fd;
	int rc, err;
	struct credrep r;
};

static void
do_ccall(void *arg)
{
	struct ccall *c = arg;
	char one = 1, rbuf[sizeof (struct credrep) + 16];
	door_arg_t a;

	memset(&a, 0, sizeof (a));
	memset(&c->r, 0, sizeof (c->r));
	a.data_ptr = &one;
	a.data_size = 1;
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	errno = 0;
	c->rc = door_call(c->fd, &a);
	c->err = errno;
	if (c->rc == 0 && a.data_size == sizeof (c->r))
		memcpy(&c->r, a.data_ptr, sizeof (c->r));
	else if (c->rc == 0)
		c->rc = -2;
	if (a.rbuf != rbuf)
		(void) munmap(a.rbuf, a.rsize);
}

/* The server saw exactly these ids (and the groups g[0..ng)). */
#define CHECK_IDS(c, ru, eu, su, rg, eg, sg, ng, g) do { \
	int k_; \
	CHECK_EQ((c).rc, 0); \
	CHECK_EQ((c).r.ok, 1); \
	CHECK_EQ((c).r.pid, getpid()); \
	CHECK_EQ((c).r.ruid, ru); CHECK_EQ((c).r.euid, eu); \
	CHECK_EQ((c).r.suid, su); \
	CHECK_EQ((c).r.rgid, rg); CHECK_EQ((c).r.egid, eg); \
	CHECK_EQ((c).r.sgid, sg); \
	if (CHECK_EQ((c).r.ngroups, ng)) \
		for (k_ = 0; k_ < (ng) && k_ < 8; k_++) \
			CHECK_EQ((c).r.groups[k_], (g)[k_]); \
} while (0)

static void
cred_client(void)
{
	static const gid_t grp[2] = { 71, 72 };
	gid_t g0[8];
	struct caller a, b;
	struct ccall c;
	int n, ng0 = getgroups(8, g0);

	c.fd = open_door("c");
	if (!CHECK(c.fd >= 0) || !CHECK(caller_start(&a) == 0))
		return;
	/* Thread a calls: its channel to the door exists from now on. */
	caller_run(&a, do_ccall, &c);
	CHECK_IDS(c, 0, 0, 0, 0, 0, 0, ng0, g0);
	caller_run(&a, do_ccall, &c);
	CHECK_IDS(c, 0, 0, 0, 0, 0, 0, ng0, g0);
	n = libdoor_maps(NULL, 0);
	if (fast_on)
		CHECK(n >= 1);
	else
		CHECK_EQ(n, 0);

	/* Another thread changes the process's ids (libc, all threads). */
	CHECK_EQ(setgroups(2, grp), 0);
	CHECK_EQ(setresgid(1003, 1004, 1005), 0);
	CHECK_EQ(setresuid(1001, 1002, 0), 0);
	caller_run(&a, do_ccall, &c);
	CHECK_IDS(c, 1001, 1002, 0, 1003, 1004, 1005, 2, grp);
	caller_run(&a, do_ccall, &c);
	CHECK_IDS(c, 1001, 1002, 0, 1003, 1004, 1005, 2, grp);
	/* A thread with no channel yet sees the same. */
	if (CHECK(caller_start(&b) == 0)) {
		caller_run(&b, do_ccall, &c);
		CHECK_IDS(c, 1001, 1002, 0, 1003, 1004, 1005, 2, grp);
		caller_stop(&b);
	}

	/* Back to root (the saved uid is 0), then only the effective uid. */
	CHECK_EQ(setresuid(0, 0, 0), 0);
	CHECK_EQ(setresgid(0, 0, 0), 0);
	CHECK_EQ(setgroups(0, NULL), 0);
	caller_run(&a, do_ccall, &c);
	CHECK_IDS(c, 0, 0, 0, 0, 0, 0, 0, grp);
	CHECK_EQ(seteuid(4242), 0);
	caller_run(&a, do_ccall, &c);
	CHECK_IDS(c, 0, 4242, 0, 0, 0, 0, 0, grp);
	CHECK_EQ(seteuid(0), 0);
	CHECK_EQ(setegid(77), 0);
	caller_run(&a, do_ccall, &c);
	CHECK_IDS(c, 0, 0, 0, 0, 77, 0, 0, grp);
	CHECK_EQ(setegid(0), 0);
	caller_run(&a, do_ccall, &c);
	CHECK_IDS(c, 0, 0, 0, 0, 0, 0, 0, grp);
	caller_stop(&a);
	close(c.fd);
}

static void
test_credentials(void)
{
	struct server s;
	pid_t p;

	if (geteuid() != 0) {
		NOTE("not root: credential-change case skipped");
		CHECK(1);
		return;
	}
	shm_reset();
	server_start(&s, c_setup, NULL);
	REQUIRE(s.pid > 0);
	p = client_fork();
	if (p == 0) {
		guard_start("credentials client", 15);
		cred_client();
		harness_child_exit();
	}
	harness_wait_child(p);
	server_stop(&s);
}

/* ------------------------------------------------------------ 5. abort */

enum { OP_ECHO, OP_BLOCK, OP_BLOCK_CANCEL, OP_COUNT };

struct areq {
	int op;
	unsigned seq;
};

static void
a_cleanup(void *arg)
{
	(void) arg;
	shm->cancelled = 1;
	sem_post(&shm->done);
}

static void
a_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	struct areq q = { -1, 0 };
	ucred_t *uc = NULL;
	unsigned out[2];
	int i, r = 0;

	(void) cookie; (void) dp; (void) n_desc;
	if (argp != NULL && arg_size == sizeof (q))
		memcpy(&q, argp, sizeof (q));
	out[0] = q.seq;
	out[1] = 0xec40;
	switch (q.op) {
	case OP_BLOCK:
		/* DOOR_NO_CANCEL door: watch door_ucred fail after abort. */
		shm->ucred_before = door_ucred(&uc);
		if (uc != NULL)
			ucred_free(uc);
		sem_post(&shm->entered);
		(void) wait_sem(&shm->aborted, 20);
		for (i = 0; i < 500; i++) {
			uc = NULL;
			errno = 0;
			r = door_ucred(&uc);
			if (r != 0)
				break;
			ucred_free(uc);
			usleep(10000);
		}
		shm->ucred_after_err = errno;
		shm->ucred_after_ret = r;
		sem_post(&shm->done);
		break;
	case OP_BLOCK_CANCEL:
		/* Default server threads start with cancellation disabled. */
		(void) pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL);
		(void) pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		pthread_cleanup_push(a_cleanup, NULL);
		sem_post(&shm->entered);
		(void) wait_sem(&shm->never, 20);	/* cancellation point */
		shm->not_cancelled = 1;
		pthread_cleanup_pop(0);
		(void) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		sem_post(&shm->done);
		break;
	case OP_COUNT:
		__atomic_fetch_add(&shm->counted, 1, __ATOMIC_SEQ_CST);
		break;
	default:
		break;
	}
	(void) door_return((char *)out, sizeof (out), NULL, 0);
}

static void
a_setup(void)
{
	int nc = door_create(a_proc, NULL, DOOR_NO_CANCEL);
	int c = door_create(a_proc, NULL, 0);

	if (CHECK(nc >= 0))
		CHECK_EQ(publish(nc, "a"), 0);
	if (CHECK(c >= 0))
		CHECK_EQ(publish(c, "ac"), 0);
}

struct acall {
	int fd;
	struct areq q;
	int rc, err, rbuf_intact;
	unsigned out[2];
};

static void
do_acall(void *arg)
{
	struct acall *c = arg;
	char rbuf[64];
	door_arg_t a;
	int i;

	memset(rbuf, 0xa5, sizeof (rbuf));
	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)&c->q;
	a.data_size = sizeof (c->q);
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	errno = 0;
	c->rc = door_call(c->fd, &a);
	c->err = errno;
	c->rbuf_intact = a.rbuf == rbuf;
	for (i = 0; i < (int)sizeof (rbuf); i++)
		if ((unsigned char)rbuf[i] != 0xa5)
			c->rbuf_intact = 0;
	memset(c->out, 0, sizeof (c->out));
	if (c->rc == 0) {
		if (a.data_size == sizeof (c->out))
			memcpy(c->out, a.data_ptr, sizeof (c->out));
		if (a.rbuf != rbuf)
			(void) munmap(a.rbuf, a.rsize);
	}
}

/* An echo on c->fd from thread t must work. */
static int
a_echo(struct caller *t, struct acall *c, unsigned seq)
{
	c->q.op = OP_ECHO;
	c->q.seq = seq;
	caller_run(t, do_acall, c);
	return (CHECK_EQ(c->rc, 0) && CHECK_EQ(c->out[0], seq) &&
	    CHECK_EQ(c->out[1], 0xec40));
}

static volatile sig_atomic_t got_usr1;

static void
on_usr1(int sig)
{
	(void) sig;
	got_usr1++;
}

/* Inode numbers of this process's libdoor mappings. */
static int
map_inodes(unsigned long *ino, int max)
{
	struct lmap m[64];
	int n = libdoor_maps(m, 64), i;

	for (i = 0; i < n && i < max && i < 64; i++)
		ino[i] = m[i].ino;
	return (n);
}

static void
abort_client(pid_t server)
{
	struct caller t, t2;
	struct acall c, cc;
	struct sigaction sa;
	unsigned long ino1[64], ino2[64];
	unsigned c0;
	int n1, n2, i, j, gone;

	c.fd = open_door("a");
	cc.fd = open_door("ac");
	if (!CHECK(c.fd >= 0) || !CHECK(cc.fd >= 0) ||
	    !CHECK(caller_start(&t) == 0))
		return;
	memset(&sa, 0, sizeof (sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	/* The thread's channel exists. */
	a_echo(&t, &c, 1);
	a_echo(&t, &c, 2);
	n1 = map_inodes(ino1, 64);
	if (fast_on)
		CHECK(n1 >= 1);
	else
		CHECK_EQ(n1, 0);

	/* EINTR while the procedure runs (DOOR_NO_CANCEL door). */
	c.q.op = OP_BLOCK;
	c.q.seq = 3;
	caller_post(&t, do_acall, &c);
	if (CHECK_EQ(wait_sem(&shm->entered, 10), 0)) {
		usleep(100000);
		pthread_kill(t.t, SIGUSR1);
	}
	caller_wait(&t);
	CHECK_EQ(c.rc, -1);
	CHECK_EQ(c.err, EINTR);
	CHECK(c.rbuf_intact);
	sem_post(&shm->aborted);
	if (CHECK_EQ(wait_sem(&shm->done, 10), 0)) {
		CHECK_EQ(shm->ucred_before, 0);
		CHECK_EQ(shm->ucred_after_ret, -1);
		CHECK_EQ(shm->ucred_after_err, EINVAL);
	}
	/* The next call works, on a fresh channel. */
	a_echo(&t, &c, 4);
	n2 = map_inodes(ino2, 64);
	if (fast_on) {
		CHECK_EQ(n2, n1);
		for (i = 0, gone = 0; i < n1 && i < 64; i++) {
			for (j = 0; j < n2 && j < 64; j++)
				if (ino2[j] == ino1[i])
					break;
			if (j == n2 || j == 64)
				gone++;
		}
		/*
		 * When the aborted call was on the fast path its channel is
		 * replaced (gone == 1); when it happened to take the socket
		 * path (no idle follower at that instant) nothing changes.
		 * Either way no channel is left behind: n2 == n1 above.
		 */
		CHECK(gone <= 1);
	}
	a_echo(&t, &c, 5);

	/*
	 * A cancellable door: the server thread is cancelled. Not under
	 * AddressSanitizer: glibc's forced unwind of a cancelled thread runs
	 * no ASan hook, so the procedure's stack redzones stay poisoned and
	 * ASan reports its own thread-exit code (a known ASan limitation with
	 * pthread_cancel, not a libdoor memory error). The plain and
	 * installed-tree runs cover this case.
	 */
#ifndef __SANITIZE_ADDRESS__
	a_echo(&t, &cc, 6);
	a_echo(&t, &cc, 7);
	cc.q.op = OP_BLOCK_CANCEL;
	cc.q.seq = 8;
	caller_post(&t, do_acall, &cc);
	if (CHECK_EQ(wait_sem(&shm->entered, 10), 0)) {
		usleep(100000);
		pthread_kill(t.t, SIGUSR1);
	}
	caller_wait(&t);
	CHECK_EQ(cc.rc, -1);
	CHECK_EQ(cc.err, EINTR);
	CHECK(cc.rbuf_intact);
	if (CHECK_EQ(wait_sem(&shm->done, 10), 0)) {
		CHECK_EQ(shm->cancelled, 1);
		CHECK_EQ(shm->not_cancelled, 0);
	}
	a_echo(&t, &cc, 9);
	if (CHECK(caller_start(&t2) == 0)) {
		a_echo(&t2, &cc, 10);
		caller_stop(&t2);
	}
#endif

	/* EAGAIN: the server is stopped, no thread takes the call. */
	a_echo(&t, &c, 11);
	usleep(200000);		/* its threads are idle again */
	c0 = shm->counted;
	CHECK_EQ(kill(server, SIGSTOP), 0);
	CHECK_EQ(wait_stopped(server), 0);	/* every thread, really */
	c.q.op = OP_COUNT;
	c.q.seq = 12;
	caller_post(&t, do_acall, &c);
	usleep(300000);
	pthread_kill(t.t, SIGUSR1);
	caller_wait(&t);
	CHECK_EQ(kill(server, SIGCONT), 0);
	CHECK_EQ(c.rc, -1);
	CHECK_EQ(c.err, EAGAIN);
	CHECK(c.rbuf_intact);
	usleep(500000);
	CHECK_EQ(shm->counted, c0);	/* never performed */
	c.q.op = OP_COUNT;
	c.q.seq = 13;
	caller_run(&t, do_acall, &c);
	CHECK_EQ(c.rc, 0);
	CHECK_EQ(c.out[0], 13);
	CHECK_EQ(shm->counted, c0 + 1);
	a_echo(&t, &c, 14);
#ifndef __SANITIZE_ADDRESS__
	CHECK(got_usr1 == 3);
#else
	CHECK(got_usr1 == 2);	/* the cancellation case is skipped */
#endif
	caller_stop(&t);
	close(c.fd);
	close(cc.fd);
}

static void
test_abort(void)
{
	struct server s;
	pid_t p;

	harness_watchdog(90);
	shm_reset();
	server_start(&s, a_setup, NULL);
	REQUIRE(s.pid > 0);
	p = client_fork();
	if (p == 0) {
		harness_watchdog(80);
		guard_start("abort client", 20);
		abort_client(s.pid);
		harness_child_exit();
	}
	harness_wait_child(p);
	(void) kill(s.pid, SIGCONT);
	CHECK(server_alive(&s));
	server_stop(&s);
}

/* ---------------------------------------------------------- 6. hygiene */

static void
g_setup(void)
{
	int a = door_create(h_proc, NULL, 0);
	int b = door_create(h_proc, NULL, 0);

	if (CHECK(a >= 0))
		CHECK_EQ(publish(a, "g1"), 0);
	if (CHECK(b >= 0))
		CHECK_EQ(publish(b, "g2"), 0);
}

struct gthread {
	pthread_t t;
	int fd1, fd2, idx;
	unsigned bad;
	int maps_during;
};

static void *
g_thread(void *arg)
{
	struct gthread *g = arg;
	unsigned char *req = malloc(sizeof (struct hmsg) + H_MAXLEN);
	uint32_t i;
	int err;

	if (req == NULL) {
		g->bad++;
		return (NULL);
	}
	for (i = 0; i < 100; i++) {
		guard_enter(g->idx, i, 0);
		if (h_call(g->fd1, 700 + (uint32_t)g->idx, i, i * 37 % 3000,
		    req, &err) != 0)
			g->bad++;
		/* Growing arguments: the channel is replaced by a larger. */
		if (h_call(g->fd2, 800 + (uint32_t)g->idx, i,
		    i == 50 ? 100000 : i * 331 % 20000, req, &err) != 0)
			g->bad++;
		guard_leave(g->idx);
	}
	g->maps_during = libdoor_maps(NULL, 0);
	free(req);
	return (NULL);
}

static void
hygiene_client(pid_t server)
{
	unsigned char *req = malloc(sizeof (struct hmsg) + H_MAXLEN);
	struct gthread g[4];
	int fd1 = open_door("g1"), fd2 = open_door("g2");
	int fds0, maps0, sfds0, round, i, n, err;

	if (!CHECK(fd1 >= 0) || !CHECK(fd2 >= 0) || !CHECK(req != NULL))
		return;
	/*
	 * First contact: the descriptors become doors (socket path); the
	 * second calls set up this thread's channels.
	 */
	CHECK_EQ(h_call(fd1, 1, 0, 10, req, &err), 0);
	CHECK_EQ(h_call(fd2, 1, 0, 10, req, &err), 0);
	CHECK_EQ(h_call(fd1, 1, 1, 10, req, &err), 0);
	CHECK_EQ(h_call(fd2, 1, 1, 10, req, &err), 0);
	fds0 = count_fds_stable();
	maps0 = libdoor_maps(NULL, 0);
	sfds0 = count_fds_stable_of(server);
	if (!fast_on)
		CHECK_EQ(maps0, 0);
	for (round = 0; round < 3; round++) {
		n = round == 0 ? 1 : 4;
		for (i = 0; i < n; i++) {
			memset(&g[i], 0, sizeof (g[i]));
			g[i].fd1 = fd1;
			g[i].fd2 = fd2;
			g[i].idx = i;
			if (!CHECK(pthread_create(&g[i].t, NULL, g_thread,
			    &g[i]) == 0))
				return;
		}
		for (i = 0; i < n; i++) {
			pthread_join(g[i].t, NULL);
			CHECK_EQ(g[i].bad, 0);
			if (fast_on)
				CHECK(g[i].maps_during > maps0);
			else
				CHECK_EQ(g[i].maps_during, 0);
		}
		CHECK_EQ(count_fds_settled(fds0), fds0);
		CHECK_EQ(libdoor_maps_settled(maps0), maps0);
		if (!CHECK_EQ(count_fds_settled_of(server, sfds0, 5), sfds0))
			dump_fds_of(server, "after the threads exited");
	}
	free(req);
	close(fd1);
	close(fd2);
}

static void
test_thread_exit_hygiene(void)
{
	struct server s;
	pid_t p;

	harness_watchdog(90);
	shm_reset();
	server_start(&s, g_setup, NULL);
	REQUIRE(s.pid > 0);
	p = client_fork();
	if (p == 0) {
		harness_watchdog(80);
		guard_start("hygiene thread", 15);
		hygiene_client(s.pid);
		harness_child_exit();
	}
	harness_wait_child(p);
	server_stop(&s);
}

/* --------------------------------------- 7. first use from many threads */

static void
f_setup(void)
{
	int fd = door_create(h_proc, NULL, 0);

	if (CHECK(fd >= 0))
		CHECK_EQ(publish(fd, "f"), 0);
}

static int f_fd;
static pthread_barrier_t f_bar;

struct fcall {
	pthread_t t;
	int idx, bad, err;
};

static void *
f_caller(void *arg)
{
	struct fcall *c = arg;
	unsigned char req[sizeof (struct hmsg) + 64];

	(void) pthread_barrier_wait(&f_bar);
	guard_enter(c->idx, 0, 32);
	c->bad = h_call(f_fd, 900 + (uint32_t)c->idx, 0, 32, req, &c->err);
	guard_leave(c->idx);
	return (NULL);
}

/*
 * A descriptor from open(2) of an attached path, whose first use as a door
 * is a door_call made by several threads at the same moment: every call
 * reaches the door (fattach(3C): the opened file is the door).
 */
static void
test_first_use_concurrent(void)
{
	enum { ITER = 40, NT = 8 };
	struct server s;
	int it, failed_iters = 0;

	harness_watchdog(120);
	shm_reset();
	server_start(&s, f_setup, NULL);
	REQUIRE(s.pid > 0);
	for (it = 0; it < ITER; it++) {
		pid_t p = client_fork();

		if (p == 0) {
			struct fcall c[NT];
			char path[128];
			int i;

			guard_start("first-use caller", 15);
			path_of(path, sizeof (path), "f");
			f_fd = open(path, O_RDONLY);
			if (!CHECK(f_fd >= 0))
				harness_child_exit();
			pthread_barrier_init(&f_bar, NULL, NT);
			for (i = 0; i < NT; i++) {
				c[i].idx = i;
				if (!CHECK(pthread_create(&c[i].t, NULL,
				    f_caller, &c[i]) == 0))
					harness_child_exit();
			}
			for (i = 0; i < NT; i++) {
				pthread_join(c[i].t, NULL);
				if (c[i].bad != 0)
					printf("  note: iteration %d thread %d: "
					    "'%c' errno %s\n", it, i, c[i].bad,
					    harness_errno_name(c[i].err));
				harness_report(c[i].bad == 0, c[i].err,
				    __FILE__, __func__, __LINE__,
				    "first door_call on an opened attached "
				    "path from %d threads at once", NT);
			}
			harness_child_exit();
		}
		if (harness_wait_child(p) != 0)
			failed_iters++;
	}
	if (failed_iters != 0)
		NOTE("%d of %d processes had a failing first call",
		    failed_iters, ITER);
	server_stop(&s);
}

/* ---------------------------------------------------------------- main */

static void
cleanup_dir(void)
{
	static const char *names[] = { "h", "hb", "s", "r", "c", "a", "ac", "g1",
	    "g2", "f" };
	char p[128];
	unsigned i;

	for (i = 0; i < sizeof (names) / sizeof (names[0]); i++) {
		path_of(p, sizeof (p), names[i]);
		(void) unlink(p);
	}
	(void) rmdir(tdir);
}

int
main(int argc, char **argv)
{
	const char *e = getenv("LIBDOOR_FASTPATH");

	harness_only(argc, argv);	/* `t_fastpath NAME...`: only those */
	fast_on = !(e != NULL && strcmp(e, "0") == 0);
	printf("fast path %s\n", fast_on ? "on" : "off (LIBDOOR_FASTPATH=0)");
	strcpy(tdir, "/tmp/t_fastpath.XXXXXX");
	if (mkdtemp(tdir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	shm_reset();
	RUN(test_hostile_scribbler);
	RUN(test_stress);
	RUN(test_revoke_race);
	RUN(test_credentials);
	RUN(test_abort);
	RUN(test_thread_exit_hygiene);
	RUN(test_first_use_concurrent);
	cleanup_dir();
	return (harness_done());
}
