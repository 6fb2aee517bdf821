package mqttwire

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"unicode/utf8"
)

// Design note: the primitives follow protowire's vocabulary. sizeX reports
// the encoded length, appendX writes, consumeX reads and reports how many
// bytes it used. A consume function never reads past the slice it is given:
// the caller hands it exactly the packet body, so a length that runs past the
// body is a malformed packet, never a short read.

// sizeVarint returns the length of the remaining-length encoding of v,
// 0 <= v <= MaxRemaining.
func sizeVarint(v int) int {
	switch {
	case v < 1<<7:
		return 1
	case v < 1<<14:
		return 2
	case v < 1<<21:
		return 3
	}
	return 4
}

// appendVarint appends the shortest encoding of the remaining length v,
// 0 <= v <= MaxRemaining: seven bits a byte, least significant first, with
// bit 7 set on every byte but the last (§2.2.3).
func appendVarint(b []byte, v int) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// consumeVarint reads a remaining length from the start of b. It returns
// ErrIncomplete while the encoding is cut short, and a malformed error when a
// fourth byte still has its continuation bit set or when the encoding is
// longer than the shortest one (decision A1).
func consumeVarint(b []byte) (v, n int, err error) {
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, ErrIncomplete
		}
		c := b[i]
		v |= int(c&0x7f) << (7 * i)
		if c < 0x80 {
			if c == 0 && i > 0 {
				// A last byte of 0 adds nothing: a shorter encoding exists.
				return 0, 0, errLengthNotMinimal
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, errLengthTooLong // §2.2.3: at most four bytes
}

// consumeUint16 reads a big-endian two-byte integer.
func consumeUint16(b []byte) (uint16, bool) {
	if len(b) < 2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(b), true
}

func appendUint16(b []byte, v uint16) []byte { return append(b, byte(v>>8), byte(v)) }

// sizeString returns the encoded length of a length-prefixed string.
func sizeString(s []byte) int { return 2 + len(s) }

// appendString appends s with its two-byte length prefix. The caller has
// checked that len(s) <= 65535.
func appendString(b, s []byte) []byte {
	b = append(b, byte(len(s)>>8), byte(len(s)))
	return append(b, s...)
}

// consumeString reads a length-prefixed string (§1.5.3). The returned slice
// aliases b. ok is false when b is shorter than the prefix says.
func consumeString(b []byte) (s []byte, n int, ok bool) {
	if len(b) < 2 {
		return nil, 0, false
	}
	n = 2 + (int(b[0])<<8 | int(b[1]))
	if n > len(b) {
		return nil, 0, false
	}
	return b[2:n:n], n, true
}

// textProblem says what is wrong with a UTF-8 string field, topic name or
// topic filter; textOK means nothing is.
type textProblem uint8

const (
	textOK       textProblem = iota
	textEmpty                // a topic name or filter with no characters [MQTT-4.7.3-1]
	textBadUTF8              // ill-formed UTF-8 [MQTT-1.5.3-1]
	textNUL                  // an encoded U+0000 [MQTT-1.5.3-2]
	textWildcard             // '+' or '#' in a topic name [MQTT-3.3.2-2], [MQTT-4.7.1-1]
	textBadHash              // '#' other than as the whole last level [MQTT-4.7.1-2]
	textBadPlus              // '+' other than as a whole level [MQTT-4.7.1-3]
	textTooLong              // longer than 65,535 bytes (encoding only)
	textProblems
)

// textKind says which rules a string field follows.
type textKind uint8

const (
	kindString textKind = iota // a UTF-8 string field: any length
	kindName                   // a topic name: not empty, no wildcard
	kindFilter                 // a topic filter: not empty, wildcards placed right
)

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special reports whether any of the eight bytes in w needs a closer look: a
// byte that is not ASCII, U+0000, or (unless kind is kindString) '#' or '+'.
func special(w uint64, kind textKind) bool {
	if kind == kindString {
		return ((w-ones)&^w|w)&highs != 0
	}
	return markSpecial(w)&highs != 0
}

// checkKind checks s against the rules of kind. A first pass reads eight
// bytes a step and only asks whether anything needs a closer look; strings of
// plain ASCII, the usual case, end there. U+FEFF, control characters and
// non-characters are accepted (decisions A9, A10).
func checkKind(s []byte, kind textKind) textProblem {
	if len(s) < 8 {
		if len(s) == 0 && kind != kindString {
			return textEmpty // [MQTT-4.7.3-1]
		}
		_, p := checkBytes(s, 0, len(s), kind)
		return p
	}
	if kind == kindFilter {
		return checkWords(s, kind) // filters often hold wildcards: one exact pass
	}
	// The last step reads the last eight bytes, overlapping the step before.
	var marks uint64
	if kind == kindString {
		for rest := s; len(rest) > 8; rest = rest[8:] {
			w := binary.LittleEndian.Uint64(rest)
			marks |= (w-ones)&^w | w
		}
		w := binary.LittleEndian.Uint64(s[len(s)-8:])
		marks |= (w-ones)&^w | w
	} else { // kindName
		for rest := s; len(rest) > 8; rest = rest[8:] {
			marks |= markSpecial(binary.LittleEndian.Uint64(rest))
		}
		marks |= markSpecial(binary.LittleEndian.Uint64(s[len(s)-8:]))
	}
	if marks&highs == 0 {
		return textOK
	}
	return checkWords(s, kind)
}

// markSpecial sets bit 7 of a byte of the result where the byte of w is not
// ASCII, is 0, or is '#' or '+', and maybe at the byte after such a byte; it
// never misses one. '#' (0x23) and '+' (0x2B) differ only in bit 3, so
// clearing it maps both, and no other byte, to 0x23.
func markSpecial(w uint64) uint64 {
	wild := w&^(0x08*ones) ^ ('#' * ones)
	return (w-ones)&^w | w | (wild-ones)&^wild
}

// checkWords checks s, of eight bytes or more, a step of eight bytes at a
// time: a step of plain ASCII costs a few instructions, a step with a
// wildcard or U+0000 in it is checked at exactly those bytes, and a step with
// a byte that is not ASCII is checked byte by byte.
func checkWords(s []byte, kind textKind) textProblem {
	i := 0
	for i+8 <= len(s) {
		w := binary.LittleEndian.Uint64(s[i:])
		switch {
		case !special(w, kind):
			i += 8
		case w&highs == 0:
			if p := checkWord(s, i, w, kind); p != textOK {
				return p
			}
			i += 8
		default:
			var p textProblem
			if i, p = checkBytes(s, i, i+8, kind); p != textOK {
				return p
			}
		}
	}
	if i == len(s) {
		return textOK
	}
	// The last eight bytes, overlapping some already checked: checking an
	// ASCII byte twice gives the same answer.
	w := binary.LittleEndian.Uint64(s[len(s)-8:])
	if !special(w, kind) {
		return textOK
	}
	if w&highs == 0 {
		return checkWord(s, len(s)-8, w, kind)
	}
	_, p := checkBytes(s, i, len(s), kind)
	return p
}

// checkWord checks the eight ASCII bytes of w, which stand at s[i:i+8], at
// each byte that is U+0000 or a wildcard.
func checkWord(s []byte, i int, w uint64, kind textKind) textProblem {
	const low7 = 0x7f7f7f7f7f7f7f7f
	// Without high bits, adding 0x7f to a byte carries into bit 7 unless the
	// byte is 0, so m has bit 7 set exactly at the bytes that are 0.
	m := ^(w + low7 | w | low7)
	if kind != kindString {
		wild := w&^(0x08*ones) ^ ('#' * ones)
		m |= ^(wild + low7 | wild | low7)
	}
	for ; m != 0; m &= m - 1 {
		if p := checkASCII(s, i+bits.TrailingZeros64(m)>>3, kind); p != textOK {
			return p
		}
	}
	return textOK
}

// checkBytes checks s byte by byte from i, which starts a character, to at
// least end, and returns where it stopped: end, or past it when a character
// runs on.
func checkBytes(s []byte, i, end int, kind textKind) (int, textProblem) {
	for i < end {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				return i, textBadUTF8 // [MQTT-1.5.3-1]
			}
			i += size
			continue
		}
		if c == 0 || c == '#' || c == '+' {
			if p := checkASCII(s, i, kind); p != textOK {
				return i, p
			}
		}
		i++
	}
	return i, textOK
}

// checkASCII checks the ASCII byte s[i] under the rules of kind.
func checkASCII(s []byte, i int, kind textKind) textProblem {
	switch c := s[i]; {
	case c == 0:
		return textNUL // [MQTT-1.5.3-2]
	case c != '#' && c != '+', kind == kindString:
	case kind == kindName:
		return textWildcard // [MQTT-3.3.2-2], [MQTT-4.7.1-1]
	case c == '#' && (i != len(s)-1 || (i > 0 && s[i-1] != '/')):
		return textBadHash // [MQTT-4.7.1-2] the whole filter or the last level
	case c == '+' && ((i > 0 && s[i-1] != '/') || (i+1 < len(s) && s[i+1] != '/')):
		return textBadPlus // [MQTT-4.7.1-3] a whole level
	}
	return textOK
}

// checkText checks a UTF-8 string field such as a client id or user name:
// any length, well-formed UTF-8, no U+0000.
func checkText(s []byte) textProblem { return checkKind(s, kindString) }

// checkTopicName checks a topic name: at least one character, UTF-8 without
// U+0000, and no wildcard.
func checkTopicName(s []byte) textProblem { return checkKind(s, kindName) }

// checkTopicFilter checks a topic filter: at least one character, UTF-8
// without U+0000, and '+' and '#' only where they may stand.
func checkTopicFilter(s []byte) textProblem { return checkKind(s, kindFilter) }

// textErrors builds the errors for one string field of one packet type,
// indexed by textProblem.
func textErrors(kind error, t Type, field string) (errs [textProblems]*Error) {
	errs[textEmpty] = newError(kind, t, "MQTT-4.7.3-1", field+" is empty")
	errs[textBadUTF8] = newError(kind, t, "MQTT-1.5.3-1", field+" is not well-formed UTF-8")
	errs[textNUL] = newError(kind, t, "MQTT-1.5.3-2", field+" contains U+0000")
	errs[textWildcard] = newError(kind, t, "MQTT-3.3.2-2", field+" contains a wildcard")
	errs[textBadHash] = newError(kind, t, "MQTT-4.7.1-2", field+": '#' must be the whole last level")
	errs[textBadPlus] = newError(kind, t, "MQTT-4.7.1-3", field+": '+' must fill a whole level")
	errs[textTooLong] = newError(kind, t, "MQTT-4.7.3-3", field+" is longer than 65,535 bytes")
	return errs
}

// checkEncodedText is checkKind for Append: it also refuses a string too
// long for its two-byte length prefix.
func checkEncodedText(s []byte, kind textKind) textProblem {
	if len(s) > 65535 {
		return textTooLong
	}
	return checkKind(s, kind)
}

// sizeFrame returns the size of a packet whose remaining length is remaining.
func sizeFrame(remaining int) int { return 1 + sizeVarint(remaining) + remaining }

// grow makes room for n more bytes in b, allocating only if cap(b)-len(b) < n.
func grow(b []byte, n int) []byte { return slices.Grow(b, n) }
