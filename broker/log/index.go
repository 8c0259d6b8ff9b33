package log

import (
	"encoding/binary"
	"fmt"
	"math"
)

const offsetIndexEntrySize = 8 // relative offset uint32 + position uint32 (OffsetIndex)

// offsetIndex maps offsets to file positions, sparsely (OffsetIndex). Entry
// (o, p) means the batch starting at position p has last offset o.
type offsetIndex struct {
	indexFile
	base int64
}

func newOffsetIndex(path string, base, maxIndexBytes int64) *offsetIndex {
	return &offsetIndex{
		indexFile: indexFile{path: path, entrySize: offsetIndexEntrySize, maxEntries: int(maxIndexBytes / offsetIndexEntrySize)},
		base:      base,
	}
}

func (x *offsetIndex) entry(i int) (offset, pos int64) {
	b := x.buf[i*offsetIndexEntrySize:]
	return x.base + int64(binary.BigEndian.Uint32(b)), int64(binary.BigEndian.Uint32(b[4:]))
}

func (x *offsetIndex) offsetAt(i int) int64 { o, _ := x.entry(i); return o }
func (x *offsetIndex) posAt(i int) int64    { _, p := x.entry(i); return p }

// lookup returns the entry with the largest offset <= target, or
// (base, 0) when there is none (OffsetIndex.lookup).
func (x *offsetIndex) lookup(target int64) (offset, pos int64) {
	i := search(x.entries(), target, x.offsetAt)
	if i < 0 {
		return x.base, 0
	}
	return x.entry(i)
}

// lastEntry is the last entry, or (base, 0) when empty.
func (x *offsetIndex) lastEntry() (offset, pos int64) {
	if n := x.entries(); n > 0 {
		return x.entry(n - 1)
	}
	return x.base, 0
}

func (x *offsetIndex) full() bool { return x.entries() >= x.maxEntries }

// canAppend reports whether offset fits a relative offset (OffsetIndex.canAppendOffset).
func (x *offsetIndex) canAppend(offset int64) bool {
	rel := offset - x.base
	return rel >= 0 && rel <= math.MaxInt32
}

// append adds an entry in memory; persist writes it. Offsets must grow.
func (x *offsetIndex) append(offset, pos int64) error {
	if n := x.entries(); n > 0 {
		if last, _ := x.entry(n - 1); offset <= last {
			return fmt.Errorf("offset index %s: offset %d after %d", x.path, offset, last)
		}
	}
	if !x.canAppend(offset) || pos < 0 || pos > math.MaxInt32 {
		return fmt.Errorf("offset index %s: entry (%d, %d) does not fit base %d", x.path, offset, pos, x.base)
	}
	x.buf = binary.BigEndian.AppendUint32(x.buf, uint32(offset-x.base))
	x.buf = binary.BigEndian.AppendUint32(x.buf, uint32(pos))
	return nil
}

// truncateTo removes the entries with offset >= offset (OffsetIndex.truncateTo).
func (x *offsetIndex) truncateTo(offset int64) {
	n := search(x.entries(), offset-1, x.offsetAt) + 1
	x.buf = x.buf[:n*offsetIndexEntrySize]
	if x.written > len(x.buf) {
		x.written = len(x.buf) // the file is rewritten by the caller
	}
}

// check is OffsetIndex.sanityCheck, made thorough because the entries are in
// memory anyway: offsets strictly increase, positions never decrease and
// stay inside the log file.
func (x *offsetIndex) check(logSize int64) error {
	var prevOff, prevPos int64 = -1, -1
	for i := range x.entries() {
		off, pos := x.entry(i)
		if off-x.base > math.MaxInt32 || off <= prevOff || pos < prevPos || pos >= logSize {
			return fmt.Errorf("corrupt offset index %s: entry %d is (%d, %d) after (%d, %d), log size %d",
				x.path, i, off, pos, prevOff, prevPos, logSize)
		}
		prevOff, prevPos = off, pos
	}
	return nil
}
