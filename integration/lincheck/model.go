// Package lincheck checks histories of ZooKeeper register operations for linearizability
// with porcupine (github.com/anishathalye/porcupine).
//
// The model is a set of registers, one znode each, holding data and ZooKeeper's data version.
// Two operations reach them: a read (sync, then getData: ZooKeeper serves reads locally, and
// only a sync first makes a read linearizable, as the Programmer's Guide says under
// "Consistency Guarantees") and a versioned setData, a compare-and-set that fails with
// BadVersion unless the znode's version equals the expected one (-1 matches any version, as
// in ZooKeeper). Every successful setData adds one to the version.
//
// An operation whose reply was lost (connection loss, session expiry) may or may not have
// taken effect. A lost read has no effect and is left out of the history. A lost setData
// stays pending for ever (its return time is after everything else), and the model accepts
// it with either outcome: taking effect where its expected version matches, or never.
package lincheck

import (
	"fmt"

	"github.com/anishathalye/porcupine"
)

// Kind is what an operation does.
type Kind int

const (
	// Read is sync + getData.
	Read Kind = iota
	// CAS is setData with an expected version.
	CAS
)

func (k Kind) String() string {
	switch k {
	case Read:
		return "read"
	case CAS:
		return "cas"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Input is an operation as the client issued it.
type Input struct {
	Kind Kind
	Key  string
	// Value is the data a CAS writes. Values should be unique per write, so a read tells
	// which write it saw.
	Value string
	// Version is the version a CAS expects; -1 matches any version.
	Version int32
}

// Output is what the server answered.
type Output struct {
	// Unknown: the reply was lost, the outcome is open.
	Unknown bool
	// OK is true for a successful read or CAS, false for a CAS that failed with BadVersion.
	OK bool
	// Value and Version are what a read returned; Version is the new version after a
	// successful CAS.
	Value   string
	Version int32
}

// State is one register's value: the znode's data and data version.
type State struct {
	Value   string
	Version int32
}

// Initial is every register's state before the history: the znode exists with empty data at
// version 0.
var Initial = State{}

// step is the sequential specification of one register.
func step(s State, in Input, out Output) (bool, State) {
	switch in.Kind {
	case Read:
		if out.Unknown {
			return true, s // a read has no effect; the recorder leaves lost reads out anyway
		}
		return out.OK && out.Value == s.Value && out.Version == s.Version, s
	case CAS:
		matches := in.Version == -1 || in.Version == s.Version
		next := State{Value: in.Value, Version: s.Version + 1}
		switch {
		case out.Unknown && matches:
			return true, next
		case out.Unknown:
			return true, s
		case out.OK:
			return matches && out.Version == next.Version, next
		default: // BadVersion
			return !matches, s
		}
	}
	return false, s
}

// Model is the porcupine model of the registers, partitioned by key: a history is
// linearizable when the history of every register is.
var Model = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(Input).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return Initial },
	Step: func(state, input, output any) (bool, any) {
		return step(state.(State), input.(Input), output.(Output))
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(Input), output.(Output)
		var res string
		switch {
		case out.Unknown:
			res = "unknown"
		case in.Kind == Read:
			res = fmt.Sprintf("%q v%d", out.Value, out.Version)
		case out.OK:
			res = fmt.Sprintf("ok v%d", out.Version)
		default:
			res = "BadVersion"
		}
		if in.Kind == Read {
			return fmt.Sprintf("read(%s) -> %s", in.Key, res)
		}
		return fmt.Sprintf("cas(%s, %q, v%d) -> %s", in.Key, in.Value, in.Version, res)
	},
	DescribeState: func(state any) string {
		s := state.(State)
		return fmt.Sprintf("%q v%d", s.Value, s.Version)
	},
}
