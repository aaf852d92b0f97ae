#!/bin/bash
# Refresh selftests/vm/golden/iommu/*.format from the built kernel's tracefs.
# The formats are ABI: review the diff before committing it.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
out=$TOP/build/vm-out/golden
rm -rf "$out"
mkdir -p "$out"
"$TOP/vmlib/launch.sh" --cpus 2 --mem 1G --timeout 600 --dir "$out" -- \
	"/usr/bin/python3 $TOP/selftests/vm/main.py --profile intel --out $out --golden-out $out/iommu"
ls "$out/iommu"/*.format >/dev/null
rm -rf "$TOP/selftests/vm/golden/iommu"
mkdir -p "$TOP/selftests/vm/golden"
cp -r "$out/iommu" "$TOP/selftests/vm/golden/iommu"
git -C "$TOP" status --short selftests/vm/golden
