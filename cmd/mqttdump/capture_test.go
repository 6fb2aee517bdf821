package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/mqttwire/mqttwire"
	"github.com/mqttwire/mqttwire/cmd/mqttdump/internal/synth"
)

// dump runs mqttdump with args and returns its standard output and error.
func dump(t *testing.T, args ...string) (string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if status := run(args, strings.NewReader(""), &out, &errOut); status != 0 {
		t.Fatalf("mqttdump %s: exit status %d\n%s", strings.Join(args, " "), status, errOut.String())
	}
	return out.String(), errOut.String()
}

func readFrames(t *testing.T, path string) ([]synth.Frame, layers.LinkType) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	frames, link, err := synth.ReadFrames(f)
	if err != nil {
		t.Fatal(err)
	}
	return frames, link
}

func writeFrames(t *testing.T, path string, link layers.LinkType, frames []synth.Frame) {
	t.Helper()
	var b bytes.Buffer
	if err := synth.WriteFrames(&b, link, frames); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLinkTypes(t *testing.T) {
	src := filepath.Join(captureDir, "mosquitto-v311.pcapng")
	port := strconv.Itoa(capturePort)
	want, _ := dump(t, "-port", port, src)
	frames, link := readFrames(t, src)
	if link != layers.LinkTypeEthernet {
		t.Fatalf("%s: link type %s", src, link)
	}
	tmp := t.TempDir()
	for _, to := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeNull, layers.LinkTypeLoop,
		layers.LinkTypeRaw, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2} {
		t.Run(to.String(), func(t *testing.T) {
			moved, err := synth.Relink(frames, to)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(tmp, to.String()+".pcap")
			writeFrames(t, path, to, moved)
			got, _ := dump(t, "-port", port, path)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-pcapng over Ethernet +pcap over %s):\n%s", to, diff)
			}
		})
	}
	t.Run("gzip", func(t *testing.T) {
		raw, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(raw)
		zw.Close()
		path := filepath.Join(tmp, "capture.pcapng.gz")
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		got, _ := dump(t, "-port", port, path)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-plain +gzip):\n%s", diff)
		}
	})
}

// tcpSegment is a decoded TCP segment of an Ethernet frame, with what is
// needed to write it back.
type tcpSegment struct {
	eth layers.Ethernet
	ip4 *layers.IPv4
	ip6 *layers.IPv6
	tcp layers.TCP
}

func decodeSegment(t *testing.T, f synth.Frame) (*tcpSegment, bool) {
	t.Helper()
	p := gopacket.NewPacket(f.Data, layers.LinkTypeEthernet, gopacket.Default)
	s := &tcpSegment{}
	e, ok := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	tcp, ok2 := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok || !ok2 {
		return nil, false
	}
	s.eth, s.tcp = *e, *tcp
	s.ip4, _ = p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	s.ip6, _ = p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	return s, true
}

// encode writes the segment back with payload data starting at seq.
func (s *tcpSegment) encode(t *testing.T, seq uint32, data []byte) []byte {
	t.Helper()
	tcp := s.tcp
	tcp.Seq = seq
	var netLayer gopacket.SerializableLayer
	if s.ip4 != nil {
		ip := *s.ip4
		tcp.SetNetworkLayerForChecksum(&ip)
		netLayer = &ip
	} else {
		ip := *s.ip6
		tcp.SetNetworkLayerForChecksum(&ip)
		netLayer = &ip
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	eth := s.eth
	if err := gopacket.SerializeLayers(buf, opts, &eth, netLayer, &tcp, gopacket.Payload(data)); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// disorder returns frames with TCP data segments reordered, retransmitted
// and split into overlapping pieces, as a real network and a capture point
// upstream of the receiver produce them.
func disorder(t *testing.T, frames []synth.Frame) []synth.Frame {
	var out []synth.Frame
	for i := 0; i < len(frames); i++ {
		f := frames[i]
		s, ok := decodeSegment(t, f)
		if !ok || len(s.tcp.Payload) < 8 {
			out = append(out, f)
			continue
		}
		switch i % 7 {
		case 1:
			// Send the next frame first, when it is data of the same direction.
			if i+1 < len(frames) {
				if n, ok := decodeSegment(t, frames[i+1]); ok && len(n.tcp.Payload) > 0 &&
					n.tcp.SrcPort == s.tcp.SrcPort && n.tcp.DstPort == s.tcp.DstPort {
					next := frames[i+1]
					next.CI.Timestamp, f.CI.Timestamp = f.CI.Timestamp, next.CI.Timestamp
					out = append(out, next, f)
					i++
					continue
				}
			}
			out = append(out, f)
		case 3:
			// A retransmission of the same bytes.
			out = append(out, f, f)
		case 5:
			// Two pieces that overlap in the middle.
			p := s.tcp.Payload
			half := len(p) / 2
			a := synth.Frame{CI: f.CI, Data: s.encode(t, s.tcp.Seq, p[:half+half/2])}
			b := synth.Frame{CI: f.CI, Data: s.encode(t, s.tcp.Seq+uint32(half), p[half:])}
			out = append(out, a, b)
		default:
			out = append(out, f)
		}
	}
	return out
}

// streamLines returns each connection direction's events, without times
// and record numbers, keyed by client address and direction.
func streamLines(t *testing.T, path string, port int) (map[string][]string, *stats) {
	lines := map[string][]string{}
	st := decodeEvents(t, path, options{port: port}, func(e *event) {
		key := e.conn.client.String()
		if e.fromClient {
			key += " c→s"
		} else {
			key += " s→c"
		}
		p := e.conn.p
		line := string(p.appendText(nil, e))
		// Drop time, record number and addresses: the first six fields.
		line = strings.Join(strings.Fields(line)[6:], " ")
		lines[key] = append(lines[key], line)
	})
	return lines, st
}

func TestReassemblyDisorder(t *testing.T) {
	tmp := t.TempDir()
	var b bytes.Buffer
	if _, err := synth.Generate(&b, synth.Options{Size: 1 << 20, Conns: 16, Seed: 3, IPv6: 0.3}); err != nil {
		t.Fatal(err)
	}
	inOrder := filepath.Join(tmp, "in-order.pcap")
	if err := os.WriteFile(inOrder, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	frames, _ := readFrames(t, inOrder)
	mixed := disorder(t, frames)
	if len(mixed) <= len(frames) {
		t.Fatalf("disorder changed nothing")
	}
	disordered := filepath.Join(tmp, "disordered.pcap")
	writeFrames(t, disordered, layers.LinkTypeEthernet, mixed)

	want, _ := streamLines(t, inOrder, 1883)
	got, st := streamLines(t, disordered, 1883)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-in order +disordered):\n%s", diff)
	}
	if st.malformed+st.gaps+st.resyncs+st.incomplete != 0 {
		t.Errorf("malformed %d, gaps %d, resyncs %d, incomplete %d; want none", st.malformed, st.gaps, st.resyncs, st.incomplete)
	}
}

func TestGeneratedCapture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gen.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := synth.Generate(f, synth.Options{Size: 2 << 20, Conns: 50, Seed: 11, IPv6: 0.2,
		Reorder: 0.1, Duplicate: 0.05, Overlap: 0.05})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	st := decodeEvents(t, path, options{port: 1883}, func(*event) {})
	if diff := cmp.Diff(sum.Packets, st.packets); diff != "" {
		t.Errorf("packets by type (-written +decoded):\n%s", diff)
	}
	if st.connections != sum.Sessions || st.frames != sum.Frames {
		t.Errorf("%d connections in %d records, want %d in %d", st.connections, st.frames, sum.Sessions, sum.Frames)
	}
	if st.malformed+st.gaps+st.resyncs+st.incomplete != 0 {
		t.Errorf("malformed %d, gaps %d, resyncs %d, incomplete %d; want none", st.malformed, st.gaps, st.resyncs, st.incomplete)
	}
}

func TestIdleConnectionsClosed(t *testing.T) {
	// Sessions whose FIN never comes are closed once idle, so the number of
	// connections held stays bounded; their packets are all decoded.
	var b bytes.Buffer
	sum, err := synth.Generate(&b, synth.Options{Size: 1 << 20, Conns: 8, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	frames, _, err := synth.ReadFrames(&b)
	if err != nil {
		t.Fatal(err)
	}
	start := frames[0].CI.Timestamp
	var kept []synth.Frame
	for _, f := range frames {
		s, ok := decodeSegment(t, f)
		if ok && (s.tcp.FIN || len(s.tcp.Payload) == 0 && !s.tcp.SYN) {
			continue // no FINs, no bare ACKs
		}
		// Stretch time a thousandfold: the sessions now last minutes.
		f.CI.Timestamp = start.Add(f.CI.Timestamp.Sub(start) * 1000)
		kept = append(kept, f)
	}
	path := filepath.Join(t.TempDir(), "no-fin.pcap")
	writeFrames(t, path, layers.LinkTypeEthernet, kept)
	st := decodeEvents(t, path, options{port: 1883, idle: 5 * time.Second}, func(*event) {})
	if diff := cmp.Diff(sum.Packets, st.packets); diff != "" {
		t.Errorf("packets by type (-written +decoded):\n%s", diff)
	}
	if st.peakOpen >= st.connections/2 {
		t.Errorf("%d connections open at once out of %d: idle ones were not closed", st.peakOpen, st.connections)
	}
	if st.incomplete != 0 || st.open != 0 {
		t.Errorf("incomplete %d, open at the end %d", st.incomplete, st.open)
	}
}

func TestTruncatedFile(t *testing.T) {
	src := filepath.Join(captureDir, "mosquitto-v31.pcap")
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(path, raw[:len(raw)-30], 0o644); err != nil {
		t.Fatal(err)
	}
	full, _ := dump(t, "-port", strconv.Itoa(capturePort), src)
	got, warnings := dump(t, "-port", strconv.Itoa(capturePort), path)
	if !strings.Contains(warnings, "ends inside a record") {
		t.Errorf("no warning about the cut: %q", warnings)
	}
	if got == "" || !strings.HasPrefix(full, got) {
		t.Errorf("output of the cut file is not a prefix of the whole file's:\n%s", got)
	}
}

// rowsOf returns the golden rows of a capture, split into columns.
func rowsOf(t *testing.T, name string) [][]string {
	var rows [][]string
	for _, l := range readGolden(t, filepath.Join(captureDir, strings.TrimSuffix(name, filepath.Ext(name))+".tshark.txt")) {
		rows = append(rows, strings.Split(l, "\t"))
	}
	return rows
}

// publisher returns the client port of the connection whose CONNECT named id.
func clientPort(t *testing.T, path, id string) int {
	port := 0
	decodeEvents(t, path, options{port: capturePort}, func(e *event) {
		if c, ok := e.packet.(*mqttwire.Connect); ok && string(c.ClientID) == id {
			port = int(e.conn.client.Port())
		}
	})
	if port == 0 {
		t.Fatalf("%s: no CONNECT from %s", path, id)
	}
	return port
}

func TestMidstream(t *testing.T) {
	// The capture starts inside a 40,000-byte PUBLISH: the publisher's
	// connection has lost its CONNECT and the start of the PUBLISH.
	path := filepath.Join(captureDir, "midstream.pcapng")
	lines, st := streamLines(t, path, capturePort)
	var pubKey string
	for k, ls := range lines {
		if strings.HasSuffix(k, "c→s") && strings.HasPrefix(ls[0], "RESYNC") {
			pubKey = k
		}
	}
	if pubKey == "" {
		t.Fatalf("no resynchronised client stream: %v", lines)
	}
	if got := lines[pubKey]; len(got) != 2 || got[1] != "DISCONNECT" {
		t.Errorf("publisher: %q, want RESYNC then DISCONNECT", got)
	}
	if st.packets[mqttwire.TypePublish] != 1 || st.malformed != 0 {
		t.Errorf("%d PUBLISH, %d malformed: want the subscriber's PUBLISH whole and nothing refused",
			st.packets[mqttwire.TypePublish], st.malformed)
	}
	// tshark is wrong here: it dissects the base64 text of the payload as
	// a stream of MQTT packets, one frame after another.
	pubPort := strings.TrimSuffix(strings.Split(pubKey, ":")[1], " c→s")
	bogus := 0
	for _, r := range rowsOf(t, "midstream.pcapng") {
		if r[1] == pubPort && r[3] != "14" {
			bogus += len(strings.Split(r[3], ","))
		}
	}
	if bogus < 100 {
		t.Errorf("tshark shows %d packets in the publisher's payload; the golden file says it was fooled", bogus)
	}
	t.Logf("tshark dissects %d bogus packets out of the publisher's payload; mqttdump skips it", bogus)
	// Everything else agrees.
	compareExcept(t, "midstream.pcapng", pubPort)
}

// compareExcept compares mqttdump's rows of a capture with tshark's golden
// rows, leaving out the rows sent from port skip, where they disagree.
func compareExcept(t *testing.T, name, skip string) {
	t.Helper()
	var got, want []string
	for _, r := range mqttdumpRows(t, filepath.Join(captureDir, name)) {
		if r.cols[1][0] != skip {
			got = append(got, r.line())
		}
	}
	for _, r := range rowsOf(t, name) {
		if r[1] != skip {
			want = append(want, strings.Join(r, "\t"))
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("other rows (-tshark +mqttdump):\n%s", diff)
	}
}

func TestGapInLargePublish(t *testing.T) {
	// One segment in the middle of the 40,000-byte PUBLISH is missing.
	path := filepath.Join(captureDir, "gap.pcapng")
	pub := clientPort(t, path, "big-pub")
	lines, st := streamLines(t, path, capturePort)
	key := fmt.Sprintf("127.0.0.1:%d c→s", pub)
	want := []string{
		`CONNECT level=4 client="big-pub" clean=1 keepalive=60`,
		"GAP missing=1448 lost=PUBLISH size=40016",
		"DISCONNECT",
	}
	if diff := cmp.Diff(want, lines[key]); diff != "" {
		t.Errorf("publisher (-want +got):\n%s", diff)
	}
	if st.gaps != 1 || st.resyncs != 0 || st.malformed != 0 {
		t.Errorf("gaps %d, resyncs %d, malformed %d: want one gap stepped over exactly", st.gaps, st.resyncs, st.malformed)
	}
	// tshark is wrong here: it waits for the missing segment for ever and
	// never shows the publisher's DISCONNECT.
	for _, r := range rowsOf(t, "gap.pcapng") {
		if r[1] == strconv.Itoa(pub) && strings.Contains(r[3], "14") {
			t.Errorf("tshark now finds the DISCONNECT after the gap: %q", r)
		}
	}
	compareExcept(t, "gap.pcapng", strconv.Itoa(pub))
}

func TestSplitHeader(t *testing.T) {
	// split-header.pcap comes from the generator, with segments that end
	// inside a fixed header's remaining length (make-captures.sh has the
	// options). Regenerating it must give the same bytes.
	path := filepath.Join(captureDir, "split-header.pcap")
	var b bytes.Buffer
	sum, err := synth.Generate(&b, synth.Options{Size: 20000, Conns: 2, Seed: 1, Port: capturePort, SplitHeader: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, b.Bytes()) {
		t.Fatalf("%s is not what the generator makes now: run testdata/make-captures.sh", path)
	}
	st := decodeEvents(t, path, options{port: capturePort}, func(*event) {})
	if diff := cmp.Diff(sum.Packets, st.packets); diff != "" {
		t.Errorf("packets by type (-written +decoded):\n%s", diff)
	}
	if st.malformed+st.gaps+st.resyncs+st.incomplete != 0 {
		t.Errorf("malformed %d, gaps %d, resyncs %d, incomplete %d; want none", st.malformed, st.gaps, st.resyncs, st.incomplete)
	}
	// tshark is wrong here: when a segment ends inside the remaining
	// length it reports a malformed packet instead of waiting for the next
	// segment, then dissects what follows from the wrong offset, finding
	// packets of the reserved type 0 and missing real ones.
	var written, seen, reserved int64
	for _, n := range sum.Packets {
		written += n
	}
	for _, r := range rowsOf(t, "split-header.pcap") {
		for _, typ := range strings.Split(r[3], ",") {
			seen++
			if typ == "0" {
				reserved++
			}
		}
	}
	if reserved == 0 || seen >= written {
		t.Errorf("tshark shows %d packets (%d of type 0) of the %d written; the golden file says it went wrong", seen, reserved, written)
	}
	t.Logf("tshark finds %d of %d packets, %d of them of the reserved type 0; mqttdump finds all", seen, written, reserved)
}

// pcapngBlock returns a pcapng block of type typ around body, in the byte
// order o.
func pcapngBlock(o binary.AppendByteOrder, typ uint32, body []byte) []byte {
	n := uint32(12 + len(body))
	b := o.AppendUint32(nil, typ)
	b = o.AppendUint32(b, n)
	b = append(b, body...)
	return o.AppendUint32(b, n)
}

// pcapngHead returns a section header and an Ethernet interface in the
// byte order o.
func pcapngHead(o binary.AppendByteOrder) []byte {
	shb := o.AppendUint32(nil, 0x1A2B3C4D)
	shb = append(o.AppendUint16(o.AppendUint16(shb, 1), 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	idb := o.AppendUint32(o.AppendUint16(o.AppendUint16(nil, 1), 0), 0)
	return append(pcapngBlock(o, 0x0A0D0D0A, shb), pcapngBlock(o, 1, idb)...)
}

// pcapngPacket returns an enhanced packet block whose captured length field
// says captured and which holds data.
func pcapngPacket(o binary.AppendByteOrder, captured uint32, data []byte) []byte {
	body := o.AppendUint32(nil, 0)                    // interface
	body = o.AppendUint32(o.AppendUint32(body, 0), 0) // timestamp
	body = o.AppendUint32(o.AppendUint32(body, captured), captured)
	body = append(body, data...)
	return pcapngBlock(o, 6, append(body, make([]byte, (4-len(data)%4)%4)...))
}

func TestHostileRecordLengths(t *testing.T) {
	// pcapgo allocates what a record's length says before reading it: a
	// record of 1 GiB in a small file must be refused from its header, and
	// the records before it decoded.
	port := strconv.Itoa(capturePort)
	ngPath := filepath.Join(captureDir, "mosquitto-v311.pcapng")
	ng, err := os.ReadFile(ngPath)
	if err != nil {
		t.Fatal(err)
	}
	ngWant, _ := dump(t, "-port", port, ngPath)
	pcapPath := filepath.Join(captureDir, "mosquitto-v31.pcap")
	pcap, err := os.ReadFile(pcapPath)
	if err != nil {
		t.Fatal(err)
	}
	pcapWant, _ := dump(t, "-port", port, pcapPath)
	// A pcap file whose header allows records of 4 GiB, and one of 1 GiB.
	bigSnap := slices.Clone(pcap)
	binary.LittleEndian.PutUint32(bigSnap[16:], 0xffffffff)
	bigSnap = binary.LittleEndian.AppendUint32(bigSnap, 0)
	bigSnap = binary.LittleEndian.AppendUint32(bigSnap, 0)
	bigSnap = binary.LittleEndian.AppendUint32(bigSnap, 1<<30)
	bigSnap = binary.LittleEndian.AppendUint32(bigSnap, 1<<30)
	le, be := binary.LittleEndian, binary.BigEndian
	frame := make([]byte, 60) // an Ethernet frame of no interest
	for _, tc := range []struct {
		name    string
		file    []byte
		want    string
		status  int
		message string
	}{
		{"pcap", bigSnap, pcapWant, 1, "1073741824 > 262144"},
		{"pcapng", append(slices.Clone(ng), pcapngPacket(le, 1<<30, frame)...), ngWant, 1, "pcapng record of 1073741824 bytes"},
		{"pcapng-past-block", append(slices.Clone(ng), pcapngPacket(le, 1000, frame)...), ngWant, 1, "pcapng record of 1000 bytes in a block of 92"},
		{"pcapng-simple", append(slices.Clone(ng), pcapngBlock(le, 3, le.AppendUint32(nil, 1<<30))...), ngWant, 1, "pcapng record of 1073741824 bytes"},
		{"pcapng-block", append(slices.Clone(ng), pcapngBlock(le, 10, make([]byte, 20<<20))...), ngWant, 1, "pcapng block of 20971532 bytes"},
		{"pcapng-big-endian", append(pcapngHead(be), pcapngPacket(be, 60, frame)...), "", 0, ""},
		{"pcapng-big-endian-bad", append(pcapngHead(be), pcapngPacket(be, 1<<30, frame)...), "", 1, "pcapng record of 1073741824 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "capture")
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			status := run([]string{"-port", port, path}, strings.NewReader(""), &out, &errOut)
			runtime.ReadMemStats(&after)
			if status != tc.status || !strings.Contains(errOut.String(), tc.message) {
				t.Errorf("exit status %d, want %d; standard error %q, want it to contain %q", status, tc.status, errOut.String(), tc.message)
			}
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
				t.Errorf("allocated %d MiB", n>>20)
			}
		})
	}
}

func TestOpenConnectionsBounded(t *testing.T) {
	// A capture of many connections that each send one byte and stay open
	// must not hold them all: past maxOpen the ones idle longest are
	// closed, and each is reported as any closed connection is.
	frames, _ := readFrames(t, filepath.Join(captureDir, "mosquitto-v311.pcapng"))
	var s *tcpSegment
	for _, f := range frames {
		if seg, ok := decodeSegment(t, f); ok && seg.tcp.DstPort == capturePort && len(seg.tcp.Payload) > 0 {
			s = seg
			break
		}
	}
	if s == nil {
		t.Fatal("no data segment to the server")
	}
	const conns, maxOpen = 1000, 100
	start := frames[0].CI.Timestamp
	var many []synth.Frame
	for i := range conns {
		s.tcp.SrcPort = layers.TCPPort(20000 + i)
		ts := start.Add(time.Duration(i) * time.Millisecond)
		data := s.encode(t, 1, []byte{0x10}) // the first byte of a CONNECT
		many = append(many, synth.Frame{CI: gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}, Data: data})
	}
	path := filepath.Join(t.TempDir(), "many.pcap")
	writeFrames(t, path, layers.LinkTypeEthernet, many)
	// The capture started before these connections, so each is reported
	// at its close as a byte in which no packet boundary was found.
	ended := 0
	st := decodeEvents(t, path, options{port: capturePort, maxOpen: maxOpen}, func(e *event) {
		if e.kind == eventResync && e.count == 1 {
			ended++
		}
	})
	if st.peakOpen > maxOpen+1 || st.connections != conns || ended != conns {
		t.Errorf("%d connections, at most %d open at once (want at most %d), %d reported at their close (want %d)",
			st.connections, st.peakOpen, maxOpen+1, ended, conns)
	}
}
