package main

import (
	"fmt"
	"net"
	"slices"
	"testing"

	"github.com/mqttwire/mqttwire"
)

// The trie agrees with mqttwire.MatchTopic on every pair of a table of
// filters and topics, and reports each session once at its highest QoS.
func TestTrieMatch(t *testing.T) {
	filters := []string{
		"#", "+", "+/#", "a", "a/#", "a/+", "a/b", "a/+/c", "+/+", "/", "/+", "+/", "a//b", "a/+/+/#",
		"$SYS/#", "$SYS/+", "$SYS", "+/b", "a/b/#", "#/", // "#/" is invalid and never subscribed
	}
	topics := []string{"a", "a/b", "a/b/c", "a/c/c", "/", "//", "a//b", "b", "$SYS", "$SYS/x", "$SYS/x/y", "x/b", "a/"}
	srv := newServer(defaultConfig())
	var sessions []*session
	for _, f := range filters {
		if mqttwire.ValidateTopicFilter([]byte(f)) != nil {
			continue
		}
		s := &session{srv: srv, clientID: f, serial: srv.serial.Add(1)}
		sessions = append(sessions, s)
		if !srv.trie.subscribe(s, []byte(f), 1, 10) {
			t.Fatalf("subscribe %q refused", f)
		}
	}
	for _, topic := range topics {
		var want []string
		for _, s := range sessions {
			if mqttwire.MatchTopic([]byte(s.clientID), []byte(topic)) {
				want = append(want, s.clientID)
			}
		}
		var got []string
		for _, sub := range srv.trie.match([]byte(topic), nil) {
			got = append(got, sub.session.clientID)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("topic %q: matched %q, want %q", topic, got, want)
		}
	}

	// One session with three matching filters appears once, at QoS 2.
	s := &session{srv: srv, clientID: "multi", serial: srv.serial.Add(1)}
	srv.trie.subscribe(s, []byte("m/#"), 0, 10)
	srv.trie.subscribe(s, []byte("m/+"), 2, 10)
	srv.trie.subscribe(s, []byte("m/x"), 1, 10)
	var mine []subscriber
	for _, sub := range srv.trie.match([]byte("m/x"), nil) {
		if sub.session == s {
			mine = append(mine, sub)
		}
	}
	if len(mine) != 1 || mine[0].qos != 2 {
		t.Fatalf("got %v, want one match at QoS 2", mine)
	}
	// Unsubscribing prunes the trie back to nothing.
	for _, s := range append(sessions, s) {
		srv.trie.removeAll(s)
	}
	if !srv.trie.root.empty() {
		t.Errorf("trie not empty after removing every subscription")
	}
	// The limit on subscriptions per session holds, and replacing one does
	// not count.
	s.subs = nil
	for i := range 3 {
		if !srv.trie.subscribe(s, fmt.Appendf(nil, "l/%d", i), 0, 3) {
			t.Fatalf("subscription %d refused", i)
		}
	}
	if srv.trie.subscribe(s, []byte("l/3"), 0, 3) {
		t.Errorf("fourth subscription accepted over a limit of 3")
	}
	if !srv.trie.subscribe(s, []byte("l/0"), 1, 3) {
		t.Errorf("replacing a subscription refused at the limit")
	}
}

// covers decides whether an ACL rule covers every topic a filter matches.
func TestCovers(t *testing.T) {
	cases := []struct {
		rule, filter string
		want         bool
	}{
		{"test/nosubscribe", "test/nosubscribe", true},
		{"test/nosubscribe", "test/+", false},
		{"test/nosubscribe", "test/#", false},
		{"test/#", "test/nosubscribe", true},
		{"test/#", "test", true},
		{"test/#", "test/+/x", true},
		{"test/#", "test/#", true},
		{"test/+", "test/a", true},
		{"test/+", "test/+", true},
		{"test/+", "test/#", false},
		{"test/+", "test/a/b", false},
		{"#", "a/b", true},
		{"#", "$SYS/x", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
		{"a/b", "a", false},
		{"a", "a/b", false},
	}
	for _, c := range cases {
		if got := covers([]byte(c.rule), []byte(c.filter)); got != c.want {
			t.Errorf("covers(%q, %q) = %t, want %t", c.rule, c.filter, got, c.want)
		}
	}
}

// routeFixture is a broker with subscribers attached to connections whose
// outbound buffers are never written out, for measuring the routing path
// alone.
type routeFixture struct {
	srv   *server
	pub   *conn
	conns []*conn
}

func newRouteFixture(tb testing.TB, subscribers int, filter string) *routeFixture {
	cfg := defaultConfig()
	cfg.maxBuffer = 1 << 30
	f := &routeFixture{srv: newServer(cfg)}
	a, b := net.Pipe()
	tb.Cleanup(func() { a.Close(); b.Close() })
	f.pub = newConn(f.srv, a)
	for i := range subscribers {
		c := newConn(f.srv, a)
		c.writing = true // as if a writer were busy: nothing starts one
		s, _ := f.srv.attach(c, fmt.Sprint("s", i), true)
		c.session = s
		s.conn.Store(c)
		f.srv.trie.subscribe(s, []byte(filter), 0, 10)
		f.conns = append(f.conns, c)
	}
	return f
}

// reset empties the subscribers' outbound buffers, keeping their capacity,
// as the writer goroutines would.
func (f *routeFixture) reset() {
	for _, c := range f.conns {
		c.out = c.out[:0]
	}
}

// Routing a QoS 0 PUBLISH allocates nothing in steady state.
func TestRouteAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts need a build without -race and -cover")
	}
	for _, n := range []int{1, 100} {
		f := newRouteFixture(t, n, "bench/+")
		topic, payload := []byte("bench/x"), make([]byte, 64)
		allocs := testing.AllocsPerRun(1000, func() {
			f.srv.publish(f.pub, topic, payload, mqttwire.QoS0, false, nil)
			f.reset()
		})
		if allocs != 0 {
			t.Errorf("%d subscribers: %v allocations per routed QoS 0 message, want 0", n, allocs)
		}
	}
}

// BenchmarkRoute measures the routing path of a QoS 0 PUBLISH: trie walk,
// encoding once, and copying into each subscriber's outbound buffer.
func BenchmarkRoute(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("QoS0/subscribers=%d", n), func(b *testing.B) {
			f := newRouteFixture(b, n, "bench/+")
			topic, payload := []byte("bench/x"), make([]byte, 64)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				f.srv.publish(f.pub, topic, payload, mqttwire.QoS0, false, nil)
				if i%64 == 0 {
					f.reset()
				}
			}
		})
	}
}

// The retained store's tree agrees with mqttwire.MatchTopic on every pair of
// a table of filters and retained topics, returns each message once, and is
// pruned back to nothing when every message is cleared.
func TestRetainedMatch(t *testing.T) {
	filters := []string{
		"#", "+", "+/#", "a", "a/#", "a/+", "a/b", "a/+/c", "+/+", "/", "/+", "+/", "a//b", "a/+/+/#",
		"$SYS/#", "$SYS/+", "$SYS", "+/b", "a/b/#", "+/+/+", "//#", "+//+", "x",
	}
	topics := []string{"a", "a/b", "a/b/c", "a/c/c", "/", "//", "a//b", "b", "$SYS", "$SYS/x", "$SYS/x/y", "x/b", "a/", "/a"}
	var r retainedStore
	for _, topic := range topics {
		r.set([]byte(topic), newMessage([]byte(topic), []byte("p"), 1))
	}
	// Storing a topic again replaces its message.
	r.set([]byte("a/b"), newMessage([]byte("a/b"), []byte("newer"), 0))
	check := func() {
		t.Helper()
		for _, f := range filters {
			var want []string
			for _, m := range r.root.all(nil) {
				if mqttwire.MatchTopic([]byte(f), m.topic) {
					want = append(want, string(m.topic))
				}
			}
			var got []string
			for _, m := range r.match([]byte(f), nil) {
				got = append(got, string(m.topic))
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("filter %q: matched %q, want %q", f, got, want)
			}
		}
	}
	check()
	if got := r.match([]byte("a/b"), nil); len(got) != 1 || string(got[0].payload) != "newer" {
		t.Errorf("a/b holds %v, want the newer message alone", got)
	}
	// Clearing half the topics leaves the rest matching as before, and
	// clearing the rest prunes the tree.
	for i, topic := range topics {
		if i%2 == 0 {
			r.set([]byte(topic), nil)
		}
	}
	if n := len(r.root.all(nil)); n != len(topics)/2 {
		t.Errorf("%d retained messages after clearing half of %d", n, len(topics))
	}
	check()
	for _, topic := range topics {
		r.set([]byte(topic), newMessage([]byte(topic), nil, 0)) // an empty payload clears
	}
	r.set([]byte("never/stored"), nil)
	if len(r.root.children) != 0 || r.root.msg != nil {
		t.Errorf("the tree keeps %d first levels after every message was cleared", len(r.root.children))
	}
}

// BenchmarkRetainedMatch matches filters against 10,000 retained topics
// (building/<b>/room/<r>/temp, 100 buildings of 100 rooms): a wildcard
// filter that matches one building's 100 rooms, one that matches nothing,
// and a filter without wildcards.
func BenchmarkRetainedMatch(b *testing.B) {
	var r retainedStore
	for i := range 10_000 {
		topic := fmt.Appendf(nil, "building/%d/room/%d/temp", i/100, i%100)
		r.set(topic, newMessage(topic, []byte("21.5"), 0))
	}
	for _, bc := range []struct {
		filter string
		want   int
	}{
		{"building/7/room/+/temp", 100},
		{"elsewhere/+/#", 0},
		{"building/7/room/42/temp", 1},
	} {
		b.Run(bc.filter, func(b *testing.B) {
			var out []*message
			for b.Loop() {
				if out = r.match([]byte(bc.filter), out[:0]); len(out) != bc.want {
					b.Fatalf("%d matches, want %d", len(out), bc.want)
				}
			}
		})
	}
}
