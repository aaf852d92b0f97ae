"""make bench's marker instruction (bench/insn_mark.h), executed by this
Python process itself: a window around an ioctl holds the ioctl and a few
bytecodes, not a helper's fork and exec (bench/insn_mark.c is the helper,
for windows around another program: insn_mark run ID -- COMMAND).

Each marker is 9 bytes of code and a RET in an anonymous page, written
while the page is writable, then made read-only and executable, and called
through ctypes.  On a CPU without the plugin it is a NOP."""

import ctypes
import mmap
import os
import re

_HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "insn_mark.h")


def _constants():
    """INSN_MARK_MAGIC and INSN_MARK_ID_MAX from the header: one encoding
    for the plugin, the C marker and this."""
    with open(_HEADER) as f:
        text = f.read()
    magic = int(re.search(r"#define INSN_MARK_MAGIC\s+(0x[0-9a-fA-F]+)", text)[1], 16)
    id_max = int(re.search(r"#define INSN_MARK_ID_MAX\s+(\d+)", text)[1])
    return magic, id_max


MAGIC, ID_MAX = _constants()
PREFIX = bytes((0x66, 0x0F, 0x1F, 0x84, 0x00))
SLOT = 16


def disp(wid, stop):
    return MAGIC << 16 | wid << 1 | int(stop)


def code(wid, stop):
    """The marker's bytes, then RET."""
    return PREFIX + disp(wid, stop).to_bytes(4, "little") + b"\xc3"


class Markers:
    """Start and stop markers of window ids known in advance, in one page."""

    def __init__(self, ids):
        ids = sorted(set(ids))
        if any(not 0 <= i <= ID_MAX for i in ids):
            raise ValueError(f"window ids are 0..{ID_MAX}: {ids}")
        size = -(-2 * SLOT * max(len(ids), 1) // mmap.PAGESIZE) * mmap.PAGESIZE
        self._page = mmap.mmap(-1, size, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        for n, i in enumerate(ids):
            for stop in (0, 1):
                off = (2 * n + stop) * SLOT
                self._page[off:off + 10] = code(i, stop)
        base = ctypes.addressof(ctypes.c_char.from_buffer(self._page))
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        if libc.mprotect(base, size, mmap.PROT_READ | mmap.PROT_EXEC):
            raise OSError(ctypes.get_errno(), "mprotect of the markers' page")
        proto = ctypes.CFUNCTYPE(None)
        self._fn = {(i, stop): proto(base + (2 * n + stop) * SLOT)
                    for n, i in enumerate(ids) for stop in (0, 1)}

    def start(self, wid):
        self._fn[wid, 0]()

    def stop(self, wid):
        self._fn[wid, 1]()

    def window(self, wid, fn, *args, **kwargs):
        """fn(*args, **kwargs) between window wid's markers; its result."""
        self.start(wid)
        try:
            return fn(*args, **kwargs)
        finally:
            self.stop(wid)
