package benchmarks

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang/packets"
	mochi "github.com/mochi-mqtt/server/v2/packets"
	"github.com/mqttwire/mqttwire"
)

// Design note: truncation is tested two ways.
//
// A cut stream: the first k bytes of a packet, then the end of the stream.
// Every codec must answer with an error (or "need more"), never a packet.
//
// A cut frame: the first k bytes of the body, with the remaining length
// rewritten to k, so the frame is whole but its fields stop early. Some such
// frames are valid packets (a PUBLISH with a shorter payload, a SUBSCRIBE
// with fewer filters); all others must be refused. This is where a decoder
// that reads a field short without noticing shows it.

// syncReader reads packets from in-memory streams with one codec, reusing
// what the codec lets it reuse.
type syncReader struct {
	codec string
	src   *bytes.Reader
	mw    *mqttwire.Reader
	br    *bufio.Reader
	pk    mochi.Packet
}

func newSyncReader(codec string) *syncReader {
	r := &syncReader{codec: codec, src: bytes.NewReader(nil)}
	r.mw = mqttwire.NewReader(r.src)
	r.br = bufio.NewReaderSize(r.src, 2048)
	return r
}

// read decodes the first packet of b, which is followed by the end of the
// stream. A panic counts as an error. note is what the peer's own
// validation method says of an accepted packet, as for the strictness table.
func (r *syncReader) read(b []byte) (f Fields, note string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	r.src.Reset(b)
	switch r.codec {
	case "mqttwire":
		r.mw.Reset(r.src)
		p, err := r.mw.ReadPacket()
		if err != nil {
			return f, "", err
		}
		return FromMqttwire(p), "", nil
	case "paho":
		cp, err := paho.ReadPacket(r.src)
		if err != nil {
			return f, "", err
		}
		return FromPaho(cp), pahoValidate(cp), nil
	case "mochi":
		r.br.Reset(r.src)
		if err := mochiServerRead(r.br, &r.pk, 0); err != nil {
			return f, "", err
		}
		return FromMochi(&r.pk), mochiValidate(&r.pk), nil
	}
	panic("unknown codec " + r.codec)
}

// validCut reports whether the first k body bytes of the packet f, framed
// on their own, are themselves a valid packet.
func validCut(f Fields, k int) bool {
	switch f.Type {
	case typePublish:
		min := 2 + len(f.Topic)
		if f.QoS > 0 {
			min += 2
		}
		return k >= min
	case typeSubscribe, typeUnsubscribe:
		n := 2
		for _, x := range f.Filters {
			n += 2 + len(x.Topic)
			if f.Type == typeSubscribe {
				n++
			}
			if k == n {
				return true
			}
		}
		return false
	case typeSuback:
		return k >= 3
	}
	return false
}

// frame returns a packet whose first byte is first and whose body is body.
func frame(first byte, body []byte) []byte {
	b := []byte{first}
	v := len(body)
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	b = append(b, byte(v))
	return append(b, body...)
}

// cutTally counts what one codec did with the cuts of one packet.
type cutTally struct {
	cuts, errs, wrong, falseRejects int
	validated                       int // wrong accepts that the peer's Validate refuses
	example                         string
}

func (c cutTally) cell(streamMode bool) string {
	if c.cuts == 0 {
		return "—"
	}
	var parts []string
	if streamMode {
		if c.wrong == 0 {
			return fmt.Sprintf("%d/%d errors", c.errs, c.cuts)
		}
	} else if c.wrong == 0 && c.falseRejects == 0 {
		return "all right"
	}
	if c.wrong > 0 {
		s := fmt.Sprintf("**%d accepted wrongly**", c.wrong)
		if c.validated > 0 {
			s += fmt.Sprintf(" (%d of them refused by its Validate)", c.validated)
		}
		parts = append(parts, s)
	}
	if c.falseRejects > 0 {
		parts = append(parts, fmt.Sprintf("**%d valid refused**", c.falseRejects))
	}
	return strings.Join(parts, ", ")
}

// TestTruncation cuts every single-packet workload at every point and
// prints what each codec did. It asserts that mqttwire never accepts a cut
// stream, that Decoder.Decode reports ErrIncomplete with the exact size
// once the fixed header is whole, and that mqttwire tells valid cut frames
// from invalid ones. Run with WRITE_TABLES=1 to write
// results/strictness-truncation.md.
func TestTruncation(t *testing.T) {
	var streamTable, frameTable, examples strings.Builder
	header := fmt.Sprintf("| packet | bytes | cuts | %s |\n|---|---|---|%s\n", strings.Join(codecs, " | "), strings.Repeat("---|", len(codecs)))
	streamTable.WriteString(header)
	frameTable.WriteString(strings.Replace(header, "| cuts |", "| cuts (valid) |", 1))
	readers := map[string]*syncReader{}
	for _, c := range codecs {
		readers[c] = newSyncReader(c)
	}
	var d mqttwire.Decoder
	for i := range workloads() {
		w := &workloads()[i]
		if w.Count() != 1 {
			continue
		}
		f, wire := w.Packets[0], w.Wire
		body := wire[len(wire)-bodyLen(wire):]

		stream := map[string]*cutTally{}
		frames := map[string]*cutTally{}
		valid := 0
		for k := range len(body) {
			if validCut(f, k) {
				valid++
			}
		}
		for _, c := range codecs {
			st, ft := &cutTally{}, &cutTally{}
			stream[c], frames[c] = st, ft
			for k := 1; k < len(wire); k++ {
				st.cuts++
				got, _, err := readers[c].read(wire[:k])
				if err != nil {
					st.errs++
				} else {
					st.wrong++
					if st.example == "" {
						st.example = fmt.Sprintf("%s cut to %d of %d bytes: accepted as %s", w.Name, k, len(wire), summary(got))
					}
				}
				if c == "mqttwire" {
					checkIncomplete(t, &d, w.Name, wire, k, err)
				}
			}
			for k := range len(body) {
				ft.cuts++
				cut := frame(wire[0], body[:k])
				got, note, err := readers[c].read(cut)
				ok := validCut(f, k)
				switch {
				case err == nil && !ok:
					ft.wrong++
					if note != "" {
						ft.validated++
					}
					if ft.example == "" {
						ft.example = fmt.Sprintf("%s body cut to %d of %d bytes: accepted as %s", w.Name, k, len(body), summary(got))
						if note != "" {
							ft.example += "; " + note
						}
					}
				case err != nil && ok:
					ft.falseRejects++
					if ft.example == "" {
						ft.example = fmt.Sprintf("%s body cut to %d of %d bytes, a valid packet: refused with %v", w.Name, k, len(body), err)
					}
				}
				if c == "mqttwire" {
					if _, _, derr := d.Decode(cut); (derr == nil) != ok || (err == nil) != ok {
						t.Errorf("%s body cut to %d bytes (valid: %v): Reader %v, Decoder.Decode %v", w.Name, k, ok, err, derr)
					}
				}
			}
			if st.example != "" {
				fmt.Fprintf(&examples, "- %s, cut stream: %s\n", c, st.example)
			}
			if ft.example != "" {
				fmt.Fprintf(&examples, "- %s, cut frame: %s\n", c, ft.example)
			}
		}
		var sc, fc []string
		for _, c := range codecs {
			sc = append(sc, stream[c].cell(true))
			fc = append(fc, frames[c].cell(false))
		}
		fmt.Fprintf(&streamTable, "| %s | %d | %d | %s |\n", w.Name, len(wire), len(wire)-1, strings.Join(sc, " | "))
		fmt.Fprintf(&frameTable, "| %s | %d | %d (%d) | %s |\n", w.Name, len(wire), len(body), valid, strings.Join(fc, " | "))
	}
	var out strings.Builder
	out.WriteString("### Truncated packets\n\n")
	out.WriteString("**Cut stream.** Each single-packet workload is cut after every byte k (1 ≤ k < size) and the stream ends there. " +
		"A right answer is an error (mqttwire: io.ErrUnexpectedEOF from the Reader, and ErrIncomplete with the exact missing size from Decoder.Decode); " +
		"a packet is a wrong success.\n\n")
	out.WriteString(streamTable.String())
	out.WriteString("\n**Cut frame.** The body is cut after every byte k (0 ≤ k < body size) and the remaining length rewritten to k, " +
		"so the frame is whole but its fields stop early. Some cuts are valid packets (a PUBLISH with a shorter payload, " +
		"a SUBSCRIBE with fewer filters, a SUBACK with fewer codes); the rest must be refused.\n\n")
	out.WriteString(frameTable.String())
	if examples.Len() > 0 {
		out.WriteString("\nFirst wrong answer of each kind:\n\n")
		out.WriteString(examples.String())
	}
	t.Log("\n" + out.String())
	if err := writeTable("strictness-truncation.md", out.String()); err != nil {
		t.Fatal(err)
	}
}

// bodyLen returns the remaining length of the whole packet at the start of b.
func bodyLen(b []byte) int {
	h, _, err := mqttwire.Peek(b)
	if err != nil {
		panic(err)
	}
	return h.Remaining
}

// checkIncomplete asserts that mqttwire reports a stream cut after k bytes
// as incomplete: the Reader with an error that is not a packet, and
// Decoder.Decode with ErrIncomplete and, once the fixed header is whole,
// the packet's exact size.
func checkIncomplete(t *testing.T, d *mqttwire.Decoder, name string, wire []byte, k int, readErr error) {
	t.Helper()
	if !errors.Is(readErr, io.ErrUnexpectedEOF) {
		t.Errorf("%s cut to %d bytes: Reader gave %v, want io.ErrUnexpectedEOF", name, k, readErr)
	}
	_, n, err := d.Decode(wire[:k])
	if !errors.Is(err, mqttwire.ErrIncomplete) {
		t.Errorf("%s cut to %d bytes: Decode gave %v, want ErrIncomplete", name, k, err)
		return
	}
	headerSize := len(wire) - bodyLen(wire)
	if k >= headerSize && n != len(wire) {
		t.Errorf("%s cut to %d bytes: Decode says %d bytes needed in all, want %d", name, k, n, len(wire))
	}
	if n <= k {
		t.Errorf("%s cut to %d bytes: Decode says %d bytes needed in all, want more than %d", name, k, n, k)
	}
}
