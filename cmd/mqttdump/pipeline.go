package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/mqttwire/mqttwire"
)

// options are the parsed command-line settings.
type options struct {
	json        bool
	showSecrets bool
	stats       bool
	port        int            // server port; 0 means any
	types       [numKinds]bool // which types to print; all when typesSet is false
	typesSet    bool
	topic       []byte // an MQTT topic filter; nil means no topic filter
	client      []byte // a client identifier; nil means no client filter
	maxPacket   int    // largest packet kept whole across segments
	idle        time.Duration
	maxOpen     int // connections held at once; 0 means defaultMaxOpen
	preview     int // payload bytes shown in text output
	progress    bool
}

// The pseudo-types that -type accepts besides the fourteen packet types.
const (
	kindGap = 16 + iota
	kindResync
	kindIncomplete
	kindMalformed
	numKinds
)

// parseTypes reads a comma-separated list of type names for -type.
func parseTypes(s string, into *[numKinds]bool) error {
	for _, name := range strings.Split(s, ",") {
		name = strings.ToUpper(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		found := false
		for t := mqttwire.TypeConnect; t <= mqttwire.TypeDisconnect; t++ {
			if t.String() == name {
				into[t], found = true, true
			}
		}
		switch name {
		case "GAP":
			into[kindGap], found = true, true
		case "RESYNC":
			into[kindResync], found = true, true
		case "INCOMPLETE":
			into[kindIncomplete], found = true, true
		case "MALFORMED", "ERROR":
			into[kindMalformed], found = true, true
		}
		if !found {
			return fmt.Errorf("unknown type %q: want CONNECT … DISCONNECT, GAP, RESYNC, INCOMPLETE or MALFORMED", name)
		}
	}
	return nil
}

// pipeline receives the events of every stream of one run: it counts them,
// filters them and writes the ones kept.
type pipeline struct {
	opts  *options
	out   *bufio.Writer
	line  []byte
	stats *stats
	raw   bool // -raw mode: no time, frame or addresses

	now   time.Time // time of the capture record being processed
	frame int64     // its number, from 1

	// hold, when set, collects lines instead of printing them.
	hold *[]heldLine
	// The text time format of the current second, kept between lines.
	timeSec    int64
	timePrefix []byte

	// tap, when set, sees every event before the filters; tests use it.
	tap func(*event)
}

// emit stamps e with the current record's time and number, counts it and
// prints it unless a filter drops it.
func (p *pipeline) emit(e *event) {
	e.time, e.frame = p.now, p.frame
	p.stats.count(e)
	if p.tap != nil {
		p.tap(e)
	}
	if !p.keep(e) {
		return
	}
	if p.opts.json {
		p.line = p.appendJSON(p.line[:0], e)
	} else {
		p.line = p.appendText(p.line[:0], e)
	}
	if p.hold != nil {
		*p.hold = append(*p.hold, heldLine{conn: e.conn.seq, line: slices.Clone(p.line)})
		return
	}
	p.out.Write(p.line)
}

// keep applies -type, -client and -topic.
func (p *pipeline) keep(e *event) bool {
	o := p.opts
	if o.typesSet {
		var ok bool
		switch e.kind {
		case eventGap:
			ok = o.types[kindGap]
		case eventResync:
			ok = o.types[kindResync]
		case eventIncomplete:
			ok = o.types[kindIncomplete]
		case eventMalformed:
			ok = o.types[kindMalformed] || o.types[e.header>>4]
		default:
			ok = o.types[e.header>>4]
		}
		if !ok {
			return false
		}
	}
	if o.client != nil && (e.conn.clientID == nil || !bytes.Equal(e.conn.clientID, o.client)) {
		return false
	}
	if o.topic != nil {
		return e.kind == eventPacket && matchesTopic(e.packet, o.topic)
	}
	return true
}

// matchesTopic reports whether a packet concerns the topic filter: a PUBLISH
// or a will whose topic it matches, or a SUBSCRIBE or UNSUBSCRIBE that names
// the filter itself.
func matchesTopic(p mqttwire.Packet, filter []byte) bool {
	switch p := p.(type) {
	case *mqttwire.Publish:
		return mqttwire.MatchTopic(filter, p.Topic)
	case *mqttwire.Connect:
		return p.WillFlag && mqttwire.MatchTopic(filter, p.WillTopic)
	case *mqttwire.Subscribe:
		for _, f := range p.Filters {
			if bytes.Equal(f.Topic, filter) {
				return true
			}
		}
	case *mqttwire.Unsubscribe:
		for _, t := range p.Topics {
			if bytes.Equal(t, filter) {
				return true
			}
		}
	}
	return false
}

// stats are the counts -stats prints.
type stats struct {
	frames      int64 // capture records read
	segments    int64 // TCP segments on the selected port
	ignored     int64 // records that were not TCP over IPv4 or IPv6
	connections int64
	open        int64 // connections open now
	peakOpen    int64 // the most connections open at once
	packets     [16]int64
	bytes       [16]int64
	truncated   int64 // PUBLISH packets over -max-packet, kept in part
	malformed   int64
	gaps        int64
	gapBytes    int64
	resyncs     int64
	skipped     int64
	incomplete  int64
}

func (s *stats) count(e *event) {
	switch e.kind {
	case eventPacket:
		t := e.header >> 4
		s.packets[t]++
		s.bytes[t] += int64(e.size)
		if e.truncated {
			s.truncated++
		}
	case eventMalformed:
		s.malformed++
	case eventGap:
		s.gaps++
		s.gapBytes += e.count
	case eventResync:
		s.resyncs++
		s.skipped += e.count
	case eventIncomplete:
		s.incomplete++
	}
}

// write prints the counts as a small table.
func (s *stats) write(w io.Writer, raw bool) {
	if !raw {
		fmt.Fprintf(w, "frames         %12d  (%d TCP segments on the port, %d not TCP/IP)\n", s.frames, s.segments, s.ignored)
		fmt.Fprintf(w, "connections    %12d  (at most %d open at once)\n", s.connections, s.peakOpen)
	}
	var n, b int64
	for t := mqttwire.TypeConnect; t <= mqttwire.TypeDisconnect; t++ {
		if s.packets[t] == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-12s %12d  %14d bytes\n", t, s.packets[t], s.bytes[t])
		n += s.packets[t]
		b += s.bytes[t]
	}
	fmt.Fprintf(w, "packets        %12d  %14d bytes\n", n, b)
	if s.truncated > 0 {
		fmt.Fprintf(w, "truncated      %12d  (PUBLISH over -max-packet, payload not kept)\n", s.truncated)
	}
	fmt.Fprintf(w, "malformed      %12d\n", s.malformed)
	fmt.Fprintf(w, "gaps           %12d  %14d bytes missing\n", s.gaps, s.gapBytes)
	fmt.Fprintf(w, "resyncs        %12d  %14d bytes skipped\n", s.resyncs, s.skipped)
	fmt.Fprintf(w, "incomplete     %12d\n", s.incomplete)
}
