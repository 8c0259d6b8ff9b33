package main

import (
	"os"
	"path/filepath"
	"time"
)

// rawResult is the reference: the same number of bytes appended to a file
// in the work directory with write(2), in chunks the size of brokerd's
// average batch.
type rawResult struct {
	bytes int64
	// cached is the time for the writes alone (the page cache absorbs
	// them, as it absorbs brokerd's appends: neither fsyncs per write);
	// synced adds one fdatasync at the end (the disk's bandwidth).
	cached, synced time.Duration
}

func rawAppend(dir string, total, chunk int64) (rawResult, error) {
	if chunk <= 0 {
		chunk = 1 << 20
	}
	path := filepath.Join(dir, "raw-append.bin")
	defer os.Remove(path)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return rawResult{}, err
	}
	defer f.Close()
	buf := make([]byte, chunk)
	for i := range buf {
		buf[i] = byte(i)
	}
	start := time.Now()
	for written := int64(0); written < total; {
		n := min(chunk, total-written)
		if _, err := f.Write(buf[:n]); err != nil {
			return rawResult{}, err
		}
		written += n
	}
	cached := time.Since(start)
	if err := f.Sync(); err != nil {
		return rawResult{}, err
	}
	return rawResult{bytes: total, cached: cached, synced: time.Since(start)}, nil
}
