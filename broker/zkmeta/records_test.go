package zkmeta

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Golden encodings: the exact bytes zkmeta writes, in the key order Kafka 3.x
// is seen writing (Jackson's order is not stable, so Kafka's readers, and
// ours, never depend on it).
func TestEncodeGolden(t *testing.T) {
	tid, err := ParseUuid("mJ8pXlQtQ7KQy3q6pnE8hA")
	if err != nil {
		t.Fatal(err)
	}
	enc := func(b []byte, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	plain := Endpoint{Listener: "PLAINTEXT", SecurityProtocol: "PLAINTEXT", Host: "10.0.0.1", Port: 9092}
	tests := []struct{ name, got, want string }{
		{"broker v5 (reference 1.2.1)", enc(EncodeBrokerInfo(&BrokerInfo{ID: 1, Endpoints: []Endpoint{plain}, JmxPort: -1, TimestampMs: 1700000000000})),
			`{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://10.0.0.1:9092"],"jmx_port":-1,"port":9092,"host":"10.0.0.1","version":5,"timestamp":"1700000000000"}`},
		{"broker v5 rack, two listeners, features", enc(EncodeBrokerInfo(&BrokerInfo{ID: 2, Version: 5, Rack: "dc1", JmxPort: 9999, TimestampMs: 1,
			Endpoints: []Endpoint{{Listener: "CLIENT", SecurityProtocol: "SSL", Host: "b2", Port: 9093}, {Listener: "REPLICATION", SecurityProtocol: "PLAINTEXT", Host: "::1", Port: 9092}},
			Features:  map[string]SupportedVersionRange{"metadata.version": {MinVersion: 1, MaxVersion: 7}}})),
			`{"features":{"metadata.version":{"min_version":1,"max_version":7}},"listener_security_protocol_map":{"CLIENT":"SSL","REPLICATION":"PLAINTEXT"},"endpoints":["CLIENT://b2:9093","REPLICATION://[::1]:9092"],"rack":"dc1","jmx_port":9999,"port":9092,"host":"::1","version":5,"timestamp":"1"}`},
		{"broker without PLAINTEXT: host null, port -1", enc(EncodeBrokerInfo(&BrokerInfo{ID: 3, JmxPort: -1, TimestampMs: 5,
			Endpoints: []Endpoint{{Listener: "SSL", SecurityProtocol: "SSL", Host: "h", Port: 9093}}})),
			`{"features":{},"listener_security_protocol_map":{"SSL":"SSL"},"endpoints":["SSL://h:9093"],"jmx_port":-1,"port":-1,"host":null,"version":5,"timestamp":"5"}`},
		{"broker v4", enc(EncodeBrokerInfo(&BrokerInfo{ID: 1, Version: 4, Endpoints: []Endpoint{plain}, JmxPort: -1, TimestampMs: 7})),
			`{"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://10.0.0.1:9092"],"jmx_port":-1,"port":9092,"host":"10.0.0.1","version":4,"timestamp":"7"}`},
		{"broker v2", enc(EncodeBrokerInfo(&BrokerInfo{ID: 1, Version: 2, Endpoints: []Endpoint{plain}, JmxPort: -1, TimestampMs: 7})),
			`{"endpoints":["PLAINTEXT://10.0.0.1:9092"],"jmx_port":-1,"port":9092,"host":"10.0.0.1","version":2,"timestamp":"7"}`},
		{"controller v2 (3.4)", enc(EncodeControllerInfo(&ControllerInfo{BrokerID: 2, TimestampMs: 1700000000000, KRaftControllerEpoch: -1})),
			`{"version":2,"brokerid":2,"timestamp":"1700000000000","kraftControllerEpoch":-1}`},
		{"controller v1 (2.x-3.3)", enc(EncodeControllerInfo(&ControllerInfo{Version: 1, BrokerID: 2, TimestampMs: 1700000000000})),
			`{"version":1,"brokerid":2,"timestamp":"1700000000000"}`},
		{"controller_epoch", string(EncodeControllerEpoch(5)), `5`},
		{"topic v3 (reference 1.2.3)", enc(EncodeTopicAssignment(&TopicAssignment{TopicID: tid, Partitions: map[int32]ReplicaAssignment{0: {Replicas: []int32{1, 2, 3}}}})),
			`{"version":3,"partitions":{"0":[1,2,3]},"adding_replicas":{},"removing_replicas":{},"topic_id":"mJ8pXlQtQ7KQy3q6pnE8hA"}`},
		{"topic v3 reassigning, partitions in numeric order", enc(EncodeTopicAssignment(&TopicAssignment{TopicID: tid, Partitions: map[int32]ReplicaAssignment{
			0: {Replicas: []int32{1, 2, 4}, AddingReplicas: []int32{4}, RemovingReplicas: []int32{1}}, 1: {Replicas: []int32{2, 3}}, 2: {Replicas: []int32{3, 1}},
			3: {Replicas: []int32{1}}, 4: {Replicas: []int32{1}}, 5: {Replicas: []int32{1}}, 6: {Replicas: []int32{1}}, 7: {Replicas: []int32{1}}, 8: {Replicas: []int32{1}},
			9: {Replicas: []int32{1}}, 10: {Replicas: []int32{2}}}})),
			`{"version":3,"partitions":{"0":[1,2,4],"1":[2,3],"2":[3,1],"3":[1],"4":[1],"5":[1],"6":[1],"7":[1],"8":[1],"9":[1],"10":[2]},"adding_replicas":{"0":[4]},"removing_replicas":{"0":[1]},"topic_id":"mJ8pXlQtQ7KQy3q6pnE8hA"}`},
		{"partition state (reference 1.2.4)", enc(EncodePartitionState(&PartitionState{ControllerEpoch: 7, Leader: 1, LeaderEpoch: 12, Isr: []int32{1, 2, 3}})),
			`{"controller_epoch":7,"leader":1,"version":1,"leader_epoch":12,"isr":[1,2,3]}`},
		{"partition state recovering", enc(EncodePartitionState(&PartitionState{ControllerEpoch: 7, Leader: 1, LeaderEpoch: 13, Isr: []int32{1}, LeaderRecoveryState: LeaderRecovering})),
			`{"controller_epoch":7,"leader":1,"version":1,"leader_epoch":13,"isr":[1],"leader_recovery_state":1}`},
		{"partition state, no leader, last ISR member kept", enc(EncodePartitionState(&PartitionState{ControllerEpoch: 7, Leader: NoLeader, LeaderEpoch: 14, Isr: []int32{3}})),
			`{"controller_epoch":7,"leader":-1,"version":1,"leader_epoch":14,"isr":[3]}`},
		{"cluster id", string(EncodeClusterID("Sfr7YvlkRHSHrmSrwq9mug")), `{"version":"1","id":"Sfr7YvlkRHSHrmSrwq9mug"}`},
		{"topic config", string(EncodeEntityConfig(map[string]string{"retention.ms": "86400000", "cleanup.policy": "compact"})),
			`{"version":1,"config":{"cleanup.policy":"compact","retention.ms":"86400000"}}`},
		{"empty config", string(EncodeEntityConfig(nil)), `{"version":1,"config":{}}`},
		{"config value with <&> is not HTML-escaped", string(EncodeEntityConfig(map[string]string{"k": "a<b>&c"})), `{"version":1,"config":{"k":"a<b>&c"}}`},
		{"config change v2", string(EncodeConfigChangeNotification("topics/orders")), `{"version":2,"entity_path":"topics/orders"}`},
		{"isr change", string(EncodeIsrChangeNotification([]TopicPartition{{"t", 1}, {"a", 0}, {"t", 0}})),
			`{"version":1,"partitions":[{"topic":"a","partition":0},{"topic":"t","partition":0},{"topic":"t","partition":1}]}`},
		{"log dir event", string(EncodeLogDirEventNotification(3)), `{"version":1,"broker":3,"event":1}`},
		{"producer id block", string(EncodeProducerIDBlock(ProducerIDBlock{BrokerID: 1, BlockStart: 0, BlockEnd: 999})),
			`{"version":1,"broker":1,"block_start":"0","block_end":"999"}`},
		{"feature v2", enc(EncodeFeatureInfo(&FeatureInfo{Status: FeatureEnabled, Features: map[string]int16{"metadata.version": 7}})),
			`{"version":2,"status":1,"features":{"metadata.version":{"max_version_level":7}}}`},
		{"feature v1", enc(EncodeFeatureInfo(&FeatureInfo{Version: 1, Status: FeatureEnabled, Features: map[string]int16{"f": 2}})),
			`{"version":1,"status":1,"features":{"f":{"max_version_level":2,"min_version_level":2}}}`},
		{"feature disabled, none", enc(EncodeFeatureInfo(&FeatureInfo{Status: FeatureDisabled})), `{"version":2,"status":0,"features":{}}`},
		{"reassign partitions", string(EncodeReassignPartitions([]PartitionReassignment{{TopicPartition{"t", 0}, []int32{1, 2, 3}}})),
			`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3]}]}`},
		{"preferred replica election", string(EncodePreferredReplicaElection([]TopicPartition{{"t", 0}})),
			`{"version":1,"partitions":[{"topic":"t","partition":0}]}`},
		{"consumer offset", string(EncodeConsumerOffset(1234)), `1234`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, tt.got, tt.want)
		}
	}
}

// TestEncodeJSONTypes checks field types independently of the golden bytes:
// the Kafka quirks (string timestamps, string cluster-id version, string
// producer-id bounds) are what old tooling trips on.
func TestEncodeJSONTypes(t *testing.T) {
	types := func(data []byte) map[string]string {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		out := map[string]string{}
		for k, v := range m {
			out[k] = reflect.TypeOf(v).String()
			if v == nil {
				out[k] = "null"
			}
		}
		return out
	}
	broker, _ := EncodeBrokerInfo(&BrokerInfo{ID: 1, JmxPort: -1, TimestampMs: 1, Rack: "r",
		Endpoints: []Endpoint{{Listener: "PLAINTEXT", SecurityProtocol: "PLAINTEXT", Host: "h", Port: 1}}})
	ctrl, _ := EncodeControllerInfo(&ControllerInfo{BrokerID: 1, TimestampMs: 1, KRaftControllerEpoch: -1})
	state, _ := EncodePartitionState(&PartitionState{Leader: 1, Isr: []int32{1}})
	topic, _ := EncodeTopicAssignment(&TopicAssignment{TopicID: Uuid{1}, Partitions: map[int32]ReplicaAssignment{0: {Replicas: []int32{1}}}})
	const s, n, o, a = "string", "float64", "map[string]interface {}", "[]interface {}"
	tests := []struct {
		name string
		data []byte
		want map[string]string
	}{
		{"broker", broker, map[string]string{"version": n, "host": s, "port": n, "jmx_port": n, "timestamp": s, "endpoints": a, "rack": s,
			"listener_security_protocol_map": o, "features": o}},
		{"controller", ctrl, map[string]string{"version": n, "brokerid": n, "timestamp": s, "kraftControllerEpoch": n}},
		{"state: exact key set", state, map[string]string{"controller_epoch": n, "leader": n, "version": n, "leader_epoch": n, "isr": a}},
		{"topic", topic, map[string]string{"version": n, "partitions": o, "adding_replicas": o, "removing_replicas": o, "topic_id": s}},
		{"cluster id", EncodeClusterID("x"), map[string]string{"version": s, "id": s}},
		{"config", EncodeEntityConfig(map[string]string{"a": "1"}), map[string]string{"version": n, "config": o}},
		{"config change", EncodeConfigChangeNotification("topics/t"), map[string]string{"version": n, "entity_path": s}},
		{"producer id block", EncodeProducerIDBlock(ProducerIDBlock{}), map[string]string{"version": n, "broker": n, "block_start": s, "block_end": s}},
	}
	for _, tt := range tests {
		if got := types(tt.data); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: types %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Samples as Kafka wrote them (from `zookeeper-shell get` output of real 3.x
// clusters), in Jackson's arbitrary key order.
func TestDecodeKafkaSamples(t *testing.T) {
	b, err := DecodeBrokerInfo(101, []byte(`{"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://localhost:9092"],"jmx_port":-1,"features":{},"host":"localhost","timestamp":"1640000000000","port":9092,"version":5}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &BrokerInfo{ID: 101, Version: 5, JmxPort: -1, TimestampMs: 1640000000000,
		Endpoints: []Endpoint{{Listener: "PLAINTEXT", SecurityProtocol: "PLAINTEXT", Host: "localhost", Port: 9092}}}
	if !reflect.DeepEqual(b, want) {
		t.Errorf("broker v5: got %+v want %+v", b, want)
	}

	// Strimzi: custom listener names, one of them TLS, host = the PLAIN one.
	b, err = DecodeBrokerInfo(0, []byte(`{"features":{},"listener_security_protocol_map":{"CONTROLPLANE-9090":"SSL","REPLICATION-9091":"SSL","PLAIN-9092":"PLAINTEXT","TLS-9093":"SSL"},"endpoints":["CONTROLPLANE-9090://k0.svc:9090","REPLICATION-9091://k0.svc:9091","PLAIN-9092://k0.svc:9092","TLS-9093://k0.svc:9093"],"jmx_port":-1,"port":9092,"host":"k0.svc","version":5,"timestamp":"1710691902130"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Endpoints) != 4 || b.Endpoints[0].SecurityProtocol != "SSL" || b.Endpoints[2] != (Endpoint{"PLAIN-9092", "PLAINTEXT", "k0.svc", 9092}) {
		t.Errorf("strimzi endpoints: %+v", b.Endpoints)
	}

	// v1 (0.8) and v2/v3 registrations; v3 with a rack, v2 without the map.
	b, err = DecodeBrokerInfo(1, []byte(`{"version":1,"host":"localhost","port":9092,"jmx_port":9999,"timestamp":"2233345666"}`))
	if err != nil || len(b.Endpoints) != 1 || b.Endpoints[0] != (Endpoint{"PLAINTEXT", "PLAINTEXT", "localhost", 9092}) || b.JmxPort != 9999 {
		t.Errorf("v1: %+v %v", b, err)
	}
	b, err = DecodeBrokerInfo(1, []byte(`{"version":3,"host":"localhost","port":9092,"jmx_port":9999,"timestamp":"2233345666","endpoints":["PLAINTEXT://host1:9092", "SSL://host1:9093"],"rack":"dc1"}`))
	if err != nil || len(b.Endpoints) != 2 || b.Endpoints[1] != (Endpoint{"SSL", "SSL", "host1", 9093}) || b.Rack != "dc1" {
		t.Errorf("v3: %+v %v", b, err)
	}
	b, err = DecodeBrokerInfo(1, []byte(`{"version":5,"host":null,"port":-1,"jmx_port":-1,"timestamp":"1","endpoints":["SSL://[::1]:9093"],"listener_security_protocol_map":{"SSL":"SSL"},"features":{"f":{"min_version":1,"first_active_version":2,"max_version":3}}}`))
	if err != nil || b.Endpoints[0].Host != "::1" || b.Features["f"] != (SupportedVersionRange{1, 3}) {
		t.Errorf("v5 ipv6/features: %+v %v", b, err)
	}

	c, err := DecodeControllerInfo([]byte(`{"version":2,"brokerid":101,"timestamp":"1707276552920","kraftControllerEpoch":-1}`))
	if err != nil || *c != (ControllerInfo{Version: 2, BrokerID: 101, TimestampMs: 1707276552920, KRaftControllerEpoch: -1}) {
		t.Errorf("controller v2: %+v %v", c, err)
	}
	c, err = DecodeControllerInfo([]byte(`{"version":1,"brokerid":2,"timestamp":"1700000000000"}`))
	if err != nil || *c != (ControllerInfo{Version: 1, BrokerID: 2, TimestampMs: 1700000000000, KRaftControllerEpoch: -1}) {
		t.Errorf("controller v1: %+v %v", c, err)
	}

	ta, err := DecodeTopicAssignment([]byte(`{"removing_replicas":{},"partitions":{"0":[0]},"topic_id":"ZOLr9CLNQjSW70hyIHx6BQ","adding_replicas":{},"version":3}`))
	if err != nil || ta.TopicID.String() != "ZOLr9CLNQjSW70hyIHx6BQ" || !reflect.DeepEqual(ta.Partitions, map[int32]ReplicaAssignment{0: {Replicas: []int32{0}}}) {
		t.Errorf("topic v3: %+v %v", ta, err)
	}
	ta, err = DecodeTopicAssignment([]byte(`{"version":1,"partitions":{"0":[1,2,3],"1":[2,3,1]}}`))
	if err != nil || !ta.TopicID.IsZero() || ta.Version != 1 || !reflect.DeepEqual(ta.PartitionIDs(), []int32{0, 1}) || !reflect.DeepEqual(ta.Partitions[1].Replicas, []int32{2, 3, 1}) {
		t.Errorf("topic v1: %+v %v", ta, err)
	}
	ta, err = DecodeTopicAssignment([]byte(`{"version":2,"partitions":{"0":[1,2,4]},"adding_replicas":{"0":[4]},"removing_replicas":{"0":[1]}}`))
	if err != nil || !reflect.DeepEqual(ta.Partitions[0], ReplicaAssignment{[]int32{1, 2, 4}, []int32{4}, []int32{1}}) {
		t.Errorf("topic v2: %+v %v", ta, err)
	}

	// The seed's example state, written by a 2.x leader (keys reordered).
	s, err := DecodePartitionState([]byte(`{"controller_epoch":26,"leader":0,"version":1,"leader_epoch":2,"isr":[0,1]}`))
	if err != nil || !reflect.DeepEqual(s, &PartitionState{ControllerEpoch: 26, Leader: 0, LeaderEpoch: 2, Isr: []int32{0, 1}}) {
		t.Errorf("state: %+v %v", s, err)
	}
	s, err = DecodePartitionState([]byte(`{"isr":[1],"leader_recovery_state":1,"leader_epoch":3,"version":1,"controller_epoch":1,"leader":1}`))
	if err != nil || s.LeaderRecoveryState != LeaderRecovering {
		t.Errorf("recovering state: %+v %v", s, err)
	}

	if id, err := DecodeClusterID([]byte(`{"version":"1","id":"Sfr7YvlkRHSHrmSrwq9mug"}`)); err != nil || id != "Sfr7YvlkRHSHrmSrwq9mug" {
		t.Errorf("cluster id: %q %v", id, err)
	}
	if cfg, err := DecodeEntityConfig([]byte(`{"version":1,"config":{"retention.ms":"100000"}}`)); err != nil || cfg["retention.ms"] != "100000" || len(cfg) != 1 {
		t.Errorf("config: %v %v", cfg, err)
	}
	if cfg, err := DecodeEntityConfig(nil); err != nil || len(cfg) != 0 {
		t.Errorf("null config: %v %v", cfg, err)
	}
	if p, err := DecodeConfigChangeNotification([]byte(`{"version":1,"entity_type":"topics","entity_name":"t"}`)); err != nil || p != "topics/t" {
		t.Errorf("config change v1: %q %v", p, err)
	}
	if p, err := DecodeConfigChangeNotification([]byte(`{"version":2,"entity_path":"users/alice/clients/app"}`)); err != nil || p != "users/alice/clients/app" {
		t.Errorf("config change v2: %q %v", p, err)
	}
	if b, err := DecodeProducerIDBlock([]byte(`{"version":1,"broker":2,"block_start":"1000","block_end":"1999"}`)); err != nil || b != (ProducerIDBlock{2, 1000, 1999}) {
		t.Errorf("producer id block: %+v %v", b, err)
	}
	if f, err := DecodeFeatureInfo([]byte(`{"features":{"metadata.version":{"max_version_level":7}},"version":2,"status":1}`)); err != nil || f.Features["metadata.version"] != 7 {
		t.Errorf("feature v2: %+v %v", f, err)
	}
	if f, err := DecodeFeatureInfo([]byte(`{"features":{"f":{"min_version_level":1,"max_version_level":2}},"version":1,"status":1}`)); err != nil || f.Features["f"] != 2 {
		t.Errorf("feature v1: %+v %v", f, err)
	}
	if tps, err := DecodeIsrChangeNotification([]byte(`{"version":1,"partitions":[{"topic":"t","partition":0},{"partition":3,"topic":"u"}]}`)); err != nil || !reflect.DeepEqual(tps, []TopicPartition{{"t", 0}, {"u", 3}}) {
		t.Errorf("isr change: %v %v", tps, err)
	}
	if e, err := DecodeControllerEpoch([]byte("5")); err != nil || e != 5 {
		t.Errorf("controller epoch: %d %v", e, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name        string
		decode      func([]byte) error
		data        string
		unsupported bool
		contains    string
	}{
		{"broker not json", brokerDec, `{"version":5`, false, "not a JSON object"},
		{"broker empty", brokerDec, ``, false, "empty"},
		{"broker version 6", brokerDec, `{"version":6,"jmx_port":-1,"endpoints":[]}`, true, "version 6"},
		{"broker version 0", brokerDec, `{"version":0,"jmx_port":-1}`, true, ""},
		{"broker version string", brokerDec, `{"version":"5","jmx_port":-1}`, false, `field "version": want an integer`},
		{"broker endpoints missing", brokerDec, `{"version":5,"jmx_port":-1}`, false, `"endpoints" missing`},
		{"broker endpoint garbage", brokerDec, `{"version":5,"jmx_port":-1,"endpoints":["nope"]}`, false, "LISTENER://host:port"},
		{"broker unknown listener", brokerDec, `{"version":5,"jmx_port":-1,"endpoints":["X://h:1"],"listener_security_protocol_map":{}}`, false, "security protocol"},
		{"broker keys are case-sensitive", brokerDec, `{"Version":5,"jmx_port":-1,"endpoints":[]}`, false, `"version" missing`},
		{"controller v3", ctrlDec, `{"version":3,"brokerid":1}`, true, ""},
		{"controller brokerid string", ctrlDec, `{"version":1,"brokerid":"1"}`, false, "brokerid"},
		{"controller epoch json", epochDec, `{"epoch":1}`, false, ""},
		{"controller epoch overflow", epochDec, `99999999999`, false, ""},
		{"topic version 4", topicDec, `{"version":4,"partitions":{}}`, true, ""},
		{"topic bad partition key", topicDec, `{"version":3,"partitions":{"x":[1]}}`, false, "partition key"},
		{"topic negative partition", topicDec, `{"version":3,"partitions":{"-1":[1]}}`, false, "partition key"},
		{"topic replicas not ints", topicDec, `{"version":3,"partitions":{"0":["1"]}}`, false, "integer arrays"},
		{"topic bad id", topicDec, `{"version":3,"partitions":{"0":[1]},"topic_id":"!!"}`, false, "topic_id"},
		{"state version 2", stateDec, `{"version":2,"leader":1,"leader_epoch":1,"controller_epoch":1,"isr":[1]}`, true, ""},
		{"state missing isr", stateDec, `{"version":1,"leader":1,"leader_epoch":1,"controller_epoch":1}`, false, `"isr" missing`},
		{"state leader float", stateDec, `{"version":1,"leader":1.5,"leader_epoch":1,"controller_epoch":1,"isr":[1]}`, false, "leader"},
		{"state leader overflow", stateDec, `{"version":1,"leader":2147483648,"leader_epoch":1,"controller_epoch":1,"isr":[1]}`, false, "int32"},
		{"state array", stateDec, `[1,2]`, false, "not a JSON object"},
		{"state null", stateDec, `null`, false, "null"},
		{"cluster id version 2", clusterDec, `{"version":"2","id":"x"}`, true, ""},
		{"cluster id missing", clusterDec, `{"version":"1"}`, false, `"id" missing`},
		{"config value number", configDec, `{"version":1,"config":{"a":1}}`, false, "strings"},
		{"config change v3", changeDec, `{"version":3,"entity_path":"topics/t"}`, true, ""},
		{"config change bad path", changeDec, `{"version":2,"entity_path":"topics"}`, false, "<type>/<name>"},
		{"pid block numbers", pidDec, `{"version":1,"broker":1,"block_start":0,"block_end":999}`, false, "want a string"},
		{"pid block reversed", pidDec, `{"version":1,"broker":1,"block_start":"9","block_end":"1"}`, false, "block"},
		{"feature bad status", featureDec, `{"version":2,"status":7,"features":{}}`, false, "status"},
		{"feature v1 no min", featureDec, `{"version":1,"status":1,"features":{"f":{"max_version_level":2}}}`, false, "min_version_level"},
		{"isr change bad topic", isrDec, `{"version":1,"partitions":[{"topic":"a/b","partition":0}]}`, false, "bad topic"},
	}
	for _, tt := range tests {
		err := tt.decode([]byte(tt.data))
		switch {
		case err == nil:
			t.Errorf("%s: no error", tt.name)
		case !errors.Is(err, ErrBadData):
			t.Errorf("%s: %v does not wrap ErrBadData", tt.name, err)
		case tt.unsupported != errors.Is(err, ErrUnsupportedVersion):
			t.Errorf("%s: %v: unsupported-version = %v", tt.name, err, !tt.unsupported)
		case !strings.Contains(err.Error(), tt.contains):
			t.Errorf("%s: %v does not mention %q", tt.name, err, tt.contains)
		}
	}
}

func brokerDec(b []byte) error  { _, err := DecodeBrokerInfo(0, b); return err }
func ctrlDec(b []byte) error    { _, err := DecodeControllerInfo(b); return err }
func epochDec(b []byte) error   { _, err := DecodeControllerEpoch(b); return err }
func topicDec(b []byte) error   { _, err := DecodeTopicAssignment(b); return err }
func stateDec(b []byte) error   { _, err := DecodePartitionState(b); return err }
func clusterDec(b []byte) error { _, err := DecodeClusterID(b); return err }
func configDec(b []byte) error  { _, err := DecodeEntityConfig(b); return err }
func changeDec(b []byte) error  { _, err := DecodeConfigChangeNotification(b); return err }
func pidDec(b []byte) error     { _, err := DecodeProducerIDBlock(b); return err }
func featureDec(b []byte) error { _, err := DecodeFeatureInfo(b); return err }
func isrDec(b []byte) error     { _, err := DecodeIsrChangeNotification(b); return err }

func TestEncodeRejectsWhatKafkaWouldNotWrite(t *testing.T) {
	ep := []Endpoint{{Listener: "PLAINTEXT", SecurityProtocol: "PLAINTEXT", Host: "h", Port: 1}}
	bad := map[string]error{
		"empty ISR":              errOf(EncodePartitionState(&PartitionState{Leader: -1})),
		"leader not in ISR":      errOf(EncodePartitionState(&PartitionState{Leader: 4, Isr: []int32{1}})),
		"duplicate ISR":          errOf(EncodePartitionState(&PartitionState{Leader: 1, Isr: []int32{1, 1}})),
		"leader -2 written":      errOf(EncodePartitionState(&PartitionState{Leader: LeaderDuringDelete, Isr: []int32{1}})),
		"no partitions":          errOf(EncodeTopicAssignment(&TopicAssignment{})),
		"partition gap":          errOf(EncodeTopicAssignment(&TopicAssignment{Partitions: map[int32]ReplicaAssignment{0: {Replicas: []int32{1}}, 2: {Replicas: []int32{1}}}})),
		"no replicas":            errOf(EncodeTopicAssignment(&TopicAssignment{Partitions: map[int32]ReplicaAssignment{0: {}}})),
		"duplicate replica":      errOf(EncodeTopicAssignment(&TopicAssignment{Partitions: map[int32]ReplicaAssignment{0: {Replicas: []int32{1, 1}}}})),
		"broker no endpoints":    errOf(EncodeBrokerInfo(&BrokerInfo{ID: 1})),
		"broker negative id":     errOf(EncodeBrokerInfo(&BrokerInfo{ID: -1, Endpoints: ep})),
		"broker version 3":       errOf(EncodeBrokerInfo(&BrokerInfo{ID: 1, Version: 3, Endpoints: ep})),
		"broker unknown proto":   errOf(EncodeBrokerInfo(&BrokerInfo{ID: 1, Endpoints: []Endpoint{{Listener: "X", SecurityProtocol: "TLS", Port: 1}}})),
		"broker dup listener":    errOf(EncodeBrokerInfo(&BrokerInfo{ID: 1, Endpoints: append(ep, ep...)})),
		"controller negative id": errOf(EncodeControllerInfo(&ControllerInfo{BrokerID: -1})),
		"feature level 0":        errOf(EncodeFeatureInfo(&FeatureInfo{Status: 1, Features: map[string]int16{"f": 0}})),
	}
	for name, err := range bad {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func errOf(_ []byte, err error) error { return err }

// Round trips through Encode and Decode for the records with a struct.
func TestRoundTrip(t *testing.T) {
	b := &BrokerInfo{ID: 7, Version: 5, Rack: "r1", JmxPort: 1, TimestampMs: 42,
		Endpoints: []Endpoint{{"INTERNAL", "SASL_SSL", "", 9094}, {"PLAINTEXT", "PLAINTEXT", "fe80::1", 9092}}}
	data, err := EncodeBrokerInfo(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBrokerInfo(7, data)
	if err != nil || !reflect.DeepEqual(got, b) {
		t.Errorf("broker round trip: %+v %v (json %s)", got, err, data)
	}
	ta := &TopicAssignment{Version: 3, TopicID: Uuid{9: 9}, Partitions: map[int32]ReplicaAssignment{
		0: {Replicas: []int32{3, 1, 2}, AddingReplicas: []int32{}, RemovingReplicas: []int32{}}}}
	data, _ = EncodeTopicAssignment(ta)
	gotTA, err := DecodeTopicAssignment(data)
	gotTA.Partitions[0] = ReplicaAssignment{Replicas: gotTA.Partitions[0].Replicas, AddingReplicas: []int32{}, RemovingReplicas: []int32{}}
	if err != nil || !reflect.DeepEqual(gotTA, ta) {
		t.Errorf("topic round trip: %+v %v", gotTA, err)
	}
	tid := Uuid{0xfb, 0xff}
	if u, err := ParseUuid(tid.String()); err != nil || u != tid {
		t.Errorf("uuid round trip %s: %v %v", tid, u, err)
	}
}

func TestNewUuid(t *testing.T) {
	r := strings.NewReader(strings.Repeat("\x00", 16) + strings.Repeat("\xf8", 16) + strings.Repeat("\x01", 16))
	// The first draw becomes all-zero apart from the version/variant bits,
	// so it is not ZERO_UUID and is kept.
	u, err := NewUuid(r)
	if err != nil || u.IsZero() || u[6]>>4 != 4 || u[8]>>6 != 2 {
		t.Fatalf("uuid %v %v", u, err)
	}
	if s := u.String(); len(s) != 22 || strings.HasPrefix(s, "-") {
		t.Errorf("uuid string %q", s)
	}
	// 0xf8... renders as "-..." and is drawn again.
	u, err = NewUuid(r)
	if err != nil || strings.HasPrefix(u.String(), "-") || u[0] != 1 {
		t.Errorf("uuid starting with '-' kept: %v %v", u, err)
	}
	if _, err := NewUuid(strings.NewReader("short")); err == nil {
		t.Error("short randomness accepted")
	}
}
