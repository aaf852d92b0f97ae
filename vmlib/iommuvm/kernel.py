"""The running kernel, for the few checks whose expected outcome changed
upstream between the two kernels the series is tested on (6.12, 7.2)."""

import os
import re


def version():
    """(major, minor) of the running kernel."""
    return tuple(int(x) for x in re.match(r"(\d+)\.(\d+)", os.uname().release).groups())


def mainline():
    """The mainline series (7.2 and later), not its 6.12 backport."""
    return version() > (6, 12)
