package harness

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
)

// outsiderSlots is how many outsiders an ensemble can have: their group ids follow the
// members' within the ensemble's block (nextGidBase).
const outsiderSlots = 1<<gidBlockBits - 1 - maxMembers

// Outsider returns the configuration of a server that is not one of the members but talks to
// them, as a misconfigured or impostor server would: its own directory Dir/<name>, a free
// client port, myid, and the members' zoo.cfg keys (server lines included), which the caller
// edits before SpawnOutsider. With Partitions, its connections come from a loopback address
// of its own (127.0.0.<100+n>, by nftables SNAT), so members see another host, as they would
// a stray server on the network.
func (e *Ensemble) Outsider(name string, myid int) (Config, error) {
	tmpl := e.members[0].cfg
	cfg := tmpl
	cfg.Dir = filepath.Join(e.dir, name)
	cfg.ClientPort = 0
	cfg.MyID = myid
	cfg.Gid = 0
	cfg.Extra = maps.Clone(tmpl.Extra)
	delete(cfg.Extra, "peerType")
	cfg.JVMFlags = slices.Clone(tmpl.JVMFlags)
	cfg.Args = slices.Clone(tmpl.Args)
	cfg.Env = slices.Clone(tmpl.Env)
	if e.filter == nil {
		return cfg, nil
	}
	e.mu.Lock()
	n := e.outsiders
	e.outsiders++
	e.mu.Unlock()
	if n >= outsiderSlots {
		return cfg, fmt.Errorf("outsider %s: at most %d per ensemble", name, outsiderSlots)
	}
	cfg.Gid = e.members[0].cfg.Gid - 1 + uint32(maxMembers+1+n)
	if err := e.filter.addOutsider(cfg.Gid, fmt.Sprintf("127.0.0.%d", 100+n)); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// SpawnOutsider starts a server with a configuration from Outsider without waiting for it
// to serve; Close stops it with the members.
func (e *Ensemble) SpawnOutsider(cfg Config) (*Server, error) {
	s, err := e.Kind.Spawn(cfg)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.extra = append(e.extra, s)
	e.mu.Unlock()
	return s, nil
}
