/*
 * ucred.h - user credentials of a door client or socket peer.
 *
 * Part of libdoor, an implementation of the Solaris/illumos Doors C API for
 * Linux.  SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Provides the names of illumos-gate usr/src/head/ucred.h (revision
 * 5f5704245a8a5f5481611362a8db22105fb1de56) that door_ucred() needs; Linux
 * has no <ucred.h>.  Written from scratch for libdoor; no illumos (CDDL) text
 * is reproduced.
 *
 * illumos takes priv_set_t, priv_ptype_t, m_label_t and bslabel_t from
 * <sys/priv.h> and <sys/tsol/label.h>, which Linux lacks, so minimal
 * (incomplete) versions are declared here.  ucred_t is opaque: use the
 * accessors, or allocate ucred_size() bytes.
 */

#ifndef _UCRED_H
#define _UCRED_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef _UINT_T
#define _UINT_T
typedef unsigned int uint_t;
#endif

/* illumos id_t is int (glibc's id_t is unsigned), so use int directly. */
#ifndef _ZONEID_T
#define _ZONEID_T
typedef int zoneid_t;
#endif
#ifndef _PROJID_T
#define _PROJID_T
typedef int projid_t;
#endif

typedef struct ucred_s ucred_t;

/* Privilege sets (<sys/priv.h>); opaque. */
typedef struct priv_set priv_set_t;
/* Privilege set name, e.g. "Effective" (<sys/priv.h>). */
typedef const char *priv_ptype_t;

/* Trusted Extensions labels (<sys/tsol/label.h>); opaque. */
typedef struct _mac_label_impl m_label_t;
typedef m_label_t bslabel_t;

/* ucred_get(P_MYID) returns the caller's own credentials. */
#ifndef P_MYID
#define P_MYID (-1)
#endif

ucred_t *ucred_get(pid_t);
void ucred_free(ucred_t *);

uid_t ucred_geteuid(const ucred_t *);
uid_t ucred_getruid(const ucred_t *);
uid_t ucred_getsuid(const ucred_t *);

gid_t ucred_getegid(const ucred_t *);
gid_t ucred_getrgid(const ucred_t *);
gid_t ucred_getsgid(const ucred_t *);

int ucred_getgroups(const ucred_t *, const gid_t **);

const priv_set_t *ucred_getprivset(const ucred_t *, priv_ptype_t);
uint_t ucred_getpflags(const ucred_t *, uint_t);

pid_t ucred_getpid(const ucred_t *);

m_label_t *ucred_getlabel(const ucred_t *);

zoneid_t ucred_getzoneid(const ucred_t *);
projid_t ucred_getprojid(const ucred_t *);

size_t ucred_size(void);

int getpeerucred(int, ucred_t **);

#ifdef __cplusplus
}
#endif

#endif /* _UCRED_H */
