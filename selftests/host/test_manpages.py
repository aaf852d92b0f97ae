#!/usr/bin/python3
"""The man pages render without a warning, and iommuctl(8) documents every
command iommuctl's help lists and every option each command's --help
prints: a command or an option added without its man entry fails here."""

import os
import re
import subprocess
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
IOMMUCTL = os.path.join(TOP, "build", "iommuctl", "iommuctl")
sys.path.insert(0, os.path.dirname(__file__))
from iommuctl_help import all_commands, help_text, options  # noqa: E402
MAN = os.path.join(TOP, "build", "iommuctl", "man")
PAGES = ["iommuctl.8", "iommu-policy.rules.5"]


def run(*args, env=None):
    return subprocess.run(args, capture_output=True, text=True, env=env)


def rendered(page):
    """The page as plain text, one line per paragraph (no breaks, so no
    hyphenation), split into its sections and subsections by title."""
    r = run("groff", "-man", "-Tascii", "-rLL=4000n", "-P-cbou", os.path.join(MAN, page))
    sections, title = {}, ""
    for line in r.stdout.splitlines():
        m = re.match(r"^(\S.*|   \S.*)$", line)
        if m and not line.startswith(page.split(".")[0].upper()):
            title = line.strip()
            sections.setdefault(title, [])
        else:
            sections.setdefault(title, []).append(line)
    return sections


def mentions(lines, opt):
    pat = re.compile(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])")
    return any(pat.search(line) for line in lines)


def main():
    out = run("make", "-s", "-C", os.path.join(TOP, "tools", "iommuctl"), "man")
    cmds = all_commands()
    # per page: man -l and groff warnings; per command: its entry; SYNOPSIS
    print(f"1..{2 * len(PAGES) + len(cmds) + 1}", flush=True)
    fails = 0

    def t(name, ok, why=""):
        nonlocal fails
        print(f"{'ok' if ok else 'not ok'} - host: iommuctl man: {name}", flush=True)
        if not ok:
            fails += 1
            for line in why.strip().splitlines()[:20]:
                print(f"# {line}")

    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MAN_DISABLE_SECCOMP="1")
    for page in PAGES:
        path = os.path.join(MAN, page)
        if out.returncode or not os.path.exists(path):
            t(f"{page} renders with man -l, no warning", False, out.stderr or "not built")
            t(f"{page} is clean under groff -ww", False, "not built")
            continue
        r = run("man", "--warnings=w", "-l", path, env=env)
        t(f"{page} renders with man -l, no warning",
          r.returncode == 0 and not r.stderr and len(r.stdout) > 1000, r.stderr)
        r = run("groff", "-ww", "-z", "-man", path)
        t(f"{page} is clean under groff -ww", r.returncode == 0 and not r.stderr, r.stderr)

    sections = rendered("iommuctl.8")
    glob = sections.get("GLOBAL OPTIONS", [])
    for cmd in cmds:
        body = sections.get(cmd)
        if body is None:
            t(f"iommuctl(8) has an entry for '{cmd}' with each of its options", False,
              f"no subsection titled '{cmd}' (under COMMANDS)")
            continue
        # an option of its own is an item of the command's option list (a
        # line of its own); the common ones (-j, --help...) are global
        items = [line for line in body if re.match(r"^ {7}-", line)]
        missing = [o for o in options(help_text(*cmd.split()))
                   if not mentions(items, o) and not mentions(glob, o)]
        t(f"iommuctl(8) has an entry for '{cmd}' with each of its options", not missing,
          f"'iommuctl {cmd} --help' lists {', '.join(missing)}, its man entry does not")
    synopsis = " ".join(sections.get("SYNOPSIS", []))
    missing = [c for c in cmds if f"iommuctl {c}" not in " ".join(synopsis.split())]
    missing += [o for o in options(help_text()) if not mentions(glob, o)]
    t("iommuctl(8)'s SYNOPSIS has every command, GLOBAL OPTIONS every global option",
      not missing, f"missing: {', '.join(missing)}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
