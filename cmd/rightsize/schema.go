package main

import (
	"encoding/json"
	"io"

	"github.com/rightsize/rightsize/detect"
)

// schemaVersion is the version of the --json object. Fields may be added;
// existing ones never change meaning. schema.json in this directory is its
// JSON Schema; the tests validate every object they produce against it.
const schemaVersion = 1

// report is the --json object. A nil pointer is JSON null: unlimited or not
// known; Unknown tells which nulls are not known.
type report struct {
	SchemaVersion int          `json:"schemaVersion"`
	Cgroup        cgroupReport `json:"cgroup"`
	Environment   environment  `json:"environment"`
	CPU           cpuReport    `json:"cpu"`
	Memory        memoryReport `json:"memory"`
	PIDs          pidsReport   `json:"pids"`
	Pressure      *pressure    `json:"pressure"`
	// Processes is the process table as one process sees it (added in
	// schema 1 after the first release); null when nothing of it could be
	// read (a tree captured before it was copied).
	Processes *processes `json:"processes"`
	Go        goReport   `json:"go"`
	Unknown   []string   `json:"unknown"`
	Warnings  []string   `json:"warnings"`
}

type cgroupReport struct {
	// Layout is "v1", "v2", "hybrid" or "none" (cgroup.Layout).
	Layout string `json:"layout"`
	// CPU and Memory are where the process's cgroup is for the controller.
	CPU    *cgroupLocation `json:"cpu"`
	Memory *cgroupLocation `json:"memory"`
}

type cgroupLocation struct {
	Version int `json:"version"`
	// Path is the mount point as mountinfo lists it joined with the cgroup
	// path below the mount root, without the --root prefix.
	Path string `json:"path"`
}

type environment struct {
	Container    bool        `json:"container"`
	Runtime      *string     `json:"runtime"`
	Orchestrator *string     `json:"orchestrator"`
	Kubernetes   *kubernetes `json:"kubernetes"`
	// ContainerID is the runtime's hex ID of the process's container
	// from its cgroup path (docker, podman, containerd, CRI-O, in or
	// outside Kubernetes), or null (added after the first release).
	ContainerID *string    `json:"containerID"`
	Evidence    []evidence `json:"evidence"`
}

type evidence struct {
	Signal detect.Signal `json:"signal"`
	Detail string        `json:"detail"`
}

type kubernetes struct {
	PodUID      *string `json:"podUID"`
	ContainerID *string `json:"containerID"`
	QOSClass    *string `json:"qosClass"`
	Namespace   *string `json:"namespace"`
}

type cpuReport struct {
	// Limit is quota/period, the minimum over the hierarchy, in CPUs (or
	// the Downward API value where the cgroup shows none: LimitSource
	// "env").
	Limit     *float64 `json:"limit"`
	LimitPath *string  `json:"limitPath"`
	// LimitSource is "cgroup" or "env" (added after the first release).
	LimitSource *string `json:"limitSource"`
	// LeafLimit is the quota/period of the process's own cgroup alone, in
	// CPUs: what the Go runtime (1.25+) and automaxprocs read. It differs
	// from Limit when an ancestor is tighter (null then if the process's
	// cgroup has no quota of its own) (added after the first release).
	LeafLimit *float64 `json:"leafLimit"`
	// CPUs is how many CPUs the process may run on: the Reader's count
	// (affinity, or a captured tree's Cpus_allowed_list, bounded by the
	// cpuset), also when the cpuset could not be read.
	CPUs *int `json:"cpus"`
	// CPUsSource is what the Reader took CPUs from: "affinity", "proc"
	// (a captured tree's /proc/self/status), "cgroup" (the cpuset, where
	// it is narrower) or "runtime" (runtime.NumCPU); null when CPUs is
	// (added after the first release).
	CPUsSource *string `json:"cpusSource"`
	// Request is the CPU request in CPUs: in Kubernetes from the cgroup
	// weight, else the Downward API value.
	Request       *float64 `json:"request"`
	RequestApprox *bool    `json:"requestApprox"`
	UsageSeconds  *float64 `json:"usageSeconds"`
	// UsageElsewhere: usage was read from another cgroup than the one
	// whose CPU limit applies (added after the first release).
	UsageElsewhere bool        `json:"usageElsewhere"`
	Throttling     *throttling `json:"throttling"`
}

type throttling struct {
	Periods          uint64  `json:"periods"`
	ThrottledPeriods uint64  `json:"throttledPeriods"`
	ThrottledSeconds float64 `json:"throttledSeconds"`
}

type memoryReport struct {
	Limit     *int64  `json:"limit"`
	LimitPath *string `json:"limitPath"`
	// LimitSource is "cgroup" or "env" (added after the first release).
	LimitSource *string `json:"limitSource"`
	High        *int64  `json:"high"`
	// Request is the memory request in bytes, the Downward API value
	// (RIGHTSIZE_MEMORY_REQUEST_BYTES); null without one (added after
	// the first release).
	Request    *int64        `json:"request"`
	Usage      *int64        `json:"usage"`
	WorkingSet *int64        `json:"workingSet"`
	SwapLimit  *int64        `json:"swapLimit"`
	HostTotal  *int64        `json:"hostTotal"`
	Events     *memoryEvents `json:"events"`
}

type memoryEvents struct {
	High    uint64 `json:"high"`
	Max     uint64 `json:"max"`
	OOM     uint64 `json:"oom"`
	OOMKill uint64 `json:"oomKill"`
}

type pidsReport struct {
	Limit   *int64 `json:"limit"`
	Current *int64 `json:"current"`
}

// processes is the process table as the process PID sees it: this
// command's own process when live (or the one given with --pid), the
// captured process under --root. A count is null when it could not be
// read.
type processes struct {
	// PID is the process's PID in the PID namespace of /proc.
	PID int `json:"pid"`
	// Processes and Zombies count the processes /proc shows (the PID
	// namespace's) and the zombies among them.
	Processes *int `json:"processes"`
	Zombies   *int `json:"zombies"`
	// Children and ZombieChildren count the process's children and the
	// zombies among them (for PID 1, the orphans it adopted too).
	Children       *int `json:"children"`
	ZombieChildren *int `json:"zombieChildren"`
	// Threads is the process's thread count: each counts in
	// pids.current.
	Threads *int `json:"threads"`
	// FDs is the number of descriptors the process has open, FDLimit its
	// RLIMIT_NOFILE.
	FDs     *int     `json:"fds"`
	FDLimit *fdLimit `json:"fdLimit"`
	// Reaper is the zombie reaper's state in this command's own process
	// (live, without --pid); null where it cannot be known.
	Reaper *reaperState `json:"reaper"`
}

// fdLimit is RLIMIT_NOFILE; null means unlimited.
type fdLimit struct {
	Soft *uint64 `json:"soft"`
	Hard *uint64 `json:"hard"`
}

type reaperState struct {
	Active bool   `json:"active"`
	Mode   string `json:"mode"`
	Reason string `json:"reason"`
	Reaped uint64 `json:"reaped"`
}

type pressure struct {
	CPU    *psi `json:"cpu"`
	Memory *psi `json:"memory"`
	IO     *psi `json:"io"`
	// HostWide: the values are the host's (/proc/pressure, or the root
	// of the v2 hierarchy), not the container's. Added in schema 1 after
	// the first release.
	HostWide bool `json:"hostWide"`
}

type psi struct {
	Some psiLine  `json:"some"`
	Full *psiLine `json:"full"`
}

type psiLine struct {
	Avg10        float64 `json:"avg10"`
	Avg60        float64 `json:"avg60"`
	Avg300       float64 `json:"avg300"`
	TotalSeconds float64 `json:"totalSeconds"`
}

type goReport struct {
	// GOMAXPROCS and GOMEMLIMIT are this command's own process's (null
	// under --root).
	GOMAXPROCS            *int   `json:"gomaxprocs"`
	GOMEMLIMIT            *int64 `json:"gomemlimit"`
	RecommendedGOMAXPROCS *int   `json:"recommendedGOMAXPROCS"`
	RecommendedGOMEMLIMIT *int64 `json:"recommendedGOMEMLIMIT"`
}

// watchLine is one line of --json --watch: the report, when it was taken
// and the rates since the line before (null on the first line).
type watchLine struct {
	*report
	Time  string `json:"time"`
	Rates *rates `json:"rates"`
}

// rates are the changes over the interval since the previous sample. A
// value is null when it cannot be computed: a counter went down (a new
// cgroup), was not read in one of the two samples, or no time passed.
type rates struct {
	IntervalSeconds float64 `json:"intervalSeconds"`
	// CPUUsedCPUs is the CPU time used per second of the interval.
	CPUUsedCPUs *float64 `json:"cpuUsedCPUs"`
	// ThrottledPeriods of Periods CFS periods were throttled, for
	// ThrottledSeconds.
	ThrottledPeriods *uint64  `json:"throttledPeriods"`
	Periods          *uint64  `json:"periods"`
	ThrottledSeconds *float64 `json:"throttledSeconds"`
}

// timeFormat is RFC 3339 with milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// writeJSON writes v, indented or as one line. Every float in a report is
// finite (see collect), so marshalling cannot fail; if it did, the error
// is returned rather than a partial line written.
func writeJSON(w io.Writer, v any, indent bool) error {
	var data []byte
	var err error
	if indent {
		data, err = json.MarshalIndent(v, "", "  ")
	} else {
		data, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

func ptr[T any](v T) *T { return &v }

func strOrNil[S ~string](s S) *string {
	if s == "" {
		return nil
	}
	v := string(s)
	return &v
}
