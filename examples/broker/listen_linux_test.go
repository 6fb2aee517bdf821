package main

import (
	"testing"
	"time"
)

// A connection is accepted only once its first bytes arrive
// (TCP_DEFER_ACCEPT): until then it costs the broker no goroutine, and the
// connect timeout has not started (a connection accepted at once would be
// closed before its late CONNECT).
func TestDeferAccept(t *testing.T) {
	t.Parallel()
	srv, addr := startBroker(t, func(c *config) { c.connectTimeout = 100 * time.Millisecond })
	c := dial(t, addr)
	time.Sleep(waitShort)
	if n := connCount(srv); n != 0 {
		t.Errorf("%d connections accepted before any byte arrived", n)
	}
	c.send(connOpts{}.connect("late"))
	c.expectHex("20 02 00 00")
}
