package mqttwire

import (
	"encoding/binary"
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

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// hasZeroByte reports whether any byte of w is 0, for w with no high bits set.
func hasZeroByte(w uint64) bool { return (w-ones)&^w&highs != 0 }

// scanText checks that s is well-formed UTF-8 without U+0000 and reports
// whether it contains a wildcard character. It reads eight ASCII bytes a step
// and falls back to utf8.DecodeRune at the first byte that is not ASCII.
// U+FEFF, control characters and non-characters are accepted (decisions A9,
// A10).
func scanText(s []byte) (problem textProblem, wildcard bool) {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := binary.LittleEndian.Uint64(s[i:])
		if w&highs != 0 {
			break
		}
		if hasZeroByte(w) {
			return textNUL, wildcard
		}
		if hasZeroByte(w^('#'*ones)) || hasZeroByte(w^('+'*ones)) {
			wildcard = true
		}
	}
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case 0:
				return textNUL, wildcard
			case '#', '+':
				wildcard = true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			return textBadUTF8, wildcard
		}
		i += size
	}
	return textOK, wildcard
}

// checkText checks a UTF-8 string field such as a client id or user name:
// any length, well-formed UTF-8, no U+0000.
func checkText(s []byte) textProblem {
	p, _ := scanText(s)
	return p
}

// checkTopicName checks a topic name: at least one character, UTF-8 without
// U+0000, and no wildcard.
func checkTopicName(s []byte) textProblem {
	if len(s) == 0 {
		return textEmpty // [MQTT-4.7.3-1]
	}
	p, wildcard := scanText(s)
	if p == textOK && wildcard {
		return textWildcard // [MQTT-3.3.2-2], [MQTT-4.7.1-1]
	}
	return p
}

// checkTopicFilter checks a topic filter: at least one character, UTF-8
// without U+0000, and '+' and '#' only where they may stand.
func checkTopicFilter(s []byte) textProblem {
	if len(s) == 0 {
		return textEmpty // [MQTT-4.7.3-1]
	}
	p, wildcard := scanText(s)
	if p != textOK || !wildcard {
		return p
	}
	for i, c := range s {
		switch c {
		case '#':
			// [MQTT-4.7.1-2] the whole filter, or the last level after a '/'.
			if i != len(s)-1 || (i > 0 && s[i-1] != '/') {
				return textBadHash
			}
		case '+':
			// [MQTT-4.7.1-3] a whole level.
			if (i > 0 && s[i-1] != '/') || (i+1 < len(s) && s[i+1] != '/') {
				return textBadPlus
			}
		}
	}
	return textOK
}

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

// checkEncodedText is checkText for Append: it also refuses a string too long
// for its two-byte length prefix.
func checkEncodedText(s []byte, check func([]byte) textProblem) textProblem {
	if len(s) > 65535 {
		return textTooLong
	}
	return check(s)
}

// sizeFrame returns the size of a packet whose remaining length is remaining.
func sizeFrame(remaining int) int { return 1 + sizeVarint(remaining) + remaining }

// grow makes room for n more bytes in b, allocating only if cap(b)-len(b) < n.
func grow(b []byte, n int) []byte { return slices.Grow(b, n) }
