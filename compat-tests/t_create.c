/*
 * t_create.c - door_create(3C).
 *
 * Clauses exercised (door_create(3C)):
 *  - EINVAL for any attribute bit outside DOOR_CREATE_MASK;
 *  - EINVAL for DOOR_UNREF and DOOR_UNREF_MULTI together;
 *  - EINVAL (libc) for DOOR_NO_DEPLETION_CB or DOOR_PRIVCREATE passed to
 *    door_create (they belong to door_xcreate);
 *  - every valid attribute combination is accepted and reported back by
 *    door_info (di_attributes & DOOR_CREATE_MASK), with DOOR_LOCAL;
 *  - the returned descriptor has FD_CLOEXEC set;
 *  - each door gets a distinct id (di_uniquifier) from a counter that only
 *    increases;
 *  - EMFILE when the descriptor table is full (RLIMIT_NOFILE);
 *  - failed calls leave no descriptor behind.
 */
#include <door.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/resource.h>

#include "harness.h"

static void
echo_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	(void) cookie; (void) dp; (void) n_desc;
	(void) door_return(argp, arg_size, NULL, 0);
}

static int
call_echo(int fd, const char *msg)
{
	char rbuf[64];
	door_arg_t a;

	memset(&a, 0, sizeof (a));
	a.data_ptr = (char *)msg;
	a.data_size = strlen(msg) + 1;
	a.rbuf = rbuf;
	a.rsize = sizeof (rbuf);
	if (door_call(fd, &a) != 0)
		return (-1);
	if (a.data_size != strlen(msg) + 1 || strcmp(a.data_ptr, msg) != 0)
		return (-2);
	return (0);
}

/* Bits outside DOOR_CREATE_MASK, one at a time, then in combinations. */
static void
test_invalid_bits(void)
{
	int fds0 = count_fds_stable();
	unsigned bit;

	for (bit = 0; bit < 32; bit++) {
		uint_t a = 1u << bit;
		if (a & DOOR_CREATE_MASK)
			continue;
		if (!expect_errno(door_create(echo_proc, NULL, a), EINVAL))
			printf("  (attribute 0x%x)\n", a);
	}
	/* Reported-only attributes are not accepted as input. */
	expect_errno(door_create(echo_proc, NULL, DOOR_LOCAL), EINVAL);
	expect_errno(door_create(echo_proc, NULL, DOOR_REVOKED), EINVAL);
	expect_errno(door_create(echo_proc, NULL, DOOR_IS_UNREF), EINVAL);
	expect_errno(door_create(echo_proc, NULL, DOOR_DEPLETION_CB), EINVAL);
	/* Descriptor tags are not door attributes either. */
	expect_errno(door_create(echo_proc, NULL, DOOR_DESCRIPTOR), EINVAL);
	expect_errno(door_create(echo_proc, NULL, DOOR_RELEASE), EINVAL);
	/* A valid bit does not make an invalid one acceptable. */
	expect_errno(door_create(echo_proc, NULL, DOOR_UNREF | 0x800), EINVAL);
	expect_errno(door_create(echo_proc, NULL,
	    DOOR_REFUSE_DESC | 0x80000000u), EINVAL);
	expect_errno(door_create(echo_proc, NULL, ~0u), EINVAL);
	CHECK_EQ(count_fds_settled(fds0), fds0);
}

static void
test_unref_both(void)
{
	int fds0 = count_fds_stable();

	expect_errno(door_create(echo_proc, NULL,
	    DOOR_UNREF | DOOR_UNREF_MULTI), EINVAL);
	expect_errno(door_create(echo_proc, NULL,
	    DOOR_UNREF | DOOR_UNREF_MULTI | DOOR_REFUSE_DESC), EINVAL);
	CHECK_EQ(count_fds_settled(fds0), fds0);
}

/* In DOOR_CREATE_MASK, but reserved for door_xcreate (libc check). */
static void
test_xcreate_only_bits(void)
{
	int fds0 = count_fds_stable();

	expect_errno(door_create(echo_proc, NULL, DOOR_NO_DEPLETION_CB),
	    EINVAL);
	expect_errno(door_create(echo_proc, NULL, DOOR_PRIVCREATE), EINVAL);
	expect_errno(door_create(echo_proc, NULL,
	    DOOR_PRIVATE | DOOR_NO_DEPLETION_CB), EINVAL);
	expect_errno(door_create(echo_proc, NULL,
	    DOOR_PRIVATE | DOOR_PRIVCREATE), EINVAL);
	CHECK_EQ(count_fds_settled(fds0), fds0);
}

static void
test_valid_attributes(void)
{
	static const uint_t valid[] = {
		0,
		DOOR_UNREF,
		DOOR_UNREF_MULTI,
		DOOR_REFUSE_DESC,
		DOOR_NO_CANCEL,
		DOOR_PRIVATE,
		DOOR_UNREF | DOOR_REFUSE_DESC | DOOR_NO_CANCEL,
		DOOR_UNREF_MULTI | DOOR_PRIVATE | DOOR_NO_CANCEL,
		DOOR_UNREF | DOOR_PRIVATE | DOOR_REFUSE_DESC | DOOR_NO_CANCEL,
	};
	unsigned i;

	for (i = 0; i < sizeof (valid) / sizeof (valid[0]); i++) {
		door_info_t di;
		int fd = door_create(echo_proc, (void *)(uintptr_t)(i + 1),
		    valid[i]);

		if (ERROR_IF(door_create, fd, fd < 0)) {
			printf("  (attributes 0x%x)\n", valid[i]);
			continue;
		}
		memset(&di, 0xa5, sizeof (di));
		if (CHECK(door_info(fd, &di) == 0)) {
			CHECK_EQ(di.di_attributes & DOOR_CREATE_MASK,
			    valid[i]);
			CHECK(di.di_attributes & DOOR_LOCAL);
			CHECK(!(di.di_attributes & DOOR_REVOKED));
			CHECK_EQ(di.di_target, getpid());
			CHECK_EQU(di.di_data, (uintptr_t)(i + 1));
		}
		/* Non-private doors are served right away. */
		if (!(valid[i] & DOOR_PRIVATE))
			CHECK_EQ(call_echo(fd, "attr"), 0);
		CHECK_EQ(door_revoke(fd), 0);
	}
}

static void
test_cloexec(void)
{
	int fd = door_create(echo_proc, NULL, 0);
	int fl;

	REQUIRE(fd >= 0);
	fl = fcntl(fd, F_GETFD);
	CHECK(fl != -1);
	CHECK(fl & FD_CLOEXEC);
	/* A dup()ed copy follows the usual rule: no close-on-exec. */
	{
		int d = dup(fd);
		CHECK(d >= 0);
		CHECK_EQ(fcntl(d, F_GETFD) & FD_CLOEXEC, 0);
		CHECK_EQ(call_echo(d, "dup"), 0);
		close(d);
	}
	door_revoke(fd);

	fd = door_create(echo_proc, NULL, DOOR_UNREF | DOOR_REFUSE_DESC);
	REQUIRE(fd >= 0);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	door_revoke(fd);
}

#define NDOORS 64
static void
test_uniquifier(void)
{
	int fds[NDOORS];
	door_id_t ids[NDOORS];
	int i, j, dups = 0, nonincreasing = 0;

	for (i = 0; i < NDOORS; i++) {
		door_info_t di;
		fds[i] = door_create(echo_proc, NULL, 0);
		ids[i] = 0;
		if (!CHECK(fds[i] >= 0))
			continue;
		if (CHECK(door_info(fds[i], &di) == 0))
			ids[i] = di.di_uniquifier;
	}
	for (i = 0; i < NDOORS; i++)
		for (j = i + 1; j < NDOORS; j++)
			if (ids[i] == ids[j])
				dups++;
	for (i = 1; i < NDOORS; i++)
		if (ids[i] <= ids[i - 1])
			nonincreasing++;
	CHECK_EQ(dups, 0);
	/* Ids only increase (illumos: one system-wide counter). */
	CHECK_EQ(nonincreasing, 0);

	/* The same door seen through a dup has the same id. */
	{
		door_info_t a, b;
		int d = dup(fds[0]);
		CHECK(door_info(fds[0], &a) == 0);
		CHECK(door_info(d, &b) == 0);
		CHECK_EQU(a.di_uniquifier, b.di_uniquifier);
		close(d);
	}
	/* Ids are not reused after a door goes away. */
	{
		door_info_t di;
		int fd;
		door_revoke(fds[NDOORS - 1]);
		fd = door_create(echo_proc, NULL, 0);
		CHECK(fd >= 0);
		CHECK(door_info(fd, &di) == 0);
		for (i = 0; i < NDOORS; i++)
			if (di.di_uniquifier == ids[i])
				dups++;
		CHECK_EQ(dups, 0);
		door_revoke(fd);
	}
	for (i = 0; i < NDOORS - 1; i++)
		if (fds[i] >= 0)
			door_revoke(fds[i]);
}

static void
test_emfile(void)
{
	struct rlimit old, rl;
	int fds0, *fillers, nfill = 0, fd, i, max;

	/* Make sure the library's lazy state exists before counting. */
	fd = door_create(echo_proc, NULL, 0);
	REQUIRE(fd >= 0);
	CHECK_EQ(call_echo(fd, "warm"), 0);
	door_revoke(fd);

	fds0 = count_fds_stable();
	REQUIRE(getrlimit(RLIMIT_NOFILE, &old) == 0);
	rl = old;
	rl.rlim_cur = (rlim_t)(fds0 + 64);
	REQUIRE(rl.rlim_cur <= old.rlim_max);
	REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);

	max = (int)rl.rlim_cur;
	fillers = calloc((size_t)max, sizeof (int));
	REQUIRE(fillers != NULL);
	for (;;) {
		int d = open("/dev/null", O_RDONLY);
		if (d < 0) {
			CHECK_EQ(errno, EMFILE);
			break;
		}
		fillers[nfill++] = d;
	}
	expect_errno(door_create(echo_proc, NULL, 0), EMFILE);
	expect_errno(door_create(echo_proc, NULL, DOOR_UNREF), EMFILE);
	expect_errno(door_create(echo_proc, NULL, DOOR_PRIVATE), EMFILE);

	/* Free some room: door_create works again and the door serves. */
	for (i = 0; i < 16 && nfill > 0; i++)
		close(fillers[--nfill]);
	fd = door_create(echo_proc, NULL, 0);
	if (ERROR_IF(door_create, fd, fd < 0) == 0) {
		CHECK_EQ(call_echo(fd, "after EMFILE"), 0);
		door_revoke(fd);
	}
	while (nfill > 0)
		close(fillers[--nfill]);
	free(fillers);
	CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
	CHECK_EQ(count_fds_settled(fds0), fds0);
}

/* Creating and revoking many doors leaves the descriptor count as it was. */
static void
test_no_leak(void)
{
	int fd, i, fds0;

	fd = door_create(echo_proc, NULL, 0);
	REQUIRE(fd >= 0);
	door_revoke(fd);
	fds0 = count_fds_stable();
	for (i = 0; i < 200; i++) {
		fd = door_create(echo_proc, NULL, i % 2 ? DOOR_UNREF : 0);
		if (!CHECK(fd >= 0))
			break;
		if (i % 50 == 0)
			CHECK_EQ(call_echo(fd, "x"), 0);
		CHECK_EQ(door_revoke(fd), 0);
	}
	CHECK_EQ(count_fds_settled(fds0), fds0);
}

int
main(void)
{
	RUN(test_invalid_bits);
	RUN(test_unref_both);
	RUN(test_xcreate_only_bits);
	RUN(test_valid_attributes);
	RUN(test_cloexec);
	RUN(test_uniquifier);
	RUN(test_emfile);
	RUN(test_no_leak);
	return (harness_done());
}
