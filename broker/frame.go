package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/kguard"
)

// Errors of the frame and header decoder. Each one closes the connection it
// came from, as Kafka's SocketServer does (InvalidReceiveException,
// InvalidRequestException); the broker keeps serving everyone else.
var (
	errFrameTooLarge      = errors.New("request frame larger than socket.request.max.bytes")
	errFrameNegative      = errors.New("request frame with a negative size")
	errTruncatedHeader    = errors.New("request header truncated")
	errUnknownAPIKey      = errors.New("unknown api key")
	errMalformedRequest   = errors.New("malformed request body")
	errUnsupportedVersion = errors.New("unsupported api version")
)

// requestHeader is Kafka's request header v0-v2 (RequestHeader.json). The
// client id is a classic int16-length nullable string in every version; v2
// (flexible request versions) adds tagged fields after it.
type requestHeader struct {
	Key           int16
	Version       int16
	CorrelationID int32
	ClientID      string // null reads as "", as Kafka treats it
}

// readFrame reads one size-prefixed frame from r into buf (grown as needed)
// and returns the frame's bytes. The size is checked against maxBytes before
// anything is allocated, as NetworkReceive does with socket.request.max.bytes.
func readFrame(r io.Reader, buf []byte, maxBytes int32) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	switch {
	case n < 0:
		return nil, fmt.Errorf("%w: %d", errFrameNegative, n)
	case n > maxBytes:
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", errFrameTooLarge, n, maxBytes)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// parseRequest decodes a request frame: the header, then the body with kmsg.
// It never panics and never trusts a length: kmsg's reader checks every
// array and string length against the bytes left. The returned request's
// byte fields (a Produce request's records) alias frame.
//
// The version is not checked against what the broker serves: the caller does
// that, because ApiVersions answers an unsupported version instead of closing
// the connection. An unknown key or a body that does not decode is an error.
func parseRequest(frame []byte) (requestHeader, kmsg.Request, error) {
	var h requestHeader
	if len(frame) < 8 {
		return h, nil, fmt.Errorf("%w: %d bytes", errTruncatedHeader, len(frame))
	}
	h.Key = int16(binary.BigEndian.Uint16(frame[0:]))
	h.Version = int16(binary.BigEndian.Uint16(frame[2:]))
	h.CorrelationID = int32(binary.BigEndian.Uint32(frame[4:]))
	rest := frame[8:]
	req := kmsg.RequestForKey(h.Key)
	if req == nil {
		return h, nil, fmt.Errorf("%w %d", errUnknownAPIKey, h.Key)
	}
	if h.Version < 0 {
		return h, nil, fmt.Errorf("%w: %s v%d", errUnsupportedVersion, kmsg.NameForKey(h.Key), h.Version)
	}
	req.SetVersion(h.Version)
	// ControlledShutdown v0 is the one request with header v0: no client id
	// (RequestHeader.parse in Kafka).
	if !(h.Key == int16(kmsg.ControlledShutdown) && h.Version == 0) {
		if len(rest) < 2 {
			return h, nil, fmt.Errorf("%w: no client id", errTruncatedHeader)
		}
		n := int16(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
		if n >= 0 {
			if int(n) > len(rest) {
				return h, nil, fmt.Errorf("%w: client id of %d bytes, %d left", errTruncatedHeader, n, len(rest))
			}
			h.ClientID = string(rest[:n])
			rest = rest[n:]
		}
		if h.Key == int16(kmsg.ApiVersions) && h.Version > req.MaxVersion() {
			// A future ApiVersions version: its body may hold fields we do
			// not know. Kafka answers it from the header alone (a v0 body
			// with UNSUPPORTED_VERSION), so nothing after the client id is
			// parsed (RequestContext.parseRequest, KIP-511).
			return h, req, nil
		}
		if req.IsFlexible() {
			var err error
			if rest, err = skipTags(rest); err != nil {
				return h, nil, err
			}
		}
	}
	if req.IsFlexible() {
		// kmsg loops once per claimed tagged field even past the end of
		// the input: a 7-byte body can cost a minute of CPU. kguard walks
		// the body first and refuses counts that cannot fit.
		if err := kguard.Check(h.Key, h.Version, rest); err != nil {
			if errors.Is(err, kguard.ErrUnknown) {
				return h, nil, fmt.Errorf("%w: %s v%d", errUnsupportedVersion, kmsg.NameForKey(h.Key), h.Version)
			}
			return h, nil, fmt.Errorf("%w: %v", errMalformedRequest, err)
		}
	}
	if err := req.ReadFrom(rest); err != nil {
		return h, nil, fmt.Errorf("%w: %s v%d: %v", errMalformedRequest, kmsg.NameForKey(h.Key), h.Version, err)
	}
	return h, req, nil
}

// skipTags skips a tagged-field section (KIP-482): a uvarint count, then per
// field a uvarint tag, a uvarint size and the bytes.
func skipTags(b []byte) ([]byte, error) {
	count, n := binary.Uvarint(b)
	if n <= 0 {
		return nil, fmt.Errorf("%w: tagged fields count", errTruncatedHeader)
	}
	b = b[n:]
	for ; count > 0; count-- {
		if _, n = binary.Uvarint(b); n <= 0 {
			return nil, fmt.Errorf("%w: tag", errTruncatedHeader)
		}
		b = b[n:]
		size, n := binary.Uvarint(b)
		if n <= 0 || size > uint64(len(b)-n) {
			return nil, fmt.Errorf("%w: tagged field size", errTruncatedHeader)
		}
		b = b[n+int(size):]
	}
	return b, nil
}
