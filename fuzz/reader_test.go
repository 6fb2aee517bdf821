package fuzz

import (
	"bufio"
	"bytes"
	"io"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mqttwire/mqttwire"
)

// FuzzReader reads any bytes with a Reader whose source returns them in
// reads of fuzzed sizes, some of which fail with an error that may be
// retried. The packets and errors must be those of one Decoder walking the
// whole input (split invariance), each read error coming out once in
// between, for a new Reader and for one that is Reset. ScanPackets over the same reads
// must yield the frames that Peek finds walking the whole input, and those
// frames must be the Decoder's.
func FuzzReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data, chunks []byte, version byte, maxSize uint16, bufSize byte, eofWithData bool) {
		v := decoderVersion(version)
		events, final := decodeWalk(data, v, int(maxSize))

		// A new Reader, then the same Reader after Reset with the reads in
		// another order: Reset must forget everything but MaxSize.
		src := &chunkReader{data: data, chunks: chunks, eofWithData: eofWithData, transient: true}
		r := mqttwire.NewReaderSize(src, int(bufSize))
		r.Version, r.MaxSize = v, int(maxSize)
		checkReader(t, r, src, events, final)
		src = &chunkReader{data: data, chunks: reversed(chunks), eofWithData: !eofWithData, transient: true}
		r.Reset(src)
		if r.Version != 0 || r.MaxSize != int(maxSize) || r.Buffered() != 0 {
			failf(t, "reader-reset", "after Reset: Version %v, MaxSize %d, Buffered %d", r.Version, r.MaxSize, r.Buffered())
		}
		r.Version = v
		checkReader(t, r, src, events, final)

		// ScanPackets over the same reads.
		frames, scanFinal := peekWalk(data)
		sc := bufio.NewScanner(&chunkReader{data: data, chunks: chunks, eofWithData: eofWithData})
		sc.Buffer(make([]byte, int(bufSize)), max(len(data)+1, 16))
		sc.Split(mqttwire.ScanPackets)
		i := 0
		for ; sc.Scan(); i++ {
			if i >= len(frames) || !bytes.Equal(sc.Bytes(), data[frames[i].offset:][:frames[i].size]) {
				failf(t, "scan-split", "token %d = % X; want frame %d of %v", i, sc.Bytes(), i, frames)
			}
		}
		if i != len(frames) || sc.Err() != scanFinal {
			failf(t, "scan-split", "%d tokens, then %v; Peek on the whole input finds %d frames, then %v", i, sc.Err(), len(frames), scanFinal)
		}

		checkWalksAgree(t, data, events, final, frames, scanFinal)
	})
}

// checkReader reads with r from src until the end and checks what it gets
// against the Decoder's walk of the whole input. Every errTransient from src
// must come out once, in between, changing nothing else; all of them when
// the Reader reads src to its end.
func checkReader(t *testing.T, r *mqttwire.Reader, src *chunkReader, events []event, final error) {
	t.Helper()
	transients, i := 0, 0
	for calls := 0; ; calls++ {
		if calls > len(events)+src.injected+2 {
			failf(t, "reader-progress", "%d calls of ReadPacket for %d results and %d read errors", calls, len(events), src.injected)
		}
		p, err := r.ReadPacket()
		if err == errTransient {
			transients++
			if p != nil {
				failf(t, "reader-result", "packet %v with error %v", p.Type(), err)
			}
			continue
		}
		if i == len(events) {
			if err != final || p != nil {
				failf(t, "reader-split", "after %d results: ReadPacket = %v, %v; the Decoder on the whole input says %v", i, p, err, final)
			}
			break
		}
		ev := events[i]
		i++
		if err != ev.err {
			failf(t, "reader-split", "result %d: err = %v; the Decoder on the whole input (at byte %d) says %v", i-1, err, ev.offset, ev.err)
		}
		if ev.err != nil {
			if p != nil {
				failf(t, "reader-result", "result %d: packet %v with error %v", i-1, p.Type(), err)
			}
			continue
		}
		if diff := cmp.Diff(ev.packet, p, packetOptions); diff != "" {
			failf(t, "reader-split", "result %d (byte %d): packet differs (-Decoder +Reader):\n%s", i-1, ev.offset, diff)
		}
	}
	// The final error again on the next call.
	if p, err := r.ReadPacket(); err != final || p != nil {
		failf(t, "reader-split", "after the final %v: ReadPacket = %v, %v", final, p, err)
	}
	ended := final == io.EOF || final == io.ErrUnexpectedEOF
	if transients > src.injected || (ended && transients != src.injected) {
		failf(t, "reader-transient", "%d of %d read errors came out (final %v)", transients, src.injected, final)
	}
}

// reversed returns a reversed copy of b.
func reversed(b []byte) []byte {
	c := bytes.Clone(b)
	slices.Reverse(c)
	return c
}

// event is one result of walking an input with a Decoder: a packet (a deep
// copy) or an error, for the frame at offset.
type event struct {
	packet mqttwire.Packet
	err    error
	offset int
	size   int // Decode's n
}

// decodeWalk decodes data from the start with one Decoder, as a Reader reads
// it: a malformed frame that can be delimited is skipped, one that cannot
// ends the walk with its error, and the end of data ends it with io.EOF
// between frames or io.ErrUnexpectedEOF inside one.
func decodeWalk(data []byte, v mqttwire.Version, maxSize int) (events []event, final error) {
	d := mqttwire.Decoder{Version: v, MaxSize: maxSize}
	for off := 0; ; {
		rest := data[off:]
		p, n, err := d.Decode(rest)
		switch {
		case err == nil:
			events = append(events, event{packet: clonePacket(p), offset: off, size: n})
			off += n
		case err == mqttwire.ErrIncomplete:
			if len(rest) == 0 {
				return events, io.EOF
			}
			return events, io.ErrUnexpectedEOF
		case n > 0:
			events = append(events, event{err: err, offset: off, size: n})
			if n > len(rest) {
				return events, io.ErrUnexpectedEOF // The stream ends inside the skipped frame.
			}
			off += n
		default:
			return events, err
		}
	}
}

// frame is a packet's place in the input.
type frame struct{ offset, size int }

// peekWalk frames data from the start with Peek, as ScanPackets does: a
// malformed fixed header ends the walk with its error, and the end of data
// ends it with nil between frames or io.ErrUnexpectedEOF inside one.
func peekWalk(data []byte) (frames []frame, final error) {
	for off := 0; off < len(data); {
		_, size, err := mqttwire.Peek(data[off:])
		switch {
		case err == nil:
			frames = append(frames, frame{off, size})
			off += size
		case err == mqttwire.ErrIncomplete:
			return frames, io.ErrUnexpectedEOF
		default:
			return frames, err
		}
	}
	return frames, nil
}

// checkWalksAgree checks that the Decoder and Peek walk the same frames, and
// that where Peek stops the Decoder stops too or has a reason to go on.
func checkWalksAgree(t *testing.T, data []byte, events []event, final error, frames []frame, scanFinal error) {
	t.Helper()
	for i, fr := range frames {
		if i >= len(events) || events[i].offset != fr.offset || events[i].size != fr.size {
			failf(t, "walks-agree", "Peek frame %d is %+v; the Decoder's walk is %v", i, fr, events)
		}
	}
	rest := events[len(frames):]
	switch {
	case len(rest) == 0:
		// Both stop at the same place for the same reason.
		want := scanFinal
		if want == nil {
			want = io.EOF
		}
		if final != want {
			failf(t, "walks-agree", "after %d frames Peek stops with %v, the Decoder with %v", len(frames), scanFinal, final)
		}
	case scanFinal == io.ErrUnexpectedEOF:
		// The Decoder refused the last frame from its fixed header before
		// the frame was whole.
		ev := rest[0]
		if len(rest) != 1 || ev.err == nil || ev.offset+ev.size <= len(data) || final != io.ErrUnexpectedEOF {
			failf(t, "walks-agree", "Peek stops inside the last frame, the Decoder goes on with %v, then %v", rest, final)
		}
	default:
		// The Decoder skips a frame whose fixed header Peek refuses.
		if rest[0].err == nil || rest[0].err != scanFinal {
			failf(t, "walks-agree", "Peek stops with %v at byte %d; the Decoder has %+v", scanFinal, rest[0].offset, rest[0])
		}
	}
}
