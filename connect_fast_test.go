package mqttwire

import (
	"math/rand"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestConnectStraightWay holds Connect.decode, which tries a straight way
// first, to decodeExact, the exact way, on CONNECT bodies built from fields
// of every length up to 40 bytes around the checks' word boundaries, with up
// to three bytes changed to values that break, or nearly break, a rule, and
// sometimes cut short: the same error, or the same packet.
func TestConnectStraightWay(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	text := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcXYZ09-/,"[r.Intn(11)]
		}
		return b
	}
	for range 100000 {
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
		}
	}
}
