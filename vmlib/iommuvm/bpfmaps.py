"""The kernel's own accounting of a process's BPF maps (/proc/PID/fdinfo),
and what they would take on a large server."""

import os
import re

SERVER_CPUS = 256
# BPF_MAP_TYPE_{PERCPU_HASH,PERCPU_ARRAY,LRU_PERCPU_HASH,PERCPU_CGROUP_STORAGE}
PERCPU_TYPES = {5, 6, 10, 21}


def possible_cpus():
    with open("/sys/devices/system/cpu/possible") as f:
        spec = f.read().strip()
    n = 0
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        n += int(hi or lo) - int(lo) + 1
    return n


def fdinfo_maps(pid):
    """Every BPF map pid holds, by map id: {field: value} from its fdinfo
    (map_type, max_entries, memlock, ...)."""
    maps = {}
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                text = f.read()
        except OSError:
            continue
        fields = dict(re.findall(r"^(\w+):\s*(\S+)", text, re.M))
        if "map_id" in fields:
            maps[int(fields["map_id"])] = fields
    return maps


def memory(pid):
    """(maps, bytes now, bytes with SERVER_CPUS possible CPUs): a per-CPU
    map's whole memlock is scaled, an upper bound."""
    ncpu = possible_cpus()
    maps = fdinfo_maps(pid)
    total = sum(int(m["memlock"]) for m in maps.values())
    server = sum(int(m["memlock"]) * (SERVER_CPUS / ncpu
                                      if int(m["map_type"]) in PERCPU_TYPES else 1)
                 for m in maps.values())
    return maps, total, server
