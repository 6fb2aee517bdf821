package mqttwire

import (
	"math/rand"
	"testing"
)

// TestPlainFilter checks plainFilter against checkTopicFilter: a filter it
// passes must be valid, and every valid ASCII filter must pass, over every
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
