package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"time"

	"github.com/zabkafka/zabkafka/bench/internal/servers"
	"github.com/zabkafka/zabkafka/integration/harness"
	"github.com/zabkafka/zabkafka/integration/zkproto"
	"github.com/zabkafka/zabkafka/jute"
)

// readStatus is what the read-back of the last node found.
type readStatus int

const (
	readOK        readStatus = iota
	readMissing              // the server answered NONODE for the last node
	readWrongData            // the node is there with other data
	readError                // the server answered with another error code
)

func (s readStatus) String() string {
	return [...]string{"ok", "NONODE", "wrong data", "error"}[s]
}

// roundResult is one stop + restart of one server.
type roundResult struct {
	round    int
	stopTime time.Duration // SIGKILL: until reaped; SIGTERM: until exited
	stopNote string        // an unclean SIGTERM exit
	srvr     time.Duration // process start to srvr answering as a serving server
	session  time.Duration // process start to a new session established
	readBack time.Duration // process start to the last node read back with its data (0: never)
	status   readStatus
	lastErr  string
	found    int64 // getAllChildrenNumber(root); -1: root missing
	znodes   int64 // mntr zk_znode_count; -1: unknown
	// wantFound is the number of znodes created under root, wantZnodes zk_znode_count
	// before the first stop (-1: unknown).
	wantFound, wantZnodes int64
	checked               int // sampled nodes read
	badData               int // ... whose data was missing or wrong
	firstBad              string
	memReady              servers.Memory // right after the read-back
	memLater              servers.Memory // -settle later
	cpu                   time.Duration  // server CPU from process start to the read-back
	disk                  diskUsage      // -settle after the read-back
	diskErr               error
}

// recovered reports whether the restart brought back exactly what was created.
func (rr roundResult) recovered() bool { return len(rr.problems()) == 0 }

// problems lists what came back wrong.
func (rr roundResult) problems() []string {
	var out []string
	if rr.status != readOK {
		msg := "last node " + rr.status.String()
		if rr.lastErr != "" && rr.lastErr != rr.status.String() {
			msg += " (" + rr.lastErr + ")"
		}
		out = append(out, msg)
	}
	if rr.found != rr.wantFound {
		out = append(out, fmt.Sprintf("%d znodes under %s, want %d", max(rr.found, 0), root, rr.wantFound))
	}
	if rr.badData > 0 {
		out = append(out, fmt.Sprintf("%d of %d sampled nodes missing or wrong (first: %s)", rr.badData, rr.checked, rr.firstBad))
	}
	if rr.wantZnodes >= 0 && rr.znodes >= 0 && rr.znodes != rr.wantZnodes {
		out = append(out, fmt.Sprintf("mntr zk_znode_count %d, was %d before the first stop", rr.znodes, rr.wantZnodes))
	}
	return out
}

func (rr roundResult) logLine(name string) string {
	rb := "never"
	if rr.status == readOK {
		rb = fmt.Sprintf("%.3fs", rr.readBack.Seconds())
	}
	s := fmt.Sprintf("round %d %-6s stop %v; srvr after %.3fs, session %.3fs, read-back %s; %d znodes under %s, RSS %s MiB (later %s MiB, peak %s), data dir %s MiB",
		rr.round, name, rr.stopTime.Round(time.Millisecond), rr.srvr.Seconds(), rr.session.Seconds(), rb, max(rr.found, 0), root,
		mib(rr.memReady.RSS), mib(rr.memLater.RSS), mib(max(rr.memReady.Peak, rr.memLater.Peak)), mib(rr.disk.allocated))
	if p := rr.problems(); len(p) > 0 {
		s += "\n    DATA NOT RECOVERED: " + strings.Join(p, "; ")
	}
	return s
}

// restartOnce stops t's server (SIGKILL or SIGTERM), starts it again on the same directory
// and port, and measures the restart.
func restartOnce(ctx context.Context, f flags, lay layout, t *servers.Target, pop populateResult) (roundResult, error) {
	rr := roundResult{found: -1, znodes: -1, wantFound: int64(lay.total()), wantZnodes: pop.znodes}
	if f.sync {
		// Write back every dirty page first, so this restart does not pay for the other
		// server's writes (or for its own from before the stop): on ext4 the first fsync
		// can wait for unrelated files' data.
		syscall.Sync()
	}
	begin := time.Now()
	if f.stop == "kill" {
		t.Srv.Kill()
	} else if err := t.Srv.Stop(); err != nil {
		rr.stopNote = err.Error()
	}
	rr.stopTime = time.Since(begin)

	pollCtx, cancelPoll := context.WithTimeout(ctx, f.restartTimeout)
	defer cancelPoll()
	addr := t.Srv.Addr() // Restart keeps the port
	lastPath, lastData := lay.node(lay.last()), lay.data(nil, lay.last())
	polled := make(chan pollResult, 1)
	// The clock starts just before the harness writes zoo.cfg and forks the server; the
	// poller runs alongside the harness's own readiness check (srvr every 100ms), so the
	// read-back time has the poll interval's resolution, not the harness's.
	start := time.Now()
	go func() { polled <- pollReadBack(pollCtx, addr, start, lastPath, lastData, f.poll, f.grace) }()
	srv, err := t.Srv.Restart(ctx)
	if err != nil {
		cancelPoll()
		if pr := <-polled; pr.client != nil {
			pr.client.Close()
		}
		return rr, err
	}
	t.Srv = srv
	var pr pollResult
	select {
	case pr = <-polled:
	case <-srv.Done():
		cancelPoll()
		if pr := <-polled; pr.client != nil {
			pr.client.Close()
		}
		return rr, fmt.Errorf("%s exited after the restart: %v", srv, srv.Wait())
	}
	if pr.timedOut {
		if pr.client != nil {
			pr.client.Close()
		}
		if ctx.Err() != nil {
			return rr, ctx.Err()
		}
		return rr, fmt.Errorf("no read-back of %s within -restart-timeout %v (srvr after %v, session after %v; last error: %s)",
			lastPath, f.restartTimeout, pr.srvr, pr.session, pr.lastErr)
	}
	c := pr.client
	defer closeSession(c)
	rr.srvr, rr.session, rr.readBack, rr.status, rr.lastErr = pr.srvr, pr.session, pr.readBack, pr.status, pr.lastErr
	rr.memReady, _ = servers.ReadMemory(srv.PID())
	rr.cpu, _ = servers.ProcessCPU(srv.PID())

	var n jute.GetAllChildrenNumberResponse
	if err := c.Call(jute.OpGetAllChildrenNumber, &jute.GetAllChildrenNumberRequest{Path: root}, &n); err == nil {
		rr.found = int64(n.TotalNumber)
	} else if !errors.Is(err, jute.ErrNoNode) {
		return rr, fmt.Errorf("getAllChildrenNumber %s: %w", root, err)
	}
	rr.znodes, _, _ = serverStats(addr)
	if err := verifySample(c, lay, f.verify, &rr); err != nil {
		return rr, err
	}
	if err := sleep(ctx, f.settle); err != nil {
		return rr, err
	}
	rr.memLater, _ = servers.ReadMemory(srv.PID())
	rr.disk, rr.diskErr = dataUsage(srv)
	return rr, nil
}

// verifySample reads k random nodes, plus the first, and compares their data.
func verifySample(c *zkproto.Client, lay layout, k int, rr *roundResult) error {
	idx := []int{0}
	for range k {
		idx = append(idx, rand.IntN(lay.nodes))
	}
	var buf []byte
	for _, i := range idx {
		var resp jute.GetDataResponse
		err := c.Call(jute.OpGetData, &jute.GetDataRequest{Path: lay.node(i)}, &resp)
		var code jute.ErrCode
		if err != nil && !errors.As(err, &code) {
			return fmt.Errorf("getData %s: %w", lay.node(i), err)
		}
		rr.checked++
		buf = lay.data(buf, i)
		if err != nil || !bytes.Equal(resp.Data, buf) {
			rr.badData++
			if rr.firstBad == "" {
				rr.firstBad = lay.node(i)
				if err != nil {
					rr.firstBad += " " + code.String()
				}
			}
		}
	}
	return nil
}

type pollResult struct {
	srvr     time.Duration // srvr answered "Zookeeper version:" (the data is loaded)
	session  time.Duration // a new session was established
	answered time.Duration // the first getData got an answer (data or error code)
	readBack time.Duration // the last node read back with its data
	status   readStatus
	lastErr  string
	timedOut bool
	client   *zkproto.Client // the session that read back the node, for the checks
}

// pollReadBack times a restart in three steps, each tried every interval: srvr answers as a
// serving server, a new session is established, the last node reads back with want. A server
// that answers NONODE (or other data) for grace is given up on.
func pollReadBack(ctx context.Context, addr string, start time.Time, path string, want []byte, interval, grace time.Duration) pollResult {
	var res pollResult
	// Refused before the server listens; "This ZooKeeper instance is not currently serving
	// requests" while Apache ZooKeeper loads its data.
	_, at, err := pollStep(ctx, start, interval, func() (struct{}, error) {
		reply, err := harness.FourLetter(addr, "srvr", 10*time.Second)
		if err == nil && !strings.HasPrefix(reply, "Zookeeper version:") {
			line, _, _ := strings.Cut(reply, "\n")
			err = errors.New(line)
		}
		return struct{}{}, err
	}, nil)
	if err != nil {
		res.timedOut, res.lastErr = true, "srvr: "+err.Error()
		return res
	}
	res.srvr = at
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		// The server answers the connect request once the createSession txn is durable.
		c, at, err := pollStep(ctx, start, interval, func() (*zkproto.Client, error) {
			return zkproto.Dial(addr, sessionTimeout)
		}, closeSession)
		if err != nil {
			res.timedOut, res.lastErr = true, "connect: "+err.Error()
			return res
		}
		if res.session == 0 {
			res.session = at
		}
		for c != nil {
			var resp jute.GetDataResponse
			err := c.Call(jute.OpGetData, &jute.GetDataRequest{Path: path}, &resp)
			now := time.Since(start)
			var code jute.ErrCode
			switch {
			case err == nil:
				if res.answered == 0 {
					res.answered = now
				}
				if bytes.Equal(resp.Data, want) {
					res.readBack, res.status, res.client = now, readOK, c
					return res
				}
				res.status, res.lastErr = readWrongData, fmt.Sprintf("%d bytes %.20q", len(resp.Data), resp.Data)
			case errors.As(err, &code):
				if res.answered == 0 {
					res.answered = now
				}
				res.status, res.lastErr = readError, code.String()
				if code == jute.ErrNoNode {
					res.status = readMissing
				}
			default: // the connection broke: connect again
				c.Close()
				c = nil
				res.lastErr = err.Error()
			}
			if c != nil && res.answered > 0 && now-res.answered >= grace {
				res.client = c
				return res
			}
			select {
			case <-ctx.Done():
				if c != nil {
					c.Close()
				}
				res.timedOut = true
				return res
			case <-tick.C:
			}
		}
	}
}

// maxInFlight bounds the attempts of one polling step that may be waiting at once.
const maxInFlight = 16

type attempt[T any] struct {
	v   T
	err error
	at  time.Duration
}

// pollStep calls try every interval until one call succeeds, and returns its result and when
// it returned (since start). It does not wait for a slow call before starting the next one
// (up to maxInFlight at once): Apache ZooKeeper 3.8.0 leaves a connection open until its 10s
// idle timeout when a four-letter word or connect request comes in while its database is
// not yet created (a NullPointerException closing the socket), and one such call must not
// hold up the measurement. Calls that succeed after the first are handed to discard.
func pollStep[T any](ctx context.Context, start time.Time, interval time.Duration, try func() (T, error), discard func(T)) (T, time.Duration, error) {
	results := make(chan attempt[T], maxInFlight)
	inFlight := 0
	launch := func() {
		inFlight++
		go func() {
			v, err := try()
			results <- attempt[T]{v: v, err: err, at: time.Since(start)}
		}()
	}
	drain := func(n int) {
		go func() {
			for range n {
				if a := <-results; a.err == nil && discard != nil {
					discard(a.v)
				}
			}
		}()
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var lastErr error
	launch()
	for {
		select {
		case a := <-results:
			inFlight--
			if a.err == nil {
				drain(inFlight)
				return a.v, a.at, nil
			}
			lastErr = a.err
		case <-tick.C:
			if inFlight < maxInFlight {
				launch()
			}
		case <-ctx.Done():
			drain(inFlight)
			var zero T
			return zero, 0, fmt.Errorf("%w (last attempt: %v)", ctx.Err(), lastErr)
		}
	}
}

// closeSession ends the poller's session so it does not linger until it expires.
func closeSession(c *zkproto.Client) {
	_ = c.Call(jute.OpCloseSession, nil, nil)
	c.Close()
}
