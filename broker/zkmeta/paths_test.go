package zkmeta

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestPaths(t *testing.T) {
	tests := []struct{ got, want string }{
		{BrokerIDPath(3), "/brokers/ids/3"},
		{TopicPath("orders"), "/brokers/topics/orders"},
		{TopicPartitionsPath("orders"), "/brokers/topics/orders/partitions"},
		{TopicPartitionPath("orders", 2), "/brokers/topics/orders/partitions/2"},
		{PartitionStatePath("orders", 2), "/brokers/topics/orders/partitions/2/state"},
		{TopicConfigPath("orders"), "/config/topics/orders"},
		{BrokerConfigPath(1), "/config/brokers/1"},
		{ConfigEntityPath(ConfigTypeBroker, DefaultBrokerConfigName), "/config/brokers/<default>"},
		{ConfigChangeSeqPath(""), "/config/changes/config_change_"},
		{ConfigChangeSeqPath(FormatSequenceNumber(42)), "/config/changes/config_change_0000000042"},
		{DeleteTopicPath("orders"), "/admin/delete_topics/orders"},
		{IsrChangeSeqPath(""), "/isr_change_notification/isr_change_"},
		{LogDirEventSeqPath("0000000001"), "/log_dir_event_notification/log_dir_event_0000000001"},
		{ConsumerIDPath("g", "c1"), "/consumers/g/ids/c1"},
		{ConsumerOwnerPath("g", "t", 0), "/consumers/g/owners/t/0"},
		{ConsumerOffsetPath("g", "t", 1), "/consumers/g/offsets/t/1"},
		{TopicEntityPath("t"), "topics/t"},
		{BrokerEntityPath(2), "brokers/2"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %s want %s", tt.got, tt.want)
		}
	}
	want := []string{"/consumers", "/brokers/ids", "/brokers/topics", "/config/changes", "/admin/delete_topics",
		"/brokers/seqid", "/isr_change_notification", "/latest_producer_id_block", "/log_dir_event_notification",
		"/config/topics", "/config/clients", "/config/users", "/config/brokers", "/config/ips"}
	if got := PersistentPaths(); !reflect.DeepEqual(got, want) {
		t.Errorf("PersistentPaths = %v", got)
	}
}

func TestSequenceNumbers(t *testing.T) {
	if n, err := ParseSequenceNumber("isr_change_0000000042", IsrChangePrefix); err != nil || n != 42 {
		t.Errorf("got %d %v", n, err)
	}
	if n, err := ParseSequenceNumber("/config/changes/config_change_0000000007", ConfigChangePrefix); err != nil || n != 7 {
		t.Errorf("got %d %v", n, err)
	}
	for _, bad := range []string{"isr_change_", "isr_change_x", "config_change_1", "isr_change_-1"} {
		if _, err := ParseSequenceNumber(bad, IsrChangePrefix); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestValidateTopicName(t *testing.T) {
	for _, ok := range []string{"a", "orders.v1", "__consumer_offsets", "A-b_c.9", strings.Repeat("x", 249)} {
		if err := ValidateTopicName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "a b", "t\x00", "caf\u00e9", strings.Repeat("x", 250)} {
		if err := ValidateTopicName(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseConnect(t *testing.T) {
	tests := []struct {
		in      string
		servers []string
		chroot  string
	}{
		{"zk1:2181", []string{"zk1:2181"}, ""},
		{"zk1:2181,zk2:2181/kafka", []string{"zk1:2181", "zk2:2181"}, "/kafka"},
		{"zk1:2181/kafka/prod/", []string{"zk1:2181"}, "/kafka/prod"},
		{"zk1:2181/", []string{"zk1:2181"}, ""},
	}
	for _, tt := range tests {
		s, c, err := ParseConnect(tt.in)
		if err != nil || !reflect.DeepEqual(s, tt.servers) || c != tt.chroot {
			t.Errorf("%q: %v %q %v", tt.in, s, c, err)
		}
	}
	for _, bad := range []string{"", "/kafka", "zk:1/a//b", "zk:1/a/../b"} {
		if _, _, err := ParseConnect(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAbsRel(t *testing.T) {
	c, err := New(fakeConn{}, Config{Chroot: "/kafka"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Abs("/brokers/ids") != "/kafka/brokers/ids" || c.Abs("/") != "/kafka" {
		t.Error("Abs")
	}
	if c.Rel("/kafka/brokers/ids/1") != "/brokers/ids/1" || c.Rel("/kafka") != "/" || c.Rel("/other") != "/other" || c.Rel("/kafkax/a") != "/kafkax/a" {
		t.Error("Rel")
	}
	if _, err := New(fakeConn{}, Config{Chroot: "kafka"}); err == nil {
		t.Error("relative chroot accepted")
	}
}

// fakeConn satisfies Conn for tests that do no I/O.
type fakeConn struct{ Conn }
