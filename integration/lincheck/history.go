package lincheck

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// History records operations from many clients at once. Times are nanoseconds on the
// monotonic clock since NewHistory.
type History struct {
	start time.Time

	mu      sync.Mutex
	ops     []porcupine.Operation
	events  []porcupine.Annotation
	pending int // lost CAS operations, open for ever
	dropped int // lost reads, left out
}

// Annotate records an event outside the operations (a fault the test injected) at the
// current time, for the visualization and the explanation of a violation.
func (h *History) Annotate(desc string) {
	at := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, porcupine.Annotation{Tag: "test", Start: at, Description: desc})
}

// NewHistory starts an empty history.
func NewHistory() *History { return &History{start: time.Now()} }

// Call is an operation in flight.
type Call struct {
	h      *History
	client int
	in     Input
	call   int64
	// Note is shown with the operation (e.g. which server answered); set it before End.
	Note string
}

// Begin records the invocation of in by client (a small number, for the visualization).
func (h *History) Begin(client int, in Input) *Call {
	return &Call{h: h, client: client, in: in, call: h.now()}
}

func (h *History) now() int64 { return int64(time.Since(h.start)) }

// End records the reply. A reply with Unknown set is recorded as Lost would.
func (c *Call) End(out Output) {
	if out.Unknown {
		c.Lost()
		return
	}
	ret := c.h.now()
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	c.h.ops = append(c.h.ops, porcupine.Operation{ClientId: c.client, Input: c.in, Call: c.call, Output: out, Return: ret, Metadata: c.Note})
}

// Lost records that the reply never came: a CAS stays pending for ever, a read is dropped.
func (c *Call) Lost() {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	if c.in.Kind == Read {
		c.h.dropped++
		return
	}
	c.h.pending++
	c.h.ops = append(c.h.ops, porcupine.Operation{ClientId: c.client, Input: c.in, Call: c.call,
		Output: Output{Unknown: true}, Return: math.MaxInt64, Metadata: c.Note})
}

// Operations returns a copy of the recorded operations.
func (h *History) Operations() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]porcupine.Operation(nil), h.ops...)
}

func (h *History) annotations() []porcupine.Annotation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]porcupine.Annotation(nil), h.events...)
}

// Stats counts a history's operations.
type Stats struct {
	Ops        int // recorded (completed and pending)
	Reads      int
	CASOK      int // successful CAS
	CASFailed  int // BadVersion
	Pending    int // CAS with a lost reply
	LostReads  int // reads with a lost reply, left out
	Keys       int
	Elapsed    time.Duration // checking time
	ResultText string
}

func (s Stats) String() string {
	return fmt.Sprintf("%d ops on %d keys (%d reads, %d CAS ok, %d CAS BadVersion, %d CAS with unknown outcome; %d lost reads left out), checked in %v: %s",
		s.Ops, s.Keys, s.Reads, s.CASOK, s.CASFailed, s.Pending, s.LostReads, s.Elapsed.Round(time.Millisecond), s.ResultText)
}

// Result is the outcome of Check.
type Result struct {
	Stats
	// Linearizable is true when porcupine found a linearization of every key's history.
	Linearizable bool
	// TimedOut is true when porcupine gave up; Linearizable is then false too.
	TimedOut bool
	// Visualization is an HTML file showing the history and the longest linearizations
	// found, written when the history is not linearizable (empty otherwise).
	Visualization string
	// Explanation describes, for each key whose history is not linearizable, the end of the
	// longest linearization found and the operations that could not follow it.
	Explanation string
}

// Check runs porcupine over the history. When the history is not linearizable (or the check
// times out) it writes porcupine's visualization to dir (os.TempDir() when empty).
func (h *History) Check(timeout time.Duration, dir string) (Result, error) {
	ops := h.Operations()
	h.mu.Lock()
	res := Result{Stats: Stats{Ops: len(ops), Pending: h.pending, LostReads: h.dropped}}
	h.mu.Unlock()
	keys := map[string]bool{}
	for _, op := range ops {
		in, out := op.Input.(Input), op.Output.(Output)
		keys[in.Key] = true
		switch {
		case in.Kind == Read:
			res.Reads++
		case out.Unknown:
		case out.OK:
			res.CASOK++
		default:
			res.CASFailed++
		}
	}
	res.Keys = len(keys)
	start := time.Now()
	verdict, info := porcupine.CheckOperationsVerbose(Model, ops, timeout)
	res.Elapsed = time.Since(start)
	res.ResultText = string(verdict)
	res.Linearizable = verdict == porcupine.Ok
	res.TimedOut = verdict == porcupine.Unknown
	if res.Linearizable {
		return res, nil
	}
	res.Explanation = explain(ops, info, h.annotations())
	info.AddAnnotations(h.annotations())
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "lincheck-*.html")
	if err != nil {
		return res, fmt.Errorf("visualization: %w", err)
	}
	defer f.Close()
	if err := porcupine.Visualize(Model, info, f); err != nil {
		return res, fmt.Errorf("visualization: %w", err)
	}
	res.Visualization, _ = filepath.Abs(f.Name())
	return res, nil
}
