// SPDX-License-Identifier: GPL-2.0
/*
 * door.c - Solaris/illumos-style doors for Linux: the /dev/door misc device.
 *
 * Objects (see kmod/README.md for the user-visible rules):
 *
 *  door_proc   one per server address space (mm), made at its first
 *              CREATE, RETURN or BIND.  An mmu_notifier's ->release tells
 *              us when that address space goes away (exit, or exec), which
 *              revokes the process's doors and fails calls its threads
 *              were serving.  Holds the shared thread pool, the server
 *              threads, the doors and the unreferenced-notification queue.
 *  door        one per door; its one struct file is the door descriptor
 *              (dup, fork and descriptor passing share it), so the file's
 *              reference count is the count the unref rule is about.
 *  door_thread one per server thread that ever parked or bound.
 *  door_call   one per door_call, shared by client and server.
 *
 * Locking: one spinlock per door_proc (dp->lock) guards its pools,
 * threads, the state of calls dispatched to it, its doors' flags, counters
 * and parameters, and its unref queue.  Nothing that sleeps, faults or
 * allocates runs under it: data is staged before, descriptors are
 * installed and user memory written after.  References (kref) are dropped
 * only with no dp->lock held, since freeing a door takes its dp->lock.
 * door_procs_lock (a mutex) guards the list of live door_procs.
 */
#define pr_fmt(fmt) "door: " fmt

#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/debugfs.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/overflow.h>
#include <linux/module.h>
#include <linux/pid_namespace.h>
#include <linux/pseudo_fs.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uidgid.h>
#include <linux/user_namespace.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "include/uapi/linux/libdoor.h"

#define DESC_SZ ((u64)sizeof(struct door_uapi_desc))

/* The file type a door's inode reports to stat: Solaris' S_IFDOOR. */
#define DOOR_S_IFDOOR 0xD000
#define DOORFS_MAGIC 0x444f4f52 /* "DOOR" */

/* Object counts, shown in debugfs door/stats: all 0 when nothing is left. */
static atomic_t nr_procs, nr_doors, nr_threads, nr_calls, nr_suspended;
/* pages of callers' arguments pinned now (door_args_pin) */
static atomic_long_t nr_pinned;

/*
 * Arguments up to this size travel through a kernel buffer (two copies,
 * cheap at this size); larger ones are copied once: the caller's pages
 * are pinned in its own call, and the server thread copies from them into
 * its area when it takes the call (door_deliver).
 */
#define DOOR_COPY_ONCE_MIN 16384

/*
 * The most pages of callers' arguments pinned at once, for all callers of
 * all doors: a call's pins last as long as it waits for a server thread,
 * which its caller may make forever, and each pin of a small page adds
 * GUP_PIN_COUNTING_BIAS (1024) to the page's count.  Unbounded, a user
 * overflowed the count of one page mapped many times (34 waiting calls,
 * each on 65000 read-only mappings of one memfd page: a warning in
 * try_grab_folio, a panic under panic_on_warn), and could keep any amount
 * of memory from reclaim and migration.  The budget bounds what all pins
 * add to one page's count to 2^26.  Past it, arguments are copied into a
 * kernel buffer, as small ones are.
 */
#define DOOR_PIN_BUDGET 65536

struct door_pool {
	struct list_head parked; /* door_thread.pool_node, most recent first */
	wait_queue_head_t waiters; /* clients waiting for a thread */
};

struct door_proc {
	struct kref ref;
	struct list_head node; /* door_procs, while the mm lives */
	struct mm_struct *mm; /* compared only, and only while !dead */
	struct pid *tgid;
	const struct cred *cred; /* the creator's, for unref invocations */
	spinlock_t lock;
	bool dead;
	bool unref_busy;
	int cancel_signal;
	struct door_pool pool;
	struct list_head doors;
	struct list_head threads;
	struct list_head unref_q;
	struct mmu_notifier mn;
	struct work_struct free_work;
};

struct door {
	struct kref ref;
	struct door_proc *dp; /* holds a reference */
	struct list_head node; /* dp->doors */
	struct list_head unref_node; /* dp->unref_q, or a local put list */
	struct file *file; /* weak: cleared by ->release under dp->lock */
	u32 openers; /* files made by DOOR_IOC_OPEN, open now (dp->lock) */
	u64 id, pc, cookie;
	u32 attrs;
	bool revoked, gone;
	bool unref_queued, unref_delay;
	u32 active; /* calls in flight */
	u64 data_min, data_max, desc_max;
	struct door_pool pool; /* DOOR_PRIVATE */
};

/*
 * A reply with descriptors: its server waits (bounded) for the client to
 * say whether its table took them, as an illumos door_return learns it
 * while translating them into the client.  DROPPED: the client had no room;
 * its call succeeds without them and the server's door_return fails,
 * keeping the descriptors (DOOR_RELEASE ones too).
 */
enum {
	CALL_V_NONE,
	CALL_V_WAIT, /* the server waits */
	CALL_V_TAKEN,
	CALL_V_DROPPED,
	CALL_V_LATE, /* the server stopped waiting: the client's EMFILE is its own */
	CALL_V_DONE, /* the server has released its descriptors (or kept them) */
};
#define DOOR_VERDICT_WAIT HZ

enum call_state {
	CALL_NEW,
	CALL_DISPATCHED, /* handed to a parked thread, not yet delivered */
	CALL_SERVING, /* delivered: the procedure runs */
	CALL_REPLIED,
	CALL_FAILED, /* error set */
	CALL_ABORTED, /* the client gave up */
};

struct door_call {
	struct kref ref;
	struct door *door; /* ref */
	const struct cred *cred;
	struct pid *tgid;
	struct task_struct *client; /* ref */
	struct task_struct *server; /* ref, once dispatched */
	enum call_state state;
	int error;
	bool no_results, active_dropped, pool_empty;
	u8 verdict; /* CALL_V_*: what the client did with the reply's files */
	/* request: in data (a kernel copy), or in the caller's pinned pages
	 * (the bytes start pg_off into pages[0]) */
	void *data;
	struct page **pages;
	u32 npages, pg_off;
	u64 size;
	struct file **files;
	u32 nfiles;
	/* reply */
	void *rdata;
	u64 rsize;
	struct file **rfiles;
	u32 rnfiles;
	wait_queue_head_t wq;
	/* suspended (a stop or freeze interrupted the wait for the reply) */
	struct list_head susp_node;
	void __user *susp_uarg;
	struct list_head kill_node;
};

struct door_thread {
	struct list_head node; /* dp->threads */
	struct list_head pool_node; /* a pool's parked list */
	struct task_struct *task; /* ref */
	struct door_call *call; /* ref: the call being delivered or served */
	struct door *unref_door; /* ref: the unref invocation being served */
	struct door *bound; /* ref: door_bind */
	bool parked, reply_done, pool_empty;
	u64 area_ptr, area_size;
	wait_queue_head_t wq;
};

static DEFINE_MUTEX(door_procs_lock);
static LIST_HEAD(door_procs);
static DEFINE_SPINLOCK(door_susp_lock);
static LIST_HEAD(door_susp);
static atomic64_t door_next_id;
static struct workqueue_struct *door_wq;
static struct dentry *door_debugfs;
static const struct file_operations door_fops;
static const struct file_operations door_open_fops;
static struct vfsmount *door_mnt; /* the internal filesystem of door inodes */

static void door_susp_sweep(struct work_struct *w);
static DECLARE_DELAYED_WORK(door_susp_work, door_susp_sweep);

/* ---- references ------------------------------------------------------ */

static void door_proc_free(struct kref *k)
{
	struct door_proc *dp = container_of(k, struct door_proc, ref);

	WARN_ON(!list_empty(&dp->threads) || !list_empty(&dp->doors));
	put_pid(dp->tgid);
	put_cred(dp->cred);
	kfree(dp);
	atomic_dec(&nr_procs);
}

static void door_proc_put(struct door_proc *dp)
{
	kref_put(&dp->ref, door_proc_free);
}

static void door_free(struct kref *k)
{
	struct door *d = container_of(k, struct door, ref);
	struct door_proc *dp = d->dp;

	spin_lock(&dp->lock);
	list_del(&d->node);
	spin_unlock(&dp->lock);
	kfree(d);
	atomic_dec(&nr_doors);
	door_proc_put(dp);
}

static void door_put(struct door *d)
{
	if (d)
		kref_put(&d->ref, door_free);
}

static void door_files_put(struct file **files, u32 n)
{
	u32 i;

	if (!files)
		return;
	for (i = 0; i < n; i++)
		if (files[i])
			fput(files[i]);
	kvfree(files);
}

/* Unpins the caller's argument pages, if any are pinned. */
static void door_args_unpin(struct door_call *c)
{
	if (!c->pages)
		return;
	unpin_user_pages(c->pages, c->npages);
	atomic_long_sub(c->npages, &nr_pinned);
	kvfree(c->pages);
	c->pages = NULL;
	c->npages = 0;
}

static void door_call_free(struct kref *k)
{
	struct door_call *c = container_of(k, struct door_call, ref);

	door_args_unpin(c);
	kvfree(c->data);
	kvfree(c->rdata);
	door_files_put(c->files, c->nfiles);
	door_files_put(c->rfiles, c->rnfiles);
	if (c->server)
		put_task_struct(c->server);
	put_task_struct(c->client);
	put_pid(c->tgid);
	put_cred(c->cred);
	door_put(c->door);
	kfree(c);
	atomic_dec(&nr_calls);
}

static void door_call_put(struct door_call *c)
{
	if (c)
		kref_put(&c->ref, door_call_free);
}

/*
 * Pins the caller's `size` bytes of arguments at `uptr` (read only), in
 * the caller's own context.  0: pinned; -EFAULT: a byte is not readable
 * memory of the caller, as a copy would find; 1: to be copied instead
 * (readable memory that cannot be pinned, a driver's PFN mapping, or more
 * pages than DOOR_PIN_BUDGET leaves).
 */
static long door_args_pin(struct door_call *c, u64 uptr, u64 size)
{
	u64 first = uptr & PAGE_MASK, end;
	long n, got;

	if (check_add_overflow(uptr, size, &end) || !access_ok(u64_to_user_ptr(uptr), size))
		return -EFAULT;
	n = (long)((PAGE_ALIGN(end) - first) >> PAGE_SHIFT);
	/* the budget is taken before any page is pinned: the count never
	 * passes it, however many callers pin at once */
	if (atomic_long_add_return(n, &nr_pinned) > DOOR_PIN_BUDGET) {
		atomic_long_sub(n, &nr_pinned);
		return 1;
	}
	c->pages = kvmalloc_array(n, sizeof(*c->pages), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!c->pages) {
		atomic_long_sub(n, &nr_pinned);
		return -ENOMEM;
	}
	got = pin_user_pages_fast((unsigned long)first, (int)n, 0, c->pages);
	c->npages = got > 0 ? (u32)got : 0;
	atomic_long_sub(n - c->npages, &nr_pinned); /* what was not pinned */
	if (got != n) {
		u64 stop = max_t(u64, first + (u64)max(got, 0L) * PAGE_SIZE, uptr);
		u8 probe;

		door_args_unpin(c);
		if (got == -ENOMEM)
			return -ENOMEM;
		return copy_from_user(&probe, u64_to_user_ptr(stop), 1) ? -EFAULT : 1;
	}
	c->pg_off = (u32)(uptr & ~PAGE_MASK);
	c->size = size;
	return 0;
}

/* Copies the pinned arguments of c to the user address dst (the server
 * thread's area), then unpins them.  -EFAULT if the area is not writable. */
static long door_args_copy_pinned(struct door_call *c, u64 dst)
{
	u64 left = c->size, off = c->pg_off;
	long err = 0;
	u32 i;

	for (i = 0; i < c->npages && left; i++) {
		u64 n = min_t(u64, left, PAGE_SIZE - off);
		void *src = kmap_local_page(c->pages[i]);
		unsigned long miss = copy_to_user(u64_to_user_ptr(dst), src + off, n);

		kunmap_local(src);
		if (miss || fatal_signal_pending(current)) {
			err = -EFAULT;
			break;
		}
		dst += n;
		left -= n;
		off = 0;
		if (!(i & 255))
			cond_resched();
	}
	door_args_unpin(c);
	return err;
}

/* ---- small helpers ----------------------------------------------------- */

static bool door_is_door(struct file *f)
{
	return f && (f->f_op == &door_fops || f->f_op == &door_open_fops);
}

/* The door named by descriptor fd, with a reference; the file is not held
 * (a call never keeps the door's file referenced while it waits).  *count:
 * the references to the file apart from the one taken here. */
static struct door *door_from_fd(int fd, long *count)
{
	struct file *f = fget(fd);
	struct door *d;

	if (!f)
		return NULL;
	if (!door_is_door(f)) {
		fput(f);
		return NULL;
	}
	d = f->private_data;
	kref_get(&d->ref);
	if (count)
		*count = door_file_count(f) - 1;
	fput(f);
	return d;
}

/* Is dp the server of the calling process?  (dead is checked first: the
 * mm pointer is only meaningful while dp is registered on that mm.) */
static bool door_proc_is_current(struct door_proc *dp)
{
	return !READ_ONCE(dp->dead) && dp->mm == current->mm;
}

static struct door_pool *door_pool_of(struct door *d)
{
	return (d->attrs & DOOR_UAPI_PRIVATE) ? &d->pool : &d->dp->pool;
}

static void door_pool_init(struct door_pool *p)
{
	INIT_LIST_HEAD(&p->parked);
	init_waitqueue_head(&p->waiters);
}

/*
 * A pending, unblocked signal that will run a handler?  Stops, the
 * freezer and task work also make signal_pending() true but run no
 * handler: a door call survives those (the system call is restarted).
 */
static bool door_handler_pending(void)
{
	struct task_struct *t = current;
	sigset_t pend;
	bool ret = false;
	int sig;

	spin_lock_irq(&t->sighand->siglock);
	sigorsets(&pend, &t->pending.signal, &t->signal->shared_pending.signal);
	for (sig = 1; sig <= _NSIG; sig++) {
		__sighandler_t h;

		if (!sigismember(&pend, sig) || sigismember(&t->blocked, sig))
			continue;
		h = t->sighand->action[sig - 1].sa.sa_handler;
		if (h != SIG_DFL && h != SIG_IGN) {
			ret = true;
			break;
		}
	}
	spin_unlock_irq(&t->sighand->siglock);
	return ret;
}

/* What a signal-interrupted wait should do: abort (true) or restart. */
static bool door_signal_aborts(void)
{
	return fatal_signal_pending(current) || door_handler_pending();
}

/* Attributes a receiver sees for a passed file. */
static void door_desc_for(struct file *f, struct door_uapi_desc *out, int fd)
{
	memset(out, 0, sizeof(*out));
	out->attributes = DOOR_UAPI_DESCRIPTOR;
	out->descriptor = fd;
	if (door_is_door(f)) {
		struct door *d = f->private_data;

		out->attributes |= READ_ONCE(d->attrs) & DOOR_UAPI_ATTR_MASK;
		if (READ_ONCE(d->revoked))
			out->attributes |= DOOR_UAPI_REVOKED;
		if (door_proc_is_current(d->dp))
			out->attributes |= DOOR_UAPI_LOCAL;
		out->id = d->id;
	}
}

/* ---- unreferenced notifications --------------------------------------- */

/* Hand a queued unref to a parked thread of the right pool.  dp->lock. */
static void door_unref_dispatch_locked(struct door_proc *dp)
{
	struct door *d;

	if (dp->unref_busy || dp->dead)
		return;
	list_for_each_entry(d, &dp->unref_q, unref_node) {
		struct door_pool *pool = door_pool_of(d);
		struct door_thread *t;

		if (list_empty(&pool->parked))
			continue;
		t = list_first_entry(&pool->parked, struct door_thread, pool_node);
		list_del_init(&t->pool_node);
		t->parked = false;
		list_del_init(&d->unref_node);
		d->unref_queued = false;
		t->unref_door = d; /* the queue's reference moves here */
		t->pool_empty = list_empty(&pool->parked);
		dp->unref_busy = true;
		wake_up(&t->wq);
		return;
	}
}

/* The 2->1 transition was seen (or a delayed one is due).  dp->lock. */
static void door_unref_queue_locked(struct door *d)
{
	struct door_proc *dp = d->dp;

	if (!(d->attrs & (DOOR_UAPI_UNREF | DOOR_UAPI_UNREF_MULTI)) ||
	    d->revoked || dp->dead || !d->file)
		return;
	if (d->active) {
		d->unref_delay = true;
		return;
	}
	if (d->unref_queued)
		return;
	d->unref_queued = true;
	d->attrs &= ~DOOR_UAPI_UNREF; /* a one-shot notification is spent */
	kref_get(&d->ref);
	list_add_tail(&d->unref_node, &dp->unref_q);
	door_unref_dispatch_locked(dp);
}

/* A call stops counting as in flight.  dp->lock. */
static void door_active_drop_locked(struct door_call *c)
{
	struct door *d = c->door;

	if (c->active_dropped)
		return;
	c->active_dropped = true;
	if (--d->active == 0 && d->unref_delay) {
		d->unref_delay = false;
		door_unref_queue_locked(d);
	}
}

/* ---- the door file ------------------------------------------------------ */

static int door_flush(struct file *f, fl_owner_t id)
{
	struct door *d = f->private_data;

	/* flush runs before the reference is dropped: 2 means "leaves one";
	 * an opener's file (DOOR_IOC_OPEN) open now holds the door too */
	if (door_file_count(f) == 2) {
		spin_lock(&d->dp->lock);
		if (d->openers == 0)
			door_unref_queue_locked(d);
		spin_unlock(&d->dp->lock);
	}
	return 0;
}

/* An opener's file closes: never an unref notification. */
static int door_open_release(struct inode *inode, struct file *f)
{
	struct door *d = f->private_data;

	spin_lock(&d->dp->lock);
	d->openers--;
	spin_unlock(&d->dp->lock);
	door_put(d);
	return 0;
}

static int door_release(struct inode *inode, struct file *f)
{
	struct door *d = f->private_data;

	spin_lock(&d->dp->lock);
	d->file = NULL;
	spin_unlock(&d->dp->lock);
	door_put(d);
	return 0;
}

static void door_show_fdinfo(struct seq_file *m, struct file *f)
{
	struct door *d = f->private_data;
	int target = READ_ONCE(d->gone) ? -1 :
		pid_nr_ns(d->dp->tgid, task_active_pid_ns(current));

	seq_printf(m, "door_id:\t%llu\ndoor_target:\t%d\n", d->id, target);
}

static const struct file_operations door_fops = {
	.owner = THIS_MODULE,
	.flush = door_flush,
	.release = door_release,
	.show_fdinfo = door_show_fdinfo,
};

static const struct file_operations door_open_fops = {
	.owner = THIS_MODULE,
	.release = door_open_release,
	.show_fdinfo = door_show_fdinfo,
};

/* ---- server processes ---------------------------------------------------- */

/* The process died or exec'd: its doors are revoked for good. */
static void door_proc_kill(struct door_proc *dp)
{
	LIST_HEAD(doors);
	LIST_HEAD(threads);
	LIST_HEAD(calls);
	struct door_thread *t, *tn;
	struct door *d, *dn;

	spin_lock(&dp->lock);
	dp->dead = true;
	list_for_each_entry(d, &dp->doors, node) {
		d->revoked = true;
		d->gone = true;
		wake_up_all(&d->pool.waiters);
	}
	wake_up_all(&dp->pool.waiters);
	list_splice_init(&dp->unref_q, &doors);
	list_for_each_entry(d, &doors, unref_node)
		d->unref_queued = false;
	list_splice_init(&dp->threads, &threads);
	list_for_each_entry(t, &threads, node) {
		struct door_call *c = t->call;

		list_del_init(&t->pool_node);
		if (c) {
			if (c->state == CALL_DISPATCHED || c->state == CALL_SERVING) {
				c->state = CALL_FAILED;
				c->error = -EINTR;
				door_active_drop_locked(c);
				wake_up(&c->wq);
			}
			list_add(&c->kill_node, &calls);
			t->call = NULL;
		}
	}
	dp->unref_busy = false;
	spin_unlock(&dp->lock);

	list_for_each_entry_safe(d, dn, &doors, unref_node) {
		list_del_init(&d->unref_node);
		door_put(d);
	}
	while (!list_empty(&calls)) {
		struct door_call *c = list_first_entry(&calls, struct door_call, kill_node);

		list_del(&c->kill_node);
		door_call_put(c);
	}
	list_for_each_entry_safe(t, tn, &threads, node) {
		list_del(&t->node);
		door_put(t->unref_door);
		door_put(t->bound);
		put_task_struct(t->task);
		kfree(t);
		atomic_dec(&nr_threads);
	}
}

static void door_proc_free_work(struct work_struct *w)
{
	struct door_proc *dp = container_of(w, struct door_proc, free_work);

	mmu_notifier_unregister(&dp->mn, dp->mm);
	door_proc_put(dp);
	module_put(THIS_MODULE);
}

static void door_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct door_proc *dp = container_of(mn, struct door_proc, mn);

	mutex_lock(&door_procs_lock);
	list_del_init(&dp->node);
	mutex_unlock(&door_procs_lock);
	door_proc_kill(dp);
	/* unregistering waits for this notifier's callers: not from here */
	queue_work(door_wq, &dp->free_work);
}

static const struct mmu_notifier_ops door_mn_ops = {
	.release = door_mn_release,
};

/* The calling process's door_proc, with a reference; made if asked. */
static struct door_proc *door_proc_current(bool create)
{
	struct door_proc *dp;
	int err;

	if (!current->mm)
		return ERR_PTR(-EINVAL);
	mutex_lock(&door_procs_lock);
	list_for_each_entry(dp, &door_procs, node) {
		if (dp->mm == current->mm) {
			kref_get(&dp->ref);
			mutex_unlock(&door_procs_lock);
			return dp;
		}
	}
	if (!create) {
		mutex_unlock(&door_procs_lock);
		return NULL;
	}
	dp = kzalloc(sizeof(*dp), GFP_KERNEL_ACCOUNT);
	if (!dp) {
		mutex_unlock(&door_procs_lock);
		return ERR_PTR(-ENOMEM);
	}
	kref_init(&dp->ref); /* the registration's reference */
	spin_lock_init(&dp->lock);
	door_pool_init(&dp->pool);
	INIT_LIST_HEAD(&dp->doors);
	INIT_LIST_HEAD(&dp->threads);
	INIT_LIST_HEAD(&dp->unref_q);
	INIT_WORK(&dp->free_work, door_proc_free_work);
	dp->mm = current->mm;
	dp->tgid = get_pid(task_tgid(current));
	dp->cred = get_current_cred();
	dp->mn.ops = &door_mn_ops;
	err = mmu_notifier_register(&dp->mn, current->mm);
	if (err) {
		mutex_unlock(&door_procs_lock);
		put_pid(dp->tgid);
		put_cred(dp->cred);
		kfree(dp);
		return ERR_PTR(err);
	}
	__module_get(THIS_MODULE); /* dropped by door_proc_free_work */
	atomic_inc(&nr_procs);
	list_add(&dp->node, &door_procs);
	kref_get(&dp->ref);
	mutex_unlock(&door_procs_lock);
	return dp;
}

/* This thread's record in dp (dp->lock held). */
static struct door_thread *door_thread_find(struct door_proc *dp)
{
	struct door_thread *t;

	list_for_each_entry(t, &dp->threads, node)
		if (t->task == current)
			return t;
	return NULL;
}

static struct door_thread *door_thread_current(struct door_proc *dp)
{
	struct door_thread *t, *n;

	spin_lock(&dp->lock);
	t = door_thread_find(dp);
	spin_unlock(&dp->lock);
	if (t)
		return t;
	n = kzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT);
	if (!n)
		return ERR_PTR(-ENOMEM);
	INIT_LIST_HEAD(&n->pool_node);
	init_waitqueue_head(&n->wq);
	n->task = get_task_struct(current);
	spin_lock(&dp->lock);
	if (dp->dead) {
		spin_unlock(&dp->lock);
		put_task_struct(n->task);
		kfree(n);
		return ERR_PTR(-EINVAL);
	}
	list_add(&n->node, &dp->threads);
	atomic_inc(&nr_threads);
	spin_unlock(&dp->lock);
	return n;
}

/* ---- staging descriptors -------------------------------------------------- */

/*
 * Read n descriptor records and take a reference on each file.  *bad is
 * set (EINVAL) for an entry without DOOR_DESCRIPTOR or naming no open
 * file; such entries get a NULL slot.  Returns 0 or -EFAULT/-ENOMEM.
 */
static int door_desc_stage(u64 uptr, u32 n, struct file ***filesp,
			   struct door_uapi_desc **descp, bool *bad)
{
	struct door_uapi_desc *desc;
	struct file **files;
	u32 i;

	*filesp = NULL;
	*descp = NULL;
	*bad = false;
	if (!n)
		return 0;
	desc = kvmalloc_array(n, DESC_SZ, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	files = kvcalloc(n, sizeof(*files), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!desc || !files) {
		kvfree(desc);
		kvfree(files);
		return -ENOMEM;
	}
	if (copy_from_user(desc, u64_to_user_ptr(uptr), n * DESC_SZ)) {
		kvfree(desc);
		kvfree(files);
		return -EFAULT;
	}
	for (i = 0; i < n; i++) {
		if (!(desc[i].attributes & DOOR_UAPI_DESCRIPTOR) ||
		    !(files[i] = fget(desc[i].descriptor)))
			*bad = true;
	}
	*filesp = files;
	*descp = desc;
	return 0;
}

/*
 * Close the sender's DOOR_RELEASE entries whose file was staged, each only
 * while its number still names that file: a caller may wait long for a
 * server thread after staging, and meanwhile another of its threads may
 * have given the number to a file that was never passed.
 */
static void door_desc_release(struct door_uapi_desc *desc, struct file **files, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		struct file *now;

		if (!files[i] || !(desc[i].attributes & DOOR_UAPI_RELEASE))
			continue;
		now = fget(desc[i].descriptor);
		if (now == files[i])
			close_fd(desc[i].descriptor);
		if (now)
			fput(now);
	}
}

/*
 * Install files in the calling process and write their records at udesc.
 * On failure every descriptor installed here is closed again.
 */
static void door_fds_close(int *fds, u32 n)
{
	while (n-- > 0)
		if (fds[n] >= 0)
			close_fd(fds[n]);
	kvfree(fds);
}

/* Install n files in the calling process: *fdsp gets their descriptors.
 * On failure (EMFILE when the table is full) nothing is left installed. */
static int door_desc_receive(struct file **files, u32 n, bool cloexec, int **fdsp)
{
	int *fds;
	u32 i;

	*fdsp = NULL;
	fds = kvmalloc_array(n, sizeof(int), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!fds)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		fds[i] = door_receive_fd(files[i], cloexec ? O_CLOEXEC : 0);
		if (fds[i] < 0) {
			int err = fds[i] == -EMFILE || fds[i] == -ENFILE ? -EMFILE : fds[i];

			door_fds_close(fds, i);
			return err;
		}
	}
	*fdsp = fds;
	return 0;
}

/* Write the records of installed descriptors fds (then freed) at udesc;
 * on a fault they are closed again. */
static int door_desc_records(struct file **files, int *fds, u32 n, u64 udesc)
{
	struct door_uapi_desc rec;
	u32 i;

	for (i = 0; i < n; i++) {
		door_desc_for(files[i], &rec, fds[i]);
		if (copy_to_user(u64_to_user_ptr(udesc + i * DESC_SZ), &rec, sizeof(rec))) {
			door_fds_close(fds, n);
			return -EFAULT;
		}
	}
	kvfree(fds);
	return 0;
}

static int door_desc_install(struct file **files, u32 n, u64 udesc, bool cloexec)
{
	int *fds;
	int err;

	if (!n)
		return 0;
	err = door_desc_receive(files, n, cloexec, &fds);
	if (err)
		return err;
	return door_desc_records(files, fds, n, udesc);
}

/* ---- suspended calls -------------------------------------------------------- */

static void door_call_abort(struct door_call *c);

static void door_susp_add(struct door_call *c, void __user *uarg)
{
	kref_get(&c->ref);
	c->susp_uarg = uarg;
	spin_lock(&door_susp_lock);
	list_add(&c->susp_node, &door_susp);
	atomic_inc(&nr_suspended);
	spin_unlock(&door_susp_lock);
	mod_delayed_work(door_wq, &door_susp_work, HZ);
}

static struct door_call *door_susp_take(struct task_struct *task)
{
	struct door_call *c;

	spin_lock(&door_susp_lock);
	list_for_each_entry(c, &door_susp, susp_node) {
		if (c->client == task) {
			list_del_init(&c->susp_node);
			atomic_dec(&nr_suspended);
			spin_unlock(&door_susp_lock);
			return c;
		}
	}
	spin_unlock(&door_susp_lock);
	return NULL;
}

/* Calls whose client died while suspended are aborted and freed. */
static void door_susp_sweep(struct work_struct *w)
{
	struct door_call *c, *n;
	LIST_HEAD(dead);
	bool more;

	spin_lock(&door_susp_lock);
	list_for_each_entry_safe(c, n, &door_susp, susp_node) {
		if (c->client->flags & PF_EXITING) {
			list_move(&c->susp_node, &dead);
			atomic_dec(&nr_suspended);
		}
	}
	more = !list_empty(&door_susp);
	spin_unlock(&door_susp_lock);
	list_for_each_entry_safe(c, n, &dead, susp_node) {
		list_del_init(&c->susp_node);
		door_call_abort(c);
		door_call_put(c);
	}
	if (more)
		queue_delayed_work(door_wq, &door_susp_work, HZ);
}

/* ---- the door inodes' filesystem ------------------------------------------------ */

/* /proc/PID/fd/N shows "door:[INODE]". */
static char *door_dname(struct dentry *dentry, char *buffer, int buflen)
{
	char name[40];
	int n = snprintf(name, sizeof(name), "door:[%lu]", d_inode(dentry)->i_ino);

	if (n + 1 > buflen)
		return ERR_PTR(-ENAMETOOLONG);
	buffer += buflen - (n + 1);
	memcpy(buffer, name, n + 1);
	return buffer;
}

static const struct dentry_operations door_dops = {
	.d_dname = door_dname,
};

static int door_init_fs_context(struct fs_context *fc)
{
	struct pseudo_fs_context *ctx = init_pseudo(fc, DOORFS_MAGIC);

	if (!ctx)
		return -ENOMEM;
	ctx->dops = &door_dops;
	return 0;
}

static struct file_system_type door_fs_type = {
	.name = "doorfs",
	.init_fs_context = door_init_fs_context,
	.kill_sb = kill_anon_super,
};

/*
 * A door's file: an inode of its own whose type is S_IFDOOR, so fstat
 * says "door".  Like any anonymous inode it cannot be opened again (through
 * /proc/PID/fd), so the door has exactly one open file.
 */
static struct file *door_file_new(struct door *d, const struct file_operations *fops)
{
	struct inode *inode = alloc_anon_inode(door_mnt->mnt_sb);
	struct file *file;

	if (IS_ERR(inode))
		return ERR_CAST(inode);
	inode->i_mode = DOOR_S_IFDOOR | 0600;
	/* the file's reference on the module, dropped by __fput (we run in
	 * one of the module's own ioctls, so it is live) */
	__module_get(THIS_MODULE);
	file = alloc_file_pseudo(inode, door_mnt, "door", O_RDWR, fops);
	if (IS_ERR(file)) {
		module_put(THIS_MODULE);
		iput(inode);
		return file;
	}
	file->private_data = d;
	return file;
}

/* ---- CREATE ------------------------------------------------------------------ */

static long door_ioc_create(void __user *uarg)
{
	struct door_uapi_create uc;
	struct door_proc *dp;
	struct file *file;
	struct door *d;
	int fd;

	if (copy_from_user(&uc, uarg, sizeof(uc)))
		return -EFAULT;
	if (uc.attributes & ~DOOR_UAPI_CREATE_MASK)
		return -EINVAL;
	if ((uc.attributes & DOOR_UAPI_UNREF) && (uc.attributes & DOOR_UAPI_UNREF_MULTI))
		return -EINVAL;
	dp = door_proc_current(true);
	if (IS_ERR(dp))
		return PTR_ERR(dp);
	d = kzalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);
	if (!d) {
		door_proc_put(dp);
		return -ENOMEM;
	}
	kref_init(&d->ref); /* the file's */
	d->dp = dp; /* our dp reference moves to the door */
	INIT_LIST_HEAD(&d->node);
	INIT_LIST_HEAD(&d->unref_node);
	door_pool_init(&d->pool);
	d->id = atomic64_inc_return(&door_next_id);
	d->pc = uc.pc;
	d->cookie = uc.cookie;
	d->attrs = uc.attributes;
	d->data_max = in_compat_syscall() ? U32_MAX : U64_MAX;
	d->desc_max = (uc.attributes & DOOR_UAPI_REFUSE_DESC) ? 0 : INT_MAX;
	atomic_inc(&nr_doors);
	spin_lock(&dp->lock);
	list_add(&d->node, &dp->doors);
	spin_unlock(&dp->lock);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		door_put(d);
		return fd;
	}
	file = door_file_new(d, &door_fops);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		door_put(d);
		return PTR_ERR(file);
	}
	spin_lock(&dp->lock);
	d->file = file;
	if (dp->dead)
		d->revoked = d->gone = true;
	spin_unlock(&dp->lock);
	uc.fd = fd;
	uc.id = d->id;
	if (copy_to_user(uarg, &uc, sizeof(uc))) {
		put_unused_fd(fd);
		fput(file); /* ->release drops the door */
		return -EFAULT;
	}
	fd_install(fd, file);
	return 0;
}

/* ---- OPEN ---------------------------------------------------------------------- */

static long door_ioc_open(void __user *uarg)
{
	struct door_uapi_fd uf;
	struct file *file;
	struct door *d;
	int fd;

	if (copy_from_user(&uf, uarg, sizeof(uf)))
		return -EFAULT;
	if (uf.flags & ~DOOR_UAPI_FD_CLOEXEC)
		return -EINVAL;
	d = door_from_fd(uf.fd, NULL);
	if (!d)
		return -EBADF;
	fd = get_unused_fd_flags((uf.flags & DOOR_UAPI_FD_CLOEXEC) ? O_CLOEXEC : 0);
	if (fd < 0) {
		door_put(d);
		return fd;
	}
	spin_lock(&d->dp->lock);
	d->openers++;
	spin_unlock(&d->dp->lock);
	/* our door reference moves to the file (dropped by ->release) */
	file = door_file_new(d, &door_open_fops);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		spin_lock(&d->dp->lock);
		d->openers--;
		spin_unlock(&d->dp->lock);
		door_put(d);
		return PTR_ERR(file);
	}
	fd_install(fd, file);
	return fd;
}

/* ---- INFO, REVOKE, params, BIND ---------------------------------------------- */

static long door_ioc_info(void __user *uarg)
{
	struct door_uapi_info ui;
	struct door_proc *dp;
	struct door *d = NULL;
	long count = 0;

	if (copy_from_user(&ui, uarg, sizeof(ui)))
		return -EFAULT;
	if (ui.fd == DOOR_UAPI_QUERY) {
		struct door_thread *t;

		dp = door_proc_current(false);
		if (IS_ERR_OR_NULL(dp))
			return -EBADF;
		spin_lock(&dp->lock);
		t = door_thread_find(dp);
		if (t && t->bound) {
			d = t->bound;
			kref_get(&d->ref);
		}
		spin_unlock(&dp->lock);
		door_proc_put(dp);
		if (!d)
			return -EBADF;
		count = 0; /* never "unreferenced" through a binding */
	} else {
		d = door_from_fd(ui.fd, &count);
		if (!d)
			return -EBADF;
	}
	dp = d->dp;
	memset(&ui, 0, sizeof(ui));
	ui.fd = -1;
	spin_lock(&dp->lock);
	ui.attributes = d->attrs & DOOR_UAPI_ATTR_MASK;
	if (d->revoked)
		ui.attributes |= DOOR_UAPI_REVOKED;
	if (count == 1 && d->active == 0 && d->openers == 0)
		ui.attributes |= DOOR_UAPI_IS_UNREF;
	spin_unlock(&dp->lock);
	if (door_proc_is_current(dp))
		ui.attributes |= DOOR_UAPI_LOCAL;
	ui.target = READ_ONCE(d->gone) ? -1 : pid_nr_ns(dp->tgid, task_active_pid_ns(current));
	ui.pc = d->pc;
	ui.cookie = d->cookie;
	ui.id = d->id;
	door_put(d);
	if (copy_to_user(uarg, &ui, sizeof(ui)))
		return -EFAULT;
	return 0;
}

/* Does the caller own d?  Same address space and same thread group: a fork
 * child (other mm) and a CLONE_VM child (other group) are not the server. */
static bool door_owned(struct door *d)
{
	return door_proc_is_current(d->dp) && d->dp->tgid == task_tgid(current);
}

static long door_ioc_revoke(void __user *uarg)
{
	struct door_uapi_fd uf;
	struct door_proc *dp;
	struct door *d;
	bool put_q = false;

	if (copy_from_user(&uf, uarg, sizeof(uf)))
		return -EFAULT;
	if (uf.flags)
		return -EINVAL;
	d = door_from_fd(uf.fd, NULL);
	if (!d)
		return -EBADF;
	if (!door_owned(d)) {
		door_put(d);
		return -EPERM;
	}
	dp = d->dp;
	spin_lock(&dp->lock);
	d->revoked = true;
	if (d->unref_queued) {
		list_del_init(&d->unref_node);
		d->unref_queued = false;
		put_q = true;
	}
	wake_up_all(&door_pool_of(d)->waiters);
	spin_unlock(&dp->lock);
	if (put_q)
		door_put(d);
	door_put(d);
	return close_fd(uf.fd);
}

static long door_ioc_param(void __user *uarg, bool set)
{
	struct door_uapi_param up;
	struct door_proc *dp;
	struct door *d;
	long err = 0;
	u64 *slot;

	if (copy_from_user(&up, uarg, sizeof(up)))
		return -EFAULT;
	d = door_from_fd(up.fd, NULL);
	if (!d)
		return -EBADF;
	dp = d->dp;
	switch (up.param) {
	case DOOR_UAPI_PARAM_DESC_MAX:
		slot = &d->desc_max;
		break;
	case DOOR_UAPI_PARAM_DATA_MAX:
		slot = &d->data_max;
		break;
	case DOOR_UAPI_PARAM_DATA_MIN:
		slot = &d->data_min;
		break;
	default:
		door_put(d);
		return -EINVAL;
	}
	if (!set) {
		spin_lock(&dp->lock);
		up.value = *slot;
		spin_unlock(&dp->lock);
		door_put(d);
		return copy_to_user(uarg, &up, sizeof(up)) ? -EFAULT : 0;
	}
	spin_lock(&dp->lock);
	if (d->revoked)
		err = -EBADF;
	else if (!door_owned(d))
		err = -EPERM;
	else if (up.param == DOOR_UAPI_PARAM_DESC_MAX && up.value > INT_MAX)
		err = -ERANGE;
	else if (up.param == DOOR_UAPI_PARAM_DESC_MAX && up.value &&
		 (d->attrs & DOOR_UAPI_REFUSE_DESC))
		err = -EOPNOTSUPP; /* userspace ENOTSUP */
	else if (up.param == DOOR_UAPI_PARAM_DATA_MIN && up.value > d->data_max)
		err = -EINVAL;
	else if (up.param == DOOR_UAPI_PARAM_DATA_MAX && up.value < d->data_min)
		err = -EINVAL;
	else
		*slot = up.value;
	spin_unlock(&dp->lock);
	door_put(d);
	return err;
}

static long door_ioc_bind(void __user *uarg)
{
	struct door_thread *t;
	struct door_uapi_fd uf;
	struct door_proc *dp;
	struct door *d, *old;

	if (copy_from_user(&uf, uarg, sizeof(uf)))
		return -EFAULT;
	if (uf.flags)
		return -EINVAL;
	d = door_from_fd(uf.fd, NULL);
	if (!d)
		return -EBADF;
	if (!(d->attrs & DOOR_UAPI_PRIVATE) || !door_proc_is_current(d->dp)) {
		door_put(d);
		return -EINVAL;
	}
	dp = d->dp;
	t = door_thread_current(dp);
	if (IS_ERR(t)) {
		door_put(d);
		return PTR_ERR(t);
	}
	spin_lock(&dp->lock);
	old = t->bound;
	t->bound = d; /* our reference moves to the binding */
	spin_unlock(&dp->lock);
	door_put(old);
	return 0;
}

static long door_ioc_unbind(void)
{
	struct door_thread *t;
	struct door_proc *dp;
	struct door *old = NULL;

	dp = door_proc_current(false);
	if (IS_ERR_OR_NULL(dp))
		return -EBADF;
	spin_lock(&dp->lock);
	t = door_thread_find(dp);
	if (t) {
		old = t->bound;
		t->bound = NULL;
	}
	spin_unlock(&dp->lock);
	door_proc_put(dp);
	if (!old)
		return -EBADF;
	door_put(old);
	return 0;
}

/* ---- CALL (client side) ------------------------------------------------------- */

/* The client gives up on c (signal, death): the server is told unless
 * the door says DOOR_NO_CANCEL, and a reply already made is dropped. */
static void door_call_abort(struct door_call *c)
{
	struct door_proc *dp = c->door->dp;
	struct task_struct *cancel = NULL;
	struct file **rfiles = NULL;
	u32 rn = 0;
	int sig = 0;

	spin_lock(&dp->lock);
	switch (c->state) {
	case CALL_NEW:
	case CALL_DISPATCHED:
		c->state = CALL_ABORTED;
		door_active_drop_locked(c);
		break;
	case CALL_SERVING:
		c->state = CALL_ABORTED;
		door_active_drop_locked(c);
		sig = dp->cancel_signal;
		if (sig && !(c->door->attrs & DOOR_UAPI_NO_CANCEL) && c->server)
			cancel = get_task_struct(c->server);
		break;
	case CALL_REPLIED:
		c->state = CALL_ABORTED;
		rfiles = c->rfiles;
		rn = c->rnfiles;
		c->rfiles = NULL;
		c->rnfiles = 0;
		/* the client is gone: its server releases, as for a taken reply */
		if (c->verdict == CALL_V_WAIT) {
			c->verdict = CALL_V_TAKEN;
			wake_up_all(&c->wq);
		}
		break;
	default:
		break;
	}
	spin_unlock(&dp->lock);
	door_files_put(rfiles, rn);
	if (cancel) {
		struct kernel_siginfo info;

		clear_siginfo(&info);
		info.si_signo = sig;
		info.si_code = SI_KERNEL;
		send_sig_info(sig, &info, cancel);
		put_task_struct(cancel);
	}
}

/*
 * Place the reply in the caller: data at rbuf, records after the data
 * rounded up to 24 bytes; a new mapping when it does not fit.
 */
static long door_call_place(struct door_call *c, struct door_uapi_call *uc);

/* Tell a server waiting on the reply's files what became of them; whether
 * it was waiting. */
static bool door_verdict(struct door_call *c, u8 v)
{
	struct door_proc *dp = c->door->dp;
	bool waiting;

	spin_lock(&dp->lock);
	waiting = c->verdict == CALL_V_WAIT;
	if (waiting) {
		c->verdict = v;
		wake_up_all(&c->wq);
	}
	spin_unlock(&dp->lock);
	return waiting;
}

static long door_call_consume(struct door_call *c, struct door_uapi_call *uc)
{
	long err = door_call_place(c, uc);
	bool waited = c->verdict == CALL_V_DROPPED;

	/* whatever happened, a waiting server goes on (DROPPED was said) */
	waited |= door_verdict(c, CALL_V_TAKEN);
	/* and this client runs again once the server's DOOR_RELEASE
	 * descriptors are closed, as on illumos (bounded) */
	if (waited)
		wait_event_killable_timeout(c->wq, READ_ONCE(c->verdict) == CALL_V_DONE,
					    DOOR_VERDICT_WAIT);
	return err;
}

static long door_call_place(struct door_call *c, struct door_uapi_call *uc)
{
	u64 s = c->rsize, n = c->rnfiles, need, dst, maplen = 0;
	bool cloexec = uc->flags & DOOR_CALL_RECV_CLOEXEC;
	int *fds = NULL;
	long err;

	uc->flags &= ~DOOR_CALL_MAPPED;
	if (n) {
		/* the descriptors first: with no room for them, the call
		 * succeeds without them if the server waits to hear it */
		err = door_desc_receive(c->rfiles, n, cloexec, &fds);
		if (err == -EMFILE && door_verdict(c, CALL_V_DROPPED))
			n = 0;
		else if (err)
			return err;
	}
	if (s == 0 && n == 0) {
		uc->data_size = 0;
		uc->desc_num = 0;
		return 0;
	}
	need = n ? roundup(s, DESC_SZ) + n * DESC_SZ : s;
	if (uc->rbuf && need <= uc->rsize) {
		dst = uc->rbuf;
	} else {
		unsigned long addr;

		maplen = PAGE_ALIGN(need);
		addr = vm_mmap(NULL, 0, maplen, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, 0);
		if (IS_ERR_VALUE(addr)) {
			if (n)
				door_fds_close(fds, n);
			return -EOVERFLOW;
		}
		dst = addr;
	}
	if (s && copy_to_user(u64_to_user_ptr(dst), c->rdata, s)) {
		if (n)
			door_fds_close(fds, n);
		err = -EFAULT;
		goto fail;
	}
	if (n) {
		struct door_proc *dp = c->door->dp;
		struct file **rf;
		u32 rn;

		err = door_desc_records(c->rfiles, fds, n, dst + roundup(s, DESC_SZ));
		if (err)
			goto fail;
		/*
		 * Installed: the call's own references go now, from this
		 * thread (whose puts complete on its way back to user space),
		 * so that no later put by another thread takes a door's file
		 * from 2 references to 1 without a close (->flush) to see it.
		 */
		spin_lock(&dp->lock);
		rf = c->rfiles;
		rn = c->rnfiles;
		c->rfiles = NULL;
		c->rnfiles = 0;
		spin_unlock(&dp->lock);
		door_files_put(rf, rn);
	}
	uc->data_size = s;
	uc->desc_num = n;
	if (maplen) {
		uc->flags |= DOOR_CALL_MAPPED;
		uc->rbuf = dst;
		uc->rsize = maplen;
	}
	return 0;
fail:
	if (maplen)
		vm_munmap(dst, maplen);
	return err;
}

static long door_ioc_call(void __user *uarg)
{
	struct door_uapi_desc *desc = NULL;
	struct door_thread *t = NULL;
	struct door_uapi_call uc;
	struct door_call *c;
	struct door_pool *pool;
	struct door_proc *dp;
	struct door *d;
	bool bad_desc = false;
	long err = 0, stage_err = 0;
	DEFINE_WAIT(wait);

	if (copy_from_user(&uc, uarg, sizeof(uc)))
		return -EFAULT;
	if (atomic_read(&nr_suspended)) {
		c = door_susp_take(current);
		if (c && c->susp_uarg == uarg) {
			d = c->door;
			dp = d->dp;
			goto wait_reply;
		}
		if (c) {
			door_call_abort(c);
			door_call_put(c);
		}
	}
	if (uc.resv || (uc.flags & ~(DOOR_CALL_NO_RESULTS | DOOR_CALL_RECV_CLOEXEC)))
		return -EINVAL;
	d = door_from_fd(uc.fd, NULL);
	if (!d)
		return -EBADF;
	dp = d->dp;
	spin_lock(&dp->lock);
	if (d->revoked)
		err = -EBADF;
	else if (uc.data_size < d->data_min || uc.data_size > d->data_max)
		err = -ENOBUFS;
	else if (uc.desc_num && (d->attrs & DOOR_UAPI_REFUSE_DESC))
		err = -EOPNOTSUPP; /* userspace ENOTSUP */
	else if (uc.desc_num > d->desc_max)
		err = -ENFILE;
	else
		d->active++;
	spin_unlock(&dp->lock);
	if (err) {
		door_put(d);
		return err;
	}

	c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
	if (!c) {
		spin_lock(&dp->lock);
		if (--d->active == 0 && d->unref_delay) {
			d->unref_delay = false;
			door_unref_queue_locked(d);
		}
		spin_unlock(&dp->lock);
		door_put(d);
		return -ENOMEM;
	}
	atomic_inc(&nr_calls);
	kref_init(&c->ref);
	c->door = d; /* our door reference moves to the call */
	c->cred = get_current_cred();
	c->tgid = get_pid(task_tgid(current));
	c->client = get_task_struct(current);
	c->no_results = uc.flags & DOOR_CALL_NO_RESULTS;
	init_waitqueue_head(&c->wq);
	INIT_LIST_HEAD(&c->susp_node);
	INIT_LIST_HEAD(&c->kill_node);

	/* Stage in the caller's own context, before holding any server thread:
	 * a slow or faulting buffer delays only this caller. */
	if (uc.desc_num > DOOR_UAPI_MAX_DESC || uc.data_size > DOOR_UAPI_MAX_REPLY) {
		stage_err = -E2BIG;
	} else {
		/* small arguments, or memory that cannot be pinned, are
		 * copied into a kernel buffer */
		long pin = uc.data_size > DOOR_COPY_ONCE_MIN ?
			door_args_pin(c, uc.data_ptr, uc.data_size) : 1;

		if (pin <= 0)
			stage_err = pin; /* pinned, or EFAULT, ENOMEM */
		else if (uc.data_size) {
			c->data = kvmalloc(uc.data_size, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
			if (!c->data)
				stage_err = -ENOMEM;
			else if (copy_from_user(c->data, u64_to_user_ptr(uc.data_ptr),
						uc.data_size))
				stage_err = -EFAULT;
			c->size = uc.data_size;
		}
		if (!stage_err) {
			stage_err = door_desc_stage(uc.desc_ptr, uc.desc_num, &c->files,
						    &desc, &bad_desc);
			c->nfiles = c->files ? uc.desc_num : 0;
		}
		if (!stage_err && bad_desc)
			stage_err = -EINVAL;
		/* a call that is to fail keeps no pins while it waits */
		if (stage_err)
			door_args_unpin(c);
	}

	/* Find a parked server thread: the most recently parked one. */
	pool = door_pool_of(d);
	spin_lock(&dp->lock);
	for (;;) {
		if (d->revoked) {
			err = -EBADF;
			break;
		}
		if (!list_empty(&pool->parked)) {
			t = list_first_entry(&pool->parked, struct door_thread, pool_node);
			list_del_init(&t->pool_node);
			t->parked = false;
			break;
		}
		prepare_to_wait_exclusive(&pool->waiters, &wait, TASK_INTERRUPTIBLE);
		spin_unlock(&dp->lock);
		if (signal_pending(current)) {
			err = door_signal_aborts() ? -EAGAIN : -ERESTARTNOINTR;
			finish_wait(&pool->waiters, &wait);
			spin_lock(&dp->lock);
			/* pass a wake-up we may have taken on to the next waiter */
			if (!list_empty(&pool->parked))
				wake_up(&pool->waiters);
			break;
		}
		schedule();
		finish_wait(&pool->waiters, &wait);
		spin_lock(&dp->lock);
	}
	if (!err && t) {
		/* Errors found while staging are reported now, in this order. */
		if (uc.desc_num > DOOR_UAPI_MAX_DESC)
			err = -E2BIG;
		else if (ALIGN(uc.data_size, 8) + (u64)uc.desc_num * DESC_SZ > t->area_size)
			err = -E2BIG;
		else if (stage_err)
			err = stage_err;
		if (err) {
			list_add(&t->pool_node, &pool->parked);
			t->parked = true;
			wake_up(&pool->waiters);
			t = NULL;
		}
	}
	if (err) {
		door_active_drop_locked(c);
		c->state = CALL_FAILED;
		spin_unlock(&dp->lock);
		if (err == -EINVAL && desc)
			door_desc_release(desc, c->files, c->nfiles);
		goto out;
	}
	c->pool_empty = list_empty(&pool->parked);
	c->state = CALL_DISPATCHED;
	c->server = get_task_struct(t->task);
	kref_get(&c->ref);
	t->call = c;
	/* the thread cannot go away while dp->lock is held */
	wake_up_interruptible_sync(&t->wq);
	spin_unlock(&dp->lock);
	if (desc)
		door_desc_release(desc, c->files, c->nfiles);

wait_reply:
	for (;;) {
		enum call_state st;

		prepare_to_wait(&c->wq, &wait, TASK_INTERRUPTIBLE);
		st = READ_ONCE(c->state);
		if (st == CALL_REPLIED || st == CALL_FAILED)
			break;
		if (signal_pending(current)) {
			if (door_signal_aborts()) {
				finish_wait(&c->wq, &wait);
				door_call_abort(c);
				err = -EINTR;
				goto out;
			}
			/* a stop or freeze: wait again once it is over */
			finish_wait(&c->wq, &wait);
			door_susp_add(c, uarg);
			err = -ERESTARTNOINTR;
			goto out;
		}
		schedule();
	}
	finish_wait(&c->wq, &wait);
	smp_rmb();
	if (c->state == CALL_FAILED) {
		err = c->error;
		goto out;
	}
	err = door_call_consume(c, &uc);
	if (!err && copy_to_user(uarg, &uc, sizeof(uc)))
		err = -EFAULT; /* the results are in place; nothing to undo */
out:
	kvfree(desc);
	door_call_put(c);
	return err;
}

/* ---- RETURN (server side) ------------------------------------------------------- */

/* Deliver call c to this thread: arguments into the area, descriptors
 * installed here.  0, or the error the client gets (E2BIG, EMFILE). */
static long door_deliver(struct door_thread *t, struct door_call *c, bool cloexec)
{
	u64 s = c->size, dpos = ALIGN(s, 8);
	long err;

	if (c->pages) {
		if (door_args_copy_pinned(c, t->area_ptr))
			return -E2BIG;
	} else if (s && copy_to_user(u64_to_user_ptr(t->area_ptr), c->data, s)) {
		return -E2BIG;
	}
	err = door_desc_install(c->files, c->nfiles, t->area_ptr + dpos, cloexec);
	if (err)
		return err == -EFAULT ? -E2BIG : err;
	return 0;
}

/* The reply half of RETURN.  0 when done (or nothing to do). */
static long door_return_reply(struct door_proc *dp, struct door_thread *t,
			      struct door_uapi_return *ur, struct door_call **wakep)
{
	struct door_uapi_desc *desc = NULL;
	struct file **files = NULL, **rel = NULL;
	struct door_call *c;
	struct door *ud;
	void *data = NULL;
	bool bad = false, wait = false, dropped = false, closed = false;
	long err;
	u32 i;

	spin_lock(&dp->lock);
	c = t->call;
	ud = t->unref_door;
	spin_unlock(&dp->lock);

	if (ur->desc_num > DOOR_UAPI_MAX_DESC)
		return -E2BIG;
	if ((ud || (c && c->no_results)) && (ur->data_size || ur->desc_num))
		return -E2BIG;
	if (ur->data_size > DOOR_UAPI_MAX_REPLY)
		return -E2BIG;
	if (c && ur->data_size) {
		data = kvmalloc(ur->data_size, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!data)
			return -ENOMEM;
		if (copy_from_user(data, u64_to_user_ptr(ur->data_ptr), ur->data_size)) {
			kvfree(data);
			return -EFAULT;
		}
	}
	err = door_desc_stage(ur->desc_ptr, ur->desc_num, &files, &desc, &bad);
	if (err) {
		kvfree(data);
		return err;
	}
	if (bad) {
		door_desc_release(desc, files, ur->desc_num);
		door_files_put(files, ur->desc_num);
		kvfree(desc);
		kvfree(data);
		return -EINVAL;
	}
	/*
	 * The server's DOOR_RELEASE entries are closed once the files are
	 * translated: at once, or, when a live client is to receive them, once
	 * it has said whether it took them.  Until then each keeps a reference
	 * of its own here, so that the descriptor is closed only while it
	 * still names that file.
	 */
	if (desc && files) {
		rel = kvcalloc(ur->desc_num, sizeof(*rel), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!rel) {
			door_files_put(files, ur->desc_num);
			kvfree(desc);
			kvfree(data);
			return -ENOMEM;
		}
		for (i = 0; i < ur->desc_num; i++)
			if (files[i] && (desc[i].attributes & DOOR_UAPI_RELEASE))
				rel[i] = get_file(files[i]);
	}

	spin_lock(&dp->lock);
	if (ud) {
		t->unref_door = NULL;
		dp->unref_busy = false;
		door_unref_dispatch_locked(dp);
	}
	if (c) {
		t->call = NULL;
		if (c->state == CALL_SERVING) {
			c->rdata = data;
			c->rsize = ur->data_size;
			c->rfiles = files;
			c->rnfiles = files ? ur->desc_num : 0;
			if (files) {
				c->verdict = CALL_V_WAIT;
				wait = true;
			}
			data = NULL;
			files = NULL;
			smp_wmb();
			c->state = CALL_REPLIED;
			door_active_drop_locked(c);
			if (wait || !wakep) {
				wake_up_interruptible_sync(&c->wq);
			} else {
				/* woken once this thread is parked again, as an
				 * illumos door_return parks before the client runs:
				 * its next call then finds this thread */
				kref_get(&c->ref);
				*wakep = c;
			}
		}
	}
	spin_unlock(&dp->lock);
	if (wait) {
		/* bounded: a stopped client cannot hold this thread */
		wait_event_killable_timeout(c->wq, READ_ONCE(c->verdict) != CALL_V_WAIT,
					    DOOR_VERDICT_WAIT);
		spin_lock(&dp->lock);
		if (c->verdict == CALL_V_WAIT)
			c->verdict = CALL_V_LATE;
		dropped = c->verdict == CALL_V_DROPPED;
		spin_unlock(&dp->lock);
	}
	if (rel) {
		for (i = 0; i < ur->desc_num; i++) {
			if (!rel[i])
				continue;
			if (!dropped) {
				struct file *now = fget(desc[i].descriptor);

				if (now == rel[i])
					close_fd(desc[i].descriptor);
				if (now)
					fput(now);
				closed = true;
			}
			fput(rel[i]);
		}
		kvfree(rel);
	}
	if (wait) {
		spin_lock(&dp->lock);
		c->verdict = CALL_V_DONE;
		wake_up_all(&c->wq);
		spin_unlock(&dp->lock);
	}
	kvfree(desc);
	if (files) {
		door_files_put(files, ur->desc_num);
		closed = true;
	}
	kvfree(data);
	door_call_put(c);
	door_put(ud);
	if (dropped)
		return -EMFILE;
	/* Files put by this thread are freed only on its way back to user
	 * space (fput defers the last put to then): go there before parking,
	 * or a pipe end released here would stay open until the next call. */
	return closed ? 1 : 0;
}

static long door_ioc_return(void __user *uarg)
{
	struct door_uapi_return ur;
	struct door_uapi_invocation inv;
	struct door_call *wake = NULL;
	struct file **files;
	u32 nf;
	struct door_thread *t;
	struct door_proc *dp;
	struct door_pool *pool;
	struct door_call *c;
	struct door *ud;
	long err;
	DEFINE_WAIT(wait);

	if (copy_from_user(&ur, uarg, sizeof(ur)))
		return -EFAULT;
	if (ur.flags & ~DOOR_RETURN_RECV_CLOEXEC)
		return -EINVAL;
	dp = door_proc_current(true);
	if (IS_ERR(dp))
		return PTR_ERR(dp);
	t = door_thread_current(dp);
	if (IS_ERR(t)) {
		door_proc_put(dp);
		return PTR_ERR(t);
	}
	if (!t->reply_done) {
		err = door_return_reply(dp, t, &ur, &wake);
		if (err < 0)
			goto out; /* EMFILE: the client could not take the files */
		if (err > 0) {
			/* the reply went out; park in a new RETURN with nothing
			 * (as after a signal), once this thread's puts are done */
			err = -EINTR;
			goto out;
		}
		t->reply_done = true;
	}

	t->area_ptr = ur.area_ptr;
	t->area_size = ur.area_size;
again:
	spin_lock(&dp->lock);
	pool = t->bound ? &t->bound->pool : &dp->pool;
	list_add(&t->pool_node, &pool->parked);
	t->parked = true;
	wake_up(&pool->waiters);
	door_unref_dispatch_locked(dp);
	if (wake) /* the client of the reply just made, now that we are parked */
		wake_up_interruptible_sync(&wake->wq);
	for (;;) {
		prepare_to_wait(&t->wq, &wait, TASK_INTERRUPTIBLE);
		if (t->call || t->unref_door)
			break;
		spin_unlock(&dp->lock);
		if (wake) {
			door_call_put(wake);
			wake = NULL;
		}
		if (signal_pending(current)) {
			spin_lock(&dp->lock);
			if (t->call || t->unref_door)
				break; /* deliver anyway; the signal runs on the way out */
			list_del_init(&t->pool_node);
			t->parked = false;
			spin_unlock(&dp->lock);
			finish_wait(&t->wq, &wait);
			if (door_signal_aborts()) {
				t->reply_done = false;
				err = -EINTR;
			} else {
				err = -ERESTARTNOINTR; /* reply_done: not replied twice */
			}
			goto out_noreset;
		}
		schedule();
		spin_lock(&dp->lock);
	}
	finish_wait(&t->wq, &wait);
	c = t->call;
	ud = t->unref_door;
	memset(&inv, 0, sizeof(inv));
	if (ud) {
		inv.door_id = ud->id;
		inv.pc = ud->pc;
		inv.cookie = ud->cookie;
		inv.flags = DOOR_INV_UNREF | (t->pool_empty ? DOOR_INV_POOL_EMPTY : 0);
		inv.attributes = ud->attrs & DOOR_UAPI_ATTR_MASK;
		spin_unlock(&dp->lock);
	} else {
		bool aborted = c->state != CALL_DISPATCHED;

		files = NULL;
		nf = 0;
		if (aborted) {
			t->call = NULL;
			files = c->files;
			nf = c->nfiles;
			c->files = NULL;
			c->nfiles = 0;
		}
		spin_unlock(&dp->lock);
		if (aborted) {
			door_call_put(c);
			if (files) {
				/* its argument files are put by this thread:
				 * done on the way to user space, not parked */
				door_files_put(files, nf);
				err = -EINTR;
				goto out;
			}
			goto again;
		}
		err = door_deliver(t, c, ur.flags & DOOR_RETURN_RECV_CLOEXEC);
		/* a server being killed cannot take the arguments (its faults
		 * fail): the client gets what a server's death gives, EINTR,
		 * not the E2BIG of a bad area */
		if (err && fatal_signal_pending(current))
			err = -EINTR;
		spin_lock(&dp->lock);
		if (err) {
			if (c->state == CALL_DISPATCHED) {
				c->state = CALL_FAILED;
				c->error = err;
				door_active_drop_locked(c);
				wake_up(&c->wq);
			}
			t->call = NULL;
			spin_unlock(&dp->lock);
			door_call_put(c);
			goto again;
		}
		/* a client that gave up meanwhile stays given up: the reply
		 * will be dropped and door_ucred fails */
		if (c->state == CALL_DISPATCHED)
			c->state = CALL_SERVING;
		/* installed here: the call's own references go now (see
		 * door_call_place); this thread returns to user space next */
		nf = c->nfiles;
		files = c->files;
		c->files = NULL;
		c->nfiles = 0;
		inv.door_id = c->door->id;
		inv.pc = c->door->pc;
		inv.cookie = c->door->cookie;
		inv.attributes = c->door->attrs & DOOR_UAPI_ATTR_MASK;
		inv.flags = c->pool_empty ? DOOR_INV_POOL_EMPTY : 0;
		inv.data_size = c->size;
		inv.data_ptr = c->size ? ur.area_ptr : 0;
		inv.desc_num = nf;
		inv.desc_ptr = nf ? ur.area_ptr + ALIGN(c->size, 8) : 0;
		spin_unlock(&dp->lock);
		door_files_put(files, nf);
	}
	t->reply_done = false;
	err = 0;
	if (copy_to_user(&((struct door_uapi_return __user *)uarg)->inv, &inv, sizeof(inv)))
		err = -EFAULT;
	goto out_noreset;
out:
	t->reply_done = false;
out_noreset:
	if (wake) { /* never left waiting, whatever path got here */
		wake_up_interruptible(&wake->wq);
		door_call_put(wake);
	}
	door_proc_put(dp);
	return err;
}

/* ---- UCRED, THREAD_EXIT, CONFIG --------------------------------------------------- */

static long door_ioc_ucred(void __user *uarg)
{
	struct user_namespace *ns = current_user_ns();
	const struct cred *cred = NULL;
	struct door_uapi_ucred uu;
	struct door_thread *t;
	struct door_proc *dp;
	struct pid *pid = NULL;
	bool kernel = false;
	long err = 0;
	u32 i, n;

	if (copy_from_user(&uu, uarg, sizeof(uu)))
		return -EFAULT;
	dp = door_proc_current(false);
	if (IS_ERR_OR_NULL(dp))
		return -EINVAL;
	spin_lock(&dp->lock);
	t = door_thread_find(dp);
	if (t && t->unref_door) {
		cred = get_cred(dp->cred);
		kernel = true;
	} else if (t && t->call && t->call->state == CALL_SERVING) {
		cred = get_cred(t->call->cred);
		pid = get_pid(t->call->tgid);
	}
	spin_unlock(&dp->lock);
	door_proc_put(dp);
	if (!cred)
		return -EINVAL;
	uu.euid = from_kuid_munged(ns, cred->euid);
	uu.ruid = from_kuid_munged(ns, cred->uid);
	uu.suid = from_kuid_munged(ns, cred->suid);
	uu.egid = from_kgid_munged(ns, cred->egid);
	uu.rgid = from_kgid_munged(ns, cred->gid);
	uu.sgid = from_kgid_munged(ns, cred->sgid);
	uu.flags = kernel ? DOOR_UCRED_KERNEL : 0;
	if (kernel) {
		uu.pid = 0;
	} else {
		uu.pid = pid_nr_ns(pid, task_active_pid_ns(current));
		if (!uu.pid)
			uu.pid = -1;
	}
	n = cred->group_info->ngroups;
	uu.ngroups = n;
	for (i = 0; i < n && i < uu.groups_cap; i++) {
		u32 g = from_kgid_munged(ns, cred->group_info->gid[i]);

		if (put_user(g, (u32 __user *)u64_to_user_ptr(uu.groups_ptr) + i)) {
			err = -EFAULT;
			break;
		}
	}
	put_pid(pid);
	put_cred(cred);
	if (!err && copy_to_user(uarg, &uu, sizeof(uu)))
		err = -EFAULT;
	return err;
}

/* This server thread is leaving: a call it serves ends with EINTR. */
static long door_ioc_thread_exit(void)
{
	struct door_call *c = NULL;
	struct door_thread *t;
	struct door_proc *dp;
	struct door *ud = NULL;

	dp = door_proc_current(false);
	if (IS_ERR_OR_NULL(dp))
		return 0;
	spin_lock(&dp->lock);
	t = door_thread_find(dp);
	if (t) {
		list_del(&t->node);
		c = t->call;
		if (c && (c->state == CALL_SERVING || c->state == CALL_DISPATCHED)) {
			c->state = CALL_FAILED;
			c->error = -EINTR;
			door_active_drop_locked(c);
			wake_up(&c->wq);
		}
		ud = t->unref_door;
		if (ud) {
			dp->unref_busy = false;
			door_unref_dispatch_locked(dp);
		}
	}
	spin_unlock(&dp->lock);
	if (t) {
		door_call_put(c);
		door_put(ud);
		door_put(t->bound);
		put_task_struct(t->task);
		kfree(t);
		atomic_dec(&nr_threads);
	}
	door_proc_put(dp);
	return 0;
}

static long door_ioc_config(void __user *uarg)
{
	struct door_uapi_config cfg;
	struct door_proc *dp;

	if (copy_from_user(&cfg, uarg, sizeof(cfg)))
		return -EFAULT;
	if (cfg.resv || cfg.cancel_signal >= _NSIG || cfg.cancel_signal == SIGKILL ||
	    cfg.cancel_signal == SIGSTOP)
		return -EINVAL;
	dp = door_proc_current(true);
	if (IS_ERR(dp))
		return PTR_ERR(dp);
	spin_lock(&dp->lock);
	dp->cancel_signal = cfg.cancel_signal;
	spin_unlock(&dp->lock);
	door_proc_put(dp);
	return 0;
}

/* ---- the control device ------------------------------------------------------------- */

static long door_ctl_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case DOOR_IOC_VERSION: {
		struct door_uapi_version v = {
			.api = DOOR_UAPI_VERSION,
			.max_desc = DOOR_UAPI_MAX_DESC,
		};

		return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
	}
	case DOOR_IOC_CREATE:
		return door_ioc_create(uarg);
	case DOOR_IOC_REVOKE:
		return door_ioc_revoke(uarg);
	case DOOR_IOC_INFO:
		return door_ioc_info(uarg);
	case DOOR_IOC_CALL:
		return door_ioc_call(uarg);
	case DOOR_IOC_RETURN:
		return door_ioc_return(uarg);
	case DOOR_IOC_BIND:
		return door_ioc_bind(uarg);
	case DOOR_IOC_UNBIND:
		return door_ioc_unbind();
	case DOOR_IOC_UCRED:
		return door_ioc_ucred(uarg);
	case DOOR_IOC_GETPARAM:
		return door_ioc_param(uarg, false);
	case DOOR_IOC_SETPARAM:
		return door_ioc_param(uarg, true);
	case DOOR_IOC_THREAD_EXIT:
		return door_ioc_thread_exit();
	case DOOR_IOC_CONFIG:
		return door_ioc_config(uarg);
	case DOOR_IOC_OPEN:
		return door_ioc_open(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations door_ctl_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = door_ctl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice door_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "door",
	.fops = &door_ctl_fops,
	.mode = 0666,
};

static int door_stats_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "procs %d\ndoors %d\nthreads %d\ncalls %d\nsuspended %d\npinned %ld\n",
		   atomic_read(&nr_procs), atomic_read(&nr_doors),
		   atomic_read(&nr_threads), atomic_read(&nr_calls),
		   atomic_read(&nr_suspended), atomic_long_read(&nr_pinned));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(door_stats);

static int __init door_init(void)
{
	int err;

	BUILD_BUG_ON(sizeof(struct door_uapi_desc) != 24);
	BUILD_BUG_ON(sizeof(struct door_uapi_create) != 32);
	BUILD_BUG_ON(sizeof(struct door_uapi_info) != 40);
	BUILD_BUG_ON(sizeof(struct door_uapi_call) != 56);
	BUILD_BUG_ON(sizeof(struct door_uapi_invocation) != 64);
	BUILD_BUG_ON(sizeof(struct door_uapi_return) != 112);
	BUILD_BUG_ON(sizeof(struct door_uapi_ucred) != 48);
	BUILD_BUG_ON(sizeof(struct door_uapi_param) != 16);
	door_wq = alloc_workqueue("door", 0, 0);
	if (!door_wq)
		return -ENOMEM;
	door_mnt = kern_mount(&door_fs_type);
	if (IS_ERR(door_mnt)) {
		destroy_workqueue(door_wq);
		return PTR_ERR(door_mnt);
	}
	err = misc_register(&door_misc);
	if (err) {
		kern_unmount(door_mnt);
		destroy_workqueue(door_wq);
		return err;
	}
	door_debugfs = debugfs_create_dir("door", NULL);
	debugfs_create_file("stats", 0444, door_debugfs, NULL, &door_stats_fops);
	return 0;
}

static void __exit door_exit(void)
{
	misc_deregister(&door_misc);
	debugfs_remove_recursive(door_debugfs);
	cancel_delayed_work_sync(&door_susp_work);
	/* suspended calls of clients that never came back */
	for (;;) {
		struct door_call *c = NULL;

		spin_lock(&door_susp_lock);
		if (!list_empty(&door_susp)) {
			c = list_first_entry(&door_susp, struct door_call, susp_node);
			list_del_init(&c->susp_node);
			atomic_dec(&nr_suspended);
		}
		spin_unlock(&door_susp_lock);
		if (!c)
			break;
		door_call_abort(c);
		door_call_put(c);
	}
	/* waits for door_proc_free_work items still running */
	destroy_workqueue(door_wq);
	kern_unmount(door_mnt);
}

module_init(door_init);
module_exit(door_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Solaris-style doors: /dev/door");
