// Command gencap writes captures for mqttdump's benchmark and tests: a
// synthetic pcap of many MQTT sessions of a given size, or an Ethernet
// capture moved to another link type.
//
//	go run ./internal/cmd/gencap -o /tmp/bench.pcap -size 60000000
//	go run ./internal/cmd/gencap -relink null -o null.pcap capture.pcapng
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/gopacket/gopacket/layers"
	"github.com/mqttwire/mqttwire/cmd/mqttdump/internal/synth"
)

func main() {
	out := flag.String("o", "", "output `file`")
	size := flag.Int64("size", 60_000_000, "approximate size in `bytes` of the synthetic capture")
	conns := flag.Int("conns", 200, "MQTT sessions open at once")
	seed := flag.Uint64("seed", 1, "random seed; the same seed gives the same file")
	port := flag.Uint("port", 1883, "the broker's TCP port")
	ipv6 := flag.Float64("ipv6", 0.1, "share of sessions over IPv6")
	reorder := flag.Float64("reorder", 0, "chance that two consecutive segments swap places")
	duplicate := flag.Float64("duplicate", 0, "chance that a segment is retransmitted")
	overlap := flag.Float64("overlap", 0, "chance that a segment is sent as two overlapping pieces")
	splitHeader := flag.Float64("split-header", 0, "chance that a segment ends inside a fixed header's remaining length")
	relink := flag.String("relink", "", "instead of generating, move the Ethernet capture given as argument to link `type` null, loop, raw, sll or sll2")
	flag.Parse()
	if *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	f, err := os.Create(*out)
	if err != nil {
		fail(err)
	}
	if *relink != "" {
		if err := doRelink(f, *relink, flag.Args()); err != nil {
			fail(err)
		}
	} else {
		sum, err := synth.Generate(f, synth.Options{Size: *size, Conns: *conns, Seed: *seed, Port: uint16(*port),
			IPv6: *ipv6, Reorder: *reorder, Duplicate: *duplicate, Overlap: *overlap, SplitHeader: *splitHeader})
		if err != nil {
			fail(err)
		}
		var packets int64
		for _, n := range sum.Packets {
			packets += n
		}
		fmt.Fprintf(os.Stderr, "gencap: %s: %d bytes, %d frames, %d sessions, %d MQTT packets\n",
			*out, sum.Bytes, sum.Frames, sum.Sessions, packets)
	}
	if err := f.Close(); err != nil {
		fail(err)
	}
}

func doRelink(f *os.File, to string, args []string) error {
	links := map[string]layers.LinkType{"null": layers.LinkTypeNull, "loop": layers.LinkTypeLoop,
		"raw": layers.LinkTypeRaw, "sll": layers.LinkTypeLinuxSLL, "sll2": layers.LinkTypeLinuxSLL2}
	link, ok := links[to]
	if !ok || len(args) != 1 {
		return fmt.Errorf("-relink wants null, loop, raw, sll or sll2 and one input capture")
	}
	in, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer in.Close()
	frames, from, err := synth.ReadFrames(in)
	if err != nil {
		return err
	}
	if from != layers.LinkTypeEthernet {
		return fmt.Errorf("%s: link type %s, not Ethernet", args[0], from)
	}
	frames, err = synth.Relink(frames, link)
	if err != nil {
		return err
	}
	return synth.WriteFrames(f, link, frames)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gencap:", err)
	os.Exit(1)
}
