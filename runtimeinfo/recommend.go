package runtimeinfo

import (
	"errors"
	"fmt"

	"github.com/rightsize/rightsize/procfs"
)

// Recommendation is what Tune would compute for GOMAXPROCS and GOMEMLIMIT
// from the limits it reads, without applying anything: a dry run of the
// policy, for tools that show or export it (the rightsize command).
type Recommendation struct {
	// GOMAXPROCS is what the CPU policy gives: the limit rounded by the
	// policy, raised to the minimum, capped at the CPUs the process may
	// run on; without a CPU limit, the CPUs (what the Go runtime then uses
	// by itself). 0 when the CPU limit could not be read.
	GOMAXPROCS int `json:"gomaxprocs"`
	// GOMEMLIMIT is the ratio (or the reserve) applied to the smallest of
	// the memory limit, memory.high and host memory. 0 when there is no
	// memory limit (Tune never sets GOMEMLIMIT from host memory alone) or
	// it could not be read.
	GOMEMLIMIT int64 `json:"gomemlimit"`
	// ProcsSource and MemSource are the limits the values derive from.
	ProcsSource Source `json:"procsSource"`
	MemSource   Source `json:"memSource"`
	// ProcsReason and MemReason say how the values were computed and,
	// where it would, why Tune would not apply them (an environment
	// variable is set, the setting is disabled).
	ProcsReason string `json:"procsReason"`
	MemReason   string `json:"memReason"`
	// Snapshot is what the values were computed from, without usage
	// statistics.
	Snapshot Snapshot `json:"snapshot"`
}

// Recommend reads the limits as Tune does and returns what Tune would
// compute from them with the same options, changing nothing. The values
// do not depend on the GOMAXPROCS and GOMEMLIMIT environment variables
// (Tune leaves a setting alone when its variable is set; the reasons say
// so) nor on what the program set itself. The error lists what could not be
// read, as Read's does.
func Recommend(opts ...Option) (Recommendation, error) {
	cfg := newConfig(opts)
	r := newReader(&cfg)
	defer r.close()
	var errs []error
	snap := r.snapshot(&errs, false)
	l := limitsFromSnapshot(r, &snap)
	rec := Recommendation{Snapshot: snap}

	// GOMAXPROCS, as decideProcs computes it.
	in := ProcsInput{CPUs: int(l.cpus.N), Leaf: l.leaf, HasLeaf: l.hasLeaf, Mode: r.mode}
	if l.cpu != nil {
		in.Limit, in.HasLimit = CPUQuota{l.cpu.Quota, l.cpu.Period}, true
	}
	switch {
	case l.cpuErr != nil && !in.HasLimit:
		rec.ProcsReason = "cannot read the CPU limit (" + l.cpuErr.Error() + ")"
	case !in.HasLimit:
		rec.GOMAXPROCS = Procs(cfg.policy, cfg.minProcs, in)
		rec.ProcsSource = l.cpus.Source
		rec.ProcsReason = fmt.Sprintf("no CPU limit: the %d CPUs the process may run on (%s)", rec.GOMAXPROCS, l.cpus.Source)
	default:
		rec.GOMAXPROCS = Procs(cfg.policy, cfg.minProcs, in)
		rec.ProcsSource = l.cpu.Source
		rec.ProcsReason = fmt.Sprintf("limit %s CPUs, policy %s, minimum %d, %d CPUs available (%s)",
			fmtCPUs(in.Limit.CPUs()), cfg.policy, cfg.minProcs, in.CPUs, l.cpus.Source)
		if def := RuntimeDefaultProcs(in); r.mode.ContainerAware && def != rec.GOMAXPROCS {
			rec.ProcsReason += fmt.Sprintf("; the Go runtime's default would be %d", def)
		}
	}
	if v, ok := procfs.Getenv(r.env, GOMAXPROCS); ok && validGOMAXPROCS(v) {
		rec.ProcsReason += "; GOMAXPROCS=" + v + " is set in the environment: Tune leaves it alone"
	} else if !cfg.doProcs {
		rec.ProcsReason += "; disabled by option: Tune leaves it alone"
	}

	// GOMEMLIMIT, as decideMem computes it.
	eff, ok := effectiveMemory(&l)
	switch {
	case !ok && l.memErr != nil:
		rec.MemReason = "cannot read the memory limit (" + l.memErr.Error() + ")"
	case !ok:
		rec.MemSource = Source{Kind: SourceNone}
		rec.MemReason = "no memory limit: Tune leaves GOMEMLIMIT alone"
	default:
		rec.GOMEMLIMIT = MemoryLimit(eff.Bytes, cfg.memRatio, cfg.memReserve)
		rec.MemSource = eff.Source
		if cfg.memReserve > 0 && cfg.memReserve < eff.Bytes {
			rec.MemReason = fmt.Sprintf("limit %d bytes minus reserve %d", eff.Bytes, cfg.memReserve)
		} else {
			rec.MemReason = fmt.Sprintf("%g × limit %d bytes", cfg.memRatio, eff.Bytes)
		}
		if l.host != nil && eff.Source == l.host.Source {
			rec.MemReason += " (host memory is below the cgroup limit)"
		}
	}
	if v, ok := procfs.Getenv(r.env, GOMEMLIMIT); ok && v != "" {
		rec.MemReason += "; GOMEMLIMIT=" + v + " is set in the environment: Tune leaves it alone"
	} else if !cfg.doMem {
		rec.MemReason += "; disabled by option: Tune leaves it alone"
	}
	return rec, errors.Join(errs...)
}
