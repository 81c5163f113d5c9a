/*
 * test_sandbox.c - vmm/sandbox without KVM: the seccomp roles (list sizes;
 * a refused call ends the process with one line naming the call and the
 * thread's role; PROT_EXEC mappings refused; --sandbox=log lets calls
 * through), no_new_privs and the capability sets, and the mount namespace
 * (only the shares and /proc/self visible, read-only shares read-only, ".."
 * from a share stays in the sandbox).  Each case runs in a forked child,
 * since every step is one-way for the process that takes it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/tap.h"
#include "vmm/sandbox.h"

/* Run fn(arg) in a child; its stderr goes to out.  Returns its exit status, or 128+signal. */
static int in_child(int (*fn)(void *), void *arg, char *out, size_t outlen)
{
	int pfd[2], st;
	ssize_t n, got = 0;
	pid_t pid;

	fflush(stdout);
	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], STDERR_FILENO);
		/* Not _exit(): a sanitizer's exit hooks make calls no role allows. */
		syscall(SYS_exit_group, fn(arg));
	}
	close(pfd[1]);
	while ((n = read(pfd[0], out + got, outlen - 1 - (size_t)got)) > 0)
		got += n;
	out[got] = '\0';
	if (got > 0 && out[got - 1] == '\n')
		out[got - 1] = '\0'; /* one TAP line per point */
	close(pfd[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int status_field(const char *field, char *val, size_t len)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t fl = strlen(field);
	int ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, fl) && line[fl] == ':') {
			snprintf(val, len, "%s", line + fl + 1 + strspn(line + fl + 1, " \t"));
			val[strcspn(val, "\n")] = '\0';
			ret = 0;
		}
	}
	fclose(f);
	return ret;
}

static struct sandbox sb_on = {.mode = SANDBOX_ON};
static struct sandbox sb_log = {.mode = SANDBOX_LOG};

static int forbidden_socket(void *arg)
{
	const struct sandbox *sb = arg;
	char err[256];
	int fd;

	if (sandbox_drop_privileges(sb, err, sizeof(err)))
		return 10;
	if (sandbox_enter_role(sb, SANDBOX_ROLE_VCPU, 3))
		return 11;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	return fd >= 0 ? 0 : 12;
}

/* A file the FUSE server would open; arg: the role (vcpu or vcpu-files). */
static int vcpu_opens_file(void *arg)
{
	enum sandbox_role role = *(enum sandbox_role *)arg;
	char err[256];
	int fd;

	if (sandbox_drop_privileges(&sb_on, err, sizeof(err)))
		return 10;
	if (sandbox_enter_role(&sb_on, role, 1))
		return 11;
	fd = openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 12;
	close(fd);
	/* Still no sockets: vcpu-files adds the device list, nothing else. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	return fd >= 0 ? 0 : 13;
}

static int exec_mapping(void *arg)
{
	char err[256];
	void *p;

	(void)arg;
	if (sandbox_drop_privileges(&sb_on, err, sizeof(err)))
		return 10;
	if (sandbox_enter_role(&sb_on, SANDBOX_ROLE_DEVICE, 0))
		return 11;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 12;
	memset(p, 1, 4096);
	munmap(p, 4096);
	if (arg == NULL)
		return 0;
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 13;
}

static int exec_mapping_attempt(void *arg)
{
	(void)arg;
	return exec_mapping((void *)1);
}

static int status_after_role(void *arg)
{
	unsigned long long caps = *(unsigned long long *)arg; /* geteuid() is not allowed later */
	char err[256], val[64];

	if (sandbox_drop_privileges(&sb_on, err, sizeof(err)))
		return 10;
	if (sandbox_enter_role(&sb_on, SANDBOX_ROLE_MAIN, 0))
		return 11;
	/* The main role may read its own /proc/self/status (--stats). */
	if (status_field("Seccomp", val, sizeof(val)) || strcmp(val, "2"))
		return 12;
	if (status_field("NoNewPrivs", val, sizeof(val)) || strcmp(val, "1"))
		return 13;
	if (status_field("CapEff", val, sizeof(val)))
		return 14;
	if (strtoull(val, NULL, 16) != caps)
		return 15;
	return 0;
}

struct ns_case {
	char rw[64], ro[64];
};

static int namespace_view(void *arg)
{
	struct ns_case *c = arg;
	const char *dirs[2] = {c->rw, c->ro};
	bool ro[2] = {false, true};
	struct sandbox sb = {.mode = SANDBOX_ON};
	char err[256];
	struct dirent *de;
	struct stat st;
	int fd, up, nent = 0;
	DIR *d;

	if (sandbox_enter_namespaces(&sb, dirs, ro, 2, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 20;
	}
	if (strcmp(sandbox_share_path(&sb, 1), "/shares/1"))
		return 21;
	if (access("/etc/passwd", F_OK) == 0 || errno != ENOENT)
		return 22;
	d = opendir("/");
	if (!d)
		return 23;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			nent += strcmp(de->d_name, "shares") && strcmp(de->d_name, "proc") ? 100
											   : 1;
	closedir(d);
	if (nent != 2)
		return 24;
	fd = open("/shares/0/a", O_RDWR);
	if (fd < 0)
		return 25;
	close(fd);
	if (open("/shares/1/b", O_RDWR) >= 0 || errno != EROFS)
		return 26;
	if (open("/shares/1/b", O_RDONLY) < 0)
		return 27;
	if (mkdir("/new", 0755) == 0 || errno != EROFS)
		return 28;
	/* ".." from a share ends at the sandbox's root, whatever the host has above. */
	fd = open("/shares/0", O_PATH | O_DIRECTORY);
	up = openat(fd, "../../../..", O_PATH | O_DIRECTORY);
	if (up < 0 || fstatat(up, "shares", &st, 0) < 0 || fstatat(up, "etc", &st, 0) == 0)
		return 29;
	if (stat("/proc/self/fd", &st) < 0 || stat("/proc/1", &st) == 0)
		return 30;
	/* Of /proc/self only what minivmm reads: not its environment or program. */
	if (stat("/proc/self/status", &st) < 0 || stat("/proc/self/smaps", &st) < 0 ||
	    stat("/proc/self/environ", &st) == 0 || stat("/proc/self/exe", &st) == 0)
		return 31;
	return 0;
}

int main(void)
{
	unsigned long long caps;
	struct ns_case c;
	char out[1024];
	int st, fd;

	ok(sandbox_role_syscalls(SANDBOX_ROLE_VCPU) <= 30, "vCPU threads: %u system calls (<= 30)",
	   sandbox_role_syscalls(SANDBOX_ROLE_VCPU));
	ok(sandbox_role_syscalls(SANDBOX_ROLE_DEVICE) <= 70,
	   "device threads: %u system calls (<= 70)", sandbox_role_syscalls(SANDBOX_ROLE_DEVICE));
	ok(sandbox_role_syscalls(SANDBOX_ROLE_MAIN) >= sandbox_role_syscalls(SANDBOX_ROLE_DEVICE),
	   "the main thread may do what device threads do (it serves the rings at exit): %u",
	   sandbox_role_syscalls(SANDBOX_ROLE_MAIN));
	is(strcmp(sandbox_role_name(SANDBOX_ROLE_VCPU), "vcpu"), 0, "role names");
	ok(sandbox_role_syscalls(SANDBOX_ROLE_VCPU_FILES) >=
			   sandbox_role_syscalls(SANDBOX_ROLE_DEVICE) &&
		   sandbox_role_syscalls(SANDBOX_ROLE_VCPU_FILES) >
			   sandbox_role_syscalls(SANDBOX_ROLE_VCPU),
	   "vCPUs serving a serve=vcpu share: device's calls and the vCPU's: %u",
	   sandbox_role_syscalls(SANDBOX_ROLE_VCPU_FILES));

	st = in_child(forbidden_socket, &sb_on, out, sizeof(out));
	is(st, 1, "a vCPU thread calling socket() ends the process with status 1");
	ok(strstr(out, "minivmm: sandbox: the vcpu thread made a system call it may not make: "
		       "socket (41)") != NULL,
	   "with one line naming the role and the call: %s", out);
	ok(strchr(out, '\n') == NULL, "one line");

	{
		enum sandbox_role role = SANDBOX_ROLE_VCPU;

		st = in_child(vcpu_opens_file, &role, out, sizeof(out));
		ok(st == 1 && strstr(out, "the vcpu thread made a system call it may not make: "
					  "openat") != NULL,
		   "a plain vCPU thread may not open files: %s", out);
		role = SANDBOX_ROLE_VCPU_FILES;
		st = in_child(vcpu_opens_file, &role, out, sizeof(out));
		ok(st == 1 && strstr(out, "the vcpu-files thread made a system call it may not "
					  "make: socket (41)") != NULL,
		   "a vcpu-files thread opens files, and still no socket(): %s", out);
	}

	st = in_child(forbidden_socket, &sb_log, out, sizeof(out));
	is(st, 0, "--sandbox=log lets the refused call through (logged by the kernel)");

	st = in_child(exec_mapping, NULL, out, sizeof(out));
	if (st)
		diag("%s", out);
	is(st, 0, "device threads may map memory read-write");
	st = in_child(exec_mapping_attempt, NULL, out, sizeof(out));
	is(st, 1, "an executable mapping ends the process");
	ok(strstr(out, "device thread made a system call it may not make: mmap (9)") != NULL,
	   "and names mmap: %s", out);

	{
		struct sandbox_needs none = {0}, all = {true, true, true}, dev = {.mknod = true};

		is(sandbox_root_caps(&none), 0xeull,
		   "root keeps DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER for shares without needs");
		is(sandbox_root_caps(&dev), 0xeull | 1ull << 27, "  plus MKNOD for a dev share");
		is(sandbox_root_caps(&all), 0x800001full,
		   "  plus CHOWN, FSETID, MKNOD when shares need them all");
	}
	caps = geteuid() == 0 ? SANDBOX_ROOT_CAPS : 0;
	st = in_child(status_after_role, &caps, out, sizeof(out));
	if (st)
		diag("%s", out);
	is(st, 0, "Seccomp: 2, NoNewPrivs: 1, CapEff as documented (%s)",
	   geteuid() == 0 ? "root: SANDBOX_ROOT_CAPS" : "not root: none");

	snprintf(c.rw, sizeof(c.rw), "/tmp/test_sandbox.rw.XXXXXX");
	snprintf(c.ro, sizeof(c.ro), "/tmp/test_sandbox.ro.XXXXXX");
	if (!mkdtemp(c.rw) || !mkdtemp(c.ro))
		return 1;
	snprintf(out, sizeof(out), "%s/a", c.rw);
	fd = open(out, O_CREAT | O_WRONLY, 0644);
	close(fd);
	snprintf(out, sizeof(out), "%s/b", c.ro);
	fd = open(out, O_CREAT | O_WRONLY, 0644);
	close(fd);
	st = in_child(namespace_view, &c, out, sizeof(out));
	is(st, 0, "the namespace shows only the shares and /proc/self (%s)", out);

	snprintf(out, sizeof(out), "rm -rf '%s' '%s'", c.rw, c.ro);
	if (system(out) != 0)
		diag("could not remove the scratch folders");
	return done_testing();
}
