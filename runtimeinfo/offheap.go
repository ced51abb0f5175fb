package runtimeinfo

import (
	"math"
	"runtime/metrics"
	"time"

	"github.com/rightsize/rightsize/cgroup"
)

// Memory the Go runtime does not manage. GOMEMLIMIT bounds only what the
// runtime holds; the cgroup limit also counts cgo allocations, anonymous
// mappings (syscall.Mmap), child processes in the same cgroup and kernel
// memory. With a static GOMEMLIMIT of 0.9 × the limit, a service whose
// other memory takes more than a tenth of the limit is OOM-killed while
// the runtime believes it has room.
//
// Each watcher tick estimates that memory as what the cgroup is charged
// for that cannot be reclaimed — anonymous memory, shared memory (tmpfs,
// /dev/shm, MAP_SHARED|MAP_ANONYMOUS, memfd: page cache in memory.stat's
// terms, but without swap as unreclaimable as anonymous memory), kernel
// memory and network buffers (memory.stat anon + shmem + kernel + sock on
// v2; total_rss + total_shmem on v1, which has no kernel figure) — minus
// what the runtime holds (runtime/metrics /memory/classes/total:bytes −
// /memory/classes/heap/released:bytes), and
// GOMEMLIMIT becomes the static value minus that estimate, never below
// MinGOMEMLIMIT and never above the static value. The rest of the page
// cache is left out: the kernel reclaims it before it OOM-kills. An
// estimate smaller than one step of GOMEMLIMIT (offHeapStep: 1% of it, at
// least 1 MiB) is taken as none, so that the few hundred KiB of kernel
// memory every cgroup has do not move GOMEMLIMIT off its static value.

// goMemory reads what the watcher needs from the Go runtime, with samples
// allocated once: a read allocates nothing. Every metric exists since Go
// 1.21.
type goMemory struct {
	samples [4]metrics.Sample
}

const (
	gmTotal    = iota // /memory/classes/total:bytes: all the runtime has mapped
	gmReleased        // /memory/classes/heap/released:bytes: returned to the system
	gmLive            // /gc/heap/live:bytes: what the last GC marked live
	gmLimit           // /gc/gomemlimit:bytes: GOMEMLIMIT in force
)

func newGoMemory() *goMemory {
	g := &goMemory{}
	g.samples[gmTotal].Name = "/memory/classes/total:bytes"
	g.samples[gmReleased].Name = "/memory/classes/heap/released:bytes"
	g.samples[gmLive].Name = "/gc/heap/live:bytes"
	g.samples[gmLimit].Name = "/gc/gomemlimit:bytes"
	return g
}

// read takes the samples; call it once per tick, before held and heap.
func (g *goMemory) read() { metrics.Read(g.samples[:]) }

func (g *goMemory) value(i int) (uint64, bool) {
	if g.samples[i].Value.Kind() != metrics.KindUint64 {
		return 0, false
	}
	return g.samples[i].Value.Uint64(), true
}

// held returns the bytes the runtime has mapped and not returned to the
// system.
func (g *goMemory) held() int64 {
	total, ok1 := g.value(gmTotal)
	released, ok2 := g.value(gmReleased)
	if !ok1 || !ok2 || released > total || total > math.MaxInt64 {
		return 0
	}
	return int64(total - released)
}

// heap returns the live heap and the GOMEMLIMIT in force; ok is false when
// either is unknown or no GOMEMLIMIT is set (math.MaxInt64).
func (g *goMemory) heap() (live, limit int64, ok bool) {
	l, ok1 := g.value(gmLive)
	m, ok2 := g.value(gmLimit)
	if !ok1 || !ok2 || m == 0 || m >= math.MaxInt64 || l > math.MaxInt64 {
		return 0, 0, false
	}
	return int64(l), int64(m), true
}

// chargedUnreclaimable is the cgroup memory the kernel cannot reclaim short
// of swapping or killing: anonymous, shared, kernel and socket memory. ok
// is false when memory.stat was not read. Each part is at most Usage (the
// reader clamps them), and the sum is kept at most Usage as it is made: four
// parts near MaxInt64 from a hostile memory.stat must not wrap negative.
func chargedUnreclaimable(m *cgroup.MemoryStats) (int64, bool) {
	if !m.HasUsage || !m.HasWorkingSet {
		return 0, false
	}
	v := int64(0)
	add := func(x int64) { v = min(v+min(x, m.Usage-v), m.Usage) }
	add(m.Anon)
	add(m.Shmem)
	add(m.Sock)
	if m.HasKernel {
		add(m.Kernel)
	}
	return v, true
}

// Smoothing of the estimate. A rise is taken quickly (memory that grows is
// what gets a pod killed), a fall slowly (so a spike that passes does not
// leave GOMEMLIMIT swinging up and down): an exponentially weighted average
// with weight offHeapRise for a measurement above the estimate and
// offHeapFall for one below, per tick.
const (
	offHeapRise = 0.5
	offHeapFall = 0.1
)

// offHeap is the smoothed estimate, kept by the watcher.
type offHeap struct {
	est    float64
	primed bool
	at     time.Time
}

// update takes one measurement and returns the smoothed estimate.
func (o *offHeap) update(charged, held int64, now time.Time) int64 {
	x := float64(charged - held)
	if x < 0 {
		x = 0
	}
	switch {
	case !o.primed:
		o.est, o.primed = x, true
	case x > o.est:
		o.est += offHeapRise * (x - o.est)
	default:
		o.est += offHeapFall * (x - o.est)
	}
	o.at = now
	return int64(o.est)
}
