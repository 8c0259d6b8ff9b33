package broker

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
	"github.com/zabkafka/zabkafka/internal/testlog"
	"github.com/zabkafka/zabkafka/internal/testwait"
	"github.com/zabkafka/zabkafka/zkserver/zkservertest"
)

// testCluster is an in-memory zkd with brokers in this process.
type testCluster struct {
	t       *testing.T
	zk      string
	brokers []*Broker
	logs    []*testlog.Buffer
}

func newTestCluster(t *testing.T) *testCluster {
	t.Helper()
	return &testCluster{t: t, zk: zkservertest.Start(t).Addr().String()}
}

// testConfig is a broker config for tests: loopback listener on a free port,
// a temporary log dir, short timeouts.
func (c *testCluster) testConfig(id int32) *Config {
	cfg := DefaultConfig()
	cfg.BrokerID = id
	cfg.Listeners = []zkmeta.Endpoint{{Listener: "PLAINTEXT", SecurityProtocol: "PLAINTEXT", Host: "127.0.0.1"}}
	cfg.LogDirs = []string{c.t.TempDir()}
	cfg.ZooKeeperConnect = c.zk
	cfg.ZooKeeperSessionTimeout = 4 * time.Second
	cfg.ControlledShutdownRetryBackoff = 50 * time.Millisecond
	cfg.Log.FileDeleteDelayMs = 0
	if err := cfg.Validate(); err != nil {
		c.t.Fatal(err)
	}
	return cfg
}

// start starts a broker with the real controller; mod may adjust its config.
func (c *testCluster) start(id int32, mod func(*Config)) *Broker {
	c.t.Helper()
	cfg := c.testConfig(id)
	if mod != nil {
		mod(cfg)
	}
	return c.startWith(cfg, KafkaController(cfg))
}

func (c *testCluster) startWith(cfg *Config, ctrl ControllerFactory) *Broker {
	c.t.Helper()
	buf := &testlog.Buffer{}
	lg := zerolog.New(buf).With().Timestamp().Logger()
	if os.Getenv("BROKER_TEST_LOG") != "" {
		lg = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	b := New(cfg, lg, ctrl)
	if err := b.Start(); err != nil {
		c.t.Fatalf("start broker %d: %v\n%s", cfg.BrokerID, err, buf.Tail(30))
	}
	c.brokers = append(c.brokers, b)
	c.logs = append(c.logs, buf)
	c.t.Cleanup(func() {
		b.Close()
		if c.t.Failed() {
			c.t.Logf("--- broker %d log ---\n%s", b.ID(), buf.Tail(60))
		}
	})
	return b
}

func (c *testCluster) seeds() []string {
	var out []string
	for _, b := range c.brokers {
		if a := b.Addr("PLAINTEXT"); a != nil {
			out = append(out, a.String())
		}
	}
	return out
}

// client is a kgo client of the cluster.
func (c *testCluster) client(opts ...kgo.Opt) *kgo.Client {
	c.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.seeds()...)}, opts...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(cl.Close)
	return cl
}

func (c *testCluster) admin() *kadm.Client {
	return kadm.NewClient(c.client())
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, d, what, cond)
}

// createTopic creates a topic through the admin API and waits for leaders.
func (c *testCluster) createTopic(name string, partitions int32, configs map[string]*string) {
	c.t.Helper()
	adm := c.admin()
	ctx := ctxTimeout(c.t, 20*time.Second)
	resp, err := adm.CreateTopic(ctx, partitions, 1, configs, name)
	if err != nil || resp.Err != nil {
		c.t.Fatalf("create topic %s: %v %v", name, err, resp.Err)
	}
	waitFor(c.t, 15*time.Second, "leaders of "+name, func() bool {
		md, err := adm.Metadata(ctx, name)
		if err != nil {
			return false
		}
		td, ok := md.Topics[name]
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
