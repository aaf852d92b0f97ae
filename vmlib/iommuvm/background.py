"""A tracer running in the background while something makes DMA traffic:
iommuctl, bpftrace, ...  Ready once it says so on stderr."""

import os
import subprocess
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IOMMUCTL = os.path.join(TOP, "build", "iommuctl", "iommuctl")


class Background:
    def __init__(self, argv, ready="Tracing", stdout=subprocess.PIPE, timeout=60):
        self.argv = argv
        self.p = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, text=True)
        self.early = ""     # stderr up to the ready line (notices come first)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.p.stderr.readline()
            self.early += line
            if ready in line:
                return
            if not line:
                break
        rest = self.p.stderr.read() if self.p.poll() is not None else ""
        raise RuntimeError(f"{' '.join(argv)} did not start: {self.early}{rest}")

    def wait(self, timeout=120):
        """(stdout, stderr) once it exits by itself; it must exit 0."""
        out, err = self.p.communicate(timeout=timeout)
        err = self.early + err
        if self.p.returncode != 0:
            raise RuntimeError(f"{' '.join(self.argv)} exited {self.p.returncode}: {err}")
        return out, err

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=60)


def iommuctl(*args):
    """iommuctl in the background."""
    return Background([IOMMUCTL, *args])
