package main

import "testing"

func TestGCPercentFor(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 400},
		{10 << 20, 400}, // small tree: plenty of room
		{64 << 20, 200}, // 128 MB headroom on 64 MB live
		{400 << 20, 32}, // a million znodes: 128 MB of headroom
		{1 << 30, 25},   // live/4
		{8 << 30, 25},   // never below the floor
	} {
		if got := gcPercentFor(c.live); got != c.want {
			t.Errorf("gcPercentFor(%d MB) = %d, want %d", c.live>>20, got, c.want)
		}
	}
}
