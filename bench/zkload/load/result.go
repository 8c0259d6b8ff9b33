package load

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one run's measurements. Latencies are in milliseconds.
type Result struct {
	Servers  []string `json:"servers"`
	Workload string   `json:"workload"` // the mix, "read=90,write=10"
	Sessions int      `json:"sessions"`
	Pipeline int      `json:"pipeline"`
	Size     int      `json:"size"`
	Nodes    int      `json:"nodes"`
	Root     string   `json:"root"`
	Seed     uint64   `json:"seed"`
	WarmupS  float64  `json:"warmup_s"`
	// DurationS is the measured window; shorter than asked when the run was cancelled.
	DurationS float64 `json:"duration_s"`

	Total Stats            `json:"total"`
	Ops   map[string]Stats `json:"ops"` // by op name, only ops in the mix
	// ErrorSamples counts distinct error messages ("write: zk: ..."), a few per session.
	ErrorSamples map[string]int64 `json:"error_samples,omitempty"`
}

// Stats summarise one op (or all of them).
type Stats struct {
	Ops       int64   `json:"ops"` // successful requests completed in the window
	Errors    int64   `json:"errors"`
	OpsPerSec float64 `json:"ops_per_sec"`
	MeanMs    float64 `json:"mean_ms"`
	P50Ms     float64 `json:"p50_ms"`
	P90Ms     float64 `json:"p90_ms"`
	P99Ms     float64 `json:"p99_ms"`
	P999Ms    float64 `json:"p999_ms"`
	MaxMs     float64 `json:"max_ms"`
}

func (r *run) result(recs []*recorder, window time.Duration) Result {
	o := r.o
	res := Result{
		Servers: o.Servers, Workload: o.Mix.String(), Sessions: o.Sessions, Pipeline: o.Pipeline,
		Size: o.Size, Nodes: o.Nodes, Root: o.Root, Seed: o.Seed,
		WarmupS: o.Warmup.Seconds(), DurationS: window.Seconds(),
		Ops: map[string]Stats{}, ErrorSamples: map[string]int64{},
	}
	var all Histogram
	var allErrs int64
	for op, w := range o.Mix {
		if w == 0 {
			continue
		}
		var h Histogram
		var errs int64
		for _, rec := range recs {
			h.Merge(rec.hist[op])
			errs += rec.errs[op]
		}
		res.Ops[Op(op).String()] = stats(&h, errs, window)
		all.Merge(&h)
		allErrs += errs
	}
	res.Total = stats(&all, allErrs, window)
	for _, rec := range recs {
		for msg, n := range rec.samples {
			res.ErrorSamples[msg] += n
		}
	}
	return res
}

func stats(h *Histogram, errs int64, window time.Duration) Stats {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	s := Stats{
		Ops: int64(h.Count()), Errors: errs,
		MeanMs: ms(h.Mean()), P50Ms: ms(h.Quantile(0.5)), P90Ms: ms(h.Quantile(0.9)),
		P99Ms: ms(h.Quantile(0.99)), P999Ms: ms(h.Quantile(0.999)), MaxMs: ms(h.Max()),
	}
	if window > 0 {
		s.OpsPerSec = float64(s.Ops) / window.Seconds()
	}
	return s
}

// Text renders the result as a short report with a table per op.
func (res Result) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "zkload %s against %s: %d sessions x %d outstanding, %d-byte values, %d keys, %.1fs measured after %.1fs warm-up\n",
		res.Workload, strings.Join(res.Servers, ","), res.Sessions, res.Pipeline, res.Size, res.Nodes, res.DurationS, res.WarmupS)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tops\tops/s\terrors\tmean ms\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\t")
	row := func(name string, s Stats) {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t\n",
			name, s.Ops, s.OpsPerSec, s.Errors, s.MeanMs, s.P50Ms, s.P90Ms, s.P99Ms, s.P999Ms, s.MaxMs)
	}
	for _, name := range slices.Sorted(maps.Keys(res.Ops)) {
		row(name, res.Ops[name])
	}
	if len(res.Ops) > 1 {
		row("total", res.Total)
	}
	tw.Flush()
	for _, msg := range slices.Sorted(maps.Keys(res.ErrorSamples)) {
		fmt.Fprintf(&b, "error x%d: %s\n", res.ErrorSamples[msg], msg)
	}
	return b.String()
}
