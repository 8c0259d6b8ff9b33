package replica

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// LeaderEpochCheckpointFile is the per-partition file of the leader epoch
// cache (LeaderEpochFileCache, KIP-101): "0", the entry count, then
// "<epoch> <startOffset>" lines.
const LeaderEpochCheckpointFile = "leader-epoch-checkpoint"

// epochEntry says that leader epoch Epoch wrote its first record at
// StartOffset.
type epochEntry struct {
	Epoch       int32
	StartOffset int64
}

// epochCache is a partition's leader epoch history, oldest first.
type epochCache struct {
	path    string
	entries []epochEntry
}

func loadEpochCache(partitionDir string) (*epochCache, error) {
	c := &epochCache{path: filepath.Join(partitionDir, LeaderEpochCheckpointFile)}
	f, err := os.Open(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var lines []string
	for sc.Scan() {
		lines = append(lines, strings.TrimSpace(sc.Text()))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(lines) < 2 || lines[0] != "0" {
		return nil, fmt.Errorf("%s: not a version 0 checkpoint", c.path)
	}
	n, err := strconv.Atoi(lines[1])
	if err != nil || n != len(lines)-2 {
		return nil, fmt.Errorf("%s: entry count %q does not match %d lines", c.path, lines[1], len(lines)-2)
	}
	for i, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s line %d: want <epoch> <offset>", c.path, i+3)
		}
		e, err1 := strconv.ParseInt(f[0], 10, 32)
		o, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s line %d: bad numbers", c.path, i+3)
		}
		c.entries = append(c.entries, epochEntry{int32(e), o})
	}
	return c, nil
}

// latest is the newest epoch, -1 when there is none.
func (c *epochCache) latest() int32 {
	if len(c.entries) == 0 {
		return -1
	}
	return c.entries[len(c.entries)-1].Epoch
}

// assign records that epoch starts at offset, as a new leader does with its
// log end offset (LeaderEpochFileCache.assign): older epochs only are kept
// before it, and entries starting at or after offset are replaced.
func (c *epochCache) assign(epoch int32, offset int64) error {
	if epoch <= c.latest() {
		return nil
	}
	keep := c.entries[:0]
	for _, e := range c.entries {
		if e.StartOffset < offset {
			keep = append(keep, e)
		}
	}
	c.entries = append(keep, epochEntry{epoch, offset})
	return c.write()
}

// epochFor is the leader epoch that wrote offset: the last entry starting
// at or before it, -1 when unknown.
func (c *epochCache) epochFor(offset int64) int32 {
	i := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].StartOffset > offset })
	if i == 0 {
		return -1
	}
	return c.entries[i-1].Epoch
}

func (c *epochCache) write() error {
	var b strings.Builder
	fmt.Fprintf(&b, "0\n%d\n", len(c.entries))
	for _, e := range c.entries {
		fmt.Fprintf(&b, "%d %d\n", e.Epoch, e.StartOffset)
	}
	return writeFileSync(c.path, []byte(b.String()))
}

// writeFileSync writes through a tmp file, fsync and rename, as Kafka's
// CheckpointFile does.
func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
