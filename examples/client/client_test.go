package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mqttwire/mqttwire"
)

// These tests drive the client against a fake server written with mqttwire,
// which withholds or sends exactly the packets a test needs.

// fakeServer accepts connections on a loopback port.
type fakeServer struct {
	ln   net.Listener
	addr string
}

func startFake(t *testing.T) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &fakeServer{ln: ln, addr: ln.Addr().String()}
}

// fakeConn is the server's side of one connection.
type fakeConn struct {
	t    *testing.T
	conn net.Conn
	r    *mqttwire.Reader
	v    mqttwire.Version
}

func (s *fakeServer) accept(t *testing.T) *fakeConn {
	t.Helper()
	s.ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	conn, err := s.ln.Accept()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &fakeConn{t: t, conn: conn, r: mqttwire.NewReader(conn)}
}

// read reads the next packet within timeout; the packet is valid until the
// next read.
func (fc *fakeConn) readWithin(timeout time.Duration) (mqttwire.Packet, error) {
	fc.conn.SetReadDeadline(time.Now().Add(timeout))
	return fc.r.ReadPacket()
}

func (fc *fakeConn) read() mqttwire.Packet {
	fc.t.Helper()
	p, err := fc.readWithin(5 * time.Second)
	if err != nil {
		fc.t.Fatalf("server read: %v", err)
	}
	return p
}

// expect reads the next packet and fails unless it is of type want.
func expect[P mqttwire.Packet](fc *fakeConn) P {
	fc.t.Helper()
	p := fc.read()
	got, ok := p.(P)
	if !ok {
		var want P
		fc.t.Fatalf("server read %v, want %v", p.Type(), want.Type())
	}
	return got
}

func (fc *fakeConn) write(ps ...mqttwire.Packet) {
	fc.t.Helper()
	var b []byte
	for _, p := range ps {
		var err error
		if b, err = p.Append(b); err != nil {
			fc.t.Fatalf("server append %v: %v", p.Type(), err)
		}
	}
	if _, err := fc.conn.Write(b); err != nil {
		fc.t.Fatalf("server write: %v", err)
	}
}

// expectClosed waits until the client closes the connection.
func (fc *fakeConn) expectClosed(timeout time.Duration) {
	fc.t.Helper()
	p, err := fc.readWithin(timeout)
	if err == nil {
		fc.t.Fatalf("server read %v, want the connection closed", p.Type())
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		fc.t.Fatalf("server read: %v, want EOF", err)
	}
}

// connectedPair connects a Client with cfg to a fake server that answers
// CONNACK with code. It returns the server's copy of the CONNECT.
func connectedPair(t *testing.T, cfg Config, code mqttwire.ConnectReturnCode) (*Client, *fakeConn, mqttwire.Connect, error) {
	t.Helper()
	s := startFake(t)
	cfg.Addr = s.addr
	type result struct {
		c   *Client
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := Connect(context.Background(), cfg)
		done <- result{c, err}
	}()
	fc := s.accept(t)
	connect := *expect[*mqttwire.Connect](fc)
	connect.ClientID = bytes.Clone(connect.ClientID)
	connect.WillTopic = bytes.Clone(connect.WillTopic)
	connect.WillMessage = bytes.Clone(connect.WillMessage)
	connect.Username = bytes.Clone(connect.Username)
	connect.Password = bytes.Clone(connect.Password)
	fc.v = connect.Version
	fc.write(&mqttwire.Connack{ReturnCode: code, Version: fc.v})
	r := <-done
	if r.c != nil {
		t.Cleanup(func() { r.c.abort() })
	}
	return r.c, fc, connect, r.err
}

func TestConnectPacket(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want mqttwire.Connect
	}{
		{
			name: "3.1.1 plain",
			cfg:  Config{ClientID: "c1", CleanSession: true, KeepAlive: 30 * time.Second},
			want: mqttwire.Connect{Version: mqttwire.V311, CleanSession: true, KeepAlive: 30, ClientID: []byte("c1")},
		},
		{
			name: "3.1 with will, user and password",
			cfg: Config{
				ClientID: "c2", Version: mqttwire.V31, KeepAlive: 1500 * time.Millisecond,
				Username: []byte("alice"), Password: []byte{0xff, 0},
				Will: &Message{Topic: "clients/c2", Payload: []byte("gone"), QoS: mqttwire.QoS2, Retain: true},
			},
			want: mqttwire.Connect{
				Version: mqttwire.V31, KeepAlive: 2, ClientID: []byte("c2"),
				WillFlag: true, WillQoS: mqttwire.QoS2, WillRetain: true,
				WillTopic: []byte("clients/c2"), WillMessage: []byte("gone"),
				UsernameFlag: true, Username: []byte("alice"), PasswordFlag: true, Password: []byte{0xff, 0},
			},
		},
		{
			name: "empty will message and empty user name",
			cfg: Config{
				ClientID: "c3", CleanSession: true,
				Username: []byte{}, Will: &Message{Topic: "w"},
			},
			want: mqttwire.Connect{
				Version: mqttwire.V311, CleanSession: true, ClientID: []byte("c3"),
				WillFlag: true, WillTopic: []byte("w"), WillMessage: []byte{},
				UsernameFlag: true, Username: []byte{},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, got, err := connectedPair(t, tt.cfg, mqttwire.Accepted)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Disconnect()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CONNECT (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConnectRefused(t *testing.T) {
	tests := []struct {
		code  mqttwire.ConnectReturnCode
		words string
	}{
		{mqttwire.RefusedProtocolVersion, "unacceptable protocol version"},
		{mqttwire.RefusedIdentifierRejected, "identifier rejected"},
		{mqttwire.RefusedServerUnavailable, "server unavailable"},
		{mqttwire.RefusedBadUsernameOrPassword, "bad user name or password"},
		{mqttwire.RefusedNotAuthorized, "not authorized"},
	}
	for _, v := range []mqttwire.Version{mqttwire.V31, mqttwire.V311} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%v/%d", v, tt.code), func(t *testing.T) {
				_, fc, _, err := connectedPair(t, Config{ClientID: "c", Version: v}, tt.code)
				var refused *RefusedError
				if !errors.As(err, &refused) || refused.Code != tt.code {
					t.Fatalf("Connect: %v, want a *RefusedError with code %d", err, tt.code)
				}
				if want := "connection refused: " + tt.words; !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
				fc.expectClosed(2 * time.Second)
			})
		}
	}
}

func TestConnectNoConnack(t *testing.T) {
	s := startFake(t)
	done := make(chan error, 1)
	go func() {
		_, err := Connect(context.Background(), Config{Addr: s.addr, ClientID: "c", ConnectTimeout: 2 * time.Second})
		done <- err
	}()
	fc := s.accept(t)
	expect[*mqttwire.Connect](fc)
	fc.conn.Close()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "without CONNACK") {
		t.Fatalf("Connect: %v, want an error about the missing CONNACK", err)
	}

	// A server that says nothing: the connect timeout applies.
	go func() {
		_, err := Connect(context.Background(), Config{Addr: s.addr, ClientID: "c", ConnectTimeout: 200 * time.Millisecond})
		done <- err
	}()
	fc = s.accept(t)
	expect[*mqttwire.Connect](fc)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no CONNACK within 200ms") {
			t.Fatalf("Connect: %v, want an error about the missing CONNACK", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Connect did not time out")
	}
}

// TestRetransmitQoS1 withholds PUBACK: the client must send the PUBLISH
// again with DUP set, the same packet identifier and the same payload, after
// the retry interval, and in the order the exchanges began.
func TestRetransmitQoS1(t *testing.T) {
	const retry = 150 * time.Millisecond
	c, fc, _, err := connectedPair(t, Config{ClientID: "c", CleanSession: true, RetryInterval: retry}, mqttwire.Accepted)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	var ids []uint16
	var firstSent time.Time
	for i := range 3 {
		go func() {
			errs <- c.Publish(context.Background(), Message{Topic: "t", Payload: fmt.Appendf(nil, "m%d", i), QoS: mqttwire.QoS1})
		}()
		p := expect[*mqttwire.Publish](fc)
		if i == 0 {
			firstSent = time.Now()
		}
		if p.Dup || p.QoS != mqttwire.QoS1 || string(p.Payload) != fmt.Sprint("m", i) {
			t.Fatalf("first PUBLISH %d: dup %v, QoS %d, payload %q", i, p.Dup, p.QoS, p.Payload)
		}
		ids = append(ids, p.PacketID)
	}
	if c.InFlight() != 3 {
		t.Errorf("InFlight() = %d, want 3", c.InFlight())
	}
	for round := range 2 {
		for i := range 3 {
			p := expect[*mqttwire.Publish](fc)
			if i == 0 && round == 0 {
				if waited := time.Since(firstSent); waited < retry*3/4 {
					t.Errorf("retransmission after %v, want about %v", waited, retry)
				}
			}
			if !p.Dup || p.PacketID != ids[i] || string(p.Payload) != fmt.Sprint("m", i) {
				t.Fatalf("round %d, retransmission %d: dup %v, id %d, payload %q; want dup, id %d, payload m%d",
					round, i, p.Dup, p.PacketID, p.Payload, ids[i], i)
			}
		}
	}
	for _, id := range ids {
		fc.write(&mqttwire.Puback{PacketID: id})
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	if c.InFlight() != 0 {
		t.Errorf("InFlight() after PUBACK = %d, want 0", c.InFlight())
	}
	// A late PUBACK for a completed exchange is ignored.
	fc.write(&mqttwire.Puback{PacketID: ids[0]})
	if err := c.Disconnect(); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	expect[*mqttwire.Disconnect](fc)
	fc.expectClosed(2 * time.Second)
}

// TestRetransmitQoS2 withholds PUBREC, then PUBCOMP: the client sends the
// PUBLISH again with DUP, and later the PUBREL again.
func TestRetransmitQoS2(t *testing.T) {
	const retry = 100 * time.Millisecond
	c, fc, _, err := connectedPair(t, Config{ClientID: "c", CleanSession: true, RetryInterval: retry}, mqttwire.Accepted)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() {
		errs <- c.Publish(context.Background(), Message{Topic: "t/2", Payload: []byte("exactly once"), QoS: mqttwire.QoS2, Retain: true})
	}()
	p := expect[*mqttwire.Publish](fc)
	id := p.PacketID
	if p.Dup || !p.Retain || p.QoS != mqttwire.QoS2 {
		t.Fatalf("first PUBLISH: dup %v, retain %v, QoS %d", p.Dup, p.Retain, p.QoS)
	}
	p = expect[*mqttwire.Publish](fc)
	if !p.Dup || p.PacketID != id || string(p.Payload) != "exactly once" || !p.Retain {
		t.Fatalf("retransmitted PUBLISH: dup %v, id %d (want %d), payload %q, retain %v", p.Dup, p.PacketID, id, p.Payload, p.Retain)
	}
	fc.write(&mqttwire.Pubrec{PacketID: id})
	// On a loaded machine another retry of the PUBLISH may have left before
	// the PUBREC arrived: skip those, then PUBREL must come.
	for {
		p := fc.read()
		if pub, ok := p.(*mqttwire.Publish); ok && pub.Dup && pub.PacketID == id {
			continue
		}
		rel, ok := p.(*mqttwire.Pubrel)
		if !ok || rel.PacketID != id {
			t.Fatalf("after PUBREC: server read %v, want PUBREL for id %d", p, id)
		}
		break
	}
	// Withhold PUBCOMP: PUBREL comes again, and never the PUBLISH.
	if rel := expect[*mqttwire.Pubrel](fc); rel.PacketID != id {
		t.Fatalf("retransmitted PUBREL id %d, want %d", rel.PacketID, id)
	}
	select {
	case err := <-errs:
		t.Fatalf("Publish returned before PUBCOMP: %v", err)
	default:
	}
	fc.write(&mqttwire.Pubcomp{PacketID: id})
	if err := <-errs; err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if c.InFlight() != 0 {
		t.Errorf("InFlight() after PUBCOMP = %d, want 0", c.InFlight())
	}
}

// TestRetransmitSubscribe withholds SUBACK: SUBSCRIBE comes again with the
// same identifier.
func TestRetransmitSubscribe(t *testing.T) {
	c, fc, _, err := connectedPair(t, Config{ClientID: "c", CleanSession: true, RetryInterval: 100 * time.Millisecond}, mqttwire.Accepted)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		codes []byte
		err   error
	}
	done := make(chan result, 1)
	go func() {
		codes, err := c.Subscribe(context.Background(),
			mqttwire.TopicFilter{Topic: []byte("a/+"), QoS: mqttwire.QoS2},
			mqttwire.TopicFilter{Topic: []byte("b/#"), QoS: mqttwire.QoS1})
		done <- result{codes, err}
	}()
	id := expect[*mqttwire.Subscribe](fc).PacketID
	again := expect[*mqttwire.Subscribe](fc)
	if again.PacketID != id || len(again.Filters) != 2 || string(again.Filters[1].Topic) != "b/#" {
		t.Fatalf("retransmitted SUBSCRIBE: id %d (want %d), %d filters", again.PacketID, id, len(again.Filters))
	}
	fc.write(&mqttwire.Suback{PacketID: id, ReturnCodes: []byte{1, mqttwire.SubackFailure}})
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if diff := cmp.Diff([]byte{1, mqttwire.SubackFailure}, r.codes); diff != "" {
		t.Errorf("SUBACK codes (-want +got):\n%s", diff)
	}
}

// TestKeepAlive checks that the client sends PINGREQ only when it has been
// idle for the keep-alive period, and closes the connection when PINGRESP
// does not come.
func TestKeepAlive(t *testing.T) {
	const keepAlive = 300 * time.Millisecond
	start := time.Now()
	c, fc, connect, err := connectedPair(t, Config{ClientID: "c", CleanSession: true, KeepAlive: keepAlive, PingTimeout: keepAlive}, mqttwire.Accepted)
	if err != nil {
		t.Fatal(err)
	}
	if connect.KeepAlive != 1 {
		t.Errorf("CONNECT keep-alive %d s, want 1 (300 ms rounded up)", connect.KeepAlive)
	}
	expect[*mqttwire.Pingreq](fc)
	if idle := time.Since(start); idle < keepAlive*3/4 {
		t.Errorf("PINGREQ after %v idle, want about %v", idle, keepAlive)
	}
	fc.write(&mqttwire.Pingresp{})

	// While the client keeps sending, it sends no PINGREQ, unless a loaded
	// machine stalled it for the keep-alive period.
	const publishes = 15
	go func() {
		for range publishes {
			c.Publish(context.Background(), Message{Topic: "busy", Payload: []byte("x")})
			time.Sleep(keepAlive / 10)
		}
	}()
	busy := time.Now()
	last := busy
	for n := 0; n < publishes; {
		p := fc.read()
		now := time.Now()
		switch p.(type) {
		case *mqttwire.Publish:
			n++
		case *mqttwire.Pingreq:
			if gap := now.Sub(last); gap < keepAlive*3/4 {
				t.Fatalf("PINGREQ %v after the previous packet, with keep-alive %v", gap, keepAlive)
			}
			fc.write(&mqttwire.Pingresp{})
		default:
			t.Fatalf("server read %v", p.Type())
		}
		last = now
	}
	if time.Since(busy) < keepAlive {
		t.Fatalf("the busy phase took %v, less than the keep-alive", time.Since(busy))
	}

	// Then idle again: PINGREQ, which the server leaves unanswered.
	expect[*mqttwire.Pingreq](fc)
	pinged := time.Now()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the client did not close the connection without PINGRESP")
	}
	if waited := time.Since(pinged); waited < keepAlive*2/3 {
		t.Errorf("closed %v after PINGREQ, want about the %v ping timeout", waited, keepAlive)
	}
	if !errors.Is(c.Err(), ErrPingTimeout) {
		t.Errorf("Err() = %v, want ErrPingTimeout", c.Err())
	}
	fc.expectClosed(2 * time.Second)
	if err := c.Disconnect(); !errors.Is(err, ErrPingTimeout) {
		t.Errorf("Disconnect after the timeout: %v, want ErrPingTimeout", err)
	}
}

// TestKeepAliveOff checks that keep-alive 0 sends no PINGREQ.
func TestKeepAliveOff(t *testing.T) {
	_, fc, connect, err := connectedPair(t, Config{ClientID: "c", CleanSession: true}, mqttwire.Accepted)
	if err != nil {
		t.Fatal(err)
	}
	if connect.KeepAlive != 0 {
		t.Errorf("CONNECT keep-alive %d, want 0", connect.KeepAlive)
	}
	if p, err := fc.readWithin(300 * time.Millisecond); err == nil {
		t.Fatalf("server read %v with keep-alive off", p.Type())
	}
}

// inbox collects the messages a client receives.
type inbox struct {
	mu     sync.Mutex
	msgs   []Message
	notify chan struct{}
}

func newInbox() *inbox { return &inbox{notify: make(chan struct{}, 1)} }

func (b *inbox) add(m Message) {
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

func (b *inbox) messages() []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Message(nil), b.msgs...)
}

// waitFor waits until done holds for the messages received, and returns
// them; after timeout it returns them anyway.
func (b *inbox) waitFor(timeout time.Duration, done func([]Message) bool) []Message {
	deadline := time.After(timeout)
	for {
		msgs := b.messages()
		if done(msgs) {
			return msgs
		}
		select {
		case <-b.notify:
		case <-deadline:
			return b.messages()
		}
	}
}

func atLeast(n int) func([]Message) bool { return func(m []Message) bool { return len(m) >= n } }

// TestInbound checks the client's side of the incoming flows: PUBACK for
// QoS 1; PUBREC, then PUBCOMP after PUBREL for QoS 2; and one delivery of a
// QoS 2 message that the server sends again before PUBREL.
func TestInbound(t *testing.T) {
	in := newInbox()
	c, fc, _, err := connectedPair(t, Config{ClientID: "c", CleanSession: true, OnMessage: in.add}, mqttwire.Accepted)
	if err != nil {
		t.Fatal(err)
	}
	fc.write(&mqttwire.Publish{Topic: []byte("q/0"), Payload: []byte("zero")})
	fc.write(&mqttwire.Publish{Topic: []byte("q/1"), Payload: []byte("one"), QoS: mqttwire.QoS1, PacketID: 5})
	if ack := expect[*mqttwire.Puback](fc); ack.PacketID != 5 {
		t.Fatalf("PUBACK id %d, want 5", ack.PacketID)
	}
	q2 := &mqttwire.Publish{Topic: []byte("q/2"), Payload: []byte("two"), QoS: mqttwire.QoS2, PacketID: 7, Retain: true}
	fc.write(q2)
	if rec := expect[*mqttwire.Pubrec](fc); rec.PacketID != 7 {
		t.Fatalf("PUBREC id %d, want 7", rec.PacketID)
	}
	q2.Dup = true
	fc.write(q2) // the server did not see PUBREC and sends again
	if rec := expect[*mqttwire.Pubrec](fc); rec.PacketID != 7 {
		t.Fatalf("second PUBREC id %d, want 7", rec.PacketID)
	}
	fc.write(&mqttwire.Pubrel{PacketID: 7})
	if comp := expect[*mqttwire.Pubcomp](fc); comp.PacketID != 7 {
		t.Fatalf("PUBCOMP id %d, want 7", comp.PacketID)
	}
	fc.write(&mqttwire.Pubrel{PacketID: 7}) // a repeated PUBREL still gets PUBCOMP
	if comp := expect[*mqttwire.Pubcomp](fc); comp.PacketID != 7 {
		t.Fatalf("second PUBCOMP id %d, want 7", comp.PacketID)
	}
	// The exchange is over, so id 7 may carry a new message.
	fc.write(&mqttwire.Publish{Topic: []byte("q/2"), Payload: []byte("again"), QoS: mqttwire.QoS2, PacketID: 7})
	expect[*mqttwire.Pubrec](fc)

	want := []Message{
		{Topic: "q/0", Payload: []byte("zero")},
		{Topic: "q/1", Payload: []byte("one"), QoS: mqttwire.QoS1},
		{Topic: "q/2", Payload: []byte("two"), QoS: mqttwire.QoS2, Retain: true},
		{Topic: "q/2", Payload: []byte("again"), QoS: mqttwire.QoS2},
	}
	got := in.waitFor(2*time.Second, atLeast(len(want)))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if err := c.Disconnect(); err != nil {
		t.Fatal(err)
	}
}

// TestProtocolViolation checks that a packet only a client sends closes the
// connection.
func TestProtocolViolation(t *testing.T) {
	c, fc, _, err := connectedPair(t, Config{ClientID: "c", CleanSession: true}, mqttwire.Accepted)
	if err != nil {
		t.Fatal(err)
	}
	fc.write(&mqttwire.Pingreq{})
	select {
	case <-c.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("the client kept the connection after a PINGREQ from the server")
	}
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "PINGREQ") {
		t.Errorf("Err() = %v, want a protocol error naming PINGREQ", err)
	}
}

// TestMaxPacketSize checks that a packet over MaxPacketSize ends the
// connection from its fixed header alone: the server declares 64 MiB and
// sends no body, and the client must not wait for it.
func TestMaxPacketSize(t *testing.T) {
	c, fc, _, err := connectedPair(t, Config{ClientID: "c", CleanSession: true, MaxPacketSize: 4096}, mqttwire.Accepted)
	if err != nil {
		t.Fatal(err)
	}
	// PUBLISH QoS 0, remaining length 64 MiB (80 80 80 20), and nothing after.
	if _, err := fc.conn.Write([]byte{0x30, 0x80, 0x80, 0x80, 0x20}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("the client waits for the body of a packet over MaxPacketSize")
	}
	if err := c.Err(); !errors.Is(err, mqttwire.ErrTooLarge) {
		t.Errorf("Err() = %v, want ErrTooLarge", err)
	}
	fc.expectClosed(2 * time.Second)
}

// syncBuffer is a bytes.Buffer that the command and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runAsync runs the command line in the background; the channel gets its
// exit code.
func runAsync(ctx context.Context, args []string, stdout, stderr io.Writer) <-chan int {
	code := make(chan int, 1)
	go func() { code <- run(ctx, args, stdout, stderr) }()
	return code
}

func waitCode(t *testing.T, code <-chan int) int {
	t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the command did not finish")
		return -1
	}
}

// TestSubCommandInterrupt runs "sub" against the fake server: it subscribes,
// prints lines (with -v, the flags first), and on Ctrl-C (the context)
// sends DISCONNECT and exits 0.
func TestSubCommandInterrupt(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		t.Run(fmt.Sprint("verbose=", verbose), func(t *testing.T) {
			s := startFake(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stdout, stderr syncBuffer
			args := []string{"sub", "-addr", s.addr, "-V", "3", "-q", "2", "-t", "a/#", "-t", "b"}
			if verbose {
				args = append(args, "-v")
			}
			code := runAsync(ctx, args, &stdout, &stderr)
			fc := s.accept(t)
			if c := expect[*mqttwire.Connect](fc); c.Version != mqttwire.V31 {
				t.Errorf("CONNECT level %d, want 3", c.Version)
			}
			fc.write(&mqttwire.Connack{Version: mqttwire.V31})
			sub := expect[*mqttwire.Subscribe](fc)
			if len(sub.Filters) != 2 || string(sub.Filters[0].Topic) != "a/#" || sub.Filters[1].QoS != mqttwire.QoS2 {
				t.Fatalf("SUBSCRIBE filters %v", sub.Filters)
			}
			fc.write(&mqttwire.Suback{PacketID: sub.PacketID, ReturnCodes: []byte{2, 1}, Version: mqttwire.V31})
			fc.write(&mqttwire.Publish{Topic: []byte("a/x"), Payload: []byte("hello world"), QoS: mqttwire.QoS1, PacketID: 9, Dup: true})
			expect[*mqttwire.Puback](fc)
			fc.write(&mqttwire.Publish{Topic: []byte("b"), Payload: []byte(""), Retain: true})
			want := "a/x hello world\nb \n"
			if verbose {
				want = "qos=1 retain=0 dup=1 a/x hello world\nqos=0 retain=1 dup=0 b \n"
			}
			deadline := time.Now().Add(2 * time.Second)
			for stdout.String() != want && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if got := stdout.String(); got != want {
				t.Errorf("stdout %q, want %q", got, want)
			}
			cancel() // Ctrl-C
			expect[*mqttwire.Disconnect](fc)
			fc.expectClosed(2 * time.Second)
			if c := waitCode(t, code); c != exitOK {
				t.Errorf("exit code %d, want 0; stderr:\n%s", c, stderr.String())
			}
		})
	}
}

// TestSubCommandLost checks that "sub" exits 1 and says why when the
// connection is lost.
func TestSubCommandLost(t *testing.T) {
	s := startFake(t)
	var stdout, stderr syncBuffer
	code := runAsync(context.Background(), []string{"sub", "-addr", s.addr, "-t", "a"}, &stdout, &stderr)
	fc := s.accept(t)
	expect[*mqttwire.Connect](fc)
	fc.write(&mqttwire.Connack{})
	sub := expect[*mqttwire.Subscribe](fc)
	fc.write(&mqttwire.Suback{PacketID: sub.PacketID, ReturnCodes: []byte{0}})
	fc.conn.Close()
	if c := waitCode(t, code); c != exitError {
		t.Errorf("exit code %d, want 1", c)
	}
	if !strings.Contains(stderr.String(), "closed the connection") {
		t.Errorf("stderr %q does not say the connection closed", stderr.String())
	}
}

// TestSubCommandRefusedFilter checks that "sub" exits 1 when the server
// refuses every subscription.
func TestSubCommandRefusedFilter(t *testing.T) {
	s := startFake(t)
	var stdout, stderr syncBuffer
	code := runAsync(context.Background(), []string{"sub", "-addr", s.addr, "-t", "secret/#"}, &stdout, &stderr)
	fc := s.accept(t)
	expect[*mqttwire.Connect](fc)
	fc.write(&mqttwire.Connack{})
	sub := expect[*mqttwire.Subscribe](fc)
	fc.write(&mqttwire.Suback{PacketID: sub.PacketID, ReturnCodes: []byte{mqttwire.SubackFailure}})
	expect[*mqttwire.Disconnect](fc)
	if c := waitCode(t, code); c != exitError {
		t.Errorf("exit code %d, want 1", c)
	}
	if !strings.Contains(stderr.String(), `refused the subscription to "secret/#"`) {
		t.Errorf("stderr %q does not name the refused filter", stderr.String())
	}
}

// TestPubCommand runs "pub" at each QoS against the fake server and checks
// the packets and the exit code.
func TestPubCommand(t *testing.T) {
	for _, qos := range []mqttwire.QoS{0, 1, 2} {
		t.Run(fmt.Sprint("qos", qos), func(t *testing.T) {
			s := startFake(t)
			var stdout, stderr syncBuffer
			code := runAsync(context.Background(), []string{
				"pub", "-addr", s.addr, "-t", "x/y", "-m", "payload", "-q", fmt.Sprint(qos), "-r",
				"-id", "pub1", "-clean=false", "-keepalive", "7", "-u", "u", "-P", "p",
				"--will-topic", "w", "--will-message", "bye", "--will-qos", "1", "--will-retain",
			}, &stdout, &stderr)
			fc := s.accept(t)
			c := expect[*mqttwire.Connect](fc)
			if string(c.ClientID) != "pub1" || c.CleanSession || c.KeepAlive != 7 || string(c.Username) != "u" ||
				string(c.Password) != "p" || string(c.WillTopic) != "w" || string(c.WillMessage) != "bye" ||
				c.WillQoS != 1 || !c.WillRetain || c.Version != mqttwire.V311 {
				t.Errorf("CONNECT does not follow the flags: %+v", c)
			}
			fc.write(&mqttwire.Connack{})
			p := expect[*mqttwire.Publish](fc)
			if string(p.Topic) != "x/y" || string(p.Payload) != "payload" || p.QoS != qos || !p.Retain {
				t.Errorf("PUBLISH topic %q payload %q QoS %d retain %v", p.Topic, p.Payload, p.QoS, p.Retain)
			}
			switch qos {
			case mqttwire.QoS1:
				fc.write(&mqttwire.Puback{PacketID: p.PacketID})
			case mqttwire.QoS2:
				id := p.PacketID
				fc.write(&mqttwire.Pubrec{PacketID: id})
				expect[*mqttwire.Pubrel](fc)
				fc.write(&mqttwire.Pubcomp{PacketID: id})
			}
			expect[*mqttwire.Disconnect](fc)
			if c := waitCode(t, code); c != exitOK {
				t.Errorf("exit code %d, want 0; stderr:\n%s", c, stderr.String())
			}
		})
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		say  string
	}{
		{nil, exitUsage, "usage:"},
		{[]string{"push"}, exitUsage, `unknown command "push"`},
		{[]string{"pub", "-m", "x"}, exitUsage, "-t is required"},
		{[]string{"pub", "-t", "a"}, exitUsage, "-m is required"},
		{[]string{"pub", "-t", "a", "-t", "b", "-m", "x"}, exitUsage, "one -t"},
		{[]string{"pub", "-t", "a/+", "-m", "x"}, exitUsage, "wildcard"},
		{[]string{"sub", "-t", "a/#/b"}, exitUsage, "-t"},
		{[]string{"sub", "-t", "a", "-q", "3"}, exitUsage, "want 0, 1 or 2"},
		{[]string{"sub", "-t", "a", "-V", "5"}, exitUsage, "want 3 (MQTT 3.1) or 4"},
		{[]string{"sub", "-t", "a", "-P", "secret"}, exitUsage, "-P needs -u"},
		{[]string{"sub", "-t", "a", "--will-qos", "1"}, exitUsage, "need --will-topic"},
		{[]string{"sub", "-t", "a", "-keepalive", "70000"}, exitUsage, "-keepalive"},
		{[]string{"sub", "-t", "a", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"pub", "-h"}, exitOK, "-will-topic"},
		{[]string{"pub", "-addr", "127.0.0.1:1", "-t", "a", "-m", "x"}, exitError, "connect to 127.0.0.1:1"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tt.args, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.say) {
			t.Errorf("run %q: exit %d, stderr %q; want exit %d and %q", tt.args, code, stderr.String(), tt.code, tt.say)
		}
	}
}
