package mqttwire_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/mqttwire/mqttwire"
)

func ExamplePublish_Append() {
	p := mqttwire.Publish{QoS: mqttwire.QoS1, Topic: []byte("a/b"), PacketID: 10, Payload: []byte("hi")}
	b, err := p.Append(nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% X\n", b)
	// Output:
	// 32 09 00 03 61 2F 62 00 0A 68 69
}

func ExampleDecoder() {
	wire := []byte{0x32, 0x09, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A, 'h', 'i'}
	var d mqttwire.Decoder
	p, n, err := d.Decode(wire)
	if err != nil {
		panic(err)
	}
	pub := p.(*mqttwire.Publish)
	fmt.Printf("%v, %d bytes: topic %s, QoS %d, id %d, payload %q\n", p.Type(), n, pub.Topic, pub.QoS, pub.PacketID, pub.Payload)

	// A short read says how many bytes are missing.
	_, n, err = d.Decode(wire[:4])
	fmt.Println(err, "- need", n-4, "more bytes")

	// A broken rule names the packet and the statement.
	_, _, err = d.Decode([]byte{0x36, 0x03, 0x00, 0x01, 'a'})
	fmt.Println(err, errors.Is(err, mqttwire.ErrMalformed))
	// Output:
	// PUBLISH, 11 bytes: topic a/b, QoS 1, id 10, payload "hi"
	// mqttwire: incomplete packet - need 7 more bytes
	// mqttwire: PUBLISH: QoS 3 [MQTT-3.3.1-4] true
}

func ExampleReader() {
	var stream []byte
	for _, p := range []mqttwire.Packet{
		&mqttwire.Connect{Version: mqttwire.V311, CleanSession: true, KeepAlive: 60, ClientID: []byte("client-1")},
		&mqttwire.Subscribe{PacketID: 1, Filters: []mqttwire.TopicFilter{{Topic: []byte("sensors/#"), QoS: mqttwire.QoS1}}},
		&mqttwire.Pingreq{},
		&mqttwire.Disconnect{},
	} {
		stream, _ = p.Append(stream)
	}

	r := mqttwire.NewReader(bytes.NewReader(stream))
	r.MaxSize = 64 << 10 // refuse bigger packets before reading them
	for {
		p, err := r.ReadPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		switch p := p.(type) {
		case *mqttwire.Connect:
			fmt.Printf("CONNECT %s, MQTT %v, keep-alive %ds\n", p.ClientID, p.Version, p.KeepAlive)
		case *mqttwire.Subscribe:
			fmt.Printf("SUBSCRIBE %s at QoS %d\n", p.Filters[0].Topic, p.Filters[0].QoS)
		default:
			fmt.Println(p.Type())
		}
	}
	// Output:
	// CONNECT client-1, MQTT 3.1.1, keep-alive 60s
	// SUBSCRIBE sensors/# at QoS 1
	// PINGREQ
	// DISCONNECT
}

func ExamplePeek() {
	h, size, err := mqttwire.Peek([]byte{0x30, 0x80, 0x01})
	fmt.Println(h.Type, h.Remaining, size, err)
	// Output:
	// PUBLISH 128 131 mqttwire: incomplete packet
}

func ExampleScanPackets() {
	sc := bufio.NewScanner(bytes.NewReader([]byte{0xC0, 0x00, 0x40, 0x02, 0x00, 0x07, 0xE0, 0x00}))
	sc.Split(mqttwire.ScanPackets)
	for sc.Scan() {
		fmt.Printf("% X\n", sc.Bytes())
	}
	fmt.Println(sc.Err())
	// Output:
	// C0 00
	// 40 02 00 07
	// E0 00
	// <nil>
}

func ExampleMatchTopic() {
	for _, name := range []string{"sensors/kitchen/temp", "sensors", "$SYS/load"} {
		fmt.Println(name, mqttwire.MatchTopic([]byte("sensors/#"), []byte(name)), mqttwire.MatchTopic([]byte("#"), []byte(name)))
	}
	// Output:
	// sensors/kitchen/temp true true
	// sensors true true
	// $SYS/load false false
}

func ExamplePacketIDs() {
	var ids mqttwire.PacketIDs
	a, _ := ids.Next()
	b, _ := ids.Next()
	ids.Free(a) // the exchange of a has completed
	c, _ := ids.Next()
	fmt.Println(a, b, c, ids.Len())
	// Output:
	// 1 2 3 2
}

func ExampleError() {
	var d mqttwire.Decoder
	// A SUBSCRIBE whose filter puts '#' before the last level.
	_, n, err := d.Decode([]byte{0x82, 0x08, 0x00, 0x01, 0x00, 0x03, 'a', '#', '/', 0x00})
	var e *mqttwire.Error
	if errors.As(err, &e) {
		fmt.Println(e)
		fmt.Println(e.Packet(), e.Rule(), errors.Is(err, mqttwire.ErrMalformed))
		fmt.Println("the frame is", n, "bytes: a tolerant reader can skip it")
	}

	// Append refuses the same filter before writing anything.
	s := mqttwire.Subscribe{PacketID: 1, Filters: []mqttwire.TopicFilter{{Topic: []byte("a#/")}}}
	b, err := s.Append(nil)
	fmt.Println(len(b), err, errors.Is(err, mqttwire.ErrInvalid))
	// Output:
	// mqttwire: SUBSCRIBE: topic filter: '#' must be the whole last level [MQTT-4.7.1-2]
	// SUBSCRIBE MQTT-4.7.1-2 true
	// the frame is 10 bytes: a tolerant reader can skip it
	// 0 mqttwire: SUBSCRIBE: topic filter: '#' must be the whole last level [MQTT-4.7.1-2] true
}

func ExampleValidateTopicFilter() {
	for _, f := range []string{"sensors/+/temp", "sensors/#", "sensors/t+", "#/temp", ""} {
		fmt.Printf("%q: %v\n", f, mqttwire.ValidateTopicFilter([]byte(f)))
	}
	// Output:
	// "sensors/+/temp": <nil>
	// "sensors/#": <nil>
	// "sensors/t+": mqttwire: topic filter: '+' must fill a whole level [MQTT-4.7.1-3]
	// "#/temp": mqttwire: topic filter: '#' must be the whole last level [MQTT-4.7.1-2]
	// "": mqttwire: topic filter is empty [MQTT-4.7.3-1]
}

func ExampleConnect_Append() {
	c := mqttwire.Connect{
		Version:      mqttwire.V311,
		CleanSession: true,
		KeepAlive:    30,
		ClientID:     []byte("dev1"),
		// The will goes out if the connection breaks without a DISCONNECT.
		WillFlag:    true,
		WillQoS:     mqttwire.QoS1,
		WillTopic:   []byte("dev1/up"),
		WillMessage: []byte("0"),
	}
	b, err := c.Append(nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% X\n", b)

	// A password without a user name is refused [MQTT-3.1.2-22].
	c.PasswordFlag, c.Password = true, []byte("secret")
	_, err = c.Append(nil)
	fmt.Println(err)
	// Output:
	// 10 1C 00 04 4D 51 54 54 04 0E 00 1E 00 04 64 65 76 31 00 07 64 65 76 31 2F 75 70 00 01 30
	// mqttwire: CONNECT: PasswordFlag set without UsernameFlag [MQTT-3.1.2-22]
}

func ExamplePuback_Decode() {
	// A packet's own Decode takes a fixed header read by Peek and the body
	// after it, for callers that frame packets themselves.
	wire := []byte{0x40, 0x02, 0x01, 0x02}
	h, size, err := mqttwire.Peek(wire)
	if err != nil {
		panic(err)
	}
	var p mqttwire.Puback
	err = p.Decode(h, wire[size-h.Remaining:size])
	fmt.Println(p.PacketID, err)
	// Output:
	// 258 <nil>
}
