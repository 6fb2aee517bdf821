package benchmarks

import (
	paho "github.com/eclipse/paho.mqtt.golang/packets"
)

// Design note: paho's packets package has one decoding entry point,
// ReadPacket(io.Reader), which allocates a new packet value, a one-byte
// header buffer, the body and every field on each call; there is no way to
// reuse a packet or decode from a slice. The benchmarks therefore hand it a
// reused bytes.Reader, the cheapest io.Reader over bytes in memory. Encoding
// is Write(io.Writer) on a packet value built once, into a reused
// bytes.Buffer.

// ToPaho returns the paho packet that holds f, with the fixed-header flags
// that MQTT 3.1.1 requires for its type.
func ToPaho(f Fields) paho.ControlPacket {
	cp := paho.NewControlPacket(f.Type)
	switch p := cp.(type) {
	case *paho.ConnectPacket:
		p.ProtocolName, p.ProtocolVersion = f.ProtocolName, f.ProtocolLevel
		p.CleanSession, p.Keepalive, p.ClientIdentifier = f.CleanSession, f.KeepAlive, f.ClientID
		p.WillFlag, p.WillQos, p.WillRetain = f.WillFlag, f.WillQoS, f.WillRetain
		p.WillTopic, p.WillMessage = f.WillTopic, bytesOrNil(f.WillMessage)
		p.UsernameFlag, p.Username = f.UsernameFlag, f.Username
		p.PasswordFlag, p.Password = f.PasswordFlag, bytesOrNil(f.Password)
	case *paho.ConnackPacket:
		p.SessionPresent, p.ReturnCode = f.SessionPresent, f.ReturnCode
	case *paho.PublishPacket:
		p.Dup, p.Qos, p.Retain = f.Dup, f.QoS, f.Retain
		p.TopicName, p.MessageID, p.Payload = f.Topic, f.PacketID, []byte(f.Payload)
	case *paho.PubackPacket:
		p.MessageID = f.PacketID
	case *paho.PubrecPacket:
		p.MessageID = f.PacketID
	case *paho.PubrelPacket:
		p.MessageID = f.PacketID
	case *paho.PubcompPacket:
		p.MessageID = f.PacketID
	case *paho.SubscribePacket:
		p.MessageID = f.PacketID
		for _, x := range f.Filters {
			p.Topics = append(p.Topics, x.Topic)
			p.Qoss = append(p.Qoss, x.QoS)
		}
	case *paho.SubackPacket:
		p.MessageID, p.ReturnCodes = f.PacketID, append([]byte(nil), f.ReturnCodes...)
	case *paho.UnsubscribePacket:
		p.MessageID = f.PacketID
		for _, x := range f.Filters {
			p.Topics = append(p.Topics, x.Topic)
		}
	case *paho.UnsubackPacket:
		p.MessageID = f.PacketID
	case *paho.PingreqPacket, *paho.PingrespPacket, *paho.DisconnectPacket:
	default:
		panic("ToPaho: unknown packet type")
	}
	return cp
}

// FromPaho maps a decoded paho packet to Fields.
func FromPaho(cp paho.ControlPacket) Fields {
	var f Fields
	switch p := cp.(type) {
	case *paho.ConnectPacket:
		f.Type = typeConnect
		f.ProtocolName, f.ProtocolLevel = p.ProtocolName, p.ProtocolVersion
		f.CleanSession, f.KeepAlive, f.ClientID = p.CleanSession, p.Keepalive, p.ClientIdentifier
		f.WillFlag, f.WillQoS, f.WillRetain = p.WillFlag, p.WillQos, p.WillRetain
		f.WillTopic, f.WillMessage = p.WillTopic, string(p.WillMessage)
		f.UsernameFlag, f.Username = p.UsernameFlag, p.Username
		f.PasswordFlag, f.Password = p.PasswordFlag, string(p.Password)
	case *paho.ConnackPacket:
		f.Type = typeConnack
		f.SessionPresent, f.ReturnCode = p.SessionPresent, p.ReturnCode
	case *paho.PublishPacket:
		f.Type = typePublish
		f.Dup, f.QoS, f.Retain = p.Dup, p.Qos, p.Retain
		f.Topic, f.PacketID, f.Payload = p.TopicName, p.MessageID, string(p.Payload)
	case *paho.PubackPacket:
		f.Type, f.PacketID = typePuback, p.MessageID
	case *paho.PubrecPacket:
		f.Type, f.PacketID = typePubrec, p.MessageID
	case *paho.PubrelPacket:
		f.Type, f.PacketID = typePubrel, p.MessageID
	case *paho.PubcompPacket:
		f.Type, f.PacketID = typePubcomp, p.MessageID
	case *paho.SubscribePacket:
		f.Type, f.PacketID = typeSubscribe, p.MessageID
		for i, t := range p.Topics {
			x := Filter{Topic: t}
			if i < len(p.Qoss) {
				x.QoS = p.Qoss[i]
			}
			f.Filters = append(f.Filters, x)
		}
	case *paho.SubackPacket:
		f.Type, f.PacketID = typeSuback, p.MessageID
		f.ReturnCodes = append([]byte(nil), p.ReturnCodes...)
	case *paho.UnsubscribePacket:
		f.Type, f.PacketID = typeUnsubscribe, p.MessageID
		for _, t := range p.Topics {
			f.Filters = append(f.Filters, Filter{Topic: t})
		}
	case *paho.UnsubackPacket:
		f.Type, f.PacketID = typeUnsuback, p.MessageID
	case *paho.PingreqPacket:
		f.Type = typePingreq
	case *paho.PingrespPacket:
		f.Type = typePingresp
	case *paho.DisconnectPacket:
		f.Type = typeDisconnect
	}
	return f
}
