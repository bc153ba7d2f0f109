/* bench.h - helpers shared by the libdoor benchmarks (timing, pinning, statistics).
 * Timing is CLOCK_MONOTONIC, pinning sched_setaffinity; statistics are medians of repetitions.
 */
#ifndef LIBDOOR_BENCH_H
#define LIBDOOR_BENCH_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define DIE(...)                                                                                   \
    do {                                                                                           \
        int e_ = errno;                                                                            \
        fprintf(stderr, "doorbench: " __VA_ARGS__);                                                \
        fprintf(stderr, " (errno=%d %s)\n", e_, strerror(e_));                                     \
        exit(2);                                                                                   \
    } while (0)

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock_ns(clockid_t c) {
    struct timespec ts;
    if (clock_gettime(c, &ts))
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

/* cpu < 0: every online CPU, set explicitly so an inherited mask does not leak in. */
static inline void pin_self(int cpu) {
    cpu_set_t s;
    CPU_ZERO(&s);
    if (cpu < 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        for (long i = 0; i < n; i++)
            CPU_SET(i, &s);
    } else {
        CPU_SET(cpu, &s);
    }
    if (sched_setaffinity(0, sizeof s, &s))
        DIE("sched_setaffinity(%d)", cpu);
}

/* placement name -> client CPU / server CPU (-1 = unpinned) */
static inline void placement(const char *p, int *ccpu, int *scpu) {
    if (!strcmp(p, "same")) {
        *ccpu = 0;
        *scpu = 0;
    } else if (!strcmp(p, "diff")) {
        *ccpu = 0;
        *scpu = 1;
    } else if (!strcmp(p, "none")) {
        *ccpu = -1;
        *scpu = -1;
    } else {
        fprintf(stderr, "placement must be same|diff|none\n");
        exit(2);
    }
}

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static inline double median_of(const double *v, int n) {
    double *t = malloc(sizeof(double) * n);
    memcpy(t, v, sizeof(double) * n);
    qsort(t, n, sizeof(double), cmp_dbl);
    double m = (n & 1) ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    free(t);
    return m;
}

static inline double min_of(const double *v, int n) {
    double m = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] < m)
            m = v[i];
    return m;
}

static inline long sys_futex(void *uaddr, int op, uint32_t val, const struct timespec *ts) {
    return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

#endif
