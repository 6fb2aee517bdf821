package mqttwire

import (
	"encoding/binary"
	"fmt"
)

// Publish is the PUBLISH packet (§3.3). Topic and Payload of a decoded
// Publish alias the decoded input.
type Publish struct {
	Dup      bool // a re-delivery; only with QoS 1 or 2
	QoS      QoS
	Retain   bool
	Topic    []byte // a topic name: no wildcards
	PacketID uint16 // non-zero with QoS 1 and 2, zero with QoS 0
	Payload  []byte // raw bytes, possibly empty
}

// The bits of the PUBLISH fixed-header flags (§3.3.1).
const (
	publishDup      = 0x08
	publishQoSShift = 1
	publishRetain   = 0x01
)

var (
	errPublishTopic     = malformed(TypePublish, "MQTT-3.3.2-1", "topic name missing or cut short")
	errPublishTopicText = textErrors(ErrMalformed, TypePublish, "topic name")
	errPublishTopicEnc  = textErrors(ErrInvalid, TypePublish, "topic name")
	errPublishQoSEnc    = invalid(TypePublish, "MQTT-3.3.1-4", "QoS above 2")
	errPublishDupEnc    = invalid(TypePublish, "MQTT-3.3.1-2", "Dup with QoS 0")
	errPublishIDQoS0Enc = invalid(TypePublish, "MQTT-2.3.1-5", "PacketID with QoS 0")
)

// Type returns TypePublish.
func (*Publish) Type() Type { return TypePublish }

func (p *Publish) remaining() int {
	n := sizeString(p.Topic) + len(p.Payload)
	if p.QoS > 0 {
		n += 2
	}
	return n
}

// Size returns the encoded length of p.
func (p *Publish) Size() int { return sizeFrame(p.remaining()) }

// validate reports the first field of p that has no valid encoding, or else
// the remaining length of the encoding.
func (p *Publish) validate() (remaining int, err error) {
	switch {
	case p.QoS > QoS2:
		return 0, errPublishQoSEnc // [MQTT-3.3.1-4]
	case p.QoS == QoS0 && p.Dup:
		return 0, errPublishDupEnc // [MQTT-3.3.1-2]
	case p.QoS == QoS0 && p.PacketID != 0:
		return 0, errPublishIDQoS0Enc // [MQTT-2.3.1-5]
	case p.QoS > QoS0 && p.PacketID == 0:
		return 0, errPacketIDZeroEnc[TypePublish] // [MQTT-2.3.1-1]
	}
	if t := checkEncodedText(p.Topic, kindName); t != textOK {
		return 0, errPublishTopicEnc[t]
	}
	if remaining = p.remaining(); remaining > MaxRemaining {
		return 0, errTooLargeEncode[TypePublish]
	}
	return remaining, nil
}

// Append validates p and appends its encoding to b. It does no allocation
// when cap(b)-len(b) >= p.Size().
func (p *Publish) Append(b []byte) ([]byte, error) {
	// The commonest packet first: a topic name of 8 to 32 bytes, all ASCII
	// at or above floorName (read eight bytes at a time, with the check of
	// checkPlain), and a remaining length of one or two bytes. Anything
	// else, and any error, goes to appendFull, which validates p anew; every
	// check here is one validate makes too. TestPropertyAppendFastPath
	// holds the two to the same answers.
	topic, t := p.Topic, len(p.Topic)
	rem := 2 + t + len(p.Payload)
	qos, id := p.QoS, p.PacketID
	if qos != QoS0 {
		rem += 2
	}
	if t < 8 || t > 32 || rem >= 1<<14 || qos > QoS2 || (qos == QoS0) != (id == 0) || p.Dup && qos == QoS0 {
		return p.appendFull(b)
	}
	const k = floorName * ones
	// Four words cover the name, overlapping where it is shorter than 32
	// bytes: at 0, at 8 or t-8, at t-16 or 0, and at t-8.
	o1, o2 := min(8, t-8), max(t-16, 0)
	u := binary.LittleEndian.Uint64(topic)
	v := binary.LittleEndian.Uint64(topic[o1:])
	x := binary.LittleEndian.Uint64(topic[o2:])
	y := binary.LittleEndian.Uint64(topic[t-8:])
	if ((u-k)|u|(v-k)|v|(x-k)|x|(y-k)|y)&highs != 0 {
		return p.appendFull(b)
	}
	first := byte(TypePublish)<<4 | byte(qos)<<publishQoSShift
	if p.Dup {
		first |= publishDup
	}
	if p.Retain {
		first |= publishRetain
	}
	if rem < 0x80 {
		b = append(grow(b, 2+rem), first, byte(rem), 0, byte(t))
	} else {
		b = append(grow(b, 3+rem), first, byte(rem)|0x80, byte(rem>>7), 0, byte(t))
	}
	b = append(b, topic...)
	if qos != QoS0 {
		b = append(b, byte(id>>8), byte(id))
	}
	return append(b, p.Payload...), nil
}

// appendFull is Append for every PUBLISH.
func (p *Publish) appendFull(b []byte) ([]byte, error) {
	remaining, err := p.validate()
	if err != nil {
		return b, err
	}
	b = grow(b, sizeFrame(remaining))
	first := byte(TypePublish)<<4 | byte(p.QoS)<<publishQoSShift
	if p.Dup {
		first |= publishDup
	}
	if p.Retain {
		first |= publishRetain
	}
	b = append(b, first)
	b = appendVarint(b, remaining)
	b = appendString(b, p.Topic)
	if p.QoS > QoS0 {
		b = appendUint16(b, p.PacketID)
	}
	return append(b, p.Payload...), nil
}

// Decode decodes a PUBLISH body under the 3.1.1 rules. Topic and Payload
// alias body.
func (p *Publish) Decode(h Header, body []byte) error {
	body, err := decodeHeader(TypePublish, h, body)
	if err != nil {
		return err
	}
	return p.decode(h.Flags, body)
}

// decode decodes a PUBLISH body whose header flags checkHeader has passed.
func (p *Publish) decode(flags uint8, body []byte) error {
	if len(body) < 2 {
		return errPublishTopic // [MQTT-3.3.2-1]
	}
	end := 2 + (int(body[0])<<8 | int(body[1])) // the end of the topic name
	if end > len(body) {
		return errPublishTopic // [MQTT-3.3.2-1]
	}
	topic := body[2:end:end]
	if t := checkTopicName(topic); t != textOK {
		return errPublishTopicText[t] // [MQTT-3.3.2-2], [MQTT-4.7.3-1], [MQTT-1.5.3-1]
	}
	qos := QoS(flags >> publishQoSShift & 3)
	var id uint16
	if qos > QoS0 {
		if len(body)-end < 2 {
			return errPacketIDMissing[TypePublish] // §3.3.2.2
		}
		if id = uint16(body[end])<<8 | uint16(body[end+1]); id == 0 {
			return errPacketIDZero[TypePublish] // [MQTT-2.3.1-1]
		}
		end += 2
	}
	p.Dup, p.QoS, p.Retain = flags&publishDup != 0, qos, flags&publishRetain != 0
	p.Topic, p.PacketID, p.Payload = topic, id, body[end:]
	return nil
}

// String describes p for logs: the payload by length only.
func (p *Publish) String() string {
	return fmt.Sprintf("PUBLISH{Topic:%q QoS:%d Dup:%t Retain:%t PacketID:%d Payload:%d bytes}",
		p.Topic, p.QoS, p.Dup, p.Retain, p.PacketID, len(p.Payload))
}
