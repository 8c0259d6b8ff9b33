package zkclient

import (
	"errors"
	"fmt"

	"github.com/zabkafka/zabkafka/jute"
)

// State is the connection state, named as the Java client's
// ZooKeeper.States so shells can print it the same way.
type State int32

const (
	StateConnecting State = iota
	StateConnected
	StateConnectedReadOnly
	StateClosed
	StateAuthFailed
)

func (s State) String() string {
	switch s {
	case StateConnecting:
		return "CONNECTING"
	case StateConnected:
		return "CONNECTED"
	case StateConnectedReadOnly:
		return "CONNECTEDREADONLY"
	case StateClosed:
		return "CLOSED"
	case StateAuthFailed:
		return "AUTH_FAILED"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Alive reports whether the session may still be used (States.isAlive).
func (s State) Alive() bool { return s != StateClosed && s != StateAuthFailed }

// Event is a watch notification or a connection state change (Type
// jute.EventNone, Path empty). Zxid is the notification's zxid, -1 for
// events the client makes itself.
type Event struct {
	Type  jute.EventType
	State jute.KeeperState
	Path  string
	Zxid  int64
}

// KeeperStateName is Watcher.Event.KeeperState's name for s.
func KeeperStateName(s jute.KeeperState) string {
	switch s {
	case jute.StateDisconnected:
		return "Disconnected"
	case jute.StateSyncConnected:
		return "SyncConnected"
	case jute.StateAuthFailed:
		return "AuthFailed"
	case jute.StateConnectedReadOnly:
		return "ConnectedReadOnly"
	case jute.StateExpired:
		return "Expired"
	case jute.StateClosed:
		return "Closed"
	}
	return fmt.Sprintf("Unknown(%d)", int32(s))
}

// String is WatchedEvent.toString of ZooKeeper 3.8: "WatchedEvent
// state:SyncConnected type:NodeCreated path:/a", path "null" for state
// changes.
func (e Event) String() string {
	path := e.Path
	if e.Type == jute.EventNone && path == "" {
		path = "null"
	}
	return "WatchedEvent state:" + KeeperStateName(e.State) + " type:" + e.Type.String() + " path:" + path
}

// Error is a failed request: the server's error code and the path the
// request named, as KeeperException carries them.
type Error struct {
	Code jute.ErrCode
	Path string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return "KeeperErrorCode = " + CodeMessage(e.Code)
	}
	return "KeeperErrorCode = " + CodeMessage(e.Code) + " for " + e.Path
}

// Unwrap lets errors.Is(err, jute.ErrNoNode) work.
func (e *Error) Unwrap() error { return e.Code }

// ErrorCode returns the ZooKeeper error code of err, jute.ErrOK for nil and
// jute.ErrSystemError for an error that carries none.
func ErrorCode(err error) jute.ErrCode {
	if err == nil {
		return jute.ErrOK
	}
	var code jute.ErrCode
	if errors.As(err, &code) {
		return code
	}
	return jute.ErrSystemError
}

// CodeMessage is KeeperException.getCodeMessage: the words the Java client
// prints for a code.
func CodeMessage(c jute.ErrCode) string {
	if m, ok := codeMessages[c]; ok {
		return m
	}
	return fmt.Sprintf("Unknown error %d", int32(c))
}

var codeMessages = map[jute.ErrCode]string{
	jute.ErrOK: "ok", jute.ErrSystemError: "SystemError", jute.ErrRuntimeInconsistency: "RuntimeInconsistency",
	jute.ErrDataInconsistency: "DataInconsistency", jute.ErrConnectionLoss: "ConnectionLoss",
	jute.ErrMarshallingError: "MarshallingError", jute.ErrNewConfigNoQuorum: "NewConfigNoQuorum",
	jute.ErrReconfigInProgress: "ReconfigInProgress", jute.ErrUnimplemented: "Unimplemented",
	jute.ErrOperationTimeout: "OperationTimeout", jute.ErrBadArguments: "BadArguments",
	jute.ErrAPIError: "APIError", jute.ErrNoNode: "NoNode", jute.ErrNoAuth: "NoAuth",
	jute.ErrBadVersion: "BadVersion", jute.ErrNoChildrenForEphemerals: "NoChildrenForEphemerals",
	jute.ErrNodeExists: "NodeExists", jute.ErrInvalidACL: "InvalidACL", jute.ErrAuthFailed: "AuthFailed",
	jute.ErrNotEmpty: "Directory not empty", jute.ErrSessionExpired: "Session expired",
	jute.ErrInvalidCallback: "Invalid callback", jute.ErrSessionMoved: "Session moved",
	jute.ErrNotReadOnly: "Not a read-only call", jute.ErrEphemeralOnLocalSession: "Ephemeral node on local session",
	jute.ErrNoWatcher: "No such watcher", jute.ErrReconfigDisabled: "Reconfig is disabled",
	jute.ErrSessionClosedRequireSASL: "Session closed because client failed to authenticate",
	jute.ErrQuotaExceeded:            "Quota has exceeded", jute.ErrThrottledOp: "Op throttled due to high load",
	jute.ErrRequestTimeout: "Request timeout",
}
