// Package benchmarks compares mqttwire with the packets packages of
// eclipse/paho.mqtt.golang and mochi-mqtt/server: speed and allocations on one
// shared workload, and strictness on malformed and truncated input.
//
// The package holds the workload, one adapter per codec and two baselines;
// the benchmarks and the tests that check equivalence and strictness live in
// its _test.go files. See README.md for how to run it.
package benchmarks

import "fmt"

// Design note: every workload is described once, as Fields, a struct that
// every codec can be mapped to and from. The wire bytes come from mqttwire's
// encoder, and the equivalence test checks that the two peers encode the
// same Fields to the same bytes and decode those bytes back to the same
// Fields. So all codecs work on identical bytes and identical values.

// Fields is the codec-neutral content of one packet. Strings hold the raw
// bytes of the wire's fields. Dup, QoS and Retain are the PUBLISH flags and
// stay zero for the other types.
type Fields struct {
	Type     byte
	Dup      bool
	QoS      byte
	Retain   bool
	PacketID uint16

	// CONNECT.
	ProtocolName  string
	ProtocolLevel byte
	CleanSession  bool
	KeepAlive     uint16
	ClientID      string
	WillFlag      bool
	WillQoS       byte
	WillRetain    bool
	WillTopic     string
	WillMessage   string
	UsernameFlag  bool
	Username      string
	PasswordFlag  bool
	Password      string

	// CONNACK.
	SessionPresent bool
	ReturnCode     byte

	// PUBLISH.
	Topic   string
	Payload string

	// SUBSCRIBE (topic and QoS) and UNSUBSCRIBE (topic only).
	Filters []Filter

	// SUBACK.
	ReturnCodes []byte
}

// Filter is one topic filter of a SUBSCRIBE or UNSUBSCRIBE.
type Filter struct {
	Topic string
	QoS   byte
}

// Packet types, as in the first byte's high nibble.
const (
	typeConnect     = 1
	typeConnack     = 2
	typePublish     = 3
	typePuback      = 4
	typePubrec      = 5
	typePubrel      = 6
	typePubcomp     = 7
	typeSubscribe   = 8
	typeSuback      = 9
	typeUnsubscribe = 10
	typeUnsuback    = 11
	typePingreq     = 12
	typePingresp    = 13
	typeDisconnect  = 14
)

// Workload is one benchmark case: a single packet, or a stream of packets.
type Workload struct {
	Name    string
	Packets []Fields // the packets in order; one for a single-packet workload
	Wire    []byte   // the encoding of Packets, back to back
	Repeat  int      // how many times Cycle repeats in a stream workload
	Cycle   []Fields // the repeating part of a stream, after Packets
	Trailer []Fields // the stream's last packets, after the cycles
}

// Count returns the number of packets in the workload.
func (w *Workload) Count() int {
	return len(w.Packets) + w.Repeat*len(w.Cycle) + len(w.Trailer)
}

// All returns every packet of the workload in order.
func (w *Workload) All() []Fields {
	all := append([]Fields(nil), w.Packets...)
	for range w.Repeat {
		all = append(all, w.Cycle...)
	}
	return append(all, w.Trailer...)
}

// pattern returns n bytes of a fixed pattern that is not all one value.
func pattern(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return string(b)
}

// The packets of the single-packet workloads.
var (
	fieldsConnect = Fields{
		Type: typeConnect, ProtocolName: "MQTT", ProtocolLevel: 4, CleanSession: true, KeepAlive: 60,
		ClientID: "sensor-0042-kitchen",
		WillFlag: true, WillQoS: 1, WillTopic: "devices/sensor-0042/status", WillMessage: "offline",
		UsernameFlag: true, Username: "sensor-0042", PasswordFlag: true, Password: "s3cr3t-t0ken",
	}
	fieldsConnack  = Fields{Type: typeConnack, SessionPresent: true}
	fieldsPublish0 = Fields{Type: typePublish, Topic: "home/kitchen/sensor/temp1", Payload: pattern(64)}
	fieldsPublish1 = Fields{Type: typePublish, QoS: 1, PacketID: 4711, Topic: "home/kitchen/sensor/temp1", Payload: pattern(1024)}
	fieldsPublish2 = Fields{Type: typePublish, QoS: 2, Retain: true, PacketID: 4712, Topic: "home/kitchen/sensor/temp1", Payload: pattern(16 << 10)}
	fieldsPuback   = Fields{Type: typePuback, PacketID: 4711}
	fieldsPubrec   = Fields{Type: typePubrec, PacketID: 4712}
	fieldsPubrel   = Fields{Type: typePubrel, PacketID: 4712}
	fieldsPubcomp  = Fields{Type: typePubcomp, PacketID: 4712}
	fieldsSub      = Fields{Type: typeSubscribe, PacketID: 7, Filters: []Filter{
		{Topic: "home/+/sensor/#", QoS: 1}, {Topic: "alerts/critical", QoS: 2}, {Topic: "$SYS/broker/load/#", QoS: 0},
	}}
	fieldsSuback = Fields{Type: typeSuback, PacketID: 7, ReturnCodes: []byte{1, 2, 0x80}}
	fieldsUnsub  = Fields{Type: typeUnsubscribe, PacketID: 8, Filters: []Filter{
		{Topic: "home/+/sensor/#"}, {Topic: "alerts/critical"},
	}}
	fieldsUnsuback   = Fields{Type: typeUnsuback, PacketID: 8}
	fieldsPingreq    = Fields{Type: typePingreq}
	fieldsPingresp   = Fields{Type: typePingresp}
	fieldsDisconnect = Fields{Type: typeDisconnect}
)

// mixedCycle is the repeating part of the mixed stream: mostly small QoS 0
// PUBLISH, some QoS 1 and QoS 2 flows with their acks, keep-alives, and one
// subscription change.
func mixedCycle() []Fields {
	small := func(payload string) Fields {
		return Fields{Type: typePublish, Topic: "home/kitchen/temp", Payload: payload}
	}
	qos1 := Fields{Type: typePublish, QoS: 1, PacketID: 17, Topic: "home/kitchen/humidity", Payload: pattern(64)}
	qos2 := Fields{Type: typePublish, QoS: 2, PacketID: 18, Topic: "home/kitchen/sensor/temp1", Payload: pattern(256)}
	c := []Fields{
		small("21.5"), small("21.6"), small(`{"t":21.6,"h":40}`), small("21.7"),
		qos1, {Type: typePuback, PacketID: 17},
		small("21.8"), small("21.9"), small(`{"t":22.0,"h":41}`), small("22.1"),
		qos2, {Type: typePubrec, PacketID: 18}, {Type: typePubrel, PacketID: 18}, {Type: typePubcomp, PacketID: 18},
		small("22.2"), small("22.3"), small(`{"t":22.4,"h":42}`), small("22.5"),
		{Type: typePingreq}, {Type: typePingresp},
		qos1, {Type: typePuback, PacketID: 17},
		small("22.6"), small("22.7"), small(`{"t":22.8,"h":43}`), small("22.9"),
		{Type: typeSubscribe, PacketID: 19, Filters: []Filter{{Topic: "home/+/temp", QoS: 1}}},
		{Type: typeSuback, PacketID: 19, ReturnCodes: []byte{1}},
		{Type: typeUnsubscribe, PacketID: 20, Filters: []Filter{{Topic: "home/+/temp"}}},
		{Type: typeUnsuback, PacketID: 20},
	}
	return c
}

// mixedStream builds a stream workload of at most size bytes: a CONNECT and
// its CONNACK, as many mixed cycles as fit, and a DISCONNECT.
func mixedStream(name string, size int) Workload {
	w := Workload{Name: name, Packets: []Fields{fieldsConnect, fieldsConnack}, Cycle: mixedCycle(), Trailer: []Fields{fieldsDisconnect}}
	fixed := len(mustEncode(nil, w.Packets...)) + len(mustEncode(nil, w.Trailer...))
	cycle := len(mustEncode(nil, w.Cycle...))
	w.Repeat = (size - fixed) / cycle
	w.Wire = mustEncode(nil, w.All()...)
	return w
}

// Workloads returns every workload, single packets first, then the two
// mixed streams.
func Workloads() []Workload {
	singles := []struct {
		name string
		f    Fields
	}{
		{"connect", fieldsConnect},
		{"connack", fieldsConnack},
		{"publish-qos0-64B", fieldsPublish0},
		{"publish-qos1-1KiB", fieldsPublish1},
		{"publish-qos2-retain-16KiB", fieldsPublish2},
		{"puback", fieldsPuback},
		{"pubrec", fieldsPubrec},
		{"pubrel", fieldsPubrel},
		{"pubcomp", fieldsPubcomp},
		{"subscribe-3", fieldsSub},
		{"suback", fieldsSuback},
		{"unsubscribe-2", fieldsUnsub},
		{"unsuback", fieldsUnsuback},
		{"pingreq", fieldsPingreq},
		{"pingresp", fieldsPingresp},
		{"disconnect", fieldsDisconnect},
	}
	var ws []Workload
	for _, s := range singles {
		ws = append(ws, Workload{Name: s.name, Packets: []Fields{s.f}, Wire: mustEncode(nil, s.f)})
	}
	ws = append(ws, mixedStream("mixed-64KiB", 64<<10), mixedStream("mixed-16MiB", 16<<20))
	return ws
}

// mustEncode appends the mqttwire encoding of each packet to b and panics on
// a packet that has no valid encoding.
func mustEncode(b []byte, fs ...Fields) []byte {
	for _, f := range fs {
		var err error
		if b, err = ToMqttwire(f).Append(b); err != nil {
			panic(fmt.Sprintf("workload: %v", err))
		}
	}
	return b
}
