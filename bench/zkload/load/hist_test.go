package load

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsAreContiguous(t *testing.T) {
	var next uint64
	for i := range numBuckets {
		lo, hi := bucketRange(i)
		if lo != next || hi < lo {
			t.Fatalf("bucket %d = [%d, %d], want it to start at %d", i, lo, hi, next)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d = [%d, %d] but bucketOf gives %d, %d", i, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		next = hi + 1
	}
	if next != 1<<maxBits {
		t.Errorf("buckets end at %d, want 2^%d", next, maxBits)
	}
}

// TestQuantilesMatchSort checks the histogram against exact quantiles of sorted samples drawn
// from a log-normal distribution, the usual shape of request latencies.
func TestQuantilesMatchSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 200_000
	var h Histogram
	vals := make([]time.Duration, n)
	for i := range vals {
		vals[i] = time.Duration(math.Exp(r.NormFloat64()*1.5 + math.Log(300_000))) // median 0.3 ms
		h.Record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		rank := max(int(math.Ceil(q*n)), 1)
		want := vals[rank-1]
		got := h.Quantile(q)
		if rel := math.Abs(float64(got-want)) / float64(want); rel > 0.004 {
			t.Errorf("q%v = %v, exact %v (off by %.2f%%)", q, got, want, rel*100)
		}
	}
	if h.Max() != vals[n-1] {
		t.Errorf("max = %v, want %v", h.Max(), vals[n-1])
	}
	var sum time.Duration
	for _, v := range vals {
		sum += v
	}
	if h.Mean() != sum/n {
		t.Errorf("mean = %v, want %v", h.Mean(), sum/n)
	}
}

func TestMerge(t *testing.T) {
	var a, b, all Histogram
	for i := range 1000 {
		d := time.Duration(i) * time.Microsecond
		all.Record(d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	if m != all {
		t.Errorf("merged histogram differs from one that saw every value")
	}
}

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"read", "read=100"},
		{"mixed", "read=90,write=10"},
		{"read=90,write=10", "read=90,write=10"},
		{"create=1, read=3", "read=3,create=1"},
	} {
		m, err := ParseMix(tc.in)
		if err != nil || m.String() != tc.want {
			t.Errorf("ParseMix(%q) = %v, %v; want %s", tc.in, m, err, tc.want)
		}
	}
	for _, bad := range []string{"", "reads", "read=x", "read=-1", "read=0", "delete=5"} {
		if _, err := ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q) accepted", bad)
		}
	}
}

func TestPick(t *testing.T) {
	m := Mix{OpRead: 3, OpCreate: 1}
	got := []Op{m.pick(0), m.pick(2), m.pick(3)}
	if want := []Op{OpRead, OpRead, OpCreate}; !slices.Equal(got, want) {
		t.Errorf("pick = %v, want %v", got, want)
	}
}
