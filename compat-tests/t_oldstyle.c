/*
 * t_oldstyle.c - a door server and client written the Solaris 2.6 way, as
 * the classic textbooks print them, compiled with today's strictest
 * defaults (GCC 14 makes implicit declarations and incompatible pointer
 * types errors; this file is always built with those errors on).
 *
 *  - the server procedure declares its last parameter `size_t ndesc'
 *    (not uint_t) and is passed to door_create() and door_xcreate()
 *    without a cast;
 *  - fattach() and fdetach() are used after including only <door.h> and
 *    <unistd.h>, as Solaris allows;
 *  - the procedure reads all 64 bits of ndesc: calls with 0, 1 and 3
 *    descriptors report exactly 0, 1 and 3, never a count with stray
 *    upper bits.
 */
#include <door.h>
#include <unistd.h>

#include "harness.h"

/* The textbook form: size_t for the descriptor count. */
static void servproc(void *cookie, char *dataptr, size_t datasize, door_desc_t *descptr,
                     size_t ndesc) {
    size_t reply[2];
    size_t i;

    (void)cookie;
    (void)dataptr;
    for (i = 0; i < ndesc && i < 8; i++)
        (void)close(descptr[i].d_data.d_desc.d_descriptor);
    reply[0] = datasize;
    reply[1] = ndesc;
    (void)door_return((char *)reply, sizeof(reply), NULL, 0);
}

static int create_thread(door_info_t *di, void *(*start)(void *), void *arg, void *cookie) {
    pthread_t t;

    (void)di;
    (void)cookie;
    if (pthread_create(&t, NULL, start, arg) != 0)
        return (-1);
    (void)pthread_detach(t);
    return (1);
}

/* Calls `d` with `nfd` descriptors of /dev/null; returns the reply. */
static int call_with(int d, int nfd, size_t reply[2]) {
    door_desc_t descs[3];
    door_arg_t arg;
    char data[5] = "abcd";
    int i;

    for (i = 0; i < nfd; i++) {
        descs[i].d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
        descs[i].d_data.d_desc.d_descriptor = open("/dev/null", O_RDONLY);
    }
    arg.data_ptr = data;
    arg.data_size = sizeof(data);
    arg.desc_ptr = nfd > 0 ? descs : NULL;
    arg.desc_num = (uint_t)nfd;
    arg.rbuf = (char *)reply;
    arg.rsize = 2 * sizeof(size_t);
    if (door_call(d, &arg) == -1)
        return (-1);
    if (arg.data_ptr != (char *)reply)
        memcpy(reply, arg.data_ptr, 2 * sizeof(size_t));
    return (0);
}

static void check_counts(int d) {
    size_t reply[2];
    int n;

    for (n = 0; n <= 3; n += (n == 1 ? 2 : 1)) {
        reply[0] = reply[1] = (size_t)-1;
        CHECK_EQ(call_with(d, n, reply), 0);
        CHECK_EQU(reply[0], 5);
        CHECK_EQU(reply[1], (size_t)n);
    }
}

static void test_size_t_procedure(void) {
    int d = door_create(servproc, NULL, 0);

    REQUIRE(d >= 0);
    check_counts(d);
    CHECK_EQ(door_revoke(d), 0);
}

static void test_size_t_procedure_xcreate(void) {
    int d = door_xcreate(servproc, NULL, DOOR_NO_DEPLETION_CB, create_thread, NULL, NULL, 1);

    REQUIRE(d >= 0);
    check_counts(d);
    CHECK_EQ(door_revoke(d), 0);
}

static void test_fattach_from_door_h(void) {
    char path[64];
    int d, f;
    pid_t pid;

    (void)snprintf(path, sizeof(path), "/tmp/t_oldstyle.%d", (int)getpid());
    f = open(path, O_CREAT | O_RDWR, 0644);
    REQUIRE(f >= 0);
    (void)close(f);
    d = door_create(servproc, NULL, 0);
    REQUIRE(d >= 0);
    CHECK_EQ(fattach(d, path), 0);
    pid = harness_fork();
    if (pid == 0) {
        int c = open(path, O_RDONLY);

        CHECK(c >= 0);
        if (c >= 0)
            check_counts(c);
        harness_child_exit();
    }
    harness_wait_child(pid);
    CHECK_EQ(fdetach(path), 0);
    CHECK_EQ(door_revoke(d), 0);
    (void)unlink(path);
}

int main(int argc, char **argv) {
    harness_only(argc, argv);
    RUN(test_size_t_procedure);
    RUN(test_size_t_procedure_xcreate);
    RUN(test_fattach_from_door_h);
    return (harness_done());
}
