package memstore

import (
	"maps"
	"slices"
	"strings"
)

// ordered is a sorted map from key to value. Values are never modified in
// place (a set stores a fresh copy), so clones and readers may share them.
// Keys are kept in a sorted slice: the log appends at the end, where an
// insert is O(1); a purge at the front is O(n), fine for a test store.
type ordered struct {
	keys []string
	vals map[string][]byte
}

func newOrdered() *ordered { return &ordered{vals: map[string][]byte{}} }

func (o *ordered) clone() *ordered {
	return &ordered{keys: slices.Clone(o.keys), vals: maps.Clone(o.vals)}
}

func (o *ordered) get(k string) ([]byte, bool) {
	v, ok := o.vals[k]
	return v, ok
}

func (o *ordered) set(k string, v []byte) {
	if _, ok := o.vals[k]; !ok {
		if n := len(o.keys); n == 0 || o.keys[n-1] < k {
			o.keys = append(o.keys, k)
		} else {
			i, _ := slices.BinarySearch(o.keys, k)
			o.keys = slices.Insert(o.keys, i, k)
		}
	}
	o.vals[k] = v
}

func (o *ordered) del(k string) {
	if _, ok := o.vals[k]; !ok {
		return
	}
	delete(o.vals, k)
	i, _ := slices.BinarySearch(o.keys, k)
	o.keys = slices.Delete(o.keys, i, i+1)
}

// rangeKeys returns the keys in [lo, hi) in order; hi "" means no bound.
func (o *ordered) rangeKeys(lo, hi string, noHi bool) []string {
	i, _ := slices.BinarySearch(o.keys, lo)
	j := len(o.keys)
	if !noHi {
		j, _ = slices.BinarySearch(o.keys, hi)
	}
	if i >= j {
		return nil
	}
	return o.keys[i:j]
}

// find returns the keys whose value contains needle.
func (o *ordered) find(needle []byte) []string {
	var out []string
	for _, k := range o.keys {
		if strings.Contains(string(o.vals[k]), string(needle)) {
			out = append(out, k)
		}
	}
	return out
}
