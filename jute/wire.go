// Package jute implements ZooKeeper's wire format: length-prefixed frames, the
// jute binary encoding (big-endian ints and longs, length-prefixed buffers with
// -1 for null), and every client and txn record the server speaks.
//
// Decoding never trusts its input: a Reader is sticky, so after the first short
// or oversized read every further read returns a zero value and Err reports the
// first problem. Callers decode a whole record and check Err once.
package jute

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxBuffer is jute.maxbuffer, the largest frame ZooKeeper accepts by default
// (0xfffff bytes), on the server and on the Java client.
const MaxBuffer = 0xfffff

var (
	// ErrShort means a record ended before all of its fields were read.
	ErrShort = errors.New("jute: record truncated")
	// ErrLength means a length prefix was negative (other than -1 for null) or
	// larger than the bytes that remain.
	ErrLength = errors.New("jute: bad length prefix")
)

// Reader decodes jute primitives from a byte slice. Errors are sticky.
type Reader struct {
	b   []byte
	off int
	err error
}

// NewReader returns a Reader over b. Buffers it returns alias b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Reset points r at b and clears any error, so a Reader can be reused.
func (r *Reader) Reset(b []byte) { r.b, r.off, r.err = b, 0, nil }

// Err returns the first decoding error, or nil.
func (r *Reader) Err() error { return r.err }

// Len returns the number of unread bytes.
func (r *Reader) Len() int { return len(r.b) - r.off }

// Rest returns the unread bytes without consuming them.
func (r *Reader) Rest() []byte { return r.b[r.off:] }

func (r *Reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.off = len(r.b)
}

func (r *Reader) next(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b)-r.off {
		r.fail(ErrShort)
		return nil
	}
	// Cap the slice at its length: a decoded buffer must not let an append
	// by its user overwrite the rest of the frame.
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p
}

// Int reads a 4-byte big-endian int.
func (r *Reader) Int() int32 {
	p := r.next(4)
	if p == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(p))
}

// Long reads an 8-byte big-endian long.
func (r *Reader) Long() int64 {
	p := r.next(8)
	if p == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(p))
}

// Bool reads a one-byte boolean (any non-zero byte is true, as in Java).
func (r *Reader) Bool() bool {
	p := r.next(1)
	return p != nil && p[0] != 0
}

// Buffer reads a length-prefixed byte buffer; -1 decodes as nil. The result
// aliases the Reader's input.
func (r *Reader) Buffer() []byte {
	n := r.Int()
	if r.err != nil || n == -1 {
		return nil
	}
	if n < 0 || int(n) > r.Len() {
		r.fail(ErrLength)
		return nil
	}
	return r.next(int(n))
}

// String reads a ustring (length-prefixed UTF-8); null decodes as "".
func (r *Reader) String() string { return string(r.Buffer()) }

// Count reads a vector length. Null (-1) reads as 0. Each element takes at
// least minElem bytes, so a count that cannot fit in the remaining input is
// rejected before anything is allocated for it.
func (r *Reader) Count(minElem int) int {
	n := r.Int()
	if r.err != nil || n == -1 {
		return 0
	}
	if minElem < 1 {
		minElem = 1
	}
	if n < 0 || int(n) > r.Len()/minElem {
		r.fail(ErrLength)
		return 0
	}
	return int(n)
}

// Strings reads a vector<ustring>.
func (r *Reader) Strings() []string {
	n := r.Count(4)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.String()
	}
	return out
}

// Writer appends jute primitives to a byte slice.
type Writer struct {
	B []byte
}

// Int appends a 4-byte big-endian int.
func (w *Writer) Int(v int32) { w.B = binary.BigEndian.AppendUint32(w.B, uint32(v)) }

// Long appends an 8-byte big-endian long.
func (w *Writer) Long(v int64) { w.B = binary.BigEndian.AppendUint64(w.B, uint64(v)) }

// Bool appends a one-byte boolean.
func (w *Writer) Bool(v bool) {
	if v {
		w.B = append(w.B, 1)
	} else {
		w.B = append(w.B, 0)
	}
}

// Buffer appends a length-prefixed buffer; nil is written as -1 (null).
func (w *Writer) Buffer(b []byte) {
	if b == nil {
		w.Int(-1)
		return
	}
	w.Int(int32(len(b)))
	w.B = append(w.B, b...)
}

// String appends a ustring.
func (w *Writer) String(s string) {
	w.Int(int32(len(s)))
	w.B = append(w.B, s...)
}

// Strings appends a vector<ustring>; nil is written as an empty vector, as
// the Java server does for lists it builds itself.
func (w *Writer) Strings(v []string) {
	w.Int(int32(len(v)))
	for _, s := range v {
		w.String(s)
	}
}

// Record is a jute record: a fixed sequence of fields with no tags.
type Record interface {
	Encode(w *Writer)
	Decode(r *Reader)
}

// Decode decodes b into rec and reports the first error. Trailing bytes are
// ignored, as the Java server ignores them.
func Decode(b []byte, rec Record) error {
	r := NewReader(b)
	rec.Decode(r)
	return r.Err()
}

// Encode appends rec to dst and returns the extended slice.
func Encode(dst []byte, rec Record) []byte {
	w := Writer{B: dst}
	rec.Encode(&w)
	return w.B
}

// FrameError describes a frame length the server refuses.
type FrameError struct{ Length int32 }

func (e *FrameError) Error() string {
	return fmt.Sprintf("jute: frame length %d outside [0, %d]", e.Length, MaxBuffer)
}

// ReadFrame reads one length-prefixed frame from r into buf (grown as needed)
// and returns the payload. A length below 0 or above max is a *FrameError.
func ReadFrame(r io.Reader, buf []byte, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	return ReadFramePayload(r, int32(binary.BigEndian.Uint32(hdr[:])), buf, max)
}

// ReadFramePayload reads the payload of a frame whose length prefix has
// already been read (the connection peeks at it to spot four-letter words).
func ReadFramePayload(r io.Reader, n int32, buf []byte, max int) ([]byte, error) {
	if n < 0 || int(n) > max {
		return nil, &FrameError{Length: n}
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// AppendFrame appends a frame holding the records in order. The length prefix
// is patched once the records are written, so nothing is encoded twice.
func AppendFrame(dst []byte, recs ...Record) []byte {
	start := len(dst)
	w := Writer{B: append(dst, 0, 0, 0, 0)}
	for _, rec := range recs {
		rec.Encode(&w)
	}
	binary.BigEndian.PutUint32(w.B[start:], uint32(len(w.B)-start-4))
	return w.B
}
