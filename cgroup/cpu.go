package cgroup

import (
	"math"
	"math/bits"
	"time"

	"github.com/rightsize/rightsize/internal/kernfmt"
	"github.com/rightsize/rightsize/procfs"
)

// CPULimit is the CFS bandwidth limit that binds the process: the smallest
// quota/period over its cgroup and every ancestor up to the mount point.
type CPULimit struct {
	// CPUs is Quota/Period, e.g. 1.5.
	CPUs float64
	// Quota and Period are the kernel's, at the binding level: the group
	// may run Quota of CPU time in every Period.
	Quota, Period time.Duration
	// Path is the file that sets the limit, inside the root: cpu.max (v2)
	// or cpu.cfs_quota_us (v1, with cpu.cfs_period_us beside it), in an
	// ancestor's directory when a parent is tighter than the process's own
	// cgroup.
	Path string
}

// CPULimit returns the effective CPU limit. ok is false when no level has a
// quota (v1 cpu.cfs_quota_us -1, v2 cpu.max "max", or no cpu controller).
// The Go runtime and automaxprocs read the leaf only; a pod-level limit on a
// parent is seen here.
func (g *Group) CPULimit() (lim CPULimit, ok bool, err error) {
	if err := g.lock(); err != nil {
		return CPULimit{}, false, err
	}
	defer g.mu.Unlock()
	if !g.have[CPU] {
		return CPULimit{}, false, nil
	}
	n := len(g.levels[CPU])
	if g.locs[CPU].Version == 1 {
		n = g.v1Levels(CPU)
	}
	return g.cpuLimit(n)
}

// LeafCPULimit returns the CPU limit of the process's own cgroup only,
// ignoring its ancestors: what the Go runtime (1.25+) and automaxprocs read.
// Compare with CPULimit to see a parent's limit they miss.
func (g *Group) LeafCPULimit() (CPULimit, bool, error) {
	if err := g.lock(); err != nil {
		return CPULimit{}, false, err
	}
	defer g.mu.Unlock()
	if !g.have[CPU] {
		return CPULimit{}, false, nil
	}
	n := 1
	if g.locs[CPU].Version == 1 {
		n = min(n, g.v1Levels(CPU)) // the v1 root holds no quota
	}
	return g.cpuLimit(n)
}

// cpuLimit returns the smallest limit over the first n levels. Quotas and
// periods are compared as quota×period' < quota'×period in 128 bits, so no
// value the kernel could hold overflows or loses precision.
func (g *Group) cpuLimit(n int) (lim CPULimit, ok bool, err error) {
	var bestQ, bestP int64
	for li := 0; li < n; li++ {
		var quota, period int64
		var limited bool
		id := fCFSQuota
		if g.locs[CPU].Version == 2 {
			// The root cgroup has no cpu.max; neither does a level
			// without the cpu controller enabled.
			id = fCPUMax
			data, present, err := g.read(CPU, li, fCPUMax)
			if err != nil {
				return CPULimit{}, false, err
			}
			if !present {
				continue
			}
			quota, period, limited, err = parseCPUMax(data)
			if err != nil {
				return CPULimit{}, false, g.malformedFile(CPU, li, fCPUMax, err)
			}
		} else {
			data, err := g.mustRead(CPU, li, fCFSQuota)
			if err != nil {
				return CPULimit{}, false, err
			}
			quota, err = parseSingleInt(data)
			if err != nil {
				return CPULimit{}, false, g.malformedFile(CPU, li, fCFSQuota, err)
			}
			if quota < 0 { // -1: no limit at this level
				if quota != -1 {
					return CPULimit{}, false, g.malformedFile(CPU, li, fCFSQuota, errMalformed("negative quota %d other than -1", quota))
				}
				continue
			}
			if quota == 0 {
				return CPULimit{}, false, g.malformedFile(CPU, li, fCFSQuota, errMalformed("quota 0"))
			}
			data, err = g.mustRead(CPU, li, fCFSPeriod)
			if err != nil {
				return CPULimit{}, false, err
			}
			period, err = parseSingleInt(data)
			if err == nil && period <= 0 {
				err = errMalformed("period %d is not positive", period)
			}
			if err != nil {
				return CPULimit{}, false, g.malformedFile(CPU, li, fCFSPeriod, err)
			}
			limited = true
		}
		if !limited {
			continue
		}
		if quota > math.MaxInt64/int64(time.Microsecond) {
			return CPULimit{}, false, g.malformedFile(CPU, li, id, errMalformed("quota %d µs out of range", quota))
		}
		if period > math.MaxInt64/int64(time.Microsecond) {
			pid := fCFSPeriod
			if id == fCPUMax {
				pid = fCPUMax
			}
			return CPULimit{}, false, g.malformedFile(CPU, li, pid, errMalformed("period %d µs out of range", period))
		}
		if !ok || lessRatio(quota, period, bestQ, bestP) {
			bestQ, bestP = quota, period
			lim = CPULimit{
				CPUs:   float64(quota) / float64(period),
				Quota:  time.Duration(quota) * time.Microsecond,
				Period: time.Duration(period) * time.Microsecond,
				Path:   g.levels[CPU][li].path(id),
			}
			ok = true
		}
	}
	return lim, ok, nil
}

// lessRatio reports whether a/b < c/d for positive a, b, c, d, exactly.
func lessRatio(a, b, c, d int64) bool {
	hi1, lo1 := bits.Mul64(uint64(a), uint64(d))
	hi2, lo2 := bits.Mul64(uint64(c), uint64(b))
	return hi1 < hi2 || (hi1 == hi2 && lo1 < lo2)
}

// CPURequest is what the process's own cgroup weight (v1 cpu.shares, v2
// cpu.weight) says about its CPU request. In Kubernetes the kubelet writes
// the container's request there; elsewhere it is only a relative weight
// (default 1024 shares, weight 100), not a request: whether to treat it as
// one is the caller's call (runtimeinfo does so only in Kubernetes).
type CPURequest struct {
	// MilliCPU is the request in thousandths of a CPU; 0 for the minimum
	// weight (v1 shares 2, v2 weight 1), which Kubernetes gives containers
	// without a request.
	MilliCPU int64
	// Shares (v1 cpu.shares) or Weight (v2 cpu.weight), as read.
	Shares, Weight uint64
	// Approx is set when MilliCPU was recovered from a v2 weight: the
	// runtime's conversion from shares is lossy, and two conversions are in
	// use (see milliCPUFromWeight).
	Approx bool
	// Path is the file read, inside the root.
	Path string
}

// CPUs returns the request in CPUs.
func (r CPURequest) CPUs() float64 { return float64(r.MilliCPU) / 1000 }

// milliCPUFromShares inverts the kubelet's millicores-to-shares conversion
// (shares = millicores*1024/1000, at least 2): ceil(shares*1000/1024) is
// exact for every shares value it produces. Shares 2 (the minimum, given to
// containers without a request) gives 0. The kernel caps shares at 2^18.
func milliCPUFromShares(shares uint64) int64 {
	if shares <= 2 {
		return 0
	}
	if shares > 1<<18 {
		shares = 1 << 18
	}
	return int64((shares*1000 + 1023) / 1024)
}

// milliCPUFromWeight estimates the request from a v2 cpu.weight. The
// container runtime converted the kubelet's shares to a weight; runc 1.3.2+
// and crun 1.23+ use a curve that maps 1024 shares (1 CPU) to weight 100:
//
//	weight = ceil(10^((log2(shares)^2 + 125*log2(shares)) / 612 - 7/34))
//
// while older runtimes used the linear 1 + (shares-2)*9999/262142. This
// inverts the newer curve; the result is approximate either way (weights are
// rounded), which CPURequest.Approx records. Weight 1 gives 0.
func milliCPUFromWeight(weight uint64) int64 {
	if weight <= 1 {
		return 0
	}
	if weight >= 10000 {
		return milliCPUFromShares(262144)
	}
	// Solve l^2 + 125 l - 612 (log10(w) + 7/34) = 0 for l = log2(shares).
	e := math.Log10(float64(weight))
	c := 612 * (e + 7.0/34.0)
	l := (-125 + math.Sqrt(125*125+4*c)) / 2
	shares := math.Pow(2, l)
	return int64(math.Round(shares * 1000 / 1024))
}

// CPURequest reads the process's own cgroup weight (v1 cpu.shares, v2
// cpu.weight) and converts it. ok is false without a cpu controller or when
// the file is absent (the v2 root has no cpu.weight).
func (g *Group) CPURequest() (CPURequest, bool, error) {
	if err := g.lock(); err != nil {
		return CPURequest{}, false, err
	}
	defer g.mu.Unlock()
	if !g.have[CPU] {
		return CPURequest{}, false, nil
	}
	id := fCPUShares
	if g.locs[CPU].Version == 2 {
		id = fCPUWeight
	}
	data, present, err := g.read(CPU, 0, id)
	if err != nil || !present {
		return CPURequest{}, false, err
	}
	v, ok := kernfmt.ParseUint(trim(data))
	if !ok {
		return CPURequest{}, false, g.malformedFile(CPU, 0, id, errMalformed("want an unsigned integer, got %q", trim(data)))
	}
	r := CPURequest{Path: g.levels[CPU][0].path(id)}
	if id == fCPUShares {
		if v < 2 || v > 1<<18 {
			return CPURequest{}, false, g.malformedFile(CPU, 0, id, errMalformed("shares %d outside 2..262144", v))
		}
		r.Shares = v
		r.MilliCPU = milliCPUFromShares(v)
	} else {
		if v < 1 || v > 10000 {
			return CPURequest{}, false, g.malformedFile(CPU, 0, id, errMalformed("weight %d outside 1..10000", v))
		}
		r.Weight = v
		r.MilliCPU = milliCPUFromWeight(v)
		r.Approx = true
	}
	return r, true, nil
}

// CPUCount is how many CPUs a cgroup's cpuset lets it run on.
type CPUCount struct {
	// CPUs is how many CPUs the set holds.
	CPUs int
	// Path is the file read, inside the root: the process's own
	// cpuset.cpus.effective (v2) or cpuset.effective_cpus (v1), or an
	// ancestor's where a level has none, or v1 cpuset.cpus on kernels
	// without the effective file.
	Path string
}

// CPUSetCPUs counts the CPUs the cgroup may run on (v1 cpuset.effective_cpus,
// v2 cpuset.cpus.effective, walking up to the first level that has the
// file: an empty or absent cpuset inherits its parent's). ok is false
// without a cpuset controller. The Go runtime also bounds GOMAXPROCS by the
// process's affinity mask, which may be narrower.
func (g *Group) CPUSetCPUs() (CPUCount, bool, error) {
	if err := g.lock(); err != nil {
		return CPUCount{}, false, err
	}
	defer g.mu.Unlock()
	if !g.have[CPUSet] {
		return CPUCount{}, false, nil
	}
	v2 := g.locs[CPUSet].Version == 2
	for li := range g.levels[CPUSet] {
		id := fCPUSetEffective
		if !v2 {
			id = fCPUSetEffectiveV1
		}
		data, present, err := g.read(CPUSet, li, id)
		if err != nil {
			return CPUCount{}, false, err
		}
		if !present && !v2 {
			// Kernels without cpuset.effective_cpus: cpuset.cpus.
			id = fCPUSetCPUsV1
			if data, present, err = g.read(CPUSet, li, id); err != nil {
				return CPUCount{}, false, err
			}
		}
		if !present {
			continue
		}
		n, err := procfs.ParseCPUList(data)
		if err != nil {
			return CPUCount{}, false, g.malformedFile(CPUSet, li, id, errMalformed("%v", err))
		}
		if n > 0 {
			return CPUCount{CPUs: n, Path: g.levels[CPUSet][li].path(id)}, true, nil
		}
	}
	return CPUCount{}, false, nil
}
