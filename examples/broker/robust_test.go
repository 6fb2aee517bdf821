package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttwire/mqttwire"
)

// A malformed packet closes only the connection that sent it
// [MQTT-4.8.0-1], [MQTT-4.8.0-2].
func TestMalformedClosesOnlyThatConnection(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	s := connect(t, addr, "s", connOpts{}, false)
	s.subscribe("a", 0, 0)
	p := connect(t, addr, "p", connOpts{}, false)
	for _, h := range []string{
		"36 05 00 01 61 00 01", // QoS 3
		"38 03 00 01 61",       // DUP on QoS 0
		"32 05 00 01 61 00 00", // packet id 0
		"62 02 00 00",          // PUBREL id 0
		"60 02 00 01",          // PUBREL flags
		"82 02 00 01",          // SUBSCRIBE without filters
		"C0 01 00",             // PINGREQ with a body
		"E1 00",                // DISCONNECT flags
		"F0 00",                // reserved type
		"C0 80 80 80 80",       // a 5-byte remaining length
	} {
		bad := connect(t, addr, "bad", connOpts{}, false)
		bad.sendHex(h)
		bad.expectClosed()
		p.publish("a", h, 0, false)
		if got := s.expectPublish(); got.Payload != h {
			t.Fatalf("after %s: got %v", h, got)
		}
	}
}

// A packet over -max-packet is refused from its fixed header, before its
// body is read.
func TestOversizePacket(t *testing.T) {
	t.Parallel()
	const max = 1024
	_, addr := startBroker(t, func(c *config) { c.maxPacket = max })
	s := connect(t, addr, "s", connOpts{}, false)
	s.subscribe("a", 0, 0)

	// A PUBLISH of exactly max bytes: 3 bytes of fixed header, 3 of topic.
	p := connect(t, addr, "p", connOpts{}, false)
	p.publish("a", strings.Repeat("x", max-6), 0, false)
	if got := s.expectPublish(); len(got.Payload) != max-6 {
		t.Fatalf("got %d bytes", len(got.Payload))
	}
	// One byte more closes.
	p.send(&mqttwire.Publish{Topic: []byte("a"), Payload: bytes.Repeat([]byte("x"), max-5)})
	p.expectClosed()

	// A header that announces 2 MB, with no body behind it, closes at once:
	// the broker does not wait for the body.
	p = connect(t, addr, "p", connOpts{}, false)
	p.sendHex("30 80 80 80 01")
	p.expectClosed()
	s.expectNothing()
}

// A connection that sends no CONNECT is closed after -connect-timeout.
func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, func(c *config) { c.connectTimeout = 200 * time.Millisecond })
	c := dial(t, addr)
	c.sendHex("10 0D 00 04") // a CONNECT cut short
	c.expectClosed()
}

// A subscriber that stops reading costs bounded memory: QoS 0 messages are
// dropped once its outbound buffer is full, QoS 1 messages once the window
// and the session's queue are, and the publisher is never held up.
func TestSlowSubscriber(t *testing.T) {
	t.Parallel()
	const (
		maxBuffer   = 64 << 10
		maxInflight = 10
		maxQueued   = 100
	)
	srv, addr := startBroker(t, func(c *config) {
		c.maxBuffer, c.maxInflight, c.maxQueued = maxBuffer, maxInflight, maxQueued
	})
	slow := connect(t, addr, "slow", connOpts{}, false)
	slow.subscribe("a", 1, 1)
	p := connect(t, addr, "p", connOpts{}, false)

	// 8 MB of QoS 0 is more than the socket buffers of a client that does
	// not read hold.
	payload := bytes.Repeat([]byte("x"), 1000)
	pub := &mqttwire.Publish{Topic: []byte("a"), Payload: payload}
	batch, _ := pub.Append(nil)
	batch = bytes.Repeat(batch, 1000)
	for range 8 {
		p.write(batch)
	}
	for i := range 500 {
		p.publish("a", fmt.Sprint(i), 1, false)
	}

	sess := sessionOf(srv, "slow")
	c := sess.conn.Load()
	c.outMu.Lock()
	buffered, dropped0 := len(c.out), c.dropped
	c.outMu.Unlock()
	sess.mu.Lock()
	inflight, waiting, dropped1 := len(sess.inflight), sess.waiting(), sess.dropped
	sess.mu.Unlock()
	t.Logf("buffered %d bytes, dropped %d QoS 0, in flight %d, queued %d, dropped %d QoS 1", buffered, dropped0, inflight, waiting, dropped1)
	if buffered > maxBuffer+2*maxInflight*(len(payload)+10) {
		t.Errorf("outbound buffer holds %d bytes, bound %d", buffered, maxBuffer)
	}
	if dropped0 == 0 {
		t.Errorf("no QoS 0 message dropped")
	}
	if inflight != maxInflight || waiting != maxQueued || dropped1 != 500-maxInflight-maxQueued {
		t.Errorf("in flight %d, queued %d, dropped %d; want %d, %d, %d", inflight, waiting, dropped1, maxInflight, maxQueued, 500-maxInflight-maxQueued)
	}

	// Reading again, the subscriber gets every QoS 1 message the broker
	// kept, in order.
	next := 0
	for next < maxInflight+maxQueued {
		m := slow.expectPublish()
		if m.QoS == 0 {
			continue
		}
		if m.Payload != fmt.Sprint(next) {
			t.Fatalf("got %v, want payload %d", m, next)
		}
		slow.send(&mqttwire.Puback{PacketID: m.PacketID})
		next++
	}
}

// A session's queue that never empties, because messages come in as fast as
// the subscriber acknowledges them, keeps a slice sized to its backlog, not
// to every message that ever passed through it.
func TestQueueBacklogBounded(t *testing.T) {
	t.Parallel()
	const maxQueued = 10
	srv, addr := startBroker(t, func(c *config) { c.maxInflight, c.maxQueued = 1, maxQueued })
	s := connect(t, addr, "s", connOpts{}, false)
	s.subscribe("a", 1, 1)
	p := connect(t, addr, "p", connOpts{}, false)
	for i := range 5 { // one in flight, four queued
		p.publish("a", fmt.Sprint(i), 1, false)
	}
	for i := range 1000 {
		p.publish("a", fmt.Sprint(i+5), 1, false)
		m := s.expectPublish()
		if m.Payload != fmt.Sprint(i) {
			t.Fatalf("got %v, want payload %d", m, i)
		}
		s.send(&mqttwire.Puback{PacketID: m.PacketID})
	}
	sess := sessionOf(srv, "s")
	sess.mu.Lock()
	size, waiting := cap(sess.queue), sess.waiting()
	sess.mu.Unlock()
	if size > 4*maxQueued {
		t.Errorf("queue slice holds %d slots for %d waiting messages", size, waiting)
	}
}

// A SUBSCRIBE with many filters, or a wildcard over many retained messages,
// does not leave its scratch slices on the connection: an idle connection
// would otherwise keep 8 bytes per retained message for as long as it lasts.
func TestSubscribeScratchLetGo(t *testing.T) {
	t.Parallel()
	const n = 2 * maxIdleScratch
	srv, addr := startBroker(t, nil)
	p := connect(t, addr, "p", connOpts{}, false)
	for i := range n {
		p.send(&mqttwire.Publish{Topic: []byte(fmt.Sprint("r/", i)), Payload: []byte("x"), Retain: true})
	}
	p.publish("sync", "", 0, false)
	filters := []mqttwire.TopicFilter{{Topic: []byte("r/#")}}
	for i := range n {
		filters = append(filters, mqttwire.TopicFilter{Topic: []byte(fmt.Sprint("n/", i))})
	}
	c := connect(t, addr, "c", connOpts{}, false)
	c.send(&mqttwire.Subscribe{PacketID: 1, Filters: filters})
	c.sendHex("C0 00") // PINGRESP comes once the SUBSCRIBE is handled
	if ack := c.expect(mqttwire.TypeSuback).(*mqttwire.Suback); len(ack.ReturnCodes) != n+1 {
		t.Fatalf("SUBACK has %d codes, want %d", len(ack.ReturnCodes), n+1)
	}
	for i := range n {
		if m := c.expectPublish(); !m.Retain {
			t.Fatalf("message %d: got %v, want a retained message", i, m)
		}
	}
	c.expectHex("D0 00")
	b := sessionOf(srv, "c").conn.Load()
	b.outMu.Lock() // orders these reads after the reader's writes
	retained, codes, refused := cap(b.retained), cap(b.codes), cap(b.refused)
	b.outMu.Unlock()
	if retained > maxIdleScratch || codes > maxIdleScratch || refused > maxIdleScratch {
		t.Errorf("the connection keeps scratch for %d retained messages, %d codes, %d filters", retained, codes, refused)
	}
}

// A client that sends and never reads cannot grow its outbound buffer without
// bound with the answers to its own packets: once the buffer holds more than
// deliveries may put there, the broker closes the connection. The client is
// one end of a net.Pipe, whose Write blocks until the other end reads, so no
// socket buffer hides the growth.
func TestClientThatNeverReads(t *testing.T) {
	t.Parallel()
	cfg := defaultConfig()
	cfg.maxBuffer, cfg.maxInflight, cfg.maxPacket = 1024, 1, 64
	if testing.Verbose() {
		cfg.logger = newTestLogger(t)
	}
	srv := newServer(cfg)
	ln := &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
	go srv.serve(ln)
	t.Cleanup(srv.shutdown)
	client, server := net.Pipe()
	defer client.Close()
	ln.conns <- server
	c := &testClient{t: t, nc: client, r: mqttwire.NewReader(client)}
	c.send(connOpts{}.connect("c"))
	c.expectHex("20 02 00 00")
	pings := bytes.Repeat([]byte{0xC0, 0x00}, 1024)
	for range 64 { // 64 K PINGREQ, and never a PINGRESP read
		client.SetWriteDeadline(time.Now().Add(waitLong))
		if _, err := client.Write(pings); err != nil {
			if !isClosed(err) && !errors.Is(err, io.ErrClosedPipe) {
				t.Fatalf("want the connection closed, got %v", err)
			}
			return
		}
	}
	sess := sessionOf(srv, "c")
	b := sess.conn.Load()
	b.outMu.Lock()
	buffered := len(b.out)
	b.outMu.Unlock()
	t.Fatalf("still open with %d bytes buffered", buffered)
}

// pipeListener accepts the connections sent on conns.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	close(l.closed)
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.UnixAddr{Name: "pipe", Net: "pipe"} }

// Thousands of connects and disconnects leave no goroutine and no session
// behind.
func TestNoLeak(t *testing.T) {
	srv, addr := startBroker(t, func(c *config) { c.logger = nil })
	// Warm up, so that lazily started runtime goroutines are counted.
	connect(t, addr, "warm", connOpts{}, false).disconnect()
	eventually(t, "the warm-up connection to end", func() bool { return connCount(srv) == 0 })
	runtime.GC()
	base := goroutines()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	const workers, rounds = 8, 250 // 2,000 connections
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				id := fmt.Sprintf("leak-%d-%d", w, i)
				o := connOpts{will: &mqttwire.Publish{Topic: []byte("will"), Payload: []byte(id)}}
				c := leakConnect(t, addr, id, o, i%5)
				if c == nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	eventually(t, "every connection to end", func() bool { return connCount(srv) == 0 })
	eventually(t, "goroutines back to the baseline", func() bool { return goroutines() <= base })
	srv.mu.Lock()
	sessions := len(srv.sessions)
	srv.mu.Unlock()
	if sessions != 0 {
		t.Errorf("%d sessions left", sessions)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("goroutines %d → %d; heap in use %d → %d KiB", base, goroutines(), before.HeapInuse>>10, after.HeapInuse>>10)
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > 8<<20 {
		t.Errorf("heap grew by %d KiB", grown>>10)
	}
}

// leakConnect runs one short connection of kind 0 to 4: DISCONNECT, a
// dropped socket, a subscription then DISCONNECT, a refused CONNECT, a
// malformed packet.
func leakConnect(t *testing.T, addr, id string, o connOpts, kind int) *testClient {
	nc, err := net.DialTimeout("tcp", addr, waitLong)
	if err != nil {
		t.Error(err)
		return nil
	}
	defer nc.Close()
	c := &testClient{t: t, nc: nc, r: mqttwire.NewReader(nc)}
	if kind == 3 {
		c.sendHex("10 0C 00 04 4D 51 54 54 04 00 00 3C 00 00")
		c.expectHex("20 02 00 02")
		c.expectClosed()
		return c
	}
	c.send(o.connect(id))
	c.expectHex("20 02 00 00")
	switch kind {
	case 0:
		c.disconnect()
	case 1:
		nc.Close()
	case 2:
		c.subscribe("leak/"+id, 1, 1)
		c.disconnect()
	case 4:
		c.sendHex("30 03 00 01 23")
		c.expectClosed()
	}
	return c
}

func connCount(srv *server) int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.conns)
}

// Shutdown closes every connection and publishes no will.
func TestShutdown(t *testing.T) {
	t.Parallel()
	srv, addr := startBroker(t, nil)
	will := &mqttwire.Publish{Topic: []byte("will"), Payload: []byte("x"), Retain: true}
	var clients []*testClient
	for i := range 10 {
		clients = append(clients, connect(t, addr, fmt.Sprint(i), connOpts{will: will}, false))
	}
	srv.shutdown()
	for _, c := range clients {
		c.expectClosed()
	}
	if n := srv.retainedCount(); n != 0 {
		t.Errorf("%d retained messages: a will was published on shutdown", n)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Errorf("the broker still accepts connections")
	}
}

// The ACL refuses subscriptions with 0x80 (the requested QoS in 3.1), keeps
// denied topics from every subscriber, and drops denied publications after
// acknowledging them.
func TestACL(t *testing.T) {
	t.Parallel()
	rules, err := parseACL(strings.NewReader("# test rules\ndeny subscribe test/nosubscribe\n\ndeny publish secret/#\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, addr := startBroker(t, func(c *config) { c.acl = rules })
	s := connect(t, addr, "s", connOpts{}, false)
	s.subscribe("test/nosubscribe", 1, mqttwire.SubackFailure)
	s.subscribe("#", 0, 0)
	p := connect(t, addr, "p", connOpts{}, false)
	p.publish("test/nosubscribe", "hidden", 1, true)
	p.publish("secret/x", "dropped", 2, true)
	p.publish("open", "visible", 0, false)
	if got := s.expectPublish(); got.Topic != "open" {
		t.Fatalf("got %v, want only the allowed topic", got)
	}
	late := connect(t, addr, "late", connOpts{}, false)
	late.subscribe("#", 0, 0)
	late.expectNothing() // no retained message on a denied topic

	old := dial(t, addr)
	old.send(connOpts{version: mqttwire.V31}.connect("old"))
	old.expectHex("20 02 00 00")
	old.subscribe("test/nosubscribe", 1, 1) // granted in 3.1, but not subscribed
	old.subscribe("test/+", 0, 0)
	p.publish("test/nosubscribe", "hidden", 0, false)
	p.publish("test/open", "shown", 0, false)
	if got := old.expectPublish(); got.Topic != "test/open" {
		t.Fatalf("got %v", got)
	}

	if _, err := parseACL(strings.NewReader("allow subscribe a\n")); err == nil {
		t.Error("want an error for an allow rule")
	}
	if _, err := parseACL(strings.NewReader("deny subscribe a/#/b\n")); err == nil {
		t.Error("want an error for a bad filter")
	}
}
