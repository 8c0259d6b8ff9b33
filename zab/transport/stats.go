package transport

import (
	"fmt"
	"sync/atomic"
	"time"
)

// linkCounters are updated by the connection goroutines and Send.
type linkCounters struct {
	msgsSent, bytesSent       atomic.Uint64
	msgsRecv, bytesRecv       atomic.Uint64
	drops                     atomic.Uint64
	connects, reconnects      atomic.Uint64
	disconnects, dialFailures atomic.Uint64
	// lastRecv and lastSent are when a message last arrived and when a
	// flush last reached the socket (unix ns), for DescribePeer.
	lastRecv, lastSent atomic.Int64
}

// LinkStats describes one peer on one port. Bytes count whole frames
// (length prefix included); messages sent are counted once flushed to the
// socket.
type LinkStats struct {
	Connected        bool
	Queued           int // messages waiting in the outbound queue
	MessagesSent     uint64
	BytesSent        uint64
	MessagesReceived uint64
	BytesReceived    uint64
	Drops            uint64 // queue full, message over the frame limit, or sent after Close
	Connects         uint64 // connections established
	Reconnects       uint64 // connections established after the first
	Disconnects      uint64
	DialFailures     uint64 // dials or handshakes that failed (dial-backs are not failures)
}

// PeerStats is one peer's two links.
type PeerStats struct {
	ID       uint64
	Quorum   LinkStats
	Election LinkStats
}

// Stats is a snapshot of the transport's counters, for mntr and the
// admin server. Peers are in id order.
type Stats struct {
	Peers []PeerStats
	// UnknownPeerDrops counts messages sent to an id that is not a member.
	UnknownPeerDrops uint64
	// RejectedConnections counts inbound connections refused at the
	// handshake (garbage, unknown or duplicate id, member list mismatch).
	RejectedConnections uint64
	// RejectedFrames counts connections closed for a bad frame.
	RejectedFrames uint64
}

// Stats returns the current counters.
func (t *Transport) Stats() Stats {
	s := Stats{
		Peers:               make([]PeerStats, 0, len(t.peers)),
		UnknownPeerDrops:    t.unknownDrops.Load(),
		RejectedConnections: t.rejectedConns.Load(),
		RejectedFrames:      t.rejectedFrames.Load(),
	}
	for _, id := range t.peers {
		s.Peers = append(s.Peers, PeerStats{
			ID:       id,
			Quorum:   t.links[quorumPort][id].snapshot(),
			Election: t.links[electionPort][id].snapshot(),
		})
	}
	return s
}

// Peer returns one peer's stats; ok is false for an id that is not a peer.
func (s Stats) Peer(id uint64) (PeerStats, bool) {
	for _, p := range s.Peers {
		if p.ID == id {
			return p, true
		}
	}
	return PeerStats{}, false
}

func (l *link) snapshot() LinkStats {
	c := &l.stats
	return LinkStats{
		Connected:        l.current() != nil,
		Queued:           len(l.queue),
		MessagesSent:     c.msgsSent.Load(),
		BytesSent:        c.bytesSent.Load(),
		MessagesReceived: c.msgsRecv.Load(),
		BytesReceived:    c.bytesRecv.Load(),
		Drops:            c.drops.Load(),
		Connects:         c.connects.Load(),
		Reconnects:       c.reconnects.Load(),
		Disconnects:      c.disconnects.Load(),
		DialFailures:     c.dialFailures.Load(),
	}
}

// DescribePeer is one line about the quorum link to peer id, for the log
// when the protocol gives up on that peer: whether a connection is up, what
// waits in the queue, and how long ago a message last went each way. It
// tells a silent peer from a link that stopped moving.
func (t *Transport) DescribePeer(id uint64) string {
	l := t.links[quorumPort][id]
	if l == nil {
		return "not a peer"
	}
	st := l.snapshot()
	ago := func(ns int64) string {
		if ns == 0 {
			return "never"
		}
		return time.Since(time.Unix(0, ns)).Round(time.Millisecond).String() + " ago"
	}
	return fmt.Sprintf("quorum link: connected %v, %d queued, %d sent (last %s), %d received (last %s), %d dropped, %d connects",
		st.Connected, st.Queued, st.MessagesSent, ago(l.stats.lastSent.Load()),
		st.MessagesReceived, ago(l.stats.lastRecv.Load()), st.Drops, st.Connects)
}
