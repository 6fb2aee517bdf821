// Package synth makes captures for mqttdump's tests and benchmark: it
// reads and writes capture files, moves captured frames to another link
// type, and generates synthetic MQTT traffic of any size, encoded with
// mqttwire and framed with gopacket's layers.
package synth

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Frame is one captured record.
type Frame struct {
	CI   gopacket.CaptureInfo
	Data []byte
}

// ReadFrames reads every record of a pcap or pcapng file, and its link type
// (that of the first interface, for pcapng).
func ReadFrames(r io.Reader) ([]Frame, layers.LinkType, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, 0, err
	}
	var src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var link layers.LinkType
	if binary.BigEndian.Uint32(magic) == 0x0a0d0d0a {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, 0, err
		}
		src, link = ng, ng.LinkType()
	} else {
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, 0, err
		}
		src, link = pr, pr.LinkType()
	}
	var frames []Frame
	for {
		data, ci, err := src.ReadPacketData()
		if err == io.EOF {
			return frames, link, nil
		}
		if err != nil {
			return frames, link, err
		}
		ci.AncillaryData = nil
		frames = append(frames, Frame{CI: ci, Data: data})
	}
}

// WriteFrames writes frames as a pcap file of the given link type, with
// microsecond timestamps.
func WriteFrames(w io.Writer, link layers.LinkType, frames []Frame) error {
	bw := bufio.NewWriter(w)
	pw := pcapgo.NewWriter(bw)
	if err := pw.WriteFileHeader(262144, link); err != nil {
		return err
	}
	for _, f := range frames {
		ci := f.CI
		ci.CaptureLength = len(f.Data)
		ci.Length = max(ci.Length, len(f.Data))
		if err := pw.WritePacket(ci, f.Data); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Relink returns the frames of an Ethernet capture moved to another link
// type: the Ethernet header is replaced by that link type's header (BSD
// loopback, OpenBSD loopback, Linux cooked v1 or v2) or dropped (raw IP).
// Frames that do not carry IPv4 or IPv6 are left out.
func Relink(frames []Frame, link layers.LinkType) ([]Frame, error) {
	var out []Frame
	for _, f := range frames {
		if len(f.Data) < 14 {
			continue
		}
		etherType := binary.BigEndian.Uint16(f.Data[12:14])
		ip := f.Data[14:]
		v6 := etherType == uint16(layers.EthernetTypeIPv6)
		if !v6 && etherType != uint16(layers.EthernetTypeIPv4) {
			continue
		}
		var hdr []byte
		switch link {
		case layers.LinkTypeEthernet:
			hdr = f.Data[:14]
		case layers.LinkTypeRaw:
		case layers.LinkTypeNull:
			// The address family in host byte order, little-endian here.
			hdr = binary.LittleEndian.AppendUint32(nil, 2)
			if v6 {
				hdr = binary.LittleEndian.AppendUint32(nil, 24)
			}
		case layers.LinkTypeLoop:
			hdr = binary.BigEndian.AppendUint32(nil, 2)
			if v6 {
				hdr = binary.BigEndian.AppendUint32(nil, 24)
			}
		case layers.LinkTypeLinuxSLL:
			hdr = make([]byte, 16)
			binary.BigEndian.PutUint16(hdr[2:], 772) // ARPHRD_LOOPBACK
			binary.BigEndian.PutUint16(hdr[4:], 6)
			copy(hdr[6:], f.Data[6:12])
			binary.BigEndian.PutUint16(hdr[14:], etherType)
		case layers.LinkTypeLinuxSLL2:
			hdr = make([]byte, 20)
			binary.BigEndian.PutUint16(hdr[0:], etherType)
			binary.BigEndian.PutUint32(hdr[4:], 1) // interface index
			binary.BigEndian.PutUint16(hdr[8:], 772)
			hdr[11] = 6
			copy(hdr[12:], f.Data[6:12])
		default:
			return nil, fmt.Errorf("synth: cannot relink to %s", link)
		}
		data := append(append([]byte(nil), hdr...), ip...)
		ci := f.CI
		ci.CaptureLength = len(data)
		ci.Length = len(data) + (f.CI.Length - f.CI.CaptureLength)
		out = append(out, Frame{CI: ci, Data: data})
	}
	if len(out) == 0 {
		return nil, errors.New("synth: no IP frames to relink")
	}
	return out, nil
}
