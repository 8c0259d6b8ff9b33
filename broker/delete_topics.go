package broker

// DeleteTopics, key 20, versions 0-6. Served by the controller only
// (NOT_CONTROLLER elsewhere). Each topic is marked in
// /admin/delete_topics/<t> (a topic already marked succeeds again, as
// ZkAdminManager swallows TopicAlreadyMarkedForDeletion); the controller
// deletes it. With timeout_ms > 0 the answer waits until the topic is gone
// from this broker's metadata (DelayedDeleteTopics), else REQUEST_TIMED_OUT.
// v6 names topics by name or id (UNKNOWN_TOPIC_ID for an unknown id).

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

func init() { regKey(kmsg.DeleteTopics, 0, 6, handleDeleteTopics) }

func handleDeleteTopics(b *Broker, _ *reqContext, req *kmsg.DeleteTopicsRequest) reply {
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	type entry struct {
		name *string
		id   [16]byte
	}
	var entries []entry
	for _, n := range req.TopicNames { // v0-v5
		entries = append(entries, entry{name: kmsg.StringPtr(n)})
	}
	for _, t := range req.Topics { // v6+
		entries = append(entries, entry{name: t.Topic, id: t.TopicID})
	}
	snap := b.cache.load()
	controller := b.isController()
	var waitFor []int
	for _, e := range entries {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic, rt.TopicID = e.name, e.id
		err := func() error {
			if !controller {
				return kafkaError(kerr.NotController, "This is not the correct controller for this cluster.")
			}
			if e.name == nil || *e.name == "" {
				name, ok := snap.topicIDs[e.id]
				if !ok {
					return kafkaError(kerr.UnknownTopicID, "This server does not host this topic ID.")
				}
				rt.Topic = kmsg.StringPtr(name)
			}
			name := *rt.Topic
			t, ok := snap.topics[name]
			if !ok {
				return kafkaError(kerr.UnknownTopicOrPartition, "This server does not host this topic-partition.")
			}
			rt.TopicID = t.id
			if !b.cfg.DeleteTopicEnable {
				return kafkaError(kerr.TopicDeletionDisabled, "Topic deletion is disabled.")
			}
			err := b.meta.MarkTopicForDeletion(name)
			switch {
			case err == nil, errors.Is(err, zkmeta.ErrTopicMarkedForDeletion):
				b.log.Info().Str("topic", name).Msg("marked topic for deletion")
				return nil
			case errors.Is(err, zk.ErrNoNode):
				return kafkaError(kerr.UnknownTopicOrPartition, fmt.Sprintf("Topic %s does not exist.", name))
			}
			return err
		}()
		if err != nil {
			rt.ErrorCode, rt.ErrorMessage = errorCode(err), errorMessage(err)
		} else if req.TimeoutMillis > 0 {
			waitFor = append(waitFor, len(resp.Topics))
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if len(waitFor) == 0 {
		return respond(resp)
	}
	later := make(chan kmsg.Response, 1)
	go func() {
		gone := func(s *metadataSnapshot, i int) bool { _, ok := s.topics[*resp.Topics[i].Topic]; return !ok }
		b.awaitMetadata(time.Duration(req.TimeoutMillis)*time.Millisecond, func(s *metadataSnapshot) bool {
			for _, i := range waitFor {
				if !gone(s, i) {
					return false
				}
			}
			return true
		})
		s := b.cache.load()
		for _, i := range waitFor {
			if !gone(s, i) {
				resp.Topics[i].ErrorCode = kerr.RequestTimedOut.Code
				resp.Topics[i].ErrorMessage = kmsg.StringPtr("Timed out waiting for the topic deletion to complete.")
			}
		}
		later <- resp
	}()
	return reply{later: later}
}
