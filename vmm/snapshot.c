/*
 * snapshot.c - see snapshot.h.
 */
#define LOG_TAG "snapshot"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "lib/log.h"
#include "lib/util.h"
#include "vmm/sandbox.h"
#include "vmm/snapshot.h"
#include "x86/layout.h"

#define SNAP_PAGE 4096u

/* The handshake port. */

static void snap_port_read(void *opaque, uint64_t off, void *data, uint32_t n)
{
	struct snap_port *p = opaque;
	uint32_t v = 0;

	memset(data, 0, n);
	if (n != 4)
		return;
	pthread_mutex_lock(&p->lock);
	if (off == 0) {
		v = (uint32_t)p->cfg_len;
		p->cfg_off = 0;
	} else if (off == LAYOUT_SNAP_DATA_PORT - LAYOUT_SNAP_PORT && p->cfg_off < p->cfg_len) {
		size_t k = MIN((size_t)4, p->cfg_len - p->cfg_off);

		memcpy(&v, p->cfg + p->cfg_off, k);
		p->cfg_off += k;
	}
	pthread_mutex_unlock(&p->lock);
	memcpy(data, &v, 4);
}

static void snap_port_write(void *opaque, uint64_t off, const void *data, uint32_t n)
{
	struct snap_port *p = opaque;
	bool first;

	(void)data;
	if (off != 0 || n != 1 || !p->snapshot_boot)
		return; /* a restored guest, or a boot without --snapshot: nothing to do */
	pthread_mutex_lock(&p->lock);
	first = !p->reached;
	p->reached = true;
	pthread_mutex_unlock(&p->lock);
	if (!first)
		return;
	/* Before the stop is visible: every vCPU thread must see it as it ends. */
	p->vm->complete_io_at_stop = true;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vm_request_stop(p->vm, VM_STOP_SNAPSHOT, 0, "the guest reached its snapshot point");
}

static const struct bus_ops snap_port_ops = {
	.read = snap_port_read,
	.write = snap_port_write,
};

int snap_port_register(struct snap_port *p, struct vm *vm, bool snapshot_boot)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->vm = vm;
	p->snapshot_boot = snapshot_boot;
	return bus_register(&vm->pio, LAYOUT_SNAP_PORT, 8, &snap_port_ops, p);
}

static int cfg_add(struct snap_port *p, const char *name, const void *val, size_t len)
{
	size_t nl = strlen(name) + 1, add = nl + 4 + len;
	uint32_t l32 = (uint32_t)len;
	uint8_t *nb = realloc(p->cfg, p->cfg_len + add);

	if (!nb)
		return -ENOMEM;
	memcpy(nb + p->cfg_len, name, nl);
	memcpy(nb + p->cfg_len + nl, &l32, 4);
	memcpy(nb + p->cfg_len + nl + 4, val, len);
	p->cfg = nb;
	p->cfg_len += add;
	return 0;
}

int snap_port_set_config(struct snap_port *p, char *const *argv, int argc, const char *flags)
{
	struct timespec now;
	char tbuf[48];
	size_t alen = 0, off = 0;
	char *args;
	int i, ret;

	for (i = 0; i < argc; i++)
		alen += strlen(argv[i]) + 1;
	args = malloc(alen + 1);
	if (!args)
		return -ENOMEM;
	for (i = 0; i < argc; i++) {
		size_t l = strlen(argv[i]) + 1;

		memcpy(args + off, argv[i], l);
		off += l;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(tbuf, sizeof(tbuf), "%lld %ld", (long long)now.tv_sec, now.tv_nsec);
	ret = cfg_add(p, "argv", args, alen);
	if (!ret)
		ret = cfg_add(p, "flags", flags, strlen(flags));
	if (!ret)
		ret = cfg_add(p, "time", tbuf, strlen(tbuf));
	free(args);
	return ret;
}

void snap_port_free(struct snap_port *p)
{
	free(p->cfg);
	p->cfg = NULL;
	p->cfg_len = 0;
}

/* Identity. */

static int ident_file(struct snap_ident *id, const char *path, char *err, size_t errlen)
{
	uint8_t *buf = malloc(1 << 20);
	ssize_t n;
	int fd, ret = 0;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(buf);
		return ret;
	}
	/* Chunks of 1 MiB, each length-prefixed by snap_ident_add: fine for an identity. */
	while ((n = read(fd, buf, 1 << 20)) > 0)
		snap_ident_add(id, buf, (size_t)n);
	if (n < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	}
	close(fd);
	free(buf);
	return ret;
}

int snapshot_ident(const char *kernel, const char *initrd, uint8_t out[SNAP_KERNEL_ID_LEN],
		   char *err, size_t errlen)
{
	struct snap_ident id;
	int ret;

	snap_ident_init(&id);
	ret = ident_file(&id, kernel, err, errlen);
	if (!ret)
		ret = ident_file(&id, initrd, err, errlen);
	if (!ret)
		snap_ident_final(&id, out);
	return ret;
}

/* Saving. */

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;
	unsigned int i;

	for (i = 0; i < SNAP_PAGE / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* Runs of non-zero pages go to the file; zero pages stay holes (read back as zeros). */
static int write_ram(int fd, const uint8_t *base, uint64_t size, uint64_t file_off)
{
	uint64_t i = 0, j;
	int ret;

	while (i < size) {
		if (page_is_zero(base + i)) {
			i += SNAP_PAGE;
			continue;
		}
		for (j = i + SNAP_PAGE; j < size && j - i < (8u << 20) && !page_is_zero(base + j);
		     j += SNAP_PAGE)
			;
		ret = pwrite_all(fd, base + i, (size_t)(j - i), file_off + i);
		if (ret)
			return ret;
		i = j;
	}
	return 0;
}

#define SAVE_ERR(r, ...) (snprintf(err, errlen, __VA_ARGS__), (r))

static int save_state(struct snapshot_writer *w, char *err, size_t errlen)
{
	const struct snapshot_src *s = &w->src;
	struct vm *vm = s->vm;
	struct snap_writer sw;
	struct snap_vm sv = {0};
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clk;
	struct uart_state us;
	struct timespec now;
	const uint8_t *out;
	size_t outlen;
	unsigned int i;
	int ret;

	snapw_init(&sw);
	clock_gettime(CLOCK_REALTIME, &now);
	sv.ncpus = vm->ncpus;
	sv.nvdevs = s->nvdevs;
	sv.mem = vm->ram_lo_size + vm->ram_hi_size;
	sv.ram_lo_size = vm->ram_lo_size;
	sv.ram_hi_size = vm->ram_hi_size;
	sv.created_realtime_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	snapw_add(&sw, SNAP_SEC_VM, 0, &sv, sizeof(sv));
	for (i = 0; i < vm->ncpus; i++) {
		uint8_t *blob = NULL;
		size_t len = 0;
		char why[160] = "";

		ret = vcs_save(vm->vcpus[i].fd, &w->caps, &blob, &len, why, sizeof(why));
		if (ret) {
			snapw_free(&sw);
			return SAVE_ERR(ret, "vCPU %u: %s", i, why);
		}
		snapw_add(&sw, SNAP_SEC_VCPU, i, blob, len);
		free(blob);
	}
	for (i = 0; i < 3; i++) {
		struct kvm_irqchip chip = {.chip_id = i};

		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip) < 0) {
			ret = -errno;
			snapw_free(&sw);
			return SAVE_ERR(ret, "KVM_GET_IRQCHIP: %s", strerror(-ret));
		}
		snapw_add(&sw, SNAP_SEC_IRQCHIP, i, &chip, sizeof(chip));
	}
	memset(&pit, 0, sizeof(pit));
	memset(&clk, 0, sizeof(clk));
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &pit) < 0 || ioctl(vm->vm_fd, KVM_GET_CLOCK, &clk) < 0) {
		ret = -errno;
		snapw_free(&sw);
		return SAVE_ERR(ret, "KVM_GET_PIT2/KVM_GET_CLOCK: %s", strerror(-ret));
	}
	snapw_add(&sw, SNAP_SEC_PIT, 0, &pit, sizeof(pit));
	snapw_add(&sw, SNAP_SEC_CLOCK, 0, &clk, sizeof(clk));
	for (i = 0; i < s->nvdevs; i++) {
		struct vmmio_state *ts = calloc(1, sizeof(*ts));

		if (!ts) {
			snapw_free(&sw);
			return SAVE_ERR(-ENOMEM, "out of memory");
		}
		vmmio_save(&s->vdevs[i].t, ts);
		snapw_add(&sw, SNAP_SEC_TRANSPORT, i, ts, sizeof(*ts));
		free(ts);
	}
	uart_save(s->uart, &us);
	snapw_add(&sw, SNAP_SEC_UART, 0, &us, sizeof(us));

	/* RAM first, the state last: a snapshot cut short has no valid state. */
	ret = write_ram(w->ram_fd, vm->ram_lo, vm->ram_lo_size, 0);
	if (!ret && vm->ram_hi)
		ret = write_ram(w->ram_fd, vm->ram_hi, vm->ram_hi_size, vm->ram_lo_size);
	if (!ret && ftruncate(w->ram_fd, (off_t)sv.mem) < 0)
		ret = -errno;
	if (ret) {
		snapw_free(&sw);
		return SAVE_ERR(ret, "%s/" SNAP_RAM_NAME ": %s", w->dir, strerror(-ret));
	}
	ret = snapw_finish(&sw, s->vmm_version, s->kernel_id, sv.mem, &out, &outlen);
	if (!ret)
		ret = pwrite_all(w->state_fd, out, outlen, 0);
	if (!ret && (fdatasync(w->ram_fd) < 0 || fdatasync(w->state_fd) < 0))
		ret = -errno;
	snapw_free(&sw);
	if (ret)
		return SAVE_ERR(ret, "%s/" SNAP_STATE_NAME ": %s", w->dir, strerror(-ret));
	return 0;
}

static void *writer_thread(void *arg)
{
	struct snapshot_writer *w = arg;
	int ret = sandbox_enter_role(w->src.vm->sandbox, SANDBOX_ROLE_SNAPSHOT, 0);

	pthread_mutex_lock(&w->lock);
	while (!w->cmd)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	if (ret)
		snprintf(w->err, sizeof(w->err), "sandbox: snapshot thread: %s", strerror(-ret));
	else if (w->cmd == 1)
		ret = save_state(w, w->err, sizeof(w->err));
	pthread_mutex_lock(&w->lock);
	w->result = ret;
	w->done = true;
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int snapshot_writer_open(struct snapshot_writer *w, const char *dir, struct vm *vm, char *err,
			 size_t errlen)
{
	int ret;

	memset(w, 0, sizeof(*w));
	w->dir = dir;
	w->src.vm = vm;
	w->dir_fd = w->state_fd = w->ram_fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return SAVE_ERR(-errno, "--snapshot %s: %s", dir, strerror(errno));
	w->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dir_fd < 0)
		return SAVE_ERR(-errno, "--snapshot %s: %s", dir, strerror(errno));
	w->state_fd =
		openat(w->dir_fd, SNAP_STATE_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->state_fd >= 0)
		w->ram_fd = openat(w->dir_fd, SNAP_RAM_NAME,
				   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->state_fd < 0 || w->ram_fd < 0)
		return SAVE_ERR(-errno, "--snapshot %s: %s", dir, strerror(errno));
	ret = vcs_caps_init(&w->caps, vm->kvm_fd, vm->vm_fd);
	if (ret)
		return SAVE_ERR(ret, "--snapshot: KVM cannot list the MSRs to save: %s",
				strerror(-ret));
	return 0;
}

int snapshot_writer_start(struct snapshot_writer *w)
{
	int ret = -pthread_create(&w->thread, NULL, writer_thread, w);

	if (!ret)
		w->started = true;
	return ret;
}

int snapshot_writer_finish(struct snapshot_writer *w, bool save, char *err, size_t errlen)
{
	int ret;

	if (!w->started)
		return SAVE_ERR(-EINVAL, "snapshot thread not started");
	pthread_mutex_lock(&w->lock);
	w->cmd = save ? 1 : 2;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->started = false;
	ret = w->result;
	if (ret)
		snprintf(err, errlen, "%s", w->err);
	if (ret || !save) {
		/* No half snapshot left behind. */
		unlinkat(w->dir_fd, SNAP_STATE_NAME, 0);
		unlinkat(w->dir_fd, SNAP_RAM_NAME, 0);
	}
	return ret;
}

void snapshot_writer_close(struct snapshot_writer *w)
{
	if (w->started)
		snapshot_writer_finish(w, false, w->err, sizeof(w->err));
	if (w->state_fd >= 0)
		close(w->state_fd);
	if (w->ram_fd >= 0)
		close(w->ram_fd);
	if (w->dir_fd >= 0)
		close(w->dir_fd);
	vcs_caps_free(&w->caps);
	w->dir_fd = w->state_fd = w->ram_fd = -1;
}

/* Restoring. */

#define LOAD_ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

int snapshot_open(struct snapshot_in *in, const char *dir, const char *vmm_version,
		  const uint8_t *kernel_id, char *err, size_t errlen)
{
	char why[256];
	struct stat st;
	size_t off = 0;
	int dfd, fd, ret;

	memset(in, 0, sizeof(*in));
	in->ram_fd = -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return snprintf(err, errlen, "--restore %s: %s", dir, strerror(errno)), -ENOENT;
	fd = openat(dfd, SNAP_STATE_NAME, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "--restore %s: " SNAP_STATE_NAME ": %s", dir,
			 strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SNAP_MAX_FILE) {
		ret = LOAD_ERR("--restore %s: " SNAP_STATE_NAME ": not a snapshot state file", dir);
		goto out;
	}
	in->len = (size_t)st.st_size;
	in->buf = malloc(in->len + 1);
	if (!in->buf) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while (off < in->len) {
		ssize_t n = read(fd, in->buf + off, in->len - off);

		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			snprintf(err, errlen, "--restore %s: " SNAP_STATE_NAME ": read failed",
				 dir);
			goto out;
		}
		off += (size_t)n;
	}
	ret = snapr_parse(&in->r, in->buf, in->len, vmm_version, kernel_id, why, sizeof(why));
	if (!ret)
		ret = snapr_get(&in->r, SNAP_SEC_VM, 0, &in->vm, sizeof(in->vm), why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "--restore %s: %s", dir, why);
		ret = -EINVAL;
		goto out;
	}
	if (in->vm.ncpus == 0 || in->vm.ncpus > VM_MAX_CPUS ||
	    in->vm.nvdevs > LAYOUT_VIRTIO_MMIO_SLOTS || in->vm.nshares ||
	    in->vm.ram_lo_size != MIN(in->vm.mem, LAYOUT_MMIO_HOLE) ||
	    in->vm.ram_hi_size != in->vm.mem - in->vm.ram_lo_size ||
	    in->vm.mem != in->r.hdr.ram_size || in->vm.mem % SNAP_PAGE || in->vm.mem < (1u << 20)) {
		ret = LOAD_ERR("--restore %s: corrupted: impossible machine (%u vCPUs, %llu bytes "
			       "of RAM, %u devices)",
			       dir, in->vm.ncpus, (unsigned long long)in->vm.mem, in->vm.nvdevs);
		goto out;
	}
	in->ram_fd = openat(dfd, SNAP_RAM_NAME, O_RDONLY | O_CLOEXEC);
	if (in->ram_fd < 0 || fstat(in->ram_fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "--restore %s: " SNAP_RAM_NAME ": %s", dir, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != in->vm.mem) {
		ret = LOAD_ERR("--restore %s: " SNAP_RAM_NAME ": %lld bytes, the snapshot's RAM is "
			       "%llu",
			       dir, (long long)st.st_size, (unsigned long long)in->vm.mem);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	close(dfd);
	if (ret)
		snapshot_close(in);
	return ret;
}

int snapshot_restore(struct snapshot_in *in, struct vm *vm, struct uart *uart, struct vdev *vdevs,
		     unsigned int nvdevs, char *err, size_t errlen)
{
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clk;
	struct uart_state us;
	char why[200] = "";
	unsigned int i;
	int ret;

	if (nvdevs != in->vm.nvdevs || vm->ncpus != in->vm.ncpus)
		return LOAD_ERR("restore: %u devices, the snapshot has %u", nvdevs, in->vm.nvdevs);
	ret = snapr_get(&in->r, SNAP_SEC_PIT, 0, &pit, sizeof(pit), why, sizeof(why));
	if (!ret)
		ret = snapr_get(&in->r, SNAP_SEC_CLOCK, 0, &clk, sizeof(clk), why, sizeof(why));
	if (!ret)
		ret = snapr_get(&in->r, SNAP_SEC_UART, 0, &us, sizeof(us), why, sizeof(why));
	if (ret)
		return LOAD_ERR("restore: %s", why);
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return snprintf(err, errlen, "restore: KVM_SET_PIT2: %s", strerror(errno)), -errno;
	for (i = 0; i < 3; i++) {
		struct kvm_irqchip chip;

		ret = snapr_get(&in->r, SNAP_SEC_IRQCHIP, i, &chip, sizeof(chip), why, sizeof(why));
		if (ret || chip.chip_id != i)
			return LOAD_ERR("restore: irqchip %u: %s", i, ret ? why : "wrong chip");
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
			return snprintf(err, errlen, "restore: KVM_SET_IRQCHIP: %s",
					strerror(errno)),
			       -errno;
	}
	for (i = 0; i < vm->ncpus; i++) {
		const void *blob;
		size_t len;

		if (snapr_find(&in->r, SNAP_SEC_VCPU, i, &blob, &len))
			return LOAD_ERR("restore: incomplete: no state for vCPU %u", i);
		ret = vcs_restore(vm->vcpus[i].fd, blob, len, why, sizeof(why));
		if (ret)
			return snprintf(err, errlen, "restore: vCPU %u: %s", i, why), ret;
	}
	for (i = 0; i < nvdevs; i++) {
		struct vmmio_state *ts = malloc(sizeof(*ts));

		if (!ts)
			return -ENOMEM;
		ret = snapr_get(&in->r, SNAP_SEC_TRANSPORT, i, ts, sizeof(*ts), why, sizeof(why));
		if (!ret)
			ret = vmmio_restore(&vdevs[i].t, ts, why, sizeof(why));
		free(ts);
		if (ret)
			return LOAD_ERR("restore: virtio slot %u: %s", i, why);
	}
	uart_restore(uart, &us);
	/*
	 * The KVM clock goes back to exactly what it read at the snapshot
	 * (flags cleared: no KVM_CLOCK_REALTIME adjustment), as the TSC does
	 * with its MSR: the guest's monotonic clocks resume where they
	 * stopped, never backwards and without a jump the guest's timers
	 * would take as a lost tick storm.  Its wall clock is then behind by
	 * the time the snapshot lay on disk: the init sets it from the "time"
	 * the restore configuration carries (snapshot.h).
	 */
	clk.flags = 0;
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clk) < 0)
		return snprintf(err, errlen, "restore: KVM_SET_CLOCK: %s", strerror(errno)), -errno;
	return 0;
}

void snapshot_close(struct snapshot_in *in)
{
	free(in->buf);
	in->buf = NULL;
	if (in->ram_fd >= 0)
		close(in->ram_fd);
	in->ram_fd = -1;
}
