package lincheck

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// explainContext is how many operations an explanation shows on each side of the point
// where the longest linearization stops.
const explainContext = 12

// explain describes every partition (key) porcupine could not linearize: the last
// operations of the longest linearization it found, with the state after each, the earliest
// operations it could not place after them, and the test's events around that time.
func explain(ops []porcupine.Operation, info porcupine.LinearizationInfo, events []porcupine.Annotation) string {
	parts := Model.Partition(ops)
	partials := info.PartialLinearizations()
	var b strings.Builder
	for p, part := range parts {
		if p >= len(partials) {
			break
		}
		var longest []int
		for _, l := range partials[p] {
			if len(l) > len(longest) {
				longest = l
			}
		}
		if len(longest) == len(part) {
			continue
		}
		in := make([]bool, len(part))
		for _, id := range longest {
			in[id] = true
		}
		key := part[0].Input.(Input).Key
		fmt.Fprintf(&b, "key %s: %d of %d operations linearized; the longest linearization ends with\n", key, len(longest), len(part))
		state := Model.Init()
		var stopAt int64
		for i, id := range longest {
			op := part[id]
			_, state = Model.Step(state, op.Input, op.Output)
			if i >= len(longest)-explainContext {
				fmt.Fprintf(&b, "  %s  => %s\n", describe(op), Model.DescribeState(state))
			}
			stopAt = max(stopAt, op.Call)
		}
		var rest []porcupine.Operation
		for id, op := range part {
			if !in[id] {
				rest = append(rest, op)
			}
		}
		slices.SortFunc(rest, func(a, b porcupine.Operation) int { return int(a.Call - b.Call) })
		fmt.Fprintf(&b, "and none of these can follow it:\n")
		for _, op := range rest[:min(explainContext, len(rest))] {
			fmt.Fprintf(&b, "  %s\n", describe(op))
			stopAt = min(stopAt, op.Call)
		}
		for _, ev := range events {
			if d := time.Duration(ev.Start - stopAt); d > -5*time.Second && d < 5*time.Second {
				fmt.Fprintf(&b, "  event at %s: %s\n", ms(ev.Start), ev.Description)
			}
		}
	}
	return b.String()
}

// describe renders an operation with its interval in milliseconds since the history began.
func describe(op porcupine.Operation) string {
	ret := "pending"
	if op.Return != math.MaxInt64 {
		ret = ms(op.Return)
	}
	note := ""
	if s, ok := op.Metadata.(string); ok && s != "" {
		note = " [" + s + "]"
	}
	return fmt.Sprintf("client %d [%s, %s] %s%s", op.ClientId, ms(op.Call), ret,
		Model.DescribeOperation(op.Input, op.Output), note)
}

func ms(ns int64) string { return fmt.Sprintf("%.3fms", float64(ns)/1e6) }
