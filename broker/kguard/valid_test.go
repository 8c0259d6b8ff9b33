package kguard

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The tables agree with kmsg on which versions exist and which are
// flexible.
func TestCoverageMatchesKmsg(t *testing.T) {
	want := []int16{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 32, 33, 37, 42, 44, 56, 60}
	if got := coveredKeys(); !reflect.DeepEqual(got, want) {
		t.Fatalf("covered keys %v, want %v", got, want)
	}
	for _, key := range want {
		r := layoutFor(key)
		req := kmsg.RequestForKey(key)
		if r.maxVersion != req.MaxVersion() {
			t.Errorf("%s: table max version %d, kmsg %d", r.name, r.maxVersion, req.MaxVersion())
		}
		for v := int16(0); v <= req.MaxVersion(); v++ {
			req.SetVersion(v)
			if got := v >= r.flexibleFrom; got != req.IsFlexible() {
				t.Errorf("%s v%d: table says flexible=%v, kmsg %v", r.name, v, got, req.IsFlexible())
			}
		}
		if name := strings.TrimSuffix(reflect.TypeOf(req).Elem().Name(), "Request"); name != r.name {
			t.Errorf("key %d: table name %s, kmsg %s", key, r.name, name)
		}
	}
}

func TestUnknown(t *testing.T) {
	for _, c := range []struct{ key, version int16 }{{17, 1}, {-1, 0}, {61, 0}, {1000, 0}, {18, 6}, {3, -1}} {
		if err := Check(c.key, c.version, []byte{0}); !errors.Is(err, ErrUnknown) {
			t.Errorf("Check(%d, %d) = %v, want ErrUnknown", c.key, c.version, err)
		}
	}
}

// Differential validity: every random request kmsg encodes is accepted;
// with one more byte it is rejected as trailing; every strict prefix is
// rejected; and the walk steps over exactly the unknown tags kmsg's own
// decoder finds, so it found each struct's tag section where kmsg put it.
func TestKmsgEncodingsAccepted(t *testing.T) {
	perVersion := 150
	if testing.Short() {
		perVersion = 30
	}
	for _, key := range coveredKeys() {
		r := layoutFor(key)
		for v := int16(0); v <= r.maxVersion; v++ {
			t.Run(fmt.Sprintf("%s/v%d", r.name, v), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(key), uint64(v)))
				for i := 0; i < perVersion; i++ {
					_, body := randomRequest(rng, key, v)
					checkValidBody(t, r, v, body)
				}
			})
		}
	}
}

func checkValidBody(t *testing.T, r *request, v int16, body []byte) {
	t.Helper()
	if err := Check(r.key, v, body); err != nil {
		t.Fatalf("valid body rejected: %v\nbody %x", err, body)
	}
	if v < r.flexibleFrom {
		return // not walked: nothing more to learn
	}
	decoded, err := decodeFresh(r.key, v, body)
	if err != nil {
		t.Fatalf("kmsg cannot decode its own encoding: %v", err)
	}
	if got, want := checkUnknownTags(t, r, v, body), kmsgUnknownTags(decoded); !reflect.DeepEqual(got, want) {
		t.Fatalf("unknown tags: the walk saw %v, kmsg decoded %v\nbody %x", got, want, body)
	}
	err = Check(r.key, v, append(body[:len(body):len(body)], 0))
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "1 trailing bytes") {
		t.Fatalf("body with a trailing byte: %v, want ErrMalformed for 1 trailing byte", err)
	}
	for n := 0; n < len(body); n++ {
		if err := Check(r.key, v, body[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("body truncated to %d of %d bytes: %v, want ErrMalformed\nbody %x", n, len(body), err, body)
		}
	}
}

// Check allocates nothing on a body it accepts.
func TestNoAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, key := range coveredKeys() {
		r := layoutFor(key)
		_, body := randomRequest(rng, key, r.maxVersion)
		if allocs := testing.AllocsPerRun(20, func() {
			if err := Check(key, r.maxVersion, body); err != nil {
				t.Fatal(err)
			}
		}); allocs != 0 {
			t.Errorf("%s v%d: %v allocations per Check", r.name, r.maxVersion, allocs)
		}
	}
}

// Nullability agrees with kmsg: each string of a valid body, replaced by
// null, is accepted by Check exactly when kmsg decodes the result. (kmsg
// never writes a null where it does not allow one, so the encodings alone
// cannot show a string the tables call non-nullable by mistake.)
func TestNullStringsAgreeWithKmsg(t *testing.T) {
	perVersion := 100
	if testing.Short() {
		perVersion = 20
	}
	probes := 0
	for _, key := range coveredKeys() {
		r := layoutFor(key)
		for v := r.flexibleFrom; v <= r.maxVersion; v++ {
			rng := rand.New(rand.NewPCG(uint64(key), 1000+uint64(v)))
			for i := 0; i < perVersion; i++ {
				_, body := randomRequest(rng, key, v)
				type span struct{ at, end int }
				var strs []span
				w := walker{b: body, end: len(body), version: v}
				w.onString = func(at, end int) { strs = append(strs, span{at, end}) }
				if err := w.check(r); err != nil {
					t.Fatal(err)
				}
				for _, s := range strs {
					probe := append(append(append([]byte(nil), body[:s.at]...), 0), body[s.end:]...)
					checkErr := Check(key, v, probe)
					_, kmsgErr := decodeFresh(key, v, probe)
					if (checkErr == nil) != (kmsgErr == nil) {
						t.Fatalf("%s v%d, string at byte %d made null: Check says %v, kmsg says %v", r.name, v, s.at, checkErr, kmsgErr)
					}
					probes++
				}
			}
		}
	}
	t.Logf("%d null probes", probes)
}
