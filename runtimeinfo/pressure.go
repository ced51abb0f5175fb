package runtimeinfo

import (
	"sync"
	"sync/atomic"
	"time"
)

// Memory pressure signals: the watcher tells the program that it is close
// to its memory limit, so that it can shed load or drop caches before the
// OOM killer acts. Each signal is edge-triggered with hysteresis: it fires
// once when its condition begins (Active true) and once when it ends
// (Active false), never on every tick.

// PressureCause says which condition a MemoryPressure signal is about.
type PressureCause string

const (
	// PressureWorkingSet: the working set (what the kubelet evicts on)
	// crossed a share of the memory limit (default 0.9); it ends below
	// that share minus 0.05.
	PressureWorkingSet PressureCause = "working-set"
	// PressureHigh: memory.events "high" grew: the kernel throttled the
	// cgroup and reclaimed above memory.high (v2). It ends after
	// PressureQuietTicks ticks without growth.
	PressureHigh PressureCause = "high"
	// PressureMax: memory.events "max" grew (v1: memory.failcnt): usage
	// hit the hard limit and the kernel reclaimed to stay under it, the
	// step before the OOM killer. It ends after PressureQuietTicks ticks
	// without growth.
	PressureMax PressureCause = "max"
	// PressurePSI: the share of time some tasks of the cgroup stalled on
	// memory, averaged over 10 s (memory.pressure "some avg10", v2 only;
	// host-wide pressure is not used), reached a threshold (default 10%);
	// it ends below half the threshold.
	PressurePSI PressureCause = "psi"
	// PressureHeap: the live heap (what the last garbage collection
	// marked, runtime/metrics /gc/heap/live:bytes) reached a share of the
	// GOMEMLIMIT in force (DefaultPressureHeap, 0.9); it ends below that
	// share minus 0.05. Only while a GOMEMLIMIT is set. For a Go service
	// this is the early warning: while the runtime keeps its heap under
	// GOMEMLIMIT the working set stays below the working-set threshold,
	// and once the live heap nears GOMEMLIMIT memory reaches the limit
	// within a fraction of a second. Measured (bench/results/mempressure*,
	// 256 MiB limit, GOMEMLIMIT 0.9 of it): in every run the OOM killer
	// ended, the live heap had crossed 0.9 of GOMEMLIMIT 1.0–5.6 s before;
	// in no healthy run did it pass 0.88.
	PressureHeap PressureCause = "heap"
)

// PressureCauses returns every cause, in a fixed order (for exporters
// that show a value per cause).
func PressureCauses() []PressureCause {
	return []PressureCause{PressureHeap, PressureWorkingSet, PressureHigh, PressureMax, PressurePSI}
}

// Defaults of the pressure signals.
const (
	DefaultPressureWorkingSet = 0.9
	DefaultPressurePSI        = 10.0
	// DefaultPressureHeap is the share of GOMEMLIMIT the live heap must
	// reach to begin a PressureHeap signal.
	DefaultPressureHeap = 0.9
	// PressureQuietTicks is how many watcher ticks without a new event
	// end a PressureHigh or PressureMax signal.
	PressureQuietTicks = 5
	// pressureHysteresis is how far below its threshold the working set
	// or the live heap must fall to end its signal.
	pressureHysteresis = 0.05
)

// MemoryPressure is one signal.
type MemoryPressure struct {
	Cause PressureCause
	// Active is true when the condition begins, false when it ends.
	Active bool
	// WorkingSet and Limit are the cgroup's working set and the
	// effective memory limit (the smaller of memory.max and memory.high)
	// when the signal fired; 0 where not known.
	WorkingSet, Limit int64
	// Events is the memory.events counter of the cause (high or max).
	Events uint64
	// PSISome10 is memory.pressure's "some avg10", in percent.
	PSISome10 float64
	// HeapLive and GOMEMLIMIT are the live heap and the GOMEMLIMIT in
	// force (PressureHeap); 0 where not known.
	HeapLive, GOMEMLIMIT int64
	At                   time.Time
}

// WithMemoryPressure calls fn with every memory pressure signal the
// watcher (Start's or Watch's) detects. fn runs on the watcher's goroutine
// and must not block; it may be called again only after it returns. Several
// handlers may be given; rightsize.OnMemoryPressure adds one to the blank
// import's watcher.
func WithMemoryPressure(fn func(MemoryPressure)) Option {
	return optionFunc(func(c *config) {
		if fn == nil {
			invalid(c, "WithMemoryPressure(nil)")
			return
		}
		c.pressure = append(c.pressure, fn)
	})
}

// WithPressureThresholds sets when the working-set and PSI signals begin:
// the working set as a share of the limit, in (0, 1] (default 0.9), and
// memory.pressure's "some avg10" in percent, in (0, 100] (default 10).
func WithPressureThresholds(workingSet, psi float64) Option {
	return optionFunc(func(c *config) {
		if !(workingSet > 0 && workingSet <= 1) || !(psi > 0 && psi <= 100) {
			invalid(c, "pressure thresholds %v, %v: want a share in (0, 1] and a percentage in (0, 100]", workingSet, psi)
			return
		}
		c.pressureWS, c.pressurePSI = workingSet, psi
	})
}

// signalsFired counts the signals that began, by cause, for the whole
// process (the exporters show them).
var signalsFired [5]atomic.Uint64

func causeIndex(c PressureCause) int {
	switch c {
	case PressureWorkingSet:
		return 0
	case PressureHigh:
		return 1
	case PressureMax:
		return 2
	case PressurePSI:
		return 3
	case PressureHeap:
		return 4
	}
	return -1
}

// PressureSignals returns how many memory pressure signals of a cause have
// begun in this process so far, from every watcher; 0 for an unknown cause.
func PressureSignals(cause PressureCause) uint64 {
	i := causeIndex(cause)
	if i < 0 {
		return 0
	}
	return signalsFired[i].Load()
}

// handlers is a set of pressure handlers that can grow while a watcher
// runs (rightsize.OnMemoryPressure); the watcher reads it without a lock
// or an allocation.
type handlers struct {
	mu   sync.Mutex
	list atomic.Pointer[[]*func(MemoryPressure)]
}

// newHandlers returns a set holding fns.
func newHandlers(fns []func(MemoryPressure)) *handlers {
	h := new(handlers)
	for _, fn := range fns {
		h.add(fn)
	}
	return h
}

func (h *handlers) add(fn func(MemoryPressure)) (remove func()) {
	p := &fn
	h.mu.Lock()
	defer h.mu.Unlock()
	var cur []*func(MemoryPressure)
	if l := h.list.Load(); l != nil {
		cur = *l
	}
	next := make([]*func(MemoryPressure), 0, len(cur)+1)
	next = append(append(next, cur...), p)
	h.list.Store(&next)
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		l := h.list.Load()
		if l == nil {
			return
		}
		var keep []*func(MemoryPressure)
		for _, q := range *l {
			if q != p {
				keep = append(keep, q)
			}
		}
		h.list.Store(&keep)
	}
}

func (h *handlers) any() bool {
	l := h.list.Load()
	return l != nil && len(*l) > 0
}

func (h *handlers) fire(p MemoryPressure) {
	if i := causeIndex(p.Cause); p.Active && i >= 0 {
		signalsFired[i].Add(1)
	}
	if l := h.list.Load(); l != nil {
		for _, fn := range *l {
			(*fn)(p)
		}
	}
}

// pressureState is the detector: what was seen at the last tick, and which
// conditions are on.
type pressureState struct {
	primed              bool
	wsOn, psiOn, heapOn bool
	highOn, maxOn       bool
	high, max           uint64
	highQuiet, maxQuiet int
}

// pressureInput is what one tick observed.
type pressureInput struct {
	hasWS        bool
	workingSet   int64
	limit        int64
	hasEvents    bool
	high, max    uint64
	hasPSI       bool
	psi          float64
	hasHeap      bool
	heapLive     int64
	gomemlimit   int64
	wsThreshold  float64
	psiThreshold float64
	now          time.Time
}

// observe advances the detector by one tick and calls fire for each edge.
// It allocates nothing.
func (s *pressureState) observe(in *pressureInput, fire func(MemoryPressure)) {
	base := MemoryPressure{WorkingSet: in.workingSet, Limit: in.limit, PSISome10: in.psi,
		HeapLive: in.heapLive, GOMEMLIMIT: in.gomemlimit, At: in.now}
	edge := func(cause PressureCause, on *bool, now bool, events uint64) {
		if now == *on {
			return
		}
		*on = now
		p := base
		p.Cause, p.Active, p.Events = cause, now, events
		fire(p)
	}
	if in.hasHeap && in.gomemlimit > 0 {
		share := float64(in.heapLive) / float64(in.gomemlimit)
		on := s.heapOn
		switch {
		case share >= DefaultPressureHeap:
			on = true
		case share < DefaultPressureHeap-pressureHysteresis:
			on = false
		}
		edge(PressureHeap, &s.heapOn, on, 0)
	} else {
		// GOMEMLIMIT was taken away: the condition is over.
		edge(PressureHeap, &s.heapOn, false, 0)
	}
	if in.hasWS && in.limit > 0 {
		share := float64(in.workingSet) / float64(in.limit)
		on := s.wsOn
		switch {
		case share >= in.wsThreshold:
			on = true
		case share < in.wsThreshold-pressureHysteresis:
			on = false
		}
		edge(PressureWorkingSet, &s.wsOn, on, 0)
	}
	if in.hasPSI {
		on := s.psiOn
		switch {
		case in.psi >= in.psiThreshold:
			on = true
		case in.psi < in.psiThreshold/2:
			on = false
		}
		edge(PressurePSI, &s.psiOn, on, 0)
	}
	if in.hasEvents {
		if s.primed {
			var on bool
			s.highQuiet, on = counterEdge(in.high, s.high, s.highQuiet, s.highOn)
			edge(PressureHigh, &s.highOn, on, in.high)
			s.maxQuiet, on = counterEdge(in.max, s.max, s.maxQuiet, s.maxOn)
			edge(PressureMax, &s.maxOn, on, in.max)
		}
		s.high, s.max, s.primed = in.high, in.max, true
	}
}

// counterEdge turns a growing event counter into "on", and
// PressureQuietTicks ticks without growth into "off". It returns the new
// count of quiet ticks and whether the condition is on. It is pure (no
// callback) so that nothing of the detector's escapes: with a callback
// taking a pointer, Go 1.22's escape analysis moved the flag to the heap on
// every tick.
func counterEdge(now, before uint64, quiet int, on bool) (int, bool) {
	switch {
	case now > before:
		return 0, true
	case on:
		quiet++
		if quiet >= PressureQuietTicks {
			return quiet, false
		}
	}
	return quiet, on
}

// pressureInputOf fills in from a snapshot whose memory statistics were
// read.
func pressureInputOf(in *pressureInput, s *Snapshot, c *config, now time.Time) {
	m := &s.Stats.Memory
	*in = pressureInput{wsThreshold: c.pressureWS, psiThreshold: c.pressurePSI, now: now}
	limit := int64(0)
	if s.HasMemoryLimit {
		limit = s.MemoryLimit.Bytes
	}
	if s.HasMemoryHigh && (limit == 0 || s.MemoryHigh.Bytes < limit) {
		limit = s.MemoryHigh.Bytes
	}
	in.limit = limit
	if m.HasWorkingSet {
		in.hasWS, in.workingSet = true, m.WorkingSet
	}
	if m.HasEvents {
		in.hasEvents, in.high, in.max = true, m.Events.High, m.Events.Max
	}
	if p := &s.Stats.Pressure; p.HasMemory && !p.HostWide {
		in.hasPSI, in.psi = true, p.Memory.Some.Avg10
	}
}
