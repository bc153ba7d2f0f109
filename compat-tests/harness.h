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
 * count_fds() and count_maps() observe Linux facts (/proc/self/fd entries,
 * /proc/self/maps lines) for the leak checks.
 */
#ifndef LIBDOOR_COMPAT_HARNESS_H
#define LIBDOOR_COMPAT_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
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

/* Run one case under the watchdog and print its outcome. */
HARNESS_FN void
harness_run(const char *name, void (*fn)(void))
{
	int before = harness_failed_n;

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

/* Number of open descriptors in this process (entries of /proc/self/fd). */
HARNESS_FN int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return (-1);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return (n - 1);     /* the directory stream's own descriptor */
}

/*
 * count_fds(), after giving work that finishes asynchronously (a server
 * thread closing what it received, after its reply) up to 3 s to reach
 * `want`.  For leak checks: a leak never settles.
 */
HARNESS_FN int
count_fds_settled(int want)
{
	int i, n = count_fds();

	for (i = 0; i < 300 && n != want; i++) {
		usleep(10000);
		n = count_fds();
	}
	return (n);
}

/*
 * count_fds() once it has stopped changing (the same value on 5 reads
 * 10 ms apart, at most 3 s): a baseline not inflated by a descriptor that
 * a server thread is about to close.
 */
HARNESS_FN int
count_fds_stable(void)
{
	int i, same = 0, n = count_fds(), m;

	for (i = 0; i < 300 && same < 5; i++) {
		usleep(10000);
		m = count_fds();
		same = (m == n) ? same + 1 : 0;
		n = m;
	}
	return (n);
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

#endif /* LIBDOOR_COMPAT_HARNESS_H */
