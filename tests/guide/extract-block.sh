#!/bin/sh
# SPDX-License-Identifier: MIT
#
# extract-block.sh GUIDE NAME — print the fenced code block of GUIDE (markdown) that directly
# follows the line "<!-- file: NAME -->", byte for byte, without its fences.
# Exit 1 (with the reason on stderr) if the marker is missing or repeated, is not followed by
# an opening fence, or the block is not closed.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 GUIDE NAME" >&2; exit 2; }
awk -v marker="<!-- file: $2 -->" -v name="$2" '
	$0 == marker { markers++; state = 1; next }
	state == 1 {
		if ($0 !~ /^```/) { print "extract-block: " name ": no code block right after the marker" > "/dev/stderr"; bad = 1; exit }
		state = 2; next
	}
	state == 2 && $0 == "```" { state = 3; next }
	state == 2 { print }
	END {
		if (bad) exit 1
		if (markers != 1) { print "extract-block: " name ": " markers + 0 " markers, expected 1" > "/dev/stderr"; exit 1 }
		if (state != 3) { print "extract-block: " name ": code block not closed" > "/dev/stderr"; exit 1 }
	}
' "$1"
