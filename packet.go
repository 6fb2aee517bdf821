// Package mqttwire encodes and decodes the MQTT 3.1 and 3.1.1 wire format:
// all fourteen control packets, without allocating, with incremental framing
// that reports how many bytes a short read is missing.
//
// Decoding is strict: every rule of the specification that concerns the wire
// format is enforced, and a broken rule is reported as an error that names the
// packet type and the rule ("mqttwire: PUBLISH: QoS 3 [MQTT-3.3.1-4]"). A
// broker can hand it hostile input.
//
// Memory contract: a packet returned by Decoder.Decode or Reader.ReadPacket,
// and every byte slice in it, aliases the input and the decoder; it is valid
// until the next call and only while the input is unchanged. Copy what must
// outlive it.
package mqttwire

import (
	"encoding/binary"
	"errors"
	"io"
	"strconv"
)

// Design note: packets keep their strings as []byte, not string. A decoded
// topic or client id is a window into the caller's buffer, so decoding copies
// nothing and allocates nothing; a caller that needs a string converts once,
// where it keeps the value. Append takes the same slices back, so a broker can
// forward a decoded topic without conversion.

// Type is the MQTT control packet type, the high nibble of the first byte.
type Type uint8

// The fourteen control packet types of MQTT 3.1 and 3.1.1. Types 0 and 15 are
// reserved and never decoded.
const (
	TypeConnect Type = iota + 1
	TypeConnack
	TypePublish
	TypePuback
	TypePubrec
	TypePubrel
	TypePubcomp
	TypeSubscribe
	TypeSuback
	TypeUnsubscribe
	TypeUnsuback
	TypePingreq
	TypePingresp
	TypeDisconnect
)

var typeNames = [16]string{
	"RESERVED(0)", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
	"SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "RESERVED(15)",
}

// String returns the specification's name of the type, such as "PUBLISH".
func (t Type) String() string {
	if t < 16 {
		return typeNames[t]
	}
	return "INVALID"
}

// QoS is a quality-of-service level.
type QoS uint8

// The three QoS levels. The value 3 is forbidden on the wire.
const (
	QoS0 QoS = 0 // at most once
	QoS1 QoS = 1 // at least once
	QoS2 QoS = 2 // exactly once
)

// Version is the protocol level carried in CONNECT.
type Version uint8

// The two protocol levels mqttwire speaks.
const (
	V31  Version = 3 // MQTT 3.1, protocol name "MQIsdp"
	V311 Version = 4 // MQTT 3.1.1, protocol name "MQTT"
)

// String returns "3.1", "3.1.1", or "level N" for another value.
func (v Version) String() string {
	switch v {
	case V31:
		return "3.1"
	case V311:
		return "3.1.1"
	}
	return "level " + strconv.Itoa(int(v))
}

// Header is a decoded fixed header.
type Header struct {
	Type      Type
	Flags     uint8 // low nibble of the first byte
	Remaining int   // remaining length: the bytes after the fixed header
}

// Packet is implemented by the fourteen packet types, through pointers:
// *Connect, *Connack, *Publish and so on.
type Packet interface {
	// Type returns the packet's type.
	Type() Type
	// Size returns the encoded length, fixed header included. It equals the
	// number of bytes Append writes when Append succeeds.
	Size() int
	// Append validates the packet and appends its encoding to b. It follows
	// encoding.BinaryAppender: b[:len(b)] is never touched, b is not kept,
	// and nothing is allocated when cap(b)-len(b) >= Size(). An invalid
	// field gives an error wrapping ErrInvalid and returns b unchanged.
	Append(b []byte) ([]byte, error)
	// Decode decodes the body of a packet whose fixed header is h; body holds
	// the h.Remaining bytes after the fixed header. It applies the 3.1.1
	// rules (a Decoder whose Version is V31 applies the 3.1 leniencies).
	// Byte-slice fields alias body. On error the packet's fields are
	// unspecified.
	Decode(h Header, body []byte) error
}

// MaxRemaining is the largest remaining length the four-byte encoding holds.
const MaxRemaining = 268_435_455

// Peek reads the fixed header at the start of b and reports the size of the
// whole packet, fixed header included. If b holds less than the whole packet
// it returns ErrIncomplete, and size-len(b) > 0 is the number of bytes still
// needed: exact once the fixed header is complete, a lower bound of 1 while
// the remaining-length bytes themselves are cut short.
//
// Peek checks only what framing needs, and only once the fixed header is
// whole: the packet type is not reserved and the remaining length is at most
// four bytes and minimal. Flags and body are checked by Decoder.Decode. For a
// reserved type, size is the frame's size; for a bad remaining length it is 0,
// since the frame cannot be delimited. Peek does no allocation.
func Peek(b []byte) (h Header, size int, err error) {
	h, size, err = peekHeader(b)
	if err == nil && len(b) < size {
		err = ErrIncomplete
	}
	return h, size, err
}

// peekHeader reads the fixed header at the start of b; size is the whole
// packet's size. It returns ErrIncomplete only while the fixed header itself
// is cut short, with size a lower bound. Every check waits for the whole fixed
// header, so the answer never depends on how the bytes were split into reads.
func peekHeader(b []byte) (h Header, size int, err error) {
	if len(b) < 2 {
		return h, 2, ErrIncomplete
	}
	h.Type = Type(b[0] >> 4)
	h.Flags = b[0] & 0x0f
	if b[1] < 0x80 {
		h.Remaining = int(b[1])
		size = 2 + h.Remaining
	} else {
		var n int
		h.Remaining, n, err = consumeVarint(b[1:], h.Type)
		switch {
		case err == ErrIncomplete:
			return h, len(b) + 1, err
		case err != nil:
			return h, 0, err // the frame cannot be delimited
		}
		size = 1 + n + h.Remaining
	}
	if reservedType(b[0]) {
		return h, size, errReservedType // §2.2.1, Table 2.1
	}
	return h, size, nil
}

// reservedType reports whether the first byte of a packet carries one of the
// reserved types 0 and 15.
func reservedType(first byte) bool { return first < 0x10 || first >= 0xf0 }

// ScanPackets is a bufio.SplitFunc that yields one whole packet per token,
// fixed header included. It frames packets with Peek and does not check their
// bodies: decode each token with a Decoder. A malformed fixed header stops the
// scan with that error, and a stream that ends inside a packet stops it with
// io.ErrUnexpectedEOF. Tokens larger than the Scanner's buffer need
// Scanner.Buffer. ScanPackets does no allocation.
func ScanPackets(data []byte, atEOF bool) (advance int, token []byte, err error) {
	_, size, err := Peek(data)
	switch {
	case err == nil:
		return size, data[:size], nil
	case err != ErrIncomplete:
		return 0, nil, err
	case !atEOF:
		return 0, nil, nil
	case len(data) == 0:
		return 0, nil, nil
	}
	return 0, nil, io.ErrUnexpectedEOF
}

// Decoder decodes packets without allocating: it owns one value of each
// packet type and reuses it. A returned Packet and every byte slice in it
// alias b and the Decoder: they are valid until the next Decode, and only
// while b is unchanged. Each byte slice's capacity ends with its field, so
// appending to one copies it and never overwrites the bytes after it. A
// Decoder must not be copied after first use, nor used from two goroutines at
// once.
type Decoder struct {
	// MaxSize is the largest packet accepted, in bytes, fixed header
	// included; 0 means the protocol maximum. A bigger packet fails with
	// ErrTooLarge, decided from the fixed header alone.
	MaxSize int

	// Version is the negotiated protocol level whose rules apply; 0 means
	// the 3.1.1 rules. Decoding a CONNECT sets it to the CONNECT's level. A
	// client sets it before reading CONNACK. With V31 the 3.1 leniencies
	// apply: CONNACK's acknowledge flags are ignored, SUBACK 0x80 is
	// malformed, and DUP and RETAIN bits on packets other than PUBLISH are
	// ignored.
	Version Version

	connect     Connect
	connack     Connack
	publish     Publish
	puback      Puback
	pubrec      Pubrec
	pubrel      Pubrel
	pubcomp     Pubcomp
	subscribe   Subscribe
	suback      Suback
	unsubscribe Unsubscribe
	unsuback    Unsuback
	pingreq     Pingreq
	pingresp    Pingresp
	disconnect  Disconnect
}

// Decode decodes the packet at the start of b; n is its size, and the bytes
// after it are left alone. On ErrIncomplete, n is the size needed, as for
// Peek. On a malformed packet whose frame is intact, and on ErrTooLarge, n is
// the frame's size, so a tolerant caller can skip it; n is 0 when the frame
// cannot be delimited. The checks that need only the fixed header (reserved
// flags, QoS 3, the size of fixed-size packets, MaxSize) come first, as soon
// as the fixed header is whole, so such errors are reported before the body
// has arrived and whatever way the bytes were split into reads.
//
// The returned packet aliases b and d: see Decoder. Decode does no
// allocation, except that SUBSCRIBE and UNSUBSCRIBE grow a reused slice the
// first times they meet more filters than before.
func (d *Decoder) Decode(b []byte) (Packet, int, error) {
	// Decode takes a short way for the commonest packets, with no call on
	// it, and hands anything else to decode, the full path, which judges the
	// packet anew: it reports every error, and decodes the valid packets the
	// short way leaves. Every check on the short way is one the full path
	// makes too; TestPropertyFastPaths holds the two to the same answers.
	//
	// First the packets of variable length with a remaining length of one or
	// two bytes, whole and within MaxSize, whose first byte shortFirst
	// passes under the 3.1.1 rules of Table 2.2.
	if len(b) >= 3 && shortFirst[b[0]] {
		rem, hl := int(b[1]), 2
		if rem >= 0x80 {
			if b[2]-1 >= 0x7f { // a third length byte, or a last byte of 0
				goto full
			}
			rem, hl = rem&0x7f|int(b[2])<<7, 3
		}
		n := hl + rem
		if n > len(b) || uint(n-1) > uint(d.MaxSize-1) {
			goto full
		}
		body := b[hl:n:n]
		if first := b[0]; first>>4 == byte(TypePublish) {
			// A topic name of 8 to 32 bytes, all ASCII at or above
			// floorName (read eight bytes at a time, as checkPlain does),
			// and, with QoS 1 or 2, a packet identifier other than 0.
			if rem < 10 {
				goto full
			}
			end := 2 + (int(body[0])<<8 | int(body[1]))
			if end > len(body) || end < 10 {
				goto full
			}
			topic := body[2:end:end]
			const k = floorName * ones
			var m uint64
			switch t := len(topic); {
			case t <= 16:
				u := binary.LittleEndian.Uint64(topic)
				v := binary.LittleEndian.Uint64(topic[t-8:])
				m = (u - k) | u | (v - k) | v
			case t <= 32:
				u := binary.LittleEndian.Uint64(topic)
				v := binary.LittleEndian.Uint64(topic[8:])
				x := binary.LittleEndian.Uint64(topic[t-16:])
				y := binary.LittleEndian.Uint64(topic[t-8:])
				m = (u - k) | u | (v - k) | v | (x - k) | x | (y - k) | y
			default:
				goto full
			}
			if m&highs != 0 {
				goto full
			}
			var id uint16
			if first&(3<<publishQoSShift) != 0 {
				if end+2 > len(body) {
					goto full
				}
				if id = uint16(body[end])<<8 | uint16(body[end+1]); id == 0 {
					goto full
				}
				end += 2
			}
			p := &d.publish
			p.Dup, p.QoS, p.Retain = first&publishDup != 0, QoS(first>>publishQoSShift&3), first&publishRetain != 0
			p.Topic, p.PacketID, p.Payload = topic, id, body[end:]
			return p, n, nil
		}
		switch Type(b[0] >> 4) {
		case TypeConnect:
			if err := d.connect.decode(body); err != nil {
				return nil, n, err
			}
			d.Version = d.connect.Version
			return &d.connect, n, nil
		case TypeSubscribe:
			if err := d.subscribe.decode(body); err != nil {
				return nil, n, err
			}
			return &d.subscribe, n, nil
		case TypeSuback:
			if err := d.suback.decode(body, d.Version); err != nil {
				return nil, n, err
			}
			return &d.suback, n, nil
		default: // UNSUBSCRIBE
			if err := d.unsubscribe.decode(body); err != nil {
				return nil, n, err
			}
			return &d.unsubscribe, n, nil
		}
	}
	// Then the packets with a two-byte body, CONNACK and those that carry
	// only a packet identifier, other than 0, and then those with no body:
	// all with the flags of Table 2.2 and within MaxSize.
	if len(b) >= 4 && b[1] == 2 && uint(3) <= uint(d.MaxSize-1) {
		if b[0] == byte(TypeConnack)<<4 {
			if err := d.connack.decode(b[2:4:4], d.Version); err != nil {
				return nil, 4, err
			}
			return &d.connack, 4, nil
		}
		id := uint16(b[2])<<8 | uint16(b[3])
		if id == 0 {
			goto full
		}
		switch b[0] {
		case byte(TypePuback) << 4:
			d.puback.PacketID = id
			return &d.puback, 4, nil
		case byte(TypePubrec) << 4:
			d.pubrec.PacketID = id
			return &d.pubrec, 4, nil
		case byte(TypePubrel)<<4 | 2:
			d.pubrel.PacketID = id
			return &d.pubrel, 4, nil
		case byte(TypePubcomp) << 4:
			d.pubcomp.PacketID = id
			return &d.pubcomp, 4, nil
		case byte(TypeUnsuback) << 4:
			d.unsuback.PacketID = id
			return &d.unsuback, 4, nil
		}
		goto full
	}
	if len(b) >= 2 && b[1] == 0 && uint(1) <= uint(d.MaxSize-1) {
		switch b[0] {
		case byte(TypePingreq) << 4:
			return &d.pingreq, 2, nil
		case byte(TypePingresp) << 4:
			return &d.pingresp, 2, nil
		case byte(TypeDisconnect) << 4:
			return &d.disconnect, 2, nil
		}
		goto full
	}
full:
	return d.decode(b)
}

// decode is Decode for every packet: see Decode.
func (d *Decoder) decode(b []byte) (p Packet, n int, err error) {
	var rem, hl int // the remaining length and the fixed header's length
	if len(b) >= 2 && b[1] < 0x80 {
		// Most packets have a one-byte remaining length.
		rem, hl = int(b[1]), 2
	} else if len(b) >= 3 && b[2] < 0x80 && b[2] != 0 {
		// A PUBLISH of 128 bytes to 16 KiB has a two-byte one.
		rem, hl = int(b[1]&0x7f)|int(b[2])<<7, 3
	} else {
		h, n, err := peekHeader(b)
		if err != nil {
			return nil, n, err
		}
		rem, hl = h.Remaining, n-h.Remaining
	}
	n = hl + rem
	// One look-up passes a good first byte with a remaining length its type
	// allows under the 3.1.1 rules; the MaxSize test is n > MaxSize when
	// MaxSize > 0. checkHeader judges the rest under d.Version: the 3.1 rules
	// pass some headers that the 3.1.1 rules refuse.
	if r := headerRanges[b[0]]; uint32(rem)-r.min > r.span || uint(n-1) > uint(d.MaxSize-1) {
		if err := d.checkHeader(Header{Type: Type(b[0] >> 4), Flags: b[0] & 0x0f, Remaining: rem}, n); err != nil {
			return nil, n, err
		}
	}
	if len(b) < n {
		return nil, n, ErrIncomplete
	}
	body := b[hl:n:n] // capped at the packet's end: no decoded field reaches past it
	switch Type(b[0] >> 4) {
	case TypePublish:
		if err := d.publish.decode(b[0]&0x0f, body); err != nil {
			return nil, n, err
		}
		return &d.publish, n, nil
	case TypePuback:
		p, err = &d.puback, decodeID(&d.puback.PacketID, TypePuback, body)
	case TypePubrec:
		p, err = &d.pubrec, decodeID(&d.pubrec.PacketID, TypePubrec, body)
	case TypePubrel:
		p, err = &d.pubrel, decodeID(&d.pubrel.PacketID, TypePubrel, body)
	case TypePubcomp:
		p, err = &d.pubcomp, decodeID(&d.pubcomp.PacketID, TypePubcomp, body)
	case TypeConnect:
		p, err = &d.connect, d.connect.decode(body)
		if err == nil {
			d.Version = d.connect.Version
		}
	case TypeConnack:
		p, err = &d.connack, d.connack.decode(body, d.Version)
	case TypeSubscribe:
		p, err = &d.subscribe, d.subscribe.decode(body)
	case TypeSuback:
		p, err = &d.suback, d.suback.decode(body, d.Version)
	case TypeUnsubscribe:
		p, err = &d.unsubscribe, d.unsubscribe.decode(body)
	case TypeUnsuback:
		p, err = &d.unsuback, decodeID(&d.unsuback.PacketID, TypeUnsuback, body)
	case TypePingreq:
		p = &d.pingreq
	case TypePingresp:
		p = &d.pingresp
	case TypeDisconnect:
		p = &d.disconnect
	}
	if err != nil {
		return nil, n, err
	}
	return p, n, nil
}

// fixedRemaining is the remaining length of each fixed-size packet type, and
// -1 for the types whose size varies (Table 2.6 and the packet figures).
var fixedRemaining = [16]int8{
	TypeConnect: -1, TypeConnack: 2, TypePublish: -1, TypePuback: 2, TypePubrec: 2,
	TypePubrel: 2, TypePubcomp: 2, TypeSubscribe: -1, TypeSuback: -1, TypeUnsubscribe: -1,
	TypeUnsuback: 2, TypePingreq: 0, TypePingresp: 0, TypeDisconnect: 0,
}

// headerRanges gives the remaining lengths that each first byte allows under
// the 3.1.1 rules: none for a reserved type or flags that checkHeader
// refuses, exactly one for the fixed-size types, any for the others. Decode
// reads it to pass a good header with one look-up, and asks checkHeader about
// the others: which rule a bad one breaks, or whether the 3.1 rules, which
// only relax the 3.1.1 ones, pass it.
var headerRanges = func() (r [256]struct{ min, span uint32 }) {
	for b := range 256 {
		h := Header{Type: Type(b >> 4), Flags: uint8(b) & 0x0f}
		r[b].min = 1 << 31 // no length passes
		if reservedType(byte(b)) {
			continue
		}
		if fixed := fixedRemaining[h.Type]; fixed >= 0 {
			h.Remaining = int(fixed)
			if checkHeader(h, V311) == nil {
				r[b].min = uint32(fixed)
			}
		} else if checkHeader(h, V311) == nil {
			r[b].min, r[b].span = 0, MaxRemaining
		}
	}
	return r
}()

// shortFirst is true for the first bytes for which Decode takes its short
// way through the fixed header: PUBLISH with the flags checkHeader passes
// (QoS 0, 1 or 2, DUP only with QoS 1 or 2), and CONNECT, SUBSCRIBE, SUBACK
// and UNSUBSCRIBE with the flags of Table 2.2.
var shortFirst = func() (ok [256]bool) {
	for _, t := range []Type{TypePublish, TypeConnect, TypeSubscribe, TypeSuback, TypeUnsubscribe} {
		for f := range uint8(16) {
			ok[byte(t)<<4|f] = checkHeader(Header{Type: t, Flags: f}, V311) == nil
		}
	}
	return ok
}()

// fixedFlags is the low nibble of the first byte that Table 2.2 fixes for
// every type but PUBLISH.
var fixedFlags = [16]uint8{TypePubrel: 2, TypeSubscribe: 2, TypeUnsubscribe: 2}

var (
	errPublishQoS3   = malformed(TypePublish, "MQTT-3.3.1-4", "QoS 3")
	errPublishDupQoS = malformed(TypePublish, "MQTT-3.3.1-2", "DUP set on a QoS 0 message")
)

// checkHeader applies the rules that need only the fixed header: the flag
// bits of Table 2.2, the length of fixed-size packets, and MaxSize. size is
// the whole packet's size.
func (d *Decoder) checkHeader(h Header, size int) error {
	if h.Type == 0 || h.Type == 15 {
		return errReservedType
	}
	if d.MaxSize > 0 && size > d.MaxSize {
		return errTooLarge[h.Type]
	}
	return checkHeader(h, d.Version)
}

// checkHeader applies the flag and fixed-length rules of the fixed header
// under the rules of protocol level v (0 means 3.1.1).
func checkHeader(h Header, v Version) error {
	if h.Type == TypePublish {
		qos := h.Flags >> 1 & 3
		if qos == 3 {
			return errPublishQoS3 // [MQTT-3.3.1-4]
		}
		if qos == 0 && h.Flags&8 != 0 {
			return errPublishDupQoS // [MQTT-3.3.1-2], decision A3
		}
		return nil
	}
	flags := h.Flags
	if v == V31 {
		// MQTT 3.1 leaves DUP and RETAIN unused outside PUBLISH, and sets DUP
		// on a retried PUBREL, SUBSCRIBE or UNSUBSCRIBE (§3 row 5).
		flags &^= 0x9
	}
	if flags != fixedFlags[h.Type] {
		return errFlags[h.Type] // [MQTT-2.2.2-1], [MQTT-2.2.2-2]
	}
	if want := fixedRemaining[h.Type]; want >= 0 && h.Remaining != int(want) {
		return errLength[h.Type]
	}
	return nil
}

// decodeHeader checks the fixed header handed to a packet's Decode method
// under the 3.1.1 rules and returns the body to decode, cut to h.Remaining
// bytes and to that capacity, so that no decoded field reaches past it.
func decodeHeader(t Type, h Header, body []byte) ([]byte, error) {
	if h.Type != t {
		return nil, errWrongType[t]
	}
	if err := checkHeader(h, 0); err != nil {
		return nil, err
	}
	if h.Remaining < 0 || len(body) < h.Remaining {
		return nil, ErrIncomplete
	}
	return body[:h.Remaining:h.Remaining], nil
}

// Errors of the fixed header and of framing, shared by every packet type.
var (
	errReservedType     = malformed(0, "", "reserved packet type 0 or 15 (§2.2.1)")
	errLengthTooLong    = lengthErrors("remaining length longer than 4 bytes (§2.2.3)")
	errLengthNotMinimal = lengthErrors("non-canonical remaining length (§2.2.3; decision A1)")
	errTooLarge         = perType(ErrTooLarge, "", "packet larger than the decoder's MaxSize")
	errTooLargeEncode   = perType(ErrInvalid, "", "remaining length over 268,435,455 bytes (§2.2.3)")

	// errFlags: the low nibble of the first byte is not the value Table 2.2
	// fixes for the type.
	errFlags = func() [16]*Error {
		errs := perType(ErrMalformed, "MQTT-2.2.2-1", "reserved flag bits must be 0000")
		errs[TypePubrel] = malformed(TypePubrel, "MQTT-3.6.1-1", "flag bits must be 0010")
		errs[TypeSubscribe] = malformed(TypeSubscribe, "MQTT-3.8.1-1", "flag bits must be 0010")
		errs[TypeUnsubscribe] = malformed(TypeUnsubscribe, "MQTT-3.10.1-1", "flag bits must be 0010")
		errs[TypeDisconnect] = malformed(TypeDisconnect, "MQTT-3.14.1-1", "reserved flag bits must be 0000")
		return errs
	}()

	// errLength: a packet of fixed size has another remaining length.
	errLength = func() [16]*Error {
		errs := perType(ErrMalformed, "", "remaining length must be 2 (Table 2.6)")
		for _, t := range []Type{TypePingreq, TypePingresp, TypeDisconnect} {
			errs[t] = malformed(t, "", "remaining length must be 0 (Table 2.6)")
		}
		return errs
	}()

	errTrailing        = perType(ErrMalformed, "", "bytes left after the last field")
	errPacketIDZero    = perType(ErrMalformed, "MQTT-2.3.1-1", "packet identifier 0")
	errPacketIDZeroEnc = perType(ErrInvalid, "MQTT-2.3.1-1", "packet identifier 0")
	errPacketIDMissing = perType(ErrMalformed, "", "packet identifier missing (§2.3.1)")
	errStringTooLong   = perType(ErrInvalid, "MQTT-4.7.3-3", "string longer than 65,535 bytes (§1.5.3)")
	errWrongType       = perType(ErrInvalid, "", "Decode given a fixed header of another packet type")
)

// Design note on errors: every error the codec returns for bad input is a
// package-level value, built once when the package is initialised. Returning
// one costs nothing, so a broker under attack spends no memory on the
// attacker's mistakes, and two errors are equal exactly when they report the
// same rule. The sentinels are the kinds; each specific error wraps one, so
// callers test errors.Is(err, ErrMalformed) and print err for the detail.

var (
	// ErrIncomplete means more bytes are needed before the packet can be
	// decoded. It is never returned for a packet that is whole.
	ErrIncomplete = errors.New("mqttwire: incomplete packet")

	// ErrMalformed is the kind of every violation of the packet format. The
	// specific error names the packet type and the rule, with the
	// specification's statement ID where one exists.
	ErrMalformed = errors.New("mqttwire: malformed packet")

	// ErrUnsupportedVersion means a CONNECT named "MQTT" or "MQIsdp" with a
	// protocol level other than its own (4 or 3). A broker answers it with
	// CONNACK return code 0x01 (RefusedProtocolVersion) and closes. An
	// unknown protocol name is ErrMalformed instead: the broker closes
	// without a CONNACK.
	ErrUnsupportedVersion = errors.New("mqttwire: unsupported protocol version")

	// ErrTooLarge means the packet is bigger than Decoder.MaxSize. It is
	// reported from the fixed header alone, before any of the body is read.
	ErrTooLarge = errors.New("mqttwire: packet too large")

	// ErrInvalid is the kind of every error from Append: a field value that
	// has no valid encoding.
	ErrInvalid = errors.New("mqttwire: invalid packet")
)

// Error is a specific codec error: one rule broken in one packet type.
// errors.Is(err, kind) holds for its kind: ErrMalformed, ErrInvalid,
// ErrUnsupportedVersion or ErrTooLarge.
type Error struct {
	kind   error
	packet Type
	rule   string
	msg    string
}

// newError builds an error whose message reads
// "mqttwire: PUBLISH: QoS 3 [MQTT-3.3.1-4]". It runs only while the package
// is initialised.
func newError(kind error, t Type, rule, text string) *Error {
	msg := "mqttwire: "
	if t != 0 {
		msg += t.String() + ": "
	}
	msg += text
	if rule != "" {
		msg += " [" + rule + "]"
	}
	return &Error{kind: kind, packet: t, rule: rule, msg: msg}
}

func malformed(t Type, rule, text string) *Error { return newError(ErrMalformed, t, rule, text) }
func invalid(t Type, rule, text string) *Error   { return newError(ErrInvalid, t, rule, text) }

// lengthErrors builds the errors of a bad remaining length, indexed by the
// type nibble of the first byte: the remaining length comes before any other
// check, so the error names the type the first byte gives, and none for the
// reserved types 0 and 15.
func lengthErrors(text string) [16]*Error {
	errs := perType(ErrMalformed, "", text)
	errs[0] = malformed(0, "", text)
	errs[15] = errs[0]
	return errs
}

// perType builds one error for each packet type from the same rule and text.
func perType(kind error, rule, text string) (errs [16]*Error) {
	for t := TypeConnect; t <= TypeDisconnect; t++ {
		errs[t] = newError(kind, t, rule, text)
	}
	return errs
}

// Error returns the message, which names the packet type and the rule.
func (e *Error) Error() string { return e.msg }

// Unwrap returns the kind: ErrMalformed, ErrInvalid, ErrUnsupportedVersion or
// ErrTooLarge.
func (e *Error) Unwrap() error { return e.kind }

// Packet returns the type of the packet that broke the rule, or 0 when the
// first byte names a reserved type (0 or 15).
func (e *Error) Packet() Type { return e.packet }

// Rule returns the MQTT 3.1.1 statement ID of the rule, such as
// "MQTT-3.3.1-4", or "" for a rule the specification states without a number.
func (e *Error) Rule() string { return e.rule }
