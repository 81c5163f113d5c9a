# tests/integration/fuse_host/fuse_host.mk - the FUSE server's host-kernel test mode and
# the filesystem semantics test.  Included by the top Makefile.
#
#   fusehost  serves a host directory over /dev/fuse with the FUSE server
#             (linked against the VMM library, so SANITIZE=1 builds it under
#             ASan + UBSan in build/asan like the unit tests);
#   fstest    filesystem semantics test printing TAP, run against a directory;
#             static, so the same binary also runs in the stock guest from a
#             share, and built without sanitizers (they do not link -static);
#   mmapx     scripted steps on one MAP_SHARED mapping (the DAX and lock tests).
FUSEHOST := $(BUILD)/tests/integration/fuse_host/fusehost
FSTEST := build/tests/integration/fs/fstest
MMAPX := build/tests/integration/fs/mmapx
FSTEST_CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -Wshadow -Wpointer-arith -Wformat=2 \
	-Wno-missing-field-initializers -Werror -D_GNU_SOURCE -I.

$(FUSEHOST): $(BUILD)/tests/integration/fuse_host/fusehost.o $(LIB)
	@mkdir -p $(dir $@)
	$(vecho) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(FSTEST): tests/integration/fs/fstest.c tests/unit/tap.h
	@mkdir -p $(dir $@)
	$(vecho) "  CC      $@ (static)"
	$(Q)$(CC) $(FSTEST_CFLAGS) -static -o $@ $<

# mmapx: steps on one MAP_SHARED mapping (the DAX and lock tests); static too.
$(MMAPX): tests/integration/fs/mmapx.c
	@mkdir -p $(dir $@)
	$(vecho) "  CC      $@ (static)"
	$(Q)$(CC) $(FSTEST_CFLAGS) -static -o $@ $<

fuse-host-bins: $(FUSEHOST) $(FSTEST) $(MMAPX)

.PHONY: fuse-host-bins
