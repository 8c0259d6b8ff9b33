package main

import (
	"fmt"
	"io"
	"sort"
	"time"
)

type row struct {
	size    int
	records int64
	brokerd result
	kfake   result
	null    result // produce only
	raw     rawResult
}

func mbps(bytes int64, d time.Duration) float64 { return float64(bytes) / d.Seconds() / 1e6 }

func printReport(w io.Writer, rows []row, o options) {
	where := "its own process, as brokerd"
	if o.kfakeInProcess {
		where = "the client's process"
	}
	fmt.Fprintf(w, "\n### brokerd vs raw append and kfake (franz-go client, 1 partition, acks=all, linger %v, no compression; kfake in %s)\n\n", o.linger, where)
	fmt.Fprintln(w, "| record | records | brokerd produce rec/s | MB/s (log) | raw append MB/s (cached / +fdatasync) | brokerd / raw | kfake produce rec/s | brokerd / kfake | brokerd consume rec/s | kfake consume rec/s | brokerd / kfake | brokerd CPU s | avg batch |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		bp, bc := perSec(r.records, r.brokerd.produce), perSec(r.records, r.brokerd.consume)
		logMB := mbps(r.brokerd.logBytes, r.brokerd.produce)
		rawCached, rawSynced := mbps(r.raw.bytes, r.raw.cached), mbps(r.raw.bytes, r.raw.synced)
		kp, kc := 0.0, 0.0
		if r.kfake.produce > 0 {
			kp, kc = perSec(r.records, r.kfake.produce), perSec(r.records, r.kfake.consume)
		}
		fmt.Fprintf(w, "| %d B | %d | %.0f | %.1f | %.0f / %.0f | %.2f / %.2f | %.0f | %s | %.0f | %.0f | %s | %.1f | %d KiB |\n",
			r.size, r.records, bp, logMB, rawCached, rawSynced, logMB/rawCached, logMB/rawSynced,
			kp, ratio(bp, kp), bc, kc, ratio(bc, kc), r.brokerd.cpu, r.brokerd.avgBatch>>10)
	}
	printMedians(w, rows)
	printNull(w, rows)
	fmt.Fprintln(w, "\nbrokerd / raw compares the bytes brokerd appended per second of producing with the same bytes written by write(2) in chunks of brokerd's average batch, first as the writes alone (page cache), then including one fdatasync.")
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// printMedians summarises the rounds of each size: the machine is shared,
// so single rounds swing; medians of rates and of per-round ratios are the
// figures to quote.
func printMedians(w io.Writer, rows []row) {
	bySize := map[int][]row{}
	var sizes []int
	for _, r := range rows {
		if _, ok := bySize[r.size]; !ok {
			sizes = append(sizes, r.size)
		}
		bySize[r.size] = append(bySize[r.size], r)
	}
	fmt.Fprintln(w, "\nMedians over rounds:")
	fmt.Fprintln(w, "\n| record | rounds | brokerd produce rec/s | brokerd / raw (cached) | brokerd / raw (+fdatasync) | brokerd / kfake produce | brokerd consume rec/s | brokerd / kfake consume |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, size := range sizes {
		rs := bySize[size]
		col := func(f func(r row) float64) float64 {
			v := make([]float64, len(rs))
			for i, r := range rs {
				v[i] = f(r)
			}
			return median(v)
		}
		prod := col(func(r row) float64 { return perSec(r.records, r.brokerd.produce) })
		cons := col(func(r row) float64 { return perSec(r.records, r.brokerd.consume) })
		rawC := col(func(r row) float64 {
			return mbps(r.brokerd.logBytes, r.brokerd.produce) / mbps(r.raw.bytes, r.raw.cached)
		})
		rawS := col(func(r row) float64 {
			return mbps(r.brokerd.logBytes, r.brokerd.produce) / mbps(r.raw.bytes, r.raw.synced)
		})
		kP, kC := "-", "-"
		if rs[0].kfake.produce > 0 {
			kP = fmt.Sprintf("%.2f", col(func(r row) float64 { return r.kfake.produce.Seconds() / r.brokerd.produce.Seconds() }))
			kC = fmt.Sprintf("%.2f", col(func(r row) float64 { return r.kfake.consume.Seconds() / r.brokerd.consume.Seconds() }))
		}
		fmt.Fprintf(w, "| %d B | %d | %.0f | %.2f | %.2f | %s | %.0f | %s |\n", size, len(rs), prod, rawC, rawS, kP, cons, kC)
	}
}

func median(v []float64) float64 {
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// printNull compares produce with the null broker's: the ceiling for any broker with this
// client on this machine, against the raw append and against brokerd.
func printNull(w io.Writer, rows []row) {
	if len(rows) == 0 || rows[0].null.produce == 0 {
		return
	}
	fmt.Fprintln(w, "\nProduce against the null broker (keeps nothing; the ceiling for any broker here):")
	fmt.Fprintln(w, "\n| record | round | null produce rec/s | null MB/s | null / raw (cached) | brokerd / null |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	round := map[int]int{}
	for _, r := range rows {
		round[r.size]++
		np := perSec(r.records, r.null.produce)
		// About the bytes brokerd logged: the same records, batched by the same client settings.
		nullMB := mbps(r.brokerd.logBytes, r.null.produce)
		fmt.Fprintf(w, "| %d B | %d | %.0f | %.1f | %.2f | %.2f |\n", r.size, round[r.size], np, nullMB,
			nullMB/mbps(r.raw.bytes, r.raw.cached), r.null.produce.Seconds()/r.brokerd.produce.Seconds())
	}
}
