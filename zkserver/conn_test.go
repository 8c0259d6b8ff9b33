package zkserver

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/znode"
)

// TestWriterKeepsRepliesAheadOfLaterEvents: when a write's reply (zxid 5)
// is queued and an event of a later txn (zxid 10) is pending, both wake the
// writer at once and select may pick either; the reply must still leave
// first, as in ZooKeeper, where a reply is sent before later txns apply.
// Each round is a fresh connection, so both orders of the wake-up are tried.
func TestWriterKeepsRepliesAheadOfLaterEvents(t *testing.T) {
	s := New(DefaultConfig(), zerolog.New(io.Discard))
	for round := range 50 {
		server, client := net.Pipe()
		c := s.newConn(server)
		c.session.Store(1)

		c.Notify(jute.WatcherEvent{Type: jute.EventNodeDataChanged, State: jute.StateSyncConnected, Path: "/later"}, 10)
		w := &request{conn: c, xid: 7, op: jute.OpSetData, done: make(chan struct{}), zxid: 5,
			res: znode.Result{Type: jute.OpSetData}}
		close(w.done)
		c.inflight.Add(1)
		c.entries <- w
		go c.writeLoop()

		client.SetDeadline(time.Now().Add(5 * time.Second))
		var got []int32
		for range 2 {
			frame, err := jute.ReadFrame(client, nil, jute.MaxBuffer)
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			var h jute.ReplyHeader
			if err := jute.Decode(frame, &h); err != nil {
				t.Fatal(err)
			}
			got = append(got, h.Xid)
		}
		if got[0] != 7 || got[1] != jute.XidNotification {
			t.Fatalf("round %d: frames in order of xid %v, want the reply (7) before the event (-1)", round, got)
		}
		c.close("test done")
		client.Close()
	}
}
