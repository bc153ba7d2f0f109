/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - kernel API differences between the kernels the door module
 * builds against (Debian's 6.1 and later).
 */
#ifndef DOOR_COMPAT_H
#define DOOR_COMPAT_H

#include <linux/file.h>
#include <linux/version.h>

/* receive_fd() gained a user-pointer argument in 6.7. */
static inline int door_receive_fd(struct file *f, unsigned int o_flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	return receive_fd(f, NULL, o_flags);
#else
	return receive_fd(f, o_flags);
#endif
}

/* The open-file count: still read through file_count() after 6.13. */
static inline long door_file_count(struct file *f)
{
	return file_count(f);
}

#endif /* DOOR_COMPAT_H */
