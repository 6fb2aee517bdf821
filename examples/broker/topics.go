package main

import (
	"bytes"
	"slices"
	"sync"

	"github.com/mqttwire/mqttwire"
)

// Design note: subscriptions live in a trie keyed by topic level, with the
// wildcards '+' and '#' as dedicated children, so routing a PUBLISH walks the
// levels of its topic instead of scanning every subscription. The walk reads
// map keys through string(level) conversions, which Go does without
// allocating, and appends matches to a slice the caller owns and reuses, so a
// route allocates nothing in steady state.

// subscriber is one subscription in the trie: a session and the QoS it was
// granted for the filter.
type subscriber struct {
	session *session
	qos     mqttwire.QoS
}

// node is one topic level of the trie.
type node struct {
	parent   *node
	key      string // this level's text in parent.children; "" for '+', '#' and the root
	children map[string]*node
	plus     *node // the '+' child
	hash     *node // the '#' child
	subs     []subscriber
}

// empty reports whether n holds nothing and may be removed from its parent.
func (n *node) empty() bool {
	return len(n.subs) == 0 && len(n.children) == 0 && n.plus == nil && n.hash == nil
}

// trie holds every subscription of every session. Its lock also guards each
// session's subs map, so that match can tell cheaply whether a session may
// appear twice.
type trie struct {
	mu   sync.RWMutex
	root node
}

// subscribe adds or replaces the subscription of s to filter and records it
// in s.subs. It reports whether the subscription is new. A session may hold at
// most limit subscriptions; subscribe reports ok false when a new one would
// exceed it.
func (t *trie) subscribe(s *session, filter []byte, qos mqttwire.QoS, limit int) (ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, exists := s.subs[string(filter)]; !exists && len(s.subs) >= limit {
		return false
	}
	n := &t.root
	for level := range levels(filter) {
		n = n.child(level)
	}
	for i := range n.subs {
		if n.subs[i].session == s {
			n.subs[i].qos = qos // [MQTT-3.8.4-3]: an identical filter replaces the old one
			s.subs[string(filter)] = qos
			return true
		}
	}
	n.subs = append(n.subs, subscriber{session: s, qos: qos})
	if s.subs == nil {
		s.subs = make(map[string]mqttwire.QoS)
	}
	s.subs[string(filter)] = qos
	return true
}

// unsubscribe removes the subscription of s to exactly filter, if there is
// one [MQTT-3.10.4-1].
func (t *trie) unsubscribe(s *session, filter []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.remove(s, filter)
}

// removeAll removes every subscription of s.
func (t *trie) removeAll(s *session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for filter := range s.subs {
		t.remove(s, []byte(filter))
	}
}

// remove removes the subscription of s to filter; t.mu is held.
func (t *trie) remove(s *session, filter []byte) {
	if _, ok := s.subs[string(filter)]; !ok {
		return
	}
	delete(s.subs, string(filter))
	n := &t.root
	for level := range levels(filter) {
		if n = n.lookup(level); n == nil {
			return
		}
	}
	n.subs = slices.DeleteFunc(n.subs, func(sub subscriber) bool { return sub.session == s })
	// Prune the levels that hold nothing any more.
	for n != &t.root && n.empty() {
		p := n.parent
		switch n {
		case p.plus:
			p.plus = nil
		case p.hash:
			p.hash = nil
		default:
			delete(p.children, n.key)
		}
		n = p
	}
}

// child returns the child of n for level, creating it.
func (n *node) child(level []byte) *node {
	switch string(level) {
	case "+":
		if n.plus == nil {
			n.plus = &node{parent: n}
		}
		return n.plus
	case "#":
		if n.hash == nil {
			n.hash = &node{parent: n}
		}
		return n.hash
	}
	if c := n.children[string(level)]; c != nil {
		return c
	}
	if n.children == nil {
		n.children = make(map[string]*node)
	}
	c := &node{parent: n, key: string(level)}
	n.children[c.key] = c
	return c
}

// lookup returns the child of n for level, or nil.
func (n *node) lookup(level []byte) *node {
	switch string(level) {
	case "+":
		return n.plus
	case "#":
		return n.hash
	}
	return n.children[string(level)]
}

// match appends to out every subscription whose filter matches topic, a valid
// topic name, and returns the extended slice. A session that matches through
// several filters appears once, with the highest QoS it was granted
// [MQTT-3.3.5-1]. match does no allocation once out has grown to fit.
func (t *trie) match(topic []byte, out []subscriber) []subscriber {
	t.mu.RLock()
	start := len(out)
	// Filters that start with a wildcard never match a topic that starts
	// with '$' [MQTT-4.7.2-1].
	out = t.root.match(topic, out, topic[0] != '$')
	dup := false
	for _, sub := range out[start:] {
		if len(sub.session.subs) > 1 {
			dup = true
			break
		}
	}
	t.mu.RUnlock()
	if dup {
		out = out[:start+dedupe(out[start:])]
	}
	return out
}

// match appends the subscriptions below n that match topic, the levels left
// to match. wild is false at the root of a '$' topic.
func (n *node) match(topic []byte, out []subscriber, wild bool) []subscriber {
	level, rest, more := bytes.Cut(topic, []byte{'/'})
	if wild && n.hash != nil {
		out = append(out, n.hash.subs...)
	}
	if wild && n.plus != nil {
		out = n.plus.matchRest(rest, more, out)
	}
	if c := n.children[string(level)]; c != nil {
		out = c.matchRest(rest, more, out)
	}
	return out
}

// matchRest goes on below n, a node that matched one level: with more levels
// left it descends, and at the last level it takes n's subscriptions and
// those of n's '#' child, since "a/#" matches "a" too.
func (n *node) matchRest(rest []byte, more bool, out []subscriber) []subscriber {
	if more {
		return n.match(rest, out, true)
	}
	out = append(out, n.subs...)
	if n.hash != nil {
		out = append(out, n.hash.subs...)
	}
	return out
}

// dedupe sorts subs by session, keeps one entry per session with its highest
// QoS, and returns the number of entries kept at the front of subs.
func dedupe(subs []subscriber) int {
	slices.SortFunc(subs, func(a, b subscriber) int {
		switch {
		case a.session.serial < b.session.serial:
			return -1
		case a.session.serial > b.session.serial:
			return 1
		}
		return 0
	})
	kept := 0
	for i, sub := range subs {
		if i > 0 && sub.session == subs[kept-1].session {
			subs[kept-1].qos = max(subs[kept-1].qos, sub.qos)
			continue
		}
		subs[kept] = sub
		kept++
	}
	return kept
}

// levels yields the levels of a topic name or filter, split at '/'.
func levels(topic []byte) func(yield func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for {
			level, rest, more := bytes.Cut(topic, []byte{'/'})
			if !yield(level) || !more {
				return
			}
			topic = rest
		}
	}
}

// hasWildcard reports whether filter holds '+' or '#'.
func hasWildcard(filter []byte) bool {
	return bytes.IndexByte(filter, '+') >= 0 || bytes.IndexByte(filter, '#') >= 0
}
