package runtimeinfo

import (
	"math"
	"math/bits"
	"strconv"
	"time"
)

// SourceKind says what kind of thing a value was read from.
type SourceKind string

const (
	SourceCgroup   SourceKind = "cgroup"   // a cgroup file
	SourceEnv      SourceKind = "env"      // an environment variable
	SourceProc     SourceKind = "proc"     // a /proc file (meminfo, status)
	SourceAffinity SourceKind = "affinity" // the process's CPU affinity mask (sched_getaffinity(2))
	SourceSysinfo  SourceKind = "sysinfo"  // the host's memory, from sysinfo(2) (what /proc/meminfo's MemTotal shows)
	SourceRuntime  SourceKind = "runtime"  // the Go runtime (runtime.NumCPU)
	SourceNone     SourceKind = "none"     // nothing: no limit
)

// Source says where a value came from, so that a person can see why.
type Source struct {
	Kind SourceKind
	// Path is the file read, as a path inside the root (the same for the
	// live system and for its capture): a cgroup file, /proc/meminfo,
	// /proc/self/status, or /proc/self/environ for a variable read from a
	// captured tree.
	Path string
	// Key is the entry read inside the file, where the file holds several:
	// "hierarchical_memory_limit" in memory.stat, "MemTotal" in meminfo,
	// "Cpus_allowed_list" in status.
	Key string
	// Env is the environment variable read.
	Env string
}

// String renders the source for a log line: "cgroup /sys/fs/cgroup/cpu.max",
// "env RIGHTSIZE_CPU_LIMIT_MILLIS", "proc /proc/meminfo MemTotal".
func (s Source) String() string {
	out := string(s.Kind)
	if out == "" {
		out = string(SourceNone)
	}
	for _, part := range [...]string{s.Path, s.Key, s.Env} {
		if part != "" {
			out += " " + part
		}
	}
	return out
}

// CPU is an amount of CPU (a limit or a request) and its source.
type CPU struct {
	// CPUs is Quota/Period, e.g. 1.5.
	CPUs float64
	// Quota and Period are exact: the kernel's CFS quota and period for a
	// cgroup limit; for a value in millicores (an environment variable, a
	// request) Quota is that many milliseconds of a one-second Period.
	// Quota saturates at the largest Duration (292 years), which is more
	// CPU than any machine has.
	Quota, Period time.Duration
	// Approx is set when the value was recovered from a v2 cpu.weight.
	Approx bool
	Source Source
}

// MilliCPU returns the amount in thousandths of a CPU, rounded up,
// computed in 128 bits so that no quota overflows; it saturates at the
// largest int64.
func (c CPU) MilliCPU() int64 {
	if c.Period <= 0 || c.Quota <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(c.Quota), 1000)
	if hi >= uint64(c.Period) {
		return math.MaxInt64
	}
	q, r := bits.Div64(hi, lo, uint64(c.Period))
	if r != 0 {
		q++
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

// cpuFromMillis is an amount given in millicores.
func cpuFromMillis(m int64, src Source) CPU {
	q := time.Duration(1<<63 - 1)
	if m <= int64(q/time.Millisecond) {
		q = time.Duration(m) * time.Millisecond
	}
	return CPU{CPUs: float64(m) / 1000, Quota: q, Period: time.Second, Source: src}
}

// Bytes is an amount of memory and its source.
type Bytes struct {
	Bytes  int64
	Source Source
}

// Count is a count (CPUs, tasks) and its source.
type Count struct {
	N      int64
	Source Source
}

func fmtCPUs(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
