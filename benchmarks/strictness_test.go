package benchmarks

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mqttwire/mqttwire"
)

// strictCase is one input of the strictness table, from
// ../shared/spec/conformance.md.
type strictCase struct {
	name string
	rule string // the statement ID, or the section or decision of conformance.md
	hex  string
	want string // "reject" for malformed input, "accept" for valid edge cases, "limit" for a hostile size
	max  int    // a packet size limit to apply, where the codec has one
}

// strictCases are the malformed packets, the hostile sizes and a few valid
// edge cases that a strict codec must not refuse.
var strictCases = []strictCase{
	// Fixed header.
	{"PUBLISH with QoS 3", "MQTT-3.3.1-4", "36 05 00 01 61 00 01", "reject", 0},
	{"PUBLISH with DUP at QoS 0", "MQTT-3.3.1-2", "38 03 00 01 61", "reject", 0},
	{"reserved packet type 0", "§2.2.1", "00 00", "reject", 0},
	{"reserved packet type 15", "§2.2.1", "F0 00", "reject", 0},
	{"CONNECT with flags 0001", "MQTT-2.2.2-1", "11 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 61", "reject", 0},
	{"CONNACK with flags 0001", "MQTT-2.2.2-1", "21 02 00 00", "reject", 0},
	{"PUBACK with flags 0001", "MQTT-2.2.2-1", "41 02 00 01", "reject", 0},
	{"PINGREQ with flags 0001", "MQTT-2.2.2-1", "C1 00", "reject", 0},
	{"DISCONNECT with flags 0001", "MQTT-3.14.1-1", "E1 00", "reject", 0},
	{"PUBREL with flags 0000", "MQTT-3.6.1-1", "60 02 00 01", "reject", 0},
	{"SUBSCRIBE with flags 0000", "MQTT-3.8.1-1", "80 06 00 01 00 01 61 00", "reject", 0},
	{"UNSUBSCRIBE with flags 0011", "MQTT-3.10.1-1", "A3 05 00 01 00 01 61", "reject", 0},
	{"5-byte remaining length (PINGREQ)", "§2.2.3", "C0 80 80 80 80", "reject", 0},
	{"5-byte remaining length (PUBLISH)", "§2.2.3", "30 FF FF FF FF 7F", "reject", 0},
	{"non-minimal remaining length (PINGREQ)", "§2.2.3, A1", "C0 80 00", "reject", 0},
	{"non-minimal remaining length (PUBACK)", "§2.2.3, A1", "40 82 00 00 01", "reject", 0},
	{"PINGREQ with a 1-byte body", "Table 2.6, A2", "C0 01 00", "reject", 0},
	{"PUBACK with a 3-byte body", "Table 2.6, A2", "40 03 00 01 00", "reject", 0},
	{"UNSUBACK with no body", "Table 2.6, A2", "B0 00", "reject", 0},
	{"CONNACK with a 3-byte body", "Table 2.6, A2", "20 03 00 00 00", "reject", 0},
	// Hostile sizes.
	{"PUBLISH declaring 256 MB, body never sent", "§2.2.3 (legal length)", "30 FF FF FF 7F", "limit", 0},
	{"the same, with a 1 MiB packet size limit", "MaxSize", "30 FF FF FF 7F", "reject", 1 << 20},
	// Strings.
	{"string length past the frame", "§1.5.3", "30 03 00 05 61", "reject", 0},
	{"topic: UTF-16 surrogate", "MQTT-1.5.3-1", "30 05 00 03 ED A0 80", "reject", 0},
	{"topic: overlong '/'", "MQTT-1.5.3-1", "30 04 00 02 C0 AF", "reject", 0},
	{"topic: lone continuation byte", "MQTT-1.5.3-1", "30 03 00 01 80", "reject", 0},
	{"topic: above U+10FFFF", "MQTT-1.5.3-1", "30 06 00 04 F4 90 80 80", "reject", 0},
	{"topic: cut-off sequence", "MQTT-1.5.3-1", "30 03 00 01 C3", "reject", 0},
	{"topic: U+0000", "MQTT-1.5.3-2", "30 04 00 02 61 00", "reject", 0},
	{"client id: UTF-16 surrogate", "MQTT-1.5.3-1", "10 0F 00 04 4D 51 54 54 04 02 00 3C 00 03 ED A0 80", "reject", 0},
	// PUBLISH.
	{"PUBLISH topic '#'", "MQTT-3.3.2-2", "30 03 00 01 23", "reject", 0},
	{"PUBLISH topic 'a/+'", "MQTT-3.3.2-2", "30 05 00 03 61 2F 2B", "reject", 0},
	{"PUBLISH with an empty topic", "MQTT-4.7.3-1", "30 02 00 00", "reject", 0},
	{"PUBLISH without a topic", "MQTT-3.3.2-1", "30 00", "reject", 0},
	{"PUBLISH QoS 1 with packet id 0", "MQTT-2.3.1-1", "32 05 00 01 61 00 00", "reject", 0},
	{"PUBLISH QoS 1 without packet id", "§3.3.2.2", "32 03 00 01 61", "reject", 0},
	// Acknowledgements.
	{"PUBACK with packet id 0", "A4", "40 02 00 00", "reject", 0},
	{"CONNACK with reserved flag bits", "§3.2.2.1", "20 02 02 00", "reject", 0},
	{"CONNACK session present with a refusal", "MQTT-3.2.2-4", "20 02 01 05", "reject", 0},
	{"CONNACK return code 6", "Table 3.1", "20 02 00 06", "reject", 0},
	{"SUBACK return code 3", "MQTT-3.9.3-2", "90 03 00 01 03", "reject", 0},
	{"SUBACK without return codes", "MQTT-3.8.4-5", "90 02 00 01", "reject", 0},
	// SUBSCRIBE and UNSUBSCRIBE.
	{"empty SUBSCRIBE", "MQTT-3.8.3-3", "82 02 00 01", "reject", 0},
	{"SUBSCRIBE with packet id 0", "MQTT-2.3.1-1", "82 06 00 00 00 01 61 00", "reject", 0},
	{"SUBSCRIBE without its QoS byte", "§3.8.3", "82 05 00 01 00 01 61", "reject", 0},
	{"SUBSCRIBE requesting QoS 3", "MQTT-3.8.3-4", "82 06 00 01 00 01 61 03", "reject", 0},
	{"SUBSCRIBE with QoS byte 0x80", "MQTT-3.8.3-4", "82 06 00 01 00 01 61 80", "reject", 0},
	{"SUBSCRIBE filter 'a#'", "MQTT-4.7.1-2", "82 07 00 01 00 02 61 23 00", "reject", 0},
	{"SUBSCRIBE filter 'a+'", "MQTT-4.7.1-3", "82 07 00 01 00 02 61 2B 00", "reject", 0},
	{"SUBSCRIBE with an empty filter", "MQTT-4.7.3-1", "82 05 00 01 00 00 00", "reject", 0},
	{"SUBSCRIBE filter not UTF-8", "MQTT-3.8.3-1", "82 06 00 01 00 01 FF 00", "reject", 0},
	{"empty UNSUBSCRIBE", "MQTT-3.10.3-2", "A2 02 00 01", "reject", 0},
	{"UNSUBSCRIBE with a stray byte", "MQTT-3.10.3-1", "A2 06 00 01 00 01 61 00", "reject", 0},
	{"UNSUBSCRIBE filter 'a#'", "A13", "A2 06 00 01 00 02 61 23", "reject", 0},
	// CONNECT.
	{"CONNECT protocol name \"MQTX\"", "MQTT-3.1.2-1", "10 0D 00 04 4D 51 54 58 04 02 00 3C 00 01 61", "reject", 0},
	{"CONNECT level 5 (an MQTT 5 client)", "MQTT-3.1.2-2", "10 0D 00 04 4D 51 54 54 05 02 00 3C 00 01 61", "reject", 0},
	{"CONNECT \"MQTT\" with level 3", "MQTT-3.1.2-2, A7", "10 0D 00 04 4D 51 54 54 03 02 00 3C 00 01 61", "reject", 0},
	{"CONNECT reserved flag bit 0", "MQTT-3.1.2-3", "10 0D 00 04 4D 51 54 54 04 03 00 3C 00 01 61", "reject", 0},
	{"CONNECT will flag, will fields missing", "MQTT-3.1.2-9", "10 0D 00 04 4D 51 54 54 04 06 00 3C 00 01 61", "reject", 0},
	{"CONNECT will QoS without will flag", "MQTT-3.1.2-13", "10 0D 00 04 4D 51 54 54 04 0A 00 3C 00 01 61", "reject", 0},
	{"CONNECT will retain without will flag", "MQTT-3.1.2-15", "10 0D 00 04 4D 51 54 54 04 22 00 3C 00 01 61", "reject", 0},
	{"CONNECT will QoS 3", "MQTT-3.1.2-14", "10 13 00 04 4D 51 54 54 04 1E 00 3C 00 01 61 00 01 74 00 01 6D", "reject", 0},
	{"CONNECT will topic '#'", "A12", "10 13 00 04 4D 51 54 54 04 06 00 3C 00 01 61 00 01 23 00 01 6D", "reject", 0},
	{"CONNECT user name flag, user name missing", "MQTT-3.1.2-19", "10 0D 00 04 4D 51 54 54 04 82 00 3C 00 01 61", "reject", 0},
	{"CONNECT user name without its flag", "MQTT-3.1.2-18", "10 10 00 04 4D 51 54 54 04 02 00 3C 00 01 61 00 01 75", "reject", 0},
	{"CONNECT password flag, password missing", "MQTT-3.1.2-21", "10 10 00 04 4D 51 54 54 04 C2 00 3C 00 01 61 00 01 75", "reject", 0},
	{"CONNECT password without user name", "MQTT-3.1.2-22", "10 10 00 04 4D 51 54 54 04 42 00 3C 00 01 61 00 01 70", "reject", 0},
	{"CONNECT without client id", "MQTT-3.1.3-3", "10 0A 00 04 4D 51 54 54 04 02 00 3C", "reject", 0},
	// Valid edge cases.
	{"valid: CONNECT with an empty password", "A11", "10 12 00 04 4D 51 54 54 04 C2 00 3C 00 01 61 00 01 75 00 00", "accept", 0},
	{"valid: CONNECT with an empty will message", "A11", "10 12 00 04 4D 51 54 54 04 06 00 3C 00 01 61 00 01 74 00 00", "accept", 0},
	{"valid: CONNECT with an empty client id", "MQTT-3.1.3-6", "10 0C 00 04 4D 51 54 54 04 02 00 3C 00 00", "accept", 0},
	{"valid: MQTT 3.1 CONNECT (\"MQIsdp\", 3)", "§3 row 1", "10 0F 00 06 4D 51 49 73 64 70 03 02 00 3C 00 01 61", "accept", 0},
	{"valid: topic starting with U+FEFF", "MQTT-1.5.3-3", "30 06 00 04 EF BB BF 61", "accept", 0},
	{"valid: topic \"$SYS/x\"", "§4.7.2", "30 08 00 06 24 53 59 53 2F 78", "accept", 0},
	{"valid: SUBSCRIBE \"+/a/#\"", "MQTT-4.7.1-3", "82 0A 00 01 00 05 2B 2F 61 2F 23 02", "accept", 0},
}

// strictTimeout is how long a codec may take before it counts as blocked.
const strictTimeout = 200 * time.Millisecond

// TestStrictness runs every strictCase through every codec and prints what
// each did. It asserts only mqttwire's behaviour: it rejects every malformed
// input, accepts every valid edge case, and allocates little for a hostile
// length. Run with WRITE_TABLES=1 to write results/strictness.md.
func TestStrictness(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	// A first read of each codec warms up the runtime (timers, the first
	// goroutines), so its allocations do not count against the first row.
	for _, codec := range codecs {
		readOnce(codec, mustHex("C0 00"), false, 0, strictTimeout)
	}
	var table, details strings.Builder
	fmt.Fprintf(&table, "| # | input | rule | %s |\n|---|---|---|%s\n", strings.Join(codecs, " | "), strings.Repeat("---|", len(codecs)))
	tally := map[string]map[string]int{}
	for i, c := range strictCases {
		input := mustHex(c.hex)
		cells := make([]string, len(codecs))
		fmt.Fprintf(&details, "%d. %s, `%s`\n", i+1, c.name, c.hex)
		for j, codec := range codecs {
			o := readOnce(codec, input, true, c.max, strictTimeout)
			cells[j] = cell(c, o)
			if tally[codec] == nil {
				tally[codec] = map[string]int{}
			}
			tally[codec][grade(c, o)]++
			fmt.Fprintf(&details, "   - %s: %s\n", codec, detail(o))
			if codec == "mqttwire" {
				checkMqttwireStrict(t, c, input, o)
			}
		}
		fmt.Fprintf(&table, "| %d | %s `%s` | %s | %s |\n", i+1, c.name, c.hex, c.rule, strings.Join(cells, " | "))
	}
	var out strings.Builder
	fmt.Fprintf(&out, "### Malformed and edge-case packets\n\n")
	fmt.Fprintf(&out, "Each input is sent as a stream followed by a silent connection, through each codec's own reading path "+
		"(mqttwire.Reader; paho's packets.ReadPacket; mochi's server steps: FixedHeader.Decode, DecodeLength, "+
		"make the body, io.ReadFull, the type's Decode). \"blocks\" means no answer after %v: the codec waits for bytes "+
		"that never come. The byte count is what the codec allocated meanwhile (runtime.MemStats.TotalAlloc, GOMAXPROCS=1). "+
		"For a packet a peer's decoder accepts, the cell adds what that peer's own validation method says, "+
		"where it has one (paho: ConnectPacket.Validate; mochi: the XValidate its server runs). Bold marks a wrong answer: "+
		"a malformed packet accepted, blocked on or panicked on, a valid one refused, or a hostile length that allocates over 1 MiB.\n\n", strictTimeout)
	out.WriteString(summaryLine(tally))
	out.WriteString("\n")
	out.WriteString(table.String())
	out.WriteString("\n<details><summary>Every answer, with the error text</summary>\n\n")
	out.WriteString(details.String())
	out.WriteString("\n</details>\n")
	t.Log("\n" + out.String())
	if err := writeTable("strictness-malformed.md", out.String()); err != nil {
		t.Fatal(err)
	}
}

// grade sorts an outcome into "right" or "wrong" for its case.
func grade(c strictCase, o outcome) string {
	switch c.want {
	case "accept":
		if o.verdict == "accepted" && o.note == "" {
			return "right"
		}
	case "limit":
		if o.alloc <= 1<<20 && o.verdict != "accepted" && o.verdict != "panics" {
			return "right"
		}
	default:
		if o.verdict == "rejected" {
			return "right"
		}
	}
	return "wrong"
}

// summaryLine counts each codec's right and wrong answers.
func summaryLine(tally map[string]map[string]int) string {
	var parts []string
	for _, codec := range codecs {
		parts = append(parts, fmt.Sprintf("%s %d right, %d wrong", codec, tally[codec]["right"], tally[codec]["wrong"]))
	}
	return "Score over " + fmt.Sprint(len(strictCases)) + " inputs: " + strings.Join(parts, "; ") + ".\n"
}

// cell formats one outcome for the table.
func cell(c strictCase, o outcome) string {
	s := o.verdict
	if o.verdict == "accepted" {
		s += ": " + summary(o.fields)
		if o.note != "" {
			s += "; " + o.note
		}
	}
	s += " (" + size(o.alloc) + ")"
	if grade(c, o) == "wrong" {
		s = "**" + s + "**"
	}
	return s
}

// detail describes an outcome with its error text.
func detail(o outcome) string {
	switch o.verdict {
	case "rejected", "panics":
		return fmt.Sprintf("%s: %v (%s)", o.verdict, o.err, size(o.alloc))
	case "accepted":
		s := "accepted: " + summary(o.fields)
		if o.note != "" {
			s += "; " + o.note
		}
		return s + " (" + size(o.alloc) + ")"
	}
	return fmt.Sprintf("%s (%s)", o.verdict, size(o.alloc))
}

// checkMqttwireStrict asserts what mqttwire promises for a case: malformed
// input is rejected by the Reader and by Decoder.Decode on the bytes alone,
// valid input is accepted, and a hostile length costs no more than a small
// buffer.
func checkMqttwireStrict(t *testing.T, c strictCase, input []byte, o outcome) {
	t.Helper()
	d := mqttwire.Decoder{MaxSize: c.max}
	_, _, err := d.Decode(input)
	switch c.want {
	case "reject":
		if o.verdict != "rejected" {
			t.Errorf("%s: mqttwire.Reader: %s, want an error", c.name, detail(o))
		}
		if err == nil || errors.Is(err, mqttwire.ErrIncomplete) {
			t.Errorf("%s: Decoder.Decode: %v, want an error other than ErrIncomplete", c.name, err)
		}
	case "accept":
		if o.verdict != "accepted" || err != nil {
			t.Errorf("%s: mqttwire.Reader: %s; Decoder.Decode: %v; want both to accept", c.name, detail(o), err)
		}
	case "limit":
		if o.alloc > 64<<10 {
			t.Errorf("%s: mqttwire.Reader allocated %s while waiting, want at most 64 KiB", c.name, size(o.alloc))
		}
		if !errors.Is(err, mqttwire.ErrIncomplete) {
			t.Errorf("%s: Decoder.Decode: %v, want ErrIncomplete", c.name, err)
		}
	}
}
