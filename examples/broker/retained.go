package main

import (
	"bytes"
	"strings"
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

// retainedStore holds the last retained message of every topic, in a tree
// with a node for each topic level, as the subscription trie is. A new
// subscription visits only the part of the tree its filter can match: a
// filter without wildcards walks one path, and "a/+/c" only the children of
// "a". A wildcard filter does not scan every retained topic, so a client that
// subscribes again and again costs in proportion to what it matches.
type retainedStore struct {
	mu   sync.RWMutex
	root retainedNode
}

// retainedNode is one topic level of the store.
type retainedNode struct {
	children map[string]*retainedNode
	msg      *message // the retained message of the topic that ends here
}

// set stores m as the retained message of its topic, or deletes the retained
// message of topic when m's payload is empty [MQTT-3.3.1-10], [MQTT-3.3.1-11].
// A deletion prunes the levels it leaves empty.
func (r *retainedStore) set(topic []byte, m *message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m == nil || len(m.payload) == 0 {
		r.root.remove(topic)
		return
	}
	n := &r.root
	for level := range levels(m.topic) {
		child := n.children[string(level)]
		if child == nil {
			if n.children == nil {
				n.children = make(map[string]*retainedNode)
			}
			child = &retainedNode{}
			n.children[string(level)] = child
		}
		n = child
	}
	n.msg = m
}

// remove deletes the retained message of topic below n, and the nodes that
// are left with neither a message nor children. It reports whether n itself
// is left empty.
func (n *retainedNode) remove(topic []byte) bool {
	level, rest, more := bytes.Cut(topic, []byte{'/'})
	if child := n.children[string(level)]; child != nil {
		if more {
			if child.remove(rest) {
				delete(n.children, string(level))
			}
		} else if child.msg = nil; len(child.children) == 0 {
			delete(n.children, string(level))
		}
	}
	return n.msg == nil && len(n.children) == 0
}

// match appends the retained messages whose topics filter matches to out.
// filter is valid.
func (r *retainedStore) match(filter []byte, out []*message) []*message {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.root.match(filter, true, out)
}

// match appends the messages below n that the rest of a filter matches;
// root is true at the first level, where '+' and '#' do not match a level
// that starts with '$' [MQTT-4.7.2-1].
func (n *retainedNode) match(filter []byte, root bool, out []*message) []*message {
	level, rest, more := bytes.Cut(filter, []byte{'/'})
	switch string(level) {
	case "#":
		// '#' matches the parent level too: "a/#" matches "a"
		// [MQTT-4.7.1-2]. The root holds no message.
		if n.msg != nil {
			out = append(out, n.msg)
		}
		for name, child := range n.children {
			if !root || !strings.HasPrefix(name, "$") {
				out = child.all(out)
			}
		}
	case "+":
		for name, child := range n.children {
			if !root || !strings.HasPrefix(name, "$") {
				out = child.matchRest(rest, more, out)
			}
		}
	default:
		if child := n.children[string(level)]; child != nil {
			out = child.matchRest(rest, more, out)
		}
	}
	return out
}

// matchRest appends n's message if the filter ended at n's level, or the
// matches of the rest of the filter below n.
func (n *retainedNode) matchRest(rest []byte, more bool, out []*message) []*message {
	if !more {
		if n.msg != nil {
			out = append(out, n.msg)
		}
		return out
	}
	return n.match(rest, false, out)
}

// all appends the messages of n and of every node below it.
func (n *retainedNode) all(out []*message) []*message {
	if n.msg != nil {
		out = append(out, n.msg)
	}
	for _, child := range n.children {
		out = child.all(out)
	}
	return out
}
