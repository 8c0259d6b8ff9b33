package zab

import (
	"reflect"
	"testing"
)

func sampleMessages() []Message {
	return []Message{
		{Type: Notification, From: 1, To: 2, State: Looking, Round: 7, Vote: Vote{Leader: 3, Zxid: 0x100000004, PeerEpoch: 1}},
		{Type: Proposal, From: 3, To: 1, Epoch: 2, Zxid: 0x200000001, Entries: []Entry{{0x200000001, []byte("k=v")}}},
		{Type: Diff, From: 3, To: 1, Epoch: 2, Zxid: 0x100000001, Entries: []Entry{{0x100000002, []byte("a")}, {0x200000001, nil}}},
		{Type: Snap, From: 3, To: 1, Epoch: 2, Zxid: 0x100000009, Data: []byte("snapshot")},
		{Type: AckEpoch, From: 1, To: 3, Epoch: 2, CurrentEpoch: 1, Zxid: 0x100000009},
		{Type: Ping, From: 3, To: 1, Epoch: 2, Zxid: 0x200000005, CommitZxid: 0x200000004},
		{Type: Sync, From: 1, To: 3, Epoch: 2, Ref: 99},
		{Type: Request, From: 1, To: 3, Epoch: 2, Data: []byte("req")},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		got, err := Unmarshal(m.Marshal(nil))
		if err != nil {
			t.Fatalf("%s: %v", m.Describe(), err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
		}
	}
}

func TestUnmarshalRejects(t *testing.T) {
	good := sampleMessages()[2].Marshal(nil)
	for i := range len(good) {
		if _, err := Unmarshal(good[:i]); err == nil {
			t.Fatalf("truncated to %d bytes: accepted", i)
		}
	}
	if _, err := Unmarshal(append(good, 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
	bad := append([]byte(nil), good...)
	bad[0] = 9
	if _, err := Unmarshal(bad); err == nil {
		t.Fatal("bad version accepted")
	}
	bad = append([]byte(nil), good...)
	bad[1] = 200
	if _, err := Unmarshal(bad); err == nil {
		t.Fatal("bad type accepted")
	}
	// A huge entry count in a short buffer must fail before allocating.
	m := Message{Type: Diff, From: 1, To: 2}
	b := m.Marshal(nil)
	b[len(b)-4], b[len(b)-3] = 0x7f, 0xff
	if _, err := Unmarshal(b); err == nil {
		t.Fatal("huge entry count accepted")
	}
}

func TestDescribe(t *testing.T) {
	want := []string{
		"1->2 NOTIFICATION LOOKING round=7 vote=(leader=3 zxid=0x100000004 epoch=1)",
		"3->1 PROPOSAL epoch=2 zxid=0x200000001 entry=0x200000001",
		"3->1 DIFF epoch=2 zxid=0x100000001 entries=0x100000002..0x200000001(2)",
		"3->1 SNAP epoch=2 zxid=0x100000009 snapshot=8B",
		"1->3 ACKEPOCH epoch=2 currentEpoch=1 last=0x100000009",
		"3->1 PING epoch=2 zxid=0x200000005 commit=0x200000004",
		"1->3 SYNC epoch=2 ref=99",
		"1->3 REQUEST epoch=2 3B",
	}
	for i, m := range sampleMessages() {
		if got := m.Describe(); got != want[i] {
			t.Errorf("got  %q\nwant %q", got, want[i])
		}
	}
}

// FuzzUnmarshalMessage: Unmarshal never panics; what it accepts re-encodes
// to the same bytes and decodes to the same message; and a peer fed the
// message does not panic.
func FuzzUnmarshalMessage(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(m.Marshal(nil))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Unmarshal(b)
		if err != nil {
			return
		}
		b2 := m.Marshal(nil)
		if string(b2) != string(b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b, b2)
		}
		m2, err := Unmarshal(b2)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("second decode: %v\n%+v\n%+v", err, m, m2)
		}
		_ = m.Describe()
		for _, id := range []uint64{1, 2, 3} {
			p, err := NewPeer(testConfig(id, ids(1, 2, 3), ids(4), &memLog{}, HardState{1, 1}))
			if err != nil {
				t.Fatal(err)
			}
			p.Advance(p.Ready())
			m.To = id
			_ = p.Step(m)
			if p.HasReady() {
				p.Advance(p.Ready())
			}
			p.Tick()
		}
	})
}
