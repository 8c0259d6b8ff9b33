package broker

// AlterPartition (AlterIsr), key 56, versions 0-2: partition leader ->
// controller ISR changes (KIP-497), forwarded to the local controller;
// NOT_CONTROLLER when there is none.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(kmsg.AlterPartition, 0, 2, handleAlterPartition) }

func handleAlterPartition(b *Broker, _ *reqContext, req *kmsg.AlterPartitionRequest) reply {
	if b.ctrl == nil {
		resp := req.ResponseKind().(*kmsg.AlterPartitionResponse)
		resp.ErrorCode = kerr.NotController.Code
		return respond(resp)
	}
	resp := b.ctrl.HandleAlterPartition(b.ctx, req)
	resp.Version = req.Version
	return respond(resp)
}
