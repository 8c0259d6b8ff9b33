package kguard

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// decodeDeadline bounds one kmsg decode of a fuzz input. Inputs are at most
// a few KiB and decode in microseconds; the loop this package exists for
// takes seconds to a minute, so a generous bound cannot flake and still
// catches it.
const decodeDeadline = 2 * time.Second

// FuzzCheck: Check never panics; it fails only with ErrMalformed (the key
// and version are folded into the covered range); and whatever it accepts,
// kmsg decodes with a fresh request of that key and version, without error
// in flexible versions (an error there is a layout bug in the tables) and
// quickly in every version. Seeds are kmsg's encodings of random requests.
func FuzzCheck(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, key := range coveredKeys() {
		r := layoutFor(key)
		for v := int16(0); v <= r.maxVersion; v++ {
			for i := 0; i < 2; i++ {
				_, body := randomRequest(rng, key, v)
				f.Add(key, v, body)
			}
		}
	}
	f.Add(int16(18), int16(3), []byte{1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, key, version int16, body []byte) {
		keys := coveredKeys()
		key = keys[int(uint16(key))%len(keys)]
		r := layoutFor(key)
		version = int16(int(uint16(version)) % (int(r.maxVersion) + 1))
		err := Check(key, version, body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s v%d: error %v does not wrap ErrMalformed", r.name, version, err)
			}
			return
		}
		done := make(chan error, 1)
		go func() {
			_, err := decodeFresh(key, version, body)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil && version >= r.flexibleFrom {
				t.Fatalf("%s v%d: Check accepted %x but kmsg fails: %v", r.name, version, body, err)
			}
		case <-time.After(decodeDeadline):
			t.Fatalf("%s v%d: Check accepted %x but kmsg did not finish decoding it in %v", r.name, version, body, decodeDeadline)
		}
	})
}
