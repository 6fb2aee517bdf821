package main

import (
	"errors"
	"net/netip"
	"time"

	"github.com/mqttwire/mqttwire"
)

// Design note: a TCP connection carries two byte streams, and each has its
// own half with its own mqttwire.Decoder. A half decodes packets in place
// from the bytes handed to it and copies only what it must keep: the start
// of a packet that a segment boundary cut. That tail is bounded by
// -max-packet; a PUBLISH larger than that keeps only its first bytes (enough
// for the topic and a preview) and is reported with its full payload length.
//
// A half that does not know where a packet starts (a capture that begins
// mid-connection, bytes lost in a gap it cannot step over, a fixed header
// that cannot be delimited) resynchronises: it takes the first offset where
// a whole packet decodes and is followed either by the end of the data so
// far or by another plausible fixed header.

var (
	errOversized  = errors.New("mqttdump: packet larger than -max-packet, skipped")
	errNoBoundary = errors.New("mqttdump: no packet boundary found before the stream ended")
)

// eventKind says what an event reports.
type eventKind uint8

const (
	eventPacket     eventKind = iota // a decoded packet
	eventMalformed                   // a packet that broke a rule; err says which
	eventGap                         // bytes missing from the stream
	eventResync                      // bytes skipped to find a packet boundary
	eventIncomplete                  // the stream ended inside a packet
)

// event is one line of output. The packet and every byte slice in it alias
// the half's buffers: an event is valid only during the emit call.
type event struct {
	kind       eventKind
	time       time.Time
	frame      int64 // capture record that completed it, from 1; 0 in -raw mode
	offset     int64 // stream offset of the packet's first byte
	conn       *conn
	fromClient bool
	header     byte // first byte of the packet, 0 when unknown
	remaining  int  // remaining length from the fixed header, -1 when unknown
	size       int  // whole packet size, 0 when unknown
	packet     mqttwire.Packet
	version    mqttwire.Version // the session's protocol level when it was decoded
	err        error
	count      int64 // eventGap: bytes missing; eventResync: bytes skipped; eventIncomplete: bytes seen
	payloadLen int   // PUBLISH: the whole payload's length
	truncated  bool  // PUBLISH: only the first bytes were kept (larger than -max-packet)
}

// typeName returns the event's type column: the packet type, or GAP,
// RESYNC or INCOMPLETE.
func (e *event) typeName() string {
	switch e.kind {
	case eventGap:
		return "GAP"
	case eventResync:
		return "RESYNC"
	case eventIncomplete:
		return "INCOMPLETE"
	}
	return mqttwire.Type(e.header >> 4).String()
}

// conn is one TCP connection (or the single stream of -raw mode).
type conn struct {
	p        *pipeline
	client   netip.AddrPort
	server   netip.AddrPort
	clientID []byte // from CONNECT; nil until one is seen
	halves   [2]half
	// firstFromClient says whether the packet that opened the connection in
	// the reassembler went from client to server, which fixes the meaning of
	// the reassembler's directions.
	firstFromClient bool
	seq             int64 // the connection's number in the order connections were opened
}

// newConn returns a connection whose halves start synchronised.
func newConn(p *pipeline, client, server netip.AddrPort) *conn {
	c := &conn{p: p, client: client, server: server}
	for i := range c.halves {
		h := &c.halves[i]
		h.conn = c
		h.fromClient = i == 0
		h.other = &c.halves[1-i]
	}
	return c
}

// half is one direction of a connection.
type half struct {
	conn       *conn
	other      *half
	fromClient bool
	dec        mqttwire.Decoder
	probe      *mqttwire.Decoder // judges candidate boundaries while syncing; made on first use
	event      event             // the event of the last decoded packet, reused

	buf    []byte // bytes received but not consumed: the start of an incomplete packet
	base   int64  // stream offset of buf[0], or of the next byte when buf is empty
	closed bool

	syncing bool  // looking for a packet boundary
	skipped int64 // bytes dropped while syncing, not yet reported

	discard int // bytes of a refused or oversized frame still to drop

	// An oversized PUBLISH: its first bigKeep bytes are collected in big,
	// the rest discarded, and the packet reported when its last byte passes.
	bigActive bool
	bigSize   int
	bigKeep   int
	bigOffset int64
	big       []byte
	scratch   []byte // the re-framed prefix that is decoded
}

const (
	// resyncWindow is the largest packet believed while resynchronising: a
	// candidate boundary whose packet is bigger is passed over.
	resyncWindow = 64 << 10
	// bigPrefix is how much of an oversized PUBLISH is kept: room for the
	// longest topic, the packet identifier and a payload preview.
	bigPrefix = 5 + 2 + 65535 + 2 + 256
	// keepBuffer is the capacity of an emptied buffer that is kept for
	// reuse; a larger one is released.
	keepBuffer = 64 << 10
)

// headerLen returns the length of the fixed header at the start of b, or 0
// when b ends inside it. A remaining length that does not end within four
// bytes gives 5; the Decoder refuses it.
func headerLen(b []byte) int {
	for i := 1; i < len(b) && i <= 4; i++ {
		if b[i] < 0x80 {
			return i + 1
		}
	}
	if len(b) >= 5 {
		return 5
	}
	return 0
}

// feed hands the next bytes of the stream to the half.
func (h *half) feed(data []byte) {
	if h.closed || len(data) == 0 {
		return
	}
	if len(h.buf) == 0 {
		n := h.process(data, h.base)
		h.base += int64(n)
		if n < len(data) {
			h.buf = append(h.buf, data[n:]...)
		}
		return
	}
	if need := h.pending(); need > cap(h.buf) {
		// Make room for the whole packet at once.
		h.buf = append(make([]byte, 0, need+len(data)), h.buf...)
	}
	h.buf = append(h.buf, data...)
	n := h.process(h.buf, h.base)
	h.base += int64(n)
	h.buf = h.buf[:copy(h.buf, h.buf[n:])]
	if len(h.buf) == 0 && cap(h.buf) > keepBuffer {
		h.buf = nil
	}
}

// pending returns the size of the packet whose start h.buf holds, when its
// header is complete and it will be kept whole; 0 otherwise.
func (h *half) pending() int {
	if h.syncing || h.discard > 0 || h.bigActive || headerLen(h.buf) == 0 {
		return 0
	}
	if _, size, err := mqttwire.Peek(h.buf); err == mqttwire.ErrIncomplete && size <= h.conn.p.opts.maxPacket {
		return size
	}
	return 0
}

// process runs the half's state machine over b, whose first byte is at
// stream offset base, and returns how many bytes it consumed. It stops early
// only when it needs more bytes than b holds: the rest of b is then the
// start of an incomplete packet or of a candidate boundary.
func (h *half) process(b []byte, base int64) int {
	i := 0
	for i < len(b) {
		switch {
		case h.discard > 0:
			k := min(h.discard, len(b)-i)
			h.discard -= k
			i += k
			if h.discard == 0 && h.bigActive {
				h.finishBig()
			}
		case h.bigActive:
			k := min(h.bigKeep-len(h.big), len(b)-i)
			h.big = append(h.big, b[i:i+k]...)
			i += k
			if len(h.big) == h.bigKeep {
				h.discard = h.bigSize - h.bigKeep
				if h.discard == 0 {
					h.finishBig()
				}
			}
		case h.syncing:
			j, found := h.findBoundary(b[i:])
			h.skipped += int64(j)
			i += j
			if !found {
				return i
			}
			h.syncing = false
			if h.skipped > 0 {
				h.conn.p.emit(&event{kind: eventResync, offset: base + int64(i), conn: h.conn,
					fromClient: h.fromClient, remaining: -1, count: h.skipped})
			}
			h.skipped = 0
		default:
			p, n, err := h.dec.Decode(b[i:])
			switch {
			case err == nil:
				h.emitPacket(p, b[i:i+n], base+int64(i))
				i += n
			case err == mqttwire.ErrIncomplete:
				if headerLen(b[i:]) == 0 || n <= h.conn.p.opts.maxPacket {
					return i
				}
				h.startOversized(b[i:], n, base+int64(i))
			case n > 0 && !headerBroken(err):
				h.emitMalformed(b[i:], n, base+int64(i), err)
				k := min(n, len(b)-i)
				i += k
				h.discard = n - k
			default:
				h.emitMalformed(b[i:], 0, base+int64(i), err)
				h.syncing = true
			}
		}
	}
	return i
}

// headerBroken reports whether err is about the fixed header itself (a
// reserved type, a bad remaining length) rather than about a packet of a
// known type. The frame size such a header gives cannot be trusted, so the
// half resynchronises instead of skipping it.
func headerBroken(err error) bool {
	var e *mqttwire.Error
	return errors.As(err, &e) && e.Packet() == 0
}

// startOversized handles a packet of size bytes, more than -max-packet,
// whose start is b: a PUBLISH keeps its first bytes and is reported whole
// later; any other type is reported now and dropped.
func (h *half) startOversized(b []byte, size int, offset int64) {
	if mqttwire.Type(b[0]>>4) != mqttwire.TypePublish {
		h.conn.p.emit(&event{kind: eventMalformed, offset: offset, conn: h.conn, fromClient: h.fromClient,
			header: b[0], remaining: size - headerLen(b), size: size, version: h.dec.Version, err: errOversized})
		h.discard = size
		return
	}
	h.bigActive = true
	h.bigSize = size
	h.bigKeep = min(bigPrefix, size)
	h.bigOffset = offset
	h.big = h.big[:0]
}

// finishBig reports an oversized PUBLISH once its last byte has passed: the
// kept prefix is re-framed with a remaining length that fits it and decoded,
// so the topic, packet identifier and payload preview are the real ones.
func (h *half) finishBig() {
	h.bigActive = false
	hl := headerLen(h.big)
	body := h.big[hl:]
	s := append(h.scratch[:0], h.big[0])
	for n := len(body); ; n >>= 7 {
		if n < 0x80 {
			s = append(s, byte(n))
			break
		}
		s = append(s, byte(n)|0x80)
	}
	s = append(s, body...)
	h.scratch = s
	e := event{kind: eventPacket, offset: h.bigOffset, conn: h.conn, fromClient: h.fromClient,
		header: h.big[0], remaining: h.bigSize - hl, size: h.bigSize, version: h.dec.Version, truncated: true}
	p, _, err := h.dec.Decode(s)
	if err != nil {
		e.kind, e.err = eventMalformed, err
	} else {
		e.packet = p
		pub := p.(*mqttwire.Publish)
		e.payloadLen = len(pub.Payload) + h.bigSize - len(h.big)
	}
	h.conn.p.emit(&e)
	if cap(h.big) > keepBuffer {
		h.big = nil
	}
	if cap(h.scratch) > keepBuffer {
		h.scratch = nil
	}
}

// emitPacket reports a decoded packet whose bytes are b. A CONNECT fixes the
// protocol level of both directions and names the connection's client.
func (h *half) emitPacket(p mqttwire.Packet, b []byte, offset int64) {
	e := &h.event
	*e = event{kind: eventPacket, offset: offset, conn: h.conn, fromClient: h.fromClient, header: b[0],
		remaining: len(b) - headerLen(b), size: len(b), packet: p, version: h.dec.Version}
	switch p := p.(type) {
	case *mqttwire.Connect:
		h.other.dec.Version = p.Version
		h.conn.clientID = append(h.conn.clientID[:0], p.ClientID...)
		if h.conn.clientID == nil {
			h.conn.clientID = []byte{}
		}
	case *mqttwire.Publish:
		e.payloadLen = len(p.Payload)
	}
	h.conn.p.emit(e)
}

// emitMalformed reports a packet at the start of b that the Decoder refused
// with err; size is its frame size, or 0 when the frame cannot be delimited.
func (h *half) emitMalformed(b []byte, size int, offset int64, err error) {
	e := event{kind: eventMalformed, offset: offset, conn: h.conn, fromClient: h.fromClient,
		header: b[0], remaining: -1, size: size, version: h.dec.Version, err: err}
	if size > 0 {
		e.remaining = size - headerLen(b)
	}
	h.conn.p.emit(&e)
}

// findBoundary looks for the first plausible packet boundary in b. It
// returns the number of bytes before it and true, or the number of bytes
// that can be ruled out and false when it needs more bytes to decide.
func (h *half) findBoundary(b []byte) (int, bool) {
	for j := range b {
		switch h.candidate(b[j:]) {
		case accept:
			return j, true
		case needMore:
			return j, false
		}
	}
	return len(b), false
}

type verdict uint8

const (
	reject verdict = iota
	accept
	needMore
)

// candidate judges whether a packet starts at b[0]: the packet must decode
// whole, and be followed by the end of the data so far or by a fixed header
// that passes the Decoder's header checks.
func (h *half) candidate(b []byte) verdict {
	_, size, err := mqttwire.Peek(b)
	more := needMore
	if h.closed {
		more = reject // the stream has ended: no more bytes will come
	}
	switch {
	case err == mqttwire.ErrIncomplete && headerLen(b) == 0:
		return more
	case err != nil && err != mqttwire.ErrIncomplete:
		return reject
	case size > resyncWindow:
		return reject
	}
	if h.probe == nil {
		h.probe = new(mqttwire.Decoder)
	}
	probe := h.probe
	probe.Version = h.dec.Version
	_, n, err := probe.Decode(b)
	switch {
	case err == mqttwire.ErrIncomplete:
		return more
	case err != nil:
		return reject
	case n == len(b):
		return accept
	}
	rest := b[n:]
	if headerLen(rest) == 0 {
		if _, _, err := mqttwire.Peek(rest); err != mqttwire.ErrIncomplete {
			return reject // a reserved type in the lone first byte
		}
		if h.closed {
			return accept
		}
		return needMore
	}
	if _, _, err := probe.Decode(rest); err != nil && err != mqttwire.ErrIncomplete {
		return reject
	}
	return accept
}

// gap reports that n bytes of the stream were never captured. When the gap
// falls inside a packet whose size is known and ends before that packet
// does, the half steps over the rest of the packet exactly; otherwise it
// resynchronises.
func (h *half) gap(n int) {
	if h.closed {
		return
	}
	e := event{kind: eventGap, offset: h.base + int64(len(h.buf)), conn: h.conn, fromClient: h.fromClient,
		remaining: -1, count: int64(n), version: h.dec.Version}
	exact := false
	switch {
	case h.syncing:
		h.skipped += int64(len(h.buf))
	case h.bigActive:
		// The oversized PUBLISH loses bytes: it is reported as lost.
		e.header, e.size = h.big[0], h.bigSize
		e.remaining = h.bigSize - headerLen(h.big)
		left := h.bigSize - len(h.big) // bytes of it not yet seen
		if h.discard > 0 {
			left = h.discard
		}
		h.bigActive, h.discard = false, 0
		if n <= left {
			h.discard, exact = left-n, true
		}
	case h.discard > 0:
		if n <= h.discard {
			h.discard, exact = h.discard-n, true
		}
	case len(h.buf) > 0 && headerLen(h.buf) > 0:
		if _, size, err := mqttwire.Peek(h.buf); err == mqttwire.ErrIncomplete && len(h.buf)+n <= size {
			e.header, e.size, e.remaining = h.buf[0], size, size-headerLen(h.buf)
			h.discard, exact = size-len(h.buf)-n, true
		}
	}
	h.conn.p.emit(&e)
	h.base += int64(len(h.buf) + n)
	h.buf = h.buf[:0]
	if !exact {
		h.syncing = true
	}
}

// finish ends the half's stream: an incomplete packet, an unfinished
// oversized PUBLISH and bytes skipped without finding a boundary are
// reported.
func (h *half) finish() {
	if h.closed {
		return
	}
	h.closed = true
	if h.syncing && len(h.buf) > 0 {
		// Candidates that waited for more bytes are judged on what there is.
		n := h.process(h.buf, h.base)
		h.base += int64(n)
		h.buf = h.buf[n:]
	}
	e := event{kind: eventIncomplete, offset: h.base, conn: h.conn, fromClient: h.fromClient,
		remaining: -1, version: h.dec.Version}
	switch {
	case h.syncing:
		if n := h.skipped + int64(len(h.buf)); n > 0 {
			h.conn.p.emit(&event{kind: eventResync, offset: h.base, conn: h.conn,
				fromClient: h.fromClient, remaining: -1, count: n, err: errNoBoundary})
		}
	case h.bigActive:
		e.offset, e.header, e.size = h.bigOffset, h.big[0], h.bigSize
		e.remaining = h.bigSize - headerLen(h.big)
		e.count = int64(h.bigSize - h.discard)
		if h.discard == 0 {
			e.count = int64(len(h.big))
		}
		h.conn.p.emit(&e)
	case len(h.buf) > 0:
		e.header, e.count = h.buf[0], int64(len(h.buf))
		if headerLen(h.buf) > 0 {
			if _, size, err := mqttwire.Peek(h.buf); err == mqttwire.ErrIncomplete {
				e.size, e.remaining = size, size-headerLen(h.buf)
			}
		}
		h.conn.p.emit(&e)
	}
	h.buf, h.big, h.scratch = nil, nil, nil
	h.bigActive, h.discard = false, 0
}
