package main

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttwire/mqttwire"
)

// Design note: a session is the state of one client id that may outlive a
// connection (CleanSession 0): its subscriptions, its outbound QoS 1 and 2
// messages, and the inbound QoS 2 ids awaiting PUBREL. Outbound QoS 1 and 2
// messages are either in flight (sent, not yet acknowledged; at most
// maxInflight of them, in the order they were sent, but those awaiting
// PUBCOMP move to the end as their PUBREC arrives) or queued behind the
// window (at most maxQueued, also while the client is offline). QoS 0
// messages never wait in the session: they go straight into the connection's
// outbound buffer or are dropped.

// flight is an outbound QoS 1 or 2 message that has been sent and not yet
// acknowledged.
type flight struct {
	id       uint16
	msg      *message // nil once PUBREC has arrived
	qos      mqttwire.QoS
	retain   bool
	released bool // PUBREC received and PUBREL sent: waiting for PUBCOMP
}

// queued is an outbound QoS 1 or 2 message waiting for room in the window.
type queued struct {
	msg    *message
	qos    mqttwire.QoS
	retain bool
}

// session is the state of one client id.
type session struct {
	srv      *server
	clientID string
	serial   uint64 // unique per session; orders sessions in trie.match

	// owner is the connection that holds the session, and clean says whether
	// the session ends with it; both are guarded by srv.mu, and so is away,
	// which counts the times the session has gone offline (see release).
	owner *conn
	clean bool
	away  uint64

	// subs maps each filter to its granted QoS; guarded by srv.trie.mu.
	subs map[string]mqttwire.QoS

	// conn is the connection deliveries go to, nil while offline. It is
	// written under mu and read without it by the QoS 0 path.
	conn atomic.Pointer[conn]

	mu        sync.Mutex
	discarded bool                // the session has ended; deliveries are ignored
	ids       *mqttwire.PacketIDs // outbound packet ids, allocated on first use
	inflight  []flight
	queue     []queued
	head      int                 // queue[head:] is waiting
	inbound   map[uint16]struct{} // QoS 2 ids received and not yet released
	dropped   uint64              // QoS 1 and 2 messages dropped on a full queue
}

// waiting returns the number of messages waiting behind the window.
func (s *session) waiting() int { return len(s.queue) - s.head }

// deliver0 writes an encoded QoS 0 PUBLISH to the session's connection, if it
// is online. QoS 0 messages are not kept for offline sessions.
func (s *session) deliver0(encoded []byte) {
	if c := s.conn.Load(); c != nil {
		c.writeQoS0(encoded)
	}
}

// deliver sends m at QoS 1 or 2 if the window has room, and queues it
// otherwise; a full queue drops it.
func (s *session) deliver(m *message, qos mqttwire.QoS, retain bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.discarded {
		return
	}
	c := s.conn.Load()
	if c != nil && s.waiting() == 0 && len(s.inflight) < s.srv.cfg.maxInflight {
		s.send(c, queued{msg: m, qos: qos, retain: retain})
		return
	}
	if s.waiting() >= s.srv.cfg.maxQueued {
		s.dropped++
		return
	}
	// The messages sent from the queue leave dead slots at its front; move
	// the waiting ones down before append would grow the slice, when at
	// least half of it is dead, or a backlog that never empties would grow
	// it with every message.
	if s.head > 0 && (s.head == len(s.queue) || len(s.queue) == cap(s.queue) && s.head >= len(s.queue)/2) {
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue, s.head = s.queue[:n], 0
	}
	s.queue = append(s.queue, queued{msg: m, qos: qos, retain: retain})
}

// send gives q a fresh packet id, puts it in flight and writes it to c;
// s.mu is held and the window has room.
func (s *session) send(c *conn, q queued) {
	if s.ids == nil {
		s.ids = new(mqttwire.PacketIDs)
	}
	id, err := s.ids.Next() // [MQTT-2.3.1-2]
	if err != nil {
		panic("broker: in-flight window larger than the packet id space")
	}
	s.inflight = append(s.inflight, flight{id: id, msg: q.msg, qos: q.qos, retain: q.retain})
	c.writePublish(&s.inflight[len(s.inflight)-1], false)
}

// fill sends queued messages while the window has room; s.mu is held.
func (s *session) fill(c *conn) {
	for c != nil && s.waiting() > 0 && len(s.inflight) < s.srv.cfg.maxInflight {
		q := s.queue[s.head]
		s.queue[s.head] = queued{}
		s.head++
		s.send(c, q)
	}
	if s.head == len(s.queue) {
		s.queue, s.head = s.queue[:0], 0
		if cap(s.queue) > 1024 {
			s.queue = nil // let a burst's backlog go
		}
	}
}

// find returns the index of the flight with packet id id, or -1.
func (s *session) find(id uint16) int {
	for i := range s.inflight {
		if s.inflight[i].id == id {
			return i
		}
	}
	return -1
}

// land removes the flight at index i and frees its id [MQTT-2.3.1-3]; s.mu
// is held.
func (s *session) land(c *conn, i int) {
	s.ids.Free(s.inflight[i].id)
	s.inflight = slices.Delete(s.inflight, i, i+1) // clears the freed slot
	s.fill(c)
}

// puback ends the QoS 1 flight id [MQTT-4.3.2-1].
func (s *session) puback(c *conn, id uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.find(id); i >= 0 && s.inflight[i].qos == mqttwire.QoS1 {
		s.land(c, i)
	}
}

// pubrec moves the QoS 2 flight id to its second half and answers PUBREL
// [MQTT-4.3.3-1]. A PUBREC for an unknown id is answered too, so the client
// can end the exchange.
func (s *session) pubrec(c *conn, id uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.find(id); i >= 0 && s.inflight[i].qos == mqttwire.QoS2 && !s.inflight[i].released {
		f := s.inflight[i]
		f.released = true
		f.msg = nil // never sent again once PUBREL is out
		// Moved to the end, so that resume re-sends PUBREL in the order the
		// PUBRECs came in [MQTT-4.6.0-3]; the PUBLISH packets still in
		// flight keep their order.
		s.inflight = append(slices.Delete(s.inflight, i, i+1), f)
	}
	c.writeAck(mqttwire.TypePubrel, id)
}

// pubcomp ends the QoS 2 flight id.
func (s *session) pubcomp(c *conn, id uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.find(id); i >= 0 && s.inflight[i].released {
		s.land(c, i)
	}
}

// receive2 records an inbound QoS 2 packet id and reports whether it is new;
// a repeat must be acknowledged but not delivered again [MQTT-4.3.3-2].
func (s *session) receive2(id uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.inbound[id]; seen {
		return false
	}
	if s.inbound == nil {
		s.inbound = make(map[uint16]struct{})
	}
	s.inbound[id] = struct{}{}
	return true
}

// release forgets an inbound QoS 2 packet id on PUBREL.
func (s *session) release(id uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inbound, id)
}

// resume attaches c, whose CONNACK is already written, and re-sends what is
// in flight with the original ids [MQTT-4.4.0-1]: PUBLISH with DUP set, in
// the order they were first sent [MQTT-4.6.0-1], and PUBREL where PUBREC had
// arrived, in the order the PUBRECs came in [MQTT-4.6.0-3]. Then it sends
// what was queued.
func (s *session) resume(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn.Store(c)
	for i := range s.inflight {
		if s.inflight[i].released {
			c.writeAck(mqttwire.TypePubrel, s.inflight[i].id)
		} else {
			c.writePublish(&s.inflight[i], true)
		}
	}
	s.fill(c)
}

// detach takes c off the session if it is attached.
func (s *session) detach(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn.Load() == c {
		s.conn.Store(nil)
	}
}

// discard ends the session: later deliveries are ignored and its messages
// are let go.
func (s *session) discard() {
	// Only the goroutine that holds the session changes s.subs, and it is
	// this one (or has finished), so len needs no lock; skipping the trie's
	// write lock matters to publishers when many clients come and go.
	if len(s.subs) > 0 {
		s.srv.trie.removeAll(s)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.discarded = true
	s.conn.Store(nil)
	s.inflight, s.queue, s.head, s.inbound = nil, nil, 0, nil
}

// attach gives c the session of clientID, taking it over from a connection
// that holds it [MQTT-3.1.4-2]: that connection is closed, and attach waits
// until it has finished, will included. With clean set, a stored session is
// thrown away and the new one ends with c [MQTT-3.1.2-6]; without it, a
// stored session is resumed [MQTT-3.1.2-4]. present reports a resumed
// session, for CONNACK's Session Present [MQTT-3.2.2-2].
func (srv *server) attach(c *conn, clientID string, clean bool) (s *session, present bool) {
	for {
		srv.mu.Lock()
		s = srv.sessions[clientID]
		if s == nil || s.owner == nil {
			break
		}
		old := s.owner
		srv.mu.Unlock()
		old.takeOver()
		<-old.finished
	}
	defer srv.mu.Unlock()
	if s != nil && clean {
		s.discard()
		s = nil
	}
	present = s != nil
	if s == nil {
		s = &session{srv: srv, clientID: clientID, serial: srv.serial.Add(1)}
		srv.sessions[clientID] = s
	}
	s.owner, s.clean = c, clean
	return s, present
}

// release ends c's hold on its session; a clean session ends with it
// [MQTT-3.1.2-6].
func (srv *server) release(c *conn) {
	s := c.session
	s.detach(c)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if s.owner != c {
		return
	}
	s.owner = nil
	if s.clean {
		delete(srv.sessions, s.clientID)
		s.discard()
		return
	}
	if expiry := srv.cfg.sessionExpiry; expiry > 0 {
		s.away++
		away := s.away
		time.AfterFunc(expiry, func() { srv.expire(s, away) })
	}
}

// expire ends a persistent session that has stayed offline for
// -session-expiry since it went offline for the away-th time. A client that
// came back in the meantime, even if it has gone again since, keeps it.
func (srv *server) expire(s *session, away uint64) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if s.owner != nil || s.away != away || srv.sessions[s.clientID] != s {
		return
	}
	delete(srv.sessions, s.clientID)
	s.discard()
}
