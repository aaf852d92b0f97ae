# apt with a state of its own, for packages of other Debian suites than the
# host's (unstable's kernel source, stock kernels): its own sources list,
# lists and archive cache, no dpkg status (nothing is installed), the
# archive's keyring.  The host's suites are never touched.  Sourced.
# shellcheck shell=bash
#
#   debian_apt_init STATE "SUITE..." [SECURITY_SUITE]
#       sets apt_opts, and refreshes the lists at most once an hour
#       (versions move with security updates); a failed refresh keeps
#       lists that exist, so an offline run uses what it last saw
debian_apt_init() {
	local state=$1 suites=$2 security=${3:-} s
	mkdir -p "$state/lists/partial" "$state/archives/partial"
	{
		for s in $suites; do
			echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $s main"
		done
		[ -z "$security" ] ||
			echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security $security main"
	} > "$state/sources.list"
	apt_opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$state/lists" -o Dir::State::Status=/dev/null
		-o "Dir::Cache=$state" -o "Dir::Cache::Archives=$state/archives"
		-o Debug::NoLocking=1 -o APT::Architecture=amd64 -o APT::Sandbox::User=root)
	[ -z "$(find "$state/lists" -maxdepth 1 -name '*Packages*' -mmin -60 2>/dev/null)" ] || return 0
	apt-get "${apt_opts[@]}" -qq update >&2 && return 0
	[ -n "$(find "$state/lists" -maxdepth 1 -name '*Packages*' 2>/dev/null)" ] || return 1
	echo "warning: apt-get update ($suites) failed; using the lists of an earlier run" >&2
}

# debian_apt_version PKG: the candidate version of PKG in those suites
debian_apt_version() {
	apt-cache "${apt_opts[@]}" policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' |
		grep -vx '(none)'
}
