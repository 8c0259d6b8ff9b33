package zkmeta

import (
	"strings"
)

// EncodeEntityConfig renders /config/<type>/<name> as ConfigEntityZNode.encode
// does: {"version":1,"config":{"retention.ms":"86400000"}}. Every value is a
// string; keys are sorted.
func EncodeEntityConfig(config map[string]string) []byte {
	w := newJSONWriter()
	w.int("version", 1)
	w.raw("config", appendStringMap(nil, config))
	return w.bytes()
}

// DecodeEntityConfig parses a config entity znode. Like
// ConfigEntityZNode.decode, null or empty data is an empty config (a config
// entity znode may exist with no data); a present "config" must hold only
// strings.
func DecodeEntityConfig(data []byte) (map[string]string, error) {
	if len(data) == 0 || string(data) == "null" {
		return map[string]string{}, nil
	}
	o := parseObject("entity config", data)
	o.version(1, 1)
	cfg := map[string]string{}
	if o.has("config") {
		o.decode("config", true, "an object of strings", &cfg)
	}
	if o.err != nil {
		return nil, o.err
	}
	if cfg == nil {
		cfg = map[string]string{}
	}
	return cfg, nil
}

// EncodeConfigChangeNotification renders a /config/changes/config_change_<seq>
// payload, version 2 (ConfigEntityChangeNotificationSequenceZNode.encode):
// {"version":2,"entity_path":"topics/<t>"}.
func EncodeConfigChangeNotification(entityPath string) []byte {
	w := newJSONWriter()
	w.int("version", 2)
	w.str("entity_path", entityPath)
	return w.bytes()
}

// DecodeConfigChangeNotification returns the entity path ("topics/t",
// "users/u/clients/c") of a notification. Version 1 (entity_type +
// entity_name, before KIP-55) is converted to the same form.
func DecodeConfigChangeNotification(data []byte) (string, error) {
	const rec = "config change notification"
	o := parseObject(rec, data)
	var path string
	switch o.version(1, 2) {
	case 1:
		path = o.str("entity_type") + "/" + o.str("entity_name")
	case 2:
		path = o.str("entity_path")
	}
	if o.err != nil {
		return "", o.err
	}
	if typ, name, ok := strings.Cut(path, "/"); !ok || typ == "" || name == "" {
		return "", badData(rec, "entity path %q is not <type>/<name>", truncate([]byte(path)))
	}
	return path, nil
}

// TopicEntityPath is the entity path of a topic's config ("topics/<t>").
func TopicEntityPath(topic string) string { return ConfigTypeTopic + "/" + topic }

// BrokerEntityPath is the entity path of a broker's config ("brokers/<id>").
func BrokerEntityPath(id int32) string { return ConfigTypeBroker + "/" + itoa(id) }
