package benchmarks

import (
	"bytes"
	"errors"
	"io"

	mochi "github.com/mochi-mqtt/server/v2/packets"
)

// Design note: mochi's packets package decodes a body slice in place
// (PublishDecode and friends alias it, turning strings with unsafe), but it
// has no framing function beyond FixedHeader.Decode for the first byte and
// DecodeLength for the remaining length, which reads from an io.ByteReader.
// MochiDecoder is the thinnest loop around those calls: it reuses one Packet
// value and one byte cursor, and hands the Decode method the body as a
// sub-slice of the input, without the two copies that mochi's server makes
// (clients.go ReadPacket: make, io.ReadFull, then append to a fresh slice).
// That makes the benchmark faster for mochi than mochi's own server is.

// mochiVersion is the protocol level the benchmarks decode under: MQTT 3.1.1.
const mochiVersion = 4

// errNeedMore is the harness's answer when the input ends inside a frame.
var errNeedMore = errors.New("need more bytes")

// byteCursor is an io.ByteReader over a byte slice, for mochi's DecodeLength.
type byteCursor struct {
	b []byte
	i int
}

// ReadByte returns the next byte, or io.EOF at the end of the slice.
func (c *byteCursor) ReadByte() (byte, error) {
	if c.i >= len(c.b) {
		return 0, io.EOF
	}
	c.i++
	return c.b[c.i-1], nil
}

// MochiDecoder decodes packets from a byte slice with mochi's packets
// package, reusing one Packet value.
type MochiDecoder struct {
	Packet mochi.Packet
	cur    byteCursor
}

// Decode decodes the packet at the start of b into d.Packet and returns its
// size. It returns errNeedMore, or io.EOF from DecodeLength, when b ends
// inside the frame.
func (d *MochiDecoder) Decode(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, errNeedMore
	}
	var fh mochi.FixedHeader
	if err := fh.Decode(b[0]); err != nil {
		return 0, err
	}
	d.cur.b, d.cur.i = b, 1
	remaining, lengthBytes, err := mochi.DecodeLength(&d.cur)
	if err != nil {
		return 0, err
	}
	n := 1 + lengthBytes + remaining
	if n > len(b) {
		return n, errNeedMore
	}
	fh.Remaining = remaining
	pk := &d.Packet
	pk.FixedHeader = fh
	pk.ProtocolVersion = mochiVersion
	return n, mochiDecodeBody(pk, b[1+lengthBytes:n])
}

// mochiDecodeBody calls the Decode method of pk's type on body, as mochi's
// server does in clients.go ReadPacket.
func mochiDecodeBody(pk *mochi.Packet, body []byte) error {
	switch pk.FixedHeader.Type {
	case mochi.Connect:
		return pk.ConnectDecode(body)
	case mochi.Disconnect:
		return pk.DisconnectDecode(body)
	case mochi.Connack:
		return pk.ConnackDecode(body)
	case mochi.Publish:
		return pk.PublishDecode(body)
	case mochi.Puback:
		return pk.PubackDecode(body)
	case mochi.Pubrec:
		return pk.PubrecDecode(body)
	case mochi.Pubrel:
		return pk.PubrelDecode(body)
	case mochi.Pubcomp:
		return pk.PubcompDecode(body)
	case mochi.Subscribe:
		return pk.SubscribeDecode(body)
	case mochi.Suback:
		return pk.SubackDecode(body)
	case mochi.Unsubscribe:
		return pk.UnsubscribeDecode(body)
	case mochi.Unsuback:
		return pk.UnsubackDecode(body)
	case mochi.Pingreq, mochi.Pingresp:
		return nil
	case mochi.Auth:
		return pk.AuthDecode(body)
	}
	return errMochiType
}

// errMochiType stands for the error mochi's server returns for packet type 0.
var errMochiType = errors.New("invalid packet type")

// MochiEncode encodes pk into buf with the Encode method of its type, as
// mochi's server does in clients.go WritePacket.
func MochiEncode(pk *mochi.Packet, buf *bytes.Buffer) error {
	switch pk.FixedHeader.Type {
	case mochi.Connect:
		return pk.ConnectEncode(buf)
	case mochi.Connack:
		return pk.ConnackEncode(buf)
	case mochi.Publish:
		return pk.PublishEncode(buf)
	case mochi.Puback:
		return pk.PubackEncode(buf)
	case mochi.Pubrec:
		return pk.PubrecEncode(buf)
	case mochi.Pubrel:
		return pk.PubrelEncode(buf)
	case mochi.Pubcomp:
		return pk.PubcompEncode(buf)
	case mochi.Subscribe:
		return pk.SubscribeEncode(buf)
	case mochi.Suback:
		return pk.SubackEncode(buf)
	case mochi.Unsubscribe:
		return pk.UnsubscribeEncode(buf)
	case mochi.Unsuback:
		return pk.UnsubackEncode(buf)
	case mochi.Pingreq:
		return pk.PingreqEncode(buf)
	case mochi.Pingresp:
		return pk.PingrespEncode(buf)
	case mochi.Disconnect:
		return pk.DisconnectEncode(buf)
	}
	return errMochiType
}

// ToMochi returns the mochi packet that holds f, for protocol level 4, with
// the fixed-header flags that MQTT 3.1.1 requires for its type.
func ToMochi(f Fields) mochi.Packet {
	pk := mochi.Packet{ProtocolVersion: mochiVersion, FixedHeader: mochi.FixedHeader{Type: f.Type}}
	switch f.Type {
	case typeConnect:
		pk.ProtocolVersion = f.ProtocolLevel
		pk.Connect = mochi.ConnectParams{
			ProtocolName: []byte(f.ProtocolName), Clean: f.CleanSession, Keepalive: f.KeepAlive,
			ClientIdentifier: f.ClientID,
			WillFlag:         f.WillFlag, WillQos: f.WillQoS, WillRetain: f.WillRetain,
			WillTopic: f.WillTopic, WillPayload: bytesOrNil(f.WillMessage),
			UsernameFlag: f.UsernameFlag, Username: bytesOrNil(f.Username),
			PasswordFlag: f.PasswordFlag, Password: bytesOrNil(f.Password),
		}
	case typeConnack:
		pk.SessionPresent, pk.ReasonCode = f.SessionPresent, f.ReturnCode
	case typePublish:
		pk.FixedHeader.Dup, pk.FixedHeader.Qos, pk.FixedHeader.Retain = f.Dup, f.QoS, f.Retain
		pk.TopicName, pk.PacketID, pk.Payload = f.Topic, f.PacketID, []byte(f.Payload)
	case typePubrel:
		pk.FixedHeader.Qos, pk.PacketID = 1, f.PacketID
	case typeSubscribe, typeUnsubscribe:
		pk.FixedHeader.Qos, pk.PacketID = 1, f.PacketID
		for _, x := range f.Filters {
			pk.Filters = append(pk.Filters, mochi.Subscription{Filter: x.Topic, Qos: x.QoS})
		}
	case typeSuback:
		pk.PacketID, pk.ReasonCodes = f.PacketID, append([]byte(nil), f.ReturnCodes...)
	default:
		pk.PacketID = f.PacketID
	}
	return pk
}

// FromMochi maps a decoded mochi packet to Fields.
func FromMochi(pk *mochi.Packet) Fields {
	t := pk.FixedHeader.Type
	f := Fields{Type: t}
	switch t {
	case typeConnect:
		c := &pk.Connect
		f.ProtocolName, f.ProtocolLevel = string(c.ProtocolName), pk.ProtocolVersion
		f.CleanSession, f.KeepAlive, f.ClientID = c.Clean, c.Keepalive, c.ClientIdentifier
		f.WillFlag, f.WillQoS, f.WillRetain = c.WillFlag, c.WillQos, c.WillRetain
		f.WillTopic, f.WillMessage = c.WillTopic, string(c.WillPayload)
		f.UsernameFlag, f.Username = c.UsernameFlag, string(c.Username)
		f.PasswordFlag, f.Password = c.PasswordFlag, string(c.Password)
	case typeConnack:
		f.SessionPresent, f.ReturnCode = pk.SessionPresent, pk.ReasonCode
	case typePublish:
		f.Dup, f.QoS, f.Retain = pk.FixedHeader.Dup, pk.FixedHeader.Qos, pk.FixedHeader.Retain
		f.Topic, f.Payload = pk.TopicName, string(pk.Payload)
		if f.QoS > 0 {
			f.PacketID = pk.PacketID
		}
	case typeSubscribe, typeUnsubscribe:
		f.PacketID = pk.PacketID
		for _, s := range pk.Filters {
			x := Filter{Topic: s.Filter}
			if t == typeSubscribe {
				x.QoS = s.Qos
			}
			f.Filters = append(f.Filters, x)
		}
	case typeSuback:
		f.PacketID = pk.PacketID
		f.ReturnCodes = append([]byte(nil), pk.ReasonCodes...)
	case typePuback, typePubrec, typePubrel, typePubcomp, typeUnsuback:
		f.PacketID = pk.PacketID
	}
	return f
}
