package main

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mqttwire/mqttwire"
)

// Each test here checks rules of conformance.md §2 over real TCP.

const (
	connect311 = "10 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 61" // CONNECT 3.1.1, clean, id "a"
	connect31  = "10 0F 00 06 4D 51 49 73 64 70 03 02 00 3C 00 01 61"
)

// [MQTT-3.1.0-1]: the first packet must be CONNECT; anything else closes
// the connection with nothing sent.
func TestFirstPacketMustBeConnect(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	for _, h := range []string{"C0 00", "30 03 00 01 61", "82 06 00 01 00 01 61 00", "E0 00"} {
		c := dial(t, addr)
		c.sendHex(h)
		c.expectClosed()
	}
}

// [MQTT-3.1.0-2]: a second CONNECT closes the connection.
func TestSecondConnect(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	c := dial(t, addr)
	c.sendHex(connect311)
	c.expectHex("20 02 00 00")
	c.sendHex(connect311)
	c.expectClosed()
}

// [MQTT-3.1.2-1], [MQTT-3.1.4-1]: an unknown protocol name or any malformed
// CONNECT closes without CONNACK; [MQTT-3.1.2-2]: a wrong level gets 0x01.
func TestConnectRefusals(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	closes := map[string]string{
		"name MQTX":         "10 0D 00 04 4D 51 54 58 04 02 00 3C 00 01 61",
		"name mqtt":         "10 0D 00 04 6D 71 74 74 04 02 00 3C 00 01 61",
		"reserved flag":     "10 0D 00 04 4D 51 54 54 04 03 00 3C 00 01 61",
		"bad utf-8 id":      "10 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 FF",
		"will topic #":      "10 13 00 04 4D 51 54 54 04 06 00 3C 00 01 61 00 01 23 00 01 6D",
		"password only":     "10 10 00 04 4D 51 54 54 04 42 00 3C 00 01 61 00 01 70",
		"reserved type 0":   "00 00",
		"non-minimal":       "10 8D 00 00 04 4D 51 54 54 04 02 00 3C 00 01 61",
		"first is PINGRESP": "D0 00",
	}
	for name, h := range closes {
		t.Run(name, func(t *testing.T) {
			c := dial(t, addr)
			c.sendHex(h)
			c.expectClosed()
		})
	}
	versions := map[string]string{
		"level 5":        "10 0D 00 04 4D 51 54 54 05 02 00 3C 00 01 61",
		"MQTT level 3":   "10 0D 00 04 4D 51 54 54 03 02 00 3C 00 01 61",
		"MQIsdp level 4": "10 0F 00 06 4D 51 49 73 64 70 04 02 00 3C 00 01 61",
		"bridge bit":     "10 0D 00 04 4D 51 54 54 84 02 00 3C 00 01 61",
	}
	for name, h := range versions {
		t.Run(name, func(t *testing.T) {
			c := dial(t, addr)
			c.sendHex(h)
			c.expectHex("20 02 00 01")
			c.expectClosed()
		})
	}
}

// [MQTT-3.1.3-6], [MQTT-3.1.3-8], [MQTT-3.1.3-9]: client id rules.
func TestClientID(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, func(c *config) { c.maxClientID = 23 })

	// Empty id without clean session: 0x02, then close; the pipelined
	// PUBLISH is ignored [MQTT-3.1.4-5].
	sub := connect(t, addr, "watcher", connOpts{}, false)
	sub.subscribe("x", 0, 0)
	c := dial(t, addr)
	c.sendHex("10 0C 00 04 4D 51 54 54 04 00 00 3C 00 00" + "30 03 00 01 78")
	c.expectHex("20 02 00 02")
	c.expectClosed()
	sub.expectNothing()

	// Empty id with clean session: accepted with an id of the broker's.
	c = dial(t, addr)
	c.sendHex("10 0C 00 04 4D 51 54 54 04 02 00 3C 00 00")
	c.expectHex("20 02 00 00")
	c.sendHex("C0 00")
	c.expectHex("D0 00")

	// 3.1 has no empty ids (§3 row 2).
	c = dial(t, addr)
	c.sendHex("10 0E 00 06 4D 51 49 73 64 70 03 02 00 3C 00 00")
	c.expectHex("20 02 00 02")
	c.expectClosed()

	// Longer than -max-client-id.
	c = dial(t, addr)
	c.send(connOpts{}.connect("abcdefghijklmnopqrstuvwx")) // 24 bytes
	c.expectHex("20 02 00 02")
	c.expectClosed()
	connect(t, addr, "abcdefghijklmnopqrstuvw", connOpts{}, false) // 23 bytes
}

// [MQTT-3.1.4-2]: a CONNECT with a connected client id closes the older
// connection, and its will is published.
func TestTakeover(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	sub := connect(t, addr, "sub", connOpts{}, false)
	sub.subscribe("will", 1, 1)
	will := &mqttwire.Publish{Topic: []byte("will"), Payload: []byte("gone"), QoS: 1}
	first := connect(t, addr, "a", connOpts{persistent: true, will: will}, false)
	first.subscribe("t", 1, 1)
	second := connect(t, addr, "a", connOpts{persistent: true}, true)
	first.expectClosed()
	if got := sub.expectPublish(); got.Topic != "will" || got.Payload != "gone" {
		t.Fatalf("got %v, want the will of the first connection", got)
	}
	// The session moved to the second connection.
	connect(t, addr, "pub", connOpts{}, false).publish("t", "hello", 1, false)
	if got := second.expectPublish(); got.Payload != "hello" {
		t.Fatalf("second connection got %v", got)
	}
}

// [MQTT-3.1.2-10]: a client that sends DISCONNECT and connects again at
// once with its client id does not have its will published, even when the
// new CONNECT is handled before the old connection's DISCONNECT is read.
func TestTakeoverAfterDisconnect(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	sub := connect(t, addr, "sub", connOpts{}, false)
	sub.subscribe("will", 0, 0)
	will := &mqttwire.Publish{Topic: []byte("will"), Payload: []byte("gone")}
	first := connect(t, addr, "a", connOpts{will: will}, false)
	// Many PINGREQs keep the first connection's reader busy, so that its
	// DISCONNECT is still unread when the second CONNECT arrives.
	first.write(append(bytes.Repeat([]byte{0xC0, 0x00}, 20000), 0xE0, 0x00))
	connect(t, addr, "a", connOpts{}, false)
	sub.expectNothing()
}

// [MQTT-3.1.2-4], [MQTT-3.1.2-6], [MQTT-3.2.2-2], [MQTT-3.2.2-3]: sessions and
// Session Present.
func TestSessions(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	c := connect(t, addr, "p", connOpts{persistent: true}, false)
	c.subscribe("q/+", 1, 1)
	c.disconnect()

	pub := connect(t, addr, "pub", connOpts{}, false)
	pub.publish("q/1", "kept", 1, false)
	pub.publish("q/0", "qos 0 is not kept", 0, false)

	c = connect(t, addr, "p", connOpts{persistent: true}, true)
	got := c.expectPublish()
	if got.Topic != "q/1" || got.Payload != "kept" || got.QoS != 1 || got.Dup {
		t.Fatalf("got %v, want the queued QoS 1 message", got)
	}
	c.send(&mqttwire.Puback{PacketID: got.PacketID})
	c.expectNothing()
	c.disconnect()

	// Clean session throws the stored session away; the next persistent
	// connect finds none.
	c = connect(t, addr, "p", connOpts{}, false)
	pub.publish("q/1", "nobody", 1, false)
	c.expectNothing()
	c.disconnect()
	c = connect(t, addr, "p", connOpts{persistent: true}, false)
	c.disconnect()

	// 3.1 never sets Session Present (§3 row 3).
	c = dial(t, addr)
	c.send(connOpts{persistent: true, version: mqttwire.V31}.connect("p"))
	c.expectHex("20 02 00 00")
}

// With -session-expiry, a persistent session whose client stays away that
// long ends, subscriptions and queued messages with it; a client that comes
// back in time keeps it, and the clock starts again when it next leaves.
func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	const expiry = time.Second
	srv, addr := startBroker(t, func(c *config) { c.sessionExpiry = expiry })
	pub := connect(t, addr, "pub", connOpts{}, false)

	// The client comes back at half the expiry and leaves again at once; the
	// first absence's expiry passes while it is away for the second time,
	// which has lasted less than the expiry, so the session stays.
	c := connect(t, addr, "back", connOpts{persistent: true}, false)
	c.subscribe("back/x", 1, 1)
	c.disconnect()
	time.Sleep(expiry / 2)
	c = connect(t, addr, "back", connOpts{persistent: true}, true)
	c.disconnect()
	time.Sleep(expiry * 7 / 10)
	c = connect(t, addr, "back", connOpts{persistent: true}, true)
	// Online for longer than the expiry: the session stays too.
	time.Sleep(expiry + expiry/5)
	c.disconnect()
	c = connect(t, addr, "back", connOpts{persistent: true}, true)
	c.disconnect()

	// Away too long: the session, its subscription and its queued message
	// are gone.
	c = connect(t, addr, "gone", connOpts{persistent: true}, false)
	c.subscribe("gone/x", 1, 1)
	c.disconnect()
	pub.publish("gone/x", "queued", 1, false)
	eventually(t, "the session to expire", func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.sessions["gone"] == nil
	})
	for _, sub := range srv.trie.match([]byte("gone/x"), nil) {
		t.Errorf("the expired session's subscription is still in the trie: %s", sub.session.clientID)
	}
	c = connect(t, addr, "gone", connOpts{persistent: true}, false) // Session Present 0
	c.expectNothing()
}

// [MQTT-3.1.2-24]: with keep-alive K, silence for 1.5 K closes the
// connection, as a network failure: the will is published.
func TestKeepAlive(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	sub := connect(t, addr, "sub", connOpts{}, false)
	sub.subscribe("will", 0, 0)
	will := &mqttwire.Publish{Topic: []byte("will"), Payload: []byte("timeout")}

	// Pings every half second keep a K = 1 connection alive for 2.5 s.
	alive := connect(t, addr, "alive", connOpts{keepAlive: 1}, false)
	for range 5 {
		time.Sleep(500 * time.Millisecond)
		alive.sendHex("C0 00")
		alive.expectHex("D0 00")
	}

	silent := connect(t, addr, "silent", connOpts{keepAlive: 1, will: will}, false)
	start := time.Now()
	silent.expectClosed()
	if d := time.Since(start); d < 1250*time.Millisecond || d > 6*time.Second {
		t.Errorf("closed after %v, want about 1.5 s", d)
	}
	if got := sub.expectPublish(); got.Payload != "timeout" {
		t.Fatalf("got %v, want the will", got)
	}
}

// The connect timeout's read deadline, once it passes after CONNECT, does
// not end the connection (run moves the deadline only when it passes): a
// packet cut in two across it is read whole, keep-alive takes over, and a
// client without keep-alive is never timed out.
func TestKeepAliveAfterConnectTimeout(t *testing.T) {
	t.Parallel()
	const connectTimeout = 200 * time.Millisecond
	_, addr := startBroker(t, func(c *config) { c.connectTimeout = connectTimeout })
	off := connect(t, addr, "off", connOpts{}, false)
	on := connect(t, addr, "on", connOpts{keepAlive: 1}, false)

	// Half a PINGREQ before the connect deadline passes, the rest after it.
	off.sendHex("C0")
	time.Sleep(3 * connectTimeout)
	off.sendHex("00")
	off.expectHex("D0 00")

	// K = 1: the connection outlives the connect timeout and closes 1.5 s
	// after its last packet.
	on.sendHex("C0 00")
	on.expectHex("D0 00")
	start := time.Now()
	on.expectClosed()
	if d := time.Since(start); d < 1250*time.Millisecond || d > 6*time.Second {
		t.Errorf("closed after %v, want about 1.5 s", d)
	}

	// Keep Alive 0: still open.
	off.sendHex("C0 00")
	off.expectHex("D0 00")
}

// [MQTT-3.1.2-8], [MQTT-3.1.2-10], [MQTT-3.1.2-16], [MQTT-3.1.2-17],
// [MQTT-3.14.4-3]: wills on unclean close, none after DISCONNECT.
func TestWill(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	sub := connect(t, addr, "sub", connOpts{}, false)
	sub.subscribe("will/#", 2, 2)
	will := func(s string, qos mqttwire.QoS, retain bool) connOpts {
		return connOpts{will: &mqttwire.Publish{Topic: []byte("will/" + s), Payload: []byte(s), QoS: qos, Retain: retain}}
	}

	// Dropped socket: the will goes out.
	c := connect(t, addr, "w1", will("dropped", 1, false), false)
	c.nc.Close()
	if got := sub.expectPublish(); got.Topic != "will/dropped" || got.QoS != 1 || got.Retain {
		t.Fatalf("got %v", got)
	} else {
		sub.send(&mqttwire.Puback{PacketID: got.PacketID})
	}

	// Protocol error: the will goes out.
	c = connect(t, addr, "w2", will("malformed", 0, false), false)
	c.sendHex("30 03 00 01 23") // a wildcard in a topic name
	c.expectClosed()
	if got := sub.expectPublish(); got.Topic != "will/malformed" {
		t.Fatalf("got %v", got)
	}

	// DISCONNECT: no will.
	c = connect(t, addr, "w3", will("disconnect", 0, false), false)
	c.disconnect()
	sub.expectNothing()

	// A retained will is stored retained [MQTT-3.1.2-17].
	c = connect(t, addr, "w4", will("retained", 0, true), false)
	c.nc.Close()
	if got := sub.expectPublish(); got.Topic != "will/retained" || got.Retain {
		t.Fatalf("live copy %v: want RETAIN 0", got)
	}
	late := connect(t, addr, "late", connOpts{}, false)
	late.subscribe("will/retained", 0, 0)
	if got := late.expectPublish(); got.Payload != "retained" || !got.Retain {
		t.Fatalf("got %v, want the retained will", got)
	}
}

// [MQTT-3.3.1-5] to [MQTT-3.3.1-12]: retained messages.
func TestRetained(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	pub := connect(t, addr, "pub", connOpts{}, false)
	pub.publish("r/a", "one", 1, true)
	pub.publish("r/b", "two", 2, true)
	pub.publish("r/c", "not retained", 0, false)

	s := connect(t, addr, "s", connOpts{}, false)
	s.subscribe("r/a", 0, 0)
	if got := s.expectPublish(); got != (msg{Topic: "r/a", Payload: "one", Retain: true}) {
		t.Fatalf("got %v, want the retained message at QoS 0 with RETAIN set", got)
	}
	// Live forwarding clears RETAIN [MQTT-3.3.1-9].
	pub.publish("r/a", "three", 0, true)
	if got := s.expectPublish(); got.Payload != "three" || got.Retain {
		t.Fatalf("got %v, want RETAIN 0", got)
	}
	// A wildcard subscription gets every matching retained message, at
	// min(stored QoS, granted QoS).
	s.subscribe("r/+", 2, 2)
	got := map[string]msg{}
	var qos2 uint16
	for range 2 {
		m := s.expectPublish()
		if m.QoS == 2 {
			qos2 = m.PacketID
		}
		m.PacketID = 0
		got[m.Topic] = m
	}
	if qos2 != 0 {
		s.send(&mqttwire.Pubrec{PacketID: qos2})
		s.expect(mqttwire.TypePubrel)
		s.send(&mqttwire.Pubcomp{PacketID: qos2})
	}
	want := map[string]msg{
		"r/a": {Topic: "r/a", Payload: "three", Retain: true},
		"r/b": {Topic: "r/b", Payload: "two", QoS: 2, Retain: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("retained messages (-want +got):\n%s", diff)
	}
	s.expectNothing()

	// An empty retained payload deletes the stored message and is still
	// forwarded [MQTT-3.3.1-10], [MQTT-3.3.1-11].
	pub.sendHex("31 05 00 03 72 2F 61")
	if got := s.expectPublish(); got.Topic != "r/a" || got.Payload != "" || got.Retain {
		t.Fatalf("got %v, want the empty message forwarded", got)
	}
	// RETAIN 0 never touches the store [MQTT-3.3.1-12].
	pub.publish("r/b", "live only", 0, false)
	s.expectPublish()
	late := connect(t, addr, "late", connOpts{}, false)
	late.subscribe("r/#", 0, 0)
	if got := late.expectPublish(); got.Topic != "r/b" || got.Payload != "two" {
		t.Fatalf("got %v, want only r/b's retained message", got)
	}
	late.expectNothing()
	// Re-subscribing to an identical filter sends the retained messages
	// again [MQTT-3.8.4-3].
	late.subscribe("r/#", 1, 1)
	if got := late.expectPublish(); got.Topic != "r/b" || got.QoS != 1 {
		t.Fatalf("got %v, want r/b again at QoS 1", got)
	}
}

// [MQTT-3.3.1-3]: outgoing DUP does not copy the incoming one.
func TestDupNotForwarded(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	s := connect(t, addr, "s", connOpts{}, false)
	s.subscribe("a", 1, 1)
	p := connect(t, addr, "p", connOpts{}, false)
	p.sendHex("3A 05 00 01 61 00 01")
	p.expectHex("40 02 00 01")
	if got := s.expectPublish(); got.Dup || got.QoS != 1 {
		t.Fatalf("got %v, want DUP 0 at QoS 1", got)
	}
}

// [MQTT-4.7.2-1], [MQTT-4.7.3-4]: wildcards at the start do not match
// '$' topics; matching is byte for byte.
func TestTopicMatching(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	hash := connect(t, addr, "hash", connOpts{}, false)
	hash.subscribe("#", 0, 0)
	plus := connect(t, addr, "plus", connOpts{}, false)
	plus.subscribe("+/x", 0, 0)
	sys := connect(t, addr, "sys", connOpts{}, false)
	sys.subscribe("$SYS/#", 0, 0)
	p := connect(t, addr, "p", connOpts{}, false)
	p.publish("$SYS/x", "dollar", 0, false)
	if got := sys.expectPublish(); got.Topic != "$SYS/x" {
		t.Fatalf("got %v", got)
	}
	hash.expectNothing()
	plus.expectNothing()

	p.publish("A/x", "case", 0, false)
	if got := hash.expectPublish(); got.Topic != "A/x" {
		t.Fatalf("got %v", got)
	}
	if got := plus.expectPublish(); got.Topic != "A/x" {
		t.Fatalf("got %v", got)
	}
	lower := connect(t, addr, "lower", connOpts{}, false)
	lower.subscribe("a/x", 0, 0)
	p.publish("A/x", "case", 0, false)
	lower.expectNothing()
}

// [MQTT-4.3.1-1] to [MQTT-4.3.3-2]: the three QoS flows, inbound and
// outbound.
func TestQoSFlows(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	s := connect(t, addr, "s", connOpts{}, false)
	s.subscribe("a", 2, 2)
	p := connect(t, addr, "p", connOpts{}, false)

	p.sendHex("30 03 00 01 61") // QoS 0: no ack
	if got := s.expectPublish(); got.QoS != 0 {
		t.Fatalf("got %v", got)
	}
	p.sendHex("32 05 00 01 61 00 07")
	p.expectHex("40 02 00 07")
	m := s.expectPublish()
	if m.QoS != 1 || m.PacketID == 0 {
		t.Fatalf("got %v", m)
	}
	s.send(&mqttwire.Puback{PacketID: m.PacketID})

	// QoS 2 inbound: PUBREC, and a repeat is acknowledged but not
	// delivered again until PUBREL.
	p.sendHex("34 05 00 01 61 00 08")
	p.expectHex("50 02 00 08")
	p.sendHex("3C 05 00 01 61 00 08") // the same id again, DUP set
	p.expectHex("50 02 00 08")
	p.sendHex("62 02 00 08")
	p.expectHex("70 02 00 08")
	p.sendHex("62 02 00 09") // PUBREL for an unknown id is still completed
	p.expectHex("70 02 00 09")

	// QoS 2 outbound: PUBLISH, PUBREC, PUBREL, PUBCOMP.
	m = s.expectPublish()
	if m.QoS != 2 {
		t.Fatalf("got %v", m)
	}
	s.send(&mqttwire.Pubrec{PacketID: m.PacketID})
	if rel := s.expect(mqttwire.TypePubrel).(*mqttwire.Pubrel); rel.PacketID != m.PacketID {
		t.Fatalf("PUBREL id %d, want %d", rel.PacketID, m.PacketID)
	}
	s.send(&mqttwire.Pubcomp{PacketID: m.PacketID})
	s.expectNothing() // the repeat was not delivered

	// [MQTT-3.8.4-6]: delivered at min(published, granted).
	low := connect(t, addr, "low", connOpts{}, false)
	low.subscribe("a", 1, 1)
	p.publish("a", "x", 2, false)
	if got := low.expectPublish(); got.QoS != 1 {
		t.Fatalf("got %v, want QoS 1", got)
	}
}

// [MQTT-2.3.1-2]: deliveries in flight never share a packet id, and ids are
// reused only after the final ack.
func TestPacketIDs(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, func(c *config) { c.maxInflight = 5 })
	s := connect(t, addr, "s", connOpts{}, false)
	s.subscribe("a", 2, 2)
	p := connect(t, addr, "p", connOpts{}, false)
	for range 5 {
		p.publish("a", "x", 1, false)
		p.publish("a", "y", 2, false)
	}
	seen := map[uint16]bool{}
	for range 5 { // the window holds five
		m := s.expectPublish()
		if seen[m.PacketID] {
			t.Fatalf("packet id %d used twice", m.PacketID)
		}
		seen[m.PacketID] = true
	}
	s.expectNothing() // the window is full
	s.send(&mqttwire.Puback{PacketID: 1})
	if m := s.expectPublish(); seen[m.PacketID] {
		t.Fatalf("packet id %d reused while in flight", m.PacketID)
	}
}

// [MQTT-3.3.5-1]: overlapping subscriptions deliver once, at the highest
// granted QoS.
func TestOverlappingSubscriptions(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	s := connect(t, addr, "s", connOpts{}, false)
	s.send(&mqttwire.Subscribe{PacketID: 3, Filters: []mqttwire.TopicFilter{
		{Topic: []byte("a"), QoS: 0}, {Topic: []byte("+"), QoS: 1}, {Topic: []byte("#"), QoS: 0},
	}})
	s.expectHex("90 05 00 03 00 01 00")
	p := connect(t, addr, "p", connOpts{}, false)
	p.publish("a", "once", 1, false)
	if got := s.expectPublish(); got.QoS != 1 || got.Payload != "once" {
		t.Fatalf("got %v, want one copy at QoS 1", got)
	}
	s.expectNothing()
}

// [MQTT-3.8.4-1] to [MQTT-3.8.4-5], [MQTT-3.10.4-1] to [MQTT-3.10.4-6]:
// SUBACK and UNSUBACK.
func TestSubscribeUnsubscribe(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	s := connect(t, addr, "s", connOpts{}, false)
	s.sendHex("82 0A 00 07 00 01 61 01 00 01 62 02")
	s.expectHex("90 04 00 07 01 02")
	s.sendHex("A2 05 00 09 00 01 7A") // nothing subscribed: still UNSUBACK
	s.expectHex("B0 02 00 09")
	s.sendHex("A2 05 00 0A 00 01 61")
	s.expectHex("B0 02 00 0A")
	p := connect(t, addr, "p", connOpts{}, false)
	p.publish("a", "gone", 0, false)
	p.publish("b", "kept", 0, false)
	if got := s.expectPublish(); got.Topic != "b" {
		t.Fatalf("got %v, want only b", got)
	}
	// Unsubscribing compares filters exactly: "+" does not remove "b".
	s.sendHex("A2 05 00 0B 00 01 2B")
	s.expectHex("B0 02 00 0B")
	p.publish("b", "kept", 0, false)
	s.expectPublish()
	// A malformed UNSUBSCRIBE filter closes (decision A13).
	s.sendHex("A2 06 00 01 00 02 61 23")
	s.expectClosed()
}

// [MQTT-3.12.4-1], [MQTT-3.14.4-1]: PINGREQ and DISCONNECT.
func TestPingAndDisconnect(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	c := dial(t, addr)
	c.sendHex(connect311)
	c.expectHex("20 02 00 00")
	c.sendHex("C0 00")
	c.expectHex("D0 00")
	c.sendHex("E0 00")
	c.expectClosed()
}

// Table 2.1: a client sending a server-only packet is closed.
func TestServerPacketsFromClient(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	for _, h := range []string{"20 02 00 00", "90 03 00 01 00", "B0 02 00 01", "D0 00"} {
		c := dial(t, addr)
		c.sendHex(connect311)
		c.expectHex("20 02 00 00")
		c.sendHex(h)
		c.expectClosed()
	}
}

// [MQTT-4.4.0-1], [MQTT-4.6.0-1] to [MQTT-4.6.0-3]: on a persistent
// reconnect, unacknowledged PUBLISH packets are re-sent with DUP and their
// ids, in the original order, then PUBREL where PUBREC had arrived.
func TestRedelivery(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	s := connect(t, addr, "s", connOpts{persistent: true}, false)
	s.subscribe("a", 2, 2)
	p := connect(t, addr, "p", connOpts{}, false)
	p.publish("a", "1", 1, false)
	p.publish("a", "2", 2, false)
	p.publish("a", "3", 1, false)
	var first []msg
	for range 3 {
		first = append(first, s.expectPublish())
	}
	s.send(&mqttwire.Pubrec{PacketID: first[1].PacketID})
	s.expect(mqttwire.TypePubrel)
	s.nc.Close() // no acks for 1 and 3, no PUBCOMP for 2

	s = connect(t, addr, "s", connOpts{persistent: true}, true)
	m := s.expectPublish()
	if want := (msg{"a", "1", 1, false, true, first[0].PacketID}); m != want {
		t.Fatalf("got %v, want %v", m, want)
	}
	m = s.expectPublish()
	if want := (msg{"a", "3", 1, false, true, first[2].PacketID}); m != want {
		t.Fatalf("got %v, want %v", m, want)
	}
	if rel := s.expect(mqttwire.TypePubrel).(*mqttwire.Pubrel); rel.PacketID != first[1].PacketID {
		t.Fatalf("PUBREL id %d, want %d", rel.PacketID, first[1].PacketID)
	}
	s.send(&mqttwire.Puback{PacketID: first[0].PacketID})
	s.send(&mqttwire.Pubcomp{PacketID: first[1].PacketID})
	s.send(&mqttwire.Puback{PacketID: first[2].PacketID})
	s.expectNothing()
	s.disconnect()
	s = connect(t, addr, "s", connOpts{persistent: true}, true)
	s.expectNothing() // everything was acknowledged
}

// [MQTT-4.6.0-3]: on a persistent reconnect, PUBREL packets are re-sent in the
// order the PUBRECs were received, which need not be the order of the
// PUBLISH packets.
func TestRedeliveryPubrelOrder(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	s := connect(t, addr, "s", connOpts{persistent: true}, false)
	s.subscribe("a", 2, 2)
	p := connect(t, addr, "p", connOpts{}, false)
	p.publish("a", "1", 2, false)
	p.publish("a", "2", 2, false)
	first, second := s.expectPublish(), s.expectPublish()
	for _, id := range []uint16{second.PacketID, first.PacketID} {
		s.send(&mqttwire.Pubrec{PacketID: id})
		if rel := s.expect(mqttwire.TypePubrel).(*mqttwire.Pubrel); rel.PacketID != id {
			t.Fatalf("PUBREL id %d, want %d", rel.PacketID, id)
		}
	}
	s.nc.Close() // no PUBCOMP

	s = connect(t, addr, "s", connOpts{persistent: true}, true)
	for _, id := range []uint16{second.PacketID, first.PacketID} {
		if rel := s.expect(mqttwire.TypePubrel).(*mqttwire.Pubrel); rel.PacketID != id {
			t.Fatalf("re-sent PUBREL id %d, want %d (PUBREC order)", rel.PacketID, id)
		}
		s.send(&mqttwire.Pubcomp{PacketID: id})
	}
	s.expectNothing()
}

// Offline QoS 1 and 2 messages are kept up to -max-queued, in order; QoS 0
// messages are not kept.
func TestOfflineQueueBound(t *testing.T) {
	t.Parallel()
	srv, addr := startBroker(t, func(c *config) { c.maxQueued = 10; c.maxInflight = 4 })
	s := connect(t, addr, "s", connOpts{persistent: true}, false)
	s.subscribe("a", 1, 1)
	s.disconnect()
	p := connect(t, addr, "p", connOpts{}, false)
	for i := range 25 {
		p.publish("a", fmt.Sprint(i), mqttwire.QoS(1-i%2), false) // odd i are QoS 0
	}
	s = connect(t, addr, "s", connOpts{persistent: true}, true)
	for i := 0; i < 20; i += 2 {
		m := s.expectPublish()
		if m.Payload != fmt.Sprint(i) {
			t.Fatalf("got %v, want payload %d", m, i)
		}
		s.send(&mqttwire.Puback{PacketID: m.PacketID})
	}
	s.expectNothing()
	sess := sessionOf(srv, "s")
	sess.mu.Lock()
	dropped := sess.dropped
	sess.mu.Unlock()
	if dropped != 3 {
		t.Errorf("dropped %d messages, want 3", dropped)
	}
}

// MQTT 3.1 clients: CONNECT, SUBACK without 0x80, and the 3.1 flag
// leniencies of the codec.
func TestMQTT31(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, nil)
	c := dial(t, addr)
	c.sendHex(connect31)
	c.expectHex("20 02 00 00")
	c.sendHex("8A 06 00 01 00 01 61 01") // a retried SUBSCRIBE carries DUP in 3.1
	c.expectHex("90 03 00 01 01")
	p := connect(t, addr, "p", connOpts{}, false)
	p.publish("a", "hi", 1, false)
	m := c.expectPublish()
	c.send(&mqttwire.Puback{PacketID: m.PacketID})
}
