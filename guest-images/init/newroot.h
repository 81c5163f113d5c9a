/*
 * newroot.h - the init's move from the initramfs to a root directory on
 * virtio-fs (minivmm --root): the writable layer over a read-only root,
 * the API filesystems inside the new root, and switch_root.
 *
 * Each step returns 0 or -errno and names what failed in what[] (a path
 * or a mount), for the init's one-line error.
 */
#ifndef MINIVMM_GUEST_IMAGES_INIT_NEWROOT_H
#define MINIVMM_GUEST_IMAGES_INIT_NEWROOT_H

#include <stddef.h>

/*
 * Mount an overlay on target whose only lower layer is lower (already
 * mounted) and whose upper and work directories are on a fresh tmpfs
 * mounted on rw: the guest writes to RAM, lower never changes.
 */
int newroot_overlay(const char *lower, const char *rw, const char *target, char *what,
		    size_t whatlen);

/*
 * Move the initramfs's /dev (with /dev/pts and /dev/shm), /proc, /sys,
 * /run and /tmp mounts to the same places in root, creating the mount
 * points that are missing there.
 */
int newroot_move_api(const char *root, char *what, size_t whatlen);

/*
 * switch_root(8)'s work, done by pid 1 itself: delete the initramfs's files
 * (it is the kernel's rootfs, which cannot be unmounted; its RAM is freed
 * only that way), never crossing into another mount, then move root onto
 * / and chroot there.  The process's cwd is / of the new root afterwards.
 */
int newroot_switch(const char *root, char *what, size_t whatlen);

#endif
