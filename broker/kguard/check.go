package kguard

import "fmt"

// Check walks a request body of API key `key` at `version` as the Kafka
// protocol lays it out (the body only: after the request header) and
// reports an error wrapping ErrMalformed if it is truncated, has trailing
// bytes, or carries a length, count or tagged-field count or size that
// cannot fit in the bytes that remain (each tagged field takes at least 2
// bytes). A body Check accepts decodes with kmsg v1.15.0 in time linear in
// its length, and, in flexible versions, without error.
//
// Non-flexible versions have no tagged fields: Check returns nil for them
// without walking (kmsg is safe there). ErrUnknown is returned for a
// (key, version) Check has no layout for; refuse such a request when it is
// flexible.
//
// Check does not allocate unless it returns an error.
func Check(key int16, version int16, body []byte) error {
	r := layoutFor(key)
	if r == nil {
		return fmt.Errorf("%w for api key %d", ErrUnknown, key)
	}
	if version < 0 || version > r.maxVersion {
		return fmt.Errorf("%w for %s v%d (covered: v0 to v%d)", ErrUnknown, r.name, version, r.maxVersion)
	}
	if version < r.flexibleFrom {
		return nil
	}
	w := walker{b: body, end: len(body), version: version}
	return w.check(r)
}

// check walks the body to its end.
func (w *walker) check(r *request) error {
	if w.strct(&r.body) && w.off != w.end {
		w.fail("%d trailing bytes", w.end-w.off)
	}
	if w.failed {
		return fmt.Errorf("%w: %s v%d at byte %d of %d: %s: %s", ErrMalformed, r.name, w.version, w.failOff, len(w.b), w.where(), w.reason)
	}
	return nil
}

// CheckHeaderTags validates the tagged-field section at the start of b, as
// it ends request header v2 (flexible request versions): a count, then
// count times a tag, a size and that many bytes. It returns the section's
// length, so the body starts at b[n:]. The request header declares no
// tagged fields of its own, so every tag is skipped by its size.
func CheckHeaderTags(b []byte) (n int, err error) {
	w := walker{b: b, end: len(b)}
	if !w.tags(nil) {
		where := ""
		if len(w.path) > 0 {
			where = w.where() + ": "
		}
		return 0, fmt.Errorf("%w: request header tagged fields at byte %d of %d: %s%s", ErrMalformed, w.failOff, len(b), where, w.reason)
	}
	return w.off, nil
}

// layouts holds every covered request, indexed by API key.
var layouts = func() []*request {
	var all []*request
	for _, group := range [][]*request{dataRequests, clusterRequests, groupRequests, adminRequests} {
		all = append(all, group...)
	}
	var byKey []*request
	for _, r := range all {
		for int(r.key) >= len(byKey) {
			byKey = append(byKey, nil)
		}
		if byKey[r.key] != nil {
			panic(fmt.Sprintf("kguard: two layouts for api key %d", r.key))
		}
		byKey[r.key] = r
	}
	return byKey
}()

func layoutFor(key int16) *request {
	if key < 0 || int(key) >= len(layouts) {
		return nil
	}
	return layouts[key]
}
