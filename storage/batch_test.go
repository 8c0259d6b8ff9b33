package storage

import (
	"fmt"
	"testing"
)

// TestBatcher packs units of ops (one unit per Append call) into batches of
// at most 4 ops: a unit stays whole when it fits, and only a unit bigger
// than a batch is split.
func TestBatcher(t *testing.T) {
	tests := []struct {
		units []int // ops per unit
		want  []int // ops per batch
	}{
		{nil, nil},
		{[]int{1}, []int{1}},
		{[]int{1, 1, 1, 1}, []int{4}},
		{[]int{1, 1, 1, 1, 1}, []int{4, 1}},
		{[]int{3, 2}, []int{3, 2}},           // 2 does not fit after 3: not split
		{[]int{3, 1, 2}, []int{4, 2}},        // 1 fills the first batch
		{[]int{10}, []int{4, 4, 2}},          // too big for any batch: split
		{[]int{1, 10, 1}, []int{1, 4, 4, 3}}, // the rest of a split unit takes company
		{[]int{4, 4}, []int{4, 4}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.units), func(t *testing.T) {
			b := batcher{maxOps: 4, maxBytes: 1 << 20}
			for _, n := range tt.units {
				for range n {
					b.set([]byte("k"), []byte("v"))
				}
				b.endUnit()
			}
			var got []int
			total := 0
			for _, ops := range b.batches() {
				got = append(got, len(ops))
				total += len(ops)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("batches %v, want %v", got, tt.want)
			}
			if total != len(b.ops) {
				t.Fatalf("batches hold %d ops of %d", total, len(b.ops))
			}
		})
	}
}

// TestBatcherBytes: the byte limit splits like the op limit, and an op
// bigger than a batch still goes out, alone.
func TestBatcherBytes(t *testing.T) {
	b := batcher{maxOps: 100, maxBytes: 2 * OpCost(Op{Key: []byte("k"), Value: make([]byte, 100)})}
	for _, size := range []int{100, 100, 100, 5000, 100} {
		b.set([]byte("k"), make([]byte, size))
		b.endUnit()
	}
	var got []int
	for _, ops := range b.batches() {
		got = append(got, len(ops))
	}
	if fmt.Sprint(got) != "[2 1 1 1]" {
		t.Fatalf("batches %v, want [2 1 1 1]", got)
	}
	b.reset()
	if b.batches() != nil {
		t.Fatal("reset batcher still has batches")
	}
}
