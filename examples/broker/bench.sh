#!/usr/bin/env bash
# bench.sh measures the mqttwire reference broker against mosquitto in one
# run, on loopback only, and prints a markdown table.
#
# It builds the broker and the load generator (examples/broker/loadgen),
# starts both brokers on free 127.0.0.1 ports, runs every scenario against
# each, and stops them. Needs Go and mosquitto (Debian package mosquitto).
#
#   examples/broker/bench.sh                   # 3 rounds of 2 s per scenario and broker
#   DURATION=5s ROUNDS=5 examples/broker/bench.sh
#
# Each throughput scenario runs ROUNDS times against each broker, alternating,
# and the table shows the medians: on a shared machine single runs are noisy.
set -euo pipefail

cd "$(dirname "$0")/../.."
duration=${DURATION:-2s}
rounds=${ROUNDS:-3}

if ! command -v mosquitto >/dev/null; then
	echo "bench.sh: mosquitto not found (Debian package mosquitto)" >&2
	exit 1
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/broker" ./examples/broker
go build -o "$tmp/loadgen" ./examples/broker/loadgen

# 1,000 idle clients need as many descriptors on each side.
ulimit -n 8192 2>/dev/null || true

# freeport prints a loopback port that nothing listens on.
freeport() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

# waitport waits until something listens on port $1.
waitport() {
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return
		fi
		sleep 0.05
	done
	echo "bench.sh: nothing listens on port $1" >&2
	exit 1
}

ours=$(freeport)
"$tmp/broker" -addr "127.0.0.1:$ours" -quiet -max-queued 100000 2>"$tmp/broker.log" &
ours_pid=$!
pids+=("$ours_pid")

theirs=$(freeport)
while [ "$theirs" = "$ours" ]; do theirs=$(freeport); done
cat >"$tmp/mosquitto.conf" <<EOF
listener $theirs 127.0.0.1
allow_anonymous true
max_queued_messages 100000
log_dest none
EOF
mosquitto -c "$tmp/mosquitto.conf" 2>"$tmp/mosquitto.log" &
theirs_pid=$!
pids+=("$theirs_pid")

waitport "$ours"
waitport "$theirs"

# cputicks PID prints the CPU time, user and system, that process PID has
# used, in clock ticks.
cputicks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# measure SCENARIO PORT [ARGS...] prints the scenario's number. For connect it
# also appends the broker's CPU time per connection, in microseconds, to
# $tmp/cpu-mqttwire or $tmp/cpu-mosquitto.
measure() {
	local scenario=$1 port=$2 out before after
	shift 2
	local who=mqttwire pid=$ours_pid
	if [ "$port" = "$theirs" ]; then
		who=mosquitto pid=$theirs_pid
	fi
	before=$(cputicks "$pid")
	out=$("$tmp/loadgen" -addr "127.0.0.1:$port" -scenario "$scenario" -duration "$duration" "$@")
	after=$(cputicks "$pid")
	if [ "$scenario" = connect ]; then
		# loadgen prints "connect R conn/s (N in T, W workers)".
		local n
		n=$(awk '{ sub(/^\(/, "", $4); print $4 }' <<<"$out")
		awk -v t=$((after - before)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.1f\n", t * 1e6 / hz / n }' >>"$tmp/cpu-$who"
		out="$out; broker CPU $(tail -1 "$tmp/cpu-$who") µs/conn"
	fi
	echo "$who: $out" >>"$tmp/raw.txt"
	awk '{ print $2 }' <<<"$out"
}

# median prints the median of its arguments.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

rows=()
row() { # name unit ours theirs
	local ratio
	ratio=$(awk -v a="$3" -v b="$4" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
	rows+=("| $1 | $3 $2 | $4 $2 | $ratio |")
}

# compare NAME UNIT SCENARIO [ARGS...] runs a scenario $rounds times against
# each broker and adds a row with the medians. The order alternates round by
# round (ours first, then theirs first), so that a machine that slows down or
# speeds up during the run favours neither.
compare() {
	local name=$1 unit=$2 scenario=$3 a=() b=() i
	shift 3
	for i in $(seq "$rounds"); do
		if ((i % 2)); then
			a+=("$(measure "$scenario" "$ours" "$@")")
			b+=("$(measure "$scenario" "$theirs" "$@")")
		else
			b+=("$(measure "$scenario" "$theirs" "$@")")
			a+=("$(measure "$scenario" "$ours" "$@")")
		fi
	done
	row "$name" "$unit" "$(median "${a[@]}")" "$(median "${b[@]}")"
	if [ "$scenario" = connect ]; then
		# mapfile: the per-round figures measure wrote, one a line.
		mapfile -t a <"$tmp/cpu-mqttwire"
		mapfile -t b <"$tmp/cpu-mosquitto"
		row "… broker CPU time per connection (user + system; lower is better)" "µs" "$(median "${a[@]}")" "$(median "${b[@]}")"
		rm "$tmp/cpu-mqttwire" "$tmp/cpu-mosquitto"
	fi
}

# Memory first, while both brokers are fresh.
row "resident memory per idle connection (1,000 clients, one subscription each; lower is better)" "KiB" \
	"$(measure idle "$ours" -pid "$ours_pid")" "$(measure idle "$theirs" -pid "$theirs_pid")"
sleep 1
compare "QoS 0 fan-in (10 publishers → 1 subscriber)" "msg/s" fanin
compare "QoS 0 fan-out (1 publisher → 100 subscribers)" "msg/s" fanout
compare "QoS 1 one-to-one" "msg/s" qos1
# A connect round runs for the same time as the others: up to 20,000
# connections, spread over source addresses so that no port range runs out.
compare "connects per second (4 concurrent clients)" "conn/s" connect -workers 4 -connects 20000
compare "connects per second (16 concurrent clients)" "conn/s" connect -workers 16 -connects 20000

echo
echo "| scenario | mqttwire broker | mosquitto $(mosquitto -h 2>/dev/null | awk 'NR==1 {print $3}') | ratio (mqttwire ÷ mosquitto) |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Medians of $rounds rounds of $duration per scenario and broker; payload 64 bytes; loopback; $(nproc) cores shared by both brokers and the load generator."
echo "Raw load generator output:"
sed 's/^/    /' "$tmp/raw.txt"
