package znode

import (
	"strconv"
	"strings"
)

// Quotas, as ZooKeeper's DataTree keeps them. zkCli's setquota creates
// /zookeeper/quota<path>/zookeeper_limits and .../zookeeper_stats; from then
// on every create, delete and setData below <path> updates the stats node's
// data ("count=N,bytes=M") in place, without a version or zxid change. The
// statistics are part of the replicated state: they follow from the txns.
// Limits are not enforced (zookeeper.enforceQuota is off by default).
const (
	quotaLimitNode = "zookeeper_limits"
	quotaStatNode  = "zookeeper_stats"
)

// quotaPathOf returns the quota'd path a node under /zookeeper/quota
// describes, and the node's role (limits or stats), if it is one.
func quotaPathOf(p string) (quotaPath, role string, ok bool) {
	if !strings.HasPrefix(p, QuotaPath+"/") {
		return "", "", false
	}
	parent, base := Parent(p), Base(p)
	if base != quotaLimitNode && base != quotaStatNode {
		return "", "", false
	}
	return strings.TrimPrefix(parent, QuotaPath), base, true
}

// quotaFor returns the deepest quota'd path at or above p (PathTrie
// .findMaxPrefix), or "" if none.
func (t *Tree) quotaFor(p string) string {
	if len(t.quotas) == 0 {
		return ""
	}
	found := ""
	ancestors(p, func(a string) {
		if found == "" && t.quotas[a] {
			found = a
		}
	})
	return found
}

// quotaCreated runs after a node is created.
func (t *Tree) quotaCreated(p string, dataLen int) {
	if qp, role, ok := quotaPathOf(p); ok {
		switch role {
		case quotaLimitNode:
			t.quotas[qp] = true
		case quotaStatNode:
			t.recountQuota(qp)
		}
	}
	if qp := t.quotaFor(p); qp != "" {
		t.updateQuotaStat(qp, int64(dataLen), 1)
	}
}

// quotaDeleted runs after a node is deleted.
func (t *Tree) quotaDeleted(p string, dataLen int) {
	if qp, role, ok := quotaPathOf(p); ok && role == quotaLimitNode {
		delete(t.quotas, qp)
	}
	if qp := t.quotaFor(p); qp != "" {
		t.updateQuotaStat(qp, -int64(dataLen), -1)
	}
}

// quotaDataChanged runs after setData.
func (t *Tree) quotaDataChanged(p string, diff int) {
	if qp := t.quotaFor(p); qp != "" {
		t.updateQuotaStat(qp, int64(diff), 0)
	}
}

func (t *Tree) updateQuotaStat(qp string, bytes, count int64) {
	n, ok := t.nodes[QuotaPath+qp+"/"+quotaStatNode]
	if !ok {
		return // a limits node without a stats node: nothing to update, as in Java
	}
	st := parseStatsTrack(string(n.data))
	st.add("count", count)
	st.add("bytes", bytes)
	t.setStatsData(n, st)
}

// recountQuota sets a new stats node to the count and bytes of the subtree
// at qp, the node itself included (updateQuotaForPath).
func (t *Tree) recountQuota(qp string) {
	n, ok := t.nodes[QuotaPath+qp+"/"+quotaStatNode]
	root, rootOK := t.nodes[qp]
	if !ok || !rootOK {
		return
	}
	var count, bytes int64
	var walk func(string, *node)
	walk = func(p string, nd *node) {
		count++
		bytes += int64(len(nd.data))
		for c := range nd.children {
			cp := Join(p, c)
			walk(cp, t.nodes[cp])
		}
	}
	walk(qp, root)
	st := statsTrack{}
	st.set("count", count)
	st.set("bytes", bytes)
	t.setStatsData(n, st)
}

func (t *Tree) setStatsData(n *node, st statsTrack) {
	data := []byte(st.String())
	t.dataBytes += int64(len(data) - len(n.data))
	n.data = data
}

// statsTrack is StatsTrack: key=value pairs, count and bytes first.
type statsTrack struct {
	keys []string
	vals map[string]int64
}

func parseStatsTrack(s string) statsTrack {
	st := statsTrack{vals: map[string]int64{}}
	for kv := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		st.set(strings.TrimSpace(k), n)
	}
	return st
}

func (st *statsTrack) set(k string, v int64) {
	if st.vals == nil {
		st.vals = map[string]int64{}
	}
	if _, ok := st.vals[k]; !ok {
		st.keys = append(st.keys, k)
	}
	st.vals[k] = v
}

func (st *statsTrack) add(k string, d int64) { st.set(k, st.vals[k]+d) }

func (st statsTrack) String() string {
	order := []string{"count", "bytes"}
	for _, k := range st.keys {
		if k != "count" && k != "bytes" {
			order = append(order, k)
		}
	}
	parts := make([]string, 0, len(order))
	for _, k := range order {
		if v, ok := st.vals[k]; ok {
			parts = append(parts, k+"="+strconv.FormatInt(v, 10))
		}
	}
	return strings.Join(parts, ",")
}
