package log

import (
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// benchBatch is a batch of ~16 KiB of records of the given size.
func benchBatch(recordSize int) []byte {
	return valueBatch(max(1, 16<<10/recordSize), recordSize, 1_700_000_000_000)
}

func benchLog(b *testing.B) *Log {
	cfg := DefaultConfig()
	cfg.SegmentBytes = math.MaxInt32 // no roll (and its fsync) inside the measurement
	l, _, err := Open(filepath.Join(fastTempDir(b), "bench-0"), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l
}

// BenchmarkAppend is the leader's produce path: validate the header and
// CRC, patch offsets and epoch, write, index. Both files live on tmpfs when
// available, so the ratio to BenchmarkRawFileAppend is the log's CPU cost.
func BenchmarkAppend(b *testing.B) {
	for _, rs := range []struct {
		name string
		size int
	}{{"record=100B", 100}, {"record=1KB", 1000}} {
		b.Run(rs.name, func(b *testing.B) {
			batch := benchBatch(rs.size)
			l := benchLog(b)
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if l.Size() > math.MaxInt32-int64(len(batch)) {
					b.StopTimer()
					l.TruncateFullyAndStartAt(l.LogEndOffset())
					b.StartTimer()
				}
				if _, _, _, err := l.Append(batch, 1, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawFileAppend writes the same batches to a plain file: the
// reference for BenchmarkAppend.
func BenchmarkRawFileAppend(b *testing.B) {
	for _, rs := range []struct {
		name string
		size int
	}{{"record=100B", 100}, {"record=1KB", 1000}} {
		b.Run(rs.name, func(b *testing.B) {
			batch := benchBatch(rs.size)
			f, err := os.Create(filepath.Join(fastTempDir(b), "raw"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			b.ResetTimer()
			var size int64
			for range b.N {
				if size > math.MaxInt32-int64(len(batch)) {
					b.StopTimer()
					f.Truncate(0)
					f.Seek(0, 0)
					size = 0
					b.StartTimer()
				}
				if _, err := f.Write(batch); err != nil {
					b.Fatal(err)
				}
				size += int64(len(batch))
			}
		})
	}
}

// BenchmarkRead is the fetch path: locate the batch holding a random
// offset and the end of 1 MiB of whole batches (no copy: the section would
// go to sendfile), and the same with the bytes copied into a reused buffer.
func BenchmarkRead(b *testing.B) {
	l := benchLog(b)
	batch := benchBatch(100)
	for range 4096 { // 64 MiB
		if _, _, _, err := l.Append(batch, 1, true); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewSource(1))
	end := l.LogEndOffset()
	b.Run("locate", func(b *testing.B) {
		b.ReportAllocs()
		var n int64
		for range b.N {
			r, err := l.Read(rng.Int63n(end), 1<<20)
			if err != nil {
				b.Fatal(err)
			}
			n += r.Size
		}
		b.SetBytes(n / int64(b.N))
	})
	b.Run("copy", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 2<<20)
		var n int64
		for range b.N {
			r, err := l.Read(rng.Int63n(end), 1<<20)
			if err != nil {
				b.Fatal(err)
			}
			if buf, err = r.AppendTo(buf[:0]); err != nil {
				b.Fatal(err)
			}
			n += r.Size
		}
		b.SetBytes(n / int64(b.N))
	})
}
