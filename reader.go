package mqttwire

import "io"

// Design note: the Reader keeps one buffer and decodes packets in place, so a
// packet costs no copy beyond the read that brought it in. The buffer starts
// small and grows only to fit the largest packet seen, and it grows as bytes
// arrive, never ahead of them: a fixed header that declares 256 MB makes the
// Reader allocate in step with the bytes the peer really sends, not 256 MB at
// once. MaxSize refuses such a packet from its fixed header alone.

// DefaultReaderSize is the initial buffer size of a Reader from NewReader.
const DefaultReaderSize = 4096

// maxEmptyReads is how many successive reads that return no bytes and no
// error the Reader accepts before it gives up with io.ErrNoProgress.
const maxEmptyReads = 100

// Reader reads packets from a stream through one buffer. It embeds a
// Decoder, so r.MaxSize and r.Version apply: a packet over MaxSize fails with
// ErrTooLarge before its body is read, and a CONNECT sets Version.
//
// The packet ReadPacket returns aliases the Reader's buffer and Decoder: it
// is valid until the next call to ReadPacket.
type Reader struct {
	Decoder

	src   io.Reader
	buf   []byte
	start int   // first byte not yet consumed
	end   int   // end of the bytes read
	skip  int   // bytes still to discard: the rest of a refused frame
	err   error // the source's error, kept until the buffered bytes are used
}

// NewReader returns a Reader that reads packets from src with a buffer of
// DefaultReaderSize bytes to start with.
func NewReader(src io.Reader) *Reader { return NewReaderSize(src, DefaultReaderSize) }

// NewReaderSize returns a Reader whose buffer starts at size bytes (at least
// 16). A buffer as large as a typical socket read lets one read bring in many
// packets.
func NewReaderSize(src io.Reader, size int) *Reader {
	if size < 16 {
		size = 16
	}
	return &Reader{src: src, buf: make([]byte, size)}
}

// Reset makes r read from src, keeping its buffer and its MaxSize but
// forgetting the negotiated Version and any buffered bytes.
func (r *Reader) Reset(src io.Reader) {
	r.src, r.start, r.end, r.skip, r.err = src, 0, 0, 0, nil
	r.Version = 0
}

// Buffered returns the number of bytes read from the source but not yet
// consumed by ReadPacket.
func (r *Reader) Buffered() int { return r.end - r.start }

// ReadPacket reads and decodes the next packet. The packet is valid until the
// next call. At a clean end of stream between packets it returns io.EOF; a
// stream that ends inside a packet gives io.ErrUnexpectedEOF. A malformed or
// too large packet gives the Decoder's error; when its frame could be
// delimited, the next call goes on with the packet after it, so a tolerant
// caller may read on. An error from the source other than io.EOF is
// returned once, after the packets read before it; a later call reads again,
// keeping what was buffered. ReadPacket does no allocation once the buffer
// has grown to fit the largest packet.
func (r *Reader) ReadPacket() (Packet, error) {
	for {
		if r.skip > 0 {
			if !r.discard() {
				return nil, r.readErr()
			}
			continue
		}
		p, n, err := r.Decode(r.buf[r.start:r.end])
		if err == nil {
			r.start += n
			return p, nil
		}
		if err != ErrIncomplete {
			if n > 0 {
				r.skip = n // resume after the refused frame
			}
			return nil, err
		}
		if r.err != nil {
			return nil, r.readErr()
		}
		r.fill(n)
	}
}

// discard drops buffered bytes of a refused frame, reading more while the
// frame goes on. It reports false when the source has failed.
func (r *Reader) discard() bool {
	if avail := r.end - r.start; avail > 0 {
		n := min(avail, r.skip)
		r.start += n
		r.skip -= n
		return true
	}
	if r.err != nil {
		return false
	}
	r.start, r.end = 0, 0
	r.fill(0)
	return true
}

// readErr is the error for a read that needs more bytes than the source gave.
// io.EOF stays; any other source error is returned once, as bufio.Reader
// does, so a caller that reads with deadlines can carry on after a timeout
// with the bytes already buffered.
func (r *Reader) readErr() error {
	err := r.err
	if err != io.EOF {
		r.err = nil
		return err
	}
	if r.start == r.end && r.skip == 0 {
		return io.EOF
	}
	return io.ErrUnexpectedEOF
}

// fill reads once from the source, after making room for at least need bytes
// from r.start, or for one more byte if need is smaller. The buffer doubles at
// most, so it grows in step with the bytes that arrive.
func (r *Reader) fill(need int) {
	if r.start > 0 && (r.end == len(r.buf) || r.start+need > len(r.buf)) {
		copy(r.buf, r.buf[r.start:r.end])
		r.end -= r.start
		r.start = 0
	}
	if r.end == len(r.buf) {
		size := 2 * len(r.buf)
		if need > r.end && need < size {
			size = need
		}
		buf := make([]byte, size)
		copy(buf, r.buf[:r.end])
		r.buf = buf
	}
	for range maxEmptyReads {
		n, err := r.src.Read(r.buf[r.end:])
		if n < 0 || n > len(r.buf)-r.end {
			r.err = io.ErrShortBuffer // a broken io.Reader
			return
		}
		r.end += n
		if err != nil {
			r.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.err = io.ErrNoProgress
}
