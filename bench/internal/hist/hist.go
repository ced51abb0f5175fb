// Package hist is a log-linear latency histogram in the style of
// HdrHistogram: every value is counted, none is sampled, and any quantile
// is reported to within a fixed relative error (1/256 of the value with the
// default 9 significant bits). Recording is a few instructions and never
// allocates; histograms of different goroutines are merged afterwards.
package hist

import (
	"fmt"
	"math"
	"math/bits"
	"time"
)

// subBits is the number of significant bits kept. Values below 1<<subBits
// are exact; above, a bucket spans 1/(1<<(subBits-1)) of its lower bound.
const (
	subBits  = 9
	subCount = 1 << subBits
	half     = subCount / 2
	// maxShift covers every non-negative int64 (63 bits).
	maxShift   = 63 - subBits
	numBuckets = subCount + maxShift*half
)

// Histogram counts non-negative int64 values (nanoseconds, usually). The
// zero value is ready to use. It is not safe for concurrent use.
type Histogram struct {
	counts   [numBuckets]uint64
	n        uint64
	min, max int64
	sum      float64
}

// index returns the bucket of v (v >= 0).
func index(v int64) int {
	u := uint64(v)
	if u < subCount {
		return int(u)
	}
	shift := bits.Len64(u) - subBits // >= 1
	top := u >> uint(shift)          // in [half, subCount)
	return subCount + (shift-1)*half + int(top-half)
}

// bounds returns the smallest and largest value that fall into bucket i.
func bounds(i int) (lo, hi int64) {
	if i < subCount {
		return int64(i), int64(i)
	}
	shift := (i-subCount)/half + 1
	top := uint64((i-subCount)%half + half)
	l := top << uint(shift)
	h := l + (1 << uint(shift)) - 1
	if h > math.MaxInt64 || h < l {
		h = math.MaxInt64
	}
	return int64(l), int64(h)
}

// Record counts v; negative values count as 0.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[index(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// RecordDuration counts d in nanoseconds.
func (h *Histogram) RecordDuration(d time.Duration) { h.Record(int64(d)) }

// Merge adds every count of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Reset empties h.
func (h *Histogram) Reset() { *h = Histogram{} }

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Min and Max are exact.
func (h *Histogram) Min() int64 { return h.min }
func (h *Histogram) Max() int64 { return h.max }

// Mean is exact up to float64 rounding.
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the value at quantile q in [0, 1]: the highest value
// equivalent to the rank-th smallest recorded value, rank = ceil(q*n)
// (at least 1), clamped to the exact min and max. Its error is at most one
// bucket width: below 1<<subBits exact, above within 1/256 of the value.
// An empty histogram gives 0.
func (h *Histogram) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	if q <= 0 {
		return h.min
	}
	if q >= 1 {
		return h.max
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bounds(i)
			if hi > h.max {
				hi = h.max
			}
			if hi < h.min {
				hi = h.min
			}
			return hi
		}
	}
	return h.max
}

// QuantileDuration is Quantile as a time.Duration.
func (h *Histogram) QuantileDuration(q float64) time.Duration {
	return time.Duration(h.Quantile(q))
}

// String summarises h for logs.
func (h *Histogram) String() string {
	return fmt.Sprintf("n=%d p50=%v p99=%v p99.9=%v max=%v", h.n,
		h.QuantileDuration(0.5), h.QuantileDuration(0.99), h.QuantileDuration(0.999), time.Duration(h.max))
}
