package benchmarks

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"sync"

	paho "github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/google/go-cmp/cmp"
	"github.com/mqttwire/mqttwire"
)

// codecs are the three codecs under comparison, in table order.
var codecs = []string{"mqttwire", "paho", "mochi"}

// baselines are the two limit baselines, in table order.
var baselines = []string{"memmove", "framescan"}

// workloads builds the workloads once per test binary.
var workloads = sync.OnceValue(Workloads)

// decodeFields decodes every packet of wire with codec, through the same
// path the benchmarks time, and maps each to Fields.
func decodeFields(codec string, wire []byte) ([]Fields, error) {
	var out []Fields
	switch codec {
	case "mqttwire":
		var d mqttwire.Decoder
		for off := 0; off < len(wire); {
			p, n, err := d.Decode(wire[off:])
			if err != nil {
				return out, fmt.Errorf("packet %d at byte %d: %w", len(out), off, err)
			}
			out = append(out, FromMqttwire(p))
			off += n
		}
	case "paho":
		r := bytes.NewReader(wire)
		for {
			cp, err := paho.ReadPacket(r)
			if err == io.EOF && r.Len() == 0 {
				break
			}
			if err != nil {
				return out, fmt.Errorf("packet %d: %w", len(out), err)
			}
			out = append(out, FromPaho(cp))
		}
	case "mochi":
		var d MochiDecoder
		for off := 0; off < len(wire); {
			n, err := d.Decode(wire[off:])
			if err != nil {
				return out, fmt.Errorf("packet %d at byte %d: %w", len(out), off, err)
			}
			out = append(out, FromMochi(&d.Packet))
			off += n
		}
	default:
		panic("unknown codec " + codec)
	}
	return out, nil
}

// encodeWire encodes fs back to back with codec, through the same calls the
// benchmarks time.
func encodeWire(codec string, fs []Fields) ([]byte, error) {
	switch codec {
	case "mqttwire":
		var b []byte
		for _, f := range fs {
			var err error
			if b, err = ToMqttwire(f).Append(b); err != nil {
				return nil, err
			}
		}
		return b, nil
	case "paho":
		var buf bytes.Buffer
		for _, f := range fs {
			if err := ToPaho(f).Write(&buf); err != nil {
				return nil, err
			}
		}
		return buf.Bytes(), nil
	case "mochi":
		var buf bytes.Buffer
		for _, f := range fs {
			pk := ToMochi(f)
			if err := MochiEncode(&pk, &buf); err != nil {
				return nil, err
			}
		}
		return buf.Bytes(), nil
	}
	panic("unknown codec " + codec)
}

// checkDecode reports whether codec decodes w's bytes to w's packets.
func checkDecode(codec string, w *Workload) error {
	got, err := decodeFields(codec, w.Wire)
	if err != nil {
		return fmt.Errorf("%s decoding %s: %w", codec, w.Name, err)
	}
	want := w.All()
	if len(got) != len(want) {
		return fmt.Errorf("%s decoding %s: %d packets, want %d", codec, w.Name, len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			return fmt.Errorf("%s decoding %s: packet %d differs (-want +got):\n%s",
				codec, w.Name, i, cmp.Diff(want[i], got[i]))
		}
	}
	return nil
}

// checkEncode reports whether codec encodes w's packets to w's bytes.
func checkEncode(codec string, w *Workload) error {
	got, err := encodeWire(codec, w.All())
	if err != nil {
		return fmt.Errorf("%s encoding %s: %w", codec, w.Name, err)
	}
	if !bytes.Equal(got, w.Wire) {
		i := 0
		for i < len(got) && i < len(w.Wire) && got[i] == w.Wire[i] {
			i++
		}
		return fmt.Errorf("%s encoding %s: %d bytes, want %d; first difference at byte %d",
			codec, w.Name, len(got), len(w.Wire), i)
	}
	return nil
}
