// Package rightsizeexpvar publishes what rightsize sees through the
// standard library's expvar: the effective limits and their sources,
// requests, usage, throttling, pressure, the process's share of the process
// table and its zombie reaper, the memory pressure signals fired, the
// GOMAXPROCS and GOMEMLIMIT in force and the environment, as one JSON value
// at /debug/vars.
//
// It is a package of its own because importing expvar registers the
// /debug/vars handler on http.DefaultServeMux: only programs that import
// this package get it, and nothing is published until they call Publish.
//
//	rightsizeexpvar.Publish(rightsizeexpvar.DefaultName)
//	// curl -s localhost:8080/debug/vars | jq .rightsize
//
// The values come from a runtimeinfo.Reader with runtimeinfo.FieldAll, the
// reader behind rightsize's own decisions and the Prometheus and
// OpenTelemetry exporters (github.com/rightsize/rightsize/contrib/prometheus
// and contrib/otel): they agree.
// Reading never blocks: the Reader opens files without blocking and refuses
// anything but a regular file (a FIFO), naming it in the errors.
//
// # Schema
//
// The JSON names and units are this package's (runtimeinfo's types carry
// none): camelCase keys; bytes as integers, CPU in cores (a float) and in
// millicores, CFS quota and period in microseconds, times in seconds (a
// float); a value that is absent (no limit, not readable, not applicable)
// is null, never a magic number; errors are strings. The keys are always
// present.
//
//	{
//	  "gomaxprocs": 2,                      // runtime.GOMAXPROCS(0)
//	  "gomemlimit": 483183820,              // null when GOMEMLIMIT is unset
//	  "memoryPressureSignals": {"heap": 1, "workingSet": 0, "high": 0, "max": 0, "psi": 0},  // this process's, always
//	  "environment": {
//	    "container": true,
//	    "runtime": "containerd",            // "" when unknown
//	    "orchestrator": "kubernetes",       // "" when none
//	    "containerID": "…",                 // "" when unknown
//	    "kubernetes": {"podUID": "…", "containerID": "…", "qosClass": "Burstable", "namespace": "shop"},  // null outside
//	    "evidence": [{"signal": "hosts", "detail": "…"}]
//	  },
//	  "snapshot": {
//	    "root": "/", "cgroupLayout": "v2",   // v1, v2, hybrid or none
//	    "cpuLimit": CPU, "leafCPULimit": CPU, "cpuRequest": CPU,      // CPU or null
//	    "cpus": {"count": 4, "source": Source},                      // always set
//	    "memoryLimit": Bytes, "memoryHigh": Bytes, "memoryRequest": Bytes, "hostMemory": Bytes,  // or null
//	    "pidsLimit": {"count": 200, "source": Source},               // or null
//	    "usage": {
//	      "cpu": {"usageSeconds": 73.5, "usagePath": "/sys/fs/cgroup/cpu.stat", "usageElsewhere": false,
//	              "throttling": {"periods": 9000, "throttledPeriods": 450, "throttledSeconds": 12.75}},
//	      "memory": {"usageBytes": …, "workingSetBytes": …, "inactiveFileBytes": …, "anonBytes": …,
//	                 "fileBytes": …, "kernelBytes": …, "peakBytes": …,
//	                 "events": {"high": 0, "max": 0, "oom": 0, "oomKill": 0}},
//	      "pids": {"current": 9},
//	      "pressure": {"scope": "container", "cpu": PSI, "memory": PSI, "io": PSI}
//	    },
//	    "processTable": {                    // null when not read (a captured tree without it)
//	      "pid": 1,                          // in the PID namespace of /proc; 1: PID 1, which must reap orphans
//	      "processes": 4, "zombies": 2,      // of the PID namespace
//	      "children": 2, "zombieChildren": 1,
//	      "threads": 9, "openFDs": 5,
//	      "fdLimit": {"soft": 1024, "hard": 4096}  // RLIMIT_NOFILE; a limit is null when unlimited
//	    },
//	    "reaper": {"active": false, "mode": "off", "reason": "not PID 1 (PID 42): …", "reaped": 0},  // null for a captured tree
//	    "goRuntime": {"goVersion": "go1.26.8", "containerAware": true, "updates": true, "reason": "…"},
//	    "errors": ["/sys/fs/cgroup/cpu.max: malformed: …"]
//	  }
//	}
//
//	CPU    {"cores": 1.5, "millicores": 1500, "quotaMicroseconds": 150000, "periodMicroseconds": 100000,
//	        "approximate": false, "source": Source}
//	Bytes  {"bytes": 536870912, "source": Source}
//	Source {"kind": "cgroup", "path": "/sys/fs/cgroup/memory.max", "key": "", "env": ""}
//	PSI    {"some": {"avg10": 4.12, "avg60": 2.87, "avg300": 1.05, "totalSeconds": 9.88}, "full": {…} or null}
//
// Every usage value is null when it was not read. A request is in
// millicores for a CPU read in millicores (a Downward API variable, a
// kubelet weight, which "approximate" marks when recovered from a v2
// cpu.weight). Source kinds are cgroup, env, proc, affinity, sysinfo, runtime; a
// source's path is the file inside the root, its key the entry in that
// file, its env the variable. Pressure scope is "host" when the values
// describe every task on the host (/proc/pressure, or the root of the v2
// hierarchy), "container" when they are the process's cgroup's, "" when no
// pressure was read; usageElsewhere is true when CPU usage was
// read from another cgroup than the CPU limit's.
//
// The process table (runtimeinfo.FieldProcesses) is this process's share
// of it, read from /proc: the processes of the PID namespace /proc shows
// (the container's own; the host's outside a container) and how many are
// zombies (exited, waiting for their parent to reap them; each holds a PID
// and counts in pids.current), this process's children and zombie
// children (for PID 1 these include the orphans it adopted), threads, open
// descriptors (the four /proc directories the Reader keeps open for the
// scan left out) and RLIMIT_NOFILE. Each of its values is null when it
// could not be read. With runtimeinfo.WithRoot it is the captured
// process's. The reaper is the zombie reaper of package reaper, which the
// blank import of rightsize starts in PID 1 of a PID namespace: its mode
// ("off", "orphans", "all"), why it acts or does not, and how many zombies
// it reaped; it is the live process's only, null with WithRoot.
// memoryPressureSignals counts the memory pressure signals
// (runtimeinfo.WithMemoryPressure, rightsize.OnMemoryPressure) that began
// in this process, by cause (runtimeinfo.PressureSignals): heap,
// working-set, high, max, psi. Like gomaxprocs it is this process's, whatever the root.
//
// Standard library only (plus rightsize itself).
package rightsizeexpvar

import (
	"errors"
	"expvar"
	"math"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rightsize/rightsize/cgroup"
	"github.com/rightsize/rightsize/detect"
	"github.com/rightsize/rightsize/procfs"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// DefaultName is the conventional name to publish under: the value appears
// as the "rightsize" key of /debug/vars.
const DefaultName = "rightsize"

// Vars is the published value.
type Vars struct {
	// GOMAXPROCS is runtime.GOMAXPROCS(0), the value in force.
	GOMAXPROCS int `json:"gomaxprocs"`
	// GOMEMLIMIT is the Go runtime's soft memory limit in force, in bytes;
	// nil when there is none (the runtime's math.MaxInt64).
	GOMEMLIMIT *int64 `json:"gomemlimit"`
	// MemoryPressureSignals counts the memory pressure signals that began
	// in this process, by cause.
	MemoryPressureSignals PressureSignals `json:"memoryPressureSignals"`
	// Environment is what detection concluded.
	Environment Environment `json:"environment"`
	// Snapshot is what the process has: every effective value with its
	// source, the usage statistics and the errors met.
	Snapshot Snapshot `json:"snapshot"`
}

// Environment is what package detect concluded (detect.Env).
type Environment struct {
	Container    bool   `json:"container"`
	Runtime      string `json:"runtime"`
	Orchestrator string `json:"orchestrator"`
	// ContainerID is the runtime's ID of the process's container, from
	// its cgroup paths or mountinfo; "" when unknown (the CLI's
	// environment.containerID).
	ContainerID string `json:"containerID"`
	// Kubernetes is nil outside a Kubernetes pod.
	Kubernetes *Kubernetes `json:"kubernetes"`
	// Evidence lists what detection looked at, including the files it
	// could not read.
	Evidence []Evidence `json:"evidence"`
}

// Kubernetes is what is known about the pod; any field may be "".
type Kubernetes struct {
	PodUID      string `json:"podUID"`
	ContainerID string `json:"containerID"`
	QOSClass    string `json:"qosClass"`
	Namespace   string `json:"namespace"`
}

// Evidence is one observation of detection.
type Evidence struct {
	Signal string `json:"signal"`
	Detail string `json:"detail"`
}

// Snapshot is runtimeinfo.Snapshot in this package's schema.
type Snapshot struct {
	// Root is the directory read below ("/" for the live system).
	Root string `json:"root"`
	// CgroupLayout is "v1", "v2", "hybrid" or "none".
	CgroupLayout string `json:"cgroupLayout"`

	CPULimit     *CPU   `json:"cpuLimit"`
	LeafCPULimit *CPU   `json:"leafCPULimit"`
	CPURequest   *CPU   `json:"cpuRequest"`
	CPUs         Count  `json:"cpus"`
	MemoryLimit  *Bytes `json:"memoryLimit"`
	MemoryHigh   *Bytes `json:"memoryHigh"`
	// MemoryRequest comes from the Downward API only.
	MemoryRequest *Bytes `json:"memoryRequest"`
	HostMemory    *Bytes `json:"hostMemory"`
	// SwapLimit is the swap the cgroup may use beyond its memory limit
	// (v2 memory.swap.max, smallest over the hierarchy; v1 the
	// memory+swap limit minus the memory limit); null when unlimited or
	// not accounted.
	SwapLimit *Bytes `json:"swapLimit"`
	PIDsLimit *Count `json:"pidsLimit"`

	Usage Usage `json:"usage"`
	// ProcessTable is nil when it was not read (a captured tree without
	// its files).
	ProcessTable *ProcessTable `json:"processTable"`
	// Reaper is nil for a captured tree: the Reader reports the reaper of
	// the live process only.
	Reaper    *Reaper   `json:"reaper"`
	GoRuntime GoRuntime `json:"goRuntime"`

	// Errors lists what could not be read, each naming its file or
	// variable; the values concerned are null. Never null itself.
	Errors []string `json:"errors"`
}

// Source says where a value was read.
type Source struct {
	// Kind is "cgroup", "env", "proc", "affinity", "sysinfo" or "runtime".
	Kind string `json:"kind"`
	// Path is the file read, inside the root.
	Path string `json:"path"`
	// Key is the entry read in the file ("MemTotal" in /proc/meminfo).
	Key string `json:"key"`
	// Env is the environment variable read.
	Env string `json:"env"`
}

// CPU is an amount of CPU.
type CPU struct {
	Cores      float64 `json:"cores"`
	Millicores int64   `json:"millicores"`
	// QuotaMicroseconds of CPU time per PeriodMicroseconds: the kernel's
	// CFS values for a cgroup limit; for an amount in millicores, that many
	// milliseconds per second.
	QuotaMicroseconds  int64 `json:"quotaMicroseconds"`
	PeriodMicroseconds int64 `json:"periodMicroseconds"`
	// Approximate is set when the amount was recovered from a v2
	// cpu.weight.
	Approximate bool   `json:"approximate"`
	Source      Source `json:"source"`
}

// Bytes is an amount of memory.
type Bytes struct {
	Bytes  int64  `json:"bytes"`
	Source Source `json:"source"`
}

// Count is a number of CPUs or tasks.
type Count struct {
	Count  int64  `json:"count"`
	Source Source `json:"source"`
}

// Usage holds the usage statistics of the process's cgroup.
type Usage struct {
	CPU      CPUUsage    `json:"cpu"`
	Memory   MemoryUsage `json:"memory"`
	PIDs     PIDsUsage   `json:"pids"`
	Pressure Pressure    `json:"pressure"`
}

// CPUUsage is CPU time and throttling.
type CPUUsage struct {
	UsageSeconds *float64 `json:"usageSeconds"`
	// UsagePath is the file the usage was read from, "" when not read.
	UsagePath string `json:"usagePath"`
	// UsageElsewhere is set when the usage was read from another cgroup
	// than the one whose CPU limit applies.
	UsageElsewhere bool        `json:"usageElsewhere"`
	Throttling     *Throttling `json:"throttling"`
}

// Throttling holds the CFS bandwidth counters.
type Throttling struct {
	Periods          uint64  `json:"periods"`
	ThrottledPeriods uint64  `json:"throttledPeriods"`
	ThrottledSeconds float64 `json:"throttledSeconds"`
}

// MemoryUsage is memory charged to the cgroup, in bytes.
type MemoryUsage struct {
	UsageBytes        *int64        `json:"usageBytes"`
	WorkingSetBytes   *int64        `json:"workingSetBytes"`
	InactiveFileBytes *int64        `json:"inactiveFileBytes"`
	AnonBytes         *int64        `json:"anonBytes"`
	FileBytes         *int64        `json:"fileBytes"`
	KernelBytes       *int64        `json:"kernelBytes"`
	PeakBytes         *int64        `json:"peakBytes"`
	Events            *MemoryEvents `json:"events"`
}

// MemoryEvents counts memory limit events.
type MemoryEvents struct {
	High    uint64 `json:"high"`
	Max     uint64 `json:"max"`
	OOM     uint64 `json:"oom"`
	OOMKill uint64 `json:"oomKill"`
}

// PIDsUsage is the task count.
type PIDsUsage struct {
	Current *int64 `json:"current"`
}

// Pressure is the pressure stall information of CPU, memory and I/O.
type Pressure struct {
	// Scope is "host" when the values describe every task on the host,
	// "container" when they are the process's cgroup's, "" when no
	// pressure was read.
	Scope  string `json:"scope"`
	CPU    *PSI   `json:"cpu"`
	Memory *PSI   `json:"memory"`
	IO     *PSI   `json:"io"`
}

// PSI is one resource's pressure.
type PSI struct {
	Some PSILine `json:"some"`
	// Full is nil where the kernel has no full line (CPU before 5.13).
	Full *PSILine `json:"full"`
}

// PSILine holds the share of time stalled in percent, averaged over 10,
// 60 and 300 seconds, and the total stall time.
type PSILine struct {
	Avg10        float64 `json:"avg10"`
	Avg60        float64 `json:"avg60"`
	Avg300       float64 `json:"avg300"`
	TotalSeconds float64 `json:"totalSeconds"`
}

// ProcessTable is the process's share of the process table
// (procfs.ProcessTable); a value is nil when it could not be read.
type ProcessTable struct {
	// PID is the process's PID in the PID namespace of /proc.
	PID int `json:"pid"`
	// Processes of the PID namespace, and how many are zombies.
	Processes *int `json:"processes"`
	Zombies   *int `json:"zombies"`
	// Children of the process, and how many are zombies.
	Children       *int `json:"children"`
	ZombieChildren *int `json:"zombieChildren"`
	Threads        *int `json:"threads"`
	// OpenFDs is the number of open descriptors.
	OpenFDs *int `json:"openFDs"`
	// FDLimit is RLIMIT_NOFILE.
	FDLimit *RLimit `json:"fdLimit"`
}

// RLimit is a resource limit (getrlimit(2)): the soft limit is what the
// kernel enforces, the hard limit how far the process may raise it; each
// is nil when unlimited.
type RLimit struct {
	Soft *uint64 `json:"soft"`
	Hard *uint64 `json:"hard"`
}

// Reaper is the state of the process's zombie reaper
// (runtimeinfo.ReaperState).
type Reaper struct {
	Active bool `json:"active"`
	// Mode is "off", "orphans" or "all".
	Mode string `json:"mode"`
	// Reason says why it acts, or why not.
	Reason string `json:"reason"`
	// Reaped counts the zombies it reaped.
	Reaped uint64 `json:"reaped"`
}

// PressureSignals counts memory pressure signals by cause
// (runtimeinfo.PressureCause).
type PressureSignals struct {
	Heap       uint64 `json:"heap"`
	WorkingSet uint64 `json:"workingSet"`
	High       uint64 `json:"high"`
	Max        uint64 `json:"max"`
	PSI        uint64 `json:"psi"`
}

// GoRuntime is how the Go runtime chooses GOMAXPROCS by itself.
type GoRuntime struct {
	GoVersion      string `json:"goVersion"`
	ContainerAware bool   `json:"containerAware"`
	Updates        bool   `json:"updates"`
	Reason         string `json:"reason"`
}

// Read takes the value Publish publishes: a fresh snapshot through a
// runtimeinfo.Reader opened with opts (runtimeinfo.WithRoot, for example)
// and runtimeinfo.WithFields(runtimeinfo.FieldAll), the environment that
// Reader detects, and the runtime settings in force. Values that could not
// be read are null and listed in Snapshot.Errors, as is an invalid option.
func Read(opts ...runtimeinfo.Option) Vars {
	r, err := runtimeinfo.NewReader(append(opts[:len(opts):len(opts)], runtimeinfo.WithFields(runtimeinfo.FieldAll))...)
	if err != nil {
		v := Vars{Snapshot: Snapshot{Errors: []string{err.Error()}}}
		v.GOMAXPROCS, v.GOMEMLIMIT = settings()
		v.MemoryPressureSignals = pressureSignals()
		return v
	}
	defer r.Close()
	return read(r)
}

// read takes a snapshot with r and converts it.
func read(r *runtimeinfo.Reader) Vars {
	var s runtimeinfo.Snapshot
	_ = r.Read(&s) // the errors are in s.Errors
	v := Vars{Environment: EnvironmentOf(r.Environment()), Snapshot: SnapshotOf(&s)}
	v.GOMAXPROCS, v.GOMEMLIMIT = settings()
	v.MemoryPressureSignals = pressureSignals()
	return v
}

func pressureSignals() PressureSignals {
	return PressureSignals{
		Heap:       runtimeinfo.PressureSignals(runtimeinfo.PressureHeap),
		WorkingSet: runtimeinfo.PressureSignals(runtimeinfo.PressureWorkingSet),
		High:       runtimeinfo.PressureSignals(runtimeinfo.PressureHigh),
		Max:        runtimeinfo.PressureSignals(runtimeinfo.PressureMax),
		PSI:        runtimeinfo.PressureSignals(runtimeinfo.PressurePSI),
	}
}

func settings() (int, *int64) {
	procs := runtime.GOMAXPROCS(0)
	if n := debug.SetMemoryLimit(-1); n != math.MaxInt64 {
		return procs, &n
	}
	return procs, nil
}

// EnvironmentOf converts what package detect concluded to this package's
// schema.
func EnvironmentOf(env detect.Env) Environment {
	e := Environment{
		Container:    env.Container,
		Runtime:      string(env.Runtime),
		Orchestrator: string(env.Orchestrator),
		ContainerID:  env.ContainerID,
		Evidence:     make([]Evidence, 0, len(env.Evidence)),
	}
	if env.HasKubernetes {
		k := env.Kubernetes
		e.Kubernetes = &Kubernetes{PodUID: k.PodUID, ContainerID: k.ContainerID, QOSClass: string(k.QOSClass), Namespace: k.Namespace}
	}
	for _, ev := range env.Evidence {
		e.Evidence = append(e.Evidence, Evidence{Signal: string(ev.Signal), Detail: ev.Detail})
	}
	return e
}

// SnapshotOf converts a runtimeinfo.Snapshot (one a Reader took, or the one
// behind rightsize.Result's decisions) to this package's schema.
func SnapshotOf(s *runtimeinfo.Snapshot) Snapshot {
	out := Snapshot{
		Root:         s.Root,
		CgroupLayout: string(s.Layout),
		CPUs:         countOf(s.CPUs),
		GoRuntime: GoRuntime{
			GoVersion: s.Mode.GoVersion, ContainerAware: s.Mode.ContainerAware,
			Updates: s.Mode.Updates, Reason: s.Mode.Reason,
		},
		Errors: make([]string, 0, len(s.Errors)),
	}
	if out.CgroupLayout == "" {
		out.CgroupLayout = string(cgroup.LayoutNone)
	}
	out.CPULimit = cpuOf(s.HasCPULimit, s.CPULimit)
	out.LeafCPULimit = cpuOf(s.HasLeafCPULimit, s.LeafCPULimit)
	out.CPURequest = cpuOf(s.HasCPURequest, s.CPURequest)
	out.MemoryLimit = bytesOf(s.HasMemoryLimit, s.MemoryLimit)
	out.MemoryHigh = bytesOf(s.HasMemoryHigh, s.MemoryHigh)
	out.MemoryRequest = bytesOf(s.HasMemoryRequest, s.MemoryRequest)
	out.HostMemory = bytesOf(s.HasHostMemory, s.HostMemory)
	out.SwapLimit = bytesOf(s.HasSwapLimit, s.SwapLimit)
	if s.HasPIDsLimit {
		c := countOf(s.PIDsLimit)
		out.PIDsLimit = &c
	}
	out.Usage = usageOf(&s.Stats, s.CPUUsageElsewhere)
	out.ProcessTable = processTableOf(&s.ProcessTable)
	if r := s.Reaper; r.Mode != "" { // filled for the live process only
		out.Reaper = &Reaper{Active: r.Active, Mode: r.Mode, Reason: r.Reason, Reaped: r.Reaped}
	}
	for _, err := range s.Errors {
		out.Errors = append(out.Errors, err.Error())
	}
	return out
}

func sourceOf(s runtimeinfo.Source) Source {
	return Source{Kind: string(s.Kind), Path: s.Path, Key: s.Key, Env: s.Env}
}

func cpuOf(ok bool, c runtimeinfo.CPU) *CPU {
	if !ok {
		return nil
	}
	return &CPU{
		Cores: c.CPUs, Millicores: c.MilliCPU(),
		QuotaMicroseconds: c.Quota.Microseconds(), PeriodMicroseconds: c.Period.Microseconds(),
		Approximate: c.Approx, Source: sourceOf(c.Source),
	}
}

func bytesOf(ok bool, b runtimeinfo.Bytes) *Bytes {
	if !ok {
		return nil
	}
	return &Bytes{Bytes: b.Bytes, Source: sourceOf(b.Source)}
}

func countOf(c runtimeinfo.Count) Count {
	return Count{Count: c.N, Source: sourceOf(c.Source)}
}

func ptr[T any](ok bool, v T) *T {
	if !ok {
		return nil
	}
	return &v
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func usageOf(st *cgroup.Stats, elsewhere bool) Usage {
	var u Usage
	c := &st.CPU
	u.CPU.UsageSeconds = ptr(c.HasUsage, seconds(c.Usage))
	u.CPU.UsagePath = c.UsagePath
	u.CPU.UsageElsewhere = elsewhere
	if c.HasThrottling {
		t := c.Throttling
		u.CPU.Throttling = &Throttling{Periods: t.Periods, ThrottledPeriods: t.ThrottledPeriods, ThrottledSeconds: seconds(t.ThrottledTime)}
	}
	m := &st.Memory
	u.Memory = MemoryUsage{
		UsageBytes:        ptr(m.HasUsage, m.Usage),
		WorkingSetBytes:   ptr(m.HasWorkingSet, m.WorkingSet),
		InactiveFileBytes: ptr(m.HasWorkingSet, m.InactiveFile),
		AnonBytes:         ptr(m.HasWorkingSet, m.Anon), // memory.stat was read and parsed
		FileBytes:         ptr(m.HasWorkingSet, m.File),
		KernelBytes:       ptr(m.HasKernel, m.Kernel),
		PeakBytes:         ptr(m.HasPeak, m.Peak),
	}
	if m.HasEvents {
		e := m.Events
		u.Memory.Events = &MemoryEvents{High: e.High, Max: e.Max, OOM: e.OOM, OOMKill: e.OOMKill}
	}
	u.PIDs.Current = ptr(st.PIDs.HasCurrent, st.PIDs.Current)
	p := &st.Pressure
	switch {
	case !p.HasCPU && !p.HasMemory && !p.HasIO:
	case p.HostWide:
		u.Pressure.Scope = "host"
	default:
		u.Pressure.Scope = "container"
	}
	u.Pressure.CPU = psiOf(p.HasCPU, &p.CPU)
	u.Pressure.Memory = psiOf(p.HasMemory, &p.Memory)
	u.Pressure.IO = psiOf(p.HasIO, &p.IO)
	return u
}

// processTableOf converts the process table; nil when nothing of it was
// read.
func processTableOf(t *procfs.ProcessTable) *ProcessTable {
	if !t.HasProcesses && !t.HasChildren && !t.HasThreads && !t.HasFDs && !t.HasFDLimit {
		return nil
	}
	out := &ProcessTable{
		PID:            t.PID,
		Processes:      ptr(t.HasProcesses, t.Processes),
		Zombies:        ptr(t.HasProcesses, t.Zombies),
		Children:       ptr(t.HasChildren, t.Children),
		ZombieChildren: ptr(t.HasChildren, t.ZombieChildren),
		Threads:        ptr(t.HasThreads, t.Threads),
		OpenFDs:        ptr(t.HasFDs, t.FDs),
	}
	if t.HasFDLimit {
		out.FDLimit = &RLimit{
			Soft: ptr(t.FDLimit.Soft != procfs.Unlimited, t.FDLimit.Soft),
			Hard: ptr(t.FDLimit.Hard != procfs.Unlimited, t.FDLimit.Hard),
		}
	}
	return out
}

func psiOf(ok bool, p *cgroup.PSI) *PSI {
	if !ok {
		return nil
	}
	line := func(l cgroup.PSILine) PSILine {
		return PSILine{Avg10: l.Avg10, Avg60: l.Avg60, Avg300: l.Avg300, TotalSeconds: seconds(l.Total)}
	}
	out := &PSI{Some: line(p.Some)}
	if p.HasFull {
		f := line(p.Full)
		out.Full = &f
	}
	return out
}

var mu sync.Mutex

// Publish publishes under name an expvar.Func whose value is taken afresh
// each time it is read (each request to /debug/vars), as Read takes it,
// through one runtimeinfo.Reader opened here with opts and kept for the
// life of the process (expvar has no unpublish): the cgroups are
// discovered once, detection runs once, and each request re-reads the
// files through the descriptors the Reader keeps (rediscovering if the
// process moved).
//
// It returns an error, instead of expvar's panic, when name is empty or
// already published, and when an option is invalid.
func Publish(name string, opts ...runtimeinfo.Option) error {
	if name == "" {
		return errors.New("rightsizeexpvar: empty name")
	}
	mu.Lock()
	defer mu.Unlock()
	if expvar.Get(name) != nil {
		return errors.New("rightsizeexpvar: " + name + " is already published")
	}
	r, err := runtimeinfo.NewReader(append(opts[:len(opts):len(opts)], runtimeinfo.WithFields(runtimeinfo.FieldAll))...)
	if err != nil {
		return err
	}
	expvar.Publish(name, expvar.Func(func() any { return read(r) }))
	return nil
}
