// Command zkd is a ZooKeeper-compatible coordination server.
//
//	zkd -config zoo.cfg     # ZooKeeper's own config keys
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
	"strconv"
	"syscall"
	"time"

	"github.com/rs/zerolog"

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
	log, err := newLogger(*logFormat, *logLevel)
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
	if len(cfg.Servers) > 1 {
		log.Warn().Int("servers", len(cfg.Servers)).
			Msg("server.N lines found: ensembles are not implemented yet, running standalone")
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
	st, err := badgerstore.Open(dir, cfg.ServerID, badgerstore.Options{NoSync: !cfg.ForceSync, Logger: log})
	if err != nil {
		log.Error().Err(err).Msg("cannot open the data dir")
		return 1
	}
	srv, err := zkserver.Open(cfg, log, st)
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

func newLogger(format, level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("-log-level %q: %w", level, err)
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	var log zerolog.Logger
	switch format {
	case "json":
		log = zerolog.New(os.Stderr)
	case "console":
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000"})
	default:
		return zerolog.Logger{}, fmt.Errorf("-log-format %q: want console or json", format)
	}
	return log.Level(lvl).With().Timestamp().Str("pid", strconv.Itoa(os.Getpid())).Logger(), nil
}
