package integration

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zabkafka/zabkafka/integration/harness"
	"github.com/zabkafka/zabkafka/internal/testwait"
)

// brokerCluster is a zkd process and brokerd processes using it.
type brokerCluster struct {
	t       *testing.T
	zk      *harness.Server
	brokers []*harness.Brokerd
}

// zkdForBrokers starts a zkd with a short tick, so broker sessions (6 s
// asked, 4 s granted) expire quickly when a broker dies.
func zkdForBrokers(t *testing.T) *harness.Server {
	return harness.Zkd(t, harness.Config{TickTimeMs: 200})
}

// startBrokerCluster starts n brokers (ids 1..n) against a new zkd, in
// parallel, with props added to each server.properties.
func startBrokerCluster(t *testing.T, n int, props map[string]string) *brokerCluster {
	t.Helper()
	c := &brokerCluster{t: t, zk: zkdForBrokers(t)}
	c.brokers = make([]*harness.Brokerd, n)
	bin := harness.BrokerdBin(t)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := harness.BrokerdConfig{ID: int32(i + 1), ZooKeeper: c.zk.Addr(), Props: props, Dir: t.TempDir()}
			b, err := harness.StartBrokerd(t.Context(), bin, cfg)
			c.brokers[i], errs[i] = b, err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			for _, b := range c.brokers {
				if b != nil {
					b.Kill()
				}
			}
			t.Fatalf("broker %d: %v", i+1, err)
		}
		harness.StopBrokerdOnCleanup(t, c.brokers[i])
	}
	return c
}

func (c *brokerCluster) seeds() []string {
	var out []string
	for _, b := range c.brokers {
		if !b.Exited() {
			out = append(out, b.Addr())
		}
	}
	return out
}

func (c *brokerCluster) broker(id int32) *harness.Brokerd {
	for _, b := range c.brokers {
		if b.ID() == id {
			return b
		}
	}
	c.t.Fatalf("no broker %d", id)
	return nil
}

// kgoClient is a franz-go client of the given brokers.
func kgoClient(t *testing.T, seeds []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	// A short metadata min age: tests poll metadata while leaders move, and
	// kgo would otherwise answer repeats from a 5 s cache.
	base := []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.MetadataMinAge(50 * time.Millisecond)}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func timeoutCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// pollUntil polls cond until it holds or d passes.
func pollUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, d, what, cond)
}

// createTopicAndWait creates a topic with replication factor 1 and waits
// until every partition has a leader in the metadata of every seed.
func createTopicAndWait(t *testing.T, seeds []string, name string, partitions int32, configs map[string]*string) {
	t.Helper()
	adm := kadm.NewClient(kgoClient(t, seeds))
	ctx := timeoutCtx(t, 30*time.Second)
	resp, err := adm.CreateTopic(ctx, partitions, 1, configs, name)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic %s: %v %v", name, err, resp.Err)
	}
	for _, s := range seeds {
		one := kadm.NewClient(kgoClient(t, []string{s}))
		pollUntil(t, 20*time.Second, "leaders of "+name+" at "+s, func() bool {
			tmd, err := one.Metadata(ctx, name)
			if err != nil {
				return false
			}
			td, ok := tmd.Topics[name]
			if !ok || td.Err != nil || len(td.Partitions) != int(partitions) {
				return false
			}
			for _, p := range td.Partitions {
				if p.Leader < 0 || p.Err != nil {
					return false
				}
			}
			return true
		})
	}
}
