// Package kguard checks a Kafka request body before kmsg decodes it, so a
// few bytes cannot buy a minute of CPU.
//
// # Why
//
// In flexible versions (KIP-482) every struct of a request ends with a
// tagged-field section: a uvarint count, then count times (uvarint tag,
// uvarint size, size bytes). franz-go's kmsg (v1.15.0, which the broker
// decodes with) reads it as
//
//	for num := b.Uvarint(); num > 0; num-- { key, size := b.Uvarint(), b.Uvarint(); ... }
//
// and keeps looping after the input is exhausted: its sticky reader then
// returns zeros cheaply, but the loop still runs count times, up to 2^32-1,
// with a map insert each time. An ApiVersions v3 body of 7 bytes,
// {1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f} (two empty strings and a count of
// 2^32-1), was measured at 62 s of CPU in
// (*kmsg.ApiVersionsRequest).ReadFrom; BenchmarkLyingTagCount shows the
// cost growing with the count, not the body. Any flexible request can carry
// such a count in any nested struct, and in the value of a tagged field
// kmsg decodes (Fetch's ReplicaState). Compact arrays and strings are
// bounded by kmsg already (it checks their lengths against the bytes left);
// only tagged-field counts are not.
//
// # What
//
// Check walks the body along a layout of its API key and version and
// refuses it (ErrMalformed) when it is truncated, has trailing bytes, or
// holds a length, count, tagged-field count or tagged-field size that
// cannot fit in the bytes that remain. A tagged field takes at least two
// bytes, so a count above half of what remains is refused before anything
// loops on it. A body Check accepts decodes with kmsg in time linear in its
// length, and, in flexible versions, without error. Check does not allocate
// unless it refuses. Non-flexible versions have no tagged fields and are
// not walked: Check returns nil for them (kmsg is safe there). CheckHeaderTags does the same for the tagged fields that end
// request header v2.
//
// The layouts (requests_*.go) are small tables written for this package in
// a little DSL (layout.go): per struct, its fields in wire order with the
// versions they exist in, which strings may be null, arrays and nested
// structs, and the tagged fields kmsg decodes. They follow Apache Kafka's
// message definitions (clients/src/main/resources/common/message) as
// franz-go's generate/definitions restate them for kmsg v1.15.0, over the
// versions kmsg v1.15.0 decodes. The tests prove them against kmsg: every
// random request kmsg encodes is accepted, the walk finds every unknown tag
// kmsg finds, nulls agree, and the fuzz target decodes whatever Check
// accepts.
//
// # Where the broker calls it
//
// After reading the request header (for flexible versions, after
// CheckHeaderTags on the header's tagged fields) and before kmsg's ReadFrom
// of the body: on ErrMalformed close the connection and log, as Kafka does
// with a request it cannot parse; on ErrUnknown refuse the request when its
// version is flexible.
//
// # When to remove it
//
// When kmsg bounds the loop. The fix upstream is to stop once the count
// cannot be met: `num > 0 && b.Ok()` (every turn either consumes two bytes
// or spoils the reader), or `num > 0 && enough bytes remain`, in ReadTags,
// internalReadTags, SkipTags and the generated loops over known tags. Then
// this package, and the call before ReadFrom, can go.
package kguard
