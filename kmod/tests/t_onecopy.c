/*
 * t_onecopy.c - arguments over 16 KiB are copied once: the caller's pages
 * are pinned in its call and the server thread copies from them into its
 * area when it takes the call.
 *
 *  - every size around the threshold, at page-straddling offsets, arrives
 *    intact, and no page stays pinned after the call;
 *  - read-only memory and never-touched memory (the zero page) can be
 *    arguments;
 *  - a buffer with an unreadable page, or a size far past the caller's
 *    mapping, fails with EFAULT at once, and nothing stays pinned;
 *  - the server's copy is its own: a client thread that rewrites the
 *    buffer while the procedure runs changes nothing the procedure sees;
 *  - pages stay pinned only while the call waits for a server thread:
 *    a caller interrupted by a signal (EAGAIN), or killed, while it waits
 *    releases them.
 */
#include "doorio.h"
#include "harness.h"
#include <sys/mman.h>
#include <sys/wait.h>

#define PAGE 4096

static uint64_t
fnv(const unsigned char *p, uint64_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ *p++) * 1099511628211ULL;
	return h;
}

/* Replies [size, hash of the arguments]; with 3 bytes "die", nothing. */
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

/* Calls door with n bytes at p; the reply must be its size and hash. */
static int
call_hash(int door, const void *p, uint64_t n)
{
	uint64_t rb[2] = { 0, 0 };

	if (kd_call(door, p, n, NULL, 0, rb, sizeof (rb), NULL) != 0)
		return 0;
	return rb[0] == n && rb[1] == fnv(p, n);
}

static void
sizes_and_offsets(void)
{
	static const uint64_t sizes[] = { 1, 16383, 16384, 16385, 65536 + 3, 200000 };
	static const size_t offs[] = { 0, 1, 4095, 4096 + 17 };
	struct kd_server s;
	unsigned char *buf;
	size_t i, j, k;
	int door;

	buf = malloc(256 * 1024);
	REQUIRE(buf != NULL);
	for (k = 0; k < 256 * 1024; k++)
		buf[k] = (unsigned char)(k * 7 + (k >> 12));
	door = kd_create(0, 0, 0);
	REQUIRE(door >= 0);
	REQUIRE(kd_server_start(&s, hash_proc, 1, -1) == 0);
	for (i = 0; i < sizeof (sizes) / sizeof (sizes[0]); i++)
		for (j = 0; j < sizeof (offs) / sizeof (offs[0]); j++) {
			if (!CHECK(call_hash(door, buf + offs[j], sizes[i])))
				NOTE("size %llu at offset %zu",
				    (unsigned long long)sizes[i], offs[j]);
			CHECK_EQ(kd_stat("pinned"), 0);
		}
	/* larger than the server's area: E2BIG, nothing pinned after */
	{
		unsigned char *huge = malloc(KD_AREA + PAGE);

		REQUIRE(huge != NULL);
		memset(huge, 1, KD_AREA + PAGE);
		CHECK_EQ(kd_call(door, huge, KD_AREA + PAGE, NULL, 0, NULL, 0, NULL), -1);
		CHECK_EQ(errno, E2BIG);
		CHECK_EQ(kd_stat("pinned"), 0);
		free(huge);
		CHECK(call_hash(door, buf, 70000)); /* the thread serves again */
	}
	kd_server_stop(&s);
	close(door);
	free(buf);
	CHECK_EQ(kd_stat("calls"), 0);
}

static void
readonly_and_zero(void)
{
	struct kd_server s;
	unsigned char *ro, *zero;
	int door;

	ro = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	zero = mmap(NULL, 64 * 1024, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(ro != MAP_FAILED && zero != MAP_FAILED);
	memset(ro, 0x5a, 64 * 1024);
	REQUIRE(mprotect(ro, 64 * 1024, PROT_READ) == 0);
	door = kd_create(0, 0, 0);
	REQUIRE(door >= 0);
	REQUIRE(kd_server_start(&s, hash_proc, 1, -1) == 0);
	CHECK(call_hash(door, ro + 5, 60000));
	CHECK(call_hash(door, zero, 64 * 1024)); /* never touched */
	CHECK_EQ(kd_stat("pinned"), 0);
	kd_server_stop(&s);
	close(door);
	munmap(ro, 64 * 1024);
	munmap(zero, 64 * 1024);
	CHECK_EQ(kd_stat("calls"), 0);
}

static void
bad_buffers(void)
{
	struct kd_server s;
	unsigned char *m;
	int door;

	m = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(m != MAP_FAILED);
	memset(m, 3, 8 * PAGE);
	REQUIRE(mprotect(m + 5 * PAGE, PAGE, PROT_NONE) == 0);
	REQUIRE(munmap(m + 7 * PAGE, PAGE) == 0);
	door = kd_create(0, 0, 0);
	REQUIRE(door >= 0);
	REQUIRE(kd_server_start(&s, hash_proc, 1, -1) == 0);
	/* a PROT_NONE page in the middle */
	CHECK_EQ(kd_call(door, m, 6 * PAGE, NULL, 0, NULL, 0, NULL), -1);
	CHECK_EQ(errno, EFAULT);
	CHECK_EQ(kd_stat("pinned"), 0);
	/* a size past the mapping that the area could take */
	CHECK_EQ(kd_call(door, m, 50 * PAGE, NULL, 0, NULL, 0, NULL), -1);
	CHECK_EQ(errno, EFAULT);
	CHECK_EQ(kd_stat("pinned"), 0);
	/* one far past both (1 GiB - 1 from a 5-page buffer): the area's
	 * E2BIG, found first, and nothing pinned or allocated that stays */
	CHECK_EQ(kd_call(door, m, (1ULL << 30) - 1, NULL, 0, NULL, 0, NULL), -1);
	CHECK_EQ(errno, E2BIG);
	CHECK_EQ(kd_stat("pinned"), 0);
	/* an address range that wraps */
	CHECK_EQ(kd_call(door, (void *)(uintptr_t)(UINTPTR_MAX - 100), 20000, NULL, 0,
	    NULL, 0, NULL), -1);
	CHECK_EQ(errno, EFAULT);
	/* the readable part alone is fine */
	CHECK(call_hash(door, m, 5 * PAGE));
	CHECK_EQ(kd_stat("pinned"), 0);
	kd_server_stop(&s);
	close(door);
	munmap(m, 7 * PAGE);
	CHECK_EQ(kd_stat("calls"), 0);
}

/* ---- the server's copy is its own -------------------------------------- */

static unsigned char *shared;
static volatile int scribble;

/* Hashes its arguments, waits 50 ms, hashes them again: "same" or "diff". */
static void
twice_proc(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	const unsigned char *p = (const unsigned char *)(uintptr_t)inv->data_ptr;
	uint64_t a = fnv(p, inv->data_size);

	(void) area;
	usleep(50000);
	r->data = fnv(p, inv->data_size) == a ? "same" : "diff";
	r->size = 4;
}

static void *
scribbler(void *arg)
{
	unsigned i = 0;

	(void) arg;
	while (scribble)
		shared[(i++ * 4099) % (128 * 1024)]++;
	return (NULL);
}

static void
private_copy(void)
{
	struct kd_server s;
	pthread_t t;
	char rb[8];
	int door, i;

	shared = malloc(128 * 1024);
	REQUIRE(shared != NULL);
	memset(shared, 9, 128 * 1024);
	door = kd_create(0, 0, 0);
	REQUIRE(door >= 0);
	REQUIRE(kd_server_start(&s, twice_proc, 1, -1) == 0);
	scribble = 1;
	REQUIRE(pthread_create(&t, NULL, scribbler, NULL) == 0);
	for (i = 0; i < 5; i++) {
		memset(rb, 0, sizeof (rb));
		CHECK_EQ(kd_call(door, shared, 128 * 1024, NULL, 0, rb, sizeof (rb), NULL), 0);
		CHECK(memcmp(rb, "same", 4) == 0);
	}
	scribble = 0;
	pthread_join(t, NULL);
	kd_server_stop(&s);
	close(door);
	free(shared);
	CHECK_EQ(kd_stat("pinned"), 0);
	CHECK_EQ(kd_stat("calls"), 0);
}

/* ---- pins live only while a call waits ---------------------------------- */

static volatile int hold;

/* "hold" keeps the only server thread busy until `hold` is cleared. */
static void
hold_proc(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	if (inv->data_size == 4) {
		while (hold)
			usleep(1000);
	}
	hash_proc(inv, area, r);
}

static void *
holder(void *arg)
{
	char rb[16];

	(void) kd_call(*(int *)arg, "hold", 4, NULL, 0, rb, sizeof (rb), NULL);
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

static void
pins_released(void)
{
	const int npages = 64 * 1024 / PAGE + 1; /* 64 KiB at offset 8 */
	struct kd_server s;
	unsigned char *buf;
	pthread_t h;
	int door, st;
	pid_t pid;

	buf = malloc(64 * 1024 + PAGE);
	REQUIRE(buf != NULL);
	memset(buf, 4, 64 * 1024 + PAGE);
	door = kd_create(0, 0, 0);
	REQUIRE(door >= 0);
	REQUIRE(kd_server_start(&s, hold_proc, 1, -1) == 0);
	hold = 1;
	REQUIRE(pthread_create(&h, NULL, holder, &door) == 0);
	usleep(50000);
	/* a waiting caller killed: its pins go */
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		uint64_t rb[2];
		unsigned char *p = (unsigned char *)(((uintptr_t)buf + PAGE - 1) & ~(uintptr_t)(PAGE - 1));

		(void) kd_call(door, p + 8, 64 * 1024, NULL, 0, rb, sizeof (rb), NULL);
		_exit(0);
	}
	CHECK(pinned_becomes(npages));
	kill(pid, SIGKILL);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFSIGNALED(st));
	CHECK(pinned_becomes(0));
	/* a caller interrupted by a handled signal while it waits for a server
	 * thread: EAGAIN (illumos' errno there), no pins */
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		uint64_t rb[2];
		unsigned char *p = (unsigned char *)(((uintptr_t)buf + PAGE - 1) & ~(uintptr_t)(PAGE - 1));
		int r, e;

		signal(SIGUSR1, kd_nop_handler);
		r = kd_call(door, p + 8, 64 * 1024, NULL, 0, rb, sizeof (rb), NULL);
		e = errno;
		_exit(r == -1 && e == EAGAIN ? 0 : r == 0 ? 100 : e);
	}
	CHECK(pinned_becomes(npages));
	kill(pid, SIGUSR1);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0); /* else 100 (returned 0) or the errno */
	CHECK(pinned_becomes(0));
	hold = 0;
	pthread_join(h, NULL);
	/* the server thread still serves large calls */
	CHECK(call_hash(door, buf + 3, 64 * 1024));
	kd_server_stop(&s);
	close(door);
	free(buf);
	CHECK_EQ(kd_stat("pinned"), 0);
	CHECK_EQ(kd_stat("calls"), 0);
}

int
main(void)
{
	RUN(sizes_and_offsets);
	RUN(readonly_and_zero);
	RUN(bad_buffers);
	RUN(private_copy);
	RUN(pins_released);
	return (harness_done());
}
