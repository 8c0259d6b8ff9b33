package broker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// frameSeeds are well-formed requests of several keys and versions, flexible
// and not, plus a few broken ones.
func frameSeeds() [][]byte {
	var out [][]byte
	add := func(req kmsg.Request, version int16) {
		req.SetVersion(version)
		out = append(out, appendRequest(nil, 7, "seed", req)[4:])
	}
	add(kmsg.NewPtrApiVersionsRequest(), 0)
	av := kmsg.NewPtrApiVersionsRequest()
	av.ClientSoftwareName, av.ClientSoftwareVersion = "franz-go", "1.0"
	add(av, 3)
	md := kmsg.NewPtrMetadataRequest()
	md.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("t")}}
	add(md, 1)
	add(md, 12)
	pr := kmsg.NewPtrProduceRequest()
	pr.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: []byte{1, 2, 3}}}}}
	add(pr, 3)
	add(pr, 9)
	fr := kmsg.NewPtrFetchRequest()
	fr.Topics = []kmsg.FetchRequestTopic{{Topic: "t", Partitions: []kmsg.FetchRequestTopicPartition{{FetchOffset: 5}}}}
	add(fr, 4)
	add(fr, 13)
	add(kmsg.NewPtrControlledShutdownRequest(), 0) // header v0
	out = append(out, []byte{}, []byte{0, 18}, []byte{0, 3, 0, 1, 0, 0, 0, 1, 0x7f, 0xff})
	return out
}

// FuzzParseRequest feeds arbitrary frames to the request decoder. It must
// never panic, must reject what it cannot decode with one of its errors,
// and a request it accepts must re-encode to a frame that decodes to the
// same key, version and correlation id.
func FuzzParseRequest(f *testing.F) {
	for _, s := range frameSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		h, req, err := parseRequest(frame)
		if err != nil {
			if req != nil {
				t.Fatalf("error %v with a request", err)
			}
			known := []error{errTruncatedHeader, errUnknownAPIKey, errMalformedRequest, errUnsupportedVersion}
			for _, k := range known {
				if errors.Is(err, k) {
					return
				}
			}
			t.Fatalf("unexpected error kind: %v", err)
		}
		if h.Key == int16(kmsg.ApiVersions) && h.Version > req.MaxVersion() {
			return // answered from the header alone
		}
		again := appendRequest(nil, h.CorrelationID, h.ClientID, req)[4:]
		h2, _, err := parseRequest(again)
		if err != nil {
			t.Fatalf("re-encoded %s v%d does not decode: %v", kmsg.NameForKey(h.Key), h.Version, err)
		}
		if h2.Key != h.Key || h2.Version != h.Version || h2.CorrelationID != h.CorrelationID {
			t.Fatalf("header changed: %+v -> %+v", h, h2)
		}
	})
}

// FuzzReadFrame: whatever the bytes, readFrame never allocates past the
// limit and never returns more than the frame.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 1, 2, 3})
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0})
	f.Add([]byte{0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 10
		frame, err := readFrame(bytes.NewReader(data), nil, limit)
		if err != nil {
			if frame != nil {
				t.Fatal("frame with an error")
			}
			ok := errors.Is(err, errFrameTooLarge) || errors.Is(err, errFrameNegative) ||
				errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
			if !ok {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(data) < 4 || int(binary.BigEndian.Uint32(data)) != len(frame) || len(frame) > limit {
			t.Fatalf("frame of %d bytes from %d input bytes", len(frame), len(data))
		}
		if !bytes.Equal(frame, data[4:4+len(frame)]) {
			t.Fatal("frame bytes differ from the input")
		}
	})
}
