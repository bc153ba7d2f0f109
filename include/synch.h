/*
 * synch.h - Solaris synchronization objects (mutex_t, cond_t, sema_t,
 * rwlock_t) for programs ported to Linux.
 *
 * Part of libdoor, an implementation of the Solaris/illumos Doors C API for
 * Linux.  SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Door servers written for Solaris lock with the Solaris interface rather
 * than POSIX's.  libdoor maps it onto POSIX threads and semaphores: each
 * object holds the corresponding glibc object (pthread_mutex_t,
 * pthread_cond_t, sem_t, pthread_rwlock_t) in storage of a fixed size.
 * As on Solaris, the functions return an error number (0 on success) and
 * leave errno alone; cond_timedwait() and cond_reltimedwait() return ETIME
 * when the time is up; sema_trywait(), rw_tryrdlock() and rw_trywrlock()
 * return EBUSY.  USYNC_PROCESS objects work between processes when they
 * live in shared memory.  Memory filled with zeros is an unlocked
 * USYNC_THREAD object (a semaphore with count 0), as are the DEFAULT*
 * initializers.  Written from the Solaris manual pages' descriptions; no
 * Solaris or illumos text is reproduced.
 */

#ifndef _SYNCH_H
#define _SYNCH_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The storage of each object: larger than glibc's own type, 8-aligned. */
typedef struct {
    union {
        char __opaque[48];
        long __align;
    } __u;
} mutex_t;

typedef struct {
    union {
        char __opaque[48];
        long __align;
    } __u;
} cond_t;

typedef struct {
    union {
        char __opaque[32];
        long __align;
    } __u;
} sema_t;

typedef struct {
    union {
        char __opaque[56];
        long __align;
    } __u;
} rwlock_t;

#ifndef _LIBDOOR_TIMESTRUC_T
#define _LIBDOOR_TIMESTRUC_T
struct timespec;
typedef struct timespec timestruc_t;
#endif

/* Object types (the `type' argument of the *_init functions). */
#define USYNC_THREAD         0x00
#define USYNC_PROCESS        0x01
#define LOCK_NORMAL          0x00
#define LOCK_ERRORCHECK      0x02
#define LOCK_RECURSIVE       0x04
#define USYNC_PROCESS_ROBUST 0x08
#define LOCK_PRIO_NONE       0x00
#define LOCK_PRIO_INHERIT    0x10
#define LOCK_PRIO_PROTECT    0x20
#define LOCK_STALL_NP        0x00
#define LOCK_ROBUST          0x40

/* Static initializers: unlocked USYNC_THREAD objects. */
#define DEFAULTMUTEX                                                                               \
    {                                                                                              \
        {                                                                                          \
            { 0 }                                                                                  \
        }                                                                                          \
    }
#define DEFAULTCV     DEFAULTMUTEX
#define DEFAULTSEMA   DEFAULTMUTEX
#define DEFAULTRWLOCK DEFAULTMUTEX

int mutex_init(mutex_t *, int, void *);
int mutex_destroy(mutex_t *);
int mutex_lock(mutex_t *);
int mutex_trylock(mutex_t *);
int mutex_unlock(mutex_t *);
int mutex_consistent(mutex_t *);

int cond_init(cond_t *, int, void *);
int cond_destroy(cond_t *);
int cond_wait(cond_t *, mutex_t *);
int cond_timedwait(cond_t *, mutex_t *, timestruc_t *);
int cond_reltimedwait(cond_t *, mutex_t *, timestruc_t *);
int cond_signal(cond_t *);
int cond_broadcast(cond_t *);

int sema_init(sema_t *, unsigned int, int, void *);
int sema_destroy(sema_t *);
int sema_wait(sema_t *);
int sema_trywait(sema_t *);
int sema_post(sema_t *);

int rwlock_init(rwlock_t *, int, void *);
int rwlock_destroy(rwlock_t *);
int rw_rdlock(rwlock_t *);
int rw_wrlock(rwlock_t *);
int rw_tryrdlock(rwlock_t *);
int rw_trywrlock(rwlock_t *);
int rw_unlock(rwlock_t *);

#ifdef __cplusplus
}
#endif

#endif /* _SYNCH_H */
