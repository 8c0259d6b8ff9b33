package integration

// Bad input on the quorum side: garbage and truncated frames on the quorum and election
// ports, a server with an id the ensemble does not have, a second server claiming a member's
// id, and a member restarted with a server list that differs from the others'. Each must be
// turned away with a log line that says what happened, and none may disturb the ensemble:
// the leader stays, a client keeps writing, and the members end with the same tree.
//
// The strangers run as outsiders (harness.Ensemble.Outsider): their connections come from a
// loopback address of their own, as a stray server's would from another host.
//
// Apache ZooKeeper 3.8.0 is the reference for "not disturbed", not for "turned away": it
// has no member-list check, so it takes a server with an unknown id as a non-voting
// follower ("Follower sid: 9 not in the current config"), syncs a second server claiming id
// 2 as if it were member 2, and says nothing about a member whose server list has an extra
// line (that member just never gets a quorum of votes). The test holds Apache to those
// behaviours (so a change shows) and zkd to rejecting all three with a line.

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/integration/harness"
)

// logExpect is a log line some member must write: every pattern must match the same line.
type logExpect []*regexp.Regexp

func expect(patterns ...string) logExpect {
	var e logExpect
	for _, p := range patterns {
		e = append(e, regexp.MustCompile(p))
	}
	return e
}

func (e logExpect) String() string {
	var parts []string
	for _, re := range e {
		parts = append(parts, re.String())
	}
	return strings.Join(parts, " + ")
}

func (e logExpect) match(line string) bool {
	for _, re := range e {
		if !re.MatchString(line) {
			return false
		}
	}
	return true
}

// badInputLogs are the lines each implementation writes, by case, when the impostor claims
// the id of member dup (a follower). zkd's come from zab/transport (listen.go and
// handshake.go: "handshake rejected" with a reason).
func badInputLogs(dup int) map[string]map[string]logExpect {
	return map[string]map[string]logExpect{
		"zkd": {
			"garbage on the quorum port":   expect(`handshake rejected`, `quorum`),
			"garbage on the election port": expect(`handshake rejected`, `election`),
			"unknown server id":            expect(`handshake rejected`, `unknown server id`),
			// The impostor's own server line differs from the member's it claims to be (it
			// cannot listen on that member's ports on the same host), so zkd sees a different
			// member list first. A true duplicate (same list, another host) takes the
			// "duplicate server id" branch, which zab/transport's own tests cover from a second
			// loopback address.
			"duplicate server id":    expect(`handshake rejected`, `duplicate server id|member list mismatch`, `127\.0\.0\.1\d\d`),
			"mismatched server list": expect(`handshake (rejected|refused)`, `member list mismatch`),
		},
		"apache": {
			// The leader's LearnerHandler (only the leader listens on the quorum port).
			"garbage on the quorum port": expect(`Unexpected exception in LearnerHandler`),
			// QuorumCnxManager.handleConnection, whichever way the garbage reads.
			"garbage on the election port": expect(`Exception reading or writing challenge|Initial message parsing error|Connection broken for id \d{4,}`),
			// Accepted, as a non-voting follower.
			"unknown server id": expect(`Follower sid: 9 not in the current config`),
			// Accepted: the leader syncs the impostor as that learner.
			"duplicate server id": expect(fmt.Sprintf(`Follower sid: %d : info`, dup), `127\.0\.0\.1\d\d`),
			// No line: Apache compares no server lists. The member stays out all the same, as
			// its view of four voters needs three to agree and only the leader and one
			// follower answer its election notifications.
			"mismatched server list": nil,
		},
	}
}

// refuses says whether the implementation turns strangers and misconfigured members away.
func refuses(kind harness.ServerKind) bool { return kind.Name != "apache" }

func TestEnsembleBadInput(t *testing.T) {
	harness.RequirePartitions(t) // outsiders come from addresses of their own (nftables SNAT)
	forEachKind(t, func(t *testing.T, kind harness.ServerKind) {
		cfg := ensembleConfig(3, 0)
		cfg.Partitions = true
		e := harness.StartTestEnsemble(t, kind, cfg)
		leader := mustLeader(t, e)
		wr := startSteadyWriter(t, e, leader.ID)
		// A follower's id for the impostor: claiming the leader's id, it would take the
		// leader's votes for its own and only ever look for a quorum.
		follower := e.Followers(leader.ID)[0]
		logs := badInputLogs(follower)[kind.Name]

		run := func(name string, inject func(t *testing.T) (undo func())) {
			t.Run(name, func(t *testing.T) {
				offsets := map[int]int64{}
				for _, m := range e.Members() {
					offsets[m.ID] = e.LogOffset(m.ID)
				}
				base := wr.acks.Load()
				undo := inject(t)
				if want := logs[name]; want != nil {
					line := awaitLogLine(t, e, offsets, want, 20*time.Second)
					t.Logf("%s: %s", kind.Name, line)
				}
				within(t, 20*time.Second, "the writer to keep writing", func() bool { return wr.acks.Load() >= base+20 })
				if undo != nil {
					undo()
				}
				if l := mustLeader(t, e); l.ID != leader.ID {
					t.Errorf("leader changed from %d to %d", leader.ID, l.ID)
				}
				_, err := e.WaitReady(t.Context())
				must(t, err)
			})
		}

		for _, portName := range []string{"quorum", "election"} {
			run("garbage on the "+portName+" port", func(t *testing.T) func() {
				for _, m := range e.Members() {
					port := m.ElectionPort
					if portName == "quorum" {
						port = m.QuorumPort
					}
					sendGarbage(t, port)
				}
				return nil
			})
		}

		stranger := func(name string, id int, ownLine bool) func(t *testing.T) func() {
			return func(t *testing.T) func() {
				oc, err := e.Outsider(strings.ReplaceAll(name, " ", "-"), id)
				must(t, err)
				if oc.ClientPort, err = harness.FreePort(); err != nil {
					t.Fatal(err)
				}
				if ownLine {
					// Its own quorum and election ports, so it can listen; the members' lines
					// are left as they are.
					q, err1 := harness.FreePort()
					el, err2 := harness.FreePort()
					must(t, errors.Join(err1, err2))
					oc.Extra["server."+strconv.Itoa(id)] = fmt.Sprintf("127.0.0.1:%d:%d:participant;127.0.0.1:%d", q, el, oc.ClientPort)
				}
				s, err := e.SpawnOutsider(oc)
				must(t, err)
				return func() {
					if refuses(kind) {
						if st, err := harness.FourLetter(s.Addr(), "srvr", time.Second); err == nil && harness.ParseSrvr(st).Mode != "" {
							t.Errorf("the %s serves: %s", name, harness.ParseSrvr(st))
						}
					}
					must(t, s.Stop())
				}
			}
		}
		run("unknown server id", stranger("unknown server id", 9, true))
		run("duplicate server id", stranger("duplicate server id", follower, true))

		run("mismatched server list", func(t *testing.T) func() {
			must(t, e.Stop(follower))
			extra, err := harness.FreePort()
			must(t, err)
			must(t, e.StartWith(follower, func(c *harness.Config) {
				c.Extra["server.4"] = fmt.Sprintf("127.0.0.1:%d:%d:participant", extra, extra+1)
			}))
			within(t, 20*time.Second, fmt.Sprintf("member %d to answer srvr", follower), func() bool {
				return e.Status(follower).Err == nil
			})
			return func() {
				// It must stay out. Nothing announces that it never joins, so look for a while:
				// an Apache member that joins does so within a second here.
				for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
					if st := e.Status(follower); st.Mode != "" {
						t.Errorf("member %d with a mismatched server list serves: %s", follower, st)
						break
					}
				}
				must(t, e.Stop(follower))
				must(t, e.Start(follower))
			}
		})

		_, err := e.WaitReady(t.Context())
		must(t, err)
		wr.stop()
		sameTreeOnEveryMember(t, e)
	})
}

// sendGarbage opens three connections to port and sends random bytes, a truncated frame
// and a frame header announcing 2 GB; a port nobody listens on (an Apache follower's quorum
// port) is skipped.
func sendGarbage(t *testing.T, port int) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	junk := make([]byte, 4096)
	rand.Read(junk)
	var huge [20]byte
	binary.BigEndian.PutUint64(huge[0:], 0xffffffffffff0000) // QuorumCnxManager's protocol version
	binary.BigEndian.PutUint64(huge[8:], 7)
	binary.BigEndian.PutUint32(huge[16:], 0x7fffffff)
	for _, payload := range [][]byte{junk, {0, 0, 3, 0xe8, 'Z', 'A'}, huge[:]} {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.SetWriteDeadline(time.Now().Add(time.Second))
		c.Write(payload)
		// Half-close and wait for the server to hang up (or give up after a second), so the
		// bytes are read before the connection goes.
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(time.Second))
		var b [64]byte
		for {
			if _, err := c.Read(b[:]); err != nil {
				break
			}
		}
		c.Close()
	}
}

// awaitLogLine polls the members' logs (what they wrote after offsets) for a line that
// matches want and returns it.
func awaitLogLine(t *testing.T, e *harness.Ensemble, offsets map[int]int64, want logExpect, d time.Duration) string {
	t.Helper()
	var found string
	within(t, d, fmt.Sprintf("a member to log %s", want), func() bool {
		for _, m := range e.Members() {
			for _, line := range strings.Split(e.LogSince(m.ID, offsets[m.ID]), "\n") {
				if want.match(line) {
					found = fmt.Sprintf("member %d: %s", m.ID, strings.TrimSpace(line))
					return true
				}
			}
		}
		return false
	})
	return found
}

// steadyWriter sets one znode again and again through a session that starts on a given
// member, counting acknowledgements; a definite error fails the test, a lost reply only
// counts.
type steadyWriter struct {
	acks, lost atomic.Int64
	stop       func()
}

func startSteadyWriter(t *testing.T, e *harness.Ensemble, first int) *steadyWriter {
	t.Helper()
	c := ensembleClient(t, e, first, ensembleSessionTimeout)
	_, err := c.Create("/steady", nil, 0, openACL)
	must(t, err)
	w := &steadyWriter{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			_, err := c.Set("/steady", []byte(strconv.Itoa(i)), -1)
			switch {
			case err == nil:
				w.acks.Add(1)
			case unknownOutcome(err):
				w.lost.Add(1)
				t.Logf("steady writer: lost reply at %s: %v", time.Now().Format("15:04:05.000"), err)
			case errors.Is(err, zk.ErrClosing):
				return
			default:
				t.Errorf("steady writer: %v", err)
				return
			}
			time.Sleep(2 * time.Millisecond) // a steady trickle, not a load test
		}
	})
	w.stop = sync.OnceFunc(func() {
		close(done)
		wg.Wait()
		t.Logf("steady writer: %d writes acknowledged, %d replies lost", w.acks.Load(), w.lost.Load())
		if n := w.lost.Load(); n > 0 {
			t.Errorf("the steady writer lost %d replies: bad input disturbed the ensemble", n)
		}
	})
	t.Cleanup(w.stop)
	return w
}
