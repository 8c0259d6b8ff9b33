package jute

// Records from zookeeper.jute. Fields are declared in wire order; the codecs
// (Encode/Decode) are in records_codec.go. Buffers of decoded records alias
// the frame they were decoded from: copy before keeping them past the frame.

// ConnectRequest is the first frame of a client connection (no header).
// ReadOnly is an optional trailing byte: HasReadOnly tells whether the client
// sent it, and the server echoes the byte only then (go-zookeeper never sends
// it; Java, C and kazoo do).
type ConnectRequest struct {
	ProtocolVersion int32
	LastZxidSeen    int64
	TimeOut         int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
	HasReadOnly     bool
}

// ConnectResponse answers a ConnectRequest (no header). TimeOut 0 tells the
// client its session expired.
type ConnectResponse struct {
	ProtocolVersion int32
	TimeOut         int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
	HasReadOnly     bool
}

// RequestHeader precedes every request after the handshake.
type RequestHeader struct {
	Xid  int32
	Type OpCode
}

// ReplyHeader precedes every server frame after the handshake.
type ReplyHeader struct {
	Xid  int32
	Zxid int64
	Err  ErrCode
}

// Stat is the 68-byte node metadata clients see.
type Stat struct {
	Czxid          int64
	Mzxid          int64
	Ctime          int64
	Mtime          int64
	Version        int32
	Cversion       int32
	Aversion       int32
	EphemeralOwner int64
	DataLength     int32
	NumChildren    int32
	Pzxid          int64
}

// ID is an authenticated identity or an ACL subject: scheme and id.
type ID struct {
	Scheme string
	ID     string
}

// ACL grants Perms to ID.
type ACL struct {
	Perms int32
	ID    ID
}

type CreateRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags CreateMode
}

type CreateTTLRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags CreateMode
	TTL   int64
}

type CreateResponse struct {
	Path string
}

type Create2Response struct {
	Path string
	Stat Stat
}

type DeleteRequest struct {
	Path    string
	Version int32
}

type ExistsRequest struct {
	Path  string
	Watch bool
}

type ExistsResponse struct {
	Stat Stat
}

type GetDataRequest struct {
	Path  string
	Watch bool
}

type GetDataResponse struct {
	Data []byte
	Stat Stat
}

type SetDataRequest struct {
	Path    string
	Data    []byte
	Version int32
}

type SetDataResponse struct {
	Stat Stat
}

type GetACLRequest struct {
	Path string
}

type GetACLResponse struct {
	ACL  []ACL
	Stat Stat
}

type SetACLRequest struct {
	Path    string
	ACL     []ACL
	Version int32
}

type SetACLResponse struct {
	Stat Stat
}

type GetChildrenRequest struct {
	Path  string
	Watch bool
}

type GetChildrenResponse struct {
	Children []string
}

type GetChildren2Request struct {
	Path  string
	Watch bool
}

type GetChildren2Response struct {
	Children []string
	Stat     Stat
}

type SyncRequest struct {
	Path string
}

type SyncResponse struct {
	Path string
}

// CheckVersionRequest is only valid inside a multi.
type CheckVersionRequest struct {
	Path    string
	Version int32
}

// MultiHeader precedes each op (and each result) of a multi; the list ends
// with {Type: -1, Done: true, Err: -1}.
type MultiHeader struct {
	Type OpCode
	Done bool
	Err  ErrCode
}

// ErrorResponse is the body of a failed multi result and of addWatch's reply.
type ErrorResponse struct {
	Err ErrCode
}

type ReconfigRequest struct {
	JoiningServers string
	LeavingServers string
	NewMembers     string
	CurConfigID    int64
}

type CheckWatchesRequest struct {
	Path string
	Type WatcherType
}

type RemoveWatchesRequest struct {
	Path string
	Type WatcherType
}

type AddWatchRequest struct {
	Path string
	Mode AddWatchMode
}

// SetWatches re-registers watches after a reconnect (op 101).
type SetWatches struct {
	RelativeZxid int64
	DataWatches  []string
	ExistWatches []string
	ChildWatches []string
}

// SetWatches2 adds persistent watches (op 105).
type SetWatches2 struct {
	RelativeZxid               int64
	DataWatches                []string
	ExistWatches               []string
	ChildWatches               []string
	PersistentWatches          []string
	PersistentRecursiveWatches []string
}

type GetEphemeralsRequest struct {
	PrefixPath string
}

type GetEphemeralsResponse struct {
	Ephemerals []string
}

type GetAllChildrenNumberRequest struct {
	Path string
}

type GetAllChildrenNumberResponse struct {
	TotalNumber int32
}

type ClientInfo struct {
	AuthScheme string
	User       string
}

type WhoAmIResponse struct {
	ClientInfo []ClientInfo
}

type AuthPacket struct {
	Type   int32
	Scheme string
	Auth   []byte
}

type GetSASLRequest struct {
	Token []byte
}

type SetSASLResponse struct {
	Token []byte
}

// WatcherEvent is the body of a notification (xid -1).
type WatcherEvent struct {
	Type  EventType
	State KeeperState
	Path  string
}

// MultiOp is one op of a multi or multiRead request. Req is one of
// *CreateRequest (create, create2, createContainer), *CreateTTLRequest,
// *DeleteRequest, *SetDataRequest, *CheckVersionRequest, *GetChildrenRequest,
// *GetDataRequest.
type MultiOp struct {
	Type OpCode
	Req  Record
}

// MultiRequest is the body of multi (14) and multiRead (22).
type MultiRequest struct {
	Ops []MultiOp
}

// MultiResult is one result of a multi. Resp is nil for delete and check,
// *ErrorResponse when Type is OpError, else the op's response record.
type MultiResult struct {
	Type OpCode
	Err  ErrCode
	Resp Record
}

// MultiResponse is the body of a multi reply.
type MultiResponse struct {
	Results []MultiResult
}

// Txn records: what the leader decides and every server applies.

type TxnHeader struct {
	ClientID int64
	Cxid     int32
	Zxid     int64
	Time     int64
	Type     OpCode
}

type CreateTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	Ephemeral      bool
	ParentCVersion int32
}

type CreateContainerTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	ParentCVersion int32
}

type CreateTTLTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	ParentCVersion int32
	TTL            int64
}

type DeleteTxn struct {
	Path string
}

type SetDataTxn struct {
	Path    string
	Data    []byte
	Version int32
}

type CheckVersionTxn struct {
	Path    string
	Version int32
}

type SetACLTxn struct {
	Path    string
	ACL     []ACL
	Version int32
}

type CreateSessionTxn struct {
	TimeOut int32
}

type CloseSessionTxn struct {
	Paths2Delete []string
}

type ErrorTxn struct {
	Err ErrCode
}

// Txn is one encoded sub-txn of a MultiTxn.
type Txn struct {
	Type OpCode
	Data []byte
}

type MultiTxn struct {
	Txns []Txn
}
