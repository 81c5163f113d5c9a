# tests/integration/testhost/testhost.mk - images of the KVM test host's outer VM (see
# tests/integration/kvm-host).  Included by the top Makefile.  The outer VM runs the
# stock generic Debian kernel, which has 9p and kvm-amd as modules.
TESTHOST_IMG := build/testhost/initrd.img
TESTHOST_MODULES := irqbypass kvm ccp kvm-amd virtio_mmio 9pnet_virtio 9p

testhost: $(TESTHOST_IMG) $(GUEST_OUT)/generic/vmlinuz

$(TESTHOST_IMG): tests/integration/testhost/init.sh $(GUEST_DIR)/mkinitramfs.sh $(GUEST_OUT)/generic/modules/.complete
	@mkdir -p $(dir $@)
	$(vecho) "  INITRD  $@"
	$(Q)$(GUEST_DIR)/mkinitramfs.sh -q -o $@ -i tests/integration/testhost/init.sh \
		-k $(GUEST_OUT)/generic/modules -m "$(TESTHOST_MODULES)"

.PHONY: testhost
