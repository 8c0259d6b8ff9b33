package zkserver

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	cfg, warnings, err := ParseConfig(strings.NewReader(`
# a zoo.cfg as people write them
tickTime=500
initLimit=10
syncLimit=5
dataDir=/var/lib/zk
clientPort=2281
clientPortAddress=127.0.0.1
maxClientCnxns=0
4lw.commands.whitelist=srvr, ruok ,mntr
extendedTypesEnabled=true
DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
ssl.keyStore.location=/etc/ks.jks
frobnicate=yes
zkd.txnValueLog=yes
server.1=127.0.0.1:2888:3888
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TickTime != 500*time.Millisecond || cfg.ClientPort != 2281 || cfg.DataDir != "/var/lib/zk" || cfg.DataLogDir != "/var/lib/zk" {
		t.Fatalf("cfg %+v", cfg)
	}
	// Session bounds default to 2 and 20 ticks.
	if cfg.MinSessionTimeout != time.Second || cfg.MaxSessionTimeout != 10*time.Second {
		t.Fatalf("session bounds %v..%v", cfg.MinSessionTimeout, cfg.MaxSessionTimeout)
	}
	if !slices.Equal(cfg.FourLetterWords, []string{"srvr", "ruok", "mntr"}) || cfg.FourLetterWordAllowed("wchp") || !cfg.FourLetterWordAllowed("ruok") {
		t.Fatalf("whitelist %v", cfg.FourLetterWords)
	}
	if !cfg.TxnValueLog || DefaultConfig().TxnValueLog {
		t.Fatalf("zkd.txnValueLog=yes read as %v; default %v", cfg.TxnValueLog, DefaultConfig().TxnValueLog)
	}
	if !cfg.ExtendedTypesEnabled || cfg.SuperDigest == "" || cfg.MaxClientCnxns != 0 || cfg.Servers[1] != "127.0.0.1:2888:3888" {
		t.Fatalf("cfg %+v", cfg)
	}
	joined := strings.Join(warnings, "\n")
	for _, k := range []string{"serverCnxnFactory", "ssl.keyStore.location", "frobnicate: unknown key"} {
		if !strings.Contains(joined, k) {
			t.Errorf("no warning for %s in:\n%s", k, joined)
		}
	}
}

func TestParseConfigErrorsNameTheKey(t *testing.T) {
	for cfg, key := range map[string]string{
		"tickTime=fast":         "tickTime",
		"clientPort=99999":      "clientPort",
		"maxSessionTimeout=abc": "maxSessionTimeout",
		"tickTime=0":            "tickTime",
		"minSessionTimeout=9000\nmaxSessionTimeout=1000": "minSessionTimeout",
		"server.300=h:1:2": "server.300",
		"just some words":  "key=value",
		"DigestAuthenticationProvider.superDigest=nocolon": "superDigest",
		"clientPortAddress=not-an-ip":                      "clientPortAddress",
		"zkd.txnValueLog=maybe":                            "zkd.txnValueLog",
		"fsync.warningthresholdms=0":                       "fsync.warningthresholdms",
		"fsync.warningthresholdms=soon":                    "fsync.warningthresholdms",
	} {
		_, _, err := ParseConfig(strings.NewReader(cfg))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: error %v, want one naming %s", cfg, err, key)
		}
	}
}

func TestLoadConfigReadsMyid(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "zoo.cfg")
	os.WriteFile(cfgPath, []byte("tickTime=2000\ndataDir="+dir+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "myid"), []byte("3\n"), 0o644)
	cfg, _, err := LoadConfig(cfgPath)
	if err != nil || cfg.ServerID != 3 {
		t.Fatalf("cfg %+v err %v", cfg, err)
	}
	os.WriteFile(filepath.Join(dir, "myid"), []byte("three\n"), 0o644)
	if _, _, err := LoadConfig(cfgPath); err == nil || !strings.Contains(err.Error(), "myid") {
		t.Fatalf("bad myid: %v", err)
	}
}

func TestSessionIDsAndPasswords(t *testing.T) {
	id := initialSessionID(5, 1_700_000_000_000)
	if id>>56 != 5 {
		t.Fatalf("server id not in the top byte: 0x%x", id)
	}
	// java.util.Random(sessionId ^ 0xB3415C00).nextBytes(16), printed by
	// OpenJDK 17: a Java server and zkd give a session the same password.
	for id, want := range map[int64][]byte{
		0:                  {0xf2, 0x2a, 0xcd, 0x4a, 0x97, 0xe6, 0x9d, 0x6d, 0x20, 0xa4, 0x9b, 0xb6, 0x38, 0xea, 0xdb, 0x38},
		0x05a1fe1c376a0001: {0x17, 0x9c, 0x40, 0x80, 0xe1, 0x75, 0xac, 0xe1, 0x77, 0x72, 0xa5, 0x3c, 0xc6, 0xd7, 0xb7, 0x20},
		-5:                 {0xd4, 0x71, 0x44, 0xb5, 0xe4, 0x5e, 0x45, 0xc4, 0x9c, 0x3b, 0x7f, 0xdc, 0xd6, 0x62, 0x57, 0xba},
	} {
		if got := sessionPassword(id); !slices.Equal(got, want) {
			t.Errorf("password(0x%x) = % x, want % x", id, got, want)
		}
	}
	if slices.Equal(sessionPassword(1), sessionPassword(2)) {
		t.Fatal("two sessions share a password")
	}
}

func TestExpiryQueue(t *testing.T) {
	q := newExpiryQueue(100, 1000)
	q.touch(1, 1000, 250) // expires in the bucket at 1300
	q.touch(2, 1000, 500) // 1600
	if got := q.expired(1299); len(got) != 0 {
		t.Fatalf("expired early: %v", got)
	}
	q.touch(1, 1200, 250) // re-armed: 1500
	if got := q.expired(1499); len(got) != 0 {
		t.Fatalf("touched session expired: %v", got)
	}
	if got := q.expired(1500); !slices.Equal(got, []int64{1}) {
		t.Fatalf("at 1500: %v", got)
	}
	q.remove(2)
	if got := q.expired(5000); len(got) != 0 {
		t.Fatalf("removed session expired: %v", got)
	}
}
