package broker

import (
	"fmt"
	"math/rand/v2"

	"github.com/twmb/franz-go/pkg/kerr"
)

// assignReplicas is AdminUtils.assignReplicasToBrokersRackUnaware
// (reference/kafka.md 2.9): partition p's first replica is
// brokers[(p + startIndex) % n], and follower j sits
// 1 + (shift + j) % (n - 1) places after it, the shift growing by one every n
// partitions so followers spread too. brokers must be sorted. A negative
// startIndex or shift is drawn from rnd, as Kafka draws both at random;
// partitions are numbered from startPartition.
func assignReplicas(brokers []int32, partitions int32, replicationFactor int16, startIndex, shift int, startPartition int32, rnd *rand.Rand) (map[int32][]int32, error) {
	if partitions <= 0 {
		return nil, kafkaError(kerr.InvalidPartitions, "Number of partitions must be larger than 0.")
	}
	if replicationFactor <= 0 {
		return nil, kafkaError(kerr.InvalidReplicationFactor, "Replication factor must be larger than 0.")
	}
	n := len(brokers)
	if int(replicationFactor) > n {
		return nil, kafkaError(kerr.InvalidReplicationFactor,
			fmt.Sprintf("Replication factor: %d larger than available brokers: %d.", replicationFactor, n))
	}
	if startIndex < 0 {
		startIndex = rnd.IntN(n)
	}
	if shift < 0 {
		shift = rnd.IntN(n)
	}
	out := make(map[int32][]int32, partitions)
	p := max(0, startPartition)
	for i := int32(0); i < partitions; i++ {
		if p > 0 && int(p)%n == 0 {
			shift++
		}
		first := (int(p) + startIndex) % n
		replicas := []int32{brokers[first]}
		for j := 0; j < int(replicationFactor)-1; j++ {
			replicas = append(replicas, brokers[replicaIndex(first, shift, j, n)])
		}
		out[p] = replicas
		p++
	}
	return out, nil
}

func replicaIndex(first, shift, j, n int) int {
	return (first + 1 + (shift+j)%(n-1)) % n
}
