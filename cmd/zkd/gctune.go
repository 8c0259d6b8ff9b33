package main

import (
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// GC tuning. A small tree has a tiny live heap, so Go's default GOGC=100
// collects after every few MB of request garbage; a large GOGC trades a
// little memory for fewer collections on the request path. With a large
// tree (a million znodes is about 400 MB live) the same GOGC would let the
// heap grow to five times the tree. So the headroom above the live heap is
// capped instead: GOGC 400 while that is at most gcHeadroom, falling to
// gcMinPercent as the live heap grows.
const (
	gcMaxPercent = 400
	gcMinPercent = 25
	gcHeadroom   = 128 << 20 // bytes of garbage allowed between collections, at least
)

// gcPercentFor is the GOGC for a live heap of live bytes: enough to allow
// max(gcHeadroom, live/4) of garbage, within [gcMinPercent, gcMaxPercent].
func gcPercentFor(live uint64) int {
	if live == 0 {
		return gcMaxPercent
	}
	headroom := max(uint64(gcHeadroom), live/4)
	return int(min(max(headroom*100/live, gcMinPercent), gcMaxPercent))
}

// tuneGC keeps GOGC in step with the live heap, checking every interval.
func tuneGC(interval time.Duration) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	debug.SetGCPercent(gcMaxPercent)
	current := gcMaxPercent
	for range time.Tick(interval) {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return // not in this Go version: keep the fixed setting
		}
		if p := gcPercentFor(sample[0].Value.Uint64()); p != current {
			debug.SetGCPercent(p)
			current = p
		}
	}
}
