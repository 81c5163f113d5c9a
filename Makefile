# minivmm - one non-recursive GNU Makefile.
#
#   make            build ./minivmm
#   make run        install missing packages, build, fetch the default guest, boot it
#   make test       install missing packages, build, run unit + sanitizer + integration tests
#   make check      unit tests only (no KVM, no root)
#   make check-asan unit tests under ASan + UBSan
#   make fuzz       libFuzzer targets, bounded runs (FUZZ_RUNS)
#   make integration  integration tests (boot real guests; through
#                   tests/integration/kvm-host)
#   T=NAME...       run only these tests, built alone: unit test binaries for
#                   check and check-asan (make check T="test_bus test_cli"),
#                   tests/integration/NAME.t for integration (make integration
#                   T=30-virtiofs, building only what that test needs)
#   make guest      build the default guest kernel + initramfs (guest-images/out)
#   make rootfs     a Debian 12 root directory for --root (guest-images/out/rootfs; as
#                   root, with mmdebstrap); ROOTFS_PACKAGES="..." adds packages
#   make bench      benchmarks (boot time, VMM memory, console throughput, virtio-fs,
#                   host memory per VM on one root with and without DAX);
#                   BENCH="boot fs density" picks them (and ci: a CI job's untar,
#                   build and git status, FILES=, ROUNDS=; snapshot: restore against
#                   cold boot); fs measures each share mode with the
#                   sandbox and with --sandbox=none (SANDBOX="on none", or one of them),
#                   and against QEMU + the Rust virtiofsd VIRTIOFSD=PATH (default: Debian
#                   trixie's, fetched by VIRTIOFSD_FETCH into guest-images/cache)
#   make lint       clang-format check, and includes only point downward (scripts/check-layers.sh)
#   V=1             show commands

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD ?= build/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD ?= build/release
SAN_FLAGS :=
endif

CC ?= gcc
WERROR ?= 1
CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Wshadow -Wpointer-arith -Wformat=2 \
	-Wno-missing-field-initializers -D_GNU_SOURCE -I. -MMD -MP -pthread $(SAN_FLAGS)
ifeq ($(WERROR),1)
override CFLAGS += -Werror
endif
# Only the sandbox test's copy of fuse/ is built without the FUSE server's
# own confinement (fuse/confine.h, below); never the whole build.
ifneq ($(findstring FSRV_TEST_UNCONFINED,$(CFLAGS) $(CPPFLAGS)),)
$(error FSRV_TEST_UNCONFINED turns off the FUSE server's confinement: only tests/unit/test_sandbox_holds is built with it (fuse/confine.h))
endif
LDFLAGS ?=
override LDFLAGS += -pthread $(SAN_FLAGS)
LDLIBS := -lelf -lseccomp

ifeq ($(V),1)
Q :=
vecho = @true
else
Q := @
vecho = @echo
endif

# Every .c under these folders is part of the VMM library; vmm/main.c is the
# program.  New files need no Makefile change.
LIB_SRCS := $(filter-out vmm/main.c,$(wildcard lib/*.c x86/*.c boot/*.c fuse/*.c devices/*/*.c vmm/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libminivmm.a

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
# What the unit tests share (tests/unit/*.c that are not tests: the fake
# guest driver), linked from an archive so a test takes only what it uses.
UNIT_HELPER_SRCS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))
UNIT_HELPERS := $(BUILD)/tests/unit/libhelpers.a

all: minivmm

minivmm: $(BUILD)/minivmm
	$(Q)ln -sf $(BUILD)/minivmm minivmm

$(BUILD)/minivmm: $(BUILD)/vmm/main.o $(LIB)
	$(vecho) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIB): $(LIB_OBJS)
	$(vecho) "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

# The default guest lives in this checkout (made by `make guest`).
$(BUILD)/vmm/main.o: override CFLAGS += -DMINIVMM_GUEST_DIR='"$(CURDIR)/guest-images/out/cloud"'

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(vecho) "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(UNIT_HELPERS): $(UNIT_HELPER_SRCS:%.c=$(BUILD)/%.o)
	$(vecho) "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(UNIT_HELPERS) $(LIB)
	$(vecho) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# tests/unit/test_sandbox_holds serves hostile requests with the FUSE
# server's own confinement off, to show that the sandbox alone keeps them
# in: it links fuse/ built a second time with FSRV_TEST_UNCONFINED
# (fuse/confine.h).  That test only: vmm/main.c makes minivmm fail to link
# such an object.
UNCONFINED_OBJS := $(patsubst %.c,$(BUILD)/unconfined/%.o,$(wildcard fuse/*.c))

$(BUILD)/unconfined/%.o: %.c
	@mkdir -p $(dir $@)
	$(vecho) "  CC      $< (unconfined, for test_sandbox_holds)"
	$(Q)$(CC) $(CFLAGS) -DFSRV_TEST_UNCONFINED -c -o $@ $<

$(BUILD)/tests/unit/test_sandbox_holds: $(BUILD)/tests/unit/test_sandbox_holds.o \
		$(UNCONFINED_OBJS) $(UNIT_HELPERS) $(LIB)
	$(vecho) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit-bins: $(UNIT_BINS)

# libFuzzer targets (clang), run a bounded number of iterations by
# tests/fuzz/fuzz.t under ASan + UBSan.
FUZZ_CC := clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-std=gnu11 -D_GNU_SOURCE -I. -pthread
FUZZ_vq_SRCS := devices/virtio_mmio/virtqueue.c lib/gmem.c lib/iov.c lib/log.c
FUZZ_BINS := build/fuzz/fuzz_virtqueue build/fuzz/fuzz_transport build/fuzz/fuzz_fuse
# The FUSE server and its DAX window (fuse/), without the virtio glue.
FUZZ_fuse_SRCS := $(wildcard fuse/*.c) \
	lib/iov.c lib/log.c

build/fuzz/fuzz_virtqueue: tests/fuzz/fuzz_virtqueue.c $(FUZZ_vq_SRCS)
	@mkdir -p $(dir $@)
	$(vecho) "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

build/fuzz/fuzz_transport: tests/fuzz/fuzz_transport.c devices/virtio_mmio/transport.c \
		$(FUZZ_vq_SRCS) lib/bus.c
	@mkdir -p $(dir $@)
	$(vecho) "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^

build/fuzz/fuzz_fuse: tests/fuzz/fuzz_fuse.c $(FUZZ_fuse_SRCS) $(wildcard fuse/*.h lib/*.h)
	@mkdir -p $(dir $@)
	$(vecho) "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^)

fuzz-bins: $(FUZZ_BINS)

fuzz: fuzz-bins
	$(Q)prove -f tests/fuzz/fuzz.t

# Unit tests: TAP, summarised by prove.  T picks binaries by name.
CHECK_BINS := $(if $(T),$(addprefix $(BUILD)/tests/unit/,$(basename $(notdir $(T)))),$(UNIT_BINS))

check: $(CHECK_BINS)
	$(Q)prove -f $(CHECK_BINS)

check-asan:
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 check

deps:
	$(Q)scripts/install-deps.sh

# The default guest (kernel, initramfs) and the test host's images.
include guest-images/guest.mk
include tests/integration/testhost/testhost.mk
include tests/integration/fuse_host/fuse_host.mk

# A "kernel" that triple-faults at once (tests/integration/boot/crash.S): how the boot
# tests check that a crashed guest is reported as a failure.
CRASH_ELF := build/tests/integration/boot/crash.elf

$(CRASH_ELF): tests/integration/boot/crash.S
	@mkdir -p $(dir $@)
	$(vecho) "  AS      $@"
	$(Q)$(CC) -c -o $(@:.elf=.o) $<
	$(Q)$(LD) -N --no-warn-rwx-segments -z noexecstack -Ttext=0x100000 -e entry \
		-o $@ $(@:.elf=.o)

# Integration tests; T picks them by name (tests/integration/NAME.t).  What a
# test needs, where it needs less than everything: INTEG_NEEDS_<name>.
INTEG_ALL := minivmm guest testhost fuse-host-bins $(CRASH_ELF)
INTEG_NEEDS_00-kvm-host := testhost
INTEG_NEEDS_01-inner-kvm-qemu := guest testhost
INTEG_NEEDS_05-errors := minivmm guest
INTEG_NEEDS_10-boot := minivmm guest testhost $(CRASH_ELF)
INTEG_NEEDS_20-fuse-host := fuse-host-bins
INTEG_NEEDS_50-root := minivmm guest testhost rootfs
INTEG_NEEDS_51-dogfood := minivmm guest testhost rootfs
INTEG_NEEDS_60-snapshot := minivmm guest testhost
INTEG_TESTS := $(if $(T),$(patsubst %,tests/integration/%.t,$(basename $(notdir $(T)))),\
	$(wildcard tests/integration/*.t))
integ_needs = $(if $(filter undefined,$(origin INTEG_NEEDS_$(1))),$(INTEG_ALL),$(INTEG_NEEDS_$(1)))

integration: $(sort $(foreach t,$(INTEG_TESTS),$(call integ_needs,$(basename $(notdir $(t))))))
	$(Q)prove -f $(INTEG_TESTS) </dev/null

# The README's test command: everything CI runs.
test: deps
	$(Q)$(MAKE) --no-print-directory minivmm unit-bins guest testhost fuzz-bins fuse-host-bins \
		$(CRASH_ELF) rootfs
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 unit-bins
	$(Q)prove -f $(UNIT_BINS) $(UNIT_SRCS:tests/unit/%.c=build/asan/tests/unit/%) \
		tests/fuzz/fuzz.t tests/integration/*.t </dev/null

# The README's first command: boot the default stock guest.  Where /dev/kvm
# cannot boot a stock kernel (no VMX/SVM), go through the KVM test host.
run: deps
	$(Q)$(MAKE) --no-print-directory minivmm guest
	$(Q)scripts/run-default.sh $(ARGS)

# Benchmarks: figures as ratios against baselines measured in the same run.
# BENCH picks them: boot (boot time, VMM memory, console), fs (virtio-fs file
# workload against native and against QEMU + virtiofsd, FUSE round trip
# against a bare vCPU exit), density (host memory per VM of 4 VMs on one
# read-only Debian root, with and without DAX; needs make rootfs), ci (a CI
# job's untar, make -j2 and git status on a Debian root and a work share,
# against QEMU + virtiofsd; needs make rootfs; not in the default list: it
# takes longer than the others together in the nested test host), serve
# (a share served on the I/O thread against on the vCPU, serve=, with 1 and
# 2 vCPUs; not in the default list: it compares minivmm with itself).
BENCH ?= boot fs density
FSBENCH := build/tests/bench/fsbench
# fs and ci compare with the Rust virtiofsd users run: VIRTIOFSD=PATH, or else
# Debian trixie's 1.13 with its libraries, unpacked once into the cache by
# the machine's shared fetch script (not part of this repository).
VIRTIOFSD ?=
VIRTIOFSD_FETCH ?= $(CURDIR)/../shared/tools/fetch-trixie-virtiofsd.sh
VIRTIOFSD_DIR := guest-images/cache/virtiofsd-trixie

# Static, like fstest, so the stock guest runs it from a share.
$(FSBENCH): tests/bench/fsbench.c lib/parse.c lib/parse.h x86/layout.h
	@mkdir -p $(dir $@)
	$(vecho) "  CC      $@ (static)"
	$(Q)$(CC) $(FSTEST_CFLAGS) -static -o $@ $(filter %.c,$^)

fsbench: $(FSBENCH)

# What each thread role's seccomp filter adds to a system call, measured
# here (no KVM): make seccomp-cost, then build/release/tests/bench/seccomp_cost.
$(BUILD)/tests/bench/seccomp_cost: $(BUILD)/tests/bench/seccomp_cost.o $(LIB)
	$(vecho) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

seccomp-cost: $(BUILD)/tests/bench/seccomp_cost

bench: deps
	$(Q)$(MAKE) --no-print-directory minivmm guest testhost $(if $(filter fs serve,$(BENCH)),fsbench) \
		$(if $(filter density ci,$(BENCH)),rootfs)
	$(Q)vfsd='$(if $(VIRTIOFSD),$(abspath $(VIRTIOFSD)))'; \
	if [ -n "$(filter fs ci,$(BENCH))" ] && [ -z "$$vfsd" ]; then \
		if [ -x '$(VIRTIOFSD_FETCH)' ] && '$(VIRTIOFSD_FETCH)' $(VIRTIOFSD_DIR) >/dev/null; then \
			vfsd=$(CURDIR)/$(VIRTIOFSD_DIR)/virtiofsd; \
		else \
			echo "make bench: BENCH=fs and ci need a Rust virtiofsd: set VIRTIOFSD=PATH (or VIRTIOFSD_FETCH=fetch-trixie-virtiofsd.sh)" >&2; \
			exit 1; \
		fi; \
	elif [ -n "$(filter fs ci,$(BENCH))" ] && [ ! -x "$$vfsd" ]; then \
		echo "make bench: VIRTIOFSD=$$vfsd is not an executable" >&2; \
		exit 1; \
	fi; \
	for b in $(BENCH); do \
		t=3000; [ $$b != fs ] || t=4800; [ $$b != ci ] || t=7200; \
		VIRTIOFSD=$$vfsd tests/integration/kvm-host --timeout $$t --retries 2 bash tests/bench/$$b.sh </dev/null || exit 1; \
	done

lint:
	$(Q)clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')
	$(Q)scripts/check-layers.sh

clean:
	rm -rf build minivmm

# A T that names no test: say so in one line, before building anything.
ifneq ($(T),)
ifneq ($(filter check check-asan,$(MAKECMDGOALS)),)
T_MISSING := $(filter-out $(UNIT_BINS),$(CHECK_BINS))
$(if $(T_MISSING),$(error no unit test $(notdir $(T_MISSING)) (T takes names of tests/unit/test_*.c, e.g. T=test_bus)))
endif
ifneq ($(filter integration,$(MAKECMDGOALS)),)
T_MISSING := $(filter-out $(wildcard tests/integration/*.t),$(INTEG_TESTS))
$(if $(T_MISSING),$(error no integration test $(T_MISSING) (T takes names of tests/integration/*.t, e.g. T=30-virtiofs)))
endif
endif

.PHONY: all minivmm unit-bins check check-asan deps guest integration test run bench lint clean \
	fuzz fuzz-bins fsbench seccomp-cost
.SECONDARY:

-include $(shell find build -name '*.d' 2>/dev/null)
