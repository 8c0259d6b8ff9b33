package log

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// File name suffixes (LogFileUtils).
const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	cleanedSuffix   = ".cleaned"
	swapSuffix      = ".swap"
	deletedSuffix   = ".deleted"
)

// segmentFileName is the base offset zero-padded to 20 digits plus suffix
// (LogFileUtils.filenamePrefixFromOffset).
func segmentFileName(dir string, base int64, suffix string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", base, suffix))
}

// parseSegmentFileName splits "00000000000000000042.log.swap" into 42,
// ".log" and ".swap". ok is false for names that are not segment files.
func parseSegmentFileName(name string) (base int64, kind, temp string, ok bool) {
	for _, t := range []string{cleanedSuffix, swapSuffix, deletedSuffix} {
		if strings.HasSuffix(name, t) {
			name, temp = strings.TrimSuffix(name, t), t
			break
		}
	}
	dot := strings.IndexByte(name, '.')
	if dot != 20 {
		return 0, "", "", false
	}
	kind = name[dot:]
	if kind != logSuffix && kind != indexSuffix && kind != timeIndexSuffix {
		return 0, "", "", false
	}
	base, err := strconv.ParseInt(name[:dot], 10, 64)
	if err != nil || base < 0 {
		return 0, "", "", false
	}
	return base, kind, temp, true
}

// syncDir makes renames, creates and removes in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeFileAtomic writes data to path through a tmp file, fsync and rename,
// as Kafka's CheckpointFile does, so a crash leaves the old or the new file.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}
