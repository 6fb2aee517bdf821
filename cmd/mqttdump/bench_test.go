package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mqttwire/mqttwire/cmd/mqttdump/internal/synth"
)

var (
	benchOnce sync.Once
	benchPath string
	benchSize int64
)

// benchCapture writes a 20 MB synthetic capture once per test binary.
func benchCapture(b *testing.B) string {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mqttdump-bench")
		if err != nil {
			b.Fatal(err)
		}
		benchPath = filepath.Join(dir, "bench.pcap")
		var buf bytes.Buffer
		sum, err := synth.Generate(&buf, synth.Options{Size: 20 << 20, Conns: 200, Seed: 1, IPv6: 0.1})
		if err != nil {
			b.Fatal(err)
		}
		benchSize = sum.Bytes
		if err := os.WriteFile(benchPath, buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	})
	return benchPath
}

// BenchmarkCapture decodes a 20 MB synthetic capture and prints every
// packet, in text and in JSON; bench.sh measures the whole command on a
// larger file against tshark.
func BenchmarkCapture(b *testing.B) {
	path := benchCapture(b)
	for _, mode := range []string{"text", "json"} {
		b.Run(mode, func(b *testing.B) {
			args := []string{path}
			if mode == "json" {
				args = []string{"-json", path}
			}
			b.SetBytes(benchSize)
			b.ReportAllocs()
			for b.Loop() {
				if status := run(args, strings.NewReader(""), io.Discard, io.Discard); status != 0 {
					b.Fatalf("exit status %d", status)
				}
			}
		})
	}
}
