package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mqttwire/mqttwire"
)

// These tests run the client against real brokers on loopback ports: the
// reference broker of examples/broker, built and started as a subprocess
// (the two are separate programs), and mosquitto when it is installed.

var tmpDir string // removed by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mqttwire-client-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tmpDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startServer starts the program that command returns for a free port and
// waits until it accepts connections on 127.0.0.1; it stops it when the test
// ends and shows its output if the test failed. A port taken in the meantime
// is retried with another.
func startServer(t *testing.T, name string, command func(port int) *exec.Cmd) string {
	t.Helper()
	for range 3 {
		port := freePort(t)
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		cmd := command(port)
		out := new(syncBuffer)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		exited := make(chan struct{})
		go func() {
			cmd.Wait()
			close(exited)
		}()
		if waitListening(addr, exited, 10*time.Second) {
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
				if t.Failed() {
					t.Logf("%s output:\n%s", name, out)
				}
			})
			return addr
		}
		cmd.Process.Kill()
		<-exited
		t.Logf("%s did not come up on %s; output:\n%s", name, addr, out)
	}
	t.Fatalf("%s did not start", name)
	return ""
}

// waitListening reports whether addr accepts a connection before the
// process exits or the timeout passes.
func waitListening(addr string, exited <-chan struct{}, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// mosquittoPath finds the mosquitto broker, which Debian installs in
// /usr/sbin, or skips the test.
func mosquittoPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("mosquitto is not installed (Debian package mosquitto); skipping the tests against it")
	return ""
}

// startMosquitto starts mosquitto with a configuration of its own: a
// listener on a free loopback port, no persistence, and the extra lines.
func startMosquitto(t *testing.T, extra ...string) string {
	t.Helper()
	bin := mosquittoPath(t)
	dir := t.TempDir()
	return startServer(t, "mosquitto", func(port int) *exec.Cmd {
		conf := filepath.Join(dir, "mosquitto.conf")
		lines := []string{fmt.Sprintf("listener %d 127.0.0.1", port), "persistence false"}
		if os.Geteuid() == 0 {
			lines = append(lines, "user root") // keep root, who can read the test's files
		}
		lines = append(lines, extra...)
		if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return exec.Command(bin, "-c", conf)
	})
}

var reference struct {
	once sync.Once
	bin  string
	skip string // why the reference broker cannot be used
}

// referenceBrokerPath builds examples/broker once, or skips the test when it
// does not exist or does not build.
func referenceBrokerPath(t *testing.T) string {
	t.Helper()
	reference.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		gomod, err := exec.Command(goTool, "env", "GOMOD").Output()
		if err != nil || len(bytes.TrimSpace(gomod)) == 0 {
			reference.skip = fmt.Sprintf("cannot find the module root (go env GOMOD: %v)", err)
			return
		}
		root := filepath.Dir(string(bytes.TrimSpace(gomod)))
		if files, _ := filepath.Glob(filepath.Join(root, "examples", "broker", "*.go")); len(files) == 0 {
			reference.skip = "examples/broker does not exist yet"
			return
		}
		bin := filepath.Join(tmpDir, "broker")
		build := exec.Command(goTool, "build", "-o", bin, "./examples/broker")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			reference.skip = fmt.Sprintf("examples/broker does not build: %v\n%s", err, out)
			return
		}
		reference.bin = bin
	})
	if reference.skip != "" {
		t.Skip("skipping the tests against the reference broker: " + reference.skip)
	}
	return reference.bin
}

func startReferenceBroker(t *testing.T) string {
	t.Helper()
	bin := referenceBrokerPath(t)
	return startServer(t, "examples/broker", func(port int) *exec.Cmd {
		return exec.Command(bin, "-addr", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	})
}

func TestReferenceBroker(t *testing.T) { testBroker(t, startReferenceBroker(t)) }

func TestMosquitto(t *testing.T) { testBroker(t, startMosquitto(t, "allow_anonymous true")) }

var levels = []mqttwire.Version{mqttwire.V31, mqttwire.V311}

// testBroker runs the behaviour tests against the broker at addr.
func testBroker(t *testing.T, addr string) {
	for _, v := range levels {
		for _, qos := range []mqttwire.QoS{0, 1, 2} {
			t.Run(fmt.Sprintf("delivery/%v/qos%d", v, qos), func(t *testing.T) {
				t.Parallel()
				testDelivery(t, addr, v, v, qos)
			})
		}
		t.Run(fmt.Sprintf("retained/%v", v), func(t *testing.T) {
			t.Parallel()
			testRetained(t, addr, v)
		})
		t.Run(fmt.Sprintf("will/%v", v), func(t *testing.T) {
			t.Parallel()
			testWill(t, addr, v)
		})
	}
	t.Run("delivery/3.1-to-3.1.1/qos2", func(t *testing.T) {
		t.Parallel()
		testDelivery(t, addr, mqttwire.V31, mqttwire.V311, mqttwire.QoS2)
	})
	t.Run("delivery/3.1.1-to-3.1/qos1", func(t *testing.T) {
		t.Parallel()
		testDelivery(t, addr, mqttwire.V311, mqttwire.V31, mqttwire.QoS1)
	})
	t.Run("commands", func(t *testing.T) {
		t.Parallel()
		testCommands(t, addr)
	})
}

var testSerial atomic.Int64

// uniqueTopic returns a topic no other test uses.
func uniqueTopic(kind string) string {
	return fmt.Sprintf("mqttwire-test/%s/%d/%d", kind, os.Getpid(), testSerial.Add(1))
}

// connectTo connects a client with cfg to addr, with a fresh client id, and
// disconnects it when the test ends.
func connectTo(t *testing.T, addr string, cfg Config) *Client {
	t.Helper()
	cfg.Addr = addr
	cfg.CleanSession = true
	if cfg.ClientID == "" {
		cfg.ClientID = fmt.Sprintf("mqttwire-t%d", testSerial.Add(1)) // short enough for 3.1
	}
	if cfg.RetryInterval == 0 {
		cfg.RetryInterval = 2 * time.Second
	}
	c, err := Connect(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect (%v): %v", cfg.Version, err)
	}
	t.Cleanup(func() { c.Disconnect() })
	return c
}

func subscribe(t *testing.T, c *Client, filter string, qos mqttwire.QoS) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	codes, err := c.Subscribe(ctx, mqttwire.TopicFilter{Topic: []byte(filter), QoS: qos})
	if err != nil {
		t.Fatalf("subscribe %q: %v", filter, err)
	}
	if codes[0] != byte(qos) {
		t.Fatalf("subscribe %q at QoS %d: SUBACK code %#x", filter, qos, codes[0])
	}
}

func publish(t *testing.T, c *Client, m Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Publish(ctx, m); err != nil {
		t.Fatalf("publish to %q: %v", m.Topic, err)
	}
}

// testDelivery publishes messages at QoS qos from a client at level pubV,
// from several goroutines so that several exchanges are in flight at once, to
// a subscriber at level subV, and checks that each arrives once: exactly once
// for QoS 2, at least once for QoS 1, and at most once, which on loopback
// means once, for QoS 0.
func testDelivery(t *testing.T, addr string, pubV, subV mqttwire.Version, qos mqttwire.QoS) {
	const publishers, each = 4, 25
	topic := uniqueTopic("delivery")
	in := newInbox()
	sub := connectTo(t, addr, Config{Version: subV, OnMessage: in.add})
	subscribe(t, sub, topic+"/#", qos)
	pub := connectTo(t, addr, Config{Version: pubV})

	var wg sync.WaitGroup
	for g := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m := Message{Topic: fmt.Sprintf("%s/%d", topic, g), Payload: fmt.Appendf(nil, "%d-%d", g, i), QoS: qos}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := pub.Publish(ctx, m)
				cancel()
				if err != nil {
					t.Errorf("publish %s: %v", m.Payload, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if pub.InFlight() != 0 {
		t.Errorf("publisher has %d exchanges in flight after all completed", pub.InFlight())
	}

	const total = publishers * each
	distinct := func(msgs []Message) bool {
		seen := map[string]bool{}
		for _, m := range msgs {
			seen[string(m.Payload)] = true
		}
		return len(seen) == total
	}
	in.waitFor(10*time.Second, distinct)
	time.Sleep(100 * time.Millisecond) // let a duplicate show itself
	counts := map[string]int{}
	for _, m := range in.messages() {
		counts[string(m.Payload)]++
		g, _, _ := strings.Cut(string(m.Payload), "-")
		if want := topic + "/" + g; m.Topic != want || m.QoS != qos || m.Retain {
			t.Errorf("message %q: topic %q QoS %d retain %v; want %q QoS %d retain false", m.Payload, m.Topic, m.QoS, m.Retain, want, qos)
		}
	}
	for g := range publishers {
		for i := range each {
			payload := fmt.Sprintf("%d-%d", g, i)
			switch n := counts[payload]; {
			case n == 0:
				t.Errorf("message %s never arrived", payload)
			case n > 1 && qos != mqttwire.QoS1:
				t.Errorf("message %s arrived %d times at QoS %d", payload, n, qos)
			}
			delete(counts, payload)
		}
	}
	for payload := range counts {
		t.Errorf("unexpected message %q", payload)
	}
	if sub.InFlight() != 0 {
		t.Errorf("subscriber has %d exchanges in flight", sub.InFlight())
	}
}

var equateEmpty = cmpopts.EquateEmpty()

// testRetained checks retained messages [MQTT-3.3.1-5] to -11: a later
// subscriber gets the last one with RETAIN set, an established subscriber
// gets a retained publication with RETAIN clear, and an empty retained
// publication clears it.
func testRetained(t *testing.T, addr string, v mqttwire.Version) {
	topic := uniqueTopic("retained")
	pub := connectTo(t, addr, Config{Version: v})
	publish(t, pub, Message{Topic: topic, Payload: []byte("first"), QoS: mqttwire.QoS1, Retain: true})

	early := newInbox()
	s1 := connectTo(t, addr, Config{Version: v, OnMessage: early.add})
	subscribe(t, s1, topic, mqttwire.QoS1)
	got := early.waitFor(5*time.Second, atLeast(1))
	want := []Message{{Topic: topic, Payload: []byte("first"), QoS: mqttwire.QoS1, Retain: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("new subscriber, retained message (-want +got):\n%s", diff)
	}

	publish(t, pub, Message{Topic: topic, Payload: []byte("second"), QoS: mqttwire.QoS1, Retain: true})
	publish(t, pub, Message{Topic: topic, Payload: []byte("live"), QoS: mqttwire.QoS1})
	got = early.waitFor(5*time.Second, atLeast(3))
	want = append(want,
		Message{Topic: topic, Payload: []byte("second"), QoS: mqttwire.QoS1}, // [MQTT-3.3.1-9]
		Message{Topic: topic, Payload: []byte("live"), QoS: mqttwire.QoS1})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("established subscriber (-want +got):\n%s", diff)
	}

	late := newInbox()
	s2 := connectTo(t, addr, Config{Version: v, OnMessage: late.add})
	subscribe(t, s2, topic, mqttwire.QoS2)
	got = late.waitFor(5*time.Second, atLeast(1))
	want = []Message{{Topic: topic, Payload: []byte("second"), QoS: mqttwire.QoS1, Retain: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("later subscriber gets the last retained message, not a live one (-want +got):\n%s", diff)
	}

	// An empty retained message clears the topic [MQTT-3.3.1-10].
	publish(t, pub, Message{Topic: topic, QoS: mqttwire.QoS1, Retain: true})
	got = late.waitFor(5*time.Second, atLeast(2))
	want = append(want, Message{Topic: topic, QoS: mqttwire.QoS1})
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Errorf("established subscriber gets the empty publication with RETAIN clear (-want +got):\n%s", diff)
	}
	cleared := newInbox()
	s3 := connectTo(t, addr, Config{Version: v, OnMessage: cleared.add})
	subscribe(t, s3, topic, mqttwire.QoS1)
	if got := cleared.waitFor(300*time.Millisecond, atLeast(1)); len(got) != 0 {
		t.Errorf("after clearing, a new subscriber got %d messages: %+v", len(got), got)
	}
}

// testWill checks that a connection that dies without DISCONNECT publishes
// its will [MQTT-3.1.2-8], retained if asked, and that a clean DISCONNECT
// discards it [MQTT-3.1.2-10].
func testWill(t *testing.T, addr string, v mqttwire.Version) {
	topic := uniqueTopic("will")
	in := newInbox()
	watcher := connectTo(t, addr, Config{Version: v, OnMessage: in.add})
	subscribe(t, watcher, topic+"/#", mqttwire.QoS2)

	clean := connectTo(t, addr, Config{Version: v, Will: &Message{Topic: topic + "/clean", Payload: []byte("must not appear"), QoS: mqttwire.QoS1}})
	dies := connectTo(t, addr, Config{Version: v,
		Will: &Message{Topic: topic + "/dies", Payload: []byte("connection lost"), QoS: mqttwire.QoS2, Retain: true}})
	if err := clean.Disconnect(); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	dies.abort() // the test kills the connection

	got := in.waitFor(5*time.Second, atLeast(1))
	if len(got) > 0 {
		time.Sleep(300 * time.Millisecond) // give a wrongly published will time to arrive
		got = in.messages()
	}
	want := []Message{{Topic: topic + "/dies", Payload: []byte("connection lost"), QoS: mqttwire.QoS2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("will messages (-want +got):\n%s", diff)
	}

	// The will was retained [MQTT-3.1.2-17].
	late := newInbox()
	s := connectTo(t, addr, Config{Version: v, OnMessage: late.add})
	subscribe(t, s, topic+"/#", mqttwire.QoS2)
	got = late.waitFor(5*time.Second, atLeast(1))
	want = []Message{{Topic: topic + "/dies", Payload: []byte("connection lost"), QoS: mqttwire.QoS2, Retain: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("retained will (-want +got):\n%s", diff)
	}
	// Clear it, so the broker keeps nothing from the test.
	publish(t, s, Message{Topic: topic + "/dies", Retain: true})
}

// testCommands runs "sub" and "pub" through run, as a user would.
func testCommands(t *testing.T, addr string) {
	topic := uniqueTopic("commands")
	var stdout, stderr syncBuffer
	code := runAsync(context.Background(), []string{"sub", "-addr", addr, "-t", topic + "/#", "-q", "2", "-v", "-C", "3"}, &stdout, &stderr)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(stderr.String(), "subscribed to") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	for i, args := range [][]string{
		{"-V", "3", "-q", "0", "-t", topic + "/a", "-m", "hello from 3.1"},
		{"-V", "4", "-q", "1", "-t", topic + "/b", "-m", "hello from 3.1.1"},
		{"-q", "2", "-t", topic + "/c", "-m", "two words"},
	} {
		var pubErr bytes.Buffer
		if c := run(context.Background(), append([]string{"pub", "-addr", addr}, args...), &stdout, &pubErr); c != exitOK {
			t.Fatalf("pub %d: exit %d: %s", i, c, pubErr.String())
		}
	}
	if c := waitCode(t, code); c != exitOK {
		t.Fatalf("sub: exit %d: %s", c, stderr.String())
	}
	// Three connections one after another: a broker may interleave them.
	want := []string{
		fmt.Sprintf("qos=0 retain=0 dup=0 %s/a hello from 3.1", topic),
		fmt.Sprintf("qos=1 retain=0 dup=0 %s/b hello from 3.1.1", topic),
		fmt.Sprintf("qos=2 retain=0 dup=0 %s/c two words", topic),
	}
	got := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sub printed (-want +got):\n%s", diff)
	}
}

// TestMosquittoRefusal checks that refusals are reported in words: mosquitto
// without anonymous access answers "not authorized" (code 5), and to an
// empty MQTT 3.1 client identifier "identifier rejected" (code 2). With a
// password file, the right password gets in and a wrong one is refused.
func TestMosquittoRefusal(t *testing.T) {
	dir := t.TempDir()
	passwords := filepath.Join(dir, "passwords")
	extra := []string{"allow_anonymous false"}
	withPasswords := false
	if tool, err := exec.LookPath("mosquitto_passwd"); err == nil {
		if out, err := exec.Command(tool, "-b", "-c", passwords, "alice", "secret").CombinedOutput(); err != nil {
			t.Logf("mosquitto_passwd: %v: %s", err, out)
		} else {
			extra = append(extra, "password_file "+passwords)
			withPasswords = true
		}
	}
	addr := startMosquitto(t, extra...)

	refused := func(t *testing.T, cfg Config, codes ...mqttwire.ConnectReturnCode) {
		t.Helper()
		cfg.Addr = addr
		c, err := Connect(context.Background(), cfg)
		if err == nil {
			c.Disconnect()
			t.Fatalf("connect (%v) succeeded, want a refusal", cfg.Version)
		}
		rerr, ok := err.(*RefusedError)
		if !ok {
			t.Fatalf("connect (%v): %v, want a *RefusedError", cfg.Version, err)
		}
		for _, code := range codes {
			if rerr.Code == code && strings.Contains(err.Error(), "connection refused: "+code.String()) {
				return
			}
		}
		t.Errorf("connect (%v): %v, want code %v", cfg.Version, err, codes)
	}
	for _, v := range levels {
		t.Run(v.String(), func(t *testing.T) {
			refused(t, Config{Version: v, ClientID: "anonymous", CleanSession: true}, mqttwire.RefusedNotAuthorized)
			if v == mqttwire.V31 {
				refused(t, Config{Version: v, CleanSession: true}, mqttwire.RefusedIdentifierRejected)
			}
			if !withPasswords {
				return
			}
			refused(t, Config{Version: v, ClientID: "wrong", CleanSession: true, Username: []byte("alice"), Password: []byte("guess")},
				mqttwire.RefusedBadUsernameOrPassword, mqttwire.RefusedNotAuthorized)
			c := connectTo(t, addr, Config{Version: v, Username: []byte("alice"), Password: []byte("secret")})
			if err := c.Disconnect(); err != nil {
				t.Error(err)
			}
		})
	}
	if !withPasswords {
		t.Log("mosquitto_passwd not found: the password cases were not run")
	}

	// The command says it in words too.
	var stdout, stderr bytes.Buffer
	if c := run(context.Background(), []string{"pub", "-addr", addr, "-t", "a", "-m", "x"}, &stdout, &stderr); c != exitError {
		t.Errorf("pub exit %d, want 1", c)
	}
	if !strings.Contains(stderr.String(), "connection refused: not authorized") {
		t.Errorf("pub stderr %q does not say %q", stderr.String(), "connection refused: not authorized")
	}
}
