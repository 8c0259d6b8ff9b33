package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zabkafka/zabkafka/bench/internal/servers"
	"github.com/zabkafka/zabkafka/integration/harness"
)

// result is one target's figures for one size.
type result struct {
	produce, consume time.Duration
	logBytes         int64   // bytes the partition's log grew by
	avgBatch         int64   // average produce batch, bytes
	cpu              float64 // broker CPU seconds during produce + consume (brokerd only)
}

func perSec(n int64, d time.Duration) float64 { return float64(n) / d.Seconds() }

func startBrokerd(ctx context.Context, o options) (*harness.Brokerd, error) {
	bin := o.brokerdBin
	if bin == "" {
		var err error
		if bin, err = harness.BuildBrokerd(filepath.Join(o.work, "bin")); err != nil {
			return nil, err
		}
	}
	var args []string
	if o.pprof != "" {
		args = []string{"-pprof", o.pprof}
	}
	return harness.StartBrokerd(ctx, bin, harness.BrokerdConfig{
		Args: args,
		Dir:  filepath.Join(o.work, "brokerd"),
		Props: map[string]string{
			"message.max.bytes": "4194304",
			"log.segment.bytes": "1073741824",
		},
	})
}

func benchBrokerd(ctx context.Context, b *harness.Brokerd, topic string, size int, n int64, o options) (result, error) {
	seeds := []string{b.Addr()}
	adm, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return result{}, err
	}
	defer adm.Close()
	if _, err := kadm.NewClient(adm).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		return result{}, err
	}
	cpu0, _ := servers.ProcessCPU(b.PID())
	var res result
	if res.produce, err = produce(ctx, seeds, topic, size, n, o); err != nil {
		return res, err
	}
	if res.consume, err = consume(ctx, seeds, topic, n); err != nil {
		return res, err
	}
	cpu1, _ := servers.ProcessCPU(b.PID())
	res.cpu = (cpu1 - cpu0).Seconds()
	res.logBytes, res.avgBatch, err = scanLog(filepath.Join(b.Config().LogDir(), topic+"-0"))
	return res, err
}

func benchKfake(ctx context.Context, topic string, size int, n int64, o options) (result, error) {
	k, err := startKfake(ctx, topic, !o.kfakeInProcess)
	if err != nil {
		return result{}, err
	}
	defer k.close()
	seeds := k.seeds
	var res result
	if res.produce, err = produce(ctx, seeds, topic, size, n, o); err != nil {
		return res, err
	}
	res.consume, err = consume(ctx, seeds, topic, n)
	return res, err
}

// benchNull produces to the null broker: the produce rate of a broker that costs nothing.
func benchNull(ctx context.Context, topic string, size int, n int64, o options) (result, error) {
	nb, err := startChildServer(ctx, serveNullFlag, topic)
	if err != nil {
		return result{}, err
	}
	defer nb.close()
	var res result
	res.produce, err = produce(ctx, nb.seeds, topic, size, n, o)
	return res, err
}

// produce sends n records of size bytes to partition 0 as fast as the client
// goes (acks=all, which on a single replica is the leader's append) and
// returns the time until the last acknowledgement.
func produce(ctx context.Context, seeds []string, topic string, size int, n int64, o options) (time.Duration, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerLinger(o.linger), kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(1<<20),
		kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(5))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	value := make([]byte, size)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	// Warm the connection and metadata outside the measurement.
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
		return 0, err
	}
	n--
	var failed error
	errs := make(chan error, 1)
	start := time.Now()
	for i := int64(0); i < n; i++ {
		cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	select {
	case failed = <-errs:
	default:
	}
	return elapsed, failed
}

// consume reads n records from the start of partition 0.
func consume(ctx context.Context, seeds []string, topic string, n int64) (time.Duration, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxBytes(64<<20), kgo.FetchMaxPartitionBytes(16<<20))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	start := time.Now()
	var got int64
	for got < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return 0, err
		}
		got += int64(fs.NumRecords())
	}
	return time.Since(start), nil
}

// scanLog walks the batch headers of a partition's segment files and returns
// their total size and the average batch size.
func scanLog(dir string) (bytes, avgBatch int64, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	var batches int64
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".log" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return 0, 0, err
		}
		for pos := 0; pos+12 <= len(data); {
			n := int(binary.BigEndian.Uint32(data[pos+8:])) + 12
			pos += n
			batches++
		}
		bytes += int64(len(data))
	}
	if batches == 0 {
		return bytes, 0, fmt.Errorf("no batch in %s", dir)
	}
	return bytes, bytes / batches, nil
}
