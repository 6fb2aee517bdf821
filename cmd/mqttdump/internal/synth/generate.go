package synth

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/mqttwire/mqttwire"
)

// Design note: the generator plays many MQTT sessions at once between
// clients in 198.18.0.0/15 (and 2001:db8::/32), the ranges set aside for
// benchmarks and documentation, and one broker. Each session does what real
// ones do: a TCP handshake, CONNECT at either protocol level, SUBSCRIBE,
// publishes at every QoS in both directions with their acknowledgements,
// pings, UNSUBSCRIBE, DISCONNECT and FIN. MQTT packets are queued per
// direction and cut into segments of at most one MSS, so several small
// packets share a segment and large ones span many; some cuts fall at random
// points. On request segments are reordered, retransmitted or sent
// overlapping, which mqttdump must undo. The file is only bytes: nothing is
// sent anywhere.

// Options control Generate.
type Options struct {
	Size      int64   // stop opening sessions once about this many bytes are written
	Conns     int     // sessions open at once; default 64
	Seed      uint64  // the same seed gives the same file
	Port      uint16  // the broker's port; default 1883
	IPv6      float64 // share of sessions over IPv6
	Reorder   float64 // chance that two consecutive segments of a flush swap places
	Duplicate float64 // chance that a segment is sent a second time
	Overlap   float64 // chance that a segment is sent as two overlapping pieces
	// SplitHeader is the chance that a flush whose first packet has a
	// remaining length of two bytes or more ends its first segment after
	// the first of them, inside the fixed header.
	SplitHeader float64
}

// Summary says what Generate wrote.
type Summary struct {
	Bytes    int64     // file size
	Frames   int64     // records
	Sessions int64     // TCP connections, all closed cleanly
	Packets  [16]int64 // MQTT packets by type
}

// Generate writes a pcap file (Ethernet, microsecond timestamps) of
// synthetic MQTT traffic.
func Generate(w io.Writer, o Options) (Summary, error) {
	if o.Conns <= 0 {
		o.Conns = 64
	}
	if o.Port == 0 {
		o.Port = 1883
	}
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	g := &generator{
		o:    o,
		rng:  rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		pw:   pcapgo.NewWriter(bw),
		sbuf: gopacket.NewSerializeBuffer(),
		now:  time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	if err := g.pw.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		return g.sum, err
	}
	var active []*session
	for {
		for len(active) < o.Conns && g.written < o.Size {
			active = append(active, g.open())
		}
		if len(active) == 0 || g.err != nil {
			break
		}
		i := g.rng.IntN(len(active))
		if g.written >= o.Size {
			active[i].publishes = 0 // big enough: wind the session down
		}
		if !g.step(active[i]) {
			active[i] = active[len(active)-1]
			active = active[:len(active)-1]
		}
	}
	if g.err == nil {
		g.err = bw.Flush()
	}
	g.sum.Bytes = cw.n
	return g.sum, g.err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

const mss = 1448

type generator struct {
	o       Options
	rng     *rand.Rand
	pw      *pcapgo.Writer
	sbuf    gopacket.SerializeBuffer
	now     time.Time
	sum     Summary
	written int64 // bytes written so far, buffered or not
	err     error
	ipID    uint16
	pkt     []byte // scratch for one encoded MQTT packet
}

// session is one MQTT session over one TCP connection.
type session struct {
	n           int64
	client      net.IP
	server      net.IP
	clientPort  uint16
	seq         [2]uint32 // next sequence number: [0] client to server, [1] back
	pending     [2][]byte // MQTT bytes queued, not yet sent
	version     mqttwire.Version
	phase       int
	publishes   int // exchanges left before the session ends
	nextID      uint16
	serverID    uint16
	filters     []mqttwire.TopicFilter
	clientIDBuf []byte
}

var (
	serverV4 = net.IP{198, 19, 0, 1}
	serverV6 = net.ParseIP("2001:db8::1")
	macC     = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	macS     = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

var topics = []string{
	"sensors/%d/temperature", "sensors/%d/humidity", "home/kitchen/light", "home/garage/door",
	"fleet/truck-%d/gps", "factory/line-3/press/%d/pressure", "$SYS/broker/load", "alerts/%d",
}

func (g *generator) open() *session {
	g.sum.Sessions++
	n := g.sum.Sessions
	s := &session{n: n, clientPort: uint16(20000 + n%40000), publishes: 5 + g.rng.IntN(60)}
	if g.rng.Float64() < g.o.IPv6 {
		s.client = net.ParseIP(fmt.Sprintf("2001:db8:1::%x", n%0xffff+1))
		s.server = serverV6
	} else {
		s.client = net.IP{198, 18, byte(n >> 8), byte(n)}
		s.server = serverV4
	}
	s.seq[0], s.seq[1] = g.rng.Uint32(), g.rng.Uint32()
	s.version = mqttwire.V311
	if g.rng.IntN(4) == 0 {
		s.version = mqttwire.V31
	}
	return s
}

// topic returns a topic name for a PUBLISH.
func (g *generator) topic() []byte {
	t := topics[g.rng.IntN(len(topics))]
	if strings.Contains(t, "%d") {
		return fmt.Appendf(nil, t, g.rng.IntN(100))
	}
	return []byte(t)
}

// payload returns a payload: mostly short JSON-like text, sometimes binary,
// sometimes tens of kilobytes.
func (g *generator) payload() []byte {
	var n int
	switch r := g.rng.IntN(100); {
	case r < 80:
		n = 4 + g.rng.IntN(200)
	case r < 98:
		n = 200 + g.rng.IntN(1800)
	default:
		n = 2000 + g.rng.IntN(30000)
	}
	b := make([]byte, n)
	if g.rng.IntN(10) == 0 {
		for i := range b {
			b[i] = byte(g.rng.Uint32())
		}
		return b
	}
	const text = `{"id":17,"value":21.5,"unit":"C","ok":true} `
	for i := range b {
		b[i] = text[i%len(text)]
	}
	return b
}

// queue encodes p onto direction dir (0: client to server) of s.
func (g *generator) queue(s *session, dir int, p mqttwire.Packet) {
	var err error
	g.pkt, err = p.Append(g.pkt[:0])
	if err != nil && g.err == nil {
		g.err = fmt.Errorf("synth: %v: %w", p.Type(), err)
	}
	s.pending[dir] = append(s.pending[dir], g.pkt...)
	g.sum.Packets[p.Type()]++
}

func (s *session) id() uint16 {
	s.nextID++
	if s.nextID == 0 {
		s.nextID = 1
	}
	return s.nextID
}

func (s *session) sid() uint16 {
	s.serverID++
	if s.serverID == 0 {
		s.serverID = 1
	}
	return s.serverID
}

// step plays the session's next exchange; it returns false once the
// session has closed.
func (g *generator) step(s *session) bool {
	switch s.phase {
	case 0:
		g.segment(s, 0, tcpFlags{syn: true}, nil)
		g.segment(s, 1, tcpFlags{syn: true, ack: true}, nil)
		g.segment(s, 0, tcpFlags{ack: true}, nil)
		c := &mqttwire.Connect{Version: s.version, CleanSession: g.rng.IntN(3) > 0, KeepAlive: uint16(30 + g.rng.IntN(90))}
		s.clientIDBuf = fmt.Appendf(nil, "gen-%d", s.n)
		c.ClientID = s.clientIDBuf
		if g.rng.IntN(4) == 0 {
			c.WillFlag, c.WillQoS, c.WillRetain = true, mqttwire.QoS(g.rng.IntN(3)), g.rng.IntN(2) == 0
			c.WillTopic, c.WillMessage = fmt.Appendf(nil, "clients/gen-%d/status", s.n), []byte("offline")
		}
		if g.rng.IntN(3) == 0 {
			c.UsernameFlag, c.Username = true, []byte("device")
			c.PasswordFlag, c.Password = true, []byte("s3cret")
		}
		g.queue(s, 0, c)
		g.flush(s, 0)
		g.queue(s, 1, &mqttwire.Connack{Version: s.version})
		g.flush(s, 1)
	case 1:
		sub := &mqttwire.Subscribe{PacketID: s.id()}
		for range 1 + g.rng.IntN(3) {
			f := mqttwire.TopicFilter{Topic: []byte("sensors/+/temperature"), QoS: mqttwire.QoS(g.rng.IntN(3))}
			switch g.rng.IntN(3) {
			case 1:
				f.Topic = []byte("home/#")
			case 2:
				f.Topic = fmt.Appendf(nil, "fleet/truck-%d/#", s.n%100)
			}
			sub.Filters = append(sub.Filters, f)
		}
		s.filters = sub.Filters
		g.queue(s, 0, sub)
		g.flush(s, 0)
		codes := make([]byte, len(sub.Filters))
		for i, f := range sub.Filters {
			codes[i] = byte(f.QoS)
		}
		g.queue(s, 1, &mqttwire.Suback{PacketID: sub.PacketID, ReturnCodes: codes, Version: s.version})
		g.flush(s, 1)
	default:
		if s.publishes == 0 {
			g.close(s)
			return false
		}
		s.publishes--
		switch r := g.rng.IntN(100); {
		case r < 45:
			g.publish(s, 0)
		case r < 85:
			g.publish(s, 1)
		case r < 92:
			// A burst of small QoS 0 messages that share segments.
			for range 2 + g.rng.IntN(6) {
				g.queue(s, 0, &mqttwire.Publish{Topic: g.topic(), Payload: []byte("21.5")})
			}
			g.flush(s, 0)
		default:
			g.queue(s, 0, &mqttwire.Pingreq{})
			g.flush(s, 0)
			g.queue(s, 1, &mqttwire.Pingresp{})
			g.flush(s, 1)
		}
	}
	s.phase++
	return true
}

// publish sends a PUBLISH from dir's sender and the acknowledgements of its
// QoS.
func (g *generator) publish(s *session, dir int) {
	qos := mqttwire.QoS(g.rng.IntN(3))
	p := &mqttwire.Publish{QoS: qos, Retain: g.rng.IntN(10) == 0, Topic: g.topic(), Payload: g.payload()}
	if qos > 0 {
		if dir == 0 {
			p.PacketID = s.id()
		} else {
			p.PacketID = s.sid()
		}
		p.Dup = g.rng.IntN(50) == 0
	}
	g.queue(s, dir, p)
	g.flush(s, dir)
	switch qos {
	case 1:
		g.queue(s, 1-dir, &mqttwire.Puback{PacketID: p.PacketID})
		g.flush(s, 1-dir)
	case 2:
		g.queue(s, 1-dir, &mqttwire.Pubrec{PacketID: p.PacketID})
		g.flush(s, 1-dir)
		g.queue(s, dir, &mqttwire.Pubrel{PacketID: p.PacketID})
		g.flush(s, dir)
		g.queue(s, 1-dir, &mqttwire.Pubcomp{PacketID: p.PacketID})
		g.flush(s, 1-dir)
	}
}

// close ends the session: UNSUBSCRIBE, DISCONNECT, and the FIN exchange.
func (g *generator) close(s *session) {
	u := &mqttwire.Unsubscribe{PacketID: s.id()}
	for _, f := range s.filters {
		u.Topics = append(u.Topics, f.Topic)
	}
	g.queue(s, 0, u)
	g.flush(s, 0)
	g.queue(s, 1, &mqttwire.Unsuback{PacketID: u.PacketID})
	g.flush(s, 1)
	g.queue(s, 0, &mqttwire.Disconnect{})
	g.flush(s, 0)
	g.segment(s, 0, tcpFlags{fin: true, ack: true}, nil)
	g.segment(s, 1, tcpFlags{fin: true, ack: true}, nil)
	g.segment(s, 0, tcpFlags{ack: true}, nil)
}

type tcpFlags struct{ syn, ack, fin, psh bool }

type seg struct {
	seq  uint32
	data []byte
}

// flush cuts the bytes queued on dir into segments and sends them, with
// the reordering, retransmission and overlap the options ask for; the other
// side acknowledges.
func (g *generator) flush(s *session, dir int) {
	data := s.pending[dir]
	s.pending[dir] = nil
	var segs []seg
	seq := s.seq[dir]
	for len(data) > 0 {
		n := min(len(data), mss)
		switch {
		case len(segs) == 0 && len(data) > 2 && data[1] >= 0x80 && g.rng.Float64() < g.o.SplitHeader:
			n = 2 // a cut inside the remaining length
		case n > 1 && g.rng.IntN(10) == 0:
			n = 1 + g.rng.IntN(n-1) // a cut at a random point
		}
		segs = append(segs, seg{seq, data[:n]})
		seq += uint32(n)
		data = data[n:]
	}
	s.seq[dir] = seq
	for i := 0; i+1 < len(segs); i++ {
		if g.rng.Float64() < g.o.Reorder {
			segs[i], segs[i+1] = segs[i+1], segs[i]
			i++
		}
	}
	for _, sg := range segs {
		switch {
		case len(sg.data) > 8 && g.rng.Float64() < g.o.Overlap:
			half := len(sg.data) / 2
			g.send(s, dir, sg.seq, tcpFlags{ack: true, psh: true}, sg.data[:half+half/2])
			g.send(s, dir, sg.seq+uint32(half), tcpFlags{ack: true, psh: true}, sg.data[half:])
		default:
			g.send(s, dir, sg.seq, tcpFlags{ack: true, psh: true}, sg.data)
		}
		if g.rng.Float64() < g.o.Duplicate {
			g.send(s, dir, sg.seq, tcpFlags{ack: true, psh: true}, sg.data)
		}
	}
	if len(segs) > 0 {
		g.segment(s, 1-dir, tcpFlags{ack: true}, nil)
	}
}

// segment sends a segment at the direction's next sequence number and
// advances it past the data and any SYN or FIN.
func (g *generator) segment(s *session, dir int, f tcpFlags, data []byte) {
	g.send(s, dir, s.seq[dir], f, data)
	s.seq[dir] += uint32(len(data))
	if f.syn || f.fin {
		s.seq[dir]++
	}
}

// send writes one TCP segment as an Ethernet frame.
func (g *generator) send(s *session, dir int, seq uint32, f tcpFlags, data []byte) {
	if g.err != nil {
		return
	}
	g.now = g.now.Add(time.Duration(1+g.rng.IntN(40)) * time.Microsecond)
	src, dst := s.client, s.server
	sport, dport := s.clientPort, g.o.Port
	smac, dmac := macC, macS
	if dir == 1 {
		src, dst, sport, dport, smac, dmac = dst, src, dport, sport, dmac, smac
	}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq,
		SYN: f.syn, ACK: f.ack || !f.syn, FIN: f.fin, PSH: f.psh, Window: 65535}
	if tcp.ACK {
		tcp.Ack = s.seq[1-dir]
	}
	eth := &layers.Ethernet{SrcMAC: smac, DstMAC: dmac}
	var netLayer gopacket.SerializableLayer
	if src.To4() != nil {
		eth.EthernetType = layers.EthernetTypeIPv4
		g.ipID++
		ip := &layers.IPv4{Version: 4, TTL: 64, Id: g.ipID, Flags: layers.IPv4DontFragment,
			Protocol: layers.IPProtocolTCP, SrcIP: src.To4(), DstIP: dst.To4()}
		tcp.SetNetworkLayerForChecksum(ip)
		netLayer = ip
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		tcp.SetNetworkLayerForChecksum(ip)
		netLayer = ip
	}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(g.sbuf, opts, eth, netLayer, tcp, gopacket.Payload(data)); err != nil {
		g.err = err
		return
	}
	b := g.sbuf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: g.now, CaptureLength: len(b), Length: len(b)}
	if err := g.pw.WritePacket(ci, b); err != nil {
		g.err = err
		return
	}
	g.sum.Frames++
	g.written += int64(16 + len(b))
}
