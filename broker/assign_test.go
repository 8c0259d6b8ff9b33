package broker

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Kafka's AdminUtilsTest.testReplicaAssignment: brokers 0-4, 10 partitions,
// replication factor 3, fixed start index 0.
func TestAssignReplicasMatchesAdminUtils(t *testing.T) {
	got, err := assignReplicas([]int32{0, 1, 2, 3, 4}, 10, 3, 0, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32][]int32{
		0: {0, 1, 2}, 1: {1, 2, 3}, 2: {2, 3, 4}, 3: {3, 4, 0}, 4: {4, 0, 1},
		5: {0, 2, 3}, 6: {1, 3, 4}, 7: {2, 4, 0}, 8: {3, 0, 1}, 9: {4, 1, 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("assignment\n got %v\nwant %v", got, want)
	}
}

func TestAssignReplicasSpreadsAndValidates(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 50; trial++ {
		brokers := []int32{1, 2, 3}
		got, err := assignReplicas(brokers, 9, 1, -1, -1, 0, rnd)
		if err != nil {
			t.Fatal(err)
		}
		per := map[int32]int{}
		for p := int32(0); p < 9; p++ {
			if len(got[p]) != 1 {
				t.Fatalf("partition %d: %v", p, got[p])
			}
			per[got[p][0]]++
		}
		for _, b := range brokers {
			if per[b] != 3 {
				t.Fatalf("leaders per broker %v, want 3 each", per)
			}
		}
	}
	// Added partitions continue the numbering.
	added, err := assignReplicas([]int32{1, 2}, 2, 1, 0, 0, 3, nil)
	if err != nil || len(added[3]) != 1 || len(added[4]) != 1 {
		t.Fatalf("added partitions %v %v", added, err)
	}
	for _, tc := range []struct {
		partitions int32
		rf         int16
		want       *kerr.Error
	}{{0, 1, kerr.InvalidPartitions}, {1, 0, kerr.InvalidReplicationFactor}, {1, 4, kerr.InvalidReplicationFactor}} {
		if _, err := assignReplicas([]int32{1, 2, 3}, tc.partitions, tc.rf, 0, 0, 0, nil); !errors.Is(err, tc.want) {
			t.Errorf("partitions %d rf %d: %v, want %v", tc.partitions, tc.rf, err, tc.want)
		}
	}
}
