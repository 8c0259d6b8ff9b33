package zkmeta

import (
	"encoding/json"
	"slices"
	"strconv"
)

// EncodeClusterID renders /cluster/id as ClusterIdZNode.toJson does; note the
// version is a JSON string: {"version":"1","id":"<22-char base64 uuid>"}.
func EncodeClusterID(id string) []byte {
	w := newJSONWriter()
	w.str("version", "1")
	w.str("id", id)
	return w.bytes()
}

// DecodeClusterID returns the id in /cluster/id. Kafka reads only "id"; the
// version, when present, must be "1" (or the number 1).
func DecodeClusterID(data []byte) (string, error) {
	const rec = "cluster id"
	o := parseObject(rec, data)
	if raw, ok := o.lookup("version", false); ok {
		if v := trimQuotes(raw); v != "1" {
			o.fail(badVersion(rec, versionNumber(v), `"1"`))
		}
	}
	id := o.str("id")
	if o.err != nil {
		return "", o.err
	}
	if id == "" {
		return "", badData(rec, "empty id")
	}
	return id, nil
}

func versionNumber(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// ProducerIDBlockSize is ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE.
const ProducerIDBlockSize = 1000

// ProducerIDBlock is /latest_producer_id_block (ProducerIdBlockZNode): the
// last block of producer ids handed out; both bounds are inclusive.
type ProducerIDBlock struct {
	BrokerID   int32
	BlockStart int64
	BlockEnd   int64
}

// EncodeProducerIDBlock renders the block with the bounds as JSON strings:
// {"version":1,"broker":N,"block_start":"0","block_end":"999"}.
func EncodeProducerIDBlock(b ProducerIDBlock) []byte {
	w := newJSONWriter()
	w.int("version", 1)
	w.int("broker", int64(b.BrokerID))
	w.str("block_start", strconv.FormatInt(b.BlockStart, 10))
	w.str("block_end", strconv.FormatInt(b.BlockEnd, 10))
	return w.bytes()
}

// DecodeProducerIDBlock parses /latest_producer_id_block.
func DecodeProducerIDBlock(data []byte) (ProducerIDBlock, error) {
	const rec = "producer id block"
	o := parseObject(rec, data)
	o.version(1, 1)
	b := ProducerIDBlock{BrokerID: o.int32("broker"), BlockStart: o.int64String("block_start"), BlockEnd: o.int64String("block_end")}
	if o.err != nil {
		return ProducerIDBlock{}, o.err
	}
	if b.BlockStart < 0 || b.BlockEnd < b.BlockStart {
		return ProducerIDBlock{}, badData(rec, "block %d..%d", b.BlockStart, b.BlockEnd)
	}
	return b, nil
}

// Feature znode status (FeatureZNodeStatus).
const (
	FeatureDisabled int32 = 0
	FeatureEnabled  int32 = 1
)

// FeatureInfo is /feature (FeatureZNode, KIP-584): the finalized feature
// levels.
type FeatureInfo struct {
	// Version is 2 (IBP >= 3.3, only max_version_level; what Encode writes
	// when 0) or 1 (min_version_level and max_version_level).
	Version  int32
	Status   int32
	Features map[string]int16 // feature name -> finalized max version level
}

// EncodeFeatureInfo renders /feature as FeatureZNode.encode does:
// {"version":2,"status":1,"features":{"metadata.version":{"max_version_level":7}}}
// (version 1 also writes "min_version_level", equal to the max).
func EncodeFeatureInfo(f *FeatureInfo) ([]byte, error) {
	version := f.Version
	if version == 0 {
		version = 2
	}
	if version != 1 && version != 2 {
		return nil, invalid("feature znode version %d is not 1 or 2", version)
	}
	if f.Status != FeatureDisabled && f.Status != FeatureEnabled {
		return nil, invalid("feature znode status %d", f.Status)
	}
	names := make([]string, 0, len(f.Features))
	for n := range f.Features {
		names = append(names, n)
	}
	slices.Sort(names)
	feats := []byte{'{'}
	for i, n := range names {
		if f.Features[n] < 1 {
			return nil, invalid("feature %q has level %d < 1", n, f.Features[n])
		}
		if i > 0 {
			feats = append(feats, ',')
		}
		fw := newJSONWriter()
		fw.int("max_version_level", int64(f.Features[n]))
		if version == 1 {
			fw.int("min_version_level", int64(f.Features[n]))
		}
		feats = appendJSONString(feats, n)
		feats = append(feats, ':')
		feats = append(feats, fw.bytes()...)
	}
	w := newJSONWriter()
	w.int("version", int64(version))
	w.int("status", int64(f.Status))
	w.raw("features", append(feats, '}'))
	return w.bytes(), nil
}

// DecodeFeatureInfo parses /feature with FeatureZNode.decode's checks.
func DecodeFeatureInfo(data []byte) (*FeatureInfo, error) {
	const rec = "feature"
	o := parseObject(rec, data)
	f := &FeatureInfo{Features: map[string]int16{}}
	f.Version = o.version(1, 2)
	f.Status = o.int32("status")
	var raw map[string]map[string]json.Number
	o.decode("features", true, "an object of version levels", &raw)
	if o.err != nil {
		return nil, o.err
	}
	if f.Status != FeatureDisabled && f.Status != FeatureEnabled {
		return nil, badData(rec, "malformed status %d", f.Status)
	}
	for name, levels := range raw {
		maxV, err := levelOf(levels, "max_version_level")
		if err != nil || maxV < 1 {
			return nil, badData(rec, "feature %q: bad max_version_level", truncate([]byte(name)))
		}
		if f.Version == 1 {
			minV, err := levelOf(levels, "min_version_level")
			if err != nil || minV < 1 || maxV < minV {
				return nil, badData(rec, "feature %q: bad min_version_level", truncate([]byte(name)))
			}
		}
		f.Features[name] = maxV
	}
	return f, nil
}

func levelOf(levels map[string]json.Number, key string) (int16, error) {
	n, ok := levels[key]
	if !ok {
		return 0, ErrBadData
	}
	v, err := strconv.ParseInt(string(n), 10, 16)
	return int16(v), err
}

// EncodeConsumerOffset renders an old-consumer offset: bare decimal text
// (ConsumerOffset.encode).
func EncodeConsumerOffset(offset int64) []byte { return strconv.AppendInt(nil, offset, 10) }

// DecodeConsumerOffset parses an old-consumer offset znode.
func DecodeConsumerOffset(data []byte) (int64, error) {
	n, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		return 0, badData("consumer offset", "%q is not a decimal int64", truncate(data))
	}
	return n, nil
}
