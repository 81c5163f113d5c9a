/*
 * xattr.c - extended attributes of shared files (passthrough_getxattr() and
 * the others; contract in passthrough.h).
 *
 * Only user.* may be set or removed: the server may run with privileges
 * the guest must not borrow, and trusted.* or security.capability would
 * take effect on the host.  The calls go through /proc/self/fd/N of the
 * inode's O_PATH fd (there is no f*xattr() on an O_PATH fd), which would
 * follow a symlink, so symlinks' xattrs are refused.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/xattr.h>

#include "fuse/inode_table.h"
#include "fuse/passthrough.h"
#include "fuse/passthrough_internal.h"

/* xattrs go through /proc/self/fd/N, so symlinks (which it would follow) are refused. */
static int xattr_path(struct passthrough *p, uint64_t nodeid, struct it_ref *r, char *path)
{
	int ret = itab_get(p->it, nodeid, r);

	if (ret < 0)
		return ret;
	if (S_ISLNK(r->mode)) {
		itab_put(p->it, r);
		return -EPERM;
	}
	proc_path(path, r->fd);
	return 0;
}

/* getxattr(name), or listxattr() when name is NULL, into buf. */
static int get_or_list_xattr(struct passthrough *p, uint64_t nodeid, const char *name, void *buf,
			     size_t size)
{
	char path[PROC_FD_PATH_LEN];
	struct it_ref r;
	ssize_t n;
	int ret = xattr_path(p, nodeid, &r, path);

	if (ret < 0)
		return ret;
	n = name ? getxattr(path, name, buf, size) : listxattr(path, buf, size);
	ret = n < 0 ? -errno : (int)n;
	itab_put(p->it, &r);
	return ret;
}

int passthrough_getxattr(struct passthrough *p, uint64_t nodeid, const char *name, void *buf,
			 size_t size)
{
	return get_or_list_xattr(p, nodeid, name, buf, size);
}

int passthrough_listxattr(struct passthrough *p, uint64_t nodeid, void *buf, size_t size)
{
	return get_or_list_xattr(p, nodeid, NULL, buf, size);
}

/*
 * Only the user.* namespace may be changed: the server may run as root, and
 * trusted.* or security.capability set by the guest would act on the host.
 */
static bool xattr_name_ok(const char *name)
{
	return strncmp(name, "user.", 5) == 0;
}

/* setxattr(), or removexattr() when remove. */
static int change_xattr(struct passthrough *p, uint64_t nodeid, const char *name, const void *val,
			size_t size, uint32_t flags, bool remove)
{
	char path[PROC_FD_PATH_LEN];
	struct it_ref r;
	int ret;

	EROFS_IF_RO(p);
	if (!xattr_name_ok(name))
		return -EPERM;
	ret = xattr_path(p, nodeid, &r, path);
	if (ret < 0)
		return ret;
	if (remove)
		ret = removexattr(path, name);
	else
		ret = setxattr(path, name, val, size,
			       (int)(flags & (XATTR_CREATE | XATTR_REPLACE)));
	ret = ret < 0 ? -errno : 0;
	itab_put(p->it, &r);
	return ret;
}

int passthrough_setxattr(struct passthrough *p, uint64_t nodeid, const char *name, const void *val,
			 size_t size, uint32_t flags)
{
	return change_xattr(p, nodeid, name, val, size, flags, false);
}

int passthrough_removexattr(struct passthrough *p, uint64_t nodeid, const char *name)
{
	return change_xattr(p, nodeid, name, NULL, 0, 0, true);
}
