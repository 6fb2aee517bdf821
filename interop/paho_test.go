package interop

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/google/go-cmp/cmp"
)

// brokerURL is the address of the broker TestMain starts, as Paho takes it.
var brokerURL string

// aclRules is the broker's ACL here: the Paho interoperability suite expects
// a subscription to test/nosubscribe to be refused.
const aclRules = "deny subscribe test/nosubscribe\n"

// wait bounds every wait for the broker or a client.
const wait = 5 * time.Second

// TestMain builds examples/broker, starts it on a free loopback port with
// aclRules, runs the tests and stops it.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mqttwire-interop")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "broker")
	build := exec.Command("go", "build", "-o", bin, "./examples/broker")
	build.Dir = ".."
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the broker: %v\n%s", err, out)
		return 1
	}
	acl := filepath.Join(dir, "acl.txt")
	if err := os.WriteFile(acl, []byte(aclRules), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	addr, err := freeAddr()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var log bytes.Buffer
	broker := exec.Command(bin, "-addr", addr, "-acl", acl)
	broker.Stdout, broker.Stderr = &log, &log
	if err := broker.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		broker.Process.Signal(os.Interrupt)
		broker.Wait()
	}()
	if err := waitListening(addr); err != nil {
		fmt.Fprintf(os.Stderr, "%v\nbroker log:\n%s", err, log.String())
		return 1
	}
	brokerURL = "tcp://" + addr
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "broker log:\n%s", log.String())
	}
	return code
}

// freeAddr returns a loopback address that nothing listens on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitListening(addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("the broker does not listen on %s", addr)
}

// received is what a client's handler saw of one message.
type received struct {
	Topic    string
	Payload  string
	QoS      byte
	Retained bool
}

// inbox collects the messages a client receives.
type inbox struct {
	mu   sync.Mutex
	msgs []received
	more chan struct{}
}

func newInbox() *inbox { return &inbox{more: make(chan struct{}, 1)} }

func (in *inbox) handle(_ mqtt.Client, m mqtt.Message) {
	in.mu.Lock()
	in.msgs = append(in.msgs, received{m.Topic(), string(m.Payload()), m.Qos(), m.Retained()})
	in.mu.Unlock()
	select {
	case in.more <- struct{}{}:
	default:
	}
}

// waitFor waits until n messages have arrived, or fails the test.
func (in *inbox) waitFor(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.After(wait)
	for {
		in.mu.Lock()
		got := append([]received(nil), in.msgs...)
		in.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-in.more:
		case <-deadline:
			t.Fatalf("received %d messages, want %d: %v", len(got), n, got)
		}
	}
}

// quiet waits a moment and returns everything received, to check that
// nothing more came.
func (in *inbox) quiet() []received {
	time.Sleep(300 * time.Millisecond)
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]received(nil), in.msgs...)
}

// options returns Paho options for a client of the given protocol level
// (3 or 4) that reports to in and never reconnects on its own.
func options(id string, level uint, clean bool, in *inbox) *mqtt.ClientOptions {
	o := mqtt.NewClientOptions().AddBroker(brokerURL).SetClientID(id).
		SetProtocolVersion(level).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(wait).SetWriteTimeout(wait)
	if in != nil {
		o.SetDefaultPublishHandler(in.handle)
	}
	return o
}

// connect connects a client and fails the test if it cannot; the client is
// disconnected when the test ends.
func connect(t *testing.T, o *mqtt.ClientOptions) (mqtt.Client, *mqtt.ConnectToken) {
	t.Helper()
	c := mqtt.NewClient(o)
	tok := c.Connect().(*mqtt.ConnectToken)
	await(t, tok, "CONNECT")
	t.Cleanup(func() {
		if c.IsConnected() {
			c.Disconnect(100)
		}
	})
	return c, tok
}

// await waits for a token and fails the test on a timeout or an error.
func await(t *testing.T, tok mqtt.Token, what string) {
	t.Helper()
	if !tok.WaitTimeout(wait) {
		t.Fatalf("%s: no answer in %v", what, wait)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// subscribe subscribes with no handler of its own, so every message the
// broker sends reaches the default handler exactly once, however many of
// the client's filters match it. It returns the granted QoS or 0x80.
func subscribe(t *testing.T, c mqtt.Client, filter string, qos byte) byte {
	t.Helper()
	tok := c.Subscribe(filter, qos, nil).(*mqtt.SubscribeToken)
	await(t, tok, "SUBSCRIBE "+filter)
	return tok.Result()[filter]
}

func publish(t *testing.T, c mqtt.Client, topic string, qos byte, retain bool, payload string) {
	t.Helper()
	await(t, c.Publish(topic, qos, retain, payload), "PUBLISH "+topic)
}

// TestPahoQoS sends messages at QoS 0, 1 and 2 over both protocol levels
// and checks that they arrive once each, in order, at the QoS asked for.
func TestPahoQoS(t *testing.T) {
	for _, level := range []uint{3, 4} {
		for _, qos := range []byte{0, 1, 2} {
			t.Run(fmt.Sprintf("MQTT level %d QoS %d", level, qos), func(t *testing.T) {
				topic := fmt.Sprintf("paho/qos/%d/%d", level, qos)
				in := newInbox()
				sub, _ := connect(t, options(fmt.Sprintf("sub-%d-%d", level, qos), level, true, in))
				if got := subscribe(t, sub, topic, qos); got != qos {
					t.Fatalf("SUBACK granted %d, want %d", got, qos)
				}
				pub, _ := connect(t, options(fmt.Sprintf("pub-%d-%d", level, qos), level, true, nil))
				var want []received
				for i := range 20 {
					payload := fmt.Sprintf("message %d", i)
					publish(t, pub, topic, qos, false, payload)
					want = append(want, received{topic, payload, qos, false})
				}
				in.waitFor(t, len(want))
				if diff := cmp.Diff(want, in.quiet()); diff != "" {
					t.Errorf("received (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestPahoRetained checks that a retained message reaches a later
// subscriber flagged as retained, and that an empty one clears it.
func TestPahoRetained(t *testing.T) {
	const topic = "paho/retained"
	pub, _ := connect(t, options("retain-pub", 4, true, nil))
	publish(t, pub, topic, 1, true, "kept")

	in := newInbox()
	sub, _ := connect(t, options("retain-sub", 4, true, in))
	subscribe(t, sub, topic, 1)
	in.waitFor(t, 1)
	// A message published while the subscription stands is not retained
	// for this subscriber, even when it is retained on the broker.
	publish(t, pub, topic, 1, true, "newer")
	want := []received{{topic, "kept", 1, true}, {topic, "newer", 1, false}}
	in.waitFor(t, len(want))
	if diff := cmp.Diff(want, in.quiet()); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}

	publish(t, pub, topic, 1, true, "") // clears the retained message
	later := newInbox()
	sub2, _ := connect(t, options("retain-late", 4, true, later))
	subscribe(t, sub2, topic, 1)
	if got := later.quiet(); len(got) != 0 {
		t.Errorf("after the retained message was cleared, a new subscriber got %v", got)
	}
}

// TestPahoWill checks that the will goes out when a client's connection
// breaks, and not when the client disconnects.
func TestPahoWill(t *testing.T) {
	in := newInbox()
	sub, _ := connect(t, options("will-watch", 4, true, in))
	subscribe(t, sub, "paho/will/#", 1)

	// The first client disconnects properly: its will is dropped.
	polite, _ := connect(t, options("will-polite", 4, true, nil).SetWill("paho/will/polite", "gone", 1, false))
	polite.Disconnect(100)

	// The second one loses its connection: its will is published.
	var mu sync.Mutex
	var conn net.Conn
	o := options("will-broken", 4, true, nil).SetWill("paho/will/broken", "gone", 1, false).
		SetCustomOpenConnectionFn(func(u *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
			c, err := net.DialTimeout("tcp", u.Host, wait)
			mu.Lock()
			conn = c
			mu.Unlock()
			return c, err
		})
	connect(t, o)
	mu.Lock()
	conn.Close()
	mu.Unlock()

	want := []received{{"paho/will/broken", "gone", 1, false}}
	in.waitFor(t, len(want))
	if diff := cmp.Diff(want, in.quiet()); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}
}

// TestPahoPersistentSession checks that a persistent session keeps its
// subscription and the QoS 1 and 2 messages published while its client was
// away, and says so in CONNACK.
func TestPahoPersistentSession(t *testing.T) {
	const id, topic = "persist-sub", "paho/persist"
	sub, tok := connect(t, options(id, 4, false, newInbox()))
	if tok.SessionPresent() {
		// A session left by an earlier run of the test: clear it first.
		sub.Disconnect(100)
		clean, _ := connect(t, options(id, 4, true, nil))
		clean.Disconnect(100)
		sub, _ = connect(t, options(id, 4, false, newInbox()))
	}
	subscribe(t, sub, topic, 2)
	sub.Disconnect(100)

	pub, _ := connect(t, options("persist-pub", 4, true, nil))
	var want []received
	for i := range 5 {
		qos := byte(1 + i%2)
		payload := fmt.Sprintf("while away %d", i)
		publish(t, pub, topic, qos, false, payload)
		want = append(want, received{topic, payload, qos, false})
	}

	in := newInbox()
	_, tok = connect(t, options(id, 4, false, in))
	if !tok.SessionPresent() {
		t.Error("CONNACK: session present is 0 for a persistent session")
	}
	in.waitFor(t, len(want))
	if diff := cmp.Diff(want, in.quiet()); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}
}

// TestPahoSubscriptions checks the answers to SUBSCRIBE and what the
// subscriptions then deliver: a refused filter, overlapping filters that
// deliver a message once at the highest QoS, and the rule that a wildcard
// at the first level does not match a topic that starts with '$'.
func TestPahoSubscriptions(t *testing.T) {
	in := newInbox()
	sub, _ := connect(t, options("subs", 4, true, in))
	if got := subscribe(t, sub, "test/nosubscribe", 1); got != 0x80 {
		t.Errorf("SUBACK for test/nosubscribe: %#x, want 0x80 (refused by the ACL)", got)
	}
	subscribe(t, sub, "paho/overlap/+", 0)
	subscribe(t, sub, "paho/overlap/#", 2)
	subscribe(t, sub, "#", 0)
	subscribe(t, sub, "$paho/+", 1)

	pub, _ := connect(t, options("subs-pub", 4, true, nil))
	publish(t, pub, "paho/overlap/a", 2, false, "once")
	publish(t, pub, "$paho/x", 1, false, "dollar")
	want := []received{
		{"paho/overlap/a", "once", 2, false},
		{"$paho/x", "dollar", 1, false}, // through $paho/+ only, not '#'
	}
	in.waitFor(t, len(want))
	if diff := cmp.Diff(want, in.quiet()); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}
}
