package storage

// batcher packs the ops of a group of appends into KV batches. Each Append
// call is a unit: a unit that fits in one batch is never split, so it stays
// all-or-nothing after a crash; a unit larger than a batch is split in op
// order (its hard state, added last, lands in its last batch).
//
// Keys and values are appended to one reusable arena, so a steady stream of
// appends allocates nothing per entry here. Slices into the arena stay
// valid when it grows (they keep the old array), and the arena is reused
// only after the KV has returned from Commit, which keeps no references.
type batcher struct {
	maxOps   int
	maxBytes int64

	arena []byte
	ops   []Op
	cuts  []int // end index in ops of each batch but the last

	unitStart int   // first op of the current unit
	curStart  int   // first op of the current batch
	curBytes  int64 // cost of ops[curStart:unitStart]
	unitBytes int64 // cost of ops[unitStart:]
}

func (b *batcher) reset() {
	b.arena, b.ops, b.cuts = b.arena[:0], b.ops[:0], b.cuts[:0]
	b.unitStart, b.curStart, b.curBytes, b.unitBytes = 0, 0, 0, 0
}

// set adds an op whose key and value are built by the callers of
// appendKey/appendValue.
func (b *batcher) set(key, value []byte) {
	op := Op{Key: key, Value: value}
	b.ops = append(b.ops, op)
	b.unitBytes += OpCost(op)
}

// endUnit places the current unit: in the current batch if it fits, else
// in a fresh batch, else split across as many batches as it needs.
func (b *batcher) endUnit() {
	unitOps := len(b.ops) - b.unitStart
	if !b.fits(len(b.ops)-b.curStart, b.curBytes+b.unitBytes) {
		if b.unitStart > b.curStart {
			b.cut(b.unitStart)
		}
		if !b.fits(unitOps, b.unitBytes) {
			b.split()
		}
	}
	b.curBytes += b.unitBytes
	b.unitStart, b.unitBytes = len(b.ops), 0
}

// split cuts an oversized unit, which starts a batch, into full batches.
func (b *batcher) split() {
	var bytes int64
	for i := b.unitStart; i < len(b.ops); i++ {
		c := OpCost(b.ops[i])
		if i > b.curStart && !b.fits(i-b.curStart+1, bytes+c) {
			b.cut(i)
			bytes = 0
		}
		bytes += c
	}
	// What is left is the current batch; endUnit adds unitBytes to
	// curBytes, so leave exactly the remainder there.
	b.unitBytes = bytes
}

func (b *batcher) cut(at int) {
	b.cuts = append(b.cuts, at)
	b.curStart, b.curBytes = at, 0
}

func (b *batcher) fits(ops int, bytes int64) bool {
	return ops <= b.maxOps && bytes <= b.maxBytes
}

// batches returns the packed batches, in order.
func (b *batcher) batches() [][]Op {
	if len(b.ops) == 0 {
		return nil
	}
	out := make([][]Op, 0, len(b.cuts)+1)
	start := 0
	for _, c := range b.cuts {
		out = append(out, b.ops[start:c])
		start = c
	}
	return append(out, b.ops[start:])
}
