package integration

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/integration/harness"
	"github.com/zabkafka/zabkafka/integration/zkproto"
	"github.com/zabkafka/zabkafka/internal/testwait"
)

func TestMain(m *testing.M) {
	code := m.Run()
	harness.RemoveBuilds()
	os.Exit(code)
}

// superDigest is the digest of "super:test", as the go-zookeeper and kazoo
// harnesses configure it.
const superDigest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="

// serverConfig is the zoo.cfg both zkd and Apache ZooKeeper run with in
// these tests: a short tick so sessions expire quickly, TTL nodes enabled,
// a super user, and a fast container check.
func serverConfig() harness.Config {
	args := []string{"-log-level", "debug"}
	return harness.Config{
		TickTimeMs: 200,
		Args:       args,
		Extra: map[string]string{
			"extendedTypesEnabled":                     "true",
			"DigestAuthenticationProvider.superDigest": superDigest,
			"znode.container.checkIntervalMs":          "200",
		},
		// Apache ZooKeeper reads these as system properties.
		JVMFlags: []string{
			"-Dzookeeper.extendedTypesEnabled=true",
			"-Dzookeeper.DigestAuthenticationProvider.superDigest=" + superDigest,
			"-Dznode.container.checkIntervalMs=200",
		},
	}
}

func startZkd(t *testing.T) *harness.Server {
	t.Helper()
	return harness.Zkd(t, serverConfig())
}

type testLogger struct{ t *testing.T }

func (l testLogger) Printf(format string, args ...any) { l.t.Logf("zk: "+format, args...) }

// connect opens a go-zookeeper session and waits until it is established.
func connect(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	return connectTimeout(t, addr, 4*time.Second)
}

func connectTimeout(t *testing.T, addr string, timeout time.Duration) *zk.Conn {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, timeout, zk.WithLogger(testLogger{t}))
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	t.Cleanup(c.Close)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return c
			}
		case <-deadline:
			t.Fatalf("no session with %s after 10s", addr)
		}
	}
}

// rawConnect opens a session with the raw protocol client.
func rawConnect(t *testing.T, addr string) *zkproto.Client {
	t.Helper()
	c, err := zkproto.Dial(addr, 4*time.Second)
	if err != nil {
		t.Fatalf("raw connect %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitEvent waits for one event on a go-zookeeper watch channel.
func waitEvent(t *testing.T, ch <-chan zk.Event) zk.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
		return zk.Event{}
	}
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, 10*time.Second, what, cond)
}

func wantErr(t *testing.T, got, want error) {
	t.Helper()
	if !errors.Is(got, want) {
		t.Fatalf("got error %v, want %v", got, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var openACL = zk.WorldACL(zk.PermAll)
