package controller

// Kafka error codes the controller answers with or reads
// (org.apache.kafka.common.protocol.Errors).
const (
	errUnknownServerError      int16 = -1
	errNone                    int16 = 0
	errUnknownTopicOrPartition int16 = 3
	errBrokerNotAvailable      int16 = 8
	errNotController           int16 = 41
	errInvalidRequest          int16 = 42
	errOperationNotAttempted   int16 = 55
	errKafkaStorageError       int16 = 56
	errFencedLeaderEpoch       int16 = 74
	errStaleBrokerEpoch        int16 = 77
	errInvalidUpdateVersion    int16 = 95
	errUnknownTopicID          int16 = 100
	errIneligibleReplica       int16 = 107
)

// securityProtocolID maps a security protocol name to the id that
// UpdateMetadata carries (SecurityProtocol.id).
func securityProtocolID(name string) int16 {
	switch name {
	case "PLAINTEXT":
		return 0
	case "SSL":
		return 1
	case "SASL_PLAINTEXT":
		return 2
	case "SASL_SSL":
		return 3
	}
	return -1
}
