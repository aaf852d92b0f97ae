#!/usr/bin/python3
"""Every command the READMEs show works: each line of a ```sh block of
README.md, selftests/README.md and kernel/README.md, and each `make ...`,
`iommuctl ...` and `man ...` in their text, is checked without building or
booting anything.

- make TARGET [VAR=VALUE...]: TARGET is a target of the Makefile (its
  database, 'make -p' with nothing run), KERNEL= names a series, P= a
  profile of TEST_SUITES, and any other variable is one the Makefile or the
  scripts it runs read.
- iommuctl WORDS [OPTIONS]: 'iommuctl WORDS --help' exits 0 and lists each
  option shown; a command that needs neither root nor the patched kernel
  (devices, policy test, policy load -c, --version) is run, and must exit 0.
- cd, git, man, apt (the .deb make deb makes), python3 and the repo's own
  scripts are checked for what they name.

Anything else fails: the README shows it, so this test must know how to
check it.  Also: each README exists with an sh block, the repo paths each
names exist (Documentation/ paths: in the series), and selftests/README.md
names every profile of make test."""

import fnmatch
import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
IOMMUCTL = os.path.join(TOP, "build", "iommuctl", "iommuctl")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from iommuctl_help import all_commands, help_text, options  # noqa: E402
FILES = ["README.md", "selftests/README.md", "kernel/README.md"]
# Where a variable given to make or a script may be read
VAR_SOURCES = ["Makefile", "tools/iommuctl/Makefile", "tools/deploy/Makefile",
               "kernel/scripts/*.sh", "tools/*.sh", "tools/demo/*", "bench/*.sh", "bench/*.py",
               "selftests/*.sh", "selftests/host/*.sh", "vmlib/*.sh", "debian/rules"]
# iommuctl commands run for real: no root, no patched kernel, nothing changed
RUNNABLE = {("devices",), ("policy", "test")}


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)


def placeholder(word):
    """PROFILE, NAME, DEV: a word the reader replaces."""
    return re.fullmatch(r"[A-Z][A-Z0-9_]*", word) is not None


def strip_comment(line):
    """The line up to a '#' that starts a word outside quotes, as sh reads it."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def split_commands(text):
    """Simple commands of a shell line: lists of words, split at ; && || |."""
    lex = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lex.whitespace_split = True
    lex.commenters = ""
    cmds, cur = [], []
    for tok in lex:
        if tok in (";", "&&", "||", "|", "&"):
            cmds.append(cur)
            cur = []
        else:
            cur.append(tok)
    cmds.append(cur)
    return [c for c in cmds if c]


def readme_commands(path):
    """(line number, shell text) for each command the file shows: the lines
    of its ```sh blocks (continuations joined), and the code spans of its
    text (a span may wrap) that are a `make ...`, `iommuctl ...` or `man ...`."""
    out, block, pending, start, prose = [], None, "", 0, []
    with open(path) as f:
        lines = f.read().splitlines()
    for n, line in enumerate(lines, 1):
        fence = re.match(r"^\s*```(\S*)", line)
        prose.append("" if fence or block is not None else line)
        if fence:
            block = None if block is not None else fence.group(1)
            continue
        if block == "sh":
            text = strip_comment(line).rstrip()
            if not pending:
                start = n
            if text.endswith("\\"):
                pending += text[:-1] + " "
                continue
            text, pending = pending + text, ""
            if text.strip():
                out.append((start, text.strip()))
    text = "\n".join(prose)
    for m in re.finditer(r"`([^`]+)`", text):
        words = m.group(1).split()
        while words and (words[0] == "sudo" or re.match(r"^\w+=", words[0])):
            words = words[1:]
        if len(words) >= 2 and words[0] in ("make", "iommuctl", "build/iommuctl/iommuctl", "man"):
            out.append((text.count("\n", 0, m.start()) + 1, " ".join(m.group(1).split())))
    return sorted(out)


def sh_blocks(path):
    with open(path) as f:
        return len(re.findall(r"^\s*```sh\s*$", f.read(), re.M))


class Make:
    """The Makefile's targets and variables, from its database: make -p with
    only an empty probe target asked for (-n: not even its recipe runs)."""

    def __init__(self):
        with tempfile.NamedTemporaryFile("w", suffix=".mk") as probe:
            probe.write("__readme_probe:\n\t@:\n")
            probe.flush()
            r = run(["make", "-C", TOP, "-pRrn", "-f", "Makefile", "-f", probe.name,
                     "__readme_probe"])
        self.error = "" if r.returncode == 0 else r.stderr
        self.targets, self.vars, prev = set(), {}, ""
        for line in r.stdout.splitlines():
            var = re.match(r"^([\w.]+) :?= ?(.*)$", line)
            rule = re.match(r"^([^\s#:=%][^:=]*?)::?(?!=)", line)
            if var:
                self.vars[var.group(1)] = var.group(2)
            elif rule and prev != "# Not a target:":
                self.targets.update(rule.group(1).split())
            prev = line
        self.targets = {x for x in self.targets if not x.startswith(".")} - {"__readme_probe"}
        self.default = self.vars.get(".DEFAULT_GOAL", "")
        self.suites = self.vars.get("TEST_SUITES", "").split()


def kernels():
    """The series common.sh knows: KERNEL=6.12 and KERNEL=7.2."""
    with open(os.path.join(TOP, "kernel", "scripts", "common.sh")) as f:
        return re.findall(r"^([0-9][0-9.]*)\)\s", f.read(), re.M)


def variable_read(name):
    """Whether the Makefile or a script it runs reads NAME."""
    pat = re.compile(r"\$[({]?" + re.escape(name) + r"\b|^\s*" + re.escape(name) + r"\s*[?:]?=",
                     re.M)
    for pattern in VAR_SOURCES:
        for path in glob.glob(os.path.join(TOP, pattern)):
            if os.path.isfile(path):
                with open(path, errors="replace") as f:
                    if pat.search(f.read()):
                        return True
    return False


def check_var(make, name, value):
    if name == "KERNEL":
        return (value in kernels() or placeholder(value),
                f"KERNEL={value}: the series are {', '.join(kernels())}")
    if name == "P":
        return (value in make.suites or placeholder(value),
                f"P={value} is not a profile of TEST_SUITES ({' '.join(make.suites)})")
    return variable_read(name), f"{name}= is read neither by the Makefile nor by its scripts"


def check_make(make, args, env):
    if make.error:
        return False, f"make -p failed: {make.error}"
    bad = []
    for name, value in env:
        ok, why = check_var(make, name, value)
        bad += [] if ok else [why]
    targets = []
    for a in args:
        m = re.match(r"^(\w+)=(.*)$", a)
        if m:
            ok, why = check_var(make, m.group(1), m.group(2))
            bad += [] if ok else [why]
        elif a.startswith("-"):
            if not re.fullmatch(r"-s|-k|-j[0-9]*", a):
                bad.append(f"make option {a}: this test does not know it")
        else:
            targets.append(a)
            if a not in make.targets:
                bad.append(f"'{a}' is not a target of the Makefile")
    if not targets and make.default not in make.targets:
        bad.append(f"no target, and the default goal '{make.default}' is not a target")
    return not bad, "\n".join(bad)


def resolve(word, names):
    """The command word WORD names, exact or an unambiguous prefix (as
    iommuctl's dispatch reads it), else None."""
    if word in names:
        return word
    found = [n for n in names if n.startswith(word)]
    return found[0] if len(found) == 1 else None


def check_iommuctl(args):
    if not os.access(IOMMUCTL, os.X_OK):
        return False, f"{IOMMUCTL} is not built (make tools)"
    cmds = all_commands()
    top_opts = options(help_text())
    i, words = 0, []
    while i < len(args) and args[i].startswith("-"):
        i += 1
    while i < len(args) and not args[i].startswith("-"):
        level = sorted({c.split()[len(words)] for c in cmds
                        if c.split()[:len(words)] == words and len(c.split()) > len(words)})
        if not level:
            break
        w = resolve(args[i], level)
        if w is None:
            return False, (f"iommuctl {' '.join(words + [args[i]])}: no such command, or an "
                           f"ambiguous prefix ({' '.join(['iommuctl'] + words)} has: "
                           f"{', '.join(level)})")
        words.append(w)
        i += 1
    try:
        text = help_text(*words)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    known = set(options(text)) | set(top_opts) | {"--usage"}
    bad = []
    for a in args:
        if a == "--":
            break
        if not a.startswith("-") or a == "-":
            continue
        name = a.split("=")[0] if a.startswith("--") else a[:2]
        if name not in known:
            bad.append(f"'iommuctl {' '.join(words)} --help' does not list {name}")
    if bad:
        return False, "\n".join(bad)
    runnable = (tuple(words) in RUNNABLE or not words or
                (tuple(words) == ("policy", "load") and ("-c" in args or "--check" in args)))
    if runnable and not any(placeholder(a) for a in args):
        r = run([IOMMUCTL, *args], cwd=TOP)
        if r.returncode != 0:
            return False, f"iommuctl {' '.join(args)}: exit {r.returncode}\n{r.stderr}{r.stdout}"
        return True, ""
    return True, ""


def check_cd(args):
    if len(args) != 1:
        return False, "cd takes one directory"
    d = args[0]
    ok = d in ("-", "..") or d.startswith("build/") or os.path.isdir(os.path.join(TOP, d))
    return ok, f"{d}: no such directory in the repo (nor one under build/)"


def check_git(args):
    if not args:
        return False, "git without a command"
    r = run(["git", "--list-cmds=main,others"])
    return args[0] in r.stdout.split(), f"git has no command '{args[0]}'"


def man_pages():
    """NAME -> SECTION of the pages tools/iommuctl/doc makes."""
    pages = {}
    for path in glob.glob(os.path.join(TOP, "tools", "iommuctl", "doc", "*.rst")):
        name, section = os.path.basename(path)[:-len(".rst")].rsplit(".", 1)
        pages[name] = section
    return pages


def check_man(args):
    pages = man_pages()
    if args[:1] == ["-l"] and len(args) == 2:
        page = os.path.basename(args[1])
        if args[1].startswith("build/iommuctl/man/") and page.rsplit(".", 1)[0] in pages:
            return (os.path.isfile(os.path.join(TOP, args[1])),
                    f"{args[1]} is not built (make tools)")
        return False, f"man -l {args[1]}: not a page make tools builds"
    rest = [a for a in args if a != "-w"]
    section = rest.pop(0) if len(rest) == 2 and rest[0].isdigit() else None
    if len(rest) != 1:
        return False, "man [-w] [SECTION] NAME or man -l PATH"
    name = rest[0]
    return (name in pages and section in (None, pages.get(name)),
            f"man {' '.join(args)}: tools/iommuctl/doc has {sorted(pages.items())}")


def check_apt(args):
    if not args or args[0] != "install" or len(args) < 2:
        return False, "apt: only 'apt install ./build/deb/...deb' is known here"
    with open(os.path.join(TOP, "VERSION")) as f:
        version = f.read().strip()
    with open(os.path.join(TOP, "tools", "deb.sh")) as f:
        makes = "iommu-bpf_${version}_amd64.deb" in f.read()
    deb = f"./build/deb/iommu-bpf_{version}_amd64.deb"
    bad = [a for a in args[1:] if not a.startswith("-") and not fnmatch.fnmatch(deb, a)]
    return (makes and not bad,
            f"make deb (tools/deb.sh) makes {deb}, which {' '.join(bad) or 'it'} does not name")


def main_py_options():
    with open(os.path.join(TOP, "selftests", "vm", "main.py")) as f:
        return set(re.findall(r"""["'](--?[\w-]+)["']""",
                              "\n".join(re.findall(r"add_argument\(([^)]*)\)", f.read()))))


def check_script(make, path, args):
    full = os.path.join(TOP, path)
    if not (os.path.isfile(full) and os.access(full, os.X_OK)):
        return False, f"{path} is not an executable file of the repo"
    words = [a for a in args if not a.startswith("-")]
    if path == "selftests/run.sh":
        bad = [a for a in words if a not in make.suites and not placeholder(a)]
        return not bad, f"not profiles of TEST_SUITES: {' '.join(bad)}"
    if path == "selftests/run-vm.sh":
        vm = [s for s in make.suites if s not in ("host", "boot")]
        bad = [] if args and (args[0] in vm or placeholder(args[0])) else \
            [f"{args[0] if args else '(none)'} is not a VM profile"]
        opts = main_py_options()
        bad += [f"selftests/vm/main.py has no option {a}" for a in args[1:]
                if a.startswith("-") and a.split("=")[0] not in opts]
        return not bad, "\n".join(bad)
    if path == "selftests/mutations/run.sh":
        bad = [a for a in words if not placeholder(a) and
               not os.path.isfile(os.path.join(TOP, "selftests", "mutations", a + ".patch"))]
        return not bad, f"no selftests/mutations/NAME.patch for {' '.join(bad)}"
    return True, ""


def check_command(make, words):
    """(ok, why) for one simple command."""
    env = []
    while words and re.match(r"^\w+=", words[0]):
        name, value = words[0].split("=", 1)
        env.append((name, value))
        words = words[1:]
    if words[:1] == ["sudo"]:
        words = words[1:]
    if not words:
        bad = [why for ok, why in (check_var(make, n, v) for n, v in env) if not ok]
        return not bad, "\n".join(bad)
    cmd, args = words[0], words[1:]
    if env and cmd != "make":
        bad = [f"{n}= is read neither by the Makefile nor by its scripts"
               for n, _ in env if not variable_read(n)]
        if bad:
            return False, "\n".join(bad)
    if cmd == "make":
        return check_make(make, args, env)
    if cmd in ("iommuctl", "build/iommuctl/iommuctl"):
        return check_iommuctl(args)
    if cmd == "cd":
        return check_cd(args)
    if cmd == "git":
        return check_git(args)
    if cmd == "man":
        return check_man(args)
    if cmd in ("apt", "apt-get"):
        return check_apt(args)
    if cmd in ("python3", "/usr/bin/python3"):
        return (bool(args) and os.path.isfile(os.path.join(TOP, args[0])),
                f"python3 {' '.join(args)}: no such file in the repo")
    if "/" in cmd and not cmd.startswith(("/", "build/", "$")):
        return check_script(make, cmd, args)
    return False, f"the README shows '{' '.join(words)}', which this test does not know " \
                  f"how to check"


def checked(make, words):
    """check_command, an exception (a timeout, a file that cannot be read)
    being a failure of that command"""
    try:
        return check_command(make, words)
    except (OSError, RuntimeError, subprocess.SubprocessError, ValueError) as e:
        return False, f"{' '.join(words)}: {e}"


def named_paths(path):
    """Repo paths a README names in code spans: those whose first component
    is a top-level entry of the repo, or Documentation/ (the series')."""
    tops = {e for e in os.listdir(TOP) if e not in ("build", ".git")} | {"Documentation"}
    with open(path) as f:
        text = re.sub(r"^\s*```.*?^\s*```", "", f.read(), flags=re.M | re.S)
    found = []
    for span in re.findall(r"`([^`\s]+)`", text):
        if "/" in span and span.split("/")[0] in tops and re.fullmatch(r"[\w.*/+-]+", span):
            found.append(span)
    return sorted(set(found))


def series_adds(path):
    for patch in glob.glob(os.path.join(TOP, "kernel", "patches", "*.patch")):
        with open(patch, errors="replace") as f:
            if f"+++ b/{path.rstrip('/')}" in f.read():
                return True
    return False


def main():
    make = Make()
    present = [f for f in FILES if os.path.isfile(os.path.join(TOP, f))]
    cmds = {}   # command text -> (where, ok, why), first place shown
    for rel in present:
        for line, text in readme_commands(os.path.join(TOP, rel)):
            try:
                simple = split_commands(text)
            except ValueError as e:
                simple, err = [], str(e)
            key = " ".join(text.split())
            if key in cmds:
                continue
            if not simple:
                cmds[key] = (f"{rel}:{line}", False, f"does not parse as sh: {err}")
                continue
            results = [checked(make, words) for words in simple]
            bad = [why for ok, why in results if not ok]
            cmds[key] = (f"{rel}:{line}", not bad, "\n".join(bad))
    print(f"1..{2 * len(FILES) + 1 + len(cmds)}", flush=True)
    fails = 0

    def t(name, ok, why=""):
        nonlocal fails
        print(f"{'ok' if ok else 'not ok'} - host: readme: {name}", flush=True)
        if not ok:
            fails += 1
            for line in why.strip().splitlines()[:20]:
                print(f"# {line}")

    for rel in FILES:
        path = os.path.join(TOP, rel)
        if rel not in present:
            t(f"{rel} exists and shows its commands in sh blocks", False, f"no {rel}")
            t(f"the repo paths {rel} names exist", False, f"no {rel}")
            continue
        t(f"{rel} exists and shows its commands in sh blocks", sh_blocks(path) > 0,
          "no ```sh block")
        missing = [p for p in named_paths(path)
                   if not (series_adds(p) if p.startswith("Documentation/")
                           else glob.glob(os.path.join(TOP, p)))]
        t(f"the repo paths {rel} names exist", not missing,
          "\n".join(f"{p}: no such file or directory" +
                    (" in the series (kernel/patches)" if p.startswith("Documentation/") else "")
                    for p in missing))
    tests_readme = os.path.join(TOP, "selftests", "README.md")
    text = open(tests_readme).read() if os.path.isfile(tests_readme) else ""
    missing = [s for s in make.suites if f"`{s}`" not in text]
    t("selftests/README.md names every profile of make test (TEST_SUITES)",
      bool(make.suites) and not missing,
      f"not named: {' '.join(missing)}" if make.suites else "no TEST_SUITES in the Makefile")
    for key, (where, ok, why) in cmds.items():
        t(f"{where}: {key}", ok, why)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
