#!/bin/bash
# Compile dmar-rmrr.dsl with iasl and wrap it in the initrd the 'policy'
# VM profiles boot with, for CONFIG_ACPI_TABLE_UPGRADE:
#
#   build/acpi/dmar.aml          the table
#   build/acpi/dmar-initrd.cpio  uncompressed newc cpio holding
#                                kernel/firmware/acpi/dmar.aml
#
# The kernel only looks for tables in an uncompressed cpio at the start of
# the initrd (Documentation/admin-guide/acpi/initrd_table_override.rst).
# virtme-ng builds no initramfs of its own for our kernel (9p built in, no
# modules), so this cpio is the whole initrd; were vng to build one, it
# would have to go after this cpio (cat dmar-initrd.cpio vng.img).
#
# Prints the kernel argument that E820-reserves the RMRR range, taken from
# the same .dsl: memmap=<size>$<base>.  Idempotent; safe to run twice at once.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../../.." && pwd)
OUT=$TOP/build/acpi
DSL=$HERE/dmar-rmrr.dsl

command -v iasl >/dev/null || { echo "iasl not found: run 'make deps' (acpica-tools)" >&2; exit 1; }
mkdir -p "$OUT"
tmp=$(mktemp -d "$OUT/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# iasl writes <prefix>.aml; timeout because iasl can spin on a bad table.
cp "$DSL" "$tmp/dmar.dsl"
if ! timeout 60 iasl -p "$tmp/dmar" "$tmp/dmar.dsl" > "$tmp/iasl.log" 2>&1; then
	echo "iasl failed on $DSL:" >&2
	cat "$tmp/iasl.log" >&2
	exit 1
fi
mkdir -p "$tmp/root/kernel/firmware/acpi"
cp "$tmp/dmar.aml" "$tmp/root/kernel/firmware/acpi/dmar.aml"
(cd "$tmp/root" && find kernel | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0 --reproducible) > "$tmp/dmar-initrd.cpio"

# rename(2) is atomic: a concurrent run never sees half a file.
mv -f "$tmp/dmar.aml" "$OUT/dmar.aml"
mv -f "$tmp/dmar-initrd.cpio" "$OUT/dmar-initrd.cpio"

field() { # the hex value of the RMRR's "<name> : <hex>" line in the .dsl
	sed -n "/Subtable Type *: *0001/,\$ s/.*$1 *: *\([0-9A-Fa-f]*\).*/\1/p" "$DSL" | head -n 1
}
base=$((16#$(field "Base Address")))
end=$((16#$(field "End Address (limit)")))
printf 'memmap=%#x$%#x\n' $((end + 1 - base)) "$base"
