package zkmeta

import (
	"errors"
	"reflect"
	"testing"
)

var fuzzSeeds = []string{
	`{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://10.0.0.1:9092"],"jmx_port":-1,"port":9092,"host":"10.0.0.1","version":5,"timestamp":"1700000000000"}`,
	`{"version":1,"host":"localhost","port":9092,"jmx_port":9999,"timestamp":"2233345666"}`,
	`{"version":2,"brokerid":2,"timestamp":"1700000000000","kraftControllerEpoch":-1}`,
	`{"version":3,"partitions":{"0":[1,2,3]},"adding_replicas":{"0":[3]},"removing_replicas":{},"topic_id":"mJ8pXlQtQ7KQy3q6pnE8hA"}`,
	`{"controller_epoch":7,"leader":1,"version":1,"leader_epoch":12,"isr":[1,2,3],"leader_recovery_state":1}`,
	`{"version":"1","id":"Sfr7YvlkRHSHrmSrwq9mug"}`,
	`{"version":1,"config":{"retention.ms":"86400000"}}`,
	`{"version":2,"entity_path":"topics/t"}`,
	`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1]}]}`,
	`{"version":1,"broker":1,"block_start":"0","block_end":"999"}`,
	`{"version":1,"status":1,"features":{"f":{"min_version_level":1,"max_version_level":2}}}`,
	`5`, `null`, `[]`, `{}`, `{"version":1e400}`, `{"isr":[1,2147483648]}`,
}

// FuzzDecode feeds the same bytes to every decoder. Invariants: no decoder
// panics; every error wraps ErrBadData; a decoded partition state, topic
// assignment or broker registration that passes Validate re-encodes and
// decodes to the same value.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(name string, err error) {
			if err != nil && !errors.Is(err, ErrBadData) {
				t.Fatalf("%s: error %v does not wrap ErrBadData", name, err)
			}
		}
		check("controller", errOf2(DecodeControllerInfo(data)))
		check("controller epoch", errOf2(DecodeControllerEpoch(data)))
		check("cluster id", errOf2(DecodeClusterID(data)))
		check("config", errOf2(DecodeEntityConfig(data)))
		check("config change", errOf2(DecodeConfigChangeNotification(data)))
		check("isr change", errOf2(DecodeIsrChangeNotification(data)))
		check("log dir event", errOf2(DecodeLogDirEventNotification(data)))
		check("reassign", errOf2(DecodeReassignPartitions(data)))
		check("preferred election", errOf2(DecodePreferredReplicaElection(data)))
		check("producer id block", errOf2(DecodeProducerIDBlock(data)))
		check("feature", errOf2(DecodeFeatureInfo(data)))
		check("consumer offset", errOf2(DecodeConsumerOffset(data)))

		if s, err := DecodePartitionState(data); err == nil {
			if s.Validate() == nil {
				enc, err := EncodePartitionState(s)
				if err != nil {
					t.Fatalf("valid state does not encode: %v", err)
				}
				back, err := DecodePartitionState(enc)
				if err != nil || !reflect.DeepEqual(back, s) {
					t.Fatalf("state round trip: %+v -> %s -> %+v %v", s, enc, back, err)
				}
			}
		} else {
			check("state", err)
		}
		if a, err := DecodeTopicAssignment(data); err == nil {
			if a.Validate() == nil {
				enc, err := EncodeTopicAssignment(a)
				if err != nil {
					t.Fatalf("valid assignment does not encode: %v", err)
				}
				back, err := DecodeTopicAssignment(enc)
				if err != nil || len(back.Partitions) != len(a.Partitions) || back.TopicID != a.TopicID {
					t.Fatalf("assignment round trip: %+v -> %s -> %+v %v", a, enc, back, err)
				}
				for p, r := range a.Partitions {
					if !reflect.DeepEqual(back.Partitions[p].Replicas, r.Replicas) {
						t.Fatalf("partition %d replicas %v -> %v", p, r.Replicas, back.Partitions[p].Replicas)
					}
				}
			}
		} else {
			check("topic", err)
		}
		if b, err := DecodeBrokerInfo(1, data); err == nil {
			if b.Version >= 4 && b.Validate() == nil {
				enc, err := EncodeBrokerInfo(b)
				if err != nil {
					t.Fatalf("valid registration does not encode: %v", err)
				}
				back, err := DecodeBrokerInfo(1, enc)
				if err != nil || !reflect.DeepEqual(back.Endpoints, b.Endpoints) || back.Rack != b.Rack || back.JmxPort != b.JmxPort {
					t.Fatalf("broker round trip: %+v -> %s -> %+v %v", b, enc, back, err)
				}
			}
		} else {
			check("broker", err)
		}
	})
}

func errOf2[T any](_ T, err error) error { return err }
