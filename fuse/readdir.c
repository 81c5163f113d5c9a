/*
 * readdir.c - READDIR and READDIRPLUS: a host directory's entries as
 * fuse_dirent / fuse_direntplus records (passthrough_readdir(), contract
 * in passthrough.h).
 *
 * The host stream (getdents64 on the fh's directory fd) and the guest's
 * offsets are the same: each record carries the host's d_off, and the
 * stream is left exactly after the last entry sent, so that the next
 * READDIR continues there without a seek that could skip entries.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fuse/inode_table.h"
#include "fuse/passthrough.h"
#include "fuse/passthrough_internal.h"
#include "lib/util.h"

struct linux_dirent64_hdr {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

int passthrough_readdir(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t off,
			void *buf, size_t size, bool plus)
{
	size_t used = 0, cap = MIN(MAX(size, (size_t)4096), (size_t)(256 * KiB));
	off_t prev_off = (off_t)off;
	bool widened = false;
	struct it_fh f;
	struct it_ref dref = {0};
	struct statx dx;
	uint64_t ddev;
	char *dents;
	long n;
	int ret;

	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	ret = itab_fh_get(p->it, fh, nodeid, 1, &f);
	if (ret < 0)
		return ret;
	/* Entries are numbered like their attributes (pt_guest_ino()): by the directory's device.
	 */
	ret = pt_statx(f.fd, &dx);
	if (ret < 0)
		goto out_fh;
	ddev = makedev(dx.stx_dev_major, dx.stx_dev_minor);
	if (plus) {
		ret = itab_get(p->it, nodeid, &dref);
		if (ret < 0)
			goto out_fh;
	}
	dents = malloc(cap);
	if (!dents) {
		ret = -ENOMEM;
		goto out_ref;
	}
	/*
	 * seek + getdents must not interleave with another READDIR on this fh.
	 * Seek only when the guest asks for another position than where the
	 * stream is: on filesystems whose offsets are positions (tmpfs before
	 * Linux 6.6), a seek recounts entries and skips some after deletions,
	 * which breaks `rm -rf` of a large directory.
	 */
	pthread_mutex_lock(f.lock);
	if (lseek(f.fd, 0, SEEK_CUR) != (off_t)off && lseek(f.fd, (off_t)off, SEEK_SET) < 0) {
		ret = -errno;
		goto out_unlock;
	}
	for (;;) {
		size_t pos = 0;
		/*
		 * Read no more host entries than the reply can hold, so the
		 * stream stays exactly after the last entry sent: a FUSE record
		 * is at most 4/3 (plain) or 160/24 (plus) of the host's.
		 */
		size_t room = size - used;
		size_t lcap = MIN(cap, plus ? room * 24 / 160 : room * 3 / 4);

		/*
		 * That bound is for typical names; with a small reply buffer
		 * the first entry may need more.  Then read with the whole
		 * room: entries that do not fit are given back by seeking to
		 * the last one sent (below), and an entry that cannot fit at
		 * all is EINVAL, never an early end of the directory.
		 */
		if (widened)
			lcap = MIN(cap, room);
		if (lcap < 24) {
			if (!used && !widened) {
				widened = true;
				continue;
			}
			if (!used)
				ret = -EINVAL;
			break;
		}
		n = syscall(SYS_getdents64, f.fd, dents, lcap);
		if (n < 0) {
			if (errno == EINVAL && !used && !widened) {
				widened = true;
				continue;
			}
			/* EINVAL: the next entry needs a bigger buffer; send what we have. */
			ret = used ? 0 : -errno;
			break;
		}
		if (n == 0)
			break;
		while (pos < (size_t)n) {
			struct linux_dirent64_hdr *d = (void *)(dents + pos);
			size_t nl =
				strnlen(d->d_name,
					d->d_reclen - offsetof(struct linux_dirent64_hdr, d_name));
			size_t hdr = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
			size_t rec = FUSE_DIRENT_ALIGN(hdr + nl);
			struct fuse_dirent *de;
			char *out = (char *)buf + used;

			if (rec > size - used) {
				/* Only after widening: give the entry back, never lose it. */
				lseek(f.fd, prev_off, SEEK_SET);
				if (!used)
					ret = -EINVAL;
				goto done;
			}
			memset(out, 0, rec);
			if (plus) {
				struct fuse_direntplus *dp = (void *)out;
				bool dot = (nl == 1 && d->d_name[0] == '.') ||
					   (nl == 2 && d->d_name[0] == '.' && d->d_name[1] == '.');

				/*
				 * "." and ".." and entries whose lookup fails keep
				 * a zeroed entry_out: nodeid 0 tells the guest "no
				 * attributes", it still lists the name.
				 */
				if (!dot && pt_lookup_at(p, dref.fd, d->d_name, &dp->entry_out) < 0)
					memset(&dp->entry_out, 0, sizeof(dp->entry_out));
				de = &dp->dirent;
			} else {
				de = (void *)out;
			}
			de->ino = pt_guest_ino(p, ddev, d->d_ino);
			de->off = (uint64_t)d->d_off;
			prev_off = d->d_off;
			de->namelen = (uint32_t)nl;
			de->type = d->d_type;
			memcpy(de->name, d->d_name, nl);
			used += rec;
			pos += d->d_reclen;
		}
	}
done:
	if (ret == 0 || used)
		ret = (int)used;
out_unlock:
	pthread_mutex_unlock(f.lock);
	free(dents);
out_ref:
	if (plus)
		itab_put(p->it, &dref);
out_fh:
	itab_fh_put(p->it, &f);
	return ret;
}
