#!/bin/bash
# Make build/linux/.config: x86_64 defconfig, then kernel/config/*.config
# merged in name order, then olddefconfig.  Fails if any option a fragment
# asks for did not survive (a dependency is missing).
set -euo pipefail
. "$(dirname "$0")/common.sh"

cd "$LINUX"
make -s x86_64_defconfig
mapfile -t frags < <(config_fragments)
./scripts/kconfig/merge_config.sh -m -Q .config "${frags[@]}" >/dev/null
make -s olddefconfig

bad=0
for frag in "${frags[@]}"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) want=$line ;;
		'# CONFIG_'*' is not set') want=$line ;;
		*) continue ;;
		esac
		sym=${want#\# }; sym=${sym%%[= ]*}
		got=$(grep -E "^($sym=|# $sym is not set)" .config || echo "# $sym is not set")
		if [ "$got" != "$want" ]; then
			# An option that is absent because its menu is off is off.
			[ "$want" = "# $sym is not set" ] && ! grep -q "^$sym=" .config && continue
			echo "config: $(basename "$frag"): wanted '$want', got '$got'" >&2
			bad=1
		fi
	done < "$frag"
done
[ $bad = 0 ] || die "config fragments do not hold; fix kernel/config/"
