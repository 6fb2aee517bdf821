#!/usr/bin/env bash
# icount.sh counts the machine instructions one operation of a benchmark of
# the root package takes, with valgrind's callgrind. On a shared or virtual
# machine, where timings move by tens of percent between runs, instruction
# counts do not: use them to judge a change to a hot path, and timings to
# report.
#
#   benchmarks/icount.sh 'Decode/^PUBLISH$' ['Append/^CONNECT$' ...]
#
# Each pattern must select one benchmark (anchor it: 'Decode/SUBSCRIBE$'
# also matches UNSUBSCRIBE). The script runs it for 100,000 and for 300,000
# operations and divides the difference by 200,000, so set-up cancels out.
# Needs valgrind (Debian package valgrind).
set -euo pipefail

cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || {
	echo "icount.sh: valgrind not found (Debian package valgrind)" >&2
	exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOWORK=off go test -c -o "$tmp/mqttwire.test" .

# count N PATTERN prints the instructions of a run of N operations.
count() {
	GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		"$tmp/mqttwire.test" -test.run '^$' -test.bench "$2" -test.benchtime="$1x" -test.cpu 1 2>&1 |
		awk '/Collected/ { gsub(",", "", $4); print $4 }'
}

for pattern in "$@"; do
	a=$(count 100000 "$pattern")
	b=$(count 300000 "$pattern")
	echo "$pattern: $(((b - a) / 200000)) instructions per operation"
done
