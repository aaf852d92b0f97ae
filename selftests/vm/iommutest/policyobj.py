"""Copies of a BPF policy object with its struct iommu_policy_ops changed in
the ELF, as a policy built elsewhere might have it: a name, flags or
callbacks the kernel refuses, which iommuctl itself cannot make.  Used on
the host (selftests/host/test_iommuctl_cli.py) and in the VM
(test_iommuctl_policy.py); bad input raises ValueError."""

import struct
import tempfile


def elf_sections(blob):
    """{name: (header offset, data offset, size)} of an ELF64 little-endian file."""
    if blob[:4] != b"\x7fELF" or blob[4] != 2 or blob[5] != 1:
        raise ValueError("not an ELF64 little-endian file")
    shoff, = struct.unpack_from("<Q", blob, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", blob, 0x3a)
    hdrs = []
    for i in range(shnum):
        h = shoff + i * shentsize
        name, _, _, _, off, size = struct.unpack_from("<IIQQQQ", blob, h)
        hdrs.append((name, h, off, size))
    strtab = hdrs[shstrndx][2]
    out = {}
    for name, h, off, size in hdrs:
        end = blob.index(b"\0", strtab + name)
        out[blob[strtab + name:end].decode()] = (h, off, size)
    return out


def patched_policy(src, old_name, dst=None, name=None, flags=None, no_callbacks=False):
    """Copy the policy object src, whose struct iommu_policy_ops is named
    old_name, to dst (None: a new temporary file, the caller removes it) with
    that struct changed: its name (bytes, at most 32, NUL-padded), its flags,
    or, with no_callbacks, no program in any callback (the .struct_ops.link
    relocations dropped: libbpf opens such an object, it cannot load it).
    Returns the copy's path."""
    with open(src, "rb") as f:
        blob = bytearray(f.read())
    secs = elf_sections(blob)
    if ".struct_ops.link" not in secs:
        raise ValueError(f"{src}: no .struct_ops.link section")
    _, off, size = secs[".struct_ops.link"]
    at = blob.find(old_name.encode() + b"\0", off, off + size)
    # struct iommu_policy_ops ends with "u64 flags; char name[32];"
    if at < 0 or (at - off) % 8 or at + 32 > off + size or blob[at - 8:at] != bytes(8):
        raise ValueError(f"{src}: no struct iommu_policy_ops named {old_name}")
    if name is not None:
        if len(name) > 32:
            raise ValueError(f"name {name!r} is longer than the member")
        blob[at:at + 32] = name.ljust(32, b"\0")
    if flags is not None:
        struct.pack_into("<Q", blob, at - 8, flags)
    if no_callbacks:
        if ".rel.struct_ops.link" not in secs:
            raise ValueError(f"{src}: no .rel.struct_ops.link section")
        h, _, _ = secs[".rel.struct_ops.link"]
        struct.pack_into("<Q", blob, h + 32, 0)       # sh_size: no relocations
    if dst is None:
        with tempfile.NamedTemporaryFile("wb", prefix="policy-", suffix=".bpf.o",
                                         delete=False) as f:
            f.write(blob)
        return f.name
    with open(dst, "wb") as f:
        f.write(blob)
    return dst
