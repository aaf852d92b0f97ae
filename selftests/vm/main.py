#!/usr/bin/python3
"""Entry point of the VM test suite: runs inside virtme-ng, as root, on the
patched kernel.  Writes TAP to <out>/results.tap (and stdout).

    main.py --profile intel|virtio --out DIR [--golden-out DIR] [-k NAME]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from iommutest.tap import Tap  # noqa: E402
import test_iommuctl  # noqa: E402
import test_tracepoints  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", required=True, choices=["intel", "virtio", "mock", "stock"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--golden-out", help="write event formats here and exit")
    ap.add_argument("-k", dest="only", help="run tests whose name has this")
    args = ap.parse_args()

    if args.golden_out:
        test_tracepoints.write_formats(args.golden_out)
        return 0

    tap = Tap(os.path.join(args.out, "results.tap"), args.profile)
    tap.diag(f"kernel {os.uname().release}, profile {args.profile}")
    suite = test_tracepoints.tests(args.profile) + test_iommuctl.tests(args.profile)
    for name, fn in suite:
        if args.only and args.only not in name:
            continue
        tap.run(name, fn)
    tap.done()
    return 0


if __name__ == "__main__":
    sys.exit(main())
