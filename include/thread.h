/*
 * thread.h - Solaris threads (thr_*) for programs ported to Linux.
 *
 * Part of libdoor, an implementation of the Solaris/illumos Doors C API for
 * Linux.  SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Door servers written for Solaris often create and name their threads with
 * the Solaris threads interface.  libdoor maps it onto POSIX threads:
 * thread_t is a small integer (the main thread is 1), thr_join(0, ...)
 * waits for any undetached thread made by thr_create(), THR_SUSPENDED
 * threads start at thr_continue(), THR_DAEMON threads do not keep the
 * process alive.  Functions return an error number (0 on success), as on
 * Solaris.  Not provided: thr_suspend() of a running thread and
 * thr_setprio()/thr_getprio().  Written from the Solaris manual pages'
 * descriptions; no Solaris or illumos text is reproduced.
 */

#ifndef _THREAD_H
#define _THREAD_H

#include <sys/types.h>
#include <signal.h>
#include <pthread.h>
/* As on Solaris, the synchronization objects come with the threads. */
#include <synch.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned int thread_t;
typedef unsigned int thread_key_t;

/* thr_create() flags. */
#define THR_BOUND 0x00000001
#define THR_NEW_LWP 0x00000002
#define THR_DETACHED 0x00000040
#define THR_SUSPENDED 0x00000080
#define THR_DAEMON 0x00000100

/* Initial value of a key for thr_keycreate_once(). */
#define THR_ONCE_KEY ((thread_key_t)(-1))

int thr_create(void *, size_t, void *(*)(void *), void *, long, thread_t *);
int thr_join(thread_t, thread_t *, void **);
void thr_exit(void *) __attribute__((__noreturn__));
thread_t thr_self(void);
void thr_yield(void);
int thr_kill(thread_t, int);
int thr_continue(thread_t);
/* As on Solaris, left out in strict ISO C mode, where <signal.h> has no
   sigset_t or stack_t. */
#if defined(__USE_POSIX) || !defined(__GLIBC__)
int thr_sigsetmask(int, const sigset_t *, sigset_t *);
#endif
#if defined(__USE_XOPEN_EXTENDED) || defined(__USE_XOPEN2K8) || !defined(__GLIBC__)
int thr_stksegment(stack_t *);
#endif
int thr_main(void);
size_t thr_min_stack(void);
int thr_getconcurrency(void);
int thr_setconcurrency(int);
int thr_keycreate(thread_key_t *, void (*)(void *));
int thr_keycreate_once(thread_key_t *, void (*)(void *));
int thr_setspecific(thread_key_t, void *);
int thr_getspecific(thread_key_t, void **);

#define THR_MIN_STACK thr_min_stack()

#ifdef __cplusplus
}
#endif

#endif /* _THREAD_H */
