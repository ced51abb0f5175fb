package runtimeinfo

import (
	"math"
)

// CPUPolicy says how a CPU limit becomes GOMAXPROCS.
type CPUPolicy string

const (
	// PolicyRuntime is the Go runtime's own default: on Go 1.25+ in
	// container-aware mode the ceiling of the limit of the process's own
	// (leaf) cgroup, at least 2; otherwise (older Go, or GODEBUG
	// containermaxprocs=0) the number of CPUs, as if there were no limit.
	// With it rightsize leaves GOMAXPROCS to the runtime unless an option
	// (WithMinProcs) asks for something else.
	PolicyRuntime CPUPolicy = "runtime"
	// PolicyFloor rounds the limit down, minimum 1 (what automaxprocs does).
	PolicyFloor CPUPolicy = "floor"
	// PolicyCeil rounds the limit up, minimum 1.
	PolicyCeil CPUPolicy = "ceil"
)

func (p CPUPolicy) valid() bool {
	return p == PolicyRuntime || p == PolicyFloor || p == PolicyCeil
}

// ParseCPUPolicy parses "runtime", "floor" or "ceil".
func ParseCPUPolicy(s string) (CPUPolicy, bool) {
	p := CPUPolicy(s)
	return p, p.valid()
}

// CPUQuota is a CPU limit as a ratio of two integers, as the kernel keeps
// it (quota/period in microseconds; a Downward API value is millis/1000).
type CPUQuota struct {
	Quota, Period int64
}

// CPUs returns Quota/Period.
func (q CPUQuota) CPUs() float64 {
	if q.Period <= 0 {
		return 0
	}
	return float64(q.Quota) / float64(q.Period)
}

func (q CPUQuota) floor() int64 {
	if q.Period <= 0 || q.Quota <= 0 {
		return 0
	}
	return q.Quota / q.Period
}

func (q CPUQuota) ceil() int64 {
	if q.Period <= 0 || q.Quota <= 0 {
		return 0
	}
	return (q.Quota + q.Period - 1) / q.Period
}

// ProcsInput is what a GOMAXPROCS decision is computed from.
type ProcsInput struct {
	// Limit is the effective (hierarchy minimum) CPU limit; HasLimit false
	// means none.
	Limit    CPUQuota
	HasLimit bool
	// Leaf is the limit of the process's own cgroup only, what the Go
	// runtime reads; used by PolicyRuntime.
	Leaf    CPUQuota
	HasLeaf bool
	// CPUs is the number of CPUs the process may run on (> 0).
	CPUs int
	// Mode is the Go runtime's GOMAXPROCS mode.
	Mode RuntimeMode
}

// Procs computes GOMAXPROCS for a policy and a minimum: round the limit
// by the policy, raise it to min, cap it at the CPUs the process may run
// on. Without a limit the result is the number of CPUs.
func Procs(p CPUPolicy, min int, in ProcsInput) int {
	cpus := int64(in.CPUs)
	if cpus < 1 {
		cpus = 1
	}
	if min < 1 {
		min = 1
	}
	var n int64
	switch {
	case p == PolicyRuntime:
		n = int64(RuntimeDefaultProcs(in))
	case !in.HasLimit:
		n = cpus
	case p == PolicyFloor:
		n = in.Limit.floor()
	default: // PolicyCeil
		n = in.Limit.ceil()
	}
	if n < int64(min) {
		n = int64(min)
	}
	if n > cpus {
		n = cpus
	}
	return int(n)
}

// RuntimeDefaultProcs is the GOMAXPROCS the Go runtime picks by itself in
// mode in.Mode: min(CPUs, max(2, ceil(leaf limit))) when it is
// container-aware, the number of CPUs otherwise.
func RuntimeDefaultProcs(in ProcsInput) int {
	cpus := in.CPUs
	if cpus < 1 {
		cpus = 1
	}
	if !in.Mode.ContainerAware || !in.HasLeaf {
		return cpus
	}
	n := in.Leaf.ceil()
	if n < 2 {
		n = 2
	}
	if n < int64(cpus) {
		return int(n)
	}
	return cpus
}

// MemoryLimit computes GOMEMLIMIT from an effective memory limit: limit
// minus reserve when reserve > 0 and below the limit, ratio × limit
// otherwise (rounded down).
func MemoryLimit(limit int64, ratio float64, reserve int64) int64 {
	if limit <= 0 {
		return 0
	}
	if reserve > 0 && reserve < limit {
		return limit - reserve
	}
	if !(ratio > 0 && ratio <= 1) {
		ratio = DefaultMemoryRatio
	}
	v := math.Floor(float64(limit) * ratio)
	if v < 1 {
		return 1
	}
	if v >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}
