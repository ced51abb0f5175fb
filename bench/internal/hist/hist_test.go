package hist

import (
	"math"
	"math/rand"
	"sort"
	"testing"
	"time"
)

func TestIndexBoundsRoundTrip(t *testing.T) {
	vals := []int64{0, 1, 2, subCount - 1, subCount, subCount + 1, 1000, 1023, 1024, 1025,
		123456789, 1 << 40, math.MaxInt64 - 1, math.MaxInt64}
	for e := 0; e < 63; e++ {
		vals = append(vals, int64(1)<<e, int64(1)<<e-1, int64(1)<<e+1)
	}
	prevHi := int64(-1)
	for i := 0; i < numBuckets; i++ {
		lo, hi := bounds(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevHi)
		}
		if hi < lo {
			t.Fatalf("bucket %d: hi %d < lo %d", i, hi, lo)
		}
		if index(lo) != i || index(hi) != i {
			t.Fatalf("bucket %d [%d, %d]: index(lo)=%d index(hi)=%d", i, lo, hi, index(lo), index(hi))
		}
		prevHi = hi
		if hi == math.MaxInt64 {
			if i != numBuckets-1 {
				t.Fatalf("bucket %d reaches MaxInt64 before the last one", i)
			}
		}
	}
	if prevHi != math.MaxInt64 {
		t.Fatalf("buckets end at %d", prevHi)
	}
	for _, v := range vals {
		if v < 0 {
			continue
		}
		lo, hi := bounds(index(v))
		if v < lo || v > hi {
			t.Errorf("value %d in bucket [%d, %d]", v, lo, hi)
		}
		if v >= subCount && float64(hi-lo+1) > float64(lo)/half+1e-9 {
			t.Errorf("value %d: bucket width %d over 1/%d of %d", v, hi-lo+1, half, lo)
		}
	}
}

func exactQuantile(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func TestQuantilesWithinRelativeError(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, dist := range []string{"uniform", "lognormal", "bimodal"} {
		var h Histogram
		vals := make([]int64, 200000)
		for i := range vals {
			var v float64
			switch dist {
			case "uniform":
				v = r.Float64() * 5e6
			case "lognormal":
				v = math.Exp(r.NormFloat64()*1.5 + 13) // around 0.4 ms, long tail
			case "bimodal":
				v = 2e5 + r.Float64()*1e5
				if r.Intn(1000) == 0 {
					v = 5e7 + r.Float64()*5e7
				}
			}
			vals[i] = int64(v)
			h.Record(vals[i])
		}
		sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
		for _, q := range []float64{0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1} {
			got, want := h.Quantile(q), exactQuantile(vals, q)
			if q == 0 {
				want = vals[0]
			}
			if got < want || float64(got-want) > float64(want)/half+1 {
				t.Errorf("%s q=%v: got %d, exact %d", dist, q, got, want)
			}
		}
		if h.Count() != uint64(len(vals)) || h.Min() != vals[0] || h.Max() != vals[len(vals)-1] {
			t.Errorf("%s: count/min/max %d %d %d", dist, h.Count(), h.Min(), h.Max())
		}
	}
}

func TestMergeEqualsRecordingAll(t *testing.T) {
	var a, b, all Histogram
	r := rand.New(rand.NewSource(2))
	for i := 0; i < 10000; i++ {
		v := r.Int63n(1e9)
		all.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(&Histogram{}) // empty: no effect on min
	if m.Count() != all.Count() || m.Min() != all.Min() || m.Max() != all.Max() {
		t.Fatalf("merged %v, all %v", m.String(), all.String())
	}
	for _, q := range []float64{0.5, 0.99, 0.999} {
		if m.Quantile(q) != all.Quantile(q) {
			t.Errorf("q=%v: merged %d, all %d", q, m.Quantile(q), all.Quantile(q))
		}
	}
	if math.Abs(m.Mean()-all.Mean()) > 1e-6*all.Mean() {
		t.Errorf("mean %v vs %v", m.Mean(), all.Mean())
	}
}

func TestEdgeCases(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 || h.Count() != 0 {
		t.Fatal("empty histogram not zero")
	}
	h.Record(-5)
	if h.Min() != 0 || h.Max() != 0 {
		t.Fatalf("negative value: min %d max %d", h.Min(), h.Max())
	}
	h.Reset()
	h.RecordDuration(3 * time.Millisecond)
	for _, q := range []float64{0, 0.5, 0.999, 1} {
		if got := h.QuantileDuration(q); got != 3*time.Millisecond {
			t.Errorf("single value q=%v: %v", q, got)
		}
	}
	h.Record(math.MaxInt64)
	if h.Quantile(1) != math.MaxInt64 || h.Quantile(0.99) != math.MaxInt64 {
		t.Errorf("MaxInt64: %d", h.Quantile(1))
	}
	if p50 := h.Quantile(0.5); p50 < int64(3*time.Millisecond) || p50 > int64(3*time.Millisecond)*(half+1)/half {
		t.Errorf("p50 of {3ms, max}: %d", h.Quantile(0.5))
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	h := new(Histogram)
	if n := testing.AllocsPerRun(1000, func() { h.Record(123456) }); n != 0 {
		t.Fatalf("%v allocs per Record", n)
	}
}

func BenchmarkRecord(b *testing.B) {
	h := new(Histogram)
	for i := 0; i < b.N; i++ {
		h.Record(int64(i) * 7919)
	}
}
