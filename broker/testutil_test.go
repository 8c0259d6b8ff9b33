package broker

import (
	"net"
	"strconv"
	"testing"

	"github.com/zabkafka/zabkafka/broker/replica"
)

func splitHostPort(t *testing.T, addr string) (string, int32) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, int32(n)
}

func readTopicID(dir string) ([16]byte, bool, error) {
	id, ok, err := replica.ReadPartitionMetadata(dir)
	return [16]byte(id), ok, err
}
