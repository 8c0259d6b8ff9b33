// Package broker is brokerd's Kafka broker: the Kafka-protocol listener with
// one handler file per API key, the metadata cache fed by the controller's
// UpdateMetadata, the broker's ZooKeeper registration and admin writes, and
// the wiring of the log manager (broker/logmgr), the partitions
// (broker/replica) and the controller (broker/controller).
package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/log"
	"github.com/zabkafka/zabkafka/broker/logmgr"
	"github.com/zabkafka/zabkafka/broker/replica"
	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// Controller is the local controller (broker/controller.Controller) as the
// broker uses it: it runs it, asks whether it is active, and forwards the
// broker-to-controller requests to it.
type Controller interface {
	Run(ctx context.Context) error
	Active() (epoch int32, ok bool)
	HandleControlledShutdown(ctx context.Context, req *kmsg.ControlledShutdownRequest) *kmsg.ControlledShutdownResponse
	HandleAlterPartition(ctx context.Context, req *kmsg.AlterPartitionRequest) *kmsg.AlterPartitionResponse
}

// ControllerFactory builds the local controller once the broker is
// registered. The broker passes its ZooKeeper client and its Sender.
type ControllerFactory func(brokerID int32, meta *zkmeta.Client, sender *Sender) (Controller, error)

// Broker is one brokerd.
type Broker struct {
	cfg *Config
	log zerolog.Logger

	newController ControllerFactory

	zkConn    *zk.Conn
	zkEvents  <-chan zk.Event
	meta      *zkmeta.Client
	clusterID string
	brokerID  int32

	brokerEpoch atomic.Int64
	sessionID   atomic.Int64 // the ZooKeeper session the registration belongs to

	logs     *logmgr.Manager
	replicas *replica.Manager
	cache    *metadataCache
	sender   *Sender
	ctrl     Controller
	topicCfg *topicConfigCache

	listeners []*listenerSocket

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	connsMu sync.Mutex
	conns   map[net.Conn]struct{}

	// ready is closed by the first UpdateMetadata that lists this broker:
	// until then client requests wait (see awaitReady).
	ready     chan struct{}
	readyOnce sync.Once

	closeOnce sync.Once
	closeErr  error
}

type listenerSocket struct {
	name string
	ln   net.Listener
}

// New builds a broker from a validated config. newController may be nil (no
// controller: this broker never becomes controller, which tests of the
// request handlers use).
func New(cfg *Config, lg zerolog.Logger, newController ControllerFactory) *Broker {
	ctx, cancel := context.WithCancel(context.Background())
	return &Broker{cfg: cfg, log: lg, newController: newController, cache: newMetadataCache(),
		ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}, brokerID: cfg.BrokerID, ready: make(chan struct{})}
}

// ID is the broker id (known after Start when generated).
func (b *Broker) ID() int32 { return b.brokerID }

// ClusterID is the cluster id read from or written to /cluster/id.
func (b *Broker) ClusterID() string { return b.clusterID }

// Epoch is the broker epoch: the czxid of this broker's registration.
func (b *Broker) Epoch() int64 { return b.brokerEpoch.Load() }

// Addr is the bound address of a listener, by name.
func (b *Broker) Addr(listener string) net.Addr {
	for _, l := range b.listeners {
		if l.name == listener {
			return l.ln.Addr()
		}
	}
	return nil
}

// Meta is the broker's ZooKeeper client.
func (b *Broker) Meta() *zkmeta.Client { return b.meta }

// Start brings the broker up in Kafka's order (KafkaServer.startup):
// ZooKeeper session and persistent paths, cluster id, broker id, log
// recovery, listener sockets, registration in /brokers/ids, meta.properties,
// the controller, then request processing.
func (b *Broker) Start() (err error) {
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if err := b.connectZooKeeper(); err != nil {
		return err
	}
	if b.clusterID, err = b.meta.GetOrCreateClusterID(); err != nil {
		return fmt.Errorf("cluster id: %w", err)
	}
	if err := b.resolveBrokerID(); err != nil {
		return err
	}
	b.log = b.log.With().Int32("broker", b.brokerID).Logger()
	b.topicCfg = newTopicConfigCache(b)
	b.logs, err = logmgr.Open(logmgr.Config{
		Dirs: b.cfg.LogDirs, LogConfig: b.topicCfg.logConfig,
		CheckpointInterval: b.cfg.ReplicaHighWatermarkCheckpointInterval,
		RetentionInterval:  b.cfg.LogRetentionCheckInterval,
		CleanerEnable:      b.cfg.LogCleanerEnable, CleanerBackoff: b.cfg.LogCleanerBackoff,
		Log: b.log,
	})
	if err != nil {
		return fmt.Errorf("log dirs: %w", err)
	}
	b.replicas = replica.NewManager(replica.Config{BrokerID: b.brokerID, Logs: b.logs, LogConfig: b.topicCfg.logConfig, Log: b.log})
	if err := b.bindListeners(); err != nil {
		return err
	}
	if err := b.register(); err != nil {
		return err
	}
	if err := logmgr.WriteMetaProperties(b.cfg.LogDirs, b.brokerID, b.clusterID); err != nil {
		return fmt.Errorf("meta.properties: %w", err)
	}
	b.sender = NewSender(b.brokerID, b.cfg.InterBrokerListener(), b.log)
	if b.newController != nil {
		if b.ctrl, err = b.newController(b.brokerID, b.meta, b.sender); err != nil {
			return fmt.Errorf("controller: %w", err)
		}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			if err := b.ctrl.Run(b.ctx); err != nil && !errors.Is(err, context.Canceled) {
				b.log.Error().Err(err).Msg("controller stopped")
			}
		}()
	}
	b.wg.Add(2)
	go b.watchSession()
	go b.watchConfigChanges()
	b.logs.Start()
	for _, l := range b.listeners {
		b.wg.Add(1)
		go b.acceptLoop(l)
	}
	b.log.Info().Str("cluster", b.clusterID).Int64("epoch", b.Epoch()).Msg("started")
	return nil
}

// Run starts the broker and serves until ctx is done, then shuts down.
func (b *Broker) Run(ctx context.Context) error {
	if err := b.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	return b.Close()
}

// resolveBrokerID decides the broker id from the config and meta.properties
// (KafkaServer.getOrGenerateBrokerId) and checks the cluster id there.
func (b *Broker) resolveBrokerID() error {
	metaID, metaCluster, err := logmgr.ReadMetaProperties(b.cfg.LogDirs)
	if err != nil {
		return err
	}
	if metaCluster != "" && metaCluster != b.clusterID {
		return fmt.Errorf("%w: the cluster id %s does not match the stored cluster id %s in meta.properties; "+
			"the broker is trying to join the wrong cluster", log.ErrInconsistentClusterID, b.clusterID, metaCluster)
	}
	switch {
	case b.cfg.BrokerID >= 0 && metaID >= 0 && metaID != b.cfg.BrokerID:
		return fmt.Errorf("%w: configured broker.id %d does not match stored broker.id %d in meta.properties",
			log.ErrInconsistentBrokerID, b.cfg.BrokerID, metaID)
	case b.cfg.BrokerID >= 0:
		b.brokerID = b.cfg.BrokerID
	case metaID >= 0:
		b.brokerID = metaID
	default:
		id, err := b.meta.GenerateBrokerID(b.cfg.ReservedBrokerMaxID)
		if err != nil {
			return fmt.Errorf("generate broker.id: %w", err)
		}
		b.brokerID = id
	}
	return nil
}

func (b *Broker) bindListeners() error {
	for _, ep := range b.cfg.Listeners {
		ln, err := net.Listen("tcp", listenAddr(ep))
		if err != nil {
			return fmt.Errorf("listener %s: %w", ep.Listener, err)
		}
		b.listeners = append(b.listeners, &listenerSocket{name: ep.Listener, ln: ln})
	}
	return nil
}

// registrationInfo is this broker's /brokers/ids/<id> (v5): the advertised
// endpoints, with port 0 replaced by the port actually bound.
func (b *Broker) registrationInfo() *zkmeta.BrokerInfo {
	eps := b.cfg.AdvertisedEndpoints()
	for i := range eps {
		if eps[i].Port == 0 {
			if a, ok := b.Addr(eps[i].Listener).(*net.TCPAddr); ok {
				eps[i].Port = int32(a.Port)
			}
		}
	}
	return &zkmeta.BrokerInfo{ID: b.brokerID, Version: 5, Endpoints: eps, Rack: b.cfg.Rack, JmxPort: -1,
		Features: map[string]zkmeta.SupportedVersionRange{}}
}

// register writes /brokers/ids/<id>. A registration left by a previous run
// whose session ZooKeeper has not expired yet is waited out (up to twice the
// session timeout), so a broker restarted right after a crash comes back
// instead of failing as Kafka would.
//
// The session id of the last registration is kept in the first log dir
// (sessionFile), so a broker restarted after a crash deletes the
// registration its dead process left (the KAFKA-7165 path of
// zkmeta.RegisterBroker) instead of waiting a session timeout for it.
func (b *Broker) register() error {
	prev := readSessionFile(b.cfg.LogDirs[0])
	if err := b.registerSession(prev); err != nil {
		return err
	}
	if err := writeSessionFile(b.cfg.LogDirs[0], b.sessionID.Load()); err != nil {
		b.log.Warn().Err(err).Msg("cannot record the zookeeper session id")
	}
	return nil
}

func (b *Broker) registerSession(prevSession int64) error {
	info := b.registrationInfo()
	deadline := time.Now().Add(2*b.cfg.ZooKeeperSessionTimeout + 5*time.Second)
	logged := false
	for {
		session := b.zkConn.SessionID()
		epoch, err := b.meta.RegisterBroker(info, prevSession)
		if err == nil {
			b.brokerEpoch.Store(epoch)
			b.sessionID.Store(session)
			return nil
		}
		if !errors.Is(err, zkmeta.ErrBrokerIDInUse) || time.Now().After(deadline) {
			return fmt.Errorf("register broker %d: %w", b.brokerID, err)
		}
		if !logged {
			b.log.Warn().Err(err).Msg("broker id registered by another session; waiting for it to expire")
			logged = true
		}
		select {
		case <-b.ctx.Done():
			return b.ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (b *Broker) acceptLoop(l *listenerSocket) {
	defer b.wg.Done()
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if b.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			b.log.Warn().Err(err).Str("listener", l.name).Msg("accept failed")
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		b.connsMu.Lock()
		if b.ctx.Err() != nil {
			b.connsMu.Unlock()
			nc.Close()
			return
		}
		b.conns[nc] = struct{}{}
		b.connsMu.Unlock()
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.serveConn(nc, l.name)
			b.connsMu.Lock()
			delete(b.conns, nc)
			b.connsMu.Unlock()
		}()
	}
}

// Close shuts the broker down (KafkaServer.shutdown): controlled shutdown
// with the controller, then the listeners and connections, the controller,
// the logs (fsynced, checkpointed, marked clean) and last the ZooKeeper
// session, which removes the registration.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		if b.cfg.ControlledShutdownEnable && b.meta != nil && b.sender != nil && b.Epoch() > 0 {
			b.controlledShutdown()
		}
		b.cancel()
		for _, l := range b.listeners {
			l.ln.Close()
		}
		b.connsMu.Lock()
		for nc := range b.conns {
			nc.Close()
		}
		b.connsMu.Unlock()
		b.wg.Wait()
		if b.sender != nil {
			b.sender.Close()
		}
		if b.logs != nil {
			if err := b.logs.Close(); err != nil {
				b.closeErr = err
				b.log.Error().Err(err).Msg("closing logs")
			}
		}
		if b.zkConn != nil {
			b.zkConn.Close()
		}
		b.log.Info().Msg("stopped")
	})
	return b.closeErr
}
