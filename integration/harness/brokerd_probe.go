package harness

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ProbeBrokerd sends a Metadata v1 request for no topics and reports
// whether the answer lists broker id: a broker does that once the
// controller has sent it the cluster's metadata.
func ProbeBrokerd(addr string, id int32) (bool, error) {
	nc, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(2 * time.Second))
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 1
	req.Topics = []kmsg.MetadataRequestTopic{}
	resp, err := roundTrip(nc, req)
	if err != nil {
		return false, err
	}
	for _, b := range resp.(*kmsg.MetadataResponse).Brokers {
		if b.NodeID == id {
			return true, nil
		}
	}
	return false, nil
}

// roundTrip sends one non-flexible request with header v1 and reads its
// response.
func roundTrip(nc net.Conn, req kmsg.Request) (kmsg.Response, error) {
	buf := []byte{0, 0, 0, 0}
	buf = binary.BigEndian.AppendUint16(buf, uint16(req.Key()))
	buf = binary.BigEndian.AppendUint16(buf, uint16(req.GetVersion()))
	buf = binary.BigEndian.AppendUint32(buf, 1)
	buf = binary.BigEndian.AppendUint16(buf, 7)
	buf = append(buf, "harness"...)
	if req.IsFlexible() {
		buf = append(buf, 0)
	}
	buf = req.AppendTo(buf)
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
	if _, err := nc.Write(buf); err != nil {
		return nil, err
	}
	br := bufio.NewReader(nc)
	var size [4]byte
	if _, err := io.ReadFull(br, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > 64<<20 {
		return nil, fmt.Errorf("response of %d bytes", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, err
	}
	resp := req.ResponseKind()
	rest := body[4:]
	if resp.IsFlexible() && req.Key() != int16(kmsg.ApiVersions) {
		rest = rest[1:]
	}
	return resp, resp.ReadFrom(rest)
}
