package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttwire/mqttwire"
)

// Design note: a Client is three goroutines around one connection. The reader
// owns the mqttwire.Reader and answers what the server sends (acks, PUBLISH,
// PINGRESP). The writer owns the outgoing bytes: every packet is encoded when
// it is sent, under wmu, into a pending buffer, and the writer swaps that
// buffer with its own reused one and writes it in one call. Encoding at once
// means no packet value is shared with the writer, so a retransmission may
// set Dup on an in-flight PUBLISH without a race. The timer retransmits what
// the server has not acknowledged and keeps the connection alive.
//
// Outgoing QoS 1 and 2 exchanges, and SUBSCRIBE and UNSUBSCRIBE, live in an
// in-flight table keyed by packet identifier, which an mqttwire.PacketIDs
// hands out. Lock order: mu before wmu.

// Message is an application message, sent or received.
type Message struct {
	Topic   string
	Payload []byte
	QoS     mqttwire.QoS
	Retain  bool
	Dup     bool // received only: the server may have sent it before
}

// Config says how a Client connects.
type Config struct {
	Addr         string           // host:port of the server
	ClientID     string           // may be empty only with CleanSession
	Version      mqttwire.Version // mqttwire.V31 or mqttwire.V311; 0 means V311
	CleanSession bool
	Username     []byte   // nil: no user name
	Password     []byte   // nil: no password; needs a user name
	Will         *Message // nil: no will

	// KeepAlive is the longest the client stays silent: it sends PINGREQ
	// when it has sent nothing for that long. CONNECT carries it in whole
	// seconds, rounded up. 0 turns keep-alive off.
	KeepAlive time.Duration
	// PingTimeout is how long the client waits for PINGRESP before it
	// closes the connection; 0 means KeepAlive.
	PingTimeout time.Duration
	// RetryInterval is how long an exchange may wait for its next ack
	// before the client sends its PUBLISH again with DUP set (or its
	// PUBREL, SUBSCRIBE or UNSUBSCRIBE); 0 means DefaultRetryInterval.
	RetryInterval time.Duration
	// ConnectTimeout bounds the dial and the CONNECT/CONNACK exchange; 0
	// means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// MaxPacketSize is the largest packet, in bytes, accepted from the
	// server; 0 means DefaultMaxPacketSize. A bigger one is refused from
	// its fixed header, before its body is read or buffered, and ends the
	// connection with an error wrapping mqttwire.ErrTooLarge.
	MaxPacketSize int

	// OnMessage receives each incoming message, in order, on the reader
	// goroutine; the ack goes out after it returns. It must not call
	// Disconnect. A QoS 2 message is delivered once even if the server
	// sends it again before the exchange completes.
	OnMessage func(Message)
}

// Defaults for the zero values of Config.
const (
	DefaultRetryInterval  = 20 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultMaxPacketSize  = 1 << 20
)

// RefusedError is a CONNACK with a non-zero return code.
type RefusedError struct {
	Code mqttwire.ConnectReturnCode
}

// Error names the refusal in the words of the specification's Table 3.1.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("connection refused: %v (CONNACK return code %d)", e.Code, uint8(e.Code))
}

var (
	// ErrDisconnected is the error of a client after Disconnect.
	ErrDisconnected = errors.New("client disconnected")
	// ErrPingTimeout is the error of a connection closed because no
	// PINGRESP came within the ping timeout.
	ErrPingTimeout = errors.New("no PINGRESP from the server within the ping timeout; connection closed")

	errAborted = errors.New("connection aborted without DISCONNECT")
)

// exchange is an outgoing packet that waits for an ack.
type exchange struct {
	packet mqttwire.Packet // what a retransmission sends: *Publish, then *Pubrel; *Subscribe; *Unsubscribe
	seq    uint64          // order of first sending, kept by retransmissions
	sentAt time.Time
	done   chan struct{} // closed when the exchange completes
	codes  []byte        // SUBACK return codes
}

// Client is a connection to an MQTT server. Its methods are safe for
// concurrent use.
type Client struct {
	cfg  Config
	conn net.Conn

	mu       sync.Mutex
	ids      mqttwire.PacketIDs // outgoing packet identifiers
	inflight map[uint16]*exchange
	seq      uint64
	pingSent time.Time // when the unanswered PINGREQ went out; zero if none

	wmu      sync.Mutex
	pending  []byte      // encoded packets the writer has not taken yet
	lastSent time.Time   // when the last packet was queued
	wclosed  bool        // DISCONNECT queued: nothing more may be sent
	leaving  atomic.Bool // DISCONNECT queued: the server may now close
	wake     chan struct{}
	stopping chan struct{} // closed by Disconnect: flush and stop

	received map[uint16]bool // incoming QoS 2 ids awaiting PUBREL; the reader's own

	closed    chan struct{} // closed when the connection is closed
	closeOnce sync.Once
	err       error // why it was closed; read after closed
	writerEnd chan struct{}
	wg        sync.WaitGroup
}

// Connect dials cfg.Addr, sends CONNECT and waits for CONNACK. A refusal is
// a *RefusedError. The returned Client runs until Disconnect or until the
// connection is lost; Done and Err tell which.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Version == 0 {
		cfg.Version = mqttwire.V311
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = DefaultRetryInterval
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = cfg.KeepAlive
	}
	connect, err := connectPacket(&cfg)
	if err != nil {
		return nil, err
	}
	var dialer net.Dialer
	dialCtx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	conn, err := dialer.DialContext(dialCtx, "tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:       cfg,
		conn:      conn,
		inflight:  make(map[uint16]*exchange),
		received:  make(map[uint16]bool),
		wake:      make(chan struct{}, 1),
		stopping:  make(chan struct{}),
		closed:    make(chan struct{}),
		writerEnd: make(chan struct{}),
	}
	r, err := c.handshake(dialCtx, connect)
	if err != nil {
		conn.Close()
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case dialCtx.Err() != nil, errors.Is(err, os.ErrDeadlineExceeded):
			return nil, fmt.Errorf("no CONNACK within %v", cfg.ConnectTimeout)
		}
		return nil, err
	}
	c.wg.Add(3)
	go c.readLoop(r)
	go c.writeLoop()
	go c.timerLoop()
	return c, nil
}

// connectPacket builds the CONNECT that cfg describes.
func connectPacket(cfg *Config) (*mqttwire.Connect, error) {
	if cfg.Version != mqttwire.V31 && cfg.Version != mqttwire.V311 {
		return nil, fmt.Errorf("protocol level %d: want 3 (MQTT 3.1) or 4 (MQTT 3.1.1)", cfg.Version)
	}
	if cfg.KeepAlive < 0 || cfg.KeepAlive > 65535*time.Second {
		return nil, fmt.Errorf("keep-alive %v: want 0 to 65535 seconds", cfg.KeepAlive)
	}
	p := &mqttwire.Connect{
		Version:      cfg.Version,
		CleanSession: cfg.CleanSession,
		KeepAlive:    uint16((cfg.KeepAlive + time.Second - 1) / time.Second),
		ClientID:     []byte(cfg.ClientID),
		UsernameFlag: cfg.Username != nil,
		Username:     cfg.Username,
		PasswordFlag: cfg.Password != nil,
		Password:     cfg.Password,
	}
	if w := cfg.Will; w != nil {
		p.WillFlag, p.WillQoS, p.WillRetain = true, w.QoS, w.Retain
		p.WillTopic, p.WillMessage = []byte(w.Topic), w.Payload
		if p.WillMessage == nil {
			p.WillMessage = []byte{}
		}
	}
	if _, err := p.Append(nil); err != nil {
		return nil, err
	}
	return p, nil
}

// handshake sends CONNECT and reads CONNACK under the connect deadline. It
// returns the Reader for the reader goroutine.
func (c *Client) handshake(ctx context.Context, connect *mqttwire.Connect) (*mqttwire.Reader, error) {
	if deadline, ok := ctx.Deadline(); ok {
		c.conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Now()) })
	defer stop()
	b, err := connect.Append(nil)
	if err != nil {
		return nil, err
	}
	if _, err := c.conn.Write(b); err != nil {
		return nil, fmt.Errorf("send CONNECT: %w", err)
	}
	r := mqttwire.NewReader(c.conn)
	r.Version = c.cfg.Version // CONNACK is read under the rules of the level asked for
	r.MaxSize = c.cfg.MaxPacketSize
	if r.MaxSize <= 0 {
		r.MaxSize = DefaultMaxPacketSize
	}
	p, err := r.ReadPacket()
	switch {
	case err == io.EOF:
		return nil, errors.New("the server closed the connection without CONNACK")
	case err != nil:
		return nil, fmt.Errorf("read CONNACK: %w", err)
	}
	ack, ok := p.(*mqttwire.Connack)
	if !ok {
		return nil, fmt.Errorf("protocol error: %v before CONNACK", p.Type())
	}
	if ack.ReturnCode != mqttwire.Accepted {
		return nil, &RefusedError{Code: ack.ReturnCode}
	}
	if !stop() {
		return nil, ctx.Err()
	}
	c.conn.SetDeadline(time.Time{})
	c.lastSent = time.Now()
	return r, nil
}

// Done is closed when the connection has closed, by Disconnect or not.
func (c *Client) Done() <-chan struct{} { return c.closed }

// Err returns why the connection closed: ErrDisconnected after Disconnect,
// another error when the connection was lost, and nil while it is open.
func (c *Client) Err() error {
	select {
	case <-c.closed:
		return c.err
	default:
		return nil
	}
}

// fail closes the connection for reason err; the first reason sticks.
func (c *Client) fail(err error) {
	c.closeOnce.Do(func() {
		c.err = err
		close(c.closed)
		c.conn.Close()
	})
}

// send encodes p into the pending buffer and wakes the writer.
func (c *Client) send(p mqttwire.Packet) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wclosed {
		return ErrDisconnected
	}
	b, err := p.Append(c.pending)
	if err != nil {
		return err
	}
	c.pending = b
	c.lastSent = time.Now()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// writeLoop writes what send has queued, one Write per wake-up.
func (c *Client) writeLoop() {
	defer c.wg.Done()
	defer close(c.writerEnd)
	var buf []byte // reused: swapped with pending on each round
	for {
		last := false
		select {
		case <-c.wake:
		case <-c.stopping:
			last = true
		case <-c.closed:
			return
		}
		c.wmu.Lock()
		buf, c.pending = c.pending, buf[:0]
		c.wmu.Unlock()
		if len(buf) > 0 {
			if _, err := c.conn.Write(buf); err != nil {
				c.fail(fmt.Errorf("write: %w", err))
				return
			}
		}
		if last {
			return
		}
	}
}

// readLoop reads and answers packets until the connection fails.
func (c *Client) readLoop(r *mqttwire.Reader) {
	defer c.wg.Done()
	for {
		p, err := r.ReadPacket()
		if err == nil {
			err = c.handle(p)
		}
		switch {
		case err == nil:
			continue
		case c.leaving.Load():
			err = ErrDisconnected // the server closes after our DISCONNECT
		case err == io.EOF:
			err = errors.New("the server closed the connection")
		}
		c.fail(err)
		return
	}
}

// handle answers one packet from the server. p aliases the Reader's buffer.
func (c *Client) handle(p mqttwire.Packet) error {
	switch p := p.(type) {
	case *mqttwire.Publish:
		return c.handlePublish(p)
	case *mqttwire.Puback:
		c.complete(p.PacketID, mqttwire.TypePuback, nil)
	case *mqttwire.Pubrec:
		// [MQTT-4.3.3-1]: answer PUBREC with PUBREL, and from now on
		// retransmit the PUBREL instead of the PUBLISH.
		c.mu.Lock()
		defer c.mu.Unlock()
		if ex := c.inflight[p.PacketID]; ex != nil {
			if pub, ok := ex.packet.(*mqttwire.Publish); ok && pub.QoS == mqttwire.QoS2 {
				ex.packet = &mqttwire.Pubrel{PacketID: p.PacketID}
				ex.sentAt = time.Now()
			}
		}
		return c.sendLive(&mqttwire.Pubrel{PacketID: p.PacketID})
	case *mqttwire.Pubrel:
		delete(c.received, p.PacketID)
		return c.sendLive(&mqttwire.Pubcomp{PacketID: p.PacketID}) // [MQTT-4.3.3-2]
	case *mqttwire.Pubcomp:
		c.complete(p.PacketID, mqttwire.TypePubcomp, nil)
	case *mqttwire.Suback:
		c.complete(p.PacketID, mqttwire.TypeSuback, p.ReturnCodes)
	case *mqttwire.Unsuback:
		c.complete(p.PacketID, mqttwire.TypeUnsuback, nil)
	case *mqttwire.Pingresp:
		c.mu.Lock()
		c.pingSent = time.Time{}
		c.mu.Unlock()
	default:
		return fmt.Errorf("protocol error: the server sent %v", p.Type())
	}
	return nil
}

// sendLive is send for answers: after Disconnect there is nothing to answer.
func (c *Client) sendLive(p mqttwire.Packet) error {
	if err := c.send(p); err != ErrDisconnected {
		return err
	}
	return nil
}

// handlePublish delivers an incoming message and acknowledges it.
func (c *Client) handlePublish(p *mqttwire.Publish) error {
	deliver := true
	if p.QoS == mqttwire.QoS2 {
		// Exactly once: deliver on the first PUBLISH, keep the id until
		// PUBREL, and deliver no copy that comes before it [MQTT-4.3.3-2].
		deliver = !c.received[p.PacketID]
		c.received[p.PacketID] = true
	}
	if deliver && c.cfg.OnMessage != nil {
		c.cfg.OnMessage(Message{
			Topic:   string(p.Topic),
			Payload: bytes.Clone(p.Payload),
			QoS:     p.QoS,
			Retain:  p.Retain,
			Dup:     p.Dup,
		})
	}
	switch p.QoS {
	case mqttwire.QoS1:
		return c.sendLive(&mqttwire.Puback{PacketID: p.PacketID})
	case mqttwire.QoS2:
		return c.sendLive(&mqttwire.Pubrec{PacketID: p.PacketID})
	}
	return nil
}

// complete ends the exchange id if ack is the answer it waits for. An ack for
// an id not in flight, such as a second PUBACK after a retransmission, is
// ignored.
func (c *Client) complete(id uint16, ack mqttwire.Type, codes []byte) {
	c.mu.Lock()
	ex := c.inflight[id]
	if ex == nil || expectedAck(ex.packet) != ack {
		c.mu.Unlock()
		return
	}
	delete(c.inflight, id)
	c.ids.Free(id)
	c.mu.Unlock()
	ex.codes = bytes.Clone(codes)
	close(ex.done)
}

// expectedAck returns the type of the packet that answers p.
func expectedAck(p mqttwire.Packet) mqttwire.Type {
	switch p := p.(type) {
	case *mqttwire.Publish:
		if p.QoS == mqttwire.QoS1 {
			return mqttwire.TypePuback
		}
		return mqttwire.TypePubrec // handled by handle, not complete
	case *mqttwire.Pubrel:
		return mqttwire.TypePubcomp
	case *mqttwire.Subscribe:
		return mqttwire.TypeSuback
	case *mqttwire.Unsubscribe:
		return mqttwire.TypeUnsuback
	}
	return 0
}

// start puts a new exchange in flight under a fresh packet identifier and
// sends its first packet, which build makes.
func (c *Client) start(build func(id uint16) mqttwire.Packet) (*exchange, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, err := c.ids.Next()
	if err != nil {
		return nil, err
	}
	c.seq++
	ex := &exchange{packet: build(id), seq: c.seq, sentAt: time.Now(), done: make(chan struct{})}
	if err := c.send(ex.packet); err != nil {
		c.ids.Free(id)
		return nil, err
	}
	c.inflight[id] = ex
	return ex, nil
}

// wait waits for ex to complete.
func (c *Client) wait(ctx context.Context, ex *exchange) error {
	select {
	case <-ex.done:
		return nil
	case <-c.closed:
		select {
		case <-ex.done:
			return nil
		default:
		}
		return fmt.Errorf("connection closed before the exchange completed: %w", c.err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Publish sends m. With QoS 0 it returns once m is queued; with QoS 1 and 2
// it waits until the exchange completes (PUBACK, or PUBREC, PUBREL and
// PUBCOMP), retransmitting as needed, or until ctx is done or the connection
// closes. An exchange abandoned through ctx stays in flight. With all 65,535
// packet identifiers in flight it returns mqttwire.ErrNoPacketIDs at once.
func (c *Client) Publish(ctx context.Context, m Message) error {
	if err := mqttwire.ValidateTopicName([]byte(m.Topic)); err != nil {
		return err
	}
	if m.QoS > mqttwire.QoS2 {
		return fmt.Errorf("QoS %d: want 0, 1 or 2", m.QoS)
	}
	payload := bytes.Clone(m.Payload) // the exchange keeps it
	if m.QoS == mqttwire.QoS0 {
		return c.send(&mqttwire.Publish{Topic: []byte(m.Topic), Payload: payload, Retain: m.Retain})
	}
	ex, err := c.start(func(id uint16) mqttwire.Packet {
		return &mqttwire.Publish{QoS: m.QoS, Retain: m.Retain, Topic: []byte(m.Topic), PacketID: id, Payload: payload}
	})
	if err != nil {
		return err
	}
	return c.wait(ctx, ex)
}

// Subscribe subscribes to filters and returns the SUBACK return codes, one per
// filter: the QoS granted, or mqttwire.SubackFailure.
func (c *Client) Subscribe(ctx context.Context, filters ...mqttwire.TopicFilter) ([]byte, error) {
	for _, f := range filters {
		if err := mqttwire.ValidateTopicFilter(f.Topic); err != nil {
			return nil, err
		}
	}
	filters = slices.Clone(filters)
	ex, err := c.start(func(id uint16) mqttwire.Packet {
		return &mqttwire.Subscribe{PacketID: id, Filters: filters}
	})
	if err != nil {
		return nil, err
	}
	if err := c.wait(ctx, ex); err != nil {
		return nil, err
	}
	if len(ex.codes) != len(filters) {
		return ex.codes, fmt.Errorf("SUBACK has %d return codes for %d filters", len(ex.codes), len(filters))
	}
	return ex.codes, nil
}

// Unsubscribe removes the subscriptions to the topic filters.
func (c *Client) Unsubscribe(ctx context.Context, filters ...string) error {
	topics := make([][]byte, len(filters))
	for i, f := range filters {
		topics[i] = []byte(f)
	}
	ex, err := c.start(func(id uint16) mqttwire.Packet {
		return &mqttwire.Unsubscribe{PacketID: id, Topics: topics}
	})
	if err != nil {
		return err
	}
	return c.wait(ctx, ex)
}

// InFlight returns the number of exchanges that wait for an ack.
func (c *Client) InFlight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ids.Len()
}

// Disconnect sends DISCONNECT, waits until it is written, and closes the
// connection, so the server discards the will [MQTT-3.14.4-3]. It returns
// nil, or why the connection had closed before.
func (c *Client) Disconnect() error {
	c.wmu.Lock()
	first := !c.wclosed
	if first {
		c.pending, _ = (&mqttwire.Disconnect{}).Append(c.pending)
		c.wclosed = true
		c.leaving.Store(true)
	}
	c.wmu.Unlock()
	if first {
		c.conn.SetWriteDeadline(time.Now().Add(c.cfg.ConnectTimeout))
		close(c.stopping)
	}
	<-c.writerEnd
	c.fail(ErrDisconnected) // [MQTT-3.14.4-1]: close after DISCONNECT
	c.wg.Wait()
	if c.err != ErrDisconnected {
		return c.err
	}
	return nil
}

// abort closes the connection without DISCONNECT, as a crash or a network
// failure would, so the server publishes the will.
func (c *Client) abort() {
	c.fail(errAborted)
	c.wg.Wait()
}

// timerLoop retransmits unacknowledged packets and keeps the connection
// alive.
func (c *Client) timerLoop() {
	defer c.wg.Done()
	tick := c.cfg.RetryInterval
	if ka := c.cfg.KeepAlive; ka > 0 {
		tick = min(tick, ka, c.cfg.PingTimeout)
	}
	tick = min(max(tick/4, 5*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-c.closed:
			return
		case now := <-t.C:
			if err := c.onTick(now); err != nil {
				c.fail(err)
				return
			}
		}
	}
}

// onTick does what is due at now: retransmissions, in the order the
// exchanges began, then PINGREQ or the ping timeout.
func (c *Client) onTick(now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var due []*exchange
	for _, ex := range c.inflight {
		if now.Sub(ex.sentAt) >= c.cfg.RetryInterval {
			due = append(due, ex)
		}
	}
	slices.SortFunc(due, func(a, b *exchange) int { return cmp.Compare(a.seq, b.seq) })
	for _, ex := range due {
		if p, ok := ex.packet.(*mqttwire.Publish); ok {
			p.Dup = true // [MQTT-3.3.1-1]
		}
		ex.sentAt = now
		if err := c.sendLive(ex.packet); err != nil {
			return err
		}
	}

	if c.cfg.KeepAlive <= 0 {
		return nil
	}
	if !c.pingSent.IsZero() {
		if now.Sub(c.pingSent) >= c.cfg.PingTimeout {
			return ErrPingTimeout
		}
		return nil
	}
	c.wmu.Lock()
	idle := now.Sub(c.lastSent)
	c.wmu.Unlock()
	if idle >= c.cfg.KeepAlive {
		c.pingSent = now
		return c.sendLive(&mqttwire.Pingreq{}) // [MQTT-3.1.2-23]
	}
	return nil
}
