package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/mqttwire/mqttwire"
)

// BenchmarkConnect measures the connect path as loadgen's connect scenario
// drives it: accept, CONNECT, CONNACK, DISCONNECT, close, from several
// clients at a time. The client side is kept to raw writes and reads of
// pre-encoded packets so that a CPU profile shows mostly the broker.
func BenchmarkConnect(b *testing.B) {
	_, addr := startBroker(b, func(c *config) { c.logger = nil })
	disconnect, _ := (&mqttwire.Disconnect{}).Append(nil)
	var worker atomic.Int32
	b.SetParallelism(2) // 2 × GOMAXPROCS clients at a time
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := worker.Add(1)
		p := mqttwire.Connect{Version: mqttwire.V311, CleanSession: true, KeepAlive: 60}
		var connect []byte
		var ack [4]byte
		for i := 0; pb.Next(); i++ {
			// A fresh client id each time, as loadgen sends.
			p.ClientID = strconv.AppendInt(append(p.ClientID[:0], fmt.Sprintf("bench-%d-", w)...), int64(i), 10)
			connect, _ = p.Append(connect[:0])
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := nc.Write(connect); err != nil {
				b.Error(err)
				return
			}
			if _, err := io.ReadFull(nc, ack[:]); err != nil || ack[3] != 0 {
				b.Errorf("CONNACK % x, %v", ack, err)
				return
			}
			if _, err := nc.Write(disconnect); err != nil {
				b.Error(err)
				return
			}
			nc.Close()
		}
	})
}
