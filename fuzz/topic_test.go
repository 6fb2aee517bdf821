package fuzz

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/mqttwire/mqttwire"
)

// FuzzTopic checks topic name and filter validation and MatchTopic against
// plain implementations of §4.7, and the properties that tie them together:
// a filter matches a name only if both are valid; a valid name is a valid
// filter that matches itself; "#" matches every valid name that does not
// start with '$'. Validation must agree with what Append accepts in a
// PUBLISH, SUBSCRIBE and UNSUBSCRIBE, and nothing may allocate.
func FuzzTopic(f *testing.F) {
	f.Fuzz(func(t *testing.T, filter, name []byte) {
		for _, s := range [][]byte{filter, name} {
			checkValidation(t, s)
		}
		match := mqttwire.MatchTopic(filter, name)
		want := refValidFilter(filter) && refValidName(name) && refMatch(filter, name)
		if match != want {
			failf(t, "topic-match", "MatchTopic(%q, %q) = %v, want %v", filter, name, match, want)
		}
		if match && (mqttwire.ValidateTopicFilter(filter) != nil || mqttwire.ValidateTopicName(name) != nil) {
			failf(t, "topic-match", "MatchTopic(%q, %q) with an invalid filter or name", filter, name)
		}
		for _, n := range [][]byte{filter, name} {
			if mqttwire.ValidateTopicName(n) != nil {
				continue
			}
			if !mqttwire.MatchTopic(n, n) {
				failf(t, "topic-match-self", "the name %q does not match itself as a filter", n)
			}
			if hash := mqttwire.MatchTopic([]byte("#"), n); hash != (n[0] != '$') {
				failf(t, "topic-match-hash", "MatchTopic(\"#\", %q) = %v", n, hash)
			}
			// Each level replaced by '+' matches unless the name starts
			// with '$'; the first level followed by "/#" matches.
			levels := bytes.Split(n, []byte("/"))
			plus := bytes.Repeat([]byte("+/"), len(levels))
			plus = plus[:len(plus)-1]
			if got := mqttwire.MatchTopic(plus, n); got != (n[0] != '$') {
				failf(t, "topic-match-plus", "MatchTopic(%q, %q) = %v", plus, n, got)
			}
			if f := append(bytes.Clone(levels[0]), "/#"...); !mqttwire.MatchTopic(f, n) {
				failf(t, "topic-match-hash", "MatchTopic(%q, %q) = false", f, n)
			}
		}
		if allocs := testing.AllocsPerRun(10, func() {
			mqttwire.MatchTopic(filter, name)
			mqttwire.ValidateTopicName(name)
			mqttwire.ValidateTopicFilter(filter)
		}); allocs != 0 {
			failf(t, "topic-allocs", "MatchTopic and validation allocate %v times", allocs)
		}
	})
}

// checkValidation checks ValidateTopicName and ValidateTopicFilter on s
// against the plain rules, and against Append.
func checkValidation(t *testing.T, s []byte) {
	t.Helper()
	nameErr := mqttwire.ValidateTopicName(s)
	if (nameErr == nil) != refValidName(s) {
		failf(t, "topic-name", "ValidateTopicName(%q) = %v, want valid = %v", s, nameErr, refValidName(s))
	}
	filterErr := mqttwire.ValidateTopicFilter(s)
	if (filterErr == nil) != refValidFilter(s) {
		failf(t, "topic-filter", "ValidateTopicFilter(%q) = %v, want valid = %v", s, filterErr, refValidFilter(s))
	}
	for _, err := range []error{nameErr, filterErr} {
		if err != nil && !errors.Is(err, mqttwire.ErrInvalid) {
			failf(t, "topic-error-kind", "validation error %v does not wrap ErrInvalid", err)
		}
	}
	if mqttwire.ValidateTopicName(s) != nameErr || mqttwire.ValidateTopicFilter(s) != filterErr {
		failf(t, "topic-error-static", "validating %q twice gives two different errors", s)
	}

	// Append accepts exactly the valid names and filters, and they decode
	// back unchanged.
	packets := []struct {
		p     mqttwire.Packet
		valid bool
		topic func(mqttwire.Packet) []byte
	}{
		{&mqttwire.Publish{Topic: s}, nameErr == nil, func(p mqttwire.Packet) []byte { return p.(*mqttwire.Publish).Topic }},
		{&mqttwire.Subscribe{PacketID: 1, Filters: []mqttwire.TopicFilter{{Topic: s}}}, filterErr == nil,
			func(p mqttwire.Packet) []byte { return p.(*mqttwire.Subscribe).Filters[0].Topic }},
		{&mqttwire.Unsubscribe{PacketID: 1, Topics: [][]byte{s}}, filterErr == nil,
			func(p mqttwire.Packet) []byte { return p.(*mqttwire.Unsubscribe).Topics[0] }},
	}
	for _, c := range packets {
		enc, err := c.p.Append(nil)
		if (err == nil) != c.valid {
			failf(t, "topic-append", "%v.Append with %q: %v; validation says valid = %v", c.p.Type(), s, err, c.valid)
		}
		if err != nil {
			continue
		}
		var d mqttwire.Decoder
		p, _, err := d.Decode(enc)
		if err != nil || !bytes.Equal(c.topic(p), s) {
			failf(t, "topic-append", "%v with %q: decoding % X gives %v", c.p.Type(), s, enc, err)
		}
	}
}

// refValidName reports whether s is a valid topic name by §4.7 and §1.5.3:
// 1 to 65,535 bytes of well-formed UTF-8, no U+0000, no wildcard.
func refValidName(s []byte) bool {
	return refValidText(s) && bytes.IndexAny(s, "+#") < 0
}

// refValidFilter reports whether s is a valid topic filter: valid text
// whose every level is "+", "#" as the last level, or has no wildcard.
func refValidFilter(s []byte) bool {
	if !refValidText(s) {
		return false
	}
	levels := bytes.Split(s, []byte("/"))
	for i, level := range levels {
		switch {
		case string(level) == "+":
		case string(level) == "#":
			if i != len(levels)-1 {
				return false
			}
		case bytes.IndexAny(level, "+#") >= 0:
			return false
		}
	}
	return true
}

func refValidText(s []byte) bool {
	return len(s) >= 1 && len(s) <= 65535 && utf8.Valid(s) && bytes.IndexByte(s, 0) < 0
}

// refMatch reports whether a valid filter matches a valid name, level by
// level, with the '$' rule of [MQTT-4.7.2-1].
func refMatch(filter, name []byte) bool {
	f, n := bytes.Split(filter, []byte("/")), bytes.Split(name, []byte("/"))
	if name[0] == '$' && (string(f[0]) == "+" || string(f[0]) == "#") {
		return false
	}
	for {
		switch {
		case len(f) == 0:
			return len(n) == 0
		case string(f[0]) == "#":
			return true // this level and every one below, the parent included
		case len(n) == 0:
			return false
		case string(f[0]) != "+" && !bytes.Equal(f[0], n[0]):
			return false
		}
		f, n = f[1:], n[1:]
	}
}
