package main

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mqttwire/mqttwire"
)

// streamTest is one connection wired to a pipeline that records every event
// as its -raw text line ("@offset TYPE fields").
type streamTest struct {
	conn  *conn
	lines []string
}

func newStreamTest(t *testing.T, maxPacket int) *streamTest {
	t.Helper()
	if maxPacket == 0 {
		maxPacket = 1 << 20
	}
	st := &streamTest{}
	o := &options{maxPacket: maxPacket, preview: 8}
	p := &pipeline{opts: o, out: bufio.NewWriter(io.Discard), stats: &stats{}, raw: true}
	p.tap = func(e *event) {
		st.lines = append(st.lines, strings.TrimSuffix(string(p.appendText(nil, e)), "\n"))
	}
	st.conn = newConn(p, netip.AddrPort{}, netip.AddrPort{})
	return st
}

func (st *streamTest) client() *half { return &st.conn.halves[0] }
func (st *streamTest) server() *half { return &st.conn.halves[1] }

// wire encodes packets one after another.
func wire(t testing.TB, packets ...mqttwire.Packet) []byte {
	t.Helper()
	var b []byte
	for _, p := range packets {
		var err error
		if b, err = p.Append(b); err != nil {
			t.Fatalf("%v: %v", p.Type(), err)
		}
	}
	return b
}

// sample is a stream that uses every packet type a client sends.
func sample(t testing.TB) []byte {
	return wire(t,
		&mqttwire.Connect{Version: mqttwire.V311, CleanSession: true, KeepAlive: 30, ClientID: []byte("c1"),
			WillFlag: true, WillQoS: 1, WillTopic: []byte("w/t"), WillMessage: []byte("bye"),
			UsernameFlag: true, Username: []byte("u"), PasswordFlag: true, Password: []byte("p")},
		&mqttwire.Subscribe{PacketID: 1, Filters: []mqttwire.TopicFilter{{Topic: []byte("a/+"), QoS: 1}, {Topic: []byte("#")}}},
		&mqttwire.Publish{Topic: []byte("a/b"), Payload: []byte("hello")},
		&mqttwire.Publish{QoS: 1, PacketID: 7, Retain: true, Topic: []byte("a/c"), Payload: bytes.Repeat([]byte("x"), 300)},
		&mqttwire.Publish{QoS: 2, PacketID: 8, Dup: true, Topic: []byte("a/d"), Payload: []byte{0, 0xff, 1}},
		&mqttwire.Pubrel{PacketID: 8},
		&mqttwire.Puback{PacketID: 3},
		&mqttwire.Pingreq{},
		&mqttwire.Unsubscribe{PacketID: 2, Topics: [][]byte{[]byte("a/+")}},
		&mqttwire.Disconnect{},
	)
}

func TestStreamSplitAnywhere(t *testing.T) {
	stream := sample(t)
	whole := newStreamTest(t, 0)
	whole.client().feed(stream)
	whole.client().finish()
	if len(whole.lines) != 10 {
		t.Fatalf("whole stream: %d events, want 10:\n%s", len(whole.lines), strings.Join(whole.lines, "\n"))
	}
	for cut := 1; cut < len(stream); cut++ {
		st := newStreamTest(t, 0)
		st.client().feed(stream[:cut])
		st.client().feed(stream[cut:])
		st.client().finish()
		if diff := cmp.Diff(whole.lines, st.lines); diff != "" {
			t.Fatalf("cut at %d (-whole +cut):\n%s", cut, diff)
		}
	}
	st := newStreamTest(t, 0)
	for i := range stream {
		st.client().feed(stream[i : i+1])
	}
	st.client().finish()
	if diff := cmp.Diff(whole.lines, st.lines); diff != "" {
		t.Fatalf("byte by byte (-whole +bytes):\n%s", diff)
	}
}

func TestStreamResyncMidPacket(t *testing.T) {
	stream := sample(t)
	// Start inside the CONNECT, as a capture that begins mid-connection does.
	st := newStreamTest(t, 0)
	st.client().syncing = true
	st.client().feed(stream[5:])
	st.client().finish()
	if !strings.HasPrefix(st.lines[0], "@") || !strings.Contains(st.lines[0], "RESYNC skipped=") {
		t.Fatalf("first event %q, want a RESYNC", st.lines[0])
	}
	if got := st.lines[1]; !strings.Contains(got, "SUBSCRIBE id=1") {
		t.Fatalf("after the resync: %q, want the SUBSCRIBE", got)
	}
	if len(st.lines) != 10 {
		t.Fatalf("%d events, want RESYNC and 9 packets:\n%s", len(st.lines), strings.Join(st.lines, "\n"))
	}
}

func TestStreamResyncWaitsForCandidate(t *testing.T) {
	// The stream starts with the tail of a payload; the next PUBLISH arrives
	// one byte at a time. The boundary is found only once its packet and
	// the next header are there.
	pub := wire(t, &mqttwire.Publish{QoS: 1, PacketID: 9, Topic: []byte("t"), Payload: []byte("payload")},
		&mqttwire.Pingreq{})
	stream := append([]byte("tail of a payload"), pub...)
	st := newStreamTest(t, 0)
	st.client().syncing = true
	for i := range stream {
		st.client().feed(stream[i : i+1])
	}
	st.client().finish()
	want := []string{
		"@17 RESYNC skipped=17",
		`@17 PUBLISH topic="t" qos=1 id=9 dup=0 retain=0 payload=7 "payload"`,
		"@31 PINGREQ",
	}
	if diff := cmp.Diff(want, st.lines); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestStreamResyncAtEnd(t *testing.T) {
	// A candidate that waits for more bytes must not hide a real packet
	// behind it when the stream ends: "2x" looks like the start of a
	// 122-byte PUBLISH.
	stream := append([]byte("abc2xyz"), 0xe0, 0x00)
	st := newStreamTest(t, 0)
	st.client().syncing = true
	st.client().feed(stream)
	st.client().finish()
	want := []string{"@7 RESYNC skipped=7", "@7 DISCONNECT"}
	if diff := cmp.Diff(want, st.lines); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestStreamGapInsidePacket(t *testing.T) {
	big := &mqttwire.Publish{QoS: 1, PacketID: 4, Topic: []byte("big"), Payload: bytes.Repeat([]byte("y"), 5000)}
	stream := wire(t, big, &mqttwire.Puback{PacketID: 5})
	st := newStreamTest(t, 0)
	h := st.client()
	h.feed(stream[:1000])
	h.gap(1448) // bytes 1000-2447 were never captured
	h.feed(stream[2448:])
	h.finish()
	want := []string{
		"@1000 GAP missing=1448 lost=PUBLISH size=5010",
		"@5010 PUBACK id=5",
	}
	if diff := cmp.Diff(want, st.lines); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestStreamGapBetweenPackets(t *testing.T) {
	stream := wire(t, &mqttwire.Pingreq{}, &mqttwire.Puback{PacketID: 1}, &mqttwire.Puback{PacketID: 2},
		&mqttwire.Pingreq{})
	st := newStreamTest(t, 0)
	h := st.client()
	h.feed(stream[:2])
	h.gap(5) // PUBACK 1 and the first byte of PUBACK 2
	h.feed(stream[7:])
	h.finish()
	want := []string{
		"@0 PINGREQ",
		"@2 GAP missing=5",
		"@10 RESYNC skipped=3",
		"@10 PINGREQ",
	}
	if diff := cmp.Diff(want, st.lines); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestStreamMalformed(t *testing.T) {
	// A PUBLISH with QoS 3 has an intact frame: it is reported and skipped.
	// A reserved type 0 cannot be delimited: the half resynchronises.
	stream := []byte{0x36, 0x07, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x01, 0xc0, 0x00, 0x00, 0x05, 0xd0, 0x00, 0xc0, 0x00}
	st := newStreamTest(t, 0)
	st.client().feed(stream)
	st.client().finish()
	want := []string{
		`@0 PUBLISH error="mqttwire: PUBLISH: QoS 3 [MQTT-3.3.1-4]" size=9`,
		"@9 PINGREQ",
		`@11 RESERVED(0) error="mqttwire: reserved packet type 0 or 15 (§2.2.1)"`,
		"@13 RESYNC skipped=2",
		"@13 PINGRESP",
		"@15 PINGREQ",
	}
	if diff := cmp.Diff(want, st.lines); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestStreamOversizedPublish(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 30000)
	pub := &mqttwire.Publish{QoS: 1, PacketID: 2, Topic: []byte("huge"), Payload: payload}
	stream := wire(t, pub, &mqttwire.Pingreq{})
	st := newStreamTest(t, bigPrefix)
	h := st.client()
	peak := 0
	for len(stream) > 0 {
		n := min(len(stream), 1448)
		h.feed(stream[:n])
		stream = stream[n:]
		peak = max(peak, cap(h.buf), cap(h.big))
	}
	h.finish()
	want := []string{
		`@0 PUBLISH topic="huge" qos=1 id=2 dup=0 retain=0 payload=300000 "01234567"…`,
		"@300012 PINGREQ",
	}
	if diff := cmp.Diff(want, st.lines); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if peak > 2*bigPrefix {
		t.Errorf("buffers grew to %d bytes for a packet over -max-packet", peak)
	}
}

func TestStreamOversizedOther(t *testing.T) {
	sub := &mqttwire.Subscribe{PacketID: 1}
	for range 3000 {
		sub.Filters = append(sub.Filters, mqttwire.TopicFilter{Topic: bytes.Repeat([]byte("f"), 30)})
	}
	stream := wire(t, sub, &mqttwire.Pingreq{})
	st := newStreamTest(t, bigPrefix)
	for len(stream) > 0 {
		n := min(len(stream), 1000)
		st.client().feed(stream[:n])
		stream = stream[n:]
	}
	want := []string{
		`@0 SUBSCRIBE error="mqttdump: packet larger than -max-packet, skipped" size=99006`,
		"@99006 PINGREQ",
	}
	if diff := cmp.Diff(want, st.lines); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestStreamIncomplete(t *testing.T) {
	stream := wire(t, &mqttwire.Pingreq{}, &mqttwire.Publish{Topic: []byte("t"), Payload: []byte("0123456789")})
	st := newStreamTest(t, 0)
	st.client().feed(stream[:8])
	st.client().finish()
	want := []string{"@0 PINGREQ", "@2 INCOMPLETE packet=PUBLISH have=6 size=15"}
	if diff := cmp.Diff(want, st.lines); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestStreamVersionFromConnect(t *testing.T) {
	// A 3.1 CONNECT sets the level of both directions: the server's CONNACK
	// may then carry a non-zero "topic name compression" byte, and a SUBACK
	// failure code 0x80, which 3.1 does not have, is refused.
	st := newStreamTest(t, 0)
	st.client().feed(wire(t, &mqttwire.Connect{Version: mqttwire.V31, CleanSession: true, ClientID: []byte("old")}))
	st.server().feed([]byte{0x20, 0x02, 0x01, 0x00, 0x90, 0x03, 0x00, 0x01, 0x80})
	want := []string{
		`@0 CONNECT level=3 client="old" clean=1 keepalive=0`,
		"@0 CONNACK session-present=0 rc=0 (connection accepted)",
		`@4 SUBACK error="mqttwire: SUBACK: return code 0x80 in a 3.1 session [MQTT-3.9.3-2]" size=5`,
	}
	if diff := cmp.Diff(want, st.lines); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if got := string(st.conn.clientID); got != "old" {
		t.Errorf("client id %q", got)
	}
}

func TestStreamRandomBytes(t *testing.T) {
	// Whatever arrives, nothing panics and the buffers stay bounded.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		st := newStreamTest(t, bigPrefix)
		h := st.client()
		h.syncing = rng.IntN(2) == 0
		for range 50 {
			b := make([]byte, rng.IntN(3000))
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			if rng.IntN(10) == 0 {
				h.gap(rng.IntN(5000))
			}
			h.feed(b)
			if len(h.buf) > resyncWindow+8 && h.syncing || len(h.buf) > bigPrefix+3000 {
				t.Fatalf("buffer of %d bytes (syncing %v)", len(h.buf), h.syncing)
			}
		}
		h.finish()
	}
}

// FuzzStream feeds arbitrary bytes, cut in two at an arbitrary point, to a
// half that starts synchronised or not: nothing may panic, and the buffers
// stay bounded.
func FuzzStream(f *testing.F) {
	stream := sample(f)
	f.Add(stream, uint16(7), false)
	f.Add(stream[5:], uint16(100), true)
	f.Add([]byte{0x36, 0x07, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x01, 0xc0, 0x00}, uint16(3), false)
	f.Add([]byte{0x30, 0xff, 0xff, 0xff, 0x7f, 0x00}, uint16(2), true)
	f.Fuzz(func(t *testing.T, b []byte, cut uint16, syncing bool) {
		st := newStreamTest(t, bigPrefix)
		h := st.client()
		h.syncing = syncing
		c := min(int(cut), len(b))
		h.feed(b[:c])
		h.feed(b[c:])
		if len(h.buf) > len(b) {
			t.Fatalf("buffer of %d bytes from %d bytes of input", len(h.buf), len(b))
		}
		h.finish()
	})
}
