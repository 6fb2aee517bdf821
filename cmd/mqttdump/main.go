// Command mqttdump decodes MQTT 3.1 and 3.1.1 traffic from pcap and pcapng
// captures, or from a plain byte stream, with the mqttwire codec.
//
// Usage:
//
//	mqttdump [flags] CAPTURE...
//	mqttdump [flags] -raw FILE|-
//
// It prints one line per MQTT packet: time, capture record number, the
// connection (client → server), the direction, the packet type and its key
// fields; -json prints one JSON object per packet instead. See README.md
// beside this file.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/mqttwire/mqttwire"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// defaultIdle is the default of -idle: longer than common keep-alive intervals.
const defaultIdle = 10 * time.Minute

const usage = `usage: mqttdump [flags] CAPTURE...
       mqttdump [flags] -raw FILE|-

Decodes the MQTT 3.1 and 3.1.1 packets in pcap or pcapng captures (Ethernet,
Linux cooked v1 and v2, BSD loopback or raw IP; IPv4 and IPv6), one line per
packet, or in a plain byte stream of MQTT packets with -raw.

Flags:
`

// run is the whole command; it returns the exit status: 0 on success, 1 when
// an input could not be read to its end, 2 for bad usage.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mqttdump", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var o options
	fs.BoolVar(&o.json, "json", false, "print one JSON object per line and packet")
	fs.BoolVar(&o.showSecrets, "show-secrets", false, "print CONNECT passwords instead of ***")
	fs.BoolVar(&o.stats, "stats", false, "print packets per type, bytes, malformed packets and gaps on standard error at the end")
	fs.IntVar(&o.port, "port", 1883, "the server's TCP `port`; 0 takes every TCP connection")
	types := fs.String("type", "", "print only these packet types (comma-separated: PUBLISH,SUBSCRIBE …, or GAP, RESYNC, INCOMPLETE, MALFORMED)")
	topic := fs.String("topic", "", "print only packets whose topic the MQTT topic `filter` matches (PUBLISH, CONNECT wills), and SUBSCRIBE/UNSUBSCRIBE naming it")
	client := fs.String("client", "", "print only the packets of connections whose CONNECT carried this client `id`")
	raw := fs.String("raw", "", "decode a plain byte stream of MQTT packets from `FILE` (- for standard input)")
	fs.IntVar(&o.maxPacket, "max-packet", 1<<20, "largest packet, in `bytes`, kept whole across TCP segments; a larger PUBLISH keeps its first 64 KiB")
	fs.DurationVar(&o.idle, "idle", defaultIdle, "close connections idle this long in capture time")
	fs.IntVar(&o.preview, "preview", 32, "payload `bytes` shown in text output")
	fs.BoolVar(&o.progress, "progress", true, "show progress on standard error when it is a terminal")

	// Flags may follow the capture files too.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "client":
			o.client = []byte(*client)
		case "topic":
			o.topic = []byte(*topic)
		}
	})
	if *types != "" {
		o.typesSet = true
		if err := parseTypes(*types, &o.types); err != nil {
			fmt.Fprintln(stderr, "mqttdump: -type:", err)
			return 2
		}
	}
	if o.topic != nil {
		if err := mqttwire.ValidateTopicFilter(o.topic); err != nil {
			fmt.Fprintln(stderr, "mqttdump: -topic:", err)
			return 2
		}
	}
	if o.port < 0 || o.port > 65535 {
		fmt.Fprintln(stderr, "mqttdump: -port must be 0 to 65535")
		return 2
	}
	if o.maxPacket < bigPrefix {
		o.maxPacket = bigPrefix
	}
	if (*raw == "") == (len(files) == 0) {
		fs.Usage()
		return 2
	}

	out := bufio.NewWriterSize(stdout, 256<<10)
	st := &stats{}
	p := &pipeline{opts: &o, out: out, stats: st, raw: *raw != ""}
	status := 0
	if *raw != "" {
		if err := runRaw(p, *raw, stdin); err != nil {
			fmt.Fprintln(stderr, "mqttdump:", err)
			status = 1
		}
	} else {
		for _, name := range files {
			if err := runFile(p, name, stderr); err != nil {
				fmt.Fprintf(stderr, "mqttdump: %s: %v\n", name, err)
				status = 1
			}
		}
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(stderr, "mqttdump:", err)
		status = 1
	}
	if o.stats {
		st.write(stderr, p.raw)
	}
	return status
}

// runFile decodes one capture file. A file cut short inside a record is
// decoded up to the cut, with a warning.
func runFile(p *pipeline, name string, stderr io.Writer) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	counter := &countingReader{r: f}
	src, linkType, err := openCapture(counter)
	if err != nil {
		return err
	}
	var progress func()
	if p.opts.progress && isTerminal(stderr) {
		progress = newProgress(p, counter, f, stderr)
		defer fmt.Fprint(stderr, "\r\x1b[K")
	}
	p.frame = 0
	c := newCapture(p, stderr)
	err = c.run(src, linkType, progress)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		fmt.Fprintf(stderr, "mqttdump: %s: the file ends inside a record; decoded up to there\n", name)
		return nil
	}
	return err
}

// runRaw decodes a plain byte stream of MQTT packets, as one direction of
// one connection.
func runRaw(p *pipeline, name string, stdin io.Reader) error {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	c := newConn(p, netip.AddrPort{}, netip.AddrPort{})
	h := &c.halves[0]
	buf := make([]byte, 256<<10)
	for {
		n, err := r.Read(buf)
		h.feed(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			h.finish()
			return err
		}
	}
	h.finish()
	return nil
}

// countingReader counts the bytes read through it, for the progress line.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// newProgress returns a function that rewrites a progress line on w at most
// twice a second.
func newProgress(p *pipeline, counter *countingReader, f *os.File, w io.Writer) func() {
	var total int64
	if fi, err := f.Stat(); err == nil {
		total = fi.Size()
	}
	last := time.Now()
	return func() {
		now := time.Now()
		if now.Sub(last) < 500*time.Millisecond {
			return
		}
		last = now
		var packets int64
		for _, n := range p.stats.packets {
			packets += n
		}
		if total > 0 {
			fmt.Fprintf(w, "\rmqttdump: %.1f of %.1f MB (%d%%), %d records, %d MQTT packets\x1b[K",
				float64(counter.n)/1e6, float64(total)/1e6, counter.n*100/total, p.stats.frames, packets)
		} else {
			fmt.Fprintf(w, "\rmqttdump: %.1f MB, %d records, %d MQTT packets\x1b[K",
				float64(counter.n)/1e6, p.stats.frames, packets)
		}
	}
}
