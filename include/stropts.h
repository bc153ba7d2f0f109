/*
 * stropts.h - the STREAMS-era calls that libdoor provides: fattach(),
 * fdetach() and isastream().
 *
 * Part of libdoor, an implementation of the Solaris/illumos Doors C API for
 * Linux.  SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * glibc 2.30 and later ship no <stropts.h>.  This replacement declares only
 * what libdoor exports (no getmsg/putmsg family, no STREAMS ioctls), plus
 * ioctl() via <sys/ioctl.h>, which Solaris <stropts.h> also declares.
 * Written from scratch; no illumos or glibc text is reproduced.
 */

#ifndef _STROPTS_H
#define _STROPTS_H

#include <sys/types.h>
#include <sys/ioctl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 if fildes is a STREAMS device: always 0 on Linux (-1/EBADF if bad fd). */
int isastream(int);
#ifndef _LIBDOOR_FATTACH_DECLARED
#define _LIBDOOR_FATTACH_DECLARED
/* Attach a door (or other) descriptor to a file-system path. */
int fattach(int, const char *);
/* Detach whatever fattach() attached to a path. */
int fdetach(const char *);
#endif

#ifdef __cplusplus
}
#endif

#endif /* _STROPTS_H */
