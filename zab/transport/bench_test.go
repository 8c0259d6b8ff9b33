package transport

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/zab"
)

// BenchmarkProposalThroughput streams PROPOSAL messages from one transport
// to another over loopback and reports messages/s and MB/s (whole frames).
// The sender keeps at most half a queue in flight, so nothing is dropped
// and the number measures the transport, not the drop path.
func BenchmarkProposalThroughput(b *testing.B) {
	for _, size := range []int{128, 1024} {
		b.Run(fmt.Sprintf("txn=%dB", size), func(b *testing.B) {
			benchThroughput(b, size)
		})
	}
}

func benchThroughput(b *testing.B, size int) {
	lns := map[uint64][2]net.Listener{}
	members := map[uint64]Member{}
	for _, id := range []uint64{1, 2} {
		q, el := listen(b, "127.0.0.1:0"), listen(b, "127.0.0.1:0")
		lns[id] = [2]net.Listener{q, el}
		members[id] = Member{QuorumAddr: q.Addr().String(), ElectionAddr: el.Addr().String()}
	}
	trs := map[uint64]*Transport{}
	for _, id := range []uint64{1, 2} {
		tr, err := New(Config{ID: id, Members: members, Logger: zerolog.Nop(),
			QuorumListener: lns[id][0], ElectionListener: lns[id][1]})
		if err != nil {
			b.Fatal(err)
		}
		if err := tr.Start(); err != nil {
			b.Fatal(err)
		}
		trs[id] = tr
		defer tr.Close()
	}
	src, dst := trs[2], trs[1]
	data := bytes.Repeat([]byte{0x5A}, size)
	msg := func(i int) zab.Message {
		z := zab.MakeZxid(1, uint32(i+1))
		return zab.Message{Type: zab.Proposal, From: 2, To: 1, Epoch: 1, Zxid: z, Entries: []zab.Entry{{Zxid: z, Data: data}}}
	}
	// Connect before timing.
	src.Send(msg(0))
	select {
	case <-dst.Receive():
	case <-time.After(10 * time.Second):
		b.Fatal("no connection")
	}
	window := make(chan struct{}, src.cfg.QueueLen/2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < b.N; i++ {
			<-dst.Receive()
			<-window
		}
	}()
	b.SetBytes(int64(len(appendFrame(nil, msg(1)))))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		window <- struct{}{}
		src.Send(msg(i + 1))
	}
	<-done
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	if p, _ := src.Stats().Peer(1); p.Quorum.Drops != 0 {
		b.Fatalf("%d drops", p.Quorum.Drops)
	}
}
