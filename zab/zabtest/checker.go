package zabtest

import (
	"github.com/zabkafka/zabkafka/zab"
)

// checker holds the one global committed history and checks the
// invariants (DESIGN.md section 4) after every event:
//   - committed-prefix agreement: every server's applied sequence is a
//     prefix of the global history (no two servers commit different txns
//     at one zxid), and snapshots restore a prefix of it;
//   - primary order: the global history's zxids increase, so a new epoch's
//     txns follow every committed txn of older epochs;
//   - equal digests: a server's state digest after applying the i-th txn
//     equals the history's digest there;
//   - durability: the newest committed txn is durable on a quorum of
//     voters' disks (so no crash or election can lose it);
//   - at most one established leader per epoch, ever;
//   - epochs on disk never decrease and currentEpoch <= acceptedEpoch
//     (checked as each Ready is persisted), and a peer's commit point
//     never passes its last zxid, nor its applied state its durable log.
type checker struct {
	c       *Cluster
	hist    []histRec
	idx     map[int64]int
	leaders map[uint32]uint64
}

type histRec struct {
	zxid   int64
	data   string
	digest uint64
}

func newChecker(c *Cluster) checker {
	return checker{c: c, idx: map[int64]int{}, leaders: map[uint32]uint64{}}
}

// restored: n's state machine was reset to a snapshot (start or SNAP).
func (k *checker) restored(n *Node) {
	z := n.KV.Applied
	if z == 0 {
		n.applied = 0
		return
	}
	i, ok := k.idx[z]
	if !ok {
		k.c.fail("server %d restored a snapshot at %s, which is not in the committed history", n.ID, zab.FormatZxid(z))
		return
	}
	if k.hist[i].digest != n.KV.Digest {
		k.c.fail("server %d snapshot at %s has digest %x, history has %x", n.ID, zab.FormatZxid(z), n.KV.Digest, k.hist[i].digest)
	}
	n.applied = i + 1
}

// applied: n applied e (already in n.KV).
func (k *checker) applied(n *Node, e zab.Entry) {
	i := n.applied
	if i < len(k.hist) {
		h := k.hist[i]
		if h.zxid != e.Zxid || h.data != string(e.Data) {
			k.c.fail("server %d applied %s=%q as txn #%d, history has %s=%q", n.ID, zab.FormatZxid(e.Zxid), e.Data,
				i, zab.FormatZxid(h.zxid), h.data)
			return
		}
	} else {
		if i > 0 && e.Zxid <= k.hist[i-1].zxid {
			k.c.fail("primary order: %s committed after %s", zab.FormatZxid(e.Zxid), zab.FormatZxid(k.hist[i-1].zxid))
			return
		}
		k.hist = append(k.hist, histRec{zxid: e.Zxid, data: string(e.Data), digest: n.KV.Digest})
		k.idx[e.Zxid] = i
	}
	if k.hist[i].digest != n.KV.Digest {
		k.c.fail("server %d digest %x after %s, history has %x", n.ID, n.KV.Digest, zab.FormatZxid(e.Zxid), k.hist[i].digest)
	}
	n.applied = i + 1
}

func (k *checker) checkAll() {
	c := k.c
	if c.err != nil {
		return
	}
	for _, id := range c.ids {
		n := c.nodes[id]
		if !n.Running {
			continue
		}
		st := n.Peer.Status()
		if st.State == zab.Leading && st.Established {
			if prev, ok := k.leaders[st.Epoch]; ok && prev != id {
				c.fail("two established leaders in epoch %d: %d and %d", st.Epoch, prev, id)
				return
			}
			k.leaders[st.Epoch] = id
		}
		if n.KV.Applied > n.Disk.LastZxid() {
			// A snapshot of such a state could get ahead of the log
			// (pipelined shells apply a txn only once it is durable here).
			c.fail("server %d applied %s beyond its durable log %s", id, zab.FormatZxid(n.KV.Applied), zab.FormatZxid(n.Disk.LastZxid()))
		}
		if st.CommitZxid > st.LastZxid {
			c.fail("server %d commit %s beyond last %s", id, zab.FormatZxid(st.CommitZxid), zab.FormatZxid(st.LastZxid))
		}
		if st.CurrentEpoch > st.AcceptedEpoch {
			c.fail("server %d currentEpoch %d > acceptedEpoch %d", id, st.CurrentEpoch, st.AcceptedEpoch)
		}
	}
	if len(k.hist) == 0 {
		return
	}
	last := k.hist[len(k.hist)-1]
	durable := 0
	for _, id := range c.ids {
		n := c.nodes[id]
		if !n.Observer && n.Disk.Has(last.zxid, last.data) {
			durable++
		}
	}
	if durable < c.quor {
		c.fail("committed txn %s is durable on %d voters, quorum is %d", zab.FormatZxid(last.zxid), durable, c.quor)
	}
}
