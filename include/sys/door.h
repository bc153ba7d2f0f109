/*
 * sys/door.h - types, structures and constants of the Doors IPC interface.
 *
 * Part of libdoor, an implementation of the Solaris/illumos Doors C API for
 * Linux.  SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * This header provides the same names, values and layouts as the user-visible
 * (non-_KERNEL) part of illumos-gate usr/src/uts/common/sys/door.h, revision
 * 5f5704245a8a5f5481611362a8db22105fb1de56 (the version that has
 * DOOR_NO_DEPLETION_CB, DOOR_PRIVCREATE and DOOR_DEPLETION_CB).  It was written
 * from scratch for libdoor from a description of the interface (names,
 * values, layouts); no illumos (CDDL) text is reproduced, so no CDDL notice
 * applies.
 *
 * Differences from illumos, all deliberate:
 *  - Kernel-only members and types (door_handle_t, d_handle, the 32-bit
 *    door_arg32/door_results32/door_return_desc32 under _SYSCALL32, and the
 *    DOOR_WAIT/DOOR_EXIT client states) are left out.
 *  - The pack(4) rule is keyed on the compiler's own architecture macros
 *    (__x86_64__, __i386__), because the illumos guard uses
 *    _LONG_LONG_ALIGNMENT macros that do not exist on Linux and would
 *    silently drop the packing.
 *  - S_IFDOOR, S_ISDOOR() and S_IFPORT live in illumos <sys/stat.h>.  libdoor
 *    cannot replace glibc's <sys/stat.h>, so they are defined here (after
 *    including <sys/stat.h>, and only if not already defined).
 *  - struct door_results: see the comment at its definition about `pc'.
 */

#ifndef _SYS_DOOR_H
#define _SYS_DOOR_H

#include <sys/types.h>
#include <sys/stat.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * 64-bit integer typedefs.  `long long' is not C89; __extension__ keeps
 * `gcc -std=c89 -pedantic' quiet.
 */
#if defined(__GNUC__) || defined(__clang__)
#define _LIBDOOR_EXTENSION __extension__
#else
#define _LIBDOOR_EXTENSION
#endif

#ifndef _UINT_T
#define _UINT_T
typedef unsigned int uint_t;
#endif

/* A server address or cookie; 8 bytes in every data model. */
_LIBDOOR_EXTENSION typedef unsigned long long door_ptr_t;
/* A door's unique identifier (di_uniquifier, d_id). */
_LIBDOOR_EXTENSION typedef unsigned long long door_id_t;
/* Door attribute bits (DOOR_* below). */
typedef unsigned int door_attr_t;

#undef _LIBDOOR_EXTENSION

/* Attributes accepted by door_create() and door_xcreate(). */
#define DOOR_UNREF           0x01  /* deliver one unreferenced notification */
#define DOOR_PRIVATE         0x02  /* the door has its own server-thread pool */
#define DOOR_UNREF_MULTI     0x10  /* unreferenced notifications may repeat */
#define DOOR_REFUSE_DESC     0x40  /* callers may not pass descriptors */
#define DOOR_NO_CANCEL       0x80  /* no server-thread cancel on client abort */
#define DOOR_NO_DEPLETION_CB 0x100 /* door_xcreate(): no depletion callbacks */

/* Attributes reported by door_info() and in door_desc_t. */
#define DOOR_LOCAL        0x04  /* the server is this process */
#define DOOR_REVOKED      0x08  /* revoked, or the server exited/exec'd */
#define DOOR_IS_UNREF     0x20  /* only one reference left (door_info()) */
#define DOOR_PRIVCREATE   0x200 /* created by door_xcreate() */
#define DOOR_DEPLETION_CB 0x400 /* door_info_t handed to a depletion callback */

/*
 * Masks.
 * DOOR_CREATE_MASK = UNREF|PRIVATE|UNREF_MULTI|REFUSE_DESC|NO_CANCEL|
 *                    NO_DEPLETION_CB|PRIVCREATE
 * DOOR_KI_CREATE_MASK = UNREF|UNREF_MULTI (kernel-created doors)
 * DOOR_ATTR_MASK = DOOR_CREATE_MASK|LOCAL|REVOKED|IS_UNREF
 */
#define DOOR_CREATE_MASK    0x3D3
#define DOOR_KI_CREATE_MASK 0x11
#define DOOR_ATTR_MASK      0x3FF

/* Tags in door_desc_t.d_attributes. */
#define DOOR_DESCRIPTOR   0x10000  /* the entry carries a file descriptor */
#define DOOR_HANDLE       0x20000  /* kernel door handle (kernel only) */
#define DOOR_RELEASE      0x40000  /* close the sender's fd once passed */
#define DOOR_DELAY        0x80000  /* internal: unref delayed by active calls */
#define DOOR_UNREF_ACTIVE 0x100000 /* internal: unref upcall in progress */

/* Sentinels. */
#define DOOR_INVAL      (-1)        /* not a door descriptor */
#define DOOR_QUERY      (-2)        /* door_info(): the door this thread is bound to */
#define DOOR_UNREF_DATA ((void *)1) /* argp of an unreferenced invocation */

/* door_getparam() / door_setparam() parameters. */
#define DOOR_PARAM_DESC_MAX 1 /* most descriptors per call */
#define DOOR_PARAM_DATA_MAX 2 /* largest argument size */
#define DOOR_PARAM_DATA_MIN 3 /* smallest argument size */

/* Subcodes of the illumos door system call (informational on Linux). */
#define DOOR_CREATE   0
#define DOOR_REVOKE   1
#define DOOR_INFO     2
#define DOOR_CALL     3
#define DOOR_BIND     6
#define DOOR_UNBIND   7
#define DOOR_UNREFSYS 8
#define DOOR_UCRED    9
#define DOOR_RETURN   10
#define DOOR_GETPARAM 11
#define DOOR_SETPARAM 12

/* File type of a door (illumos <sys/stat.h>); Linux uses nothing at 0xD000. */
#ifndef S_IFDOOR
#define S_IFDOOR 0xD000 /* 0150000 */
#endif
#ifndef S_ISDOOR
#define S_ISDOOR(mode) (((mode)&0xF000) == 0xD000)
#endif
#ifndef S_IFPORT
#define S_IFPORT 0xE000 /* event port (illumos); unused on Linux */
#endif

/*
 * door_desc_t and door_info_t use 4-byte packing on x86, as on illumos/amd64,
 * so that 64-bit and 32-bit processes share one layout (24 and 48 bytes,
 * alignment 4).  On i386 this changes nothing.  Other architectures get the
 * natural layout, as SPARC does on illumos.
 */
#if defined(__x86_64__) || defined(__i386__)
#pragma pack(push, 4)
#endif

/* One descriptor passed with a call or a return. */
typedef struct door_desc {
    door_attr_t d_attributes; /* DOOR_DESCRIPTOR, DOOR_RELEASE, ... */
    union {
        struct {
            int d_descriptor; /* the file descriptor */
            door_id_t d_id;   /* door unique id, if it is a door */
        } d_desc;
        int d_resv[5]; /* reserved; sets the union's size */
    } d_data;
} door_desc_t;

/* Filled in by door_info(). */
typedef struct door_info {
    pid_t di_target;           /* server process */
    door_ptr_t di_proc;        /* server procedure address */
    door_ptr_t di_data;        /* server cookie */
    door_attr_t di_attributes; /* DOOR_* attributes */
    door_id_t di_uniquifier;   /* unique id of the door */
    int di_resv[4];            /* reserved */
} door_info_t;

#if defined(__x86_64__) || defined(__i386__)
#pragma pack(pop)
#endif

/* Client credentials, from the obsolete door_cred(). */
typedef struct door_cred {
    uid_t dc_euid; /* effective uid */
    gid_t dc_egid; /* effective gid */
    uid_t dc_ruid; /* real uid */
    gid_t dc_rgid; /* real gid */
    pid_t dc_pid;  /* client process */
    int dc_resv[4];
} door_cred_t;

/* Arguments and results of door_call(). */
typedef struct door_arg {
    char *data_ptr;        /* argument data; on return, the results */
    size_t data_size;      /* argument size; on return, result size */
    door_desc_t *desc_ptr; /* descriptors; on return, those received */
    uint_t desc_num;       /* descriptor count */
    char *rbuf;            /* result buffer */
    size_t rsize;          /* result buffer size */
} door_arg_t;

/*
 * The block written onto a server thread's stack before its procedure runs.
 * Public in illumos, but only the library's own dispatch code reads it.
 *
 * `pc' is the server procedure.  illumos declares it with the K&R declarator
 * `void (*pc)()', which C23 (and C++) read as `void (*pc)(void)', and which
 * -Wstrict-prototypes rejects in C89..C17.  libdoor declares it as
 * `void (*pc)(void)' in every language mode, so the type is identical in all
 * translation units and the header stays warning-free; the pointer's size
 * and offset are unchanged.  Cast it to door_server_procedure_t * before
 * calling it.
 */
struct door_results {
    void *cookie;           /* server cookie */
    char *data_ptr;         /* argument data */
    size_t data_size;       /* argument size */
    door_desc_t *desc_ptr;  /* descriptors */
    size_t desc_num;        /* descriptor count (size_t, not uint_t) */
    void (*pc)(void);       /* server procedure; see above */
    int nservers;           /* idle servers left; 0 when the pool is empty */
    door_info_t *door_info; /* the door being called */
};

/* Descriptors handed to the door_return system call. */
typedef struct door_return_desc {
    door_desc_t *desc_ptr; /* descriptors to return */
    uint_t desc_num;       /* descriptor count */
} door_return_desc_t;

#ifdef __cplusplus
}
#endif

#endif /* _SYS_DOOR_H */
