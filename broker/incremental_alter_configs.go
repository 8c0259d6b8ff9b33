package broker

// IncrementalAlterConfigs, key 44, versions 0-1: SET, DELETE, APPEND and
// SUBTRACT on single topic configs (KIP-339), applied to the current
// overrides, validated like AlterConfigs and written the same way. APPEND and
// SUBTRACT work on list configs only (INVALID_CONFIG otherwise); a name given
// twice for one resource is INVALID_REQUEST.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

func init() { regKey(kmsg.IncrementalAlterConfigs, 0, 1, handleIncrementalAlterConfigs) }

func handleIncrementalAlterConfigs(b *Broker, _ *reqContext, req *kmsg.IncrementalAlterConfigsRequest) reply {
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, r := range req.Resources {
		rr := kmsg.NewIncrementalAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		err := func() error {
			if err := b.checkAlterableTopic(r.ResourceType, r.ResourceName); err != nil {
				return err
			}
			current, err := b.meta.GetEntityConfig(zkmeta.ConfigTypeTopic, r.ResourceName)
			if err != nil {
				return err
			}
			next, err := b.applyConfigOps(current, r.Configs)
			if err != nil {
				return err
			}
			return b.setTopicConfig(r.ResourceName, next, req.ValidateOnly)
		}()
		rr.ErrorCode, rr.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Resources = append(resp.Resources, rr)
	}
	return respond(resp)
}

// applyConfigOps is ConfigAdminManager.prepareIncrementalConfigs.
func (b *Broker) applyConfigOps(current map[string]string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig) (map[string]string, error) {
	next := make(map[string]string, len(current))
	for k, v := range current {
		next[k] = v
	}
	seen := map[string]bool{}
	for _, op := range ops {
		if seen[op.Name] {
			return nil, kafkaError(kerr.InvalidRequest, "Error due to duplicate config keys")
		}
		seen[op.Name] = true
		def, known := topicConfigIndex[op.Name]
		switch op.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			if op.Value == nil {
				return nil, kafkaError(kerr.InvalidRequest, "Null value not supported for : "+op.Name)
			}
			next[op.Name] = *op.Value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(next, op.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			if !known {
				return nil, kafkaError(kerr.InvalidConfig, "Unknown topic config name: "+op.Name)
			}
			if def.typ != typeList {
				return nil, kafkaError(kerr.InvalidConfig, fmt.Sprintf("Config value append is not allowed for config key: %s", op.Name))
			}
			cur, ok := next[op.Name]
			if !ok {
				cur, _ = b.cfg.topicDefault(def)
			}
			items := splitList(cur)
			var arg []string
			if op.Value != nil {
				arg = splitList(*op.Value)
			}
			for _, a := range arg {
				if op.Op == kmsg.IncrementalAlterConfigOpAppend && !slices.Contains(items, a) {
					items = append(items, a)
				}
				if op.Op == kmsg.IncrementalAlterConfigOpSubtract {
					items = slices.DeleteFunc(items, func(s string) bool { return s == a })
				}
			}
			next[op.Name] = strings.Join(items, ",")
		default:
			return nil, kafkaError(kerr.InvalidRequest, fmt.Sprintf("Unknown operation type %d", op.Op))
		}
	}
	return next, nil
}
