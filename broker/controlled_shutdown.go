package broker

// ControlledShutdown, key 7, versions 0-3: broker -> controller. The
// listener forwards it to the local controller, which answers NOT_CONTROLLER
// when it is not active. The broker itself sends it to the controller when it
// stops (KafkaServer.controlledShutdown).

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(kmsg.ControlledShutdown, 0, 3, handleControlledShutdown) }

func handleControlledShutdown(b *Broker, _ *reqContext, req *kmsg.ControlledShutdownRequest) reply {
	if b.ctrl == nil {
		resp := req.ResponseKind().(*kmsg.ControlledShutdownResponse)
		resp.ErrorCode = kerr.NotController.Code
		return respond(resp)
	}
	resp := b.ctrl.HandleControlledShutdown(b.ctx, req)
	resp.Version = req.Version
	return respond(resp)
}

// controlledShutdown asks the controller to move leadership away before this
// broker stops: up to controlled.shutdown.max.retries attempts,
// controlled.shutdown.retry.backoff.ms apart, then the broker stops anyway.
func (b *Broker) controlledShutdown() {
	for attempt := 1; attempt <= max(1, b.cfg.ControlledShutdownMaxRetries); attempt++ {
		done, err := b.controlledShutdownOnce()
		if done {
			b.log.Info().Int("attempt", attempt).Msg("controlled shutdown succeeded")
			return
		}
		b.log.Warn().Err(err).Int("attempt", attempt).Msg("controlled shutdown not complete")
		if attempt < b.cfg.ControlledShutdownMaxRetries {
			time.Sleep(b.cfg.ControlledShutdownRetryBackoff)
		}
	}
}

func (b *Broker) controlledShutdownOnce() (bool, error) {
	controllerID, err := b.meta.GetControllerID()
	if err != nil {
		return false, err
	}
	reg, err := b.meta.GetBroker(controllerID)
	if err != nil {
		return false, err
	}
	req := kmsg.NewPtrControlledShutdownRequest()
	req.Version = 3
	req.BrokerID = b.brokerID
	req.BrokerEpoch = b.Epoch()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := b.sender.SendTo(ctx, controllerID, reg.BrokerInfo, req)
	if err != nil {
		return false, err
	}
	resp := r.(*kmsg.ControlledShutdownResponse)
	if resp.ErrorCode != 0 {
		return false, kerr.ErrorForCode(resp.ErrorCode)
	}
	if len(resp.PartitionsRemaining) > 0 {
		b.log.Info().Int("remaining", len(resp.PartitionsRemaining)).Msg("controller reports partitions still led here")
		return false, nil
	}
	return true, nil
}
