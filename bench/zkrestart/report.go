package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/zabkafka/zabkafka/bench/internal/servers"
)

// report renders the markdown: settings, populate, one row per restart, then zkd against
// Apache from the medians over rounds, and every restart that lost data.
func report(f flags, lay layout, results []*serverResult) string {
	var b strings.Builder
	invoked, effective := commandLine()
	stop := "SIGKILL (crash: recovery from snapshot + txn log)"
	if f.stop == "term" {
		stop = "SIGTERM (clean stop)"
	}
	fmt.Fprintf(&b, "## zkd vs Apache ZooKeeper: restart with %d znodes\n\n", lay.nodes)
	fmt.Fprintf(&b, "%d znodes of %d bytes under %d parents (%s .. %s, about %d children each), created by %d sessions x %d outstanding creates; "+
		"forceSync=yes and snapCount=%d on both; stopped with %s; %d restart rounds on the same data; page cache warm%s; %s.\n\n",
		lay.nodes, lay.size, lay.parents, lay.parent(0), lay.parent(lay.parents-1), (lay.nodes+lay.parents-1)/lay.parents,
		f.sessions, f.pipeline, f.snapCount, stop, f.rounds, map[bool]string{true: ", sync(2) before each stop", false: ""}[f.sync], servers.Machine())
	fmt.Fprintf(&b, "Command: `%s`\n\nAll flags: `%s`\n\n", invoked, effective)
	for _, r := range results {
		fmt.Fprintf(&b, "- %s: %s\n  `%s`\n", r.target.Name, r.target.Version, r.command)
	}
	b.WriteString("\nRestart time runs from just before the server process is started until a new session reads back the last znode " +
		"created (created alone after all others were acknowledged) with its data; before that it passes srvr answering as a serving server (data loaded) " +
		"and a new session being established (for Apache ZooKeeper the createSession txn is written and fsynced first). " +
		"RSS is VmRSS right after the read-back and again -settle later, peak is VmHWM; restart CPU is the server's user+system time up to the read-back. " +
		"Data dir is the bytes allocated on disk (du) under dataDir" + map[bool]string{true: " and dataLogDir", false: ""}[f.separateLog] +
		", -settle after the read-back; apparent counts file sizes (Apache preallocates its txn logs sparsely).\n")

	b.WriteString("\n### Populate\n\n| server | creates/s | seconds | server CPU s | zk_znode_count | last zxid | data dir MiB (du) | apparent MiB | files | RSS MiB |\n")
	b.WriteString("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|\n")
	for _, r := range results {
		p := r.pop
		fmt.Fprintf(&b, "| %s | %.0f | %.1f | %.1f | %d | %s | %s | %s | %d | %s |\n",
			r.target.Name, p.rate, p.elapsed.Seconds(), p.cpu.Seconds(), p.znodes, p.zxid,
			mib(p.disk.allocated), mib(p.disk.apparent), p.disk.files, mib(p.mem.RSS))
	}

	b.WriteString("\n### Restarts\n\n| server | round | stop ms | srvr s | session s | restart s | znodes under " + root + " | sample ok | zk_znode_count | data dir MiB (du) | apparent MiB | files | largest file | RSS MiB | RSS later MiB | peak RSS MiB | restart CPU s |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|\n")
	for _, r := range results {
		for _, rr := range r.rounds {
			restart := fmt.Sprintf("%.3f", rr.readBack.Seconds())
			if rr.status != readOK {
				restart = "**" + rr.status.String() + "**"
			}
			found := fmt.Sprintf("%d", max(rr.found, 0))
			if rr.found != rr.wantFound {
				found = fmt.Sprintf("**%d of %d**", max(rr.found, 0), rr.wantFound)
			}
			sample := fmt.Sprintf("%d/%d", rr.checked-rr.badData, rr.checked)
			if rr.badData > 0 {
				sample = "**" + sample + "**"
			}
			largest := "-"
			if rr.disk.largest != "" {
				largest = fmt.Sprintf("%s (%s MiB)", rr.disk.largest, mib(rr.disk.largestSz))
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %.3f | %.3f | %s | %s | %s | %d | %s | %s | %d | %s | %s | %s | %s | %.1f |\n",
				r.target.Name, rr.round, rr.stopTime.Milliseconds(), rr.srvr.Seconds(), rr.session.Seconds(), restart, found, sample, rr.znodes,
				mib(rr.disk.allocated), mib(rr.disk.apparent), rr.disk.files, largest,
				mib(rr.memReady.RSS), mib(rr.memLater.RSS), mib(max(rr.memReady.Peak, rr.memLater.Peak)), rr.cpu.Seconds())
		}
	}

	var zkd, apache *serverResult
	for _, r := range results {
		switch r.target.Name {
		case "zkd":
			zkd = r
		case "apache":
			apache = r
		}
	}
	if zkd != nil && apache != nil {
		b.WriteString("\n### zkd vs Apache (medians over rounds; data dir from the last round, RSS the largest sample)\n\n")
		b.WriteString("| | zkd | Apache | zkd/Apache |\n|---|---:|---:|---:|\n")
		row := func(name string, z, a float64, okZ, okA bool, format string) {
			zs, as, ratio := "n/a", "n/a", "n/a"
			if okZ {
				zs = fmt.Sprintf(format, z)
			}
			if okA {
				as = fmt.Sprintf(format, a)
			}
			if okZ && okA && a != 0 {
				ratio = fmt.Sprintf("%.2f", z/a)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, zs, as, ratio)
		}
		zr, okZ := zkd.medianRestart()
		ar, okA := apache.medianRestart()
		row("restart s (read-back)", zr, ar, okZ, okA, "%.3f")
		row("srvr serving s", zkd.median(func(rr roundResult) float64 { return rr.srvr.Seconds() }),
			apache.median(func(rr roundResult) float64 { return rr.srvr.Seconds() }), true, true, "%.3f")
		row("session established s", zkd.median(func(rr roundResult) float64 { return rr.session.Seconds() }),
			apache.median(func(rr roundResult) float64 { return rr.session.Seconds() }), true, true, "%.3f")
		row("restart CPU s", zkd.median(func(rr roundResult) float64 { return rr.cpu.Seconds() }),
			apache.median(func(rr roundResult) float64 { return rr.cpu.Seconds() }), true, true, "%.1f")
		zd, ad := zkd.lastRound().disk, apache.lastRound().disk
		row("data dir MiB (du)", mibf(zd.allocated), mibf(ad.allocated), true, true, "%.1f")
		row("data dir MiB (apparent)", mibf(zd.apparent), mibf(ad.apparent), true, true, "%.1f")
		row("RSS MiB after restart (max sample)", mibf(zkd.maxRSS()), mibf(apache.maxRSS()), true, true, "%.1f")
		row("anonymous RSS MiB (heap), -settle after restart", mibf(zkd.lastRound().memLater.Anon), mibf(apache.lastRound().memLater.Anon), true, true, "%.1f")
		row("peak RSS MiB during restart", mibf(zkd.maxPeak()), mibf(apache.maxPeak()), true, true, "%.1f")
		row("populate creates/s", zkd.pop.rate, apache.pop.rate, true, true, "%.0f")
		row("populate data dir MiB (du)", mibf(zkd.pop.disk.allocated), mibf(apache.pop.disk.allocated), true, true, "%.1f")
		row("RSS MiB after populate", mibf(zkd.pop.mem.RSS), mibf(apache.pop.mem.RSS), true, true, "%.1f")
	} else {
		for _, r := range results {
			if v, ok := r.medianRestart(); ok {
				fmt.Fprintf(&b, "\n%s: median restart %.3fs over %d rounds\n", r.target.Name, v, len(r.rounds))
			}
		}
	}

	var notes []string
	for _, r := range results {
		if r.pop.statsErr != nil {
			notes = append(notes, fmt.Sprintf("- %s after populating: mntr/srvr: %v", r.target.Name, r.pop.statsErr))
		}
		if r.pop.diskErr != nil {
			notes = append(notes, fmt.Sprintf("- %s after populating: data dir size: %v", r.target.Name, r.pop.diskErr))
		}
		for _, rr := range r.rounds {
			if rr.diskErr != nil {
				notes = append(notes, fmt.Sprintf("- %s round %d: data dir size: %v", r.target.Name, rr.round, rr.diskErr))
			}
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n### Measurement errors\n\n" + strings.Join(notes, "\n") + "\n")
	}

	var lost []string
	for _, r := range results {
		for _, rr := range r.rounds {
			if p := rr.problems(); len(p) > 0 {
				lost = append(lost, fmt.Sprintf("- %s round %d: %s", r.target.Name, rr.round, strings.Join(p, "; ")))
			}
			if rr.stopNote != "" {
				lost = append(lost, fmt.Sprintf("- %s round %d: stop: %s", r.target.Name, rr.round, rr.stopNote))
			}
		}
	}
	if len(lost) > 0 {
		b.WriteString("\n### DATA NOT RECOVERED\n\n")
		b.WriteString(strings.Join(lost, "\n"))
		b.WriteString("\n")
	}
	return b.String()
}

// medianRestart is the median read-back time over the rounds that recovered the data.
func (r *serverResult) medianRestart() (float64, bool) {
	var v []float64
	for _, rr := range r.rounds {
		if rr.status == readOK {
			v = append(v, rr.readBack.Seconds())
		}
	}
	if len(v) == 0 {
		return 0, false
	}
	return median(v), true
}

func (r *serverResult) median(get func(roundResult) float64) float64 {
	var v []float64
	for _, rr := range r.rounds {
		v = append(v, get(rr))
	}
	return median(v)
}

func (r *serverResult) lastRound() roundResult {
	if len(r.rounds) == 0 {
		return roundResult{}
	}
	return r.rounds[len(r.rounds)-1]
}

func (r *serverResult) maxRSS() int64 {
	var m int64
	for _, rr := range r.rounds {
		m = max(m, rr.memReady.RSS, rr.memLater.RSS)
	}
	return m
}

func (r *serverResult) maxPeak() int64 {
	var m int64
	for _, rr := range r.rounds {
		m = max(m, rr.memReady.Peak, rr.memLater.Peak)
	}
	return m
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mibf(b int64) float64 { return float64(b) / (1 << 20) }
