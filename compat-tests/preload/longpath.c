/*
 * longpath.c - run by t_hostile_preload under the preload library: a
 * program that never meets a door stats an ordinary file through a
 * directory descriptor and a relative path longer than the preload
 * library's own buffer. Prints how many of its mappings are libdoor's
 * (0: the preload library never needed libdoor to answer).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    char p[1200] = "", l[512];
    struct stat st;
    FILE *m;
    int d, i, n = 0;

    for (i = 0; i < 260; i++)
        strcat(p, "./");
    strcat(p, "proc/self/exe"); /* a regular file on every system */
    d = open("/", O_RDONLY | O_DIRECTORY);
    if (d < 0 || fstatat(d, p, &st, 0) != 0 || !S_ISREG(st.st_mode)) {
        printf("-1\n");
        return 1;
    }
    m = fopen("/proc/self/maps", "r");
    if (m == NULL) {
        printf("-1\n");
        return 1;
    }
    while (fgets(l, sizeof(l), m) != NULL)
        if (strstr(l, "/libdoor.so") != NULL)
            n++;
    (void)fclose(m);
    printf("%d\n", n);
    return 0;
}
