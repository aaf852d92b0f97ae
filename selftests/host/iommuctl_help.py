"""What iommuctl's own help says: its commands and each one's options, read
from --help, so that tests of the man page, the completion and the CLI
follow the binary rather than a list of their own."""

import os
import re
import subprocess

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IOMMUCTL = os.path.join(TOP, "build", "iommuctl", "iommuctl")


def help_text(*words):
    """iommuctl WORDS --help; it must succeed."""
    r = subprocess.run([IOMMUCTL, *words, "--help"], capture_output=True, text=True,
                       timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"iommuctl {' '.join(words)} --help: exit {r.returncode}")
    return r.stdout


def commands(text):
    """The names under 'Commands:' ("devices", "trace latency", ...)."""
    names, on = [], False
    for line in text.splitlines():
        if line == "Commands:":
            on = True
        elif on and not line:
            break
        elif on and re.match(r"^  \S", line):
            names.append(re.split(r"\s{2,}", line.strip())[0])
    return names


def all_commands():
    """Every command of 'iommuctl --help', and of 'iommuctl WORD --help' for
    each word that has commands of its own."""
    top = commands(help_text())
    found = list(top)
    for word in sorted({c.split()[0] for c in top if " " in c}):
        found += [f"{word} {c}" for c in commands(help_text(word)) if f"{word} {c}" not in found]
    return found


def options(text):
    """Every option an argp help lists: '-d, --device=DEV' gives -d and --device."""
    opts = []
    for line in text.splitlines():
        if not re.match(r"^ +-", line):
            continue
        for w in line.split():
            w = w.rstrip(",")
            if not w.startswith("-"):
                break
            opts.append(w.split("=")[0])
    return opts
