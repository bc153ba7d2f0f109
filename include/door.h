/*
 * door.h - the Doors IPC library interface.
 *
 * Part of libdoor, an implementation of the Solaris/illumos Doors C API for
 * Linux.  SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Mirrors the interface of illumos-gate usr/src/head/door.h, revision
 * 5f5704245a8a5f5481611362a8db22105fb1de56: the same includes, typedefs and
 * prototypes, so Solaris sources compile unchanged.  The text is libdoor's
 * own, written from the facts in the project's doors-spec.md; no illumos
 * (CDDL) text is reproduced, so no CDDL notice applies.  Programs link with
 * -ldoor.
 *
 * Extension: libdoor_backend().
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

/*
 * libdoor extension (not in illumos): the implementation in use, "user"
 * (pure user-space emulation) or "kernel" (the libdoor kernel module).
 * The string is static; never NULL.
 */
const char *libdoor_backend(void);

#ifdef __cplusplus
}
#endif

#endif /* _DOOR_H */
