package broker

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zabkafka/zabkafka/broker/zkmeta"
)

// controllerSocketTimeout is controller.socket.timeout.ms: how long a
// controller request may take when the caller's context has no deadline.
const controllerSocketTimeout = 30 * time.Second

// maxResponseBytes bounds a response frame read from another broker.
const maxResponseBytes = 100 << 20

// Sender delivers requests to brokers over the Kafka protocol, as the
// controller's ControllerChannelManager does: one TCP connection per target
// broker, to its endpoint on the inter-broker listener, one request at a
// time per target. It implements broker/controller's Sender; this very broker
// is reached over TCP too. It is safe for concurrent use.
type Sender struct {
	clientID string
	listener string
	log      zerolog.Logger

	mu     sync.Mutex
	peers  map[int32]*peerConn
	closed bool
}

type peerConn struct {
	mu    sync.Mutex
	addr  string
	nc    net.Conn
	br    *bufio.Reader
	corr  int32
	wbuf  []byte
	rbuf  []byte
	alive bool
}

// NewSender returns a Sender that connects to the listener named listener
// (inter.broker.listener.name) of each target.
func NewSender(brokerID int32, listener string, lg zerolog.Logger) *Sender {
	return &Sender{clientID: "broker-" + strconv.Itoa(int(brokerID)) + "-controller", listener: listener,
		log: lg, peers: map[int32]*peerConn{}}
}

// endpointFor picks the target's endpoint on the inter-broker listener,
// else its first PLAINTEXT endpoint.
func (s *Sender) endpointFor(info *zkmeta.BrokerInfo) (string, error) {
	if info == nil {
		return "", errors.New("no registration for target broker")
	}
	var fallback *zkmeta.Endpoint
	for i, ep := range info.Endpoints {
		if ep.Listener == s.listener {
			return net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port))), nil
		}
		if fallback == nil && ep.SecurityProtocol == "PLAINTEXT" {
			fallback = &info.Endpoints[i]
		}
	}
	if fallback == nil {
		return "", fmt.Errorf("broker %d has no %s or PLAINTEXT endpoint", info.ID, s.listener)
	}
	return net.JoinHostPort(fallback.Host, strconv.Itoa(int(fallback.Port))), nil
}

// SendTo sends req to broker id at the endpoint of its registration and
// returns the decoded response. A failed connection is closed and reported;
// the next call dials again.
func (s *Sender) SendTo(ctx context.Context, id int32, info *zkmeta.BrokerInfo, req kmsg.Request) (kmsg.Response, error) {
	addr, err := s.endpointFor(info)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("sender closed")
	}
	pc := s.peers[id]
	if pc == nil {
		pc = &peerConn{}
		s.peers[id] = pc
	}
	s.mu.Unlock()

	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.alive && pc.addr != addr {
		pc.close()
	}
	for attempt := 0; ; attempt++ {
		reused := pc.alive
		if !pc.alive {
			d := net.Dialer{Timeout: 10 * time.Second}
			nc, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, fmt.Errorf("connect to broker %d at %s: %w", id, addr, err)
			}
			pc.nc, pc.br, pc.addr, pc.alive = nc, bufio.NewReaderSize(nc, 64<<10), addr, true
		}
		resp, err := pc.roundTrip(ctx, s.clientID, req)
		if err == nil {
			return resp, nil
		}
		pc.close()
		// A pooled connection the other side closed while idle
		// (connections.max.idle.ms) fails at once; dial again, as
		// NetworkClient does.
		if reused && attempt == 0 && ctx.Err() == nil && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
			continue
		}
		return nil, fmt.Errorf("%s to broker %d at %s: %w", kmsg.NameForKey(req.Key()), id, addr, err)
	}
}

func (pc *peerConn) close() {
	if pc.nc != nil {
		pc.nc.Close()
	}
	pc.nc, pc.br, pc.alive = nil, nil, false
}

func (pc *peerConn) roundTrip(ctx context.Context, clientID string, req kmsg.Request) (kmsg.Response, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(controllerSocketTimeout)
	}
	nc := pc.nc
	nc.SetDeadline(deadline)
	// The callback may run after this call has returned and the caller
	// has closed the connection (pc.nc is nil then): it uses its own copy,
	// and a deadline on a closed connection is harmless.
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Now()) })
	defer stop()

	pc.corr++
	pc.wbuf = appendRequest(pc.wbuf[:0], pc.corr, clientID, req)
	if _, err := nc.Write(pc.wbuf); err != nil {
		return nil, err
	}
	frame, err := readFrame(pc.br, pc.rbuf, maxResponseBytes)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if cap(frame) <= keepFrameBuffer {
		pc.rbuf = frame
	}
	if len(frame) < 4 {
		return nil, errors.New("response shorter than its header")
	}
	if corr := int32(binary.BigEndian.Uint32(frame)); corr != pc.corr {
		return nil, fmt.Errorf("response correlation id %d, want %d", corr, pc.corr)
	}
	body := frame[4:]
	resp := req.ResponseKind()
	if resp.IsFlexible() && req.Key() != int16(kmsg.ApiVersions) {
		if body, err = skipTags(body); err != nil {
			return nil, err
		}
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	return resp, nil
}

// appendRequest frames a request with header v1, or v2 (tagged fields) for
// flexible versions, or v0 for ControlledShutdown v0.
func appendRequest(dst []byte, corr int32, clientID string, req kmsg.Request) []byte {
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(req.Key()))
	dst = binary.BigEndian.AppendUint16(dst, uint16(req.GetVersion()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(corr))
	if !(req.Key() == int16(kmsg.ControlledShutdown) && req.GetVersion() == 0) {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(clientID)))
		dst = append(dst, clientID...)
		if req.IsFlexible() {
			dst = append(dst, 0)
		}
	}
	dst = req.AppendTo(dst)
	binary.BigEndian.PutUint32(dst, uint32(len(dst)-4))
	return dst
}

// Close closes every connection.
func (s *Sender) Close() {
	s.mu.Lock()
	s.closed = true
	peers := s.peers
	s.peers = map[int32]*peerConn{}
	s.mu.Unlock()
	for _, pc := range peers {
		pc.mu.Lock()
		pc.close()
		pc.mu.Unlock()
	}
}
