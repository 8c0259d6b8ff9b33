package broker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// zkLogger sends go-zookeeper's messages to zerolog at debug level: its
// reconnect chatter is noise at info.
type zkLogger struct{ log zerolog.Logger }

func (l zkLogger) Printf(format string, args ...any) {
	l.log.Debug().Msgf("zookeeper client: "+format, args...)
}

// connectZooKeeper opens the broker's session and creates Kafka's persistent
// paths (KafkaZkClient.createTopLevelPaths), the chroot first.
func (b *Broker) connectZooKeeper() error {
	servers, chroot, err := zkmeta.ParseConnect(b.cfg.ZooKeeperConnect)
	if err != nil {
		return fmt.Errorf("zookeeper.connect: %w", err)
	}
	conn, events, err := zk.Connect(servers, b.cfg.ZooKeeperSessionTimeout, zk.WithLogger(zkLogger{b.log}))
	if err != nil {
		return fmt.Errorf("zookeeper: %w", err)
	}
	b.zkConn, b.zkEvents = conn, events
	timeout := b.cfg.ZooKeeperConnectionTimeout
	if timeout <= 0 {
		timeout = b.cfg.ZooKeeperSessionTimeout
	}
	deadline := time.After(timeout)
wait:
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				break wait
			}
			if ev.State == zk.StateAuthFailed {
				return fmt.Errorf("zookeeper: authentication failed")
			}
		case <-deadline:
			return fmt.Errorf("zookeeper: no session with %s within zookeeper.connection.timeout.ms (%v)", b.cfg.ZooKeeperConnect, timeout)
		}
	}
	b.meta, err = zkmeta.New(conn, zkmeta.Config{Chroot: chroot, Log: b.log})
	if err != nil {
		return err
	}
	if err := b.meta.CreatePersistentPaths(); err != nil {
		return fmt.Errorf("zookeeper: persistent paths: %w", err)
	}
	b.log.Info().Str("connect", b.cfg.ZooKeeperConnect).Str("session", fmt.Sprintf("0x%x", conn.SessionID())).
		Msg("zookeeper session established")
	return nil
}

// watchSession re-registers the broker after its session expired and
// go-zookeeper built a new one (KafkaServer's SessionExpirationListener):
// the new registration has a new czxid, so the broker epoch moves on and
// the controller sees a bounced broker.
func (b *Broker) watchSession() {
	defer b.wg.Done()
	for {
		select {
		case <-b.ctx.Done():
			return
		case ev, ok := <-b.zkEvents:
			if !ok {
				return
			}
			switch ev.State {
			case zk.StateExpired:
				b.log.Warn().Str("session", fmt.Sprintf("0x%x", b.sessionID.Load())).Msg("zookeeper session expired")
			case zk.StateHasSession:
				prev := b.sessionID.Load()
				if b.zkConn.SessionID() == prev {
					continue
				}
				err := b.registerSession(prev)
				if err == nil {
					_ = writeSessionFile(b.cfg.LogDirs[0], b.sessionID.Load())
				}
				switch {
				case err == nil:
					b.log.Info().Int64("epoch", b.Epoch()).Msg("re-registered after session expiry")
				case errors.Is(err, zk.ErrClosing), b.ctx.Err() != nil:
					return
				default:
					b.log.Error().Err(err).Msg("cannot re-register after session expiry")
				}
			}
		}
	}
}

// sessionFile holds the ZooKeeper session id of this broker's registration,
// in hex, in the first log dir.
const sessionFile = ".brokerd-zookeeper-session"

func readSessionFile(dir string) int64 {
	b, err := os.ReadFile(filepath.Join(dir, sessionFile))
	if err != nil {
		return 0
	}
	id, err := strconv.ParseInt(strings.TrimSpace(string(b)), 16, 64)
	if err != nil {
		return 0
	}
	return id
}

func writeSessionFile(dir string, id int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, sessionFile), []byte(strconv.FormatInt(id, 16)+"\n"), 0o644)
}
