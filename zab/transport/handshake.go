package transport

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The handshake is one fixed-size header each way. The dialer sends a hello
// naming itself, the server it meant to reach, the port kind and the hash
// of its member list; the acceptor answers with its own header whose status
// says what happens next. QuorumCnxManager sends (protocol version, sid,
// address) and answers nothing, so a rejected dialer only sees a closed
// socket; answering lets both sides log why (a mismatched member list is
// then reported by both servers, not just one).
//
//	offset  size  field
//	0       4     magic "ZABT"
//	4       2     protocol version (1)
//	6       1     port kind: 1 quorum, 2 election
//	7       1     status: 0 hello (dialer), else the acceptor's verdict
//	8       8     sender server id
//	16      8     receiver server id (who the sender believes it reached)
//	24      4     the largest frame the sender accepts on this port
//	28      32    SHA-256 of the member list (membersText)
//
// Exchanging frame limits lets a sender drop a message the receiver would
// refuse (with a log line) instead of having the connection cut for it,
// when members run with different MaxFrameBytes.
const (
	headerLen       = 60
	minFrameLimit   = 1 << 10 // smaller than any sane limit: a notification is ~100 bytes
	protocolVersion = 1
)

var magic = [4]byte{'Z', 'A', 'B', 'T'}

// port is which of a member's two listeners a connection belongs to.
type port uint8

const (
	quorumPort   port = 1
	electionPort port = 2
)

func (p port) String() string {
	switch p {
	case quorumPort:
		return "quorum"
	case electionPort:
		return "election"
	}
	return fmt.Sprintf("port(%d)", uint8(p))
}

// status is the second half of the handshake: the acceptor's verdict.
type status uint8

const (
	statusHello       status = 0 // the dialer's greeting
	statusOK          status = 1 // connection kept
	statusDialBack    status = 2 // dialer has the lower id: closed, the acceptor dials back
	statusUnknownID   status = 3 // sender id is not a member (or is the acceptor's own)
	statusDuplicate   status = 4 // a live connection from that id exists from another host
	statusMembers     status = 5 // member lists differ
	statusWrongTarget status = 6 // receiver id is not the acceptor's id: a wrong address in the config
	statusWrongPort   status = 7 // quorum traffic on the election port or the reverse
	statusMax                = statusWrongPort
)

// reason is the text logged for a verdict; tests match on it.
func (s status) reason() string {
	switch s {
	case statusHello:
		return "hello"
	case statusOK:
		return "ok"
	case statusDialBack:
		return "dial back"
	case statusUnknownID:
		return "unknown server id"
	case statusDuplicate:
		return "duplicate server id"
	case statusMembers:
		return "member list mismatch"
	case statusWrongTarget:
		return "wrong server id"
	case statusWrongPort:
		return "wrong port"
	}
	return fmt.Sprintf("status %d", uint8(s))
}

type header struct {
	port     port
	status   status
	from     uint64
	to       uint64
	maxFrame uint32
	members  [sha256.Size]byte
}

// errBadHeader wraps everything parseHeader rejects.
var errBadHeader = errors.New("bad handshake header")

func (h header) marshal(b []byte) []byte {
	b = append(b, magic[:]...)
	b = binary.BigEndian.AppendUint16(b, protocolVersion)
	b = append(b, byte(h.port), byte(h.status))
	b = binary.BigEndian.AppendUint64(b, h.from)
	b = binary.BigEndian.AppendUint64(b, h.to)
	b = binary.BigEndian.AppendUint32(b, h.maxFrame)
	return append(b, h.members[:]...)
}

// parseHeader decodes a header. It never panics and allocates nothing but
// the error.
func parseHeader(b []byte) (header, error) {
	var h header
	if len(b) != headerLen {
		return h, fmt.Errorf("%w: %d bytes, want %d", errBadHeader, len(b), headerLen)
	}
	if [4]byte(b[0:4]) != magic {
		return h, fmt.Errorf("%w: bad magic %x", errBadHeader, b[0:4])
	}
	if v := binary.BigEndian.Uint16(b[4:6]); v != protocolVersion {
		return h, fmt.Errorf("%w: protocol version %d, want %d", errBadHeader, v, protocolVersion)
	}
	h.port = port(b[6])
	if h.port != quorumPort && h.port != electionPort {
		return h, fmt.Errorf("%w: port kind %d", errBadHeader, b[6])
	}
	h.status = status(b[7])
	if h.status > statusMax {
		return h, fmt.Errorf("%w: status %d", errBadHeader, b[7])
	}
	h.from = binary.BigEndian.Uint64(b[8:16])
	h.to = binary.BigEndian.Uint64(b[16:24])
	h.maxFrame = binary.BigEndian.Uint32(b[24:28])
	if h.maxFrame < minFrameLimit || h.maxFrame > maxFrameLimit {
		return h, fmt.Errorf("%w: frame limit %d", errBadHeader, h.maxFrame)
	}
	copy(h.members[:], b[28:headerLen])
	return h, nil
}

// membersText is the canonical member list both sides hash: one line per
// member in id order, "server.N=quorumAddr|electionAddr|participant" (or
// observer), modelled on the server.N lines of zoo.cfg (reference 4.6).
// Addresses are compared as written, so every member must be configured
// with the same text for each server, as ZooKeeper's dynamic config
// requires too.
func membersText(members map[uint64]Member) string {
	ids := make([]uint64, 0, len(members))
	for id := range members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b strings.Builder
	for _, id := range ids {
		m := members[id]
		role := "participant"
		if m.Observer {
			role = "observer"
		}
		fmt.Fprintf(&b, "server.%d=%s|%s|%s\n", id, m.QuorumAddr, m.ElectionAddr, role)
	}
	return b.String()
}

func membersHash(members map[uint64]Member) [sha256.Size]byte {
	return sha256.Sum256([]byte(membersText(members)))
}

// shortHash is the hash as logged: enough hex to tell two configs apart.
func shortHash(h [sha256.Size]byte) string { return hex.EncodeToString(h[:6]) }
