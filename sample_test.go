package mqttwire

import "bytes"

// benchPackets is the workload of the benchmarks and the allocation tests:
// one packet of every type, sized as real traffic is.
func benchPackets() []Packet {
	return []Packet{
		&Connect{
			Version: V311, CleanSession: true, KeepAlive: 60, ClientID: []byte("sensor-0042-kitchen"),
			WillFlag: true, WillQoS: QoS1, WillTopic: []byte("devices/sensor-0042/status"), WillMessage: []byte("offline"),
			UsernameFlag: true, Username: []byte("sensor-0042"), PasswordFlag: true, Password: []byte("s3cr3t-t0ken"),
		},
		&Connack{SessionPresent: true},
		&Publish{QoS: QoS1, Topic: []byte("home/kitchen/sensor/temp1"), PacketID: 4711, Payload: bytes.Repeat([]byte{'x'}, 1024)},
		&Puback{PacketID: 4711},
		&Pubrec{PacketID: 4712},
		&Pubrel{PacketID: 4712},
		&Pubcomp{PacketID: 4712},
		&Subscribe{PacketID: 7, Filters: []TopicFilter{
			{Topic: []byte("home/+/sensor/#"), QoS: QoS1},
			{Topic: []byte("alerts/critical"), QoS: QoS2},
			{Topic: []byte("$SYS/broker/load/#"), QoS: QoS0},
		}},
		&Suback{PacketID: 7, ReturnCodes: []byte{1, 2, SubackFailure}},
		&Unsubscribe{PacketID: 8, Topics: [][]byte{[]byte("home/+/sensor/#"), []byte("alerts/critical")}},
		&Unsuback{PacketID: 8},
		&Pingreq{},
		&Pingresp{},
		&Disconnect{},
	}
}

// mustAppend encodes packets back to back and panics on an invalid one.
func mustAppend(b []byte, ps ...Packet) []byte {
	for _, p := range ps {
		var err error
		if b, err = p.Append(b); err != nil {
			panic(err)
		}
	}
	return b
}

// mixedStream returns a session's stream of at most size bytes and the
// number of packets in it: a CONNECT and its CONNACK, as many cycles of
// mixedCycle as fit, and a DISCONNECT. It is the stream of the mixed-64KiB
// and mixed-16MiB workloads of benchmarks/ (workload.go), byte for byte, so
// that BenchmarkReader's figures compare with the peer tables there.
func mixedStream(size int) ([]byte, int) {
	connect := benchPackets()[0]
	head := mustAppend(nil, connect, &Connack{SessionPresent: true})
	tail := mustAppend(nil, &Disconnect{})
	cycle := mixedCycle()
	one := mustAppend(nil, cycle...)
	b := head
	count := 2
	for range (size - len(head) - len(tail)) / len(one) {
		b = append(b, one...)
		count += len(cycle)
	}
	return append(b, tail...), count + 1
}

// mixedCycle is the cycle of benchmarks/workload.go's mixedCycle: mostly
// small QoS 0 PUBLISH, QoS 1 and 2 flows with their acknowledgements, a
// keep-alive exchange, and a subscription made and dropped.
func mixedCycle() []Packet {
	small := func(payload string) Packet {
		return &Publish{Topic: []byte("home/kitchen/temp"), Payload: []byte(payload)}
	}
	qos1 := &Publish{QoS: QoS1, PacketID: 17, Topic: []byte("home/kitchen/humidity"), Payload: pattern(64)}
	qos2 := &Publish{QoS: QoS2, PacketID: 18, Topic: []byte("home/kitchen/sensor/temp1"), Payload: pattern(256)}
	return []Packet{
		small("21.5"), small("21.6"), small(`{"t":21.6,"h":40}`), small("21.7"),
		qos1, &Puback{PacketID: 17},
		small("21.8"), small("21.9"), small(`{"t":22.0,"h":41}`), small("22.1"),
		qos2, &Pubrec{PacketID: 18}, &Pubrel{PacketID: 18}, &Pubcomp{PacketID: 18},
		small("22.2"), small("22.3"), small(`{"t":22.4,"h":42}`), small("22.5"),
		&Pingreq{}, &Pingresp{},
		qos1, &Puback{PacketID: 17},
		small("22.6"), small("22.7"), small(`{"t":22.8,"h":43}`), small("22.9"),
		&Subscribe{PacketID: 19, Filters: []TopicFilter{{Topic: []byte("home/+/temp"), QoS: QoS1}}},
		&Suback{PacketID: 19, ReturnCodes: []byte{1}},
		&Unsubscribe{PacketID: 20, Topics: [][]byte{[]byte("home/+/temp")}},
		&Unsuback{PacketID: 20},
	}
}

// pattern returns n bytes that repeat every 251 bytes, as the payloads of
// benchmarks/ do.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}
