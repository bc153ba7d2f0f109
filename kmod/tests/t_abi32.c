/*
 * t_abi32.c - 32-bit callers (-m32, through the kernel's compat ioctl path)
 * and 64-bit servers, and the other way round, see the same structures.
 *
 * Built twice by guest.sh when the compiler can make 32-bit programs: as
 * t_abi32 (64-bit: the test) and as abi32-peer (32-bit: the other side,
 * run by the test with the door descriptor as its argument).  Without the
 * 32-bit build the test says so and checks nothing.
 *
 *   abi32-peer call FD     calls the door FD (echo of 16 bytes, a pipe
 *                          end passed both ways, a 100 KB reply in a new
 *                          mapping, credentials); exits 0 if all held
 *   abi32-peer serve FD    serves: creates a door, sends it back over the
 *                          socket FD, echoes until killed
 */
#include "doorio.h"
#include "harness.h"
#include <sys/socket.h>
#include <sys/wait.h>

#ifndef PEER
#define PEER "/payload/tests/abi32-peer"
#endif

static char big[100000];

/* Echo, and for a call with one descriptor, the descriptor back. */
static void
echo_back(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	static struct door_uapi_desc d;
	const struct door_uapi_desc *in = (const void *)(uintptr_t)inv->desc_ptr;

	(void) area;
	if (inv->data_size == 3 && memcmp((const void *)(uintptr_t)inv->data_ptr, "big", 3) == 0) {
		r->data = big;
		r->size = sizeof (big);
		return;
	}
	r->data = (const void *)(uintptr_t)inv->data_ptr;
	r->size = inv->data_size;
	if (inv->desc_num == 1)
		kd_reply_released(r, &d, in[0].descriptor);
}

/* The calling side: every check, whatever this program's word size. */
static int
caller(int fd)
{
	struct door_uapi_call out;
	struct door_uapi_desc d, rd;
	char rb[256];
	int p[2], ok = 1;
	char c = 0;

	/* 16 bytes, echoed in place */
	ok &= kd_call(fd, "0123456789abcdef", 16, NULL, 0, rb, sizeof (rb), &out) == 0;
	ok &= out.data_size == 16 && memcmp(rb, "0123456789abcdef", 16) == 0;
	ok &= !(out.flags & DOOR_CALL_MAPPED) && out.desc_num == 0;
	/* a descriptor there and back: the write end of a pipe */
	if (pipe(p) != 0)
		return 0;
	memset(&d, 0, sizeof (d));
	d.attributes = DOOR_UAPI_DESCRIPTOR | DOOR_UAPI_RELEASE;
	d.descriptor = p[1];
	ok &= kd_call(fd, "x", 1, &d, 1, rb, sizeof (rb), &out) == 0;
	ok &= out.desc_num == 1 && out.data_size == 1;
	if (out.desc_num == 1) {
		memcpy(&rd, rb + 24, sizeof (rd));
		ok &= (rd.attributes & DOOR_UAPI_DESCRIPTOR) != 0;
		ok &= write(rd.descriptor, "y", 1) == 1 && read(p[0], &c, 1) == 1 && c == 'y';
		close(rd.descriptor);
	}
	close(p[0]);
	/* 100 KB: a new mapping, at an address this program can hold */
	ok &= kd_call(fd, "big", 3, NULL, 0, rb, sizeof (rb), &out) == 0;
	ok &= (out.flags & DOOR_CALL_MAPPED) && out.data_size == sizeof (big);
	if (out.flags & DOOR_CALL_MAPPED) {
		const char *m = (const char *)(uintptr_t)out.rbuf;

		ok &= (uint64_t)(uintptr_t)m == out.rbuf;
		ok &= m[0] == 'B' && m[sizeof (big) - 1] == 'E';
		munmap((void *)m, (size_t)out.rsize);
	}
	return ok;
}

static int
peer_main(char **argv)
{
	int fd = atoi(argv[2]);

	big[0] = 'B';
	big[sizeof (big) - 1] = 'E';
	if (strcmp(argv[1], "call") == 0)
		return caller(fd) ? 0 : 1;
	if (strcmp(argv[1], "serve") == 0) {
		struct kd_server s;
		int door = kd_create(0, 0, 0);

		if (door < 0 || kd_server_start(&s, echo_back, 2, -1) != 0)
			return 2;
		if (send_fd(fd, door) != 0)
			return 3;
		for (;;)
			pause();
	}
	return 2;
}

static int
have_peer(void)
{
	if (access(PEER, X_OK) == 0)
		return 1;
	printf("  note: no %s (no 32-bit compiler where the guest was built): skipped\n", PEER);
	return 0;
}

/* A 32-bit client of a 64-bit server. */
static void
client32_server64(void)
{
	struct kd_server s;
	char arg[16];
	int door, st;
	pid_t pid;

	if (!have_peer())
		return;
	door = kd_create(0, 0, 0);
	REQUIRE(door >= 0);
	REQUIRE(fcntl(door, F_SETFD, 0) == 0); /* inherited by the peer */
	REQUIRE(kd_server_start(&s, echo_back, 2, -1) == 0);
	(void) snprintf(arg, sizeof (arg), "%d", door);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		execl(PEER, PEER, "call", arg, (char *)NULL);
		_exit(127);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	kd_server_stop(&s);
	close(door);
}

/* A 64-bit client of a 32-bit server. */
static void
client64_server32(void)
{
	char arg[16];
	int sv[2], door = -1, st;
	pid_t pid;

	if (!have_peer())
		return;
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	(void) snprintf(arg, sizeof (arg), "%d", sv[1]);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		execl(PEER, PEER, "serve", arg, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	door = recv_fd(sv[0]);
	if (CHECK(door >= 0))
		CHECK(caller(door));
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(sv[0]);
	if (door >= 0)
		close(door);
}

int
main(int argc, char **argv)
{
	if (argc == 3)
		return peer_main(argv);
	big[0] = 'B';
	big[sizeof (big) - 1] = 'E';
	RUN(client32_server64);
	RUN(client64_server32);
	return (harness_done());
}
