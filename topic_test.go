package mqttwire

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMatchTopic(t *testing.T) {
	tests := []struct {
		filter, name string
		want         bool
	}{
		{"a", "a", true},
		{"a", "b", false},
		{"a", "a/b", false},
		{"a/b", "a", false},
		{"a/b", "a/b", true},
		{"a/+", "a/b", true},
		{"a/+", "a/", true}, // '+' matches an empty level
		{"a/+", "a", false},
		{"a/+", "a/b/c", false},
		{"+/+", "/a", true},
		{"+", "/a", false},
		{"/+", "/a", true},
		{"+/b/+", "a/b/c", true},
		{"#", "a", true},
		{"#", "a/b/c", true},
		{"#", "/", true},
		{"a/#", "a", true}, // '#' includes the parent level
		{"a/#", "a/", true},
		{"a/#", "a/b/c", true},
		{"a/#", "ab", false},
		{"a/b/#", "a", false},
		{"+/#", "a", true},
		{"a//b", "a//b", true},
		{"a//b", "a/b", false},
		{"a/+/#", "a/b", true},
		// [MQTT-4.7.2-1]: a first-level wildcard never matches a '$' topic.
		{"#", "$SYS/x", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
		{"$SYS/+", "$SYS/x", true},
		{"a/#", "a/$x", true},
		// Byte for byte, no normalisation [MQTT-4.7.3-4].
		{"A", "a", false},
		{"\uFEFFa", "a", false},
		// Invalid filters and names never match.
		{"a/#/b", "a/x/b", false},
		{"a+", "a+", false},
		{"", "", false},
		{"a", "a/#", false},
		{"a/\x00", "a/\x00", false},
	}
	for _, tt := range tests {
		if got := MatchTopic([]byte(tt.filter), []byte(tt.name)); got != tt.want {
			t.Errorf("MatchTopic(%q, %q) = %v, want %v", tt.filter, tt.name, got, tt.want)
		}
	}
}

func TestValidateTopic(t *testing.T) {
	long := make([]byte, 65536)
	for i := range long {
		long[i] = 'a'
	}
	tests := []struct {
		text             string
		nameOK, filterOK bool
		nameRule         string // the rule the name's error names
	}{
		{"a", true, true, ""},
		{"a/b/c", true, true, ""},
		{"/", true, true, ""},
		{"$SYS/x", true, true, ""},
		{"\uFEFFa", true, true, ""},
		{"\x01", true, true, ""},
		{"\uFFFF", true, true, ""},
		{"", false, false, "MQTT-4.7.3-1"},
		{"#", false, true, "MQTT-3.3.2-2"},
		{"+", false, true, "MQTT-3.3.2-2"},
		{"a/+/b", false, true, "MQTT-3.3.2-2"},
		{"a/#", false, true, "MQTT-3.3.2-2"},
		{"+/+/#", false, true, "MQTT-3.3.2-2"},
		{"a#", false, false, "MQTT-3.3.2-2"},
		{"#/a", false, false, "MQTT-3.3.2-2"},
		{"a/#/b", false, false, "MQTT-3.3.2-2"},
		{"a+", false, false, "MQTT-3.3.2-2"},
		{"+a", false, false, "MQTT-3.3.2-2"},
		{"a\x00", false, false, "MQTT-1.5.3-2"},
		{"\xED\xA0\x80", false, false, "MQTT-1.5.3-1"}, // surrogate
		{"\xC0\xAF", false, false, "MQTT-1.5.3-1"},     // overlong
		{"\xF4\x90\x80\x80", false, false, "MQTT-1.5.3-1"},
		{"abcdefgh\xC3", false, false, "MQTT-1.5.3-1"}, // cut off after a fast-path word
		{"abcdefgh\x00ijklmnop", false, false, "MQTT-1.5.3-2"},
		{"abcdefg+ijklmnop", false, false, "MQTT-3.3.2-2"},
		{string(long[:65535]), true, true, ""},
		{string(long), false, false, "MQTT-4.7.3-3"},
	}
	for _, tt := range tests {
		nameErr := ValidateTopicName([]byte(tt.text))
		filterErr := ValidateTopicFilter([]byte(tt.text))
		if (nameErr == nil) != tt.nameOK || (filterErr == nil) != tt.filterOK {
			t.Errorf("%.20q: name %v, filter %v; want ok %v, %v", tt.text, nameErr, filterErr, tt.nameOK, tt.filterOK)
		}
		if nameErr != nil {
			var e *Error
			if !errors.As(nameErr, &e) || !errors.Is(nameErr, ErrInvalid) || e.Rule() != tt.nameRule {
				t.Errorf("%.20q: name error %v, want ErrInvalid naming %s", tt.text, nameErr, tt.nameRule)
			}
		}
	}
}

func TestPeek(t *testing.T) {
	type result struct {
		H    Header
		Size int
		Err  error
	}
	tests := []struct {
		in   []byte
		want result
	}{
		{nil, result{Size: 2, Err: ErrIncomplete}},
		{[]byte{0x30}, result{Size: 2, Err: ErrIncomplete}},
		{[]byte{0x30, 0x05, 0x00}, result{Header{TypePublish, 0, 5}, 7, ErrIncomplete}},
		{[]byte{0x32, 0x80}, result{Header{TypePublish, 2, 0}, 3, ErrIncomplete}},
		{[]byte{0x32, 0x80, 0x01}, result{Header{TypePublish, 2, 128}, 131, ErrIncomplete}},
		{[]byte{0xC0, 0x80, 0x80, 0x80}, result{Header{TypePingreq, 0, 0}, 5, ErrIncomplete}},
		{[]byte{0xC0, 0x00, 0xFF}, result{Header{TypePingreq, 0, 0}, 2, nil}},
		{[]byte{0x30, 0xFF, 0xFF, 0xFF, 0x7F}, result{Header{TypePublish, 0, MaxRemaining}, MaxRemaining + 5, ErrIncomplete}},
		{[]byte{0xC0, 0x80, 0x80, 0x80, 0x80}, result{Header{TypePingreq, 0, 0}, 0, errLengthTooLong[TypePingreq]}},
		{[]byte{0xC0, 0x80, 0x00}, result{Header{TypePingreq, 0, 0}, 0, errLengthNotMinimal[TypePingreq]}},
		{[]byte{0x00}, result{Size: 2, Err: ErrIncomplete}}, // the type is judged with the whole header
		{[]byte{0x00, 0x80, 0x01}, result{Header{0, 0, 128}, 131, errReservedType}},
		{[]byte{0xF0, 0x00}, result{Header{15, 0, 0}, 2, errReservedType}},
	}
	for _, tt := range tests {
		h, size, err := Peek(tt.in)
		got := result{h, size, err}
		if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
			t.Errorf("Peek(% X) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// TestVarint checks every boundary of the remaining-length encoding.
func TestVarint(t *testing.T) {
	for _, v := range []int{0, 1, 127, 128, 16383, 16384, 2097151, 2097152, MaxRemaining} {
		b := appendVarint(nil, v)
		if len(b) != sizeVarint(v) {
			t.Errorf("appendVarint(%d) wrote %d bytes, sizeVarint says %d", v, len(b), sizeVarint(v))
		}
		got, n, err := consumeVarint(b, TypePublish)
		if got != v || n != len(b) || err != nil {
			t.Errorf("consumeVarint(% X) = %d, %d, %v; want %d", b, got, n, err, v)
		}
		for i := range b {
			if _, _, err := consumeVarint(b[:i], TypePublish); err != ErrIncomplete {
				t.Errorf("consumeVarint(% X) = %v, want ErrIncomplete", b[:i], err)
			}
		}
	}
}

func TestErrorText(t *testing.T) {
	var d Decoder
	_, _, err := d.Decode([]byte{0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	got := []any{err.Error(), e.Packet(), e.Rule(), errors.Is(err, ErrMalformed)}
	want := []any{"mqttwire: PUBLISH: QoS 3 [MQTT-3.3.1-4]", TypePublish, "MQTT-3.3.1-4", true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestString(t *testing.T) {
	var got []string
	for _, p := range benchPackets() {
		got = append(got, fmt.Sprint(p))
	}
	want := []string{
		`CONNECT{Version:3.1.1 ClientID:"sensor-0042-kitchen" CleanSession:true KeepAlive:60 Will:{Topic:"devices/sensor-0042/status" QoS:1 Retain:false Message:7 bytes} Username:"sensor-0042" Password:12 bytes}`,
		`CONNACK{SessionPresent:true ReturnCode:0 (connection accepted)}`,
		`PUBLISH{Topic:"home/kitchen/sensor/temp1" QoS:1 Dup:false Retain:false PacketID:4711 Payload:1024 bytes}`,
		`PUBACK{PacketID:4711}`,
		`PUBREC{PacketID:4712}`,
		`PUBREL{PacketID:4712}`,
		`PUBCOMP{PacketID:4712}`,
		`SUBSCRIBE{PacketID:7 Filters:["home/+/sensor/#" QoS1 "alerts/critical" QoS2 "$SYS/broker/load/#" QoS0]}`,
		`SUBACK{PacketID:7 ReturnCodes:01 02 80}`,
		`UNSUBSCRIBE{PacketID:8 Topics:["home/+/sensor/#" "alerts/critical"]}`,
		`UNSUBACK{PacketID:8}`,
		`PINGREQ`, `PINGRESP`, `DISCONNECT`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("String() (-want +got):\n%s", diff)
	}
}
