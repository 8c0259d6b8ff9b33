package broker

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// A flexible request claiming four billion tagged fields in a few bytes is
// refused before kmsg sees it (kmsg would loop over every claimed field,
// about a minute of CPU), and the error is the malformed-request one that
// closes the connection.
func TestParseRequestRefusesLyingTagCount(t *testing.T) {
	frame := binary.BigEndian.AppendUint16(nil, 18) // ApiVersions
	frame = binary.BigEndian.AppendUint16(frame, 3)
	frame = binary.BigEndian.AppendUint32(frame, 1)           // correlation id
	frame = append(frame, 0xff, 0xff)                         // null client id
	frame = append(frame, 0)                                  // no header tags
	frame = append(frame, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f) // two empty compact strings, then the lie
	start := time.Now()
	_, req, err := parseRequest(frame)
	if !errors.Is(err, errMalformedRequest) || req != nil {
		t.Fatalf("err %v req %v, want errMalformedRequest", err, req)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("refusing took %v", took)
	}
}
