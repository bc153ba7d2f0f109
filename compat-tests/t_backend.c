/*
 * t_backend.c - which backend a process uses (libdoor(7)).
 *
 * libdoor has a userspace backend and a kernel backend (the /dev/door
 * module).  Each case runs this program again with a chosen environment
 * and reads what the new process reports:
 *  1. LIBDOOR_BACKEND=user: libdoor_backend() says "user" and doors work;
 *  2. LIBDOOR_BACKEND unset: "kernel" when /dev/door exists and speaks
 *     the library's interface version, else "user"; doors work either way;
 *  3. LIBDOOR_BACKEND=kernel without the module: libdoor_backend() says
 *     "kernel", door_create and door_call fail with ENOTSUP (twice, the
 *     same), door_info with EBADF, and exactly one line goes to standard
 *     error; with the module, doors work.
 */
#include <door.h>
#include <fcntl.h>
#include <unistd.h>

#include "harness.h"

static void
echo(void *cookie, char *argp, size_t n, door_desc_t *dp, uint_t nd)
{
	(void) cookie; (void) dp; (void) nd;
	(void) door_return(argp, n, NULL, 0);
}

/* The re-executed program: prints what it sees on standard output. */
static int
report(void)
{
	char rbuf[16];
	door_arg_t a;
	door_info_t di;
	int d, e1, e2, ec, ei;

	errno = 0;
	d = door_create(echo, NULL, 0);
	e1 = errno;
	if (d < 0) {
		errno = 0;
		(void) door_create(echo, NULL, 0);
		e2 = errno;
		memset(&a, 0, sizeof (a));
		errno = 0;
		(void) door_call(0, &a);
		ec = errno;
		errno = 0;
		(void) door_info(0, &di);
		ei = errno;
		printf("%s fail %d %d %d %d\n", libdoor_backend(), e1, e2, ec,
		    ei);
		return (0);
	}
	memset(&a, 0, sizeof (a));
	a.data_ptr = "ping";
	a.data_size = 5;
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	printf("%s %s\n", libdoor_backend(),
	    door_call(d, &a) == 0 && a.data_size == 5 &&
	    strcmp(a.data_ptr, "ping") == 0 ? "works" : "broken");
	return (0);
}

static const char *self;

/* A string check that shows both strings when it fails. */
#define CHECK_STR_EQ(got, want) do { \
	if (!CHECK(strcmp((got), (want)) == 0)) \
		NOTE("got \"%s\", expected \"%s\"", (got), (want)); \
} while (0)

/* Reads until end of file (or the buffer is full). */
static void
read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len && (n = read(fd, buf + got, len - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
	}
}

/* Runs this program with LIBDOOR_BACKEND=value (NULL: unset). */
static int
run(const char *value, char *out, size_t outsz, char *err, size_t errsz)
{
	int po[2], pe[2], status;
	pid_t pid;

	if (pipe(po) != 0 || pipe(pe) != 0)
		return (-1);
	pid = fork();
	if (pid < 0)
		return (-1);
	if (pid == 0) {
		(void) dup2(po[1], 1);
		(void) dup2(pe[1], 2);
		if (value != NULL)
			(void) setenv("LIBDOOR_BACKEND", value, 1);
		else
			(void) unsetenv("LIBDOOR_BACKEND");
		(void) execl(self, self, "report", (char *)NULL);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	memset(out, 0, outsz);
	memset(err, 0, errsz);
	read_all(po[0], out, outsz - 1);
	read_all(pe[0], err, errsz - 1);
	close(po[0]);
	close(pe[0]);
	if (waitpid(pid, &status, 0) != pid)
		return (-1);
	return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Does this machine have the module, speaking our interface version? */
static int
module_here(void)
{
	int fd = open("/dev/door", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return (0);
	close(fd);
	return (1);
}

static void
test_forced_user(void)
{
	char out[256], err[256];

	REQUIRE(run("user", out, sizeof (out), err, sizeof (err)) == 0);
	CHECK_STR_EQ(out, "user works\n");
	CHECK_STR_EQ(err, "");
}

static void
test_automatic(void)
{
	char out[256], err[256];

	REQUIRE(run(NULL, out, sizeof (out), err, sizeof (err)) == 0);
	CHECK_STR_EQ(out, module_here() ? "kernel works\n" : "user works\n");
	CHECK_STR_EQ(err, "");
}

static void
test_forced_kernel(void)
{
	char out[256], err[256], want[64];
	int lines = 0;
	char *p;

	REQUIRE(run("kernel", out, sizeof (out), err, sizeof (err)) == 0);
	if (module_here()) {
		CHECK_STR_EQ(out, "kernel works\n");
		CHECK_STR_EQ(err, "");
		return;
	}
	(void) snprintf(want, sizeof (want), "kernel fail %d %d %d %d\n",
	    ENOTSUP, ENOTSUP, ENOTSUP, EBADF);
	CHECK_STR_EQ(out, want);
	for (p = err; *p != '\0'; p++)
		if (*p == '\n')
			lines++;
	CHECK_EQ(lines, 1);
	CHECK(strstr(err, "libdoor:") == err);
	CHECK(strstr(err, "/dev/door") != NULL);
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return (report());
	self = argv[0];
	RUN(test_forced_user);
	RUN(test_automatic);
	RUN(test_forced_kernel);
	return (harness_done());
}
