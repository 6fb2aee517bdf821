package main

import (
	"encoding/base64"
	"encoding/hex"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/mqttwire/mqttwire"
)

// Design note: output lines are built with append functions into one reused
// buffer, not with fmt or encoding/json. Printing is most of the work on a
// large capture, and this way a line costs no allocation.

// mask stands for a password in the output.
const mask = "***"

// appendText appends the text line of e.
func (p *pipeline) appendText(b []byte, e *event) []byte {
	if p.raw {
		b = append(b, '@')
		b = strconv.AppendInt(b, e.offset, 10)
	} else {
		b = p.appendTime(b, e.time)
		b = append(b, " #"...)
		b = strconv.AppendInt(b, e.frame, 10)
		b = append(b, ' ')
		b = e.conn.client.AppendTo(b)
		b = append(b, " → "...)
		b = e.conn.server.AppendTo(b)
		if e.fromClient {
			b = append(b, " c→s"...)
		} else {
			b = append(b, " s→c"...)
		}
	}
	b = append(b, ' ')
	switch e.kind {
	case eventGap:
		b = append(b, "GAP missing="...)
		b = strconv.AppendInt(b, e.count, 10)
		if e.size > 0 {
			b = append(b, " lost="...)
			b = append(b, mqttwire.Type(e.header>>4).String()...)
			b = append(b, " size="...)
			b = strconv.AppendInt(b, int64(e.size), 10)
		}
	case eventResync:
		b = append(b, "RESYNC skipped="...)
		b = strconv.AppendInt(b, e.count, 10)
		if e.err != nil {
			b = append(b, " error="...)
			b = appendQuoted(b, []byte(e.err.Error()))
		}
	case eventIncomplete:
		b = append(b, "INCOMPLETE"...)
		if e.header != 0 {
			b = append(b, " packet="...)
			b = append(b, mqttwire.Type(e.header>>4).String()...)
		}
		b = append(b, " have="...)
		b = strconv.AppendInt(b, e.count, 10)
		if e.size > 0 {
			b = append(b, " size="...)
			b = strconv.AppendInt(b, int64(e.size), 10)
		}
	case eventMalformed:
		b = append(b, e.typeName()...)
		b = append(b, " error="...)
		b = appendQuoted(b, []byte(e.err.Error()))
		if e.size > 0 {
			b = append(b, " size="...)
			b = strconv.AppendInt(b, int64(e.size), 10)
		}
	default:
		b = append(b, e.typeName()...)
		b = p.appendTextFields(b, e)
	}
	return append(b, '\n')
}

// appendTime appends t as in textTime, formatting the part up to the
// second only when the second changes.
func (p *pipeline) appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	if sec := t.Unix(); sec != p.timeSec || p.timePrefix == nil {
		p.timeSec = sec
		p.timePrefix = t.Truncate(time.Second).AppendFormat(p.timePrefix[:0], "2006-01-02T15:04:05.")
	}
	b = append(b, p.timePrefix...)
	us := t.Nanosecond() / 1000
	for div := 100000; div > 0; div /= 10 {
		b = append(b, byte('0'+us/div%10))
	}
	return append(b, 'Z')
}

// appendTextFields appends the key fields of a decoded packet.
func (p *pipeline) appendTextFields(b []byte, e *event) []byte {
	switch pk := e.packet.(type) {
	case *mqttwire.Connect:
		b = append(b, " level="...)
		b = strconv.AppendUint(b, uint64(pk.Version), 10)
		b = append(b, " client="...)
		b = appendQuoted(b, pk.ClientID)
		b = append(b, " clean="...)
		b = appendBit(b, pk.CleanSession)
		b = append(b, " keepalive="...)
		b = strconv.AppendUint(b, uint64(pk.KeepAlive), 10)
		if pk.WillFlag {
			b = append(b, " will="...)
			b = appendQuoted(b, pk.WillTopic)
			b = append(b, " will-qos="...)
			b = strconv.AppendUint(b, uint64(pk.WillQoS), 10)
			b = append(b, " will-retain="...)
			b = appendBit(b, pk.WillRetain)
			b = append(b, " will-payload="...)
			b = p.appendPreview(b, pk.WillMessage, len(pk.WillMessage))
		}
		if pk.UsernameFlag {
			b = append(b, " user="...)
			b = appendQuoted(b, pk.Username)
		}
		if pk.PasswordFlag {
			b = append(b, " password="...)
			if p.opts.showSecrets {
				b = appendQuoted(b, pk.Password)
			} else {
				b = append(b, mask...)
			}
		}
	case *mqttwire.Connack:
		b = append(b, " session-present="...)
		b = appendBit(b, pk.SessionPresent)
		b = append(b, " rc="...)
		b = strconv.AppendUint(b, uint64(pk.ReturnCode), 10)
		b = append(b, " ("...)
		b = append(b, pk.ReturnCode.String()...)
		b = append(b, ')')
	case *mqttwire.Publish:
		b = append(b, " topic="...)
		b = appendQuoted(b, pk.Topic)
		b = append(b, " qos="...)
		b = strconv.AppendUint(b, uint64(pk.QoS), 10)
		if pk.QoS > 0 {
			b = append(b, " id="...)
			b = strconv.AppendUint(b, uint64(pk.PacketID), 10)
		}
		b = append(b, " dup="...)
		b = appendBit(b, pk.Dup)
		b = append(b, " retain="...)
		b = appendBit(b, pk.Retain)
		b = append(b, " payload="...)
		b = p.appendPreview(b, pk.Payload, e.payloadLen)
	case *mqttwire.Puback:
		b = appendID(b, pk.PacketID)
	case *mqttwire.Pubrec:
		b = appendID(b, pk.PacketID)
	case *mqttwire.Pubrel:
		b = appendID(b, pk.PacketID)
	case *mqttwire.Pubcomp:
		b = appendID(b, pk.PacketID)
	case *mqttwire.Unsuback:
		b = appendID(b, pk.PacketID)
	case *mqttwire.Subscribe:
		b = appendID(b, pk.PacketID)
		b = append(b, " filters="...)
		for i, f := range pk.Filters {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendQuoted(b, f.Topic)
			b = append(b, ':')
			b = strconv.AppendUint(b, uint64(f.QoS), 10)
		}
	case *mqttwire.Suback:
		b = appendID(b, pk.PacketID)
		b = append(b, " granted="...)
		for i, c := range pk.ReturnCodes {
			if i > 0 {
				b = append(b, ',')
			}
			if c == mqttwire.SubackFailure {
				b = append(b, "failure"...)
			} else {
				b = strconv.AppendUint(b, uint64(c), 10)
			}
		}
	case *mqttwire.Unsubscribe:
		b = appendID(b, pk.PacketID)
		b = append(b, " filters="...)
		for i, t := range pk.Topics {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendQuoted(b, t)
		}
	}
	return b
}

func appendID(b []byte, id uint16) []byte {
	b = append(b, " id="...)
	return strconv.AppendUint(b, uint64(id), 10)
}

func appendBit(b []byte, v bool) []byte {
	if v {
		return append(b, '1')
	}
	return append(b, '0')
}

// appendQuoted appends s as a Go-quoted string. Printable ASCII, the common
// case, is copied without converting s to a string.
func appendQuoted(b []byte, s []byte) []byte {
	for _, c := range s {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return strconv.AppendQuote(b, string(s))
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendPreview appends the length of a payload of total bytes and a short
// preview of its first bytes: quoted text when they are UTF-8, hex
// otherwise, with "…" when there is more.
func (p *pipeline) appendPreview(b []byte, payload []byte, total int) []byte {
	b = strconv.AppendInt(b, int64(total), 10)
	if len(payload) == 0 || p.opts.preview <= 0 {
		return b
	}
	pv := payload[:min(len(payload), p.opts.preview)]
	text := utf8.Valid(pv)
	if !text && len(pv) < len(payload) {
		// The cut may have split a character: step back over it.
		for i := len(pv) - 1; i >= 0 && i >= len(pv)-utf8.UTFMax; i-- {
			if utf8.RuneStart(pv[i]) {
				if utf8.Valid(pv[:i]) && i > 0 {
					pv, text = pv[:i], true
				}
				break
			}
		}
	}
	b = append(b, ' ')
	if text {
		b = appendQuoted(b, pv)
	} else {
		b = append(b, "0x"...)
		b = hex.AppendEncode(b, pv)
	}
	if len(pv) < total {
		b = append(b, "…"...)
	}
	return b
}

// appendJSON appends the JSON object of e on one line.
func (p *pipeline) appendJSON(b []byte, e *event) []byte {
	b = append(b, '{')
	if p.raw {
		b = append(b, `"offset":`...)
		b = strconv.AppendInt(b, e.offset, 10)
	} else {
		b = append(b, `"time":"`...)
		b = e.time.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","frame":`...)
		b = strconv.AppendInt(b, e.frame, 10)
		src, dst := e.conn.client, e.conn.server
		if !e.fromClient {
			src, dst = dst, src
		}
		b = appendAddrField(b, "src", src)
		b = appendAddrField(b, "dst", dst)
	}
	b = append(b, `,"type":"`...)
	b = append(b, e.typeName()...)
	b = append(b, '"')
	switch e.kind {
	case eventGap:
		b = appendIntField(b, "missing", e.count)
		b = appendLost(b, e)
	case eventResync:
		b = appendIntField(b, "skipped", e.count)
	case eventIncomplete:
		b = appendIntField(b, "have", e.count)
		b = appendLost(b, e)
	default:
		if e.size > 0 {
			b = appendIntField(b, "size", int64(e.size))
		}
		if e.kind == eventPacket {
			b = p.appendJSONFields(b, e)
		}
	}
	if e.err != nil {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, []byte(e.err.Error()))
	}
	return append(b, "}\n"...)
}

// appendLost appends the type and size of a packet damaged by a gap or cut
// short by the end of the stream.
func appendLost(b []byte, e *event) []byte {
	if e.header != 0 {
		b = append(b, `,"packet":"`...)
		b = append(b, mqttwire.Type(e.header>>4).String()...)
		b = append(b, '"')
	}
	if e.size > 0 {
		b = appendIntField(b, "size", int64(e.size))
	}
	return b
}

func appendAddrField(b []byte, key string, a netip.AddrPort) []byte {
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":"`...)
	b = a.AppendTo(b)
	return append(b, '"')
}

func appendIntField(b []byte, key string, v int64) []byte {
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":`...)
	return strconv.AppendInt(b, v, 10)
}

func appendBoolField(b []byte, key string, v bool) []byte {
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":`...)
	return strconv.AppendBool(b, v)
}

// jsonBytes appends a byte field: a JSON string when the bytes are UTF-8,
// base64 otherwise, in which case the key is added to *encoded for the
// "base64" list.
func appendBytesField(b []byte, key string, v []byte, encoded *[4]string, n *int) []byte {
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":`...)
	if utf8.Valid(v) {
		return appendJSONString(b, v)
	}
	encoded[*n] = key
	*n++
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, '"')
}

// appendJSONFields appends a decoded packet's fields under the names of
// DESIGN.md. Byte fields that are not UTF-8 are base64 and listed under
// "base64".
func (p *pipeline) appendJSONFields(b []byte, e *event) []byte {
	var encoded [4]string
	var n int
	switch pk := e.packet.(type) {
	case *mqttwire.Connect:
		b = appendIntField(b, "Version", int64(pk.Version))
		b = appendBoolField(b, "CleanSession", pk.CleanSession)
		b = appendIntField(b, "KeepAlive", int64(pk.KeepAlive))
		b = appendBytesField(b, "ClientID", pk.ClientID, &encoded, &n)
		b = appendBoolField(b, "WillFlag", pk.WillFlag)
		b = appendIntField(b, "WillQoS", int64(pk.WillQoS))
		b = appendBoolField(b, "WillRetain", pk.WillRetain)
		b = appendBytesField(b, "WillTopic", pk.WillTopic, &encoded, &n)
		b = appendBytesField(b, "WillMessage", pk.WillMessage, &encoded, &n)
		b = appendBoolField(b, "UsernameFlag", pk.UsernameFlag)
		b = appendBytesField(b, "Username", pk.Username, &encoded, &n)
		b = appendBoolField(b, "PasswordFlag", pk.PasswordFlag)
		if pk.PasswordFlag && !p.opts.showSecrets {
			b = append(b, `,"Password":"`+mask+`"`...)
		} else {
			b = appendBytesField(b, "Password", pk.Password, &encoded, &n)
		}
	case *mqttwire.Connack:
		b = appendBoolField(b, "SessionPresent", pk.SessionPresent)
		b = appendIntField(b, "ReturnCode", int64(pk.ReturnCode))
	case *mqttwire.Publish:
		b = appendBoolField(b, "Dup", pk.Dup)
		b = appendIntField(b, "QoS", int64(pk.QoS))
		b = appendBoolField(b, "Retain", pk.Retain)
		b = appendBytesField(b, "Topic", pk.Topic, &encoded, &n)
		b = appendIntField(b, "PacketID", int64(pk.PacketID))
		b = appendBytesField(b, "Payload", pk.Payload, &encoded, &n)
		if e.truncated {
			b = appendBoolField(b, "Truncated", true)
			b = appendIntField(b, "PayloadLength", int64(e.payloadLen))
		}
	case *mqttwire.Puback:
		b = appendIntField(b, "PacketID", int64(pk.PacketID))
	case *mqttwire.Pubrec:
		b = appendIntField(b, "PacketID", int64(pk.PacketID))
	case *mqttwire.Pubrel:
		b = appendIntField(b, "PacketID", int64(pk.PacketID))
	case *mqttwire.Pubcomp:
		b = appendIntField(b, "PacketID", int64(pk.PacketID))
	case *mqttwire.Unsuback:
		b = appendIntField(b, "PacketID", int64(pk.PacketID))
	case *mqttwire.Subscribe:
		b = appendIntField(b, "PacketID", int64(pk.PacketID))
		b = append(b, `,"Filters":[`...)
		for i, f := range pk.Filters {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"Topic":`...)
			b = appendJSONString(b, f.Topic)
			b = appendIntField(b, "QoS", int64(f.QoS))
			b = append(b, '}')
		}
		b = append(b, ']')
	case *mqttwire.Suback:
		b = appendIntField(b, "PacketID", int64(pk.PacketID))
		b = append(b, `,"ReturnCodes":[`...)
		for i, c := range pk.ReturnCodes {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, uint64(c), 10)
		}
		b = append(b, ']')
	case *mqttwire.Unsubscribe:
		b = appendIntField(b, "PacketID", int64(pk.PacketID))
		b = append(b, `,"Topics":[`...)
		for i, t := range pk.Topics {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, t)
		}
		b = append(b, ']')
	}
	if n > 0 {
		b = append(b, `,"base64":[`...)
		for i, k := range encoded[:n] {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, k...)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	return b
}

// appendJSONString appends s, which must be valid UTF-8, as a JSON string.
func appendJSONString(b []byte, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i, c := range s {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
