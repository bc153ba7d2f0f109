/*
 * t_private.c - DOOR_PRIVATE doors with a door_server_create(3C) creation
 * function, the way the illumos manual's example writes them: the function
 * starts a thread, hands it the door_info_t pointer it received, and the
 * thread binds itself to the door (door_bind(3C)) with the descriptor that
 * door_create(3C) returned, then parks in door_return(NULL, 0, NULL, 0).
 *
 *  1. the creation function runs last in door_create: a thread it starts
 *     can door_bind as soon as door_create has returned the descriptor,
 *     and the door's calls are served by that thread;
 *  2. the door_info_t the function receives stays valid after door_create
 *     has returned (libdoor keeps it as long as the door exists): a thread
 *     that reads it late, after the caller has reused its stack, sees the
 *     door's di_proc, di_data, di_uniquifier and DOOR_PRIVATE;
 *  3. twenty such doors in a row, each with its own bound thread.
 */
#include <door.h>
#include <unistd.h>

#include "harness.h"

#define NDOORS 20

static int dids[NDOORS];
static volatile int cur;        /* the door being created */
static volatile int ready = -1; /* dids[0..ready] are set */
static volatile int bad_info, bind_err, started;

struct targ {
    door_info_t *dip;
    int i;
    int depletion;
};

static void serve(void *cookie, char *argp, size_t n, door_desc_t *dp, uint_t nd) {
    long v = (long)cookie;

    (void)argp;
    (void)n;
    (void)dp;
    (void)nd;
    (void)door_return((char *)&v, sizeof(v), NULL, 0);
}

static void *bound_thread(void *arg) {
    struct targ *t = arg;
    door_info_t now;
    int d;

    /* The descriptor is known once door_create has returned it. */
    while (ready < t->i)
        (void)usleep(100);
    d = dids[t->i];
    /* Read the info late, long after door_create returned. */
    (void)usleep(20000);
    if (!t->depletion &&
        (door_info(d, &now) != 0 || t->dip->di_proc != now.di_proc ||
         t->dip->di_data != now.di_data || t->dip->di_uniquifier != now.di_uniquifier ||
         (t->dip->di_attributes & DOOR_PRIVATE) == 0))
        __atomic_add_fetch(&bad_info, 1, __ATOMIC_SEQ_CST);
    if (door_bind(d) != 0 && !t->depletion)
        bind_err = errno;
    free(t);
    (void)door_return(NULL, 0, NULL, 0);
    return (NULL);
}

static void create_fn(door_info_t *dip) {
    pthread_t th;
    struct targ *t;

    if (dip == NULL || (t = malloc(sizeof(*t))) == NULL)
        return;
    t->dip = dip;
    t->i = cur;
    t->depletion = (dip->di_attributes & DOOR_DEPLETION_CB) != 0;
    /* A depletion callback's info lives only during the call (as on
     * illumos); its thread does not read it. */
    if (!t->depletion)
        __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    if (pthread_create(&th, NULL, bound_thread, t) == 0)
        (void)pthread_detach(th);
    else
        free(t);
}

/* Overwrite a good part of the stack the caller used. */
static __attribute__((noinline)) int scribble(int n) {
    volatile char junk[16384];

    memset((char *)junk, 0xA5, sizeof(junk));
    return (junk[n % sizeof(junk)] + (n > 0 ? scribble(n - 1) : 0));
}

static void test_bound_thread_from_creation_function(void) {
    pid_t pid = harness_fork();

    if (pid == 0) {
        int i;

        (void)door_server_create(create_fn);
        for (i = 0; i < NDOORS; i++) {
            long got = 0;
            door_arg_t a;

            cur = i;
            dids[i] = door_create(serve, (void *)(long)(1000 + i), DOOR_PRIVATE);
            REQUIRE(dids[i] >= 0);
            (void)scribble(3);
            ready = i;
            memset(&a, 0, sizeof(a));
            a.rbuf = (char *)&got;
            a.rsize = sizeof(got);
            CHECK_EQ(door_call(dids[i], &a), 0);
            CHECK_EQ(got, 1000 + i);
        }
        for (i = 0; i < NDOORS; i++)
            CHECK_EQ(door_revoke(dids[i]), 0);
        CHECK_EQ(bad_info, 0);
        CHECK_EQ(bind_err, 0);
        CHECK_EQ(started, NDOORS);
        harness_child_exit();
    }
    harness_wait_child(pid);
}

int main(int argc, char **argv) {
    harness_only(argc, argv);
    RUN(test_bound_thread_from_creation_function);
    return (harness_done());
}
