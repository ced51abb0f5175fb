package runtimeinfo

import "math"

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

// whole returns how many whole CPUs a limit is, rounded down or up,
// without overflow whatever the quota: quota/period, plus one for a
// remainder when rounding up.
func whole(c CPU, up bool) int64 {
	if c.Period <= 0 || c.Quota <= 0 {
		return 0
	}
	n := int64(c.Quota / c.Period)
	if up && c.Quota%c.Period != 0 {
		n++
	}
	return n
}

// runtimeDefault is the GOMAXPROCS the Go runtime picks by itself in the
// snapshot's mode: min(CPUs, max(2, ceil(leaf limit))) when it is
// container-aware, the number of CPUs otherwise.
func runtimeDefault(s *Snapshot) int64 {
	cpus := s.CPUs.N
	if cpus < 1 {
		cpus = 1
	}
	if !s.Mode.ContainerAware || !s.HasLeafCPULimit {
		return cpus
	}
	n := whole(s.LeafCPULimit, true)
	if n < 2 {
		n = 2
	}
	return min(n, cpus)
}

// procsFor computes GOMAXPROCS for the policy: round the limit, raise it to
// the minimum, cap it at the CPUs the process may run on. The result lies
// in [1, CPUs] whatever the inputs: this is the GOMAXPROCS half of the
// safety envelope.
func procsFor(c *config, s *Snapshot) int64 {
	cpus := s.CPUs.N
	if cpus < 1 {
		cpus = 1
	}
	var n int64
	switch {
	case c.policy == PolicyRuntime:
		n = runtimeDefault(s)
	case !s.HasCPULimit:
		n = cpus
	case c.policy == PolicyFloor:
		n = whole(s.CPULimit, false)
	default: // PolicyCeil
		n = whole(s.CPULimit, true)
	}
	n = max(n, int64(c.minProcs), 1)
	return min(n, cpus)
}

// memFor computes GOMEMLIMIT from an effective limit: the limit minus the
// reserve when one is set, the ratio times the limit otherwise, rounded
// down, never above the limit. It may be below MinGOMEMLIMIT; the caller
// refuses such a value.
func memFor(c *config, limit int64) int64 {
	if limit <= 0 {
		return 0
	}
	if c.memReserve > 0 {
		if c.memReserve >= limit {
			return 0
		}
		return limit - c.memReserve
	}
	v := math.Floor(float64(limit) * c.memRatio)
	if v >= float64(limit) {
		return limit
	}
	if v < 0 {
		return 0
	}
	return int64(v)
}
