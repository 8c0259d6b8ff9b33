package zkmeta

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
)

// Kafka writes its znodes with Jackson from unordered maps, so key order in
// the wild is arbitrary (reference/kafka.md 1.1): decoders never rely on it.
// Encoders use jsonWriter to emit a fixed order, the one Kafka 3.x is seen
// writing, which keeps golden tests byte-exact.

// maxZnodeData bounds what a decoder looks at; ZooKeeper's jute.maxbuffer
// default is 1 MiB, so anything larger did not come from a znode.
const maxZnodeData = 1 << 20

// jsonWriter appends one JSON object with keys in call order.
type jsonWriter struct {
	b []byte
	n int
}

func newJSONWriter() *jsonWriter { return &jsonWriter{b: append(make([]byte, 0, 128), '{')} }

func (w *jsonWriter) key(k string) {
	if w.n > 0 {
		w.b = append(w.b, ',')
	}
	w.n++
	w.b = appendJSONString(w.b, k)
	w.b = append(w.b, ':')
}

func (w *jsonWriter) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *jsonWriter) str(k, v string) {
	w.key(k)
	w.b = appendJSONString(w.b, v)
}

// nullableStr writes null for a nil pointer, as Jackson writes a null String.
func (w *jsonWriter) nullableStr(k string, v *string) {
	if v == nil {
		w.key(k)
		w.b = append(w.b, "null"...)
		return
	}
	w.str(k, *v)
}

func (w *jsonWriter) raw(k string, v []byte) {
	w.key(k)
	w.b = append(w.b, v...)
}

func (w *jsonWriter) bytes() []byte { return append(w.b, '}') }

// appendJSONString quotes s as JSON without Go's HTML escaping of <, > and &
// (Jackson does not escape them).
func appendJSONString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...)
}

// appendInt32List writes [1,2,3]; a nil list is written as [].
func appendInt32List(b []byte, l []int32) []byte {
	b = append(b, '[')
	for i, v := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(v), 10)
	}
	return append(b, ']')
}

// appendStringMap writes {"k":"v",...} with sorted keys.
func appendStringMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

// appendPartitionMap writes {"0":[1,2],"1":[2,3]} with partitions in numeric
// order.
func appendPartitionMap(b []byte, m map[int32][]int32) []byte {
	keys := make([]int32, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(b, '"', ':')
		b = appendInt32List(b, m[k])
	}
	return append(b, '}')
}

// jsonObject reads one JSON object with exact (case-sensitive) key matching
// and a sticky first error, in the style of the jute sticky-error reader:
// after the first failure every getter returns a zero value and Err reports
// that failure.
type jsonObject struct {
	record string
	m      map[string]json.RawMessage
	err    error
}

func parseObject(record string, data []byte) *jsonObject {
	o := &jsonObject{record: record}
	switch {
	case len(data) == 0:
		o.err = badData(record, "empty znode data")
	case len(data) > maxZnodeData:
		o.err = badData(record, "%d bytes is larger than any znode", len(data))
	default:
		if err := json.Unmarshal(data, &o.m); err != nil {
			o.err = badData(record, "not a JSON object: %v", err)
		} else if o.m == nil {
			o.err = badData(record, "JSON null instead of an object")
		}
	}
	return o
}

// sub reads a nested object field (required).
func (o *jsonObject) sub(key string) *jsonObject {
	s := &jsonObject{record: o.record + "." + key}
	raw, ok := o.lookup(key, true)
	if !ok {
		s.err = o.err
		if s.err == nil {
			s.err = badData(o.record, "field %q missing", key)
		}
		return s
	}
	if err := json.Unmarshal(raw, &s.m); err != nil || s.m == nil {
		s.err = badData(o.record, "field %q: want an object", key)
		o.fail(s.err)
	}
	return s
}

func (o *jsonObject) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

func (o *jsonObject) has(key string) bool {
	if o.err != nil {
		return false
	}
	raw, ok := o.m[key]
	return ok && !isNull(raw)
}

// lookup returns the raw value; a missing or null required field fails.
func (o *jsonObject) lookup(key string, required bool) (json.RawMessage, bool) {
	if o.err != nil {
		return nil, false
	}
	raw, ok := o.m[key]
	if !ok || isNull(raw) {
		if required {
			o.fail(badData(o.record, "field %q missing", key))
		}
		return nil, false
	}
	return raw, true
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func (o *jsonObject) decode(key string, required bool, want string, v any) bool {
	raw, ok := o.lookup(key, required)
	if !ok {
		return false
	}
	if err := json.Unmarshal(raw, v); err != nil {
		o.fail(badData(o.record, "field %q: want %s, got %s", key, want, truncate(raw)))
		return false
	}
	return true
}

// int32 reads a required JSON integer in int32 range.
func (o *jsonObject) int32(key string) int32 {
	v, _ := o.optInt32(key, 0, true)
	return v
}

func (o *jsonObject) optInt32(key string, def int32, required bool) (int32, bool) {
	var n int64
	if !o.decode(key, required, "an integer", &n) {
		return def, false
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		o.fail(badData(o.record, "field %q: %d out of int32 range", key, n))
		return def, false
	}
	return int32(n), true
}

func (o *jsonObject) int64(key string) int64 {
	var n int64
	o.decode(key, true, "an integer", &n)
	return n
}

func (o *jsonObject) str(key string) string {
	var s string
	o.decode(key, true, "a string", &s)
	return s
}

func (o *jsonObject) optStr(key string) (string, bool) {
	var s string
	ok := o.decode(key, false, "a string", &s)
	return s, ok
}

// int64String reads an integer Kafka writes as a JSON string ("1700000000000").
func (o *jsonObject) int64String(key string) int64 {
	s := o.str(key)
	if o.err != nil {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		o.fail(badData(o.record, "field %q: %q is not a decimal integer", key, s))
	}
	return n
}

func (o *jsonObject) int32List(key string, required bool) []int32 {
	var l []int32
	if !o.decode(key, required, "an array of integers", &l) {
		return nil
	}
	if l == nil {
		l = []int32{}
	}
	return l
}

// version reads "version" and checks it against [lo, hi].
func (o *jsonObject) version(lo, hi int32) int32 {
	var n int64
	if !o.decode("version", true, "an integer", &n) {
		return 0
	}
	if n < int64(lo) || n > int64(hi) {
		o.fail(badVersion(o.record, n, strconv.Itoa(int(lo))+".."+strconv.Itoa(int(hi))))
		return 0
	}
	return int32(n)
}

func truncate(raw []byte) string {
	const max = 40
	if len(raw) > max {
		return string(raw[:max]) + "..."
	}
	return string(raw)
}
