/*
 * test_snapfile.c - lib/snapfile: a state file written and read back
 * section by section, and refused - with one line, never a crash or a
 * half-read file - when it is truncated at any length, has any byte
 * flipped, comes from another minivmm, format or kernel, or has random
 * bytes overwritten (a small fixed-seed fuzz).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/snapfile.h"
#include "tests/unit/tap.h"

#define VER "9.8.7-test"

static uint8_t kid[SNAP_KERNEL_ID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* One error line: not empty, no newline, and r left empty. */
static int one_line(const struct snap_reader *r, const char *err)
{
	return err[0] && !strchr(err, '\n') && r->buf == NULL;
}

/* A state file with a few sections of various sizes, in a malloc'ed copy. */
static uint8_t *make_file(size_t *len, const char *ver, const uint8_t *k)
{
	struct snap_writer w;
	const uint8_t *out;
	uint8_t big[5000];
	uint64_t clock = 0x1122334455667788ULL;
	uint8_t *copy;
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	snapw_init(&w);
	snapw_add(&w, SNAP_SEC_VM, 0, "vm", 2);
	snapw_add(&w, SNAP_SEC_VCPU, 0, big, sizeof(big));
	snapw_add(&w, SNAP_SEC_VCPU, 1, big + 1, 100);
	snapw_add(&w, SNAP_SEC_CLOCK, 0, &clock, sizeof(clock));
	snapw_add(&w, SNAP_SEC_DEVICE, 3, NULL, 0);
	if (snapw_finish(&w, ver, k, 128ULL << 20, &out, len))
		abort();
	copy = malloc(*len);
	if (!copy)
		abort();
	memcpy(copy, out, *len);
	snapw_free(&w);
	return copy;
}

static void test_roundtrip(void)
{
	struct snap_reader r;
	char err[200] = "";
	const void *p;
	uint64_t clock = 0;
	uint8_t small[3];
	size_t len, n;
	uint8_t *f = make_file(&len, VER, kid);

	is(snapr_parse(&r, f, len, VER, kid, err, sizeof(err)), 0, "written file reads back");
	is(r.hdr.ram_size, 128ULL << 20, "RAM size kept");
	is(r.hdr.nsections, 5, "5 sections");
	is(snapr_get(&r, SNAP_SEC_CLOCK, 0, &clock, sizeof(clock), err, sizeof(err)), 0,
	   "clock section");
	is(clock, 0x1122334455667788ULL, "clock payload intact");
	ok(snapr_find(&r, SNAP_SEC_VCPU, 0, &p, &n) == 0 && n == 5000 &&
		   ((const uint8_t *)p)[4999] == (uint8_t)(4999 * 7 + 3),
	   "vCPU 0: 5000 bytes, last byte intact");
	ok(snapr_find(&r, SNAP_SEC_VCPU, 1, &p, &n) == 0 && n == 100 &&
		   ((const uint8_t *)p)[0] == 10,
	   "vCPU 1 told from vCPU 0 by id");
	ok(snapr_find(&r, SNAP_SEC_DEVICE, 3, &p, &n) == 0 && n == 0, "empty section");
	is(snapr_find(&r, SNAP_SEC_VCPU, 2, &p, &n), -ENOENT, "absent id: ENOENT");
	is(snapr_find(&r, SNAP_SEC_PIT, 0, &p, &n), -ENOENT, "absent type: ENOENT");
	is(snapr_get(&r, SNAP_SEC_VM, 0, small, sizeof(small), err, sizeof(err)), -EINVAL,
	   "a section of another length is refused");
	ok(strstr(err, "2 bytes") && strstr(err, "expects 3"), "and says so: %s", err);
	is(snapr_parse(&r, f, len, VER, NULL, err, sizeof(err)), 0,
	   "kernel check skipped with NULL");
	free(f);
}

static void test_truncated(void)
{
	struct snap_reader r;
	char err[200];
	size_t len, cut, bad = 0, lines = 0;
	uint8_t *f = make_file(&len, VER, kid);
	uint8_t *copy;

	/* Every length short of the whole file, each in a buffer of exactly that size (ASan). */
	for (cut = 0; cut < len; cut++) {
		copy = malloc(cut ? cut : 1);
		memcpy(copy, f, cut);
		err[0] = '\0';
		if (snapr_parse(&r, copy, cut, VER, kid, err, sizeof(err)) != -EINVAL)
			bad++;
		else if (one_line(&r, err))
			lines++;
		if (cut == len / 2)
			diag("cut at %zu: %s", cut, err);
		free(copy);
	}
	is(bad, 0, "all %zu truncations refused", len);
	is(lines, len, "each with one line");
	copy = malloc(len + 1);
	memcpy(copy, f, len);
	copy[len] = 0;
	is(snapr_parse(&r, copy, len + 1, VER, kid, err, sizeof(err)), -EINVAL,
	   "a trailing byte is refused");
	ok(strstr(err, "after the last section") != NULL, "%s", err);
	free(copy);
	free(f);
}

static void test_flips(void)
{
	struct snap_reader r;
	char err[200];
	size_t len, i, bad = 0, lines = 0;
	uint8_t *f = make_file(&len, VER, kid);

	/* Every byte, one bit at a time in turn: a CRC-32 catches each single-bit error. */
	for (i = 0; i < len; i++) {
		uint8_t bit = (uint8_t)(1u << (i % 8));

		f[i] ^= bit;
		err[0] = '\0';
		if (snapr_parse(&r, f, len, VER, kid, err, sizeof(err)) != -EINVAL)
			bad++;
		else if (one_line(&r, err))
			lines++;
		f[i] ^= bit;
	}
	is(bad, 0, "a flipped bit in any of the %zu bytes is refused", len);
	is(lines, len, "each with one line");
	is(snapr_parse(&r, f, len, VER, kid, err, sizeof(err)), 0, "flipped back: reads again");
	free(f);
}

static void test_fuzz(void)
{
	struct snap_reader r;
	char err[200];
	size_t len, i, bad = 0;
	uint8_t *f = make_file(&len, VER, kid);
	uint8_t *g = malloc(len);
	unsigned int seed = 12345;
	int round;

	/* Random overwrites of 1-8 bytes at random places, 20000 rounds, fixed seed. */
	for (round = 0; round < 20000; round++) {
		int n = 1 + rand_r(&seed) % 8;
		bool changed = false;

		memcpy(g, f, len);
		while (n--) {
			i = (size_t)rand_r(&seed) % len;
			uint8_t v = (uint8_t)rand_r(&seed);

			changed |= g[i] != v;
			g[i] = v;
		}
		if (!changed)
			continue;
		if (snapr_parse(&r, g, len, VER, kid, err, sizeof(err)) != -EINVAL ||
		    !one_line(&r, err))
			bad++;
	}
	is(bad, 0, "20000 random corruptions refused with one line each");
	free(g);
	free(f);
}

static void test_foreign(void)
{
	struct snap_reader r;
	struct snap_header h;
	char err[200];
	uint8_t other[SNAP_KERNEL_ID_LEN] = {0};
	size_t len;
	uint8_t *f;

	f = make_file(&len, "1.0-other", kid);
	is(snapr_parse(&r, f, len, VER, kid, err, sizeof(err)), -EINVAL,
	   "another minivmm version refused");
	ok(strstr(err, "1.0-other") && strstr(err, VER), "names both versions: %s", err);
	free(f);

	f = make_file(&len, VER, other);
	is(snapr_parse(&r, f, len, VER, kid, err, sizeof(err)), -EINVAL, "another kernel refused");
	ok(strstr(err, "another kernel") != NULL, "%s", err);
	free(f);

	/* A future format, its header CRC right: refused by version, not as corrupt. */
	f = make_file(&len, VER, kid);
	memcpy(&h, f, sizeof(h));
	h.format_version = 2;
	h.crc = 0;
	h.crc = snap_crc32(0, &h, sizeof(h));
	memcpy(f, &h, sizeof(h));
	is(snapr_parse(&r, f, len, VER, kid, err, sizeof(err)), -EINVAL, "format 2 refused");
	ok(strstr(err, "format version 2") != NULL, "%s", err);
	free(f);

	is(snapr_parse(&r, (const uint8_t *)"#!/bin/sh\necho\n", 15, VER, kid, err, sizeof(err)),
	   -EINVAL, "a script is refused");
	ok(strstr(err, "not a minivmm snapshot") != NULL, "%s", err);
}

static void test_crc_ident(void)
{
	struct snap_ident a, b;
	uint8_t ka[SNAP_KERNEL_ID_LEN], kb[SNAP_KERNEL_ID_LEN];
	char img[4099];

	is(snap_crc32(0, "123456789", 9), 0xcbf43926u, "CRC-32 check value");
	is(snap_crc32(snap_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u, "CRC-32 continues");

	memset(img, 'k', sizeof(img));
	snap_ident_init(&a);
	snap_ident_add(&a, img, sizeof(img));
	snap_ident_add(&a, "console=ttyS0", 13);
	snap_ident_final(&a, ka);
	img[4098] = 'K'; /* the last, partial word */
	snap_ident_init(&b);
	snap_ident_add(&b, img, sizeof(img));
	snap_ident_add(&b, "console=ttyS0", 13);
	snap_ident_final(&b, kb);
	ok(memcmp(ka, kb, sizeof(ka)) != 0, "one byte of the image changes the identity");
	img[4098] = 'k';
	snap_ident_init(&b);
	snap_ident_add(&b, img, sizeof(img) - 1);
	snap_ident_add(&b, "kconsole=ttyS0", 14);
	snap_ident_final(&b, kb);
	ok(memcmp(ka, kb, sizeof(ka)) != 0, "moving a byte from image to cmdline changes it");
	snap_ident_init(&b);
	snap_ident_add(&b, img, sizeof(img));
	snap_ident_add(&b, "console=ttyS0", 13);
	snap_ident_final(&b, kb);
	ok(memcmp(ka, kb, sizeof(ka)) == 0, "the same inputs give the same identity");
}

int main(void)
{
	test_roundtrip();
	test_truncated();
	test_flips();
	test_fuzz();
	test_foreign();
	test_crc_ident();
	return done_testing();
}
