package harness

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// KafkaConn is a raw Kafka-protocol connection for tests that send bytes no
// client library would: bad frames, unknown keys, corrupt batches.
type KafkaConn struct {
	nc   net.Conn
	br   *bufio.Reader
	corr int32
}

// DialKafka connects to a broker.
func DialKafka(addr string) (*KafkaConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &KafkaConn{nc: nc, br: bufio.NewReader(nc)}, nil
}

// Close closes the connection.
func (c *KafkaConn) Close() error { return c.nc.Close() }

// WriteRaw writes bytes as they are.
func (c *KafkaConn) WriteRaw(b []byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.nc.Write(b)
	return err
}

// Frame builds a request frame with header v1 (v2 for flexible versions) and
// the given correlation id; the body is req encoded at its version.
func Frame(corr int32, clientID string, req kmsg.Request) []byte {
	buf := []byte{0, 0, 0, 0}
	buf = binary.BigEndian.AppendUint16(buf, uint16(req.Key()))
	buf = binary.BigEndian.AppendUint16(buf, uint16(req.GetVersion()))
	buf = binary.BigEndian.AppendUint32(buf, uint32(corr))
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(clientID)))
	buf = append(buf, clientID...)
	if req.IsFlexible() {
		buf = append(buf, 0)
	}
	buf = req.AppendTo(buf)
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
	return buf
}

// Request sends req and reads its response.
func (c *KafkaConn) Request(req kmsg.Request) (kmsg.Response, error) {
	c.corr++
	if err := c.WriteRaw(Frame(c.corr, "harness-raw", req)); err != nil {
		return nil, err
	}
	return c.ReadResponse(req, c.corr)
}

// ReadResponse reads one response frame and decodes it as req's response
// (ApiVersions responses have header v0; a response whose version differs
// from the request's, as ApiVersions' v0 fallback, is decoded with v0).
func (c *KafkaConn) ReadResponse(req kmsg.Request, corr int32) (kmsg.Response, error) {
	body, err := c.readFrame()
	if err != nil {
		return nil, err
	}
	if len(body) < 4 {
		return nil, fmt.Errorf("response of %d bytes", len(body))
	}
	if got := int32(binary.BigEndian.Uint32(body)); got != corr {
		return nil, fmt.Errorf("correlation id %d, want %d", got, corr)
	}
	resp := req.ResponseKind()
	rest := body[4:]
	if resp.IsFlexible() && req.Key() != int16(kmsg.ApiVersions) {
		if len(rest) == 0 {
			return nil, errors.New("no tagged fields in the response header")
		}
		rest = rest[1:]
	}
	if err := resp.ReadFrom(rest); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kmsg.NameForKey(req.Key()), err)
	}
	return resp, nil
}

func (c *KafkaConn) readFrame() ([]byte, error) {
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var size [4]byte
	if _, err := io.ReadFull(c.br, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > 128<<20 {
		return nil, fmt.Errorf("response frame of %d bytes", n)
	}
	body := make([]byte, n)
	_, err := io.ReadFull(c.br, body)
	return body, err
}

// ExpectClosed reports nil when the broker closes the connection within d
// without sending anything.
func (c *KafkaConn) ExpectClosed(d time.Duration) error {
	c.nc.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	n, err := c.br.Read(b[:])
	switch {
	case n > 0:
		return fmt.Errorf("the broker sent data instead of closing")
	case errors.Is(err, io.EOF):
		return nil
	case err != nil && !errors.Is(err, net.ErrClosed) && isTimeout(err):
		return fmt.Errorf("the connection is still open after %v", d)
	}
	return nil // reset by the peer: closed as well
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// RecordBatch encodes a RecordBatch v2 holding one record per value, with
// attributes 0 (no compression) and a correct CRC-32C.
func RecordBatch(timestampMs int64, values ...[]byte) []byte {
	var records []byte
	for i, v := range values {
		r := kmsg.Record{OffsetDelta: int32(i), Value: v}
		body := r.AppendTo(nil)
		r.Length = int32(len(body) - 1) // the zero length is one varint byte
		records = r.AppendTo(records)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(len(values) - 1),
		FirstTimestamp: timestampMs, MaxTimestamp: timestampMs,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(len(values)), Records: records,
	}
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-12))
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], castagnoli))
	return out
}
