package mqttwire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// vector is one golden wire vector from testdata/<packet>/<case>.hex.
type vector struct {
	name      string // "publish/qos1-empty-payload"
	wire      []byte
	expect    string // "ok", "malformed", "unsupported-version", "incomplete", "too-large"
	rule      string // text the error message must contain, from "malformed [MQTT-…]"
	version   Version
	maxSize   int
	canonical bool
}

// readVectors parses every .hex file under testdata. A line is hex bytes with
// an optional "# comment"; a line that starts with "# key: value" and names a
// known key is a directive.
func readVectors(t testing.TB) []vector {
	t.Helper()
	paths, err := filepath.Glob("testdata/*/*.hex")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	var vs []vector
	for _, path := range paths {
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(path), "testdata/"), ".hex")
		v := vector{name: name, canonical: true}
		var hexDigits strings.Builder
		for i, line := range strings.Split(string(text), "\n") {
			if strings.HasPrefix(line, "#") {
				key, value, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), ":")
				value = strings.TrimSpace(value)
				if !ok {
					continue
				}
				switch key {
				case "expect":
					v.expect, v.rule, _ = strings.Cut(value, " ")
					v.rule = strings.Trim(strings.TrimSpace(v.rule), "[]")
				case "version":
					n, err := strconv.Atoi(value)
					if err != nil {
						t.Fatalf("%s:%d: version: %v", path, i+1, err)
					}
					v.version = Version(n)
				case "max-size":
					if v.maxSize, err = strconv.Atoi(value); err != nil {
						t.Fatalf("%s:%d: max-size: %v", path, i+1, err)
					}
				case "canonical":
					v.canonical = value != "no"
				}
				continue
			}
			data, _, _ := strings.Cut(line, "#")
			hexDigits.WriteString(strings.ReplaceAll(strings.TrimSpace(data), " ", ""))
		}
		if v.wire, err = hex.DecodeString(hexDigits.String()); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if v.expect == "" {
			t.Fatalf("%s: no '# expect:' line", path)
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors under testdata")
	}
	return vs
}

// packetOptions compares decoded packets: an empty byte slice equals nil.
var packetOptions = cmp.Options{cmpopts.EquateEmpty()}

var expectKinds = map[string]error{
	"malformed":           ErrMalformed,
	"unsupported-version": ErrUnsupportedVersion,
	"incomplete":          ErrIncomplete,
	"too-large":           ErrTooLarge,
}

// TestGolden walks every golden vector. A valid one must decode to the
// expected packet, re-encode to the same bytes (unless marked non-canonical),
// leave trailing bytes alone, and give ErrIncomplete with the right count for
// every strict prefix. An invalid one must give the expected error.
func TestGolden(t *testing.T) {
	vs := readVectors(t)
	seen := map[string]bool{}
	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			d := Decoder{Version: v.version, MaxSize: v.maxSize}
			p, n, err := d.Decode(v.wire)
			// A decoder whose reused slices have room decodes alike.
			warm := warmDecoder(t)
			warm.Version, warm.MaxSize = v.version, v.maxSize
			if wp, wn, werr := warm.Decode(v.wire); werr != err || wn != n || !cmp.Equal(wp, p, packetOptions) {
				t.Errorf("a warm decoder gave %v, %d, %v; a fresh one %v, %d, %v", wp, wn, werr, p, n, err)
			}
			if v.expect != "ok" {
				kind, ok := expectKinds[v.expect]
				if !ok {
					t.Fatalf("unknown expectation %q", v.expect)
				}
				if !errors.Is(err, kind) {
					t.Fatalf("Decode(% X) = %v, %v; want %v", v.wire, p, err, kind)
				}
				if p != nil {
					t.Errorf("Decode returned packet %#v with error", p)
				}
				if v.rule != "" && !strings.Contains(err.Error(), v.rule) {
					t.Errorf("error %q does not name %q", err, v.rule)
				}
				// The error names the packet type of the first byte, unless
				// that type is reserved.
				if e := (*Error)(nil); errors.As(err, &e) {
					want := Type(v.wire[0] >> 4)
					if reservedType(v.wire[0]) {
						want = 0
					}
					if e.Packet() != want || want != 0 && !strings.Contains(err.Error(), want.String()+": ") {
						t.Errorf("error %q names packet %v, want %v", err, e.Packet(), want)
					}
				}
				if kind == ErrMalformed || kind == ErrTooLarge || kind == ErrUnsupportedVersion {
					if n != 0 && n != len(v.wire) {
						t.Errorf("n = %d for a malformed frame of %d bytes", n, len(v.wire))
					}
				}
				if kind == ErrIncomplete && n <= len(v.wire) {
					t.Errorf("ErrIncomplete with n = %d <= len %d", n, len(v.wire))
				}
				return
			}
			seen[v.name] = true
			if err != nil {
				t.Fatalf("Decode(% X): %v", v.wire, err)
			}
			if n != len(v.wire) {
				t.Errorf("n = %d, want %d", n, len(v.wire))
			}
			want, ok := goldenPackets[v.name]
			if !ok {
				t.Fatalf("no expected packet in goldenPackets")
			}
			if diff := cmp.Diff(want, p, packetOptions); diff != "" {
				t.Errorf("decoded packet (-want +got):\n%s", diff)
			}
			if p.Size() != len(v.wire) && v.canonical {
				t.Errorf("Size() = %d, want %d", p.Size(), len(v.wire))
			}
			enc, err := p.Append([]byte{0xAA})
			if err != nil {
				if c, ok := p.(*Connect); ok && len(c.ClientID) == 0 && !c.CleanSession && errors.Is(err, ErrInvalid) {
					// The one documented exception: the decoder accepts an
					// empty client id with CleanSession 0 so that a broker can
					// answer 0x02, but no encoder may send it [MQTT-3.1.3-7].
					return
				}
				t.Fatalf("Append: %v", err)
			}
			if enc[0] != 0xAA {
				t.Errorf("Append changed b[:len(b)]")
			}
			enc = enc[1:]
			if v.canonical && !bytes.Equal(enc, v.wire) {
				t.Errorf("re-encoded\n% X\nwant\n% X", enc, v.wire)
			}
			if len(enc) != p.Size() {
				t.Errorf("Append wrote %d bytes, Size() = %d", len(enc), p.Size())
			}
			// Re-encoded bytes decode to the same packet.
			var d2 Decoder
			d2.Version = v.version
			p2, _, err := d2.Decode(enc)
			if err != nil {
				t.Fatalf("decoding the re-encoding: %v", err)
			}
			if diff := cmp.Diff(p, p2, packetOptions); diff != "" && v.canonical {
				t.Errorf("re-decoded packet (-first +second):\n%s", diff)
			}
			// Trailing bytes are left alone, also by appending to a decoded
			// field: no byte slice reaches past the packet.
			long := append(append([]byte{}, v.wire...), 0xC0, 0x00, 0xFF)
			d3 := Decoder{Version: v.version}
			p3, n, err := d3.Decode(long)
			if err != nil || n != len(v.wire) {
				t.Errorf("with trailing bytes: n = %d, err = %v; want %d, nil", n, err, len(v.wire))
			} else {
				for _, field := range byteFields(p3) {
					_ = append(field, 0xAA, 0xAA, 0xAA)
				}
				if tail := long[n:]; !bytes.Equal(tail, []byte{0xC0, 0x00, 0xFF}) {
					t.Errorf("appending to a decoded field changed the bytes after the packet to % X", tail)
				}
				// The same through the packet's Decode method, given a body
				// longer than the remaining length.
				h, _, _ := Peek(v.wire)
				hl := len(v.wire) - h.Remaining
				if err := p3.Decode(h, long[hl:]); err == nil {
					for _, field := range byteFields(p3) {
						_ = append(field, 0xAA, 0xAA, 0xAA)
					}
					if tail := long[n:]; !bytes.Equal(tail, []byte{0xC0, 0x00, 0xFF}) {
						t.Errorf("appending to a field from %v.Decode changed the bytes after the packet to % X", h.Type, tail)
					}
				}
			}
			// Every strict prefix is incomplete, and says how much is missing.
			for i := 0; i < len(v.wire); i++ {
				d4 := Decoder{Version: v.version}
				_, n, err := d4.Decode(v.wire[:i])
				if err != ErrIncomplete {
					t.Fatalf("prefix of %d bytes: err = %v, want ErrIncomplete", i, err)
				}
				if n <= i || n > len(v.wire) {
					t.Errorf("prefix of %d bytes: n = %d, want in (%d, %d]", i, n, i, len(v.wire))
				}
				if i >= fixedHeaderLen(v.wire) && n != len(v.wire) {
					t.Errorf("prefix of %d bytes with a whole header: n = %d, want %d", i, n, len(v.wire))
				}
				if _, size, err := Peek(v.wire[:i]); err != ErrIncomplete || size != n {
					t.Errorf("Peek(prefix %d) = %d, %v; Decode said %d", i, size, err, n)
				}
			}
		})
	}
	for name := range goldenPackets {
		if !seen[name] {
			t.Errorf("goldenPackets[%q] has no valid vector", name)
		}
	}
}

// byteFields returns every byte-slice field of p.
func byteFields(p Packet) [][]byte {
	switch p := p.(type) {
	case *Connect:
		return [][]byte{p.ClientID, p.WillTopic, p.WillMessage, p.Username, p.Password}
	case *Publish:
		return [][]byte{p.Topic, p.Payload}
	case *Subscribe:
		var fs [][]byte
		for _, f := range p.Filters {
			fs = append(fs, f.Topic)
		}
		return fs
	case *Suback:
		return [][]byte{p.ReturnCodes}
	case *Unsubscribe:
		return p.Topics
	}
	return nil
}

// fixedHeaderLen returns the length of the fixed header of a whole packet.
func fixedHeaderLen(wire []byte) int {
	n := 2
	for n <= 5 && wire[n-1] >= 0x80 {
		n++
	}
	return n
}

// warmDecoder returns a Decoder that has decoded a SUBSCRIBE and an
// UNSUBSCRIBE with eight filters each, so that its reused slices have room.
func warmDecoder(t *testing.T) *Decoder {
	t.Helper()
	sub := &Subscribe{PacketID: 1}
	unsub := &Unsubscribe{PacketID: 2}
	for i := range 8 {
		topic := []byte{'t', byte('0' + i)}
		sub.Filters = append(sub.Filters, TopicFilter{Topic: topic, QoS: QoS1})
		unsub.Topics = append(unsub.Topics, topic)
	}
	var d Decoder
	for _, p := range []Packet{sub, unsub} {
		if _, _, err := d.Decode(mustAppend(nil, p)); err != nil {
			t.Fatal(err)
		}
	}
	return &d
}
