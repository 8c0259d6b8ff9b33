package zkserver

import (
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zabkafka/zabkafka/jute"
	"github.com/zabkafka/zabkafka/znode"
)

// BuildDate is printed by srvr and stat. It uses the 3.4-3.6 layout
// (MM/dd/yyyy HH:mm zone) because go-zookeeper's FLWSrvr only parses that one.
var BuildDate = "11/21/2026 00:00 GMT"

// fourLetterWord answers a four-letter command sent as the first bytes of a
// connection, then closes it (the caller does).
func (c *conn) fourLetterWord(cmd string) {
	s := c.s
	var out string
	switch {
	case !s.cfg.FourLetterWordAllowed(cmd):
		out = cmd + " is not executed because it is not in the whitelist.\n"
	default:
		out = s.FourLetterWord(cmd)
	}
	c.nc.Write([]byte(out))
}

// notServing is what ZooKeeper answers to commands about the data while it
// is not part of a serving quorum.
const notServing = "This ZooKeeper instance is not currently serving requests\n"

// needsServing names the commands that report on a running server.
func needsServing(cmd string) bool {
	switch cmd {
	case "srvr", "stat", "mntr", "cons", "crst", "srst", "dump", "wchs", "wchc", "wchp", "dirs":
		return true
	}
	return false
}

// mode is srvr's Mode line and mntr's zk_server_state.
func (s *Server) mode() string {
	if s.ens == nil {
		return "standalone"
	}
	return s.ens.currentRole().String()
}

// FourLetterWord runs a four-letter command and returns its text.
func (s *Server) FourLetterWord(cmd string) string {
	if s.ens != nil && !s.ens.serving() && needsServing(cmd) {
		return notServing
	}
	var b strings.Builder
	switch cmd {
	case "ruok":
		return "imok"
	case "isro":
		return "rw"
	case "srvr":
		s.writeServerStats(&b, false)
	case "stat":
		s.writeServerStats(&b, true)
	case "cons":
		for _, c := range s.connList() {
			c.writeCons(&b)
		}
		b.WriteString("\n")
	case "crst":
		for _, c := range s.connList() {
			c.stats.reset()
		}
		return "Connection stats reset.\n"
	case "srst":
		s.stats.reset()
		return "Server stats reset.\n"
	case "conf":
		s.writeConf(&b)
	case "envi":
		s.writeEnvi(&b)
	case "mntr":
		s.writeMntr(&b)
	case "dump":
		s.writeDump(&b)
	case "wchs", "wchc", "wchp":
		s.writeWatches(&b, cmd)
	case "dirs":
		data, log := s.dirSizes()
		fmt.Fprintf(&b, "datadir_size: %d\nlogdir_size: %d\n", data, log)
	case "gtmk", "stmk":
		return "0\n"
	case "hash":
		return ""
	}
	return b.String()
}

func (s *Server) connList() []*conn {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		if c.session.Load() != 0 {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *conn) int { return int(a.id - b.id) })
	return out
}

func javaDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

func (s *Server) writeServerStats(b *strings.Builder, withClients bool) {
	fmt.Fprintf(b, "Zookeeper version: %s, built on %s\n", Version, BuildDate)
	if withClients {
		b.WriteString("Clients:\n")
		for _, c := range s.connList() {
			fmt.Fprintf(b, " /%s[1](queued=%d,recved=%d,sent=%d)\n", c.nc.RemoteAddr(), len(c.entries),
				c.stats.received.Load(), c.stats.sent.Load())
		}
		b.WriteString("\n")
	}
	lmin, lavg, lmax := s.stats.latency.values()
	var zxid int64
	var nodes int
	s.Tree(func(t *znode.Tree) { zxid, nodes = t.LastZxid(), t.NodeCount() })
	fmt.Fprintf(b, "Latency min/avg/max: %d/%s/%d\n", lmin, javaDouble(lavg), lmax)
	fmt.Fprintf(b, "Received: %d\nSent: %d\nConnections: %d\nOutstanding: %d\n",
		s.stats.received.Load(), s.stats.sent.Load(), len(s.connList()), len(s.prepCh))
	fmt.Fprintf(b, "Zxid: 0x%x\nMode: %s\nNode count: %d\n", zxid, s.mode(), nodes)
	if s.ens != nil {
		s.ens.writeSrvr(b)
	}
}

func (c *conn) writeCons(b *strings.Builder) {
	lmin, lavg, lmax := c.stats.latency.values()
	lop := opAbbrev(jute.OpCode(c.stats.lastOp.Load()))
	fmt.Fprintf(b, " /%s[1](queued=%d,recved=%d,sent=%d,sid=%s,lop=%s,est=%d,to=%d,lcxid=%s,lzxid=%s,lresp=%d,llat=%d,minlat=%d,avglat=%d,maxlat=%d)\n",
		c.nc.RemoteAddr(), len(c.entries), c.stats.received.Load(), c.stats.sent.Load(), hex(c.session.Load()),
		lop, c.opened.UnixMilli(), c.timeoutMs.Load(), hex(c.stats.lastCxid.Load()), hex(c.stats.lastZxid.Load()),
		c.stats.lastResponse.Load(), c.stats.lastLatency.Load(), lmin, int64(lavg), lmax)
}

func (s *Server) writeConf(b *strings.Builder) {
	cfg := s.cfg
	data, log := s.dirSizes()
	fmt.Fprintf(b, "clientPort=%d\nsecureClientPort=-1\ndataDir=%s\ndataDirSize=%d\ndataLogDir=%s\ndataLogSize=%d\n",
		cfg.ClientPort, cfg.DataDir, data, cfg.LogDir(), log)
	fmt.Fprintf(b, "tickTime=%d\nmaxClientCnxns=%d\nminSessionTimeout=%d\nmaxSessionTimeout=%d\nclientPortListenBacklog=-1\nserverId=%d\n",
		cfg.TickTime.Milliseconds(), cfg.MaxClientCnxns, cfg.MinSessionTimeout.Milliseconds(),
		cfg.MaxSessionTimeout.Milliseconds(), cfg.ServerID)
	if s.ens != nil {
		s.ens.writeConf(b)
	}
}

func (s *Server) writeEnvi(b *strings.Builder) {
	host, _ := os.Hostname()
	wd, _ := os.Getwd()
	b.WriteString("Environment:\n")
	fmt.Fprintf(b, "zookeeper.version=%s, built on %s\n", Version, BuildDate)
	fmt.Fprintf(b, "host.name=%s\n", host)
	fmt.Fprintf(b, "go.version=%s\n", runtime.Version())
	fmt.Fprintf(b, "os.name=%s\nos.arch=%s\n", runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(b, "user.dir=%s\n", wd)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(b, "os.memory.free=%dMB\nos.memory.total=%dMB\n", (ms.Sys-ms.HeapInuse)>>20, ms.Sys>>20)
}

func (s *Server) writeMntr(b *strings.Builder) {
	lmin, lavg, lmax := s.stats.latency.values()
	var nodes, ephemerals int
	var dataSize int64
	s.Tree(func(t *znode.Tree) {
		nodes, ephemerals, dataSize = t.NodeCount(), t.EphemeralCount(), t.ApproximateDataSize()
	})
	kv := func(k string, v any) { fmt.Fprintf(b, "zk_%s\t%v\n", k, v) }
	kv("version", Version+", built on "+BuildDate)
	kv("server_state", s.mode())
	kv("avg_latency", javaDouble(lavg))
	kv("max_latency", lmax)
	kv("min_latency", lmin)
	kv("packets_received", s.stats.received.Load())
	kv("packets_sent", s.stats.sent.Load())
	kv("num_alive_connections", len(s.connList()))
	kv("outstanding_requests", len(s.prepCh))
	if s.ens != nil {
		s.ens.writeQuorumMntr(kv)
	}
	kv("uptime", time.Since(s.started).Milliseconds())
	kv("znode_count", nodes)
	kv("watch_count", s.tree.Watches.Count())
	kv("ephemerals_count", ephemerals)
	kv("approximate_data_size", dataSize)
	kv("global_sessions", s.sessions.count())
	kv("local_sessions", 0)
	kv("open_file_descriptor_count", openFDs())
	kv("max_file_descriptor_count", maxFDs())
	kv("connection_drop_probability", "0.0")
	kv("auth_failed_count", s.stats.authFailed.Load())
	kv("connection_rejected", s.stats.rejected.Load())
	kv("stale_sessions_expired", s.stats.expiredSessions.Load())
	kv("bad_input_count", s.stats.badInput.Load())
	s.writeStorageMntr(kv)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	kv("go_heap_inuse_bytes", ms.HeapInuse)
	kv("go_goroutines", runtime.NumGoroutine())
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

func maxFDs() int {
	b, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		return -1
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(l, "Max open files") {
			if f := strings.Fields(l); len(f) >= 4 {
				n, _ := strconv.Atoi(f[3])
				return n
			}
		}
	}
	return -1
}

func (s *Server) writeDump(b *strings.Builder) {
	sessions := s.sessions.snapshot()
	ids := slices.Sorted(maps.Keys(sessions))
	fmt.Fprintf(b, "SessionTracker dump:\nGlobal Sessions(%d):\n", len(ids))
	for _, id := range ids {
		fmt.Fprintf(b, "%s\t%dms\n", hex(id), sessions[id])
	}
	b.WriteString("ephemeral nodes dump:\n")
	s.Tree(func(t *znode.Tree) {
		var with []int64
		for _, id := range ids {
			if len(t.Ephemerals(id, "")) > 0 {
				with = append(with, id)
			}
		}
		fmt.Fprintf(b, "Sessions with Ephemerals (%d):\n", len(with))
		for _, id := range with {
			fmt.Fprintf(b, "%s:\n", hex(id))
			for _, p := range t.Ephemerals(id, "") {
				fmt.Fprintf(b, "\t%s\n", p)
			}
		}
	})
	b.WriteString("Connections with Ephemerals (0):\n")
}

func (s *Server) writeWatches(b *strings.Builder, cmd string) {
	byPath := s.tree.Watches.ByPath()
	paths := slices.Sorted(maps.Keys(byPath))
	switch cmd {
	case "wchs":
		conns := map[znode.Watcher]bool{}
		total := 0
		for _, ws := range byPath {
			for _, w := range ws {
				conns[w] = true
			}
			total += len(ws)
		}
		fmt.Fprintf(b, "%d connections watching %d paths\nTotal watches:%d\n", len(conns), len(paths), total)
	case "wchp":
		for _, p := range paths {
			fmt.Fprintf(b, "%s\n", p)
			for _, w := range byPath[p] {
				if c, ok := w.(*conn); ok {
					fmt.Fprintf(b, "\t%s\n", hex(c.session.Load()))
				}
			}
		}
	case "wchc":
		bySession := map[int64][]string{}
		for _, p := range paths {
			for _, w := range byPath[p] {
				if c, ok := w.(*conn); ok {
					id := c.session.Load()
					if l := bySession[id]; len(l) == 0 || l[len(l)-1] != p {
						bySession[id] = append(l, p)
					}
				}
			}
		}
		for _, id := range slices.Sorted(maps.Keys(bySession)) {
			fmt.Fprintf(b, "%s\n", hex(id))
			for _, p := range bySession[id] {
				fmt.Fprintf(b, "\t%s\n", p)
			}
		}
	}
}
