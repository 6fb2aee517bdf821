// Command loadgen puts load on an MQTT broker over loopback and reports one
// number per scenario. It speaks raw MQTT 3.1.1 through mqttwire, is bounded
// in time and in connections, and refuses any address that is not loopback.
//
//	loadgen -addr 127.0.0.1:1883 -scenario fanin|fanout|qos1|connect|idle [-duration 3s]
//
// Each scenario prints one line: its name, a number and a unit.
//
//   - fanin: many publishers, one subscriber, QoS 0; messages delivered per second.
//   - fanout: one publisher, many subscribers, QoS 0; messages delivered per second.
//   - qos1: one publisher, one subscriber, QoS 1 both ways; messages delivered per second.
//   - connect: CONNECT, CONNACK, DISCONNECT and close, from a few workers, at most
//     -connects of them; connections per second.
//   - idle: the broker's resident memory per idle connection (each with one
//     subscription), from /proc/PID/status of -pid before and after.
//
// The throughput scenarios are closed loops: publishers stop while more than
// -window messages per subscriber are on their way, so a broker is measured
// at the rate it delivers, without dropping.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqttwire/mqttwire"
)

var (
	addr        = flag.String("addr", "127.0.0.1:1883", "broker address; must be loopback")
	scenario    = flag.String("scenario", "fanin", "fanin, fanout, qos1, connect or idle")
	duration    = flag.Duration("duration", 3*time.Second, "how long a throughput scenario runs (at most 30s)")
	publishers  = flag.Int("publishers", 10, "publishers in fanin")
	subscribers = flag.Int("subscribers", 100, "subscribers in fanout")
	clients     = flag.Int("clients", 1000, "connections in idle")
	workers     = flag.Int("workers", 4, "concurrent connections in connect")
	maxConnects = flag.Int("connects", 5000, "connections made in connect, at most")
	payloadSize = flag.Int("payload", 64, "payload bytes per message")
	window      = flag.Int("window", 1000, "messages per subscriber allowed on their way")
	pid         = flag.Int("pid", 0, "broker process id, for idle")
)

// maxConnections bounds every scenario.
const maxConnections = 2000

func main() {
	flag.Parse()
	if err := checkLoopback(*addr); err != nil {
		fatal(err)
	}
	if *duration <= 0 || *duration > 30*time.Second {
		fatal(fmt.Errorf("-duration %v: want more than 0 and at most 30s", *duration))
	}
	if *maxConnects > 20000 {
		fatal(errors.New("-connects: at most 20000, to stay clear of the ephemeral port range"))
	}
	if *publishers+1 > maxConnections || *subscribers+1 > maxConnections || *clients > maxConnections || *workers > 64 {
		fatal(fmt.Errorf("at most %d connections and 64 workers", maxConnections))
	}
	var err error
	switch *scenario {
	case "fanin":
		err = throughput(*publishers, 1, mqttwire.QoS0)
	case "fanout":
		err = throughput(1, *subscribers, mqttwire.QoS0)
	case "qos1":
		err = throughput(1, 1, mqttwire.QoS1)
	case "connect":
		err = connects()
	case "idle":
		err = idle()
	default:
		err = fmt.Errorf("unknown scenario %q", *scenario)
	}
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
	os.Exit(1)
}

// checkLoopback refuses any address but a loopback one.
func checkLoopback(a string) error {
	host, _, err := net.SplitHostPort(a)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %s: only loopback addresses are allowed", a)
	}
	return nil
}

// client is one MQTT connection.
type client struct {
	nc  net.Conn
	r   *mqttwire.Reader
	buf []byte
}

// dial connects and completes CONNECT and CONNACK.
func dial(id string) (*client, error) { return dialFrom(nil, id) }

// dialFrom is dial from the local address from, or any when it is nil.
func dialFrom(from net.Addr, id string) (*client, error) {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: from}
	nc, err := d.Dial("tcp", *addr)
	if err != nil {
		return nil, err
	}
	c := &client{nc: nc, r: mqttwire.NewReader(nc)}
	c.r.Version = mqttwire.V311
	if err := c.send(&mqttwire.Connect{Version: mqttwire.V311, CleanSession: true, KeepAlive: 60, ClientID: []byte(id)}); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	p, err := c.r.ReadPacket()
	nc.SetReadDeadline(time.Time{})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s: waiting for CONNACK: %w", id, err)
	}
	if ack, ok := p.(*mqttwire.Connack); !ok || ack.ReturnCode != mqttwire.Accepted {
		nc.Close()
		return nil, fmt.Errorf("%s: got %v, want CONNACK accepted", id, p)
	}
	return c, nil
}

// send encodes and writes one packet.
func (c *client) send(p mqttwire.Packet) error {
	var err error
	if c.buf, err = p.Append(c.buf[:0]); err != nil {
		return err
	}
	_, err = c.nc.Write(c.buf)
	return err
}

// subscribe subscribes and waits for SUBACK.
func (c *client) subscribe(filter string, qos mqttwire.QoS) error {
	err := c.send(&mqttwire.Subscribe{PacketID: 1, Filters: []mqttwire.TopicFilter{{Topic: []byte(filter), QoS: qos}}})
	if err != nil {
		return err
	}
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.nc.SetReadDeadline(time.Time{})
	p, err := c.r.ReadPacket()
	if err != nil {
		return err
	}
	if ack, ok := p.(*mqttwire.Suback); !ok || ack.ReturnCodes[0] != byte(qos) {
		return fmt.Errorf("got %v, want SUBACK granting %d", p, qos)
	}
	return nil
}

// throughput runs pubs publishers and subs subscribers on one topic at qos
// for -duration and prints the messages delivered per second, summed over
// subscribers.
func throughput(pubs, subs int, qos mqttwire.QoS) error {
	topic := fmt.Sprintf("bench/%s/%d", *scenario, time.Now().UnixNano())
	var received atomic.Int64
	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, pubs+subs)

	var subscriberConns []*client
	for i := range subs {
		c, err := dial(fmt.Sprintf("sub-%d", i))
		if err != nil {
			return err
		}
		defer c.nc.Close()
		if err := c.subscribe(topic, qos); err != nil {
			return err
		}
		subscriberConns = append(subscriberConns, c)
	}
	for _, c := range subscriberConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.consume(&received); err != nil && !isClosing(stop) {
				errs <- err
			}
		}()
	}

	payload := make([]byte, *payloadSize)
	limit := int64(*window) * int64(subs) // messages on their way, summed over subscribers
	start := time.Now()
	for i := range pubs {
		c, err := dial(fmt.Sprintf("pub-%d", i))
		if err != nil {
			return err
		}
		defer c.nc.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.produce(topic, payload, qos, subs, &sent, &received, limit, stop); err != nil && !isClosing(stop) {
				errs <- err
			}
		}()
	}
	timer := time.NewTimer(*duration)
	select {
	case <-timer.C:
	case err := <-errs:
		close(stop)
		return err
	}
	n := received.Load()
	elapsed := time.Since(start)
	close(stop)
	for _, c := range subscriberConns {
		c.nc.Close()
	}
	fmt.Printf("%s %.0f msg/s (%d delivered in %v, %d publishers, %d subscribers, QoS %d, %d-byte payload)\n",
		*scenario, float64(n)/elapsed.Seconds(), n, elapsed.Round(time.Millisecond), pubs, subs, qos, *payloadSize)
	return nil
}

func isClosing(stop chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// consume counts the PUBLISH packets it reads, and acknowledges QoS 1 ones,
// writing the acks of each read in one Write.
func (c *client) consume(received *atomic.Int64) error {
	var acks []byte
	for {
		p, err := c.r.ReadPacket()
		if err != nil {
			return err
		}
		pub, ok := p.(*mqttwire.Publish)
		if !ok {
			return fmt.Errorf("subscriber got %v", p.Type())
		}
		received.Add(1)
		if pub.QoS == mqttwire.QoS1 {
			acks, _ = (&mqttwire.Puback{PacketID: pub.PacketID}).Append(acks)
		}
		if len(acks) > 0 && c.r.Buffered() == 0 {
			if _, err := c.nc.Write(acks); err != nil {
				return err
			}
			acks = acks[:0]
		}
	}
}

// produce publishes until stop, writing batches of messages, and waits while
// more than limit messages are on their way to the subscribers. At QoS 1 it
// keeps at most 100 messages unacknowledged by the broker.
func (c *client) produce(topic string, payload []byte, qos mqttwire.QoS, subs int, sent, received *atomic.Int64, limit int64, stop chan struct{}) error {
	const batch = 32
	var inflight chan struct{}
	if qos > 0 {
		inflight = make(chan struct{}, 100)
		go func() {
			for {
				p, err := c.r.ReadPacket()
				if err != nil {
					return
				}
				if p.Type() == mqttwire.TypePuback {
					<-inflight
				}
			}
		}()
	}
	p := mqttwire.Publish{Topic: []byte(topic), Payload: payload, QoS: qos}
	var id uint16
	var buf []byte
	for !isClosing(stop) {
		for sent.Load()*int64(subs)-received.Load() > limit {
			if isClosing(stop) {
				return nil
			}
			time.Sleep(50 * time.Microsecond)
		}
		buf = buf[:0]
		n := 0
		for n < batch {
			if qos > 0 && !c.acquire(inflight, n == 0, stop) {
				break
			}
			if qos > 0 {
				// Ids go round in order; the window keeps them far apart.
				if id++; id == 0 {
					id = 1
				}
				p.PacketID = id
			}
			var err error
			if buf, err = p.Append(buf); err != nil {
				return err
			}
			n++
		}
		if n == 0 {
			return nil // stopped
		}
		if _, err := c.nc.Write(buf); err != nil {
			return err
		}
		sent.Add(int64(n))
	}
	return nil
}

// acquire takes a place in the QoS 1 window: waiting for one if wait is set,
// and otherwise only if one is free.
func (c *client) acquire(inflight chan struct{}, wait bool, stop chan struct{}) bool {
	if !wait {
		select {
		case inflight <- struct{}{}:
			return true
		default:
			return false
		}
	}
	select {
	case inflight <- struct{}{}:
		return true
	case <-stop:
		return false
	}
}

// connects runs -workers loops of connect, CONNACK, DISCONNECT and close for
// -duration or -connects connections, whichever ends first, and prints
// connections per second. The client closes first, as mosquitto_pub does, so
// each connection leaves a port in TIME_WAIT for a minute: the bound keeps a
// run well inside the ephemeral port range of its source address.
func connects() error {
	var done, finished atomic.Int64 // connections started, and completed
	// Each worker connects from its own loopback address, and each run from
	// its own set of them, so that the ports a run leaves in TIME_WAIT do not
	// slow the next one down.
	net0 := rand.IntN(250)
	var wg sync.WaitGroup
	deadline := time.Now().Add(*duration)
	errs := make(chan error, *workers)
	start := time.Now()
	for w := range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := &net.TCPAddr{IP: net.IPv4(127, 1, byte(net0), byte(w+1))}
			for i := 0; time.Now().Before(deadline) && done.Add(1) <= int64(*maxConnects); i++ {
				c, err := dialFrom(from, fmt.Sprintf("conn-%d-%d", w, i))
				if err != nil {
					errs <- err
					return
				}
				// Send DISCONNECT and close at once, as mosquitto_pub does.
				err = c.send(&mqttwire.Disconnect{})
				c.nc.Close()
				if err != nil {
					errs <- err
					return
				}
				finished.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return err
	default:
	}
	n := finished.Load()
	fmt.Printf("connect %.0f conn/s (%d in %v, %d workers)\n", float64(n)/elapsed.Seconds(), n, elapsed.Round(time.Millisecond), *workers)
	return nil
}

// idle opens -clients connections, each with one subscription, and prints
// the growth of the broker's resident memory per connection.
func idle() error {
	if *pid <= 0 {
		return errors.New("idle needs -pid, the broker's process id")
	}
	before, err := rss(*pid)
	if err != nil {
		return err
	}
	var conns []*client
	defer func() {
		for _, c := range conns {
			c.nc.Close()
		}
	}()
	for i := range *clients {
		c, err := dial(fmt.Sprintf("idle-%d", i))
		if err != nil {
			return err
		}
		conns = append(conns, c)
		if err := c.subscribe(fmt.Sprintf("idle/%d", i), mqttwire.QoS1); err != nil {
			return err
		}
	}
	time.Sleep(time.Second) // let the broker settle
	after, err := rss(*pid)
	if err != nil {
		return err
	}
	per := float64(after-before) / float64(*clients)
	fmt.Printf("idle %.1f KiB/conn (VmRSS %d → %d KiB with %d idle clients)\n", per, before, after, *clients)
	return nil
}

// rss returns VmRSS of process pid in KiB.
func rss(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}
