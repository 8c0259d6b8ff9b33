package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
	"github.com/zabkafka/zabkafka/internal/testlog"
	"github.com/zabkafka/zabkafka/internal/testwait"
	"github.com/zabkafka/zabkafka/zkserver"
	"github.com/zabkafka/zabkafka/zkserver/zkservertest"
)

// The harness runs an in-memory zkd and, per test broker, a real
// go-zookeeper session that registers /brokers/ids/<id> and runs a
// Controller on the same session, as brokerd does. Controllers talk to a
// recording fake network instead of TCP.

const (
	sessionTimeout = 10 * time.Second
	waitTimeout    = 15 * time.Second
)

type nopZkLogger struct{}

func (nopZkLogger) Printf(string, ...any) {}

// connect opens a session to addr and waits until it has an id.
func connect(t testing.TB, addr string, timeout time.Duration) *zk.Conn {
	t.Helper()
	var lg zk.Logger = nopZkLogger{}
	if os.Getenv("CONTROLLER_TEST_ZKLOG") != "" {
		lg = zk.DefaultLogger
	}
	conn, events, err := zk.Connect([]string{addr}, timeout, zk.WithLogger(lg))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(waitTimeout)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				go func() {
					for range events {
					}
				}()
				// go-zookeeper v1.0.4 reads lastZxid in sendSetWatches,
				// just after announcing the session, while its receive
				// loop writes it: a data race inside the library that the
				// race detector reports when a watch is set before that
				// goroutine gets there. Nothing observable says it got
				// there, so give it a moment before the test sets
				// watches (this is not synchronisation of our code).
				time.Sleep(30 * time.Millisecond)
				return conn
			}
		case <-deadline:
			conn.Close()
			t.Fatal("no ZooKeeper session")
		}
	}
}

func newMeta(t *testing.T, conn *zk.Conn) *zkmeta.Client {
	t.Helper()
	m, err := zkmeta.New(conn, zkmeta.Config{RetryBackoff: 10 * time.Millisecond, Retries: 3})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, waitTimeout, what, cond)
}

// cluster is one test: a zkd, an admin session and the brokers.
type cluster struct {
	t       *testing.T
	addr    string
	admin   *zkmeta.Client
	adminZK *zk.Conn
	net     *fakeNet
	logs    *testlog.Buffer
	brokers map[int32]*testBroker
	tune    func(*Config)
}

func newCluster(t *testing.T) *cluster {
	s := zkservertest.Start(t)
	if os.Getenv("CONTROLLER_TEST_ZKDLOG") != "" {
		cfg := zkserver.DefaultConfig()
		cfg.ClientPort = 0
		cfg.TickTime = 50 * time.Millisecond
		cfg.MinSessionTimeout, cfg.MaxSessionTimeout = 100*time.Millisecond, 10*time.Second
		s = zkserver.New(cfg, zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).Level(zerolog.DebugLevel))
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Stop)
	}
	cl := &cluster{t: t, addr: s.Addr().String(), net: newFakeNet(), logs: &testlog.Buffer{}, brokers: map[int32]*testBroker{}}
	cl.adminZK = connect(t, cl.addr, sessionTimeout)
	cl.admin = newMeta(t, cl.adminZK)
	if err := cl.admin.CreatePersistentPaths(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, b := range cl.brokers {
			b.stop()
		}
		cl.adminZK.Close()
		if t.Failed() {
			t.Logf("controller log tail:\n%s", cl.logs.Tail(80))
		}
	})
	return cl
}

func brokerInfo(id int32) *zkmeta.BrokerInfo {
	return &zkmeta.BrokerInfo{ID: id, JmxPort: -1, Rack: fmt.Sprintf("rack-%d", id%2), Endpoints: []zkmeta.Endpoint{
		{Listener: "PLAINTEXT", SecurityProtocol: "PLAINTEXT", Host: "127.0.0.1", Port: 9000 + id},
		{Listener: "EXTERNAL", SecurityProtocol: "SASL_SSL", Host: fmt.Sprintf("b%d.example", id), Port: 19000 + id},
	}}
}

// testBroker is one broker: its session, registration and controller.
type testBroker struct {
	cl     *cluster
	id     int32
	conn   *zk.Conn
	meta   *zkmeta.Client
	ctrl   *Controller
	epoch  int64 // broker epoch (czxid of the registration)
	cancel context.CancelFunc
	done   chan struct{}
}

// start registers broker id and runs its controller.
func (cl *cluster) start(id int32) *testBroker {
	return cl.startVia(id, cl.addr, sessionTimeout)
}

func (cl *cluster) startVia(id int32, addr string, timeout time.Duration) *testBroker {
	t := cl.t
	t.Helper()
	conn := connect(t, addr, timeout)
	meta := newMeta(t, conn)
	epoch, err := meta.RegisterBroker(brokerInfo(id), 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		BrokerID:                     id,
		Meta:                         meta,
		Sender:                       cl.net.sender(id),
		Log:                          zerolog.New(cl.logs).With().Timestamp().Int32("broker", id).Logger(),
		DeleteTopicEnable:            true,
		LeaderImbalanceCheckInterval: time.Hour,
		RetryBackoff:                 20 * time.Millisecond,
	}
	if os.Getenv("CONTROLLER_TEST_LOG") != "" {
		console := zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000"}
		cfg.Log = zerolog.New(io.MultiWriter(cl.logs, console)).With().Timestamp().Int32("broker", id).Logger()
	}
	if cl.tune != nil {
		cl.tune(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &testBroker{cl: cl, id: id, conn: conn, meta: meta, ctrl: c, epoch: epoch, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		if err := c.Run(ctx); err != nil {
			t.Errorf("broker %d: Run: %v", id, err)
		}
	}()
	cl.net.setMode(id, modeUp)
	cl.brokers[id] = b
	return b
}

// stop ends the controller cleanly, then the session.
func (b *testBroker) stop() {
	b.cancel()
	<-b.done
	b.conn.Close()
}

// crash closes the session first (the broker vanishes from ZooKeeper and
// can no longer write), then stops the controller; the fake network stops
// delivering to it.
func (b *testBroker) crash() {
	b.cl.net.setMode(b.id, modeDown)
	b.conn.Close()
	// Let the controller see its session closed (it resigns) before its
	// Run ends, so Run does not spend its retries on a closed client.
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if _, ok := b.ctrl.Active(); !ok {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.cancel()
	<-b.done
	delete(b.cl.brokers, b.id)
}

// kill crashes broker id and waits until its registration is gone.
func (cl *cluster) kill(id int32) {
	cl.t.Helper()
	cl.brokers[id].crash()
	cl.waitGone(zkmeta.BrokerIDPath(id))
}

func (cl *cluster) waitGone(path string) {
	cl.t.Helper()
	waitFor(cl.t, path+" to disappear", func() bool {
		ok, err := cl.admin.Exists(path)
		return err == nil && !ok
	})
}

// active returns the one active controller, failing if there are two.
func (cl *cluster) active() *testBroker {
	cl.t.Helper()
	var found *testBroker
	for _, b := range cl.brokers {
		if _, ok := b.ctrl.Active(); ok {
			if found != nil {
				cl.t.Fatalf("two active controllers: %d and %d", found.id, b.id)
			}
			found = b
		}
	}
	return found
}

// waitActive waits for an active controller (optionally a given one) that
// has finished its failover.
func (cl *cluster) waitActive(want int32) *testBroker {
	cl.t.Helper()
	var a *testBroker
	waitFor(cl.t, "an active controller", func() bool {
		a = cl.active()
		return a != nil && (want < 0 || a.id == want)
	})
	a.inspect(func(*controllerContext) {}) // the failover event is done
	return a
}

// inspect runs f on the controller's event loop (between events) with its
// context; it fails the test if the loop does not run it.
func (b *testBroker) inspect(f func(cc *controllerContext)) {
	b.cl.t.Helper()
	done := make(chan struct{})
	if !b.ctrl.queue.put(evFunc{f: func() {
		defer close(done)
		f(b.ctrl.ctx)
	}}) {
		b.cl.t.Fatalf("broker %d: controller loop is stopped", b.id)
	}
	select {
	case <-done:
	case <-time.After(waitTimeout):
		b.cl.t.Fatalf("broker %d: controller loop is stuck", b.id)
	}
}

// pause blocks the controller's loop until the returned func is called.
func (b *testBroker) pause() (resume func()) {
	b.cl.t.Helper()
	entered := make(chan struct{})
	release := make(chan struct{})
	b.ctrl.queue.put(evFunc{f: func() {
		close(entered)
		<-release
	}})
	<-entered
	var once sync.Once
	return func() { once.Do(func() { close(release) }) }
}

func (cl *cluster) createTopic(topic string, assignment map[int32][]int32) zkmeta.Uuid {
	cl.t.Helper()
	a := &zkmeta.TopicAssignment{Partitions: map[int32]zkmeta.ReplicaAssignment{}}
	for p, r := range assignment {
		a.Partitions[p] = zkmeta.ReplicaAssignment{Replicas: r}
	}
	id, err := cl.admin.CreateTopic(topic, a, map[string]string{"retention.ms": "1000"})
	if err != nil {
		cl.t.Fatal(err)
	}
	return id
}

// state reads a partition state znode.
func (cl *cluster) state(topic string, p int32) (*zkmeta.PartitionState, int32) {
	cl.t.Helper()
	s, v, err := cl.admin.GetPartitionState(topic, p)
	if err != nil {
		cl.t.Fatalf("state of %s-%d: %v", topic, p, err)
	}
	return s, v
}

// waitState waits until a partition's state znode satisfies cond.
func (cl *cluster) waitState(topic string, p int32, what string, cond func(s *zkmeta.PartitionState) bool) (*zkmeta.PartitionState, int32) {
	cl.t.Helper()
	var s *zkmeta.PartitionState
	var v int32
	waitFor(cl.t, fmt.Sprintf("%s-%d: %s", topic, p, what), func() bool {
		var err error
		s, v, err = cl.admin.GetPartitionState(topic, p)
		return err == nil && cond(s)
	})
	return s, v
}

// ---- the fake network ----

type netMode int

const (
	modeUp   netMode = iota
	modeDown         // Send fails at once (connection refused)
	modeHang         // Send blocks until the mode changes or ctx ends
)

// delivery is a request a broker received.
type delivery struct {
	seq  int
	from int32 // the controller's broker id
	to   Target
	req  kmsg.Request // decoded from its wire form at its version
}

type fakeNet struct {
	mu         sync.Mutex
	seq        int
	delivered  []delivery
	attempts   map[int32]int
	mode       map[int32]netMode
	storageErr map[int32]map[TopicPartition]bool // LeaderAndIsr answers KAFKA_STORAGE_ERROR
	stopErr    map[int32]int16                   // StopReplica(delete) answers this per partition
}

func newFakeNet() *fakeNet {
	return &fakeNet{attempts: map[int32]int{}, mode: map[int32]netMode{},
		storageErr: map[int32]map[TopicPartition]bool{}, stopErr: map[int32]int16{}}
}

func (n *fakeNet) setMode(id int32, m netMode) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mode[id] = m
}

func (n *fakeNet) sender(from int32) Sender { return &fakeSender{n: n, from: from} }

type fakeSender struct {
	n    *fakeNet
	from int32
}

var errRefused = errors.New("fake: connection refused")

func (s *fakeSender) Send(ctx context.Context, to Target, req kmsg.Request) (kmsg.Response, error) {
	n := s.n
	for {
		n.mu.Lock()
		n.attempts[to.ID]++
		mode := n.mode[to.ID]
		n.mu.Unlock()
		switch mode {
		case modeDown:
			return nil, errRefused
		case modeHang:
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		break
	}
	// What the broker would decode: the request at its version.
	wire := req.AppendTo(nil)
	got := kmsg.RequestForKey(req.Key())
	got.SetVersion(req.GetVersion())
	if err := got.ReadFrom(wire); err != nil {
		return nil, fmt.Errorf("fake: request does not decode at v%d: %w", req.GetVersion(), err)
	}
	n.mu.Lock()
	n.seq++
	n.delivered = append(n.delivered, delivery{seq: n.seq, from: s.from, to: to, req: got})
	resp := n.answer(to.ID, got)
	n.mu.Unlock()
	return resp, nil
}

// answer builds a broker's reply (called with n.mu held).
func (n *fakeNet) answer(id int32, req kmsg.Request) kmsg.Response {
	switch r := req.(type) {
	case *kmsg.LeaderAndISRRequest:
		resp := r.ResponseKind().(*kmsg.LeaderAndISRResponse)
		for _, ts := range r.TopicStates {
			rt := kmsg.NewLeaderAndISRResponseTopic()
			rt.TopicID = ts.TopicID
			for _, p := range ts.PartitionStates {
				rp := kmsg.NewLeaderAndISRResponseTopicPartition()
				rp.Partition = p.Partition
				if n.storageErr[id][TopicPartition{Topic: ts.Topic, Partition: p.Partition}] {
					rp.ErrorCode = errKafkaStorageError
				}
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	case *kmsg.StopReplicaRequest:
		resp := r.ResponseKind().(*kmsg.StopReplicaResponse)
		for _, t := range r.Topics {
			for _, p := range t.PartitionStates {
				rp := kmsg.NewStopReplicaResponsePartition()
				rp.Topic = t.Topic
				rp.Partition = p.Partition
				if p.Delete {
					rp.ErrorCode = n.stopErr[id]
				}
				resp.Partitions = append(resp.Partitions, rp)
			}
		}
		return resp
	default:
		return req.ResponseKind()
	}
}

// requests returns the deliveries to broker to (any broker for -1) of
// requests of type T, in delivery order.
func requestsTo[T kmsg.Request](n *fakeNet, to int32) []T {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []T
	for _, d := range n.delivered {
		if r, ok := d.req.(T); ok && (to < 0 || d.to.ID == to) {
			out = append(out, r)
		}
	}
	return out
}

func (n *fakeNet) deliveries() []delivery {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.delivered)
}

func (n *fakeNet) mark() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.seq
}

// since returns deliveries after mark.
func (n *fakeNet) since(mark int) []delivery {
	var out []delivery
	for _, d := range n.deliveries() {
		if d.seq > mark {
			out = append(out, d)
		}
	}
	return out
}

// lairPartition finds a partition's state in a LeaderAndIsr request.
func lairPartition(r *kmsg.LeaderAndISRRequest, topic string, p int32) (kmsg.LeaderAndISRRequestTopicPartition, zkmeta.Uuid, bool) {
	for _, ts := range r.TopicStates {
		if ts.Topic != topic {
			continue
		}
		for _, ps := range ts.PartitionStates {
			if ps.Partition == p {
				return ps, zkmeta.Uuid(ts.TopicID), true
			}
		}
	}
	return kmsg.LeaderAndISRRequestTopicPartition{}, zkmeta.Uuid{}, false
}

// umPartition finds a partition's state in an UpdateMetadata request.
func umPartition(r *kmsg.UpdateMetadataRequest, topic string, p int32) (kmsg.UpdateMetadataRequestTopicPartition, zkmeta.Uuid, bool) {
	for _, ts := range r.TopicStates {
		if ts.Topic != topic {
			continue
		}
		for _, ps := range ts.PartitionStates {
			if ps.Partition == p {
				return ps, zkmeta.Uuid(ts.TopicID), true
			}
		}
	}
	return kmsg.UpdateMetadataRequestTopicPartition{}, zkmeta.Uuid{}, false
}

// ---- a TCP proxy that can cut a session off from the server ----

type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go p.serve()
	// Only stop accepting: the brokers' cleanup (registered earlier, so
	// run later) still needs their sessions to resign cleanly.
	t.Cleanup(func() { ln.Close() })
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); s.Close() }()
		go func() { _, _ = io.Copy(c, s); c.Close() }()
	}
}

// setCut drops every proxied connection and refuses new ones (true), or
// lets them through again (false).
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}
