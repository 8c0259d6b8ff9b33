package kguard

import (
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// hugeCount is the uvarint 0xffffffff, the largest tagged-field count.
var hugeCount = []byte{0xff, 0xff, 0xff, 0xff, 0x0f}

func wantMalformed(t *testing.T, err error, parts ...string) {
	t.Helper()
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not say %q", err, p)
		}
	}
}

// The body that keeps kmsg's ApiVersionsRequest.ReadFrom busy for a minute:
// two empty strings, then a tagged-field count of 2^32-1 with nothing after
// it.
func TestApiVersionsHugeTagCount(t *testing.T) {
	body := append([]byte{1, 1}, hugeCount...)
	for _, v := range []int16{3, 4} {
		wantMalformed(t, Check(18, v, body), "ApiVersions v"+string(rune('0'+v)), "at byte 2 of 7", "tagged-field count 4294967295 cannot fit in the 0 bytes that remain")
	}
	wantMalformed(t, Check(18, 5, body), "ApiVersions v5")
	if err := Check(18, 2, body); err != nil {
		t.Fatalf("v2 is not flexible and is not walked, got %v", err)
	}
}

// A huge count at the end of a nested struct: the first topic of a
// Metadata v12 request.
func TestPlantedNestedTagCount(t *testing.T) {
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(12)
	a, bb := "a", "bb"
	req.Topics = []kmsg.MetadataRequestTopic{{TopicID: [16]byte{1}, Topic: &a}, {TopicID: [16]byte{2}, Topic: &bb}}
	body := req.AppendTo(nil)
	// topics count (1 byte), topic ID (16), name (1+1), then the topic's tag count
	at := 1 + 16 + 2
	if body[at] != 0 {
		t.Fatalf("byte %d is %#x, want the first topic's empty tag count; body %x", at, body[at], body)
	}
	if err := Check(3, 12, body); err != nil {
		t.Fatalf("unplanted body: %v", err)
	}
	planted := append(append(append([]byte(nil), body[:at]...), hugeCount...), body[at+1:]...)
	wantMalformed(t, Check(3, 12, planted), "Metadata v12 at byte 19", "Topics[0]", "tagged-field count 4294967295")
}

// A huge count inside the value of a tagged field kmsg decodes: Fetch's
// ReplicaState (tag 1), whose own tag section kmsg reads in the same loop.
func TestPlantedCountInsideKnownTag(t *testing.T) {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(15)
	body := req.AppendTo(nil)
	if body[len(body)-1] != 0 {
		t.Fatalf("want the top-level empty tag count last; body %x", body)
	}
	value := append(make([]byte, 4+8), hugeCount...) // ID, Epoch, tag count
	planted := append(append(body[:len(body)-1:len(body)-1], 1, 1, byte(len(value))), value...)
	wantMalformed(t, Check(1, 15, planted), "tag 1 (ReplicaState)", "tagged-field count 4294967295")

	// The same value with an honest count of 0 is accepted, and kmsg reads it.
	value[12] = 0
	honest := append(append(body[:len(body)-1:len(body)-1], 1, 1, 13), value[:13]...)
	if err := Check(1, 15, honest); err != nil {
		t.Fatal(err)
	}
	if _, err := decodeFresh(1, 15, honest); err != nil {
		t.Fatalf("kmsg: %v", err)
	}
	// A known tag's value must be exactly its size.
	long := append(append(body[:len(body)-1:len(body)-1], 1, 1, 14), append(value[:13], 0)...)
	wantMalformed(t, Check(1, 15, long), "tag 1 (ReplicaState)", "1 bytes left over")
	short := append(append(body[:len(body)-1:len(body)-1], 1, 1, 12), value[:12]...)
	wantMalformed(t, Check(1, 15, short), "tag 1 (ReplicaState)")
}

// The bound is exact: count tags of 2 bytes each fill 2*count bytes and are
// accepted (and kmsg reads them all); a count one larger is refused.
func TestTagCountBoundary(t *testing.T) {
	const count = 300
	tags := make([]byte, 0, 2*count)
	for i := 0; i < count; i++ {
		tags = append(tags, byte(2+i%100), 0) // tag, size 0
	}
	fits := append([]byte{1, 1, 0xac, 0x02}, tags...) // 300 = 0xac 0x02
	if err := Check(18, 3, fits); err != nil {
		t.Fatalf("%d two-byte tags: %v", count, err)
	}
	if _, err := decodeFresh(18, 3, fits); err != nil {
		t.Fatalf("kmsg: %v", err)
	}
	over := append([]byte{1, 1, 0xad, 0x02}, tags...)
	wantMalformed(t, Check(18, 3, over), "tagged-field count 301 cannot fit in the 600 bytes")
}

func TestRejections(t *testing.T) {
	cases := []struct {
		name         string
		key, version int16
		body         []byte
		says         string
		kmsgAccepts  bool // kmsg decodes it although Check refuses
	}{
		{"empty", 18, 3, nil, "truncated varint", false},
		{"tag size past the end", 18, 3, []byte{1, 1, 1, 5, 3, 'x'}, "tag 5: size 3 exceeds the 1 bytes", false},
		{"varint over 32 bits", 18, 3, []byte{1, 1, 0x80, 0x80, 0x80, 0x80, 0x10}, "varint longer than 32 bits", false},
		{"null non-nullable string", 18, 3, []byte{0, 1, 0}, "ClientSoftwareName: null, but the string is not nullable in v3", false},
		{"string past the end", 18, 3, []byte{9, 'a', 'b'}, "string: needs 8 bytes, 2 remain", false},
		{"array count past the end", 15, 5, []byte{0x80, 0x01, 0, 0}, "Groups: 127 elements cannot fit in the 2 bytes", false},
		{"int32 array past the end", 56, 0, []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 2, 2, 't', 2, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1}, "Topics[0].Partitions[0].NewISR: elements: needs 8 bytes", false},
		{"trailing byte", 12, 4, []byte{2, 'g', 0, 0, 0, 1, 2, 'm', 0, 0, 7}, "1 trailing bytes", true},
		{"known tag value too long", 1, 12, append(emptyFetch(t, 12), 1, 0, 3, 2, 'c', 'x'), "tag 0 (ClusterID): 1 bytes left over", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantMalformed(t, Check(c.key, c.version, c.body), c.says)
			if _, err := decodeFresh(c.key, c.version, c.body); (err == nil) != c.kmsgAccepts {
				t.Fatalf("kmsg decode: %v, expected it to accept=%v", err, c.kmsgAccepts)
			}
		})
	}
}

// emptyFetch is a Fetch body with no topics, up to its top-level tag
// count (left off).
func emptyFetch(t *testing.T, version int16) []byte {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(version)
	b := req.AppendTo(nil)
	if b[len(b)-1] != 0 {
		t.Fatalf("fetch body %x does not end in an empty tag section", b)
	}
	return b[: len(b)-1 : len(b)-1]
}

func TestCheckHeaderTags(t *testing.T) {
	for _, c := range []struct {
		b []byte
		n int
	}{
		{[]byte{0}, 1},
		{[]byte{0, 9, 9}, 1},                                          // the body follows
		{[]byte{1, 3, 2, 'a', 'b', 7}, 5},                             // one tag
		{[]byte{2, 0, 0, 0x80, 0x01, 1, 'z'}, 7},                      // two; a two-byte tag number
		{append([]byte{1, 1, 0x80, 0x01}, make([]byte, 128)...), 132}, // a two-byte size
	} {
		n, err := CheckHeaderTags(c.b)
		if err != nil || n != c.n {
			t.Errorf("CheckHeaderTags(%x) = %d, %v; want %d", c.b, n, err, c.n)
		}
	}
	for _, c := range []struct {
		b    []byte
		says string
	}{
		{nil, "truncated varint"},
		{hugeCount, "tagged-field count 4294967295 cannot fit in the 0 bytes"},
		{append(append([]byte{}, hugeCount...), 0, 0, 0, 0), "cannot fit in the 4 bytes"},
		{[]byte{1, 3, 5, 'a'}, "size 5 exceeds the 1 bytes"},
		{[]byte{2, 0, 0}, "cannot fit"},
		{[]byte{2, 0, 0x80, 0x80, 0x80}, "tag 0: tagged-field size: truncated varint"},
	} {
		_, err := CheckHeaderTags(c.b)
		wantMalformed(t, err, "request header tagged fields", c.says)
	}
}
