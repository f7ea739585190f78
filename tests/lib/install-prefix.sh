# shellcheck shell=sh disable=SC2154 # me: set by the script that sources this
# SPDX-License-Identifier: MIT
#
# install-prefix.sh — sourced (POSIX sh, under set -eu) by the tests that install the build into
# a temporary prefix and check it as a user would: tests/consumer/install-and-consume.sh and
# tests/guide/new-user.sh. Set me=NAME (the prefix of every message) first.
#
#   parse_args "KEY..." "$@"  each KEY=VALUE argument into arg_KEY; any other: exit 2
#   require_args KEY...       exit 2 unless every arg_KEY is set and not empty
#   make_work PATTERN         work=$(mktemp -d $TMPDIR/PATTERN), P=$work/prefix, fail=0
#   install_prefix CMAKE BUILD
#                             CMAKE --install BUILD --prefix P (log in $work/install.log);
#                             stops the script on failure
#   problem MSG               report a failure and go on (fail=1)
#   step MSG                  say what comes next
#   die_if_failed             after a problem: say where the work directory is kept, exit 1
#   run_logged LOG CMD...     run CMD into LOG; on failure show the log's tail, return 1

parse_args() {
	keys=$1
	shift
	for kv in "$@"; do
		k=${kv%%=*}
		case "$kv" in
		*=*) case " $keys " in *" $k "*) eval "arg_$k=\${kv#*=}" && continue ;; esac ;;
		esac
		echo "$me: unknown argument '$kv'" >&2
		exit 2
	done
}

require_args() {
	for a in "$@"; do
		eval "[ -n \"\${arg_$a:-}\" ]" || { echo "$me: $a= missing" >&2; exit 2; }
	done
}

# Outside the build and source trees, so that a path leaking into an installed file is seen.
# The work directory is kept after a failure for inspection.
make_work() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/$1")
	P=$work/prefix
	fail=0
}

problem() {
	echo "$me: $*" >&2
	fail=1
}

step() {
	echo "$me: $*"
}

die_if_failed() {
	if [ "$fail" -ne 0 ]; then
		echo "$me: FAILED (work directory kept: $work)" >&2
		exit 1
	fi
}

run_logged() { # LOG CMD...: run, show the log on failure
	log=$1
	shift
	if ! "$@" >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		return 1
	fi
}

install_prefix() {
	step "cmake --install $2 --prefix $P"
	run_logged "$work/install.log" "$1" --install "$2" --prefix "$P" ||
		{ problem "cmake --install failed"; die_if_failed; }
}
