/*
 * t_savedids.c - door_ucred(3C) reports the ids the caller held during its
 * call, never those of a program the caller's process runs later.
 *
 * The abuse (run as root; each caller is a fork child): while its door call
 * is in progress, the caller's other thread execs a set-user-ID program.
 * Before the exec it clears close-on-exec on every descriptor, so the
 * call's channel stays open in the new program and the caller still looks
 * alive to the server.  The procedure waits until the program runs, then
 * calls door_ucred.  It must fail with EINVAL (the caller is gone) or
 * report the caller's own ids: never the program's, its saved ids in
 * particular.  Cases:
 *  - a root caller (all ids 0) execs a set-uid/set-gid 65534 program
 *    (which then runs with effective and saved ids 65534);
 *  - a caller running as 65534 execs a set-uid/set-gid root program that
 *    gives up its effective ids at once (seteuid(getuid())): everything
 *    but its saved ids (0) equals the caller's;
 *  each on the socket path (a thread's first call on a door; a call that
 *  passes a descriptor) and on the fast path (a thread's later calls);
 *  - an ordinary exec (the channel closes with close-on-exec): the same
 *    rule, on both paths.
 * The program (savedids-helper) tells the procedure its ids, so a case
 * whose set-ID bits were not honoured says so.
 */
#define _GNU_SOURCE	/* getresuid, getresgid, setresuid, setresgid */
#include <door.h>
#include <ucred.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "harness.h"

#ifndef HELPER
#define	HELPER	"build/savedids-helper"
#endif

/* What the procedure saw. */
struct seen {
	int waited;		/* the program said it runs */
	unsigned prog[6];	/* its ruid euid suid rgid egid sgid */
	int rc, err;		/* door_ucred */
	unsigned ruid, euid, suid, rgid, egid, sgid;
	pid_t pid;
};

static struct seen seen;
static sem_t done;
static int entered[2] = { -1, -1 };	/* procedure -> caller's exec thread */
static int ready[2] = { -1, -1 };	/* program -> procedure */
static int sv_fd = -1;
static char tdir[64];
static char prog_nobody[128], prog_root[128];

static void
sv_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	ucred_t *uc = NULL;
	struct pollfd p;
	char buf[128], c = 'E';
	ssize_t n;
	uint_t i;

	(void) cookie;
	for (i = 0; i < n_desc; i++)
		if (dp[i].d_attributes & DOOR_DESCRIPTOR)
			(void) close(dp[i].d_data.d_desc.d_descriptor);
	if (arg_size == 4 && memcmp(argp, "warm", 4) == 0)
		(void) door_return(NULL, 0, NULL, 0);
	memset(&seen, 0, sizeof (seen));
	(void) write(entered[1], &c, 1);
	/*
	 * Wait (bounded) for the program to run in the caller's process.
	 * The exec ends the calling thread, which interrupts this thread's
	 * wait where the backend cancels a procedure whose client is gone
	 * (the kernel backend does, as illumos does): wait on.
	 */
	p.fd = ready[0];
	p.events = POLLIN;
	p.revents = 0;
	for (i = 0; i < 300; i++) {
		int r = poll(&p, 1, 100);

		if (r == 1 || (r < 0 && errno != EINTR))
			break;
	}
	if (p.revents != 0 &&
	    (n = read(ready[0], buf, sizeof (buf) - 1)) > 0) {
		buf[n] = '\0';
		seen.waited = sscanf(buf, "%u %u %u %u %u %u", &seen.prog[0],
		    &seen.prog[1], &seen.prog[2], &seen.prog[3], &seen.prog[4],
		    &seen.prog[5]) == 6;
	}
	seen.rc = door_ucred(&uc);
	seen.err = errno;
	if (seen.rc == 0) {
		seen.ruid = ucred_getruid(uc);
		seen.euid = ucred_geteuid(uc);
		seen.suid = ucred_getsuid(uc);
		seen.rgid = ucred_getrgid(uc);
		seen.egid = ucred_getegid(uc);
		seen.sgid = ucred_getsgid(uc);
		seen.pid = ucred_getpid(uc);
		ucred_free(uc);
	}
	(void) sem_post(&done);
	(void) door_return(NULL, 0, NULL, 0);
}

/* The caller's second thread: wait for the call, then exec the program. */
struct plan {
	const char *prog;
	const char *mode;	/* "keep" or "drop" */
	int keep_open;		/* clear close-on-exec everywhere first */
	int nobody;		/* the caller runs as 65534 */
	int path;		/* 0 first call, 1 passes a descriptor, 2 fast */
};

static void *
exec_thread(void *arg)
{
	const struct plan *pl = arg;
	char c, fdarg[16];
	int fd;

	while (read(entered[0], &c, 1) != 1)
		if (errno != EINTR)
			_exit(97);
	if (pl->keep_open) {
		for (fd = 3; fd < 4096; fd++) {
			int fl = fcntl(fd, F_GETFD);

			if (fl >= 0)
				(void) fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
		}
	}
	(void) snprintf(fdarg, sizeof (fdarg), "%d", ready[1]);
	(void) execl(pl->prog, pl->prog, fdarg, pl->mode, (char *)NULL);
	_exit(98);
}

static int
call(const char *what, int pass_fd)
{
	door_arg_t a;
	door_desc_t d;
	char rbuf[16];

	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)what;
	a.data_size = strlen(what);
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	if (pass_fd >= 0) {
		d.d_attributes = DOOR_DESCRIPTOR;
		d.d_data.d_desc.d_descriptor = pass_fd;
		a.desc_ptr = &d;
		a.desc_num = 1;
	}
	return (door_call(sv_fd, &a));
}

static void
run_case(const struct plan *pl)
{
	unsigned want = pl->nobody ? 65534 : 0;
	pthread_t t;
	pid_t pid;
	int i;

	memset(&seen, 0, sizeof (seen));
	pid = harness_fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		if (pl->nobody) {
			CHECK_EQ(setgroups(0, NULL), 0);
			CHECK_EQ(setresgid(65534, 65534, 65534), 0);
			CHECK_EQ(setresuid(65534, 65534, 65534), 0);
		}
		/* A thread's later calls take the fast path (when it is on). */
		if (pl->path == 2)
			for (i = 0; i < 3; i++)
				CHECK_EQ(call("warm", -1), 0);
		REQUIRE(pthread_create(&t, NULL, exec_thread, (void *)pl) == 0);
		/* Returns only if the exec failed (the thread ends us first). */
		(void) call("mid-call exec", pl->path == 1 ? entered[0] : -1);
		pause();
		_exit(96);
	}
	if (!CHECK_EQ(wait_sem(&done, 60), 0)) {
		(void) kill(pid, SIGKILL);
		(void) waitpid(pid, NULL, 0);
		return;
	}
	(void) kill(pid, SIGKILL);
	(void) waitpid(pid, NULL, 0);
	/* The program ran, with saved ids other than the caller's. */
	if (!CHECK(seen.waited)) {
		NOTE("the set-user-ID program did not run");
		return;
	}
	if (seen.prog[2] == want && seen.prog[5] == want)
		NOTE("the program's set-ID bits were not honoured: this case "
		    "proves little");
	if (seen.rc != 0) {
		CHECK_EQ(seen.rc, -1);
		CHECK_EQ(seen.err, EINVAL);
		return;
	}
	CHECK_EQ(seen.pid, pid);
	CHECK_EQ(seen.ruid, want);
	CHECK_EQ(seen.euid, want);
	CHECK_EQ(seen.suid, want);
	CHECK_EQ(seen.rgid, want);
	CHECK_EQ(seen.egid, want);
	CHECK_EQ(seen.sgid, want);
}

static int
have_programs(void)
{
	if (prog_root[0] != '\0')
		return (1);
	NOTE("needs root and a file system that honours set-user-ID: skipped");
	return (0);
}

#define	CASE(name, prog, mode, keep, nobody, path)			\
static void								\
name(void)								\
{									\
	struct plan pl = { prog, mode, keep, nobody, path };		\
									\
	if (have_programs())						\
		run_case(&pl);						\
}

/* The channel kept open across the exec. */
CASE(test_root_execs_nobody_first_call, prog_nobody, "keep", 1, 0, 0)
CASE(test_root_execs_nobody_passing_fd, prog_nobody, "keep", 1, 0, 1)
CASE(test_root_execs_nobody_fast, prog_nobody, "keep", 1, 0, 2)
CASE(test_nobody_execs_root_first_call, prog_root, "drop", 1, 1, 0)
CASE(test_nobody_execs_root_passing_fd, prog_root, "drop", 1, 1, 1)
CASE(test_nobody_execs_root_fast, prog_root, "drop", 1, 1, 2)
/* An ordinary exec. */
CASE(test_plain_exec_first_call, prog_root, "drop", 0, 1, 0)
CASE(test_plain_exec_fast, prog_root, "drop", 0, 1, 2)

/* Set-ID copies of the program, in a directory everyone may enter. */
static void
make_programs(void)
{
	char tmpl[] = "/tmp/t_savedids.XXXXXX";
	char buf[65536];
	ssize_t n;
	int in, out, i;
	struct statvfs vfs;
	struct {
		char *path;
		uid_t owner;
	} p[2] = { { prog_nobody, 65534 }, { prog_root, 0 } };

	if (geteuid() != 0 || mkdtemp(tmpl) == NULL || chmod(tmpl, 0755) != 0)
		return;
	if (statvfs(tmpl, &vfs) != 0 || (vfs.f_flag & ST_NOSUID)) {
		(void) rmdir(tmpl);
		return;
	}
	(void) snprintf(tdir, sizeof (tdir), "%s", tmpl);
	for (i = 0; i < 2; i++) {
		(void) snprintf(p[i].path, sizeof (prog_root), "%s/prog-%u",
		    tdir, (unsigned)p[i].owner);
		in = open(HELPER, O_RDONLY);
		out = open(p[i].path, O_CREAT | O_TRUNC | O_WRONLY, 0755);
		if (in < 0 || out < 0) {
			perror(HELPER);
			exit(1);
		}
		while ((n = read(in, buf, sizeof (buf))) > 0)
			if (write(out, buf, (size_t)n) != n)
				exit(1);
		(void) close(in);
		(void) close(out);
		if (chown(p[i].path, p[i].owner, p[i].owner) != 0 ||
		    chmod(p[i].path, 06755) != 0)
			exit(1);
	}
}

static void
remove_programs(void)
{
	if (tdir[0] == '\0')
		return;
	(void) unlink(prog_nobody);
	(void) unlink(prog_root);
	(void) rmdir(tdir);
}

int
main(int argc, char **argv)
{
	harness_only(argc, argv);
	(void) sem_init(&done, 0, 0);
	if (pipe(entered) != 0 || pipe(ready) != 0) {
		perror("pipe");
		return (1);
	}
	sv_fd = door_create(sv_proc, NULL, 0);
	if (sv_fd < 0) {
		perror("door_create");
		return (1);
	}
	make_programs();
	RUN(test_root_execs_nobody_first_call);
	RUN(test_root_execs_nobody_passing_fd);
	RUN(test_root_execs_nobody_fast);
	RUN(test_nobody_execs_root_first_call);
	RUN(test_nobody_execs_root_passing_fd);
	RUN(test_nobody_execs_root_fast);
	RUN(test_plain_exec_first_call);
	RUN(test_plain_exec_fast);
	remove_programs();
	return (harness_done());
}
