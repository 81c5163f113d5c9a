/*
 * share.c - the --share option; see share.h.
 */
#include "vmm/share.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/parse.h"
#include "lib/util.h"

/* Option bits, to refuse an option given twice. */
enum {
	OPT_RO = 1 << 0,
	OPT_CACHE = 1 << 1,
	OPT_WRITEBACK = 1 << 2,
	OPT_XATTR = 1 << 3,
	OPT_QUEUES = 1 << 4,
	OPT_DAX = 1 << 5,
	OPT_THREADS = 1 << 6,
	OPT_DEV = 1 << 7,
	OPT_SUID = 1 << 8,
	OPT_IDS = 1 << 9,
	OPT_UID = 1 << 10,
	OPT_GID = 1 << 11,
	OPT_SERVE = 1 << 12,
};

/* Which option a spec came from, for the errors: "--share SPEC" or "--root SPEC". */
struct spec {
	const char *opt;
	const char *text;
};

static int fail(char *err, size_t errlen, const struct spec *spec, int ret, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t errlen, const struct spec *spec, int ret, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (errlen)
		snprintf(err, errlen, "%s %s: %s", spec->opt, spec->text, why);
	return ret;
}

/* The tag rules of guest-images/init/initcfg.c (initcfg_tag_ok), plus '#'. */
static const char *tag_problem(const char *tag, size_t n)
{
	size_t i;

	if (n == 0)
		return "empty tag";
	if (n > SHARE_TAG_MAX)
		return "tag longer than 36 bytes";
	if ((n == 1 && tag[0] == '.') || (n == 2 && tag[0] == '.' && tag[1] == '.'))
		return "tag may not be \".\" or \"..\"";
	if (tag[0] == '#')
		return "tag may not start with '#'";
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)tag[i];

		/* The guest mounts it on /mnt/TAG; a space ends it in /minivmm/shares. */
		if (c <= ' ' || c >= 0x7f)
			return "tag must be printable ASCII without spaces";
		if (c == '/')
			return "tag may not contain '/'";
	}
	return NULL;
}

/* Decimal with an optional K/M/G (binary) suffix; 0 or -EINVAL. */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL; /* strtoull would take "-1" and " 1" */
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1])
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* One option (NUL-terminated); 0 or -EINVAL with err filled. */
static int parse_opt(const struct spec *spec, char *opt, struct share *s, unsigned int *seen,
		     char *err, size_t errlen)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} names[] = {
		{"ro", OPT_RO},		  {"cache", OPT_CACHE},	  {"writeback", OPT_WRITEBACK},
		{"xattr", OPT_XATTR},	  {"queues", OPT_QUEUES}, {"dax", OPT_DAX},
		{"threads", OPT_THREADS}, {"dev", OPT_DEV},	  {"suid", OPT_SUID},
		{"ids", OPT_IDS},	  {"uid", OPT_UID},	  {"gid", OPT_GID},
		{"serve", OPT_SERVE},
	};
	char *val = strchr(opt, '=');
	unsigned int bit, i;

	if (val)
		*val++ = '\0';
	for (i = 0; i < ARRAY_SIZE(names) && strcmp(opt, names[i].name); i++)
		;
	if (!*opt)
		return fail(err, errlen, spec, -EINVAL, "empty option");
	if (i == ARRAY_SIZE(names))
		return fail(err, errlen, spec, -EINVAL,
			    "unknown option \"%s\" (ro, cache=none|auto|always, writeback, xattr, "
			    "queues=N, threads=N, serve=iothread|vcpu, dax[=SIZE], dev, suid, "
			    "ids=squash|keep, uid=N, gid=N)",
			    opt);
	bit = names[i].bit;
	if (*seen & bit)
		return fail(err, errlen, spec, -EINVAL, "option %s given twice", opt);
	*seen |= bit;

	/* Flags take no value; cache, queues, threads, serve... need one; dax may have one. */
	if (val && (bit == OPT_RO || bit == OPT_WRITEBACK || bit == OPT_XATTR || bit == OPT_DEV ||
		    bit == OPT_SUID))
		return fail(err, errlen, spec, -EINVAL, "option %s takes no value", opt);
	if (!val && (bit == OPT_CACHE || bit == OPT_QUEUES || bit == OPT_THREADS ||
		     bit == OPT_IDS || bit == OPT_UID || bit == OPT_GID || bit == OPT_SERVE))
		return fail(err, errlen, spec, -EINVAL, "option %s needs a value", opt);

	switch (bit) {
	case OPT_RO:
		s->ro = true;
		break;
	case OPT_WRITEBACK:
		s->writeback = true;
		break;
	case OPT_XATTR:
		s->xattr = true;
		break;
	case OPT_DEV:
		s->dev = true;
		break;
	case OPT_SUID:
		s->suid = true;
		break;
	case OPT_IDS:
		if (!strcmp(val, "squash"))
			s->ids = FSRV_IDS_SQUASH;
		else if (!strcmp(val, "keep"))
			s->ids = FSRV_IDS_KEEP;
		else
			return fail(err, errlen, spec, -EINVAL, "ids=%s: expected squash or keep",
				    val);
		break;
	case OPT_SERVE:
		if (!strcmp(val, "iothread"))
			s->serve = SHARE_SERVE_IOTHREAD;
		else if (!strcmp(val, "vcpu"))
			s->serve = SHARE_SERVE_VCPU;
		else
			return fail(err, errlen, spec, -EINVAL,
				    "serve=%s: expected iothread or vcpu", val);
		break;
	case OPT_UID:
	case OPT_GID: {
		unsigned long n;

		/* (uid_t)-1 means "unchanged" to chown(2): not an id. */
		if (*val < '0' || *val > '9' || parse_ulong(val, 0, UINT32_MAX - 1, &n))
			return fail(err, errlen, spec, -EINVAL,
				    "%s=%s: expected a number from 0 to 4294967294", opt, val);
		if (bit == OPT_UID) {
			s->has_uid = true;
			s->uid = (uint32_t)n;
		} else {
			s->has_gid = true;
			s->gid = (uint32_t)n;
		}
		break;
	}
	case OPT_CACHE:
		if (!strcmp(val, "none"))
			s->cache = FSRV_CACHE_NONE;
		else if (!strcmp(val, "auto"))
			s->cache = FSRV_CACHE_AUTO;
		else if (!strcmp(val, "always"))
			s->cache = FSRV_CACHE_ALWAYS;
		else
			return fail(err, errlen, spec, -EINVAL,
				    "cache=%s: expected none, auto or always", val);
		break;
	case OPT_QUEUES:
	case OPT_THREADS: {
		unsigned int max = bit == OPT_QUEUES ? SHARE_QUEUES_MAX : SHARE_THREADS_MAX;
		unsigned long n;

		/* Digits only: parse_ulong() would let " 2" and "+2" through. */
		if (*val < '0' || *val > '9' || parse_ulong(val, 1, max, &n))
			return fail(err, errlen, spec, -EINVAL,
				    "%s=%s: expected a number from 1 to %u", opt, val, max);
		if (bit == OPT_QUEUES)
			s->queues = (unsigned int)n;
		else
			s->threads = (unsigned int)n;
		break;
	}
	case OPT_DAX:
		s->dax = true;
		s->dax_size = SHARE_DAX_DEFAULT;
		if (val && (parse_size(val, &s->dax_size) || s->dax_size == 0 ||
			    s->dax_size % SHARE_DAX_ALIGN || s->dax_size > SHARE_DAX_MAX))
			return fail(err, errlen, spec, -EINVAL,
				    "dax=%s: expected a nonzero multiple of 2M up to 64G", val);
		break;
	}
	return 0;
}

/*
 * The part of --share and --root after the split: dir and opts are pieces
 * of a writable copy of the spec (opts NULL: none), tag is checked already.
 */
static int parse_split(const struct spec *spec, const char *dir, const char *tag, char *opts,
		       struct share *out, char *err, size_t errlen)
{
	struct share s = {.cache = FSRV_CACHE_AUTO, .queues = 1};
	char *opt, *canon = NULL;
	const char *why;
	unsigned int seen = 0;
	struct stat st;
	int ret;

	if (!*dir)
		return fail(err, errlen, spec, -EINVAL, "empty host directory");
	/* Options before the directory check: syntax errors need no filesystem. */
	while (opts) {
		opt = opts;
		opts = strchr(opts, ',');
		if (opts)
			*opts++ = '\0';
		ret = parse_opt(spec, opt, &s, &seen, err, errlen);
		if (ret)
			return ret;
	}
	if (s.writeback && s.cache == FSRV_CACHE_NONE)
		return fail(
			err, errlen, spec, -EINVAL,
			"writeback needs cache=auto or cache=always (cache=none is direct I/O)");
	if (s.serve == SHARE_SERVE_VCPU && s.threads)
		return fail(err, errlen, spec, -EINVAL,
			    "serve=vcpu serves requests on the vCPU that notified: not with "
			    "threads=N, which hands every request to a worker");
	if ((s.has_uid || s.has_gid) && s.ids == FSRV_IDS_KEEP)
		return fail(err, errlen, spec, -EINVAL,
			    "uid=/gid= choose the squash owner: not with ids=keep");
	why = share_ids_problem(&s, geteuid(), getegid());
	if (why)
		return fail(err, errlen, spec, -EPERM, "%s", why);

	canon = realpath(dir, NULL);
	if (!canon)
		return fail(err, errlen, spec, -errno, "%s: %s", dir, strerror(errno));
	if (stat(canon, &st) < 0) {
		ret = fail(err, errlen, spec, -errno, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		ret = fail(err, errlen, spec, -EINVAL, "%s: %s", dir, strerror(ENOTDIR));
		goto out;
	}
	s.tag = strdup(tag);
	if (!s.tag) {
		ret = fail(err, errlen, spec, -ENOMEM, "%s", strerror(ENOMEM));
		goto out;
	}
	s.dir = canon;
	canon = NULL;
	*out = s;
	ret = 0;
out:
	free(canon);
	return ret;
}

int share_parse(const char *text, struct share *out, char *err, size_t errlen)
{
	const struct spec spec = {"--share", text};
	char *copy, *colon, *tag, *opts;
	const char *why;
	int ret;

	memset(out, 0, sizeof(*out));
	copy = strdup(text);
	if (!copy)
		return fail(err, errlen, &spec, -ENOMEM, "%s", strerror(ENOMEM));
	colon = strrchr(copy, ':');
	if (!colon) {
		ret = fail(err, errlen, &spec, -EINVAL, "expected HOSTDIR:TAG[,option...]");
		goto out;
	}
	*colon = '\0';
	tag = colon + 1;
	opts = strchr(tag, ',');
	if (opts)
		*opts++ = '\0';
	why = tag_problem(tag, strlen(tag));
	if (!why && !strcmp(tag, SHARE_ROOT_TAG))
		why = "tag \"" SHARE_ROOT_TAG "\" is the --root share's";
	if (why) {
		ret = fail(err, errlen, &spec, -EINVAL, "%s", why);
		goto out;
	}
	ret = parse_split(&spec, copy, tag, opts, out, err, errlen);
out:
	free(copy);
	return ret;
}

int share_parse_root(const char *text, struct share *out, char *err, size_t errlen)
{
	const struct spec spec = {"--root", text};
	char *copy, *opts;
	int ret;

	memset(out, 0, sizeof(*out));
	copy = strdup(text);
	if (!copy)
		return fail(err, errlen, &spec, -ENOMEM, "%s", strerror(ENOMEM));
	/* DIR[,OPT...]: a directory whose name has a comma cannot be given. */
	opts = strchr(copy, ',');
	if (opts)
		*opts++ = '\0';
	ret = parse_split(&spec, copy, SHARE_ROOT_TAG, opts, out, err, errlen);
	free(copy);
	return ret;
}

const char *share_ids_problem(const struct share *s, uint32_t euid, uint32_t egid)
{
	/*
	 * Giving a file another owner than our own takes CAP_CHOWN, which
	 * only root has here (an unprivileged run is in a user namespace
	 * that maps nothing but the caller's ids).
	 */
	if (euid == 0)
		return NULL;
	if (s->ids == FSRV_IDS_KEEP)
		return "ids=keep needs root (files would get the guest's owners)";
	if ((s->has_uid && s->uid != euid) || (s->has_gid && s->gid != egid))
		return "uid=/gid= other than minivmm's own need root";
	return NULL;
}

int share_check_unique(const struct share *s, unsigned int n, char *err, size_t errlen)
{
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++) {
			if (!strcmp(s[i].tag, s[j].tag)) {
				if (errlen)
					snprintf(err, errlen,
						 "--share: tag \"%s\" used twice (%s and %s)",
						 s[i].tag, s[j].dir, s[i].dir);
				return -EINVAL;
			}
		}
	}
	return 0;
}

void share_free(struct share *s)
{
	free(s->dir);
	free(s->tag);
	memset(s, 0, sizeof(*s));
}

void share_fsrv_config(const struct share *s, struct fsrv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->root = s->dir;
	cfg->readonly = s->ro;
	cfg->cache = s->cache;
	cfg->writeback = s->writeback;
	cfg->xattr = s->xattr;
	cfg->dev = s->dev;
	cfg->suid = s->suid;
	cfg->ids = s->ids;
	cfg->has_uid = s->has_uid;
	cfg->uid = s->uid;
	cfg->has_gid = s->has_gid;
	cfg->gid = s->gid;
	cfg->max_fds = 0;
}

int share_guest_line(const struct share *s, char *buf, size_t len)
{
	/*
	 * "ro" is a generic superblock flag the guest kernel takes in the
	 * mount data; mounting read-only makes the guest fail writes with
	 * EROFS itself, before they reach the server (which refuses them too).
	 */
	const char *opts = s->ro && s->dax ? "ro,dax" : s->ro ? "ro" : s->dax ? "dax" : "-";
	int n = snprintf(buf, len, "%s %s\n", s->tag, opts);

	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}
