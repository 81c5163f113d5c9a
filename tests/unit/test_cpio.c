/*
 * test_cpio.c - the newc writer (boot/cpio.c): byte-exact headers, padding,
 * the trailer, argument checks, and a round trip through GNU cpio.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/cpio.h"
#include "tests/unit/tap.h"

/* Parsed newc header fields, in header order. */
enum {
	F_INO,
	F_MODE,
	F_UID,
	F_GID,
	F_NLINK,
	F_MTIME,
	F_SIZE,
	F_DMAJ,
	F_DMIN,
	F_RMAJ,
	F_RMIN,
	F_NAMESIZE,
	F_CHECK,
	F_COUNT
};

struct entry {
	uint32_t f[F_COUNT];
	const char *name;
	const uint8_t *body;
	size_t next; /* offset of the following header */
};

static uint32_t hex8(const uint8_t *p)
{
	char s[9];

	memcpy(s, p, 8);
	s[8] = '\0';
	return (uint32_t)strtoul(s, NULL, 16);
}

/* Parse the entry at off; returns 0, or -1 when it is not a sane newc entry. */
static int parse(const struct cpio_buf *b, size_t off, struct entry *e)
{
	size_t i, name_end;

	if (off + CPIO_NEWC_HDR_LEN > b->len || memcmp(b->data + off, "070701", 6))
		return -1;
	for (i = 0; i < F_COUNT; i++)
		e->f[i] = hex8(b->data + off + 6 + 8 * i);
	name_end = off + CPIO_NEWC_HDR_LEN + e->f[F_NAMESIZE];
	if (name_end > b->len || b->data[name_end - 1] != '\0')
		return -1;
	e->name = (const char *)b->data + off + CPIO_NEWC_HDR_LEN;
	e->body = b->data + ((name_end + 3) & ~(size_t)3);
	e->next = (size_t)(e->body - b->data) + ((e->f[F_SIZE] + 3) & ~(size_t)3);
	if (e->next > b->len)
		return -1;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

static void test_layout(void)
{
	static const char argv_data[] = "uname\0-a"; /* 9 bytes with the final NUL */
	/* clang-format off */
	static const char expect[] =
		/* minivmm/: ino 1, 040755, nlink 2, namesize 8; 118 -> 120 */
		"070701" "00000001" "000041ED" "00000000" "00000000" "00000002" "00000000"
		"00000000" "00000000" "00000000" "00000000" "00000000" "00000008" "00000000"
		"minivmm\0\0\0"
		/* minivmm/argv: ino 2, 0100644, nlink 1, size 9, namesize 13; 123 -> 124 */
		"070701" "00000002" "000081A4" "00000000" "00000000" "00000001" "00000000"
		"00000009" "00000000" "00000000" "00000000" "00000000" "0000000D" "00000000"
		"minivmm/argv\0\0"
		"uname\0-a\0\0\0\0"; /* body 9 -> 12 */
	/* clang-format on */
	struct cpio_buf b;
	struct entry e;
	size_t off;
	int ret;

	cpio_init(&b);
	is(cpio_add_dir(&b, "minivmm", 0755), 0, "add_dir minivmm");
	is(cpio_add_file(&b, "minivmm/argv", 0644, argv_data, sizeof(argv_data)), 0, "add argv");
	is(b.len, sizeof(expect) - 1, "two entries take %zu bytes", sizeof(expect) - 1);
	ok(b.len == sizeof(expect) - 1 && !memcmp(b.data, expect, b.len),
	   "first two entries are byte-exact");

	is(cpio_add_file(&b, "/minivmm/empty", 0600, NULL, 0), 0, "add empty file, leading /");
	is(cpio_add_file(&b, "minivmm/flags", 0640, "rawout\n", 7), 0, "add flags");
	is(cpio_finish(&b), 0, "finish");
	is(b.len % 4, 0, "archive length is a multiple of 4");

	off = sizeof(expect) - 1;
	ret = parse(&b, off, &e);
	is(ret, 0, "third entry parses");
	if (ret == 0) {
		ok(!strcmp(e.name, "minivmm/empty"), "leading / dropped: %s", e.name);
		is(e.f[F_INO], 3, "inode 3");
		is(e.f[F_MODE], 0100600, "mode 0100600");
		is(e.f[F_SIZE], 0, "size 0");
		is((size_t)(e.body - b.data) % 4, 0, "body aligned");
		off = e.next;
	}
	ret = parse(&b, off, &e);
	is(ret, 0, "fourth entry parses");
	if (ret == 0) {
		ok(!strcmp(e.name, "minivmm/flags"), "name %s", e.name);
		is(e.f[F_MODE], 0100640, "mode 0100640");
		is(e.f[F_SIZE], 7, "size 7");
		ok(!memcmp(e.body, "rawout\n", 7), "body");
		ok(all_zero(e.body + 7, 1), "body padded with one zero");
		ok(all_zero(b.data + off + CPIO_NEWC_HDR_LEN + e.f[F_NAMESIZE],
			    (size_t)(e.body - b.data) - off - CPIO_NEWC_HDR_LEN - e.f[F_NAMESIZE]),
		   "name padding is zero");
		off = e.next;
	}
	ret = parse(&b, off, &e);
	is(ret, 0, "trailer parses");
	if (ret == 0) {
		ok(!strcmp(e.name, "TRAILER!!!"), "trailer name");
		is(e.f[F_INO], 0, "trailer ino 0");
		is(e.f[F_MODE], 0, "trailer mode 0");
		is(e.f[F_NLINK], 1, "trailer nlink 1");
		is(e.f[F_SIZE], 0, "trailer size 0");
		is(e.next, b.len, "trailer is the last entry, no bytes after it");
	}

	is(cpio_add_file(&b, "late", 0644, "x", 1), -EINVAL, "add after finish");
	is(cpio_add_dir(&b, "late", 0755), -EINVAL, "add_dir after finish");
	is(cpio_finish(&b), -EINVAL, "finish twice");
	cpio_free(&b);
	ok(b.data == NULL && b.len == 0, "free empties the buffer");
}

static void test_errors(void)
{
	static const char *bad[] = {
		"", "/", "a//b", "a/", "./a", "a/./b", "a/..", "../a", "..", ".",
	};
	struct cpio_buf b;
	char *longname;
	size_t i, len;

	cpio_init(&b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is(cpio_add_file(&b, bad[i], 0644, NULL, 0), -EINVAL, "path \"%s\" refused",
		   bad[i]);
	is(cpio_add_dir(&b, "d", 040755), -EINVAL, "type bits in perm refused");
	is(cpio_add_file(&b, "f", 010000, NULL, 0), -EINVAL, "perm > 07777 refused");
	is(cpio_add_file(&b, "f", 0644, NULL, 1), -EINVAL, "NULL data with len 1 refused");
	if (sizeof(size_t) > 4)
		is(cpio_add_file(&b, "f", 0644, "x", (size_t)UINT32_MAX + 1), -EFBIG,
		   "4 GiB file refused (size field is 32 bits)");
	longname = malloc(CPIO_NAME_MAX + 2);
	memset(longname, 'n', CPIO_NAME_MAX + 1);
	longname[CPIO_NAME_MAX + 1] = '\0';
	is(cpio_add_file(&b, longname, 0644, NULL, 0), -ENAMETOOLONG, "name > 4095 refused");
	longname[CPIO_NAME_MAX] = '\0';
	is(cpio_add_file(&b, longname, 0644, NULL, 0), 0, "name of 4095 accepted");
	free(longname);
	len = b.len;
	is(len, (CPIO_NEWC_HDR_LEN + CPIO_NAME_MAX + 1 + 3) & ~(size_t)3,
	   "only the accepted entry was written");
	cpio_free(&b);
}

/* Build an archive, list it with `cpio -it`, extract it with `cpio -id`. */
static void test_roundtrip(void)
{
	char dir[] = "/tmp/test_cpio.XXXXXX", cmd[512], path[256];
	static const char argv_data[] = "sh\0-c\0echo 'a b'";
	struct cpio_buf b;
	uint8_t *big;
	size_t i, len;
	char *s;
	FILE *f;
	struct stat st;

	ok(system("command -v cpio >/dev/null 2>&1") == 0,
	   "cpio is installed (apt-get install cpio)");
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	big = malloc(100003);
	for (i = 0; i < 100003; i++)
		big[i] = (uint8_t)(i * 7 + 3);

	cpio_init(&b);
	is(cpio_add_dir(&b, "minivmm", 0755), 0, "dir");
	is(cpio_add_dir(&b, "minivmm/sub", 0700), 0, "subdir");
	is(cpio_add_file(&b, "minivmm/argv", 0644, argv_data, sizeof(argv_data)), 0, "argv");
	is(cpio_add_file(&b, "minivmm/sub/big", 0755, big, 100003), 0, "100003-byte file");
	is(cpio_add_file(&b, "minivmm/empty", 0600, NULL, 0), 0, "empty file");
	is(cpio_finish(&b), 0, "finish");

	snprintf(path, sizeof(path), "%s/a.cpio", dir);
	f = fopen(path, "wb");
	ok(f && fwrite(b.data, 1, b.len, f) == b.len && fclose(f) == 0, "archive written");

	snprintf(cmd, sizeof(cmd), "cpio -it --quiet < %s/a.cpio > %s/list 2>&1", dir, dir);
	is(system(cmd), 0, "cpio -it succeeds");
	snprintf(path, sizeof(path), "%s/list", dir);
	s = slurp(path, &len);
	ok(s && !strcmp(s, "minivmm\nminivmm/sub\nminivmm/argv\nminivmm/sub/big\nminivmm/empty\n"),
	   "cpio -it lists the entries in order");
	if (s && strcmp(s, "minivmm\nminivmm/sub\nminivmm/argv\nminivmm/sub/big\nminivmm/empty\n"))
		diag("got: %s", s);
	free(s);

	snprintf(cmd, sizeof(cmd), "mkdir %s/x && cd %s/x && cpio -id --quiet < ../a.cpio", dir,
		 dir);
	is(system(cmd), 0, "cpio -id succeeds");
	snprintf(path, sizeof(path), "%s/x/minivmm/argv", dir);
	s = slurp(path, &len);
	ok(s && len == sizeof(argv_data) && !memcmp(s, argv_data, len), "argv round-trips");
	free(s);
	snprintf(path, sizeof(path), "%s/x/minivmm/sub/big", dir);
	s = slurp(path, &len);
	ok(s && len == 100003 && !memcmp(s, big, len), "big file round-trips");
	free(s);
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0755, "big file mode 0755");
	snprintf(path, sizeof(path), "%s/x/minivmm/empty", dir);
	ok(stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0 &&
		   (st.st_mode & 07777) == 0600,
	   "empty file: regular, size 0, mode 0600");
	snprintf(path, sizeof(path), "%s/x/minivmm/sub", dir);
	ok(stat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700,
	   "subdir: directory, mode 0700");

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	cpio_free(&b);
	free(big);
}

int main(void)
{
	test_layout();
	test_errors();
	test_roundtrip();
	return done_testing();
}
