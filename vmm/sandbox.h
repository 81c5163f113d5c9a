/*
 * sandbox.h - defence in depth around the guest: what minivmm can still do
 * on the host if one of its own checks of guest input has a bug.
 *
 * The guest reaches host code through the devices (virtio queues, the FUSE
 * server, port and MMIO registers).  Those check every guest value, but a
 * VMM that runs code nobody reviewed must assume one check is wrong, so once
 * setup is done minivmm gives up what it no longer needs:
 *
 *  - Mount namespace (sandbox_enter_namespaces(), before the FUSE servers
 *    open their shares): the process's root becomes a read-only tmpfs that
 *    holds only the shared directories (bind mounts at /shares/N, nosuid,
 *    nodev, noexec; read-only for ro shares) and, of this process's own
 *    /proc/self, fd (which the passthrough code reopens files through),
 *    status and smaps (sandbox.c proc_keep[]).
 *    The old root is detached, so no path and no ".." of any fd opened
 *    afterwards leads to another host file.  Without root, a user namespace
 *    that maps only the caller's uid and gid gets there.
 *  - Privileges (sandbox_drop_privileges()): no_new_privs, and the
 * capability sets cut to what the FUSE server uses (sandbox_root_caps() as
 *    root; none in a user namespace).
 *  - Seccomp (sandbox_enter_role()): each thread, before it runs guest code
 *    or serves a guest request, loads the allow-list of its role: vCPU
 *    threads, device threads (virtio queues, the FUSE server, the DAX
 *    repair), and the main thread (event loop; at exit it also serves the
 *    requests left on the rings and tears down).  A call outside the list
 *    ends minivmm with one line naming the call and the thread's role.
 *
 * SANDBOX_NONE skips all of it (--sandbox=none, for debugging only);
 * SANDBOX_LOG sets everything up but lets a refused call through and logs
 * it to the kernel log (audit type 1326, with the thread's name), to find
 * a call missing from a list.
 */
#ifndef MINIVMM_VMM_SANDBOX_H
#define MINIVMM_VMM_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#define SANDBOX_MAX_SHARES 16
#define SANDBOX_PATH_MAX 24 /* "/shares/15" and a NUL */

enum sandbox_mode {
	SANDBOX_ON,   /* the default */
	SANDBOX_NONE, /* --sandbox=none */
	SANDBOX_LOG,  /* --sandbox=log */
};

enum sandbox_role {
	SANDBOX_ROLE_MAIN,
	SANDBOX_ROLE_VCPU,
	SANDBOX_ROLE_DEVICE,
	/*
	 * A vCPU that also serves a virtio-fs share's requests on its MMIO
	 * exits (serve=vcpu): the vCPU list plus the device list.
	 */
	SANDBOX_ROLE_VCPU_FILES,
	SANDBOX_ROLE_SNAPSHOT, /* --snapshot's writer: reads the stopped VM, writes DIR */
	SANDBOX_NROLES,
};

/*
 * The capabilities kept when started as root (bit numbers of
 * <linux/capability.h>): SANDBOX_ROOT_CAPS always, the others only where a
 * share needs them (sandbox_root_caps()).
 */
#define SANDBOX_CAP_CHOWN (1ull << 0)  /* created files get another owner than ours */
#define SANDBOX_CAP_FSETID (1ull << 4) /* chmod keeps set-gid on files of another group */
#define SANDBOX_CAP_MKNOD (1ull << 27) /* FUSE_MKNOD of device nodes (dev shares) */
#define SANDBOX_ROOT_CAPS                                                                          \
	((1ull << 1) /* CAP_DAC_OVERRIDE: serve files of every guest uid */ |                      \
	 (1ull << 2) /* CAP_DAC_READ_SEARCH: open_by_handle_at() */ |                              \
	 (1ull << 3) /* CAP_FOWNER: chmod/utimes on files of other uids */)

/*
 * What the shares need beyond SANDBOX_ROOT_CAPS; set before
 * sandbox_drop_privileges().
 */
struct sandbox_needs {
	bool mknod;  /* some share has dev */
	bool fsetid; /* some share has suid, or gives files other owners */
	bool chown;  /* some share has ids=keep, or squashes to ids not our own */
};

/* The capability set kept as root for these needs. */
unsigned long long sandbox_root_caps(const struct sandbox_needs *n);

struct sandbox {
	enum sandbox_mode mode;
	bool userns;	      /* entered a user namespace (not started as root) */
	unsigned int nshares; /* paths valid after sandbox_enter_namespaces() */
	char share_path[SANDBOX_MAX_SHARES][SANDBOX_PATH_MAX];
	const char *host_dir[SANDBOX_MAX_SHARES]; /* the caller's dirs[] */
	struct sandbox_needs needs;		  /* capabilities the shares need (below) */
};

/*
 * Enter the namespaces described above with dirs[0..n) (absolute host
 * paths; ro[i]: read-only) bind-mounted at sandbox_share_path(sb, i).
 * Files opened before stay open (the kernel, /dev/kvm).  With SANDBOX_NONE
 * nothing changes and the share paths are dirs[i].  0, or -errno with a
 * one-line reason in err.
 */
int sandbox_enter_namespaces(struct sandbox *sb, const char *const *dirs, const bool *ro,
			     unsigned int n, char *err, size_t errlen);

/* Where share i is reached from now on (valid after sandbox_enter_namespaces()). */
const char *sandbox_share_path(const struct sandbox *sb, unsigned int i);

/*
 * no_new_privs and the reduced capability sets, for the whole process (call
 * before any thread is started).  0 or -errno with a reason in err.
 */
int sandbox_drop_privileges(const struct sandbox *sb, char *err, size_t errlen);

/*
 * Load role's seccomp filter on the calling thread (and name the thread
 * after its role, so the kernel log and `ps -L` say which is which; index
 * tells vCPUs apart).  A thread may load one role only.  0 or -errno.
 */
int sandbox_enter_role(const struct sandbox *sb, enum sandbox_role role, unsigned int index);

/* How many system calls role's list allows (for tests and the README). */
unsigned int sandbox_role_syscalls(enum sandbox_role role);

/* "main", "vcpu", "device", "vcpu-files", "snapshot". */
const char *sandbox_role_name(enum sandbox_role role);

#endif
