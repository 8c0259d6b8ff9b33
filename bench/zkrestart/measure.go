package main

import (
	"bufio"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zabkafka/zabkafka/integration/harness"
)

// diskUsage sums the regular files under a server's data directories.
type diskUsage struct {
	files     int
	apparent  int64 // sum of file sizes (ls -l)
	allocated int64 // blocks actually allocated, as du counts them (sparse files count less)
	largest   string
	largestSz int64
}

// dataUsage walks dataDir and, when it is elsewhere, dataLogDir.
func dataUsage(s *harness.Server) (diskUsage, error) {
	cfg := s.Config()
	dirs := []string{cfg.DataDir()}
	if d := cfg.Extra["dataLogDir"]; d != "" && filepath.Clean(d) != filepath.Clean(cfg.DataDir()) {
		dirs = append(dirs, d)
	}
	var u diskUsage
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				// A server may delete files (old logs, compaction) while we walk.
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			info, err := d.Info()
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				u.allocated += st.Blocks * 512
			}
			if !info.Mode().IsRegular() {
				return nil
			}
			u.files++
			u.apparent += info.Size()
			if info.Size() > u.largestSz {
				u.largestSz = info.Size()
				u.largest, _ = filepath.Rel(dir, path)
			}
			return nil
		})
		if err != nil {
			return u, err
		}
	}
	return u, nil
}

// serverStats reads zk_znode_count from mntr and the last zxid from srvr.
func serverStats(addr string) (znodes int64, zxid string, err error) {
	znodes = -1
	mntr, err := harness.FourLetter(addr, "mntr", 10*time.Second)
	if err != nil {
		return znodes, "", err
	}
	if v, ok := fourLetterValue(mntr, "zk_znode_count", "\t"); ok {
		znodes, _ = strconv.ParseInt(v, 10, 64)
	}
	srvr, err := harness.FourLetter(addr, "srvr", 10*time.Second)
	if err != nil {
		return znodes, "", err
	}
	zxid, _ = fourLetterValue(srvr, "Zxid", ":")
	return znodes, zxid, nil
}

// fourLetterValue finds "key<sep>value" in a four-letter reply.
func fourLetterValue(reply, key, sep string) (string, bool) {
	for line := range strings.SplitSeq(reply, "\n") {
		k, v, ok := strings.Cut(line, sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// serverCommand is the command line the harness logged when it first started the server
// ("=== harness <time>: <argv>").
func serverCommand(logPath string) string {
	f, err := os.Open(logPath)
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "=== harness "); ok {
			if _, argv, ok := strings.Cut(rest, ": "); ok {
				return argv
			}
		}
	}
	return "?"
}

// commandLine is how this tool was invoked, and every flag's value.
func commandLine() (invoked, effective string) {
	args := []string{"zkrestart"}
	for _, a := range os.Args[1:] {
		args = append(args, shellQuote(a))
	}
	var all []string
	flag.VisitAll(func(fl *flag.Flag) {
		all = append(all, "-"+fl.Name+"="+shellQuote(fl.Value.String()))
	})
	return strings.Join(args, " "), strings.Join(all, " ")
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func mib(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }
