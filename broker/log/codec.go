package log

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
)

// Compression codecs of attribute bits 0-2.
const (
	CodecNone   int8 = 0
	CodecGzip   int8 = 1
	CodecSnappy int8 = 2
	CodecLz4    int8 = 3
	CodecZstd   int8 = 4
)

// Codec compresses and decompresses the records part of a batch. The
// standard library has gzip only; the broker can pass a Codec backed by its
// Kafka client library for snappy, lz4 and zstd. An error wrapping
// ErrUnsupportedCodec means "leave this batch alone".
type Codec interface {
	Decompress(codec int8, src []byte) ([]byte, error)
	Compress(codec int8, src []byte) ([]byte, error)
}

// ErrUnsupportedCodec is returned by a Codec for a codec it does not handle.
var ErrUnsupportedCodec = fmt.Errorf("unsupported compression codec")

// stdCodec is the default Codec: gzip through compress/gzip.
type stdCodec struct{}

// maxDecompressed bounds what one batch may inflate to, so a hostile gzip
// body cannot exhaust memory during compaction.
const maxDecompressed = 256 << 20

func (stdCodec) Decompress(codec int8, src []byte) ([]byte, error) {
	if codec != CodecGzip {
		return nil, fmt.Errorf("%w %d", ErrUnsupportedCodec, codec)
	}
	zr, err := gzip.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %v", ErrCorruptMessage, err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxDecompressed+1))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %v", ErrCorruptMessage, err)
	}
	if len(out) > maxDecompressed {
		return nil, fmt.Errorf("%w: gzip body inflates past %d bytes", ErrCorruptMessage, maxDecompressed)
	}
	return out, nil
}

func (stdCodec) Compress(codec int8, src []byte) ([]byte, error) {
	if codec != CodecGzip {
		return nil, fmt.Errorf("%w %d", ErrUnsupportedCodec, codec)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(src); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
