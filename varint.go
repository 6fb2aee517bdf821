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

// consumeVarint reads the remaining length of a packet of type t from the
// start of b. It returns ErrIncomplete while the encoding is cut short, and a
// malformed error naming t when a fourth byte still has its continuation bit
// set or when the encoding is longer than the shortest one (decision A1).
func consumeVarint(b []byte, t Type) (v, n int, err error) {
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, ErrIncomplete
		}
		c := b[i]
		v |= int(c&0x7f) << (7 * i)
		if c < 0x80 {
			if c == 0 && i > 0 {
				// A last byte of 0 adds nothing: a shorter encoding exists.
				return 0, 0, errLengthNotMinimal[t]
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, errLengthTooLong[t] // §2.2.3: at most four bytes
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
	low7  = 0x7f7f7f7f7f7f7f7f
	fill  = 'a' * ones // a byte every kind accepts, for padding a short word
)

// Design note: text is checked in two steps. checkPlain takes the cheap first
// look, three operations per eight bytes: every byte ASCII and at or above a
// floor below which every byte that can break the rules lies. Most client
// ids, user names and topic names end there. Whatever it does not clear,
// including every topic filter, checkExact checks exactly, still eight bytes
// a step, looking at single bytes only where there is U+0000 or a wildcard,
// and byte by byte from the first word that is not ASCII.

// Floors for checkPlain: U+0000 is the only ASCII byte a UTF-8 string field
// forbids; a topic also forbids '#' (0x23) and '+' (0x2B), so below ','
// (0x2C) lies all that a topic name can break.
const (
	floorString = 1
	floorName   = ','
)

// checkPlain checks s against the rules of kind. For a string field or a
// topic name it first asks cheaply whether every byte is ASCII and at least
// the kind's floor, and only if one is not asks checkExact; a filter goes to
// checkExact at once, since filters often hold wildcards. For a word w of
// such bytes, w - floor*ones borrows nowhere and leaves bit 7 of every byte
// clear; a byte below floor, the lowest one, sets its bit 7, and a byte that
// is not ASCII has it already.
func checkPlain(s []byte, kind textKind) textProblem {
	floor := uint64(floorString)
	switch kind {
	case kindFilter:
		return checkExact(s, kind)
	case kindName:
		floor = floorName
	}
	k := floor * ones
	n := len(s)
	var m uint64
	switch {
	case n > 32:
		// The last step reads the last eight bytes, overlapping the step
		// before: a byte checked twice gives the same answer.
		for i := 0; i < n-8; i += 8 {
			w := binary.LittleEndian.Uint64(s[i:])
			m |= w - k | w
		}
		w := binary.LittleEndian.Uint64(s[n-8:])
		m |= w - k | w
	case n >= 16:
		// Four words, overlapping as needed, cover 16 to 32 bytes.
		a := binary.LittleEndian.Uint64(s)
		b := binary.LittleEndian.Uint64(s[8:])
		c := binary.LittleEndian.Uint64(s[n-16:])
		d := binary.LittleEndian.Uint64(s[n-8:])
		m = (a - k | a) | (b - k | b) | (c - k | c) | (d - k | d)
	case n >= 8:
		a := binary.LittleEndian.Uint64(s)
		b := binary.LittleEndian.Uint64(s[n-8:])
		m = (a - k | a) | (b - k | b)
	case n >= 4:
		w := uint64(binary.LittleEndian.Uint32(s)) | uint64(binary.LittleEndian.Uint32(s[n-4:]))<<32
		m = w - k | w
	case n > 0:
		for _, c := range s {
			m |= uint64(c) - floor | uint64(c)
		}
		m &= 0x80
	case kind != kindString:
		return textEmpty // [MQTT-4.7.3-1]
	}
	if m&highs == 0 {
		return textOK
	}
	return checkExact(s, kind)
}

// checkExact checks s against the rules of kind, exactly, and reports the
// first problem in s. It reads eight bytes a step and looks at single bytes
// only where one is U+0000 or a wildcard, or from the first step with a byte
// that is not ASCII.
func checkExact(s []byte, kind textKind) textProblem {
	n := len(s)
	if n == 0 && kind != kindString {
		return textEmpty // [MQTT-4.7.3-1]
	}
	for i := 0; i < n; i += 8 {
		// w holds s[base:base+8]; keep marks the bytes from i on, those not
		// checked yet.
		var w uint64
		base, keep := i, uint64(highs)
		switch {
		case i+8 <= n:
			w = binary.LittleEndian.Uint64(s[i:])
		case n >= 8:
			// The last bytes: read the last eight, overlapping the step
			// before.
			base = n - 8
			w = binary.LittleEndian.Uint64(s[base:])
			keep <<= uint(i-base) * 8
		default:
			// Fewer than eight bytes: pad with a byte every kind accepts.
			w = fill
			for j := n - 1; j >= 0; j-- {
				w = w<<8 | uint64(s[j])
			}
		}
		if w&highs != 0 {
			// Not ASCII: byte by byte from i, where a character starts,
			// since every byte before it is ASCII.
			return checkBytes(s, i, kind)
		}
		for m := specialMarks(w, kind) & keep; m != 0; m &= m - 1 {
			if p := checkSpecial(s, base+bits.TrailingZeros64(m)>>3, kind); p != textOK {
				return p
			}
		}
	}
	return textOK
}

// specialMarks sets bit 7 of each byte of the result where the byte of w, a
// word of ASCII bytes, is U+0000 or, unless kind is kindString, '#' or '+'.
func specialMarks(w uint64, kind textKind) uint64 {
	// Without bit 7, adding 0x7f to a byte carries into bit 7 unless the
	// byte is 0.
	m := w + low7
	if kind != kindString {
		// '#' (0x23) and '+' (0x2B) differ only in bit 3: clearing it and
		// XORing with '#' makes both, and no other byte, zero.
		m &= w&^(0x08*ones) ^ '#'*ones + low7
	}
	return highs &^ m
}

// checkBytes checks s byte by byte from i, which starts a character, to the
// end.
func checkBytes(s []byte, i int, kind textKind) textProblem {
	for i < len(s) {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				return textBadUTF8 // [MQTT-1.5.3-1]
			}
			i += size
			continue
		}
		if c == 0 || c == '#' || c == '+' {
			if p := checkSpecial(s, i, kind); p != textOK {
				return p
			}
		}
		i++
	}
	return textOK
}

// checkSpecial checks s[i], which is U+0000, '#' or '+', under the rules of
// kind.
func checkSpecial(s []byte, i int, kind textKind) textProblem {
	switch c := s[i]; {
	case c == 0:
		return textNUL // [MQTT-1.5.3-2]
	case kind == kindString:
	case kind == kindName:
		return textWildcard // [MQTT-3.3.2-2], [MQTT-4.7.1-1]
	case i > 0 && s[i-1] != '/':
		if c == '#' {
			return textBadHash // [MQTT-4.7.1-2]
		}
		return textBadPlus // [MQTT-4.7.1-3]
	case c == '#':
		if i != len(s)-1 {
			return textBadHash // [MQTT-4.7.1-2] the last level only
		}
	case i+1 < len(s) && s[i+1] != '/':
		return textBadPlus // [MQTT-4.7.1-3] a whole level
	}
	return textOK
}

// checkText checks a UTF-8 string field such as a client id or user name:
// any length, well-formed UTF-8, no U+0000.
func checkText(s []byte) textProblem { return checkPlain(s, kindString) }

// checkTopicName checks a topic name: at least one character, UTF-8 without
// U+0000, and no wildcard.
func checkTopicName(s []byte) textProblem { return checkPlain(s, kindName) }

// checkTopicFilter checks a topic filter: at least one character, UTF-8
// without U+0000, and '+' and '#' only where they may stand.
func checkTopicFilter(s []byte) textProblem { return checkExact(s, kindFilter) }

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

// checkEncodedText checks s for Append against the rules of kind, and also
// refuses a string too long for its two-byte length prefix. U+FEFF, control
// characters and non-characters are accepted (decisions A9, A10).
func checkEncodedText(s []byte, kind textKind) textProblem {
	if len(s) > 65535 {
		return textTooLong
	}
	return checkPlain(s, kind)
}

// sizeFrame returns the size of a packet whose remaining length is remaining.
func sizeFrame(remaining int) int { return 1 + sizeVarint(remaining) + remaining }

// grow makes room for n more bytes in b, allocating only if cap(b)-len(b) < n.
func grow(b []byte, n int) []byte { return slices.Grow(b, n) }
