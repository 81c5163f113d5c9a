/*
 * iov.c - copies between iovec arrays and flat buffers (see iov.h).
 *
 * One walk serves both directions: skip whole segments before off, then
 * copy segment by segment until len bytes are done or the segments end.
 */
#include "lib/iov.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* Copy between the concatenation of iov[0..n) at byte off and buf. */
static size_t iov_copy(const struct iovec *iov, unsigned int n, size_t off, void *buf, size_t len,
		       bool to_iov)
{
	uint8_t *b = buf;
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t seg = iov[i].iov_len, chunk;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		chunk = MIN(seg - off, len - done);
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + off, b + done, chunk);
		else
			memcpy(b + done, (const uint8_t *)iov[i].iov_base + off, chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

size_t iov_gather(const struct iovec *iov, unsigned int n, size_t off, void *dst, size_t len)
{
	return iov_copy(iov, n, off, dst, len, false);
}

size_t iov_scatter(const struct iovec *iov, unsigned int n, size_t off, const void *src, size_t len)
{
	/* iov_copy only reads buf in this direction. */
	return iov_copy(iov, n, off, (void *)src, len, true);
}

int iov_slice(const struct iovec *iov, unsigned int n, size_t off, size_t len, struct iovec **res)
{
	struct iovec *v = calloc(n ? n : 1, sizeof(*v));
	unsigned int k = 0;

	if (!v)
		return -ENOMEM;
	for (unsigned int i = 0; i < n && len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l = MIN(l - off, len);
		v[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		v[k].iov_len = l;
		k++;
		len -= l;
		off = 0;
	}
	*res = v;
	return (int)k;
}

size_t iov_total(const struct iovec *iov, unsigned int n)
{
	size_t t = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (iov[i].iov_len > SIZE_MAX - t)
			return SIZE_MAX;
		t += iov[i].iov_len;
	}
	return t;
}
