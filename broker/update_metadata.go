package broker

// UpdateMetadata, key 6, versions 0-8: controller -> broker. The only source
// of this broker's metadata cache. Refused with STALE_BROKER_EPOCH when it
// was meant for an older registration of this broker, and with
// STALE_CONTROLLER_EPOCH when it comes from an older controller
// (KafkaApis.handleUpdateMetadataRequest, ReplicaManager.maybeUpdateMetadataCache).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(kmsg.UpdateMetadata, 0, 8, handleUpdateMetadata) }

// unknownBrokerEpoch is AbstractControlRequest.UNKNOWN_BROKER_EPOCH: a
// controller from before KIP-380, whose requests are not checked.
const unknownBrokerEpoch = -1

// brokerEpochStale is KafkaApis.isBrokerEpochStale: a request stamped with an
// older registration of this broker. A newer epoch is possible (the
// controller saw the new registration first) and accepted.
func (b *Broker) brokerEpochStale(epoch int64) bool {
	return epoch != unknownBrokerEpoch && epoch < b.Epoch()
}

func handleUpdateMetadata(b *Broker, _ *reqContext, req *kmsg.UpdateMetadataRequest) reply {
	resp := req.ResponseKind().(*kmsg.UpdateMetadataResponse)
	if req.Version >= 5 && b.brokerEpochStale(req.BrokerEpoch) {
		b.log.Info().Int64("requestEpoch", req.BrokerEpoch).Int64("epoch", b.Epoch()).
			Msg("ignoring UpdateMetadata for an older broker epoch")
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
		return respond(resp)
	}
	if err := b.replicas.CheckControllerEpoch(req.ControllerEpoch); err != nil {
		b.log.Warn().Err(err).Int32("controller", req.ControllerID).Msg("ignoring UpdateMetadata")
		resp.ErrorCode = errorCode(err)
		return respond(resp)
	}
	deleted := b.cache.apply(req)
	if _, live := b.cache.load().brokers[b.brokerID]; live {
		b.readyOnce.Do(func() { close(b.ready) })
	}
	for _, t := range deleted {
		b.topicCfg.forget(t)
	}
	b.log.Debug().Int32("controller", req.ControllerID).Int32("controllerEpoch", req.ControllerEpoch).
		Int("brokers", len(req.LiveBrokers)).Strs("deletedTopics", deleted).Msg("metadata updated")
	return respond(resp)
}
