package fuzz

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/mqttwire/mqttwire"
	"github.com/mqttwire/mqttwire/fuzz/internal/corpus"
)

// FuzzAppend builds a packet of any type from fuzzed fields (see
// corpus.AppendInput). Append must refuse it with ErrInvalid exactly when a
// plain reading of the rules says it is invalid, leaving b as it was; or
// write Size() bytes after b, without touching b and without allocating when
// b has room, that decode back to an equal packet and re-encode to the same
// bytes.
func FuzzAppend(f *testing.F) {
	f.Fuzz(func(t *testing.T, typ byte, bits, id uint16, code byte, s1, s2, s3, s4, s5 []byte) {
		in := corpus.AppendInput{Type: typ, Bits: bits, ID: id, Code: code, S1: s1, S2: s2, S3: s3, S4: s4, S5: s5}
		p := in.Packet()
		valid := refValidPacket(p)
		prefix := []byte{0xA5, 0x5A, 0xA5}
		b := bytes.Clone(prefix)
		enc, err := p.Append(b)
		if !bytes.Equal(b, prefix) || !bytes.Equal(enc[:min(len(enc), len(prefix))], prefix) {
			failf(t, "append-prefix", "Append changed the bytes before len(b)")
		}
		if err != nil {
			if !errors.Is(err, mqttwire.ErrInvalid) {
				failf(t, "append-error-kind", "%v.Append: %v does not wrap ErrInvalid", p.Type(), err)
			}
			if valid {
				failf(t, "append-valid", "%v.Append refuses a valid packet %+v: %v", p.Type(), p, err)
			}
			if len(enc) != len(prefix) {
				failf(t, "append-prefix", "Append failed but returned %d bytes, not b", len(enc))
			}
			if _, err2 := p.Append(nil); err2 != err {
				failf(t, "append-error-static", "Append fails with %v, then with %v", err, err2)
			}
			return
		}
		if !valid {
			failf(t, "append-invalid", "%v.Append accepts an invalid packet %+v: % X", p.Type(), p, enc[len(prefix):])
		}
		enc = enc[len(prefix):]
		size := p.Size()
		if len(enc) != size {
			failf(t, "append-size", "Append wrote %d bytes, Size() = %d", len(enc), size)
		}

		// The bytes decode back to the same packet, under the level the
		// packet names.
		var d mqttwire.Decoder
		switch p := p.(type) {
		case *mqttwire.Connack:
			d.Version = p.Version
		case *mqttwire.Suback:
			d.Version = p.Version
		}
		q, n, err := d.Decode(enc)
		if err != nil || n != len(enc) {
			failf(t, "append-decode", "decoding the encoding % X of %+v: n = %d, err = %v", enc, p, n, err)
		}
		if diff := cmp.Diff(p, q, packetOptions); diff != "" {
			failf(t, "append-decode", "the encoding decodes to another packet (-appended +decoded):\n%s", diff)
		}
		if enc2, err := q.Append(nil); err != nil || !bytes.Equal(enc2, enc) {
			failf(t, "append-decode", "encoding the decoded packet gives % X, %v; want % X", enc2, err, enc)
		}

		buf := make([]byte, 1, 1+size)
		if allocs := testing.AllocsPerRun(10, func() { p.Append(buf) }); allocs != 0 {
			failf(t, "append-allocs", "%v.Append into a buffer with room allocates %v times", p.Type(), allocs)
		}
	})
}

// refValidPacket reports whether p has an encoding, by a plain reading of
// the rules that Append documents.
func refValidPacket(p mqttwire.Packet) bool {
	okID := func(id uint16) bool { return id != 0 }
	switch p := p.(type) {
	case *mqttwire.Connect:
		return refValidConnect(p)
	case *mqttwire.Connack:
		return p.ReturnCode <= mqttwire.RefusedNotAuthorized &&
			!(p.SessionPresent && p.ReturnCode != mqttwire.Accepted) &&
			(p.Version == 0 || p.Version == mqttwire.V31 || p.Version == mqttwire.V311) &&
			!(p.SessionPresent && p.Version == mqttwire.V31)
	case *mqttwire.Publish:
		return p.QoS <= mqttwire.QoS2 && refValidName(p.Topic) &&
			(p.QoS == mqttwire.QoS0) == (p.PacketID == 0) &&
			!(p.QoS == mqttwire.QoS0 && p.Dup)
	case *mqttwire.Puback:
		return okID(p.PacketID)
	case *mqttwire.Pubrec:
		return okID(p.PacketID)
	case *mqttwire.Pubrel:
		return okID(p.PacketID)
	case *mqttwire.Pubcomp:
		return okID(p.PacketID)
	case *mqttwire.Unsuback:
		return okID(p.PacketID)
	case *mqttwire.Subscribe:
		if !okID(p.PacketID) || len(p.Filters) == 0 {
			return false
		}
		for _, f := range p.Filters {
			if !refValidFilter(f.Topic) || f.QoS > mqttwire.QoS2 {
				return false
			}
		}
		return true
	case *mqttwire.Suback:
		if !okID(p.PacketID) || len(p.ReturnCodes) == 0 ||
			(p.Version != 0 && p.Version != mqttwire.V31 && p.Version != mqttwire.V311) {
			return false
		}
		for _, c := range p.ReturnCodes {
			if c > 2 && (c != mqttwire.SubackFailure || p.Version == mqttwire.V31) {
				return false
			}
		}
		return true
	case *mqttwire.Unsubscribe:
		if !okID(p.PacketID) || len(p.Topics) == 0 {
			return false
		}
		for _, topic := range p.Topics {
			if !refValidFilter(topic) {
				return false
			}
		}
		return true
	}
	return true // PINGREQ, PINGRESP and DISCONNECT have no fields.
}

// refValidConnect reports whether a CONNECT has an encoding: a known level;
// UTF-8 client id and user name; an empty client id only with CleanSession
// [MQTT-3.1.3-7]; the will's fields only with WillFlag, and then a valid
// topic name and QoS; a user name only with UsernameFlag, a password only
// with PasswordFlag, and PasswordFlag only with UsernameFlag; every string
// at most 65,535 bytes.
func refValidConnect(c *mqttwire.Connect) bool {
	text := func(s []byte) bool { return len(s) <= 65535 && utf8.Valid(s) && bytes.IndexByte(s, 0) < 0 }
	switch {
	case c.Version != mqttwire.V31 && c.Version != mqttwire.V311:
		return false
	case !text(c.ClientID) || (len(c.ClientID) == 0 && !c.CleanSession):
		return false
	case c.WillFlag && (c.WillQoS > mqttwire.QoS2 || !refValidName(c.WillTopic) || len(c.WillMessage) > 65535):
		return false
	case !c.WillFlag && (c.WillQoS != 0 || c.WillRetain || len(c.WillTopic) > 0 || len(c.WillMessage) > 0):
		return false
	case c.UsernameFlag && !text(c.Username):
		return false
	case !c.UsernameFlag && len(c.Username) > 0:
		return false
	case c.PasswordFlag && (!c.UsernameFlag || len(c.Password) > 65535):
		return false
	case !c.PasswordFlag && len(c.Password) > 0:
		return false
	}
	return true
}
