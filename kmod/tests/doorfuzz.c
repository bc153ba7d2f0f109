/*
 * doorfuzz - a seeded, stateful fuzzer for /dev/door, run in the test
 * guest (whose kernel panics on any warning or oops).
 *
 *   doorfuzz SEED SECONDS
 *
 * NPROC worker processes each run NTHR client threads and NSRV server
 * threads for SECONDS.  Client threads pick random operations over a
 * table of descriptors (their own doors, doors received from other
 * workers, pipes, /dev/null, the control descriptor, closed numbers):
 * every ioctl with random fields, sizes and pointers (NULL, unmapped,
 * PROT_NONE, read-only, kernel addresses), descriptor arrays with random
 * tags and DOOR_RELEASE, wrong ioctl numbers, close/dup/dup2, fork
 * children that call and exit, signals.  Server threads reply with random
 * data, descriptors and areas, and sometimes leave.  The parent kills a
 * random worker with SIGKILL now and then and starts a new one.
 *
 * Oracle: every ioctl returns 0 or an errno from the module's documented
 * set; anything else is counted as a failure.  A hung worker shows up as
 * the guest's timeout; a kernel bug as a panic; leaks in the module's
 * counters are checked by the guest's init after this program exits.
 * Prints "doorfuzz: ..." counts and "N passed, N failed".
 */
#include "doorio.h"
#include <dirent.h>
#include <sys/prctl.h>

#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define NPROC 3
#define NTHR 3
#define NSRV 2
#define NH 24 /* descriptor table slots per process */
#define BUF (1 << 20)

struct counts {
	unsigned long ops, ok, errs, bad, calls_ok, forks, kills, signals;
	unsigned long by_errno[134];
};

static struct counts *shared; /* one per worker slot, in shared memory */
static unsigned long seed;
static int slot;
static int mbox[NPROC][2]; /* [i][0]: worker i receives; [i][1]: send to it */
static volatile int handles[NH];
static char *ro_page, *none_page, *unmapped, *edge;
static volatile int stopping;

static unsigned long
rnd(unsigned long *s)
{
	unsigned long x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

#define PICK(s, arr) ((arr)[rnd(s) % (sizeof (arr) / sizeof ((arr)[0]))])

/* Half the operations are well formed, so that calls get through and
 * the deeper paths (delivery, replies, descriptors, unref) are reached. */
static __thread int sane;

static void *
rptr(unsigned long *s, void *good)
{
	if (sane)
		return good;
	switch (rnd(s) % 10) {
	case 0:
		return NULL;
	case 1:
		return unmapped;
	case 2:
		return none_page;
	case 3:
		return ro_page;
	case 4:
		return (void *)0xffffffff81000000UL;
	case 5:
		/* 3 bytes before a PROT_NONE page: an object placed here
		 * crosses into it (never past a real object of ours, which
		 * the module would then rightly write over) */
		return edge + 4093;
	default:
		return good;
	}
}

static uint64_t
rsize(unsigned long *s)
{
	static const uint64_t sz[] = { 0, 0, 1, 8, 24, 255, 256, 257, 4095, 4096,
		4097, 16383, 16384, 16385, 65536, BUF, 1ULL << 32, 1ULL << 63,
		~0ULL };

	if (sane)
		return rnd(s) % 300;
	return PICK(s, sz);
}

static int
rfd(unsigned long *s)
{
	if (sane && rnd(s) % 2)
		return handles[rnd(s) % 4]; /* the first doors made */
	switch (rnd(s) % 8) {
	case 0:
		return (int)(rnd(s) % 64) - 2;
	case 1:
		return kd_ctl;
	default:
		return handles[rnd(s) % NH];
	}
}

/* The errnos the module may return; anything else is a finding. */
static int
expected(int e)
{
	switch (e) {
	case EBADF: case EINVAL: case EFAULT: case E2BIG: case ENOBUFS:
	case EOPNOTSUPP: case ENFILE: case EAGAIN: case EINTR: case EMFILE:
	case EPERM: case ERANGE: case EOVERFLOW: case ENOTTY: case ENOMEM:
		return 1;
	default:
		return 0;
	}
}

static void
account(int r, const char *what)
{
	struct counts *c = &shared[slot];

	__atomic_fetch_add(&c->ops, 1, __ATOMIC_RELAXED);
	if (r == 0) {
		__atomic_fetch_add(&c->ok, 1, __ATOMIC_RELAXED);
	} else if (expected(errno)) {
		__atomic_fetch_add(&c->errs, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&c->by_errno[errno], 1, __ATOMIC_RELAXED);
	} else {
		__atomic_fetch_add(&c->bad, 1, __ATOMIC_RELAXED);
		printf("doorfuzz: seed %lu worker %d: %s returned %d errno %d (%s)\n",
		    seed, slot, what, r, errno, strerror(errno));
		fflush(stdout);
	}
}

static void
fill_desc(unsigned long *s, struct door_uapi_desc *d, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		memset(&d[i], 0, sizeof (d[i]));
		d[i].attributes = (!sane && rnd(s) % 8 == 0) ? (uint32_t)rnd(s) :
		    DOOR_UAPI_DESCRIPTOR | ((rnd(s) % 4 == 0) ? DOOR_UAPI_RELEASE : 0);
		d[i].descriptor = rfd(s);
		/* the control descriptor and stdio are not to be released */
		if (d[i].descriptor == kd_ctl || d[i].descriptor <= 2)
			d[i].attributes &= ~DOOR_UAPI_RELEASE;
	}
}

/* ---- server threads ---------------------------------------------------- */

static void *
server(void *arg)
{
	unsigned long s = seed ^ (unsigned long)(uintptr_t)arg ^ (unsigned long)syscall(SYS_gettid);
	static __thread struct door_uapi_desc d[4];
	struct door_uapi_return ur;
	char *area = malloc(65536), *reply = malloc(65536);
	int r;

	memset(reply, 'r', 65536);
	memset(&ur, 0, sizeof (ur));
	while (!stopping) {
		uint64_t as = PICK(&s, ((uint64_t[]){ 0, 16, 4096, 65536, 65536 }));

		sane = rnd(&s) % 4 != 0;
		if (sane)
			as = 65536;

		ur.area_ptr = (uintptr_t)rptr(&s, area);
		ur.area_size = as;
		if (rnd(&s) % 16 == 0)
			ur.area_ptr = (uintptr_t)area;
		r = ioctl(kd_ctl, DOOR_IOC_RETURN, &ur);
		account(r, "RETURN");
		if (r == 0 && (ur.inv.flags & DOOR_INV_UNREF) == 0) {
			uint32_t i;

			/* close what we received (most of the time) */
			for (i = 0; i < ur.inv.desc_num && i < 1024; i++) {
				struct door_uapi_desc *rd = (void *)(uintptr_t)
				    (ur.inv.desc_ptr + i * sizeof (*rd));

				if (rnd(&s) % 4)
					close(rd->descriptor);
				else
					handles[rnd(&s) % NH] = rd->descriptor;
			}
		}
		if (rnd(&s) % 50 == 0) {
			struct door_uapi_ucred u;

			account(ioctl(kd_ctl, DOOR_IOC_UCRED,
			    rptr(&s, &u)), "UCRED");
		}
		if (rnd(&s) % 200 == 0) {
			/* leave mid-call (as a thread that exits would) and
			 * come back as a fresh server thread */
			account(ioctl(kd_ctl, DOOR_IOC_THREAD_EXIT), "THREAD_EXIT");
			memset(&ur, 0, sizeof (ur));
			continue;
		}
		ur.data_ptr = (uintptr_t)rptr(&s, reply);
		sane = rnd(&s) % 4 != 0;
		ur.data_size = rnd(&s) % 3 ? rnd(&s) % 300 : rsize(&s) % 70000;
		ur.desc_num = rnd(&s) % 6 == 0 ? (uint32_t)(rnd(&s) % 5) : 0;
		if (sane && ur.desc_num > 4)
			ur.desc_num = 4;
		fill_desc(&s, d, 4);
		ur.desc_ptr = (uintptr_t)rptr(&s, d);
		ur.flags = !sane && rnd(&s) % 20 == 0 ? (uint32_t)rnd(&s) :
		    (rnd(&s) % 2) * DOOR_RETURN_RECV_CLOEXEC;
	}
	(void) ioctl(kd_ctl, DOOR_IOC_THREAD_EXIT);
	free(area);
	free(reply);
	return (NULL);
}

/* ---- client threads ---------------------------------------------------- */

static void on_usr1(int sig);

static void
op_call(unsigned long *s, char *buf)
{
	struct door_uapi_desc d[8];
	static __thread struct door_uapi_desc many[1025];
	struct door_uapi_call c, *cp = &c;
	int r, n = (int)(rnd(s) % 4);

	if (sane && rnd(s) % 2)
		n = 0;
	memset(&c, 0, sizeof (c));
	c.fd = rfd(s);
	c.data_ptr = (uintptr_t)rptr(s, buf);
	c.data_size = rnd(s) % 2 ? rnd(s) % 512 : rsize(s);
	fill_desc(s, d, 8);
	c.desc_ptr = (uintptr_t)rptr(s, d);
	c.desc_num = n;
	if (!sane && rnd(s) % 30 == 0) {
		fill_desc(s, many, 1025);
		c.desc_ptr = (uintptr_t)many;
		c.desc_num = rnd(s) % 2 ? 1025 : 1024;
	}
	c.rbuf = (uintptr_t)rptr(s, buf);
	c.rsize = rnd(s) % 2 ? 4096 : rsize(s);
	c.flags = !sane && rnd(s) % 20 == 0 ? (uint32_t)rnd(s) :
	    (uint32_t)(rnd(s) % 4);
	if (sane)
		c.flags &= ~DOOR_CALL_NO_RESULTS;
	if (!sane && rnd(s) % 40 == 0)
		cp = rptr(s, &c);
	r = ioctl(kd_ctl, DOOR_IOC_CALL, cp);
	account(r, "CALL");
	if (r == 0 && cp == &c) {
		uint32_t i;
		char *base = (char *)(uintptr_t)c.rbuf;

		__atomic_fetch_add(&shared[slot].calls_ok, 1, __ATOMIC_RELAXED);
		for (i = 0; i < c.desc_num; i++) {
			struct door_uapi_desc rd;
			uint64_t off = ((c.data_size + 23) / 24) * 24 + i * 24;

			memcpy(&rd, base + off, sizeof (rd));
			if (rnd(s) % 3)
				close(rd.descriptor);
			else
				handles[rnd(s) % NH] = rd.descriptor;
		}
		if (c.flags & DOOR_CALL_MAPPED)
			munmap(base, c.rsize);
	}
}

static void
one_op(unsigned long *s, char *buf)
{
	int r, fd;

	switch (rnd(s) % 20) {
	case 0:
	case 1: {
		struct door_uapi_create c;

		memset(&c, 0, sizeof (c));
		c.attributes = rnd(s) % 8 == 0 ? (uint32_t)rnd(s) :
		    (uint32_t)(rnd(s) & DOOR_UAPI_CREATE_MASK);
		c.cookie = rnd(s);
		r = ioctl(kd_ctl, DOOR_IOC_CREATE, rnd(s) % 30 ? (void *)&c :
		    rptr(s, &c));
		account(r, "CREATE");
		if (r == 0) {
			int slotn = (int)(rnd(s) % NH);
			int old = handles[slotn];

			handles[slotn] = c.fd;
			if (old > 2 && old != kd_ctl && rnd(s) % 2)
				close(old);
		}
		break;
	}
	case 2:
	case 3:
	case 4:
	case 5:
	case 6:
		op_call(s, buf);
		break;
	case 7: {
		struct door_uapi_info di;

		memset(&di, 0, sizeof (di));
		di.fd = rnd(s) % 8 ? rfd(s) : DOOR_UAPI_QUERY;
		account(ioctl(kd_ctl, DOOR_IOC_INFO, rptr(s, &di)), "INFO");
		break;
	}
	case 8: {
		struct door_uapi_fd f = { .fd = rfd(s) };

		if (rnd(s) % 4 == 0) {
			fd = dup(f.fd);
			if (fd < 0)
				break;
			f.fd = fd;
		}
		account(ioctl(kd_ctl, DOOR_IOC_REVOKE, &f), "REVOKE");
		break;
	}
	case 9: {
		struct door_uapi_param p;

		p.fd = rfd(s);
		p.param = (uint32_t)(rnd(s) % 5);
		p.value = rsize(s);
		account(ioctl(kd_ctl, rnd(s) % 2 ? DOOR_IOC_GETPARAM :
		    DOOR_IOC_SETPARAM, rptr(s, &p)), "PARAM");
		break;
	}
	case 10: {
		struct door_uapi_fd f = { .fd = rfd(s) };

		switch (rnd(s) % 3) {
		case 0:
			account(ioctl(kd_ctl, DOOR_IOC_BIND, &f), "BIND");
			break;
		case 1:
			account(ioctl(kd_ctl, DOOR_IOC_UNBIND), "UNBIND");
			break;
		default:
			/* an opener's file, kept (a random slot) or closed */
			f.flags = rnd(s) % 8 ? (uint32_t)(rnd(s) % 2) : (uint32_t)rnd(s);
			r = ioctl(kd_ctl, DOOR_IOC_OPEN, rptr(s, &f));
			account(r < 0 ? r : 0, "OPEN");
			if (r >= 0) {
				if (rnd(s) % 2)
					handles[rnd(s) % NH] = r;
				else
					close(r);
			}
			break;
		}
		break;
	}
	case 11: {
		/* neighbouring and mis-sized ioctl numbers */
		unsigned long nr = rnd(s) % 0x20;
		unsigned long req = _IOC(rnd(s) % 4, DOOR_IOC_MAGIC, nr,
		    rnd(s) % 256);

		r = ioctl(kd_ctl, req, rptr(s, buf));
		if (r < 0 && errno == ENOTTY)
			account(-1, "IOCTL?");
		else
			account(r, "IOCTL?");
		break;
	}
	case 12: {
		int i = (int)(rnd(s) % NH);

		switch (rnd(s) % 4) {
		case 0:
			if (handles[i] > 2 && handles[i] != kd_ctl)
				close(handles[i]);
			break;
		case 1:
			fd = dup(rfd(s));
			if (fd >= 0)
				handles[i] = fd;
			break;
		case 2: {
			int to = handles[i];

			if (to > 2 && to != kd_ctl)
				(void) dup2(rfd(s), to);
			break;
		}
		default:
			fd = open("/dev/null", O_RDONLY);
			if (fd >= 0)
				handles[i] = fd;
		}
		break;
	}
	case 13: {
		/* pass a descriptor to another worker; take what came in */
		int to = (int)(rnd(s) % NPROC);
		int got[4];
		char b = 'x';
		struct iovec iov = { &b, 1 };
		union {
			struct cmsghdr h;
			char c[CMSG_SPACE(4 * sizeof (int))];
		} u;
		struct msghdr m;

		fd = rfd(s);
		if (fd >= 0 && fcntl(fd, F_GETFD) >= 0) {
			memset(&m, 0, sizeof (m));
			m.msg_iov = &iov;
			m.msg_iovlen = 1;
			m.msg_control = u.c;
			m.msg_controllen = CMSG_SPACE(sizeof (int));
			u.h.cmsg_level = SOL_SOCKET;
			u.h.cmsg_type = SCM_RIGHTS;
			u.h.cmsg_len = CMSG_LEN(sizeof (int));
			memcpy(CMSG_DATA(&u.h), &fd, sizeof (int));
			(void) sendmsg(mbox[to][1], &m, MSG_DONTWAIT);
		}
		memset(&m, 0, sizeof (m));
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = u.c;
		m.msg_controllen = sizeof (u.c);
		if (recvmsg(mbox[slot][0], &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) > 0 &&
		    CMSG_FIRSTHDR(&m) != NULL) {
			memcpy(got, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof (int));
			handles[rnd(s) % NH] = got[0];
		}
		break;
	}
	case 14: {
		/* a fork child makes a few calls and exits, or gets killed */
		pid_t pid = fork();

		if (pid == 0) {
			int i;

			/* one thread only here: a timer interrupts its waits */
			signal(SIGALRM, on_usr1);
			ualarm(30000, 30000);
			stopping = 1;
			for (i = 0; i < 5; i++)
				op_call(s, buf);
			_exit(0);
		}
		if (pid > 0) {
			__atomic_fetch_add(&shared[slot].forks, 1, __ATOMIC_RELAXED);
			if (rnd(s) % 3 == 0) {
				kill(pid, rnd(s) % 2 ? SIGKILL : SIGSTOP);
				kill(pid, SIGCONT);
				kill(pid, SIGKILL);
			}
			waitpid(pid, NULL, 0);
		}
		break;
	}
	case 15: {
		struct door_uapi_ucred u;
		uint32_t g[4];

		memset(&u, 0, sizeof (u));
		u.groups_ptr = (uintptr_t)rptr(s, g);
		u.groups_cap = (uint32_t)(rnd(s) % 8);
		account(ioctl(kd_ctl, DOOR_IOC_UCRED, rptr(s, &u)), "UCRED");
		break;
	}
	case 16: {
		struct door_uapi_config cfg = {
			.cancel_signal = rnd(s) % 4 ? (uint32_t)SIGUSR1 :
			    (uint32_t)(rnd(s) % 80),
		};

		account(ioctl(kd_ctl, DOOR_IOC_CONFIG, &cfg), "CONFIG");
		break;
	}
	case 17:
		account(ioctl(kd_ctl, DOOR_IOC_THREAD_EXIT), "THREAD_EXIT");
		break;
	default: {
		struct door_uapi_version v;

		account(ioctl(kd_ctl, DOOR_IOC_VERSION, rptr(s, &v)), "VERSION");
	}
	}
}

static void *
client(void *arg)
{
	unsigned long s = seed * 7919 + (unsigned long)(uintptr_t)arg * 104729 +
	    (unsigned long)getpid();
	char *buf = malloc(BUF);

	memset(buf, 'c', BUF);
	while (!stopping) {
		sane = rnd(&s) % 2;
		one_op(&s, buf);
	}
	free(buf);
	return (NULL);
}

static void
on_usr1(int sig)
{
	(void) sig;
}

/* Interrupt blocked calls now and then: nothing waits forever. */
static void *
poker(void *arg)
{
	pthread_t *th = arg;
	unsigned long s = seed ^ 0x5151;
	int i;

	while (!stopping) {
		usleep(5000 + (useconds_t)(rnd(&s) % 10000));
		for (i = 0; i < NTHR + NSRV; i++)
			if (rnd(&s) % 2)
				pthread_kill(th[i], SIGUSR1);
		__atomic_fetch_add(&shared[slot].signals, 1, __ATOMIC_RELAXED);
	}
	return (NULL);
}

static void
worker(int n)
{
	pthread_t th[NTHR + NSRV + 1];
	int i;

	slot = n;
	seed = seed * 31 + (unsigned long)n * 1000003 + (unsigned long)getpid();
	kd_ctl = -1;
	kd_open();
	signal(SIGUSR1, on_usr1);
	for (i = 0; i < NH; i++)
		handles[i] = -1;
	for (i = 0; i < 4; i++)
		handles[i] = kd_create(rnd(&seed), (unsigned long)i,
		    (uint32_t)(rnd(&seed) & (DOOR_UAPI_UNREF_MULTI |
		    DOOR_UAPI_NO_CANCEL)));
	handles[4] = open("/dev/null", O_RDWR);
	{
		int p[2];

		if (pipe(p) == 0) {
			handles[5] = p[0];
			handles[6] = p[1];
		}
	}
	for (i = 0; i < NSRV; i++)
		pthread_create(&th[NTHR + i], NULL, server, (void *)(uintptr_t)i);
	for (i = 0; i < NTHR; i++)
		pthread_create(&th[i], NULL, client, (void *)(uintptr_t)i);
	pthread_create(&th[NTHR + NSRV], NULL, poker, th);
	for (;;)
		pause(); /* the parent ends us with SIGKILL */
}

static pid_t
spawn_worker(int n)
{
	pid_t pid = fork();

	if (pid == 0)
		worker(n);
	return pid;
}

/*
 * A worker killed between stopping and continuing a fork child of its own
 * leaves that child stopped for good, holding doors: this process is the
 * subreaper of everything it started (PR_SET_CHILD_SUBREAPER), so at the end
 * it kills and reaps whatever is left.
 */
static void
reap_descendants(void)
{
	char path[300], buf[512], *p;
	struct dirent *e;
	DIR *d;
	int again = 1, ppid, n, fd;

	while (again) {
		again = 0;
		d = opendir("/proc");
		if (d == NULL)
			break;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] < '1' || e->d_name[0] > '9')
				continue;
			(void) snprintf(path, sizeof (path), "/proc/%s/stat", e->d_name);
			fd = open(path, O_RDONLY);
			if (fd < 0)
				continue;
			n = (int)read(fd, buf, sizeof (buf) - 1);
			close(fd);
			if (n <= 0)
				continue;
			buf[n] = '\0';
			p = strrchr(buf, ')');
			if (p != NULL && sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == getpid()) {
				kill(atoi(e->d_name), SIGKILL);
				again = 1;
			}
		}
		closedir(d);
		while (waitpid(-1, NULL, again ? 0 : WNOHANG) > 0)
			;
	}
}

int
main(int argc, char **argv)
{
	pid_t pids[NPROC];
	unsigned long secs, ps;
	struct counts tot;
	time_t end;
	int i;
	struct rlimit rl = { 256, 256 };

	seed = argc > 1 ? strtoul(argv[1], NULL, 0) : 1;
	secs = argc > 2 ? strtoul(argv[2], NULL, 0) : 10;
	if (seed == 0)
		seed = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	(void) prctl(PR_SET_CHILD_SUBREAPER, 1);
	(void) setrlimit(RLIMIT_NOFILE, &rl);
	if (kd_open() < 0) {
		printf("doorfuzz: cannot open %s\n", DOOR_UAPI_DEVICE);
		return 1;
	}
	shared = mmap(NULL, sizeof (struct counts) * NPROC,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ro_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	none_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(unmapped, 4096);
	edge = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (edge == MAP_FAILED || mprotect(edge + 4096, 4096, PROT_NONE) != 0)
		return 1;
	memset(shared, 0, sizeof (struct counts) * NPROC);
	for (i = 0; i < NPROC; i++)
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, mbox[i]) != 0)
			return 1;
	close(kd_ctl);
	kd_ctl = -1;
	printf("doorfuzz: seed %lu, %lu s, %d processes x (%d clients + %d servers)\n",
	    seed, secs, NPROC, NTHR, NSRV);
	ps = seed;
	for (i = 0; i < NPROC; i++)
		pids[i] = spawn_worker(i);
	end = time(NULL) + (time_t)secs;
	while (time(NULL) < end) {
		usleep(300000);
		if (rnd(&ps) % 3 == 0) {
			/* stop and continue a worker, mid-whatever */
			i = (int)(rnd(&ps) % NPROC);
			kill(pids[i], SIGSTOP);
			usleep(1000);
			kill(pids[i], SIGCONT);
		}
		if (rnd(&ps) % 3 == 0) {
			/* kill -9 a worker in whatever state it is; replace it */
			i = (int)(rnd(&ps) % NPROC);
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
			shared[i].kills++;
			pids[i] = spawn_worker(i);
		}
	}
	for (i = 0; i < NPROC; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	reap_descendants();
	memset(&tot, 0, sizeof (tot));
	for (i = 0; i < NPROC; i++) {
		tot.ops += shared[i].ops;
		tot.ok += shared[i].ok;
		tot.errs += shared[i].errs;
		tot.bad += shared[i].bad;
		tot.calls_ok += shared[i].calls_ok;
		tot.forks += shared[i].forks;
		tot.kills += shared[i].kills;
		tot.signals += shared[i].signals;
	}
	printf("doorfuzz: %lu ioctls (%lu ok, %lu expected errors, %lu unexpected), "
	    "%lu calls completed, %lu forks, %lu worker kills, %lu signal rounds\n",
	    tot.ops, tot.ok, tot.errs, tot.bad, tot.calls_ok, tot.forks,
	    tot.kills, tot.signals);
	{
		int e;
		unsigned long n;

		printf("doorfuzz: errors:");
		for (e = 1; e < 134; e++) {
			for (n = 0, i = 0; i < NPROC; i++)
				n += shared[i].by_errno[e];
			if (n)
				printf(" %s %lu", strerrorname_np(e), n);
		}
		printf("\n");
	}
	printf("%d passed, %lu failed\n", tot.bad == 0 && tot.calls_ok > 0 ? 1 : 0,
	    tot.bad + (tot.calls_ok == 0));
	return tot.bad == 0 && tot.calls_ok > 0 ? 0 : 1;
}
