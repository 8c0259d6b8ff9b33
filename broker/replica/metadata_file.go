package replica

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// PartitionMetadataFile holds a partition's topic id (KIP-516):
// "version: 0\ntopic_id: <base64url id>\n".
const PartitionMetadataFile = "partition.metadata"

// TopicID is a topic's 16-byte UUID.
type TopicID [16]byte

// IsZero reports the null id.
func (id TopicID) IsZero() bool { return id == TopicID{} }

func (id TopicID) String() string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// ReadPartitionMetadata reads a partition directory's topic id; ok is false
// when the file does not exist.
func ReadPartitionMetadata(partitionDir string) (TopicID, bool, error) {
	b, err := os.ReadFile(filepath.Join(partitionDir, PartitionMetadataFile))
	if errors.Is(err, fs.ErrNotExist) {
		return TopicID{}, false, nil
	}
	if err != nil {
		return TopicID{}, false, err
	}
	var id TopicID
	version, found := "", false
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "version":
			version = strings.TrimSpace(v)
		case "topic_id":
			raw, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(v))
			if err != nil || len(raw) != 16 {
				return TopicID{}, false, fmt.Errorf("%s: bad topic_id %q", PartitionMetadataFile, strings.TrimSpace(v))
			}
			copy(id[:], raw)
			found = true
		}
	}
	if version != "0" || !found {
		return TopicID{}, false, fmt.Errorf("%s: want version 0 and a topic_id", PartitionMetadataFile)
	}
	return id, true, nil
}

func writePartitionMetadata(partitionDir string, id TopicID) error {
	return writeFileSync(filepath.Join(partitionDir, PartitionMetadataFile),
		[]byte(fmt.Sprintf("version: 0\ntopic_id: %s\n", id)))
}
