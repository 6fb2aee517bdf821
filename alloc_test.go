package mqttwire

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The zero-allocation contract: Append into a buffer with room, Decode after
// warm-up, ReadPacket in steady state, and every error path.

func TestAppendAllocs(t *testing.T) {
	buf := make([]byte, 0, 4096)
	for _, p := range benchPackets() {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := p.Append(buf); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v.Append: %v allocations, want 0", p.Type(), allocs)
		}
	}
}

func TestDecodeAllocs(t *testing.T) {
	for _, p := range benchPackets() {
		wire := mustAppend(nil, p)
		var d Decoder
		if _, _, err := d.Decode(wire); err != nil { // warm-up: reused slices grow
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if _, _, err := d.Decode(wire); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("Decode %v: %v allocations, want 0", p.Type(), allocs)
		}
	}
}

func TestReaderAllocs(t *testing.T) {
	stream, count := mixedStream(1 << 16)
	src := bytes.NewReader(stream)
	r := NewReader(src)
	readAll := func() {
		src.Reset(stream)
		r.Reset(src)
		for i := 0; ; i++ {
			_, err := r.ReadPacket()
			if err == io.EOF {
				if i != count {
					t.Fatalf("read %d packets, want %d", i, count)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	readAll() // warm-up
	if allocs := testing.AllocsPerRun(10, readAll); allocs != 0 {
		t.Errorf("ReadPacket over %d packets: %v allocations, want 0", count, allocs)
	}
}

func TestErrorPathAllocs(t *testing.T) {
	bad := [][]byte{
		{0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01}, // QoS 3
		{0xC0, 0x80, 0x80, 0x80, 0x80},             // five-byte length
		{0xC0, 0x80, 0x00},                         // non-canonical length
		{0x30, 0x05, 0x00, 0x03, 0xED, 0xA0, 0x80}, // surrogate
		{0x10, 0x0D, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x05, 0x02, 0x00, 0x3C, 0x00, 0x01, 0x61}, // level 5
		{0x82, 0x02, 0x00, 0x01}, // empty SUBSCRIBE
		{0x30, 0x05, 0x00, 0x01}, // incomplete
		{0x00, 0x00},             // reserved type
	}
	var d Decoder
	d.MaxSize = 1 << 20
	for _, b := range bad {
		allocs := testing.AllocsPerRun(100, func() {
			if _, _, err := d.Decode(b); err == nil {
				t.Fatalf("Decode(% X) succeeded", b)
			}
		})
		if allocs != 0 {
			t.Errorf("Decode(% X): %v allocations, want 0", b, allocs)
		}
	}
	invalid := []Packet{
		&Publish{QoS: 3, Topic: []byte("a")},
		&Publish{Topic: []byte("a/#")},
		&Subscribe{PacketID: 1},
		&Connect{Version: V311, PasswordFlag: true, CleanSession: true},
		&Puback{},
		&Connect{Version: 5, CleanSession: true},
		&Connect{Version: V311, ClientID: []byte("a\x00b")},
		&Connack{ReturnCode: 6},
		&Connack{Version: V31, SessionPresent: true},
		&Subscribe{PacketID: 1, Filters: []TopicFilter{{Topic: []byte("a/b#")}}},
		&Subscribe{PacketID: 1, Filters: []TopicFilter{{Topic: []byte("a"), QoS: 3}}},
		&Suback{PacketID: 1, ReturnCodes: []byte{3}},
		&Unsubscribe{PacketID: 1},
		&Unsubscribe{PacketID: 1, Topics: [][]byte{[]byte("a+")}},
		&Unsuback{},
	}
	buf := make([]byte, 0, 64)
	for _, p := range invalid {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := p.Append(buf); err == nil {
				t.Fatalf("%v.Append succeeded", p.Type())
			}
		})
		if allocs != 0 {
			t.Errorf("%v.Append error: %v allocations, want 0", p.Type(), allocs)
		}
	}
	// Every invalid golden vector, through a fresh and a warm Decoder.
	for _, v := range readVectors(t) {
		if v.expect == "ok" {
			continue
		}
		for _, d := range []*Decoder{{}, warmDecoder(t)} {
			d.Version, d.MaxSize = v.version, v.maxSize
			allocs := testing.AllocsPerRun(10, func() {
				if _, _, err := d.Decode(v.wire); err == nil {
					t.Fatalf("%s: Decode succeeded", v.name)
				}
			})
			if allocs != 0 {
				t.Errorf("%s: %v allocations, want 0", v.name, allocs)
			}
		}
	}
	tooLarge := bytes.Repeat([]byte{0xFF}, 8)
	tooLarge[0], tooLarge[4] = 0x30, 0x7F // PUBLISH declaring 268,435,455 bytes
	d.MaxSize = 1024
	if allocs := testing.AllocsPerRun(100, func() { d.Decode(tooLarge) }); allocs != 0 {
		t.Errorf("ErrTooLarge: %v allocations", allocs)
	}
}

// TestSubscribeReusesFilters decodes SUBSCRIBE packets of varying sizes with
// one Decoder: the Filters slice grows once to the largest count seen, a
// malformed packet with more filters than it has room for allocates nothing,
// and every result is the packet encoded.
func TestSubscribeReusesFilters(t *testing.T) {
	subscribe := func(n int) *Subscribe {
		s := &Subscribe{PacketID: uint16(n)}
		for i := range n {
			s.Filters = append(s.Filters, TopicFilter{Topic: []byte{'a', '/', byte('a' + i)}, QoS: QoS(i % 3)})
		}
		return s
	}
	var d Decoder
	for _, n := range []int{3, 1, 3, 2} {
		want := subscribe(n)
		wire := mustAppend(nil, want)
		got, _, err := d.Decode(wire)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Packet(want), got); diff != "" {
			t.Errorf("%d filters (-want +got):\n%s", n, diff)
		}
		if allocs := testing.AllocsPerRun(10, func() { d.Decode(wire) }); allocs != 0 {
			t.Errorf("%d filters after 3: %v allocations", n, allocs)
		}
	}
	// Five filters, the last with QoS 3: more than the slice has room for.
	bad := mustAppend(nil, subscribe(5))
	bad[len(bad)-1] = 3
	allocs := testing.AllocsPerRun(10, func() {
		if _, _, err := d.Decode(bad); !errors.Is(err, ErrMalformed) {
			t.Fatalf("Decode = %v, want ErrMalformed", err)
		}
	})
	if allocs != 0 {
		t.Errorf("malformed SUBSCRIBE with 5 filters: %v allocations", allocs)
	}
}
