package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/zabkafka/zabkafka/zab"
)

// Framing: every message travels as a 4-byte big-endian length followed by
// that many bytes of zab.Message.Marshal output, the same shape as
// QuorumCnxManager's election frames (reference/zookeeper.md 4.1). A frame
// of length 0 carries no message: it is a keepalive the writer sends to
// probe a connection that may be half-open (see link.onPoke), and readers
// skip it.

const frameHeaderLen = 4

// Default frame limits. The election port keeps QuorumCnxManager's
// PACKETMAXSIZE (512 KiB); the quorum port carries SNAP messages with a
// whole snapshot in them, so its limit is large but still bounded.
const (
	DefaultElectionMaxFrameBytes = 512 << 10
	DefaultMaxFrameBytes         = 256 << 20
	// maxFrameLimit is the largest limit a Config may ask for: the length
	// prefix is 32 bits and a Go int must hold it on every platform.
	maxFrameLimit = 1<<31 - 1
)

// growChunk bounds how much readFrame allocates ahead of the bytes that
// actually arrived: a peer that announces a 200 MiB frame and then stalls
// costs at most this much, not 200 MiB.
const growChunk = 1 << 20

// ErrFrameTooLarge is returned for a frame whose announced length is over
// the port's limit. Nothing is allocated for it.
var ErrFrameTooLarge = errors.New("transport: frame too large")

// appendFrame appends m as one frame to b.
func appendFrame(b []byte, m zab.Message) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b = m.Marshal(b)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-frameHeaderLen))
	return b
}

// readFrame reads one frame from r and returns its payload. It reuses buf
// when the payload fits and otherwise grows it only as bytes arrive. The
// length is checked against limit before anything is allocated. A clean
// end of stream before a frame starts is io.EOF; a stream that ends inside
// a frame is io.ErrUnexpectedEOF. An empty payload is a keepalive.
func readFrame(r io.Reader, limit int, buf []byte) ([]byte, error) {
	var hdr [frameHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return buf[:0], err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if limit < 0 || uint64(n) > uint64(limit) {
		return buf[:0], fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, limit)
	}
	size := int(n)
	if size <= cap(buf) {
		b := buf[:size]
		if _, err := io.ReadFull(r, b); err != nil {
			return buf[:0], truncated(err)
		}
		return b, nil
	}
	b := buf[:0]
	for len(b) < size {
		step := min(size-len(b), max(len(b), growChunk))
		have := len(b)
		if cap(b)-have < step {
			nb := make([]byte, have, have+step)
			copy(nb, b)
			b = nb
		}
		b = b[:have+step]
		if _, err := io.ReadFull(r, b[have:]); err != nil {
			return b[:0], truncated(err)
		}
	}
	return b, nil
}

// truncated reports a stream that ended inside a frame as such: io.ReadFull
// says io.EOF when it read nothing, but the frame header was already read.
func truncated(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
