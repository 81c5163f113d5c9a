# tests/testhost/testhost.mk - images of the KVM test host's outer VM (see
# tests/kvm-host).  Included by the top Makefile.  The outer VM runs the
# stock generic Debian kernel (it has 9p and kvm-amd as modules).
TESTHOST_IMG := build/testhost/initrd.img

testhost: $(TESTHOST_IMG) $(GUEST_OUT)/generic/vmlinuz

$(TESTHOST_IMG): tests/testhost/init.sh tests/testhost/mkimage.sh $(GUEST_CACHE)/generic/extracted
	@mkdir -p $(dir $@)
	$(vecho) "  INITRD  $@"
	$(Q)tests/testhost/mkimage.sh $(GUEST_CACHE)/generic/root \
		$$(cat $(GUEST_CACHE)/generic/kernel-version) $@

.PHONY: testhost
