package main

import (
	"fmt"
	"os"

	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/storage/badgerstore"
	"github.com/zabkafka/zabkafka/zkserver"
)

// startDevZooKeeper runs a standalone zkd inside brokerd for dev mode: its
// data persists in dir (so topics survive a restart) and it listens on
// 127.0.0.1 only.
func startDevZooKeeper(dir string, port int, lg zerolog.Logger) (*zkserver.Server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfg := zkserver.DefaultConfig()
	cfg.DataDir, cfg.DataLogDir = dir, dir
	cfg.ClientPort = port
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.FourLetterWords = []string{"*"}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := badgerstore.Open(cfg.StorageDir(), cfg.ServerID, cfg.StoreOptions(lg))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", cfg.StorageDir(), err)
	}
	srv, err := zkserver.Open(cfg, lg, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	return srv, nil
}
