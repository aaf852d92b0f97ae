"""kernel/dma/map_benchmark.c: real map/unmap traffic from a kernel thread
through the device's DMA ops, driven by its debugfs ioctl."""

import fcntl
import os
import struct

DEBUGFS = "/sys/kernel/debug"
NODE = f"{DEBUGFS}/dma_map_benchmark"

# struct map_benchmark (include/linux/map_benchmark.h): 4 x u64 results,
# threads, seconds, node, dma_bits, dma_dir, dma_trans_ns, granule, 76 bytes.
FMT = "<4QIIiIIII76x"
SIZE = struct.calcsize(FMT)
assert SIZE == 136
DMA_MAP_BENCHMARK = (3 << 30) | (SIZE << 16) | (ord("d") << 8) | 1


def mount_debugfs():
    if not os.path.exists(f"{DEBUGFS}/dma_map_benchmark") and \
            not os.listdir(DEBUGFS):
        os.system(f"mount -t debugfs nodev {DEBUGFS}")


def run(seconds=1, threads=1, granule=1, dma_dir=0, dma_bits=32):
    """Run the benchmark; returns (avg map ns, avg unmap ns)."""
    mount_debugfs()
    if not os.path.exists(NODE):
        raise RuntimeError(f"{NODE} missing: is a device bound to dma_map_benchmark?")
    buf = bytearray(struct.pack(FMT, 0, 0, 0, 0, threads, seconds, -1,
                                dma_bits, dma_dir, 0, granule))
    fd = os.open(NODE, os.O_RDWR)
    try:
        fcntl.ioctl(fd, DMA_MAP_BENCHMARK, buf, True)
    finally:
        os.close(fd)
    avg_map, _, avg_unmap, _ = struct.unpack(FMT, bytes(buf))[:4]
    return avg_map * 100, avg_unmap * 100
