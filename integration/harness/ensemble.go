package harness

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrMemberCrashed means a member's process exited without the harness stopping it.
var ErrMemberCrashed = errors.New("member exited on its own")

// Ensemble is a running ensemble: its members and their current processes. Members start
// together and serve once they have elected a leader, so StartEnsemble waits for the ensemble
// (WaitReady), never for one member. Its methods are safe for concurrent use.
type Ensemble struct {
	Kind ServerKind

	cfg     EnsembleConfig
	dir     string
	ownDir  bool // dir was made by StartEnsemble and goes with Close
	members []*Member
	filter  *netfilter // nil unless cfg.Partitions

	mu     sync.Mutex
	procs  map[int]*Server // the member's newest process; nil before its first start
	down   map[int]bool    // stopped or killed on purpose
	paused map[int]bool    // SIGSTOPped
	closed bool

	outsiders int       // Outsider configurations handed out
	extra     []*Server // outsider processes, stopped by Close
}

// StartEnsemble lays out the members, starts them all and waits until they form an ensemble
// (WaitReady). On error everything started is stopped again and the error carries the tail of
// each member's log. ctx bounds only the start.
func StartEnsemble(ctx context.Context, kind ServerKind, cfg EnsembleConfig) (*Ensemble, error) {
	e, err := NewEnsemble(kind, cfg)
	if err != nil {
		return nil, err
	}
	for _, m := range e.members {
		if err := e.Start(m.ID); err != nil {
			e.Close()
			return nil, err
		}
	}
	if _, err := e.WaitReady(ctx); err != nil {
		err = fmt.Errorf("%w\n%s", err, e.LogTails(startLogLines))
		e.Close()
		return nil, err
	}
	return e, nil
}

// NewEnsemble lays out the members (directories, ports, zoo.cfg keys) and, with Partitions,
// installs the packet marking, without starting anything. The caller starts members with
// Start and ends with Close.
func NewEnsemble(kind ServerKind, cfg EnsembleConfig) (*Ensemble, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Ensemble{Kind: kind, cfg: cfg, dir: cfg.Dir,
		procs: map[int]*Server{}, down: map[int]bool{}, paused: map[int]bool{}}
	if e.dir == "" {
		if e.dir, err = os.MkdirTemp("", "ensemble-"+kind.Name+"-*"); err != nil {
			return nil, err
		}
		e.ownDir = true
	}
	var gidBase uint32
	if cfg.Partitions {
		gidBase = nextGidBase()
	}
	if e.members, err = newMembers(cfg, e.dir, gidBase); err != nil {
		e.Close()
		return nil, err
	}
	if cfg.Partitions {
		if e.filter, err = newNetfilter(e.members); err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

// Members returns every member, voters first, by id.
func (e *Ensemble) Members() []*Member { return e.members }

// Member returns member id; it panics on an id the ensemble does not have, a test bug.
func (e *Ensemble) Member(id int) *Member {
	if id < 1 || id > len(e.members) {
		panic(fmt.Sprintf("ensemble has no member %d", id))
	}
	return e.members[id-1]
}

// Voters returns the participants' ids.
func (e *Ensemble) Voters() []int {
	var ids []int
	for _, m := range e.members {
		if !m.Observer {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// Addrs returns every member's client address, in id order.
func (e *Ensemble) Addrs() []string {
	addrs := make([]string, len(e.members))
	for i, m := range e.members {
		addrs[i] = m.Addr()
	}
	return addrs
}

// ConnectString is "host:port,host:port,..." over every member.
func (e *Ensemble) ConnectString() string { return strings.Join(e.Addrs(), ",") }

// Dir is the ensemble's parent directory.
func (e *Ensemble) Dir() string { return e.dir }

// Config is the ensemble's configuration with defaults filled in.
func (e *Ensemble) Config() EnsembleConfig { return e.cfg }

// Process returns member id's newest process, or nil before its first start.
func (e *Ensemble) Process(id int) *Server {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.procs[id]
}

// Running reports whether member id has a live process that is not paused.
func (e *Ensemble) Running(id int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.procs[id]
	return s != nil && !s.Exited() && !e.paused[id]
}

// Live returns the ids of members that are running and not paused.
func (e *Ensemble) Live() []int {
	var ids []int
	for _, m := range e.members {
		if e.Running(m.ID) {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// Start starts member id, which must not be running, and returns without waiting for it to
// serve. A restart keeps the member's directory, data and ports; the log gets a header line
// per start.
func (e *Ensemble) Start(id int) error { return e.StartWith(id, nil) }

// StartWith starts member id like Start, with edit applied to a copy of its configuration
// for this start only (a misconfigured restart); the next Start uses the member's own again.
func (e *Ensemble) StartWith(id int, edit func(cfg *Config)) error {
	m := e.Member(id)
	cfg := m.cfg
	if edit != nil {
		cfg.Extra = maps.Clone(m.cfg.Extra)
		cfg.Args = slices.Clone(m.cfg.Args)
		cfg.JVMFlags = slices.Clone(m.cfg.JVMFlags)
		edit(&cfg)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("ensemble closed")
	}
	if s := e.procs[id]; s != nil && !s.Exited() {
		return fmt.Errorf("start %s: still running (pid %d)", m, s.PID())
	}
	s, err := e.Kind.Spawn(cfg)
	if err != nil {
		return fmt.Errorf("start %s: %w", m, err)
	}
	e.procs[id] = s
	e.down[id] = false
	e.paused[id] = false
	return nil
}

// Kill sends SIGKILL to member id and waits for the process to end.
func (e *Ensemble) Kill(id int) {
	s := e.markDown(id)
	if s != nil {
		s.Kill()
	}
}

// Stop sends SIGTERM to member id (SIGKILL after the stop timeout) and reports an unclean exit.
func (e *Ensemble) Stop(id int) error {
	s := e.markDown(id)
	if s == nil {
		return nil
	}
	return s.Stop()
}

func (e *Ensemble) markDown(id int) *Server {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.down[id] = true
	e.paused[id] = false // Stop and Kill resume a paused process first or kill it outright
	return e.procs[id]
}

// Pause freezes member id with SIGSTOP: its sockets stay open and nothing answers.
func (e *Ensemble) Pause(id int) error { return e.signal(id, syscall.SIGSTOP, true) }

// Resume lets a paused member run again with SIGCONT.
func (e *Ensemble) Resume(id int) error { return e.signal(id, syscall.SIGCONT, false) }

func (e *Ensemble) signal(id int, sig syscall.Signal, paused bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.procs[id]
	if s == nil || s.Exited() {
		return fmt.Errorf("signal %v to %s: not running", sig, e.Member(id))
	}
	if err := s.Signal(sig); err != nil {
		return fmt.Errorf("signal %v to %s: %w", sig, e.Member(id), err)
	}
	e.paused[id] = paused
	return nil
}

// crashed returns an error naming the members whose processes exited without Stop or Kill.
func (e *Ensemble) crashed() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for _, m := range e.members {
		if s := e.procs[m.ID]; s != nil && s.Exited() && !e.down[m.ID] {
			errs = append(errs, fmt.Errorf("%s pid %d: %w: %v", m, s.PID(), ErrMemberCrashed, s.waitErr))
		}
	}
	return errors.Join(errs...)
}

// Close stops every member (SIGCONT first for paused ones), removes the packet filter and,
// when StartEnsemble made the directory, the directory. It reports members that did not
// stop cleanly or had crashed. Close may be called more than once.
func (e *Ensemble) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	procs := make(map[int]*Server, len(e.procs)+len(e.extra))
	for id, s := range e.procs {
		procs[id] = s
	}
	for i, s := range e.extra {
		procs[-1-i] = s // outsiders: negative keys
	}
	e.mu.Unlock()

	var errs []error
	var wg sync.WaitGroup
	var errMu sync.Mutex
	for _, s := range procs {
		wg.Go(func() {
			if err := s.Stop(); err != nil {
				errMu.Lock()
				errs = append(errs, fmt.Errorf("process %v: %w", s, err))
				errMu.Unlock()
			}
		})
	}
	wg.Wait()
	if e.filter != nil {
		if err := e.filter.close(); err != nil {
			errs = append(errs, err)
		}
	}
	if e.ownDir {
		os.RemoveAll(e.dir)
	}
	return errors.Join(errs...)
}

// LogTails returns the last n lines of every member's log, each under a header.
func (e *Ensemble) LogTails(n int) string {
	var b strings.Builder
	for _, m := range e.members {
		fmt.Fprintf(&b, "--- last %d lines of %s/%s (%s) ---\n%s\n", n, m.Dir(), e.Kind.LogName(), m,
			logTail(m.Dir()+"/"+e.Kind.LogName(), n))
	}
	return b.String()
}

// LogPath is member id's log file; restarts append to it.
func (e *Ensemble) LogPath(id int) string { return e.Member(id).Dir() + "/" + e.Kind.LogName() }

// pollEvery is how often the ensemble's waits poll the members.
const pollEvery = 50 * time.Millisecond

// LogOffset is the size of member id's log now, to read what comes after it with LogSince.
func (e *Ensemble) LogOffset(id int) int64 {
	fi, err := os.Stat(e.LogPath(id))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// LogSince returns what member id's log gained after offset (from LogOffset).
func (e *Ensemble) LogSince(id int, offset int64) string { return readFrom(e.LogPath(id), offset) }
