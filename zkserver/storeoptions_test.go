package zkserver

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/internal/testlog"
	"github.com/zabkafka/zabkafka/storage"
	"github.com/zabkafka/zabkafka/storage/badgerstore"
)

// fsync.warningthresholdms reaches the store: with a threshold every real
// sync exceeds, an append logs the warning; with the default it does not.
func TestFsyncWarningThreshold(t *testing.T) {
	if got := DefaultConfig().FsyncWarningThreshold; got != time.Second {
		t.Fatalf("default threshold %v, want ZooKeeper's 1s", got)
	}
	for _, key := range []string{"fsync.warningthresholdms", "zookeeper.fsync.warningthresholdms"} {
		cfg, _, err := ParseConfig(strings.NewReader("dataDir=/tmp/x\n" + key + "=250\n"))
		if err != nil || cfg.FsyncWarningThreshold != 250*time.Millisecond {
			t.Fatalf("%s=250: %v, %v", key, cfg, err)
		}
	}

	for _, tc := range []struct {
		threshold time.Duration
		warn      bool
	}{{time.Nanosecond, true}, {time.Hour, false}} {
		cfg := DefaultConfig()
		cfg.FsyncWarningThreshold = tc.threshold
		// badger logs from its own goroutines too: a buffer safe to share.
		var out testlog.Buffer
		st, err := badgerstore.Open(t.TempDir(), 0, cfg.StoreOptions(zerolog.New(&out)))
		if err != nil {
			t.Fatal(err)
		}
		err = st.Append([]storage.Entry{{Zxid: 1, Data: []byte("txn")}}, nil, true)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Contains(out.String(), "fsync.warningthresholdms")
		if got != tc.warn {
			t.Errorf("threshold %v: warning logged %v, want %v; log:\n%s", tc.threshold, got, tc.warn, out.String())
		}
	}
}
