/*
 * t_reuse.c - a door descriptor number closed and reused, and bad buffers,
 * on libdoor's fast path (where neither costs a system call per call).
 *
 * libdoor's fast path does not re-check the door descriptor with a system
 * call at every door_call: it notices closes through its close(2), dup2(2),
 * dup3(2), close_range(2) and closefrom(3) wrappers.  It copies arguments
 * and results with a fault-catching copy (a SIGSEGV/SIGBUS handler that
 * recognises faults inside libdoor's copy routine and chains every other
 * fault to the handler installed before it).  Whatever that machinery
 * does, door_call(3C) and door_return(3C) must behave as on illumos, and
 * the process's own faults must reach its own handlers (or kill it).
 *
 * Every server is a separate process that publishes its doors with
 * fattach(3C); every client is a fresh child that open(2)s the paths.
 *
 * Clauses exercised (door_call(3C) errors and result delivery,
 * door_return(3C) errors):
 *  1. a descriptor number that named door A and is closed answers EBADF;
 *     once dup2/dup3 put door B (or a plain file, or a socket that is not
 *     a door) at that number, calls reach B (or fail EBADF); close_range
 *     with CLOSE_RANGE_CLOEXEC closes nothing, without it and closefrom
 *     close; a thread with a channel to A sees the number's new door;
 *  2. EFAULT from door_call for unreadable data_ptr (unmapped, PROT_NONE,
 *     a readable range whose tail is PROT_NONE), unwritable rbuf (read-only,
 *     unmapped) on a thread whose fast-path channel exists; the next call
 *     works; EFAULT from door_return in the server for unreadable results,
 *     after which the procedure's second door_return reaches the client;
 *  3. a process that installed its own SIGSEGV (SA_SIGINFO) and SIGBUS
 *     (plain) handlers before its first door call: bad door_call buffers
 *     give EFAULT without running its handlers; its own faults, and a
 *     SIGSEGV sent with kill(2), run them, once each;
 *  4. a process with default dispositions: after door calls that failed
 *     with EFAULT, its own invalid access still kills it with SIGSEGV (and
 *     a bus error with SIGBUS; a kill(2)ed SIGSEGV too);
 *  5. the shared memory a client maps for its channel is size-sealed: the
 *     client cannot shrink or grow it (EPERM), so no peer can make the
 *     other side fault;
 *  6. a client that leaves a server thread parked on its channel and then
 *     never calls again, bumping the channel's server wake word: calls are
 *     still served, and within seconds the parked thread has left (the
 *     channel's "parked" word is clear again).
 */
#define _GNU_SOURCE
#include <door.h>
#include <stropts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdint.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>

#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static int fast_on;		/* LIBDOOR_FASTPATH is not "0" */
static char tdir[64];
static pid_t server_pid = -1;
static size_t pgsz;

static void
path_of(char *buf, size_t n, const char *name)
{
	(void) snprintf(buf, n, "%s/%s", tdir, name);
}

/* ------------------------------------------------------------- server */

/* Replies "<cookie>:<argument size>". */
static void
tag_proc(void *cookie, char *argp, size_t asz, door_desc_t *dp, uint_t nd)
{
	char r[32];

	(void) argp;
	(void) dp;
	(void) nd;
	(void) snprintf(r, sizeof (r), "%s:%zu", (const char *)cookie, asz);
	(void) door_return(r, strlen(r) + 1, NULL, 0);
}

/*
 * Tries door_return with unreadable results (unmapped, then PROT_NONE);
 * each must fail with EFAULT and come back here.  Then replies what it saw.
 */
static void
badret_proc(void *cookie, char *argp, size_t asz, door_desc_t *dp, uint_t nd)
{
	char r[64];
	int e1, e2, r1, r2;
	char *none = harness_page(PROT_NONE);

	(void) cookie;
	(void) argp;
	(void) asz;
	(void) dp;
	(void) nd;
	errno = 0;
	r1 = door_return(harness_unmapped(), 64, NULL, 0);
	e1 = errno;
	errno = 0;
	r2 = door_return(none, 64, NULL, 0);
	e2 = errno;
	if (none != NULL)
		(void) munmap(none, pgsz);
	(void) snprintf(r, sizeof (r), "R:%d:%s:%d:%s", r1,
	    harness_errno_name(e1), r2, harness_errno_name(e2));
	(void) door_return(r, strlen(r) + 1, NULL, 0);
}

static void
attach(void (*proc)(void *, char *, size_t, door_desc_t *, uint_t),
    const char *cookie, const char *name)
{
	char p[128];
	int fd, d;

	path_of(p, sizeof (p), name);
	fd = open(p, O_CREAT | O_RDWR, 0600);
	if (fd >= 0)
		(void) close(fd);
	d = door_create(proc, (void *)cookie, 0);
	if (d < 0 || fattach(d, p) != 0) {
		perror("server: door_create/fattach");
		_exit(2);
	}
}

static void *
pool_thread(void *arg)
{
	(void) arg;
	(void) door_return(NULL, 0, NULL, 0);
	return (NULL);
}

static void
start_server(void)
{
	int pfd[2], i;
	pthread_t t;
	char b;

	if (pipe(pfd) != 0)
		return;
	server_pid = fork();
	if (server_pid == 0) {
		(void) close(pfd[0]);
		attach(tag_proc, "A", "A");
		attach(tag_proc, "B", "B");
		attach(badret_proc, "R", "R");
		/* Idle threads beyond the first wait on the fast path. */
		for (i = 0; i < 3; i++)
			(void) pthread_create(&t, NULL, pool_thread, NULL);
		(void) write(pfd[1], "r", 1);
		for (;;)
			(void) pause();
	}
	(void) close(pfd[1]);
	if (server_pid < 0 || read(pfd[0], &b, 1) != 1) {
		fprintf(stderr, "server did not start\n");
		exit(1);
	}
	(void) close(pfd[0]);
}

static void
stop_server(void)
{
	static const char *names[] = { "A", "B", "R" };
	char p[128];
	unsigned i;
	int st;

	if (server_pid > 0) {
		(void) kill(server_pid, SIGKILL);
		(void) waitpid(server_pid, &st, 0);
	}
	for (i = 0; i < 3; i++) {
		path_of(p, sizeof (p), names[i]);
		(void) unlink(p);
	}
	(void) rmdir(tdir);
}

/* ------------------------------------------------------------- client */

static int
open_door(const char *name)
{
	char p[128];

	path_of(p, sizeof (p), name);
	return (open(p, O_RDONLY | O_CLOEXEC));
}

/* 16 bytes of arguments from the heap (not the stack). */
static char *heap_args;

/* Calls `fd` with 16 heap bytes; the reply string into out. */
static int
call_tag(int fd, char *out, size_t outsz)
{
	char rbuf[64];
	door_arg_t a;

	memset(&a, 0, sizeof (a));
	a.data_ptr = heap_args;
	a.data_size = 16;
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	if (door_call(fd, &a) != 0)
		return (-1);
	(void) snprintf(out, outsz, "%.*s", (int)a.data_size, a.data_ptr);
	if (a.rbuf != rbuf)
		(void) munmap(a.rbuf, a.rsize);
	return (0);
}

/* The reply of a call on fd, or "errno:<name>". */
static const char *
tag_of(int fd)
{
	static __thread char out[64];

	if (call_tag(fd, out, sizeof (out)) != 0)
		(void) snprintf(out, sizeof (out), "errno:%s",
		    harness_errno_name(errno));
	return (out);
}

/* How many of this process's descriptors are libdoor channel memory. */
static int
count_chan_memfds(int *fds, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], tgt[256];
	ssize_t n;
	int k = 0;

	if (d == NULL)
		return (-1);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		(void) snprintf(path, sizeof (path), "/proc/self/fd/%s",
		    e->d_name);
		n = readlink(path, tgt, sizeof (tgt) - 1);
		if (n <= 0)
			continue;
		tgt[n] = '\0';
		if (strncmp(tgt, "/memfd:libdoor", 14) == 0) {
			if (k < max)
				fds[k] = atoi(e->d_name);
			k++;
		}
	}
	closedir(d);
	return (k);
}

#define CHECK_TAG(fd, want) do { \
	const char *got_ = tag_of(fd); \
	if (!CHECK(strcmp(got_, (want)) == 0)) \
		printf("  fd %d: got \"%s\", want \"%s\"\n", (fd), got_, \
		    (want)); \
} while (0)

/* --------------------------------------------------- 1. number reuse */

static int shared_n;
static pthread_barrier_t bar;

static void *
reuse_thread(void *arg)
{
	(void) arg;
	CHECK_TAG(shared_n, "A:16");
	CHECK_TAG(shared_n, "A:16");
	(void) pthread_barrier_wait(&bar);	/* main moves B onto the number */
	(void) pthread_barrier_wait(&bar);
	CHECK_TAG(shared_n, "B:16");
	return (NULL);
}

static void
test_number_reuse(void)
{
	pid_t pid = harness_fork();

	if (pid == 0) {
		int fa, fb, fa2, n, nul, sp[2], fds[8], before, i;
		pthread_t t;

		heap_args = calloc(1, 16);
		fa = open_door("A");
		fb = open_door("B");
		if (!CHECK(fa >= 0 && fb >= 0))
			harness_child_exit();
		/* The first call makes each descriptor the door (fattach(3C)), the
		 * second sets up the thread's channel; the rest are fast. */
		for (i = 0; i < 3; i++) {
			CHECK_TAG(fa, "A:16");
			CHECK_TAG(fb, "B:16");
		}
		if (fast_on)
			CHECK_EQ(count_chan_memfds(fds, 8), 2);
		n = fa;

		/* close: the number answers EBADF, however often asked. */
		CHECK_EQ(close(n), 0);
		CHECK_TAG(n, "errno:EBADF");
		CHECK_TAG(n, "errno:EBADF");

		/* dup2 puts door B at the number. */
		CHECK_EQ(dup2(fb, n), n);
		CHECK_TAG(n, "B:16");
		CHECK_TAG(n, "B:16");

		/* a plain file, then a socket that is no door, at the number */
		nul = open("/dev/null", O_RDONLY);
		CHECK_EQ(dup2(nul, n), n);
		CHECK_TAG(n, "errno:EBADF");
		CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
		CHECK_EQ(dup2(sp[0], n), n);
		CHECK_TAG(n, "errno:EBADF");

		/* dup3 brings door A back. */
		fa2 = open_door("A");
		CHECK_TAG(fa2, "A:16");
		CHECK_EQ(dup3(fa2, n, O_CLOEXEC), n);
		CHECK_TAG(n, "A:16");

		/* close_range: CLOEXEC only closes nothing; plain closes. */
#ifdef CLOSE_RANGE_CLOEXEC
		CHECK_EQ(close_range((unsigned)n, (unsigned)n,
		    CLOSE_RANGE_CLOEXEC), 0);
		CHECK_TAG(n, "A:16");
#endif
		CHECK_EQ(close_range((unsigned)n, (unsigned)n, 0), 0);
		CHECK_TAG(n, "errno:EBADF");

		/* A thread's channel follows the number, not the door. */
		CHECK_EQ(dup2(fa2, n), n);
		shared_n = n;
		(void) pthread_barrier_init(&bar, NULL, 2);
		CHECK_EQ(pthread_create(&t, NULL, reuse_thread, NULL), 0);
		(void) pthread_barrier_wait(&bar);
		CHECK_EQ(dup2(fb, n), n);
		(void) pthread_barrier_wait(&bar);
		(void) pthread_join(t, NULL);
		CHECK_TAG(n, "B:16");

		/* closefrom closes the number and everything above it. */
		before = count_fds();
		closefrom(n);
		CHECK_TAG(n, "errno:EBADF");
		CHECK(count_fds() < before);
		/* Every descriptor below n still works as it did. */
		if (fb < n)
			CHECK_TAG(fb, "B:16");
		if (fa2 < n)
			CHECK_TAG(fa2, "A:16");
		harness_child_exit();
	}
	harness_wait_child(pid);
}

/* ------------------------------------------------------ 2. bad buffers */

static void
test_bad_buffers(void)
{
	pid_t pid = harness_fork();

	if (pid == 0) {
		int fa, fr;
		char rbuf[64], *none, *ro, *two, out[64];
		door_arg_t a;

		heap_args = calloc(1, 16);
		none = harness_page(PROT_NONE);
		ro = harness_page(PROT_READ);
		two = mmap(NULL, 2 * pgsz, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		fa = open_door("A");
		fr = open_door("R");
		if (!CHECK(fa >= 0 && fr >= 0 && none != NULL && ro != NULL &&
		    two != MAP_FAILED))
			harness_child_exit();
		(void) mprotect(two + pgsz, pgsz, PROT_NONE);
		CHECK_TAG(fa, "A:16");
		CHECK_TAG(fa, "A:16");	/* the channel exists now */

		memset(&a, 0, sizeof (a));
		a.rbuf = rbuf;
		a.rsize = sizeof (rbuf);
		a.data_size = 16;
		a.data_ptr = harness_unmapped();
		expect_errno(door_call(fa, &a), EFAULT);
		a.data_ptr = none;
		expect_errno(door_call(fa, &a), EFAULT);
		/* 64 readable bytes, then a PROT_NONE page. */
		a.data_ptr = two + pgsz - 64;
		a.data_size = 128;
		expect_errno(door_call(fa, &a), EFAULT);
		CHECK_TAG(fa, "A:16");

		/* Results that cannot be written. */
		a.data_ptr = heap_args;
		a.data_size = 16;
		a.rbuf = ro;
		a.rsize = 64;
		expect_errno(door_call(fa, &a), EFAULT);
		a.rbuf = harness_unmapped();
		expect_errno(door_call(fa, &a), EFAULT);
		CHECK_TAG(fa, "A:16");
		CHECK_EQ(call_tag(fa, out, sizeof (out)), 0);

		/* door_return with unreadable results: EFAULT, twice. */
		CHECK_TAG(fr, "R:-1:EFAULT:-1:EFAULT");
		CHECK_TAG(fr, "R:-1:EFAULT:-1:EFAULT");
		CHECK_TAG(fa, "A:16");
		harness_child_exit();
	}
	harness_wait_child(pid);
}

/* --------------------------------------------- 3. the process's handlers */

static sigjmp_buf jb;
static volatile sig_atomic_t segv_n, bus_n, jb_armed;
static volatile int segv_code;

static void
on_segv(int sig, siginfo_t *si, void *ctx)
{
	(void) sig;
	(void) ctx;
	segv_n++;
	segv_code = si->si_code;
	if (jb_armed) {
		jb_armed = 0;
		siglongjmp(jb, 1);
	}
}

static void
on_bus(int sig)
{
	(void) sig;
	bus_n++;
	if (jb_armed) {
		jb_armed = 0;
		siglongjmp(jb, 1);
	}
}

/* A page of a file that no longer exists behind the mapping: SIGBUS. */
static volatile char *
bus_page(void)
{
	char p[128];
	int fd;
	void *m;

	path_of(p, sizeof (p), "busfile");
	fd = open(p, O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)pgsz) != 0)
		return (NULL);
	m = mmap(NULL, pgsz, PROT_READ, MAP_SHARED, fd, 0);
	(void) ftruncate(fd, 0);
	(void) close(fd);
	(void) unlink(p);
	return (m == MAP_FAILED ? NULL : m);
}

static void
bad_calls(int fd)
{
	door_arg_t a;
	char rbuf[64];

	memset(&a, 0, sizeof (a));
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	a.data_size = 16;
	a.data_ptr = harness_unmapped();
	expect_errno(door_call(fd, &a), EFAULT);
	a.data_ptr = heap_args;
	a.rbuf = harness_unmapped();
	expect_errno(door_call(fd, &a), EFAULT);
}

static void
test_own_handlers(void)
{
	pid_t pid = harness_fork();

	if (pid == 0) {
		struct sigaction sa;
		volatile char *none = harness_page(PROT_NONE);
		volatile char *bus = bus_page();
		volatile char c = 0;
		int fa;

		heap_args = calloc(1, 16);
		memset(&sa, 0, sizeof (sa));
		sa.sa_sigaction = on_segv;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		CHECK_EQ(sigaction(SIGSEGV, &sa, NULL), 0);
		memset(&sa, 0, sizeof (sa));
		sa.sa_handler = on_bus;
		sigemptyset(&sa.sa_mask);
		CHECK_EQ(sigaction(SIGBUS, &sa, NULL), 0);

		fa = open_door("A");
		if (!CHECK(fa >= 0 && none != NULL && bus != NULL))
			harness_child_exit();
		CHECK_TAG(fa, "A:16");
		CHECK_TAG(fa, "A:16");
		bad_calls(fa);
		CHECK_EQ(segv_n, 0);
		CHECK_EQ(bus_n, 0);

		/* Our own invalid access reaches our handler, once. */
		if (sigsetjmp(jb, 1) == 0) {
			jb_armed = 1;
			c = none[0];
		}
		CHECK_EQ(segv_n, 1);
		CHECK(segv_code > 0);	/* a fault, not a sent signal */
		if (sigsetjmp(jb, 1) == 0) {
			jb_armed = 1;
			c = bus[0];
		}
		CHECK_EQ(bus_n, 1);
		/* A SIGSEGV sent by kill(2) too. */
		if (sigsetjmp(jb, 1) == 0) {
			jb_armed = 1;
			(void) kill(getpid(), SIGSEGV);
		}
		CHECK_EQ(segv_n, 2);
		CHECK(segv_code <= 0);
		(void) c;

		/* And libdoor still catches its own faults afterwards. */
		bad_calls(fa);
		CHECK_EQ(segv_n, 2);
		CHECK_EQ(bus_n, 1);
		CHECK_TAG(fa, "A:16");
		harness_child_exit();
	}
	harness_wait_child(pid);
}

/* ------------------------------------------- 4. default dispositions */

/* 0: invalid read, 1: bus error, 2: kill(2). How the child must die. */
static void
death_child(int how)
{
	struct rlimit rl = { 0, 0 };
	volatile char *p;
	int fa;

	(void) setrlimit(RLIMIT_CORE, &rl);
	heap_args = calloc(1, 16);
	fa = open_door("A");
	if (fa < 0 || strcmp(tag_of(fa), "A:16") != 0 ||
	    strcmp(tag_of(fa), "A:16") != 0)
		_exit(3);
	bad_calls(fa);
	if (harness_failed_n != 0)
		_exit(4);
	/* Under ASan its report of the (intended) fault is noise here. */
	if (UNDER_ASAN)
		(void) dup2(open("/dev/null", O_WRONLY), 2);
	switch (how) {
	case 0:
		p = harness_page(PROT_NONE);
		(void) p[0];
		break;
	case 1:
		p = bus_page();
		if (p == NULL)
			_exit(5);
		(void) p[0];
		break;
	default:
		(void) kill(getpid(), SIGSEGV);
		break;
	}
	_exit(0);	/* not reached */
}

static void
test_default_death(void)
{
	static const int want[] = { SIGSEGV, SIGBUS, SIGSEGV };
	int how, st;
	pid_t pid;

	for (how = 0; how < 3; how++) {
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			death_child(how);
		CHECK_EQ(waitpid(pid, &st, 0), pid);
		if (UNDER_ASAN) {
			/* ASan's own handler reports the fault and exits 1. */
			CHECK(!(WIFEXITED(st) && WEXITSTATUS(st) == 0));
			CHECK(!(WIFEXITED(st) && WEXITSTATUS(st) >= 3));
		} else {
			if (!CHECK(WIFSIGNALED(st) &&
			    WTERMSIG(st) == want[how]))
				printf("  case %d: status %#x\n", how, st);
		}
	}
}

/* ---------------------------------------------- 6. a silent park */

/* The shared header of a channel as its client maps it (fast.rs: ChanHdr). */
struct chan_view {
	volatile uint32_t magic, version, state, flags, cwake, csleep, ccpu,
	    scpu;
	volatile uint64_t req_size, rep_size;
	volatile uint32_t rep_status, rep_slow, sparked, swake, ssleep;
};
#define CHAN_MAGIC 0x44484344u

static struct chan_view *
find_channel(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	unsigned long lo, hi;
	struct chan_view *c = NULL;

	if (f == NULL)
		return (NULL);
	while (fgets(line, sizeof (line), f) != NULL) {
		if (strstr(line, "/memfd:libdoor") == NULL ||
		    sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if (((uint32_t *)lo)[0] == CHAN_MAGIC)
			c = (struct chan_view *)lo;
	}
	fclose(f);
	return (c);
}

/*
 * After a fast reply the server thread stays parked on the client's channel
 * for a bounded time.  A client that never calls again, and instead keeps
 * bumping the channel's server wake word (as a hostile one may), holds that
 * thread only for that bounded time: it leaves (the "parked" word clears),
 * and calls are served meanwhile and after.
 */
static void
test_silent_park(void)
{
	pid_t pid;

	if (!fast_on)
		return;
	pid = harness_fork();
	if (pid == 0) {
		struct chan_view *c;
		int fa, k, i, parked;

		heap_args = calloc(1, 16);
		fa = open_door("A");
		CHECK_TAG(fa, "A:16");
		CHECK_TAG(fa, "A:16");
		c = find_channel();
		if (!CHECK(c != NULL))
			harness_child_exit();
		for (k = 0; k < 100; k++) {
			parked = c->sparked;
			for (i = 0; i < 1000; i++)
				__sync_fetch_and_add(&c->swake, 1);
			if (!parked)
				break;
			usleep(50000);
		}
		CHECK_EQ(c->sparked, 0);
		CHECK_TAG(fa, "A:16");	/* served */
		harness_child_exit();
	}
	harness_wait_child(pid);
}

/* ------------------------------------------------------- 5. seals */

static void
test_sealed_channel(void)
{
	pid_t pid = harness_fork();

	if (pid == 0) {
		int fa, fds[8], k, i;
		struct stat st;

		heap_args = calloc(1, 16);
		fa = open_door("A");
		CHECK_TAG(fa, "A:16");
		CHECK_TAG(fa, "A:16");
		k = count_chan_memfds(fds, 8);
		if (!fast_on) {
			CHECK_EQ(k, 0);
			harness_child_exit();
		}
		CHECK(k >= 1);
		for (i = 0; i < k && i < 8; i++) {
			CHECK_EQ(fstat(fds[i], &st), 0);
			expect_errno(ftruncate(fds[i], 0), EPERM);
			expect_errno(ftruncate(fds[i], st.st_size * 2), EPERM);
			CHECK_EQ(fstat(fds[i], &st), 0);
		}
		CHECK_TAG(fa, "A:16");
		harness_child_exit();
	}
	harness_wait_child(pid);
}

int
main(void)
{
	const char *e = getenv("LIBDOOR_FASTPATH");

	fast_on = !(e != NULL && strcmp(e, "0") == 0);
	pgsz = (size_t)sysconf(_SC_PAGESIZE);
	strcpy(tdir, "/tmp/t_reuse.XXXXXX");
	if (mkdtemp(tdir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	start_server();
	RUN(test_number_reuse);
	RUN(test_bad_buffers);
	RUN(test_own_handlers);
	RUN(test_default_death);
	RUN(test_sealed_channel);
	RUN(test_silent_park);
	stop_server();
	return (harness_done());
}
