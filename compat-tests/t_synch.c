/*
 * t_synch.c - Solaris synchronization objects (<synch.h>), used the way
 * Solaris programs use them: statically initialized locks shared by
 * threads made with thr_create(3C), and USYNC_PROCESS objects in shared
 * memory used by a parent and its fork(2) child.
 *
 *  1. DEFAULTMUTEX, DEFAULTCV, DEFAULTSEMA and DEFAULTRWLOCK objects work
 *     without an init call: a counter kept exact by a mutex, a
 *     producer/consumer pair on a condition variable, a semaphore and a
 *     readers/writer lock shared by threads;
 *  2. mutex types: LOCK_ERRORCHECK relock EDEADLK, unlock by another
 *     thread EPERM; LOCK_RECURSIVE nests; mutex_trylock EBUSY; an unknown
 *     type EINVAL; errors are returned, errno is left alone;
 *  3. cond_timedwait with an absolute time already past and
 *     cond_reltimedwait with a short interval return ETIME; a bad
 *     timestruc_t EINVAL; cond_signal wakes one waiter, cond_broadcast all;
 *  4. semaphores: sema_trywait EBUSY at 0, sema_post/sema_wait count,
 *     sema_wait interrupted by a caught signal EINTR;
 *  5. rwlocks: readers share, rw_trywrlock EBUSY while read-held,
 *     rw_tryrdlock EBUSY while write-held;
 *  6. USYNC_PROCESS mutex, condition variable, semaphore and rwlock in
 *     MAP_SHARED memory, used by a parent and a fork child.
 */
#include <synch.h>
#include <thread.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "harness.h"

#define NTHR  4
#define LOOPS 20000

static mutex_t count_lock = DEFAULTMUTEX;
static cond_t count_cv = DEFAULTCV;
static sema_t done_sema = DEFAULTSEMA;
static rwlock_t table_lock = DEFAULTRWLOCK;
static volatile long counter;
static volatile int readers_in;

static void *adder(void *arg) {
    int i;

    (void)arg;
    for (i = 0; i < LOOPS; i++) {
        (void)mutex_lock(&count_lock);
        counter++;
        (void)mutex_unlock(&count_lock);
    }
    (void)sema_post(&done_sema);
    return (NULL);
}

static void test_static_initializers(void) {
    thread_t tid[NTHR];
    int i;

    counter = 0;
    for (i = 0; i < NTHR; i++)
        REQUIRE(thr_create(NULL, 0, adder, NULL, 0, &tid[i]) == 0);
    for (i = 0; i < NTHR; i++)
        CHECK_EQ(sema_wait(&done_sema), 0);
    for (i = 0; i < NTHR; i++)
        CHECK_EQ(thr_join(tid[i], NULL, NULL), 0);
    CHECK_EQ(counter, (long)NTHR * LOOPS);
    CHECK_EQ(sema_trywait(&done_sema), EBUSY);
}

static volatile int queue_len, consumed;

static void *consumer(void *arg) {
    int want = *(int *)arg, got = 0;

    while (got < want) {
        (void)mutex_lock(&count_lock);
        while (queue_len == 0)
            (void)cond_wait(&count_cv, &count_lock);
        queue_len--;
        got++;
        (void)mutex_unlock(&count_lock);
    }
    consumed += got;
    return (NULL);
}

static void test_producer_consumer(void) {
    thread_t t;
    int n = 1000, i;

    queue_len = 0;
    consumed = 0;
    REQUIRE(thr_create(NULL, 0, consumer, &n, 0, &t) == 0);
    for (i = 0; i < n; i++) {
        (void)mutex_lock(&count_lock);
        queue_len++;
        (void)cond_signal(&count_cv);
        (void)mutex_unlock(&count_lock);
    }
    CHECK_EQ(thr_join(t, NULL, NULL), 0);
    CHECK_EQ(consumed, n);
    CHECK_EQ(queue_len, 0);
}

static mutex_t shared_m;
static volatile int other_result;

static void *try_other(void *arg) {
    other_result = (arg == NULL) ? mutex_trylock(&shared_m) : mutex_unlock(&shared_m);
    return (NULL);
}

static int in_other_thread(int unlock) {
    thread_t t;

    other_result = -1;
    if (thr_create(NULL, 0, try_other, unlock ? (void *)1 : NULL, 0, &t) != 0)
        return (-1);
    (void)thr_join(t, NULL, NULL);
    return (other_result);
}

static void test_mutex_types(void) {
    mutex_t m;

    /* Error-checking. */
    CHECK_EQ(mutex_init(&shared_m, USYNC_THREAD | LOCK_ERRORCHECK, NULL), 0);
    CHECK_EQ(mutex_lock(&shared_m), 0);
    errno = EDOM;
    CHECK_EQ(mutex_lock(&shared_m), EDEADLK);
    CHECK_EQ(errno, EDOM);
    CHECK_EQ(in_other_thread(0), EBUSY);
    CHECK_EQ(in_other_thread(1), EPERM);
    CHECK_EQ(mutex_unlock(&shared_m), 0);
    CHECK_EQ(mutex_unlock(&shared_m), EPERM);
    CHECK_EQ(in_other_thread(0), 0); /* taken there, and left held */
    CHECK_EQ(mutex_trylock(&shared_m), EBUSY);
    CHECK_EQ(in_other_thread(1), EPERM); /* a new thread is not the owner */

    /* Recursive. */
    CHECK_EQ(mutex_init(&m, USYNC_THREAD | LOCK_RECURSIVE | LOCK_ERRORCHECK, NULL), 0);
    CHECK_EQ(mutex_lock(&m), 0);
    CHECK_EQ(mutex_lock(&m), 0);
    CHECK_EQ(mutex_trylock(&m), 0);
    CHECK_EQ(mutex_unlock(&m), 0);
    CHECK_EQ(mutex_unlock(&m), 0);
    CHECK_EQ(mutex_unlock(&m), 0);
    CHECK_EQ(mutex_unlock(&m), EPERM);
    CHECK_EQ(mutex_destroy(&m), 0);

    /* Normal, and bad types. */
    CHECK_EQ(mutex_init(&m, USYNC_THREAD, NULL), 0);
    CHECK_EQ(mutex_trylock(&m), 0);
    CHECK_EQ(mutex_trylock(&m), EBUSY);
    CHECK_EQ(mutex_unlock(&m), 0);
    CHECK_EQ(mutex_destroy(&m), 0);
    CHECK_EQ(mutex_init(&m, 0x1000, NULL), EINVAL);
    CHECK_EQ(mutex_init(&m, LOCK_PRIO_INHERIT | LOCK_PRIO_PROTECT, NULL), EINVAL);
    CHECK_EQ(cond_init(&count_cv, 0x1000, NULL), EINVAL);
    CHECK_EQ(sema_init(&done_sema, 0, 0x1000, NULL), EINVAL);
    CHECK_EQ(rwlock_init(&table_lock, 0x1000, NULL), EINVAL);
}

static cond_t bcv = DEFAULTCV;
static volatile int go, woken;

static void *waiter(void *arg) {
    (void)arg;
    (void)mutex_lock(&count_lock);
    readers_in++;
    while (!go)
        (void)cond_wait(&bcv, &count_lock);
    woken++;
    (void)mutex_unlock(&count_lock);
    return (NULL);
}

static void test_cond_times(void) {
    timestruc_t ts;
    thread_t t[NTHR];
    int i, n;

    (void)mutex_lock(&count_lock);
    /* An absolute time in the past. */
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec -= 1;
    errno = EDOM;
    CHECK_EQ(cond_timedwait(&count_cv, &count_lock, &ts), ETIME);
    CHECK_EQ(errno, EDOM);
    /* 20 ms from now, nobody signals. */
    ts.tv_sec = 0;
    ts.tv_nsec = 20000000;
    CHECK_EQ(cond_reltimedwait(&count_cv, &count_lock, &ts), ETIME);
    ts.tv_nsec = 1000000000;
    CHECK_EQ(cond_reltimedwait(&count_cv, &count_lock, &ts), EINVAL);
    CHECK_EQ(cond_timedwait(&count_cv, &count_lock, &ts), EINVAL);
    (void)mutex_unlock(&count_lock);

    /* cond_signal wakes one, cond_broadcast the rest. */
    go = 0;
    woken = 0;
    readers_in = 0;
    for (i = 0; i < NTHR; i++)
        REQUIRE(thr_create(NULL, 0, waiter, NULL, 0, &t[i]) == 0);
    for (i = 0; i < 3000 && readers_in < NTHR; i++)
        (void)usleep(1000);
    CHECK_EQ(readers_in, NTHR);
    (void)mutex_lock(&count_lock);
    go = 1;
    (void)cond_signal(&bcv);
    (void)mutex_unlock(&count_lock);
    for (i = 0; i < 3000 && woken < 1; i++)
        (void)usleep(1000);
    (void)mutex_lock(&count_lock);
    n = woken;
    (void)cond_broadcast(&bcv);
    (void)mutex_unlock(&count_lock);
    CHECK(n >= 1);
    for (i = 0; i < NTHR; i++)
        CHECK_EQ(thr_join(t[i], NULL, NULL), 0);
    CHECK_EQ(woken, NTHR);
}

static sema_t intr_sema;
static volatile int intr_result = -1, intr_waiting;

static void *sema_sleeper(void *arg) {
    (void)arg;
    intr_waiting = 1;
    intr_result = sema_wait(&intr_sema);
    return (NULL);
}

static void test_semaphores(void) {
    struct sigaction sa;
    thread_t t;
    int i;

    CHECK_EQ(sema_init(&intr_sema, 2, USYNC_THREAD, NULL), 0);
    CHECK_EQ(sema_trywait(&intr_sema), 0);
    CHECK_EQ(sema_wait(&intr_sema), 0);
    errno = EDOM;
    CHECK_EQ(sema_trywait(&intr_sema), EBUSY);
    CHECK_EQ(errno, EDOM);
    CHECK_EQ(sema_post(&intr_sema), 0);
    CHECK_EQ(sema_trywait(&intr_sema), 0);

    /* A caught signal interrupts sema_wait: EINTR. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sig;
    (void)sigaction(SIGUSR1, &sa, NULL);
    REQUIRE(thr_create(NULL, 0, sema_sleeper, NULL, 0, &t) == 0);
    for (i = 0; i < 3000 && !intr_waiting; i++)
        (void)usleep(1000);
    /* Until the thread is seen to be still waiting, signal it again. */
    for (i = 0; i < 300 && intr_result == -1; i++) {
        (void)usleep(10000);
        (void)thr_kill(t, SIGUSR1);
    }
    CHECK_EQ(thr_join(t, NULL, NULL), 0);
    CHECK_EQ(intr_result, EINTR);
    CHECK_EQ(sema_destroy(&intr_sema), 0);
}

static volatile int rw_other;

static void *rw_try(void *arg) {
    rw_other = (arg == NULL) ? rw_tryrdlock(&table_lock) : rw_trywrlock(&table_lock);
    if (rw_other == 0)
        (void)rw_unlock(&table_lock);
    return (NULL);
}

static int rw_in_other_thread(int write) {
    thread_t t;

    rw_other = -1;
    if (thr_create(NULL, 0, rw_try, write ? (void *)1 : NULL, 0, &t) != 0)
        return (-1);
    (void)thr_join(t, NULL, NULL);
    return (rw_other);
}

static void test_rwlocks(void) {
    CHECK_EQ(rw_rdlock(&table_lock), 0);
    CHECK_EQ(rw_in_other_thread(0), 0);     /* readers share */
    CHECK_EQ(rw_in_other_thread(1), EBUSY); /* no writer meanwhile */
    CHECK_EQ(rw_unlock(&table_lock), 0);
    CHECK_EQ(rw_wrlock(&table_lock), 0);
    CHECK_EQ(rw_in_other_thread(0), EBUSY);
    CHECK_EQ(rw_in_other_thread(1), EBUSY);
    CHECK_EQ(rw_unlock(&table_lock), 0);
    CHECK_EQ(rw_in_other_thread(1), 0);
    CHECK_EQ(rwlock_destroy(&table_lock), 0);
    CHECK_EQ(rwlock_init(&table_lock, USYNC_THREAD, NULL), 0);
}

struct shm {
    mutex_t m;
    cond_t cv;
    sema_t to_child, to_parent;
    rwlock_t rw;
    long count;
    int flag;
    int child_rw;
};

static void test_across_fork(void) {
    struct shm *s = harness_shared(sizeof(*s));
    pid_t pid;
    int i;

    CHECK_EQ(mutex_init(&s->m, USYNC_PROCESS, NULL), 0);
    CHECK_EQ(cond_init(&s->cv, USYNC_PROCESS, NULL), 0);
    CHECK_EQ(sema_init(&s->to_child, 0, USYNC_PROCESS, NULL), 0);
    CHECK_EQ(sema_init(&s->to_parent, 0, USYNC_PROCESS, NULL), 0);
    CHECK_EQ(rwlock_init(&s->rw, USYNC_PROCESS, NULL), 0);
    pid = harness_fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        for (i = 0; i < LOOPS; i++) {
            (void)mutex_lock(&s->m);
            s->count++;
            (void)mutex_unlock(&s->m);
        }
        /* Ping-pong on the semaphores. */
        for (i = 0; i < 100; i++) {
            CHECK_EQ(sema_wait(&s->to_child), 0);
            CHECK_EQ(sema_post(&s->to_parent), 0);
        }
        /* Hold the rwlock for writing while the parent tries it. */
        CHECK_EQ(rw_wrlock(&s->rw), 0);
        CHECK_EQ(sema_post(&s->to_parent), 0);
        CHECK_EQ(sema_wait(&s->to_child), 0);
        CHECK_EQ(rw_unlock(&s->rw), 0);
        /* Wait on the condition variable for the parent's flag. */
        (void)mutex_lock(&s->m);
        CHECK_EQ(sema_post(&s->to_parent), 0);
        while (!s->flag)
            (void)cond_wait(&s->cv, &s->m);
        (void)mutex_unlock(&s->m);
        harness_child_exit();
    }
    for (i = 0; i < LOOPS; i++) {
        (void)mutex_lock(&s->m);
        s->count++;
        (void)mutex_unlock(&s->m);
    }
    for (i = 0; i < 100; i++) {
        CHECK_EQ(sema_post(&s->to_child), 0);
        CHECK_EQ(sema_wait(&s->to_parent), 0);
    }
    CHECK_EQ(sema_wait(&s->to_parent), 0);
    CHECK_EQ(rw_trywrlock(&s->rw), EBUSY);
    CHECK_EQ(rw_tryrdlock(&s->rw), EBUSY);
    CHECK_EQ(sema_post(&s->to_child), 0);
    CHECK_EQ(sema_wait(&s->to_parent), 0); /* the child holds s->m, waiting */
    (void)mutex_lock(&s->m);
    s->flag = 1;
    (void)cond_signal(&s->cv);
    (void)mutex_unlock(&s->m);
    (void)harness_wait_child(pid);
    CHECK_EQ(s->count, 2L * LOOPS);
    CHECK_EQ(rw_trywrlock(&s->rw), 0);
    CHECK_EQ(rw_unlock(&s->rw), 0);
    CHECK_EQ(mutex_destroy(&s->m), 0);
    CHECK_EQ(cond_destroy(&s->cv), 0);
    CHECK_EQ(sema_destroy(&s->to_child), 0);
    CHECK_EQ(sema_destroy(&s->to_parent), 0);
    CHECK_EQ(rwlock_destroy(&s->rw), 0);
    (void)munmap(s, sizeof(*s));
}

int main(int argc, char **argv) {
    harness_only(argc, argv);
    RUN(test_static_initializers);
    RUN(test_producer_consumer);
    RUN(test_mutex_types);
    RUN(test_cond_times);
    RUN(test_semaphores);
    RUN(test_rwlocks);
    RUN(test_across_fork);
    return (harness_done());
}
