/*
 * A door server for the door command's tests (tools/door/tests.sh),
 * written as a Solaris program is: it attaches a door at argv[1] and
 * answers "fd" with two descriptors (a file and its own door), "big" with
 * 200000 bytes, and anything else with what it received.
 */
#include <door.h>
#include <stropts.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int door_fd = -1;
static char big[200000];

static void serv_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp, uint_t n_desc) {
    char reply[256];
    door_desc_t d[2];
    int i;

    (void)cookie;
    if (arg_size == 2 && memcmp(argp, "fd", 2) == 0) {
        d[0].d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
        d[0].d_data.d_desc.d_descriptor = open("/dev/null", O_RDONLY);
        d[1].d_attributes = DOOR_DESCRIPTOR;
        d[1].d_data.d_desc.d_descriptor = door_fd;
        (void)door_return("two", 3, d, 2);
    }
    if (arg_size == 3 && memcmp(argp, "big", 3) == 0) {
        (void)memset(big, 'x', sizeof(big));
        (void)door_return(big, sizeof(big), NULL, 0);
    }
    for (i = 0; i < (int)n_desc; i++)
        (void)close(dp[i].d_data.d_desc.d_descriptor);
    (void)snprintf(reply, sizeof(reply), "%u descriptors, %.*s", n_desc, (int)arg_size, argp);
    (void)door_return(reply, strlen(reply), NULL, 0);
}

int main(int argc, char **argv) {
    int fd;

    if (argc != 2) {
        (void)fprintf(stderr, "usage: testsrv PATH\n");
        return 2;
    }
    if ((door_fd = door_create(serv_proc, NULL, 0)) < 0) {
        perror("door_create");
        return 1;
    }
    if ((fd = open(argv[1], O_CREAT | O_RDWR, 0644)) < 0) {
        perror(argv[1]);
        return 1;
    }
    (void)close(fd);
    if (fattach(door_fd, argv[1]) < 0) {
        perror("fattach");
        return 1;
    }
    (void)printf("attached\n");
    (void)fflush(stdout);
    for (;;)
        (void)pause();
}
