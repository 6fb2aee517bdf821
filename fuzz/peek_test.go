package fuzz

import (
	"io"
	"testing"

	"github.com/mqttwire/mqttwire"
)

// FuzzPeek checks Peek against a plain reading of the fixed header (§2.2),
// and checks that Decoder.Decode and ScanPackets frame the input as Peek
// does, for the input and for each of its first 64 prefixes.
func FuzzPeek(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		checkPeek(t, data)
		for i := 0; i < len(data) && i < 64; i++ {
			checkPeek(t, data[:i])
		}
		if allocs := testing.AllocsPerRun(10, func() {
			mqttwire.Peek(data)
			mqttwire.ScanPackets(data, true)
		}); allocs != 0 {
			failf(t, "peek-allocs", "Peek and ScanPackets allocate %v times", allocs)
		}
	})
}

// header is a fixed header as read by refHeader.
type header struct {
	reserved  bool // type 0 or 15
	state     int  // one of the header states below
	remaining int  // when state is headerWhole
	length    int  // bytes of the fixed header, when state is headerWhole
	needed    int  // the least whole size of a valid frame starting with the input, when state is headerShort
}

// The states of a fixed header.
const (
	headerWhole  = iota // the remaining length is complete and minimal
	headerShort         // the remaining length is cut short
	headerLong          // a fourth length byte asks for a fifth
	headerPadded        // the remaining length is not in its shortest form
)

// refHeader reads the fixed header at the start of b by the letter of
// §2.2.3, without the package's code.
func refHeader(b []byte) header {
	if len(b) == 0 {
		return header{state: headerShort, needed: 2}
	}
	h := header{reserved: b[0]>>4 == 0 || b[0]>>4 == 15}
	value, multiplier := 0, 1
	for i := 1; i <= 4; i++ {
		if i == len(b) {
			// The smallest valid ending: one more length byte of 1 (0 would
			// not be minimal, unless it is the only byte).
			h.state = headerShort
			if i == 1 {
				h.needed = 2
			} else {
				h.needed = i + 1 + value + multiplier
			}
			return h
		}
		c := b[i]
		value += int(c&0x7f) * multiplier
		multiplier *= 128
		if c&0x80 == 0 {
			if c == 0 && i > 1 {
				h.state = headerPadded
				return h
			}
			h.state, h.remaining, h.length = headerWhole, value, i+1
			return h
		}
	}
	h.state = headerLong
	return h
}

// checkPeek checks Peek, Decoder.Decode and ScanPackets on b.
func checkPeek(t *testing.T, b []byte) {
	t.Helper()
	ref := refHeader(b)
	h, size, err := mqttwire.Peek(b)

	// Peek as the plain reading says.
	var wantErr error
	wantSize := 0
	switch {
	case ref.state == headerShort:
		// Nothing is judged before the fixed header is whole, so that the
		// answer does not depend on how the bytes arrive.
		wantErr = mqttwire.ErrIncomplete
		if size <= len(b) || size > ref.needed {
			failf(t, "peek-size", "Peek(% X) = %d, %v: want more than %d and at most %d", b, size, err, len(b), ref.needed)
		}
		wantSize = size
	case ref.state == headerLong:
		wantErr = errLengthLong[b[0]>>4] // The frame cannot be delimited: size 0.
	case ref.state == headerPadded:
		wantErr = errLengthPadded[b[0]>>4]
	case ref.reserved:
		// A reserved type is malformed, in a frame that can be skipped.
		wantErr = errReservedType
		wantSize = ref.length + ref.remaining
	default:
		wantSize = ref.length + ref.remaining
		if len(b) < wantSize {
			wantErr = mqttwire.ErrIncomplete
		}
		if h.Type != mqttwire.Type(b[0]>>4) || h.Flags != b[0]&15 || h.Remaining != ref.remaining {
			failf(t, "peek-header", "Peek(% X) = %+v, want type %d, flags %d, remaining %d", b, h, b[0]>>4, b[0]&15, ref.remaining)
		}
	}
	if err != wantErr || size != wantSize {
		failf(t, "peek-size", "Peek(% X) = %d, %v; want %d, %v", b, size, err, wantSize, wantErr)
	}

	// Decode frames as Peek does. Checks that need only the fixed header
	// may refuse a frame before it is whole, but not before the fixed
	// header is.
	for _, v := range []mqttwire.Version{0, mqttwire.V31} {
		d := mqttwire.Decoder{Version: v}
		p, n, derr := d.Decode(b)
		switch {
		case err == nil:
			if n != size || derr == mqttwire.ErrIncomplete {
				failf(t, "decode-peek", "Decode(% X) = %d, %v; Peek = %d, %v", b, n, derr, size, err)
			}
		case ref.state == headerShort:
			if n != size || p != nil || derr != err {
				failf(t, "decode-peek", "Decode(% X) = %d, %v before the fixed header is whole; Peek = %d, %v", b, n, derr, size, err)
			}
		case err == mqttwire.ErrIncomplete:
			if n != size || p != nil || (derr != err && decodeKind(derr) != mqttwire.ErrMalformed) {
				failf(t, "decode-peek", "Decode(% X) = %d, %v; Peek = %d, %v", b, n, derr, size, err)
			}
		default:
			if n != size || derr != err {
				failf(t, "decode-peek", "Decode(% X) = %d, %v; Peek = %d, %v", b, n, derr, size, err)
			}
		}
	}

	// ScanPackets gives the whole frame, asks for more, or fails, as Peek
	// says.
	for _, atEOF := range []bool{false, true} {
		advance, token, serr := mqttwire.ScanPackets(b, atEOF)
		wantAdvance, wantToken, wantErr := 0, []byte(nil), err
		switch {
		case err == nil:
			wantAdvance, wantToken = size, b[:size]
		case err != mqttwire.ErrIncomplete:
		case !atEOF || len(b) == 0:
			wantErr = nil
		default:
			wantErr = io.ErrUnexpectedEOF
		}
		if advance != wantAdvance || serr != wantErr || len(token) != len(wantToken) ||
			(len(token) > 0 && &token[0] != &wantToken[0]) {
			failf(t, "scan-peek", "ScanPackets(% X, %v) = %d, % X, %v; want %d, % X, %v",
				b, atEOF, advance, token, serr, wantAdvance, wantToken, wantErr)
		}
	}
}
