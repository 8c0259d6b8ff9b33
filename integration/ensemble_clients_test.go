package integration

// The Java zkCli.sh and the C client's cli_mt run their golden sessions (zkcli_test.go,
// cclient_test.go) against every member of an ensemble, observer included: reads served
// locally, writes forwarded to the leader, watches fired on the member the client is on.
// Each session must print exactly what it prints against a standalone Apache ZooKeeper.

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/integration/harness"
)

func TestEnsembleClients(t *testing.T) {
	zkCli := harness.ZkCli(t)
	cCli := harness.CCli(t)
	zkCliScript := goldenLines(strings.ReplaceAll(zkCliGolden, "@DIGEST@", zkCliDigest))
	zkCliCmds, zkCliEvents := scriptOf(zkCliScript, "event: ")
	cCliScript := goldenLines(cCliGolden)
	cCliCmds, _ := scriptOf(cCliScript, "err: ")

	forEachKind(t, func(t *testing.T, kind harness.ServerKind) {
		e := harness.StartTestEnsemble(t, kind, ensembleConfig(3, 1))
		for _, m := range e.Members() {
			t.Run(fmt.Sprintf("zkCli.sh on member %d", m.ID), func(t *testing.T) {
				tr := normaliseZkCli(t, runZkCli(t, []string{zkCli, "-server", m.Addr()}, zkCliCmds, zkCliEvents))
				compareTranscripts(t, "golden", zkCliScript, kind.Name, tr)
				clearTree(t, e, m.ID)
			})
			t.Run(fmt.Sprintf("cli_mt on member %d", m.ID), func(t *testing.T) {
				tr := normaliseCCli(t, runCCli(t, cCli, m.Addr(), cCliCmds).tr)
				compareTranscripts(t, "golden", cCliScript, kind.Name, tr)
				clearTree(t, e, m.ID)
			})
		}
	})
}

// clearTree deletes everything but /zookeeper through member id, so the next golden session
// starts from the same tree. Container nodes may vanish on their own meanwhile.
func clearTree(t *testing.T, e *harness.Ensemble, id int) {
	t.Helper()
	c := pinnedClient(t, e, id)
	defer c.Close()
	var del func(p string)
	del = func(p string) {
		children, _, err := c.Children(p)
		if errors.Is(err, zk.ErrNoNode) {
			return
		}
		must(t, err)
		for _, ch := range children {
			if kid := strings.TrimSuffix(p, "/") + "/" + ch; kid != "/zookeeper" {
				del(kid)
			}
		}
		if p == "/" {
			return
		}
		if err := c.Delete(p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
			t.Fatalf("clear %s: %v", p, err)
		}
	}
	del("/")
}
