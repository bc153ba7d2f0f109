/*
 * t_thread.c - Solaris threads (<thread.h>), as door servers written for
 * Solaris use them (thr_create(3C), thr_join(3C), thr_exit(3C),
 * thr_self(3C), thr_main(3C), thr_kill(3C), thr_sigsetmask(3C),
 * thr_stksegment(3C), thr_min_stack(3C), thr_keycreate(3C),
 * thr_setconcurrency(3C), thr_continue(3C)).
 *
 *  1. thr_join(0, ...) reaps any undetached thread, each exactly once,
 *     with the status it returned or passed to thr_exit; then ESRCH;
 *  2. thr_join errors: itself (EDEADLK), a detached thread, an unknown id
 *     (ESRCH); joining a named thread;
 *  3. thr_self is 1 in the main thread and distinct elsewhere; thr_main
 *     is 1 only in the main thread;
 *  4. THR_SUSPENDED: the thread does not run before thr_continue;
 *  5. thr_stksegment reports the high address and size of the calling
 *     thread's stack (a local variable lies inside), also for a stack the
 *     caller supplied; thr_create rejects stacks under thr_min_stack;
 *  6. thr_kill: signal 0 probes, a signal reaches that thread, ESRCH once
 *     it is gone, EINVAL for a bad signal;
 *  7. thread-specific data per thread, destructors at thread exit,
 *     thr_keycreate_once creating one key for racing threads;
 *  8. thr_setconcurrency/thr_getconcurrency, thr_sigsetmask;
 *  9. THR_DAEMON: a process whose main thread thr_exit()s with only
 *     daemon threads left ends (status 0); a non-daemon thread keeps it
 *     alive until it ends;
 * 10. the tutorial door server: door_server_create() with a creation
 *     function that starts bound, detached server threads with
 *     thr_create(), each parking itself with door_return(NULL, 0, ...).
 */
#include <door.h>
#include <thread.h>
#include <signal.h>
#include <unistd.h>

#include "harness.h"

static void *ret_arg(void *arg) {
    return (arg);
}

static void *exit_arg(void *arg) {
    thr_exit(arg);
}

static void test_join_any(void) {
    thread_t ids[4], dep;
    void *st;
    int seen[4] = {0, 0, 0, 0};
    int i, j;

    for (i = 0; i < 4; i++)
        CHECK_EQ(
            thr_create(NULL, 0, i % 2 ? exit_arg : ret_arg, (void *)(long)(100 + i), 0, &ids[i]),
            0);
    for (i = 0; i < 4; i++) {
        dep = 0;
        st = NULL;
        CHECK_EQ(thr_join(0, &dep, &st), 0);
        for (j = 0; j < 4; j++)
            if (ids[j] == dep) {
                seen[j]++;
                CHECK_EQ((long)st, 100 + j);
            }
    }
    for (j = 0; j < 4; j++)
        CHECK_EQ(seen[j], 1);
    CHECK_EQ(thr_join(0, &dep, &st), ESRCH);
}

static void test_join_errors(void) {
    thread_t t, d;
    void *st;

    CHECK_EQ(thr_join(thr_self(), NULL, NULL), EDEADLK);
    CHECK_EQ(thr_create(NULL, 0, ret_arg, NULL, THR_DETACHED, &d), 0);
    CHECK_EQ(thr_join(d, NULL, NULL), ESRCH);
    CHECK_EQ(thr_join(99999, NULL, NULL), ESRCH);
    CHECK_EQ(thr_create(NULL, 0, ret_arg, (void *)7L, 0, &t), 0);
    CHECK_EQ(thr_join(t, NULL, &st), 0);
    CHECK_EQ((long)st, 7);
    CHECK_EQ(thr_join(t, NULL, NULL), ESRCH);
    CHECK_EQ(thr_create(NULL, 0, NULL, NULL, 0, &t), EINVAL);
    CHECK_EQ(thr_create(NULL, 0, ret_arg, NULL, 0x10000, &t), EINVAL);
}

static volatile int other_main = -1;
static volatile thread_t other_self;

static void *who(void *arg) {
    other_main = thr_main();
    other_self = thr_self();
    return (arg);
}

static void test_self_and_main(void) {
    thread_t t;

    CHECK_EQU(thr_self(), 1);
    CHECK_EQ(thr_main(), 1);
    CHECK_EQ(thr_create(NULL, 0, who, NULL, 0, &t), 0);
    CHECK_EQ(thr_join(t, NULL, NULL), 0);
    CHECK_EQ(other_main, 0);
    CHECK_EQU(other_self, t);
    CHECK(t != 1);
}

static volatile int ran;

static void *mark(void *arg) {
    ran = 1;
    return (arg);
}

static void test_suspended(void) {
    thread_t t;

    ran = 0;
    CHECK_EQ(thr_create(NULL, 0, mark, NULL, THR_SUSPENDED, &t), 0);
    (void)usleep(100000);
    CHECK_EQ(ran, 0);
    CHECK_EQ(thr_continue(t), 0);
    CHECK_EQ(thr_join(t, NULL, NULL), 0);
    CHECK_EQ(ran, 1);
    CHECK_EQ(thr_continue(t), ESRCH);
}

static void *stack_probe(void *arg) {
    stack_t ss;
    char here;
    size_t want = (size_t)arg;

    memset(&ss, 0x55, sizeof(ss));
    if (thr_stksegment(&ss) != 0)
        return ((void *)1);
    if ((char *)ss.ss_sp - ss.ss_size > &here || &here >= (char *)ss.ss_sp)
        return ((void *)2);
    if (ss.ss_flags != 0 || ss.ss_size < want)
        return ((void *)3);
    return (ss.ss_sp);
}

static void test_stack(void) {
    thread_t t;
    void *st = NULL;
    size_t sz = 512 * 1024;
    char *mine;

    CHECK(thr_min_stack() > 0);
    CHECK_EQU(THR_MIN_STACK, thr_min_stack());
    CHECK_EQ(thr_create(NULL, 1, ret_arg, NULL, 0, &t), EINVAL);
    CHECK_EQ(thr_create(NULL, sz, stack_probe, (void *)sz, 0, &t), 0);
    CHECK_EQ(thr_join(t, NULL, &st), 0);
    CHECK((uintptr_t)st > 3);
    mine = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(mine != MAP_FAILED);
    CHECK_EQ(thr_create(mine, sz, stack_probe, (void *)sz, 0, &t), 0);
    CHECK_EQ(thr_join(t, NULL, &st), 0);
    CHECK_PTR_EQ(st, mine + sz);
    (void)munmap(mine, sz);
    /* The main thread has a stack segment too. */
    CHECK_PTR_NE(stack_probe((void *)1), (void *)1);
}

static volatile sig_atomic_t usr1_in;

static void on_usr1(int sig) {
    (void)sig;
    usr1_in = (sig_atomic_t)thr_self();
}

static volatile int stop_waiting;

static void *waiter(void *arg) {
    while (!stop_waiting && usr1_in == 0)
        (void)usleep(1000);
    return (arg);
}

static void test_kill(void) {
    thread_t t;
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    (void)sigaction(SIGUSR1, &sa, NULL);
    usr1_in = 0;
    stop_waiting = 0;
    CHECK_EQ(thr_create(NULL, 0, waiter, NULL, 0, &t), 0);
    CHECK_EQ(thr_kill(t, 0), 0);
    CHECK_EQ(thr_kill(t, -1), EINVAL);
    CHECK_EQ(thr_kill(t, SIGUSR1), 0);
    CHECK_EQ(thr_join(t, NULL, NULL), 0);
    CHECK_EQU((thread_t)usr1_in, t);
    CHECK_EQ(thr_kill(t, 0), ESRCH);
    CHECK_EQ(thr_kill(424242, 0), ESRCH);
    sa.sa_handler = SIG_DFL;
    (void)sigaction(SIGUSR1, &sa, NULL);
}

static thread_key_t key;
static volatile int dtor_runs;

static void dtor(void *v) {
    if (v != NULL)
        __atomic_add_fetch(&dtor_runs, 1, __ATOMIC_SEQ_CST);
}

static void *use_key(void *arg) {
    void *v = (void *)-1;

    if (thr_getspecific(key, &v) != 0 || v != NULL)
        return ((void *)1);
    if (thr_setspecific(key, arg) != 0)
        return ((void *)2);
    (void)usleep(20000);
    if (thr_getspecific(key, &v) != 0 || v != arg)
        return ((void *)3);
    return (NULL);
}

static thread_key_t once_key = THR_ONCE_KEY;

static void *make_once(void *arg) {
    (void)thr_keycreate_once(&once_key, NULL);
    return (arg);
}

static void test_keys(void) {
    thread_t t[4];
    void *st;
    int i;
    thread_key_t first;

    dtor_runs = 0;
    CHECK_EQ(thr_keycreate(&key, dtor), 0);
    for (i = 0; i < 4; i++)
        CHECK_EQ(thr_create(NULL, 0, use_key, (void *)(long)(i + 1), 0, &t[i]), 0);
    for (i = 0; i < 4; i++) {
        CHECK_EQ(thr_join(t[i], NULL, &st), 0);
        CHECK_PTR_EQ(st, NULL);
    }
    CHECK_EQ(dtor_runs, 4);
    for (i = 0; i < 4; i++)
        CHECK_EQ(thr_create(NULL, 0, make_once, NULL, 0, &t[i]), 0);
    for (i = 0; i < 4; i++)
        CHECK_EQ(thr_join(t[i], NULL, NULL), 0);
    CHECK(once_key != THR_ONCE_KEY);
    first = once_key;
    CHECK_EQ(thr_keycreate_once(&once_key, NULL), 0);
    CHECK_EQU(once_key, first);
}

static void test_concurrency_and_mask(void) {
    sigset_t s, old;

    CHECK_EQ(thr_getconcurrency(), 0);
    CHECK_EQ(thr_setconcurrency(4), 0);
    CHECK_EQ(thr_getconcurrency(), 4);
    CHECK_EQ(thr_setconcurrency(-1), EINVAL);
    CHECK_EQ(thr_getconcurrency(), 4);
    (void)sigemptyset(&s);
    (void)sigaddset(&s, SIGUSR2);
    CHECK_EQ(thr_sigsetmask(SIG_BLOCK, &s, &old), 0);
    CHECK_EQ(sigismember(&old, SIGUSR2), 0);
    CHECK_EQ(thr_sigsetmask(SIG_SETMASK, NULL, &s), 0);
    CHECK_EQ(sigismember(&s, SIGUSR2), 1);
    CHECK_EQ(thr_sigsetmask(12345, &s, NULL), EINVAL);
    CHECK_EQ(thr_sigsetmask(SIG_SETMASK, &old, NULL), 0);
}

static void *sleep_forever(void *arg) {
    for (;;)
        (void)pause();
    return (arg);
}

static void *finish_later(void *arg) {
    (void)usleep(200000);
    if (write((int)(long)arg, "x", 1) != 1)
        _exit(3);
    return (NULL);
}

static void test_daemon(void) {
    pid_t pid;
    int p[2], st;
    char c;

    /* Only daemon threads left: the process ends. */
    pid = harness_fork();
    if (pid == 0) {
        thread_t t;

        if (thr_create(NULL, 0, sleep_forever, NULL, THR_DAEMON | THR_DETACHED, &t) != 0)
            _exit(2);
        thr_exit(NULL);
    }
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* A non-daemon thread keeps it alive until it ends. */
    REQUIRE(pipe(p) == 0);
    pid = harness_fork();
    if (pid == 0) {
        thread_t t;

        (void)close(p[0]);
        if (thr_create(NULL, 0, sleep_forever, NULL, THR_DAEMON | THR_DETACHED, &t) != 0 ||
            thr_create(NULL, 0, finish_later, (void *)(long)p[1], THR_DETACHED, &t) != 0)
            _exit(2);
        thr_exit(NULL);
    }
    (void)close(p[1]);
    CHECK_EQ(read(p[0], &c, 1), 1);
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    (void)close(p[0]);
}

/* The tutorial: a creation function that starts bound, detached threads. */
static volatile int created;

static void *server_thread(void *arg) {
    (void)arg;
    (void)door_return(NULL, 0, NULL, 0);
    return (NULL);
}

static void create_server(door_info_t *dip) {
    (void)dip;
    created++;
    (void)thr_create(NULL, 0, server_thread, NULL, THR_BOUND | THR_DETACHED, NULL);
}

static void answer(void *cookie, char *argp, size_t n, door_desc_t *dp, uint_t nd) {
    thread_t me = thr_self();

    (void)cookie;
    (void)argp;
    (void)n;
    (void)dp;
    (void)nd;
    (void)door_return((char *)&me, sizeof(me), NULL, 0);
}

static void test_tutorial_server(void) {
    pid_t pid = harness_fork();

    if (pid == 0) {
        int d, i;
        thread_t got;
        door_arg_t a;

        (void)door_server_create(create_server);
        d = door_create(answer, NULL, 0);
        REQUIRE(d >= 0);
        for (i = 0; i < 20; i++) {
            memset(&a, 0, sizeof(a));
            a.rbuf = (char *)&got;
            a.rsize = sizeof(got);
            CHECK_EQ(door_call(d, &a), 0);
            CHECK_EQU(a.data_size, sizeof(got));
            CHECK(got > 1);
        }
        CHECK(created >= 1);
        harness_child_exit();
    }
    harness_wait_child(pid);
}

int main(int argc, char **argv) {
    harness_only(argc, argv);
    RUN(test_join_any);
    RUN(test_join_errors);
    RUN(test_self_and_main);
    RUN(test_suspended);
    RUN(test_stack);
    RUN(test_kill);
    RUN(test_keys);
    RUN(test_concurrency_and_mask);
    RUN(test_daemon);
    RUN(test_tutorial_server);
    return (harness_done());
}
