package cgroup

import (
	"errors"
	"math"
	"time"

	"github.com/rightsize/rightsize/procfs"
)

// CPULimit is the CFS bandwidth limit that binds the process: the smallest
// quota/period over its cgroup and every ancestor up to the mount point.
type CPULimit struct {
	// CPUs is Quota/Period, e.g. 1.5.
	CPUs float64
	// Quota and Period are in microseconds, as the kernel has them at the
	// binding level.
	Quota, Period int64
	// Dir is the directory (without the root prefix) whose file sets the
	// limit: an ancestor when a parent is tighter than the process's own
	// cgroup.
	Dir string
	// File is the file read there: "cpu.max" (v2) or "cpu.cfs_quota_us" (v1,
	// with "cpu.cfs_period_us" beside it).
	File string
}

// CPULimit returns the effective CPU limit. ok is false when no level has a
// quota (v1 cpu.cfs_quota_us -1, v2 cpu.max "max", or no cpu controller).
// The Go runtime and automaxprocs read the leaf only; a pod-level limit on a
// parent is seen here.
func (g *Group) CPULimit() (lim CPULimit, ok bool, err error) {
	if !g.have[CPU] {
		return CPULimit{}, false, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
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
	if !g.have[CPU] {
		return CPULimit{}, false, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cpuLimit(1)
}

// cpuLimit returns the smallest limit over the first n levels.
func (g *Group) cpuLimit(n int) (lim CPULimit, ok bool, err error) {
	best := math.Inf(1)
	for li := 0; li < n; li++ {
		var quota, period int64
		var limited bool
		if g.locs[CPU].Version == 2 {
			// The root cgroup has no cpu.max; neither does a level
			// without the cpu controller enabled.
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
		if cpus := float64(quota) / float64(period); cpus < best {
			best = cpus
			file := fileNames[fCFSQuota]
			if g.locs[CPU].Version == 2 {
				file = fileNames[fCPUMax]
			}
			lim = CPULimit{CPUs: cpus, Quota: quota, Period: period, Dir: g.levels[CPU][li].dir, File: file}
			ok = true
		}
	}
	return lim, ok, nil
}

// CPURequest is the CPU request recovered from the process's own cgroup
// weight. In Kubernetes the kubelet writes the container's request there;
// elsewhere it is only a relative weight (default 1024 shares / weight 100),
// not a request.
type CPURequest struct {
	// MilliCPU is the request in thousandths of a CPU; 0 for the minimum
	// weight (v1 shares 2, v2 weight 1), which Kubernetes gives containers
	// without a request.
	MilliCPU int64
	// Shares (v1 cpu.shares) or Weight (v2 cpu.weight), as read.
	Shares, Weight uint64
	// Approx is set when MilliCPU was recovered from a v2 weight: the
	// runtime's conversion from shares is lossy, and two conversions are in
	// use (see MilliCPUFromWeight).
	Approx bool
	// Dir is the directory read.
	Dir string
}

// CPUs returns the request in CPUs.
func (r CPURequest) CPUs() float64 { return float64(r.MilliCPU) / 1000 }

// MilliCPUFromShares inverts the kubelet's millicores-to-shares conversion
// (shares = millicores*1024/1000, at least 2): ceil(shares*1000/1024) is
// exact for every shares value it produces. Shares 2 (the minimum, given to
// containers without a request) gives 0.
func MilliCPUFromShares(shares uint64) int64 {
	if shares <= 2 {
		return 0
	}
	if shares > 1<<40 {
		shares = 1 << 40
	}
	return int64((shares*1000 + 1023) / 1024)
}

// MilliCPUFromWeight estimates the request from a v2 cpu.weight. The
// container runtime converted the kubelet's shares to a weight; runc 1.3.2+
// and crun 1.23+ use a curve that maps 1024 shares (1 CPU) to weight 100:
//
//	weight = ceil(10^((log2(shares)^2 + 125*log2(shares)) / 612 - 7/34))
//
// while older runtimes used the linear 1 + (shares-2)*9999/262142. This
// inverts the newer curve; the result is approximate either way (weights are
// rounded), which CPURequest.Approx records. Weight 1 gives 0.
func MilliCPUFromWeight(weight uint64) int64 {
	if weight <= 1 {
		return 0
	}
	if weight >= 10000 {
		return MilliCPUFromShares(262144)
	}
	// Solve l^2 + 125 l - 612 (log10(w) + 7/34) = 0 for l = log2(shares).
	e := math.Log10(float64(weight))
	c := 612 * (e + 7.0/34.0)
	l := (-125 + math.Sqrt(125*125+4*c)) / 2
	shares := math.Pow(2, l)
	return int64(math.Round(shares * 1000 / 1024))
}

// MilliCPUFromWeightLinear inverts the older linear shares-to-weight
// conversion (runc before 1.3.2, crun before 1.23).
func MilliCPUFromWeightLinear(weight uint64) int64 {
	if weight <= 1 {
		return 0
	}
	if weight > 10000 {
		weight = 10000
	}
	shares := 2 + float64(weight-1)*262142/9999
	return int64(math.Round(shares * 1000 / 1024))
}

// CPURequest reads the process's own cgroup weight (v1 cpu.shares, v2
// cpu.weight) and converts it. ok is false without a cpu controller or when
// the file is absent (the v2 root has no cpu.weight).
func (g *Group) CPURequest() (CPURequest, bool, error) {
	if !g.have[CPU] {
		return CPURequest{}, false, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	id := fCPUShares
	if g.locs[CPU].Version == 2 {
		id = fCPUWeight
	}
	data, present, err := g.read(CPU, 0, id)
	if err != nil || !present {
		return CPURequest{}, false, err
	}
	v, ok := parseUint(trim(data))
	if !ok {
		return CPURequest{}, false, g.malformedFile(CPU, 0, id, errMalformed("want an unsigned integer, got %q", trim(data)))
	}
	r := CPURequest{Dir: g.levels[CPU][0].dir}
	if id == fCPUShares {
		r.Shares = v
		r.MilliCPU = MilliCPUFromShares(v)
	} else {
		if v < 1 || v > 10000 {
			return CPURequest{}, false, g.malformedFile(CPU, 0, id, errMalformed("weight %d outside 1..10000", v))
		}
		r.Weight = v
		r.MilliCPU = MilliCPUFromWeight(v)
		r.Approx = true
	}
	return r, true, nil
}

// CPUSetCPUs counts the CPUs the cgroup may run on (v1
// cpuset.effective_cpus, v2 cpuset.cpus.effective, walking up to the first
// level that has the file: an empty or absent cpuset inherits its parent's).
// ok is false without a cpuset controller. The Go runtime also bounds
// GOMAXPROCS by the process's affinity mask, which may be narrower.
func (g *Group) CPUSetCPUs() (int, bool, error) {
	if !g.have[CPUSet] {
		return 0, false, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	v2 := g.locs[CPUSet].Version == 2
	for li := range g.levels[CPUSet] {
		id := fCPUSetEffective
		if !v2 {
			id = fCPUSetEffectiveV1
		}
		data, present, err := g.read(CPUSet, li, id)
		if err != nil {
			return 0, false, err
		}
		if !present && !v2 {
			// Kernels without cpuset.effective_cpus: cpuset.cpus.
			id = fCPUSetCPUsV1
			if data, present, err = g.read(CPUSet, li, id); err != nil {
				return 0, false, err
			}
		}
		if !present {
			continue
		}
		n, err := procfs.ParseCPUList(data)
		if err != nil {
			return 0, false, g.malformedFile(CPUSet, li, id, errMalformed("%v", err))
		}
		if n > 0 {
			return n, true, nil
		}
	}
	return 0, false, nil
}

// CPUUsage returns the CPU time consumed by the process's cgroup (v1
// cpuacct.usage in nanoseconds; v2 cpu.stat usage_usec). It returns
// ErrNotAvailable when neither is mounted.
func (g *Group) CPUUsage() (time.Duration, error) {
	if !g.have[CPUAcct] {
		return 0, ErrNotAvailable
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var st CPUStats
	if err := g.readCPUUsage(&st); err != nil {
		return 0, err
	}
	return st.Usage, nil
}

// Throttling holds the CFS bandwidth counters of the process's cgroup.
type Throttling struct {
	// Periods is the number of enforcement periods that have elapsed with
	// runnable tasks (nr_periods).
	Periods uint64 `json:"periods"`
	// ThrottledPeriods is the number of those in which the group was
	// throttled (nr_throttled).
	ThrottledPeriods uint64 `json:"throttledPeriods"`
	// ThrottledTime is the total time tasks were throttled (v1
	// throttled_time in ns, v2 throttled_usec).
	ThrottledTime time.Duration `json:"throttledTimeNs"`
}

// CPUThrottling reads the throttling counters from cpu.stat. It returns
// ErrNotAvailable without a cpu controller.
func (g *Group) CPUThrottling() (Throttling, error) {
	if !g.have[CPU] {
		return Throttling{}, ErrNotAvailable
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var st CPUStats
	if err := g.readThrottling(&st); err != nil {
		return Throttling{}, err
	}
	if !st.HasThrottling {
		return Throttling{}, &Error{Path: g.filePath(CPU, 0, fCPUStat), Err: errors.New("no throttling counters")}
	}
	return st.Throttling, nil
}

func (g *Group) readCPUUsage(st *CPUStats) error {
	if g.locs[CPUAcct].Version == 1 {
		data, err := g.mustRead(CPUAcct, 0, fCPUAcctUsage)
		if err != nil {
			return err
		}
		v, ok := parseUint(trim(data))
		if !ok || v > math.MaxInt64 {
			return g.malformedFile(CPUAcct, 0, fCPUAcctUsage, errMalformed("want nanoseconds, got %q", trim(data)))
		}
		st.Usage, st.HasUsage = time.Duration(v), true
		return nil
	}
	data, err := g.mustRead(CPUAcct, 0, fCPUStat)
	if err != nil {
		return err
	}
	found := false
	err = flatKeyed(data, func(k []byte, v uint64) {
		if string(k) == "usage_usec" {
			st.Usage, found = time.Duration(v)*time.Microsecond, true
		}
	})
	if err == nil && !found {
		err = errMalformed("no usage_usec")
	}
	if err != nil {
		return g.malformedFile(CPUAcct, 0, fCPUStat, err)
	}
	st.HasUsage = true
	return nil
}

// readThrottling parses cpu.stat: v1 nr_periods, nr_throttled,
// throttled_time (ns); v2 nr_periods, nr_throttled, throttled_usec. v2
// cpu.stat has no nr_* fields while the cpu controller is not enabled.
func (g *Group) readThrottling(st *CPUStats) error {
	data, err := g.mustRead(CPU, 0, fCPUStat)
	if err != nil {
		return err
	}
	var t Throttling
	seen := 0
	err = flatKeyed(data, func(k []byte, v uint64) {
		switch string(k) {
		case "nr_periods":
			t.Periods = v
			seen++
		case "nr_throttled":
			t.ThrottledPeriods = v
			seen++
		case "throttled_time":
			t.ThrottledTime = time.Duration(v)
			seen++
		case "throttled_usec":
			t.ThrottledTime = time.Duration(v) * time.Microsecond
			seen++
		}
	})
	if err != nil {
		return g.malformedFile(CPU, 0, fCPUStat, err)
	}
	if seen == 3 {
		st.Throttling, st.HasThrottling = t, true
	}
	return nil
}
