"""The kernel log through /dev/kmsg: the whole buffer, or only what was
logged since a point (for 'did this operation make the kernel say X')."""

import errno
import os


def _records(fd):
    out = []
    while True:
        try:
            rec = os.read(fd, 8192)
        except OSError as e:
            if e.errno == errno.EAGAIN:     # nothing more
                return out
            if e.errno == errno.EPIPE:      # overwritten under us: go on
                continue
            raise
        # "prio,seq,usec,flags;text\n" then optional " KEY=val" lines
        out.append(rec.decode("utf-8", errors="replace")
                   .split("\n", 1)[0].split(";", 1)[-1])


def lines():
    """Every message still in the log buffer, oldest first."""
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    try:
        return _records(fd)
    finally:
        os.close(fd)


class Since:
    """with Since() as k: ...; k.lines() is what the kernel logged since
    the with (or since the previous k.lines())."""

    def __enter__(self):
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)
        return self

    def lines(self):
        return _records(self.fd)

    def __exit__(self, *exc):
        os.close(self.fd)
