#!/bin/bash
# Make build/linux/.config: x86_64 allnoconfig, then kernel/config/*.config
# (and kernel/config/debug/*.config for the debug flavor) merged in name
# order, then olddefconfig.  Fails if any option a fragment asks for did not survive
# (a dependency is missing).
set -euo pipefail
. "$(dirname "$0")/common.sh"

cd "$LINUX"
# ARCH=x86_64: allnoconfig would otherwise start from a 32-bit kernel, and
# the int options (FRAME_WARN, ...) would keep their 32-bit defaults
make -s ARCH=x86_64 "$(config_base)"
mapfile -t frags < <(config_fragments)
./scripts/kconfig/merge_config.sh -m -Q .config "${frags[@]}" >/dev/null
make -s olddefconfig

# What each option should be: the last fragment that names it wins, as in
# merge_config.sh (the debug flavor turns off what only the boot profile needs)
declare -A want from
for frag in "${frags[@]}"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) w=$line ;;
		'# CONFIG_'*' is not set') w=$line ;;
		*) continue ;;
		esac
		sym=${w#\# }; sym=${sym%%[= ]*}
		want[$sym]=$w from[$sym]=$(basename "$frag")
	done < "$frag"
done

bad=0
for sym in "${!want[@]}"; do
	w=${want[$sym]}
	got=$(grep -E "^($sym=|# $sym is not set)" .config || echo "# $sym is not set")
	[ "$got" = "$w" ] && continue
	# An option that is absent because its menu is off is off.
	[ "$w" = "# $sym is not set" ] && ! grep -q "^$sym=" .config && continue
	# The unpatched flavor: the series' own options do not exist.
	[ "$FLAVOR" = unpatched ] &&
		! grep -rqsx --include='Kconfig*' "config ${sym#CONFIG_}" . && continue
	echo "config: ${from[$sym]}: wanted '$w', got '$got'" >&2
	bad=1
done
[ $bad = 0 ] || die "config fragments do not hold; fix kernel/config/"
