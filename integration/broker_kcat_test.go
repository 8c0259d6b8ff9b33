package integration

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zabkafka/zabkafka/integration/harness"
)

// TestBrokerdKcat drives a real brokerd with Debian's kcat (librdkafka):
// metadata listing, and a 10,000-message keyed produce and consume round
// trip, cross-checked with franz-go.
func TestBrokerdKcat(t *testing.T) {
	kcat := harness.Kcat(t)
	b := harness.StartBrokerdT(t, harness.BrokerdConfig{})
	seeds := []string{b.Addr()}
	run := func(stdin []byte, args ...string) (string, string) {
		t.Helper()
		ctx := timeoutCtx(t, 60*time.Second)
		cmd := exec.CommandContext(ctx, kcat, append([]string{"-b", b.Addr()}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("kcat %v: %v\nstderr:\n%s", args, err, errb.String())
		}
		return out.String(), errb.String()
	}

	const topic, partitions, n = "kcat-roundtrip", 3, 10000
	createTopicAndWait(t, seeds, topic, partitions, nil)

	listing, _ := run(nil, "-L")
	for _, want := range []string{
		"1 brokers:",
		fmt.Sprintf("broker 0 at %s (controller)", b.Addr()),
		fmt.Sprintf(`topic "%s" with %d partitions:`, topic, partitions),
		"partition 0, leader 0, replicas: 0, isrs: 0",
	} {
		if !strings.Contains(listing, want) {
			t.Fatalf("kcat -L lacks %q:\n%s", want, listing)
		}
	}

	var in bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&in, "key-%d:value-%d-%s\n", i%500, i, strings.Repeat("v", i%40))
	}
	run(in.Bytes(), "-P", "-t", topic, "-K:", "-X", "linger.ms=5")

	out, _ := run(nil, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%p %o %k %s\n")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != n {
		t.Fatalf("kcat -C read %d messages, want %d", len(lines), n)
	}
	seen := make(map[int]bool, n)
	keyPartition := map[string]string{}
	nextOffset := map[string]int{}
	for _, l := range lines {
		f := strings.SplitN(l, " ", 4)
		if len(f) != 4 {
			t.Fatalf("bad kcat line %q", l)
		}
		p, off, key, val := f[0], f[1], f[2], f[3]
		var i int
		if _, err := fmt.Sscanf(val, "value-%d-", &i); err != nil {
			t.Fatalf("value %q: %v", val, err)
		}
		if key != fmt.Sprintf("key-%d", i%500) || val != fmt.Sprintf("value-%d-%s", i, strings.Repeat("v", i%40)) {
			t.Fatalf("message %d came back as key %q value %q", i, key, val)
		}
		if seen[i] {
			t.Fatalf("message %d read twice", i)
		}
		seen[i] = true
		if prev, ok := keyPartition[key]; ok && prev != p {
			t.Fatalf("key %s in partitions %s and %s", key, prev, p)
		}
		keyPartition[key] = p
		if o, _ := strconv.Atoi(off); o != nextOffset[p] {
			t.Fatalf("partition %s: offset %d after %d", p, o, nextOffset[p]-1)
		}
		nextOffset[p]++
	}

	// franz-go reads the same 10,000 messages that librdkafka wrote.
	cl := kgoClient(t, seeds, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx := timeoutCtx(t, 30*time.Second)
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		got += fs.NumRecords()
	}
	if got != n {
		t.Fatalf("franz-go read %d messages, want %d", got, n)
	}
}
