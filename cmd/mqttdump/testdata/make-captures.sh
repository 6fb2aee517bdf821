#!/usr/bin/env bash
# make-captures.sh regenerates testdata/captures/: real MQTT clients
# (mosquitto_pub, mosquitto_sub, mqtt.js) talking to a real mosquitto broker
# on loopback, captured with dumpcap, and tshark's dissection of each capture
# as a golden file (NAME.tshark.txt).
#
# It runs everything inside a private network namespace (unshare -n), whose
# loopback has an Ethernet-sized MTU and no segmentation offload, so that
# large packets span many TCP segments as they would on a real network, and
# so that nothing is reachable from outside. It needs root, mosquitto,
# mosquitto-clients, tshark (dumpcap, editcap) and node with mqtt.js
# installed outside the repository:
#
#	mkdir -p /tmp/mqttjs && (cd /tmp/mqttjs && npm install mqtt@5)
#	MQTTJS=/tmp/mqttjs/node_modules cmd/mqttdump/testdata/make-captures.sh
#
# To redo only the golden files of the checked-in captures (no root, no
# broker), run it with GOLDEN_ONLY=testdata/captures.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/../../../testdata/captures" && pwd)
port=18830

# golden writes tshark's dissection of capture $1 to $1's .tshark.txt. The
# field list is fixed, and payloads longer than 32 bytes are cut to their
# first 32 bytes and "..."; cmd/mqttdump's tshark_test.go renders its own
# output the same way and compares.
golden() {
	local f=$1
	tshark -r "$f" -Y mqtt -d tcp.port==$port,mqtt \
		-o tcp.desegment_tcp_streams:TRUE -o tcp.reassemble_out_of_order:TRUE \
		-o mqtt.show_msg_as_text:FALSE \
		-T fields -E header=y -E separator=/t -E aggregator=, -E occurrence=a \
		-e frame.number -e tcp.srcport -e tcp.dstport \
		-e mqtt.msgtype -e mqtt.len -e mqtt.dupflag -e mqtt.qos -e mqtt.retain \
		-e mqtt.protoname -e mqtt.ver -e mqtt.clientid -e mqtt.conflag.cleansess -e mqtt.kalive \
		-e mqtt.conflag.willflag -e mqtt.conflag.qos -e mqtt.conflag.retain -e mqtt.willtopic -e mqtt.willmsg \
		-e mqtt.conflag.uname -e mqtt.username -e mqtt.conflag.passwd \
		-e mqtt.conack.flags.sp -e mqtt.conack.val \
		-e mqtt.topic -e mqtt.msgid -e mqtt.sub.qos -e mqtt.suback.qos -e mqtt.msg \
		2>/dev/null | sed 's/\r$//' | awk -F'\t' -v OFS='\t' 'NR > 1 {
			n = split($28, v, ","); s = ""
			for (i = 1; i <= n; i++) {
				x = v[i]
				if (length(x) > 64) x = substr(x, 1, 64) "..."
				s = s (i > 1 ? "," : "") x
			}
			$28 = s
		} { print }' >"${f%.*}.tshark.txt"
}

# With GOLDEN_ONLY=DIR, only the golden files of the captures in DIR are
# made (no root, no broker): tshark_test.go's TestTsharkLive uses it.
if [ -n "${GOLDEN_ONLY:-}" ]; then
	shopt -s nullglob
	for f in "$GOLDEN_ONLY"/*.pcap "$GOLDEN_ONLY"/*.pcapng; do
		golden "$f"
	done
	exit 0
fi

if [ -z "${IN_NETNS:-}" ]; then
	exec unshare -n env IN_NETNS=1 bash "$0" "$@"
fi

: "${MQTTJS:=/tmp/mqttjs/node_modules}"
ip link set lo up
ip link set lo mtu 1500
ip link set lo gso_max_segs 1

broker_pid=
capture_pid=
work=$(mktemp -d)
trap 'kill $capture_pid $broker_pid 2>/dev/null || true; rm -rf "$work"' EXIT
cat >"$work/mosquitto.conf" <<EOF
listener $port 127.0.0.1
listener $port ::1
allow_anonymous true
EOF


# start NAME DUMPCAP-ARGS... starts a fresh broker and a capture into
# $work/NAME.
start() {
	local name=$1
	shift
	mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
	broker_pid=$!
	dumpcap -q -f "tcp port $port" -w "$work/$name" "$@" >"$work/dumpcap.log" 2>&1 &
	capture_pid=$!
	sleep 1.5
}

# stop ends the capture and the broker and moves the capture into place.
stop() {
	local name=$1
	sleep 0.5
	kill "$capture_pid"
	wait "$capture_pid" || true
	kill "$broker_pid"
	wait "$broker_pid" || true
	mv "$work/$name" "$out/$name"
	chmod 644 "$out/$name"
	golden "$out/$name"
	echo "made $name: $(stat -c %s "$out/$name") bytes"
}

pub() { mosquitto_pub -h 127.0.0.1 -p $port "$@"; }
sub() { mosquitto_sub -h 127.0.0.1 -p $port "$@"; }

# MQTT 3.1.1 with the mosquitto clients: QoS 0, 1 and 2, retained messages,
# a will, a user name and password, wildcard filters, a persistent session
# and an UNSUBSCRIBE.
start mosquitto-v311.pcapng -i lo
sub -V mqttv311 -i sub-311 -k 30 -q 2 -v -t 'sensors/#' -t 'alerts/+/high' -C 8 -W 10 >/dev/null &
s=$!
sleep 0.5
pub -V mqttv311 -i pub-q0 -t sensors/temp -m 21.5 -q 0
pub -V mqttv311 -i pub-q1 -t sensors/humidity -m 40 -q 1 -r
pub -V mqttv311 -i pub-q2 -t alerts/kitchen/high -m smoke -q 2
pub -V mqttv311 -i pub-will -u alice -P s3cret --will-topic clients/pub-will/status \
	--will-payload offline --will-qos 1 --will-retain -t sensors/door -m open -q 1
printf 'line one\nline two\nline three\n' | pub -V mqttv311 -i pub-lines -t sensors/batch -q 1 -l
pub -V mqttv311 -i pub-other -t other/topic -m ignored -q 1
pub -V mqttv311 -i pub-empty -t sensors/empty -n -q 2
wait $s || true
sub -V mqttv311 -i late-311 -q 1 -v -t 'sensors/#' -W 1 >/dev/null || true
sub -V mqttv311 -i persist-311 -c -q 1 -t 'alerts/#' -E >/dev/null
sub -V mqttv311 -i persist-311 -c -U 'alerts/#' -t 'none/#' -E >/dev/null
stop mosquitto-v311.pcapng

# MQTT 3.1 ("MQIsdp", level 3), written as a classic pcap file.
start mosquitto-v31.pcap -i lo -P
sub -V mqttv31 -i sub-31 -q 2 -v -t 'home/+/temp' -t 'home/garage/#' -C 4 -W 10 >/dev/null &
s=$!
sleep 0.5
pub -V mqttv31 -i pub31-a -t home/kitchen/temp -m 20 -q 0
pub -V mqttv31 -i pub31-b -t home/garage/door -m closed -q 1 -r
pub -V mqttv31 -i pub31-c -u bob -P hunter2 --will-topic home/pub31-c/lwt --will-payload lost \
	-t home/garage/light -m on -q 2
pub -V mqttv31 -i pub31-d -t home/hall/temp -m 18 -q 1
wait $s || true
stop mosquitto-v31.pcap

# mqtt.js at both protocol levels, captured on the "any" device as Linux
# cooked capture v2.
start mqttjs.pcapng -i any -y LINUX_SLL2
NODE_PATH=$MQTTJS node "$here/mqttjs-client.js" mqtt://127.0.0.1:$port 4 js-311
NODE_PATH=$MQTTJS node "$here/mqttjs-client.js" mqtt://127.0.0.1:$port 3 js-31
stop mqttjs.pcapng

# One 40,000-byte PUBLISH, which crosses loopback in about 28 segments each
# way.
head -c 30000 /dev/urandom | base64 -w 0 | head -c 40000 >"$work/large.txt"
start large-publish.pcapng -i lo
sub -i big-sub -q 1 -t big/blob -C 1 -W 10 >/dev/null &
s=$!
sleep 0.5
pub -i big-pub -t big/blob -q 1 -f "$work/large.txt"
wait $s || true
stop large-publish.pcapng

# IPv6 on ::1, captured as a classic pcap with Linux cooked capture v1.
start ipv6-sll.pcap -i any -y LINUX_SLL -P
mosquitto_sub -h ::1 -p $port -i sub-v6 -q 1 -v -t 'v6/#' -C 2 -W 10 >/dev/null &
s=$!
sleep 0.5
mosquitto_pub -h ::1 -p $port -i pub-v6 -t v6/a -m one -q 1
mosquitto_pub -h ::1 -p $port -i pub-v6 -t v6/b -m two -q 2
wait $s || true
stop ipv6-sll.pcap

# Hand-made bytes that break the rules: a CONNECT with the reserved flag bit
# set, and after a valid CONNECT a PUBLISH with QoS 3 followed by a valid
# PINGREQ. The broker closes each connection.
start malformed.pcapng -i lo
exec 3<>/dev/tcp/127.0.0.1/$port
printf '\x10\x10\x00\x04MQTT\x04\x03\x00\x3c\x00\x04evil' >&3
sleep 0.3
exec 3<&-
exec 3<>/dev/tcp/127.0.0.1/$port
printf '\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04good' >&3
sleep 0.3
printf '\x36\x07\x00\x03a/b\x00\x01\xc0\x00' >&3
sleep 0.3
exec 3<&-
stop malformed.pcapng

# Derived captures. Raw IP: the Ethernet headers of the 3.1 capture cut off.
editcap -C 14 -T rawip "$out/mosquitto-v31.pcap" "$out/rawip.pcap"
golden "$out/rawip.pcap"
# BSD loopback (null): the 3.1.1 capture with a 4-byte address family in
# place of the Ethernet header.
(cd "$here/.." && go run ./internal/cmd/gencap -relink null -o "$out/null.pcap" "$out/mosquitto-v311.pcapng")
golden "$out/null.pcap"

# Fixed headers cut by a segment boundary inside the remaining length, from
# the generator (the kernel does not cut there on its own). The options must
# stay those of TestSplitHeader.
(cd "$here/.." && go run ./internal/cmd/gencap -o "$out/split-header.pcap" -size 20000 -conns 2 -seed 1 \
	-port $port -ipv6 0 -split-header 0.5)
golden "$out/split-header.pcap"

# Damaged streams, from the large PUBLISH capture. The publisher's data
# segments are the full-sized ones towards the broker.
data_frames=$(tshark -r "$out/large-publish.pcapng" -Y "tcp.dstport==$port && tcp.len==1448" \
	-T fields -e frame.number 2>/dev/null)
cut_at=$(echo "$data_frames" | sed -n 10p)
# midstream: the capture starts inside the large PUBLISH.
editcap -r "$out/large-publish.pcapng" "$out/midstream.pcapng" "$cut_at-1000000"
golden "$out/midstream.pcapng"
# gap: one segment in the middle of the large PUBLISH is missing.
editcap "$out/large-publish.pcapng" "$out/gap.pcapng" "$cut_at"
golden "$out/gap.pcapng"
echo "made rawip.pcap null.pcap split-header.pcap midstream.pcapng gap.pcapng (cut at frame $cut_at)"
