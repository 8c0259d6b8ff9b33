package log

import (
	"bufio"
	"bytes"
	"os"
	"sort"
	"strconv"
	"strings"
)

// The offset checkpoint format (CheckpointFile with OffsetCheckpointFile's
// formatter): a version line "0", a count line, then one
// "<topic> <partition> <offset>" line per entry.
const checkpointVersion = 0

// ReadCheckpointFile parses an offset checkpoint file. Missing files report
// fs.ErrNotExist; malformed ones name the line.
func ReadCheckpointFile(path string) (map[TopicPartition]int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseCheckpoint(path, data)
}

func parseCheckpoint(path string, data []byte) (map[TopicPartition]int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	next := func() (string, bool) {
		line++
		if !sc.Scan() {
			return "", false
		}
		return sc.Text(), true
	}
	v, ok := next()
	if !ok {
		return nil, errCheckpoint(path, line, "missing version")
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n != checkpointVersion {
		return nil, errCheckpoint(path, line, "unrecognised version %q", v)
	}
	c, ok := next()
	count, err := strconv.Atoi(strings.TrimSpace(c))
	if !ok || err != nil || count < 0 {
		return nil, errCheckpoint(path, line, "bad entry count %q", c)
	}
	out := make(map[TopicPartition]int64, min(count, 1<<16))
	for range count {
		s, ok := next()
		if !ok {
			return nil, errCheckpoint(path, line, "expected %d entries, found %d", count, len(out))
		}
		f := strings.Fields(s)
		if len(f) != 3 {
			return nil, errCheckpoint(path, line, "malformed entry %q", s)
		}
		p, perr := strconv.ParseInt(f[1], 10, 32)
		off, oerr := strconv.ParseInt(f[2], 10, 64)
		if perr != nil || oerr != nil || p < 0 {
			return nil, errCheckpoint(path, line, "malformed entry %q", s)
		}
		out[TopicPartition{Topic: f[0], Partition: int32(p)}] = off
	}
	if s, ok := next(); ok && strings.TrimSpace(s) != "" {
		return nil, errCheckpoint(path, line, "more entries than the count %d", count)
	}
	return out, sc.Err()
}

// WriteCheckpointFile writes an offset checkpoint file through a tmp file,
// fsync and rename. Entries are sorted so the file is deterministic.
func WriteCheckpointFile(path string, entries map[TopicPartition]int64) error {
	return writeFileAtomic(path, formatCheckpoint(entries))
}

func formatCheckpoint(entries map[TopicPartition]int64) []byte {
	tps := make([]TopicPartition, 0, len(entries))
	for tp := range entries {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
	var b bytes.Buffer
	b.WriteString(strconv.Itoa(checkpointVersion) + "\n" + strconv.Itoa(len(tps)) + "\n")
	for _, tp := range tps {
		b.WriteString(tp.Topic + " " + strconv.Itoa(int(tp.Partition)) + " " + strconv.FormatInt(entries[tp], 10) + "\n")
	}
	return b.Bytes()
}
