package main

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/gopacket/gopacket/reassembly"
)

// Design note: gopacket does the network work. pcapgo reads pcap and pcapng
// without libpcap, DecodingLayers parse the link, IP and TCP headers into
// reused structs, and the reassembly package puts each TCP direction back
// in order, handling retransmissions and overlaps and reporting the bytes it
// had to give up on. This file only wires them together and bounds their
// memory: the reassembler may buffer a limited number of out-of-order pages,
// connections whose missing bytes never come are flushed after oooWait of
// capture time, and connections idle for -idle are closed.

const (
	// oooWait is how long, in capture time, the reassembler waits for a
	// missing segment before it reports a gap and goes on.
	oooWait = 2 * time.Second
	// maxPagesPerConn and maxPagesTotal bound the out-of-order data the
	// reassembler buffers (pages of 1,900 bytes): about 4 MB for one
	// connection and 64 MB in all.
	maxPagesPerConn = 2048
	maxPagesTotal   = 32768
	// checkEvery is how many records pass between progress checks.
	checkEvery = 1024
	// maxRecord is the largest record read, as in Wireshark and libpcap
	// (262,144 bytes); maxBlock the largest pcapng block of any kind. pcapgo
	// allocates what a record's or block's length says before reading it,
	// so a larger one ends the file instead.
	maxRecord = 256 << 10
	maxBlock  = 16 << 20
	// defaultMaxOpen bounds the connections held at once (about 3 KB each):
	// past it, those idle longest are closed, down to three quarters of it.
	defaultMaxOpen = 1 << 16
)

// source is a capture file reader: pcapgo's Reader or NgReader.
type source interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// openCapture recognises a pcap or pcapng file, gzip-compressed or not, and
// returns its reader and a function giving each record's link type.
func openCapture(r io.Reader) (source, func(gopacket.CaptureInfo) layers.LinkType, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, nil, fmt.Errorf("not a capture file: %w", err)
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		br = bufio.NewReaderSize(gz, 1<<20)
		if magic, err = br.Peek(4); err != nil {
			return nil, nil, fmt.Errorf("not a capture file: %w", err)
		}
	}
	if binary.BigEndian.Uint32(magic) == 0x0a0d0d0a {
		ng, err := pcapgo.NewNgReader(&ngGuard{r: br}, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, nil, fmt.Errorf("pcapng: %w", err)
		}
		return ng, func(ci gopacket.CaptureInfo) layers.LinkType {
			if len(ci.AncillaryData) > 0 {
				if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
					return lt
				}
			}
			return ng.LinkType()
		}, nil
	}
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, nil, fmt.Errorf("not a pcap or pcapng file: %w", err)
	}
	if pr.Snaplen() > maxRecord {
		pr.SetSnaplen(maxRecord) // pcapgo refuses a record longer than this
	}
	lt := pr.LinkType()
	return pr, func(gopacket.CaptureInfo) layers.LinkType { return lt }, nil
}

// ngGuard passes a pcapng stream through and fails it at the first block
// that would make pcapgo allocate without bound: a block longer than
// maxBlock, or a packet block whose captured length is over maxRecord or
// runs past the block. The bytes before that block's length fields are
// passed on, so pcapgo reads every block before it.
type ngGuard struct {
	r         io.Reader
	bigEndian bool
	head      [24]byte // the current block's first bytes
	have      int      // bytes of head filled
	need      int      // bytes of head needed to judge the block: 8 until its type is known
	left      int64    // bytes of the current block after head still to pass
	err       error
}

func (g *ngGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for i := 0; i < n; {
		if g.left > 0 {
			k := int(min(g.left, int64(n-i)))
			g.left -= int64(k)
			i += k
			continue
		}
		if g.need == 0 {
			g.need = 8
		}
		k := copy(g.head[g.have:g.need], p[i:n])
		g.have += k
		i += k
		if g.have < g.need {
			continue
		}
		if g.err = g.judge(); g.err != nil {
			return i - 1, g.err // hold back the byte that completed the lengths
		}
	}
	return n, err
}

// judge looks at the g.have bytes of the current block's head: it asks for
// more of them when the block's type needs them, and otherwise checks the
// block and starts passing its rest.
func (g *ngGuard) judge() error {
	typ := binary.LittleEndian.Uint32(g.head[0:4]) // only compared with 0x0A0D0D0A, or read again below
	if typ == 0x0A0D0D0A && g.have == 8 {
		g.need = 12 // the byte-order magic follows the length
		return nil
	}
	if typ == 0x0A0D0D0A {
		g.bigEndian = binary.BigEndian.Uint32(g.head[8:12]) == 0x1A2B3C4D
	}
	u32 := binary.LittleEndian.Uint32
	if g.bigEndian {
		u32 = binary.BigEndian.Uint32
	}
	typ = u32(g.head[0:4])
	length := int64(u32(g.head[4:8]))
	if g.have == 8 {
		switch typ {
		case 2, 6: // packet block, enhanced packet block: captured length at 20
			g.need = 24
		case 3: // simple packet block: original length at 8
			g.need = 12
		}
	}
	switch {
	case length > maxBlock:
		return fmt.Errorf("pcapng block of %d bytes, larger than mqttdump reads (%d)", length, maxBlock)
	case length < int64(g.need):
		return fmt.Errorf("pcapng block of %d bytes, shorter than its header", length)
	case g.have < g.need:
		return nil
	}
	if typ == 2 || typ == 6 || typ == 3 {
		// pcapgo reads a simple packet block's original length, or less
		// when the interface's snapshot length cuts it.
		captured, room := int64(u32(g.head[20:24])), length-32
		if typ == 3 {
			captured, room = int64(u32(g.head[8:12])), length-16
		}
		if captured > maxRecord || typ != 3 && captured > room {
			return fmt.Errorf("pcapng record of %d bytes in a block of %d, larger than it or than mqttdump reads (%d)", captured, length, maxRecord)
		}
	}
	g.left = length - int64(g.have)
	g.have, g.need = 0, 8
	return nil
}

// packetContext carries a record's time and number through the
// reassembler, which keeps it with any segment it has to buffer.
type packetContext struct {
	ts    time.Time
	frame int64
}

// GetCaptureInfo implements reassembly.AssemblerContext.
func (c *packetContext) GetCaptureInfo() gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: c.ts}
}

// capture decodes one capture file.
type capture struct {
	p    *pipeline
	asm  *reassembly.Assembler
	port layers.TCPPort

	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	sll     layers.LinuxSLL
	sll2    layers.LinuxSLL2
	loop    layers.Loopback
	ip4     layers.IPv4
	ip6     layers.IPv6
	ext     layers.IPv6ExtensionSkipper
	tcp     layers.TCP
	layers  gopacket.DecodingLayerContainer
	firsts  map[gopacket.LayerType]gopacket.DecodingLayerFunc
	decoded []gopacket.LayerType

	slab      []packetContext
	conns     int64     // connections opened, for their order
	nextFlush time.Time // capture time of the next flush
	latest    time.Time // the latest record time seen
	maxOpen   int64     // connections held at once; 0 means defaultMaxOpen
	warned    map[layers.LinkType]bool
	warnings  io.Writer

	// held collects the lines printed while the reassembler flushes, which
	// it does in map order, so that they can be printed in connection order.
	held []heldLine
}

type heldLine struct {
	conn int64
	line []byte
}

func newCapture(p *pipeline, warnings io.Writer) *capture {
	c := &capture{p: p, port: layers.TCPPort(p.opts.port), warnings: warnings,
		firsts: map[gopacket.LayerType]gopacket.DecodingLayerFunc{}, warned: map[layers.LinkType]bool{}}
	c.maxOpen = int64(p.opts.maxOpen)
	if c.maxOpen <= 0 {
		c.maxOpen = defaultMaxOpen
	}
	c.layers = gopacket.DecodingLayerSparse(nil)
	for _, l := range []gopacket.DecodingLayer{&c.eth, &c.dot1q, &c.sll, &c.sll2, &c.loop, &c.ip4, &c.ip6, &c.ext, &c.tcp} {
		c.layers = c.layers.Put(l)
	}
	pool := reassembly.NewStreamPool(c)
	c.asm = reassembly.NewAssembler(pool)
	c.asm.MaxBufferedPagesPerConnection = maxPagesPerConn
	c.asm.MaxBufferedPagesTotal = maxPagesTotal
	return c
}

// run reads every record of src, then flushes and closes every stream.
func (c *capture) run(src source, linkType func(gopacket.CaptureInfo) layers.LinkType, progress func()) error {
	var err error
	for {
		var data []byte
		var ci gopacket.CaptureInfo
		data, ci, err = src.ZeroCopyReadPacketData()
		if err != nil {
			break
		}
		c.p.frame++
		c.p.now = ci.Timestamp
		c.p.stats.frames++
		c.handle(data, linkType(ci), ci.Timestamp)
		if !ci.Timestamp.Before(c.nextFlush) {
			c.flush(ci.Timestamp)
		}
		if progress != nil && c.p.frame%checkEvery == 0 {
			progress()
		}
	}
	c.flushing(func() { c.asm.FlushAll() })
	if err == io.EOF {
		return nil
	}
	return err
}

// decoderFor returns the layer decoder that starts with layer type first.
func (c *capture) decoderFor(first gopacket.LayerType) gopacket.DecodingLayerFunc {
	d, ok := c.firsts[first]
	if !ok {
		d = c.layers.LayersDecoder(first, gopacket.NilDecodeFeedback)
		c.firsts[first] = d
	}
	return d
}

// handle decodes one record and hands a TCP segment on the selected port to
// the reassembler.
func (c *capture) handle(data []byte, lt layers.LinkType, ts time.Time) {
	var first gopacket.LayerType
	switch lt {
	case layers.LinkTypeEthernet:
		first = layers.LayerTypeEthernet
	case layers.LinkTypeLinuxSLL:
		first = layers.LayerTypeLinuxSLL
	case layers.LinkTypeLinuxSLL2:
		first = layers.LayerTypeLinuxSLL2
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		first = layers.LayerTypeLoopback
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12, 14:
		// Raw IP; 12 and 14 are DLT_RAW on some systems.
		if len(data) > 0 && data[0]>>4 == 6 {
			first = layers.LayerTypeIPv6
		} else {
			first = layers.LayerTypeIPv4
		}
	default:
		c.p.stats.ignored++
		if !c.warned[lt] {
			c.warned[lt] = true
			fmt.Fprintf(c.warnings, "mqttdump: link type %d (%s) is not supported; its records are skipped\n", int(lt), lt)
		}
		return
	}
	if !c.decodeLayers(first, data) {
		c.p.stats.ignored++
		return
	}
	var netFlow gopacket.Flow
	haveIP, haveTCP := false, false
	for _, t := range c.decoded {
		switch t {
		case layers.LayerTypeIPv4:
			netFlow, haveIP = c.ip4.NetworkFlow(), true
		case layers.LayerTypeIPv6:
			netFlow, haveIP = c.ip6.NetworkFlow(), true
		case layers.LayerTypeIPv6Fragment:
			haveIP = false // a fragment: its TCP header may be missing or partial
		case layers.LayerTypeTCP:
			haveTCP = haveIP
		}
	}
	if !haveTCP {
		c.p.stats.ignored++
		return
	}
	if c.port != 0 && c.tcp.SrcPort != c.port && c.tcp.DstPort != c.port {
		return
	}
	c.p.stats.segments++
	// The reassembler keeps the context of a segment it buffers, so each
	// segment gets its own; they are carved from slabs to save allocations.
	if len(c.slab) == 0 {
		c.slab = make([]packetContext, 1024)
	}
	ctx := &c.slab[0]
	c.slab = c.slab[1:]
	*ctx = packetContext{ts: ts, frame: c.p.frame}
	c.asm.AssembleWithContext(netFlow, &c.tcp, ctx)
	if ts.After(c.latest) {
		c.latest = ts
	}
	if c.p.stats.open > c.maxOpen {
		c.shed()
	}
}

// shed closes the connections idle longest until at most three quarters of
// c.maxOpen are open: it halves the idle time that closes a connection until
// enough are closed, and in the end closes them all.
func (c *capture) shed() {
	for idle := c.p.opts.idle / 2; c.p.stats.open > c.maxOpen/4*3; idle /= 2 {
		cut := c.latest.Add(-idle)
		if idle <= 0 {
			cut = c.latest.Add(time.Nanosecond)
		}
		c.flushing(func() {
			c.asm.FlushWithOptions(reassembly.FlushOptions{T: c.latest.Add(-oooWait), TC: cut})
		})
		if idle <= 0 {
			return
		}
	}
}

// decodeLayers decodes the headers of a record, starting with layer first,
// into the capture's layer structs and c.decoded. Some of gopacket's link
// layers index past the end of a corrupt header; such a record is reported
// as not decodable instead of ending the run.
func (c *capture) decodeLayers(first gopacket.LayerType, data []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	c.decoded = c.decoded[:0]
	c.decoderFor(first)(data, &c.decoded)
	return true
}

// flush gives up on missing segments older than oooWait and closes
// connections idle for longer than -idle. It runs once a second of capture
// time.
func (c *capture) flush(now time.Time) {
	c.nextFlush = now.Add(time.Second)
	c.flushing(func() {
		c.asm.FlushWithOptions(reassembly.FlushOptions{T: now.Add(-oooWait), TC: now.Add(-c.p.opts.idle)})
	})
}

// flushing runs f, a reassembler flush, holding back the lines printed
// meanwhile and printing them afterwards in the order their connections
// were opened.
func (c *capture) flushing(f func()) {
	c.p.hold = &c.held
	f()
	c.p.hold = nil
	slices.SortStableFunc(c.held, func(a, b heldLine) int { return int(a.conn - b.conn) })
	for _, l := range c.held {
		c.p.out.Write(l.line)
	}
	c.held = c.held[:0]
}

// New implements reassembly.StreamFactory: it opens a connection and
// decides which side is the client, the one not on the selected port.
func (c *capture) New(netFlow, tcpFlow gopacket.Flow, tcp *layers.TCP, ac reassembly.AssemblerContext) reassembly.Stream {
	if len(tcp.Payload) == 0 && !tcp.SYN {
		// A stray ACK, FIN or RST, most likely of a connection that is
		// already closed: there is nothing to decode.
		return nil
	}
	srcIP, _ := netip.AddrFromSlice(netFlow.Src().Raw())
	dstIP, _ := netip.AddrFromSlice(netFlow.Dst().Raw())
	src := netip.AddrPortFrom(srcIP, uint16(tcp.SrcPort))
	dst := netip.AddrPortFrom(dstIP, uint16(tcp.DstPort))
	var fromClient bool
	switch {
	case c.port != 0:
		fromClient = tcp.DstPort == c.port
	case tcp.SYN:
		fromClient = !tcp.ACK
	default:
		fromClient = tcp.DstPort < tcp.SrcPort
	}
	client, server := src, dst
	if !fromClient {
		client, server = dst, src
	}
	cn := newConn(c.p, client, server)
	cn.firstFromClient = fromClient
	c.conns++
	cn.seq = c.conns
	st := c.p.stats
	st.connections++
	st.open++
	st.peakOpen = max(st.peakOpen, st.open)
	return cn
}

// half returns the half of the connection that the reassembler's direction
// dir names.
func (cn *conn) half(dir reassembly.TCPFlowDirection) *half {
	if (dir == reassembly.TCPDirClientToServer) == cn.firstFromClient {
		return &cn.halves[0]
	}
	return &cn.halves[1]
}

// Accept implements reassembly.Stream. A direction whose first segment is
// not a SYN began before the capture: its stream is started at that segment
// and its half looks for a packet boundary.
func (cn *conn) Accept(tcp *layers.TCP, ci gopacket.CaptureInfo, dir reassembly.TCPFlowDirection, nextSeq reassembly.Sequence, start *bool, ac reassembly.AssemblerContext) bool {
	if nextSeq == -1 && !tcp.SYN && !*start {
		*start = true
		cn.half(dir).syncing = true
	}
	return true
}

// ReassembledSG implements reassembly.Stream: it reports skipped bytes as a
// gap and feeds the bytes in order to the direction's half.
func (cn *conn) ReassembledSG(sg reassembly.ScatterGather, ac reassembly.AssemblerContext) {
	if pc, ok := ac.(*packetContext); ok {
		cn.p.now, cn.p.frame = pc.ts, pc.frame
	}
	dir, _, end, skip := sg.Info()
	h := cn.half(dir)
	switch {
	case skip > 0:
		h.gap(skip)
	case skip < 0 && h.base == 0 && len(h.buf) == 0:
		h.syncing = true // the stream's start is unknown
	}
	if n, _ := sg.Lengths(); n > 0 {
		h.feed(sg.Fetch(n))
	}
	if end {
		h.finish()
	}
}

// ReassemblyComplete implements reassembly.Stream.
func (cn *conn) ReassemblyComplete(ac reassembly.AssemblerContext) bool {
	cn.halves[0].finish()
	cn.halves[1].finish()
	cn.p.stats.open--
	return true
}
