package integration

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zabkafka/zabkafka/integration/harness"
)

// TestBrokerdKillDuringProduce SIGKILLs a brokerd while producers are
// writing with acks=all, leaves a torn batch at the end of a segment (what a
// power cut in the middle of a write leaves), restarts it, and checks that
// every acknowledged record is there, that recovery cut only the torn bytes,
// and that offsets continue without a gap.
func TestBrokerdKillDuringProduce(t *testing.T) {
	zkd := zkdForBrokers(t)
	b := harness.StartBrokerdT(t, harness.BrokerdConfig{ID: 1, ZooKeeper: zkd.Addr()})
	const topic, partitions = "crash", 2
	createTopicAndWait(t, []string{b.Addr()}, topic, partitions, nil)

	for round := 0; round < 2; round++ {
		acked := produceUntilKilled(t, b, topic, round)
		segment := filepath.Join(b.Config().LogDir(), topic+"-0", "00000000000000000000.log")
		torn := tearTail(t, segment)
		b = harness.RestartBrokerdT(t, b)
		want := fmt.Sprintf("truncated %d bytes of segment 0", torn)
		found := false
		for _, l := range strings.Split(b.LogTail(400), "\n") {
			if strings.Contains(l, "partition="+topic+"-0") && strings.Contains(l, want) {
				found = true
			}
		}
		if !found {
			t.Fatalf("round %d: no %q for %s-0 in the restart log:\n%s", round, want, topic, b.LogTail(40))
		}
		checkAcked(t, b, topic, partitions, acked)
	}
}

// produceUntilKilled produces with several goroutines until about 3,000
// records are acknowledged, then SIGKILLs the broker mid-stream. It returns
// the acknowledged values.
func produceUntilKilled(t *testing.T, b *harness.Brokerd, topic string, round int) map[string]bool {
	t.Helper()
	cl := kgoClient(t, []string{b.Addr()}, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DisableIdempotentWrite(),
		kgo.RecordRetries(0), kgo.ProducerLinger(time.Millisecond), kgo.RequestTimeoutOverhead(2*time.Second),
		kgo.RecordDeliveryTimeout(5*time.Second),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	ctx := timeoutCtx(t, 60*time.Second)
	var mu sync.Mutex
	acked := map[string]bool{}
	ackedN := 0
	killed := make(chan struct{})
	var killOnce sync.Once
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-killed:
					return
				default:
				}
				v := fmt.Sprintf("r%d-w%d-%d", round, w, i)
				cl.Produce(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}, func(r *kgo.Record, err error) {
					if err != nil {
						return
					}
					mu.Lock()
					acked[string(r.Value)] = true
					ackedN++
					n := ackedN
					mu.Unlock()
					if n >= 3000 {
						killOnce.Do(func() { b.Kill(); close(killed) })
					}
				})
				if i%64 == 0 {
					time.Sleep(time.Millisecond) // keep batches small and many
				}
			}
		}()
	}
	select {
	case <-killed:
	case <-ctx.Done():
		t.Fatal("3,000 acknowledgements did not arrive")
	}
	wg.Wait()
	cl.Close() // fails what is still buffered; those were never acknowledged
	mu.Lock()
	defer mu.Unlock()
	out := make(map[string]bool, len(acked))
	for k := range acked {
		out[k] = true
	}
	return out
}

// tearTail appends half of a next batch to the segment: a copy of its last
// batch renumbered to follow it, cut in the middle, which is what a crash
// in the middle of a write leaves.
func tearTail(t *testing.T, segment string) int {
	t.Helper()
	data, err := os.ReadFile(segment)
	if err != nil {
		t.Fatal(err)
	}
	var last []byte
	for pos := 0; pos+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[pos+8:])) + 12
		if pos+n > len(data) {
			break
		}
		last = data[pos : pos+n]
		pos += n
	}
	if last == nil {
		t.Fatalf("segment %s holds no batch", segment)
	}
	next := append([]byte(nil), last...)
	base := int64(binary.BigEndian.Uint64(last))
	lastOffsetDelta := int64(binary.BigEndian.Uint32(last[23:]))
	binary.BigEndian.PutUint64(next, uint64(base+lastOffsetDelta+1))
	torn := next[:len(next)/2]
	f, err := os.OpenFile(segment, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(torn); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return len(torn)
}

// checkAcked consumes the whole topic and requires every acknowledged value,
// offsets without gaps, and a next produce landing right after the
// recovered end.
func checkAcked(t *testing.T, b *harness.Brokerd, topic string, partitions int, acked map[string]bool) {
	t.Helper()
	seeds := []string{b.Addr()}
	ctx := timeoutCtx(t, 60*time.Second)
	adm := kadm.NewClient(kgoClient(t, seeds))
	// Until the controller has told the restarted broker it leads the
	// partitions (a new controller waits for the old session's /controller
	// to expire), ListOffsets answers with per-partition errors, and their
	// offsets must not be taken for the end.
	var ends kadm.ListedOffsets
	within(t, 30*time.Second, "end offsets of every partition after the restart", func() bool {
		var err error
		ends, err = adm.ListEndOffsets(ctx, topic)
		return err == nil && ends.Error() == nil && len(ends[topic]) == partitions
	})
	total := int64(0)
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	cl := kgoClient(t, seeds, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	seen := map[string]bool{}
	next := map[int32]int64{}
	var read int64
	for read < total {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume after restart: %v", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != next[r.Partition] {
				t.Fatalf("partition %d: offset %d after %d", r.Partition, r.Offset, next[r.Partition]-1)
			}
			next[r.Partition]++
			seen[string(r.Value)] = true
			read++
		})
	}
	missing := 0
	for v := range acked {
		if !seen[v] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged records are missing after the restart", missing, len(acked))
	}
	p := kgoClient(t, seeds, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	r := &kgo.Record{Topic: topic, Partition: 0, Value: []byte("after-restart")}
	if err := p.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if r.Offset != next[0] {
		t.Fatalf("the first record after the restart got offset %d, want %d", r.Offset, next[0])
	}
}
