/*
 * t_cred.c - door_cred(3C), door_ucred(3C), ucred_get(3C).
 *
 * Clauses exercised (door_cred(3C), door_ucred(3C), ucred_get(3C); nested
 * calls and aborted callers):
 *  - inside an invocation, door_cred and door_ucred report the immediate
 *    caller's pid, effective/real/saved uid and gid and supplementary
 *    groups, for a caller in the same process and in a fork child;
 *  - a caller that changed its ids (setresuid/setresgid/setgroups, when
 *    run as root) is seen with its new ids, even after earlier calls with
 *    the old ones (credentials can be neither forged nor stale);
 *  - in a chain A -> B -> C, C sees B;
 *  - door_ucred with *info == NULL allocates (free with ucred_free); with a
 *    non-NULL *info it reuses that buffer; door_cred leaves dc_resv alone;
 *  - EINVAL outside an invocation (main thread, any non-server thread) and
 *    after the client aborted (killed mid-call); *info is then unchanged;
 *  - ucred_get(P_MYID) / ucred_get(getpid()): accessors match getresuid,
 *    getresgid, getgroups, getpid; ucred_size() > 0; ESRCH for a process
 *    that does not exist; ucred_getgroups gives NULL for zero groups;
 *    the zone id of a Linux process is the global zone (0).
 */
#define _GNU_SOURCE	/* getresuid, getresgid, setresuid, setresgid */
#include <door.h>
#include <ucred.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>

#include "harness.h"

#define MAXG 64

struct credrep {
	int cred_rc, cred_err;
	unsigned dc_euid, dc_egid, dc_ruid, dc_rgid;
	int dc_pid;
	int dc_resv_kept;
	int ucred_rc, ucred_err;
	unsigned euid, ruid, suid, egid, rgid, sgid;
	int pid;
	int ngroups;
	int groups_null;
	unsigned groups[MAXG];
	int reuse_rc, reuse_same_ptr, reuse_pid;
	unsigned reuse_euid;
};

static void
collect(struct credrep *r)
{
	door_cred_t dc;
	ucred_t *uc = NULL, *pre;
	const gid_t *g = NULL;
	int i;

	memset(r, 0, sizeof (*r));
	memset(&dc, 0x7f, sizeof (dc));
	errno = 0;
	r->cred_rc = door_cred(&dc);
	r->cred_err = errno;
	r->dc_euid = dc.dc_euid;
	r->dc_egid = dc.dc_egid;
	r->dc_ruid = dc.dc_ruid;
	r->dc_rgid = dc.dc_rgid;
	r->dc_pid = dc.dc_pid;
	r->dc_resv_kept = 1;
	for (i = 0; i < 4; i++)
		if (dc.dc_resv[i] != 0x7f7f7f7f)
			r->dc_resv_kept = 0;

	errno = 0;
	r->ucred_rc = door_ucred(&uc);
	r->ucred_err = errno;
	if (r->ucred_rc == 0 && uc != NULL) {
		r->euid = ucred_geteuid(uc);
		r->ruid = ucred_getruid(uc);
		r->suid = ucred_getsuid(uc);
		r->egid = ucred_getegid(uc);
		r->rgid = ucred_getrgid(uc);
		r->sgid = ucred_getsgid(uc);
		r->pid = ucred_getpid(uc);
		r->ngroups = ucred_getgroups(uc, &g);
		r->groups_null = (g == NULL);
		for (i = 0; i < r->ngroups && i < MAXG; i++)
			r->groups[i] = g[i];
		ucred_free(uc);
	}

	/* A caller-provided ucred is reused in place. */
	pre = malloc(ucred_size());
	if (pre != NULL) {
		ucred_t *keep = pre;
		r->reuse_rc = door_ucred(&pre);
		r->reuse_same_ptr = (pre == keep);
		r->reuse_euid = ucred_geteuid(pre);
		r->reuse_pid = ucred_getpid(pre);
		free(keep);
	}
}

static void
cred_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	struct credrep r;

	(void) cookie; (void) argp; (void) arg_size; (void) dp; (void) n_desc;
	collect(&r);
	(void) door_return((char *)&r, sizeof (r), NULL, 0);
}

static int
get_creds(int fd, struct credrep *out)
{
	door_arg_t a;
	char rbuf[sizeof (struct credrep)];

	memset(&a, 0, sizeof (a));
	a.data_ptr = "who am i";
	a.data_size = 9;
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	if (door_call(fd, &a) != 0)
		return (-1);
	if (a.data_size != sizeof (*out))
		return (-2);
	memcpy(out, a.data_ptr, sizeof (*out));
	if (a.rbuf != rbuf)
		munmap(a.rbuf, a.rsize);
	return (0);
}

static int
cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
	return (x < y ? -1 : x > y);
}

/* Do the reported ids equal this process's own? */
static void
verify_self(const struct credrep *r)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	gid_t mine[MAXG], theirs[MAXG];
	int n, i, diff = 0;

	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);

	CHECK_EQ(r->cred_rc, 0);
	CHECK_EQ(r->dc_euid, eu);
	CHECK_EQ(r->dc_egid, eg);
	CHECK_EQ(r->dc_ruid, ru);
	CHECK_EQ(r->dc_rgid, rg);
	CHECK_EQ(r->dc_pid, getpid());
	CHECK(r->dc_resv_kept);

	CHECK_EQ(r->ucred_rc, 0);
	CHECK_EQ(r->euid, eu);
	CHECK_EQ(r->ruid, ru);
	CHECK_EQ(r->suid, su);
	CHECK_EQ(r->egid, eg);
	CHECK_EQ(r->rgid, rg);
	CHECK_EQ(r->sgid, sg);
	CHECK_EQ(r->pid, getpid());

	n = getgroups(MAXG, mine);
	CHECK_EQ(r->ngroups, n);
	if (n == r->ngroups && n > 0) {
		for (i = 0; i < n; i++)
			theirs[i] = r->groups[i];
		qsort(mine, (size_t)n, sizeof (gid_t), cmp_gid);
		qsort(theirs, (size_t)n, sizeof (gid_t), cmp_gid);
		for (i = 0; i < n; i++)
			if (mine[i] != theirs[i])
				diff++;
		CHECK_EQ(diff, 0);
	}
	if (n == 0)
		CHECK(r->groups_null);

	CHECK_EQ(r->reuse_rc, 0);
	CHECK(r->reuse_same_ptr);
	CHECK_EQ(r->reuse_euid, eu);
	CHECK_EQ(r->reuse_pid, getpid());
}

static int cred_fd = -1;

static void
test_same_process(void)
{
	struct credrep r;

	REQUIRE(get_creds(cred_fd, &r) == 0);
	verify_self(&r);
}

static void
test_fork_child(void)
{
	pid_t pid = harness_fork();

	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct credrep r;
		if (CHECK(get_creds(cred_fd, &r) == 0))
			verify_self(&r);
		harness_child_exit();
	}
	harness_wait_child(pid);
}

/* As root: a child with distinct unprivileged ids is seen as such. */
static void
test_changed_ids(void)
{
	pid_t pid;

	if (geteuid() != 0) {
		NOTE("not root: setresuid case skipped");
		return;
	}
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct credrep r;
		gid_t groups[2] = { 65530, 65531 };

		/* First as root, so any per-client state exists already. */
		if (CHECK(get_creds(cred_fd, &r) == 0))
			verify_self(&r);
		CHECK_EQ(setgroups(2, groups), 0);
		CHECK_EQ(setresgid(1003, 65533, 1004), 0);
		CHECK_EQ(setresuid(1001, 65534, 1002), 0);
		if (CHECK(get_creds(cred_fd, &r) == 0)) {
			verify_self(&r);
			CHECK_EQ(r.euid, 65534);
			CHECK_EQ(r.ruid, 1001);
			CHECK_EQ(r.suid, 1002);
			CHECK_EQ(r.egid, 65533);
			CHECK_EQ(r.rgid, 1003);
			CHECK_EQ(r.sgid, 1004);
			CHECK_EQ(r.dc_euid, 65534);
			CHECK_EQ(r.dc_ruid, 1001);
			CHECK_EQ(r.dc_egid, 65533);
			CHECK_EQ(r.dc_rgid, 1003);
			CHECK_EQ(r.ngroups, 2);
		}
		/* Switch the effective uid back and forth (saved uid 1002). */
		CHECK_EQ(setresuid(-1, 1002, -1), 0);
		if (CHECK(get_creds(cred_fd, &r) == 0)) {
			verify_self(&r);
			CHECK_EQ(r.euid, 1002);
		}
		harness_child_exit();
	}
	harness_wait_child(pid);

	/* A child with no supplementary groups at all. */
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct credrep r;
		CHECK_EQ(setgroups(0, NULL), 0);
		CHECK_EQ(setresgid(65534, 65534, 65534), 0);
		CHECK_EQ(setresuid(65534, 65534, 65534), 0);
		if (CHECK(get_creds(cred_fd, &r) == 0)) {
			verify_self(&r);
			CHECK_EQ(r.ngroups, 0);
			CHECK(r.groups_null);
		}
		harness_child_exit();
	}
	harness_wait_child(pid);
}

/* Chain child -> A (this process) -> B (this process): B sees A. */
static int chain_b = -1;

static void
chain_a_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	struct credrep r;
	door_arg_t a;

	(void) cookie; (void) argp; (void) arg_size; (void) dp; (void) n_desc;
	memset(&r, 0, sizeof (r));
	memset(&a, 0, sizeof (a));
	a.rbuf = (char *)&r;
	a.rsize = sizeof (r);
	if (door_call(chain_b, &a) != 0 || a.data_size != sizeof (r))
		r.pid = -12345;
	else if (a.data_ptr != (char *)&r)
		memcpy(&r, a.data_ptr, sizeof (r));
	(void) door_return((char *)&r, sizeof (r), NULL, 0);
}

static void
test_chain_sees_middle(void)
{
	int a = door_create(chain_a_proc, NULL, 0);
	pid_t me = getpid(), pid;

	chain_b = cred_fd;
	REQUIRE(a >= 0);
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct credrep r;
		if (CHECK(get_creds(a, &r) == 0)) {
			CHECK_EQ(r.pid, me);
			CHECK_EQ(r.dc_pid, me);
		}
		harness_child_exit();
	}
	harness_wait_child(pid);
	door_revoke(a);
}

static void *
plain_thread(void *arg)
{
	int *ok = arg;
	door_cred_t dc;
	ucred_t *uc = NULL;

	*ok = 1;
	errno = 0;
	if (!(door_cred(&dc) == -1 && errno == EINVAL))
		*ok = 0;
	errno = 0;
	if (!(door_ucred(&uc) == -1 && errno == EINVAL && uc == NULL))
		*ok = 0;
	return (NULL);
}

static void
test_einval_outside(void)
{
	door_cred_t dc;
	ucred_t *uc = NULL, *mine;
	pthread_t t;
	int ok = 0;

	expect_errno(door_cred(&dc), EINVAL);
	expect_errno(door_ucred(&uc), EINVAL);
	CHECK_PTR_EQ(uc, NULL);
	mine = ucred_get(P_MYID);
	REQUIRE(mine != NULL);
	uc = mine;
	expect_errno(door_ucred(&uc), EINVAL);
	CHECK_PTR_EQ(uc, mine);
	ucred_free(mine);
	REQUIRE(pthread_create(&t, NULL, plain_thread, &ok) == 0);
	pthread_join(t, NULL);
	CHECK(ok);
}

/* After the client was killed mid-call, door_ucred fails with EINVAL. */
static sem_t entered, release;
static volatile int after_abort_rc = 1, after_abort_err, after_abort_done;

static void
abort_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	ucred_t *uc = NULL;
	door_cred_t dc;

	(void) cookie; (void) argp; (void) arg_size; (void) dp; (void) n_desc;
	sem_post(&entered);
	while (sem_wait(&release) != 0)
		;
	errno = 0;
	after_abort_rc = door_ucred(&uc);
	after_abort_err = errno;
	if (after_abort_rc == 0)
		ucred_free(uc);
	else if (door_cred(&dc) == 0)
		after_abort_rc = 2;	/* door_cred must agree */
	__atomic_store_n(&after_abort_done, 1, __ATOMIC_RELEASE);
	(void) door_return(NULL, 0, NULL, 0);
}

static void
test_einval_after_client_abort(void)
{
	int fd = door_create(abort_proc, NULL, 0), i;
	pid_t pid;

	REQUIRE(fd >= 0);
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		door_call(fd, NULL);
		_exit(0);		/* not reached: killed mid-call */
	}
	while (sem_wait(&entered) != 0)
		;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	sem_post(&release);
	for (i = 0; i < 3000 && !after_abort_done; i++)
		usleep(10000);
	REQUIRE(after_abort_done);
	CHECK_EQ(after_abort_rc, -1);
	CHECK_EQ(after_abort_err, EINVAL);
	door_revoke(fd);
}

static void
test_ucred_get_self(void)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, mine[MAXG], theirs[MAXG];
	const gid_t *g = NULL;
	ucred_t *uc;
	int n, i, diff = 0;

	CHECK(ucred_size() > 0);
	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	uc = ucred_get(P_MYID);
	REQUIRE(uc != NULL);
	CHECK_EQ(ucred_geteuid(uc), eu);
	CHECK_EQ(ucred_getruid(uc), ru);
	CHECK_EQ(ucred_getsuid(uc), su);
	CHECK_EQ(ucred_getegid(uc), eg);
	CHECK_EQ(ucred_getrgid(uc), rg);
	CHECK_EQ(ucred_getsgid(uc), sg);
	CHECK_EQ(ucred_getpid(uc), getpid());
	CHECK_EQ(ucred_getzoneid(uc), 0);
	n = getgroups(MAXG, mine);
	CHECK_EQ(ucred_getgroups(uc, &g), n);
	if (n > 0 && CHECK(g != NULL)) {
		for (i = 0; i < n; i++)
			theirs[i] = g[i];
		qsort(mine, (size_t)n, sizeof (gid_t), cmp_gid);
		qsort(theirs, (size_t)n, sizeof (gid_t), cmp_gid);
		for (i = 0; i < n; i++)
			if (mine[i] != theirs[i])
				diff++;
		CHECK_EQ(diff, 0);
	}
	ucred_free(uc);

	uc = ucred_get(getpid());
	REQUIRE(uc != NULL);
	CHECK_EQ(ucred_getpid(uc), getpid());
	CHECK_EQ(ucred_geteuid(uc), eu);
	ucred_free(uc);
}

static void
test_ucred_get_other(void)
{
	int p[2], q[2];
	pid_t pid;
	ucred_t *uc;
	char c;

	REQUIRE(pipe(p) == 0 && pipe(q) == 0);
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		close(q[0]);
		if (geteuid() == 0) {
			CHECK_EQ(setresgid(2002, 2003, 2004), 0);
			CHECK_EQ(setresuid(2000, 2000, 2000), 0);
		}
		CHECK_EQ(write(q[1], "r", 1), 1);	/* ids are set */
		(void) read(p[0], &c, 1);
		harness_child_exit();
	}
	close(p[0]);
	close(q[1]);
	CHECK_EQ(read(q[0], &c, 1), 1);
	close(q[0]);
	uc = ucred_get(pid);
	if (CHECK(uc != NULL)) {
		CHECK_EQ(ucred_getpid(uc), pid);
		if (geteuid() == 0) {
			CHECK_EQ(ucred_geteuid(uc), 2000);
			CHECK_EQ(ucred_getruid(uc), 2000);
			CHECK_EQ(ucred_getrgid(uc), 2002);
			CHECK_EQ(ucred_getegid(uc), 2003);
			CHECK_EQ(ucred_getsgid(uc), 2004);
		}
		ucred_free(uc);
	}
	close(p[1]);
	harness_wait_child(pid);

	/* The child is gone now: no such process. */
	errno = 0;
	uc = ucred_get(pid);
	CHECK_PTR_EQ(uc, NULL);
	CHECK_EQ(errno, ESRCH);
	if (uc != NULL)
		ucred_free(uc);
}

int
main(void)
{
	sem_init(&entered, 0, 0);
	sem_init(&release, 0, 0);
	cred_fd = door_create(cred_proc, NULL, 0);
	if (cred_fd < 0) {
		perror("door_create");
		return (1);
	}
	RUN(test_same_process);
	RUN(test_fork_child);
	RUN(test_changed_ids);
	RUN(test_chain_sees_middle);
	RUN(test_einval_outside);
	RUN(test_einval_after_client_abort);
	RUN(test_ucred_get_self);
	RUN(test_ucred_get_other);
	return (harness_done());
}
