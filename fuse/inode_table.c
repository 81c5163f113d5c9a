/*
 * inode_table.c - nodeid and file-handle tables for the FUSE server (see
 * inode_table.h for the contract).
 */
#include "fuse/inode_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IT_ROOT 1u

struct it_inode {
	struct it_key key;
	struct file_handle *h;
	uint64_t nlookup;
	uint32_t refs;
	uint32_t gen;
	uint32_t hnext; /* hash chain, or free-list link when !live */
	uint32_t lru_prev, lru_next;
	int fd;
	mode_t mode;
	bool live;
	bool in_lru;
	bool stale; /* out of the hash: its inode number now names another file */
};

struct it_fhslot {
	pthread_mutex_t lock;
	uint64_t nodeid;
	uint32_t gen;
	uint32_t refs;
	uint32_t next_free;
	int fd;
	bool used;     /* slot allocated */
	bool released; /* RELEASE seen: no new borrowers */
	bool is_dir;
};

struct itab {
	pthread_mutex_t mu;
	int mount_fd;
	unsigned int max_fds;
	unsigned int max_inodes; /* live inodes, root included */

	struct it_inode *ino; /* slot 0 unused */
	uint32_t cap, top, free_head, count;
	uint32_t *bucket;
	uint32_t nbuckets; /* power of two */
	uint32_t lru_head, lru_tail;
	unsigned int open_fds;

	struct it_fhslot **fhs; /* slot 0 unused */
	uint32_t fh_cap, fh_top, fh_count, fh_free;
};

static uint32_t key_hash(const struct it_key *k, uint32_t nb)
{
	uint64_t h = k->ino * 0x9e3779b97f4a7c15ULL;

	h ^= k->dev * 0xc2b2ae3d27d4eb4fULL;
	h ^= k->mnt * 0x165667b19e3779f9ULL;
	h ^= h >> 29;
	return (uint32_t)h & (nb - 1);
}

int itab_create(struct itab **out, unsigned int max_fds, int mount_fd)
{
	struct itab *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->mu, NULL);
	t->mount_fd = mount_fd;
	t->max_fds = max_fds < 16 ? 16 : max_fds;
	t->max_inodes = ITAB_MAX_INODES_DEFAULT;
	t->nbuckets = 1024;
	t->bucket = calloc(t->nbuckets, sizeof(*t->bucket));
	t->cap = 1024;
	t->ino = calloc(t->cap, sizeof(*t->ino));
	t->top = 1;
	t->fh_cap = 64;
	t->fhs = calloc(t->fh_cap, sizeof(*t->fhs));
	t->fh_top = 1;
	if (!t->bucket || !t->ino || !t->fhs) {
		itab_destroy(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void itab_destroy(struct itab *t)
{
	if (!t)
		return;
	for (uint32_t i = 1; t->ino && i < t->top; i++) {
		if (t->ino[i].live) {
			if (t->ino[i].fd >= 0)
				close(t->ino[i].fd);
			free(t->ino[i].h);
		}
	}
	for (uint32_t i = 1; t->fhs && i < t->fh_top; i++) {
		struct it_fhslot *f = t->fhs[i];

		if (!f)
			continue;
		if (f->used && f->fd >= 0)
			close(f->fd);
		pthread_mutex_destroy(&f->lock);
		free(f);
	}
	if (t->mount_fd >= 0)
		close(t->mount_fd);
	pthread_mutex_destroy(&t->mu);
	free(t->ino);
	free(t->bucket);
	free(t->fhs);
	free(t);
}

static void lru_unlink(struct itab *t, uint32_t i)
{
	struct it_inode *n = &t->ino[i];

	if (!n->in_lru)
		return;
	if (n->lru_prev)
		t->ino[n->lru_prev].lru_next = n->lru_next;
	else
		t->lru_head = n->lru_next;
	if (n->lru_next)
		t->ino[n->lru_next].lru_prev = n->lru_prev;
	else
		t->lru_tail = n->lru_prev;
	n->lru_prev = n->lru_next = 0;
	n->in_lru = false;
}

static void lru_push(struct itab *t, uint32_t i)
{
	struct it_inode *n = &t->ino[i];

	n->lru_prev = t->lru_tail;
	n->lru_next = 0;
	if (t->lru_tail)
		t->ino[t->lru_tail].lru_next = i;
	else
		t->lru_head = i;
	t->lru_tail = i;
	n->in_lru = true;
}

/* Close idle fds that can be reopened from a handle until under the bound. */
static void lru_trim(struct itab *t, unsigned int target)
{
	while (t->open_fds > target && t->lru_head) {
		uint32_t i = t->lru_head;

		lru_unlink(t, i);
		close(t->ino[i].fd);
		t->ino[i].fd = -1;
		t->open_fds--;
	}
}

static void hash_remove(struct itab *t, uint32_t i)
{
	uint32_t *pp = &t->bucket[key_hash(&t->ino[i].key, t->nbuckets)];

	while (*pp && *pp != i)
		pp = &t->ino[*pp].hnext;
	if (*pp)
		*pp = t->ino[i].hnext;
}

static void hash_insert(struct itab *t, uint32_t i)
{
	uint32_t *b = &t->bucket[key_hash(&t->ino[i].key, t->nbuckets)];

	t->ino[i].hnext = *b;
	*b = i;
}

static void hash_grow(struct itab *t)
{
	uint32_t nb = t->nbuckets * 2;
	uint32_t *b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	free(t->bucket);
	t->bucket = b;
	t->nbuckets = nb;
	for (uint32_t i = 1; i < t->top; i++)
		if (t->ino[i].live && !t->ino[i].stale)
			hash_insert(t, i);
}

static void inode_free(struct itab *t, uint32_t i)
{
	struct it_inode *n = &t->ino[i];

	hash_remove(t, i);
	lru_unlink(t, i);
	if (n->fd >= 0) {
		close(n->fd);
		t->open_fds--;
	}
	free(n->h);
	n->h = NULL;
	n->fd = -1;
	n->live = false;
	if (++n->gen == 0)
		n->gen = 1;
	n->hnext = t->free_head;
	t->free_head = i;
	t->count--;
}

static uint32_t inode_lookup_idx(struct itab *t, uint64_t nodeid)
{
	uint32_t i = (uint32_t)nodeid;

	if (i == 0 || i >= t->top || !t->ino[i].live || t->ino[i].gen != (uint32_t)(nodeid >> 32))
		return 0;
	return i;
}

/*
 * Is the file just looked up (mode, handle fh) the one entry n stands for?
 * While n holds an open fd its inode cannot be freed, so the key alone
 * decides.  Once the fd was closed (LRU, kept by handle) the host may have
 * deleted the file and given its inode number to a new one: the handle
 * (which carries the generation on filesystems that reuse numbers) and the
 * type tell them apart.  Trusting the key would give the guest's old nodeid
 * the new file, with the old one's cached type (a device node reopened as
 * if it were a regular file).
 */
static bool same_file(const struct it_inode *n, mode_t mode, const struct file_handle *fh)
{
	if (n->mode != (mode & S_IFMT))
		return false;
	if (n->fd >= 0)
		return true;
	if (!n->h || !fh)
		return false;
	return n->h->handle_type == fh->handle_type && n->h->handle_bytes == fh->handle_bytes &&
	       !memcmp(n->h->f_handle, fh->f_handle, fh->handle_bytes);
}

int itab_add(struct itab *t, const struct it_key *key, mode_t mode, int fd, void *fh,
	     uint64_t *nodeid)
{
	struct it_inode *n;
	uint32_t i;
	int ret = 0;

	pthread_mutex_lock(&t->mu);
	for (i = t->bucket[key_hash(key, t->nbuckets)]; i; i = t->ino[i].hnext) {
		n = &t->ino[i];
		if (n->key.ino == key->ino && n->key.dev == key->dev && n->key.mnt == key->mnt)
			break;
	}
	if (i && !same_file(&t->ino[i], mode, fh)) {
		/*
		 * A new file under a reused inode number: the old entry leaves
		 * the hash (its nodeid stays valid until FORGET and reopens by
		 * its own handle, which now fails with ESTALE).
		 */
		hash_remove(t, i);
		t->ino[i].stale = true;
		i = 0;
	}
	if (i) {
		/* Known inode: keep the fd we have (or take this one if ours was closed). */
		n = &t->ino[i];
		if (n->fd < 0) {
			n->fd = fd;
			fd = -1;
			t->open_fds++;
			if (n->refs == 0 && n->h) {
				lru_push(t, i);
				lru_trim(t, t->max_fds);
			}
		}
		n->nlookup++;
		goto out;
	}

	/* No log line: the guest can hit either bound as often as it likes. */
	if (t->count >= t->max_inodes) {
		ret = -ENFILE;
		goto out;
	}
	lru_trim(t, t->max_fds - 1);
	if (t->open_fds >= t->max_fds) {
		ret = -ENFILE;
		goto out;
	}
	if (t->free_head) {
		i = t->free_head;
		t->free_head = t->ino[i].hnext;
	} else {
		if (t->top == t->cap) {
			uint32_t ncap = t->cap * 2;
			struct it_inode *a =
				ncap > t->cap ? realloc(t->ino, ncap * sizeof(*a)) : NULL;

			if (!a) {
				ret = -ENOMEM;
				goto out;
			}
			memset(a + t->cap, 0, (ncap - t->cap) * sizeof(*a));
			t->ino = a;
			t->cap = ncap;
		}
		i = t->top++;
		/* The root keeps generation 0 so its nodeid is exactly FUSE_ROOT_ID. */
		t->ino[i].gen = i == IT_ROOT ? 0 : 1;
	}
	n = &t->ino[i];
	n->key = *key;
	n->mode = mode & S_IFMT;
	n->fd = fd;
	fd = -1;
	n->h = i == IT_ROOT ? NULL : fh;
	if (n->h)
		fh = NULL;
	n->nlookup = 1;
	n->refs = 0;
	n->live = true;
	n->in_lru = false;
	n->stale = false;
	t->open_fds++;
	t->count++;
	/* hash_grow() re-inserts every live inode, this one included. */
	if (t->count > t->nbuckets)
		hash_grow(t);
	else
		hash_insert(t, i);
	if (n->h)
		lru_push(t, i);
out:
	if (ret == 0)
		*nodeid = ((uint64_t)t->ino[i].gen << 32) | i;
	pthread_mutex_unlock(&t->mu);
	if (fd >= 0)
		close(fd);
	free(fh);
	return ret;
}

int itab_get(struct itab *t, uint64_t nodeid, struct it_ref *ref)
{
	struct it_inode *n;
	uint32_t i;
	int ret = 0;

	pthread_mutex_lock(&t->mu);
	i = inode_lookup_idx(t, nodeid);
	if (!i) {
		ret = -ESTALE;
		goto out;
	}
	n = &t->ino[i];
	if (n->fd < 0) {
		int fd = -1;

		if (n->h && t->mount_fd >= 0)
			fd = open_by_handle_at(t->mount_fd, n->h, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			ret = n->h ? -errno : -ESTALE;
			goto out;
		}
		n->fd = fd;
		t->open_fds++;
	}
	lru_unlink(t, i);
	n->refs++;
	ref->idx = i;
	ref->fd = n->fd;
	ref->mode = n->mode;
	lru_trim(t, t->max_fds);
out:
	pthread_mutex_unlock(&t->mu);
	return ret;
}

void itab_put(struct itab *t, struct it_ref *ref)
{
	struct it_inode *n;

	if (!ref->idx)
		return;
	pthread_mutex_lock(&t->mu);
	n = &t->ino[ref->idx];
	if (--n->refs == 0) {
		if (n->nlookup == 0 && ref->idx != IT_ROOT) {
			inode_free(t, ref->idx);
		} else if (n->h) {
			lru_push(t, ref->idx);
			lru_trim(t, t->max_fds);
		}
	}
	pthread_mutex_unlock(&t->mu);
	ref->idx = 0;
	ref->fd = -1;
}

void itab_forget(struct itab *t, uint64_t nodeid, uint64_t n)
{
	uint32_t i;

	pthread_mutex_lock(&t->mu);
	i = inode_lookup_idx(t, nodeid);
	if (i && i != IT_ROOT) {
		struct it_inode *in = &t->ino[i];

		in->nlookup -= n < in->nlookup ? n : in->nlookup;
		if (in->nlookup == 0 && in->refs == 0)
			inode_free(t, i);
	}
	pthread_mutex_unlock(&t->mu);
}

void itab_set_max_inodes(struct itab *t, unsigned int max)
{
	pthread_mutex_lock(&t->mu);
	t->max_inodes = max < 2 ? 2 : max;
	pthread_mutex_unlock(&t->mu);
}

unsigned int itab_count(struct itab *t)
{
	unsigned int c;

	pthread_mutex_lock(&t->mu);
	c = t->count;
	pthread_mutex_unlock(&t->mu);
	return c;
}

unsigned int itab_open_fds(struct itab *t)
{
	unsigned int c;

	pthread_mutex_lock(&t->mu);
	c = t->open_fds;
	pthread_mutex_unlock(&t->mu);
	return c;
}

int itab_fh_add(struct itab *t, uint64_t nodeid, int fd, bool is_dir, uint64_t *fh)
{
	struct it_fhslot *f = NULL;
	uint32_t i;
	int ret = 0;

	pthread_mutex_lock(&t->mu);
	if (t->fh_count >= t->max_fds) {
		ret = -ENFILE;
		goto out;
	}
	i = t->fh_free;
	if (i) {
		t->fh_free = t->fhs[i]->next_free;
	} else {
		i = t->fh_top;
		if (t->fh_top == t->fh_cap) {
			uint32_t ncap = t->fh_cap * 2;
			struct it_fhslot **a = realloc(t->fhs, ncap * sizeof(*a));

			if (!a) {
				ret = -ENOMEM;
				goto out;
			}
			t->fhs = a;
			t->fh_cap = ncap;
		}
		f = calloc(1, sizeof(*f));
		if (!f) {
			ret = -ENOMEM;
			goto out;
		}
		pthread_mutex_init(&f->lock, NULL);
		f->gen = 1;
		t->fhs[t->fh_top++] = f;
	}
	f = t->fhs[i];
	f->used = true;
	f->released = false;
	f->refs = 0;
	f->fd = fd;
	f->nodeid = nodeid;
	f->is_dir = is_dir;
	t->fh_count++;
	*fh = ((uint64_t)f->gen << 32) | i;
	fd = -1;
out:
	pthread_mutex_unlock(&t->mu);
	if (fd >= 0)
		close(fd);
	return ret;
}

static struct it_fhslot *fh_find(struct itab *t, uint64_t fh, uint64_t nodeid)
{
	uint32_t i = (uint32_t)fh;
	struct it_fhslot *f;

	if (i == 0 || i >= t->fh_top)
		return NULL;
	f = t->fhs[i];
	if (!f->used || f->released || f->gen != (uint32_t)(fh >> 32) || f->nodeid != nodeid)
		return NULL;
	return f;
}

static void fh_free_locked(struct itab *t, struct it_fhslot *f, uint32_t idx)
{
	close(f->fd);
	f->fd = -1;
	f->used = false;
	if (++f->gen == 0)
		f->gen = 1;
	f->next_free = t->fh_free;
	t->fh_free = idx;
	t->fh_count--;
}

int itab_fh_get(struct itab *t, uint64_t fh, uint64_t nodeid, int want_dir, struct it_fh *ref)
{
	struct it_fhslot *f;
	int ret = 0;

	pthread_mutex_lock(&t->mu);
	f = fh_find(t, fh, nodeid);
	if (!f || (want_dir >= 0 && f->is_dir != (want_dir > 0))) {
		ret = -EBADF;
		goto out;
	}
	f->refs++;
	ref->idx = (uint32_t)fh;
	ref->fd = f->fd;
	ref->is_dir = f->is_dir;
	ref->lock = &f->lock;
out:
	pthread_mutex_unlock(&t->mu);
	return ret;
}

void itab_fh_put(struct itab *t, struct it_fh *ref)
{
	struct it_fhslot *f;

	if (!ref->idx)
		return;
	pthread_mutex_lock(&t->mu);
	f = t->fhs[ref->idx];
	if (--f->refs == 0 && f->released)
		fh_free_locked(t, f, ref->idx);
	pthread_mutex_unlock(&t->mu);
	ref->idx = 0;
	ref->fd = -1;
}

int itab_fh_release(struct itab *t, uint64_t fh, uint64_t nodeid)
{
	struct it_fhslot *f;
	int ret = 0;

	pthread_mutex_lock(&t->mu);
	f = fh_find(t, fh, nodeid);
	if (!f) {
		ret = -EBADF;
		goto out;
	}
	f->released = true;
	if (f->refs == 0)
		fh_free_locked(t, f, (uint32_t)fh);
out:
	pthread_mutex_unlock(&t->mu);
	return ret;
}

void itab_forget_all(struct itab *t)
{
	pthread_mutex_lock(&t->mu);
	for (uint32_t i = IT_ROOT + 1; i < t->top; i++) {
		struct it_inode *n = &t->ino[i];

		if (!n->live)
			continue;
		n->nlookup = 0;
		if (n->refs == 0)
			inode_free(t, i);
	}
	for (uint32_t i = 1; i < t->fh_top; i++) {
		struct it_fhslot *f = t->fhs[i];

		if (!f->used || f->released)
			continue;
		f->released = true;
		if (f->refs == 0)
			fh_free_locked(t, f, i);
	}
	pthread_mutex_unlock(&t->mu);
}

unsigned int itab_fh_count(struct itab *t)
{
	unsigned int c;

	pthread_mutex_lock(&t->mu);
	c = t->fh_count;
	pthread_mutex_unlock(&t->mu);
	return c;
}
