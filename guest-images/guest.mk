# guest-images/guest.mk - the default guest: stock Debian kernels, their
# initramfs images and the static init.  Included by the top Makefile; every
# path is relative to the repository root.  See guest-images/README.md.
#
#   guest-images/cache/{cloud,generic}/   downloaded .deb + unpacked tree (kept)
#   guest-images/out/minivmm-init         the static /init
#   guest-images/out/cloud/{vmlinuz,vmlinux,initrd.img,kernel-version}
#   guest-images/out/generic/{vmlinuz,initrd.img,kernel-version}
#   guest-images/out/generic/modules/     the generic kernel's lib/modules tree
#
# Nothing is downloaded again while guest-images/cache/FLAVOUR/extracted exists.

GUEST_DIR := guest-images
GUEST_CACHE := $(GUEST_DIR)/cache
GUEST_OUT := $(GUEST_DIR)/out
GUEST_INIT := $(GUEST_OUT)/minivmm-init
GUEST_MODULES := virtio virtio_ring virtio_mmio fuse virtiofs virtio_console
# Loaded by the init only for a read-only --root (its writable layer).
GUEST_ROOT_MODULES := overlay
GUEST_FLAVOURS := cloud generic
GUEST_PKG_cloud := linux-image-cloud-amd64
GUEST_PKG_generic := linux-image-amd64

# The init is built for the guest, never with the sanitizers of the host build.
GUEST_INIT_CFLAGS := -std=gnu11 -O2 -static -Wall -Wextra -Wshadow -Wpointer-arith -Wformat=2 \
	-Wno-missing-field-initializers -Werror -D_GNU_SOURCE -I.
GUEST_INIT_SRCS := $(wildcard $(GUEST_DIR)/init/*.c)
GUEST_INIT_HDRS := $(wildcard $(GUEST_DIR)/init/*.h) x86/layout.h

GUEST_FILES := $(foreach f,$(GUEST_FLAVOURS),$(GUEST_OUT)/$(f)/vmlinuz \
	$(GUEST_OUT)/$(f)/initrd.img $(GUEST_OUT)/$(f)/kernel-version) \
	$(GUEST_OUT)/cloud/vmlinux $(GUEST_OUT)/generic/modules/.complete

guest: $(GUEST_FILES)

$(GUEST_INIT): $(GUEST_INIT_SRCS) $(GUEST_INIT_HDRS)
	@mkdir -p $(dir $@)
	$(vecho) "  CCLD    $@"
	$(Q)$(CC) $(GUEST_INIT_CFLAGS) -o $@ $(GUEST_INIT_SRCS)

# Download (once) and unpack.  Deliberately no prerequisites: only a missing
# stamp triggers it, so a present download is never fetched again.
$(GUEST_CACHE)/%/extracted:
	$(vecho) "  FETCH   $(GUEST_PKG_$*)"
	$(Q)$(GUEST_DIR)/fetch-kernel.sh $(GUEST_PKG_$*) $(GUEST_CACHE)/$*

$(GUEST_OUT)/%/kernel-version: $(GUEST_CACHE)/%/extracted
	@mkdir -p $(dir $@)
	$(Q)cp $(GUEST_CACHE)/$*/kernel-version $@

$(GUEST_OUT)/%/vmlinuz: $(GUEST_CACHE)/%/extracted
	@mkdir -p $(dir $@)
	$(vecho) "  CP      $@"
	$(Q)cp $(GUEST_CACHE)/$*/root/boot/vmlinuz-$$(cat $(GUEST_CACHE)/$*/kernel-version) $@.tmp
	$(Q)mv -f $@.tmp $@

# The default kernel minivmm boots: the bzImage's ELF payload, entered
# through PVH, so no boot spends time decompressing the kernel (issue 14).
$(GUEST_OUT)/%/vmlinux: $(GUEST_OUT)/%/vmlinuz $(GUEST_DIR)/extract-vmlinux.sh
	$(vecho) "  EXTRACT $@"
	$(Q)$(GUEST_DIR)/extract-vmlinux.sh $< $@

# guest.mk too: a change of GUEST_MODULES must rebuild the images.
$(GUEST_OUT)/%/initrd.img: $(GUEST_CACHE)/%/extracted $(GUEST_INIT) $(GUEST_DIR)/mkinitramfs.sh \
		$(GUEST_DIR)/guest.mk
	$(vecho) "  INITRD  $@"
	$(Q)$(GUEST_DIR)/mkinitramfs.sh -q -o $@ -i $(GUEST_INIT) \
		-k $(GUEST_CACHE)/$*/root/lib/modules/$$(cat $(GUEST_CACHE)/$*/kernel-version) \
		-m "$(GUEST_MODULES)" -r "$(GUEST_ROOT_MODULES)"

# The generic kernel's whole module tree, for the KVM test host's own
# initramfs (built with mkinitramfs.sh -k guest-images/out/generic/modules).
# Hard links when possible: the tree is ~400 MB.
$(GUEST_OUT)/generic/modules/.complete: $(GUEST_CACHE)/generic/extracted
	$(vecho) "  CP      $(GUEST_OUT)/generic/modules"
	$(Q)rm -rf $(GUEST_OUT)/generic/modules
	@mkdir -p $(GUEST_OUT)/generic
	$(Q)cp -al $(GUEST_CACHE)/generic/root/lib/modules $(GUEST_OUT)/generic/modules 2>/dev/null || \
		cp -a $(GUEST_CACHE)/generic/root/lib/modules $(GUEST_OUT)/generic/modules
	$(Q)touch $@

.PHONY: guest

# A Debian 12 root directory for `minivmm --root` (make rootfs): built by
# mkrootfs.sh with mmdebstrap, as root, and kept until its recipe changes:
# the script, or the packages and mirror below, recorded in rootfs.recipe
# (rewritten only when they differ, so make compares its time).
# ROOTFS_PACKAGES adds packages to the base set (build-essential git
# python3 ca-certificates make).
ROOTFS := $(GUEST_OUT)/rootfs
ROOTFS_PACKAGES ?=
ROOTFS_MIRROR ?= http://deb.debian.org/debian
ROOTFS_RECIPE := $(GUEST_OUT)/rootfs.recipe
ROOTFS_STAMP := $(GUEST_OUT)/rootfs.stamp

rootfs: $(ROOTFS_STAMP)

$(ROOTFS_RECIPE): FORCE
	@mkdir -p $(dir $@)
	$(Q)printf 'packages=%s\nmirror=%s\n' "$(strip $(ROOTFS_PACKAGES))" "$(ROOTFS_MIRROR)" >$@.new
	$(Q)if cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@; fi

$(ROOTFS_STAMP): $(ROOTFS_RECIPE) $(GUEST_DIR)/mkrootfs.sh
	$(vecho) "  ROOTFS  $(ROOTFS)"
	$(Q)rm -f $@
	$(Q)$(GUEST_DIR)/mkrootfs.sh -q -o $(ROOTFS) -m "$(ROOTFS_MIRROR)" \
		$(if $(strip $(ROOTFS_PACKAGES)),-p "$(strip $(ROOTFS_PACKAGES))")
	$(Q)touch $@

FORCE:

.PHONY: rootfs FORCE
