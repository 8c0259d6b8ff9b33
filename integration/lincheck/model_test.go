package lincheck

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// op builds an operation on key "k" over [call, ret]; ret < 0 means pending for ever.
func op(client int, call, ret int64, in Input, out Output) porcupine.Operation {
	if in.Key == "" {
		in.Key = "k"
	}
	if ret < 0 {
		ret = math.MaxInt64
	}
	return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
}

func read(v string, ver int32) (Input, Output) {
	return Input{Kind: Read}, Output{OK: true, Value: v, Version: ver}
}

func cas(v string, expect int32, ok bool) (Input, Output) {
	out := Output{OK: ok}
	if ok {
		out.Version = expect + 1
	}
	return Input{Kind: CAS, Value: v, Version: expect}, out
}

func lost(v string, expect int32) (Input, Output) {
	return Input{Kind: CAS, Value: v, Version: expect}, Output{Unknown: true}
}

func TestModel(t *testing.T) {
	type h = []porcupine.Operation
	with := func(client int, call, ret int64, io func() (Input, Output)) porcupine.Operation {
		in, out := io()
		return op(client, call, ret, in, out)
	}
	r := func(v string, ver int32) func() (Input, Output) {
		return func() (Input, Output) { return read(v, ver) }
	}
	c := func(v string, expect int32, ok bool) func() (Input, Output) {
		return func() (Input, Output) { return cas(v, expect, ok) }
	}
	l := func(v string, expect int32) func() (Input, Output) {
		return func() (Input, Output) { return lost(v, expect) }
	}

	tests := []struct {
		name string
		ops  h
		want bool
	}{
		{"sequential CAS chain and reads", h{
			with(0, 0, 1, r("", 0)),
			with(0, 2, 3, c("a", 0, true)),
			with(1, 4, 5, r("a", 1)),
			with(1, 6, 7, c("b", 1, true)),
			with(0, 8, 9, c("c", 1, false)),
			with(0, 10, 11, r("b", 2)),
		}, true},
		{"a read concurrent with a CAS may see either value", h{
			with(0, 0, 10, c("a", 0, true)),
			with(1, 1, 2, r("", 0)),
			with(2, 3, 4, r("a", 1)),
		}, true},
		{"stale read after an acknowledged CAS", h{
			with(0, 0, 1, c("a", 0, true)),
			with(1, 2, 3, r("", 0)),
		}, false},
		{"an acknowledged CAS is lost", h{
			with(0, 0, 1, c("a", 0, true)),
			with(0, 2, 3, c("b", 1, true)),
			with(1, 4, 5, r("a", 1)),
		}, false},
		{"two CAS from the same version both succeed", h{
			with(0, 0, 5, c("a", 0, true)),
			with(1, 0, 5, c("b", 0, true)),
		}, false},
		{"BadVersion although the version matched", h{
			with(0, 0, 1, c("a", 0, false)),
		}, false},
		{"a read returns a value nobody wrote", h{
			with(0, 0, 1, r("ghost", 1)),
		}, false},
		{"reads go back in time", h{
			with(0, 0, 10, c("a", 0, true)),
			with(1, 1, 2, r("a", 1)),
			with(2, 3, 4, r("", 0)),
		}, false},
		{"a lost CAS that took effect", h{
			with(0, 0, -1, l("a", 0)),
			with(1, 5, 6, r("a", 1)),
		}, true},
		{"a lost CAS that never took effect", h{
			with(0, 0, -1, l("a", 0)),
			with(1, 5, 6, r("", 0)),
			with(1, 7, 8, c("b", 0, true)),
			with(1, 9, 10, r("b", 1)),
		}, true},
		{"a lost CAS seen, then unseen", h{
			with(0, 0, -1, l("a", 0)),
			with(1, 5, 6, r("a", 1)),
			with(1, 7, 8, r("", 0)),
		}, false},
		{"any-version write", h{
			with(0, 0, 1, c("a", 0, true)),
			with(0, 2, 3, func() (Input, Output) {
				return Input{Kind: CAS, Value: "b", Version: -1}, Output{OK: true, Version: 2}
			}),
			with(1, 4, 5, r("b", 2)),
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := porcupine.CheckOperations(Model, tt.ops); got != tt.want {
				t.Errorf("linearizable = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestModelPartitionsByKey: a history is judged per key, so a stale read of one key is found
// among many operations on others.
func TestModelPartitionsByKey(t *testing.T) {
	var ops []porcupine.Operation
	for i := range 200 {
		in, out := cas(string(rune('a'+i%26)), int32(i), true)
		in.Key = "busy"
		ops = append(ops, op(0, int64(2*i), int64(2*i+1), in, out))
	}
	in, out := cas("x", 0, true)
	in.Key = "other"
	ops = append(ops, op(1, 0, 1, in, out))
	in, out = read("", 0)
	in.Key = "other"
	ops = append(ops, op(2, 5, 6, in, out))
	if porcupine.CheckOperations(Model, ops) {
		t.Fatal("a stale read of key other was accepted")
	}
	if !porcupine.CheckOperations(Model, ops[:len(ops)-1]) {
		t.Fatal("the history without the stale read was rejected")
	}
}

// TestHistoryCheck records a history through History and checks it: lost reads are left out,
// lost CAS stay pending, and a violation writes a visualization.
func TestHistoryCheck(t *testing.T) {
	h := NewHistory()
	c := h.Begin(0, Input{Kind: CAS, Key: "k", Value: "a", Version: 0})
	c.End(Output{OK: true, Version: 1})
	h.Begin(1, Input{Kind: Read, Key: "k"}).Lost()
	h.Begin(1, Input{Kind: CAS, Key: "k", Value: "b", Version: 1}).End(Output{Unknown: true})
	h.Begin(0, Input{Kind: Read, Key: "k"}).End(Output{OK: true, Value: "b", Version: 2})

	res, err := h.Check(10*time.Second, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Linearizable || res.Ops != 3 || res.Pending != 1 || res.LostReads != 1 || res.CASOK != 1 || res.Reads != 1 {
		t.Fatalf("check = %+v; want linearizable, 3 ops (1 pending), 1 lost read", res)
	}

	// A read that sees the initial value after the acknowledged CAS: a violation.
	h.Begin(2, Input{Kind: Read, Key: "k"}).End(Output{OK: true, Value: "", Version: 0})
	dir := t.TempDir()
	res, err = h.Check(10*time.Second, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Linearizable || res.TimedOut {
		t.Fatalf("check = %+v; want a violation", res)
	}
	html, err := os.ReadFile(res.Visualization)
	if err != nil || !strings.Contains(string(html), "<html") || !strings.HasPrefix(res.Visualization, dir) {
		t.Errorf("visualization %q: %v (%d bytes)", res.Visualization, err, len(html))
	}
	t.Log(res.Stats)
}
