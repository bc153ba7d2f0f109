/*
 * t_hostile_faults.c - legal but unusual programs and bad pointers must
 * give an errno, never a crash, a hang or the wrong errno.
 *
 * Clauses exercised (door_call(3C), door_return(3C), door_ucred(3C),
 * door_cred(3C), ucred(3C), getpeerucred(3C)):
 *  - door_ucred with a non-NULL but unwritable *info (garbage, a read-only
 *    page), door_cred and door_ucred with a bad info, ucred_getgroups with
 *    a bad groups pointer, getpeerucred with a bad *ucp: EFAULT, and the
 *    server process lives on;
 *  - door_call and door_return with bad buffers give EFAULT also from a
 *    thread that blocks SIGSEGV and SIGBUS, from a signal handler running
 *    on an alternate signal stack, and from a makecontext fiber whose stack
 *    is on the heap;
 *  - the program's own SIGSEGV/SIGBUS handling is untouched by libdoor's
 *    fault catching: a crash handler installed before the first door call
 *    sees the fault's si_addr and a context, can repair the fault and
 *    return; SA_RESETHAND runs a handler once; SA_NODEFER and sa_mask are
 *    honoured; SIG_IGN keeps kill()/raise() of SIGSEGV/SIGBUS harmless; a
 *    handler installed after the first door call is not run for a bad
 *    buffer passed to door_call (EFAULT instead);
 *  - huge sizes: door_return(buf, SIZE_MAX) fails with EFAULT and num_desc
 *    above 1024 with E2BIG in the server while the client keeps waiting
 *    for the real reply; door_call with data_size or desc_num near their
 *    maximum fails at once (EFAULT/E2BIG), and a data_size much larger
 *    than the real buffer fails with EFAULT without the process growing;
 *  - a server that cannot take the descriptors passed to it (its
 *    RLIMIT_NOFILE lowered, running as another uid) makes door_call fail
 *    with EMFILE, and later calls to it work;
 *  - no libdoor descriptor survives exec (client and server side), and a
 *    server that started a background helper and then dies mid-call gives
 *    its client EINTR while that helper still runs.
 *
 * Every scenario that could crash runs in a forked child, so a crash is a
 * reported failure, not the end of the run.
 */
#define _GNU_SOURCE
#include <door.h>
#include <ucred.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <ucontext.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <grp.h>

#include "harness.h"

static char *self_path;

/* A page with no access, and one that is read-only. */
static char *bad_page(int prot) {
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return (NULL);
    memset(p, 'r', 8192);
    (void)mprotect(p, 8192, prot);
    return (p);
}

/* Runs fn in a forked child; the child must exit 0 (no crash, no FAIL). */
static void in_child(void (*fn)(void)) {
    pid_t pid = harness_fork();

    if (pid == 0) {
        fn();
        harness_child_exit();
    }
    REQUIRE(pid > 0);
    (void)harness_wait_child(pid);
}

/* An echo door: the procedure returns its argument. */
static void echo_proc(void *c, char *argp, size_t n, door_desc_t *dp, uint_t nd) {
    uint_t i;

    (void)c;
    for (i = 0; i < nd; i++)
        (void)close(dp[i].d_data.d_desc.d_descriptor);
    if (argp == DOOR_UNREF_DATA)
        argp = NULL, n = 0;
    (void)door_return(argp, n, NULL, 0);
}

/* ---------------------------------------------------------------- 1 */

enum { R_UCRED_GARBAGE, R_UCRED_RO, R_UCRED_BADINFO, R_CRED_BADINFO, R_GROUPS, R_NSLOTS };

static void ucred_proc(void *c, char *argp, size_t n, door_desc_t *dp, uint_t nd) {
    int res[R_NSLOTS];
    ucred_t *uc;
    char *ro = bad_page(PROT_READ);

    (void)c;
    (void)argp;
    (void)n;
    (void)dp;
    (void)nd;
    errno = 0;
    uc = (ucred_t *)1;
    res[R_UCRED_GARBAGE] = door_ucred(&uc) == -1 ? errno : 0;
    uc = (ucred_t *)ro;
    res[R_UCRED_RO] = door_ucred(&uc) == -1 ? errno : 0;
    res[R_UCRED_BADINFO] = door_ucred((ucred_t **)ro) == -1 ? errno : 0;
    res[R_CRED_BADINFO] = door_cred((door_cred_t *)ro) == -1 ? errno : 0;
    uc = NULL;
    if (door_ucred(&uc) == 0) {
        res[R_GROUPS] = ucred_getgroups(uc, (const gid_t **)ro) == -1 ? errno : 0;
        ucred_free(uc);
    } else {
        res[R_GROUPS] = -1;
    }
    (void)door_return((char *)res, sizeof(res), NULL, 0);
}

static void ucred_child(void) {
    int d = door_create(ucred_proc, NULL, 0);
    int res[R_NSLOTS], i;
    door_arg_t a;
    int sv[2];
    ucred_t *uc;
    char *ro = bad_page(PROT_READ);

    REQUIRE(d >= 0);
    memset(&a, 0, sizeof(a));
    a.rbuf = (char *)res;
    a.rsize = sizeof(res);
    REQUIRE(door_call(d, &a) == 0);
    REQUIRE(a.data_size == sizeof(res));
    memcpy(res, a.data_ptr, sizeof(res));
    for (i = 0; i < R_NSLOTS; i++)
        if (!CHECK_EQ(res[i], EFAULT))
            NOTE("slot %d", i);
    /* getpeerucred writes through *ucp the same way. */
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    uc = (ucred_t *)ro;
    expect_errno(getpeerucred(sv[0], &uc), EFAULT);
    uc = (ucred_t *)8;
    expect_errno(getpeerucred(sv[0], &uc), EFAULT);
    expect_errno(getpeerucred(sv[0], (ucred_t **)ro), EFAULT);
    (void)close(sv[0]);
    (void)close(sv[1]);
    /* The server still works. */
    REQUIRE(door_call(d, &a) == 0);
    (void)door_revoke(d);
}

static void ucred_bad_pointers(void) {
    in_child(ucred_child);
}

/* ---------------------------------------------------------------- 2 */

static int g_door = -1;
static char *g_noaccess, *g_ro;

/* Bad-buffer door_calls; every one must fail with EFAULT. */
static void bad_calls(int *errs, int *okcall) {
    door_arg_t a;
    char rbuf[64];
    int v = 42;

    memset(&a, 0, sizeof(a));
    a.data_ptr = g_noaccess;
    a.data_size = 100;
    a.rbuf = rbuf;
    a.rsize = sizeof(rbuf);
    errs[0] = door_call(g_door, &a) == -1 ? errno : 0;
    /* Results into a read-only buffer. */
    memset(&a, 0, sizeof(a));
    a.data_ptr = (char *)&v;
    a.data_size = sizeof(v);
    a.rbuf = g_ro;
    a.rsize = 4096;
    errs[1] = door_call(g_door, &a) == -1 ? errno : 0;
    /* params itself unreadable. */
    errs[2] = door_call(g_door, (door_arg_t *)g_noaccess) == -1 ? errno : 0;
    /* And a good call from the same place. */
    memset(&a, 0, sizeof(a));
    a.data_ptr = (char *)&v;
    a.data_size = sizeof(v);
    a.rbuf = rbuf;
    a.rsize = sizeof(rbuf);
    *okcall = door_call(g_door, &a) == 0 && a.data_size == sizeof(v) &&
              memcmp(a.data_ptr, &v, sizeof(v)) == 0;
}

static void check_bad_calls(const int *errs, int okcall) {
    CHECK_EQ(errs[0], EFAULT);
    CHECK_EQ(errs[1], EFAULT);
    CHECK_EQ(errs[2], EFAULT);
    CHECK(okcall);
}

static void setup_bad(void) {
    g_noaccess = bad_page(PROT_NONE);
    g_ro = bad_page(PROT_READ);
    g_door = door_create(echo_proc, NULL, 0);
}

static void blocked_child(void) {
    sigset_t s;
    int errs[3], ok, i;

    setup_bad();
    REQUIRE(g_door >= 0 && g_noaccess != NULL && g_ro != NULL);
    sigemptyset(&s);
    sigaddset(&s, SIGSEGV);
    sigaddset(&s, SIGBUS);
    REQUIRE(pthread_sigmask(SIG_BLOCK, &s, NULL) == 0);
    /* Twice: the first call may set up per-thread state. */
    for (i = 0; i < 2; i++) {
        bad_calls(errs, &ok);
        check_bad_calls(errs, ok);
    }
}

static void calls_with_segv_blocked(void) {
    in_child(blocked_child);
}

/* door_return with a bad buffer from a procedure that blocks SIGSEGV. */
static void ret_blocked_proc(void *c, char *argp, size_t n, door_desc_t *dp, uint_t nd) {
    sigset_t s;
    int r[2];

    (void)c;
    (void)argp;
    (void)n;
    (void)dp;
    (void)nd;
    sigemptyset(&s);
    sigaddset(&s, SIGSEGV);
    sigaddset(&s, SIGBUS);
    (void)pthread_sigmask(SIG_BLOCK, &s, NULL);
    r[0] = door_return(g_noaccess, 64, NULL, 0) == -1 ? errno : 0;
    r[1] = door_return(g_noaccess, 100000, NULL, 0) == -1 ? errno : 0;
    (void)pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    (void)door_return((char *)r, sizeof(r), NULL, 0);
}

static void ret_blocked_child(void) {
    int d, r[2], i;
    door_arg_t a;

    g_noaccess = bad_page(PROT_NONE);
    d = door_create(ret_blocked_proc, NULL, 0);
    REQUIRE(d >= 0);
    for (i = 0; i < 2; i++) {
        memset(&a, 0, sizeof(a));
        a.rbuf = (char *)r;
        a.rsize = sizeof(r);
        REQUIRE(door_call(d, &a) == 0);
        REQUIRE(a.data_size == sizeof(r));
        memcpy(r, a.data_ptr, sizeof(r));
        CHECK_EQ(r[0], EFAULT);
        CHECK_EQ(r[1], EFAULT);
    }
}

static void return_with_segv_blocked(void) {
    in_child(ret_blocked_child);
}

static int alt_errs[3], alt_ok;
static volatile sig_atomic_t alt_ran;

static void alt_handler(int sig) {
    (void)sig;
    bad_calls(alt_errs, &alt_ok);
    alt_ran = 1;
}

static void altstack_child(void) {
    stack_t ss;
    struct sigaction sa;
    int i;

    /* The alternate stack is a heap block below every mapping. */
    ss.ss_sp = malloc(256 * 1024);
    ss.ss_size = 256 * 1024;
    ss.ss_flags = 0;
    REQUIRE(ss.ss_sp != NULL);
    setup_bad();
    REQUIRE(g_door >= 0 && g_noaccess != NULL && g_ro != NULL);
    REQUIRE(sigaltstack(&ss, NULL) == 0);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = alt_handler;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    REQUIRE(sigaction(SIGUSR1, &sa, NULL) == 0);
    for (i = 0; i < 2; i++) {
        alt_ran = 0;
        (void)raise(SIGUSR1);
        CHECK(alt_ran);
        check_bad_calls(alt_errs, alt_ok);
    }
}

static void calls_on_sigaltstack(void) {
    in_child(altstack_child);
}

static ucontext_t main_uc, fiber_uc;
static int fib_errs[3], fib_ok;

static void fiber_fn(void) {
    bad_calls(fib_errs, &fib_ok);
}

static void fiber_child(void) {
    size_t sz = 256 * 1024;
    char *stk = malloc(sz);
    int i;

    REQUIRE(stk != NULL);
    setup_bad();
    REQUIRE(g_door >= 0 && g_noaccess != NULL && g_ro != NULL);
    for (i = 0; i < 2; i++) {
        REQUIRE(getcontext(&fiber_uc) == 0);
        fiber_uc.uc_stack.ss_sp = stk;
        fiber_uc.uc_stack.ss_size = sz;
        fiber_uc.uc_link = &main_uc;
        makecontext(&fiber_uc, fiber_fn, 0);
        REQUIRE(swapcontext(&main_uc, &fiber_uc) == 0);
        check_bad_calls(fib_errs, fib_ok);
    }
}

static void calls_on_heap_fiber(void) {
    in_child(fiber_child);
}

/* ---------------------------------------------------------------- 3 */

static volatile sig_atomic_t h_count, h_addr_ok, h_ctx_ok, h_nodefer_ok, h_mask_ok;
static char *volatile h_page;

/* Touch libdoor's fault catching: a door call with a bad buffer. */
static void prime_fault_catching(void) {
    door_arg_t a;
    char rb[16];

    if (g_door < 0)
        setup_bad();
    memset(&a, 0, sizeof(a));
    a.data_ptr = g_noaccess;
    a.data_size = 64;
    a.rbuf = rb;
    a.rsize = sizeof(rb);
    expect_errno(door_call(g_door, &a), EFAULT);
    a.data_ptr = rb;
    a.data_size = 8;
    a.rbuf = g_ro;
    a.rsize = 4096;
    expect_errno(door_call(g_door, &a), EFAULT);
}

static void repair_handler(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    h_count++;
    h_addr_ok = si->si_addr == (void *)h_page;
    h_ctx_ok = ctx != NULL && si->si_code > 0;
    (void)mprotect(h_page, 4096, PROT_READ | PROT_WRITE);
}

static void crash_reporter_child(void) {
    struct sigaction sa;

    h_page = bad_page(PROT_READ);
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = repair_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    REQUIRE(sigaction(SIGSEGV, &sa, NULL) == 0);
    prime_fault_catching();
    /* A real fault: the handler repairs it and the store completes. */
    h_page[0] = 'w';
    CHECK_EQ(h_count, 1);
    CHECK(h_addr_ok);
    CHECK(h_ctx_ok);
    CHECK_EQ(h_page[0], 'w');
    /* libdoor still catches bad buffers afterwards. */
    prime_fault_catching();
    (void)mprotect(h_page, 4096, PROT_READ);
    h_page[1] = 'x';
    CHECK_EQ(h_count, 2);
    CHECK_EQ(h_page[1], 'x');
}

static void earlier_handler_repairs_fault(void) {
    in_child(crash_reporter_child);
}

static void count_handler(int sig) {
    sigset_t cur;

    (void)sig;
    h_count++;
    (void)pthread_sigmask(SIG_BLOCK, NULL, &cur);
    h_nodefer_ok = !sigismember(&cur, SIGSEGV);
    h_mask_ok = sigismember(&cur, SIGUSR2);
}

static void resethand_grandchild(void) {
    /* The handler ran once already: this one is the default, fatal. */
    (void)raise(SIGSEGV);
    _exit(0);
}

static void resethand_child(void) {
    struct sigaction sa, cur;
    pid_t pid;
    int st = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = count_handler;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    REQUIRE(sigaction(SIGSEGV, &sa, NULL) == 0);
    prime_fault_catching();
    (void)raise(SIGSEGV);
    CHECK_EQ(h_count, 1);
    CHECK(h_nodefer_ok);
    CHECK(h_mask_ok);
    CHECK_EQ(sigaction(SIGSEGV, NULL, &cur), 0);
    prime_fault_catching();
    pid = fork();
    if (pid == 0)
        resethand_grandchild();
    REQUIRE(pid > 0);
    REQUIRE(waitpid(pid, &st, 0) == pid);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
    CHECK_EQ(h_count, 1);
}

static void handler_flags_honoured(void) {
    in_child(resethand_child);
}

static void ignored_child(void) {
    REQUIRE(signal(SIGSEGV, SIG_IGN) != SIG_ERR);
    REQUIRE(signal(SIGBUS, SIG_IGN) != SIG_ERR);
    prime_fault_catching();
    (void)raise(SIGSEGV);
    (void)kill(getpid(), SIGSEGV);
    (void)raise(SIGBUS);
    (void)kill(getpid(), SIGBUS);
    prime_fault_catching();
    (void)raise(SIGSEGV);
    CHECK(1); /* still alive */
}

static void ignored_stays_ignored(void) {
    in_child(ignored_child);
}

static void late_handler(int sig) {
    (void)sig;
    _exit(7);
}

static void late_child(void) {
    struct sigaction sa;

    prime_fault_catching();
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = late_handler;
    sigemptyset(&sa.sa_mask);
    REQUIRE(sigaction(SIGSEGV, &sa, NULL) == 0);
    REQUIRE(sigaction(SIGBUS, &sa, NULL) == 0);
    /* The handler is not run: EFAULT from the door calls instead. */
    prime_fault_catching();
    prime_fault_catching();
}

static void handler_installed_after_first_call(void) {
    in_child(late_child);
}

/* ---------------------------------------------------------------- 4 */

static void huge_ret_proc(void *c, char *argp, size_t n, door_desc_t *dp, uint_t nd) {
    int r[4];
    char buf[64];
    door_desc_t dd;

    (void)c;
    (void)argp;
    (void)n;
    (void)dp;
    (void)nd;
    memset(buf, 'z', sizeof(buf));
    dd.d_attributes = DOOR_DESCRIPTOR;
    dd.d_data.d_desc.d_descriptor = 0;
    r[0] = door_return(buf, SIZE_MAX, NULL, 0) == -1 ? errno : 0;
    r[1] = door_return(buf, SIZE_MAX - 4095, NULL, 0) == -1 ? errno : 0;
    r[2] = door_return(buf, 16, &dd, UINT_MAX) == -1 ? errno : 0;
    r[3] = door_return(buf, (size_t)1 << 40, NULL, 0) == -1 ? errno : 0;
    (void)door_return((char *)r, sizeof(r), NULL, 0);
}

static void huge_child(void) {
    int d = door_create(huge_ret_proc, NULL, 0);
    int r[4], i;
    door_arg_t a;

    REQUIRE(d >= 0);
    for (i = 0; i < 2; i++) {
        memset(&a, 0, sizeof(a));
        a.rbuf = (char *)r;
        a.rsize = sizeof(r);
        REQUIRE(door_call(d, &a) == 0);
        REQUIRE(a.data_size == sizeof(r));
        memcpy(r, a.data_ptr, sizeof(r));
        CHECK_EQ(r[0], EFAULT);
        CHECK_EQ(r[1], EFAULT);
        CHECK_EQ(r[2], E2BIG);
        CHECK_EQ(r[3], EFAULT);
    }
}

static void door_return_huge_sizes(void) {
    in_child(huge_child);
}

static long peak_rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;

    if (f == NULL)
        return (-1);
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmHWM:", 6) == 0)
            v = atol(line + 6);
    fclose(f);
    return (v);
}

static void huge_call_child(void) {
    door_arg_t a;
    char small[4096], rb[64];
    int i, e;

    char *fenced;

    setup_bad();
    REQUIRE(g_door >= 0);
    /* 8 KiB readable, then 4 MiB that is surely not: a reservation. */
    fenced = mmap(NULL, 8192 + (4 << 20), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(fenced != MAP_FAILED);
    REQUIRE(mprotect(fenced, 8192, PROT_READ) == 0);
    memset(small, 's', sizeof(small));
    for (i = 0; i < 2; i++) {
        /* Far more than the buffer holds, but a size the server takes. */
        memset(&a, 0, sizeof(a));
        a.data_ptr = fenced;
        a.data_size = 3 << 20;
        a.rbuf = rb;
        a.rsize = sizeof(rb);
        expect_errno(door_call(g_door, &a), EFAULT);
        /* Sizes near SIZE_MAX. */
        a.data_ptr = small;
        a.data_size = SIZE_MAX;
        expect_errno(door_call(g_door, &a), E2BIG);
        a.data_size = SIZE_MAX - 4095;
        expect_errno(door_call(g_door, &a), E2BIG);
        a.data_size = SIZE_MAX / 2 + 1;
        expect_errno(door_call(g_door, &a), E2BIG);
        /* Too large for a server stack, or unreadable: either is right. */
        a.data_size = (size_t)1 << 40;
        CHECK_EQ(door_call(g_door, &a), -1);
        e = errno;
        CHECK(e == EFAULT || e == E2BIG);
        /* desc_num: E2BIG over 1024, ENFILE over DESC_MAX (INT_MAX). */
        a.data_size = 16;
        a.desc_ptr = (door_desc_t *)small;
        a.desc_num = INT_MAX;
        expect_errno(door_call(g_door, &a), E2BIG);
        a.desc_num = UINT_MAX;
        expect_errno(door_call(g_door, &a), ENFILE);
        /* rsize near SIZE_MAX with a small real rbuf: legal, fits. */
        memset(&a, 0, sizeof(a));
        a.data_ptr = small;
        a.data_size = 16;
        a.rbuf = rb;
        a.rsize = SIZE_MAX;
        CHECK_EQ(door_call(g_door, &a), 0);
        CHECK_PTR_EQ(a.rbuf, rb);
        CHECK_EQU(a.data_size, 16);
        /* An rsize that cannot be true: the copy faults. */
        a.data_ptr = small;
        a.data_size = 4096;
        a.rbuf = g_ro;
        a.rsize = SIZE_MAX;
        errno = 0;
        CHECK_EQ(door_call(g_door, &a), -1);
        CHECK_EQ(errno, EFAULT);
    }
    /* Nothing allocated gigabytes on the way. */
    CHECK(peak_rss_kb() < 512 * 1024);
}

static void door_call_huge_sizes(void) {
    in_child(huge_call_child);
}

/* ---------------------------------------------------------------- 6 */

static void drop_to_nobody(void) {
    if (geteuid() == 0) {
        (void)setgroups(0, NULL);
        (void)setresgid(65534, 65534, 65534);
        (void)setresuid(65534, 65534, 65534);
    }
}

static int highest_fd(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int hi = 2, dfd = d != NULL ? dirfd(d) : -1;

    if (d == NULL)
        return (1023);
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd != dfd && fd > hi)
            hi = fd;
    }
    closedir(d);
    return (hi);
}

/* The server child: serves echo_proc with `spare` free descriptor slots. */
static void lowfd_server(int sock, int spare) {
    int d = door_create(echo_proc, NULL, 0);
    struct rlimit rl;
    char b;

    if (d < 0 || send_fd(sock, d) != 0)
        _exit(1);
    (void)close(d);
    drop_to_nobody();
    /* Make sure the pool and its manager are fully up first. */
    if (read(sock, &b, 1) != 1)
        _exit(1);
    rl.rlim_cur = rl.rlim_max = (rlim_t)(highest_fd() + 1 + 16);
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        _exit(1);
    /* Fill every free slot, then free `spare` of them. */
    {
        int last[64], k = 0, f;
        while ((f = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
            last[k++ % 64] = f;
        while (spare-- > 0 && k > 0)
            (void)close(last[--k % 64]);
    }
    if (write(sock, "r", 1) != 1)
        _exit(1);
    (void)read(sock, &b, 1); /* until the parent is done */
    _exit(0);
}

static void emfile_case(int spare) {
    int sv[2], d, i, k, r = -1, fds[8];
    pid_t pid;
    door_arg_t a;
    door_desc_t dd[8];
    char b, rb[64];
    int v = 5;

    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    pid = harness_fork();
    if (pid == 0) {
        (void)close(sv[0]);
        lowfd_server(sv[1], spare);
    }
    (void)close(sv[1]);
    REQUIRE((d = recv_fd(sv[0])) >= 0);
    memset(&a, 0, sizeof(a));
    a.data_ptr = (char *)&v;
    a.data_size = sizeof(v);
    a.rbuf = rb;
    a.rsize = sizeof(rb);
    CHECK_EQ(door_call(d, &a), 0);
    CHECK_EQ(write(sv[0], "g", 1), 1);
    CHECK_EQ(read(sv[0], &b, 1), 1);
    for (i = 0; i < 8; i++) {
        fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        dd[i].d_attributes = DOOR_DESCRIPTOR;
        dd[i].d_data.d_desc.d_descriptor = fds[i];
    }
    for (i = 0; i < 2; i++) {
        memset(&a, 0, sizeof(a));
        a.data_ptr = (char *)&v;
        a.data_size = sizeof(v);
        a.desc_ptr = dd;
        a.desc_num = 8;
        a.rbuf = rb;
        a.rsize = sizeof(rb);
        expect_errno(door_call(d, &a), EMFILE);
        /*
         * The server library keeps working.  The slot its reply channel
         * took is free again once the EMFILE reply is out and the channel
         * closed, so a plain call may have to try again a few times.  With
         * no free slot at all a call over the socket path cannot bring its
         * reply channel either (EMFILE, a known difference); a fast-path
         * call still works.
         */
        a.desc_num = 0;
        a.desc_ptr = NULL;
        for (k = 0; k < 100; k++) {
            a.rbuf = rb;
            a.rsize = sizeof(rb);
            r = door_call(d, &a);
            if (r == 0 || errno != EMFILE)
                break;
            (void)usleep(20000);
        }
        if (spare > 0 || r == 0) {
            CHECK_EQ(r, 0);
            CHECK_EQU(a.data_size, sizeof(v));
        } else {
            CHECK_EQ(errno, EMFILE);
        }
    }
    for (i = 0; i < 8; i++)
        (void)close(fds[i]);
    (void)close(d);
    (void)write(sv[0], "x", 1);
    (void)close(sv[0]);
    (void)harness_wait_child(pid);
}

static void server_out_of_descriptors(void) {
    emfile_case(3);
    emfile_case(1);
    emfile_case(0);
}

/* ---------------------------------------------------------------- 7 */

/* Re-executed as `t_hostile_faults --fdlist`: exit status = open fds > 2. */
static int fdlist_main(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0, dfd = d != NULL ? dirfd(d) : -1;
    char p[64], l[256];

    if (d == NULL)
        return (100);
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        ssize_t k;
        if (e->d_name[0] == '.' || fd <= 2 || fd == dfd)
            continue;
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        k = readlink(p, l, sizeof(l) - 1);
        l[k > 0 ? k : 0] = 0;
        printf("  note: descriptor %d survived exec: %s\n", fd, l);
        n++;
    }
    closedir(d);
    fflush(stdout);
    return (n);
}

static int fd_baseline;

/* How many descriptors survive an exec from here (at most 99). */
static int exec_fdlist_count(void) {
    pid_t pid;
    int st = 0;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        (void)dup2(nul, STDOUT_FILENO);
        (void)close(nul);
        execl(self_path, self_path, "--fdlist", (char *)NULL);
        _exit(101);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return (-1);
    return (WEXITSTATUS(st));
}

static void exec_fdlist(const char *who) {
    pid_t pid;
    int st = 0;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        execl(self_path, self_path, "--fdlist", (char *)NULL);
        _exit(101);
    }
    REQUIRE(pid > 0);
    REQUIRE(waitpid(pid, &st, 0) == pid);
    if (!CHECK(WIFEXITED(st) && WEXITSTATUS(st) == fd_baseline))
        NOTE("%s: %d descriptors survived exec (%d before any door)", who, WEXITSTATUS(st),
             fd_baseline);
}

static void fd_proc(void *c, char *argp, size_t n, door_desc_t *dp, uint_t nd) {
    uint_t i;

    (void)c;
    (void)argp;
    (void)n;
    /* Exec from inside a call, with the arguments' descriptors closed. */
    for (i = 0; i < nd; i++)
        (void)close(dp[i].d_data.d_desc.d_descriptor);
    exec_fdlist("server, in a call");
    (void)door_return(NULL, 0, NULL, 0);
}

static void cloexec_child(void) {
    int d, sv[2], r, pd;
    pid_t pid;
    door_arg_t a;
    door_desc_t dd;
    char rb[64], b;
    int v = 1, fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    /* Whatever this process inherited that is not close-on-exec. */
    fd_baseline = exec_fdlist_count();
    REQUIRE(fd_baseline >= 0 && fd_baseline < 100);
    /* A door served by this process, called with and without fds. */
    d = door_create(fd_proc, NULL, 0);
    REQUIRE(d >= 0 && fd >= 0);
    REQUIRE(fcntl(d, F_SETFD, FD_CLOEXEC) == 0);
    dd.d_attributes = DOOR_DESCRIPTOR;
    dd.d_data.d_desc.d_descriptor = fd;
    memset(&a, 0, sizeof(a));
    a.data_ptr = (char *)&v;
    a.data_size = sizeof(v);
    a.rbuf = rb;
    a.rsize = sizeof(rb);
    CHECK_EQ(door_call(d, &a), 0);
    a.desc_ptr = &dd;
    a.desc_num = 1;
    CHECK_EQ(door_call(d, &a), 0);
    /* A door served by another process, called likewise. */
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    pid = fork();
    if (pid == 0) {
        pd = door_create(echo_proc, NULL, 0);
        if (pd < 0 || send_fd(sv[1], pd) != 0)
            _exit(1);
        (void)read(sv[1], &b, 1);
        _exit(0);
    }
    REQUIRE(pid > 0);
    REQUIRE((pd = recv_fd(sv[0])) >= 0);
    memset(&a, 0, sizeof(a));
    a.data_ptr = (char *)&v;
    a.data_size = sizeof(v);
    a.rbuf = rb;
    a.rsize = sizeof(rb);
    CHECK_EQ(door_call(pd, &a), 0);
    r = door_call(pd, &a);
    CHECK_EQ(r, 0);
    a.desc_ptr = &dd;
    a.desc_num = 1;
    CHECK_EQ(door_call(pd, &a), 0);
    (void)fcntl(pd, F_SETFD, FD_CLOEXEC);
    exec_fdlist("client and server, between calls");
    (void)write(sv[0], "x", 1);
    (void)waitpid(pid, NULL, 0);
    (void)close(pd);
    (void)close(sv[0]);
    (void)close(sv[1]);
    (void)close(fd);
    (void)door_revoke(d);
}

static void no_descriptor_survives_exec(void) {
    in_child(cloexec_child);
}

static sem_t *helper_sem;

static void helper_proc(void *c, char *argp, size_t n, door_desc_t *dp, uint_t nd) {
    (void)c;
    (void)argp;
    (void)n;
    (void)dp;
    (void)nd;
    /* A helper that outlives us, holding whatever it inherited. */
    if (system("sleep 60 & echo $! > /tmp/t_hostile_faults.helper") != 0)
        (void)0;
    (void)sem_post(helper_sem);
    for (;;)
        pause();
}

static void helper_case(int with_fast) {
    int sv[2], d, v = 3, r, e;
    pid_t pid, helper = -1;
    door_arg_t a;
    char rb[64];
    FILE *f;

    helper_sem =
        mmap(NULL, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(helper_sem != MAP_FAILED);
    REQUIRE(sem_init(helper_sem, 1, 0) == 0);
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    (void)unlink("/tmp/t_hostile_faults.helper");
    pid = harness_fork();
    if (pid == 0) {
        d = door_create(helper_proc, NULL, 0);
        if (d < 0 || send_fd(sv[1], d) != 0)
            _exit(1);
        for (;;)
            pause();
    }
    REQUIRE(pid > 0);
    REQUIRE((d = recv_fd(sv[0])) >= 0);
    memset(&a, 0, sizeof(a));
    a.data_ptr = (char *)&v;
    a.data_size = sizeof(v);
    a.rbuf = rb;
    a.rsize = sizeof(rb);
    if (!with_fast) {
        /* A descriptor makes it a socket-path call. */
        static door_desc_t dd;
        dd.d_attributes = DOOR_DESCRIPTOR;
        dd.d_data.d_desc.d_descriptor = 0;
        a.desc_ptr = &dd;
        a.desc_num = 1;
    }
    if (fork() == 0) {
        /* Kill the server once the helper runs. */
        if (wait_sem(helper_sem, 30) == 0)
            (void)kill(pid, SIGKILL);
        _exit(0);
    }
    errno = 0;
    r = door_call(d, &a);
    e = errno;
    CHECK_EQ(r, -1);
    CHECK_EQ(e, EINTR);
    f = fopen("/tmp/t_hostile_faults.helper", "r");
    if (f != NULL) {
        if (fscanf(f, "%d", &helper) != 1)
            helper = -1;
        fclose(f);
    }
    /* The call ended while the helper still runs (it sleeps 60 s). */
    CHECK(helper > 0 && kill(helper, 0) == 0);
    if (helper > 0)
        (void)kill(helper, SIGKILL);
    (void)waitpid(pid, NULL, 0);
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    (void)close(d);
    (void)close(sv[0]);
    (void)close(sv[1]);
    (void)unlink("/tmp/t_hostile_faults.helper");
    (void)munmap(helper_sem, sizeof(sem_t));
}

static void server_with_helper_dies(void) {
    helper_case(1);
    helper_case(0);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--fdlist") == 0)
        return (fdlist_main());
    self_path = realpath("/proc/self/exe", NULL);
    harness_only(argc, argv);
    RUN(ucred_bad_pointers);
    RUN(calls_with_segv_blocked);
    RUN(return_with_segv_blocked);
    RUN(calls_on_sigaltstack);
    RUN(calls_on_heap_fiber);
    RUN(earlier_handler_repairs_fault);
    RUN(handler_flags_honoured);
    RUN(ignored_stays_ignored);
    RUN(handler_installed_after_first_call);
    RUN(door_return_huge_sizes);
    RUN(door_call_huge_sizes);
    RUN(server_out_of_descriptors);
    RUN(no_descriptor_survives_exec);
    RUN(server_with_helper_dies);
    return (harness_done());
}
