package load

import (
	"fmt"
	"strconv"
	"strings"
)

// Op is one kind of request the generator sends.
type Op int

const (
	// OpRead is getData of an existing key.
	OpRead Op = iota
	// OpWrite is setData of an existing key, any version.
	OpWrite
	// OpCreate is create of a persistent sequential node under the session's own parent.
	OpCreate
	numOps
)

var opNames = [numOps]string{"read", "write", "create"}

func (o Op) String() string {
	if o < 0 || o >= numOps {
		return "op(" + strconv.Itoa(int(o)) + ")"
	}
	return opNames[o]
}

// Mix weighs the operations; each op is drawn with probability weight/sum.
type Mix [numOps]int

// Named workloads. mixed is 90% reads, the read-dominated load ZooKeeper is built for (the
// ZooKeeper paper's Figure 5 sweeps the read share; coordination loads sit at 90% or more).
var workloads = map[string]Mix{
	"read":   {OpRead: 100},
	"write":  {OpWrite: 100},
	"create": {OpCreate: 100},
	"mixed":  {OpRead: 90, OpWrite: 10},
}

// ParseMix accepts a workload name (read, write, create, mixed) or weights such as
// "read=90,write=10".
func ParseMix(s string) (Mix, error) {
	if m, ok := workloads[s]; ok {
		return m, nil
	}
	var m Mix
	for part := range strings.SplitSeq(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Mix{}, fmt.Errorf("workload %q: want read|write|create|mixed or op=weight,... (got %q)", s, part)
		}
		op := opByName(name)
		if op < 0 {
			return Mix{}, fmt.Errorf("workload %q: unknown op %q (read, write, create)", s, name)
		}
		w, err := strconv.Atoi(val)
		if err != nil || w < 0 {
			return Mix{}, fmt.Errorf("workload %q: weight of %s must be a non-negative integer", s, name)
		}
		m[op] = w
	}
	if m.total() == 0 {
		return Mix{}, fmt.Errorf("workload %q: all weights are zero", s)
	}
	return m, nil
}

func opByName(name string) Op {
	for i, n := range opNames {
		if n == name {
			return Op(i)
		}
	}
	return -1
}

func (m Mix) total() int {
	t := 0
	for _, w := range m {
		t += w
	}
	return t
}

// String is the canonical "read=90,write=10" form, zero weights left out.
func (m Mix) String() string {
	var parts []string
	for op, w := range m {
		if w > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", Op(op), w))
		}
	}
	return strings.Join(parts, ",")
}

// pick maps a uniform draw in [0, total) to an op.
func (m Mix) pick(draw int) Op {
	for op, w := range m {
		if draw < w {
			return Op(op)
		}
		draw -= w
	}
	panic(fmt.Sprintf("load: draw beyond mix %v", m))
}
