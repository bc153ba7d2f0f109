/*
 * t_cred - door_ucred: the credentials of each call are the calling
 * thread's at the moment of that call (a client that drops to uid 65534
 * between two calls on the same descriptor shows both), the pid is the
 * caller's, supplementary groups come along, and there is no caller
 * outside an invocation.
 */
#include "doorio.h"
#include "harness.h"

#include <grp.h>

struct seen {
	struct door_uapi_ucred u;
	uint32_t groups[8];
	int ret, err;
};

static struct seen *seen; /* shared with forked clients */

static void
record(const struct door_uapi_invocation *inv, char *area, struct kd_reply *r)
{
	(void) inv;
	(void) area;
	seen->ret = kd_ucred(&seen->u, seen->groups, 8);
	seen->err = errno;
	r->data = "ok";
	r->size = 2;
}

static struct kd_server srv;
static int door;

static void
per_call(void)
{
	pid_t pid = harness_fork();

	if (pid == 0) {
		gid_t g[2] = { 5, 6 };
		char res[4];

		CHECK_EQ(setgroups(2, g), 0);
		CHECK_EQ(kd_call(door, NULL, 0, NULL, 0, res, 4, NULL), 0);
		CHECK_EQ(seen->ret, 0);
		CHECK_EQ(seen->u.euid, 0);
		CHECK_EQ(seen->u.pid, getpid());
		CHECK_EQ(seen->u.ngroups, 2);
		CHECK_EQ(seen->groups[0], 5);
		CHECK_EQ(seen->groups[1], 6);
		CHECK_EQ(seen->u.flags, 0);
		/* drop to nobody: the next call on the same descriptor and the
		 * same control file says so */
		CHECK_EQ(setgroups(0, NULL), 0);
		CHECK_EQ(setresgid(65534, 65534, 65534), 0);
		CHECK_EQ(setresuid(65534, 65534, 0), 0);
		CHECK_EQ(kd_call(door, NULL, 0, NULL, 0, res, 4, NULL), 0);
		CHECK_EQ(seen->u.euid, 65534);
		CHECK_EQ(seen->u.ruid, 65534);
		CHECK_EQ(seen->u.suid, 0);
		CHECK_EQ(seen->u.egid, 65534);
		CHECK_EQ(seen->u.rgid, 65534);
		CHECK_EQ(seen->u.sgid, 65534);
		CHECK_EQ(seen->u.ngroups, 0);
		CHECK_EQ(seen->u.pid, getpid());
		harness_child_exit();
	}
	harness_wait_child(pid);
}

static void
thread_creds(void)
{
	/* a thread's own credentials count, not the process's first thread */
	pid_t pid = harness_fork();

	if (pid == 0) {
		char res[4];

		/* the raw system call changes only this thread */
		CHECK_EQ(syscall(SYS_setresuid, 65534, 65534, 65534), 0);
		CHECK_EQ(kd_call(door, NULL, 0, NULL, 0, res, 4, NULL), 0);
		CHECK_EQ(seen->u.euid, 65534);
		CHECK_EQ(seen->u.suid, 65534);
		harness_child_exit();
	}
	harness_wait_child(pid);
}

static void
no_caller(void)
{
	struct door_uapi_ucred u;
	pid_t pid;

	expect_errno(kd_ucred(&u, NULL, 0), EINVAL);
	pid = harness_fork();
	if (pid == 0) {
		/* a process that never served anything */
		kd_ctl = -1;
		expect_errno(kd_ucred(&u, NULL, 0), EINVAL);
		expect_errno(ioctl(kd_open(), DOOR_IOC_UCRED, (void *)16),
		    EFAULT);
		harness_child_exit();
	}
	harness_wait_child(pid);
}

static void
bad_groups_pointer(void)
{
	/* the procedure's ucred with an unwritable group array: EFAULT */
	pid_t pid = harness_fork();

	if (pid == 0) {
		gid_t g[1] = { 7 };
		char res[4];

		CHECK_EQ(setgroups(1, g), 0);
		CHECK_EQ(kd_call(door, NULL, 0, NULL, 0, res, 4, NULL), 0);
		harness_child_exit();
	}
	harness_wait_child(pid);
	CHECK_EQ(seen->ret, 0);
	CHECK_EQ(seen->u.ngroups, 1);
}

int
main(int argc, char **argv)
{
	harness_only(argc, argv);
	seen = harness_shared(sizeof (*seen));
	if (kd_open() < 0)
		return 1;
	door = kd_create(1, 2, 0);
	kd_server_start(&srv, record, 1, -1);
	RUN(per_call);
	RUN(thread_creds);
	RUN(no_caller);
	RUN(bad_groups_pointer);
	kd_server_stop(&srv);
	close(door);
	return harness_done();
}
