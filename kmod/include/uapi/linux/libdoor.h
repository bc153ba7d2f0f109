/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR LGPL-2.1-or-later */
/*
 * libdoor.h - user interface of the /dev/door kernel module.
 *
 * A process opens /dev/door once (the "control" descriptor) and issues every
 * ioctl below on it.  Doors themselves are separate descriptors (anonymous
 * inode files named "[door]"), created by DOOR_IOC_CREATE and named by their
 * descriptor number inside the ioctl arguments.  dup, fork, SCM_RIGHTS and
 * door calls all share the one open file of a door, so the kernel's count
 * of references to that file is the count the unreferenced notification
 * is about.
 *
 * Every structure has only fixed-width fields, every 64-bit field sits at an
 * 8-byte offset and every size is a multiple of 8: a 32-bit process sees
 * the same layout and the same ioctl numbers as a 64-bit one.  Pointers are
 * carried in __u64.  Reserved fields must be zero on input.
 *
 * Attribute and descriptor-tag values are Solaris/illumos' own, so a library
 * passes them through unchanged.
 */
#ifndef _UAPI_LINUX_LIBDOOR_H
#define _UAPI_LINUX_LIBDOOR_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define DOOR_UAPI_VERSION 2
#define DOOR_UAPI_DEVICE "/dev/door"

#define DOOR_UAPI_MAX_DESC 1024 /* most descriptors in one call or reply */
#define DOOR_UAPI_MAX_REPLY (1ULL << 30) /* largest reply, bytes */
#define DOOR_UAPI_QUERY (-2) /* INFO: the door this thread is bound to */

/* Door attributes (door_create, door_info), Solaris values. */
#define DOOR_UAPI_UNREF 0x01
#define DOOR_UAPI_PRIVATE 0x02
#define DOOR_UAPI_LOCAL 0x04
#define DOOR_UAPI_REVOKED 0x08
#define DOOR_UAPI_UNREF_MULTI 0x10
#define DOOR_UAPI_IS_UNREF 0x20
#define DOOR_UAPI_REFUSE_DESC 0x40
#define DOOR_UAPI_NO_CANCEL 0x80
#define DOOR_UAPI_NO_DEPLETION_CB 0x100
#define DOOR_UAPI_PRIVCREATE 0x200
#define DOOR_UAPI_CREATE_MASK 0x3D3 /* what CREATE accepts */
#define DOOR_UAPI_ATTR_MASK 0x3FF /* what descriptors report */

/* Descriptor tags (door_desc_t.d_attributes), Solaris values. */
#define DOOR_UAPI_DESCRIPTOR 0x10000
#define DOOR_UAPI_RELEASE 0x40000

/* door_getparam / door_setparam */
#define DOOR_UAPI_PARAM_DESC_MAX 1
#define DOOR_UAPI_PARAM_DATA_MAX 2
#define DOOR_UAPI_PARAM_DATA_MIN 3

/*
 * One passed descriptor: byte for byte the packed 24-byte door_desc_t of
 * x86 Solaris (attributes, descriptor, 64-bit id, 64-bit reserved).  Arrays
 * of these need no particular alignment in user memory.
 */
struct door_uapi_desc {
	__u32 attributes;
	__s32 descriptor;
	__u64 id; /* the door's id when the descriptor is a door, else 0 */
	__u64 resv;
};

/* DOOR_IOC_VERSION */
struct door_uapi_version {
	__u32 api; /* DOOR_UAPI_VERSION */
	__u32 features; /* 0 for now */
	__u32 max_desc; /* DOOR_UAPI_MAX_DESC */
	__u32 resv;
};

/* DOOR_IOC_CREATE */
struct door_uapi_create {
	__u64 pc; /* server procedure, opaque to the kernel */
	__u64 cookie; /* its cookie, opaque to the kernel */
	__u32 attributes; /* in: DOOR_UAPI_CREATE_MASK bits */
	__s32 fd; /* out: the door, close-on-exec */
	__u64 id; /* out: the door's system-wide unique id */
};

/* DOOR_IOC_REVOKE, DOOR_IOC_BIND */
struct door_uapi_fd {
	__s32 fd;
	__u32 flags; /* 0; OPEN: 0 or DOOR_UAPI_FD_CLOEXEC */
};

/*
 * DOOR_IOC_OPEN: a new open file of the door that fd names, as an open() of
 * a path the door is attached to gives on illumos.  The ioctl returns its
 * descriptor.  Such a file holds the door without taking part in the unref
 * rule: while one is open no notification fires, and its own close never
 * fires one (illumos' openers hold the door's vnode, not its file).
 */
#define DOOR_UAPI_FD_CLOEXEC 0x1

/* DOOR_IOC_INFO */
struct door_uapi_info {
	__s32 fd; /* in: a door, or DOOR_UAPI_QUERY */
	__s32 target; /* server pid as the caller sees it; -1 once it exited
			 or exec'd; 0 if not visible in the caller's pid ns */
	__u64 pc;
	__u64 cookie;
	__u64 id;
	__u32 attributes; /* stored attributes | LOCAL | IS_UNREF | REVOKED */
	__u32 resv;
};

/* DOOR_IOC_CALL flags */
#define DOOR_CALL_NO_RESULTS 0x1 /* in: the caller passed no door_arg_t */
#define DOOR_CALL_RECV_CLOEXEC 0x2 /* in: returned descriptors get FD_CLOEXEC */
#define DOOR_CALL_MAPPED 0x100 /* out: results are in a new mapping */

/*
 * DOOR_IOC_CALL.  Results are placed the Solaris way: data at rbuf, the
 * descriptor records right after the data rounded up to a multiple of 24.
 * When they do not fit in rsize the kernel maps a new private anonymous
 * area in the caller, writes them there and sets MAPPED, rbuf and rsize.
 */
struct door_uapi_call {
	__s32 fd; /* in: the door */
	__u32 flags; /* in/out: DOOR_CALL_* */
	__u64 data_ptr; /* in: argument bytes */
	__u64 data_size; /* in: argument size; out: result size */
	__u64 desc_ptr; /* in: struct door_uapi_desc[desc_num] */
	__u32 desc_num; /* in: argument count; out: result count */
	__u32 resv;
	__u64 rbuf; /* in/out: result buffer */
	__u64 rsize; /* in/out: its size */
};

/* door_uapi_invocation.flags */
#define DOOR_INV_UNREF 0x1 /* unreferenced notification: no client */
#define DOOR_INV_POOL_EMPTY 0x2 /* this took the pool's last parked thread */

/*
 * What a server thread receives: the argument bytes at area+0 and the
 * descriptor records at area + data_size rounded up to 8.
 */
struct door_uapi_invocation {
	__u64 door_id;
	__u64 pc;
	__u64 cookie;
	__u64 data_ptr; /* area, or 0 when data_size is 0 */
	__u64 data_size;
	__u64 desc_ptr; /* inside area, or 0 when desc_num is 0 */
	__u32 desc_num;
	__u32 flags; /* DOOR_INV_* */
	__u32 attributes; /* the door's attributes (depletion callback) */
	__s32 resv;
};

/* DOOR_IOC_RETURN flags */
#define DOOR_RETURN_RECV_CLOEXEC 0x2 /* received descriptors get FD_CLOEXEC */

/*
 * DOOR_IOC_RETURN: reply to the current call (if any), then park in the
 * pool until the next invocation, which is written into area and described
 * in inv.  Errors:
 *  E2BIG, EFAULT, EINVAL, EMFILE: the reply was not delivered; the caller
 *   still waits and the thread still holds the call.
 *  EINTR: a signal interrupted the wait; the reply, if any, was delivered.
 */
struct door_uapi_return {
	__u64 data_ptr; /* in: reply bytes */
	__u64 data_size;
	__u64 desc_ptr; /* in: struct door_uapi_desc[desc_num] */
	__u32 desc_num;
	__u32 flags; /* DOOR_RETURN_* */
	__u64 area_ptr; /* in: where the next invocation is written */
	__u64 area_size;
	struct door_uapi_invocation inv; /* out */
};

/* door_uapi_ucred.flags */
#define DOOR_UCRED_KERNEL 0x1 /* an unreferenced notification: no client */

/* DOOR_IOC_UCRED: credentials of the client of this thread's current call. */
struct door_uapi_ucred {
	__u32 euid, ruid, suid;
	__u32 egid, rgid, sgid; /* all as the reader's user namespace sees them */
	__s32 pid; /* as the reader's pid ns sees it; -1 if not visible; 0 for
		      an unreferenced notification */
	__u32 ngroups; /* out: number of supplementary groups */
	__u64 groups_ptr; /* in: __u32[groups_cap], may be 0 */
	__u32 groups_cap;
	__u32 flags; /* out: DOOR_UCRED_* */
};

/* DOOR_IOC_GETPARAM / DOOR_IOC_SETPARAM */
struct door_uapi_param {
	__s32 fd;
	__u32 param; /* DOOR_UAPI_PARAM_* */
	__u64 value;
};

/*
 * DOOR_IOC_CONFIG: per server process.  cancel_signal (0 = none) is sent,
 * with si_code SI_KERNEL, to a server thread whose client gave up on the
 * call it is serving, unless the door has DOOR_NO_CANCEL.
 */
struct door_uapi_config {
	__u32 cancel_signal;
	__u32 resv;
};

#define DOOR_IOC_MAGIC 0xD0
#define DOOR_IOC_VERSION _IOR(DOOR_IOC_MAGIC, 0x00, struct door_uapi_version)
#define DOOR_IOC_CREATE _IOWR(DOOR_IOC_MAGIC, 0x01, struct door_uapi_create)
#define DOOR_IOC_REVOKE _IOW(DOOR_IOC_MAGIC, 0x02, struct door_uapi_fd)
#define DOOR_IOC_INFO _IOWR(DOOR_IOC_MAGIC, 0x03, struct door_uapi_info)
#define DOOR_IOC_CALL _IOWR(DOOR_IOC_MAGIC, 0x04, struct door_uapi_call)
#define DOOR_IOC_RETURN _IOWR(DOOR_IOC_MAGIC, 0x05, struct door_uapi_return)
#define DOOR_IOC_BIND _IOW(DOOR_IOC_MAGIC, 0x06, struct door_uapi_fd)
#define DOOR_IOC_UNBIND _IO(DOOR_IOC_MAGIC, 0x07)
#define DOOR_IOC_UCRED _IOWR(DOOR_IOC_MAGIC, 0x08, struct door_uapi_ucred)
#define DOOR_IOC_GETPARAM _IOWR(DOOR_IOC_MAGIC, 0x09, struct door_uapi_param)
#define DOOR_IOC_SETPARAM _IOW(DOOR_IOC_MAGIC, 0x0A, struct door_uapi_param)
#define DOOR_IOC_THREAD_EXIT _IO(DOOR_IOC_MAGIC, 0x0B)
#define DOOR_IOC_CONFIG _IOW(DOOR_IOC_MAGIC, 0x0C, struct door_uapi_config)
#define DOOR_IOC_OPEN _IOW(DOOR_IOC_MAGIC, 0x0D, struct door_uapi_fd)

#endif /* _UAPI_LINUX_LIBDOOR_H */
