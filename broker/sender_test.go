package broker

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// A request whose context deadline passes while the target does not answer
// fails with an error; the context's cancellation callback, which can run
// after the failed connection was closed and dropped, must not touch it
// (it dereferenced the dropped connection once and crashed a broker during
// controlled shutdown). Many short deadlines give that interleaving chances
// to occur.
func TestSenderDeadlineWhileTargetSilent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // read nothing, answer nothing
		}
	}()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	info := &zkmeta.BrokerInfo{ID: 1, Endpoints: []zkmeta.Endpoint{{Listener: "PLAINTEXT", SecurityProtocol: "PLAINTEXT", Host: host, Port: int32(p)}}}
	s := NewSender(7, "PLAINTEXT", zerolog.Nop())
	for range 200 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		_, err := s.SendTo(ctx, 1, info, kmsg.NewPtrApiVersionsRequest())
		cancel()
		if err == nil {
			t.Fatal("a silent target answered")
		}
	}
}
