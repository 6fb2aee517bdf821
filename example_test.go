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
