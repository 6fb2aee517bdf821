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

// mixedStream returns whole packets, mostly small PUBLISH with their acks, of
// about size bytes, and the number of packets in it.
func mixedStream(size int) ([]byte, int) {
	small := &Publish{QoS: QoS0, Topic: []byte("home/kitchen/temp"), Payload: []byte("21.5")}
	qos1 := &Publish{QoS: QoS1, Topic: []byte("home/kitchen/humidity"), PacketID: 1, Payload: bytes.Repeat([]byte{'h'}, 64)}
	cycle := []Packet{small, small, small, qos1, &Puback{PacketID: 1}, small, small, &Pingreq{}, small,
		&Subscribe{PacketID: 2, Filters: []TopicFilter{{Topic: []byte("a/+/c"), QoS: QoS1}}}, &Suback{PacketID: 2, ReturnCodes: []byte{1}}}
	var b []byte
	count := 0
	for len(b) < size {
		for _, p := range cycle {
			b = mustAppend(b, p)
			count++
		}
	}
	return b, count
}
