package mqttwire

import (
	"encoding/binary"
	"fmt"
)

// Connect is the CONNECT packet (§3.1), the first packet a client sends.
// Byte-slice fields of a decoded Connect alias the decoded input.
//
// The flags say which optional fields are present; a field whose flag is
// false must be empty. An empty field whose flag is true is present on the
// wire with length 0 (an empty password, say, is valid).
type Connect struct {
	Version      Version // V311 ("MQTT", level 4) or V31 ("MQIsdp", level 3)
	CleanSession bool
	KeepAlive    uint16 // seconds; 0 turns keep-alive off
	ClientID     []byte // UTF-8; may be empty (the broker decides, MQTT-3.1.3-6)
	WillFlag     bool
	WillQoS      QoS
	WillRetain   bool
	WillTopic    []byte // a topic name; present when WillFlag
	WillMessage  []byte // raw bytes; present when WillFlag
	UsernameFlag bool
	Username     []byte // UTF-8; present when UsernameFlag
	PasswordFlag bool
	Password     []byte // raw bytes; present when PasswordFlag, which needs UsernameFlag
}

var (
	protocolMQTT   = []byte("MQTT")
	protocolMQIsdp = []byte("MQIsdp")
)

// The bits of the CONNECT flags byte (§3.1.2.3).
const (
	connectReserved     = 0x01
	connectCleanSession = 0x02
	connectWill         = 0x04
	connectWillQoSShift = 3
	connectWillRetain   = 0x20
	connectPassword     = 0x40
	connectUsername     = 0x80
)

var (
	errConnectName        = malformed(TypeConnect, "MQTT-3.1.2-1", `protocol name is not "MQTT" or "MQIsdp"`)
	errConnectVersion     = newError(ErrUnsupportedVersion, TypeConnect, "MQTT-3.1.2-2", "protocol level not supported")
	errConnectShort       = malformed(TypeConnect, "", "variable header cut short (§3.1.2)")
	errConnectReserved    = malformed(TypeConnect, "MQTT-3.1.2-3", "reserved flag bit 0 is set")
	errConnectWillQoS3    = malformed(TypeConnect, "MQTT-3.1.2-14", "will QoS 3")
	errConnectWillQoS     = malformed(TypeConnect, "MQTT-3.1.2-13", "will QoS set without the will flag")
	errConnectWillRetain  = malformed(TypeConnect, "MQTT-3.1.2-15", "will retain set without the will flag")
	errConnectPassword    = malformed(TypeConnect, "MQTT-3.1.2-22", "password flag set without the user name flag")
	errConnectClientID    = malformed(TypeConnect, "MQTT-3.1.3-3", "client identifier missing")
	errConnectWillMissing = malformed(TypeConnect, "MQTT-3.1.2-9", "will topic or will message missing")
	errConnectUserMissing = malformed(TypeConnect, "MQTT-3.1.2-19", "user name flag set but the user name is missing")
	errConnectPassMissing = malformed(TypeConnect, "MQTT-3.1.2-21", "password flag set but the password is missing")
	errConnectUserExtra   = malformed(TypeConnect, "MQTT-3.1.2-18", "bytes after the last field: a user name or will without its flag?")
	errConnectPassExtra   = malformed(TypeConnect, "MQTT-3.1.2-20", "bytes after the last field: a password without its flag?")

	errConnectClientIDText = textErrors(ErrMalformed, TypeConnect, "client identifier")
	errConnectWillTopic    = textErrors(ErrMalformed, TypeConnect, "will topic")
	errConnectUsernameText = textErrors(ErrMalformed, TypeConnect, "user name")

	errConnectVersionEnc  = invalid(TypeConnect, "MQTT-3.1.2-2", "Version must be V31 or V311")
	errConnectEmptyID     = invalid(TypeConnect, "MQTT-3.1.3-7", "empty client identifier needs CleanSession")
	errConnectWillQoSEnc  = invalid(TypeConnect, "MQTT-3.1.2-14", "will QoS above 2")
	errConnectNoWillEnc   = invalid(TypeConnect, "MQTT-3.1.2-11", "will QoS, retain, topic or message set without WillFlag")
	errConnectNoUserEnc   = invalid(TypeConnect, "MQTT-3.1.2-18", "user name set without UsernameFlag")
	errConnectNoPassEnc   = invalid(TypeConnect, "MQTT-3.1.2-20", "password set without PasswordFlag")
	errConnectPasswordEnc = invalid(TypeConnect, "MQTT-3.1.2-22", "PasswordFlag set without UsernameFlag")
	errConnectTooLongEnc  = invalid(TypeConnect, "", "will message or password longer than 65,535 bytes")

	errConnectClientIDEnc = textErrors(ErrInvalid, TypeConnect, "client identifier")
	errConnectWillTopicEn = textErrors(ErrInvalid, TypeConnect, "will topic")
	errConnectUsernameEnc = textErrors(ErrInvalid, TypeConnect, "user name")
)

// Type returns TypeConnect.
func (*Connect) Type() Type { return TypeConnect }

func (c *Connect) protocolName() []byte {
	if c.Version == V31 {
		return protocolMQIsdp
	}
	return protocolMQTT
}

// remaining returns the remaining length of the encoding.
func (c *Connect) remaining() int {
	n := sizeString(c.protocolName()) + 4 + sizeString(c.ClientID)
	if c.WillFlag {
		n += sizeString(c.WillTopic) + sizeString(c.WillMessage)
	}
	if c.UsernameFlag {
		n += sizeString(c.Username)
	}
	if c.PasswordFlag {
		n += sizeString(c.Password)
	}
	return n
}

// Size returns the encoded length of c.
func (c *Connect) Size() int { return sizeFrame(c.remaining()) }

// validate reports the first field of c that has no valid encoding.
func (c *Connect) validate() error {
	if c.Version != V31 && c.Version != V311 {
		return errConnectVersionEnc
	}
	if p := checkEncodedText(c.ClientID, kindString); p != textOK {
		return errConnectClientIDEnc[p]
	}
	if len(c.ClientID) == 0 && !c.CleanSession {
		return errConnectEmptyID // [MQTT-3.1.3-7]
	}
	if c.WillFlag {
		if c.WillQoS > QoS2 {
			return errConnectWillQoSEnc
		}
		if p := checkEncodedText(c.WillTopic, kindName); p != textOK {
			return errConnectWillTopicEn[p]
		}
		if len(c.WillMessage) > 65535 {
			return errConnectTooLongEnc
		}
	} else if c.WillQoS != 0 || c.WillRetain || len(c.WillTopic) > 0 || len(c.WillMessage) > 0 {
		return errConnectNoWillEnc // [MQTT-3.1.2-11], [MQTT-3.1.2-13], [MQTT-3.1.2-15]
	}
	if c.UsernameFlag {
		if p := checkEncodedText(c.Username, kindString); p != textOK {
			return errConnectUsernameEnc[p]
		}
	} else if len(c.Username) > 0 {
		return errConnectNoUserEnc
	}
	if c.PasswordFlag {
		if !c.UsernameFlag {
			return errConnectPasswordEnc // [MQTT-3.1.2-22]
		}
		if len(c.Password) > 65535 {
			return errConnectTooLongEnc
		}
	} else if len(c.Password) > 0 {
		return errConnectNoPassEnc
	}
	return nil
}

// Append validates c and appends its encoding to b. Version must be V31 or
// V311; it selects the protocol name. It does no allocation when
// cap(b)-len(b) >= c.Size().
func (c *Connect) Append(b []byte) ([]byte, error) {
	// The straight way (see the design note at decode), when b has room and
	// the remaining length takes one byte: the flags byte from the fields,
	// judged by the look-up that decode uses, the variable header in one
	// word, and then putFields, which copies each field a word at a time and
	// takes checkPlain's first look at the text fields on the very words
	// copied. A copy() would call memmove, and every call costs the saving
	// of the live registers around it: one call to putFields is cheaper than
	// five to memmove and three to checkPlain. Writing past len(b) before
	// the verdict is allowed, since those bytes are b's spare room, and
	// appendExact, which validates c and writes it again, returns b itself
	// on an error.
	var fs [5]connectField // the fields present, in their order
	fs[0] = connectField{&c.ClientID, floorString * ones}
	nf := 1
	flags := byte(c.WillQoS) << connectWillQoSShift
	if c.CleanSession {
		flags |= connectCleanSession
	}
	if c.WillRetain {
		flags |= connectWillRetain
	}
	rem := 12 + len(c.ClientID)
	absent := 0 // the length of the fields whose flag is false
	if c.WillFlag {
		flags |= connectWill
		rem += 4 + len(c.WillTopic) + len(c.WillMessage)
		fs[1] = connectField{&c.WillTopic, floorName * ones}
		fs[2] = connectField{&c.WillMessage, 0}
		nf = 3
	} else {
		absent = len(c.WillTopic) + len(c.WillMessage)
	}
	if c.UsernameFlag {
		flags |= connectUsername
		rem += 2 + len(c.Username)
		fs[nf] = connectField{&c.Username, floorString * ones}
		nf++
	} else {
		absent += len(c.Username)
	}
	if c.PasswordFlag {
		flags |= connectPassword
		rem += 2 + len(c.Password)
		fs[nf] = connectField{&c.Password, 0}
		nf++
	} else {
		absent += len(c.Password)
	}
	// Below 128, the remaining length takes one byte, and no field is too
	// long for its prefix. An empty client id needs CleanSession
	// [MQTT-3.1.3-7]; a will topic is not empty [MQTT-4.7.3-1].
	n := len(b)
	if c.Version != V311 || c.WillQoS > QoS2 || rem >= 128 || cap(b)-n < 2+rem ||
		!connectFlags311[flags] || absent != 0 ||
		len(c.ClientID) == 0 && !c.CleanSession || c.WillFlag && len(c.WillTopic) == 0 {
		return c.appendExact(b)
	}
	out := b[:n+2+rem]
	out[n], out[n+1] = byte(TypeConnect)<<4, byte(rem)
	binary.LittleEndian.PutUint64(out[n+2:], connectStart311|uint64(flags)<<56)
	binary.BigEndian.PutUint16(out[n+10:], c.KeepAlive)
	if !putFields(out[n+12:], fs[:nf]) {
		return c.appendExact(b)
	}
	return out, nil
}

// connectField is a field of a Connect for Append's straight way, with
// k = floor*ones for checkPlain's first look at a text field, or 0 for a
// field of raw bytes, which is not looked at.
type connectField struct {
	f *[]byte
	k uint64
}

// putFields writes the fields fs with their length prefixes to dst, which
// they fill, and reports whether checkPlain's first look passes each text
// field. It copies with checkPlain's words, overlapping as needed, and takes
// the look on the very words copied: a byte copied twice is the same byte,
// judged the same way.
func putFields(dst []byte, fs []connectField) bool {
	i := 0
	for _, fd := range fs {
		f, k := *fd.f, fd.k
		l := len(f)
		if i+1 >= len(dst) {
			return false // never: the caller has counted the fields
		}
		dst[i], dst[i+1] = byte(l>>8), byte(l)
		d := dst[i+2 : i+2+l]
		i += 2 + l
		var m uint64
		switch {
		case l > 32:
			for j := 0; j < l-8; j += 8 {
				w := binary.LittleEndian.Uint64(f[j:])
				binary.LittleEndian.PutUint64(d[j:], w)
				m |= w - k | w
			}
			w := binary.LittleEndian.Uint64(f[l-8:])
			binary.LittleEndian.PutUint64(d[l-8:], w)
			m |= w - k | w
		case l >= 16:
			w := binary.LittleEndian.Uint64(f)
			binary.LittleEndian.PutUint64(d, w)
			m = w - k | w
			w = binary.LittleEndian.Uint64(f[8:])
			binary.LittleEndian.PutUint64(d[8:], w)
			m |= w - k | w
			w = binary.LittleEndian.Uint64(f[l-16:])
			binary.LittleEndian.PutUint64(d[l-16:], w)
			m |= w - k | w
			w = binary.LittleEndian.Uint64(f[l-8:])
			binary.LittleEndian.PutUint64(d[l-8:], w)
			m |= w - k | w
		case l >= 8:
			w := binary.LittleEndian.Uint64(f)
			binary.LittleEndian.PutUint64(d, w)
			m = w - k | w
			w = binary.LittleEndian.Uint64(f[l-8:])
			binary.LittleEndian.PutUint64(d[l-8:], w)
			m |= w - k | w
		case l >= 4:
			a, b := binary.LittleEndian.Uint32(f), binary.LittleEndian.Uint32(f[l-4:])
			binary.LittleEndian.PutUint32(d, a)
			binary.LittleEndian.PutUint32(d[l-4:], b)
			w := uint64(b)<<32 | uint64(a)
			m = w - k | w
		default:
			for j, c := range f {
				d[j] = c
				m |= uint64(c) - k&0xff | uint64(c)
			}
		}
		if k != 0 && m&highs != 0 {
			return false
		}
	}
	return true
}

// appendExact is Append the exact way: it validates c rule by rule, and then
// appends field by field.
func (c *Connect) appendExact(b []byte) ([]byte, error) {
	if err := c.validate(); err != nil {
		return b, err
	}
	remaining := c.remaining()
	b = grow(b, sizeFrame(remaining))
	b = append(b, byte(TypeConnect)<<4)
	b = appendVarint(b, remaining)
	b = appendString(b, c.protocolName())
	flags := byte(c.WillQoS) << connectWillQoSShift
	if c.CleanSession {
		flags |= connectCleanSession
	}
	if c.WillFlag {
		flags |= connectWill
	}
	if c.WillRetain {
		flags |= connectWillRetain
	}
	if c.UsernameFlag {
		flags |= connectUsername
	}
	if c.PasswordFlag {
		flags |= connectPassword
	}
	b = append(b, byte(c.Version), flags)
	b = appendUint16(b, c.KeepAlive)
	b = appendString(b, c.ClientID)
	if c.WillFlag {
		b = appendString(b, c.WillTopic)
		b = appendString(b, c.WillMessage)
	}
	if c.UsernameFlag {
		b = appendString(b, c.Username)
	}
	if c.PasswordFlag {
		b = appendString(b, c.Password)
	}
	return b, nil
}

// Decode decodes a CONNECT body. The protocol level in the packet selects the
// rules: "MQIsdp" level 3 applies the 3.1 leniencies. Byte-slice fields alias
// body.
func (c *Connect) Decode(h Header, body []byte) error {
	body, err := decodeHeader(TypeConnect, h, body)
	if err != nil {
		return err
	}
	return c.decode(body)
}

// Design note: decode and Append first try a straight way for the commonest
// CONNECT: level 4 ("MQTT"), and every text field ASCII without U+0000 (a
// will topic also non-empty and without a wildcard). The straight way checks
// no rule less than the exact way; it only gives up on whatever it does not
// judge at once, and the exact way, decodeExact or appendExact, then starts
// over and names the error, if there is one.

// connectStart311 is the start of a 3.1.1 CONNECT body read as a
// little-endian word: the length-prefixed protocol name "MQTT", level 4, and
// then the flags, here 0.
const connectStart311 = 0x04<<48 | 'T'<<40 | 'T'<<32 | 'Q'<<24 | 'M'<<16 | 0x04<<8 | 0x00

// connectFlags311 is true for each CONNECT flags byte that the 3.1.1 rules
// accept: reserved bit 0 clear [MQTT-3.1.2-3], will QoS below 3
// [MQTT-3.1.2-14], will QoS and retain clear without the will flag
// [MQTT-3.1.2-13], [MQTT-3.1.2-15], and a password only with a user name
// [MQTT-3.1.2-22].
var connectFlags311 = func() (ok [256]bool) {
	for f := range 256 {
		will, qos, retain := f&connectWill != 0, f>>connectWillQoSShift&3, f&connectWillRetain != 0
		ok[f] = f&connectReserved == 0 && qos != 3 && (will || qos == 0 && !retain) &&
			(f&connectPassword == 0 || f&connectUsername != 0)
	}
	return ok
}()

// decode decodes a CONNECT body under the rules of its own protocol level.
func (c *Connect) decode(body []byte) error {
	// The straight way (see the design note above), with no call on it and
	// no loop: a call would make the compiler save live registers around
	// it, and a loop hold more values in registers than there are. The
	// variable header is one word, compared whole but for the flags, which
	// one look-up judges.
	n := len(body)
	body = body[:n:n] // so that the compiler's checks against cap are ours against n
	if n < 12 {
		return c.decodeExact(body)
	}
	w := binary.LittleEndian.Uint64(body)
	flags := byte(w >> 56)
	if w<<8 != connectStart311<<8 || !connectFlags311[flags] {
		return c.decodeExact(body)
	}
	// Then each field in turn, e being the end of the last: its length
	// prefix, read once two bytes are known to be left, and the field, once
	// it is known to fit. In this order, against what is left, the compiler
	// proves nearly every index in bounds.
	//
	// m gathers checkPlain's first look at the text fields, judged once at
	// the end: bit 7 of a byte of m is set where a byte of a field is not
	// ASCII or is below its kind's floor, k = floor*ones. Each field is read
	// in words that overlap as checkPlain's do, with no loop: two words
	// cover 9 to 16 bytes, four 17 to 32. Up to eight bytes, the word that
	// ends the field, which has the eight bytes of the header before it,
	// with the marks of the bytes before the field shifted out; a borrow out
	// of such a byte can only set bit 7 of a byte of the field, never clear
	// it. A longer field sets every mark, and is left to the end.
	const ks, kn = floorString * ones, floorName * ones
	var m uint64
	r := body[10:]
	l := int(r[0])<<8 | int(r[1])
	if l > len(r)-2 {
		return c.decodeExact(body)
	}
	id := r[2 : 2+l : 2+l]
	e := 12 + l
	c.ClientID = id
	if l > 16 { // the first look at id, as above
		if l > 32 {
			m = highs
		} else {
			u := binary.LittleEndian.Uint64(id)
			v := binary.LittleEndian.Uint64(id[8:])
			x := binary.LittleEndian.Uint64(id[l-16:])
			y := binary.LittleEndian.Uint64(id[l-8:])
			m = (u - ks | u) | (v - ks | v) | (x - ks | x) | (y - ks | y)
		}
	} else if l > 8 {
		u := binary.LittleEndian.Uint64(id)
		v := binary.LittleEndian.Uint64(id[l-8:])
		m = (u - ks | u) | (v - ks | v)
	} else {
		w := binary.LittleEndian.Uint64(body[e-8 : e])
		h := 4 * uint(8-l) // 8-l bytes to shift out: two shifts of at most 32 bits
		m = (w - ks | w) >> h >> h
	}
	if flags&connectWill != 0 {
		if n-e < 2 {
			return c.decodeExact(body)
		}
		r := body[e:]
		l := int(r[0])<<8 | int(r[1])
		// The will message follows: its prefix too must fit.
		if l > len(r)-4 || l == 0 { // [MQTT-4.7.3-1]: not empty
			return c.decodeExact(body)
		}
		topic := r[2 : 2+l : 2+l]
		e += 2 + l
		c.WillTopic = topic
		if l > 16 { // the first look at topic, as above
			if l > 32 {
				m = highs
			} else {
				u := binary.LittleEndian.Uint64(topic)
				v := binary.LittleEndian.Uint64(topic[8:])
				x := binary.LittleEndian.Uint64(topic[l-16:])
				y := binary.LittleEndian.Uint64(topic[l-8:])
				m |= (u - kn | u) | (v - kn | v) | (x - kn | x) | (y - kn | y)
			}
		} else if l > 8 {
			u := binary.LittleEndian.Uint64(topic)
			v := binary.LittleEndian.Uint64(topic[l-8:])
			m |= (u - kn | u) | (v - kn | v)
		} else {
			w := binary.LittleEndian.Uint64(body[e-8 : e])
			h := 4 * uint(8-l)
			m |= (w - kn | w) >> h >> h
		}
		r = r[2+l:]
		l = int(r[0])<<8 | int(r[1])
		if l > len(r)-2 {
			return c.decodeExact(body)
		}
		c.WillMessage = r[2 : 2+l : 2+l]
		e += 2 + l
	} else {
		c.WillTopic, c.WillMessage = nil, nil
	}
	if flags&connectUsername != 0 {
		if n-e < 2 {
			return c.decodeExact(body)
		}
		r := body[e:]
		l := int(r[0])<<8 | int(r[1])
		if l > len(r)-2 {
			return c.decodeExact(body)
		}
		user := r[2 : 2+l : 2+l]
		e += 2 + l
		c.Username = user
		if l > 16 { // the first look at user, as above
			if l > 32 {
				m = highs
			} else {
				u := binary.LittleEndian.Uint64(user)
				v := binary.LittleEndian.Uint64(user[8:])
				x := binary.LittleEndian.Uint64(user[l-16:])
				y := binary.LittleEndian.Uint64(user[l-8:])
				m |= (u - ks | u) | (v - ks | v) | (x - ks | x) | (y - ks | y)
			}
		} else if l > 8 {
			u := binary.LittleEndian.Uint64(user)
			v := binary.LittleEndian.Uint64(user[l-8:])
			m |= (u - ks | u) | (v - ks | v)
		} else {
			w := binary.LittleEndian.Uint64(body[e-8 : e])
			h := 4 * uint(8-l)
			m |= (w - ks | w) >> h >> h
		}
	} else {
		c.Username = nil
	}
	if flags&connectPassword != 0 {
		if n-e < 2 {
			return c.decodeExact(body)
		}
		r := body[e:]
		l := int(r[0])<<8 | int(r[1])
		if l > len(r)-2 {
			return c.decodeExact(body)
		}
		c.Password = r[2 : 2+l : 2+l]
		e += 2 + l
	} else {
		c.Password = nil
	}
	// Text that the first look does not pass, long text among it, is judged
	// by the very checks that decodeExact makes, now that the fields are
	// known to be in place: off the straight way, but far shorter than
	// starting over.
	if e != n || m&highs != 0 {
		if e != n || !c.textPasses(flags) {
			return c.decodeExact(body)
		}
	}
	c.Version = V311
	c.CleanSession = flags&connectCleanSession != 0
	c.KeepAlive = binary.BigEndian.Uint16(body[8:10])
	c.WillFlag = flags&connectWill != 0
	c.WillQoS = QoS(flags >> connectWillQoSShift & 3)
	c.WillRetain = flags&connectWillRetain != 0
	c.UsernameFlag = flags&connectUsername != 0
	c.PasswordFlag = flags&connectPassword != 0
	return nil
}

// textPasses reports whether the text fields of c that flags say are present
// pass the checks decodeExact makes of them.
func (c *Connect) textPasses(flags byte) bool {
	return checkText(c.ClientID) == textOK &&
		(flags&connectWill == 0 || checkTopicName(c.WillTopic) == textOK) &&
		(flags&connectUsername == 0 || checkText(c.Username) == textOK)
}

// decodeExact is decode the exact way: it checks each rule in turn, and
// returns the first error.
func (c *Connect) decodeExact(body []byte) error {
	name, n, ok := consumeString(body)
	if !ok {
		return errConnectName
	}
	rest := body[n:]
	var version Version
	switch {
	case string(name) == "MQTT":
		version = V311
	case string(name) == "MQIsdp":
		version = V31
	default:
		return errConnectName // [MQTT-3.1.2-1], decision A6: close without CONNACK
	}
	if len(rest) == 0 {
		return errConnectShort
	}
	if Version(rest[0]) != version {
		// [MQTT-3.1.2-2], decisions A7 and A8: decided before anything after
		// the level is parsed, since an MQTT 5 CONNECT goes on differently.
		return errConnectVersion
	}
	if len(rest) < 4 {
		return errConnectShort
	}
	flags := rest[1]
	c.KeepAlive = uint16(rest[2])<<8 | uint16(rest[3])
	rest = rest[4:]
	strict := version == V311

	if flags&connectReserved != 0 && strict {
		return errConnectReserved // [MQTT-3.1.2-3]; 3.1 leaves bit 0 unused
	}
	c.Version = version
	c.CleanSession = flags&connectCleanSession != 0
	c.WillFlag = flags&connectWill != 0
	c.UsernameFlag = flags&connectUsername != 0
	c.PasswordFlag = flags&connectPassword != 0
	willQoS := QoS(flags >> connectWillQoSShift & 3)
	willRetain := flags&connectWillRetain != 0
	if c.WillFlag {
		if willQoS == 3 {
			return errConnectWillQoS3 // [MQTT-3.1.2-14]
		}
		c.WillQoS, c.WillRetain = willQoS, willRetain
	} else {
		if strict && willQoS != 0 {
			return errConnectWillQoS // [MQTT-3.1.2-13]
		}
		if strict && willRetain {
			return errConnectWillRetain // [MQTT-3.1.2-15]
		}
		// 3.1 ignores will QoS and retain without the will flag (§3 row 7).
		c.WillQoS, c.WillRetain = 0, false
	}
	if c.PasswordFlag && !c.UsernameFlag {
		return errConnectPassword // [MQTT-3.1.2-22], decision A5, both levels
	}

	// The payload, in the order of [MQTT-3.1.3-1].
	if c.ClientID, n, ok = consumeString(rest); !ok {
		return errConnectClientID // [MQTT-3.1.3-3]
	}
	if p := checkText(c.ClientID); p != textOK {
		return errConnectClientIDText[p] // [MQTT-3.1.3-4]
	}
	rest = rest[n:]

	c.WillTopic, c.WillMessage = nil, nil
	if c.WillFlag {
		if c.WillTopic, n, ok = consumeString(rest); !ok {
			return errConnectWillMissing // [MQTT-3.1.2-9]
		}
		if p := checkTopicName(c.WillTopic); p != textOK {
			return errConnectWillTopic[p] // [MQTT-3.1.3-10], decision A12
		}
		rest = rest[n:]
		if c.WillMessage, n, ok = consumeString(rest); !ok {
			return errConnectWillMissing // [MQTT-3.1.2-9]
		}
		rest = rest[n:]
	}

	c.Username, c.Password = nil, nil
	if c.UsernameFlag {
		if len(rest) == 0 && !strict {
			// 3.1: a flagged user name that is absent is simply missing, and
			// so is the password after it (§3 row 8).
			c.UsernameFlag, c.PasswordFlag = false, false
		} else {
			if c.Username, n, ok = consumeString(rest); !ok {
				return errConnectUserMissing // [MQTT-3.1.2-19]
			}
			if p := checkText(c.Username); p != textOK {
				return errConnectUsernameText[p] // [MQTT-3.1.3-11]
			}
			rest = rest[n:]
		}
	}
	if c.PasswordFlag {
		if len(rest) == 0 && !strict {
			c.PasswordFlag = false // §3 row 8
		} else {
			if c.Password, n, ok = consumeString(rest); !ok {
				return errConnectPassMissing // [MQTT-3.1.2-21]
			}
			rest = rest[n:]
		}
	}
	if len(rest) != 0 {
		if !c.UsernameFlag {
			return errConnectUserExtra // [MQTT-3.1.2-18], or will fields: [MQTT-3.1.2-11]
		}
		if !c.PasswordFlag {
			return errConnectPassExtra // [MQTT-3.1.2-20]
		}
		return errTrailing[TypeConnect]
	}
	return nil
}

// ConnectReturnCode is the CONNACK return code (Table 3.1).
type ConnectReturnCode uint8

// The return codes MQTT 3.1 and 3.1.1 define; 6 to 255 are reserved.
const (
	Accepted                     ConnectReturnCode = 0
	RefusedProtocolVersion       ConnectReturnCode = 1
	RefusedIdentifierRejected    ConnectReturnCode = 2
	RefusedServerUnavailable     ConnectReturnCode = 3
	RefusedBadUsernameOrPassword ConnectReturnCode = 4
	RefusedNotAuthorized         ConnectReturnCode = 5
)

var returnCodeText = [...]string{
	"connection accepted",
	"unacceptable protocol version",
	"identifier rejected",
	"server unavailable",
	"bad user name or password",
	"not authorized",
}

// String returns the code's meaning in the words of Table 3.1.
func (rc ConnectReturnCode) String() string {
	if int(rc) < len(returnCodeText) {
		return returnCodeText[rc]
	}
	return "reserved return code"
}

// Connack is the CONNACK packet (§3.2).
type Connack struct {
	SessionPresent bool
	ReturnCode     ConnectReturnCode

	// Version is the session's protocol level, whose rules apply: 0 or V311
	// for 3.1.1, V31 for 3.1, where the acknowledge-flags byte is unused and
	// SessionPresent must be false. Decoder.Decode sets it from
	// Decoder.Version.
	Version Version
}

var (
	errConnackFlags      = malformed(TypeConnack, "", "reserved acknowledge flag bits 7-1 are set (§3.2.2.1)")
	errConnackSession    = malformed(TypeConnack, "MQTT-3.2.2-4", "session present with a non-zero return code")
	errConnackCode       = malformed(TypeConnack, "", "reserved return code (Table 3.1)")
	errConnackSessionEnc = invalid(TypeConnack, "MQTT-3.2.2-4", "SessionPresent with a non-zero return code")
	errConnackCodeEnc    = invalid(TypeConnack, "", "reserved return code (Table 3.1)")
	errConnackV31Enc     = invalid(TypeConnack, "", "SessionPresent in a 3.1 session")
	errConnackVersionEnc = invalid(TypeConnack, "", "Version must be 0, V31 or V311")
)

// Type returns TypeConnack.
func (*Connack) Type() Type { return TypeConnack }

// Size returns 4.
func (*Connack) Size() int { return 4 }

// Append validates c and appends its four bytes to b.
func (c *Connack) Append(b []byte) ([]byte, error) {
	switch {
	case c.ReturnCode > RefusedNotAuthorized:
		return b, errConnackCodeEnc
	case c.SessionPresent && c.ReturnCode != Accepted:
		return b, errConnackSessionEnc // [MQTT-3.2.2-4]
	case c.Version != 0 && c.Version != V31 && c.Version != V311:
		return b, errConnackVersionEnc
	case c.SessionPresent && c.Version == V31:
		return b, errConnackV31Enc
	}
	var flags byte
	if c.SessionPresent {
		flags = 1
	}
	return append(b, byte(TypeConnack)<<4, 2, flags, byte(c.ReturnCode)), nil
}

// Decode decodes a CONNACK body under the 3.1.1 rules.
func (c *Connack) Decode(h Header, body []byte) error {
	body, err := decodeHeader(TypeConnack, h, body)
	if err != nil {
		return err
	}
	return c.decode(body, 0)
}

func (c *Connack) decode(body []byte, v Version) error {
	flags, code := body[0], ConnectReturnCode(body[1])
	c.Version = v
	if v == V31 {
		flags = 0 // 3.1: "topic name compression response", unused (§3 row 3)
	} else if flags&^1 != 0 {
		return errConnackFlags
	}
	if code > RefusedNotAuthorized {
		return errConnackCode
	}
	c.SessionPresent = flags == 1
	if c.SessionPresent && code != Accepted {
		return errConnackSession // [MQTT-3.2.2-4]
	}
	c.ReturnCode = code
	return nil
}

// String describes c for logs: the password and will message by length only.
func (c *Connect) String() string {
	s := fmt.Sprintf("CONNECT{Version:%v ClientID:%q CleanSession:%t KeepAlive:%d", c.Version, c.ClientID, c.CleanSession, c.KeepAlive)
	if c.WillFlag {
		s += fmt.Sprintf(" Will:{Topic:%q QoS:%d Retain:%t Message:%d bytes}", c.WillTopic, c.WillQoS, c.WillRetain, len(c.WillMessage))
	}
	if c.UsernameFlag {
		s += fmt.Sprintf(" Username:%q", c.Username)
	}
	if c.PasswordFlag {
		s += fmt.Sprintf(" Password:%d bytes", len(c.Password))
	}
	return s + "}"
}

// String describes c for logs.
func (c *Connack) String() string {
	return fmt.Sprintf("CONNACK{SessionPresent:%t ReturnCode:%d (%v)}", c.SessionPresent, c.ReturnCode, c.ReturnCode)
}
