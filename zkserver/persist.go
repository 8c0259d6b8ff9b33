package zkserver

import (
	"fmt"

	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/znode"
)

// logProposer is the standalone proposer on a disk (SyncRequestProcessor):
// it appends each txn to the log and commits it only once the append is
// durable, so nothing is applied, and no client told, that a crash can take
// back. Appends are queued with AppendAsync, so the prepare stage keeps
// going while the disk syncs and storage makes one sync of everything that
// queued up meanwhile (group commit).
type logProposer struct {
	st   storage.Storage
	sync bool // forceSync
	fail func(error)

	commit  func(*Proposal)
	pending chan pendingTxn
	done    chan struct{}
}

type pendingTxn struct {
	p *Proposal
	f *storage.Future
}

func newLogProposer(st storage.Storage, sync bool, fail func(error)) *logProposer {
	return &logProposer{st: st, sync: sync, fail: fail,
		// Bounded: when the disk falls behind, Propose blocks the prepare
		// stage, which in turn stops the connections' readers.
		pending: make(chan pendingTxn, 8192), done: make(chan struct{})}
}

func (lp *logProposer) Start(commit func(*Proposal)) {
	lp.commit = commit
	go lp.commitLoop()
}

// Propose encodes the txn and queues its append. Called from the prepare
// goroutine only, so appends are queued in zxid order.
func (lp *logProposer) Propose(p *Proposal) {
	data := znode.EncodeTxn(nil, &p.Txn)
	f := lp.st.AppendAsync([]storage.Entry{{Zxid: p.Txn.Header.Zxid, Data: data}}, nil, lp.sync)
	lp.pending <- pendingTxn{p, f}
}

// commitLoop commits txns in zxid order as their appends complete. Storage
// finishes appends in the order they were queued, so waiting on each in turn
// costs nothing extra.
func (lp *logProposer) commitLoop() {
	defer close(lp.done)
	failed := false
	for pt := range lp.pending {
		if failed {
			continue
		}
		if err := pt.f.Wait(); err != nil {
			// As ZooKeeper's SyncRequestProcessor: a server that cannot
			// write its log must stop rather than acknowledge from memory.
			failed = true
			lp.fail(fmt.Errorf("append txn %#x to the log: %w", pt.p.Txn.Header.Zxid, err))
			continue
		}
		lp.commit(pt.p)
	}
}

// Stop waits for queued appends. The prepare stage must have stopped: no
// Propose may run concurrently.
func (lp *logProposer) Stop() {
	close(lp.pending)
	<-lp.done
}
