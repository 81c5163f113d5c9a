/*
 * mmapx.c - runs a script of steps on one MAP_SHARED mapping of a file, for
 * the DAX and lock tests: two guests (or guest and host) writing and watching the
 * same mapping, and a guest touching a mapping the host truncated.  Static,
 * so it runs in the stock guest from a share.
 *
 *   mmapx FILE LEN[@OFF] STEP...   (map LEN bytes of FILE from offset OFF, default 0;
 *                                  /dev/mem with OFF a guest-physical address)
 *     w:OFF:TEXT       store TEXT at OFF through the mapping (no msync)
 *     wait:OFF:TEXT:S  poll the mapping until TEXT is at OFF (S seconds max)
 *     zero:OFF:N       check N bytes at OFF read as zeros
 *     read:OFF:N       read N bytes at OFF (touch them), print them as text
 *     sync             msync(MS_SYNC) the whole mapping
 *     touch:PATH       create PATH (a signal to the other side)
 *     until:PATH:S     poll until PATH exists (S seconds max)
 *     lockw, flockw    take a write lock on FILE (fcntl F_SETLKW, or
 *                      flock LOCK_EX), waiting as long as it takes, and
 *                      print how long that was
 * Prints "mmapx: ok" and exits 0 when every step succeeded; otherwise says
 * which step failed and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int fail(const char *step, const char *why)
{
	fprintf(stderr, "mmapx: step \"%s\": %s\n", step, why);
	return 1;
}

int main(int argc, char **argv)
{
	unsigned long len, off, n, foff = 0;
	volatile char *m;
	char *arg, *p, *text;
	double secs, t0;
	int fd, i;

	if (argc < 3) {
		fprintf(stderr, "usage: mmapx FILE LEN STEP...\n");
		return 2;
	}
	len = strtoul(argv[2], &p, 0);
	if (*p == '@')
		foff = strtoul(p + 1, NULL, 0);
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)foff);
	if (m == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (i = 3; i < argc; i++) {
		arg = strdup(argv[i]);
		p = strchr(arg, ':');
		if (p)
			*p++ = '\0';
		if (!strcmp(arg, "w") || !strcmp(arg, "wait") || !strcmp(arg, "zero") ||
		    !strcmp(arg, "read")) {
			if (!p)
				return fail(argv[i], "missing offset");
			off = strtoul(p, &p, 0);
			if (*p++ != ':')
				return fail(argv[i], "bad offset");
			text = p;
			if (!strcmp(arg, "w")) {
				if (off + strlen(text) > len)
					return fail(argv[i], "past the mapping");
				for (size_t k = 0; text[k]; k++)
					m[off + k] = text[k];
			} else if (!strcmp(arg, "wait")) {
				p = strrchr(text, ':');
				if (!p)
					return fail(argv[i], "missing seconds");
				*p++ = '\0';
				secs = strtod(p, NULL);
				if (off + strlen(text) > len)
					return fail(argv[i], "past the mapping");
				for (t0 = now();; usleep(10000)) {
					size_t k;

					for (k = 0; text[k] && m[off + k] == text[k]; k++)
						;
					if (!text[k])
						break;
					if (now() - t0 > secs)
						return fail(argv[i], "timed out");
				}
			} else {
				n = strtoul(text, NULL, 0);
				if (off + n > len)
					return fail(argv[i], "past the mapping");
				if (!strcmp(arg, "zero")) {
					for (unsigned long k = 0; k < n; k++)
						if (m[off + k])
							return fail(argv[i], "not zero");
				} else {
					for (unsigned long k = 0; k < n; k++)
						putchar(m[off + k] ? m[off + k] : '.');
					putchar('\n');
				}
			}
		} else if (!strcmp(arg, "sync")) {
			if (msync((void *)m, len, MS_SYNC))
				return fail(argv[i], strerror(errno));
		} else if (!strcmp(arg, "touch")) {
			int t = p ? open(p, O_WRONLY | O_CREAT, 0644) : -1;

			if (t < 0)
				return fail(argv[i], strerror(errno));
			close(t);
		} else if (!strcmp(arg, "until")) {
			char *s = p ? strrchr(p, ':') : NULL;
			struct stat st;

			if (!s)
				return fail(argv[i], "missing seconds");
			*s++ = '\0';
			secs = strtod(s, NULL);
			for (t0 = now(); stat(p, &st); usleep(20000))
				if (now() - t0 > secs)
					return fail(argv[i], "timed out");
		} else if (!strcmp(arg, "lockw") || !strcmp(arg, "flockw")) {
			struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

			t0 = now();
			if (arg[0] == 'l' ? fcntl(fd, F_SETLKW, &fl) : flock(fd, LOCK_EX))
				return fail(argv[i], strerror(errno));
			printf("mmapx: %s waited %.1f s\n", arg, now() - t0);
			fflush(stdout);
		} else {
			return fail(argv[i], "unknown step");
		}
		free(arg);
	}
	printf("mmapx: ok\n");
	return 0;
}
