/*
 * doorio.h - a tiny C wrapper over the /dev/door ioctls for the guest tests.
 *
 * kd_* functions return what ioctl(2) returns (-1 and errno on failure).
 * A "server" is a set of threads looping in DOOR_IOC_RETURN; each
 * invocation runs the procedure given to kd_server_start(), which fills a
 * kd_reply (data and descriptors to send back).
 */
#ifndef KMOD_DOORIO_H
#define KMOD_DOORIO_H


#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/libdoor.h>

#define KD_AREA (256 * 1024) /* each server thread's invocation area */

static int kd_ctl = -1;

static __attribute__((unused)) int
kd_open(void)
{
	if (kd_ctl < 0)
		kd_ctl = open(DOOR_UAPI_DEVICE, O_RDWR | O_CLOEXEC);
	return kd_ctl;
}

static __attribute__((unused)) int
kd_create(uint64_t pc, uint64_t cookie, uint32_t attrs)
{
	struct door_uapi_create c;

	memset(&c, 0, sizeof (c));
	c.pc = pc;
	c.cookie = cookie;
	c.attributes = attrs;
	if (ioctl(kd_open(), DOOR_IOC_CREATE, &c) < 0)
		return -1;
	return c.fd;
}

static __attribute__((unused)) int
kd_info(int fd, struct door_uapi_info *info)
{
	memset(info, 0, sizeof (*info));
	info->fd = fd;
	return ioctl(kd_open(), DOOR_IOC_INFO, info);
}

static __attribute__((unused)) int
kd_revoke(int fd)
{
	struct door_uapi_fd f = { .fd = fd };

	return ioctl(kd_open(), DOOR_IOC_REVOKE, &f);
}

static __attribute__((unused)) int
kd_bind(int fd)
{
	struct door_uapi_fd f = { .fd = fd };

	return ioctl(kd_open(), DOOR_IOC_BIND, &f);
}

static __attribute__((unused)) int
kd_unbind(void)
{
	return ioctl(kd_open(), DOOR_IOC_UNBIND);
}

static __attribute__((unused)) int
kd_getparam(int fd, uint32_t param, uint64_t *out)
{
	struct door_uapi_param p = { .fd = fd, .param = param };

	if (ioctl(kd_open(), DOOR_IOC_GETPARAM, &p) < 0)
		return -1;
	*out = p.value;
	return 0;
}

static __attribute__((unused)) int
kd_setparam(int fd, uint32_t param, uint64_t v)
{
	struct door_uapi_param p = { .fd = fd, .param = param, .value = v };

	return ioctl(kd_open(), DOOR_IOC_SETPARAM, &p);
}

static __attribute__((unused)) int
kd_ucred(struct door_uapi_ucred *u, uint32_t *groups, uint32_t cap)
{
	memset(u, 0, sizeof (*u));
	u->groups_ptr = (uintptr_t)groups;
	u->groups_cap = cap;
	return ioctl(kd_open(), DOOR_IOC_UCRED, u);
}

/* A call: args in, results in rbuf (or a new mapping: flags & MAPPED). */
static __attribute__((unused)) int
kd_call(int fd, const void *data, uint64_t size, struct door_uapi_desc *desc,
    uint32_t ndesc, void *rbuf, uint64_t rsize, struct door_uapi_call *out)
{
	struct door_uapi_call c;
	int r;

	memset(&c, 0, sizeof (c));
	c.fd = fd;
	c.data_ptr = (uintptr_t)data;
	c.data_size = size;
	c.desc_ptr = (uintptr_t)desc;
	c.desc_num = ndesc;
	c.rbuf = (uintptr_t)rbuf;
	c.rsize = rsize;
	r = ioctl(kd_open(), DOOR_IOC_CALL, &c);
	if (out != NULL)
		*out = c;
	return r;
}

/* ---- servers ------------------------------------------------------------ */

struct kd_reply {
	const void *data;
	uint64_t size;
	struct door_uapi_desc *desc;
	uint32_t ndesc;
	int exit_thread; /* leave the loop (THREAD_EXIT) instead of returning */
};

typedef void kd_proc_t(const struct door_uapi_invocation *inv, char *area,
    struct kd_reply *r);

struct kd_server {
	kd_proc_t *proc;
	int bind_fd; /* >= 0: bind the threads to this (private) door */
	int nthreads;
	volatile int stop; /* threads leave at their next wake-up */
	volatile int started;
	volatile int parked_errno; /* last unexpected RETURN error */
	volatile int reply_emfile; /* replies the client had no room for */
	pthread_t tid[16];
};

static void *
kd_server_thread(void *arg)
{
	struct kd_server *s = arg;
	struct door_uapi_return ur;
	char *area = malloc(KD_AREA);
	struct kd_reply r;

	if (s->bind_fd >= 0)
		(void) kd_bind(s->bind_fd);
	memset(&ur, 0, sizeof (ur));
	ur.area_ptr = (uintptr_t)area;
	ur.area_size = KD_AREA;
	__atomic_fetch_add(&s->started, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		if (ioctl(kd_open(), DOOR_IOC_RETURN, &ur) < 0) {
			if ((errno == EINTR || errno == EMFILE) && !s->stop) {
				/* EINTR: the reply (if any) went out; EMFILE:
				 * the client had no room for its descriptors
				 * (they stay ours).  Park again. */
				if (errno == EMFILE)
					__atomic_fetch_add(&s->reply_emfile, 1, __ATOMIC_SEQ_CST);
				ur.data_ptr = ur.desc_ptr = 0;
				ur.data_size = 0;
				ur.desc_num = 0;
				continue;
			}
			if (errno != EINTR)
				s->parked_errno = errno;
			break;
		}
		if (s->stop)
			break;
		memset(&r, 0, sizeof (r));
		s->proc(&ur.inv, area, &r);
		if (r.exit_thread)
			break;
		ur.data_ptr = (uintptr_t)r.data;
		ur.data_size = r.size;
		ur.desc_ptr = (uintptr_t)r.desc;
		ur.desc_num = r.ndesc;
	}
	(void) ioctl(kd_open(), DOOR_IOC_THREAD_EXIT);
	free(area);
	return (NULL);
}

static void kd_nop_handler(int sig) { (void) sig; }

/* Start n threads and wait until they are all parked (bounded). */
static __attribute__((unused)) int
kd_server_start(struct kd_server *s, kd_proc_t *proc, int n, int bind_fd)
{
	int i;

	memset(s, 0, sizeof (*s));
	s->proc = proc;
	s->nthreads = n;
	s->bind_fd = bind_fd;
	signal(SIGUSR2, kd_nop_handler);
	for (i = 0; i < n; i++)
		if (pthread_create(&s->tid[i], NULL, kd_server_thread, s) != 0)
			return -1;
	for (i = 0; i < 2000 && s->started < n; i++)
		usleep(1000);
	usleep(20000); /* let the last ones reach the kernel and park */
	return 0;
}

/* Stop: every thread is woken with SIGUSR2 (no-op handler) and leaves. */
static __attribute__((unused)) void
kd_server_stop(struct kd_server *s)
{
	int i;

	s->stop = 1;
	for (i = 0; i < s->nthreads; i++) {
		while (pthread_tryjoin_np(s->tid[i], NULL) != 0) {
			pthread_kill(s->tid[i], SIGUSR2);
			usleep(2000);
		}
	}
}

/* Adds to reply r the one descriptor fd, handed over with DOOR_RELEASE
 * (closed here once the client has it); d holds its record and must
 * outlive the reply (static). */
static __attribute__((unused)) void
kd_reply_released(struct kd_reply *r, struct door_uapi_desc *d, int fd)
{
	memset(d, 0, sizeof (*d));
	d->attributes = DOOR_UAPI_DESCRIPTOR | DOOR_UAPI_RELEASE;
	d->descriptor = fd;
	r->desc = d;
	r->ndesc = 1;
}

/* An echo procedure: returns the argument bytes. */
static __attribute__((unused)) void
kd_echo(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	(void) area;
	r->data = (const void *)(uintptr_t)inv->data_ptr;
	r->size = inv->data_size;
}

/* How many door objects of each kind the module holds (debugfs). */
static __attribute__((unused)) int
kd_stat(const char *name)
{
	char line[128], key[64];
	int v, found = -1;
	FILE *f = fopen("/sys/kernel/debug/door/stats", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof (line), f) != NULL)
		if (sscanf(line, "%63s %d", key, &v) == 2 && strcmp(key, name) == 0)
			found = v;
	fclose(f);
	return found;
}

#endif /* KMOD_DOORIO_H */
