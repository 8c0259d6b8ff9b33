package load_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zabkafka/zabkafka/bench/zkload/load"
	"github.com/zabkafka/zabkafka/integration/harness"
)

// TestRunAgainstApache runs a short load of every op against Apache ZooKeeper and checks the
// counts and that the root is gone afterwards.
func TestRunAgainstApache(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Apache ZooKeeper")
	}
	s := harness.ApacheZK(t, harness.Config{Extra: map[string]string{"forceSync": "no"}})
	res, err := load.Run(context.Background(), load.Options{
		Servers:  []string{s.Addr()},
		Sessions: 4,
		Pipeline: 2,
		Duration: 500 * time.Millisecond,
		Mix:      load.Mix{load.OpRead: 2, load.OpWrite: 1, load.OpCreate: 1},
		Nodes:    250, // more than one setup batch
		Root:     "/zkload-test",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + res.Text())
	for _, op := range []string{"read", "write", "create"} {
		st := res.Ops[op]
		if st.Ops == 0 || st.Errors != 0 || st.P50Ms <= 0 || st.P50Ms > st.P99Ms || st.P99Ms > st.MaxMs {
			t.Errorf("%s: %+v", op, st)
		}
	}
	if res.Total.Ops != res.Ops["read"].Ops+res.Ops["write"].Ops+res.Ops["create"].Ops {
		t.Errorf("total %d is not the sum of the ops", res.Total.Ops)
	}

	c, _, err := zk.Connect([]string{s.Addr()}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _, err := c.Exists("/zkload-test"); err != nil || ok {
		t.Errorf("root after the run: exists=%v err=%v", ok, err)
	}
}

// TestRunCancelled checks that a cancelled run returns promptly with a shorter window.
func TestRunCancelled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Apache ZooKeeper")
	}
	s := harness.ApacheZK(t, harness.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := load.Run(ctx, load.Options{Servers: []string{s.Addr()}, Sessions: 2, Duration: time.Minute, Nodes: 10})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second || res.DurationS > 5 || res.Total.Ops == 0 {
		t.Errorf("cancelled run took %v, window %.1fs, %d ops", d, res.DurationS, res.Total.Ops)
	}
}
