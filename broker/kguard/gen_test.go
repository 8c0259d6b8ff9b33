package kguard

import (
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Random valid requests, built by kmsg itself: every exported field of the
// request struct gets a random value by reflection (arrays of 0 to 3
// elements or nil, strings and bytes of random length, nil or set
// pointers, unknown tagged fields in every struct), then kmsg's AppendTo
// encodes it at the version under test. kmsg decides what each version puts
// on the wire and how nulls are written, so the encodings are kmsg's, not
// ours.

var tagsType = reflect.TypeFor[kmsg.Tags]()

// randomRequest returns a random request of key at version and its body.
func randomRequest(rng *rand.Rand, key, version int16) (kmsg.Request, []byte) {
	req := kmsg.RequestForKey(key)
	fillRandom(rng, reflect.ValueOf(req).Elem(), true)
	req.SetVersion(version)
	return req, req.AppendTo(nil)
}

func fillRandom(rng *rand.Rand, v reflect.Value, top bool) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == tagsType {
			fillTags(rng, v.Addr().Interface().(*kmsg.Tags))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() || (top && f.Name == "Version") {
				continue
			}
			fillRandom(rng, v.Field(i), false)
		}
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 1)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(rng.Int64())
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(rng.Uint64())
	case reflect.Float32, reflect.Float64:
		v.SetFloat(rng.Float64())
	case reflect.String:
		v.SetString(string(randomBytes(rng)))
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fillRandom(rng, v.Index(i), false)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if rng.IntN(4) != 0 {
				v.SetBytes(randomBytes(rng))
			}
			return
		}
		if rng.IntN(5) == 0 {
			return // nil: null where the version allows it, else empty
		}
		n := rng.IntN(4)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			fillRandom(rng, s.Index(i), false)
		}
		v.Set(s)
	case reflect.Pointer:
		if rng.IntN(3) == 0 {
			return
		}
		p := reflect.New(v.Type().Elem())
		fillRandom(rng, p.Elem(), false)
		v.Set(p)
	default:
		panic("fillRandom: unhandled kind " + v.Kind().String() + " (" + v.Type().String() + ")")
	}
}

// randomBytes is usually short, sometimes long enough (>127) that its
// length takes a two-byte varint.
func randomBytes(rng *rand.Rand) []byte {
	n := rng.IntN(9)
	if rng.IntN(10) == 0 {
		n = 128 + rng.IntN(200)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// fillTags sets 0 to 2 unknown tags. Tags 0 and 1 are skipped: Fetch
// declares them, and kmsg would write a declared tag twice.
func fillTags(rng *rand.Rand, t *kmsg.Tags) {
	for n := rng.IntN(3); n > 0; n-- {
		key := uint32(2 + rng.IntN(300))
		if rng.IntN(20) == 0 {
			key = rng.Uint32()
		}
		t.Set(key, randomBytes(rng))
	}
}

// tagEntry is one unknown tagged field, for comparing censuses.
type tagEntry struct {
	key   uint32
	value string
}

func sortTags(tags []tagEntry) {
	sort.Slice(tags, func(i, j int) bool {
		if tags[i].key != tags[j].key {
			return tags[i].key < tags[j].key
		}
		return tags[i].value < tags[j].value
	})
}

// kmsgUnknownTags lists the unknown tags in a decoded kmsg request.
func kmsgUnknownTags(req kmsg.Request) []tagEntry {
	var out []tagEntry
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Struct:
			if v.Type() == tagsType {
				v.Addr().Interface().(*kmsg.Tags).Each(func(k uint32, b []byte) {
					out = append(out, tagEntry{k, string(b)})
				})
				return
			}
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice:
			if v.Type().Elem().Kind() != reflect.Uint8 {
				for i := 0; i < v.Len(); i++ {
					walk(v.Index(i))
				}
			}
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem())
			}
		}
	}
	walk(reflect.ValueOf(req).Elem())
	sortTags(out)
	return out
}

// checkUnknownTags walks body like Check and lists the unknown tags it
// stepped over.
func checkUnknownTags(t *testing.T, r *request, version int16, body []byte) []tagEntry {
	t.Helper()
	var out []tagEntry
	w := walker{b: body, end: len(body), version: version}
	w.onUnknownTag = func(tag uint32, value []byte) {
		out = append(out, tagEntry{tag, string(value)})
	}
	if err := w.check(r); err != nil {
		t.Fatalf("census walk: %v", err)
	}
	sortTags(out)
	return out
}

// decodeFresh decodes body with a fresh kmsg request of key at version.
func decodeFresh(key, version int16, body []byte) (kmsg.Request, error) {
	req := kmsg.RequestForKey(key)
	req.SetVersion(version)
	return req, req.ReadFrom(body)
}

// coveredKeys lists the API keys Check has layouts for, ascending.
func coveredKeys() []int16 {
	var keys []int16
	for k, r := range layouts {
		if r != nil {
			keys = append(keys, int16(k))
		}
	}
	return keys
}
