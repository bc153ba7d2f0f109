/*
 * doortype - print the file type of paths and of descriptors the way
 * Solaris tools decide it (S_ISDOOR first), through every stat entry
 * point a program may use.  It does not link libdoor: it only meets
 * doors that others made (an attached path, an inherited descriptor).
 *
 * Usage: doortype [-d DIR] NAME... | fd:N...
 *   NAME   stat, lstat, fstatat (relative to DIR or "."), statx, the old
 *          glibc __xstat, and fstat of the descriptor open(NAME) returns;
 *   fd:N   fstat and statx(AT_EMPTY_PATH) of descriptor N.
 * Prints one line per call: "NAME: CALL: TYPE".
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/door.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The pre-2.33 glibc entry point that old binaries still call. */
extern int __xstat(int, const char *, struct stat *);

static const char *ftype(mode_t m) {
    if (S_ISDOOR(m))
        return ("door");
    if (S_ISREG(m))
        return ("regular file");
    if (S_ISDIR(m))
        return ("directory");
    if (S_ISSOCK(m))
        return ("socket");
    if (S_ISFIFO(m))
        return ("fifo");
    if (S_ISLNK(m))
        return ("symbolic link");
    if (S_ISCHR(m))
        return ("character device");
    return ("other");
}

static void show(const char *name, const char *call, int r, mode_t m) {
    if (r < 0)
        (void)printf("%s: %s: %s\n", name, call, strerror(errno));
    else
        (void)printf("%s: %s: %s\n", name, call, ftype(m));
}

int main(int argc, char **argv) {
    struct stat st;
    struct statx sx;
    const char *dir = ".";
    int i, dfd, fd, r;

    if (argc > 2 && strcmp(argv[1], "-d") == 0) {
        dir = argv[2];
        argv += 2;
        argc -= 2;
    }
    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0) {
        perror(dir);
        return (2);
    }
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strncmp(a, "fd:", 3) == 0) {
            fd = atoi(a + 3);
            r = fstat(fd, &st);
            show(a, "fstat", r, st.st_mode);
            r = statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, &sx);
            show(a, "statx", r, sx.stx_mode);
            continue;
        }
        r = stat(a, &st);
        show(a, "stat", r, st.st_mode);
        r = lstat(a, &st);
        show(a, "lstat", r, st.st_mode);
        r = fstatat(dfd, a, &st, 0);
        show(a, "fstatat", r, st.st_mode);
        r = statx(AT_FDCWD, a, 0, STATX_TYPE | STATX_MODE, &sx);
        show(a, "statx", r, sx.stx_mode);
        r = __xstat(1, a, &st);
        show(a, "__xstat", r, st.st_mode);
        if ((fd = open(a, O_RDONLY)) < 0) {
            show(a, "open", -1, 0);
            continue;
        }
        r = fstat(fd, &st);
        show(a, "open+fstat", r, st.st_mode);
        (void)close(fd);
    }
    (void)close(dfd);
    return (0);
}
