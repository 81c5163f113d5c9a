/*
 * Unit tests for lib/iov: copies between iovec arrays and flat buffers.
 *
 * Requests arrive split across segments anywhere, so every helper is
 * checked across segment boundaries, at and past the end of the array,
 * with fewer segments than the array holds and with zero lengths: the
 * copies (iov_gather/iov_scatter), the sub-range description (iov_slice)
 * and the saturating total (iov_total).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "lib/iov.h"
#include "tests/unit/tap.h"

static void test_copy(void)
{
	uint8_t a[5], b[3], c[7], out[16], src[16];
	struct iovec iov[3] = {{a, 5}, {b, 3}, {c, 7}};

	for (unsigned int i = 0; i < 5; i++)
		a[i] = (uint8_t)i;
	for (unsigned int i = 0; i < 3; i++)
		b[i] = (uint8_t)(5 + i);
	for (unsigned int i = 0; i < 7; i++)
		c[i] = (uint8_t)(8 + i);

	memset(out, 0xff, sizeof(out));
	is(iov_gather(iov, 3, 4, out, 6), 6, "iov: read across two boundaries");
	ok(out[0] == 4 && out[1] == 5 && out[3] == 7 && out[4] == 8 && out[5] == 9 &&
		   out[6] == 0xff,
	   "iov: read bytes 4..9 in order");
	is(iov_gather(iov, 3, 0, out, 16), 15, "iov: read stops at the end");
	is(out[14], 14, "iov: last byte");
	is(iov_gather(iov, 3, 14, out, 10), 1, "iov: read 1 byte before the end");
	is(iov_gather(iov, 3, 15, out, 10), 0, "iov: read at the end gives 0");
	is(iov_gather(iov, 3, 1000, out, 10), 0, "iov: read far past the end gives 0");
	is(iov_gather(iov, 2, 0, out, 16), 8, "iov: n limits the segments");
	is(iov_gather(iov, 3, 3, out, 0), 0, "iov: zero length");

	for (unsigned int i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(0xa0 + i);
	is(iov_scatter(iov, 3, 3, src, 4), 4, "iov: write across a boundary");
	ok(a[2] == 2 && a[3] == 0xa0 && a[4] == 0xa1 && b[0] == 0xa2 && b[1] == 0xa3 && b[2] == 7,
	   "iov: written bytes land, neighbours intact");
	is(iov_scatter(iov, 3, 10, src, 16), 5, "iov: write stops at the end");
	ok(c[1] == 9 && c[2] == 0xa0 && c[6] == 0xa4, "iov: tail written");
	is(iov_scatter(iov, 3, 15, src, 1), 0, "iov: write past the end gives 0");
}

static void test_slice(void)
{
	uint8_t a[5], b[3], c[7];
	struct iovec iov[3] = {{a, 5}, {b, 3}, {c, 7}};
	struct iovec *v;
	int n;

	n = iov_slice(iov, 3, 4, 6, &v);
	is(n, 3, "slice: bytes 4..9 span three segments");
	ok(v[0].iov_base == a + 4 && v[0].iov_len == 1 && v[1].iov_base == b && v[1].iov_len == 3 &&
		   v[2].iov_base == c && v[2].iov_len == 2,
	   "slice: the pieces point into the segments");
	free(v);

	n = iov_slice(iov, 3, 10, 100, &v);
	is(n, 1, "slice: clipped to the end");
	ok(v[0].iov_base == c + 2 && v[0].iov_len == 5, "slice: the tail of the last segment");
	free(v);

	n = iov_slice(iov, 3, 15, 4, &v);
	is(n, 0, "slice: at the end is empty");
	free(v);

	n = iov_slice(iov, 3, 0, 0, &v);
	is(n, 0, "slice: zero length is empty");
	free(v);

	n = iov_slice(NULL, 0, 0, 8, &v);
	is(n, 0, "slice: no segments is empty");
	ok(v != NULL, "slice: still an array to free");
	free(v);
}

static void test_total(void)
{
	uint8_t a[5];
	struct iovec iov[3] = {{a, 5}, {a, 3}, {a, 7}};
	struct iovec huge[2] = {{a, SIZE_MAX - 2}, {a, 5}};

	is(iov_total(iov, 3), 15, "total: sum of the lengths");
	is(iov_total(iov, 1), 5, "total: n limits the segments");
	is(iov_total(NULL, 0), 0, "total: no segments");
	ok(iov_total(huge, 2) == SIZE_MAX, "total: saturates instead of wrapping");
}

int main(void)
{
	test_copy();
	test_slice();
	test_total();
	return done_testing();
}
