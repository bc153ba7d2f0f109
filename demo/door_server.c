/*
 * A door server written as a Solaris textbook writes one: create a door,
 * make sure the rendezvous file exists, attach the door to it, wait.
 * Nothing here is Linux-specific.
 */
#include <door.h>
#include <stropts.h>
#include <ucred.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
serv_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp, uint_t n_desc)
{
    char reply[256];
    ucred_t *uc = NULL;
    long pid = -1, euid = -1;

    (void)cookie;
    (void)dp;
    (void)n_desc;
    if (door_ucred(&uc) == 0) {
        pid = (long)ucred_getpid(uc);
        euid = (long)ucred_geteuid(uc);
        ucred_free(uc);
    }
    (void)snprintf(reply, sizeof(reply), "server %ld answers pid %ld (euid %ld): \"%.*s\" received",
                   (long)getpid(), pid, euid, (int)arg_size, argp);
    (void)door_return(reply, strlen(reply) + 1, NULL, 0);
}

int
main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/tmp/libdoor_demo_door";
    int did, fd;

    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        (void)fprintf(stderr, "usage: %s [PATH]  (default /tmp/libdoor_demo_door)\n", argv[0]);
        return 2;
    }

    if ((did = door_create(serv_proc, NULL, 0)) < 0) {
        perror("door_create");
        return 1;
    }
    if ((fd = open(path, O_CREAT | O_RDWR, 0644)) < 0) {
        perror(path);
        return 1;
    }
    (void)close(fd);
    (void)fdetach(path);
    if (fattach(did, path) < 0) {
        perror("fattach");
        return 1;
    }
    (void)printf("server: door attached at %s\n", path);
    (void)fflush(stdout);
    for (;;)
        (void)pause();
    /* NOTREACHED */
}
