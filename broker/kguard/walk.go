package kguard

import (
	"fmt"
	"strings"
)

// walker walks bytes along a layout. It never allocates while the bytes are
// well formed: on the first problem it records the offset and the reason,
// and the levels it unwinds through add their field names to the path.
type walker struct {
	b       []byte
	off     int
	end     int // the walk may not pass end: the body, or a tagged value
	version int16

	// failure, set once
	failed  bool
	failOff int
	reason  string
	path    []string // innermost first

	// onUnknownTag, when set (tests only), sees every tagged field the
	// layout does not decode, so tests can check the walk found each
	// struct's tags where kmsg put them.
	onUnknownTag func(tag uint32, value []byte)
	// onString, when set (tests only), sees every non-null string outside
	// tagged values: where its length starts and where it ends.
	onString func(lengthAt, end int)
}

func (w *walker) remaining() int { return w.end - w.off }

func (w *walker) fail(format string, args ...any) bool {
	w.failed = true
	w.failOff = w.off
	w.reason = fmt.Sprintf(format, args...)
	return false
}

// at adds a path segment while a failure unwinds.
func (w *walker) at(segment string) bool {
	w.path = append(w.path, segment)
	return false
}

// where renders the path outermost first: "Topics[0].Partitions[3]".
func (w *walker) where() string {
	var sb strings.Builder
	for i := len(w.path) - 1; i >= 0; i-- {
		s := w.path[i]
		if sb.Len() > 0 && !strings.HasPrefix(s, "[") {
			sb.WriteByte('.')
		}
		sb.WriteString(s)
	}
	if sb.Len() == 0 {
		return "top level"
	}
	return sb.String()
}

// uvarint reads an unsigned varint as kmsg does (kbin.Uvarint): at most 5
// bytes, the fifth at most 0x0f, so the value fits in 32 bits. Most are one
// byte (short strings, small counts, empty tag sections): that case comes
// first and skips the loop (it made Check about twice as fast).
func (w *walker) uvarint(what string) (uint32, bool) {
	if off := w.off; off < w.end {
		if c := w.b[off]; c < 0x80 {
			w.off = off + 1
			return uint32(c), true
		}
	}
	return w.uvarintLong(what)
}

func (w *walker) uvarintLong(what string) (uint32, bool) {
	var x uint32
	for i := 0; i < 5; i++ {
		if w.off+i >= w.end {
			return 0, w.fail("%s: truncated varint", what)
		}
		c := w.b[w.off+i]
		if i == 4 {
			if c > 0x0f {
				return 0, w.fail("%s: varint longer than 32 bits", what)
			}
			w.off += 5
			return x | uint32(c)<<28, true
		}
		x |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			w.off += i + 1
			return x, true
		}
	}
	panic("unreachable")
}

// skip passes n bytes that must be there.
func (w *walker) skip(n uint64, what string) bool {
	if n > uint64(w.remaining()) {
		return w.fail("%s: needs %d bytes, %d remain", what, n, w.remaining())
	}
	w.off += int(n)
	return true
}

// field walks one field that is on the wire at w.version.
func (w *walker) field(f *field) bool {
	switch f.kind {
	case kindFixed:
		return w.skip(uint64(f.size), "value")
	case kindString:
		at := w.off
		n, ok := w.uvarint("string length")
		if !ok {
			return false
		}
		if n == 0 {
			if w.version < f.nullFrom {
				w.off = at
				return w.fail("null, but the string is not nullable in v%d", w.version)
			}
			return true
		}
		if !w.skip(uint64(n)-1, "string") {
			return false
		}
		if w.onString != nil && w.end == len(w.b) {
			w.onString(at, w.off)
		}
		return true
	case kindBytes:
		n, ok := w.uvarint("bytes length")
		if !ok || n == 0 {
			return ok
		}
		return w.skip(uint64(n)-1, "bytes")
	case kindArray:
		return w.array(f)
	case kindStruct:
		return w.strct(f)
	}
	panic(fmt.Sprintf("kguard: field %q has no kind", f.name))
}

func (w *walker) array(f *field) bool {
	at := w.off
	n, ok := w.uvarint("array count")
	if !ok || n == 0 {
		return ok
	}
	count := uint64(n) - 1
	// Every element takes at least one byte (a struct at least its tag
	// count), as kmsg's CompactArrayLen also assumes.
	if count > uint64(w.remaining()) {
		left := w.remaining()
		w.off = at
		return w.fail("%d elements cannot fit in the %d bytes that remain", count, left)
	}
	e := f.elem
	if e.kind == kindFixed {
		return w.skip(count*uint64(e.size), "elements")
	}
	for i := uint64(0); i < count; i++ {
		if !w.field(e) {
			return w.at(fmt.Sprintf("[%d]", i))
		}
	}
	return true
}

func (w *walker) strct(f *field) bool {
	for i := range f.fields {
		c := &f.fields[i]
		if !c.in(w.version) {
			continue
		}
		if !w.field(c) {
			return w.at(c.name)
		}
	}
	return w.tags(f.tags)
}

// tags walks a tagged-field section: a count, then count times a tag, a
// size and that many bytes. The count is checked against what remains
// before anything loops on it: each field takes at least two bytes (tag
// and size), so a larger count is a lie, and it is the lie that makes
// kmsg's tag loop run up to 2^32 times.
func (w *walker) tags(known []taggedField) bool {
	at := w.off
	n, ok := w.uvarint("tagged-field count")
	if !ok {
		return false
	}
	if uint64(n)*2 > uint64(w.remaining()) {
		left := w.remaining()
		w.off = at
		return w.fail("tagged-field count %d cannot fit in the %d bytes that remain", n, left)
	}
	for i := uint32(0); i < n; i++ {
		tag, ok := w.uvarint("tag")
		if !ok {
			return false
		}
		size, ok := w.uvarint("tagged-field size")
		if !ok {
			return w.at(fmt.Sprintf("tag %d", tag))
		}
		if uint64(size) > uint64(w.remaining()) {
			w.fail("size %d exceeds the %d bytes that remain", size, w.remaining())
			return w.at(fmt.Sprintf("tag %d", tag))
		}
		start, end := w.off, w.off+int(size)
		if t := findTag(known, tag); t != nil {
			if !w.taggedValue(t, end) {
				return w.at(fmt.Sprintf("tag %d (%s)", tag, t.f.name))
			}
		} else if w.onUnknownTag != nil {
			w.onUnknownTag(tag, w.b[start:end])
		}
		w.off = end
	}
	return true
}

// taggedValue walks the value of a known tagged field, which must fill its
// size exactly.
func (w *walker) taggedValue(t *taggedField, end int) bool {
	outer := w.end
	w.end = end
	ok := w.field(&t.f)
	if ok && w.off != end {
		ok = w.fail("%d bytes left over in the value", end-w.off)
	}
	w.end = outer
	return ok
}

func findTag(known []taggedField, tag uint32) *taggedField {
	for i := range known {
		if known[i].tag == tag {
			return &known[i]
		}
	}
	return nil
}
