package main

import (
	"sync"

	"github.com/mqttwire/mqttwire"
)

// message is an application message that must outlive the read that brought
// it in: a retained message, a will, or a QoS 1 or 2 delivery waiting in a
// session. It is copied once from the read buffer, shared by every queue that
// holds it, and never changed.
type message struct {
	topic   []byte
	payload []byte
	qos     mqttwire.QoS
}

// newMessage copies topic and payload into one new allocation.
func newMessage(topic, payload []byte, qos mqttwire.QoS) *message {
	buf := make([]byte, len(topic)+len(payload))
	copy(buf, topic)
	copy(buf[len(topic):], payload)
	return &message{topic: buf[:len(topic):len(topic)], payload: buf[len(topic):], qos: qos}
}

// size is the message's share of memory, for accounting.
func (m *message) size() int { return len(m.topic) + len(m.payload) }

// retainedStore holds the last retained message of every topic. Retained
// messages outlive sessions [MQTT-3.3.1-5]. A subscription whose filter has
// no wildcard finds its message with one map lookup; a wildcard filter scans
// the store, which is simple and fast enough for the thousands of retained
// topics a small broker holds.
type retainedStore struct {
	mu sync.RWMutex
	m  map[string]*message
}

// set stores m as the retained message of its topic, or deletes the retained
// message of topic when m's payload is empty [MQTT-3.3.1-10], [MQTT-3.3.1-11].
func (r *retainedStore) set(topic []byte, m *message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m == nil || len(m.payload) == 0 {
		delete(r.m, string(topic))
		return
	}
	if r.m == nil {
		r.m = make(map[string]*message)
	}
	r.m[string(m.topic)] = m
}

// match appends the retained messages whose topics filter matches to out.
func (r *retainedStore) match(filter []byte, out []*message) []*message {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if !hasWildcard(filter) {
		if m := r.m[string(filter)]; m != nil {
			out = append(out, m)
		}
		return out
	}
	for _, m := range r.m {
		if mqttwire.MatchTopic(filter, m.topic) {
			out = append(out, m)
		}
	}
	return out
}
