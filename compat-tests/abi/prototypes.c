/*
 * prototypes.c - every function libdoor exports (abi/symbols.txt) is
 * declared by the headers with exactly the illumos prototype (as in the
 * SYNOPSIS of its man page).  Each address is assigned to a pointer of the
 * spelled-out type; a mismatch is an error under
 * -Werror=incompatible-pointer-types.  Compile only (-c); no link needed.
 */
#include <door.h>
#include <ucred.h>
#include <stropts.h>
#include <thread.h>
#include <sys/door.h>

/* The function typedefs themselves (section 2.1). */
static void proc_impl(void *cookie, char *argp, size_t arg_size, door_desc_t *dp, uint_t n_desc) {
    (void)cookie;
    (void)argp;
    (void)arg_size;
    (void)dp;
    (void)n_desc;
}
static void server_impl(door_info_t *info) {
    (void)info;
}
static int xcreate_impl(door_info_t *info, void *(*start)(void *), void *arg, void *crcookie) {
    (void)info;
    (void)start;
    (void)arg;
    (void)crcookie;
    return 0;
}
static void thrsetup_impl(void *crcookie) {
    (void)crcookie;
}

door_server_procedure_t *const t_proc = proc_impl;
door_server_func_t *const t_server = server_impl;
door_xcreate_server_func_t *const t_xcreate = xcreate_impl;
door_xcreate_thrsetup_func_t *const t_thrsetup = thrsetup_impl;

/* <door.h> */
int (*const p_door_create)(void (*)(void *, char *, size_t, door_desc_t *, uint_t), void *,
                           uint_t) = door_create;
int (*const p_door_create_td)(door_server_procedure_t *, void *, uint_t) = door_create;
int (*const p_door_revoke)(int) = door_revoke;
int (*const p_door_info)(int, door_info_t *) = door_info;
int (*const p_door_info_tag)(int, struct door_info *) = door_info;
int (*const p_door_call)(int, door_arg_t *) = door_call;
int (*const p_door_return)(char *, size_t, door_desc_t *, uint_t) = door_return;
int (*const p_door_cred)(door_cred_t *) = door_cred;
int (*const p_door_ucred)(ucred_t **) = door_ucred;
int (*const p_door_bind)(int) = door_bind;
int (*const p_door_unbind)(void) = door_unbind;
int (*const p_door_getparam)(int, int, size_t *) = door_getparam;
int (*const p_door_setparam)(int, int, size_t) = door_setparam;
void (*(*const p_door_server_create)(void (*)(door_info_t *)))(door_info_t *) = door_server_create;
int (*const p_door_xcreate)(void (*)(void *, char *, size_t, door_desc_t *, uint_t), void *, uint_t,
                            int (*)(door_info_t *, void *(*)(void *), void *, void *),
                            void (*)(void *), void *, int) = door_xcreate;
const char *(*const p_libdoor_backend)(void) = libdoor_backend;

/* <stropts.h> */
int (*const p_isastream)(int) = isastream;
int (*const p_fattach)(int, const char *) = fattach;
int (*const p_fdetach)(const char *) = fdetach;

/* <thread.h> (Solaris threads) */
int (*const p_thr_create)(void *, size_t, void *(*)(void *), void *, long, thread_t *) = thr_create;
int (*const p_thr_join)(thread_t, thread_t *, void **) = thr_join;
void (*const p_thr_exit)(void *) = thr_exit;
thread_t (*const p_thr_self)(void) = thr_self;
void (*const p_thr_yield)(void) = thr_yield;
int (*const p_thr_kill)(thread_t, int) = thr_kill;
int (*const p_thr_continue)(thread_t) = thr_continue;
int (*const p_thr_main)(void) = thr_main;
size_t (*const p_thr_min_stack)(void) = thr_min_stack;
int (*const p_thr_getconcurrency)(void) = thr_getconcurrency;
int (*const p_thr_setconcurrency)(int) = thr_setconcurrency;
int (*const p_thr_keycreate)(thread_key_t *, void (*)(void *)) = thr_keycreate;
int (*const p_thr_keycreate_once)(thread_key_t *, void (*)(void *)) = thr_keycreate_once;
int (*const p_thr_setspecific)(thread_key_t, void *) = thr_setspecific;
int (*const p_thr_getspecific)(thread_key_t, void **) = thr_getspecific;
#if !defined(__STRICT_ANSI__)
int (*const p_thr_sigsetmask)(int, const sigset_t *, sigset_t *) = thr_sigsetmask;
int (*const p_thr_stksegment)(stack_t *) = thr_stksegment;
#endif

/* <ucred.h> */
ucred_t *(*const p_ucred_get)(pid_t) = ucred_get;
void (*const p_ucred_free)(ucred_t *) = ucred_free;
uid_t (*const p_ucred_geteuid)(const ucred_t *) = ucred_geteuid;
uid_t (*const p_ucred_getruid)(const ucred_t *) = ucred_getruid;
uid_t (*const p_ucred_getsuid)(const ucred_t *) = ucred_getsuid;
gid_t (*const p_ucred_getegid)(const ucred_t *) = ucred_getegid;
gid_t (*const p_ucred_getrgid)(const ucred_t *) = ucred_getrgid;
gid_t (*const p_ucred_getsgid)(const ucred_t *) = ucred_getsgid;
int (*const p_ucred_getgroups)(const ucred_t *, const gid_t **) = ucred_getgroups;
const priv_set_t *(*const p_ucred_getprivset)(const ucred_t *, priv_ptype_t) = ucred_getprivset;
uint_t (*const p_ucred_getpflags)(const ucred_t *, uint_t) = ucred_getpflags;
pid_t (*const p_ucred_getpid)(const ucred_t *) = ucred_getpid;
m_label_t *(*const p_ucred_getlabel)(const ucred_t *) = ucred_getlabel;
bslabel_t *(*const p_ucred_getlabel_bs)(const ucred_t *) = ucred_getlabel;
zoneid_t (*const p_ucred_getzoneid)(const ucred_t *) = ucred_getzoneid;
projid_t (*const p_ucred_getprojid)(const ucred_t *) = ucred_getprojid;
size_t (*const p_ucred_size)(void) = ucred_size;
int (*const p_getpeerucred)(int, ucred_t **) = getpeerucred;
