#!/usr/bin/python3
"""What the vendored bpf/vmlinux/x86_64/vmlinux.h must guarantee, checked
against a built kernel's BTF.

The BPF programs are CO-RE: a member of a kernel type is relocated at load
time, so the rest of the kernel (struct device, the IOVA allocator, ...)
may differ between the header and the kernel, and it does every time
Debian uploads a new 6.12.y.  What cannot be relocated is what the series
itself defines: the struct_ops (its members are the hooks, in order), the
verdict, flag and reason enums the policies return and compare with, the
exit record.  Those must be the series' own, member for member.  So: every
struct, union and enum a patch of the series adds, as the kernel's BTF has
it (bpftool's C dump), must be in the header and read the same.

  check_vmlinux_h.py BPFTOOL KERNEL_BTF VMLINUX_H PATCHES_DIR

Exit 0 when they agree; otherwise say which types differ and how, and that
'make vendor-headers' refreshes the header.
"""

import difflib
import os
import re
import subprocess
import sys

# A definition as bpftool's C dump writes it: "struct x {" at column 0 to
# the first "};" at column 0 (nested anonymous types are indented).
BLOCK = re.compile(r"^((?:struct|union|enum) (\w+)) \{\n.*?^\};\n", re.M | re.S)
# What a patch adds: "+struct x {" (a definition, not a declaration)
ADDED = re.compile(r"^\+((?:struct|union|enum) \w+) \{", re.M)


def definitions(text):
    """{"struct x": its text} for every named definition in a C dump."""
    return {m[1]: m[0] for m in BLOCK.finditer(text)}


def series_types(patches):
    names = set()
    for p in sorted(os.listdir(patches)):
        if p.endswith(".patch"):
            with open(os.path.join(patches, p), encoding="utf-8") as f:
                names.update(ADDED.findall(f.read()))
    return names


def main():
    if len(sys.argv) != 5:
        print("usage: check_vmlinux_h.py BPFTOOL KERNEL_BTF VMLINUX_H PATCHES_DIR",
              file=sys.stderr)
        return 2
    bpftool, btf, header, patches = sys.argv[1:]
    dump = subprocess.run([bpftool, "btf", "dump", "file", btf, "format", "c"],
                          capture_output=True, text=True, check=True).stdout
    kernel = definitions(dump)
    with open(header, encoding="utf-8") as f:
        vendored = definitions(f.read())
    wanted = series_types(patches)
    # A type the series adds but this kernel's BTF lacks is not used by
    # anything built into it (a mock of a module): nothing to compare.
    checked = sorted(t for t in wanted if t in kernel)
    if not checked:
        print(f"none of the {len(wanted)} types the series adds is in {btf}")
        return 1
    bad = 0
    for t in checked:
        if t not in vendored:
            print(f"{t}: in the kernel's BTF, not in {header}")
            bad += 1
        elif vendored[t] != kernel[t]:
            print(f"{t} differs (- vendored, + kernel):")
            sys.stdout.writelines(difflib.unified_diff(
                vendored[t].splitlines(True), kernel[t].splitlines(True), n=1))
            bad += 1
    if bad:
        print(f"{bad} of the series' {len(checked)} types differ: run 'make vendor-headers'")
        return 1
    print(f"the series' {len(checked)} types read the same in the kernel's BTF and the header")
    return 0


if __name__ == "__main__":
    sys.exit(main())
