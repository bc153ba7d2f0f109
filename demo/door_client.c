/*
 * A door client written as a Solaris textbook writes one: open the
 * rendezvous file, call the door, print the answer.
 */
#include <door.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/tmp/libdoor_demo_door";
    const char *msg = argc > 2 ? argv[2] : "hello, door";
    char buf[512];
    door_arg_t arg;
    door_info_t info;
    int fd;

    if ((fd = open(path, O_RDONLY)) < 0) {
        perror(path);
        return 1;
    }
    arg.data_ptr = (char *)msg;
    arg.data_size = strlen(msg);
    arg.desc_ptr = NULL;
    arg.desc_num = 0;
    arg.rbuf = buf;
    arg.rsize = sizeof(buf);
    if (door_call(fd, &arg) < 0) {
        perror("door_call");
        return 1;
    }
    (void)printf("client: %s\n", arg.data_ptr);
    if (door_info(fd, &info) == 0)
        (void)printf("client: door id %llu served by pid %ld\n", (unsigned long long)info.di_uniquifier,
                     (long)info.di_target);
    if (arg.rbuf != buf)
        (void)munmap(arg.rbuf, arg.rsize);
    (void)close(fd);
    return 0;
}
