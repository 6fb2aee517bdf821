// Command broker is a small MQTT 3.1 and 3.1.1 broker built on mqttwire, its
// reference consumer. It keeps everything in memory.
//
// Usage:
//
//	go run ./examples/broker [-addr 127.0.0.1:1883] [-acl FILE] [flags]
//
// See README.md beside this file for the flags, the ACL file and the bounds.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mqttwire/mqttwire"
)

// config holds the broker's settings and bounds.
type config struct {
	maxPacket        int           // largest packet accepted, in bytes
	maxBuffer        int           // outbound bytes buffered per connection before QoS 0 messages are dropped
	maxInflight      int           // QoS 1 and 2 messages in flight per session
	maxQueued        int           // QoS 1 and 2 messages queued per session behind the window
	maxClientID      int           // longest client id accepted, in bytes
	maxSubscriptions int           // subscriptions per session
	maxFilterLevels  int           // most levels in a subscription's topic filter, and in a retained message's topic
	connectTimeout   time.Duration // time allowed from accept to CONNECT
	sessionExpiry    time.Duration // how long a persistent session is kept offline; 0: for ever
	acl              *acl
	logger           *log.Logger // nil: no per-connection log lines
}

// defaultConfig returns the settings the flags default to.
func defaultConfig() config {
	return config{
		maxPacket:        256 << 10,
		maxBuffer:        1 << 20,
		maxInflight:      20,
		maxQueued:        1000,
		maxClientID:      256,
		maxSubscriptions: 1000,
		maxFilterLevels:  128,
		connectTimeout:   10 * time.Second,
		acl:              &acl{},
	}
}

// server is the broker: its listener, sessions, subscriptions and retained
// messages.
type server struct {
	cfg      config
	trie     trie
	retained retainedStore
	serial   atomic.Uint64

	mu       sync.Mutex
	sessions map[string]*session
	conns    map[*conn]struct{}
	closing  bool
	ln       net.Listener

	wg sync.WaitGroup // the goroutines of every connection
}

func newServer(cfg config) *server {
	if cfg.acl == nil {
		cfg.acl = &acl{}
	}
	return &server{cfg: cfg, sessions: make(map[string]*session), conns: make(map[*conn]struct{})}
}

func (srv *server) logf(format string, args ...any) {
	if srv.cfg.logger != nil {
		srv.cfg.logger.Printf(format, args...)
	}
}

// serve accepts connections on ln until shutdown closes it.
func (srv *server) serve(ln net.Listener) error {
	srv.mu.Lock()
	if srv.closing {
		srv.mu.Unlock()
		ln.Close()
		return nil
	}
	srv.ln = ln
	srv.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			srv.mu.Lock()
			closing := srv.closing
			srv.mu.Unlock()
			if closing {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				time.Sleep(10 * time.Millisecond) // out of file descriptors: wait for some to close
				continue
			}
			return err
		}
		c := newConn(srv, nc)
		srv.mu.Lock()
		if srv.closing {
			srv.mu.Unlock()
			nc.Close()
			continue
		}
		srv.conns[c] = struct{}{}
		srv.wg.Add(1)
		srv.mu.Unlock()
		go c.readLoop()
	}
}

// tooDeep reports whether a topic or filter has more levels than
// -max-filter-levels: the subscription trie and the retained store spend a
// node on each level, so a deeper one is not stored in either.
func (srv *server) tooDeep(topic []byte) bool {
	return bytes.Count(topic, []byte{'/'})+1 > srv.cfg.maxFilterLevels
}

// forget removes c, which has ended, from the connections shutdown closes.
func (srv *server) forget(c *conn) {
	srv.mu.Lock()
	delete(srv.conns, c)
	srv.mu.Unlock()
}

// shutdown stops accepting, closes every connection without publishing
// wills, and waits until every connection's goroutines have ended.
func (srv *server) shutdown() {
	srv.mu.Lock()
	srv.closing = true
	if srv.ln != nil {
		srv.ln.Close()
	}
	for c := range srv.conns {
		c.kick(errShutdown)
	}
	srv.mu.Unlock()
	srv.wg.Wait()
}

// publish routes an application message to every matching session. topic
// and payload may alias a read buffer: they are copied only when a message
// must outlive this call (retained, or delivered at QoS 1 or 2), and then
// once, into m, which the caller may also pass in already made. c lends its
// scratch space; publish does no allocation when every delivery is QoS 0.
func (srv *server) publish(c *conn, topic, payload []byte, qos mqttwire.QoS, retain bool, m *message) {
	acl := srv.cfg.acl
	if acl.denyPublish(topic) {
		return
	}
	if retain {
		switch {
		case len(payload) == 0:
			srv.retained.set(topic, nil) // [MQTT-3.3.1-10], [MQTT-3.3.1-11]
		case srv.tooDeep(topic):
			// Not stored: the retained store has a node per level, so a
			// deep topic would cost far more than its bytes. It is still
			// delivered to the subscribers of the moment.
		default:
			if m == nil {
				m = newMessage(topic, payload, qos)
			}
			srv.retained.set(topic, m) // [MQTT-3.3.1-5]
		}
	}
	if acl.denyReceive(topic) {
		return
	}
	c.matches = srv.trie.match(topic, c.matches[:0])
	c.encoded = c.encoded[:0]
	for _, sub := range c.matches {
		// Forwarded copies have RETAIN 0 [MQTT-3.3.1-9] and DUP 0
		// [MQTT-3.3.1-3], at the lower of the two QoS [MQTT-3.8.4-6].
		q := min(qos, sub.qos)
		if q == mqttwire.QoS0 {
			if len(c.encoded) == 0 {
				c.encodePublish(topic, payload, false)
			}
			sub.session.deliver0(c.encoded)
			continue
		}
		if m == nil {
			m = newMessage(topic, payload, qos)
		}
		sub.session.deliver(m, q, false)
	}
	clear(c.matches)
}

func main() {
	cfg := defaultConfig()
	addr := flag.String("addr", "127.0.0.1:1883", "TCP address to listen on")
	aclFile := flag.String("acl", "", "ACL file: lines \"deny subscribe FILTER\" and \"deny publish FILTER\"")
	flag.IntVar(&cfg.maxPacket, "max-packet", cfg.maxPacket, "largest packet accepted, in bytes; a bigger one closes the connection")
	flag.IntVar(&cfg.maxBuffer, "max-buffer", cfg.maxBuffer, "outbound bytes buffered per connection; QoS 0 messages beyond it are dropped")
	flag.IntVar(&cfg.maxInflight, "max-inflight", cfg.maxInflight, "QoS 1 and 2 messages in flight per session")
	flag.IntVar(&cfg.maxQueued, "max-queued", cfg.maxQueued, "QoS 1 and 2 messages queued per session behind the in-flight window, online or offline; more are dropped")
	flag.IntVar(&cfg.maxClientID, "max-client-id", cfg.maxClientID, "longest client id accepted, in bytes (at least 23)")
	flag.IntVar(&cfg.maxSubscriptions, "max-subscriptions", cfg.maxSubscriptions, "subscriptions per session; more are refused (SUBACK 0x80)")
	flag.IntVar(&cfg.maxFilterLevels, "max-filter-levels", cfg.maxFilterLevels, "most levels in a subscription's topic filter (a deeper one is refused, SUBACK 0x80) and in the topic of a retained message (a deeper one is delivered but not retained)")
	flag.DurationVar(&cfg.connectTimeout, "connect-timeout", cfg.connectTimeout, "time allowed between accept and CONNECT")
	flag.DurationVar(&cfg.sessionExpiry, "session-expiry", cfg.sessionExpiry, "how long a persistent session (clean session 0) is kept while its client is away, with its subscriptions and queued messages; 0 keeps it until the client ends it")
	quiet := flag.Bool("quiet", false, "do not log a line per connect and disconnect")
	flag.Parse()

	logger := log.New(os.Stderr, "broker: ", log.LstdFlags)
	if err := checkConfig(&cfg); err != nil {
		logger.Fatal(err)
	}
	if *aclFile != "" {
		a, err := loadACL(*aclFile)
		if err != nil {
			logger.Fatal(err)
		}
		cfg.acl = a
	}
	if !*quiet {
		cfg.logger = logger
	}
	ln, err := listen(*addr)
	if err != nil {
		logger.Fatal(err)
	}
	logger.Printf("listening on %s (MQTT 3.1 and 3.1.1)", ln.Addr())
	srv := newServer(cfg)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.serve(ln) }()
	select {
	case <-ctx.Done():
		logger.Printf("shutting down")
	case err := <-done:
		logger.Printf("listener failed: %v", err)
	}
	srv.shutdown()
	logger.Printf("stopped")
}

// listen listens on addr. MQTT has its own keep-alive, so accepted
// connections do not get TCP keep-alive (a system call each): connect turns
// it on only for clients that set Keep Alive to 0. Where the system allows
// it, a connection is accepted only once its first bytes have arrived (see
// deferAccept).
func listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1, Control: deferAccept}
	return lc.Listen(context.Background(), "tcp", addr)
}

// checkConfig rejects settings the broker cannot work with.
func checkConfig(cfg *config) error {
	switch {
	case cfg.maxPacket < 64:
		return fmt.Errorf("-max-packet %d: want at least 64", cfg.maxPacket)
	case cfg.maxBuffer < 1:
		return fmt.Errorf("-max-buffer %d: want at least 1", cfg.maxBuffer)
	case cfg.maxInflight < 1 || cfg.maxInflight > 65535:
		return fmt.Errorf("-max-inflight %d: want 1 to 65535", cfg.maxInflight)
	case cfg.maxQueued < 0:
		return fmt.Errorf("-max-queued %d: want 0 or more", cfg.maxQueued)
	case cfg.maxClientID < 23 || cfg.maxClientID > 65535:
		return fmt.Errorf("-max-client-id %d: want 23 to 65535 [MQTT-3.1.3-5]", cfg.maxClientID)
	case cfg.maxSubscriptions < 1:
		return fmt.Errorf("-max-subscriptions %d: want at least 1", cfg.maxSubscriptions)
	case cfg.maxFilterLevels < 1:
		return fmt.Errorf("-max-filter-levels %d: want at least 1", cfg.maxFilterLevels)
	case cfg.connectTimeout <= 0:
		return fmt.Errorf("-connect-timeout %v: want more than 0", cfg.connectTimeout)
	case cfg.sessionExpiry < 0:
		return fmt.Errorf("-session-expiry %v: want 0 or more", cfg.sessionExpiry)
	}
	return nil
}
