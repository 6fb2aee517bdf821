package mqttwire

import "fmt"

// The acknowledgements that carry only a packet identifier (PUBACK, PUBREC,
// PUBREL, PUBCOMP, and UNSUBACK in subscribe.go), and the three packets that
// carry nothing (PINGREQ, PINGRESP, DISCONNECT). An acknowledgement repeats
// the identifier of a packet whose identifier had to be non-zero, so 0 is
// malformed in every one of them (decision A4).

// Puback is the PUBACK packet (§3.4), the answer to a QoS 1 PUBLISH.
type Puback struct{ PacketID uint16 }

// Pubrec is the PUBREC packet (§3.5), the first answer to a QoS 2 PUBLISH.
type Pubrec struct{ PacketID uint16 }

// Pubrel is the PUBREL packet (§3.6), the answer to PUBREC.
type Pubrel struct{ PacketID uint16 }

// Pubcomp is the PUBCOMP packet (§3.7), the answer to PUBREL.
type Pubcomp struct{ PacketID uint16 }

// Pingreq is the PINGREQ packet (§3.12).
type Pingreq struct{}

// Pingresp is the PINGRESP packet (§3.13).
type Pingresp struct{}

// Disconnect is the DISCONNECT packet (§3.14).
type Disconnect struct{}

// Type returns TypePuback.
func (*Puback) Type() Type { return TypePuback }

// Type returns TypePubrec.
func (*Pubrec) Type() Type { return TypePubrec }

// Type returns TypePubrel.
func (*Pubrel) Type() Type { return TypePubrel }

// Type returns TypePubcomp.
func (*Pubcomp) Type() Type { return TypePubcomp }

// Type returns TypePingreq.
func (*Pingreq) Type() Type { return TypePingreq }

// Type returns TypePingresp.
func (*Pingresp) Type() Type { return TypePingresp }

// Type returns TypeDisconnect.
func (*Disconnect) Type() Type { return TypeDisconnect }

// Size returns 4.
func (*Puback) Size() int { return 4 }

// Size returns 4.
func (*Pubrec) Size() int { return 4 }

// Size returns 4.
func (*Pubrel) Size() int { return 4 }

// Size returns 4.
func (*Pubcomp) Size() int { return 4 }

// Size returns 2.
func (*Pingreq) Size() int { return 2 }

// Size returns 2.
func (*Pingresp) Size() int { return 2 }

// Size returns 2.
func (*Disconnect) Size() int { return 2 }

// Append appends the four bytes of p to b. PacketID must not be 0.
func (p *Puback) Append(b []byte) ([]byte, error) { return appendIDPacket(b, TypePuback, p.PacketID) }

// Append appends the four bytes of p to b. PacketID must not be 0.
func (p *Pubrec) Append(b []byte) ([]byte, error) { return appendIDPacket(b, TypePubrec, p.PacketID) }

// Append appends the four bytes of p to b, with the flags 0010 that PUBREL
// requires. PacketID must not be 0.
func (p *Pubrel) Append(b []byte) ([]byte, error) { return appendIDPacket(b, TypePubrel, p.PacketID) }

// Append appends the four bytes of p to b. PacketID must not be 0.
func (p *Pubcomp) Append(b []byte) ([]byte, error) {
	return appendIDPacket(b, TypePubcomp, p.PacketID)
}

// Append appends C0 00 to b.
func (*Pingreq) Append(b []byte) ([]byte, error) { return append(b, byte(TypePingreq)<<4, 0), nil }

// Append appends D0 00 to b.
func (*Pingresp) Append(b []byte) ([]byte, error) { return append(b, byte(TypePingresp)<<4, 0), nil }

// Append appends E0 00 to b.
func (*Disconnect) Append(b []byte) ([]byte, error) {
	return append(b, byte(TypeDisconnect)<<4, 0), nil
}

// Decode decodes a PUBACK body under the 3.1.1 rules.
func (p *Puback) Decode(h Header, body []byte) error {
	return decodeIDPacket(&p.PacketID, TypePuback, h, body)
}

// Decode decodes a PUBREC body under the 3.1.1 rules.
func (p *Pubrec) Decode(h Header, body []byte) error {
	return decodeIDPacket(&p.PacketID, TypePubrec, h, body)
}

// Decode decodes a PUBREL body under the 3.1.1 rules.
func (p *Pubrel) Decode(h Header, body []byte) error {
	return decodeIDPacket(&p.PacketID, TypePubrel, h, body)
}

// Decode decodes a PUBCOMP body under the 3.1.1 rules.
func (p *Pubcomp) Decode(h Header, body []byte) error {
	return decodeIDPacket(&p.PacketID, TypePubcomp, h, body)
}

// Decode checks a PINGREQ fixed header under the 3.1.1 rules.
func (*Pingreq) Decode(h Header, body []byte) error {
	_, err := decodeHeader(TypePingreq, h, body)
	return err
}

// Decode checks a PINGRESP fixed header under the 3.1.1 rules.
func (*Pingresp) Decode(h Header, body []byte) error {
	_, err := decodeHeader(TypePingresp, h, body)
	return err
}

// Decode checks a DISCONNECT fixed header under the 3.1.1 rules.
func (*Disconnect) Decode(h Header, body []byte) error {
	_, err := decodeHeader(TypeDisconnect, h, body)
	return err
}

// appendIDPacket appends a packet of type t whose body is only the packet
// identifier id.
func appendIDPacket(b []byte, t Type, id uint16) ([]byte, error) {
	if id == 0 {
		return b, errPacketIDZeroEnc[t]
	}
	return append(b, byte(t)<<4|fixedFlags[t], 2, byte(id>>8), byte(id)), nil
}

// decodeIDPacket is the Decode method of the packets whose body is only a
// packet identifier.
func decodeIDPacket(id *uint16, t Type, h Header, body []byte) error {
	body, err := decodeHeader(t, h, body)
	if err != nil {
		return err
	}
	return decodeID(id, t, body)
}

// decodeID decodes a body of exactly two bytes, a non-zero packet identifier,
// into id. checkHeader has already checked the length.
func decodeID(id *uint16, t Type, body []byte) error {
	v, err := consumePacketID(t, body)
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// consumePacketID reads the packet identifier at the start of the body of a
// packet of type t, which must be non-zero [MQTT-2.3.1-1].
func consumePacketID(t Type, body []byte) (uint16, error) {
	id, ok := consumeUint16(body)
	if !ok {
		return 0, errPacketIDMissing[t]
	}
	if id == 0 {
		return 0, errPacketIDZero[t] // [MQTT-2.3.1-1], decision A4
	}
	return id, nil
}

// String describes p for logs.
func (p *Puback) String() string { return fmt.Sprintf("PUBACK{PacketID:%d}", p.PacketID) }

// String describes p for logs.
func (p *Pubrec) String() string { return fmt.Sprintf("PUBREC{PacketID:%d}", p.PacketID) }

// String describes p for logs.
func (p *Pubrel) String() string { return fmt.Sprintf("PUBREL{PacketID:%d}", p.PacketID) }

// String describes p for logs.
func (p *Pubcomp) String() string { return fmt.Sprintf("PUBCOMP{PacketID:%d}", p.PacketID) }

// String returns "PINGREQ".
func (*Pingreq) String() string { return "PINGREQ" }

// String returns "PINGRESP".
func (*Pingresp) String() string { return "PINGRESP" }

// String returns "DISCONNECT".
func (*Disconnect) String() string { return "DISCONNECT" }
