/*
 * t_pinbudget.c - the module pins at most DOOR_PIN_BUDGET pages of callers'
 * arguments at once (65536 pages, in all, for every caller of every door);
 * a large argument that would go past it is copied into a kernel buffer
 * instead, as arguments of up to 16 KiB are.
 *
 * Pins of a call last as long as it waits for a server thread, which is
 * for as long as its caller likes (a door with no server threads).  Each
 * pin of a small page adds 1024 to the page's reference count, so without
 * a bound an unprivileged user overflowed the count of one memfd page
 * mapped read-only 65000 times, with 34 waiting calls on those mappings,
 * at no cost in memory (a warning in try_grab_folio, a panic under
 * panic_on_warn); and could keep any amount of memory from reclaim and
 * migration.
 *
 *  - a caller waiting with just under the budget of zero-page arguments
 *    holds that many pins; a second large caller meanwhile pins nothing
 *    (its arguments are copied) and its arguments still arrive intact;
 *  - once the first call is gone (E2BIG: larger than the server's area),
 *    nothing stays pinned;
 *  - a large call that is to fail (a descriptor record naming no open
 *    file: EINVAL) holds no pins while it waits for a server thread.
 */
#include "doorio.h"
#include "harness.h"
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define PAGE 4096
#define BUDGET 65536 /* door.c DOOR_PIN_BUDGET */
#define A_PAGES (BUDGET - 10)
#define B_BYTES (64 * 1024)

static uint64_t
fnv(const unsigned char *p, uint64_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ *p++) * 1099511628211ULL;
	return h;
}

static void
hash_proc(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	static __thread uint64_t out[2];

	(void) area;
	out[0] = inv->data_size;
	out[1] = fnv((const unsigned char *)(uintptr_t)inv->data_ptr, inv->data_size);
	r->data = out;
	r->size = sizeof (out);
}

static int door;
static unsigned char *a_buf, *b_buf;
static volatile pid_t b_tid;
static int a_ret, a_errno, b_ok;

static void *
caller_a(void *arg)
{
	(void) arg;
	a_ret = kd_call(door, a_buf, (uint64_t)A_PAGES * PAGE, NULL, 0, NULL, 0, NULL);
	a_errno = errno;
	return (NULL);
}

static void *
caller_b(void *arg)
{
	uint64_t rb[2] = { 0, 0 };

	(void) arg;
	b_tid = (pid_t)syscall(SYS_gettid);
	b_ok = kd_call(door, b_buf, B_BYTES, NULL, 0, rb, sizeof (rb), NULL) == 0 &&
	    rb[0] == B_BYTES && rb[1] == fnv(b_buf, B_BYTES);
	return (NULL);
}

/* Waits (at most 5 s) until the module's "pinned" count is `want`. */
static int
pinned_becomes(int want)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (kd_stat("pinned") == want)
			return 1;
		usleep(10000);
	}
	return 0;
}

/* Waits (at most 5 s) until thread `tid` sleeps in the module's CALL, past
 * staging its arguments. */
static int
sleeps_in_call(pid_t tid)
{
	char path[64], w[64];
	int i;

	snprintf(path, sizeof (path), "/proc/self/task/%d/wchan", (int)tid);
	for (i = 0; i < 500; i++) {
		FILE *f = fopen(path, "r");

		memset(w, 0, sizeof (w));
		if (f != NULL) {
			(void) !fgets(w, sizeof (w), f);
			fclose(f);
		}
		if (strcmp(w, "door_ioc_call") == 0)
			return 1;
		usleep(10000);
	}
	NOTE("wchan of %d: '%s'", (int)tid, w);
	return 0;
}

static void
budget(void)
{
	struct kd_server s;
	pthread_t ta, tb;
	size_t i;

	a_buf = mmap(NULL, (size_t)A_PAGES * PAGE, PROT_READ,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	REQUIRE(a_buf != MAP_FAILED);
	(void) madvise(a_buf, (size_t)A_PAGES * PAGE, MADV_NOHUGEPAGE);
	b_buf = malloc(B_BYTES);
	REQUIRE(b_buf != NULL);
	for (i = 0; i < B_BYTES; i++)
		b_buf[i] = (unsigned char)(i * 13 + (i >> 9));
	door = kd_create(0, 0, 0);
	REQUIRE(door >= 0);
	/* no server thread yet: both calls wait */
	REQUIRE(pthread_create(&ta, NULL, caller_a, NULL) == 0);
	CHECK(pinned_becomes(A_PAGES));
	REQUIRE(pthread_create(&tb, NULL, caller_b, NULL) == 0);
	while (b_tid == 0)
		usleep(1000);
	CHECK(sleeps_in_call(b_tid));
	/* B's 16 pages would go past the budget: copied, not pinned */
	CHECK_EQ(kd_stat("pinned"), A_PAGES);
	CHECK_EQ(kd_stat("calls"), 2);
	REQUIRE(kd_server_start(&s, hash_proc, 1, -1) == 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CHECK_EQ(a_ret, -1);
	CHECK_EQ(a_errno, E2BIG); /* larger than the server's area */
	CHECK(b_ok);
	CHECK_EQ(kd_stat("pinned"), 0);
	/* with the budget free again, a large call is pinned and served */
	{
		uint64_t rb[2] = { 0, 0 };

		CHECK_EQ(kd_call(door, b_buf + 1, B_BYTES - 1, NULL, 0, rb, sizeof (rb), NULL), 0);
		CHECK(rb[1] == fnv(b_buf + 1, B_BYTES - 1));
	}
	kd_server_stop(&s);
	close(door);
	munmap(a_buf, (size_t)A_PAGES * PAGE);
	free(b_buf);
	CHECK_EQ(kd_stat("pinned"), 0);
	CHECK_EQ(kd_stat("calls"), 0);
}

static int c_ret, c_errno;

static void *
caller_c(void *arg)
{
	struct door_uapi_desc d;

	(void) arg;
	memset(&d, 0, sizeof (d));
	d.attributes = DOOR_UAPI_DESCRIPTOR;
	d.descriptor = 999; /* not open */
	b_tid = (pid_t)syscall(SYS_gettid);
	c_ret = kd_call(door, b_buf, B_BYTES, &d, 1, NULL, 0, NULL);
	c_errno = errno;
	return (NULL);
}

static void
failing_call_no_pins(void)
{
	struct kd_server s;
	pthread_t tc;
	size_t i;

	b_buf = malloc(B_BYTES);
	REQUIRE(b_buf != NULL);
	for (i = 0; i < B_BYTES; i++)
		b_buf[i] = (unsigned char)i;
	REQUIRE(fcntl(999, F_GETFD) == -1);
	door = kd_create(0, 0, 0);
	REQUIRE(door >= 0);
	b_tid = 0;
	REQUIRE(pthread_create(&tc, NULL, caller_c, NULL) == 0);
	while (b_tid == 0)
		usleep(1000);
	CHECK(sleeps_in_call(b_tid));
	CHECK_EQ(kd_stat("calls"), 1);
	CHECK_EQ(kd_stat("pinned"), 0);
	REQUIRE(kd_server_start(&s, hash_proc, 1, -1) == 0);
	pthread_join(tc, NULL);
	CHECK_EQ(c_ret, -1);
	CHECK_EQ(c_errno, EINVAL);
	kd_server_stop(&s);
	close(door);
	free(b_buf);
	CHECK_EQ(kd_stat("pinned"), 0);
	CHECK_EQ(kd_stat("calls"), 0);
}

int
main(void)
{
	RUN(budget);
	RUN(failing_call_no_pins);
	return (harness_done());
}
