/*
 * savedids-helper.c - the set-user-ID program t_savedids.c has a caller
 * exec in the middle of its door call.  It links nothing but libc (it runs
 * with AT_SECURE, and must not need libdoor or a sanitizer runtime).
 *
 * usage: savedids-helper FD keep|drop
 *   drop: give up the effective uid and gid the set-ID bits gave, keeping
 *         them as saved ids (seteuid(getuid()), as set-user-ID programs do
 *         between their privileged steps);
 *   then write this process's ids ("ruid euid suid rgid egid sgid\n") to
 *   FD and wait to be killed (at most 60 seconds).
 */
#define _GNU_SOURCE	/* getresuid, getresgid */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	char buf[128];
	int fd, n;

	if (argc != 3)
		return (2);
	fd = atoi(argv[1]);
	if (strcmp(argv[2], "drop") == 0) {
		if (setegid(getgid()) != 0 || seteuid(getuid()) != 0)
			return (3);
	}
	(void) getresuid(&ru, &eu, &su);
	(void) getresgid(&rg, &eg, &sg);
	n = snprintf(buf, sizeof (buf), "%u %u %u %u %u %u\n", (unsigned)ru,
	    (unsigned)eu, (unsigned)su, (unsigned)rg, (unsigned)eg,
	    (unsigned)sg);
	if (write(fd, buf, (size_t)n) != n)
		return (4);
	(void) alarm(60);
	for (;;)
		(void) pause();
}
