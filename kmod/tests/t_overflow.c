/*
 * t_overflow.c - results that do not fit the caller's buffer go to a new
 * mapping in the caller; when the caller's address space cannot take that
 * mapping (a tiny RLIMIT_AS), the call fails with EOVERFLOW, the server's
 * RETURN has succeeded (its DOOR_RELEASE descriptors are closed), its
 * thread serves again, and nothing is left in the module.
 */
#include "doorio.h"
#include "harness.h"
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define BIG (8 << 20)

static char *big;
static int relfd = -1;
static volatile int returned;

/* "big": 8 MiB, with the write end of a pipe (DOOR_RELEASE) when set. */
static void
give_big(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	static struct door_uapi_desc d;

	(void) area;
	if (inv->data_size == 3) {
		r->data = big;
		r->size = BIG;
		if (relfd >= 0)
			kd_reply_released(r, &d, relfd);
		returned++;
		return;
	}
	kd_echo(inv, area, r);
}

static long
vsize(void)
{
	long pages = 0, rss;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		pages = -1;
	fclose(f);
	return pages * 4096;
}

/* In place when it fits; a new mapping when it does not. */
static void
overflow_mapped(void)
{
	struct door_uapi_call out;
	struct kd_server s;
	char rb[64];
	int door;

	door = kd_create(0, 0, 0);
	REQUIRE(door >= 0);
	REQUIRE(kd_server_start(&s, give_big, 1, -1) == 0);
	relfd = -1;
	CHECK_EQ(kd_call(door, "big", 3, NULL, 0, rb, sizeof (rb), &out), 0);
	CHECK(out.flags & DOOR_CALL_MAPPED);
	CHECK_EQU(out.data_size, BIG);
	CHECK(out.rsize >= BIG);
	if (out.flags & DOOR_CALL_MAPPED) {
		const char *m = (const char *)(uintptr_t)out.rbuf;

		CHECK(m[0] == 'B' && m[BIG - 1] == 'E');
		munmap((void *)m, (size_t)out.rsize);
	}
	kd_server_stop(&s);
	close(door);
}

/* No room for the mapping: EOVERFLOW, and the server goes on. */
static void
overflow_no_room(void)
{
	struct kd_server s;
	struct pollfd p;
	int door, pp[2], st, before;
	pid_t pid;
	char c;

	door = kd_create(0, 0, 0);
	REQUIRE(door >= 0);
	REQUIRE(kd_server_start(&s, give_big, 1, -1) == 0);
	REQUIRE(pipe(pp) == 0);
	relfd = pp[1];
	before = returned;
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct door_uapi_call out;
		struct rlimit rl;
		char rb[64];
		long vs = vsize();
		int r, e;

		close(pp[0]);
		close(pp[1]);
		rl.rlim_cur = rl.rlim_max = (rlim_t)vs + (1 << 20);
		if (vs <= 0 || setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(3);
		r = kd_call(door, "big", 3, NULL, 0, rb, sizeof (rb), &out);
		e = errno;
		_exit(r == -1 && e == EOVERFLOW ? 0 : 1);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ(returned, before + 1);
	/* the server's DOOR_RELEASE write end is closed: end of file */
	p.fd = pp[0];
	p.events = POLLIN;
	CHECK_EQ(poll(&p, 1, 5000), 1);
	CHECK_EQ(read(pp[0], &c, 1), 0);
	relfd = -1;
	/* the thread serves again */
	{
		char rb[8];

		CHECK_EQ(kd_call(door, "ok", 2, NULL, 0, rb, sizeof (rb), NULL), 0);
		CHECK_EQ(memcmp(rb, "ok", 2), 0);
	}
	kd_server_stop(&s);
	close(pp[0]);
	close(door);
	CHECK_EQ(kd_stat("calls"), 0);
}

int
main(void)
{
	big = malloc(BIG);
	if (big == NULL)
		return (1);
	memset(big, 'x', BIG);
	big[0] = 'B';
	big[BIG - 1] = 'E';
	RUN(overflow_mapped);
	RUN(overflow_no_room);
	return (harness_done());
}
