package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The null broker is the ceiling for produce: a Kafka broker that answers ApiVersions,
// Metadata and Produce and keeps nothing. It reads every request off the socket and
// acknowledges each batch with the next offsets, so what it costs the client is what any
// broker costs at least: the client's own work, the loopback TCP and one read of the bytes.
// brokerd / null is then the share of that ceiling brokerd reaches, and null / raw append
// the most any broker could show against the raw append on this machine with this client.
// It runs in a child process of its own, as brokerd and kfake do (child.go).

// serveNullFlag makes this binary a null broker (child.go).
const serveNullFlag = "-serve-null"

// serveNullChild starts a null broker for topic on a free loopback port.
func serveNullChild(topic string) ([]string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	go serveNull(l, topic)
	return []string{l.Addr().String()}, func() { l.Close() }, nil
}

func serveNull(l net.Listener, topic string) {
	host, portStr, _ := net.SplitHostPort(l.Addr().String())
	port, _ := strconv.Atoi(portStr)
	nb := &nullBroker{host: host, port: int32(port), topic: topic}
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			if err := nb.serve(c); err != nil && !errors.Is(err, io.EOF) {
				log.Printf("null broker: %v", err)
			}
		}()
	}
}

type nullBroker struct {
	host  string
	port  int32
	topic string
	next  atomic.Int64 // next offset of partition 0
}

// serve answers one connection's requests in order.
func (nb *nullBroker) serve(c net.Conn) error {
	defer c.Close()
	br := bufio.NewReaderSize(c, 1<<20)
	var frame, out []byte
	for {
		var size [4]byte
		if _, err := io.ReadFull(br, size[:]); err != nil {
			return err
		}
		n := int(binary.BigEndian.Uint32(size[:]))
		if cap(frame) < n {
			frame = make([]byte, n)
		}
		frame = frame[:n]
		if _, err := io.ReadFull(br, frame); err != nil {
			return err
		}
		resp, corr, err := nb.answer(frame)
		if err != nil {
			return err
		}
		if resp == nil {
			continue // acks=0
		}
		out = append(out[:0], 0, 0, 0, 0)
		out = binary.BigEndian.AppendUint32(out, uint32(corr))
		if resp.IsFlexible() && resp.Key() != 18 { // ApiVersions answers with header v0
			out = append(out, 0) // no tagged fields
		}
		out = resp.AppendTo(out)
		binary.BigEndian.PutUint32(out, uint32(len(out)-4))
		if _, err := c.Write(out); err != nil {
			return err
		}
	}
}

// answer decodes a request and builds its response (nil: none is due).
func (nb *nullBroker) answer(frame []byte) (kmsg.Response, int32, error) {
	if len(frame) < 10 {
		return nil, 0, fmt.Errorf("request header truncated")
	}
	key, version := int16(binary.BigEndian.Uint16(frame)), int16(binary.BigEndian.Uint16(frame[2:]))
	corr := int32(binary.BigEndian.Uint32(frame[4:]))
	req := kmsg.RequestForKey(key)
	if req == nil {
		return nil, corr, fmt.Errorf("unknown api key %d", key)
	}
	req.SetVersion(version)
	rest := frame[8:]
	clientID := int(int16(binary.BigEndian.Uint16(rest)))
	rest = rest[2+max(clientID, 0):]
	if req.IsFlexible() {
		var err error
		if rest, err = skipTags(rest); err != nil {
			return nil, corr, err
		}
	}
	if err := req.ReadFrom(rest); err != nil {
		return nil, corr, fmt.Errorf("%s v%d: %w", kmsg.NameForKey(key), version, err)
	}
	switch r := req.(type) {
	case *kmsg.ApiVersionsRequest:
		resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
		for _, k := range []int16{0, 3, 18} { // Produce, Metadata, ApiVersions
			max := kmsg.RequestForKey(k).MaxVersion()
			resp.ApiKeys = append(resp.ApiKeys, kmsg.ApiVersionsResponseApiKey{ApiKey: k, MaxVersion: max})
		}
		return resp, corr, nil
	case *kmsg.MetadataRequest:
		resp := r.ResponseKind().(*kmsg.MetadataResponse)
		resp.Brokers = []kmsg.MetadataResponseBroker{{NodeID: 0, Host: nb.host, Port: nb.port}}
		resp.ControllerID = 0
		t := kmsg.NewMetadataResponseTopic()
		t.Topic = kmsg.StringPtr(nb.topic)
		p := kmsg.NewMetadataResponseTopicPartition()
		p.Replicas, p.ISR = []int32{0}, []int32{0}
		t.Partitions = append(t.Partitions, p)
		resp.Topics = append(resp.Topics, t)
		return resp, corr, nil
	case *kmsg.ProduceRequest:
		resp := r.ResponseKind().(*kmsg.ProduceResponse)
		for _, t := range r.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = p.Partition
				records := batchRecords(p.Records)
				rp.BaseOffset = nb.next.Add(records) - records
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		if r.Acks == 0 {
			return nil, corr, nil
		}
		return resp, corr, nil
	}
	return nil, corr, fmt.Errorf("%s is not served by the null broker", kmsg.NameForKey(key))
}

// batchRecords counts the records of the RecordBatches in b (lastOffsetDelta + 1 each).
func batchRecords(b []byte) int64 {
	var n int64
	for len(b) >= 27 {
		length := int(binary.BigEndian.Uint32(b[8:])) + 12
		n += int64(int32(binary.BigEndian.Uint32(b[23:]))) + 1
		if length > len(b) {
			break
		}
		b = b[length:]
	}
	return n
}

// skipTags skips a flexible header's tagged fields.
func skipTags(b []byte) ([]byte, error) {
	count, n := binary.Uvarint(b)
	if n <= 0 {
		return nil, fmt.Errorf("bad tagged field count")
	}
	b = b[n:]
	for range count {
		if _, n = binary.Uvarint(b); n <= 0 {
			return nil, fmt.Errorf("bad tag")
		}
		b = b[n:]
		size, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < size {
			return nil, fmt.Errorf("bad tagged field size")
		}
		b = b[n+int(size):]
	}
	return b, nil
}
