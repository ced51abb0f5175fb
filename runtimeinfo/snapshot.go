package runtimeinfo

import (
	"errors"

	"github.com/rightsize/rightsize/cgroup"
	"github.com/rightsize/rightsize/procfs"
)

// Snapshot is what the process really has at one moment, each value with
// its Source. A value that is absent (no limit, not known, not asked for)
// has its Has field false. A Reader fills a Snapshot the caller owns, in
// place: on the live system a refresh allocates nothing when every read
// succeeds (a captured tree's process table is read with allocations).
type Snapshot struct {
	// Root is the directory read below ("/" for the live system).
	Root   string
	Layout cgroup.Layout

	// CPULimit is the effective CPU limit: the smallest quota over the
	// process's cgroup and its ancestors, or the Downward API value
	// (RIGHTSIZE_CPU_LIMIT_MILLIS) where the cgroup shows none.
	HasCPULimit bool
	CPULimit    CPU
	// LeafCPULimit is the limit of the process's own cgroup only: what
	// the Go runtime (1.25+) and automaxprocs read.
	HasLeafCPULimit bool
	LeafCPULimit    CPU
	// CPUs is how many CPUs the process may run on: its affinity mask (a
	// captured tree's Cpus_allowed_list), bounded by the cgroup cpuset.
	// Always set.
	CPUs Count

	// MemoryLimit is the smallest hard limit over the hierarchy, or the
	// Downward API value (RIGHTSIZE_MEMORY_LIMIT_BYTES) where the cgroup
	// shows none.
	HasMemoryLimit bool
	MemoryLimit    Bytes
	// MemoryHigh is the v2 memory.high throttle limit (smallest over the
	// hierarchy).
	HasMemoryHigh bool
	MemoryHigh    Bytes
	// HostMemory is MemTotal from /proc/meminfo. It is read where a limit
	// exists (it caps it) or when any Field is asked for.
	HasHostMemory bool
	HostMemory    Bytes

	// With FieldRequests: the CPU request, by one rule everywhere: in
	// Kubernetes the kubelet's cpu.shares / cpu.weight of the process's
	// cgroup; else, or where that file is absent, the Downward API value
	// (RIGHTSIZE_CPU_REQUEST_MILLIS); outside Kubernetes a cgroup weight
	// is a relative weight nobody asked for and is not reported. The memory
	// request comes from the Downward API only.
	HasCPURequest    bool
	CPURequest       CPU
	HasMemoryRequest bool
	MemoryRequest    Bytes

	// With FieldPIDs: the smallest pids.max over the hierarchy.
	HasPIDsLimit bool
	PIDsLimit    Count

	// With FieldUsage: the swap the cgroup may use beyond its memory limit
	// (v2 memory.swap.max; v1 the memory+swap limit minus the memory
	// limit); absent when unlimited or not accounted.
	HasSwapLimit bool
	SwapLimit    Bytes

	// With FieldUsage: usage, working set, throttling, events, pids and
	// pressure (cgroup.StatsAll). Stats.Pressure.HostWide tells pressure
	// that is the host's, not the container's.
	Stats cgroup.Stats
	// CPUUsageElsewhere is set when CPU usage was read from another cgroup
	// than the one whose CPU limit applies (v1 with the cpu and cpuacct
	// controllers mounted apart and the process in different cgroups of
	// the two).
	CPUUsageElsewhere bool

	// With FieldProcesses: this process's share of the process table —
	// zombies, children, threads, open descriptors against RLIMIT_NOFILE —
	// and the zombie reaper's state.
	HasProcessTable bool
	ProcessTable    procfs.ProcessTable
	Reaper          ReaperState

	// Mode is the Go runtime's GOMAXPROCS mode.
	Mode RuntimeMode

	// Errors lists what could not be read, each naming its file or
	// variable. The values it concerns are absent.
	Errors []error

	// locs are the process's cgroups, per controller, as the Reader found
	// them (see Location).
	locs [cgroup.Unified + 1]struct {
		cgroup.Location
		ok bool
	}

	// cpuErr and memErr record that the CPU or memory limit could not be
	// read: the decision then leaves the setting as it is, rather than
	// treating the failure as "no limit".
	cpuErr, memErr bool
}

// Location returns where the process's cgroup for controller c was when
// the snapshot was taken: mount point, path and directory (inside the
// root), and whether the location is degraded. ok is false when the
// controller is not mounted (or enabled) for the process.
func (s *Snapshot) Location(c cgroup.Controller) (cgroup.Location, bool) {
	if c < 0 || int(c) >= len(s.locs) {
		return cgroup.Location{}, false
	}
	return s.locs[c].Location, s.locs[c].ok
}

// ReaperState says whether this process reaps orphaned zombies (package
// reaper, started by Start and the blank import in PID 1), and how many it
// has reaped.
type ReaperState struct {
	Active bool
	Mode   string // "off", "orphans" or "all"
	Reason string // why it acts, or why not
	Reaped uint64
}

// Err returns the errors of the snapshot joined, or nil.
func (s *Snapshot) Err() error { return errors.Join(s.Errors...) }

// Read opens a Reader with opts, takes one Snapshot and closes it. Values
// that cannot be read are left out and their errors are listed in
// Snapshot.Errors and returned joined; outside Linux the error wraps
// cgroup.ErrNotSupported and only the CPU count and the Downward API values
// are filled. An invalid option is an error and no snapshot.
func Read(opts ...Option) (Snapshot, error) {
	r, err := NewReader(opts...)
	if err != nil {
		return Snapshot{}, err
	}
	defer r.Close()
	var s Snapshot
	err = r.Read(&s)
	return s, err
}
