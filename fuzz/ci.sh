#!/bin/sh
# ci.sh fuzzes each fuzz target of ./fuzz in turn for $FUZZTIME (20s unless
# set) with $FUZZPARALLEL workers (2 unless set). It goes on after a failing
# target and exits non-zero if any failed; each failing input is written to
# fuzz/testdata/fuzz/<Target>/ and replays with go test.
set -u
cd "$(dirname "$0")/.." || exit 1
fuzztime=${FUZZTIME:-20s}
parallel=${FUZZPARALLEL:-2}
targets=$(go test ./fuzz -list '^Fuzz' | grep '^Fuzz') || {
	echo "fuzz/ci.sh: cannot list the fuzz targets" >&2
	exit 1
}
failed=""
for target in $targets; do
	echo "fuzz/ci.sh: $target for $fuzztime"
	if ! go test ./fuzz -run='^$' -fuzz="^$target\$" -fuzztime="$fuzztime" -parallel="$parallel"; then
		failed="$failed $target"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz/ci.sh: failed:$failed" >&2
	exit 1
fi
