package kguard

import "errors"

// Sentinel errors; the returned errors wrap them with details (the API, the
// version, the byte offset, the field path and the reason), so test them
// with errors.Is.
var (
	// ErrMalformed: the body is truncated, has trailing bytes, or carries a
	// length, count or tagged-field count that cannot fit in the bytes that
	// remain. The broker closes the connection and logs, as Kafka does with a
	// request it cannot parse.
	ErrMalformed = errors.New("malformed request")
	// ErrUnknown: Check has no layout for this API key and version.
	ErrUnknown = errors.New("no request layout")
)
