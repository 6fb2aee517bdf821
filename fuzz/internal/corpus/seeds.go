package corpus

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/mqttwire/mqttwire"
)

// The fuzz targets and the order of their arguments:
//
//	FuzzDecode(data []byte, version byte, maxSize uint16)
//	FuzzPeek(data []byte)
//	FuzzReader(data, chunks []byte, version byte, maxSize uint16, bufSize byte, eofWithData bool)
//	FuzzTopic(filter, name []byte)
//	FuzzAppend(the fields of AppendInput)
//
// version is a Decoder.Version: 3 and 4 are V31 and V311, anything else is 0.
// maxSize is Decoder.MaxSize. chunks are the sizes of the reads the Reader's
// source returns, used in turn (0xF0 to 0xFF: a read error with 0 to 15
// bytes); bufSize is the Reader's initial buffer size.
const (
	TargetDecode = "FuzzDecode"
	TargetPeek   = "FuzzPeek"
	TargetReader = "FuzzReader"
	TargetTopic  = "FuzzTopic"
	TargetAppend = "FuzzAppend"
)

// Seeds returns the seed corpus files of every target, built from the golden
// vectors, sorted by target and name.
func Seeds(vs []Vector) ([]File, error) {
	s := seeder{names: map[string]bool{}, contents: map[string]bool{}}
	for _, v := range vs {
		name := SeedPrefix + strings.ReplaceAll(v.Name, "/", "-")
		s.add(TargetDecode, name, v.Wire, byte(v.Version), uint16(v.MaxSize))
		s.add(TargetPeek, name, v.Wire)
	}
	readerSeeds(&s, vs)
	topicSeeds(&s, vs)
	if err := appendSeeds(&s, vs); err != nil {
		return nil, err
	}
	sort.Slice(s.files, func(i, j int) bool {
		a, b := s.files[i], s.files[j]
		if a.Target != b.Target {
			return a.Target < b.Target
		}
		return a.Name < b.Name
	})
	return s.files, nil
}

// seeder collects files, skipping a file whose contents another file of the
// same target already has.
type seeder struct {
	files    []File
	names    map[string]bool // target/name
	contents map[string]bool // target + contents
}

func (s *seeder) add(target, name string, args ...any) {
	data := Marshal(args...)
	if s.contents[target+"\x00"+string(data)] {
		return
	}
	s.contents[target+"\x00"+string(data)] = true
	base := name
	for i := 2; s.names[target+"/"+name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	s.names[target+"/"+name] = true
	s.files = append(s.files, File{Target: target, Name: name, Data: data})
}

// chunkPatterns are read sizes for the Reader's source, used in turn by the
// seeds: whole, a byte at a time, uneven reads with empty ones, and reads
// that fail with an error that may be retried (0xF0 to 0xFF, with 0 to 15
// bytes).
var chunkPatterns = [][]byte{nil, {1}, {2, 0, 3}, {7}, {0, 1, 5, 64}, {3, 0xF0, 5, 0xF2, 0xF0, 1}}

func readerSeeds(s *seeder, vs []Vector) {
	for i, v := range vs {
		name := SeedPrefix + strings.ReplaceAll(v.Name, "/", "-")
		chunks := chunkPatterns[i%len(chunkPatterns)]
		s.add(TargetReader, name, v.Wire, chunks, byte(v.Version), uint16(v.MaxSize), byte(0), i%2 == 1)
	}

	// A 3.1.1 session: every valid vector read with the 3.1.1 rules and
	// no MaxSize, 3.1 CONNECTs left out since they switch the rules.
	var session, v31 []byte
	for _, v := range vs {
		switch {
		case v.Expect != "ok" || v.MaxSize != 0:
		case v.Version == mqttwire.V31:
			v31 = append(v31, v.Wire...)
		case v.Version == 0 && !strings.HasPrefix(v.Name, "connect/v31"):
			session = append(session, v.Wire...)
		}
	}
	for i, chunks := range chunkPatterns {
		name := fmt.Sprintf("%sstream-session-%d", SeedPrefix, i)
		s.add(TargetReader, name, session, chunks, byte(0), uint16(0), byte(i*16), i%2 == 0)
	}
	// The same stream cut short, read with a MaxSize that refuses the
	// longer packets, and with the 3.1 rules from the start.
	s.add(TargetReader, SeedPrefix+"stream-session-cut", session[:len(session)-1], []byte{5}, byte(0), uint16(0), byte(0), false)
	s.add(TargetReader, SeedPrefix+"stream-session-maxsize", session, []byte{3, 11}, byte(0), uint16(64), byte(0), false)
	s.add(TargetReader, SeedPrefix+"stream-session-v31-rules", session, []byte{13}, byte(mqttwire.V31), uint16(0), byte(0), false)

	// A 3.1 session: a 3.1 CONNECT sets the rules for the lenient packets
	// after it.
	for _, v := range vs {
		if v.Name == "connect/v31-basic" {
			stream := append(bytes.Clone(v.Wire), v31...)
			s.add(TargetReader, SeedPrefix+"stream-v31-session", stream, []byte{1}, byte(0), uint16(0), byte(0), false)
			s.add(TargetReader, SeedPrefix+"stream-v31-session-whole", stream, []byte(nil), byte(0), uint16(0), byte(0), true)
		}
	}

	// Each packet directory as one stream, valid and invalid vectors
	// mixed: malformed frames are skipped, a cut-short one swallows what
	// follows.
	byDir := map[string][]byte{}
	var dirs []string
	for _, v := range vs {
		if _, ok := byDir[v.Dir()]; !ok {
			dirs = append(dirs, v.Dir())
		}
		byDir[v.Dir()] = append(byDir[v.Dir()], v.Wire...)
	}
	for i, dir := range dirs {
		chunks := chunkPatterns[i%len(chunkPatterns)]
		s.add(TargetReader, SeedPrefix+"stream-"+dir, byDir[dir], chunks, byte(0), uint16(0), byte(0), false)
	}
}

// topicSeeds pairs the topic names of the PUBLISH vectors with the filters of
// the SUBSCRIBE and UNSUBSCRIBE vectors, valid or not, and adds the examples
// of §4.7.
func topicSeeds(s *seeder, vs []Vector) {
	var names, filters [][]byte
	for _, v := range vs {
		switch v.Dir() {
		case "publish":
			names = append(names, looseStrings(v.Wire, 0)...)
		case "subscribe":
			filters = append(filters, looseStrings(v.Wire, 1)...)
		case "unsubscribe":
			filters = append(filters, looseStrings(v.Wire, 0)...)
		}
	}
	if len(names) == 0 {
		names = [][]byte{[]byte("a")}
	}
	for i, f := range filters {
		s.add(TargetTopic, fmt.Sprintf("%sfilter-%03d", SeedPrefix, i), f, names[i%len(names)])
	}
	for i, n := range names {
		s.add(TargetTopic, fmt.Sprintf("%sname-%03d", SeedPrefix, i), n, n)
	}
	for i, pair := range specTopicExamples {
		s.add(TargetTopic, fmt.Sprintf("%sspec-%02d", SeedPrefix, i), []byte(pair[0]), []byte(pair[1]))
	}
}

// specTopicExamples are filter and name pairs from §4.7 of MQTT 3.1.1.
var specTopicExamples = [][2]string{
	{"sport/tennis/player1/#", "sport/tennis/player1"},
	{"sport/tennis/player1/#", "sport/tennis/player1/ranking"},
	{"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"},
	{"sport/#", "sport"},
	{"sport/tennis/+", "sport/tennis/player1"},
	{"sport/tennis/+", "sport/tennis/player1/ranking"},
	{"sport/+", "sport"},
	{"sport/+", "sport/"},
	{"+/+", "/finance"},
	{"/+", "/finance"},
	{"+", "/finance"},
	{"#", "$SYS/monitor/Clients"},
	{"$SYS/#", "$SYS/monitor/Clients"},
	{"+/monitor/Clients", "$SYS/monitor/Clients"},
	{"$SYS/monitor/+", "$SYS/monitor/Clients"},
	{"ACCOUNTS", "Accounts"},
	{"/", "/"},
	{"#", "/"},
	{"+/+/#", "a/b"},
}

// looseStrings reads the length-prefixed strings of a PUBLISH, SUBSCRIBE or
// UNSUBSCRIBE body leniently: it skips the fixed header (and, with gap > 0,
// the packet identifier and gap bytes after each string), and cuts a string
// short where the bytes end.
func looseStrings(wire []byte, gap int) [][]byte {
	i := 1
	for i < len(wire) && i < 5 && wire[i] >= 0x80 {
		i++
	}
	i++
	if gap > 0 {
		i += 2
	}
	var out [][]byte
	for i+2 <= len(wire) {
		n := int(wire[i])<<8 | int(wire[i+1])
		end := min(i+2+n, len(wire))
		out = append(out, wire[i+2:end])
		if gap == 0 && len(out) == 1 && wire[0]>>4 == byte(mqttwire.TypePublish) {
			break // a PUBLISH has one topic
		}
		i = end + gap
	}
	return out
}

// appendSeeds turns every valid vector into a FuzzAppend input, and adds
// variants that Append must refuse.
func appendSeeds(s *seeder, vs []Vector) error {
	for _, v := range vs {
		if v.Expect != "ok" {
			continue
		}
		d := mqttwire.Decoder{Version: v.Version}
		p, _, err := d.Decode(v.Wire)
		if err != nil {
			return fmt.Errorf("%s: %v", v.Name, err)
		}
		in := AppendInputFor(p)
		if err := sameEncoding(in.Packet(), p); err != nil {
			return fmt.Errorf("%s: %v", v.Name, err)
		}
		name := SeedPrefix + strings.ReplaceAll(v.Name, "/", "-")
		s.add(TargetAppend, name, in.Args()...)
		if in.ID != 0 && p.Type() != mqttwire.TypeConnect {
			zero := in
			zero.ID = 0
			s.add(TargetAppend, name+"-id-0", zero.Args()...)
		}
	}
	for _, in := range invalidAppendInputs {
		s.add(TargetAppend, SeedPrefix+"invalid-"+in.name, in.in.Args()...)
	}
	return nil
}

// sameEncoding reports an error unless a and b encode to the same bytes or
// are refused with the same error.
func sameEncoding(a, b mqttwire.Packet) error {
	ea, erra := a.Append(nil)
	eb, errb := b.Append(nil)
	if !bytes.Equal(ea, eb) || !errors.Is(erra, errb) {
		return fmt.Errorf("AppendInput does not rebuild the packet: % X (%v), want % X (%v)", ea, erra, eb, errb)
	}
	return nil
}

// invalidAppendInputs are inputs that Append must refuse, one for each kind
// of refusal, and a few at the edges of what it accepts.
var invalidAppendInputs = []struct {
	name string
	in   AppendInput
}{
	{"connect-version-5", AppendInput{Type: 1, Bits: bit0 | 3<<versionShift | 5<<rawShift, S1: []byte("a")}},
	{"connect-version-0", AppendInput{Type: 1, Bits: bit0 | 2<<versionShift, S1: []byte("a")}},
	{"connect-empty-id-no-clean", AppendInput{Type: 1, ID: 60}},
	{"connect-id-not-utf8", AppendInput{Type: 1, Bits: bit0, S1: []byte("\xc3")}},
	{"connect-id-nul", AppendInput{Type: 1, Bits: bit0, S1: []byte("a\x00")}},
	{"connect-id-65535", AppendInput{Type: 1, Bits: bit0 | bitPad, S1: []byte("id")}},
	{"connect-id-65536", AppendInput{Type: 1, Bits: bit0 | bitPad | bitPadMore, S1: []byte("id")}},
	{"connect-will-qos3", AppendInput{Type: 1, Bits: bit0 | bit1 | 3<<qosShift, S1: []byte("a"), S2: []byte("t")}},
	{"connect-will-topic-wildcard", AppendInput{Type: 1, Bits: bit0 | bit1, S1: []byte("a"), S2: []byte("t/#")}},
	{"connect-will-topic-empty", AppendInput{Type: 1, Bits: bit0 | bit1, S1: []byte("a")}},
	{"connect-will-fields-without-flag", AppendInput{Type: 1, Bits: bit0, S1: []byte("a"), S2: []byte("t"), S3: []byte("m")}},
	{"connect-will-retain-without-flag", AppendInput{Type: 1, Bits: bit0 | bitWillRet, S1: []byte("a")}},
	{"connect-username-without-flag", AppendInput{Type: 1, Bits: bit0, S1: []byte("a"), S4: []byte("u")}},
	{"connect-password-without-username", AppendInput{Type: 1, Bits: bit0 | bitPassword, S1: []byte("a"), S5: []byte("p")}},
	{"connect-password-without-flag", AppendInput{Type: 1, Bits: bit0 | bitUsername, S1: []byte("a"), S4: []byte("u"), S5: []byte("p")}},
	{"connack-code-6", AppendInput{Type: 2, Code: 6}},
	{"connack-session-present-refused", AppendInput{Type: 2, Bits: bit0, Code: 5}},
	{"connack-v31-session-present", AppendInput{Type: 2, Bits: bit0 | 1<<versionShift}},
	{"connack-version-5", AppendInput{Type: 2, Bits: 3<<versionShift | 5<<rawShift}},
	{"publish-qos3", AppendInput{Type: 3, Bits: 3 << qosShift, ID: 1, S1: []byte("a")}},
	{"publish-dup-qos0", AppendInput{Type: 3, Bits: bit0, S1: []byte("a")}},
	{"publish-id-qos0", AppendInput{Type: 3, ID: 7, S1: []byte("a")}},
	{"publish-topic-plus", AppendInput{Type: 3, S1: []byte("a/+")}},
	{"publish-topic-empty", AppendInput{Type: 3, S2: []byte("payload")}},
	{"publish-topic-65535", AppendInput{Type: 3, Bits: bitPad, S1: []byte("t/")}},
	{"publish-topic-65536", AppendInput{Type: 3, Bits: bitPad | bitPadMore, S1: []byte("t/")}},
	{"subscribe-no-filters", AppendInput{Type: 8, ID: 1}},
	{"subscribe-empty-filter", AppendInput{Type: 8, ID: 1, S1: []byte("a\xff"), S2: []byte{0, 0}}},
	{"subscribe-bad-hash", AppendInput{Type: 8, ID: 1, S1: []byte("a#")}},
	{"subscribe-bad-plus", AppendInput{Type: 8, ID: 1, S1: []byte("a/b+")}},
	{"subscribe-qos3", AppendInput{Type: 8, ID: 1, S1: []byte("a\xffb"), S2: []byte{1, 3}}},
	{"subscribe-filter-65535", AppendInput{Type: 8, ID: 1, Bits: bitPad, S1: []byte("+/")}},
	{"suback-no-codes", AppendInput{Type: 9, ID: 1}},
	{"suback-code-3", AppendInput{Type: 9, ID: 1, S1: []byte{0, 3}}},
	{"suback-v31-failure", AppendInput{Type: 9, ID: 1, Bits: 1 << versionShift, S1: []byte{0x80}}},
	{"suback-version-5", AppendInput{Type: 9, ID: 1, Bits: 3<<versionShift | 5<<rawShift, S1: []byte{1}}},
	{"unsubscribe-no-topics", AppendInput{Type: 10, ID: 1}},
	{"unsubscribe-bad-hash", AppendInput{Type: 10, ID: 1, S1: []byte("#/a")}},
	{"unsubscribe-nul", AppendInput{Type: 10, ID: 1, S1: []byte("a\xff\x00")}},
}
