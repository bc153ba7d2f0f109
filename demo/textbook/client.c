/*
 * client.c - the textbook door client: open the server's file, call the
 * door with a long integer, print its square (and which call it was).
 */
#include <sys/types.h>
#include <door.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    int fd;
    long ival, oval[2];
    door_arg_t arg;
    door_info_t info;

    if (argc != 3) {
        fprintf(stderr, "usage: client <server-pathname> <integer-value>\n");
        exit(1);
    }
    if ((fd = open(argv[1], O_RDWR)) < 0) {
        perror(argv[1]);
        exit(1);
    }
    ival = atol(argv[2]);
    arg.data_ptr = (char *)&ival;
    arg.data_size = sizeof(long);
    arg.desc_ptr = NULL;
    arg.desc_num = 0;
    arg.rbuf = (char *)oval;
    arg.rsize = sizeof(oval);
    if (door_call(fd, &arg) < 0) {
        perror("door_call");
        exit(1);
    }
    if (arg.data_size != sizeof(oval)) {
        fprintf(stderr, "client: %lu bytes of results\n", (unsigned long)arg.data_size);
        exit(1);
    }
    if (door_info(fd, &info) < 0) {
        perror("door_info");
        exit(1);
    }
    printf("result: %ld (call %ld, server pid %ld)\n", oval[0], oval[1], (long)info.di_target);
    exit(oval[0] == ival * ival ? 0 : 1);
}
