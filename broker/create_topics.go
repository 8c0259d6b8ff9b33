package broker

// CreateTopics, key 19, versions 0-7. Served by the controller only
// (NOT_CONTROLLER elsewhere), as in Kafka's ZooKeeper mode. Each topic is
// validated (name, configs, partitions, replication factor, manual
// assignment), assigned with AdminUtils' rack-unaware algorithm, and written
// to ZooKeeper (config first, then the assignment); the controller's watch
// elects its leaders. With timeout_ms > 0 the answer waits until this
// broker's metadata shows a leader for every new partition
// (DelayedCreatePartitions), else REQUEST_TIMED_OUT. v4+ accept -1 for the
// broker defaults; v5+ return partitions, replication factor and configs;
// v7 the topic id.

import (
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(kmsg.CreateTopics, 0, 7, handleCreateTopics) }

func handleCreateTopics(b *Broker, rc *reqContext, req *kmsg.CreateTopicsRequest) reply {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	names := make([]string, len(req.Topics))
	for i, t := range req.Topics {
		names[i] = t.Topic
	}
	dups := duplicates(names)
	controller := b.isController()
	type created struct {
		idx        int
		partitions int
	}
	var waitFor []created
	for _, t := range req.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = t.Topic, -1, -1
		err := b.createOneTopic(t, req.ValidateOnly, dups, controller, rc, &rt)
		if err != nil {
			rt.ErrorCode, rt.ErrorMessage = errorCode(err), errorMessage(err)
			rt.NumPartitions, rt.ReplicationFactor = -1, -1
		} else if !req.ValidateOnly && req.TimeoutMillis > 0 {
			waitFor = append(waitFor, created{len(resp.Topics), int(rt.NumPartitions)})
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if len(waitFor) == 0 {
		return respond(resp)
	}
	later := make(chan kmsg.Response, 1)
	go func() {
		timeout := time.Duration(req.TimeoutMillis) * time.Millisecond
		b.awaitMetadata(timeout, func(s *metadataSnapshot) bool {
			for _, w := range waitFor {
				if !partitionsHaveLeaders(s, resp.Topics[w.idx].Topic, w.partitions) {
					return false
				}
			}
			return true
		})
		s := b.cache.load()
		for _, w := range waitFor {
			if !partitionsHaveLeaders(s, resp.Topics[w.idx].Topic, w.partitions) {
				rt := &resp.Topics[w.idx]
				rt.ErrorCode = kerr.RequestTimedOut.Code
				rt.ErrorMessage = kmsg.StringPtr(fmt.Sprintf("Timed out waiting for the leaders of topic %s.", rt.Topic))
			}
		}
		later <- resp
	}()
	return reply{later: later}
}

func (b *Broker) createOneTopic(t kmsg.CreateTopicsRequestTopic, validateOnly bool, dups []string, controller bool,
	rc *reqContext, rt *kmsg.CreateTopicsResponseTopic) error {
	if len(dups) > 0 && contains(dups, t.Topic) {
		return kafkaError(kerr.InvalidRequest, fmt.Sprintf("Create topics request from client `%s` contains multiple entries for the following topics: %s",
			rc.hdr.ClientID, strings.Join(dups, ",")))
	}
	if !controller {
		return kafkaError(kerr.NotController, "This is not the correct controller for this cluster.")
	}
	spec := topicSpec{name: t.Topic, partitions: t.NumPartitions, replicationFactor: t.ReplicationFactor, configs: map[string]string{}}
	for _, c := range t.Configs {
		if c.Value == nil {
			return kafkaError(kerr.InvalidConfig, "Null value not supported for topic configs: "+c.Name)
		}
		spec.configs[c.Name] = *c.Value
	}
	if len(t.ReplicaAssignment) > 0 {
		spec.assignment = map[int32][]int32{}
		for _, a := range t.ReplicaAssignment {
			spec.assignment[a.Partition] = a.Replicas
		}
	}
	assignment, err := b.planTopic(spec)
	if err != nil {
		return err
	}
	if !validateOnly {
		id, err := b.writeTopic(t.Topic, assignment, spec.configs)
		if err != nil {
			return err
		}
		rt.TopicID = id
	}
	rt.NumPartitions = int32(len(assignment))
	rt.ReplicationFactor = int16(len(assignment[0]))
	for _, dc := range b.describeTopicConfigs(spec.configs) {
		c := kmsg.NewCreateTopicsResponseTopicConfig()
		c.Name, c.Value, c.Source = dc.name, kmsg.StringPtr(dc.value), int8(dc.source)
		rt.Configs = append(rt.Configs, c)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
