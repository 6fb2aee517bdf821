package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mqttwire/mqttwire"
)

// The command itself: it listens where -addr says, logs a line per connect
// and disconnect, and stops cleanly on SIGINT and SIGTERM.
func TestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "broker")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	acl := filepath.Join(t.TempDir(), "acl.txt")
	if err := os.WriteFile(acl, []byte("deny subscribe test/nosubscribe\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-acl", acl)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		next := func(want string) string {
			t.Helper()
			timeout := time.After(waitLong)
			for {
				select {
				case line, ok := <-lines:
					if !ok {
						t.Fatalf("log ended before a line with %q", want)
					}
					if strings.Contains(line, want) {
						return line
					}
				case <-timeout:
					cmd.Process.Kill()
					t.Fatalf("no log line with %q", want)
				}
			}
		}
		line := next("listening on ")
		addr := strings.Fields(line[strings.Index(line, "listening on ")+len("listening on "):])[0]

		c := connect(t, addr, "cmd", connOpts{}, false)
		next(`client "cmd" connected`)
		c.subscribe("test/nosubscribe", 1, mqttwire.SubackFailure)
		c.disconnect()
		next(`client "cmd" disconnected: DISCONNECT`)

		connect(t, addr, "still-here", connOpts{}, false)
		cmd.Process.Signal(sig)
		next("stopped")
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%v: exit: %v", sig, err)
			}
		case <-time.After(waitLong):
			cmd.Process.Kill()
			t.Fatalf("%v: the broker did not exit", sig)
		}
	}
}

// A session's subscriptions are bounded; one more is refused with 0x80.
func TestSubscriptionLimit(t *testing.T) {
	t.Parallel()
	_, addr := startBroker(t, func(c *config) { c.maxSubscriptions = 2 })
	c := connect(t, addr, "c", connOpts{}, false)
	c.send(&mqttwire.Subscribe{PacketID: 5, Filters: []mqttwire.TopicFilter{
		{Topic: []byte("a"), QoS: 1}, {Topic: []byte("b"), QoS: 2}, {Topic: []byte("c"), QoS: 0}, {Topic: []byte("a"), QoS: 0},
	}})
	c.expectHex("90 06 00 05 01 02 80 00") // replacing "a" is not a new subscription
}

// A filter deeper than -max-filter-levels is refused with 0x80, and a 3.1
// client, which has no failure code, is not subscribed. Each level is a node
// in the trie, so without the bound one SUBSCRIBE of "+/+/+/…" would cost
// about 40 times its size.
func TestFilterLevelsLimit(t *testing.T) {
	t.Parallel()
	const limit = 128 // the default
	_, addr := startBroker(t, nil)
	deepest := strings.Repeat("+/", limit-1) + "+"
	c := connect(t, addr, "c", connOpts{}, false)
	c.subscribe(deepest, 1, 1)
	c.subscribe(deepest+"/+", 1, mqttwire.SubackFailure)
	c.subscribe(strings.Repeat("+/", 16000)+"#", 1, mqttwire.SubackFailure)

	old := connect(t, addr, "v31", connOpts{version: mqttwire.V31}, false)
	old.subscribe("x/"+deepest, 1, 1) // refused, but 3.1 has no code for it
	p := connect(t, addr, "p", connOpts{}, false)
	topic := "x" + strings.Repeat("/"+strconv.Itoa(limit), limit)
	p.publish(topic, "too deep", 0, false)
	old.expectNothing()

	// A retained message is stored up to the same depth, and only
	// delivered beyond it: the retained store has a node per level.
	watch := connect(t, addr, "watch", connOpts{}, false)
	watch.subscribe("r/#", 0, 0)
	stored := "r" + strings.Repeat("/a", limit-1)
	p.publish(stored, "kept", 0, true)
	p.publish(stored+"/a", "not kept", 0, true)
	for _, want := range []string{stored, stored + "/a"} {
		if m := watch.expectPublish(); m.Topic != want {
			t.Fatalf("delivered %q, want %q", m.Topic, want)
		}
	}
	late := connect(t, addr, "late", connOpts{}, false)
	late.subscribe("r/#", 0, 0)
	if m := late.expectPublish(); m.Topic != stored || !m.Retain {
		t.Errorf("retained %q (retain %t), want %q", m.Topic, m.Retain, stored)
	}
	late.expectNothing()
}
