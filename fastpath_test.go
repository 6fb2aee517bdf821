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
	params.MinSuccessfulTests = 5000 // each runs three times, with cmp.Diff: about 3 s
	if testing.Short() {
		params.MinSuccessfulTests = 1000
	}
	props := gopter.NewProperties(params)
	var fast, full Decoder
	props.Property("Decode and the full path agree", prop.ForAll(
		func(in damaged) string {
			for _, maxSize := range []int{0, len(in.wire) - 1, len(in.wire)} {
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

// genPublishValue returns a Publish that may be invalid: any QoS from 0 to 3,
// Dup and PacketID set or not, and a topic name of 0 to 40 bytes with up to
// two damaged bytes.
func genPublishValue() gopter.Gen {
	return func(gp *gopter.GenParameters) *gopter.GenResult {
		r := gp.Rng
		p := &Publish{QoS: QoS(r.Intn(4)), Dup: r.Intn(4) == 0, Retain: r.Intn(2) == 0}
		if r.Intn(4) != 0 {
			p.PacketID = uint16(r.Intn(3)) // often 0, so that both rules are met and broken
		}
		p.Topic = bytes.Repeat([]byte("xyz/"), 10)[:r.Intn(41)]
		for n := r.Intn(3); n > 0 && len(p.Topic) > 0; n-- {
			p.Topic[r.Intn(len(p.Topic))] = damages[r.Intn(len(damages))]
		}
		switch r.Intn(4) {
		case 0:
			p.Payload = make([]byte, 100+r.Intn(50)) // near the one-byte remaining length's end
		case 1:
			p.Payload = make([]byte, r.Intn(20000)) // up to a three-byte remaining length
		default:
			p.Payload = make([]byte, r.Intn(16))
		}
		return gopter.NewGenResult(p, gopter.NoShrinker)
	}
}

func TestPropertyAppendFastPath(t *testing.T) {
	params := gopter.DefaultTestParameters()
	params.MinSuccessfulTests = 20000
	if testing.Short() {
		params.MinSuccessfulTests = 2000
	}
	props := gopter.NewProperties(params)
	prefix := []byte{0xEE, 0xEE}
	props.Property("Append and appendFull agree, and Append stays in a buffer of exactly Size bytes", prop.ForAll(
		func(p *Publish) string {
			want, wantErr := p.appendFull(append([]byte(nil), prefix...))
			buf := make([]byte, len(prefix), len(prefix)+p.Size())
			copy(buf, prefix)
			got, err := p.Append(buf)
			if err != wantErr {
				return fmt.Sprintf("%v: Append error %v, appendFull %v", p, err, wantErr)
			}
			if !bytes.Equal(got, want) {
				return fmt.Sprintf("%v: Append\n% X\nappendFull\n% X", p, got, want)
			}
			if err == nil && &got[0] != &buf[0] {
				return fmt.Sprintf("%v: Append grew a buffer of Size() bytes", p)
			}
			return ""
		},
		genPublishValue(),
	))
	props.TestingRun(t)
}
