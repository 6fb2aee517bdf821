package benchmarks

import "github.com/mqttwire/mqttwire"

// ToMqttwire returns the mqttwire packet that holds f. Its byte slices are
// new copies of f's strings.
func ToMqttwire(f Fields) mqttwire.Packet {
	switch f.Type {
	case typeConnect:
		v := mqttwire.V311
		if f.ProtocolName == "MQIsdp" {
			v = mqttwire.V31
		}
		return &mqttwire.Connect{
			Version: v, CleanSession: f.CleanSession, KeepAlive: f.KeepAlive, ClientID: []byte(f.ClientID),
			WillFlag: f.WillFlag, WillQoS: mqttwire.QoS(f.WillQoS), WillRetain: f.WillRetain,
			WillTopic: bytesOrNil(f.WillTopic), WillMessage: bytesOrNil(f.WillMessage),
			UsernameFlag: f.UsernameFlag, Username: bytesOrNil(f.Username),
			PasswordFlag: f.PasswordFlag, Password: bytesOrNil(f.Password),
		}
	case typeConnack:
		return &mqttwire.Connack{SessionPresent: f.SessionPresent, ReturnCode: mqttwire.ConnectReturnCode(f.ReturnCode)}
	case typePublish:
		return &mqttwire.Publish{
			Dup: f.Dup, QoS: mqttwire.QoS(f.QoS), Retain: f.Retain,
			Topic: []byte(f.Topic), PacketID: f.PacketID, Payload: []byte(f.Payload),
		}
	case typePuback:
		return &mqttwire.Puback{PacketID: f.PacketID}
	case typePubrec:
		return &mqttwire.Pubrec{PacketID: f.PacketID}
	case typePubrel:
		return &mqttwire.Pubrel{PacketID: f.PacketID}
	case typePubcomp:
		return &mqttwire.Pubcomp{PacketID: f.PacketID}
	case typeSubscribe:
		s := &mqttwire.Subscribe{PacketID: f.PacketID}
		for _, x := range f.Filters {
			s.Filters = append(s.Filters, mqttwire.TopicFilter{Topic: []byte(x.Topic), QoS: mqttwire.QoS(x.QoS)})
		}
		return s
	case typeSuback:
		return &mqttwire.Suback{PacketID: f.PacketID, ReturnCodes: append([]byte(nil), f.ReturnCodes...)}
	case typeUnsubscribe:
		u := &mqttwire.Unsubscribe{PacketID: f.PacketID}
		for _, x := range f.Filters {
			u.Topics = append(u.Topics, []byte(x.Topic))
		}
		return u
	case typeUnsuback:
		return &mqttwire.Unsuback{PacketID: f.PacketID}
	case typePingreq:
		return &mqttwire.Pingreq{}
	case typePingresp:
		return &mqttwire.Pingresp{}
	case typeDisconnect:
		return &mqttwire.Disconnect{}
	}
	panic("ToMqttwire: unknown packet type")
}

// bytesOrNil returns s as a new byte slice, or nil for an empty s.
func bytesOrNil(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

// FromMqttwire maps a decoded mqttwire packet to Fields.
func FromMqttwire(p mqttwire.Packet) Fields {
	f := Fields{Type: byte(p.Type())}
	switch p := p.(type) {
	case *mqttwire.Connect:
		f.ProtocolName = "MQTT"
		if p.Version == mqttwire.V31 {
			f.ProtocolName = "MQIsdp"
		}
		f.ProtocolLevel = byte(p.Version)
		f.CleanSession, f.KeepAlive, f.ClientID = p.CleanSession, p.KeepAlive, string(p.ClientID)
		f.WillFlag, f.WillQoS, f.WillRetain = p.WillFlag, byte(p.WillQoS), p.WillRetain
		f.WillTopic, f.WillMessage = string(p.WillTopic), string(p.WillMessage)
		f.UsernameFlag, f.Username = p.UsernameFlag, string(p.Username)
		f.PasswordFlag, f.Password = p.PasswordFlag, string(p.Password)
	case *mqttwire.Connack:
		f.SessionPresent, f.ReturnCode = p.SessionPresent, byte(p.ReturnCode)
	case *mqttwire.Publish:
		f.Dup, f.QoS, f.Retain = p.Dup, byte(p.QoS), p.Retain
		f.Topic, f.PacketID, f.Payload = string(p.Topic), p.PacketID, string(p.Payload)
	case *mqttwire.Puback:
		f.PacketID = p.PacketID
	case *mqttwire.Pubrec:
		f.PacketID = p.PacketID
	case *mqttwire.Pubrel:
		f.PacketID = p.PacketID
	case *mqttwire.Pubcomp:
		f.PacketID = p.PacketID
	case *mqttwire.Subscribe:
		f.PacketID = p.PacketID
		for _, x := range p.Filters {
			f.Filters = append(f.Filters, Filter{Topic: string(x.Topic), QoS: byte(x.QoS)})
		}
	case *mqttwire.Suback:
		f.PacketID = p.PacketID
		f.ReturnCodes = append([]byte(nil), p.ReturnCodes...)
	case *mqttwire.Unsubscribe:
		f.PacketID = p.PacketID
		for _, t := range p.Topics {
			f.Filters = append(f.Filters, Filter{Topic: string(t)})
		}
	case *mqttwire.Unsuback:
		f.PacketID = p.PacketID
	}
	return f
}
