package zkmeta

import (
	"strconv"
)

// ControllerInfo is the ephemeral /controller record (ControllerZNode).
type ControllerInfo struct {
	// Version is 2 as Kafka 3.4 writes (what Encode writes when 0), or 1 as
	// 2.x-3.3 wrote.
	Version     int32
	BrokerID    int32
	TimestampMs int64 // written as a JSON string
	// KRaftControllerEpoch is written by version 2 only; ZooKeeper-mode
	// controllers write -1. Decode leaves -1 when the key is absent.
	KRaftControllerEpoch int32
}

// EncodeControllerInfo renders /controller as ControllerZNode.encode does:
//
//	{"version":2,"brokerid":1,"timestamp":"1700000000000","kraftControllerEpoch":-1}
//	{"version":1,"brokerid":1,"timestamp":"1700000000000"}
func EncodeControllerInfo(c *ControllerInfo) ([]byte, error) {
	version := c.Version
	if version == 0 {
		version = 2
	}
	if version != 1 && version != 2 {
		return nil, invalid("controller record version %d is not 1 or 2", version)
	}
	if c.BrokerID < 0 {
		return nil, invalid("controller broker id %d is negative", c.BrokerID)
	}
	w := newJSONWriter()
	w.int("version", int64(version))
	w.int("brokerid", int64(c.BrokerID))
	w.str("timestamp", strconv.FormatInt(c.TimestampMs, 10))
	if version == 2 {
		w.int("kraftControllerEpoch", int64(c.KRaftControllerEpoch))
	}
	return w.bytes(), nil
}

// DecodeControllerInfo parses /controller (versions 1 and 2). Kafka's readers
// need only brokerid (ControllerZNode.decode); the timestamp is accepted as a
// string or a number.
func DecodeControllerInfo(data []byte) (*ControllerInfo, error) {
	o := parseObject("controller", data)
	c := &ControllerInfo{KRaftControllerEpoch: -1}
	c.Version = o.version(1, 2)
	c.BrokerID = o.int32("brokerid")
	if ts, ok := o.lookup("timestamp", false); ok {
		if n, err := strconv.ParseInt(trimQuotes(ts), 10, 64); err == nil {
			c.TimestampMs = n
		} else {
			o.fail(badData("controller", "field \"timestamp\": %s is not a decimal integer", truncate(ts)))
		}
	}
	if e, ok := o.optInt32("kraftControllerEpoch", -1, false); ok {
		c.KRaftControllerEpoch = e
	}
	if o.err != nil {
		return nil, o.err
	}
	return c, nil
}

func trimQuotes(b []byte) string {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// EncodeControllerEpoch renders /controller_epoch: bare decimal text, not
// JSON (ControllerEpochZNode.encode).
func EncodeControllerEpoch(epoch int32) []byte { return strconv.AppendInt(nil, int64(epoch), 10) }

// DecodeControllerEpoch parses /controller_epoch as Java's Integer.parseInt
// does.
func DecodeControllerEpoch(data []byte) (int32, error) {
	n, err := strconv.ParseInt(string(data), 10, 32)
	if err != nil {
		return 0, badData("controller epoch", "%q is not a decimal int32", truncate(data))
	}
	if n < 0 {
		return 0, badData("controller epoch", "negative epoch %d", n)
	}
	return int32(n), nil
}
