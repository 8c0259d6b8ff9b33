// Command zknull is the ceiling for the ZooKeeper benchmarks: a server that speaks just enough
// of the client protocol for bench/zkload (connect, create, setData, getData, exists, delete,
// multi, getChildren, ping, closeSession, the srvr and ruok four-letter words) and does
// nothing else. It keeps no tree, writes nothing to disk, and answers every request at once
// from the goroutine that read it: one read and one write system call per request, the least
// any server on TCP can do with a client that waits for each reply.
//
// Whatever a real server does on top of that costs throughput, so zkd/Apache can never exceed
// zknull/Apache measured with the same load generator on the same machine. bench/zkcompare
// -null runs it as a third server in the same run.
//
//	zknull -config zoo.cfg     # clientPort and clientPortAddress from a zoo.cfg
//	zknull -port 2181
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/zabkafka/zabkafka/jute"
)

func main() {
	config := flag.String("config", "", "zoo.cfg to take clientPort and clientPortAddress from")
	port := flag.Int("port", 2181, "client port (when there is no -config)")
	flag.Parse()
	log.SetFlags(log.LstdFlags)
	log.SetPrefix("zknull: ")
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(*port))
	if *config != "" {
		var err error
		if addr, err = clientAddr(*config); err != nil {
			log.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("serving on %s", l.Addr())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		os.Exit(0)
	}()
	var s server
	if err := s.serve(l); err != nil {
		log.Fatal(err)
	}
}

// clientAddr reads clientPort and clientPortAddress (default 127.0.0.1) from a zoo.cfg.
func clientAddr(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	host, port := "127.0.0.1", ""
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		switch strings.TrimSpace(k) {
		case "clientPort":
			port = strings.TrimSpace(v)
		case "clientPortAddress":
			host = strings.TrimSpace(v)
		}
	}
	if port == "" {
		return "", fmt.Errorf("%s: no clientPort", path)
	}
	return net.JoinHostPort(host, port), nil
}

// server hands out session ids and zxids; it has no other state.
type server struct {
	sessions atomic.Int64
	zxid     atomic.Int64
}

func (s *server) serve(l net.Listener) error {
	for {
		nc, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go s.handle(nc)
	}
}

// handle runs one connection: the handshake, then one reply per request, in order.
func (s *server) handle(nc net.Conn) {
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 64*1024)
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return
	}
	n := int32(binary.BigEndian.Uint32(hdr[:]))
	if cmd, ok := jute.FourLetterWord(n); ok {
		nc.Write([]byte(fourLetterReply(cmd)))
		return
	}
	frame, err := jute.ReadFramePayload(br, n, nil, jute.MaxBuffer)
	if err != nil {
		return
	}
	var creq jute.ConnectRequest
	if err := jute.Decode(frame, &creq); err != nil {
		log.Printf("%s: malformed connect request: %v", nc.RemoteAddr(), err)
		return
	}
	id := creq.SessionID
	if id == 0 {
		id = s.sessions.Add(1)
	}
	resp := jute.ConnectResponse{ProtocolVersion: 0, TimeOut: creq.TimeOut, SessionID: id,
		Passwd: make([]byte, 16), HasReadOnly: creq.HasReadOnly}
	if _, err := nc.Write(jute.AppendFrame(nil, &resp)); err != nil {
		return
	}
	var in, out []byte
	for {
		frame, err := jute.ReadFrame(br, in, jute.MaxBuffer)
		if err != nil {
			return
		}
		in = frame[:0]
		var closing bool
		out, closing, err = s.reply(out[:0], frame)
		if err != nil {
			log.Printf("%s: %v, closing connection", nc.RemoteAddr(), err)
			return
		}
		if _, err := nc.Write(out); err != nil || closing {
			return
		}
	}
}

// nodeData is what getData returns: bench/zkload writes 100-byte values.
var nodeData = make([]byte, 100)

// reply appends the framed answer to one request and reports whether the session closes.
func (s *server) reply(out, frame []byte) ([]byte, bool, error) {
	r := jute.NewReader(frame)
	var h jute.RequestHeader
	h.Decode(r)
	if err := r.Err(); err != nil {
		return out, false, fmt.Errorf("malformed request header: %w", err)
	}
	rh := jute.ReplyHeader{Xid: h.Xid, Zxid: s.zxid.Load()}
	if h.Type.IsWrite() {
		rh.Zxid = s.zxid.Add(1)
	}
	stat := jute.Stat{Czxid: rh.Zxid, Mzxid: rh.Zxid, Pzxid: rh.Zxid}
	switch h.Type {
	case jute.OpPing:
		return jute.AppendFrame(out, &rh), false, nil
	case jute.OpCloseSession:
		return jute.AppendFrame(out, &rh), true, nil
	case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer:
		var req jute.CreateRequest
		req.Decode(r)
		if err := r.Err(); err != nil {
			return out, false, fmt.Errorf("malformed create: %w", err)
		}
		path := createdPath(req.Path, req.Flags, rh.Zxid)
		if h.Type == jute.OpCreate {
			return jute.AppendFrame(out, &rh, &jute.CreateResponse{Path: path}), false, nil
		}
		return jute.AppendFrame(out, &rh, &jute.Create2Response{Path: path, Stat: stat}), false, nil
	case jute.OpSetData:
		return jute.AppendFrame(out, &rh, &jute.SetDataResponse{Stat: stat}), false, nil
	case jute.OpGetData:
		stat.DataLength = int32(len(nodeData))
		return jute.AppendFrame(out, &rh, &jute.GetDataResponse{Data: nodeData, Stat: stat}), false, nil
	case jute.OpExists:
		return jute.AppendFrame(out, &rh, &jute.ExistsResponse{Stat: stat}), false, nil
	case jute.OpDelete, jute.OpSync:
		return jute.AppendFrame(out, &rh), false, nil
	case jute.OpGetChildren:
		return jute.AppendFrame(out, &rh, &jute.GetChildrenResponse{}), false, nil
	case jute.OpGetChildren2:
		return jute.AppendFrame(out, &rh, &jute.GetChildren2Response{Stat: stat}), false, nil
	case jute.OpMulti:
		var req jute.MultiRequest
		req.Decode(r)
		if err := r.Err(); err != nil {
			return out, false, fmt.Errorf("malformed multi: %w", err)
		}
		return jute.AppendFrame(out, &rh, multiResponse(req, rh.Zxid)), false, nil
	}
	rh.Err = jute.ErrUnimplemented
	return jute.AppendFrame(out, &rh), false, nil
}

// multiResponse answers every op of a multi as if it succeeded.
func multiResponse(req jute.MultiRequest, zxid int64) *jute.MultiResponse {
	resp := &jute.MultiResponse{Results: make([]jute.MultiResult, len(req.Ops))}
	for i, op := range req.Ops {
		res := jute.MultiResult{Type: op.Type}
		stat := jute.Stat{Czxid: zxid, Mzxid: zxid, Pzxid: zxid}
		switch req := op.Req.(type) {
		case *jute.CreateRequest:
			path := createdPath(req.Path, req.Flags, zxid)
			if op.Type == jute.OpCreate {
				res.Resp = &jute.CreateResponse{Path: path}
			} else {
				res.Resp = &jute.Create2Response{Path: path, Stat: stat}
			}
		case *jute.SetDataRequest:
			res.Resp = &jute.SetDataResponse{Stat: stat}
		case *jute.GetDataRequest:
			res.Resp = &jute.GetDataResponse{Data: nodeData, Stat: stat}
		case *jute.GetChildrenRequest:
			res.Resp = &jute.GetChildrenResponse{}
		}
		resp.Results[i] = res
	}
	return resp
}

// createdPath is the name a create gets: sequential nodes end in a 10-digit counter, here
// taken from the zxid, which never repeats.
func createdPath(path string, flags jute.CreateMode, zxid int64) string {
	if flags.Sequential() {
		return fmt.Sprintf("%s%010d", path, zxid%10_000_000_000)
	}
	return path
}

func fourLetterReply(cmd string) string {
	switch cmd {
	case "ruok":
		return "imok"
	case "srvr", "stat":
		return "Zookeeper version: zknull (answers without doing anything)\nMode: standalone\n"
	}
	return cmd + " is not supported by zknull\n"
}
