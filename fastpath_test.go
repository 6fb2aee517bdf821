package mqttwire

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/prop"
)

// Decoder.Decode takes a short way through for the commonest packets and
// hands everything else to Decoder.decode, the full path. The property below
// holds the two to the same answer on valid packets and on damaged ones.

// damages are byte values that break, or nearly break, a rule somewhere:
// U+0000, the wildcards, the level separator, a continuation byte, a lead
// byte, the floor of the topic name's quick check and the byte just below it.
var damages = []byte{0x00, '#', '+', '/', 0x80, 0xC3, 0xFF, floorName, floorName - 1, '$', 0x7F, 0x01}

// damaged is a packet's encoding, possibly changed.
type damaged struct{ wire []byte }

func (d damaged) String() string { return fmt.Sprintf("% X", d.wire) }

// genDamaged encodes a random valid packet, PUBLISH one time in two, with a
// topic name of 0 to 40 bytes, and then changes up to three bytes, each to
// one of damages or to a random value, and cuts the end off one time in
// eight.
func genDamaged() gopter.Gen {
	return func(p *gopter.GenParameters) *gopter.GenResult {
		r := p.Rng
		var pkt Packet
		if r.Intn(2) == 0 {
			pub := randPacket(r, TypePublish, 0).(*Publish)
			pub.Topic = bytes.Repeat([]byte("abc/"), 10)[:1+r.Intn(40)]
			if r.Intn(4) == 0 {
				pub.Payload = make([]byte, r.Intn(300))
			}
			pkt = pub
		} else {
			pkt = randPacket(r, Type(1+r.Intn(14)), 0)
		}
		wire := mustAppend(nil, pkt)
		for n := r.Intn(4); n > 0; n-- {
			i := r.Intn(len(wire))
			if r.Intn(2) == 0 {
				wire[i] = damages[r.Intn(len(damages))]
			} else {
				wire[i] = byte(r.Intn(256))
			}
		}
		if r.Intn(8) == 0 {
			wire = wire[:r.Intn(len(wire))]
		}
		return gopter.NewGenResult(damaged{wire}, gopter.NoShrinker)
	}
}

func TestPropertyFastPaths(t *testing.T) {
	params := gopter.DefaultTestParameters()
	params.MinSuccessfulTests = 20000
	if testing.Short() {
		params.MinSuccessfulTests = 2000
	}
	props := gopter.NewProperties(params)
	var fast, full Decoder
	props.Property("Decode and the full path agree", prop.ForAll(
		func(in damaged) string {
			for _, maxSize := range []int{0, len(in.wire) - 1} {
				fast.MaxSize, full.MaxSize = maxSize, maxSize
				fast.Version, full.Version = 0, 0
				p, n, err := fast.Decode(in.wire)
				wantP, wantN, wantErr := full.decode(in.wire)
				if n != wantN || err != wantErr {
					return fmt.Sprintf("MaxSize %d: Decode = %d, %v; full path = %d, %v", maxSize, n, err, wantN, wantErr)
				}
				if diff := cmp.Diff(wantP, p, packetOptions); diff != "" {
					return fmt.Sprintf("MaxSize %d: packet (-full path +Decode):\n%s", maxSize, diff)
				}
			}
			return ""
		},
		genDamaged(),
	))
	props.TestingRun(t)
}

// TestFastPathTopicBytes puts each of damages at each place of topic names of
// 1 to 40 bytes, where the quick check reads them in overlapping words.
func TestFastPathTopicBytes(t *testing.T) {
	var fast, full Decoder
	for size := 1; size <= 40; size++ {
		for at := range size {
			for _, c := range damages {
				topic := bytes.Repeat([]byte("t"), size)
				topic[at] = c
				wire := append([]byte{0x32, byte(2 + size + 2 + 3), 0, byte(size)}, topic...)
				wire = append(wire, 0x12, 0x34, 'p', 'a', 'y')
				p, n, err := fast.Decode(wire)
				wantP, wantN, wantErr := full.decode(wire)
				if n != wantN || err != wantErr {
					t.Fatalf("% X: Decode = %d, %v; full path = %d, %v", wire, n, err, wantN, wantErr)
				}
				if diff := cmp.Diff(wantP, p, packetOptions); diff != "" {
					t.Fatalf("% X: packet (-full path +Decode):\n%s", wire, diff)
				}
			}
		}
	}
}
