package corpus

import (
	"bytes"

	"github.com/mqttwire/mqttwire"
)

// AppendInput is the argument list of FuzzAppend: the fields of one packet,
// drawn from the fuzzer. Packet builds the packet; AppendInputFor goes the
// other way, for the seeds.
//
// Type selects the packet type: 1 to 14 as on the wire, any other value is
// folded onto them. Bits holds the booleans and small numbers:
//
//	bit 0      CleanSession (CONNECT), SessionPresent (CONNACK), Dup (PUBLISH)
//	bit 1      WillFlag (CONNECT), Retain (PUBLISH)
//	bits 2-3   WillQoS (CONNECT), QoS (PUBLISH)
//	bit 4      WillRetain (CONNECT)
//	bit 5      UsernameFlag (CONNECT)
//	bit 6      PasswordFlag (CONNECT)
//	bits 7-8   Version: 0 the usual value (V311 for CONNECT, 0 for CONNACK
//	           and SUBACK), 1 V31, 2 the other (0 for CONNECT, V311
//	           otherwise), 3 the raw value in bits 11-15
//	bit 9      pad S1 with 'a' to 65,535 bytes, the longest string
//	bit 10     pad one byte further, past the longest string
//	bits 11-15 a raw Version, see bits 7-8
//
// ID is the packet identifier, or KeepAlive for CONNECT. Code is the CONNACK
// return code. S1 to S5 are the byte fields: ClientID, WillTopic,
// WillMessage, Username and Password of CONNECT; Topic and Payload of
// PUBLISH; the filters of SUBSCRIBE and UNSUBSCRIBE, separated by 0xFF
// (which UTF-8 never holds) in S1, with the requested QoS bytes in S2; the
// return codes of SUBACK in S1.
type AppendInput struct {
	Type           byte
	Bits           uint16
	ID             uint16
	Code           byte
	S1, S2, S3, S4 []byte
	S5             []byte
}

// The bits of AppendInput.Bits.
const (
	bit0         = 1 << 0
	bit1         = 1 << 1
	qosShift     = 2
	bitWillRet   = 1 << 4
	bitUsername  = 1 << 5
	bitPassword  = 1 << 6
	versionShift = 7
	bitPad       = 1 << 9
	bitPadMore   = 1 << 10
	rawShift     = 11
)

// separator splits the filters in S1: 0xFF never occurs in UTF-8.
const separator = 0xFF

// Args returns the arguments in the order FuzzAppend takes them.
func (in AppendInput) Args() []any {
	return []any{in.Type, in.Bits, in.ID, in.Code, in.S1, in.S2, in.S3, in.S4, in.S5}
}

// PacketType returns the packet type that Type selects.
func (in AppendInput) PacketType() mqttwire.Type {
	if in.Type >= 1 && in.Type <= 14 {
		return mqttwire.Type(in.Type)
	}
	return mqttwire.Type(in.Type%14 + 1)
}

// version returns the Version that bits 7-8 select; usual is the value for
// selector 0 and other the value for selector 2.
func (in AppendInput) version(usual, other mqttwire.Version) mqttwire.Version {
	switch in.Bits >> versionShift & 3 {
	case 0:
		return usual
	case 1:
		return mqttwire.V31
	case 2:
		return other
	}
	return mqttwire.Version(in.Bits >> rawShift)
}

// s1 returns S1, padded as bits 9 and 10 say.
func (in AppendInput) s1() []byte {
	if in.Bits&bitPad == 0 {
		return in.S1
	}
	n := 65535
	if in.Bits&bitPadMore != 0 {
		n++
	}
	if len(in.S1) >= n {
		return in.S1
	}
	return append(bytes.Clone(in.S1), bytes.Repeat([]byte{'a'}, n-len(in.S1))...)
}

// topics splits S1 at each separator; an empty S1 gives no topics.
func (in AppendInput) topics() [][]byte {
	s := in.s1()
	if len(s) == 0 {
		return nil
	}
	return bytes.Split(s, []byte{separator})
}

// Packet builds the packet that in describes. The packet may be invalid:
// deciding that is Append's job.
func (in AppendInput) Packet() mqttwire.Packet {
	b := in.Bits
	qos := mqttwire.QoS(b >> qosShift & 3)
	switch t := in.PacketType(); t {
	case mqttwire.TypeConnect:
		return &mqttwire.Connect{
			Version:      in.version(mqttwire.V311, 0),
			CleanSession: b&bit0 != 0,
			KeepAlive:    in.ID,
			ClientID:     in.s1(),
			WillFlag:     b&bit1 != 0,
			WillQoS:      qos,
			WillRetain:   b&bitWillRet != 0,
			WillTopic:    in.S2,
			WillMessage:  in.S3,
			UsernameFlag: b&bitUsername != 0,
			Username:     in.S4,
			PasswordFlag: b&bitPassword != 0,
			Password:     in.S5,
		}
	case mqttwire.TypeConnack:
		return &mqttwire.Connack{
			SessionPresent: b&bit0 != 0,
			ReturnCode:     mqttwire.ConnectReturnCode(in.Code),
			Version:        in.version(0, mqttwire.V311),
		}
	case mqttwire.TypePublish:
		return &mqttwire.Publish{
			Dup:      b&bit0 != 0,
			Retain:   b&bit1 != 0,
			QoS:      qos,
			Topic:    in.s1(),
			PacketID: in.ID,
			Payload:  in.S2,
		}
	case mqttwire.TypePuback:
		return &mqttwire.Puback{PacketID: in.ID}
	case mqttwire.TypePubrec:
		return &mqttwire.Pubrec{PacketID: in.ID}
	case mqttwire.TypePubrel:
		return &mqttwire.Pubrel{PacketID: in.ID}
	case mqttwire.TypePubcomp:
		return &mqttwire.Pubcomp{PacketID: in.ID}
	case mqttwire.TypeSubscribe:
		s := &mqttwire.Subscribe{PacketID: in.ID}
		for i, topic := range in.topics() {
			f := mqttwire.TopicFilter{Topic: topic}
			if i < len(in.S2) {
				f.QoS = mqttwire.QoS(in.S2[i])
			}
			s.Filters = append(s.Filters, f)
		}
		return s
	case mqttwire.TypeSuback:
		return &mqttwire.Suback{
			PacketID:    in.ID,
			ReturnCodes: in.s1(),
			Version:     in.version(0, mqttwire.V311),
		}
	case mqttwire.TypeUnsubscribe:
		return &mqttwire.Unsubscribe{PacketID: in.ID, Topics: in.topics()}
	case mqttwire.TypeUnsuback:
		return &mqttwire.Unsuback{PacketID: in.ID}
	case mqttwire.TypePingreq:
		return &mqttwire.Pingreq{}
	case mqttwire.TypePingresp:
		return &mqttwire.Pingresp{}
	default:
		return &mqttwire.Disconnect{}
	}
}

// versionBits returns the Bits that select v, given the values of selectors
// 0 and 2.
func versionBits(v, usual, other mqttwire.Version) uint16 {
	switch v {
	case usual:
		return 0
	case mqttwire.V31:
		return 1 << versionShift
	case other:
		return 2 << versionShift
	}
	return 3<<versionShift | uint16(v)<<rawShift
}

func boolBit(b bool, bit uint16) uint16 {
	if b {
		return bit
	}
	return 0
}

// AppendInputFor returns the input whose Packet is p.
func AppendInputFor(p mqttwire.Packet) AppendInput {
	in := AppendInput{Type: byte(p.Type())}
	switch p := p.(type) {
	case *mqttwire.Connect:
		in.Bits = boolBit(p.CleanSession, bit0) | boolBit(p.WillFlag, bit1) |
			uint16(p.WillQoS&3)<<qosShift | boolBit(p.WillRetain, bitWillRet) |
			boolBit(p.UsernameFlag, bitUsername) | boolBit(p.PasswordFlag, bitPassword) |
			versionBits(p.Version, mqttwire.V311, 0)
		in.ID = p.KeepAlive
		in.S1, in.S2, in.S3, in.S4, in.S5 = p.ClientID, p.WillTopic, p.WillMessage, p.Username, p.Password
	case *mqttwire.Connack:
		in.Bits = boolBit(p.SessionPresent, bit0) | versionBits(p.Version, 0, mqttwire.V311)
		in.Code = byte(p.ReturnCode)
	case *mqttwire.Publish:
		in.Bits = boolBit(p.Dup, bit0) | boolBit(p.Retain, bit1) | uint16(p.QoS&3)<<qosShift
		in.ID = p.PacketID
		in.S1, in.S2 = p.Topic, p.Payload
	case *mqttwire.Puback:
		in.ID = p.PacketID
	case *mqttwire.Pubrec:
		in.ID = p.PacketID
	case *mqttwire.Pubrel:
		in.ID = p.PacketID
	case *mqttwire.Pubcomp:
		in.ID = p.PacketID
	case *mqttwire.Subscribe:
		in.ID = p.PacketID
		for i, f := range p.Filters {
			if i > 0 {
				in.S1 = append(in.S1, separator)
			}
			in.S1 = append(in.S1, f.Topic...)
			in.S2 = append(in.S2, byte(f.QoS))
		}
	case *mqttwire.Suback:
		in.ID = p.PacketID
		in.S1 = p.ReturnCodes
		in.Bits = versionBits(p.Version, 0, mqttwire.V311)
	case *mqttwire.Unsubscribe:
		in.ID = p.PacketID
		in.S1 = bytes.Join(p.Topics, []byte{separator})
	case *mqttwire.Unsuback:
		in.ID = p.PacketID
	}
	return in
}
