#!/bin/bash
# make bench's counting tools, into DIR (default build/bench):
#   insn_count.so  the QEMU TCG plugin (bench/insn_count.c)
#   insn_mark      the guest's marker program (bench/insn_mark.c), static
# Plain gcc: Debian ships no qemu-plugin.h, the plugin declares the API
# itself.  Each file is built aside and renamed into place, so that a QEMU
# running the old plugin keeps its copy.
#
#   bench/build.sh [DIR]
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$TOP/build/bench}
mkdir -p "$out"
cflags=(-O2 -Wall -Werror -I"$TOP/bench")

gcc "${cflags[@]}" -fPIC -shared -fvisibility=hidden \
	-o "$out/.insn_count.so.$$" "$TOP/bench/insn_count.c"
mv -f "$out/.insn_count.so.$$" "$out/insn_count.so"
gcc "${cflags[@]}" -static -o "$out/.insn_mark.$$" "$TOP/bench/insn_mark.c"
mv -f "$out/.insn_mark.$$" "$out/insn_mark"
