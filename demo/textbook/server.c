/*
 * server.c - a door server the way the classic UNIX IPC textbooks write
 * one for Solaris 2.6: the procedure squares a long integer, the server
 * makes its own server threads with door_server_create() and thr_create(),
 * counts the calls under a mutex_t, attaches the door to a file with
 * fattach() and waits forever.
 *
 * Ported to Linux with libdoor by changing nothing but the link line
 * (see demo/Makefile, target `textbook', and README.md, "Porting").
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <door.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <synch.h>
#include <thread.h>
#include <unistd.h>

#define FILE_MODE (S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH)

static mutex_t ncalls_lock = DEFAULTMUTEX;
static long ncalls;

/* Solaris 2.6 declared the descriptor count size_t. */
static void
servproc(void *cookie, char *dataptr, size_t datasize, door_desc_t *descptr, size_t ndesc)
{
    long arg, result[2];

    if (datasize != sizeof(long)) {
        (void)door_return(NULL, 0, NULL, 0);
        return;
    }
    bcopy(dataptr, &arg, sizeof(long));
    mutex_lock(&ncalls_lock);
    result[1] = ++ncalls;
    mutex_unlock(&ncalls_lock);
    result[0] = arg * arg;
    door_return((char *)result, sizeof(result), NULL, 0);
}

/* Each server thread starts here and waits for its first call. */
static void *
server_thread(void *arg)
{
    door_return(NULL, 0, NULL, 0);
    return (arg);
}

/*
 * Called by the doors library when it needs another server thread (iptr
 * is NULL for doors served by the process's shared pool).
 */
static void
my_create(door_info_t *iptr)
{
    thread_t tid;

    if (thr_create(NULL, 0, server_thread, NULL, THR_DETACHED, &tid) != 0) {
        perror("thr_create");
        exit(1);
    }
    printf("server: thread %u created%s\n", tid, iptr == NULL ? "" : " for a private door");
    fflush(stdout);
}

int
main(int argc, char **argv)
{
    int doorfd, fd;

    if (argc != 2) {
        fprintf(stderr, "usage: server <server-pathname>\n");
        exit(1);
    }
    door_server_create(my_create);
    if ((doorfd = door_create(servproc, NULL, 0)) < 0) {
        perror("door_create");
        exit(1);
    }
    unlink(argv[1]);
    if ((fd = open(argv[1], O_CREAT | O_RDWR, FILE_MODE)) < 0) {
        perror(argv[1]);
        exit(1);
    }
    close(fd);
    if (fattach(doorfd, argv[1]) < 0) {
        perror("fattach");
        exit(1);
    }
    printf("server: door attached to %s\n", argv[1]);
    fflush(stdout);
    for (;;)
        pause();
}
