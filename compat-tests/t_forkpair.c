/*
 * t_forkpair.c - a textbook door server and client, Solaris style.
 *
 * Clauses exercised (door_create(3C), door_call(3C), door_return(3C),
 * door_info(3C), door_revoke(3C); fork: the child is an ordinary client
 * of the parent's doors):
 *  - the server creates a door and forks; the child calls it over the
 *    inherited descriptor, prints each reply, and exits;
 *  - the parent waits for the child, revokes the door, and reports.
 *
 * No Linux-specific code: this file should build and behave the same on
 * illumos.  run-tests.sh compares its standard output with
 * expected/t_forkpair.stdout.
 */
#include <door.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/mman.h>

static int ncalls;

/* ARGSUSED */
static void
server(void *cookie, char *argp, size_t arg_size, door_desc_t *dp,
    uint_t n_desc)
{
	char reply[128];
	int n;

	(void) dp;
	(void) n_desc;
	ncalls++;
	if (argp == NULL || arg_size == 0) {
		(void) door_return(NULL, 0, NULL, 0);
		return;
	}
	n = snprintf(reply, sizeof (reply), "%s: got \"%.*s\" (%lu bytes)",
	    (char *)cookie, (int)arg_size, argp, (unsigned long)arg_size);
	(void) door_return(reply, (size_t)n + 1, NULL, 0);
}

static int
client(int did)
{
	static char *msgs[] = { "hello", "doors on this system", "goodbye" };
	door_info_t info;
	char buf[16];
	unsigned i;

	if (door_info(did, &info) == -1) {
		perror("door_info");
		return (1);
	}
	(void) printf("client: door served by %s, %s\n",
	    info.di_target == getppid() ? "my parent" : "someone else",
	    (info.di_attributes & DOOR_LOCAL) ? "local" : "not local");

	for (i = 0; i < sizeof (msgs) / sizeof (msgs[0]); i++) {
		door_arg_t arg;

		arg.data_ptr = msgs[i];
		arg.data_size = strlen(msgs[i]);
		arg.desc_ptr = NULL;
		arg.desc_num = 0;
		arg.rbuf = buf;
		arg.rsize = sizeof (buf);
		if (door_call(did, &arg) == -1) {
			perror("door_call");
			return (1);
		}
		(void) printf("client: reply %u: %s\n", i + 1, arg.data_ptr);
		if (arg.rbuf != buf)
			(void) munmap(arg.rbuf, arg.rsize);
	}
	if (door_call(did, NULL) == -1) {
		perror("door_call");
		return (1);
	}
	(void) printf("client: done\n");
	return (0);
}

int
main(void)
{
	int did, status;
	pid_t pid;

	(void) alarm(60);	/* never hang */
	if ((did = door_create(server, "server", 0)) == -1) {
		perror("door_create");
		return (1);
	}
	(void) printf("server: door created\n");
	(void) fflush(stdout);

	if ((pid = fork()) == -1) {
		perror("fork");
		return (1);
	}
	if (pid == 0) {
		int rc = client(did);
		(void) fflush(stdout);
		_exit(rc);
	}

	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		return (1);
	}
	(void) printf("server: client exited with status %d\n",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	(void) printf("server: %d calls served\n", ncalls);
	if (door_revoke(did) == -1) {
		perror("door_revoke");
		return (1);
	}
	(void) printf("server: door revoked\n");
	return (WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1);
}
