"""ftrace through tracefs: a private trace instance per user (a test, the
demo, the benchmark), events of the iommu system, and the trace parsed
into records."""

import os
import re

TRACEFS = "/sys/kernel/tracing"

# "  task-123  [001] d..1.  12.345678: event: k=v k=v"
LINE = re.compile(r"^\s*(?P<task>.*?)-(?P<pid>\d+)\s+\[(?P<cpu>\d+)\]\s+\S+\s+"
                  r"(?P<ts>\d+\.\d+):\s+(?P<event>\w+):\s?(?P<body>.*)$")
FIELD = re.compile(r"(\w+)=(\S*)")


def mount():
    if not os.path.exists(os.path.join(TRACEFS, "events")):
        os.makedirs(TRACEFS, exist_ok=True)
        os.system(f"mount -t tracefs nodev {TRACEFS}")
    if not os.path.exists(os.path.join(TRACEFS, "events")):
        raise RuntimeError("tracefs is not available")


class Record:
    __slots__ = ("event", "cpu", "ts", "f", "body")

    def __init__(self, event, cpu, ts, body):
        self.event, self.cpu, self.ts, self.body = event, cpu, ts, body
        self.f = dict(FIELD.findall(body))

    def int(self, key):
        return int(self.f[key], 0)

    def __repr__(self):
        return f"{self.event}@{self.cpu}/{self.ts} {self.f}"


def parse(text, events=(), limit=None):
    """Records of text (of events, if named), the first limit of them if
    given: under TCG a record takes about a millisecond to parse, and a
    1 s benchmark traces about 10^5."""
    out = []
    marks = tuple(f" {e}: " for e in events)
    for line in text.splitlines():
        if line.startswith("#") or (marks and not any(m in line for m in marks)):
            continue
        m = LINE.match(line)
        if not m or (events and m["event"] not in events):
            continue
        out.append(Record(m["event"], int(m["cpu"]), float(m["ts"]),
                          m["body"]))
        if limit is not None and len(out) == limit:
            break
    return out


def by(recs, event, **match):
    """Records of one event whose fields equal the given values."""
    return [r for r in recs if r.event == event and
            all(r.f.get(k) == str(v) for k, v in match.items())]


class Trace:
    """A trace instance of its own, so tests never see each other's events."""

    def __init__(self, name="iommu_selftest", buffer_kb=16384):
        mount()
        self.dir = os.path.join(TRACEFS, "instances", name)
        if os.path.exists(self.dir):
            os.rmdir(self.dir)
        os.mkdir(self.dir)
        self._w("buffer_size_kb", str(buffer_kb))
        # Keep the first events when the buffer fills: a test then sees a
        # contiguous window starting where it began.
        self._w("options/overwrite", "0")
        self._w("tracing_on", "0")

    def _w(self, rel, val):
        with open(os.path.join(self.dir, rel), "w") as f:
            f.write(val)

    def enable(self, *events, system="iommu"):
        for ev in events:
            path = os.path.join(self.dir, "events", system, ev, "enable")
            if not os.path.exists(path):
                raise RuntimeError(f"event {system}:{ev} does not exist")
            self._w(os.path.join("events", system, ev, "enable"), "1")

    def start(self):
        self._w("trace", "")
        self._w("tracing_on", "1")

    def stop(self):
        self._w("tracing_on", "0")

    def text(self):
        with open(os.path.join(self.dir, "trace")) as f:
            return f.read()

    def records(self, *events):
        return parse(self.text(), events)

    def dropped(self):
        """Events lost because the buffer was full, over all CPUs."""
        total = 0
        for cpu in os.listdir(os.path.join(self.dir, "per_cpu")):
            with open(os.path.join(self.dir, "per_cpu", cpu, "stats")) as f:
                for line in f:
                    if line.startswith("overrun:") or line.startswith("dropped events:"):
                        total += int(line.split(":")[1])
        return total

    def close(self):
        self.stop()
        for root, dirs, files in os.walk(os.path.join(self.dir, "events")):
            if "enable" in files and root.count(os.sep) > self.dir.count(os.sep) + 2:
                try:
                    with open(os.path.join(root, "enable"), "w") as f:
                        f.write("0")
                except OSError:
                    pass
        os.rmdir(self.dir)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Kprobes:
    """kprobe events on functions (tracefs kprobe_events, in the group a
    Trace enables with system=Kprobes.GROUP), to see in a trace where each
    call happened."""
    GROUP = "iommu_selftest"

    def __init__(self, *funcs):
        mount()
        self.funcs = funcs
        self._write("".join(f"p:{self.GROUP}/{fn} {fn}\n" for fn in funcs))

    @staticmethod
    def _write(cmds):
        # O_APPEND without open(..., "a"): Python seeks to the end of a file
        # opened that way, and kprobe_events refuses the seek (EINVAL)
        fd = os.open(os.path.join(TRACEFS, "kprobe_events"), os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, cmds.encode())
        finally:
            os.close(fd)

    def close(self):
        self._write("".join(f"-:{self.GROUP}/{fn}\n" for fn in self.funcs))


def event_formats(system="iommu"):
    """{event: format text without its ID line} for every event of system."""
    base = os.path.join(TRACEFS, "events", system)
    out = {}
    for ev in sorted(os.listdir(base)):
        path = os.path.join(base, ev, "format")
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            out[ev] = "".join(l for l in f if not l.startswith("ID:"))
    return out
