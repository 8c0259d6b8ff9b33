package zab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// MessageType names a message. The quorum types keep the QuorumPacket codes
// of ZooKeeper's Leader.java (reference/zookeeper.md 4.2) so traces read
// like ZooKeeper's; Notification is FastLeaderElection's election message,
// which ZooKeeper sends on the election port instead.
type MessageType uint8

// Message types.
const (
	Request      MessageType = 1  // learner -> leader: a forwarded client write (Data, opaque)
	Proposal     MessageType = 2  // leader -> follower: one txn (Entries[0])
	Ack          MessageType = 3  // follower -> leader: logged through Zxid (counter 0: the NEWLEADER ack)
	Commit       MessageType = 4  // leader -> follower: committed through Zxid
	Ping         MessageType = 5  // leader -> learner heartbeat (Zxid: last zxid sent to it); the learner echoes it
	Sync         MessageType = 7  // learner -> leader and back: a client sync (Ref)
	Inform       MessageType = 8  // leader -> observer: one committed txn (Entries[0])
	NewLeader    MessageType = 10 // leader -> learner after the sync packets (Zxid = Epoch<<32)
	FollowerInfo MessageType = 11 // follower -> leader: Epoch = acceptedEpoch
	UpToDate     MessageType = 12 // leader -> learner: epoch established, committed through Zxid, start serving
	Diff         MessageType = 13 // sync by replaying Entries after the learner's last zxid
	Trunc        MessageType = 14 // truncate the log after Zxid, then log Entries
	Snap         MessageType = 15 // install the snapshot in Data taken at Zxid, then log Entries
	ObserverInfo MessageType = 16 // observer -> leader: Epoch = acceptedEpoch
	LeaderInfo   MessageType = 17 // leader -> learner: Epoch = the new epoch
	AckEpoch     MessageType = 18 // learner -> leader: CurrentEpoch and last logged Zxid
	Notification MessageType = 64 // election: State, Round and Vote of the sender
)

var typeNames = map[MessageType]string{
	Request: "REQUEST", Proposal: "PROPOSAL", Ack: "ACK", Commit: "COMMIT", Ping: "PING",
	Sync: "SYNC", Inform: "INFORM", NewLeader: "NEWLEADER", FollowerInfo: "FOLLOWERINFO",
	UpToDate: "UPTODATE", Diff: "DIFF", Trunc: "TRUNC", Snap: "SNAP", ObserverInfo: "OBSERVERINFO",
	LeaderInfo: "LEADERINFO", AckEpoch: "ACKEPOCH", Notification: "NOTIFICATION",
}

func (t MessageType) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE(%d)", uint8(t))
}

func (t MessageType) valid() bool { _, ok := typeNames[t]; return ok }

// State is a peer's ServerState, with FastLeaderElection's codes.
type State uint8

// Peer states.
const (
	Looking   State = 0
	Following State = 1
	Leading   State = 2
	Observing State = 3
)

func (s State) String() string {
	switch s {
	case Looking:
		return "LOOKING"
	case Following:
		return "FOLLOWING"
	case Leading:
		return "LEADING"
	case Observing:
		return "OBSERVING"
	}
	return fmt.Sprintf("STATE(%d)", uint8(s))
}

// Entry is one txn of the history. Data is opaque to zab.
type Entry struct {
	Zxid int64
	Data []byte
}

// Vote is an election vote: the proposed leader and what it is known to
// hold. Votes are ordered by (PeerEpoch, Zxid, Leader), FastLeaderElection's
// totalOrderPredicate and the seeds' rule: the bigger epoch wins, then the
// bigger zxid, then the bigger server id.
type Vote struct {
	Leader    uint64
	Zxid      int64
	PeerEpoch uint32
}

func (v Vote) String() string {
	return fmt.Sprintf("(leader=%d zxid=%s epoch=%d)", v.Leader, FormatZxid(v.Zxid), v.PeerEpoch)
}

// Message is the one envelope for every zab message, election included.
// Fields a type does not use are zero. A Message handed to Step is owned by
// the peer afterwards (it may keep Entries and Data); messages in a Ready
// belong to the shell.
type Message struct {
	Type     MessageType
	From, To uint64
	// Epoch is the leader epoch the message belongs to (from LEADERINFO
	// on); in FOLLOWERINFO and OBSERVERINFO it is the sender's acceptedEpoch.
	Epoch uint32
	Zxid  int64
	// CurrentEpoch is the learner's currentEpoch in ACKEPOCH.
	CurrentEpoch uint32
	// CommitZxid is the leader's commit point in PING, so a learner that
	// lost a COMMIT catches up.
	CommitZxid int64
	// State, Round (FastLeaderElection's electionEpoch, the logical clock)
	// and Vote are set in notifications only.
	State State
	Round uint64
	Vote  Vote
	// Ref identifies a client sync (Sync), opaque to zab.
	Ref uint64
	// Session names one attempt of a learner to follow a leader: the
	// learner draws it for its FOLLOWERINFO (OBSERVERINFO), and every later
	// message between the two carries it, both ways. Each side ignores
	// messages of another session, so nothing the leader queued for an
	// attempt it gave up (a whole sync on a slow link) is taken as the
	// answer to the learner's next one, nor an old ACK as acking a new
	// sync. It is what ZooKeeper gets from a new TCP connection per
	// LearnerHandler. Zero in notifications.
	Session uint64
	Entries []Entry
	// Data is the forwarded request (Request) or the snapshot (Snap). The
	// leader's core leaves a Snap's Data empty: the shell fills it with the
	// state machine's snapshot at Zxid before sending (see Ready).
	Data []byte
}

// Describe is the one-line form used in logs, traces and scripts.
func (m Message) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d->%d %s", m.From, m.To, m.Type)
	switch m.Type {
	case Notification:
		fmt.Fprintf(&b, " %s round=%d vote=%s", m.State, m.Round, m.Vote)
	case FollowerInfo, ObserverInfo:
		fmt.Fprintf(&b, " acceptedEpoch=%d last=%s", m.Epoch, FormatZxid(m.Zxid))
	case LeaderInfo:
		fmt.Fprintf(&b, " epoch=%d", m.Epoch)
	case AckEpoch:
		fmt.Fprintf(&b, " epoch=%d currentEpoch=%d last=%s", m.Epoch, m.CurrentEpoch, FormatZxid(m.Zxid))
	case Sync:
		fmt.Fprintf(&b, " epoch=%d ref=%d", m.Epoch, m.Ref)
	case Ping:
		fmt.Fprintf(&b, " epoch=%d zxid=%s commit=%s", m.Epoch, FormatZxid(m.Zxid), FormatZxid(m.CommitZxid))
	case Request:
		fmt.Fprintf(&b, " epoch=%d %dB", m.Epoch, len(m.Data))
	default:
		fmt.Fprintf(&b, " epoch=%d zxid=%s", m.Epoch, FormatZxid(m.Zxid))
	}
	if m.Type == Snap {
		fmt.Fprintf(&b, " snapshot=%dB", len(m.Data))
	}
	if len(m.Entries) == 1 {
		fmt.Fprintf(&b, " entry=%s", FormatZxid(m.Entries[0].Zxid))
	} else if n := len(m.Entries); n > 1 {
		fmt.Fprintf(&b, " entries=%s..%s(%d)", FormatZxid(m.Entries[0].Zxid), FormatZxid(m.Entries[n-1].Zxid), n)
	}
	return b.String()
}

// Limits the decoder enforces before it allocates.
const (
	MaxMessageData    = 1 << 30 // snapshot or request bytes
	MaxMessageEntries = 1 << 24
)

// wireVersion 2 added Session.
const wireVersion = 2

// ErrInvalidMessage is returned for a message that cannot be decoded or
// makes no sense (a bad type, non-increasing entries, a message to someone
// else).
var ErrInvalidMessage = errors.New("zab: invalid message")

// Marshal appends the binary form of m to b. All integers are big-endian;
// byte strings are length-prefixed.
func (m Message) Marshal(b []byte) []byte {
	b = append(b, wireVersion, byte(m.Type), byte(m.State))
	b = binary.BigEndian.AppendUint64(b, m.From)
	b = binary.BigEndian.AppendUint64(b, m.To)
	b = binary.BigEndian.AppendUint32(b, m.Epoch)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Zxid))
	b = binary.BigEndian.AppendUint32(b, m.CurrentEpoch)
	b = binary.BigEndian.AppendUint64(b, uint64(m.CommitZxid))
	b = binary.BigEndian.AppendUint64(b, m.Round)
	b = binary.BigEndian.AppendUint64(b, m.Vote.Leader)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Vote.Zxid))
	b = binary.BigEndian.AppendUint32(b, m.Vote.PeerEpoch)
	b = binary.BigEndian.AppendUint64(b, m.Ref)
	b = binary.BigEndian.AppendUint64(b, m.Session)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Data)))
	b = append(b, m.Data...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Entries)))
	for _, e := range m.Entries {
		b = binary.BigEndian.AppendUint64(b, uint64(e.Zxid))
		b = binary.BigEndian.AppendUint32(b, uint32(len(e.Data)))
		b = append(b, e.Data...)
	}
	return b
}

// decoder is a sticky-error reader: after the first short read every read
// returns zero and err says what went wrong first.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidMessage}, args...)...)
	}
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail("need %d bytes, have %d", n, len(d.b))
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) u8() uint8 {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if p := d.take(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if p := d.take(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

func (d *decoder) bytes(limit int) []byte {
	n := d.u32()
	if d.err != nil {
		return nil
	}
	if uint64(n) > uint64(limit) {
		d.fail("%d bytes over the limit %d", n, limit)
		return nil
	}
	p := d.take(int(n))
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

// Unmarshal decodes one message occupying all of b. It never panics and
// checks every length against what is left before allocating.
func Unmarshal(b []byte) (Message, error) {
	d := &decoder{b: b}
	var m Message
	if v := d.u8(); d.err == nil && v != wireVersion {
		return Message{}, fmt.Errorf("%w: version %d", ErrInvalidMessage, v)
	}
	m.Type = MessageType(d.u8())
	m.State = State(d.u8())
	m.From = d.u64()
	m.To = d.u64()
	m.Epoch = d.u32()
	m.Zxid = int64(d.u64())
	m.CurrentEpoch = d.u32()
	m.CommitZxid = int64(d.u64())
	m.Round = d.u64()
	m.Vote.Leader = d.u64()
	m.Vote.Zxid = int64(d.u64())
	m.Vote.PeerEpoch = d.u32()
	m.Ref = d.u64()
	m.Session = d.u64()
	m.Data = d.bytes(MaxMessageData)
	n := d.u32()
	if d.err == nil && (n > MaxMessageEntries || uint64(n)*12 > uint64(len(d.b))) {
		d.fail("%d entries in %d bytes", n, len(d.b))
	}
	if d.err == nil && n > 0 {
		m.Entries = make([]Entry, 0, n)
		for i := uint32(0); i < n && d.err == nil; i++ {
			z := int64(d.u64())
			m.Entries = append(m.Entries, Entry{Zxid: z, Data: d.bytes(MaxMessageData)})
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return Message{}, d.err
	}
	if err := m.Validate(); err != nil {
		return Message{}, err
	}
	return m, nil
}

// Validate checks what can be checked without a peer's state: a known type
// and state, and entries with strictly increasing positive zxids.
func (m Message) Validate() error {
	if !m.Type.valid() {
		return fmt.Errorf("%w: type %d", ErrInvalidMessage, uint8(m.Type))
	}
	if m.State > Observing {
		return fmt.Errorf("%w: state %d", ErrInvalidMessage, uint8(m.State))
	}
	if m.From == 0 {
		return fmt.Errorf("%w: from 0", ErrInvalidMessage)
	}
	prev := int64(0)
	for _, e := range m.Entries {
		if e.Zxid <= prev {
			return fmt.Errorf("%w: entry %s after %s", ErrInvalidMessage, FormatZxid(e.Zxid), FormatZxid(prev))
		}
		prev = e.Zxid
	}
	return nil
}

// Zxid helpers: a zxid is epoch<<32 | counter (Zab paper, section 3).

// MakeZxid builds a zxid from an epoch and a counter.
func MakeZxid(epoch, counter uint32) int64 { return int64(epoch)<<32 | int64(counter) }

// ZxidEpoch is the epoch half of a zxid.
func ZxidEpoch(z int64) uint32 { return uint32(uint64(z) >> 32) }

// ZxidCounter is the counter half of a zxid.
func ZxidCounter(z int64) uint32 { return uint32(uint64(z)) }

// FormatZxid prints a zxid in hex as ZooKeeper's logs do ("0x100000003").
func FormatZxid(z int64) string { return fmt.Sprintf("%#x", uint64(z)) }
