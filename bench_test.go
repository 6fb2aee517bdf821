package mqttwire

import (
	"bytes"
	"io"
	"testing"
)

func BenchmarkDecode(b *testing.B) {
	for _, p := range benchPackets() {
		wire := mustAppend(nil, p)
		b.Run(p.Type().String(), func(b *testing.B) {
			var d Decoder
			b.ReportAllocs()
			b.SetBytes(int64(len(wire)))
			for b.Loop() {
				if _, _, err := d.Decode(wire); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, p := range benchPackets() {
		buf := make([]byte, 0, p.Size())
		b.Run(p.Type().String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(p.Size()))
			for b.Loop() {
				if _, err := p.Append(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReader reads a mixed stream held in a 64 KiB buffer, through a
// Reader with a 64 KiB buffer, as a socket read would bring it in.
func BenchmarkReader(b *testing.B) {
	stream, count := mixedStream(64 << 10)
	src := bytes.NewReader(stream)
	r := NewReaderSize(src, 64<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	packets := 0
	for b.Loop() {
		src.Reset(stream)
		r.Reset(src)
		for {
			_, err := r.ReadPacket()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			packets++
		}
	}
	if packets != count*b.N {
		b.Fatalf("read %d packets, want %d", packets, count*b.N)
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/packet")
}
