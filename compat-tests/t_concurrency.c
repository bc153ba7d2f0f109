/*
 * t_concurrency.c - concurrent door_call(3C) and the server thread pool.
 *
 * Clauses exercised (door_call(3C), door_server_create(3C): pool growth,
 * waiting for an idle thread, server exit):
 *  - the default pool grows as the last idle thread takes a call, so N
 *    concurrent clients are all inside the procedure at the same time
 *    (each waits, with a generous timeout, for the count to reach N);
 *  - calls to doors served by the calling process (DOOR_LOCAL) from many
 *    threads, on several doors;
 *  - several forked client processes inside the procedure at once;
 *  - stress: many threads and processes x many calls; every reply matches
 *    its request (no lost, duplicated or crossed replies), every call
 *    reaches the procedure exactly once.
 */
#include <door.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <sys/mman.h>

#include "harness.h"

/* ---- barrier door: every caller waits until `target` callers are in ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int inside, target;

static void
barrier_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	struct timespec deadline;
	int reached, rc = 0;

	(void) cookie; (void) argp; (void) arg_size; (void) dp; (void) n_desc;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 30;
	pthread_mutex_lock(&mu);
	inside++;
	pthread_cond_broadcast(&cv);
	while (inside < target && rc == 0)
		rc = pthread_cond_timedwait(&cv, &mu, &deadline);
	reached = inside >= target ? inside : -inside;
	pthread_mutex_unlock(&mu);
	(void) door_return((char *)&reached, sizeof (reached), NULL, 0);
}

static int barrier_fd = -1;

static int
barrier_call(int fd)
{
	door_arg_t a;
	int r = 0;
	char rbuf[16];

	memset(&a, 0, sizeof (a));
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	if (door_call(fd, &a) != 0)
		return (-1000);
	if (a.data_size != sizeof (int))
		return (-2000);
	memcpy(&r, a.data_ptr, sizeof (r));
	return (r);
}

static void *
barrier_client(void *arg)
{
	int *res = arg;
	*res = barrier_call(barrier_fd);
	return (NULL);
}

static void
reset_barrier(int n)
{
	pthread_mutex_lock(&mu);
	inside = 0;
	target = n;
	pthread_mutex_unlock(&mu);
}

static void
run_barrier_threads(int n)
{
	pthread_t t[32];
	int res[32], i, ok = 0;

	reset_barrier(n);
	for (i = 0; i < n; i++)
		REQUIRE(pthread_create(&t[i], NULL, barrier_client,
		    &res[i]) == 0);
	for (i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		if (res[i] >= n)
			ok++;
		else
			printf("  client %d: %d\n", i, res[i]);
	}
	CHECK_EQ(ok, n);
}

static void
test_parallel_in_procedure(void)
{
	run_barrier_threads(8);
	/* Again: the grown pool is reused. */
	run_barrier_threads(8);
	/* And more than before. */
	run_barrier_threads(16);
}

static void
test_parallel_processes(void)
{
	enum { NP = 4 };
	pid_t pids[NP];
	int i;

	reset_barrier(NP);
	for (i = 0; i < NP; i++) {
		pids[i] = harness_fork();
		REQUIRE(pids[i] >= 0);
		if (pids[i] == 0) {
			int r = barrier_call(barrier_fd);
			if (!CHECK(r >= NP))
				printf("  child %d: %d\n", i, r);
			harness_child_exit();
		}
	}
	for (i = 0; i < NP; i++)
		harness_wait_child(pids[i]);
}

/* ---- stress: replies must match requests --------------------------------- */

struct sreq {
	unsigned tag;		/* client id */
	unsigned seq;
	unsigned len;		/* payload bytes that follow */
	unsigned reply_pad;	/* extra reply bytes (forces overflow) */
};

static int served;

static void
stress_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	char out[sizeof (struct sreq) + 4096 + 8192];
	struct sreq r;
	unsigned i;

	(void) cookie; (void) dp; (void) n_desc;
	__atomic_fetch_add(&served, 1, __ATOMIC_RELAXED);
	if (arg_size < sizeof (r)) {
		(void) door_return(NULL, 0, NULL, 0);
		return;
	}
	memcpy(&r, argp, sizeof (r));
	if (r.len > 4096 || r.reply_pad > 8192 ||
	    arg_size != sizeof (r) + r.len) {
		r.tag = ~0u;
		(void) door_return((char *)&r, sizeof (r), NULL, 0);
		return;
	}
	memcpy(out, &r, sizeof (r));
	/* reply payload: the request payload reversed and inverted */
	for (i = 0; i < r.len; i++)
		out[sizeof (r) + i] = (char)~argp[sizeof (r) + r.len - 1 - i];
	memset(out + sizeof (r) + r.len, (int)(r.seq & 0xff), r.reply_pad);
	(void) door_return(out, sizeof (r) + r.len + r.reply_pad, NULL, 0);
}

static int stress_fd = -1;

struct worker {
	unsigned tag;
	unsigned calls;
	unsigned bad;
	unsigned failed;
};

static unsigned
rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 8);
}

static void *
stress_worker(void *arg)
{
	struct worker *w = arg;
	char req[sizeof (struct sreq) + 4096];
	char rbuf[sizeof (struct sreq) + 2048];
	unsigned seed = w->tag * 7919u + 1, n, i;

	for (n = 0; n < w->calls; n++) {
		struct sreq r, got;
		door_arg_t a;
		int bad = 0;

		r.tag = w->tag;
		r.seq = n;
		r.len = rnd(&seed) % 3000;
		r.reply_pad = (rnd(&seed) % 4 == 0) ? rnd(&seed) % 8000 : 0;
		memcpy(req, &r, sizeof (r));
		for (i = 0; i < r.len; i++)
			req[sizeof (r) + i] = (char)(r.tag * 31 + r.seq + i);
		memset(&a, 0, sizeof (a));
		a.data_ptr = req;
		a.data_size = sizeof (r) + r.len;
		a.rbuf = rbuf;
		a.rsize = sizeof (rbuf);
		if (door_call(stress_fd, &a) != 0) {
			w->failed++;
			continue;
		}
		if (a.data_size != sizeof (r) + r.len + r.reply_pad) {
			bad = 1;
		} else {
			memcpy(&got, a.data_ptr, sizeof (got));
			if (got.tag != r.tag || got.seq != r.seq ||
			    got.len != r.len)
				bad = 1;
			for (i = 0; !bad && i < r.len; i++)
				if (a.data_ptr[sizeof (r) + i] !=
				    (char)~req[sizeof (r) + r.len - 1 - i])
					bad = 1;
			for (i = 0; !bad && i < r.reply_pad; i++)
				if (a.data_ptr[sizeof (r) + r.len + i] !=
				    (char)(r.seq & 0xff))
					bad = 1;
		}
		if (a.rbuf != rbuf)
			munmap(a.rbuf, a.rsize);
		w->bad += bad;
	}
	return (NULL);
}

static void
run_stress(int nthreads, unsigned calls, unsigned tagbase, unsigned *bad,
    unsigned *failed)
{
	pthread_t t[32];
	struct worker w[32];
	int i;

	*bad = *failed = 0;
	for (i = 0; i < nthreads; i++) {
		w[i].tag = tagbase + (unsigned)i;
		w[i].calls = calls;
		w[i].bad = w[i].failed = 0;
		if (pthread_create(&t[i], NULL, stress_worker, &w[i]) != 0) {
			(*failed) += calls;
			w[i].calls = 0;
			t[i] = pthread_self();
		}
	}
	for (i = 0; i < nthreads; i++) {
		if (!pthread_equal(t[i], pthread_self()))
			pthread_join(t[i], NULL);
		*bad += w[i].bad;
		*failed += w[i].failed;
	}
}

static void
test_stress_threads(void)
{
	enum { NT = 8, CALLS = 3000 };
	unsigned bad, failed;
	int before = served;

	harness_watchdog(240);
	run_stress(NT, CALLS, 100, &bad, &failed);
	CHECK_EQ(bad, 0);
	CHECK_EQ(failed, 0);
	CHECK_EQ(served - before, NT * CALLS);
}

static void
test_stress_processes(void)
{
	enum { NP = 4, NT = 3, CALLS = 1000 };
	pid_t pids[NP];
	int i, before = served;

	harness_watchdog(240);
	for (i = 0; i < NP; i++) {
		pids[i] = harness_fork();
		REQUIRE(pids[i] >= 0);
		if (pids[i] == 0) {
			unsigned bad, failed;
			harness_watchdog(230);
			run_stress(NT, CALLS, 1000u * (unsigned)(i + 1), &bad,
			    &failed);
			CHECK_EQ(bad, 0);
			CHECK_EQ(failed, 0);
			harness_child_exit();
		}
	}
	/* Meanwhile this process calls too. */
	{
		unsigned bad, failed;
		run_stress(2, CALLS, 50, &bad, &failed);
		CHECK_EQ(bad, 0);
		CHECK_EQ(failed, 0);
	}
	for (i = 0; i < NP; i++)
		harness_wait_child(pids[i]);
	CHECK_EQ(served - before, NP * NT * CALLS + 2 * CALLS);
}

/* ---- several local doors, many threads --------------------------------- */

#define NDOORS 4
static int local_fds[NDOORS];

static void
id_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	char out[64];
	int n;

	(void) dp; (void) n_desc;
	n = snprintf(out, sizeof (out), "%ld:%.*s", (long)(intptr_t)cookie,
	    (int)arg_size, argp);
	(void) door_return(out, (size_t)n + 1, NULL, 0);
}

struct lworker {
	int idx;
	int bad;
};

static void *
local_worker(void *arg)
{
	struct lworker *w = arg;
	int i;

	for (i = 0; i < 500; i++) {
		int d = (w->idx + i) % NDOORS;
		door_info_t di;
		door_arg_t a;
		char msg[32], rbuf[64], want[64];

		if (door_info(local_fds[d], &di) != 0 ||
		    !(di.di_attributes & DOOR_LOCAL))
			w->bad++;
		snprintf(msg, sizeof (msg), "%d-%d", w->idx, i);
		snprintf(want, sizeof (want), "%d:%s", d, msg);
		memset(&a, 0, sizeof (a));
		a.data_ptr = msg;
		a.data_size = strlen(msg);
		a.rbuf = rbuf;
		a.rsize = sizeof (rbuf);
		if (door_call(local_fds[d], &a) != 0 ||
		    strcmp(a.data_ptr, want) != 0)
			w->bad++;
	}
	return (NULL);
}

static void
test_local_doors(void)
{
	enum { NT = 8 };
	pthread_t t[NT];
	struct lworker w[NT];
	int i, bad = 0;

	for (i = 0; i < NDOORS; i++) {
		local_fds[i] = door_create(id_proc, (void *)(intptr_t)i, 0);
		REQUIRE(local_fds[i] >= 0);
	}
	for (i = 0; i < NT; i++) {
		w[i].idx = i;
		w[i].bad = 0;
		REQUIRE(pthread_create(&t[i], NULL, local_worker, &w[i]) == 0);
	}
	for (i = 0; i < NT; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].bad;
	}
	CHECK_EQ(bad, 0);
	for (i = 0; i < NDOORS; i++)
		door_revoke(local_fds[i]);
}

int
main(void)
{
	barrier_fd = door_create(barrier_proc, NULL, 0);
	stress_fd = door_create(stress_proc, NULL, 0);
	if (barrier_fd < 0 || stress_fd < 0) {
		perror("door_create");
		return (1);
	}
	RUN(test_parallel_in_procedure);
	RUN(test_parallel_processes);
	RUN(test_local_doors);
	RUN(test_stress_threads);
	RUN(test_stress_processes);
	return (harness_done());
}
