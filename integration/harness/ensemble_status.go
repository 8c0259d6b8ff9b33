package harness

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Modes a member reports in srvr's "Mode:" line.
const (
	ModeLeader     = "leader"
	ModeFollower   = "follower"
	ModeObserver   = "observer"
	ModeStandalone = "standalone"
)

// notServing is how ZooKeeper answers a four-letter word while it has no quorum
// (NIOServerCnxn / NettyServerCnxn, ZK_NOT_SERVING).
const notServing = "This ZooKeeper instance is not currently serving requests"

// MemberStatus is what srvr says about a member.
type MemberStatus struct {
	// Mode is leader, follower, observer or standalone; empty while the member does not serve
	// (it answers "not currently serving requests", or does not answer at all).
	Mode string
	// Zxid is the last zxid the member applied ("Zxid: 0x..."), when it serves.
	Zxid int64
	// Err is why the member did not answer (connection refused, timeout), nil otherwise.
	Err error
}

// String is "leader zxid 0x100000003", "not serving" or "no answer: <err>".
func (s MemberStatus) String() string {
	switch {
	case s.Err != nil:
		return "no answer: " + s.Err.Error()
	case s.Mode == "":
		return "not serving"
	}
	return fmt.Sprintf("%s zxid %#x", s.Mode, s.Zxid)
}

// ParseSrvr reads the Mode and Zxid lines of a srvr reply.
func ParseSrvr(reply string) MemberStatus {
	var st MemberStatus
	if strings.HasPrefix(reply, notServing) {
		return st
	}
	for _, line := range strings.Split(reply, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch v = strings.TrimSpace(v); k {
		case "Mode":
			st.Mode = v
		case "Zxid":
			z, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64)
			if err == nil {
				st.Zxid = int64(z)
			}
		}
	}
	return st
}

// statusTimeout bounds one srvr exchange; a paused member never answers.
const statusTimeout = time.Second

// Status asks member id for srvr.
func (e *Ensemble) Status(id int) MemberStatus {
	reply, err := FourLetter(e.Member(id).Addr(), "srvr", statusTimeout)
	if err != nil {
		return MemberStatus{Err: err}
	}
	return ParseSrvr(reply)
}

// Mntr returns member id's mntr reply as a map (zk_server_state, zk_synced_followers, ...).
func (e *Ensemble) Mntr(id int) (map[string]string, error) {
	reply, err := FourLetter(e.Member(id).Addr(), "mntr", statusTimeout)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(reply, notServing) {
		return nil, errors.New(notServing)
	}
	m := map[string]string{}
	for _, line := range strings.Split(reply, "\n") {
		if k, v, ok := strings.Cut(line, "\t"); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m, nil
}

// readiness checks statuses of ids: exactly one leader, every other voter a follower and
// every observer an observer. It returns the leader's id, or 0 and what is missing.
func (e *Ensemble) readiness(ids []int, statuses map[int]MemberStatus) (int, string) {
	leader := 0
	var wrong []string
	for _, id := range ids {
		m, st := e.Member(id), statuses[id]
		want := ModeFollower
		if m.Observer {
			want = ModeObserver
		}
		switch {
		case st.Mode == ModeLeader && !m.Observer:
			if leader != 0 {
				wrong = append(wrong, fmt.Sprintf("members %d and %d both lead", leader, id))
			}
			leader = id
		case st.Mode != want:
			wrong = append(wrong, fmt.Sprintf("member %d: %s", id, st))
		}
	}
	if leader == 0 {
		wrong = append([]string{"no leader"}, wrong...)
	}
	if len(wrong) > 0 {
		return 0, strings.Join(wrong, "; ")
	}
	return leader, ""
}

// WaitReady polls until the given members (all live ones when ids is empty) form an
// ensemble: exactly one of them answers srvr with Mode: leader, every other voter with
// follower and every observer with observer. It returns the leader. It fails at once when a
// member crashed, and after the ensemble's ReadyTimeout (or ctx) with every member's status.
// Members cut off by Partition must be left out of ids: they may still think they lead.
func (e *Ensemble) WaitReady(ctx context.Context, ids ...int) (*Member, error) {
	if len(ids) == 0 {
		ids = e.Live()
	}
	if len(ids) == 0 {
		return nil, errors.New("wait for ensemble: no live member")
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var why string
	for {
		if err := e.crashed(); err != nil {
			return nil, fmt.Errorf("wait for ensemble: %w", err)
		}
		statuses := e.statuses(ids)
		leader, missing := e.readiness(ids, statuses)
		if leader != 0 {
			return e.Member(leader), nil
		}
		why = missing
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for ensemble of members %v: not ready within %v (%w): %s",
				ids, e.cfg.ReadyTimeout, ctx.Err(), why)
		case <-tick.C:
		}
	}
}

// statuses asks each member in parallel: a paused member takes statusTimeout to fail.
func (e *Ensemble) statuses(ids []int) map[int]MemberStatus {
	type answer struct {
		id int
		st MemberStatus
	}
	ch := make(chan answer, len(ids))
	for _, id := range ids {
		go func() { ch <- answer{id, e.Status(id)} }()
	}
	out := make(map[int]MemberStatus, len(ids))
	for range ids {
		a := <-ch
		out[a.id] = a.st
	}
	return out
}

// Statuses returns every member's srvr status, asked in parallel.
func (e *Ensemble) Statuses() map[int]MemberStatus {
	ids := make([]int, len(e.members))
	for i, m := range e.members {
		ids[i] = m.ID
	}
	return e.statuses(ids)
}

// Leader returns the one live member that says it leads, or an error when none or several do.
func (e *Ensemble) Leader() (*Member, error) {
	ids := e.Live()
	statuses := e.statuses(ids)
	var leaders []int
	for _, id := range ids {
		if statuses[id].Mode == ModeLeader {
			leaders = append(leaders, id)
		}
	}
	if len(leaders) != 1 {
		return nil, fmt.Errorf("%d members say they lead (%v) among live members %v", len(leaders), leaders, ids)
	}
	return e.Member(leaders[0]), nil
}

// Followers returns the voters other than leader.
func (e *Ensemble) Followers(leader int) []int {
	return slices.DeleteFunc(e.Voters(), func(id int) bool { return id == leader })
}
