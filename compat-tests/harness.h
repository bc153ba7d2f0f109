/*
 * harness.h - the tiny test harness shared by libdoor's compat tests.
 *
 * Every check prints file, function, line, the failed expression and
 * strerror(errno) when it fails, and bumps a pass or fail counter.  A test
 * file runs its cases with RUN(), and main() ends with
 * `return harness_done();`, which prints the single line
 * "N passed, N failed" that run-tests.sh sums up.
 *
 * A watchdog (alarm) turns a hang into a failure: it prints which case hung
 * and aborts the process.  Forked children use harness_fork() /
 * harness_child_exit(): a child's failures come back to the parent as a
 * non-zero exit status, checked with harness_wait_child().
 *
 * count_fds(), count_threads() and count_maps() observe Linux facts
 * (/proc/self/fd and /proc/self/task entries, /proc/self/maps lines) for
 * the leak checks; count_fds_of() and dump_fds_of() look at another
 * process.  The rest are helpers several test files share: semaphore
 * waits with a timeout, descriptor passing over a UNIX socket
 * (SCM_RIGHTS), detached threads, memory shared with forked children.
 */
#ifndef LIBDOOR_COMPAT_HARNESS_H
#define LIBDOOR_COMPAT_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <stddef.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Every helper is static; not every test file uses all of them. */
#define HARNESS_FN static __attribute__((unused))

static int harness_passed_n;
static int harness_failed_n;
static const char *volatile harness_test_name = "(setup)";
static unsigned harness_timeout = 60;   /* seconds per RUN() case */
static int harness_in_child;

HARNESS_FN const char *
harness_errno_name(int e)
{
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENOTDIR: return "ENOTDIR";
	case EINVAL: return "EINVAL";
	case ENFILE: return "ENFILE";
	case EMFILE: return "EMFILE";
	case EPIPE: return "EPIPE";
	case ERANGE: return "ERANGE";
	case ENOSYS: return "ENOSYS";
	case EOVERFLOW: return "EOVERFLOW";
	case ENOTSOCK: return "ENOTSOCK";
	case ENOBUFS: return "ENOBUFS";
	case ENOTSUP: return "ENOTSUP";
	case EALREADY: return "EALREADY";
	case ECONNRESET: return "ECONNRESET";
	case ECONNREFUSED: return "ECONNREFUSED";
	default: return "E?";
	}
}

HARNESS_FN void
harness_report(int ok, int err, const char *file, const char *func, int line,
    const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	if (ok) {
		__atomic_fetch_add(&harness_passed_n, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_fetch_add(&harness_failed_n, 1, __ATOMIC_RELAXED);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof (msg), fmt, ap);
	va_end(ap);
	fprintf(stdout, "FAIL %s:%s:%d: [%s%s] %s (errno %d %s: %s)\n", file,
	    func, line, harness_in_child ? "child " : "", harness_test_name,
	    msg, err, harness_errno_name(err), strerror(err));
	fflush(stdout);
}

/* CHECK(cond): passes when cond is true.  Evaluates to cond (0 or 1). */
#define CHECK(cond) __extension__ ({ \
	int h_c_ = !!(cond); int h_e_ = errno; \
	harness_report(h_c_, h_e_, __FILE__, __func__, __LINE__, \
	    "CHECK(%s) failed", #cond); \
	errno = h_e_; h_c_; })

/* CHECK_EQ(got, want) for integers; prints both values on failure. */
#define CHECK_EQ(got, want) __extension__ ({ \
	long long h_g_ = (long long)(got); long long h_w_ = (long long)(want); \
	int h_e_ = errno; int h_c_ = (h_g_ == h_w_); \
	harness_report(h_c_, h_e_, __FILE__, __func__, __LINE__, \
	    "%s == %s: got %lld (0x%llx), expected %lld (0x%llx)", #got, \
	    #want, h_g_, (unsigned long long)h_g_, h_w_, \
	    (unsigned long long)h_w_); \
	errno = h_e_; h_c_; })

/* CHECK_EQU: the same for unsigned 64-bit quantities (size_t, door_id_t). */
#define CHECK_EQU(got, want) __extension__ ({ \
	unsigned long long h_g_ = (unsigned long long)(got); \
	unsigned long long h_w_ = (unsigned long long)(want); \
	int h_e_ = errno; int h_c_ = (h_g_ == h_w_); \
	harness_report(h_c_, h_e_, __FILE__, __func__, __LINE__, \
	    "%s == %s: got %llu (0x%llx), expected %llu (0x%llx)", #got, \
	    #want, h_g_, h_g_, h_w_, h_w_); \
	errno = h_e_; h_c_; })

#define CHECK_PTR_EQ(got, want) __extension__ ({ \
	const void *h_g_ = (const void *)(got); \
	const void *h_w_ = (const void *)(want); \
	int h_e_ = errno; int h_c_ = (h_g_ == h_w_); \
	harness_report(h_c_, h_e_, __FILE__, __func__, __LINE__, \
	    "%s == %s: got %p, expected %p", #got, #want, h_g_, h_w_); \
	errno = h_e_; h_c_; })

#define CHECK_PTR_NE(got, notwant) __extension__ ({ \
	const void *h_g_ = (const void *)(got); \
	const void *h_w_ = (const void *)(notwant); \
	int h_e_ = errno; int h_c_ = (h_g_ != h_w_); \
	harness_report(h_c_, h_e_, __FILE__, __func__, __LINE__, \
	    "%s != %s: both are %p", #got, #notwant, h_g_); \
	errno = h_e_; h_c_; })

/*
 * ERROR_IF(func, status, condition): relibc-style.  Fails (naming func and
 * the value it returned) when condition is true.  Evaluates to condition.
 */
#define ERROR_IF(func, status, condition) __extension__ ({ \
	long long h_s_ = (long long)(status); int h_e_ = errno; \
	int h_c_ = !!(condition); \
	harness_report(!h_c_, h_e_, __FILE__, __func__, __LINE__, \
	    "%s() returned %lld (%s)", #func, h_s_, #condition); \
	errno = h_e_; h_c_; })

/*
 * expect_errno(call_result, ERRNO): the call must have returned -1 with
 * errno == ERRNO.  errno is read right after call_result is evaluated.
 */
#define expect_errno(call_result, want_errno) __extension__ ({ \
	errno = 0; \
	long long h_r_ = (long long)(call_result); int h_e_ = errno; \
	int h_w_ = (want_errno); int h_c_ = (h_r_ == -1 && h_e_ == h_w_); \
	harness_report(h_c_, h_e_, __FILE__, __func__, __LINE__, \
	    "%s: expected -1/%s, got %lld/%s", #call_result, \
	    harness_errno_name(h_w_), h_r_, \
	    h_r_ == -1 ? harness_errno_name(h_e_) : "(no error)"); \
	errno = h_e_; h_c_; })

/* REQUIRE(cond): CHECK, and leave the current (void) function on failure. */
#define REQUIRE(cond) do { if (!CHECK(cond)) return; } while (0)

/* A message that is not a check: progress notes, skips. */
#define NOTE(...) do { printf("  note: " __VA_ARGS__); printf("\n"); \
	fflush(stdout); } while (0)

HARNESS_FN void
harness_alarm(int sig)
{
	char buf[256];
	const char *name = harness_test_name;
	size_t n = 0;
	const char *parts[] = { "WATCHDOG: ",
	    harness_in_child ? "child process in case '" : "case '", name,
	    "' still running after the timeout; aborting\n" };
	unsigned i;

	(void) sig;
	for (i = 0; i < sizeof (parts) / sizeof (parts[0]); i++) {
		size_t l = strlen(parts[i]);
		if (n + l >= sizeof (buf))
			l = sizeof (buf) - n - 1;
		memcpy(buf + n, parts[i], l);
		n += l;
	}
	if (write(STDOUT_FILENO, buf, n) < 0)
		(void) 0;
	signal(SIGABRT, SIG_DFL);
	abort();
}

/* (Re)arm the watchdog for `secs` seconds (0 disarms it). */
HARNESS_FN void
harness_watchdog(unsigned secs)
{
	alarm(secs);
}

__attribute__((constructor)) static void
harness_init(void)
{
	struct rlimit rl = { 0, 0 };
	struct sigaction sa;

	setvbuf(stdout, NULL, _IOLBF, 0);
	(void) setrlimit(RLIMIT_CORE, &rl);   /* no core files from aborts */
	memset(&sa, 0, sizeof (sa));
	sa.sa_handler = harness_alarm;
	sigemptyset(&sa.sa_mask);
	(void) sigaction(SIGALRM, &sa, NULL);
	harness_watchdog(harness_timeout);
}

/*
 * `t_NAME CASE...` runs only the named cases (for debugging): main() hands
 * its arguments to harness_only(), and RUN() then skips every other case.
 * Without it (or with no arguments) every case runs.
 */
static int harness_only_argc;
static char **harness_only_argv;

HARNESS_FN void
harness_only(int argc, char **argv)
{
	harness_only_argc = argc;
	harness_only_argv = argv;
}

/* Is case `name` to run (see harness_only())? */
HARNESS_FN int
harness_selected(const char *name)
{
	int i;

	if (harness_only_argc <= 1)
		return (1);
	for (i = 1; i < harness_only_argc; i++)
		if (strcmp(harness_only_argv[i], name) == 0)
			return (1);
	return (0);
}

/* Run one case under the watchdog and print its outcome. */
HARNESS_FN void
harness_run(const char *name, void (*fn)(void))
{
	int before = harness_failed_n;

	if (!harness_selected(name))
		return;
	harness_test_name = name;
	printf("--- %s\n", name);
	harness_watchdog(harness_timeout);
	fn();
	harness_watchdog(0);
	if (harness_failed_n == before)
		printf("ok   %s\n", name);
	else
		printf("FAIL %s (%d failed checks)\n", name,
		    harness_failed_n - before);
	harness_test_name = "(between cases)";
	harness_watchdog(harness_timeout);
}
#define RUN(fn) harness_run(#fn, fn)

/*
 * libdoor has two backends (libdoor(7)); libdoor_backend() names the one
 * this process uses.  It is declared weak here so that programs built
 * without libdoor can use this header too.  A case that needs what only
 * the userspace backend has calls harness_skip_on_kernel("why") first
 * and returns if it says 1: the case is then reported as skipped (on
 * standard error) and counts neither as passed nor as failed.
 */
extern const char *libdoor_backend(void) __attribute__((weak));

HARNESS_FN int
harness_kernel_backend(void)
{
	return (libdoor_backend != NULL &&
	    strcmp(libdoor_backend(), "kernel") == 0);
}

HARNESS_FN int
harness_skip_on_kernel(const char *why)
{
	if (!harness_kernel_backend())
		return (0);
	fprintf(stderr, "SKIP %s: %s\n", harness_test_name, why);
	return (1);
}

/*
 * Can the file at `path` carry user extended attributes?  fattach publishes
 * its random rendezvous name in one; where the filesystem has none (tmpfs
 * before Linux 6.6, as in the test guest), the name is derived from the
 * file and another user can bind it first (KNOWN_DIFFERENCES.md), which
 * the squatter cases would then see.
 */
HARNESS_FN int
harness_user_xattrs(const char *path)
{
	int r = setxattr(path, "user.harness.probe", "x", 1, 0);

	if (r == 0)
		(void) removexattr(path, "user.harness.probe");
	return (r == 0 || (errno != ENOTSUP && errno != EOPNOTSUPP));
}

/* Final line of every test file; returns the exit status for main(). */
HARNESS_FN int
harness_done(void)
{
	harness_watchdog(0);
	fflush(stderr);
	printf("%d passed, %d failed\n", harness_passed_n, harness_failed_n);
	fflush(stdout);
	return (harness_failed_n == 0 && harness_passed_n > 0) ? 0 : 1;
}

/*
 * fork() with output flushed first; the child gets fresh counters and its
 * own watchdog (alarms are not inherited).  Children end with
 * harness_child_exit(), never by returning into the parent's code.
 */
HARNESS_FN pid_t
harness_fork(void)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		harness_in_child = 1;
		harness_passed_n = 0;
		harness_failed_n = 0;
		harness_watchdog(harness_timeout);
	}
	return (pid);
}

HARNESS_FN void
harness_child_exit(void)
{
	fflush(stdout);
	fflush(stderr);
	_exit(harness_failed_n == 0 ? 0 : 1);
}

/* Reap a harness_fork() child and check that it exited with status 0. */
#define harness_wait_child(pid) harness_wait_child_at(pid, __FILE__, \
	__func__, __LINE__)
HARNESS_FN int
harness_wait_child_at(pid_t pid, const char *file, const char *func,
    int line)
{
	int st = 0;
	pid_t r;

	do {
		r = waitpid(pid, &st, 0);
	} while (r == -1 && errno == EINTR);
	if (r != pid) {
		harness_report(0, errno, file, func, line,
		    "waitpid(%d) failed", (int)pid);
		return (-1);
	}
	if (WIFSIGNALED(st))
		harness_report(0, 0, file, func, line,
		    "child %d killed by signal %d", (int)pid, WTERMSIG(st));
	else
		harness_report(WEXITSTATUS(st) == 0, 0, file, func, line,
		    "child %d exited with status %d (it had failed checks)",
		    (int)pid, WEXITSTATUS(st));
	return (st);
}

/* "/proc/self/WHAT" for this process, "/proc/PID/WHAT" for another. */
HARNESS_FN void
harness_proc_path(char *buf, size_t size, pid_t pid, const char *what)
{
	if (pid == getpid())
		snprintf(buf, size, "/proc/self/%s", what);
	else
		snprintf(buf, size, "/proc/%d/%s", (int)pid, what);
}

/*
 * Number of open descriptors of process `pid` (entries of /proc/PID/fd;
 * for this process, less the directory stream's own descriptor).
 */
HARNESS_FN int
count_fds_of(pid_t pid)
{
	char p[64];
	DIR *d;
	struct dirent *e;
	int n = 0;

	harness_proc_path(p, sizeof (p), pid, "fd");
	if ((d = opendir(p)) == NULL)
		return (-1);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return (pid == getpid() ? n - 1 : n);
}

/* Number of open descriptors in this process (entries of /proc/self/fd). */
HARNESS_FN int
count_fds(void)
{
	return (count_fds_of(getpid()));
}

/*
 * count_fds_of(pid), after giving work that finishes asynchronously (a
 * server thread closing what it received, after its reply) up to `secs`
 * seconds to reach `want`.  For leak checks: a leak never settles.
 */
HARNESS_FN int
count_fds_settled_of(pid_t pid, int want, int secs)
{
	int i, n = count_fds_of(pid);

	for (i = 0; i < secs * 100 && n != want; i++) {
		usleep(10000);
		n = count_fds_of(pid);
	}
	return (n);
}

/* count_fds_settled_of() for this process, up to 3 s. */
HARNESS_FN int
count_fds_settled(int want)
{
	return (count_fds_settled_of(getpid(), want, 3));
}

/*
 * count_fds_of(pid) once it has stopped changing (the same value on 5
 * reads 10 ms apart, at most 3 s): a baseline not inflated by a descriptor
 * that a server thread is about to close.
 */
HARNESS_FN int
count_fds_stable_of(pid_t pid)
{
	int i, same = 0, n = count_fds_of(pid), m;

	for (i = 0; i < 300 && same < 5; i++) {
		usleep(10000);
		m = count_fds_of(pid);
		same = (m == n) ? same + 1 : 0;
		n = m;
	}
	return (n);
}

/* count_fds_stable_of() for this process. */
HARNESS_FN int
count_fds_stable(void)
{
	return (count_fds_stable_of(getpid()));
}

#define HARNESS_DUMP_FDS_MAX 40	/* descriptors dump_fds_of() names */

/*
 * List the descriptors of process `pid` and what they refer to, on one
 * note line (the first HARNESS_DUMP_FDS_MAX of them): to diagnose a leak.
 */
HARNESS_FN void
dump_fds_of(pid_t pid, const char *why)
{
	char p[64], path[384], tgt[256];
	DIR *d;
	struct dirent *e;
	ssize_t n;
	int seen = 0;

	harness_proc_path(p, sizeof (p), pid, "fd");
	if ((d = opendir(p)) == NULL)
		return;
	printf("  note: descriptors of %s%d %s:",
	    pid == getpid() && harness_in_child ? "child " : "", (int)pid, why);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || seen++ >= HARNESS_DUMP_FDS_MAX)
			continue;
		snprintf(path, sizeof (path), "%s/%s", p, e->d_name);
		n = readlink(path, tgt, sizeof (tgt) - 1);
		tgt[n > 0 ? n : 0] = 0;
		printf(" %s=%.60s", e->d_name, tgt);
	}
	if (seen > HARNESS_DUMP_FDS_MAX)
		printf(" ... (%d in all)", seen);
	printf("\n");
	closedir(d);
}

/* dump_fds_of() for this process. */
HARNESS_FN void
dump_fds(const char *why)
{
	dump_fds_of(getpid(), why);
}

/* Number of lines in /proc/self/maps (read without allocating). */
HARNESS_FN int
count_maps(void)
{
	char buf[4096];
	ssize_t r, i;
	int n = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return (-1);
	while ((r = read(fd, buf, sizeof (buf))) > 0)
		for (i = 0; i < r; i++)
			if (buf[i] == '\n')
				n++;
	close(fd);
	return (n);
}

/*
 * Poll count() every 10 ms, for at most `secs` seconds, until it returns
 * `want` (threads exit and mappings go away asynchronously); returns the
 * last value.
 */
HARNESS_FN int
harness_settle(int (*count)(void), int want, int secs)
{
	int i, n = count();

	for (i = 0; i < secs * 100 && n != want; i++) {
		usleep(10000);
		n = count();
	}
	return (n);
}

/* count_maps() once it reaches `want`, at most 3 s. */
HARNESS_FN int
count_maps_settled(int want)
{
	return (harness_settle(count_maps, want, 3));
}

/*
 * /proc/self/maps line counts are meaningless under AddressSanitizer,
 * whose allocator maps memory lazily: the map checks are skipped there.
 */
#if defined(__SANITIZE_ADDRESS__)
#define MAPS_RELIABLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MAPS_RELIABLE 0
#endif
#endif
#ifndef MAPS_RELIABLE
#define MAPS_RELIABLE 1
#endif
#define CHECK_MAPS(want) do { \
	if (MAPS_RELIABLE) \
		CHECK_EQ(count_maps_settled(want), (want)); \
} while (0)

/* The calling thread's id (as in /proc/self/task). */
HARNESS_FN pid_t
tid(void)
{
	return ((pid_t)syscall(SYS_gettid));
}

/* Threads of this process (entries of /proc/self/task). */
HARNESS_FN int
count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return (-1);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

/* count_threads() once it reaches `want` (threads exit asynchronously). */
HARNESS_FN int
count_threads_settled(int want)
{
	return (harness_settle(count_threads, want, 5));
}

/* Start a detached thread running fn(arg). */
HARNESS_FN void
spawn(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	pthread_attr_t at;

	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, fn, arg) != 0)
		perror("pthread_create");
	pthread_attr_destroy(&at);
}

/*
 * A handler that only counts the signals it gets (in got_sig): installed
 * without SA_RESTART, its signal interrupts a blocking call.
 */
static volatile sig_atomic_t got_sig;

HARNESS_FN void
on_sig(int s)
{
	(void) s;
	got_sig++;
}

/* sem_wait() for at most `secs` seconds: 0, or -1 on timeout. */
HARNESS_FN int
wait_sem(sem_t *s, int secs)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	while (sem_timedwait(s, &ts) != 0)
		if (errno != EINTR)
			return (-1);
	return (0);
}

/* sem_wait() for at most `ms` milliseconds: 0, or -1 on timeout. */
HARNESS_FN int
wait_sem_ms(sem_t *s, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	while (sem_timedwait(s, &ts) != 0)
		if (errno != EINTR)
			return (-1);
	return (0);
}

#define HARNESS_MAX_FDS 4	/* descriptors in one send_fds() message */

/* Room for the SCM_RIGHTS control message of send_fds() / recv_fds(). */
union harness_cmsg {
	char b[CMSG_SPACE(HARNESS_MAX_FDS * sizeof (int))];
	struct cmsghdr a;
};

/*
 * Send `len` bytes of `buf` with descriptors fds[0..n-1] (n from 1 to
 * HARNESS_MAX_FDS) over the UNIX socket `sock` (SCM_RIGHTS): what
 * sendmsg() returns.  Hostile-peer tests use it to hand-make messages.
 */
HARNESS_FN ssize_t
send_msg_fds(int sock, const void *buf, size_t len, const int *fds, int n)
{
	struct iovec iov = { (void *)buf, len };
	union harness_cmsg u;
	struct msghdr m;
	struct cmsghdr *c;

	if (n < 1 || n > HARNESS_MAX_FDS) {
		errno = EINVAL;
		return (-1);
	}
	memset(&m, 0, sizeof (m));
	memset(&u, 0, sizeof (u));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.b;
	m.msg_controllen = CMSG_SPACE((size_t)n * sizeof (int));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)n * sizeof (int));
	memcpy(CMSG_DATA(c), fds, (size_t)n * sizeof (int));
	return (sendmsg(sock, &m, MSG_NOSIGNAL));
}

/*
 * Send descriptors fds[0..n-1] (n from 1 to HARNESS_MAX_FDS) and one data
 * byte over the UNIX socket `sock` (SCM_RIGHTS): 0, or -1 on error.
 */
HARNESS_FN int
send_fds(int sock, const int *fds, int n)
{
	char byte = 'F';

	return (send_msg_fds(sock, &byte, 1, fds, n) == 1 ? 0 : -1);
}

/*
 * Receive a send_fds() message of exactly `n` descriptors into fds[]
 * (they come FD_CLOEXEC): 0, or -1 (and whatever did come is closed).
 */
HARNESS_FN int
recv_fds(int sock, int *fds, int n)
{
	char byte;
	struct iovec iov = { &byte, 1 };
	union harness_cmsg u;
	struct msghdr m;
	struct cmsghdr *c;
	int got[HARNESS_MAX_FDS];
	size_t i, k;

	if (n < 1 || n > HARNESS_MAX_FDS) {
		errno = EINVAL;
		return (-1);
	}
	memset(&m, 0, sizeof (m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.b;
	m.msg_controllen = sizeof (u.b);
	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
		return (-1);
	c = CMSG_FIRSTHDR(&m);
	if (c == NULL || c->cmsg_level != SOL_SOCKET ||
	    c->cmsg_type != SCM_RIGHTS)
		return (-1);
	k = (c->cmsg_len - CMSG_LEN(0)) / sizeof (int);
	if (k > HARNESS_MAX_FDS)
		k = HARNESS_MAX_FDS;
	memcpy(got, CMSG_DATA(c), k * sizeof (int));
	if (k != (size_t)n || (m.msg_flags & MSG_CTRUNC) != 0) {
		for (i = 0; i < k; i++)
			(void) close(got[i]);
		return (-1);
	}
	memcpy(fds, got, k * sizeof (int));
	return (0);
}

/* Send the one descriptor `fd` over `sock` (send_fds()): 0 or -1. */
HARNESS_FN int
send_fd(int sock, int fd)
{
	return (send_fds(sock, &fd, 1));
}

/* Receive one descriptor sent with send_fd(): the descriptor, or -1. */
HARNESS_FN int
recv_fd(int sock)
{
	int fd;

	return (recv_fds(sock, &fd, 1) == 0 ? fd : -1);
}

/*
 * A zero-filled MAP_SHARED anonymous mapping of `size` bytes, for state
 * shared with forked children (process-shared semaphores live there).
 * Exits the process if it cannot be made.
 */
HARNESS_FN void *
harness_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return (p);
}

/* Is fd an open descriptor? */
HARNESS_FN int
fd_is_open(int fd)
{
	return (fcntl(fd, F_GETFD) != -1);
}

/* A fresh page with protection prot (PROT_NONE, PROT_READ). */
HARNESS_FN void *
harness_page(int prot)
{
	void *p = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), prot,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return (p == MAP_FAILED ? NULL : p);
}

/* An address that was mapped a moment ago and is not any more. */
HARNESS_FN void *
harness_unmapped(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, pg, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return (NULL);
	munmap(p, pg);
	return (p);
}

/*
 * <unistd.h> and <grp.h> declare these only under _GNU_SOURCE or
 * _DEFAULT_SOURCE, which a test written the Solaris way (strict C, its
 * own headers first) may not have.
 */
#ifndef __cplusplus
extern int setresuid(uid_t, uid_t, uid_t);
extern int setresgid(gid_t, gid_t, gid_t);
extern int setgroups(size_t, const gid_t *);
#endif

/*
 * Become uid `uid` and gid `uid` for good (real, effective and saved), with
 * no supplementary groups: how a test's child turns into the hostile
 * second user.  0, or -1 with errno.
 */
HARNESS_FN int
harness_become(uid_t uid)
{
	if (setgroups(0, NULL) != 0 || setresgid(uid, uid, uid) != 0)
		return (-1);
	return (setresuid(uid, uid, uid));
}

/* The sockaddr_un of abstract socket name `name` (cut to fit); its length. */
HARNESS_FN socklen_t
harness_abstract_addr(struct sockaddr_un *a, const char *name)
{
	size_t n = strlen(name);

	memset(a, 0, sizeof (*a));
	a->sun_family = AF_UNIX;
	if (n > sizeof (a->sun_path) - 1)
		n = sizeof (a->sun_path) - 1;
	memcpy(a->sun_path + 1, name, n);
	return ((socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n));
}

/*
 * A listening SOCK_SEQPACKET socket bound to abstract `name`
 * (close-on-exec, and `flags`: SOCK_NONBLOCK or 0), or -1 with errno.
 */
HARNESS_FN int
harness_listen_abstract(const char *name, int flags, int backlog)
{
	struct sockaddr_un a;
	socklen_t len = harness_abstract_addr(&a, name);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | flags, 0);

	if (s < 0)
		return (-1);
	if (bind(s, (struct sockaddr *)&a, len) != 0 || listen(s, backlog) != 0) {
		int e = errno;

		(void) close(s);
		errno = e;
		return (-1);
	}
	return (s);
}

/*
 * A SOCK_SEQPACKET connection to abstract `name` (close-on-exec, and
 * `flags`: SOCK_NONBLOCK or 0), or -1 with errno.
 */
HARNESS_FN int
harness_connect_abstract(const char *name, int flags)
{
	struct sockaddr_un a;
	socklen_t len = harness_abstract_addr(&a, name);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | flags, 0);

	if (s < 0)
		return (-1);
	if (connect(s, (struct sockaddr *)&a, len) != 0) {
		int e = errno;

		(void) close(s);
		errno = e;
		return (-1);
	}
	return (s);
}

/* One byte through a pipe between a test and its child: put1 sends it. */
HARNESS_FN void
harness_put1(int fd)
{
	char c = 'x';

	while (write(fd, &c, 1) == -1 && errno == EINTR)
		;
}

/* Waits for harness_put1's byte: 1, or 0 at end of file or on error. */
HARNESS_FN int
harness_get1(int fd)
{
	char c;
	ssize_t r;

	do {
		r = read(fd, &c, 1);
	} while (r == -1 && errno == EINTR);
	return (r == 1);
}

#endif /* LIBDOOR_COMPAT_HARNESS_H */
