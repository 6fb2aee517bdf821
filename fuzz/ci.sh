#!/bin/sh
# ci.sh fuzzes each fuzz target of ./fuzz in turn for $FUZZTIME (20s unless
# set) with $FUZZPARALLEL workers (2 unless set), and minimizes each new
# input for at most $FUZZMINIMIZETIME (10s unless set; Go's default of 60s
# can take most of a short run). It goes on after a failing target and
# exits non-zero if any failed; each failing input is written to
# fuzz/testdata/fuzz/<Target>/ and replays with go test.
set -u
cd "$(dirname "$0")/.." || exit 1
fuzztime=${FUZZTIME:-20s}
parallel=${FUZZPARALLEL:-2}
minimizetime=${FUZZMINIMIZETIME:-10s}
targets=$(go test ./fuzz -list '^Fuzz' | grep '^Fuzz') || {
	echo "fuzz/ci.sh: cannot list the fuzz targets" >&2
	exit 1
}
failed=""
for target in $targets; do
	echo "fuzz/ci.sh: $target for $fuzztime"
	if ! go test ./fuzz -run='^$' -fuzz="^$target\$" -fuzztime="$fuzztime" \
		-fuzzminimizetime="$minimizetime" -parallel="$parallel"; then
		failed="$failed $target"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz/ci.sh: failed:$failed" >&2
	exit 1
fi
