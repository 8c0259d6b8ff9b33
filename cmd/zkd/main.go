// Command zkd is a ZooKeeper-compatible coordination server.
//
//	zkd -config zoo.cfg     # ZooKeeper's own config keys; server.N lines and
//	                        # dataDir/myid make it an ensemble member
//	zkd                     # standalone on 127.0.0.1:2181, data under ./data/zkd
//
// SIGTERM and SIGINT stop it cleanly with exit status 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof" // served only with -pprof
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/zabkafka/zabkafka/internal/logsetup"
	"github.com/zabkafka/zabkafka/storage/badgerstore"
	"github.com/zabkafka/zabkafka/zkserver"
)

func main() {
	os.Exit(run())
}

func run() int {
	configPath := flag.String("config", "", "path to a zoo.cfg (default: standalone on 127.0.0.1:2181)")
	dataDir := flag.String("data-dir", "", "override dataDir")
	port := flag.Int("port", 0, "override clientPort")
	logFormat := flag.String("log-format", "console", "log format: console or json")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn, error")
	version := flag.Bool("version", false, "print the version and exit")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060); off by default")
	flag.Parse()
	if *version {
		fmt.Println(zkserver.Version)
		return 0
	}
	if flag.NArg() == 1 && *configPath == "" {
		*configPath = flag.Arg(0) // zkServer.sh style: the config as the only argument
	}

	if os.Getenv("GOGC") == "" {
		go tuneGC(time.Second) // an explicit GOGC wins
	}
	log, err := logsetup.New(*logFormat, *logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkd:", err)
		return 2
	}

	cfg := zkserver.DefaultConfig()
	if *configPath != "" {
		var warnings []string
		cfg, warnings, err = zkserver.LoadConfig(*configPath)
		if err != nil {
			log.Error().Err(err).Msg("invalid configuration")
			return 2
		}
		for _, w := range warnings {
			log.Warn().Str("config", *configPath).Msg(w)
		}
	} else {
		cfg.FourLetterWords = []string{"*"} // a local development server: allow every 4lw
	}
	if *dataDir != "" {
		cfg.DataDir, cfg.DataLogDir = *dataDir, *dataDir
	}
	if *port != 0 {
		cfg.ClientPort = *port
	}
	if err := cfg.Validate(); err != nil {
		log.Error().Err(err).Msg("invalid configuration")
		return 2
	}

	if *pprofAddr != "" {
		go func() {
			log.Info().Str("addr", *pprofAddr).Msg("serving pprof")
			if err := http.ListenAndServe(*pprofAddr, nil); err != nil {
				log.Error().Err(err).Msg("pprof listener failed")
			}
		}()
	}

	dir := cfg.StorageDir()
	st, err := badgerstore.Open(dir, cfg.ServerID, cfg.StoreOptions(log))
	if err != nil {
		log.Error().Err(err).Msg("cannot open the data dir")
		return 1
	}
	var srv *zkserver.Server
	if cfg.Ensemble() {
		self := cfg.Self()
		log.Info().Int64("myid", cfg.ServerID).Str("quorum", self.QuorumAddr()).Str("election", self.ElectionAddr()).
			Bool("observer", self.Observer).Int("servers", len(cfg.Servers)).Msg("ensemble member")
		srv, err = zkserver.OpenEnsemble(cfg, log, st, zkserver.EnsembleOptions{})
	} else {
		srv, err = zkserver.Open(cfg, log, st)
	}
	if err != nil {
		st.Close()
		log.Error().Err(err).Str("dir", dir).Msg("cannot restore state")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Restoring a large tree leaves garbage (the decoded snapshot) that
	// the runtime would keep mapped; return it once the server is serving.
	time.AfterFunc(time.Second, debug.FreeOSMemory)
	if err := srv.Run(ctx); err != nil {
		log.Error().Err(err).Msg("stopped on error")
		return 1
	}
	return 0
}
