package log

import (
	"encoding/binary"
	"fmt"
	"math"
)

const timeIndexEntrySize = 12 // timestamp int64 + relative offset uint32 (TimeIndex)

// timeIndex maps timestamps to offsets, sparsely (TimeIndex). Entry (t, o)
// means the largest timestamp in the segment up to offset o is t, first
// reached by the batch whose last offset is o.
type timeIndex struct {
	indexFile
	base int64
}

func newTimeIndex(path string, base, maxIndexBytes int64) *timeIndex {
	return &timeIndex{
		indexFile: indexFile{path: path, entrySize: timeIndexEntrySize, maxEntries: int(maxIndexBytes / timeIndexEntrySize)},
		base:      base,
	}
}

func (x *timeIndex) entry(i int) (ts, offset int64) {
	b := x.buf[i*timeIndexEntrySize:]
	return int64(binary.BigEndian.Uint64(b)), x.base + int64(binary.BigEndian.Uint32(b[8:]))
}

func (x *timeIndex) tsAt(i int) int64     { t, _ := x.entry(i); return t }
func (x *timeIndex) offsetAt(i int) int64 { _, o := x.entry(i); return o }

// lastEntry is the last entry, or (NO_TIMESTAMP, base) when empty.
func (x *timeIndex) lastEntry() (ts, offset int64) {
	if n := x.entries(); n > 0 {
		return x.entry(n - 1)
	}
	return noTimestamp, x.base
}

// lookup returns the entry with the largest timestamp <= target, or
// (NO_TIMESTAMP, base) when there is none (TimeIndex.lookup).
func (x *timeIndex) lookup(target int64) (ts, offset int64) {
	i := search(x.entries(), target, x.tsAt)
	if i < 0 {
		return noTimestamp, x.base
	}
	return x.entry(i)
}

// full keeps the last slot free for the entry added on roll, as
// TimeIndex.isFull does.
func (x *timeIndex) full() bool { return x.entries() >= x.maxEntries-1 }

// maybeAppend adds an entry only when the timestamp grows
// (TimeIndex.maybeAppend); the entry count is checked by the caller's roll.
func (x *timeIndex) maybeAppend(ts, offset int64) error {
	lastTs, lastOff := x.lastEntry()
	if ts <= lastTs {
		return nil
	}
	if x.entries() > 0 && offset < lastOff {
		return fmt.Errorf("time index %s: offset %d after %d", x.path, offset, lastOff)
	}
	if rel := offset - x.base; rel < 0 || rel > math.MaxInt32 {
		return fmt.Errorf("time index %s: offset %d does not fit base %d", x.path, offset, x.base)
	}
	x.buf = binary.BigEndian.AppendUint64(x.buf, uint64(ts))
	x.buf = binary.BigEndian.AppendUint32(x.buf, uint32(offset-x.base))
	return nil
}

// truncateTo removes the entries with offset >= offset (TimeIndex.truncateTo).
func (x *timeIndex) truncateTo(offset int64) {
	n := search(x.entries(), offset-1, x.offsetAt) + 1
	x.buf = x.buf[:n*timeIndexEntrySize]
	if x.written > len(x.buf) {
		x.written = len(x.buf)
	}
}

// check is TimeIndex.sanityCheck, thorough: timestamps strictly increase,
// offsets never decrease and stay below the segment's next offset.
func (x *timeIndex) check(nextOffset int64) error {
	var prevTs, prevOff int64 = noTimestamp, x.base
	for i := range x.entries() {
		ts, off := x.entry(i)
		if ts <= prevTs || off < prevOff || off-x.base > math.MaxInt32 || off >= nextOffset {
			return fmt.Errorf("corrupt time index %s: entry %d is (%d, %d) after (%d, %d), next offset %d",
				x.path, i, ts, off, prevTs, prevOff, nextOffset)
		}
		prevTs, prevOff = ts, off
	}
	return nil
}
