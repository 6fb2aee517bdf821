package mqttwire

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// countingReader serves a fixed header and then endless bytes, counting what
// was read, as a hostile peer that declares a huge packet would.
type countingReader struct {
	header []byte
	read   int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n := copy(p, c.header)
	c.header = c.header[n:]
	for i := n; i < len(p); i++ {
		p[i] = 'x'
	}
	c.read += len(p)
	return len(p), nil
}

func TestReaderTooLargeBeforeBody(t *testing.T) {
	src := &countingReader{header: []byte{0x30, 0xFF, 0xFF, 0xFF, 0x7F}}
	r := NewReaderSize(src, 64)
	r.MaxSize = 1 << 20
	_, err := r.ReadPacket()
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if src.read > 64 {
		t.Errorf("read %d bytes before refusing the packet; want one buffer's worth", src.read)
	}
}

// TestReaderGrowsWithData shows that a declared 256 MB length makes the
// Reader allocate in step with the bytes that arrive, not 256 MB at once.
func TestReaderGrowsWithData(t *testing.T) {
	wire := []byte{0x30, 0xFF, 0xFF, 0xFF, 0x7F, 0x00, 0x01, 'a'}
	r := NewReader(io.MultiReader(bytes.NewReader(wire), bytes.NewReader(make([]byte, 1<<20))))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := r.ReadPacket()
	runtime.ReadMemStats(&after)
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 8<<20 {
		t.Errorf("allocated %d bytes for 1 MiB of input", grown)
	}
}

func TestReaderEndOfStream(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []error
	}{
		{"empty", nil, []error{io.EOF}},
		{"one packet", []byte{0xC0, 0x00}, []error{nil, io.EOF}},
		{"cut in the header", []byte{0xC0, 0x00, 0x30}, []error{nil, io.ErrUnexpectedEOF}},
		{"cut in the body", []byte{0x30, 0x03, 0x00, 0x01}, []error{io.ErrUnexpectedEOF}},
	}
	for _, tt := range tests {
		r := NewReader(&chunkReader{b: tt.in, sizes: []int{1, 1, 1}})
		for i, want := range tt.want {
			if _, err := r.ReadPacket(); err != want {
				t.Errorf("%s: read %d: %v, want %v", tt.name, i, err, want)
			}
		}
	}
}

// TestReaderSkipsMalformed shows that after a malformed packet whose frame is
// intact, reading goes on with the next packet, even when the refused frame
// had not fully arrived.
func TestReaderSkipsMalformed(t *testing.T) {
	in := []byte{
		0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01, // PUBLISH with QoS 3
		0x30, 0x02, 0x00, 0x00, // PUBLISH with an empty topic
		0xC0, 0x00, // PINGREQ
	}
	r := NewReader(&chunkReader{b: in, sizes: []int{3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}})
	for i, want := range []error{errPublishQoS3, errPublishTopicText[textEmpty], nil, io.EOF} {
		p, err := r.ReadPacket()
		if err != want {
			t.Fatalf("read %d: %v, %v; want %v", i, p, err, want)
		}
		if err == nil && p.Type() != TypePingreq {
			t.Errorf("read %d: %v, want PINGREQ", i, p.Type())
		}
	}
}

// TestReaderSourceError shows that a source error comes after the packets
// read before it.
func TestReaderSourceError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(bytes.NewReader([]byte{0xC0, 0x00, 0xD0}), &errReader{boom}))
	if _, err := r.ReadPacket(); err != nil {
		t.Fatalf("first packet: %v", err)
	}
	if _, err := r.ReadPacket(); err != boom {
		t.Fatalf("second read: %v, want %v", err, boom)
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// TestReaderVersion shows that a CONNECT sets the level whose rules apply to
// the packets after it.
func TestReaderVersion(t *testing.T) {
	in := mustAppend(nil,
		&Connect{Version: V31, CleanSession: true, ClientID: []byte("c")},
		&Pubrel{PacketID: 1},
	)
	in[len(in)-4] |= 0x08 // a 3.1 retry sets DUP on PUBREL
	r := NewReader(bytes.NewReader(in))
	for range 2 {
		if _, err := r.ReadPacket(); err != nil {
			t.Fatal(err)
		}
	}
	if r.Version != V31 {
		t.Errorf("Version = %v, want 3.1", r.Version)
	}
}

// timeoutReader fails its first read with a timeout, then serves b.
type timeoutReader struct {
	failed bool
	b      []byte
}

var errTimeout = errors.New("i/o timeout")

func (tr *timeoutReader) Read(p []byte) (int, error) {
	if !tr.failed {
		tr.failed = true
		return 0, errTimeout
	}
	if len(tr.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, tr.b)
	tr.b = tr.b[n:]
	return n, nil
}

// TestReaderAfterTimeout shows that a source error is returned once: a
// caller that reads with deadlines carries on, with what was buffered kept.
func TestReaderAfterTimeout(t *testing.T) {
	src := &timeoutReader{b: []byte{0x00, 0x01, 'a'}}
	r := NewReader(io.MultiReader(bytes.NewReader([]byte{0xC0, 0x00, 0x30, 0x03}), src))
	var got []string
	for range 5 {
		p, err := r.ReadPacket()
		switch {
		case err != nil:
			got = append(got, err.Error())
		default:
			got = append(got, p.Type().String())
		}
	}
	want := []string{"PINGREQ", "i/o timeout", "PUBLISH", "EOF", "EOF"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
