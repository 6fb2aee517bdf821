package fuzz

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mqttwire/mqttwire"
)

// FuzzDecode decodes any bytes with a Decoder of any Version and MaxSize.
// Decode must not panic; n must be within bounds and agree with Peek; the
// error must be one a decoder may return, and the same input must give the
// identical error again; a Decoder that decoded other packets before must
// give the same result as a new one; Decode must not allocate once warm. A
// decoded packet must obey the rules by a plain reading, re-encode to Size()
// bytes, to the same bytes under the 3.1.1 rules, and decode back to an
// equal packet; the packet's own Decode method must agree with the Decoder.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, version byte, maxSize uint16) {
		v := decoderVersion(version)
		d := mqttwire.Decoder{Version: v, MaxSize: int(maxSize)}
		p, n, err := d.Decode(data)
		checkDecodeResult(t, data, int(maxSize), p, n, err)
		if c, ok := p.(*mqttwire.Connect); ok && d.Version != c.Version {
			failf(t, "decode-version", "decoding a %v CONNECT left Decoder.Version at %v", c.Version, d.Version)
		}

		// A Decoder that has decoded a packet of every type, with every
		// field set, gives the same result: no state leaks between packets.
		dirty := dirtyDecoder(t)
		dirty.Version, dirty.MaxSize = v, int(maxSize)
		p2, n2, err2 := dirty.Decode(data)
		if n2 != n || err2 != err {
			failf(t, "decode-stateless", "after other packets: n = %d, err = %v; a new Decoder said %d, %v", n2, err2, n, err)
		}
		if err == nil {
			if diff := cmp.Diff(p, p2, packetOptions); diff != "" {
				failf(t, "decode-stateless", "after other packets the packet differs (-new +used):\n%s", diff)
			}
		}

		// A decoded packet obeys the rules Append enforces, read plainly:
		// the decoder accepts no bad string, QoS or identifier. The one
		// exception is an empty client id without CleanSession.
		if err == nil && !refValidPacket(p) {
			if c, ok := p.(*mqttwire.Connect); !ok || len(c.ClientID) > 0 || c.CleanSession {
				failf(t, "decode-valid", "decoded a packet that breaks the rules: %+v", p)
			}
		}

		checkDecodeAllocs(t, data, v, int(maxSize))
		checkDecodeMethod(t, data)
		if err == nil {
			lenient := v == mqttwire.V31
			if c, ok := p.(*mqttwire.Connect); ok && c.Version == mqttwire.V31 {
				lenient = true
			}
			checkReencode(t, data[:n], p, v, lenient)
		}
	})
}

// checkDecodeResult checks the result of Decoder.Decode(data) against the
// contract and against Peek.
func checkDecodeResult(t *testing.T, data []byte, maxSize int, p mqttwire.Packet, n int, err error) {
	t.Helper()
	maxFrame := 5 + mqttwire.MaxRemaining
	switch kind := decodeKind(err); {
	case err == nil:
		if p == nil {
			failf(t, "decode-result", "nil packet without an error")
		}
		if n < 2 || n > len(data) || (maxSize > 0 && n > maxSize) {
			failf(t, "decode-n", "n = %d for a packet decoded from %d bytes (MaxSize %d)", n, len(data), maxSize)
		}
		if p.Type() != mqttwire.Type(data[0]>>4) {
			failf(t, "decode-type", "decoded a %v from first byte %02X", p.Type(), data[0])
		}
	case kind == nil:
		failf(t, "decode-error-kind", "error %q (%T) is neither ErrIncomplete nor one of ErrMalformed, ErrUnsupportedVersion, ErrTooLarge", err, err)
	case p != nil:
		failf(t, "decode-result", "packet %v returned with error %v", p.Type(), err)
	case kind == mqttwire.ErrIncomplete:
		if n <= len(data) || n > maxFrame {
			failf(t, "decode-n", "ErrIncomplete with n = %d for %d bytes", n, len(data))
		}
	case kind == mqttwire.ErrTooLarge && maxSize == 0:
		failf(t, "decode-error-kind", "ErrTooLarge without a MaxSize: %v", err)
	default:
		if n < 0 || n == 1 || n > maxFrame {
			failf(t, "decode-n", "n = %d with error %v", n, err)
		}
		if kind == mqttwire.ErrTooLarge && n <= maxSize {
			failf(t, "decode-n", "ErrTooLarge for a frame of %d bytes with MaxSize %d", n, maxSize)
		}
	}

	// Decode frames as Peek does: the same size whenever Peek can tell it,
	// and Peek's error when the fixed header is broken.
	_, size, perr := mqttwire.Peek(data)
	switch {
	case perr == nil || perr == mqttwire.ErrIncomplete:
		if n != size {
			failf(t, "decode-peek", "Decode n = %d (err %v), Peek size = %d (err %v)", n, err, size, perr)
		}
		if perr == nil && err == mqttwire.ErrIncomplete {
			failf(t, "decode-peek", "Decode says incomplete, Peek has the whole %d-byte frame", size)
		}
	case err != perr || n != size:
		failf(t, "decode-peek", "Decode = %d, %v; Peek = %d, %v", n, err, size, perr)
	}
	if perr != nil && perr != mqttwire.ErrIncomplete {
		return
	}

	// With a sound and whole fixed header: a frame over MaxSize is refused
	// as too large, whether or not its body is whole, and an error names the
	// packet type of the header. While the remaining length is cut short the
	// size is only a lower bound, and the codec waits for the rest of the
	// header (at most three more bytes) before it judges.
	if maxSize > 0 && size > maxSize && refHeader(data).state == headerWhole && decodeKind(err) != mqttwire.ErrTooLarge {
		failf(t, "decode-maxsize", "a %d-byte frame with MaxSize %d: err = %v, want ErrTooLarge", size, maxSize, err)
	}
	var e *mqttwire.Error
	if errors.As(err, &e) && e.Packet() != mqttwire.Type(data[0]>>4) {
		failf(t, "decode-error-type", "error %q names packet type %v, the header says %v", err, e.Packet(), mqttwire.Type(data[0]>>4))
	}
}

// dirtyStream holds one packet of every type with every field set.
var dirtyStream = func() []byte {
	ps := []mqttwire.Packet{
		&mqttwire.Connect{Version: mqttwire.V311, CleanSession: true, KeepAlive: 9, ClientID: []byte("dirty"),
			WillFlag: true, WillQoS: mqttwire.QoS2, WillRetain: true, WillTopic: []byte("will/topic"), WillMessage: []byte("will"),
			UsernameFlag: true, Username: []byte("user"), PasswordFlag: true, Password: []byte("pass")},
		&mqttwire.Connack{SessionPresent: true},
		&mqttwire.Publish{Dup: true, QoS: mqttwire.QoS2, Retain: true, Topic: []byte("t/t"), PacketID: 77, Payload: []byte("payload")},
		&mqttwire.Puback{PacketID: 1}, &mqttwire.Pubrec{PacketID: 2}, &mqttwire.Pubrel{PacketID: 3}, &mqttwire.Pubcomp{PacketID: 4},
		&mqttwire.Subscribe{PacketID: 5, Filters: []mqttwire.TopicFilter{
			{Topic: []byte("a"), QoS: 1}, {Topic: []byte("b/#"), QoS: 2}, {Topic: []byte("+")}, {Topic: []byte("c/+/d"), QoS: 1}}},
		&mqttwire.Suback{PacketID: 5, ReturnCodes: []byte{0, 1, 2, 0x80}},
		&mqttwire.Unsubscribe{PacketID: 6, Topics: [][]byte{[]byte("a"), []byte("b/#"), []byte("+"), []byte("c")}},
		&mqttwire.Unsuback{PacketID: 6}, &mqttwire.Pingreq{}, &mqttwire.Pingresp{}, &mqttwire.Disconnect{},
	}
	var b []byte
	for _, p := range ps {
		var err error
		if b, err = p.Append(b); err != nil {
			panic(err)
		}
	}
	return b
}()

// dirtyDecoder returns a Decoder that has decoded dirtyStream.
func dirtyDecoder(t *testing.T) *mqttwire.Decoder {
	d := new(mqttwire.Decoder)
	for rest := dirtyStream; len(rest) > 0; {
		_, n, err := d.Decode(rest)
		if err != nil {
			t.Fatalf("decoding the dirty stream: %v", err)
		}
		rest = rest[n:]
	}
	return d
}

// checkDecodeAllocs checks that a warm Decoder decodes a copy of data without
// allocating. The first decode may grow the reused slices of SUBSCRIBE and
// UNSUBSCRIBE.
func checkDecodeAllocs(t *testing.T, data []byte, v mqttwire.Version, maxSize int) {
	t.Helper()
	buf := bytes.Clone(data)
	d := mqttwire.Decoder{Version: v, MaxSize: maxSize}
	d.Decode(buf)
	allocs := testing.AllocsPerRun(10, func() {
		d.Version = v
		d.Decode(buf)
	})
	if allocs != 0 {
		failf(t, "decode-allocs", "a warm Decoder allocates %v times a call", allocs)
	}
}

// checkDecodeMethod checks that the Decode method of the packet type agrees
// with a Decoder under the 3.1.1 rules, for a whole frame, and that it refuses
// a fixed header of another type.
func checkDecodeMethod(t *testing.T, data []byte) {
	t.Helper()
	h, size, err := mqttwire.Peek(data)
	if err != nil {
		return
	}
	var d mqttwire.Decoder
	want, _, werr := d.Decode(data)
	q := newPacket(h.Type)
	body := data[size-h.Remaining : size]
	gerr := q.Decode(h, body)
	if gerr != werr {
		failf(t, "decode-method", "%v.Decode = %v; Decoder.Decode = %v", h.Type, gerr, werr)
	}
	if werr == nil {
		if diff := cmp.Diff(want, q, packetOptions); diff != "" {
			failf(t, "decode-method", "%v.Decode differs from Decoder.Decode (-Decoder +method):\n%s", h.Type, diff)
		}
	}
	other := newPacket(h.Type%14 + 1)
	if err := other.Decode(h, body); !errors.Is(err, mqttwire.ErrInvalid) {
		failf(t, "decode-method", "%v.Decode of a %v header: err = %v, want ErrInvalid", other.Type(), h.Type, err)
	}
}

// checkReencode checks that the packet p decoded from frame re-encodes to
// Size() bytes, to frame itself unless lenient rules applied, and decodes
// back to an equal packet with a Decoder of Version v.
func checkReencode(t *testing.T, frame []byte, p mqttwire.Packet, v mqttwire.Version, lenient bool) {
	t.Helper()
	size := p.Size()
	prefix := []byte{0xA5, 0x5A, 0xA5}
	enc, err := p.Append(bytes.Clone(prefix))
	if err != nil {
		c, ok := p.(*mqttwire.Connect)
		if ok && len(c.ClientID) == 0 && !c.CleanSession && errors.Is(err, mqttwire.ErrInvalid) {
			return // The documented exception [MQTT-3.1.3-7].
		}
		failf(t, "reencode", "Append of a decoded %v: %v", p.Type(), err)
	}
	if !bytes.Equal(enc[:len(prefix)], prefix) {
		failf(t, "reencode", "Append changed the bytes before len(b)")
	}
	enc = enc[len(prefix):]
	if len(enc) != size {
		failf(t, "reencode-size", "Append wrote %d bytes, Size() = %d", len(enc), size)
	}
	if !lenient && !bytes.Equal(enc, frame) {
		failf(t, "reencode-canonical", "re-encoded\n% X\nwant\n% X", enc, frame)
	}
	d := mqttwire.Decoder{Version: v}
	p2, n, err := d.Decode(enc)
	if err != nil || n != len(enc) {
		failf(t, "reencode-decode", "decoding the re-encoding % X: n = %d, err = %v", enc, n, err)
	}
	if diff := cmp.Diff(p, p2, packetOptions); diff != "" {
		failf(t, "reencode-decode", "the re-encoding decodes to another packet (-first +second):\n%s", diff)
	}
	if enc2, err := p2.Append(nil); err != nil || !bytes.Equal(enc2, enc) {
		failf(t, "reencode-canonical", "encoding again gives % X, %v; want % X", enc2, err, enc)
	}
	buf := make([]byte, 0, size)
	allocs := testing.AllocsPerRun(10, func() { p.Append(buf) })
	if allocs != 0 {
		failf(t, "append-allocs", "Append into a buffer with room allocates %v times", allocs)
	}
}
