package log

import "errors"

// Sentinel errors. The broker translates them to Kafka error codes; the
// returned errors wrap them with details, so test them with errors.Is.
var (
	// ErrOffsetOutOfRange is OFFSET_OUT_OF_RANGE: a read outside
	// [LogStartOffset, LogEndOffset], or a log start offset beyond the high
	// watermark.
	ErrOffsetOutOfRange = errors.New("offset out of range")
	// ErrCorruptMessage is CORRUPT_MESSAGE: a batch whose CRC or length is
	// wrong.
	ErrCorruptMessage = errors.New("corrupt message")
	// ErrMessageTooLarge is MESSAGE_TOO_LARGE: a batch larger than
	// max.message.bytes (or than segment.bytes).
	ErrMessageTooLarge = errors.New("message too large")
	// ErrInvalidRecord is INVALID_RECORD: a batch that is intact but not
	// acceptable (wrong magic, record count not matching the offset delta).
	ErrInvalidRecord = errors.New("invalid record")
	// ErrUnexpectedAppendOffset is returned to a follower append whose
	// offsets do not continue the log (Kafka's UnexpectedAppendOffsetException
	// and OffsetsOutOfOrderException); the replica fetcher handles it.
	ErrUnexpectedAppendOffset = errors.New("unexpected append offset")
	// ErrClosed is returned by every operation on a closed or deleted Log.
	ErrClosed = errors.New("log closed")
)
