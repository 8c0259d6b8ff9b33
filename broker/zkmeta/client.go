package zkmeta

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"
)

// Conn is the part of *zk.Conn the Client uses; *zk.Conn implements it.
type Conn interface {
	Get(path string) ([]byte, *zk.Stat, error)
	Set(path string, data []byte, version int32) (*zk.Stat, error)
	Create(path string, data []byte, flags int32, acl []zk.ACL) (string, error)
	Delete(path string, version int32) error
	Exists(path string) (bool, *zk.Stat, error)
	Children(path string) ([]string, *zk.Stat, error)
	Multi(ops ...any) ([]zk.MultiResponse, error)
	SessionID() int64
}

var _ Conn = (*zk.Conn)(nil)

// MatchAnyVersion is ZkVersion.MatchAnyVersion: an unconditional write.
const MatchAnyVersion int32 = -1

// Config configures a Client. The zero value is usable.
type Config struct {
	// Chroot is the zookeeper.connect chroot ("/kafka"), "" for none.
	Chroot string
	// ACL for created znodes; nil means zk.WorldACL(zk.PermAll), which is
	// what Kafka uses without zookeeper.set.acl.
	ACL []zk.ACL
	// Now is the clock for registration timestamps (default time.Now).
	Now func() time.Time
	// Rand is the randomness for cluster and topic ids (default
	// crypto/rand.Reader).
	Rand io.Reader
	// Log receives the few events worth a line (default: none).
	Log zerolog.Logger
	// Retries is how many times a request that failed with a lost
	// connection is re-sent, as KafkaZkClient.retryRequestUntilConnected
	// does (default 5; negative disables). The read-back paths of every
	// write make a re-sent request safe.
	Retries int
	// RetryBackoff is the pause before the first re-send, doubled each
	// time (default 100ms).
	RetryBackoff time.Duration
}

// Client reads and writes Kafka's ZooKeeper layout through one session.
// It keeps no state besides its configuration; it is safe for concurrent use
// if the Conn is.
type Client struct {
	conn    Conn
	chroot  string
	acl     []zk.ACL
	now     func() time.Time
	rand    io.Reader
	log     zerolog.Logger
	retries int
	backoff time.Duration
}

// New wraps a connected session. It does no I/O.
func New(conn Conn, cfg Config) (*Client, error) {
	if conn == nil {
		return nil, errors.New("zkmeta: nil connection")
	}
	chroot := strings.TrimSuffix(cfg.Chroot, "/")
	if err := validateChroot(chroot); err != nil {
		return nil, err
	}
	c := &Client{conn: conn, chroot: chroot, acl: cfg.ACL, now: cfg.Now, rand: cfg.Rand, log: cfg.Log,
		retries: cfg.Retries, backoff: cfg.RetryBackoff}
	if c.acl == nil {
		c.acl = zk.WorldACL(zk.PermAll)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.rand == nil {
		c.rand = rand.Reader
	}
	if c.retries == 0 {
		c.retries = 5
	}
	if c.backoff <= 0 {
		c.backoff = 100 * time.Millisecond
	}
	return c, nil
}

// Conn returns the underlying session, for watches (ChildrenW, GetW): build
// their paths with Abs.
func (c *Client) Conn() Conn { return c.conn }

// Chroot returns the configured chroot ("" for none).
func (c *Client) Chroot() string { return c.chroot }

// Abs maps a logical path to the path on the server (the chroot prepended).
func (c *Client) Abs(path string) string {
	if c.chroot == "" {
		return path
	}
	if path == "/" {
		return c.chroot
	}
	return c.chroot + path
}

// Rel maps a server path (from a watch event or a create result) back to a
// logical path; a path outside the chroot is returned unchanged.
func (c *Client) Rel(path string) string {
	if c.chroot == "" {
		return path
	}
	if path == c.chroot {
		return "/"
	}
	if rest, ok := strings.CutPrefix(path, c.chroot+"/"); ok {
		return "/" + rest
	}
	return path
}

// retry runs op, re-running it after a lost connection (the request may or
// may not have been applied; callers handle both).
func (c *Client) retry(op func() error) error {
	backoff := c.backoff
	for attempt := 0; ; attempt++ {
		err := op()
		if !isConnectionLoss(err) || attempt >= c.retries {
			return err
		}
		c.log.Debug().Err(err).Int("attempt", attempt+1).Msg("zookeeper request lost, retrying")
		time.Sleep(backoff)
		if backoff < 2*time.Second {
			backoff *= 2
		}
	}
}

func isConnectionLoss(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer)
}

func (c *Client) get(path string) (data []byte, stat *zk.Stat, err error) {
	err = c.retry(func() error {
		data, stat, err = c.conn.Get(c.Abs(path))
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("zkmeta: get %s: %w", path, err)
	}
	return data, stat, nil
}

func (c *Client) exists(path string) (ok bool, stat *zk.Stat, err error) {
	err = c.retry(func() error {
		ok, stat, err = c.conn.Exists(c.Abs(path))
		return err
	})
	if err != nil {
		return false, nil, fmt.Errorf("zkmeta: exists %s: %w", path, err)
	}
	return ok, stat, nil
}

func (c *Client) children(path string) (names []string, err error) {
	err = c.retry(func() error {
		names, _, err = c.conn.Children(c.Abs(path))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("zkmeta: children %s: %w", path, err)
	}
	return names, nil
}

// create returns the logical path created (sequential creates add a suffix).
func (c *Client) create(path string, data []byte, flags int32) (created string, err error) {
	err = c.retry(func() error {
		created, err = c.conn.Create(c.Abs(path), data, flags, c.acl)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("zkmeta: create %s: %w", path, err)
	}
	return c.Rel(created), nil
}

func (c *Client) set(path string, data []byte, version int32) (stat *zk.Stat, err error) {
	err = c.retry(func() error {
		stat, err = c.conn.Set(c.Abs(path), data, version)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("zkmeta: set %s: %w", path, err)
	}
	return stat, nil
}

// createRecursive creates path and any missing parents with null data,
// ignoring NODEEXISTS, as KafkaZkClient.makeSurePersistentPathExists does.
func (c *Client) createRecursive(path string, data []byte) error {
	if path == "/" || path == "" {
		return nil
	}
	_, err := c.create(path, data, zk.FlagPersistent)
	if errors.Is(err, zk.ErrNoNode) {
		parent := path[:strings.LastIndexByte(path, '/')]
		if parent == "" {
			return err
		}
		if err := c.createRecursive(parent, nil); err != nil {
			return err
		}
		_, err = c.create(path, data, zk.FlagPersistent)
	}
	if err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return err
	}
	return nil
}

// multi runs ops atomically and reports which op failed: index -1 with a nil
// error on success; index -1 with an error when the server answered no
// per-op results (a connection error, or a server that puts the first
// failure in the reply header instead).
func (c *Client) multi(ops ...any) ([]zk.MultiResponse, int, error) {
	var resps []zk.MultiResponse
	err := c.retry(func() error {
		var err error
		resps, err = c.conn.Multi(ops...)
		return err
	})
	for i, r := range resps {
		if r.Error != nil {
			return resps, i, r.Error
		}
	}
	return resps, -1, err
}

// CreatePersistentPaths creates the chroot (if any) and every path in
// PersistentPaths, recursively and with null data, ignoring those that exist
// (KafkaZkClient.createTopLevelPaths). It is idempotent.
func (c *Client) CreatePersistentPaths() error {
	if c.chroot != "" {
		// KafkaZkClient.createChrootIfNecessary: the chroot is created
		// through a connection without the chroot.
		raw := &Client{conn: c.conn, acl: c.acl, log: c.log, retries: c.retries, backoff: c.backoff, now: c.now, rand: c.rand}
		if err := raw.createRecursive(c.chroot, nil); err != nil {
			return fmt.Errorf("zkmeta: creating chroot: %w", err)
		}
	}
	for _, p := range PersistentPaths() {
		if err := c.createRecursive(p, nil); err != nil {
			return err
		}
	}
	return nil
}
