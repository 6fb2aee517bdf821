#!/usr/bin/env bash
# run.sh measures mqttwire against paho and mochi and writes RESULTS.md.
#
# It checks equivalence first (no timing counts unless every codec decodes
# and encodes the workload exactly), writes the strictness tables, then runs
# the benchmark binary COUNT times over all benchmarks, one full round after
# another, so that a burst of load from elsewhere spreads over all codecs
# instead of hitting one. benchstat computes the medians, and cmd/tables
# turns them into markdown.
#
#   COUNT=6 BENCHTIME=300ms ./run.sh        # the defaults: about 8 minutes on a quiet 2-core machine
#   COUNT=3 BENCHTIME=100ms BENCH='Decode/publish' ./run.sh   # a quick look
set -euo pipefail

# The whole script is one function, so bash has read all of it before it
# starts: editing run.sh during a run cannot change the run.
main() {
	cd "$(dirname "$0")"
	COUNT=${COUNT:-6}
	BENCHTIME=${BENCHTIME:-300ms}
	BENCH=${BENCH:-.}
	stamp=$(date -u +%Y-%m-%d-%H%M)
	mkdir -p results
	raw=results/$stamp.txt
	meta=results/$stamp.meta
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT

	benchstat=$(command -v benchstat || true)
	if [ -z "$benchstat" ]; then
		benchstat="$(go env GOPATH)/bin/benchstat"
		[ -x "$benchstat" ] || go install golang.org/x/perf/cmd/benchstat@latest
	fi

	# The mqttwire commit the binary is built from.
	commit=$(git -C .. rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [ -n "$(git -C .. status --porcelain -- ':(glob)*.go' go.mod 2>/dev/null)" ]; then
		commit="$commit (with uncommitted changes to the root package)"
	fi

	echo "== building the test binary"
	go test -c -o "$tmp/bench.test" .

	# The same binary checks equivalence and then runs the benchmarks, so its
	# rounds may skip their own check.
	echo "== equivalence (benchmarks count only if this passes)"
	"$tmp/bench.test" -test.count=1 -test.run 'TestEquivalence|TestBaselines'

	echo "== strictness tables"
	WRITE_TABLES=1 "$tmp/bench.test" -test.count=1 -test.run 'TestStrictness|TestTruncation'

	{
		echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo "Go: $(go version)"
		echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; benchmarks run with GOMAXPROCS=1 (-cpu=1)"
		echo "mqttwire: commit $commit; peers: $(go list -m -f '{{.Path}} {{.Version}}' github.com/eclipse/paho.mqtt.golang github.com/mochi-mqtt/server/v2 | paste -sd ';' - | sed 's/;/, /')"
		echo "Runs: $COUNT rounds of every benchmark, -benchtime=$BENCHTIME each; medians by benchstat"
	} >"$meta"

	echo "== benchmarks: $COUNT rounds, -benchtime=$BENCHTIME, -cpu=1"
	start=$(date +%s)
	loads=()
	for i in $(seq "$COUNT"); do
		loads+=("$(cut -d' ' -f1 /proc/loadavg)")
		echo "   round $i of $COUNT (load average ${loads[-1]})"
		MQTTWIRE_BENCH_CHECKED=1 "$tmp/bench.test" -test.run='^$' -test.bench="$BENCH" -test.benchmem \
			-test.count=1 -test.cpu=1 -test.benchtime="$BENCHTIME" >>"$raw"
	done
	loads+=("$(cut -d' ' -f1 /proc/loadavg)")
	elapsed=$(($(date +%s) - start))
	echo "Load average (1 min) at the start of each round and at the end: ${loads[*]}; $(nproc) cores. Above about 1, other work shared the CPU and medians are noisier; the lead engineer re-runs on a quiet machine before a release." >>"$meta"
	echo "Benchmark time: $((elapsed / 60)) min $((elapsed % 60)) s" >>"$meta"

	"$benchstat" "$raw" >"results/$stamp.benchstat.txt" 2>/dev/null
	"$benchstat" -format csv "$raw" >"results/$stamp.csv" 2>/dev/null
	go run ./cmd/tables -csv "results/$stamp.csv" -meta "$meta" \
		-strict results/strictness-malformed.md,results/strictness-truncation.md -o RESULTS.md
	echo "== wrote RESULTS.md and results/$stamp.{txt,benchstat.txt,csv,meta} in $((elapsed / 60)) min $((elapsed % 60)) s"
}

main "$@"
