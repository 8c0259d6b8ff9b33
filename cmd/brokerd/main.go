// Command brokerd is a Kafka-compatible broker that keeps its cluster
// metadata in ZooKeeper as Kafka's ZooKeeper mode does.
//
//	brokerd server.properties        # Kafka's own keys; zookeeper.connect names the ensemble
//	brokerd                          # dev mode: one broker on 127.0.0.1:9092, data under
//	                                 # ./data/brokerd, an embedded zkd in the same process
//
// Without zookeeper.connect brokerd starts an embedded single-node zkd
// (persistent, under <data-dir>/zookeeper, on a free loopback port unless
// -dev-zk-port says otherwise) and uses it. SIGTERM and SIGINT stop it
// cleanly (controlled shutdown, logs flushed and marked clean) with exit
// status 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof" // served only with -pprof
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/zabkafka/zabkafka/broker"
	"github.com/zabkafka/zabkafka/internal/logsetup"
	"github.com/zabkafka/zabkafka/zkserver"
)

// overrides collects repeated -override key=value flags (Kafka's --override).
type overrides map[string]string

func (o overrides) String() string { return fmt.Sprint(map[string]string(o)) }

func (o overrides) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	o[strings.TrimSpace(k)] = strings.TrimSpace(v)
	return nil
}

func main() { os.Exit(run()) }

func run() int {
	over := overrides{}
	configPath := flag.String("config", "", "path to a server.properties (also accepted as the only argument)")
	dataDir := flag.String("data-dir", "data/brokerd", "dev mode: where the logs (kafka-logs) and the embedded zkd (zookeeper) live")
	port := flag.Int("port", 0, "override the port of the first listener")
	devZkPort := flag.Int("dev-zk-port", 0, "dev mode: client port of the embedded zkd on 127.0.0.1 (0 picks a free one)")
	flag.Var(over, "override", "set a server.properties key (key=value); repeatable")
	logFormat := flag.String("log-format", "console", "log format: console or json")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn, error")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address; off by default")
	flag.Parse()
	if flag.NArg() == 1 && *configPath == "" {
		*configPath = flag.Arg(0)
	} else if flag.NArg() > 1 {
		fmt.Fprintln(os.Stderr, "brokerd: at most one argument, the server.properties")
		return 2
	}
	lg, err := logsetup.New(*logFormat, *logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "brokerd:", err)
		return 2
	}

	props := map[string]string{}
	if *configPath != "" {
		if props, err = readProperties(*configPath); err != nil {
			lg.Error().Err(err).Str("config", *configPath).Msg("cannot read the configuration")
			return 2
		}
	}
	for k, v := range over {
		props[k] = v
	}
	dev := strings.TrimSpace(props["zookeeper.connect"]) == ""
	if dev {
		setDefault(props, "broker.id", "0")
		setDefault(props, "listeners", "PLAINTEXT://127.0.0.1:9092")
		if _, ok := props["log.dir"]; !ok {
			setDefault(props, "log.dirs", filepath.Join(*dataDir, "kafka-logs"))
		}
	}
	cfg, warnings, err := broker.ConfigFromProperties(props)
	if err != nil {
		lg.Error().Err(err).Msg("invalid configuration")
		return 2
	}
	for _, w := range warnings {
		lg.Warn().Msg(w)
	}
	if *port != 0 {
		cfg.Listeners[0].Port = int32(*port)
		for i := range cfg.AdvertisedListeners {
			if cfg.AdvertisedListeners[i].Listener == cfg.Listeners[0].Listener {
				cfg.AdvertisedListeners[i].Port = int32(*port)
			}
		}
	}
	if *pprofAddr != "" {
		go func() {
			if err := http.ListenAndServe(*pprofAddr, nil); err != nil {
				lg.Error().Err(err).Msg("pprof listener failed")
			}
		}()
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var zk *zkserver.Server
	if dev {
		zk, err = startDevZooKeeper(filepath.Join(*dataDir, "zookeeper"), *devZkPort, lg.With().Str("component", "zkd").Logger())
		if err != nil {
			lg.Error().Err(err).Msg("cannot start the embedded zkd")
			return 1
		}
		cfg.ZooKeeperConnect = zk.Addr().String()
		lg.Info().Str("zookeeper", cfg.ZooKeeperConnect).Str("dataDir", *dataDir).
			Msg("dev mode: no zookeeper.connect, running an embedded zkd")
	}
	b := broker.New(cfg, lg, broker.KafkaController(cfg))
	code := 0
	if err := b.Start(); err != nil {
		lg.Error().Err(err).Msg("cannot start")
		code = 1
	} else {
		<-ctx.Done()
		lg.Info().Msg("shutting down")
		if err := b.Close(); err != nil {
			lg.Error().Err(err).Msg("shutdown failed")
			code = 1
		}
	}
	if zk != nil {
		zk.Stop()
	}
	return code
}

func setDefault(props map[string]string, k, v string) {
	if _, ok := props[k]; !ok {
		props[k] = v
	}
}

func readProperties(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return broker.ReadProperties(f)
}
