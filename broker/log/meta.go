package log

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MetaPropertiesFile is the file naming the broker and cluster a log
// directory belongs to.
const MetaPropertiesFile = "meta.properties"

// Errors of MetaProperties.Check (Kafka's InconsistentBrokerIdException and
// InconsistentClusterIdException): the log directory belongs to another
// broker or cluster and must not be used.
var (
	ErrInconsistentBrokerID  = errors.New("inconsistent broker.id")
	ErrInconsistentClusterID = errors.New("inconsistent cluster.id")
)

// MetaProperties is meta.properties in ZooKeeper mode (version 0):
// broker.id and cluster.id (absent in directories written before Kafka 0.10.1).
type MetaProperties struct {
	Version   int
	BrokerID  int32
	ClusterID string
}

// ReadMetaProperties reads and validates <logDir>/meta.properties. A missing
// file reports fs.ErrNotExist (a new log directory).
func ReadMetaProperties(logDir string) (MetaProperties, error) {
	path := filepath.Join(logDir, MetaPropertiesFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return MetaProperties{}, err
	}
	props, err := parseProperties(data)
	if err != nil {
		return MetaProperties{}, fmt.Errorf("%s: %w", path, err)
	}
	var m MetaProperties
	if m.Version, err = strconv.Atoi(props["version"]); err != nil || m.Version != 0 {
		return m, fmt.Errorf("%s: version %q: only version 0 (ZooKeeper mode) is supported", path, props["version"])
	}
	id, err := strconv.ParseInt(props["broker.id"], 10, 32)
	if err != nil || id < 0 {
		return m, fmt.Errorf("%s: broker.id %q: must be a non-negative integer", path, props["broker.id"])
	}
	m.BrokerID = int32(id)
	m.ClusterID = props["cluster.id"]
	return m, nil
}

// WriteMetaProperties writes <logDir>/meta.properties as Kafka does (a
// comment, then the keys), through a tmp file, fsync and rename.
func WriteMetaProperties(logDir string, m MetaProperties) error {
	if m.Version != 0 || m.BrokerID < 0 {
		return fmt.Errorf("meta.properties: version %d, broker.id %d: need version 0 and broker.id >= 0", m.Version, m.BrokerID)
	}
	if strings.ContainsAny(m.ClusterID, "\r\n=:#!\\ ") {
		return fmt.Errorf("meta.properties: cluster.id %q has characters that would need escaping", m.ClusterID)
	}
	var b bytes.Buffer
	b.WriteString("#\n#Written by zabkafka\n")
	if m.ClusterID != "" {
		b.WriteString("cluster.id=" + m.ClusterID + "\n")
	}
	b.WriteString("version=0\nbroker.id=" + strconv.Itoa(int(m.BrokerID)) + "\n")
	return writeFileAtomic(filepath.Join(logDir, MetaPropertiesFile), b.Bytes())
}

// Check compares the file with the broker's configuration, as
// KafkaServer.getOrGenerateClusterId and the broker id check do; an empty
// ClusterID in the file matches any cluster.
func (m MetaProperties) Check(brokerID int32, clusterID string) error {
	if m.BrokerID != brokerID {
		return fmt.Errorf("%w: the log directory has broker.id %d, this broker is %d", ErrInconsistentBrokerID, m.BrokerID, brokerID)
	}
	if m.ClusterID != "" && clusterID != "" && m.ClusterID != clusterID {
		return fmt.Errorf("%w: the log directory has cluster.id %s, the cluster is %s", ErrInconsistentClusterID, m.ClusterID, clusterID)
	}
	return nil
}

// parseProperties reads the subset of java.util.Properties Kafka writes:
// '#'/'!' comments, key=value or key:value, whitespace around them. Escapes
// and continuation lines are rejected rather than misread.
func parseProperties(data []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		if strings.ContainsRune(line, '\\') {
			return nil, fmt.Errorf("line %d: escapes are not supported", n)
		}
		i := strings.IndexAny(line, "=:")
		if i <= 0 {
			return nil, fmt.Errorf("line %d: %q is not key=value", n, line)
		}
		out[strings.TrimSpace(line[:i])] = strings.TrimSpace(line[i+1:])
	}
	return out, sc.Err()
}
