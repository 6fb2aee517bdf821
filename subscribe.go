package mqttwire

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Design note: a decoded Subscribe keeps its filters in a slice that the
// Decoder reuses. The first SUBSCRIBE with k filters allocates room for k;
// later ones with no more than that allocate nothing. Decoding checks every
// filter in one pass, storing it while the slice has room; a packet with more
// filters than that gets a slice of its exact size, allocated only once all
// are checked (never grown step by step, and never for a malformed packet),
// and a second pass fills it. Unsubscribe does the same with Topics.

// TopicFilter is one subscription request: a topic filter and the maximum QoS
// the client asks for.
type TopicFilter struct {
	Topic []byte // a topic filter: '+' and '#' allowed where §4.7.1 says
	QoS   QoS
}

// Design note: SUBSCRIBE and UNSUBSCRIBE ask plainFilter first, a check that
// answers yes only for a filter that checkTopicFilter would pass, and ask
// checkTopicFilter only when it answers no: for a filter that is not ASCII,
// and for every bad one, so that the error is the one checkTopicFilter names.

// plainFilter reports whether s is a topic filter of ASCII bytes other than
// U+0000 with each '+' and '#' where §4.7.1 lets it stand, and so valid. It
// reports false for an empty s and for any that is not ASCII or not valid:
// checkTopicFilter then judges it. It reads s eight bytes a word, each word
// starting at most seven bytes after the one before, so that every two
// neighbouring bytes lie in one word, and the last word ending at the end of
// s: two words up to 15 bytes, three up to 22, with no loop. A filter shorter
// than eight bytes is moved to the top of a word filled below with '/'.
// filterWord then sees every neighbour that a rule asks about.
func plainFilter(s []byte) bool {
	switch n := len(s); {
	case n == 0:
		return false // textEmpty
	case n < 8:
		return filterWord(shortWord(s))
	case n <= 15:
		return filterWord(binary.LittleEndian.Uint64(s)) && filterWord(binary.LittleEndian.Uint64(s[n-8:]))
	case n <= 22:
		return filterWord(binary.LittleEndian.Uint64(s)) && filterWord(binary.LittleEndian.Uint64(s[7:])) &&
			filterWord(binary.LittleEndian.Uint64(s[n-8:]))
	default:
		for i := 0; i < n-8; i += 7 {
			if !filterWord(binary.LittleEndian.Uint64(s[i:])) {
				return false
			}
		}
		return filterWord(binary.LittleEndian.Uint64(s[n-8:]))
	}
}

// shortWord returns s, of one to seven bytes, as the top bytes of a word
// whose bytes below are '/': a '/' before the first byte lets a wildcard
// stand there, as at the start of s.
func shortWord(s []byte) uint64 {
	n := uint(len(s))
	var w uint64
	if n >= 4 {
		// Two overlapping halves: a byte read twice is the same byte.
		w = uint64(binary.LittleEndian.Uint32(s))<<(32-8*(n-4)) | uint64(binary.LittleEndian.Uint32(s[n-4:]))<<32
		return w | slashes>>(8*n)
	}
	w = slashes
	for _, c := range s {
		w = w>>8 | uint64(c)<<56
	}
	return w
}

const slashes = '/' * ones

// filterWord reports whether w, eight bytes of a topic filter, breaks none
// of the rules plainFilter checks: every byte ASCII and not U+0000
// [MQTT-1.5.3-2], a '+' or '#' only after a '/' [MQTT-4.7.1-2],
// [MQTT-4.7.1-3], a '+' only before a '/' [MQTT-4.7.1-3], and a '#' only
// last [MQTT-4.7.1-2]. It looks at neighbours inside w only: the first byte
// of w has no byte before it, the last none after it, and a '+' or '#' there
// breaks nothing here. plainFilter reads the words so that each such byte is
// judged in another word, or stands at the start or end of the filter, where
// nothing is asked of that neighbour.
func filterWord(w uint64) bool {
	// Most words hold only ASCII bytes at or above ',' (0x2C), which lies
	// above U+0000, '#' and '+': see checkPlain.
	if (w-','*ones|w)&highs == 0 {
		return true
	}
	// For an ASCII byte c and a constant k < 0x80, c^k is 0 only if c == k,
	// and 0x80 - (c^k) sets bit 7 only then; x + 0x7f, for x < 0x80, sets
	// bit 7 only if x != 0. Neither borrows from nor carries into another
	// byte. '#' (0x23) and '+' (0x2B) differ only in bit 3.
	plus := w ^ '+'*ones // 0 at a '+', 0x08 at a '#'
	slash := w ^ slashes // 0 at a '/'
	wild := highs - plus&^(0x08*ones)
	// A wildcard is good only where the byte before it is '/' (or none),
	// and it is the last byte, or a '+' with a '/' after it. Byte i of near
	// is slash of the byte before, ORed but in the last byte with plus of
	// byte i and slash of the byte after: 0 only where a wildcard at i is
	// good.
	near := slash<<8 | (plus<<8|slash)>>8
	// w | highs-w marks a byte not ASCII or U+0000 (any borrow past a byte
	// not ASCII only marks a word that fails already).
	return (w|(highs-w)|wild&(near+low7))&highs == 0
}

// Subscribe is the SUBSCRIBE packet (§3.8). The filters of a decoded
// Subscribe alias the decoded input, and the Filters slice is reused by the
// next decode.
type Subscribe struct {
	PacketID uint16
	Filters  []TopicFilter // at least one
}

var (
	errSubscribeEmpty     = malformed(TypeSubscribe, "MQTT-3.8.3-3", "no topic filter")
	errSubscribeCut       = malformed(TypeSubscribe, "", "topic filter cut short or without its QoS byte (§3.8.3)")
	errSubscribeQoS       = malformed(TypeSubscribe, "MQTT-3.8.3-4", "requested QoS byte is not 0, 1 or 2")
	errSubscribeText      = textErrors(ErrMalformed, TypeSubscribe, "topic filter")
	errSubscribeEmptyEnc  = invalid(TypeSubscribe, "MQTT-3.8.3-3", "no topic filter")
	errSubscribeQoSEnc    = invalid(TypeSubscribe, "MQTT-3.8.3-4", "requested QoS above 2")
	errSubscribeTextEnc   = textErrors(ErrInvalid, TypeSubscribe, "topic filter")
	errUnsubscribeEmpty   = malformed(TypeUnsubscribe, "MQTT-3.10.3-2", "no topic filter")
	errUnsubscribeCut     = malformed(TypeUnsubscribe, "MQTT-3.10.3-1", "topic filter cut short")
	errUnsubscribeText    = textErrors(ErrMalformed, TypeUnsubscribe, "topic filter")
	errUnsubscribeEmptyEn = invalid(TypeUnsubscribe, "MQTT-3.10.3-2", "no topic filter")
	errUnsubscribeTextEnc = textErrors(ErrInvalid, TypeUnsubscribe, "topic filter")
	errSubackEmpty        = malformed(TypeSuback, "MQTT-3.8.4-5", "no return code")
	errSubackCode         = malformed(TypeSuback, "MQTT-3.9.3-2", "return code is not 0x00, 0x01, 0x02 or 0x80")
	errSubackV31          = malformed(TypeSuback, "MQTT-3.9.3-2", "return code 0x80 in a 3.1 session")
	errSubackEmptyEnc     = invalid(TypeSuback, "MQTT-3.8.4-5", "no return code")
	errSubackCodeEnc      = invalid(TypeSuback, "MQTT-3.9.3-2", "return code is not 0x00, 0x01, 0x02 or 0x80")
	errSubackV31Enc       = invalid(TypeSuback, "MQTT-3.9.3-2", "return code 0x80 in a 3.1 session")
	errSubackVersionEnc   = invalid(TypeSuback, "", "Version must be 0, V31 or V311")
)

// Type returns TypeSubscribe.
func (*Subscribe) Type() Type { return TypeSubscribe }

func (s *Subscribe) remaining() int {
	n := 2
	for i := range s.Filters {
		n += sizeString(s.Filters[i].Topic) + 1
	}
	return n
}

// Size returns the encoded length of s.
func (s *Subscribe) Size() int { return sizeFrame(s.remaining()) }

// Append validates s and appends its encoding to b. It does no allocation
// when cap(b)-len(b) >= s.Size().
func (s *Subscribe) Append(b []byte) ([]byte, error) {
	// The common case first: a packet identifier, filters with a good QoS
	// and a topic that fits its length prefix and that plainFilter passes,
	// and a size that fits, so that no error is to be chosen; anything else
	// goes to appendChecked, which checks s anew in the order of the rules.
	fs := s.Filters
	remaining, odd := 2, false
	for i := range fs {
		remaining += 3 + len(fs[i].Topic)
		odd = odd || fs[i].QoS > QoS2 || len(fs[i].Topic) > 65535
	}
	if odd || s.PacketID == 0 || len(fs) == 0 || remaining > MaxRemaining || !plainFilters(fs) {
		return s.appendChecked(b)
	}
	// Write at offsets computed from the size, into room made once.
	size := sizeFrame(remaining)
	b = grow(b, size)
	n := len(b)
	b = b[:n+size]
	rest := putHeader(b[n:], TypeSubscribe, remaining, s.PacketID)
	for i := range fs {
		t := fs[i].Topic
		m := len(t)
		if len(rest) < m+3 {
			break // never: rest holds what remaining counted
		}
		rest[0], rest[1] = byte(m>>8), byte(m)
		copyTopic(rest[2:m+2], t)
		rest[m+2] = byte(fs[i].QoS)
		rest = rest[m+3:]
	}
	return b, nil
}

// putHeader writes the fixed header of a packet of type t with the remaining
// length remaining, and the packet identifier id, at the start of out, and
// returns the rest of out.
func putHeader(out []byte, t Type, remaining int, id uint16) []byte {
	out[0] = byte(t)<<4 | fixedFlags[t]
	j := 1
	for ; remaining >= 0x80; remaining >>= 7 {
		out[j] = byte(remaining) | 0x80
		j++
	}
	out[j] = byte(remaining)
	out[j+1], out[j+2] = byte(id>>8), byte(id)
	return out[j+3:]
}

// plainFilters reports whether plainFilter passes the topic of every
// filter in fs. A topic of 8 to 22 bytes, the common case, it checks as
// plainFilter does, but in the loop, which thus makes no call: a call would
// make the compiler keep the loop's values on the stack. It asks plainFilter
// about any other after the loop.
func plainFilters(fs []TopicFilter) bool {
	other := false
	for i := range fs {
		t := fs[i].Topic
		n := len(t)
		if n < 8 || n > 22 {
			other = true
			continue
		}
		if !filterWord(binary.LittleEndian.Uint64(t)) || !filterWord(binary.LittleEndian.Uint64(t[n-8:])) ||
			n > 15 && !filterWord(binary.LittleEndian.Uint64(t[7:])) {
			return false
		}
	}
	if other {
		for i := range fs {
			if n := len(fs[i].Topic); (n < 8 || n > 22) && !plainFilter(fs[i].Topic) {
				return false
			}
		}
	}
	return true
}

// copyTopic copies src to dst, of the same length, eight bytes a word, the
// last word overlapping the one before: for a topic of tens of bytes this
// costs less than a call to memmove, and Append's loop makes no call.
func copyTopic(dst, src []byte) {
	n := len(src)
	dst = dst[:n]
	if n < 8 {
		for i := range src {
			dst[i] = src[i]
		}
		return
	}
	for i := 0; i < n-8; i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:]))
	}
	binary.LittleEndian.PutUint64(dst[n-8:], binary.LittleEndian.Uint64(src[n-8:]))
}

// appendChecked is Append for any s: it checks s in the order of the rules
// and reports the first it breaks.
func (s *Subscribe) appendChecked(b []byte) ([]byte, error) {
	if s.PacketID == 0 {
		return b, errPacketIDZeroEnc[TypeSubscribe] // [MQTT-2.3.1-1]
	}
	if len(s.Filters) == 0 {
		return b, errSubscribeEmptyEnc // [MQTT-3.8.3-3]
	}
	remaining := 2
	for i := range s.Filters {
		f := &s.Filters[i]
		if p := checkEncodedText(f.Topic, kindFilter); p != textOK {
			return b, errSubscribeTextEnc[p]
		}
		if f.QoS > QoS2 {
			return b, errSubscribeQoSEnc // [MQTT-3.8.3-4]
		}
		remaining += sizeString(f.Topic) + 1
	}
	if remaining > MaxRemaining {
		return b, errTooLargeEncode[TypeSubscribe]
	}
	b = grow(b, sizeFrame(remaining))
	b = append(b, byte(TypeSubscribe)<<4|fixedFlags[TypeSubscribe])
	b = appendVarint(b, remaining)
	b = appendUint16(b, s.PacketID)
	for i := range s.Filters {
		b = appendString(b, s.Filters[i].Topic)
		b = append(b, byte(s.Filters[i].QoS))
	}
	return b, nil
}

// Decode decodes a SUBSCRIBE body under the 3.1.1 rules. The filters alias
// body; the Filters slice is reused.
func (s *Subscribe) Decode(h Header, body []byte) error {
	body, err := decodeHeader(TypeSubscribe, h, body)
	if err != nil {
		return err
	}
	return s.decode(body)
}

// decode decodes a SUBSCRIBE body that breaks no rule, whose filters
// plainFilter passes, and which has no more filters than the Filters slice
// has room for: the common case, in one pass that stores the filters and one
// that checks them, with no error to choose. Anything else goes to
// decodeChecked, which decodes it anew and reports the errors in its order.
// Either may overwrite the slots of Filters before it fails.
func (s *Subscribe) decode(body []byte) error {
	if len(body) < 2 {
		return s.decodeChecked(body)
	}
	id := binary.BigEndian.Uint16(body)
	filters := s.Filters[:cap(s.Filters)]
	// rest shrinks past each filter, so that the compiler can prove every
	// index and slice of the loop in bounds.
	rest := body[2:len(body):len(body)]
	k := 0
	for ; k < len(filters) && len(rest) >= 3; k++ {
		e := 2 + int(binary.BigEndian.Uint16(rest)) // the end of the topic
		if e == 2 || e >= len(rest) || rest[e] > byte(QoS2) {
			return s.decodeChecked(body)
		}
		filters[k] = TopicFilter{Topic: rest[2:e:e], QoS: QoS(rest[e])}
		rest = rest[e+1:]
	}
	filters = filters[:k]
	if len(rest) != 0 || id == 0 || k == 0 || !plainFilters(filters) {
		return s.decodeChecked(body) // more filters than room, or a rule broken
	}
	// Set only the length of Filters: its array is the one filled.
	s.PacketID, s.Filters = id, s.Filters[:len(filters)]
	return nil
}

// decodeChecked decodes a SUBSCRIBE body, reporting the first rule it
// breaks.
func (s *Subscribe) decodeChecked(body []byte) error {
	id, err := consumePacketID(TypeSubscribe, body)
	if err != nil {
		return err
	}
	// Check every filter, storing it while the reused slice has room.
	filters := s.Filters[:cap(s.Filters)]
	k := 0
	for i := 2; i < len(body); k++ {
		if len(body)-i < 2 {
			return errSubscribeCut
		}
		end := i + 2 + (int(body[i])<<8 | int(body[i+1]))
		if end >= len(body) {
			return errSubscribeCut // the topic runs past the body or has no QoS byte
		}
		topic := body[i+2 : end : end]
		if p := checkTopicFilter(topic); p != textOK {
			return errSubscribeText[p] // [MQTT-3.8.3-1], [MQTT-4.7.1-2], [MQTT-4.7.1-3]
		}
		if body[end] > byte(QoS2) {
			return errSubscribeQoS // [MQTT-3.8.3-4]
		}
		if k < len(filters) {
			filters[k] = TopicFilter{Topic: topic, QoS: QoS(body[end])}
		}
		i = end + 1
	}
	if k == 0 {
		return errSubscribeEmpty // [MQTT-3.8.3-3]
	}
	if k > len(filters) {
		// More filters than room: now that all are checked, allocate the
		// slice at its exact size and fill it.
		filters = make([]TopicFilter, k)
		rest := body[2:]
		for j := range filters {
			topic, n, _ := consumeString(rest)
			filters[j] = TopicFilter{Topic: topic, QoS: QoS(rest[n])}
			rest = rest[n+1:]
		}
	}
	s.PacketID, s.Filters = id, filters[:k]
	return nil
}

// Suback is the SUBACK packet (§3.9). ReturnCodes of a decoded Suback alias
// the decoded input.
type Suback struct {
	PacketID    uint16
	ReturnCodes []byte // one per filter, in order: 0, 1, 2 (granted QoS) or SubackFailure

	// Version is the session's protocol level, whose rules apply: 0 or V311
	// for 3.1.1, V31 for 3.1, which has no failure code. Decoder.Decode sets
	// it from Decoder.Version.
	Version Version
}

// SubackFailure is the SUBACK return code of a refused subscription (3.1.1
// only).
const SubackFailure = 0x80

// Type returns TypeSuback.
func (*Suback) Type() Type { return TypeSuback }

// Size returns the encoded length of s.
func (s *Suback) Size() int { return sizeFrame(2 + len(s.ReturnCodes)) }

// Append validates s and appends its encoding to b. It does no allocation
// when cap(b)-len(b) >= s.Size().
func (s *Suback) Append(b []byte) ([]byte, error) {
	switch {
	case s.PacketID == 0:
		return b, errPacketIDZeroEnc[TypeSuback]
	case len(s.ReturnCodes) == 0:
		return b, errSubackEmptyEnc
	case s.Version != 0 && s.Version != V31 && s.Version != V311:
		return b, errSubackVersionEnc
	case 2+len(s.ReturnCodes) > MaxRemaining:
		return b, errTooLargeEncode[TypeSuback]
	}
	if err := checkSubackCodes(s.ReturnCodes, s.Version, errSubackCodeEnc, errSubackV31Enc); err != nil {
		return b, err
	}
	remaining := 2 + len(s.ReturnCodes)
	b = grow(b, sizeFrame(remaining))
	b = append(b, byte(TypeSuback)<<4)
	b = appendVarint(b, remaining)
	b = appendUint16(b, s.PacketID)
	return append(b, s.ReturnCodes...), nil
}

// checkSubackCodes checks SUBACK return codes under the rules of level v
// [MQTT-3.9.3-2].
func checkSubackCodes(codes []byte, v Version, errCode, errV31 *Error) error {
	for _, c := range codes {
		switch {
		case c <= byte(QoS2):
		case c == SubackFailure && v != V31:
		case c == SubackFailure:
			return errV31 // 3.1 has no failure code (§3 row 4)
		default:
			return errCode
		}
	}
	return nil
}

// Decode decodes a SUBACK body under the 3.1.1 rules. ReturnCodes aliases
// body.
func (s *Suback) Decode(h Header, body []byte) error {
	body, err := decodeHeader(TypeSuback, h, body)
	if err != nil {
		return err
	}
	return s.decode(body, 0)
}

func (s *Suback) decode(body []byte, v Version) error {
	id, err := consumePacketID(TypeSuback, body)
	if err != nil {
		return err
	}
	codes := body[2:]
	if len(codes) == 0 {
		return errSubackEmpty // one code per filter, and a SUBSCRIBE has at least one
	}
	if err := checkSubackCodes(codes, v, errSubackCode, errSubackV31); err != nil {
		return err
	}
	s.PacketID, s.ReturnCodes, s.Version = id, codes, v
	return nil
}

// Unsubscribe is the UNSUBSCRIBE packet (§3.10). The topics of a decoded
// Unsubscribe alias the decoded input, and the Topics slice is reused by the
// next decode.
type Unsubscribe struct {
	PacketID uint16
	Topics   [][]byte // topic filters, at least one
}

// Type returns TypeUnsubscribe.
func (*Unsubscribe) Type() Type { return TypeUnsubscribe }

func (u *Unsubscribe) remaining() int {
	n := 2
	for _, t := range u.Topics {
		n += sizeString(t)
	}
	return n
}

// Size returns the encoded length of u.
func (u *Unsubscribe) Size() int { return sizeFrame(u.remaining()) }

// Append validates u and appends its encoding to b. It does no allocation
// when cap(b)-len(b) >= u.Size().
func (u *Unsubscribe) Append(b []byte) ([]byte, error) {
	// As Subscribe.Append: the common case first, written at computed
	// offsets; anything else goes to appendChecked.
	ts := u.Topics
	remaining, odd := 2, false
	for _, t := range ts {
		remaining += 2 + len(t)
		odd = odd || len(t) > 65535
	}
	if odd || u.PacketID == 0 || len(ts) == 0 || remaining > MaxRemaining || !plainTopics(ts) {
		return u.appendChecked(b)
	}
	size := sizeFrame(remaining)
	b = grow(b, size)
	n := len(b)
	b = b[:n+size]
	rest := putHeader(b[n:], TypeUnsubscribe, remaining, u.PacketID)
	for _, t := range ts {
		m := len(t)
		if len(rest) < m+2 {
			break // never: rest holds what remaining counted
		}
		rest[0], rest[1] = byte(m>>8), byte(m)
		copyTopic(rest[2:m+2], t)
		rest = rest[m+2:]
	}
	return b, nil
}

// plainTopics reports whether plainFilter passes every topic filter in ts.
// It is plainFilters for UNSUBSCRIBE.
func plainTopics(ts [][]byte) bool {
	other := false
	for _, t := range ts {
		n := len(t)
		if n < 8 || n > 22 {
			other = true
			continue
		}
		if !filterWord(binary.LittleEndian.Uint64(t)) || !filterWord(binary.LittleEndian.Uint64(t[n-8:])) ||
			n > 15 && !filterWord(binary.LittleEndian.Uint64(t[7:])) {
			return false
		}
	}
	if other {
		for _, t := range ts {
			if n := len(t); (n < 8 || n > 22) && !plainFilter(t) {
				return false
			}
		}
	}
	return true
}

// appendChecked is Append for any u: it checks u in the order of the rules
// and reports the first it breaks.
func (u *Unsubscribe) appendChecked(b []byte) ([]byte, error) {
	if u.PacketID == 0 {
		return b, errPacketIDZeroEnc[TypeUnsubscribe] // [MQTT-2.3.1-1]
	}
	if len(u.Topics) == 0 {
		return b, errUnsubscribeEmptyEn // [MQTT-3.10.3-2]
	}
	remaining := 2
	for _, t := range u.Topics {
		if p := checkEncodedText(t, kindFilter); p != textOK {
			return b, errUnsubscribeTextEnc[p] // decision A13
		}
		remaining += sizeString(t)
	}
	if remaining > MaxRemaining {
		return b, errTooLargeEncode[TypeUnsubscribe]
	}
	b = grow(b, sizeFrame(remaining))
	b = append(b, byte(TypeUnsubscribe)<<4|fixedFlags[TypeUnsubscribe])
	b = appendVarint(b, remaining)
	b = appendUint16(b, u.PacketID)
	for _, t := range u.Topics {
		b = appendString(b, t)
	}
	return b, nil
}

// Decode decodes an UNSUBSCRIBE body under the 3.1.1 rules. The topics alias
// body; the Topics slice is reused.
func (u *Unsubscribe) Decode(h Header, body []byte) error {
	body, err := decodeHeader(TypeUnsubscribe, h, body)
	if err != nil {
		return err
	}
	return u.decode(body)
}

// decode is Subscribe.decode for UNSUBSCRIBE: it decodes a body that breaks
// no rule, whose topic filters plainFilter passes, and which has no more of
// them than the Topics slice has room for, and leaves anything else to
// decodeChecked.
func (u *Unsubscribe) decode(body []byte) error {
	if len(body) < 2 {
		return u.decodeChecked(body)
	}
	id := binary.BigEndian.Uint16(body)
	topics := u.Topics[:cap(u.Topics)]
	rest := body[2:len(body):len(body)]
	k := 0
	for ; k < len(topics) && len(rest) >= 2; k++ {
		e := 2 + int(binary.BigEndian.Uint16(rest)) // the end of the topic
		if e == 2 || e > len(rest) {
			return u.decodeChecked(body)
		}
		topics[k] = rest[2:e:e]
		rest = rest[e:]
	}
	topics = topics[:k]
	if len(rest) != 0 || id == 0 || k == 0 || !plainTopics(topics) {
		return u.decodeChecked(body) // more topics than room, or a rule broken
	}
	u.PacketID, u.Topics = id, u.Topics[:len(topics)]
	return nil
}

// decodeChecked decodes an UNSUBSCRIBE body, reporting the first rule it
// breaks.
func (u *Unsubscribe) decodeChecked(body []byte) error {
	id, err := consumePacketID(TypeUnsubscribe, body)
	if err != nil {
		return err
	}
	// As Subscribe.decode: check all, store while there is room.
	topics := u.Topics[:cap(u.Topics)]
	k := 0
	for i := 2; i < len(body); k++ {
		if len(body)-i < 2 {
			return errUnsubscribeCut // [MQTT-3.10.3-1]
		}
		end := i + 2 + (int(body[i])<<8 | int(body[i+1]))
		if end > len(body) {
			return errUnsubscribeCut // [MQTT-3.10.3-1]
		}
		topic := body[i+2 : end : end]
		if p := checkTopicFilter(topic); p != textOK {
			return errUnsubscribeText[p] // [MQTT-3.10.3-1], decision A13
		}
		if k < len(topics) {
			topics[k] = topic
		}
		i = end
	}
	if k == 0 {
		return errUnsubscribeEmpty // [MQTT-3.10.3-2]
	}
	if k > len(topics) {
		topics = make([][]byte, k)
		rest := body[2:]
		for j := range topics {
			var n int
			topics[j], n, _ = consumeString(rest)
			rest = rest[n:]
		}
	}
	u.PacketID, u.Topics = id, topics[:k]
	return nil
}

// Unsuback is the UNSUBACK packet (§3.11).
type Unsuback struct{ PacketID uint16 }

// Type returns TypeUnsuback.
func (*Unsuback) Type() Type { return TypeUnsuback }

// Size returns 4.
func (*Unsuback) Size() int { return 4 }

// Append appends the four bytes of u to b. PacketID must not be 0.
func (u *Unsuback) Append(b []byte) ([]byte, error) {
	return appendIDPacket(b, TypeUnsuback, u.PacketID)
}

// Decode decodes an UNSUBACK body under the 3.1.1 rules.
func (u *Unsuback) Decode(h Header, body []byte) error {
	return decodeIDPacket(&u.PacketID, TypeUnsuback, h, body)
}

// String describes s for logs.
func (s *Subscribe) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "SUBSCRIBE{PacketID:%d Filters:[", s.PacketID)
	for i, f := range s.Filters {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%q QoS%d", f.Topic, f.QoS)
	}
	return b.String() + "]}"
}

// String describes s for logs.
func (s *Suback) String() string {
	return fmt.Sprintf("SUBACK{PacketID:%d ReturnCodes:% X}", s.PacketID, s.ReturnCodes)
}

// String describes u for logs.
func (u *Unsubscribe) String() string {
	return fmt.Sprintf("UNSUBSCRIBE{PacketID:%d Topics:%q}", u.PacketID, u.Topics)
}

// String describes u for logs.
func (u *Unsuback) String() string { return fmt.Sprintf("UNSUBACK{PacketID:%d}", u.PacketID) }
