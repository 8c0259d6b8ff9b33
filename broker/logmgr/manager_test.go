package logmgr

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/broker/log"
)

func TestOpenPlacesReopensAndMarksCleanShutdown(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	m, err := Open(Config{Dirs: []string{a, b}, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 4; p++ {
		if _, created, err := m.GetOrCreate(log.TopicPartition{Topic: "t", Partition: p}, log.DefaultConfig()); err != nil || !created {
			t.Fatalf("create t-%d: %v %v", p, created, err)
		}
	}
	// Placement: the directory with fewer partitions first.
	for _, d := range []string{a, b} {
		tps, _ := log.PartitionDirs(d)
		if len(tps) != 2 {
			t.Fatalf("%s holds %d partitions, want 2", d, len(tps))
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{a, b} {
		if _, err := os.Stat(filepath.Join(d, log.CleanShutdownFile)); err != nil {
			t.Fatalf("no clean shutdown marker in %s: %v", d, err)
		}
		if _, err := os.Stat(filepath.Join(d, log.RecoveryPointCheckpointFile)); err != nil {
			t.Fatalf("no recovery point checkpoint in %s: %v", d, err)
		}
	}
	// A leftover deletion is finished at start.
	os.MkdirAll(filepath.Join(a, "gone-0.abc123-delete"), 0o755)
	m2, err := Open(Config{Dirs: []string{a, b}, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if got := len(m2.Partitions()); got != 4 {
		t.Fatalf("reopened %d partitions, want 4", got)
	}
	if _, err := os.Stat(filepath.Join(a, "gone-0.abc123-delete")); !os.IsNotExist(err) {
		t.Fatal("a -delete directory survived the start")
	}
	if _, err := os.Stat(filepath.Join(a, log.CleanShutdownFile)); !os.IsNotExist(err) {
		t.Fatal("the clean shutdown marker must go once the logs are open")
	}
	if err := m2.Delete(log.TopicPartition{Topic: "t", Partition: 0}); err != nil {
		t.Fatal(err)
	}
	if m2.Get(log.TopicPartition{Topic: "t", Partition: 0}) != nil {
		t.Fatal("deleted log still listed")
	}
}

func TestMetaPropertiesAcrossDirs(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if id, cluster, err := ReadMetaProperties([]string{a, b}); err != nil || id != -1 || cluster != "" {
		t.Fatalf("fresh dirs: %d %q %v", id, cluster, err)
	}
	if err := WriteMetaProperties([]string{a, b}, 4, "abcdefghijklmnopqrstuv"); err != nil {
		t.Fatal(err)
	}
	if id, cluster, err := ReadMetaProperties([]string{a, b}); err != nil || id != 4 || cluster != "abcdefghijklmnopqrstuv" {
		t.Fatalf("after write: %d %q %v", id, cluster, err)
	}
	if err := WriteMetaProperties([]string{b}, 5, "abcdefghijklmnopqrstuv"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadMetaProperties([]string{a, b}); !errors.Is(err, log.ErrInconsistentBrokerID) {
		t.Fatalf("dirs of two brokers: %v", err)
	}
}
