/*
 * doorinfo - the classic door inspection program: stat the path, refuse
 * anything that is not a door, then open it and print door_info().
 *
 * Usage: doorinfo PATH...
 * The server's pid prints as "(parent)" when it is this program's parent
 * (the test that runs it), so the output does not depend on pids.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <door.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    struct stat st;
    door_info_t info;
    int i, fd, bad = 0;

    for (i = 1; i < argc; i++) {
        if (stat(argv[i], &st) < 0) {
            (void)printf("%s: %s\n", argv[i], strerror(errno));
            bad = 1;
            continue;
        }
        if (!S_ISDOOR(st.st_mode)) {
            (void)printf("%s: pathname is not a door\n", argv[i]);
            bad = 1;
            continue;
        }
        if ((fd = open(argv[i], O_RDONLY)) < 0 || door_info(fd, &info) < 0) {
            (void)printf("%s: door_info: %s\n", argv[i], strerror(errno));
            bad = 1;
            continue;
        }
        if (info.di_target == getppid())
            (void)printf("%s: server PID = (parent)", argv[i]);
        else
            (void)printf("%s: server PID = %ld", argv[i], (long)info.di_target);
        if (info.di_attributes & DOOR_LOCAL)
            (void)printf(", DOOR_LOCAL");
        if (info.di_attributes & DOOR_UNREF)
            (void)printf(", DOOR_UNREF");
        if (info.di_attributes & DOOR_UNREF_MULTI)
            (void)printf(", DOOR_UNREF_MULTI");
        if (info.di_attributes & DOOR_PRIVATE)
            (void)printf(", DOOR_PRIVATE");
        if (info.di_attributes & DOOR_REFUSE_DESC)
            (void)printf(", DOOR_REFUSE_DESC");
        if (info.di_attributes & DOOR_NO_CANCEL)
            (void)printf(", DOOR_NO_CANCEL");
        if (info.di_attributes & DOOR_REVOKED)
            (void)printf(", DOOR_REVOKED");
        if (info.di_attributes & DOOR_IS_UNREF)
            (void)printf(", DOOR_IS_UNREF");
        (void)printf("\n");
        (void)close(fd);
    }
    return (bad);
}
