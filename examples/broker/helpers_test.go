package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mqttwire/mqttwire"
)

// The helpers here drive the broker over real TCP on 127.0.0.1, with
// mqttwire as the client's codec.

// waitLong bounds every wait for something that should happen; a test
// failing on it has found a hang, not a slow machine.
const waitLong = 10 * time.Second

// waitShort is how long a test listens for something that must not arrive.
const waitShort = 300 * time.Millisecond

// startBroker starts a broker on a free loopback port and stops it when the
// test ends. edit, if not nil, changes the default settings first.
func startBroker(t testing.TB, edit func(*config)) (*server, string) {
	t.Helper()
	cfg := defaultConfig()
	if testing.Verbose() {
		cfg.logger = newTestLogger(t)
	}
	if edit != nil {
		edit(&cfg)
	}
	srv := newServer(cfg)
	ln, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.serve(ln) }()
	t.Cleanup(func() {
		srv.shutdown()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return srv, ln.Addr().String()
}

// testClient is one raw MQTT connection to the broker.
type testClient struct {
	t   testing.TB
	nc  net.Conn
	r   *mqttwire.Reader
	buf []byte
}

// dial opens a connection and sends nothing.
func dial(t testing.TB, addr string) *testClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, waitLong)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &testClient{t: t, nc: nc, r: mqttwire.NewReader(nc)}
}

// connOpts are the CONNECT fields a test may change.
type connOpts struct {
	persistent bool // CleanSession 0
	keepAlive  uint16
	version    mqttwire.Version
	will       *mqttwire.Publish // topic, payload, QoS and retain of the will
}

// connect dials and connects as id, and checks the CONNACK: accepted, with
// Session Present as want.
func connect(t testing.TB, addr, id string, o connOpts, wantPresent bool) *testClient {
	t.Helper()
	c := dial(t, addr)
	c.send(o.connect(id))
	ack := c.expect(mqttwire.TypeConnack).(*mqttwire.Connack)
	if ack.ReturnCode != mqttwire.Accepted || ack.SessionPresent != wantPresent {
		t.Fatalf("%s: CONNACK %v, session present %t; want accepted, %t", id, ack.ReturnCode, ack.SessionPresent, wantPresent)
	}
	return c
}

func (o connOpts) connect(id string) *mqttwire.Connect {
	p := &mqttwire.Connect{Version: o.version, CleanSession: !o.persistent, KeepAlive: o.keepAlive, ClientID: []byte(id)}
	if p.Version == 0 {
		p.Version = mqttwire.V311
	}
	if w := o.will; w != nil {
		p.WillFlag, p.WillTopic, p.WillMessage, p.WillQoS, p.WillRetain = true, w.Topic, w.Payload, w.QoS, w.Retain
	}
	return p
}

// send encodes p and writes it.
func (c *testClient) send(p mqttwire.Packet) {
	c.t.Helper()
	var err error
	if c.buf, err = p.Append(c.buf[:0]); err != nil {
		c.t.Fatalf("encoding %v: %v", p.Type(), err)
	}
	c.write(c.buf)
}

// sendHex writes raw bytes given in hex, spaces allowed.
func (c *testClient) sendHex(h string) {
	c.t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
	if err != nil {
		c.t.Fatal(err)
	}
	c.write(b)
}

func (c *testClient) write(b []byte) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(waitLong))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read reads the next packet within d. The packet is valid until the next
// read.
func (c *testClient) read(d time.Duration) (mqttwire.Packet, error) {
	c.nc.SetReadDeadline(time.Now().Add(d))
	return c.r.ReadPacket()
}

// expect reads the next packet and checks its type.
func (c *testClient) expect(t mqttwire.Type) mqttwire.Packet {
	c.t.Helper()
	p, err := c.read(waitLong)
	if err != nil {
		c.t.Fatalf("waiting for %v: %v", t, err)
	}
	if p.Type() != t {
		c.t.Fatalf("got %v, want %v", describe(p), t)
	}
	return p
}

// expectHex reads the next packet and compares its encoding with h.
func (c *testClient) expectHex(h string) {
	c.t.Helper()
	p, err := c.read(waitLong)
	if err != nil {
		c.t.Fatalf("waiting for %s: %v", h, err)
	}
	got, err := p.Append(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if want := strings.ReplaceAll(h, " ", ""); hex.EncodeToString(got) != strings.ToLower(want) {
		c.t.Fatalf("got % X (%v), want %s", got, describe(p), h)
	}
}

// msg is a received PUBLISH, copied out of the reader's buffer.
type msg struct {
	Topic, Payload string
	QoS            mqttwire.QoS
	Retain, Dup    bool
	PacketID       uint16
}

func (m msg) String() string {
	return fmt.Sprintf("PUBLISH %q %q qos %d retain %t dup %t id %d", m.Topic, m.Payload, m.QoS, m.Retain, m.Dup, m.PacketID)
}

// expectPublish reads the next packet, which must be a PUBLISH, and returns a
// copy of it.
func (c *testClient) expectPublish() msg {
	c.t.Helper()
	p := c.expect(mqttwire.TypePublish).(*mqttwire.Publish)
	return msg{string(p.Topic), string(p.Payload), p.QoS, p.Retain, p.Dup, p.PacketID}
}

// expectNothing checks that no packet arrives for waitShort.
func (c *testClient) expectNothing() {
	c.t.Helper()
	p, err := c.read(waitShort)
	if err == nil {
		c.t.Fatalf("got %v, want nothing", describe(p))
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		c.t.Fatalf("want nothing, got error %v", err)
	}
	// mqttwire.Reader keeps a source's error, timeouts included, so a new
	// Reader goes on; nothing arrived, so nothing buffered is lost.
	if c.r.Buffered() != 0 {
		c.t.Fatalf("%d bytes of a partial packet buffered", c.r.Buffered())
	}
	c.r = mqttwire.NewReader(c.nc)
}

// expectClosed checks that the broker closes the connection, with no packet
// before.
func (c *testClient) expectClosed() {
	c.t.Helper()
	p, err := c.read(waitLong)
	if err == nil {
		c.t.Fatalf("got %v, want the connection closed", describe(p))
	}
	if !isClosed(err) {
		c.t.Fatalf("want the connection closed, got %v", err)
	}
}

// isClosed reports whether err is how a read sees a closed connection.
func isClosed(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "connection reset")
}

// subscribe subscribes to one filter and checks the granted code.
func (c *testClient) subscribe(filter string, qos mqttwire.QoS, wantCode byte) {
	c.t.Helper()
	c.send(&mqttwire.Subscribe{PacketID: 1, Filters: []mqttwire.TopicFilter{{Topic: []byte(filter), QoS: qos}}})
	ack := c.expect(mqttwire.TypeSuback).(*mqttwire.Suback)
	if ack.PacketID != 1 || len(ack.ReturnCodes) != 1 || ack.ReturnCodes[0] != wantCode {
		c.t.Fatalf("SUBACK id %d codes % X; want id 1 code %02X", ack.PacketID, ack.ReturnCodes, wantCode)
	}
}

// publish sends a PUBLISH and waits until the broker has routed it: for QoS
// 1 and 2 it completes the exchange, for QoS 0 it pings.
func (c *testClient) publish(topic, payload string, qos mqttwire.QoS, retain bool) {
	c.t.Helper()
	p := &mqttwire.Publish{Topic: []byte(topic), Payload: []byte(payload), QoS: qos, Retain: retain}
	if qos > 0 {
		p.PacketID = 7
	}
	c.send(p)
	switch qos {
	case mqttwire.QoS0:
		// The broker handles a connection's packets in order, so once
		// PINGRESP is back the message has been routed.
		c.sendHex("C0 00")
		c.expectHex("D0 00")
	case mqttwire.QoS1:
		c.expectHex("40 02 00 07")
	case mqttwire.QoS2:
		c.expectHex("50 02 00 07")
		c.sendHex("62 02 00 07")
		c.expectHex("70 02 00 07")
	}
}

// disconnect sends DISCONNECT and waits for the broker to close.
func (c *testClient) disconnect() {
	c.t.Helper()
	c.sendHex("E0 00")
	c.expectClosed()
}

// describe names a packet for failure messages.
func describe(p mqttwire.Packet) string {
	if pub, ok := p.(*mqttwire.Publish); ok {
		return msg{string(pub.Topic), string(pub.Payload), pub.QoS, pub.Retain, pub.Dup, pub.PacketID}.String()
	}
	if s, ok := p.(fmt.Stringer); ok {
		return s.String()
	}
	return p.Type().String()
}

// eventually polls cond until it holds or waitLong has passed.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newTestLogger(t testing.TB) *log.Logger { return log.New(testLogger{t}, "", 0) }

// testLogger sends the broker's log lines to the test log.
type testLogger struct{ t testing.TB }

func (l testLogger) Write(b []byte) (int, error) {
	l.t.Log(string(bytes.TrimRight(b, "\n")))
	return len(b), nil
}

// sessionOf returns the session of clientID, or nil.
func sessionOf(srv *server, clientID string) *session {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.sessions[clientID]
}

// goroutines returns the number of goroutines, for the leak test.
func goroutines() int { return runtime.NumGoroutine() }

// retainedCount returns how many retained messages srv holds.
func (srv *server) retainedCount() int {
	srv.retained.mu.RLock()
	defer srv.retained.mu.RUnlock()
	return len(srv.retained.root.all(nil))
}
