package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/zabkafka/zabkafka/zab"
)

const fuzzLimit = 4096

// FuzzReadFrame: readFrame never panics; a length over the limit is
// rejected with ErrFrameTooLarge before anything is allocated; an accepted
// frame is exactly the announced length; the payload goes through
// zab.Unmarshal without panicking, and a decoded message re-frames to the
// same bytes.
func FuzzReadFrame(f *testing.F) {
	f.Add(frameOf(zab.Message{Type: zab.Proposal, From: 1, To: 2, Zxid: 5, Entries: []zab.Entry{{Zxid: 5, Data: []byte("x")}}}))
	f.Add(frameOf(zab.Message{Type: zab.Notification, From: 3, To: 1, Round: 2, Vote: zab.Vote{Leader: 3}}))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 0, 0x10, 0x01})
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3})
	f.Add([]byte{0, 0, 0, 9, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		var declared uint32
		if len(data) >= 4 {
			declared = binary.BigEndian.Uint32(data)
		}
		p, err := readFrame(r, fuzzLimit, nil)
		switch {
		case len(data) >= 4 && declared > fuzzLimit:
			if !errors.Is(err, ErrFrameTooLarge) || cap(p) != 0 {
				t.Fatalf("over-limit length %d: err %v, cap %d", declared, err, cap(p))
			}
			return
		case len(data) == 0:
			if err != io.EOF {
				t.Fatalf("empty input: %v", err)
			}
			return
		case len(data) < 4 || len(data)-4 < int(declared):
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("truncated input: %v", err)
			}
			return
		}
		if err != nil || len(p) != int(declared) || !bytes.Equal(p, data[4:4+declared]) {
			t.Fatalf("frame of %d bytes: len %d err %v", declared, len(p), err)
		}
		m, err := zab.Unmarshal(p)
		if err != nil {
			return
		}
		if again := appendFrame(nil, m); !bytes.Equal(again, data[:4+declared]) {
			t.Fatalf("re-framed %s differs", m.Describe())
		}
	})
}

// FuzzHandshake: parseHeader never panics, accepts only well-formed
// headers, and what it accepts marshals back to the same bytes; the
// acceptor's verdict on it is always one a reply can carry.
func FuzzHandshake(f *testing.F) {
	tr, err := New(Config{ID: 2, Members: map[uint64]Member{
		1: {QuorumAddr: "127.0.0.1:1", ElectionAddr: "127.0.0.1:2"},
		2: {QuorumAddr: "127.0.0.1:3", ElectionAddr: "127.0.0.1:4"},
		3: {QuorumAddr: "127.0.0.1:5", ElectionAddr: "127.0.0.1:6"},
	}})
	if err != nil {
		f.Fatal(err)
	}
	for _, h := range []header{
		{port: quorumPort, from: 3, to: 2, maxFrame: DefaultMaxFrameBytes, members: tr.members},
		{port: electionPort, from: 1, to: 2, maxFrame: DefaultElectionMaxFrameBytes, members: tr.members},
		{port: quorumPort, status: statusOK, from: 2, to: 3, maxFrame: minFrameLimit},
	} {
		f.Add(h.marshal(nil))
	}
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := parseHeader(data)
		if err != nil {
			return
		}
		if len(data) != headerLen || !bytes.Equal(h.marshal(nil), data) {
			t.Fatalf("accepted %x, re-marshals to %x", data, h.marshal(nil))
		}
		for _, p := range []port{quorumPort, electionPort} {
			switch st := tr.judge(h, p); st {
			case statusOK, statusDialBack:
				if h.from == tr.id || h.to != tr.id || h.port != p || h.members != tr.members {
					t.Fatalf("%+v accepted (%s) on %s", h, st.reason(), p)
				}
			case statusHello:
				t.Fatalf("verdict hello for %+v", h)
			}
		}
	})
}

// An announced length over the limit costs no allocation of that size:
// whatever the announcement, the rejection allocates only its error.
func TestReadFrameOverLimitDoesNotAllocate(t *testing.T) {
	for _, n := range []uint32{DefaultElectionMaxFrameBytes + 1, 1 << 30, 0xFFFFFFFF} {
		hdr := binary.BigEndian.AppendUint32(nil, n)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := readFrame(bytes.NewReader(hdr), DefaultElectionMaxFrameBytes, nil)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("length %d: %v", n, err)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 4096 {
			t.Errorf("length %d: %d bytes allocated", n, d)
		}
	}
}

// A frame announced under the limit but never sent costs at most one
// growth chunk, not the announced size.
func TestReadFrameGrowsWithData(t *testing.T) {
	hdr := binary.BigEndian.AppendUint32(nil, 200<<20)
	in := io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(make([]byte, 10)))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := readFrame(in, DefaultMaxFrameBytes, nil)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 2*growChunk {
		t.Errorf("%d bytes allocated for a 10-byte body", d)
	}
	// And a real big frame still arrives whole.
	body := bytes.Repeat([]byte{7}, 3*growChunk+5)
	p, err := readFrame(bytes.NewReader(append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)), DefaultMaxFrameBytes, nil)
	if err != nil || !bytes.Equal(p, body) {
		t.Fatalf("big frame: %d bytes, %v", len(p), err)
	}
}

func TestHandshakeRoundTrip(t *testing.T) {
	h := header{port: electionPort, status: statusDuplicate, from: 1<<63 + 5, to: 7, maxFrame: 12345, members: membersHash(map[uint64]Member{1: {QuorumAddr: "a:1", ElectionAddr: "a:2"}})}
	b := h.marshal(nil)
	if len(b) != headerLen {
		t.Fatalf("header is %d bytes", len(b))
	}
	got, err := parseHeader(b)
	if err != nil || got != h {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for i, mut := range []func([]byte){
		func(b []byte) { b[0] = 'X' },
		func(b []byte) { b[5] = 2 },
		func(b []byte) { b[6] = 3 },
		func(b []byte) { b[7] = byte(statusMax + 1) },
		func(b []byte) { binary.BigEndian.PutUint32(b[24:], minFrameLimit-1) },
		func(b []byte) { binary.BigEndian.PutUint32(b[24:], maxFrameLimit+1) },
	} {
		c := append([]byte(nil), b...)
		mut(c)
		if _, err := parseHeader(c); !errors.Is(err, errBadHeader) {
			t.Errorf("mutation %d accepted", i)
		}
	}
	if _, err := parseHeader(b[:10]); err == nil {
		t.Error("short header accepted")
	}
}

func TestMembersText(t *testing.T) {
	m := map[uint64]Member{
		3: {QuorumAddr: "c:2888", ElectionAddr: "c:3888", Observer: true},
		1: {QuorumAddr: "a:2888", ElectionAddr: "a:3888"},
	}
	want := "server.1=a:2888|a:3888|participant\nserver.3=c:2888|c:3888|observer\n"
	if got := membersText(m); got != want {
		t.Fatalf("membersText:\n%s\nwant:\n%s", got, want)
	}
}
