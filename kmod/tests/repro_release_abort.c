/*
 * repro_release_abort.c - a known bug of the module, not run by the guest
 * (guest.sh builds only t_*.c and doorfuzz.c): rename it t_*.c to run it.
 *
 * A client gives up on a call (caught signal: EINTR; or SIGKILL) while the
 * procedure runs; the procedure then returns a pipe's write end with
 * DOOR_RELEASE.  The server's descriptor is closed, but the pipe never
 * sees EOF: the write end stays referenced somewhere in the module, with
 * no call or suspended call left (debugfs counters 0), with or without a
 * cancellation signal.  Seen in all four cases below (poll times out).
 * libdoor's compat test t_abort skips the two cases that show it under
 * the kernel backend (compat-tests/KNOWN_DIFFERENCES.md).
 */
#include "doorio.h"
#include "harness.h"
#include <poll.h>

static sem_t *entered, *release;
static int relfd = -1;
static volatile int cancel_mode;

static void
hold(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	static struct door_uapi_desc d;
	(void)inv; (void)area;
	sem_post(entered);
	while (sem_wait(release) != 0)
		;
	memset(&d, 0, sizeof (d));
	d.attributes = DOOR_UAPI_DESCRIPTOR | DOOR_UAPI_RELEASE;
	d.descriptor = relfd;
	r->data = "results!";
	r->size = 9;
	r->desc = &d;
	r->ndesc = 1;
}

static volatile int got;
static void onusr1(int s) { (void)s; got++; }

static void
one(int kill_it, int cancel_sig)
{
	struct kd_server s;
	int fd, rel[2], i;
	pid_t pid;
	struct pollfd p;
	char c;

	if (cancel_sig) {
		struct door_uapi_config cfg = { .cancel_signal = cancel_sig };
		signal(cancel_sig, onusr1);
		CHECK_EQ(ioctl(kd_open(), DOOR_IOC_CONFIG, &cfg), 0);
	}
	fd = kd_create(0, 0, 0);
	REQUIRE(fd >= 0);
	REQUIRE(kd_server_start(&s, hold, 1, -1) == 0);
	pid = fork();
	if (pid == 0) {
		char rb[64];
		struct door_uapi_call out;
		signal(SIGUSR1, onusr1);
		int r = kd_call(fd, "x", 1, NULL, 0, rb, sizeof (rb), &out);
		printf("client: call %d errno %d\n", r, errno);
		fflush(stdout);
		sleep(kill_it ? 100 : 8);
		_exit(0);
	}
	CHECK(sem_wait(entered) == 0);
	usleep(100000);
	if (kill_it) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	} else {
		for (i = 0; i < 10; i++) { kill(pid, SIGUSR1); usleep(50000); }
	}
	REQUIRE(pipe(rel) == 0);
	relfd = rel[1];
	sem_post(release);
	p.fd = rel[0]; p.events = POLLIN;
	i = poll(&p, 1, 5000);
	printf("kill_it %d cancel %d: poll %d read %zd suspended %d calls %d\n", kill_it, cancel_sig, i,
	    i == 1 ? read(rel[0], &c, 1) : (ssize_t)-9, kd_stat("suspended"), kd_stat("calls"));
	fflush(stdout);
	CHECK_EQ(i, 1);
	if (!kill_it) { kill(pid, SIGKILL); waitpid(pid, NULL, 0); }
	kd_server_stop(&s);
	close(rel[0]);
	close(fd);
}

static void t1(void) { one(0, 0); }
static void t2(void) { one(1, 0); }
static void t3(void) { one(0, 63); }
static void t4(void) { one(1, 63); }

int
main(void)
{
	entered = mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0);
	release = entered + 1;
	sem_init(entered, 1, 0);
	sem_init(release, 1, 0);
	RUN(t1); RUN(t2); RUN(t3); RUN(t4);
	return (harness_done());
}
