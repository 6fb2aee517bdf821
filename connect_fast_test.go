package mqttwire

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestConnectStraightWay holds Connect.decode, which tries a straight way
// first, to decodeExact, the exact way, on CONNECT bodies built from fields
// of every length up to 40 bytes around the checks' word boundaries (and now
// and then far longer), sometimes with valid UTF-8 beyond ASCII, with up to
// three bytes changed to values that break, or nearly break, a rule, and
// sometimes cut short: the same error, or the same packet, down to the
// capacity of each field.
func TestConnectStraightWay(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	text := func(n int) []byte {
		if r.Intn(16) == 0 {
			n += r.Intn(80)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcXYZ09-/,"[r.Intn(11)]
		}
		if n >= 2 && r.Intn(8) == 0 {
			i := r.Intn(n - 1)
			b[i], b[i+1] = 0xC3, 0xA9 // é
		}
		return b
	}
	for range 30000 {
		p := &Connect{Version: V311, CleanSession: r.Intn(2) == 0, KeepAlive: uint16(r.Intn(65536)), ClientID: text(r.Intn(41))}
		if r.Intn(3) > 0 {
			p.WillFlag, p.WillQoS, p.WillRetain = true, QoS(r.Intn(3)), r.Intn(2) == 0
			p.WillTopic, p.WillMessage = text(1+r.Intn(40)), text(r.Intn(20))
		}
		if r.Intn(3) > 0 {
			p.UsernameFlag, p.Username = true, text(r.Intn(41))
			if r.Intn(3) > 0 {
				p.PasswordFlag, p.Password = true, text(r.Intn(20))
			}
		}
		if len(p.ClientID) == 0 {
			p.CleanSession = true
		}
		wire := mustAppend(nil, p)
		body := wire[1+sizeVarint(p.remaining()):]
		for n := r.Intn(4); n > 0; n-- {
			i := r.Intn(len(body))
			if r.Intn(2) == 0 {
				body[i] = damages[r.Intn(len(damages))]
			} else {
				body[i] = byte(r.Intn(256))
			}
		}
		if r.Intn(8) == 0 {
			body = body[:r.Intn(len(body))]
		}
		var fast, exact Connect
		errFast, errExact := fast.decode(body), exact.decodeExact(body)
		if errFast != errExact {
			t.Fatalf("body % X: decode = %v, decodeExact = %v", body, errFast, errExact)
		}
		if errFast == nil {
			if diff := cmp.Diff(&exact, &fast); diff != "" {
				t.Fatalf("body % X: decode differs from decodeExact (-exact +decode):\n%s", body, diff)
			}
			for i, f := range [][2][]byte{
				{exact.ClientID, fast.ClientID}, {exact.WillTopic, fast.WillTopic},
				{exact.WillMessage, fast.WillMessage}, {exact.Username, fast.Username}, {exact.Password, fast.Password},
			} {
				if cap(f[0]) != cap(f[1]) {
					t.Fatalf("body % X: field %d: decode gives capacity %d, decodeExact %d", body, i, cap(f[1]), cap(f[0]))
				}
			}
		}
	}
}

// TestConnectAppendStraightWay holds Connect.Append, which tries a straight
// way first, to appendExact, the exact way, on random and often invalid
// Connect values: either level or none, any flags, will QoS up to 4, fields
// of 0 to 40 bytes (sometimes far more) with up to three bytes changed to
// values that break, or nearly break, a rule, and fields set without their
// flag. The same bytes and the same error, b left as it was on an error, and
// no new array when b has exactly Size() bytes of room.
func TestConnectAppendStraightWay(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	bad := append([]byte{','}, damages...)
	bad = append(bad, '+'-1)
	field := func() []byte {
		n := r.Intn(41)
		if r.Intn(16) == 0 {
			n = 41 + r.Intn(200)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcXYZ09-/,"[r.Intn(11)]
		}
		for k := r.Intn(4); k > 0 && n > 0; k-- {
			b[r.Intn(n)] = bad[r.Intn(len(bad))]
		}
		if r.Intn(8) == 0 {
			b = nil
		}
		return b
	}
	versions := []Version{V311, V311, V311, V31, 0, 5}
	for range 200000 {
		c := &Connect{
			Version: versions[r.Intn(len(versions))], CleanSession: r.Intn(2) == 0, KeepAlive: uint16(r.Intn(65536)),
			ClientID: field(), WillFlag: r.Intn(3) > 0, WillQoS: QoS(r.Intn(5)), WillRetain: r.Intn(2) == 0,
			UsernameFlag: r.Intn(3) > 0, PasswordFlag: r.Intn(3) > 0,
		}
		// Fields mostly go with their flags, but not always.
		if c.WillFlag || r.Intn(8) == 0 {
			c.WillTopic, c.WillMessage = field(), field()
		}
		if c.UsernameFlag || r.Intn(8) == 0 {
			c.Username = field()
		}
		if c.PasswordFlag || r.Intn(8) == 0 {
			c.Password = field()
		}
		if !c.WillFlag && r.Intn(2) == 0 {
			c.WillQoS, c.WillRetain = 0, false
		}

		prefix := []byte{0xA5, 0x5A}[:r.Intn(3)]
		exact, errExact := c.appendExact(bytes.Clone(prefix))
		size := c.Size()
		b := append(make([]byte, 0, len(prefix)+size+r.Intn(3)*r.Intn(9)), prefix...)
		if r.Intn(8) == 0 {
			b = bytes.Clone(prefix) // no room: the exact way grows b
		}
		got, err := c.Append(b)
		if err != errExact {
			t.Fatalf("%v: Append = %v, appendExact = %v", c, err, errExact)
		}
		if !bytes.Equal(b, prefix) {
			t.Fatalf("%v: Append changed b[:len(b)]", c)
		}
		if err != nil {
			if len(got) != len(b) || cap(got) != cap(b) || cap(b) > 0 && &got[:1][0] != &b[:1][0] {
				t.Fatalf("%v: Append failed with %v but did not return b", c, err)
			}
			continue
		}
		if !bytes.Equal(got, exact) {
			t.Fatalf("%v: Append = % X, appendExact = % X", c, got, exact)
		}
		if len(got)-len(prefix) != size {
			t.Fatalf("%v: Append wrote %d bytes, Size() = %d", c, len(got)-len(prefix), size)
		}
		if cap(b)-len(b) >= size && &got[0] != &b[:1][0] {
			t.Fatalf("%v: Append into a buffer with room made a new array", c)
		}
	}
}
