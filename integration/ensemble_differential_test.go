package integration

// The differential suite (differential_test.go) against a 3-member zkd ensemble and a
// 3-member Apache ZooKeeper ensemble, its three sessions on three different members.

import (
	"strconv"
	"strings"
	"testing"

	"github.com/zabkafka/zabkafka/integration/harness"
)

func TestDifferentialEnsemble(t *testing.T) {
	if !zkdEnsembleWired {
		t.Skip("zkd ensemble not wired yet")
	}
	apacheKind := harness.ApacheKindFor(t)
	zkdKind := harness.ZkdKindFor(t)
	apache := harness.StartTestEnsemble(t, apacheKind, ensembleConfig(3, 0))
	zkd := harness.StartTestEnsemble(t, zkdKind, ensembleConfig(3, 0))
	want := withPortSymbols(runScenario(t, apache.Addrs()...), apache)
	got := withPortSymbols(runScenario(t, zkd.Addrs()...), zkd)
	if len(want) < 100 {
		t.Fatalf("the scenario recorded only %d lines against Apache ZooKeeper", len(want))
	}
	compareTranscripts(t, "apache", want, "zkd", got)
	t.Logf("compared %d transcript lines; accepted deviations: %v", len(want), knownDeviations)
}

// withPortSymbols writes each member's server line, which /zookeeper/config lists with the
// member's ports, as "<member N>".
func withPortSymbols(lines []string, e *harness.Ensemble) []string {
	var pairs []string
	for _, m := range e.Members() {
		pairs = append(pairs, m.ServerLine(), "<member "+strconv.Itoa(m.ID)+">")
	}
	r := strings.NewReplacer(pairs...)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = r.Replace(l)
	}
	return out
}
