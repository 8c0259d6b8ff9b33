package log

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckpointFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), RecoveryPointCheckpointFile)
	in := map[TopicPartition]int64{{"a-b", 0}: 5, {"a-b", 10}: 7, {"__consumer_offsets", 3}: 1 << 40}
	if err := WriteCheckpointFile(path, in); err != nil {
		t.Fatal(err)
	}
	want := "0\n3\n__consumer_offsets 3 1099511627776\na-b 0 5\na-b 10 7\n"
	if got := string(fileBytes(t, path)); got != want {
		t.Fatalf("file:\n%s\nwant:\n%s", got, want)
	}
	out, err := ReadCheckpointFile(path)
	if err != nil || len(out) != 3 || out[TopicPartition{"a-b", 10}] != 7 {
		t.Fatalf("%v %v", out, err)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatal("tmp file left behind")
	}
}

func TestCheckpointFileRejectsMalformed(t *testing.T) {
	for _, bad := range []string{"", "1\n0\n", "0\n2\nt 0 1\n", "0\n1\nt 0\n", "0\n1\nt x 1\n", "0\n0\nt 0 1\n", "0\n-1\n"} {
		if _, err := parseCheckpoint("f", []byte(bad)); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	if m, err := parseCheckpoint("f", []byte("0\n0\n")); err != nil || len(m) != 0 {
		t.Errorf("empty checkpoint: %v %v", m, err)
	}
}

func TestLogDirCheckpointsDriveOpen(t *testing.T) {
	logDir := t.TempDir()
	tp := TopicPartition{"orders", 2}
	cfg := testConfig(&fakeClock{})
	cfg.SegmentBytes = 300
	l := mustOpen(t, PartitionDir(logDir, tp), cfg)
	for range 6 {
		mustAppend(t, l, valueBatch(2, 50, 1))
	}
	l.SetHighWatermark(9)
	l.DeleteRecordsBefore(5)
	l.Flush()
	if err := WriteCheckpoints(logDir, []*Log{l}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	MarkCleanShutdown(logDir)

	cps, clean, err := LoadCheckpoints(logDir)
	if err != nil || !clean {
		t.Fatalf("%v clean=%v", err, clean)
	}
	c := cps[tp]
	if c != (Checkpoint{RecoveryPoint: 12, LogStartOffset: 5, HighWatermark: 9}) {
		t.Fatalf("checkpoint %+v", c)
	}
	l2, rep, err := Open(PartitionDir(logDir, tp), c.Apply(cfg, clean))
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if len(rep.RecoveredSegments) != 0 || l2.LogStartOffset() != 5 || l2.HighWatermark() != 9 || l2.LogEndOffset() != 12 {
		t.Fatalf("%s, [%d, %d] hw %d", rep, l2.LogStartOffset(), l2.LogEndOffset(), l2.HighWatermark())
	}
	if err := ClearCleanShutdown(logDir); err != nil {
		t.Fatal(err)
	}
	if _, clean, _ := LoadCheckpoints(logDir); clean {
		t.Fatal("marker survived")
	}
	tps, _ := PartitionDirs(logDir)
	if len(tps) != 1 || tps[0] != tp {
		t.Fatalf("partition dirs %v", tps)
	}
}

func TestParseTopicPartition(t *testing.T) {
	for name, want := range map[string]TopicPartition{"a-0": {"a", 0}, "my-topic-12": {"my-topic", 12}, "__consumer_offsets-49": {"__consumer_offsets", 49}} {
		if got, ok := ParseTopicPartition(name); !ok || got != want || got.String() != name {
			t.Errorf("%s: %v %v", name, got, ok)
		}
	}
	for _, bad := range []string{"a", "-1", "a-", "a-x", "a-01", "a-0.abc-delete", "a-0.abc-future", "a-99999999999"} {
		if _, ok := ParseTopicPartition(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestMetaProperties(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadMetaProperties(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	m := MetaProperties{BrokerID: 3, ClusterID: "Xb9zQm1lTGq7F0eY3pL2Nw"}
	if err := WriteMetaProperties(dir, m); err != nil {
		t.Fatal(err)
	}
	text := string(fileBytes(t, filepath.Join(dir, MetaPropertiesFile)))
	for _, line := range []string{"version=0\n", "broker.id=3\n", "cluster.id=Xb9zQm1lTGq7F0eY3pL2Nw\n"} {
		if !strings.Contains(text, line) {
			t.Fatalf("meta.properties lacks %q:\n%s", line, text)
		}
	}
	got, err := ReadMetaProperties(dir)
	if err != nil || got != m {
		t.Fatalf("%+v %v", got, err)
	}
	if err := got.Check(3, "Xb9zQm1lTGq7F0eY3pL2Nw"); err != nil {
		t.Fatal(err)
	}
	if err := got.Check(4, ""); !errors.Is(err, ErrInconsistentBrokerID) {
		t.Fatalf("other broker: %v", err)
	}
	if err := got.Check(3, "other"); !errors.Is(err, ErrInconsistentClusterID) {
		t.Fatalf("other cluster: %v", err)
	}
	// Kafka's own file, with a date comment and ':' separators, reads too.
	os.WriteFile(filepath.Join(dir, MetaPropertiesFile), []byte("#\n#Tue Mar 05 10:00:00 UTC 2024\nbroker.id : 7\nversion=0\n"), 0o644)
	if got, err := ReadMetaProperties(dir); err != nil || got.BrokerID != 7 || got.ClusterID != "" {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"version=1\nnode.id=1\n", "version=0\n", "version=0\nbroker.id=-1\n", "broker.id=1\n", "version=0\nbroker.id=1\\\n"} {
		os.WriteFile(filepath.Join(dir, MetaPropertiesFile), []byte(bad), 0o644)
		if _, err := ReadMetaProperties(dir); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
