package controller

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/go-zookeeper/zk"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// zkParallelism bounds the ZooKeeper requests the loop keeps in flight at
// once. One synchronous round trip per partition made Kafka's failover take
// a minute at 100,000 partitions (KAFKA-5642); pipelining them over the one
// session keeps it proportional to the slowest reply instead.
var zkParallelism = 16

// parallel runs f(0..n-1) on up to zkParallelism goroutines and waits. f must
// not touch loop-owned state except its own result slot.
func parallel(n int, f func(i int)) {
	if n == 0 {
		return
	}
	if n == 1 {
		f(0)
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, zkParallelism) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// stateRead is one partition state read from ZooKeeper.
type stateRead struct {
	li    leadershipInfo
	found bool // false: no state znode
	err   error
}

// readPartitionStates reads the state znodes of tps (getTopicPartitionStatesRaw).
func (c *Controller) readPartitionStates(tps []TopicPartition) []stateRead {
	out := make([]stateRead, len(tps))
	parallel(len(tps), func(i int) {
		s, v, err := c.meta.GetPartitionState(tps[i].Topic, tps[i].Partition)
		switch {
		case err == nil:
			out[i] = stateRead{li: fromZk(s, v), found: true}
		case errors.Is(err, zk.ErrNoNode):
		default:
			out[i] = stateRead{err: err}
		}
	})
	return out
}

// outcome is a state change's result for one partition: the leader and ISR
// written, or why not (Kafka's Either[Throwable, LeaderAndIsr]).
type outcome struct {
	lai leaderAndIsr
	err error
}

// errStateChangeFailed is Kafka's StateChangeFailedException.
var errStateChangeFailed = errors.New("controller: state change failed")

func stateChangeFailed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errStateChangeFailed, fmt.Sprintf(format, args...))
}

// updateLeaderAndIsr writes new leaders and ISRs, each conditional on the
// partition epoch it was computed from and inside the controller's fence
// (KafkaZkClient.updateLeaderAndIsr). It returns the partitions done
// (written, with the new partition epoch, or failed) and those whose state
// changed meanwhile (BADVERSION), which the caller re-reads and retries. A
// fenced write aborts everything with ErrControllerMoved.
func (c *Controller) updateLeaderAndIsr(tps []TopicPartition, lais []leaderAndIsr) (map[TopicPartition]outcome, []TopicPartition, error) {
	epoch := c.ctx.epoch
	results := make([]outcome, len(tps))
	conflict := make([]bool, len(tps))
	parallel(len(tps), func(i int) {
		tp, lai := tps[i], lais[i]
		v, err := c.meta.UpdatePartitionState(epoch, tp.Topic, tp.Partition, lai.toZk(epoch.Epoch), lai.PartitionEpoch)
		switch {
		case err == nil:
			lai.PartitionEpoch = v
			results[i] = outcome{lai: lai}
		case errors.Is(err, zkmeta.ErrVersionConflict) && !errors.Is(err, zkmeta.ErrControllerMoved):
			conflict[i] = true
		default:
			results[i] = outcome{err: err}
		}
	})
	finished := map[TopicPartition]outcome{}
	var retry []TopicPartition
	for i, tp := range tps {
		if errors.Is(results[i].err, zkmeta.ErrControllerMoved) {
			return nil, nil, results[i].err
		}
		if conflict[i] {
			retry = append(retry, tp)
			continue
		}
		finished[tp] = results[i]
	}
	return finished, retry, nil
}

// maxElectionRounds bounds the re-read-and-retry loops after BADVERSION.
// Kafka loops without a bound; a partition leader racing the controller
// every time for this long means something else is wrong.
const maxElectionRounds = 50

// isFenceError reports a write rejected by the controller fence.
func isFenceError(err error) bool { return errors.Is(err, zkmeta.ErrControllerMoved) }
