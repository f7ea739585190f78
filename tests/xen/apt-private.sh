#!/bin/sh
# apt-private.sh DIR — a private apt configuration in DIR for fetching arm64 packages of Debian 12
# (bookworm) and Debian 13 (trixie) without touching the machine's apt setup. The mirror URI is
# the one this machine already uses (never written into the repository). Prints the apt options
# to use, one per line, for `apt-get $(cat DIR/apt.opts) ...`.
set -eu
dir=$1
mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/etc/sources.list.d" \
	"$dir/etc/preferences.d"

mirror=
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	mirror=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' "$f")
	[ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
	mirror=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)
fi
if [ -z "$mirror" ]; then
	echo "apt-private.sh: cannot find a Debian mirror in this machine's apt configuration" >&2
	exit 1
fi

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat > "$dir/etc/sources.list" <<SRC
deb [arch=arm64 signed-by=$keyring] $mirror bookworm main
deb [arch=arm64 signed-by=$keyring] $mirror trixie main
deb-src [signed-by=$keyring] $mirror trixie main
SRC
: > "$dir/etc/preferences"
cat > "$dir/apt.opts" <<OPTS
-o Dir::Etc::sourcelist=$dir/etc/sources.list
-o Dir::Etc::sourceparts=$dir/etc/sources.list.d
-o Dir::Etc::preferences=$dir/etc/preferences
-o Dir::Etc::preferencesparts=$dir/etc/preferences.d
-o Dir::State::lists=$dir/lists
-o Dir::State::status=$dir/status
-o Dir::Cache=$dir/cache
-o APT::Architectures::=arm64
-o APT::Architecture=arm64
-o Debug::NoLocking=1
-o APT::Sandbox::User=root
OPTS
: > "$dir/status"
