/*
 * door.h - the Doors IPC library interface.
 *
 * Part of libdoor, an implementation of the Solaris/illumos Doors C API for
 * Linux.  SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Mirrors the interface of illumos-gate usr/src/head/door.h, revision
 * 5f5704245a8a5f5481611362a8db22105fb1de56: the same includes, typedefs and
 * prototypes, so Solaris sources compile unchanged.  The text is libdoor's
 * own, written from a description of the interface's behaviour; no illumos
 * (CDDL) text is reproduced, so no CDDL notice applies.  Programs link with
 * -ldoor.
 *
 * Extension: libdoor_backend().
 *
 * For older sources, two conveniences that Solaris provides elsewhere:
 *  - fattach() and fdetach() are declared here too (Solaris declares them in
 *    <unistd.h> as well as <stropts.h>), so a program that includes only
 *    <door.h> and <unistd.h> compiles under compilers that reject implicit
 *    declarations;
 *  - door_create() and door_xcreate() also accept a server procedure
 *    declared the Solaris 2.6 way, with `size_t n_desc' as its last
 *    parameter, without a diagnostic: in C through a type-selecting macro
 *    (GCC 4.9+ and Clang), in C++ through overloads.  libdoor passes n_desc
 *    zero-extended to 64 bits, so both kinds of procedure read the right
 *    count.  Taking the address of door_create still gives the function
 *    with its illumos prototype; define _LIBDOOR_NO_PROC_COMPAT to get
 *    the plain declarations only.
 */

#ifndef _DOOR_H
#define _DOOR_H

#include <sys/types.h>
#include <sys/door.h>
#include <ucred.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A door's server procedure: (cookie, argp, arg_size, dp, n_desc). */
typedef void door_server_procedure_t(void *, char *, size_t, door_desc_t *, uint_t);

/* Server-thread creation function installed by door_server_create(). */
typedef void door_server_func_t(door_info_t *);

/*
 * door_xcreate() thread-creation function: (info, start, start_arg, crcookie).
 * It must start a thread running start(start_arg); returns 1 if it created
 * one, 0 if it declined, -1 on error.
 */
typedef int door_xcreate_server_func_t(door_info_t *, void *(*)(void *), void *, void *);

/* door_xcreate() per-thread setup function, called with crcookie. */
typedef void door_xcreate_thrsetup_func_t(void *);

int door_create(door_server_procedure_t *, void *, uint_t);
int door_revoke(int);
int door_info(int, door_info_t *);
int door_call(int, door_arg_t *);
int door_return(char *, size_t, door_desc_t *, uint_t);
int door_cred(door_cred_t *);
int door_ucred(ucred_t **);
int door_bind(int);
int door_unbind(void);
int door_getparam(int, int, size_t *);
int door_setparam(int, int, size_t);
door_server_func_t *door_server_create(door_server_func_t *);
int door_xcreate(door_server_procedure_t *, void *, uint_t, door_xcreate_server_func_t *,
                 door_xcreate_thrsetup_func_t *, void *, int);

/* As in Solaris <unistd.h>; the same declarations as <stropts.h>. */
#ifndef _LIBDOOR_FATTACH_DECLARED
#define _LIBDOOR_FATTACH_DECLARED
int fattach(int, const char *);
int fdetach(const char *);
#endif

/* A server procedure declared the Solaris 2.6 way (size_t n_desc). */
typedef void __door_server_procedure_sz_t(void *, char *, size_t, door_desc_t *, size_t);

#if !defined(__cplusplus) && !defined(_LIBDOOR_NO_PROC_COMPAT) &&                     \
    (defined(__clang__) || (defined(__GNUC__) && (__GNUC__ * 100 + __GNUC_MINOR__) >= 409))
#define __DOOR_PROC(p)                                                                       \
    (__extension__ _Generic((p),                                                             \
        __door_server_procedure_sz_t *: (door_server_procedure_t *)(void (*)(void))(p),        \
        default: (p)))
#define door_create(p, c, a) door_create(__DOOR_PROC(p), (c), (a))
#define door_xcreate(p, c, a, cf, sf, ck, ss) door_xcreate(__DOOR_PROC(p), (c), (a), (cf), (sf), (ck), (ss))
#endif

/*
 * libdoor extension (not in illumos): the implementation in use, "user"
 * (pure user-space emulation) or "kernel" (the libdoor kernel module).
 * The string is static; never NULL.
 */
const char *libdoor_backend(void);

#ifdef __cplusplus
}

/* C++: the Solaris 2.6 procedure form, as overloads. */
inline int door_create(__door_server_procedure_sz_t *p, void *c, uint_t a) {
    return door_create(reinterpret_cast<door_server_procedure_t *>(reinterpret_cast<void (*)(void)>(p)), c, a);
}
inline int door_xcreate(__door_server_procedure_sz_t *p, void *c, uint_t a,
                        door_xcreate_server_func_t *cf, door_xcreate_thrsetup_func_t *sf, void *ck,
                        int ss) {
    return door_xcreate(reinterpret_cast<door_server_procedure_t *>(reinterpret_cast<void (*)(void)>(p)), c, a, cf, sf, ck, ss);
}
#endif

#endif /* _DOOR_H */
