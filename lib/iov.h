/*
 * iov.h - copies between iovec arrays and flat buffers.
 *
 * Requests reach the devices and the FUSE server as arrays of segments
 * (guest buffers split anywhere, or the FUSE client's iovecs), never as
 * one flat buffer.  These helpers treat an array as the concatenation of
 * its segments and address it by byte offset, so that callers read a
 * header or write a reply without caring where the segments break.  Every
 * copy stops at the end of the segments: a short request or reply buffer
 * is a short count, never an access past it.
 */
#ifndef MINIVMM_LIB_IOV_H
#define MINIVMM_LIB_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/*
 * Copy len bytes from byte offset off of iov[0..n) into dst (gather) or
 * from src into it (scatter).  Return the bytes copied, less than len when
 * the segments end first (0 if off is past the end).
 */
size_t iov_gather(const struct iovec *iov, unsigned int n, size_t off, void *dst, size_t len);
size_t iov_scatter(const struct iovec *iov, unsigned int n, size_t off, const void *src,
		   size_t len);

/*
 * Describe bytes [off, off + len) of iov[0..n) (clipped to its end) as a
 * new iovec array, malloc'd into *res (freed by the caller, even when
 * empty).  Returns the count of entries, or -ENOMEM.
 */
int iov_slice(const struct iovec *iov, unsigned int n, size_t off, size_t len, struct iovec **res);

/* The total length of iov[0..n), SIZE_MAX if it does not fit a size_t. */
size_t iov_total(const struct iovec *iov, unsigned int n);

#endif
