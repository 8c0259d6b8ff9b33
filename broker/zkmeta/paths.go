package zkmeta

import (
	"fmt"
	"strconv"
	"strings"
)

// Znode paths, as in Kafka's ZkData.scala. All are logical paths below the
// chroot; Client applies the chroot (see the package comment).
const (
	BrokersPath                  = "/brokers"                          // BrokersZNode
	BrokerIDsPath                = "/brokers/ids"                      // BrokerIdsZNode
	TopicsPath                   = "/brokers/topics"                   // TopicsZNode
	BrokerSeqIDPath              = "/brokers/seqid"                    // BrokerSequenceIdZNode
	ControllerPath               = "/controller"                       // ControllerZNode (ephemeral)
	ControllerEpochPath          = "/controller_epoch"                 // ControllerEpochZNode
	ClusterPath                  = "/cluster"                          // ClusterZNode
	ClusterIDPath                = "/cluster/id"                       // ClusterIdZNode
	ConfigPath                   = "/config"                           // ConfigZNode
	ConfigChangesPath            = "/config/changes"                   // ConfigEntityChangeNotificationZNode
	AdminPath                    = "/admin"                            // AdminZNode
	DeleteTopicsPath             = "/admin/delete_topics"              // DeleteTopicsZNode
	ReassignPartitionsPath       = "/admin/reassign_partitions"        // ReassignPartitionsZNode (legacy tool)
	PreferredReplicaElectionPath = "/admin/preferred_replica_election" // PreferredReplicaElectionZNode
	IsrChangeNotificationPath    = "/isr_change_notification"          // IsrChangeNotificationZNode
	LogDirEventNotificationPath  = "/log_dir_event_notification"       // LogDirEventNotificationZNode
	ProducerIDBlockPath          = "/latest_producer_id_block"         // ProducerIdBlockZNode
	FeaturePath                  = "/feature"                          // FeatureZNode
	ConsumersPath                = "/consumers"                        // ConsumerPathZNode (old consumer)
)

// Prefixes of persistent-sequential notification znodes; ZooKeeper appends a
// 10-digit zero-padded counter ("config_change_0000000042").
const (
	ConfigChangePrefix  = "config_change_" // ConfigEntityChangeNotificationSequenceZNode
	IsrChangePrefix     = "isr_change_"    // IsrChangeNotificationSequenceZNode
	LogDirEventPrefix   = "log_dir_event_" // LogDirEventNotificationSequenceZNode
	sequenceSuffixWidth = 10
)

// Config entity types (kafka.server.ConfigType): the children of /config.
const (
	ConfigTypeTopic  = "topics"
	ConfigTypeClient = "clients"
	ConfigTypeUser   = "users"
	ConfigTypeBroker = "brokers"
	ConfigTypeIP     = "ips"
)

// DefaultBrokerConfigName is the entity name of the cluster-wide dynamic
// broker config, /config/brokers/<default> (ConfigEntityName.Default).
const DefaultBrokerConfigName = "<default>"

// ConfigTypes lists every config entity type in ConfigType.ALL order.
func ConfigTypes() []string {
	return []string{ConfigTypeTopic, ConfigTypeClient, ConfigTypeUser, ConfigTypeBroker, ConfigTypeIP}
}

// PersistentPaths returns the paths every broker ensures at start-up
// (ZkData.PersistentZkPaths), in Kafka's order.
func PersistentPaths() []string {
	p := []string{
		ConsumersPath,
		BrokerIDsPath,
		TopicsPath,
		ConfigChangesPath,
		DeleteTopicsPath,
		BrokerSeqIDPath,
		IsrChangeNotificationPath,
		ProducerIDBlockPath,
		LogDirEventNotificationPath,
	}
	for _, t := range ConfigTypes() {
		p = append(p, ConfigEntityTypePath(t))
	}
	return p
}

func itoa(n int32) string { return strconv.FormatInt(int64(n), 10) }

// BrokerIDPath is /brokers/ids/<id> (BrokerIdZNode).
func BrokerIDPath(id int32) string { return BrokerIDsPath + "/" + itoa(id) }

// TopicPath is /brokers/topics/<t> (TopicZNode).
func TopicPath(topic string) string { return TopicsPath + "/" + topic }

// TopicPartitionsPath is /brokers/topics/<t>/partitions.
func TopicPartitionsPath(topic string) string { return TopicPath(topic) + "/partitions" }

// TopicPartitionPath is /brokers/topics/<t>/partitions/<p>.
func TopicPartitionPath(topic string, partition int32) string {
	return TopicPartitionsPath(topic) + "/" + itoa(partition)
}

// PartitionStatePath is /brokers/topics/<t>/partitions/<p>/state
// (TopicPartitionStateZNode).
func PartitionStatePath(topic string, partition int32) string {
	return TopicPartitionPath(topic, partition) + "/state"
}

// ConfigEntityTypePath is /config/<type>.
func ConfigEntityTypePath(entityType string) string { return ConfigPath + "/" + entityType }

// ConfigEntityPath is /config/<type>/<name> (ConfigEntityZNode).
func ConfigEntityPath(entityType, name string) string {
	return ConfigEntityTypePath(entityType) + "/" + name
}

// TopicConfigPath is /config/topics/<t>.
func TopicConfigPath(topic string) string { return ConfigEntityPath(ConfigTypeTopic, topic) }

// BrokerConfigPath is /config/brokers/<id>.
func BrokerConfigPath(id int32) string { return ConfigEntityPath(ConfigTypeBroker, itoa(id)) }

// ConfigChangeSeqPath is /config/changes/config_change_<seq>; seq "" gives
// the prefix passed to a sequential create.
func ConfigChangeSeqPath(seq string) string {
	return ConfigChangesPath + "/" + ConfigChangePrefix + seq
}

// DeleteTopicPath is /admin/delete_topics/<t> (DeleteTopicsTopicZNode).
func DeleteTopicPath(topic string) string { return DeleteTopicsPath + "/" + topic }

// IsrChangeSeqPath is /isr_change_notification/isr_change_<seq>; seq "" gives
// the create prefix.
func IsrChangeSeqPath(seq string) string {
	return IsrChangeNotificationPath + "/" + IsrChangePrefix + seq
}

// LogDirEventSeqPath is /log_dir_event_notification/log_dir_event_<seq>.
func LogDirEventSeqPath(seq string) string {
	return LogDirEventNotificationPath + "/" + LogDirEventPrefix + seq
}

// ConsumerGroupPath is /consumers/<group> (old ZooKeeper consumer).
func ConsumerGroupPath(group string) string { return ConsumersPath + "/" + group }

// ConsumerIDsPath is /consumers/<group>/ids.
func ConsumerIDsPath(group string) string { return ConsumerGroupPath(group) + "/ids" }

// ConsumerIDPath is /consumers/<group>/ids/<consumerId> (ephemeral).
func ConsumerIDPath(group, consumerID string) string {
	return ConsumerIDsPath(group) + "/" + consumerID
}

// ConsumerOwnerPath is /consumers/<group>/owners/<t>/<p> (ephemeral). Kafka
// 0.8+ names the znode by partition id; the 0.7 "<broker>-<partition>" form in
// some notes is not what these brokers write.
func ConsumerOwnerPath(group, topic string, partition int32) string {
	return ConsumerGroupPath(group) + "/owners/" + topic + "/" + itoa(partition)
}

// ConsumerOffsetPath is /consumers/<group>/offsets/<t>/<p> (ConsumerOffset),
// also written by OffsetCommit v0.
func ConsumerOffsetPath(group, topic string, partition int32) string {
	return ConsumerGroupPath(group) + "/offsets/" + topic + "/" + itoa(partition)
}

// ParseSequenceNumber returns the counter of a sequential znode name such as
// "isr_change_0000000042" (IsrChangeNotificationSequenceZNode.sequenceNumber).
// name may be a bare child name or a full path.
func ParseSequenceNumber(name, prefix string) (int64, error) {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	s, ok := strings.CutPrefix(name, prefix)
	if !ok || s == "" {
		return 0, fmt.Errorf("%w: %q is not a %s<seq> znode", ErrInvalid, name, prefix)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: %q has no decimal sequence number", ErrInvalid, name)
	}
	return n, nil
}

// FormatSequenceNumber renders a counter as ZooKeeper does (%010d).
func FormatSequenceNumber(n int64) string { return fmt.Sprintf("%0*d", sequenceSuffixWidth, n) }

// MaxTopicNameLength is Topic.MAX_NAME_LENGTH.
const MaxTopicNameLength = 249

// ValidateTopicName applies Kafka's Topic.validate: 1..249 characters from
// [a-zA-Z0-9._-], and not "." or "..". Every Client method that builds a path
// from a topic name calls it, so a name can never escape its znode.
func ValidateTopicName(topic string) error {
	switch {
	case topic == "":
		return invalid("topic name is empty")
	case topic == "." || topic == "..":
		return invalid("topic name cannot be %q", topic)
	case len(topic) > MaxTopicNameLength:
		return invalid("topic name is longer than %d characters", MaxTopicNameLength)
	}
	for i := 0; i < len(topic); i++ {
		c := topic[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return invalid("topic name %q contains a character other than ASCII alphanumerics, '.', '_' and '-'", topic)
		}
	}
	return nil
}

// validateNodeName rejects names that cannot be a single znode name (config
// entity names, consumer ids).
func validateNodeName(what, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return invalid("%s %q is not a valid znode name", what, name)
	}
	return nil
}

// ParseConnect splits a zookeeper.connect value ("h1:2181,h2:2181/kafka")
// into the server list and the chroot ("" when there is none), as Kafka's
// ZooKeeperClient does: the chroot starts at the first '/'.
func ParseConnect(connect string) (servers []string, chroot string, err error) {
	hosts := connect
	if i := strings.IndexByte(connect, '/'); i >= 0 {
		hosts, chroot = connect[:i], connect[i:]
		chroot = strings.TrimSuffix(chroot, "/")
		if err := validateChroot(chroot); err != nil {
			return nil, "", err
		}
	}
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			servers = append(servers, h)
		}
	}
	if len(servers) == 0 {
		return nil, "", invalid("zookeeper.connect %q names no server", connect)
	}
	return servers, chroot, nil
}

func validateChroot(chroot string) error {
	if chroot == "" {
		return nil
	}
	if chroot[0] != '/' || strings.HasSuffix(chroot, "/") || strings.Contains(chroot, "//") {
		return invalid("chroot %q is not an absolute znode path", chroot)
	}
	for _, part := range strings.Split(chroot[1:], "/") {
		if part == "." || part == ".." {
			return invalid("chroot %q contains %q", chroot, part)
		}
	}
	return nil
}
