# iommu-bpf: IOMMU tracepoints and BPF attach policy for Linux 7.2
# (mainline) and its 6.12 LTS backport.
#
#   make test      install deps, build (or reuse) the patched kernels, run
#                  host checks and the VM suite on intel-iommu and virtio-iommu
#   make help      everything else
#
# KERNEL=7.2|6.12 picks the kernel and series of the kernel targets
# (kernel, kernel-tree, kernel-export, kernel-check, kernel-unpatched);
# the default is 6.12, which most profiles boot.

SHELL := /bin/bash
.DEFAULT_GOAL := help
export PYTHONDONTWRITEBYTECODE := 1

KSCRIPTS := kernel/scripts
KERNEL ?= 6.12
export KERNEL

.PHONY: help deps kernel kernel-debug kernel-unpatched kernels kernel-tree kernel-export kernel-check bpftools tools \
	vm-tools vendor-headers \
	run bench test test-host test-vm golden fuzz clean install deb deb-kernel kernel-range-diff

help:
	@echo "make deps           install Debian packages and virtme-ng (idempotent)"
	@echo "make kernel         build/kernel: the patched 6.12 kernel (cached by inputs)"
	@echo "make kernel KERNEL=7.2  build/kernel-7.2: the mainline series on Debian unstable's linux-source-7.2"
	@echo "make kernel-debug   build/kernel-debug: the 6.12 kernel with lockdep, KASAN, UBSAN, kmemleak, fault injection"
	@echo "make kernels        all three (what make test boots)"
	@echo "make kernel-unpatched  build/kernel-unpatched: the same config without the series (make bench)"
	@echo "make kernel-tree    build/linux (KERNEL=7.2: build/linux-7.2): source + series as a git tree (tag 'base')"
	@echo "make kernel-export  write that tree's commits back to kernel/patches-6.12 (KERNEL=7.2: kernel/patches)"
	@echo "make kernel-check   both series: build every step, checkpatch --strict each patch (KERNEL=: one)"
	@echo "make kernel-range-diff  git range-diff of the 7.2 series against its 6.12 backport"
	@echo "make tools          build/iommuctl/iommuctl (libbpf, bpftool, BPF skeletons; no kernel build)"
	@echo "make vendor-headers refresh the vendored UAPI header and vmlinux.h from build/kernel"
	@echo "make install        iommuctl, its man pages and completion, the boot script, initramfs hook and systemd unit (DESTDIR=, PREFIX=/usr)"
	@echo "make run            boot two VMs: a policy loaded, applied and explained (with and without"
	@echo "                    the loosening opt-in), then what each DMA mode costs, through iommuctl"
	@echo "make bench          tracing overhead: iommuctl vs bpftrace vs ftrace (ratios)"
	@echo "make test           host checks, every VM profile (the debug kernel's too) and the boot test (TAP)"
	@echo "make test-debug     the debug kernel's profile alone"
	@echo "make test-host      host checks only"
	@echo "make test-vm P=intel|virtio|mock|stock[-6.12|-newest]|policy...|boot   one VM profile (selftests/run-vm.sh)"
	@echo "                    P=intel-7.2|virtio-7.2|mock-7.2|policy-7.2|policy-noopt-7.2: the same on 7.2"
	@echo "make golden         refresh selftests/vm/golden from the built kernel"
	@echo "make fuzz [FUZZ_SECONDS=600]   the rules parser under libFuzzer (default 60 s)"
	@echo "make deb            build/deb/iommu-bpf_VERSION_amd64.deb: what make install installs (dpkg-buildpackage, lintian)"
	@echo "make deb-kernel     build/deb/kernel/: the patched kernel as Debian packages (bindeb-pkg; not part of make test)"

deps:
	@tools/deps.sh

kernel: deps
	@$(KSCRIPTS)/build-kernel.sh

kernel-debug: deps
	@KERNEL=6.12 FLAVOR=debug $(KSCRIPTS)/build-kernel.sh

# The same config without the series: what make bench compares against
kernel-unpatched: deps
	@FLAVOR=unpatched $(KSCRIPTS)/build-kernel.sh

# All three at once: each build leaves a core idle in its serial steps
# (the tree's extraction, the 7.2 source's download, linking, BTF), and
# the others fill it.  The kernels are CPU-bound, so the order does not
# change when the last one is done, only how little of it is idle.
# A 7.2 whose source Debian no longer has (exit 4, build/kernel-7.2.unavailable)
# is not a failure: its profiles are counted as skipped, with the reason.
kernels: deps
	@KERNEL=6.12 $(KSCRIPTS)/build-kernel.sh & main=$$!; \
	KERNEL=7.2 $(KSCRIPTS)/build-kernel.sh --unavailable-ok & mainline=$$!; \
	KERNEL=6.12 FLAVOR=debug $(KSCRIPTS)/build-kernel.sh; debug=$$?; \
	wait $$main; main=$$?; wait $$mainline; mainline=$$?; \
	[ $$main = 0 ] && [ $$mainline = 0 ] && exit $$debug

kernel-tree: deps
	@$(KSCRIPTS)/prepare-tree.sh

kernel-export:
	@$(KSCRIPTS)/export-series.sh

# Both series unless KERNEL= was given on the command line
kernel-check: deps
	@$(if $(filter command line environment,$(origin KERNEL)),$(KSCRIPTS)/check-series.sh,\
		KERNEL=7.2 $(KSCRIPTS)/check-series.sh && KERNEL=6.12 $(KSCRIPTS)/check-series.sh)

kernel-range-diff: deps
	@$(KSCRIPTS)/range-diff.sh

bpftools: deps
	@tools/build-bpftools.sh

# No kernel build: the headers the tools need are vendored (vendor-headers)
tools: deps bpftools
	@$(MAKE) -s -C tools/iommuctl all test-bin

# What only the VM suite needs: the policy tests, built against the kernel
vm-tools: deps kernel tools
	@$(MAKE) -s -C selftests/vm/policy

# Refresh the vendored UAPI header and vmlinux.h from build/kernel (after a
# change to the series' UAPI or types); a host test checks they match.
vendor-headers: kernel bpftools
	@cp build/kernel/include/linux/iommu_policy.h include/uapi/linux/iommu_policy.h
	@build/bpftools/bpftool btf dump file build/kernel/vmlinux.btf format c \
		> bpf/vmlinux/x86_64/vmlinux.h

# debian/rules builds the tools itself and runs 'make install INSTALL_DEPS='
INSTALL_DEPS ?= tools
install: $(INSTALL_DEPS)
	@$(MAKE) -s -C tools/iommuctl install
	@$(MAKE) -s -C tools/deploy install

# The tools package, built by dpkg-buildpackage from a copy of the tree, and
# checked by lintian (errors fail)
deb: deps bpftools
	@tools/deb.sh

# The patched kernel's linux-image, linux-headers and linux-libc-dev
# packages (the kernel's bindeb-pkg) from build/linux: the objects a 'make
# kernel' left there are reused, ccache serves the rest
deb-kernel: deps
	@$(KSCRIPTS)/build-deb-kernel.sh

run: deps kernel vm-tools
	@tools/demo/run.sh

bench: deps kernel kernel-unpatched vm-tools
	@bench/run.sh

# Longest first, so that the lanes end together: the debug kernel's
# profile (about 7.5 min) fills one lane, the other profiles the other and
# what the first has left.
test: deps kernels vm-tools
	@selftests/run.sh $(TEST_SUITES)

TEST_SUITES := debug policy policy-7.2 intel intel-7.2 host virtio virtio-7.2 \
	policy-noopt policy-noopt-7.2 stock stock-6.12 stock-newest boot \
	policy-cm-lockdown policy-strict policy-strict-noopt policy-strict-conf mock mock-7.2

test-debug: deps kernels vm-tools
	@selftests/run.sh debug

test-host: deps tools
	@selftests/run.sh host

# A -7.2 profile boots the 7.2 kernel: build (or reuse) it first
test-vm: deps kernel vm-tools
	@$(if $(filter %-7.2,$(P)),KERNEL=7.2 $(KSCRIPTS)/build-kernel.sh --unavailable-ok &&) \
		selftests/run.sh $(or $(P),intel)

# The corpus grows in build/iommuctl
fuzz: deps
	@$(MAKE) -s -C tools/iommuctl fuzz $(if $(FUZZ_SECONDS),FUZZ_SECONDS=$(FUZZ_SECONDS))

golden: deps kernel
	@selftests/update-golden.sh

clean:
	rm -rf build/vm-out build/*.tap build/*.err build/*.rc build/checkpatch build/iommuctl build/policy-tests
