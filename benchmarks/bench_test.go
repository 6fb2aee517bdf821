package benchmarks

import (
	"bytes"
	"io"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/mqttwire/mqttwire"
)

// Design note: each codec gets its own loop, written as its documentation
// and source suggest a caller drive it at full speed, with everything that
// can be reused (decoder, reader, packet values, output buffer) built before
// the timed loop. Before timing, every benchmark checks that its codec
// decodes (or encodes) the workload exactly, so a fast wrong answer never
// enters the tables. Single packets and streams go through the same loop:
// decode packet after packet until the input is used up.

// sink keeps results alive so the compiler cannot drop the work.
var sink int

// cpuMeter measures the CPU time of the whole process, all threads
// included (the garbage collector's too), over a timed loop.
type cpuMeter struct{ start time.Duration }

// startCPU starts a measurement; call it right before the b.Loop loop.
func startCPU() cpuMeter { return cpuMeter{processCPU()} }

// report adds the metric cpu-ns/op: process CPU time over the loop divided
// by its iterations. Unlike ns/op it does not count the time the process
// waits for a CPU, so it stays meaningful when other work shares the
// machine. Call it right after the loop, when b.N holds the iteration count.
func (m cpuMeter) report(b *testing.B) {
	if b.N > 0 {
		b.ReportMetric(float64(processCPU()-m.start)/float64(b.N), "cpu-ns/op")
	}
}

// processCPU returns the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkDecode(b *testing.B) {
	for i := range workloads() {
		w := &workloads()[i]
		b.Run(w.Name, func(b *testing.B) {
			for _, c := range append(codecs[:len(codecs):len(codecs)], baselines...) {
				b.Run(c, func(b *testing.B) { benchDecode(b, c, w) })
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for i := range workloads() {
		w := &workloads()[i]
		b.Run(w.Name, func(b *testing.B) {
			for _, c := range append(codecs[:len(codecs):len(codecs)], baselines...) {
				b.Run(c, func(b *testing.B) { benchEncode(b, c, w) })
			}
		})
	}
}

// checked remembers the checks that passed in this process, so that -count
// runs of a benchmark check its codec once.
var checked sync.Map

// mustCheck runs check once per key and stops the benchmark if it fails.
// run.sh sets MQTTWIRE_BENCH_CHECKED=1 after TestEquivalence has passed on
// the same code, so its rounds skip the check (the 16 MiB stream's takes
// seconds).
func mustCheck(b *testing.B, key string, check func() error) {
	if os.Getenv("MQTTWIRE_BENCH_CHECKED") == "1" {
		return
	}
	if _, ok := checked.Load(key); ok {
		return
	}
	if err := check(); err != nil {
		b.Fatal(err)
	}
	checked.Store(key, true)
}

func benchDecode(b *testing.B, codec string, w *Workload) {
	if codec != "memmove" && codec != "framescan" {
		mustCheck(b, "decode/"+w.Name+"/"+codec, func() error { return checkDecode(codec, w) })
	}
	wire, count := w.Wire, w.Count()
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	switch codec {
	case "mqttwire":
		var d mqttwire.Decoder
		cpu := startCPU()
		for b.Loop() {
			packets := 0
			for off := 0; off < len(wire); packets++ {
				_, n, err := d.Decode(wire[off:])
				if err != nil {
					b.Fatal(err)
				}
				off += n
			}
			if packets != count {
				b.Fatalf("decoded %d packets, want %d", packets, count)
			}
		}
		cpu.report(b)
	case "paho":
		r := bytes.NewReader(wire)
		cpu := startCPU()
		for b.Loop() {
			r.Reset(wire)
			packets := 0
			for ; ; packets++ {
				_, err := paho.ReadPacket(r)
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			if packets != count {
				b.Fatalf("decoded %d packets, want %d", packets, count)
			}
		}
		cpu.report(b)
	case "mochi":
		var d MochiDecoder
		cpu := startCPU()
		for b.Loop() {
			packets := 0
			for off := 0; off < len(wire); packets++ {
				n, err := d.Decode(wire[off:])
				if err != nil {
					b.Fatal(err)
				}
				off += n
			}
			if packets != count {
				b.Fatalf("decoded %d packets, want %d", packets, count)
			}
		}
		cpu.report(b)
	case "memmove":
		dst := make([]byte, len(wire))
		cpu := startCPU()
		for b.Loop() {
			sink += Memmove(dst, wire)
		}
		cpu.report(b)
	case "framescan":
		cpu := startCPU()
		for b.Loop() {
			packets, sum := FrameScan(wire)
			if packets != count {
				b.Fatalf("scanned %d packets, want %d", packets, count)
			}
			sink += sum
		}
		cpu.report(b)
	}
}

// plan splits a workload's packets for encoding into the packets before the
// cycle, the cycle and the packets after it, each converted once by conv.
// Encoding walks the cycle Repeat times, so a 16 MiB stream needs only the
// cycle's few packet values.
func plan[P any](w *Workload, conv func(Fields) P) (head, cycle, tail []P) {
	for _, f := range w.Packets {
		head = append(head, conv(f))
	}
	for _, f := range w.Cycle {
		cycle = append(cycle, conv(f))
	}
	for _, f := range w.Trailer {
		tail = append(tail, conv(f))
	}
	return head, cycle, tail
}

func benchEncode(b *testing.B, codec string, w *Workload) {
	if codec != "memmove" && codec != "framescan" {
		mustCheck(b, "encode/"+w.Name+"/"+codec, func() error { return checkEncode(codec, w) })
	}
	size := len(w.Wire)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	single := w.Count() == 1
	switch codec {
	case "mqttwire":
		head, cycle, tail := plan(w, ToMqttwire)
		buf := make([]byte, 0, size)
		if single {
			p := head[0]
			cpu := startCPU()
			for b.Loop() {
				out, err := p.Append(buf[:0])
				if err != nil {
					b.Fatal(err)
				}
				sink += len(out)
			}
			cpu.report(b)
			return
		}
		cpu := startCPU()
		for b.Loop() {
			out := buf[:0]
			var err error
			for _, p := range head {
				out, err = p.Append(out)
			}
			for range w.Repeat {
				for _, p := range cycle {
					out, err = p.Append(out)
				}
			}
			for _, p := range tail {
				out, err = p.Append(out)
			}
			if err != nil || len(out) != size {
				b.Fatalf("encoded %d bytes, want %d (%v)", len(out), size, err)
			}
		}
		cpu.report(b)
	case "paho":
		head, cycle, tail := plan(w, ToPaho)
		var buf bytes.Buffer
		buf.Grow(size)
		if single {
			cp := head[0]
			cpu := startCPU()
			for b.Loop() {
				buf.Reset()
				if err := cp.Write(&buf); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
			return
		}
		cpu := startCPU()
		for b.Loop() {
			buf.Reset()
			var err error
			for _, cp := range head {
				err = cp.Write(&buf)
			}
			for range w.Repeat {
				for _, cp := range cycle {
					err = cp.Write(&buf)
				}
			}
			for _, cp := range tail {
				err = cp.Write(&buf)
			}
			if err != nil || buf.Len() != size {
				b.Fatalf("encoded %d bytes, want %d (%v)", buf.Len(), size, err)
			}
		}
		cpu.report(b)
	case "mochi":
		head, cycle, tail := plan(w, ToMochi)
		var buf bytes.Buffer
		buf.Grow(size)
		if single {
			pk := &head[0]
			cpu := startCPU()
			for b.Loop() {
				buf.Reset()
				if err := MochiEncode(pk, &buf); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
			return
		}
		cpu := startCPU()
		for b.Loop() {
			buf.Reset()
			var err error
			for i := range head {
				err = MochiEncode(&head[i], &buf)
			}
			for range w.Repeat {
				for i := range cycle {
					err = MochiEncode(&cycle[i], &buf)
				}
			}
			for i := range tail {
				err = MochiEncode(&tail[i], &buf)
			}
			if err != nil || buf.Len() != size {
				b.Fatalf("encoded %d bytes, want %d (%v)", buf.Len(), size, err)
			}
		}
		cpu.report(b)
	case "memmove":
		dst := make([]byte, size)
		cpu := startCPU()
		for b.Loop() {
			sink += Memmove(dst, w.Wire)
		}
		cpu.report(b)
	case "framescan":
		frames := SplitFrames(w.Wire)
		buf := make([]byte, 0, size)
		cpu := startCPU()
		for b.Loop() {
			sink += len(AppendFrames(buf[:0], frames))
		}
		cpu.report(b)
	}
}
