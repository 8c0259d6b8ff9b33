package storage

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// SaveSnapshot implements Storage. Chunks are written unsynced and the meta
// last with a sync: the sync covers the chunks (one ordered store), and
// recovery treats chunks without meta as an interrupted save.
func (e *Engine) SaveSnapshot(zxid int64, r io.Reader) (SnapshotMeta, error) {
	e.maintMu.Lock()
	defer e.maintMu.Unlock()
	if e.isClosed() {
		return SnapshotMeta{}, ErrClosed
	}
	if zxid <= 0 {
		return SnapshotMeta{}, fmt.Errorf("snapshot zxid %#x: must be positive", zxid)
	}
	if err := e.clearSnapshotKeys(zxid); err != nil {
		return SnapshotMeta{}, err
	}
	m := snapMeta{SnapshotMeta: SnapshotMeta{Zxid: zxid}, chunkSize: uint32(e.opts.SnapshotChunkSize)}
	buf := make([]byte, e.opts.SnapshotChunkSize)
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			m.Checksum = crc32.Update(m.Checksum, castagnoli, buf[:n])
			m.Size += int64(n)
			if err := e.kv.Commit([]Op{{Key: snapChunkKey(zxid, m.chunks), Value: buf[:n]}}, false); err != nil {
				return SnapshotMeta{}, fmt.Errorf("snapshot %#x chunk %d: %w", zxid, m.chunks, err)
			}
			m.chunks++
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			// The chunks stay until the next Open removes them as an
			// interrupted save; deleting them here could fail the same way.
			return SnapshotMeta{}, fmt.Errorf("snapshot %#x: read: %w", zxid, rerr)
		}
	}
	m.Created = e.opts.Now()
	if err := e.kv.Commit([]Op{{Key: snapMetaKey(zxid), Value: encodeSnapMeta(m)}}, true); err != nil {
		return SnapshotMeta{}, fmt.Errorf("snapshot %#x meta: %w", zxid, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	i, _ := slices.BinarySearchFunc(e.snaps, zxid, func(s snapMeta, z int64) int { return cmpDesc(s.Zxid, z) })
	e.snaps = slices.Insert(e.snaps, i, m)
	return m.SnapshotMeta, nil
}

func cmpDesc(a, b int64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// Snapshots implements Storage.
func (e *Engine) Snapshots() ([]SnapshotMeta, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	out := make([]SnapshotMeta, len(e.snaps))
	for i, s := range e.snaps {
		out[i] = s.SnapshotMeta
	}
	return out, nil
}

// snapshotsFrom returns the snapshots with lo <= zxid <= hi.
func (e *Engine) snapshotsFrom(lo, hi int64) []snapMeta {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []snapMeta
	for _, s := range e.snaps {
		if s.Zxid >= lo && s.Zxid <= hi {
			out = append(out, s)
		}
	}
	return out
}

func (e *Engine) snapshotsAfter(zxid int64) []snapMeta {
	return e.snapshotsFrom(zxid+1, 1<<63-1)
}

// clearSnapshotKeys removes whatever is stored under zxid: a snapshot being
// replaced, or chunks of a save that failed earlier in this process, which
// would otherwise outnumber the new snapshot's chunks and get it deleted as
// corrupt by the next Open. Caller holds maintMu.
func (e *Engine) clearSnapshotKeys(zxid int64) error {
	for _, s := range e.snapshotsFrom(zxid, zxid) {
		if err := e.deleteSnapshot(s); err != nil {
			return err
		}
	}
	var stray [][]byte
	p := snapPrefix(zxid)
	err := e.kv.Iterate(p, prefixEnd(p), false, func(it Item) error {
		stray = append(stray, bytes.Clone(it.Key()))
		return nil
	})
	if err != nil || len(stray) == 0 {
		return err
	}
	return e.deleteKeys(stray, false)
}

// DeleteSnapshot implements Storage.
func (e *Engine) DeleteSnapshot(zxid int64) error {
	e.maintMu.Lock()
	defer e.maintMu.Unlock()
	if e.isClosed() {
		return ErrClosed
	}
	found := e.snapshotsFrom(zxid, zxid)
	if len(found) == 0 {
		return fmt.Errorf("snapshot %#x: %w", zxid, ErrNotFound)
	}
	return e.deleteSnapshot(found[0])
}

// deleteSnapshot removes meta first (the snapshot is gone for readers and
// for recovery), then the chunks. Caller holds maintMu.
func (e *Engine) deleteSnapshot(s snapMeta) error {
	e.mu.Lock()
	e.snaps = slices.DeleteFunc(e.snaps, func(x snapMeta) bool { return x.Zxid == s.Zxid })
	e.mu.Unlock()
	keys := [][]byte{snapMetaKey(s.Zxid)}
	for n := range s.chunks {
		keys = append(keys, snapChunkKey(s.Zxid, n))
	}
	if err := e.deleteKeys(keys, true); err != nil {
		return fmt.Errorf("delete snapshot %#x: %w", s.Zxid, err)
	}
	return nil
}

// OpenSnapshot implements Storage.
func (e *Engine) OpenSnapshot(zxid int64) (io.ReadCloser, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	for _, s := range e.snaps {
		if s.Zxid == zxid {
			return &snapReader{e: e, m: s}, nil
		}
	}
	return nil, fmt.Errorf("snapshot %#x: %w", zxid, ErrNotFound)
}

// snapReader streams a snapshot chunk by chunk and checks size and CRC at
// the end. Data is handed out before it is verified (a snapshot can be
// larger than memory), so a caller must discard what it built when Read
// fails.
type snapReader struct {
	e    *Engine
	m    snapMeta
	next uint32 // next chunk to load
	buf  []byte // unread part of the current chunk
	read int64
	crc  uint32
	err  error
}

func (r *snapReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 && r.err == nil {
		r.err = r.load()
	}
	if len(r.buf) == 0 {
		return 0, r.err
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// load fetches the next chunk, or verifies the whole at the end.
func (r *snapReader) load() error {
	z := r.m.Zxid
	if r.next == r.m.chunks {
		if r.read != r.m.Size || r.crc != r.m.Checksum {
			return fmt.Errorf("snapshot %#x: %d bytes with CRC %#x, want %d bytes with %#x: %w",
				z, r.read, r.crc, r.m.Size, r.m.Checksum, ErrCorruptSnapshot)
		}
		return io.EOF
	}
	if err := r.e.rlockKV(); err != nil {
		return err
	}
	chunk, err := r.e.kv.Get(snapChunkKey(z, r.next))
	if errors.Is(err, ErrNotFound) {
		if _, merr := r.e.kv.Get(snapMetaKey(z)); errors.Is(merr, ErrNotFound) {
			err = fmt.Errorf("snapshot %#x deleted while reading: %w", z, ErrNotFound)
		} else {
			err = fmt.Errorf("snapshot %#x: chunk %d missing: %w", z, r.next, ErrCorruptSnapshot)
		}
	} else if err != nil {
		// The store refused to read it (its own checksum, an I/O error):
		// the caller must fall back exactly as for a CRC mismatch.
		err = fmt.Errorf("snapshot %#x: chunk %d: %w (%w)", z, r.next, ErrCorruptSnapshot, err)
	}
	r.e.kvMu.RUnlock()
	if err != nil {
		return err
	}
	want := int64(r.m.chunkSize)
	if r.next == r.m.chunks-1 {
		want = r.m.Size - int64(r.m.chunks-1)*int64(r.m.chunkSize)
	}
	if int64(len(chunk)) != want {
		return fmt.Errorf("snapshot %#x: chunk %d is %d bytes, want %d: %w", z, r.next, len(chunk), want, ErrCorruptSnapshot)
	}
	r.next++
	r.read += int64(len(chunk))
	r.crc = crc32.Update(r.crc, castagnoli, chunk)
	r.buf = chunk
	return nil
}

// Close returns the corruption error if Read found one, so a caller that
// only checks Close still learns of it.
func (r *snapReader) Close() error {
	if errors.Is(r.err, ErrCorruptSnapshot) {
		return r.err
	}
	return nil
}
