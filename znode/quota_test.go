package znode_test

import "testing"

// TestQuotaStats follows what zkCli's setquota sets up: the stats node is
// filled with the subtree's count and bytes (the quota'd node included), then
// kept up to date by every create, setData and delete below the path.
func TestQuotaStats(t *testing.T) {
	a := newApplier(t)
	a.create("/q", "1")
	a.create("/q/a", "22")
	a.create("/zookeeper/quota/q", "")
	a.create("/zookeeper/quota/q/zookeeper_limits", "count=10,bytes=-1")
	a.create("/zookeeper/quota/q/zookeeper_stats", "count=0,bytes=0")
	stats := func() string {
		data, _, _, ok := a.tree.GetData("/zookeeper/quota/q/zookeeper_stats")
		if !ok {
			t.Fatal("no stats node")
		}
		return string(data)
	}
	if got := stats(); got != "count=2,bytes=3" {
		t.Fatalf("after setquota: %q", got)
	}
	a.create("/q/a/deep", "4444")
	a.setData("/q", "55555")
	if got := stats(); got != "count=3,bytes=11" {
		t.Fatalf("after create and setData: %q", got)
	}
	a.delete("/q/a/deep")
	a.create("/elsewhere", "zzz")
	if got := stats(); got != "count=2,bytes=7" {
		t.Fatalf("after delete: %q", got)
	}
	// Removing the limits node ends the accounting.
	a.delete("/zookeeper/quota/q/zookeeper_limits")
	a.create("/q/b", "x")
	if got := stats(); got != "count=2,bytes=7" {
		t.Fatalf("after the quota was removed: %q", got)
	}
}
