package log

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// indexFile is what the offset and time indexes share: the entries, kept in
// memory exactly as they are on disk, and the file they are written to.
//
// Kafka mmaps its index files; we keep a copy of the entries in memory
// instead (the same resident size as a touched mmap) so that lookups are
// plain binary searches with no system call. buf is guarded by Log.mu; the
// file is written only by the log's single writer, after the entries it
// writes were published in buf.
type indexFile struct {
	path       string
	entrySize  int
	maxEntries int
	buf        []byte   // entries, big-endian, as in the file
	f          *os.File // open while the segment is active; nil otherwise
	written    int      // bytes of buf already in the file
}

func (x *indexFile) entries() int { return len(x.buf) / x.entrySize }

// load reads the file; a missing file reports fs.ErrNotExist so the caller
// rebuilds the index.
func (x *indexFile) load() error {
	b, err := os.ReadFile(x.path)
	if err != nil {
		return err
	}
	if len(b)%x.entrySize != 0 {
		return fmt.Errorf("index %s: %d bytes is not a multiple of the %d-byte entry", x.path, len(b), x.entrySize)
	}
	x.buf, x.written = b, len(b)
	return nil
}

// openForAppend opens the file for the active segment.
func (x *indexFile) openForAppend() error {
	if x.f != nil {
		return nil
	}
	f, err := os.OpenFile(x.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	x.f = f
	return nil
}

// persist writes the entries added since the last call. The caller is the
// log's writer; buf is not modified concurrently.
func (x *indexFile) persist() error {
	if x.written >= len(x.buf) {
		return nil
	}
	if err := x.openForAppend(); err != nil {
		return err
	}
	if _, err := x.f.WriteAt(x.buf[x.written:], int64(x.written)); err != nil {
		return fmt.Errorf("write index %s: %w", x.path, err)
	}
	x.written = len(x.buf)
	return nil
}

// rewrite replaces the file by the entries in buf (after a truncation or a
// rebuild).
func (x *indexFile) rewrite() error {
	if err := x.openForAppend(); err != nil {
		return err
	}
	if err := x.f.Truncate(0); err != nil {
		return err
	}
	x.written = 0
	return x.persist()
}

func (x *indexFile) sync() error {
	if x.f == nil {
		return nil
	}
	return x.f.Sync()
}

// close syncs and closes the file; the entries stay in memory.
func (x *indexFile) close() error {
	if x.f == nil {
		return nil
	}
	err := x.persist()
	if serr := x.f.Sync(); err == nil {
		err = serr
	}
	if cerr := x.f.Close(); err == nil {
		err = cerr
	}
	x.f = nil
	return err
}

// remove deletes the file (a segment that is gone or an index that will be
// rebuilt).
func (x *indexFile) remove() error {
	if x.f != nil {
		x.f.Close()
		x.f = nil
	}
	if err := os.Remove(x.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// search returns the largest entry i in [0, n) with key(i) <= target, or -1:
// Kafka's largestLowerBoundSlotFor.
func search(n int, target int64, key func(int) int64) int {
	lo, hi := 0, n // invariant: key(lo-1) <= target < key(hi)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if key(mid) <= target {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}
