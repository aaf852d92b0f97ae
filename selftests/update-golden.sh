#!/bin/bash
# Refresh selftests/vm/golden/iommu/*.format from the built kernel's tracefs.
# The formats are ABI: review the diff before committing it.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${IOMMU_BPF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iommu-bpf}
export PATH=$CACHE/venv/bin:$PATH	# vng runs virtme-run from its venv
out=$TOP/build/vm-out/golden
rm -rf "$out"
mkdir -p "$out"
timeout 600 "$CACHE/venv/bin/vng" --disable-kvm --force-9p -r "$TOP/build/kernel/bzImage" \
	--cpus 2 -m 1G --qemu-opts="-accel tcg,thread=single" --rwdir="$out" --cwd "$TOP" \
	-e "/usr/bin/python3 $TOP/selftests/vm/main.py --profile intel --out $out --golden-out $out/iommu" \
	</dev/null
ls "$out/iommu"/*.format >/dev/null
rm -rf "$TOP/selftests/vm/golden/iommu"
mkdir -p "$TOP/selftests/vm/golden"
cp -r "$out/iommu" "$TOP/selftests/vm/golden/iommu"
git -C "$TOP" status --short selftests/vm/golden
