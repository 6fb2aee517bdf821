package main

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/mqttwire/mqttwire"
)

// FuzzSession drives one broker with sequences of packets a client might
// send after CONNECT, chosen by the input: publishes at every QoS, retained
// or not, subscriptions and unsubscriptions, acknowledgements for ids the
// broker may or may not know, a second connection that takes the client id
// over, and raw bytes that break the packet format. Whatever the sequence,
// the broker must not panic or deadlock: after each input a fresh client
// still connects and gets its PINGRESP. Under `go test` the seeds run as a
// test; `go test -fuzz FuzzSession ./examples/broker` explores further.
func FuzzSession(f *testing.F) {
	_, addr := startBroker(f, func(c *config) {
		c.logger = nil
		c.maxInflight, c.maxQueued, c.maxBuffer = 4, 8, 4096
		c.maxPacket = 1024
	})
	f.Add([]byte{0x00, 0x10, 0x01, 0x21, 0x05, 0x31, 0x41, 0x51, 0x61, 0x07})
	f.Add([]byte{0x01, 0x13, 0x00, 0x22, 0x00, 0x12, 0x05, 0x02, 0x0a, 0x00, 0x22})
	f.Add([]byte{0x01, 0x24, 0x0a, 0x01, 0x00, 0x21, 0x06, 0x08})
	f.Add([]byte{0x09, 0x03, 0x30, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 256 {
			return // longer sequences add time, not states
		}
		s := newFuzzClient(addr, "fuzz", true)
		var old []*fuzzClient // connections taken over, closed at the end
		for i := 0; i < len(ops) && s != nil; i++ {
			op, arg := ops[i], byte(0)
			if i+1 < len(ops) {
				i++
				arg = ops[i]
			}
			switch op % 11 {
			case 0, 1, 2: // PUBLISH
				qos := mqttwire.QoS(arg >> 4 % 3)
				p := &mqttwire.Publish{QoS: qos, Retain: arg&8 != 0, Topic: []byte(fuzzTopics[arg%4]), Payload: []byte("x")}
				if arg&4 != 0 {
					p.Payload = nil // with Retain, clears the retained message
				}
				if qos > 0 {
					p.PacketID = uint16(arg%5) + 1
					p.Dup = arg&2 != 0
				}
				s.send(p)
			case 3:
				s.send(&mqttwire.Subscribe{PacketID: uint16(arg%5) + 1, Filters: []mqttwire.TopicFilter{{Topic: []byte(fuzzFilters[arg%8]), QoS: mqttwire.QoS(arg >> 4 % 3)}}})
			case 4:
				s.send(&mqttwire.Unsubscribe{PacketID: uint16(arg%5) + 1, Topics: [][]byte{[]byte(fuzzFilters[arg%8])}})
			case 5:
				s.send(&mqttwire.Puback{PacketID: uint16(arg%5) + 1})
			case 6:
				s.send(&mqttwire.Pubrec{PacketID: uint16(arg%5) + 1})
			case 7:
				s.send(&mqttwire.Pubrel{PacketID: uint16(arg%5) + 1})
			case 8:
				s.send(&mqttwire.Pubcomp{PacketID: uint16(arg%5) + 1})
			case 9:
				// Raw bytes: a packet the codec refuses, or a start of one.
				s.write([]byte{arg, arg >> 1, arg})
			case 10:
				// Another connection takes the client id over, with a clean
				// or a persistent session; or the client disconnects and
				// comes back.
				if arg&1 != 0 {
					s.send(&mqttwire.Disconnect{})
				}
				old = append(old, s)
				s = newFuzzClient(addr, "fuzz", arg&2 != 0)
			}
		}
		if s != nil {
			old = append(old, s)
		}
		for _, c := range old {
			c.close()
		}
		// The broker still serves: a fresh client connects and pings.
		probe := newFuzzClient(addr, "probe", true)
		if probe == nil {
			t.Fatal("the broker refuses a new connection after the sequence")
		}
		defer probe.close()
		probe.send(&mqttwire.Pingreq{})
		probe.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			p, err := probe.r.ReadPacket()
			if err != nil {
				t.Fatalf("no PINGRESP after the sequence: %v", err)
			}
			if p.Type() == mqttwire.TypePingresp {
				break
			}
		}
	})
}

var (
	fuzzTopics  = []string{"a", "a/b", "$SYS/x", "t/1"}
	fuzzFilters = []string{"a", "a/b", "$SYS/#", "t/+", "#", "+/b", "+", "a/#"}
)

// fuzzClient is a connection that keeps going when the broker closes it:
// the sequence then simply has no more effect.
type fuzzClient struct {
	nc   net.Conn
	r    *mqttwire.Reader
	buf  []byte
	done chan struct{}
}

// newFuzzClient connects as id and waits for CONNACK; it returns nil if the
// broker does not answer. A goroutine reads and answers what the broker
// sends, so the broker never waits on this client's socket buffer.
func newFuzzClient(addr, id string, clean bool) *fuzzClient {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil
	}
	c := &fuzzClient{nc: nc, r: mqttwire.NewReader(nc)}
	c.send(&mqttwire.Connect{Version: mqttwire.V311, CleanSession: clean, ClientID: []byte(id)})
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if p, err := c.r.ReadPacket(); err != nil || p.Type() != mqttwire.TypeConnack {
		nc.Close()
		return nil
	}
	nc.SetReadDeadline(time.Time{})
	if id == "probe" {
		return c
	}
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		io.Copy(io.Discard, nc)
	}()
	return c
}

func (c *fuzzClient) send(p mqttwire.Packet) {
	var err error
	if c.buf, err = p.Append(c.buf[:0]); err == nil {
		c.write(c.buf)
	}
}

func (c *fuzzClient) write(b []byte) {
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.nc.Write(b) // the broker may have closed the connection: that is allowed
}

func (c *fuzzClient) close() {
	c.nc.Close()
	if c.done != nil {
		<-c.done
	}
}
