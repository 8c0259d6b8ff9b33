package broker

// DescribeCluster, key 60, version 0: the live brokers on this listener, the
// cluster id and the controller id, from the metadata cache.

import "github.com/twmb/franz-go/pkg/kmsg"

func init() { regKey(kmsg.DescribeCluster, 0, 0, handleDescribeCluster) }

func handleDescribeCluster(b *Broker, rc *reqContext, req *kmsg.DescribeClusterRequest) reply {
	snap := b.cache.load()
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.ClusterID, resp.ControllerID = b.clusterID, snap.controllerID
	resp.ClusterAuthorizedOperations = authorizedOperationsOmitted
	for _, id := range snap.aliveBrokers() {
		hp, ok := snap.endpoint(id, rc.listener)
		if !ok {
			continue
		}
		br := kmsg.NewDescribeClusterResponseBroker()
		br.NodeID, br.Host, br.Port, br.Rack = id, hp.host, hp.port, snap.brokers[id].rack
		resp.Brokers = append(resp.Brokers, br)
	}
	return respond(resp)
}
