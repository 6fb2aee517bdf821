package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttwire/mqttwire"
)

// Design note: each connection has two goroutines. The reader owns an
// mqttwire.Reader and handles one packet at a time; it never writes to the
// socket and never blocks on another client. Everything bound for the client
// is appended, already encoded, to one outbound buffer under a mutex; the
// writer swaps that buffer with its own and writes all of it in one Write, so
// a busy connection sends many packets per system call. The buffer is
// bounded: a QoS 0 message that does not fit is dropped, while QoS 1 and 2
// messages wait in the session (see session.go), so a slow subscriber costs
// at most the buffer plus its session's queue.

// Reasons a connection ends that are not I/O errors.
var (
	errDisconnect   = errors.New("DISCONNECT")
	errNotConnect   = errors.New("first packet is not CONNECT [MQTT-3.1.0-1]")
	errSecondConn   = errors.New("second CONNECT [MQTT-3.1.0-2]")
	errServerPacket = errors.New("client sent a packet only a server sends")
	errTakenOver    = errors.New("taken over by a new connection with the same client id [MQTT-3.1.4-2]")
	errShutdown     = errors.New("broker shutting down")
	errKeepAlive    = errors.New("keep-alive timeout [MQTT-3.1.2-24]")
	errRefused      = errors.New("CONNECT refused")
	errNotReading   = errors.New("client does not read: outbound buffer over its bound")
)

// flushTimeout bounds the final write to a connection that is closing.
const flushTimeout = 2 * time.Second

// A connection's Reader starts with idleReadBuffer bytes and moves to
// busyReadBuffer bytes after busyAfter packets.
const (
	idleReadBuffer = 512
	busyReadBuffer = 8192
	busyAfter      = 64
)

// maxIdleBuffer is the largest outbound buffer a connection keeps when its
// writer has nothing more to write; a bigger one is let go then.
const maxIdleBuffer = 64 << 10

// maxIdleScratch is the most entries a connection keeps in the scratch
// slices of a SUBSCRIBE (codes, refused, retained) between packets; bigger
// ones, left by a SUBSCRIBE with thousands of filters or a wildcard over
// thousands of retained messages, are let go.
const maxIdleScratch = 256

// conn is one client connection.
type conn struct {
	srv      *server
	nc       net.Conn
	r        *mqttwire.Reader
	finished chan struct{} // closed when the reader has ended and cleaned up
	kicked   atomic.Pointer[error]

	// Set by CONNECT and read only by the reader goroutine afterwards.
	clientID   string
	version    mqttwire.Version
	session    *session
	will       *message
	willRetain bool
	keepAlive  time.Duration // 1.5 × the CONNECT's Keep Alive; 0 is off
	lastPacket time.Time     // when the last packet was read, with keep-alive on
	connectBy  time.Time     // the read deadline for the CONNECT
	packets    int           // packets read, up to busyAfter
	busy       bool          // the Reader has its big buffer

	// The reader's scratch space, reused for every packet.
	matches  []subscriber
	encoded  []byte
	codes    []byte
	refused  []bool
	retained []*message

	// The outbound buffer, shared with the writer goroutine.
	outMu     sync.Mutex
	out       []byte
	spare     []byte // the writer's last buffer, kept for reuse
	writing   bool   // a writer goroutine is running
	lingers   bool   // set by the reader before the outbox closes: see linger
	outClosed bool   // no more writes: the reader has ended or the socket failed
	dropped   uint64 // QoS 0 messages dropped on a full buffer
}

func newConn(srv *server, nc net.Conn) *conn {
	c := &conn{srv: srv, nc: nc, finished: make(chan struct{})}
	c.r = mqttwire.NewReaderSize(nc, idleReadBuffer)
	c.r.MaxSize = srv.cfg.maxPacket
	return c
}

// kick closes the socket from outside, for a shutdown or a client that does
// not read. The reader then ends with reason.
func (c *conn) kick(reason error) {
	c.kicked.CompareAndSwap(nil, &reason)
	c.nc.Close()
}

// takeoverGrace bounds how long a connection that is taken over goes on
// reading what its client sends.
const takeoverGrace = time.Second

// takeOver ends the connection for a new one with the same client id
// [MQTT-3.1.4-2]. On TCP it shuts down only the reading side: the reader
// still handles what the client had sent before, then reads EOF, so a client
// that sent DISCONNECT and at once connected again does not have its will
// published [MQTT-3.1.2-10]. Closing the socket would throw that DISCONNECT
// away unread. A client that goes on sending is cut off after takeoverGrace.
func (c *conn) takeOver() {
	reason := errTakenOver
	c.kicked.CompareAndSwap(nil, &reason) // before the reader can see EOF
	tc, ok := c.nc.(*net.TCPConn)
	if !ok || tc.SetReadDeadline(time.Now().Add(takeoverGrace)) != nil || tc.CloseRead() != nil {
		c.nc.Close()
	}
}

// readLoop is the reader goroutine. It calls run and then end, one after the
// other rather than one inside the other, and the rare paths (refusals, log
// lines) are functions of their own, so that a connection that connects and
// disconnects fits in the smallest stack a goroutine starts with (2 KiB):
// growing the stack means copying it, which took about 8% of the broker's
// CPU time per connect (BenchmarkConnect).
func (c *conn) readLoop() {
	c.end(c.run())
}

// end cleans up after run: it publishes the will if the connection failed,
// lets the session go, flushes what is left to write and closes the socket.
func (c *conn) end(reason error) {
	// A DISCONNECT read before the socket was closed from outside still
	// counts: the client ended the connection first.
	if k := c.kicked.Load(); k != nil && reason != errDisconnect {
		reason = *k
	}
	// After DISCONNECT or the client's own close nothing more is coming, so
	// the socket is closed at once; otherwise it lingers (see linger).
	c.lingers = reason != errDisconnect && reason != io.EOF
	// When no writer is running, this goroutine writes what is left and
	// closes the socket, once the rest is done.
	own := c.closeOutbox()
	if c.session != nil {
		// The will goes out on any end but DISCONNECT [MQTT-3.1.2-8], and is
		// dropped on DISCONNECT [MQTT-3.1.2-10]. A broker shutting down does
		// not publish wills: the clients did not fail.
		if c.will != nil && reason != errDisconnect && reason != errShutdown {
			c.srv.publish(c, c.will.topic, c.will.payload, c.will.qos, c.willRetain, c.will)
		}
		c.srv.release(c)
	}
	if c.srv.cfg.logger != nil {
		c.logEnd(reason)
	}
	close(c.finished)
	if own {
		c.writeLoop()
	}
	c.srv.forget(c)
	c.srv.wg.Done()
}

// logEnd logs the end of the connection.
func (c *conn) logEnd(reason error) {
	switch {
	case c.session == nil && reason == io.EOF:
	case c.session == nil:
		c.srv.logf("connection from %s closed before CONNECT was accepted: %v", c.nc.RemoteAddr(), reason)
	default:
		c.outMu.Lock()
		dropped := c.dropped
		c.outMu.Unlock()
		if dropped > 0 {
			c.srv.logf("client %q disconnected: %v (%d QoS 0 messages dropped on a full buffer)", c.clientID, reason, dropped)
		} else {
			c.srv.logf("client %q disconnected: %v", c.clientID, reason)
		}
	}
}

// run reads and handles packets until the connection ends, and returns why.
//
// The socket has one read deadline, and it is moved only when it passes,
// never on every packet: it starts as the connect timeout, and once it
// passes after CONNECT, expired either ends the connection (keep-alive) or
// moves the deadline to 1.5 × Keep Alive after the last packet. A short
// connection sets one deadline in all, and a busy one moves it about once
// per keep-alive period.
func (c *conn) run() error {
	c.connectBy = time.Now().Add(c.srv.cfg.connectTimeout)
	c.nc.SetReadDeadline(c.connectBy)
	p, err := c.r.ReadPacket()
	if err != nil {
		if errors.Is(err, mqttwire.ErrUnsupportedVersion) {
			// [MQTT-3.1.2-2]: answer 0x01, then close.
			c.writePacket(&mqttwire.Connack{ReturnCode: mqttwire.RefusedProtocolVersion})
		}
		return err // ErrMalformed and the rest: close without CONNACK [MQTT-3.1.4-1]
	}
	connect, ok := p.(*mqttwire.Connect)
	if !ok {
		return errNotConnect // close at once and send nothing [MQTT-3.1.0-1]
	}
	if err := c.connect(connect); err != nil {
		return err
	}
	for {
		p, err := c.r.ReadPacket()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if c.expired() {
				return errKeepAlive
			}
			continue // the Reader keeps what it had buffered and reads on
		}
		if err != nil {
			return err
		}
		if err := c.handle(p); err != nil {
			return err
		}
		if c.keepAlive > 0 {
			// Taken after handling, so never earlier than the packet
			// arrived, and not at all for a DISCONNECT.
			c.lastPacket = time.Now()
		}
		if !c.busy && c.packets < busyAfter {
			c.packets++
		} else if !c.busy && c.r.Buffered() == 0 {
			c.growReader()
		}
	}
}

// growReader gives a connection that has proved busy a Reader with a bigger
// buffer, so one read brings in many packets. Idle connections keep the small
// one: it is most of what an idle connection costs. It is called between
// packets with nothing buffered, so nothing is lost.
func (c *conn) growReader() {
	r := mqttwire.NewReaderSize(c.nc, busyReadBuffer)
	r.MaxSize, r.Version = c.r.MaxSize, c.r.Version
	c.r, c.busy = r, true
}

// expired is called when the read deadline has passed after CONNECT. It
// reports whether the client has sent nothing for 1.5 × Keep Alive, which
// ends the connection [MQTT-3.1.2-24], or the connection is being taken
// over. Otherwise it moves the deadline to 1.5 × Keep Alive after the last
// packet, or clears it when keep-alive is off.
func (c *conn) expired() bool {
	if c.keepAlive == 0 {
		c.nc.SetReadDeadline(time.Time{})
	} else {
		expiry := c.lastPacket.Add(c.keepAlive)
		if !time.Now().Before(expiry) {
			return true
		}
		c.nc.SetReadDeadline(expiry)
	}
	// takeOver sets kicked, then its own deadline, which the one just set
	// must not outlast: checked after setting it, so one sees the other.
	return c.kicked.Load() != nil
}

// connect handles the CONNECT: it checks the client id, takes the session
// and answers CONNACK.
func (c *conn) connect(p *mqttwire.Connect) error {
	c.version = p.Version
	cfg := &c.srv.cfg
	id := p.ClientID
	switch {
	case len(id) == 0 && (!p.CleanSession || p.Version == mqttwire.V31),
		len(id) > cfg.maxClientID:
		return c.refuseID(p) // [MQTT-3.1.3-8], [MQTT-3.1.3-9]; 3.1 has no empty ids (§3 row 2)
	case len(id) == 0:
		c.clientID = generateID() // [MQTT-3.1.3-6]
	default:
		c.clientID = string(id)
	}
	if p.WillFlag {
		c.will = newMessage(p.WillTopic, p.WillMessage, p.WillQoS)
		c.willRetain = p.WillRetain
	}
	c.keepAlive = time.Duration(p.KeepAlive) * 1500 * time.Millisecond
	if c.keepAlive == 0 {
		// Without MQTT keep-alive, TCP keep-alive finds a vanished peer.
		if tc, ok := c.nc.(*net.TCPConn); ok {
			tc.SetKeepAlive(true)
		}
	} else {
		// The connect timeout's deadline stays unless keep-alive runs out
		// first (see run).
		c.lastPacket = time.Now()
		if expiry := c.lastPacket.Add(c.keepAlive); expiry.Before(c.connectBy) {
			c.nc.SetReadDeadline(expiry)
		}
	}
	s, present := c.srv.attach(c, c.clientID, p.CleanSession)
	c.session = s
	// CONNACK is the first packet the client gets [MQTT-3.2.0-1]; deliveries
	// start once resume attaches the connection. 3.1 has no Session Present.
	// Nothing else writes to the connection before resume, and a fresh
	// socket takes four bytes at once, so the CONNACK is written here rather
	// than by a writer goroutine, to save a hand-off on every connect.
	ack := mqttwire.Connack{SessionPresent: present && c.version == mqttwire.V311, Version: c.version}
	var b [4]byte
	out, _ := ack.Append(b[:0])
	if _, err := c.nc.Write(out); err != nil {
		return err
	}
	s.resume(c)
	if c.srv.cfg.logger != nil {
		c.logConnect(p, present)
	}
	return nil
}

// refuseID answers CONNACK 0x02 to a CONNECT whose client id is refused.
func (c *conn) refuseID(p *mqttwire.Connect) error {
	c.writePacket(&mqttwire.Connack{ReturnCode: mqttwire.RefusedIdentifierRejected, Version: c.version})
	return fmt.Errorf("%w: client id of %d bytes (clean session %t) [MQTT-3.1.3-8]", errRefused, len(p.ClientID), p.CleanSession)
}

// logConnect logs an accepted CONNECT.
func (c *conn) logConnect(p *mqttwire.Connect, present bool) {
	c.srv.logf("client %q connected from %s (MQTT %v, clean session %t, keep-alive %ds, session present %t)",
		c.clientID, c.nc.RemoteAddr(), c.version, p.CleanSession, p.KeepAlive, present)
}

// generateID returns a fresh client id for a client that sent an empty one.
func generateID() string {
	var b [12]byte
	rand.Read(b[:])
	return "mqttwire-" + hex.EncodeToString(b[:])
}

// handle handles one packet after CONNECT.
func (c *conn) handle(p mqttwire.Packet) error {
	s := c.session
	switch p := p.(type) {
	case *mqttwire.Publish:
		c.handlePublish(p)
	case *mqttwire.Puback:
		s.puback(c, p.PacketID)
	case *mqttwire.Pubrec:
		s.pubrec(c, p.PacketID)
	case *mqttwire.Pubrel:
		s.release(p.PacketID)
		c.writeAck(mqttwire.TypePubcomp, p.PacketID) // [MQTT-4.3.3-2]
	case *mqttwire.Pubcomp:
		s.pubcomp(c, p.PacketID)
	case *mqttwire.Subscribe:
		c.handleSubscribe(p)
	case *mqttwire.Unsubscribe:
		for _, filter := range p.Topics {
			c.srv.trie.unsubscribe(s, filter) // [MQTT-3.10.4-1]
		}
		c.writeAck(mqttwire.TypeUnsuback, p.PacketID) // [MQTT-3.10.4-4], [MQTT-3.10.4-5]
	case *mqttwire.Pingreq:
		c.writePacket(&mqttwire.Pingresp{}) // [MQTT-3.12.4-1]
	case *mqttwire.Disconnect:
		return errDisconnect
	case *mqttwire.Connect:
		return errSecondConn
	default: // CONNACK, SUBACK, UNSUBACK, PINGRESP
		return fmt.Errorf("%w: %v", errServerPacket, p.Type())
	}
	return nil
}

// handlePublish routes an inbound PUBLISH and acknowledges it. A PUBLISH the
// ACL denies is acknowledged as usual and dropped [MQTT-3.3.5-2].
func (c *conn) handlePublish(p *mqttwire.Publish) {
	switch p.QoS {
	case mqttwire.QoS0:
		c.srv.publish(c, p.Topic, p.Payload, p.QoS, p.Retain, nil)
	case mqttwire.QoS1:
		c.srv.publish(c, p.Topic, p.Payload, p.QoS, p.Retain, nil)
		c.writeAck(mqttwire.TypePuback, p.PacketID) // [MQTT-4.3.2-2]
	case mqttwire.QoS2:
		if c.session.receive2(p.PacketID) {
			c.srv.publish(c, p.Topic, p.Payload, p.QoS, p.Retain, nil)
		}
		c.writeAck(mqttwire.TypePubrec, p.PacketID) // [MQTT-4.3.3-2]
	}
}

// handleSubscribe subscribes, answers SUBACK, then sends the retained
// messages of each granted filter [MQTT-3.3.1-6].
func (c *conn) handleSubscribe(p *mqttwire.Subscribe) {
	srv, s := c.srv, c.session
	c.codes, c.refused = c.codes[:0], c.refused[:0]
	for _, f := range p.Filters {
		// QoS 2 is supported, so the requested QoS is granted [MQTT-3.8.4-6].
		code, refused := byte(f.QoS), false
		// Each level of a filter is a node in the trie, about 80 bytes for
		// two bytes of "+/", so its depth is bounded as well as its length.
		if srv.tooDeep(f.Topic) ||
			srv.cfg.acl.denySubscribe(f.Topic) || !srv.trie.subscribe(s, f.Topic, f.QoS, srv.cfg.maxSubscriptions) {
			// 3.1 has no failure code: answer the requested QoS and do not
			// subscribe, as mosquitto does (conformance.md §3 row 4).
			refused = true
			if c.version != mqttwire.V31 {
				code = mqttwire.SubackFailure
			}
		}
		c.codes = append(c.codes, code)
		c.refused = append(c.refused, refused)
	}
	// One code per filter, in order [MQTT-3.8.4-4], [MQTT-3.8.4-5], [MQTT-3.9.3-1].
	c.writePacket(&mqttwire.Suback{PacketID: p.PacketID, ReturnCodes: c.codes, Version: c.version})
	for i, f := range p.Filters {
		if c.refused[i] {
			continue
		}
		c.retained = srv.retained.match(f.Topic, c.retained[:0])
		for _, m := range c.retained {
			if srv.cfg.acl.denyReceive(m.topic) {
				continue
			}
			// RETAIN is set on messages sent for a new subscription [MQTT-3.3.1-8].
			if qos := min(m.qos, f.QoS); qos == mqttwire.QoS0 {
				c.writeQoS0(c.encodePublish(m.topic, m.payload, true))
			} else {
				s.deliver(m, qos, true)
			}
		}
		clear(c.retained)
	}
	if cap(c.retained) > maxIdleScratch {
		c.retained = nil
	}
	if cap(c.codes) > maxIdleScratch {
		c.codes, c.refused = nil, nil
	}
}

// encodePublish encodes a QoS 0 PUBLISH into the reader's scratch buffer.
func (c *conn) encodePublish(topic, payload []byte, retain bool) []byte {
	p := mqttwire.Publish{Topic: topic, Payload: payload, Retain: retain}
	c.encoded, _ = p.Append(c.encoded[:0])
	return c.encoded
}

// writeQoS0 appends an encoded QoS 0 PUBLISH to the outbound buffer, or drops
// it when the buffer already holds cfg.maxBuffer bytes or more would.
func (c *conn) writeQoS0(encoded []byte) {
	c.outMu.Lock()
	if c.outClosed || (len(c.out) > 0 && len(c.out)+len(encoded) > c.srv.cfg.maxBuffer) {
		c.dropped++
		c.outMu.Unlock()
		return
	}
	c.startWriter()
	c.out = append(c.out, encoded...)
	c.outMu.Unlock()
}

// writePublish appends a QoS 1 or 2 PUBLISH for f. In-flight messages are
// few (the window bounds them), so they bypass the buffer's bound.
func (c *conn) writePublish(f *flight, dup bool) {
	p := mqttwire.Publish{Dup: dup, QoS: f.qos, Retain: f.retain, Topic: f.msg.topic, PacketID: f.id, Payload: f.msg.payload}
	c.outMu.Lock()
	if !c.outClosed {
		c.startWriter()
		c.out, _ = p.Append(c.out)
	}
	c.outMu.Unlock()
}

// unread reports whether the outbound buffer holds more than deliveries can
// put there, -max-buffer (or one packet) of QoS 0 and a window of QoS 1 and 2
// packets: the rest are answers to the client's own packets that it does not
// read. It then closes the connection, so that such a client cannot make the
// buffer grow without bound. outMu is held.
func (c *conn) unread() bool {
	cfg := &c.srv.cfg
	if len(c.out) <= cfg.maxBuffer+(cfg.maxInflight+1)*cfg.maxPacket {
		return false
	}
	c.kick(errNotReading)
	return true
}

// writeAck appends a packet that carries only a packet id.
func (c *conn) writeAck(t mqttwire.Type, id uint16) {
	c.outMu.Lock()
	if !c.outClosed && !c.unread() {
		c.startWriter()
		switch t {
		case mqttwire.TypePuback:
			c.out, _ = (&mqttwire.Puback{PacketID: id}).Append(c.out)
		case mqttwire.TypePubrec:
			c.out, _ = (&mqttwire.Pubrec{PacketID: id}).Append(c.out)
		case mqttwire.TypePubrel:
			c.out, _ = (&mqttwire.Pubrel{PacketID: id}).Append(c.out)
		case mqttwire.TypePubcomp:
			c.out, _ = (&mqttwire.Pubcomp{PacketID: id}).Append(c.out)
		case mqttwire.TypeUnsuback:
			c.out, _ = (&mqttwire.Unsuback{PacketID: id}).Append(c.out)
		}
	}
	c.outMu.Unlock()
}

// writePacket appends any packet; it is for the rarer packets.
func (c *conn) writePacket(p mqttwire.Packet) {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.outClosed || c.unread() {
		return
	}
	c.startWriter()
	var err error
	if c.out, err = p.Append(c.out); err != nil {
		// Every packet the broker builds is valid; this is a bug.
		fmt.Fprintf(os.Stderr, "broker: encoding %v: %v\n", p.Type(), err)
	}
}

// startWriter starts the writer goroutine unless it is running; outMu is
// held. The writer runs only while there is something to write, so an idle
// connection costs one goroutine, not two.
func (c *conn) startWriter() {
	if !c.writing {
		c.writing = true
		c.srv.wg.Add(1)
		go c.writer()
	}
}

// writer is the writer goroutine.
func (c *conn) writer() {
	c.writeLoop()
	c.srv.wg.Done()
}

// closeOutbox tells the writer to write what is left and close the socket.
// When no writer is running it reports true, and the caller must run
// writeLoop itself, in its own goroutine.
func (c *conn) closeOutbox() (own bool) {
	c.outMu.Lock()
	c.outClosed = true
	pending := c.writing || len(c.out) > 0
	if !c.writing {
		c.writing, own = true, true
	}
	c.outMu.Unlock()
	if pending {
		// The last write must not wait forever on a client that reads
		// nothing. With nothing to write, the deadline would only cost a
		// timer.
		c.nc.SetWriteDeadline(time.Now().Add(flushTimeout))
	}
	return own
}

// writeLoop writes the outbound buffer, whole, until it is empty, then
// returns; once the outbox is closed it closes the socket. It runs in the
// writer goroutine, or in the reader's once that has ended (see end).
func (c *conn) writeLoop() {
	for {
		c.outMu.Lock()
		if len(c.out) == 0 {
			closed := c.outClosed
			c.writing = closed // a closed outbox never starts another writer
			if cap(c.out) > maxIdleBuffer {
				c.out = nil // let a burst's buffers go once it is written
			}
			if cap(c.spare) > maxIdleBuffer {
				c.spare = nil
			}
			c.outMu.Unlock()
			if closed && c.lingers {
				c.linger()
			} else if closed {
				c.nc.Close()
			}
			return
		}
		buf := c.out
		c.out, c.spare = c.spare[:0], nil
		c.outMu.Unlock()
		_, err := c.nc.Write(buf)
		c.outMu.Lock()
		if err != nil {
			c.outClosed, c.out = true, nil
			c.outMu.Unlock()
			c.nc.Close() // the reader sees it and ends
			return
		}
		c.spare = buf[:0]
		c.outMu.Unlock()
	}
}

// linger closes the socket after the reader has ended. It half-closes first
// and reads away what the client may still send for a moment, so that the
// last packets written (a refusing CONNACK, say) reach the client before the
// close, rather than being lost to a reset caused by unread input.
func (c *conn) linger() {
	defer c.nc.Close()
	tc, ok := c.nc.(*net.TCPConn)
	if !ok || tc.CloseWrite() != nil {
		return
	}
	tc.SetReadDeadline(time.Now().Add(flushTimeout))
	io.CopyN(io.Discard, tc, 1<<20)
}
