package mqttwire

import (
	"math/rand"
	"testing"
)

// TestPlainFilter checks plainFilter against checkTopicFilter: a filter it
// passes must be valid, and every valid ASCII filter must pass; and
// plainFilters and plainTopics against plainFilter; over every
// string of up to eight bytes from a small alphabet of the bytes that matter
// and random longer ones.
func TestPlainFilter(t *testing.T) {
	check := func(s []byte) {
		t.Helper()
		plain, p := plainFilter(s), checkTopicFilter(s)
		ascii := true
		for _, c := range s {
			ascii = ascii && c < 0x80
		}
		if plain && p != textOK || !plain && p == textOK && ascii {
			t.Fatalf("plainFilter(%q) = %v, checkTopicFilter = %v", s, plain, p)
		}
		// plainFilters and plainTopics check most lengths in their own loop.
		if fs, ts := plainFilters([]TopicFilter{{Topic: s}}), plainTopics([][]byte{s}); fs != plain || ts != plain {
			t.Fatalf("plainFilter(%q) = %v, plainFilters = %v, plainTopics = %v", s, plain, fs, ts)
		}
	}
	alphabet := []byte{'a', '/', '+', '#', 0, 0xC3, 0xA9, '\'', '3', '/' | 0x80}
	var walk func(s []byte, depth int)
	walk = func(s []byte, depth int) {
		check(s)
		if depth == 0 {
			return
		}
		for _, c := range alphabet[:5] {
			walk(append(s, c), depth-1)
		}
	}
	walk(make([]byte, 0, 8), 8)
	r := rand.New(rand.NewSource(1))
	for range 200000 {
		s := make([]byte, 1+r.Intn(40))
		for i := range s {
			if r.Intn(3) == 0 {
				s[i] = alphabet[r.Intn(len(alphabet))]
			} else {
				s[i] = "ab/"[r.Intn(3)]
			}
		}
		check(s)
		// A valid filter of random levels, and then one byte changed.
		s = s[:0]
		for l := r.Intn(12); ; l-- {
			switch k := r.Intn(4); {
			case l == 0 && k == 0:
				s = append(s, '#')
			case k == 1:
				s = append(s, '+')
			default:
				for range r.Intn(6) {
					s = append(s, byte('a'+r.Intn(26)))
				}
			}
			if l <= 0 {
				break
			}
			s = append(s, '/')
		}
		check(s)
		if len(s) > 0 {
			s[r.Intn(len(s))] = alphabet[r.Intn(len(alphabet))]
			check(s)
		}
	}
}

// TestSubscribeAppendFast checks that Append, with its fast path, writes
// what appendChecked writes and fails as it fails, for random packets with
// filters of every length and random bytes, QoS and identifiers.
func TestSubscribeAppendFast(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for range 50000 {
		s := &Subscribe{PacketID: uint16(r.Intn(3))}
		for range r.Intn(4) {
			s.Filters = append(s.Filters, TopicFilter{Topic: randomFilter(r), QoS: QoS(r.Intn(4)*r.Intn(2) + r.Intn(2))})
		}
		got, gotErr := s.Append([]byte{0xEE})
		want, wantErr := s.appendChecked([]byte{0xEE})
		if gotErr != wantErr || string(got) != string(want) {
			t.Fatalf("%v: Append = % X, %v; appendChecked = % X, %v", s, got, gotErr, want, wantErr)
		}
	}
}

// TestUnsubscribeAppendFast is TestSubscribeAppendFast for UNSUBSCRIBE.
func TestUnsubscribeAppendFast(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for range 50000 {
		u := &Unsubscribe{PacketID: uint16(r.Intn(3))}
		for range r.Intn(4) {
			u.Topics = append(u.Topics, randomFilter(r))
		}
		got, gotErr := u.Append([]byte{0xEE})
		want, wantErr := u.appendChecked([]byte{0xEE})
		if gotErr != wantErr || string(got) != string(want) {
			t.Fatalf("%v: Append = % X, %v; appendChecked = % X, %v", u, got, gotErr, want, wantErr)
		}
	}
}

// TestDecodeFast checks that decode, with its fast path, decodes what
// decodeChecked decodes and fails as it fails, for SUBSCRIBE and
// UNSUBSCRIBE bodies of random filters, QoS bytes and cuts, through a
// Subscribe and an Unsubscribe reused as a Decoder reuses them.
func TestDecodeFast(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	var s1, s2 Subscribe
	var u1, u2 Unsubscribe
	for range 50000 {
		body := []byte{0, byte(r.Intn(3))}
		for range r.Intn(4) {
			f := randomFilter(r)
			body = append(body, byte(len(f)>>8), byte(len(f)))
			body = append(body, f...)
			if r.Intn(2) == 0 {
				body = append(body, byte(r.Intn(4)*r.Intn(2)+r.Intn(2)))
			}
		}
		body = body[:len(body)-r.Intn(2)*r.Intn(len(body)+1)]
		err1, err2 := s1.decode(body), s2.decodeChecked(body)
		if err1 != err2 || err1 == nil && s1.String() != s2.String() {
			t.Fatalf("SUBSCRIBE % X: decode = %v %v, decodeChecked = %v %v", body, err1, &s1, err2, &s2)
		}
		err1, err2 = u1.decode(body), u2.decodeChecked(body)
		if err1 != err2 || err1 == nil && u1.String() != u2.String() {
			t.Fatalf("UNSUBSCRIBE % X: decode = %v %v, decodeChecked = %v %v", body, err1, &u1, err2, &u2)
		}
	}
}

// randomFilter returns a topic filter of up to 29 bytes, mostly plain
// bytes and '/', sometimes one that matters to the rules.
func randomFilter(r *rand.Rand) []byte {
	alphabet := []byte("ab/+#/\x00\xc3")
	f := make([]byte, r.Intn(30))
	for i := range f {
		if r.Intn(8) == 0 {
			f[i] = alphabet[r.Intn(len(alphabet))]
		} else {
			f[i] = "abc/"[r.Intn(4)]
		}
	}
	return f
}
