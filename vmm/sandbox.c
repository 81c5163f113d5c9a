/*
 * sandbox.c - see sandbox.h.
 */
#define LOG_TAG "sandbox"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/kvm.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "vmm/sandbox.h"

/*
 * The allow-lists.  Each name is a call some code of that role makes after
 * setup; the comment says which.  Calls every role makes (glibc's malloc,
 * locks, the SIGSYS report itself) are in common_calls.  mmap and mprotect
 * are allowed only without PROT_EXEC, ioctl only with the requests listed
 * in the role's ioctl list, tgkill only towards this process; those filters
 * are added in add_rule().
 */
static const char *const common_calls[] = {
	"read",		  /* eventfds, signalfd, timerfd */
	"write",	  /* eventfds, stdout/stderr */
	"writev",	  /* console output, log lines */
	"futex",	  /* pthread mutexes and condition variables */
	"mmap",		  /* malloc (no PROT_EXEC: see add_rule) */
	"munmap",	  /* free, DAX window mappings */
	"mprotect",	  /* malloc arenas (no PROT_EXEC) */
	"madvise",	  /* free(): MADV_DONTNEED of arena pages */
	"brk",		  /* malloc */
	"mremap",	  /* realloc() of large buffers (bigtree's directory listings) */
	"close",	  /* fds of closed files */
	"rt_sigprocmask", /* lock waits unblock their wake-up signal around a wait */
	"rt_sigaction",	 /* the tty restore's handlers: reinstalled at exit, reset on a fatal signal
			  */
	"rt_sigreturn",	 /* return from the kick and wake-up signals */
	"clock_gettime", /* deadlines (vDSO, but a fallback may call it) */
	"clock_nanosleep",
	"nanosleep",
	"getpid", /* pthread_kill() */
	"gettid",
	"tgkill", /* pthread_kill(): kicks and lock-wait wake-ups, this process only */
	"sched_yield",
	"restart_syscall",
	"rt_sigtimedwait", /* a lock wait drains its wake-up signal (fuse/lock_wait.c) */
	"exit",		   /* a thread's end */
	"exit_group",	   /* the process's end, and the SIGSYS report */
};

/*
 * vCPU threads: KVM_RUN and the devices whose registers they write (port
 * and MMIO exits are served on the vCPU thread).  A virtio device reset
 * (a status write) ends the FUSE session there: close, munmap and mmap of
 * DAX zero pages, waking lock waiters (tgkill) are in the common list.
 */
static const char *const vcpu_calls[] = {
	"ioctl",	 /* KVM_RUN; KVM_IRQ_LINE for the UART's interrupt */
	"newfstatat",	 /* DAX repair after KVM_RUN's EFAULT: a mapped file's size */
	"fstat", "poll", /* console output to a terminal made non-blocking (terminal_write) */
};

/*
 * Device threads: virtio queue notifications (ioeventfd), interrupts
 * (irqfd), and the FUSE server's host filesystem calls: what the code
 * calls (`nm -D --undefined-only minivmm` lists the libc entry points),
 * nothing more.  Xattrs go through /proc/self/fd/N with the path calls,
 * so the f* and l* variants are not here; neither are the fsuid calls
 * (ids are the server's own or set by fchownat).
 */
static const char *const device_calls[] = {
	"ioctl",	     /* only device_ioctls (add_rule) */
	"openat",	     /* reopen of an O_PATH fd through /proc/self/fd */
	"openat2",	     /* every lookup: RESOLVE_BENEATH | NO_SYMLINKS | NO_MAGICLINKS */
	"open_by_handle_at", /* inodes evicted from the fd LRU */
	"name_to_handle_at", /* LOOKUP: keep inodes by file handle */
	"newfstatat",	     /* attributes */
	"fstat",
	"statx",
	"fstatfs",  /* STATFS, submount detection */
	"fchmod",   /* clearing set-id bits on a kill request (KILLPRIV_V2) */
	"fchownat", /* created files get their owner (ids=keep, uid=/gid=) */
	"ftruncate",
	"truncate",  /* SETATTR size without an fh: through /proc/self/fd/N */
	"chmod",     /* SETATTR mode, created files' mode: through /proc/self/fd/N */
	"utimensat", /* SETATTR times */
	"mkdirat",
	"mknodat",
	"symlinkat",
	"linkat",
	"unlinkat",
	"renameat2",
	"renameat", /* glibc's renameat2() with no flags */
	"readlinkat",
	"preadv",
	"pwritev",
	"lseek",      /* LSEEK, directory offsets */
	"getdents64", /* READDIR */
	"fsync",
	"fdatasync",
	"syncfs",
	"fallocate",
	"copy_file_range",
	"fcntl", /* OFD locks, flags */
	"flock",
	"getxattr",
	"listxattr",
	"setxattr",
	"removexattr",
	"process_vm_readv", /* requests whose buffers lie in a DAX window */
	"process_vm_writev",
	"epoll_wait", /* the ioeventfd worker's loop */
	"poll",
};

/* The main thread: the event loop, and at exit what the device threads do. */
static const char *const main_calls[] = {
	"epoll_wait",	   "epoll_pwait", "epoll_ctl", /* the event loop */
	"timerfd_settime",			       /* --timeout */
	"ioctl",				       /* terminal modes (TCGETS/TCSETS*) */
	"openat",				       /* /proc/self/status for --stats */
	"newfstatat",	   "fstat",	  "lseek",     "pread64",
};

/*
 * --snapshot's writer thread (vmm/snapshot.c): reads the stopped VM's state
 * (the KVM_GET_* ioctls below) and writes it to the files of DIR, opened
 * before the sandbox.  It runs no guest request.
 */
static const char *const snapshot_calls[] = {
	"ioctl",     /* only snapshot_ioctls */
	"pwrite64",  /* the state and RAM files */
	"ftruncate", /* the RAM file's size (zero pages stay holes) */
	"fdatasync", /* both files on disk before minivmm says the snapshot is done */
};

/* ioctl requests each role may make. */
/*
 * TCSETS everywhere: a fatal signal on any thread puts the terminal back
 * (vmm/terminal.c) before the process ends.
 */
/* KVM_SET_GUEST_DEBUG: a stray DAX write's single step (vm.c, vcpu_step_absorbed()). */
static const unsigned long vcpu_ioctls[] = {KVM_RUN, KVM_IRQ_LINE, TCSETS, KVM_SET_GUEST_DEBUG};
static const unsigned long device_ioctls[] = {KVM_IRQ_LINE, TCSETS};
static const unsigned long main_ioctls[] = {TCGETS, TCSETS, TCSETSW, TCSETSF, KVM_IRQ_LINE};
static const unsigned long snapshot_ioctls[] = {
	TCSETS,		 KVM_GET_REGS,	      KVM_GET_SREGS,	 KVM_GET_FPU,
	KVM_GET_XSAVE,	 KVM_GET_XSAVE2,      KVM_GET_XCRS,	 KVM_GET_MSRS,
	KVM_GET_LAPIC,	 KVM_GET_VCPU_EVENTS, KVM_GET_DEBUGREGS, KVM_GET_MP_STATE,
	KVM_GET_IRQCHIP, KVM_GET_PIT2,	      KVM_GET_CLOCK,
};

struct role_def {
	const char *name;
	const char *const *calls;
	unsigned int ncalls;
	const unsigned long *ioctls;
	unsigned int nioctls;
	/* The device list too (main serves requests at exit, vcpu-files on exits). */
	bool with_device;
};

static const struct role_def roles[SANDBOX_NROLES] = {
	[SANDBOX_ROLE_MAIN] = {"main", main_calls, ARRAY_SIZE(main_calls), main_ioctls,
			       ARRAY_SIZE(main_ioctls), true},
	[SANDBOX_ROLE_VCPU] = {"vcpu", vcpu_calls, ARRAY_SIZE(vcpu_calls), vcpu_ioctls,
			       ARRAY_SIZE(vcpu_ioctls), false},
	[SANDBOX_ROLE_DEVICE] = {"device", device_calls, ARRAY_SIZE(device_calls), device_ioctls,
				 ARRAY_SIZE(device_ioctls), false},
	/* vcpu_ioctls covers device_ioctls (KVM_IRQ_LINE, TCSETS). */
	[SANDBOX_ROLE_VCPU_FILES] = {"vcpu-files", vcpu_calls, ARRAY_SIZE(vcpu_calls), vcpu_ioctls,
				     ARRAY_SIZE(vcpu_ioctls), true},
	[SANDBOX_ROLE_SNAPSHOT] = {"snapshot", snapshot_calls, ARRAY_SIZE(snapshot_calls),
				   snapshot_ioctls, ARRAY_SIZE(snapshot_ioctls), false},
};

const char *sandbox_role_name(enum sandbox_role role)
{
	return role < SANDBOX_NROLES ? roles[role].name : "?";
}

/*
 * The SIGSYS report runs in a signal handler on the thread that made the
 * call, so it can neither allocate nor ask libseccomp for a name: the names
 * are resolved once, before the first filter is loaded, into this table,
 * and each thread records its role in sandbox_thread_role.  Both are
 * process-wide by nature (a signal handler has no other context).
 */
#define SYSCALL_NAMES 512
static char syscall_names[SYSCALL_NAMES][28];
static __thread const char *sandbox_thread_role;

static void put_str(char *buf, size_t *n, size_t cap, const char *s)
{
	while (*s && *n + 1 < cap)
		buf[(*n)++] = *s++;
}

static void put_uint(char *buf, size_t *n, size_t cap, unsigned int v)
{
	char d[12];
	int i = 0;

	do
		d[i++] = (char)('0' + v % 10);
	while ((v /= 10) && i < (int)sizeof(d));
	while (i > 0 && *n + 1 < cap)
		buf[(*n)++] = d[--i];
}

/* SECCOMP_RET_TRAP: say which call and which thread, then end the process. */
static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	unsigned int nr = (unsigned int)si->si_syscall;
	char msg[160];
	size_t n = 0;

	(void)sig;
	(void)uc;
	put_str(msg, &n, sizeof(msg), "minivmm: sandbox: the ");
	put_str(msg, &n, sizeof(msg), sandbox_thread_role ? sandbox_thread_role : "?");
	put_str(msg, &n, sizeof(msg), " thread made a system call it may not make: ");
	put_str(msg, &n, sizeof(msg),
		nr < SYSCALL_NAMES && syscall_names[nr][0] ? syscall_names[nr] : "?");
	put_str(msg, &n, sizeof(msg), " (");
	put_uint(msg, &n, sizeof(msg), nr);
	put_str(msg, &n, sizeof(msg), "); --sandbox=none turns the sandbox off\n");
	if (write(STDERR_FILENO, msg, n) < 0) {
		/* nothing more to say */
	}
	syscall(SYS_exit_group, 1);
}

static int setup_sigsys(void)
{
	struct sigaction sa = {0};

	for (unsigned int nr = 0; nr < SYSCALL_NAMES; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, (int)nr);

		if (name) {
			snprintf(syscall_names[nr], sizeof(syscall_names[nr]), "%s", name);
			free(name);
		}
	}
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	return 0;
}

/*
 * What the filter costs per call (tests/bench/seccomp_cost.c): since Linux
 * 5.11 the kernel remembers, per system call, whether a filter allows it
 * whatever the arguments, and then skips the filter altogether (its
 * "action cache", kernel/seccomp.c).  So the calls allowed without an
 * argument filter cost about 20 ns each wherever they sit in the list,
 * and only the argument-filtered ones (ioctl, mmap, mprotect, tgkill) run
 * the BPF program, about 100-150 ns each (measured on a 2-core EPYC VM
 * whose system calls cost ~1 us; in the nested test host, under TCG, ~200
 * and ~570 ns).  libseccomp tests the calls one after the other, highest
 * number first, so ioctl (16), the vCPU's KVM_RUN on every exit and the
 * devices' KVM_IRQ_LINE, would come after ~85 tests: these few go first
 * (an ioctl then costs 20-40 ns less on the VM, near the noise, and
 * ~570 -> ~380 ns in the test host).  libseccomp's binary tree
 * (SCMP_FLTATR_CTL_OPTIMIZE 2) measured no faster than that.
 */
static int hot_priority(int nr)
{
	if (nr == __NR_ioctl)
		return 255;
	if (nr == __NR_mmap || nr == __NR_mprotect)
		return 254;
	return nr == __NR_tgkill ? 253 : -1;
}

static int add_rule(scmp_filter_ctx ctx, const char *name, const struct role_def *r)
{
	int nr = seccomp_syscall_resolve_name(name);
	int prio = nr == __NR_SCMP_ERROR ? -1 : hot_priority(nr);

	if (nr == __NR_SCMP_ERROR)
		return -EINVAL;
	if (prio >= 0) {
		int ret = seccomp_syscall_priority(ctx, nr, (uint8_t)prio);

		if (ret)
			return ret;
	}
	if (nr == __NR_mmap || nr == __NR_mprotect)
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (nr == __NR_tgkill)
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	if (nr == __NR_ioctl) {
		for (unsigned int i = 0; i < r->nioctls; i++) {
			int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
						   SCMP_A1(SCMP_CMP_EQ, r->ioctls[i]));
			if (ret)
				return ret;
		}
		return 0;
	}
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

static int add_list(scmp_filter_ctx ctx, const char *const *calls, unsigned int n,
		    const struct role_def *r)
{
	for (unsigned int i = 0; i < n; i++) {
		int ret = add_rule(ctx, calls[i], r);

		/* -EEXIST: listed twice (common and role); one rule is enough. */
		if (ret && ret != -EEXIST) {
			log_err("cannot allow %s for the %s role: %s", calls[i], r->name,
				strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int build_filter(scmp_filter_ctx ctx, enum sandbox_role role)
{
	const struct role_def *r = &roles[role];
	int ret;

	ret = add_list(ctx, common_calls, ARRAY_SIZE(common_calls), r);
	if (!ret)
		ret = add_list(ctx, r->calls, r->ncalls, r);
	if (!ret && r->with_device)
		ret = add_list(ctx, device_calls, ARRAY_SIZE(device_calls), r);
	return ret;
}

unsigned int sandbox_role_syscalls(enum sandbox_role role)
{
	bool seen[SYSCALL_NAMES] = {false};
	const struct role_def *r;
	unsigned int count = 0;

	if (role >= SANDBOX_NROLES)
		return 0;
	r = &roles[role];
	for (int pass = 0; pass < 3; pass++) {
		const char *const *calls = pass == 0   ? common_calls
					   : pass == 1 ? r->calls
						       : device_calls;
		unsigned int n = pass == 0	  ? ARRAY_SIZE(common_calls)
				 : pass == 1	  ? r->ncalls
				 : r->with_device ? ARRAY_SIZE(device_calls)
						  : 0;

		for (unsigned int i = 0; i < n; i++) {
			int nr = seccomp_syscall_resolve_name(calls[i]);

			if (nr >= 0 && nr < SYSCALL_NAMES && !seen[nr]) {
				seen[nr] = true;
				count++;
			}
		}
	}
	return count;
}

int sandbox_enter_role(const struct sandbox *sb, enum sandbox_role role, unsigned int index)
{
	scmp_filter_ctx ctx;
	char name[16];
	int ret;

	if (role >= SANDBOX_NROLES)
		return -EINVAL;
	if (role == SANDBOX_ROLE_VCPU || role == SANDBOX_ROLE_VCPU_FILES)
		snprintf(name, sizeof(name), "vcpu%u", index);
	else if (role == SANDBOX_ROLE_DEVICE)
		snprintf(name, sizeof(name), "dev%u", index);
	else
		snprintf(name, sizeof(name), "minivmm");
	prctl(PR_SET_NAME, name);
	if (!sb || sb->mode == SANDBOX_NONE)
		return 0;
	sandbox_thread_role = roles[role].name;
	ctx = seccomp_init(sb->mode == SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	ret = build_filter(ctx, role);
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	return ret;
}

unsigned long long sandbox_root_caps(const struct sandbox_needs *n)
{
	return SANDBOX_ROOT_CAPS | (n->chown ? SANDBOX_CAP_CHOWN : 0) |
	       (n->fsetid ? SANDBOX_CAP_FSETID : 0) | (n->mknod ? SANDBOX_CAP_MKNOD : 0);
}

/* Drop every capability but keep, from every set, the bounding set included. */
static int set_caps(uint64_t keep)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {0};

	/*
	 * The bounding set needs CAP_SETPCAP to shrink (EPERM without it, e.g.
	 * an unprivileged run, or root in a container that lacks it); it only
	 * matters for what an execve() could gain, which no_new_privs already
	 * rules out, so it is cut where possible.  EINVAL: a capability this
	 * kernel does not know.
	 */
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (!(keep & (1ull << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno != EINVAL && errno != EPERM)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

int sandbox_drop_privileges(const struct sandbox *sb, char *err, size_t errlen)
{
	int ret;

	if (sb->mode == SANDBOX_NONE)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		ret = -errno;
		snprintf(err, errlen, "sandbox: no_new_privs: %s", strerror(-ret));
		return ret;
	}
	ret = set_caps(sb->userns || geteuid() != 0 ? 0 : sandbox_root_caps(&sb->needs));
	if (ret) {
		snprintf(err, errlen, "sandbox: dropping capabilities: %s", strerror(-ret));
		return ret;
	}
	ret = setup_sigsys();
	if (ret)
		snprintf(err, errlen, "sandbox: SIGSYS handler: %s", strerror(-ret));
	return ret;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int ret = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != strlen(text))
		ret = -EIO;
	close(fd);
	return ret;
}

/*
 * The flags a bind remount must keep: in a user namespace the kernel
 * refuses to clear read-only, nosuid, nodev, noexec or change the atime
 * mode of a mount it inherited ("locked" flags, mount_namespaces(7)).
 */
static unsigned long kept_flags(const char *dir)
{
	struct statvfs st;
	unsigned long f = 0;

	if (statvfs(dir, &st) < 0)
		return 0;
	if (st.f_flag & ST_RDONLY)
		f |= MS_RDONLY;
	if (st.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (st.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (st.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/*
 * Bind the directory (or, !dir, the file) open on fd (O_PATH, named name in
 * messages) at dst and remount it with flags (plus what its mount must
 * keep).  Through the fd, because the stage may cover the directory's own
 * path.
 */
static int bind(int fd, bool dir, const char *name, const char *dst, unsigned long flags, char *err,
		size_t errlen)
{
	char src[32];
	int ret, mp;

	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	if (dir) {
		if (mkdir(dst, 0755) < 0 && errno != EEXIST)
			goto fail;
	} else {
		/* A file is mounted on a file. */
		mp = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
		if (mp < 0)
			goto fail;
		close(mp);
	}
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		goto fail;
	if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | flags | kept_flags(dst), NULL) < 0)
		goto fail;
	return 0;
fail:
	ret = -errno;
	snprintf(err, errlen, "sandbox: cannot mount %s in the sandbox: %s", name, strerror(-ret));
	return ret;
}

/* Where the new root is built: any directory will do, it is covered in this namespace only. */
#define STAGE "/tmp"

/*
 * What of /proc/self the sandbox shows, at the same paths.  Not the whole
 * directory: with it, a lookup that escaped the share's checks would still
 * read the environment (environ: a CI job's secrets), the program (exe) and
 * the memory maps.  fd stays, and with it the files minivmm holds open:
 * reopening an O_PATH fd through its magic link is the one way to get a
 * real open file from it.
 */
static const struct {
	const char *name;
	bool dir;
} proc_keep[] = {
	{"fd", true},	   /* the FUSE server reopens its O_PATH fds through /proc/self/fd/N */
	{"status", false}, /* the umask (fuse/passthrough.c), VmHWM for --stats */
	{"smaps", false},  /* --stats: how much guest RAM is resident */
};

/* Bind proc_keep[] of the /proc/self open on self at STAGE/proc/self. */
static int bind_proc(int self, unsigned long flags, char *err, size_t errlen)
{
	char path[64], name[32];
	int ret = 0, fd;

	if (mkdir(STAGE "/proc/self", 0755) < 0) {
		ret = -errno;
		snprintf(err, errlen, "sandbox: cannot make /proc/self in the sandbox: %s",
			 strerror(-ret));
		return ret;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(proc_keep) && !ret; i++) {
		snprintf(name, sizeof(name), "/proc/self/%s", proc_keep[i].name);
		fd = openat(self, proc_keep[i].name,
			    O_PATH | O_CLOEXEC | (proc_keep[i].dir ? O_DIRECTORY : 0));
		if (fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "sandbox: %s: %s", name, strerror(-ret));
			break;
		}
		snprintf(path, sizeof(path), STAGE "%s", name);
		ret = bind(fd, proc_keep[i].dir, name, path, flags, err, errlen);
		close(fd);
	}
	return ret;
}

int sandbox_enter_namespaces(struct sandbox *sb, const char *const *dirs, const bool *ro,
			     unsigned int n, char *err, size_t errlen)
{
	const unsigned long hardened = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int fds[SANDBOX_MAX_SHARES + 1];
	char path[64], map[64];
	unsigned int i;
	int ret;

	if (n > SANDBOX_MAX_SHARES)
		return -EINVAL;
	for (i = 0; i <= n; i++)
		fds[i] = -1;
	sb->nshares = n;
	for (i = 0; i < n; i++) {
		sb->host_dir[i] = dirs[i];
		snprintf(sb->share_path[i], sizeof(sb->share_path[i]), "/shares/%u", i);
	}
	if (sb->mode == SANDBOX_NONE)
		return 0;

	sb->userns = uid != 0;
	if (unshare(CLONE_NEWNS | (sb->userns ? CLONE_NEWUSER : 0)) < 0) {
		ret = -errno;
		snprintf(err, errlen,
			 "sandbox: cannot create a %snamespace: %s (--sandbox=none runs without "
			 "the sandbox)",
			 sb->userns ? "user and mount " : "mount ", strerror(-ret));
		return ret;
	}
	if (sb->userns) {
		/* Only our own ids: an unprivileged process may map nothing else. */
		ret = write_file("/proc/self/setgroups", "deny");
		snprintf(map, sizeof(map), "%u %u 1", (unsigned int)uid, (unsigned int)uid);
		if (!ret)
			ret = write_file("/proc/self/uid_map", map);
		snprintf(map, sizeof(map), "%u %u 1", (unsigned int)gid, (unsigned int)gid);
		if (!ret)
			ret = write_file("/proc/self/gid_map", map);
		if (ret) {
			snprintf(err, errlen, "sandbox: user namespace id maps: %s",
				 strerror(-ret));
			return ret;
		}
	}
	/* Nothing we mount from here on may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		goto fail_errno;
	/*
	 * The shares and /proc/self, opened in this namespace (a bind needs a
	 * source mount of its own namespace) and before the stage covers
	 * anything.  /proc/self is this process's own directory, of which
	 * only proc_keep[] is shown; nothing of another process is reachable.
	 */
	for (i = 0; i <= n; i++) {
		fds[i] = open(i < n ? dirs[i] : "/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fds[i] < 0) {
			ret = -errno;
			snprintf(err, errlen, "sandbox: %s: %s", i < n ? dirs[i] : "/proc/self",
				 strerror(-ret));
			goto out;
		}
	}
	if (mount("minivmm", STAGE, "tmpfs", hardened, "mode=0755,size=64k") < 0 ||
	    mkdir(STAGE "/shares", 0755) < 0 || mkdir(STAGE "/proc", 0755) < 0)
		goto fail_errno;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), STAGE "%s", sb->share_path[i]);
		ret = bind(fds[i], true, dirs[i], path, hardened | (ro[i] ? MS_RDONLY : 0), err,
			   errlen);
		if (ret)
			goto out;
	}
	ret = bind_proc(fds[n], hardened | MS_RDONLY, err, errlen);
	if (ret)
		goto out;
	if (chdir(STAGE) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		goto fail_errno;
	/* The old root now sits on top of the new one: detach it. */
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		goto fail_errno;
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | hardened, NULL) < 0)
		goto fail_errno;
	log_info("sandbox: root is a tmpfs with %u share%s%s", n, n == 1 ? "" : "s",
		 sb->userns ? ", in a user namespace" : "");
	ret = 0;
	goto out;

fail_errno:
	ret = -errno;
	snprintf(err, errlen,
		 "sandbox: cannot build the sandbox's root: %s (--sandbox=none runs without the "
		 "sandbox)",
		 strerror(-ret));
out:
	for (i = 0; i <= n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return ret;
}

const char *sandbox_share_path(const struct sandbox *sb, unsigned int i)
{
	if (i >= sb->nshares)
		return NULL;
	return sb->mode == SANDBOX_NONE ? sb->host_dir[i] : sb->share_path[i];
}
