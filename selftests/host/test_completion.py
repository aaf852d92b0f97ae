#!/usr/bin/python3
"""iommuctl's bash completion, sourced in 'bash --norc' and driven as
readline would (COMP_LINE, COMP_POINT, COMP_WORDS, COMP_CWORD): it offers
every command iommuctl's help lists and every option each one's help does,
device names from a fixture sysfs, pins, rules files and objects from a
temporary directory."""

import os
import re
import shlex
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN = os.path.join(TOP, "build", "iommuctl")
sys.path.insert(0, os.path.dirname(__file__))
from iommuctl_help import commands, help_text  # noqa: E402
COMPLETION = os.path.join(TOP, "tools", "iommuctl", "bash-completion", "iommuctl")

# Readline's split: COMP_WORDBREAKS has ':' and '=', so 0000:00:03.0 is 5
# words; the last is what COMPREPLY replaces.
DRIVER = r"""
. "$COMPLETION" || exit 1
COMP_LINE=$1 COMP_POINT=${#1}
COMP_WORDS=() w=""
for ((i = 0; i < ${#1}; i++)); do
	ch=${1:i:1}
	case $ch in
	' ') [ -n "$w" ] && COMP_WORDS+=("$w"); w="" ;;
	[:=]) [ -n "$w" ] && COMP_WORDS+=("$w"); COMP_WORDS+=("$ch"); w="" ;;
	*) w+=$ch ;;
	esac
done
COMP_WORDS+=("$w")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_iommuctl
printf '%s\n' "${COMPREPLY[@]}"
"""


def complete(line, env=None):
    e = dict(os.environ, PATH=BIN + ":" + os.environ["PATH"], COMPLETION=COMPLETION)
    e.pop("IOMMUCTL_SYSFS_ROOT", None)
    e.update(env or {})
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", DRIVER, "bash", line],
                       capture_output=True, text=True, env=e)
    return [w for w in r.stdout.splitlines() if w], r.stderr


def main():
    cmds = commands(help_text())
    words = sorted({c.split()[0] for c in cmds})
    tmp = tempfile.mkdtemp()
    # a fixture sysfs: groups 3 and 7, a PCI device and a platform one
    root = os.path.join(tmp, "root")
    for group, dev in (("3", "0000:00:03.0"), ("7", "0000:00:04.0"), ("7", "pm8001")):
        d = os.path.join(root, "sys", "kernel", "iommu_groups", group, "devices")
        os.makedirs(d, exist_ok=True)
        os.symlink("../../../../devices/" + dev, os.path.join(d, dev))
    files = os.path.join(tmp, "files")
    os.makedirs(os.path.join(files, "sub"))
    for f in ("pin", "rules", "table.bpf.o", "notes.txt"):
        open(os.path.join(files, f), "w").close()
    sysfs = {"IOMMUCTL_SYSFS_ROOT": root}

    cases = [
        ("the completion registers for iommuctl", None, None),
        ("'iommuctl ' offers every command word of iommuctl --help",
         "iommuctl ", lambda r: set(words) <= set(r)),
        ("'iommuctl tr' completes to trace", "iommuctl tr", lambda r: r == ["trace"]),
        ("'iommuctl trace l' completes to latency", "iommuctl trace l", lambda r: r == ["latency"]),
        ("'iommuctl tr l --' takes prefixes: latency's options",
         "iommuctl tr l --", lambda r: "--per-device" in r),
        ("'iommuctl top -s unmap_' offers top's unmap columns",
         "iommuctl top -s unmap_", lambda r: sorted(r) == ["unmap_p50", "unmap_p99"]),
        ("'iommuctl metrics -t DIR/' offers directories only",
         f"iommuctl metrics -t {files}/", lambda r: r == [f"{files}/sub"]),
        ("'iommuctl -' offers the global options", "iommuctl -",
         lambda r: {"-j", "--json", "-p", "--pretty", "-v", "-V", "--version"} <= set(r)),
        ("'iommuctl trace latency -o dma_map,dom' completes the list's last element",
         "iommuctl trace latency -o dma_map,dom",
         lambda r: sorted(r) == ["dma_map,domain_map", "dma_map,domain_unmap"]),
        ("'iommuctl policy load -P DIR/' offers the files there",
         f"iommuctl policy load -P {files}/p", lambda r: r == [f"{files}/pin"]),
        ("'iommuctl policy load -P ' starts in /sys/fs/bpf",
         "iommuctl policy load -P ", lambda r: r and all(p.startswith("/sys/fs/bpf/") for p in r)),
        ("'iommuctl policy load -r DIR/r' offers the rules file",
         f"iommuctl policy load -r {files}/r", lambda r: r == [f"{files}/rules"]),
        ("'iommuctl policy replace DIR/' offers *.o and directories, not other files",
         f"iommuctl policy replace {files}/",
         lambda r: sorted(r) == [f"{files}/sub", f"{files}/table.bpf.o"]),
        ("'iommuctl policy explain ' offers the devices of iommu_groups",
         "iommuctl policy explain ", lambda r: sorted(r) == ["0000:00:03.0", "0000:00:04.0", "pm8001"]),
        ("'iommuctl policy test -r R 0000:00:0' completes after the last ':'",
         "iommuctl policy test -r R 0000:00:0", lambda r: sorted(r) == ["03.0", "04.0"]),
        ("'iommuctl trace flush -d ' offers devices", "iommuctl trace flush -d ",
         lambda r: "pm8001" in r and "0000:00:03.0" in r),
        ("'iommuctl trace events --device=0000:00:04' completes the value",
         "iommuctl trace events --device=0000:00:04", lambda r: r == ["04.0"]),
        ("'iommuctl policy apply --rebind p' offers devices", "iommuctl policy apply --rebind p",
         lambda r: r == ["pm8001"]),
        ("'iommuctl -j policy explain 0000:00:03.0 ' takes one device only",
         "iommuctl -j policy explain 0000:00:03.0 ", lambda r: r == []),
    ]
    for word in words:
        subs = [c.split()[1] for c in cmds if c.startswith(word + " ")]
        if subs:
            cases.append((f"'iommuctl {word} ' offers every command of iommuctl {word} --help",
                          f"iommuctl {word} ", lambda r, subs=subs: sorted(r) == sorted(subs)))
    for cmd in cmds:
        want = {m for m in re.findall(r"(?<![\w-])--[\w-]+", "\n".join(
            line for line in help_text(*cmd.split()).splitlines() if re.match(r"^ +-", line)))}
        cases.append((f"'iommuctl {cmd} --' offers each long option of its --help",
                      f"iommuctl {cmd} --", lambda r, want=want: want <= set(r)))

    print(f"1..{len(cases)}", flush=True)
    fails = 0
    for name, line, check in cases:
        if line is None:
            r = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                                f". {shlex.quote(COMPLETION)} && complete -p iommuctl"],
                               capture_output=True, text=True)
            ok = r.stdout.strip() == "complete -F _iommuctl iommuctl"
            got, err = [r.stdout.strip()], r.stderr
        else:
            got, err = complete(line, sysfs)
            ok = bool(check(got)) and not err
        print(f"{'ok' if ok else 'not ok'} - host: iommuctl completion: {name}", flush=True)
        if not ok:
            fails += 1
            print(f"# got {got}")
            for e in err.splitlines()[:5]:
                print(f"# stderr: {e}")
    subprocess.run(["rm", "-rf", tmp])
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
