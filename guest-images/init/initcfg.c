/*
 * initcfg.c - parsing of /minivmm/{argv,shares,flags,env}; see initcfg.h.
 */
#include "guest-images/init/initcfg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int initcfg_split_nul(char *buf, size_t len, char ***argvp)
{
	size_t i, n = 0, k = 0;
	char **v;

	*argvp = NULL;
	if (len == 0)
		return 0;
	/* A missing final terminator is tolerated: treat buf[len] as one. */
	buf[len] = '\0';
	if (buf[0] == '\0')
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (buf[i] == '\0')
			n++;
	if (buf[len - 1] != '\0')
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < len; i += strlen(buf + i) + 1)
		v[k++] = buf + i;
	*argvp = v;
	return (int)k;
}

bool initcfg_tag_ok(const char *tag)
{
	size_t i, n = strlen(tag);

	if (n == 0 || n > INITCFG_TAG_MAX)
		return false;
	if (!strcmp(tag, ".") || !strcmp(tag, ".."))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)tag[i];

		/* Printable, no space (the line separator), no '/' (a path). */
		if (c <= ' ' || c >= 0x7f || c == '/')
			return false;
	}
	return true;
}

bool initcfg_env_ok(const char *s)
{
	const char *p;

	if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
		return false;
	for (p = s; *p && *p != '='; p++)
		if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9')))
			return false;
	return *p == '=';
}

/* Next whitespace-delimited word of the line at *s, NUL-terminated in place. */
static char *next_word(char **s)
{
	char *p = *s, *w;

	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	if (!*p) {
		*s = p;
		return NULL;
	}
	w = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '\r')
		p++;
	if (*p)
		*p++ = '\0';
	*s = p;
	return w;
}

int initcfg_parse_shares(char *buf, struct initcfg_share **sharesp)
{
	struct initcfg_share *v = NULL, *nv;
	size_t n = 0, cap = 0, i;
	char *line = buf, *next;
	int ret;

	*sharesp = NULL;
	for (; line && *line; line = next) {
		char *tag, *opts, *rest;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		rest = line;
		tag = next_word(&rest);
		if (!tag || tag[0] == '#')
			continue;
		opts = next_word(&rest);
		if (next_word(&rest) || !initcfg_tag_ok(tag)) {
			ret = -EINVAL;
			goto err;
		}
		for (i = 0; i < n; i++) {
			if (!strcmp(v[i].tag, tag)) {
				ret = -EINVAL; /* two shares on one mount point */
				goto err;
			}
		}
		if (opts && !strcmp(opts, "-"))
			opts = NULL;
		if (n == cap) {
			cap = cap ? 2 * cap : 4;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				ret = -ENOMEM;
				goto err;
			}
			v = nv;
		}
		v[n].tag = tag;
		v[n].opts = opts;
		n++;
	}
	*sharesp = v;
	return (int)n;
err:
	free(v);
	return ret;
}

int initcfg_parse_root(char *buf, struct initcfg_share *root)
{
	struct initcfg_share *v;
	int n = initcfg_parse_shares(buf, &v);

	root->tag = NULL;
	root->opts = NULL;
	if (n <= 0)
		return n;
	if (n > 1 || strcmp(v[0].tag, INITCFG_ROOT_TAG)) {
		free(v);
		return -EINVAL;
	}
	*root = v[0];
	free(v);
	return 1;
}

bool initcfg_has_opt(const char *opts, const char *opt)
{
	size_t n = strlen(opt);

	while (opts && *opts) {
		size_t len = strcspn(opts, ",");

		if (len == n && !memcmp(opts, opt, n))
			return true;
		opts += len;
		if (*opts)
			opts++;
	}
	return false;
}

int initcfg_parse_flags(const char *buf, unsigned *flags)
{
	static const struct {
		const char *word;
		unsigned bit;
	} words[] = {
		{"rawout", INITCFG_F_RAWOUT},	  {"rawin", INITCFG_F_RAWIN},
		{"verbose", INITCFG_F_VERBOSE},	  {"hvc", INITCFG_F_HVC},
		{"snapshot", INITCFG_F_SNAPSHOT},
	};
	const char *p = buf;
	int unknown = 0;

	*flags = 0;
	for (;;) {
		size_t len, i;
		bool found = false;

		p += strspn(p, " \t\r\n");
		if (!*p)
			break;
		len = strcspn(p, " \t\r\n");
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
			if (strlen(words[i].word) == len && !memcmp(words[i].word, p, len)) {
				*flags |= words[i].bit;
				found = true;
			}
		}
		if (!found)
			unknown++;
		p += len;
	}
	return unknown;
}

int initcfg_exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return INITCFG_STATUS_INIT_FAILED;
}
