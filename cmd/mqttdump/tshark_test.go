package main

import (
	"bufio"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mqttwire/mqttwire"
)

// The checked-in captures live at the repository root, with tshark's
// dissection of each beside it (NAME.tshark.txt), made by
// testdata/make-captures.sh with a fixed field list. These tests render
// mqttdump's own decoding of each capture in tshark's format, frame by
// frame, and compare: the same frames, carrying the same packets in the same
// order, with the same types and key fields. They do not run tshark.

const captureDir = "../../testdata/captures"

// goldenTshark is the version of tshark that made the golden files; other
// versions dissect some fields differently.
const goldenTshark = "4.0.17"

// capturePort is the broker port the captures were made with.
const capturePort = 18830

// tsharkFields are the columns of the golden files, in order.
var tsharkFields = []string{
	"frame.number", "tcp.srcport", "tcp.dstport",
	"mqtt.msgtype", "mqtt.len", "mqtt.dupflag", "mqtt.qos", "mqtt.retain",
	"mqtt.protoname", "mqtt.ver", "mqtt.clientid", "mqtt.conflag.cleansess", "mqtt.kalive",
	"mqtt.conflag.willflag", "mqtt.conflag.qos", "mqtt.conflag.retain", "mqtt.willtopic", "mqtt.willmsg",
	"mqtt.conflag.uname", "mqtt.username", "mqtt.conflag.passwd",
	"mqtt.conack.flags.sp", "mqtt.conack.val",
	"mqtt.topic", "mqtt.msgid", "mqtt.sub.qos", "mqtt.suback.qos", "mqtt.msg",
}

// headerColumns are the columns compared for a frame that holds a packet
// mqttwire refuses: tshark dissects such packets anyway, so only the frame,
// ports, types and lengths can agree.
const headerColumns = 5

// goldenCase is one checked-in capture compared with tshark.
type goldenCase struct {
	name string
	// lenient lists the frames where tshark accepts a packet that breaks
	// the specification, and why; mqttdump reports those packets as
	// malformed, and only their header columns are compared.
	lenient map[int64]string
}

var goldenCases = []goldenCase{
	{name: "mosquitto-v311.pcapng"},
	{name: "mosquitto-v31.pcap"},
	{name: "mqttjs.pcapng"},
	{name: "large-publish.pcapng"},
	{name: "ipv6-sll.pcap"},
	{name: "rawip.pcap"},
	{name: "null.pcap"},
	{name: "malformed.pcapng", lenient: map[int64]string{
		4:  "tshark is lenient: it dissects a CONNECT whose reserved flag bit 0 is set [MQTT-3.1.2-3] as a normal CONNECT",
		17: "tshark is lenient: it shows a PUBLISH with QoS 3 [MQTT-3.3.1-4] and reads a packet identifier from it",
	}},
}

// tsharkRow accumulates the fields of the MQTT packets of one frame the way
// tshark -T fields -E aggregator=, prints them: one column per field, the
// values of all packets in the frame joined by commas.
type tsharkRow struct {
	frame     int64
	cols      [][]string
	malformed bool
}

func newRow(e *event) *tsharkRow {
	r := &tsharkRow{frame: e.frame, cols: make([][]string, len(tsharkFields))}
	src, dst := e.conn.client.Port(), e.conn.server.Port()
	if !e.fromClient {
		src, dst = dst, src
	}
	r.cols[0] = []string{strconv.FormatInt(e.frame, 10)}
	r.cols[1] = []string{strconv.Itoa(int(src))}
	r.cols[2] = []string{strconv.Itoa(int(dst))}
	return r
}

func (r *tsharkRow) add(col int, v string) { r.cols[col] = append(r.cols[col], v) }

func bit(v bool) string {
	if v {
		return "1"
	}
	return "0"
}

func itoa[T ~uint8 | ~uint16 | int](v T) string { return strconv.Itoa(int(v)) }

// tsharkHex renders bytes as tshark renders an FT_BYTES field, cut the way
// make-captures.sh cuts long payloads in the golden files.
func tsharkHex(b []byte) string {
	if len(b) == 0 {
		return "<MISSING>"
	}
	s := hex.EncodeToString(b)
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return s
}

// addEvent adds one decoded or refused packet to the row.
func (r *tsharkRow) addEvent(e *event) {
	t := mqttwire.Type(e.header >> 4)
	r.add(3, itoa(uint8(t)))
	r.add(4, itoa(e.remaining))
	if e.kind == eventMalformed {
		r.malformed = true
		return
	}
	flags := e.header & 0xf
	if t == mqttwire.TypePublish ||
		e.version == mqttwire.V31 && (t == mqttwire.TypePubrel || t == mqttwire.TypeSubscribe || t == mqttwire.TypeUnsubscribe) {
		// tshark shows the DUP and QoS bits of PUBLISH, and in a 3.1
		// session of the three packets that 3.1 sends with QoS 1.
		r.add(5, bit(flags&8 != 0))
		r.add(6, itoa(flags>>1&3))
		if t == mqttwire.TypePublish {
			r.add(7, bit(flags&1 != 0))
		}
	}
	switch p := e.packet.(type) {
	case *mqttwire.Connect:
		if p.Version == mqttwire.V31 {
			r.add(8, "MQIsdp")
		} else {
			r.add(8, "MQTT")
		}
		r.add(9, itoa(uint8(p.Version)))
		r.add(10, string(p.ClientID))
		r.add(11, bit(p.CleanSession))
		r.add(12, itoa(p.KeepAlive))
		r.add(13, bit(p.WillFlag))
		r.add(14, itoa(uint8(p.WillQoS)))
		r.add(15, bit(p.WillRetain))
		if p.WillFlag {
			r.add(16, string(p.WillTopic))
			r.add(17, tsharkHex(p.WillMessage))
		}
		r.add(18, bit(p.UsernameFlag))
		if p.UsernameFlag {
			r.add(19, string(p.Username))
		}
		r.add(20, bit(p.PasswordFlag))
	case *mqttwire.Connack:
		if e.version != mqttwire.V31 {
			r.add(21, bit(p.SessionPresent)) // 3.1 has no acknowledge flags
		}
		r.add(22, itoa(uint8(p.ReturnCode)))
	case *mqttwire.Publish:
		r.add(23, string(p.Topic))
		if p.QoS > 0 {
			r.add(24, itoa(p.PacketID))
		}
		r.add(27, tsharkHex(p.Payload))
	case *mqttwire.Puback:
		r.add(24, itoa(p.PacketID))
	case *mqttwire.Pubrec:
		r.add(24, itoa(p.PacketID))
	case *mqttwire.Pubrel:
		r.add(24, itoa(p.PacketID))
	case *mqttwire.Pubcomp:
		r.add(24, itoa(p.PacketID))
	case *mqttwire.Unsuback:
		r.add(24, itoa(p.PacketID))
	case *mqttwire.Subscribe:
		r.add(24, itoa(p.PacketID))
		for _, f := range p.Filters {
			r.add(23, string(f.Topic))
			r.add(25, itoa(uint8(f.QoS)))
		}
	case *mqttwire.Suback:
		r.add(24, itoa(p.PacketID))
		for _, c := range p.ReturnCodes {
			r.add(26, itoa(c))
		}
	case *mqttwire.Unsubscribe:
		r.add(24, itoa(p.PacketID))
		for _, t := range p.Topics {
			r.add(23, string(t))
		}
	}
}

// line renders the row as a line of the golden file.
func (r *tsharkRow) line() string {
	cols := make([]string, len(r.cols))
	for i, vs := range r.cols {
		cols[i] = strings.Join(vs, ",")
	}
	return strings.Join(cols, "\t")
}

// decodeEvents runs mqttdump over a capture and calls f with every event.
func decodeEvents(t *testing.T, path string, o options, f func(*event)) *stats {
	t.Helper()
	if o.maxPacket == 0 {
		o.maxPacket = 1 << 20
	}
	if o.idle == 0 {
		o.idle = defaultIdle
	}
	st := &stats{}
	p := &pipeline{opts: &o, out: bufio.NewWriter(io.Discard), stats: st, tap: f}
	if err := runFile(p, path, io.Discard); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return st
}

// mqttdumpRows returns mqttdump's decoding of a capture as tshark rows.
func mqttdumpRows(t *testing.T, path string) []*tsharkRow {
	var rows []*tsharkRow
	decodeEvents(t, path, options{port: capturePort}, func(e *event) {
		if e.kind != eventPacket && e.kind != eventMalformed {
			return
		}
		if len(rows) == 0 || rows[len(rows)-1].frame != e.frame {
			rows = append(rows, newRow(e))
		}
		rows[len(rows)-1].addEvent(e)
	})
	return rows
}

// readGolden returns the lines of a golden file after its header, which
// must name tsharkFields.
func readGolden(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if got, want := lines[0], strings.Join(tsharkFields, "\t"); got != want {
		t.Fatalf("%s: header\n got %s\nwant %s", path, got, want)
	}
	return lines[1:]
}

func TestMatchesTshark(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(captureDir, c.name)
			golden := readGolden(t, strings.TrimSuffix(path, filepath.Ext(path))+".tshark.txt")
			rows := mqttdumpRows(t, path)
			var got, want []string
			for i, r := range rows {
				line := r.line()
				if r.malformed {
					if _, ok := c.lenient[r.frame]; !ok {
						t.Errorf("frame %d: mqttdump refuses a packet that is not in the lenient list: %s", r.frame, line)
					}
					line = strings.Join(strings.Split(line, "\t")[:headerColumns], "\t")
					if i < len(golden) {
						golden[i] = strings.Join(strings.Split(golden[i], "\t")[:headerColumns], "\t")
					}
				}
				got = append(got, line)
			}
			want = golden
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("mqttdump differs from tshark (-tshark +mqttdump):\n%s", diff)
			}
			for frame := range c.lenient {
				found := false
				for _, r := range rows {
					found = found || r.frame == frame && r.malformed
				}
				if !found {
					t.Errorf("frame %d is in the lenient list but mqttdump accepts it", frame)
				}
			}
		})
	}
}

// TestTsharkLive re-runs tshark on checked-in captures, when it is
// installed, and checks that the golden files are still what it prints. Each
// run of tshark takes seconds, so it checks one capture unless
// MQTTDUMP_TSHARK=all asks for every one.
func TestTsharkLive(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed")
	}
	version, err := exec.Command("tshark", "--version").Output()
	if err != nil {
		t.Skipf("tshark --version: %v", err)
	}
	if !strings.Contains(strings.SplitN(string(version), "\n", 2)[0], goldenTshark) {
		t.Skipf("the golden files were made with TShark %s, this is %s", goldenTshark, strings.SplitN(string(version), "\n", 2)[0])
	}
	cases := []goldenCase{{name: "malformed.pcapng"}}
	if os.Getenv("MQTTDUMP_TSHARK") == "all" {
		cases = append(goldenCases, goldenCase{name: "midstream.pcapng"}, goldenCase{name: "gap.pcapng"})
	}
	tmp := t.TempDir()
	for _, c := range cases {
		src := filepath.Join(captureDir, c.name)
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, c.name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("bash", "testdata/make-captures.sh")
	cmd.Env = append(os.Environ(), "GOLDEN_ONLY="+tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make-captures.sh: %v\n%s", err, out)
	}
	for _, c := range cases {
		name := strings.TrimSuffix(c.name, filepath.Ext(c.name)) + ".tshark.txt"
		got, err := os.ReadFile(filepath.Join(tmp, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(captureDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s: this tshark dissects differently from the golden file (-golden +tshark):\n%s", name, diff)
		}
	}
}
