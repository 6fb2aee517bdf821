package mqttwire

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/prop"
)

// Properties: random valid packets of every type round-trip through Append
// and Decode, and a stream of random packets cut at random points reads back
// the same through Reader and through ScanPackets.

// textPieces are the pieces random strings are made of: ASCII, multi-byte
// characters, U+FEFF, a control character and a non-character, all valid.
var textPieces = []string{"a", "b", "sensor", "0", "-", "_", " ", "é", "日本", "😀", "\uFEFF", "\x01", "\uFFFF", "$", "x.y"}

func randText(r *rand.Rand, maxPieces int) []byte {
	var b []byte
	for n := r.Intn(maxPieces + 1); n > 0; n-- {
		b = append(b, textPieces[r.Intn(len(textPieces))]...)
	}
	return b
}

func randBytes(r *rand.Rand, max int) []byte {
	b := make([]byte, r.Intn(max+1))
	r.Read(b)
	return b
}

func randTopicName(r *rand.Rand) []byte {
	levels := make([][]byte, 1+r.Intn(4))
	for i := range levels {
		levels[i] = randText(r, 2)
	}
	name := bytes.Join(levels, []byte("/"))
	if len(name) == 0 {
		name = []byte("t")
	}
	return name
}

func randTopicFilter(r *rand.Rand) []byte {
	levels := make([][]byte, 1+r.Intn(4))
	for i := range levels {
		switch r.Intn(4) {
		case 0:
			levels[i] = []byte("+")
		default:
			levels[i] = randText(r, 2)
		}
	}
	if r.Intn(3) == 0 {
		levels[len(levels)-1] = []byte("#")
	}
	filter := bytes.Join(levels, []byte("/"))
	if len(filter) == 0 {
		filter = []byte("f")
	}
	return filter
}

func randID(r *rand.Rand) uint16 { return uint16(1 + r.Intn(65535)) }

func randQoS(r *rand.Rand) QoS { return QoS(r.Intn(3)) }

// randPacket returns a random valid packet of type t, for a session at level
// v (which matters to CONNACK and SUBACK).
func randPacket(r *rand.Rand, t Type, v Version) Packet {
	switch t {
	case TypeConnect:
		c := &Connect{Version: V311, CleanSession: r.Intn(2) == 0, KeepAlive: uint16(r.Intn(65536)), ClientID: randText(r, 4)}
		if r.Intn(2) == 0 {
			c.Version = V31
		}
		if len(c.ClientID) == 0 {
			c.CleanSession = true // [MQTT-3.1.3-7]
		}
		if r.Intn(2) == 0 {
			c.WillFlag, c.WillQoS, c.WillRetain = true, randQoS(r), r.Intn(2) == 0
			c.WillTopic, c.WillMessage = randTopicName(r), randBytes(r, 20)
		}
		if r.Intn(2) == 0 {
			c.UsernameFlag, c.Username = true, randText(r, 3)
			if r.Intn(2) == 0 {
				c.PasswordFlag, c.Password = true, randBytes(r, 12)
			}
		}
		return c
	case TypeConnack:
		c := &Connack{ReturnCode: ConnectReturnCode(r.Intn(6)), Version: v}
		c.SessionPresent = c.ReturnCode == Accepted && v != V31 && r.Intn(2) == 0
		return c
	case TypePublish:
		p := &Publish{QoS: randQoS(r), Retain: r.Intn(2) == 0, Topic: randTopicName(r), Payload: randBytes(r, 300)}
		if p.QoS > 0 {
			p.PacketID, p.Dup = randID(r), r.Intn(2) == 0
		}
		return p
	case TypePuback:
		return &Puback{PacketID: randID(r)}
	case TypePubrec:
		return &Pubrec{PacketID: randID(r)}
	case TypePubrel:
		return &Pubrel{PacketID: randID(r)}
	case TypePubcomp:
		return &Pubcomp{PacketID: randID(r)}
	case TypeSubscribe:
		s := &Subscribe{PacketID: randID(r), Filters: make([]TopicFilter, 1+r.Intn(5))}
		for i := range s.Filters {
			s.Filters[i] = TopicFilter{Topic: randTopicFilter(r), QoS: randQoS(r)}
		}
		return s
	case TypeSuback:
		s := &Suback{PacketID: randID(r), ReturnCodes: make([]byte, 1+r.Intn(5)), Version: v}
		for i := range s.ReturnCodes {
			s.ReturnCodes[i] = byte(r.Intn(3))
			if v != V31 && r.Intn(4) == 0 {
				s.ReturnCodes[i] = SubackFailure
			}
		}
		return s
	case TypeUnsubscribe:
		u := &Unsubscribe{PacketID: randID(r), Topics: make([][]byte, 1+r.Intn(5))}
		for i := range u.Topics {
			u.Topics[i] = randTopicFilter(r)
		}
		return u
	case TypeUnsuback:
		return &Unsuback{PacketID: randID(r)}
	case TypePingreq:
		return &Pingreq{}
	case TypePingresp:
		return &Pingresp{}
	}
	return &Disconnect{}
}

// genPacket generates a random valid packet of any type, in a 3.1.1 session.
func genPacket() gopter.Gen {
	return func(p *gopter.GenParameters) *gopter.GenResult {
		t := Type(1 + p.Rng.Intn(14))
		return gopter.NewGenResult(randPacket(p.Rng, t, 0), gopter.NoShrinker)
	}
}

// stream is a random session: a CONNECT that sets the level, then packets of
// every type, with the points at which the bytes are cut into reads.
type stream struct {
	packets []Packet
	wire    []byte
	cuts    []int // read sizes, each at least 1
}

func (s stream) String() string {
	return fmt.Sprintf("%d packets, %d bytes, reads %v", len(s.packets), len(s.wire), s.cuts)
}

func genStream() gopter.Gen {
	return func(p *gopter.GenParameters) *gopter.GenResult {
		r := p.Rng
		connect := randPacket(r, TypeConnect, 0).(*Connect)
		s := stream{packets: []Packet{connect}}
		for n := r.Intn(30); n > 0; n-- {
			s.packets = append(s.packets, randPacket(r, Type(2+r.Intn(13)), connect.Version))
		}
		s.wire = mustAppend(nil, s.packets...)
		for left := len(s.wire); left > 0; {
			n := 1 + r.Intn(min(left, 1+r.Intn(64)))
			s.cuts = append(s.cuts, n)
			left -= n
		}
		return gopter.NewGenResult(s, gopter.NoShrinker)
	}
}

// chunkReader returns the bytes in reads of the given sizes.
type chunkReader struct {
	b     []byte
	sizes []int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := len(c.b)
	if len(c.sizes) > 0 {
		n = min(n, c.sizes[0])
		c.sizes = c.sizes[1:]
	}
	n = copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

func properties(t *testing.T) *gopter.Properties {
	params := gopter.DefaultTestParameters()
	params.MinSuccessfulTests = 1000
	if testing.Short() {
		params.MinSuccessfulTests = 200
	}
	return gopter.NewProperties(params)
}

func TestPropertyRoundTrip(t *testing.T) {
	props := properties(t)
	var d Decoder
	props.Property("Append then Decode gives an equal packet and the same bytes", prop.ForAll(
		func(p Packet) string {
			wire, err := p.Append(nil)
			if err != nil {
				return "Append: " + err.Error()
			}
			if len(wire) != p.Size() {
				return fmt.Sprintf("Append wrote %d bytes, Size() = %d", len(wire), p.Size())
			}
			d.Version = 0
			got, n, err := d.Decode(wire)
			if err != nil || n != len(wire) {
				return fmt.Sprintf("Decode: n = %d of %d, %v", n, len(wire), err)
			}
			if diff := cmp.Diff(p, got, packetOptions); diff != "" {
				return "decoded packet (-want +got):\n" + diff
			}
			again, err := got.Append(nil)
			if err != nil || !bytes.Equal(again, wire) {
				return fmt.Sprintf("re-encoding differs: %v\n% X\n% X", err, again, wire)
			}
			return ""
		},
		genPacket(),
	))
	props.TestingRun(t)
}

func TestPropertySplitInvariance(t *testing.T) {
	props := properties(t)
	props.Property("Reader reads the same packets whatever the reads", prop.ForAll(
		func(s stream) string {
			r := NewReaderSize(&chunkReader{b: s.wire, sizes: s.cuts}, 16)
			for i, want := range s.packets {
				got, err := r.ReadPacket()
				if err != nil {
					return fmt.Sprintf("packet %d: %v", i, err)
				}
				if diff := cmp.Diff(want, got, packetOptions); diff != "" {
					return fmt.Sprintf("packet %d (-want +got):\n%s", i, diff)
				}
			}
			if _, err := r.ReadPacket(); err != io.EOF {
				return fmt.Sprintf("after the last packet: %v, want io.EOF", err)
			}
			return ""
		},
		genStream(),
	))
	props.Property("ScanPackets yields the same frames whatever the reads", prop.ForAll(
		func(s stream) string {
			sc := bufio.NewScanner(&chunkReader{b: s.wire, sizes: s.cuts})
			sc.Buffer(make([]byte, 16), 1<<20)
			sc.Split(ScanPackets)
			rest := s.wire
			for i, p := range s.packets {
				if !sc.Scan() {
					return fmt.Sprintf("packet %d: scan stopped: %v", i, sc.Err())
				}
				if want := rest[:p.Size()]; !bytes.Equal(sc.Bytes(), want) {
					return fmt.Sprintf("packet %d: token\n% X\nwant\n% X", i, sc.Bytes(), want)
				}
				rest = rest[p.Size():]
			}
			if sc.Scan() || sc.Err() != nil {
				return fmt.Sprintf("after the last packet: more tokens or %v", sc.Err())
			}
			return ""
		},
		genStream(),
	))
	props.Property("a stream cut short ends with io.ErrUnexpectedEOF", prop.ForAll(
		func(s stream) string {
			cut := s.wire[:len(s.wire)-1]
			r := NewReader(&chunkReader{b: cut, sizes: s.cuts})
			for i := range len(s.packets) - 1 {
				if _, err := r.ReadPacket(); err != nil {
					return fmt.Sprintf("packet %d: %v", i, err)
				}
			}
			if _, err := r.ReadPacket(); err != io.ErrUnexpectedEOF {
				return fmt.Sprintf("last packet: %v, want io.ErrUnexpectedEOF", err)
			}
			return ""
		},
		genStream(),
	))
	props.TestingRun(t)
}
