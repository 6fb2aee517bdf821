package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The interoperability tests drive the broker with real clients: the
// mosquitto_pub and mosquitto_sub commands (Debian package mosquitto-clients)
// and mqtt.js (npm package mqtt, installed by `npm install` in
// testdata/mqttjs). They skip, saying what is missing, when the tools are
// absent; CI installs them.

// interopACL is the ACL the interoperability tests run under: the Paho
// interoperability suite expects test/nosubscribe to be refused.
const interopACL = "deny subscribe test/nosubscribe\n"

func startInteropBroker(t *testing.T) (*server, string, string) {
	rules, err := parseACL(strings.NewReader(interopACL))
	if err != nil {
		t.Fatal(err)
	}
	srv, addr := startBroker(t, func(c *config) { c.acl = rules })
	host, port, _ := net.SplitHostPort(addr)
	return srv, host, port
}

// lookTool returns the path of a command, or skips the test.
func lookTool(t *testing.T, name, hint string) string {
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not found (%s): skipping the interoperability test", name, hint)
	}
	return path
}

// hasSubscription reports whether the session of clientID holds filter.
func (srv *server) hasSubscription(clientID, filter string) bool {
	srv.mu.Lock()
	s := srv.sessions[clientID]
	srv.mu.Unlock()
	if s == nil {
		return false
	}
	srv.trie.mu.RLock()
	defer srv.trie.mu.RUnlock()
	_, ok := s.subs[filter]
	return ok
}

// run runs a command with a deadline and returns its standard output.
func run(t *testing.T, stdin []byte, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

// startSub starts mosquitto_sub and waits until its subscription is in place.
func startSub(t *testing.T, srv *server, id, filter string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	sub := lookTool(t, "mosquitto_sub", "Debian package mosquitto-clients")
	cmd := exec.Command(sub, append([]string{"-i", id, "-t", filter, "-v"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	eventually(t, "mosquitto_sub to subscribe", func() bool { return srv.hasSubscription(id, filter) })
	return cmd, &out
}

// waitExit waits for a command that should end by itself.
func waitExit(t *testing.T, cmd *exec.Cmd, out *bytes.Buffer) string {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd.Path, err, out)
		}
	case <-time.After(waitLong):
		cmd.Process.Kill()
		t.Fatalf("%s did not end; output so far:\n%s", cmd.Path, out)
	}
	return out.String()
}

func TestMosquittoClients(t *testing.T) {
	t.Parallel()
	pub := lookTool(t, "mosquitto_pub", "Debian package mosquitto-clients")
	lookTool(t, "mosquitto_sub", "Debian package mosquitto-clients")
	srv, host, port := startInteropBroker(t)
	common := []string{"-h", host, "-p", port}

	t.Run("qos", func(t *testing.T) {
		for _, version := range []string{"mqttv311", "mqttv31"} {
			sub, out := startSub(t, srv, "sub-"+version, "m/#", append(common, "-q", "2", "-C", "4", "-V", version)...)
			for _, qos := range []string{"0", "1", "2"} {
				run(t, nil, pub, append(common, "-V", version, "-q", qos, "-t", "m/"+qos, "-m", "qos "+qos)...)
			}
			big := bytes.Repeat([]byte("y"), 200<<10)
			run(t, big, pub, append(common, "-q", "1", "-t", "m/big", "-s")...)
			// Each mosquitto_pub is its own connection, so the four may be
			// routed in any order.
			lines := strings.Split(strings.TrimSuffix(waitExit(t, sub, out), "\n"), "\n")
			slices.Sort(lines)
			want := []string{"m/0 qos 0", "m/1 qos 1", "m/2 qos 2", "m/big " + string(big)}
			if !slices.Equal(lines, want) {
				t.Errorf("%s: mosquitto_sub printed %.200q, want %.200q", version, lines, want)
			}
		}
	})

	t.Run("retained", func(t *testing.T) {
		run(t, nil, pub, append(common, "-q", "1", "-r", "-t", "r/x", "-m", "kept")...)
		got := run(t, nil, lookTool(t, "mosquitto_sub", ""), append(common, "-t", "r/#", "-C", "1", "-v", "-W", "5", "-F", "%t %p %r")...)
		if got != "r/x kept 1\n" {
			t.Errorf("got %q, want the retained message with RETAIN 1", got)
		}
		run(t, nil, pub, append(common, "-r", "-t", "r/x", "-n")...) // an empty retained message clears it
		eventually(t, "the retained message to be cleared", func() bool {
			return srv.retainedCount() == 0
		})
	})

	t.Run("denied", func(t *testing.T) {
		cmd := exec.Command(lookTool(t, "mosquitto_sub", ""), append(common, "-t", "test/nosubscribe", "-W", "5")...)
		out, _ := cmd.CombinedOutput() // mosquitto_sub reports the denial and exits
		if !strings.Contains(string(out), "denied") {
			t.Errorf("mosquitto_sub on a denied filter printed %q; want it to report the denial", out)
		}
	})

	t.Run("will", func(t *testing.T) {
		watch, out := startSub(t, srv, "will-watch", "w/#", append(common, "-C", "1")...)
		doomed, _ := startSub(t, srv, "doomed", "x", append(common, "--will-topic", "w/doomed", "--will-payload", "bye")...)
		doomed.Process.Kill()
		if got := waitExit(t, watch, out); got != "w/doomed bye\n" {
			t.Errorf("got %q, want the will", got)
		}
	})

	t.Run("persistent", func(t *testing.T) {
		// -c keeps the session; -C 1 ends after one message, and then
		// mosquitto_sub disconnects cleanly.
		args := append(common, "-c", "-q", "1", "-C", "1")
		sub, out := startSub(t, srv, "persist", "p/x", args...)
		run(t, nil, pub, append(common, "-q", "1", "-t", "p/x", "-m", "first")...)
		waitExit(t, sub, out)
		run(t, nil, pub, append(common, "-q", "1", "-t", "p/x", "-m", "while away")...)
		got := run(t, nil, lookTool(t, "mosquitto_sub", ""), append(args, "-i", "persist", "-t", "p/x", "-W", "5")...)
		if got != "while away\n" {
			t.Errorf("got %q, want the message queued while offline", got)
		}
	})
}

func TestMQTTJS(t *testing.T) {
	t.Parallel()
	node := lookTool(t, "node", "Node.js")
	dir := filepath.Join("testdata", "mqttjs")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "mqtt")); err != nil {
		t.Skipf("mqtt.js is not installed (run `npm install` in examples/broker/%s): skipping the interoperability test", dir)
	}
	_, host, port := startInteropBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "script.js", "mqtt://"+net.JoinHostPort(host, port))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("node script.js:\n%s", out)
	if err != nil {
		t.Fatalf("mqtt.js interop: %v", err)
	}
}
