package broker

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zabkafka/zabkafka/broker/log"
	"github.com/zabkafka/zabkafka/broker/replica"
)

// errorCode translates an outcome to its Kafka error code, at the last
// moment, as STYLE.md asks. Unknown errors are UNKNOWN_SERVER_ERROR.
func errorCode(err error) int16 {
	if err == nil {
		return 0
	}
	if ke, ok := errors.AsType[*kerr.Error](err); ok {
		return ke.Code
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return m.code.Code
		}
	}
	return kerr.UnknownServerError.Code
}

var errorCodes = []struct {
	err  error
	code *kerr.Error
}{
	{replica.ErrNotLeaderOrFollower, kerr.NotLeaderForPartition},
	{replica.ErrUnknownTopicOrPartition, kerr.UnknownTopicOrPartition},
	{replica.ErrStaleControllerEpoch, kerr.StaleControllerEpoch},
	{replica.ErrFencedLeaderEpoch, kerr.FencedLeaderEpoch},
	{replica.ErrUnknownLeaderEpoch, kerr.UnknownLeaderEpoch},
	{replica.ErrNotEnoughReplicas, kerr.NotEnoughReplicas},
	{replica.ErrInconsistentTopicID, kerr.InconsistentTopicID},
	{replica.ErrStorage, kerr.KafkaStorageError},
	{log.ErrOffsetOutOfRange, kerr.OffsetOutOfRange},
	{log.ErrCorruptMessage, kerr.CorruptMessage},
	{log.ErrMessageTooLarge, kerr.MessageTooLarge},
	{log.ErrInvalidRecord, kerr.InvalidRecord},
	{log.ErrClosed, kerr.NotLeaderForPartition},
}

// kafkaError pairs an error code with Kafka's message for a response's
// error_message field.
func kafkaError(code *kerr.Error, msg string) error { return &codedError{code: code, msg: msg} }

type codedError struct {
	code *kerr.Error
	msg  string
}

func (e *codedError) Error() string { return e.code.Message + ": " + e.msg }
func (e *codedError) Unwrap() error { return e.code }

// errorMessage is the text for an error_message field: Kafka sends the
// exception message, or null for success.
func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	var ce *codedError
	if errors.As(err, &ce) {
		return &ce.msg
	}
	s := err.Error()
	return &s
}
