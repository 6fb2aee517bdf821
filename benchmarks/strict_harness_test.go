package benchmarks

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang/packets"
	mochi "github.com/mochi-mqtt/server/v2/packets"
	"github.com/mqttwire/mqttwire"
)

// Design note: the strictness tests feed each codec its input the way a
// broker meets it, as a stream from a connection, through each codec's own
// streaming entry point: mqttwire.Reader, paho's ReadPacket, and for mochi
// the steps of its server's reading (clients.go ReadFixedHeader and
// ReadPacket: bufio.Reader, FixedHeader.Decode, DecodeLength, make the body,
// io.ReadFull, copy, then the type's Decode). After the input the connection
// either stays silent (stallReader), which shows whether a codec waits for
// bytes that never come, or ends (io.EOF).

// stallReader returns its data and then blocks until release is closed,
// like a peer that stops sending without closing; after release it reports
// io.EOF.
type stallReader struct {
	data    []byte
	release chan struct{}
}

func (r *stallReader) Read(p []byte) (int, error) {
	if len(r.data) > 0 {
		n := copy(p, r.data)
		r.data = r.data[n:]
		return n, nil
	}
	<-r.release
	return 0, io.EOF
}

// outcome is what one codec did with one input.
type outcome struct {
	verdict string // "rejected", "accepted", "blocks" or "panics"
	fields  Fields // the accepted packet
	err     error  // the rejection
	note    string // for an accepted packet: what the peer's own validation says
	alloc   uint64 // bytes allocated while reading
}

// reader reads one packet with one codec. run stores the packet; fields and
// note read it afterwards, so that mapping it allocates outside the
// measurement.
type reader struct {
	run    func() error
	fields func() Fields
	note   func() string
}

// newReader returns a reader for codec over src. maxSize > 0 applies the
// codec's packet size limit where it has one: mqttwire's Reader.MaxSize, and
// mochi's Capabilities.MaximumPacketSize as its server checks it.
func newReader(codec string, src io.Reader, maxSize int) *reader {
	switch codec {
	case "mqttwire":
		r := mqttwire.NewReader(src)
		r.MaxSize = maxSize
		var p mqttwire.Packet
		return &reader{
			run:    func() (err error) { p, err = r.ReadPacket(); return err },
			fields: func() Fields { return FromMqttwire(p) },
			note:   func() string { return "" },
		}
	case "paho":
		var cp paho.ControlPacket
		return &reader{
			run:    func() (err error) { cp, err = paho.ReadPacket(src); return err },
			fields: func() Fields { return FromPaho(cp) },
			note:   func() string { return pahoValidate(cp) },
		}
	case "mochi":
		br := bufio.NewReaderSize(src, 2048) // mochi's default ClientNetReadBufferSize
		pk := new(mochi.Packet)
		return &reader{
			run:    func() error { return mochiServerRead(br, pk, maxSize) },
			fields: func() Fields { return FromMochi(pk) },
			note:   func() string { return mochiValidate(pk) },
		}
	}
	panic("unknown codec " + codec)
}

// mochiServerRead reads one packet as mochi's server does (clients.go
// ReadFixedHeader and ReadPacket, v2.7.9), with a fresh packet value.
func mochiServerRead(br *bufio.Reader, pk *mochi.Packet, maxSize int) error {
	*pk = mochi.Packet{}
	b, err := br.ReadByte()
	if err != nil {
		return err
	}
	var fh mochi.FixedHeader
	if err := fh.Decode(b); err != nil {
		return err
	}
	fh.Remaining, _, err = mochi.DecodeLength(br)
	if err != nil {
		return err
	}
	if maxSize > 0 && fh.Remaining+1 > maxSize {
		return mochi.ErrPacketTooLarge // [MQTT-3.2.2-15], as in ReadFixedHeader
	}
	pk.ProtocolVersion = mochiVersion
	pk.FixedHeader = fh
	p := make([]byte, fh.Remaining)
	if _, err := io.ReadFull(br, p); err != nil {
		return err
	}
	px := append([]byte{}, p...)
	return mochiDecodeBody(pk, px)
}

// pahoValidate returns the verdict of paho's only validation method,
// ConnectPacket.Validate, or "" when it passes or does not apply.
func pahoValidate(cp paho.ControlPacket) string {
	if c, ok := cp.(*paho.ConnectPacket); ok {
		if code := c.Validate(); code != paho.Accepted {
			return fmt.Sprintf("ConnectPacket.Validate refuses: %s", paho.ConnackReturnCodes[code])
		}
	}
	return ""
}

// mochiValidate returns the verdict of the Validate method that mochi's
// server runs on a decoded packet of this type, or "" when it passes or
// there is none.
func mochiValidate(pk *mochi.Packet) string {
	var name string
	code := mochi.CodeSuccess
	switch pk.FixedHeader.Type {
	case mochi.Connect:
		name, code = "ConnectValidate", pk.ConnectValidate()
	case mochi.Publish:
		name, code = "PublishValidate", pk.PublishValidate(math.MaxUint16)
	case mochi.Subscribe:
		name, code = "SubscribeValidate", pk.SubscribeValidate()
	case mochi.Unsubscribe:
		name, code = "UnsubscribeValidate", pk.UnsubscribeValidate()
	}
	if code == mochi.CodeSuccess {
		return ""
	}
	return fmt.Sprintf("its server's %s refuses: %s", name, code.Reason)
}

// readOnce runs one codec on input followed by a silent connection (stall)
// or by the end of the stream. It measures the bytes allocated while the
// codec reads, with runtime.MemStats.TotalAlloc, and gives up after timeout:
// the codec then blocks, waiting for bytes that never come.
func readOnce(codec string, input []byte, stall bool, maxSize int, timeout time.Duration) outcome {
	src := &stallReader{data: input, release: make(chan struct{})}
	if !stall {
		close(src.release)
	}
	rd := newReader(codec, src, maxSize)
	var (
		err      error
		panicked any
	)
	start, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		defer func() { panicked = recover() }()
		<-start
		err = rd.run()
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	close(start)
	blocked := false
	select {
	case <-done:
	case <-timer.C:
		blocked = true
	}
	runtime.ReadMemStats(&after)
	o := outcome{alloc: after.TotalAlloc - before.TotalAlloc}
	if blocked {
		close(src.release)
		<-done
		o.verdict = "blocks"
		return o
	}
	switch {
	case panicked != nil:
		o.verdict, o.err = "panics", fmt.Errorf("panic: %v", panicked)
	case err != nil:
		o.verdict, o.err = "rejected", err
	default:
		o.verdict, o.fields, o.note = "accepted", rd.fields(), rd.note()
	}
	if stall {
		close(src.release)
	}
	return o
}

// mustHex decodes hex written with spaces between the bytes.
func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// typeNames are the packet type names, indexed by type.
var typeNames = [16]string{"type 0", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL",
	"PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"}

// summary describes a decoded packet in a few words, for a table cell.
func summary(f Fields) string {
	name := typeNames[f.Type&15]
	q := func(s string) string {
		if len(s) > 12 {
			s = s[:12] + "…"
		}
		return strings.ReplaceAll(fmt.Sprintf("%q", s), "|", `\|`)
	}
	switch f.Type {
	case typeConnect:
		s := fmt.Sprintf("%s %s level %d, client id %s", name, q(f.ProtocolName), f.ProtocolLevel, q(f.ClientID))
		if f.WillFlag || f.WillQoS != 0 || f.WillRetain {
			s += fmt.Sprintf(", will %v QoS %d retain %v topic %s", f.WillFlag, f.WillQoS, f.WillRetain, q(f.WillTopic))
		}
		if f.UsernameFlag || f.Username != "" {
			s += fmt.Sprintf(", user flag %v %s", f.UsernameFlag, q(f.Username))
		}
		if f.PasswordFlag || f.Password != "" {
			s += fmt.Sprintf(", password flag %v %s", f.PasswordFlag, q(f.Password))
		}
		return s
	case typeConnack:
		return fmt.Sprintf("%s session present %v, code %d", name, f.SessionPresent, f.ReturnCode)
	case typePublish:
		s := fmt.Sprintf("%s QoS %d", name, f.QoS)
		if f.Dup {
			s += " DUP"
		}
		s += " topic " + q(f.Topic)
		if f.QoS > 0 {
			s += fmt.Sprintf(" id %d", f.PacketID)
		}
		return s + fmt.Sprintf(", %d B payload", len(f.Payload))
	case typeSubscribe, typeUnsubscribe:
		var fs []string
		for _, x := range f.Filters {
			if f.Type == typeSubscribe {
				fs = append(fs, fmt.Sprintf("%s QoS %d", q(x.Topic), x.QoS))
			} else {
				fs = append(fs, q(x.Topic))
			}
		}
		if len(fs) == 0 {
			fs = append(fs, "no filters")
		}
		return fmt.Sprintf("%s id %d, %s", name, f.PacketID, strings.Join(fs, ", "))
	case typeSuback:
		return fmt.Sprintf("%s id %d, codes % x", name, f.PacketID, f.ReturnCodes)
	case typePuback, typePubrec, typePubrel, typePubcomp, typeUnsuback:
		return fmt.Sprintf("%s id %d", name, f.PacketID)
	}
	return name
}

// size formats a byte count for a table cell.
func size(n uint64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// writeTable writes a markdown file into results/ when WRITE_TABLES is set.
func writeTable(name, text string) error {
	if os.Getenv("WRITE_TABLES") == "" {
		return nil
	}
	if err := os.MkdirAll("results", 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join("results", name), []byte(text), 0o644)
}
