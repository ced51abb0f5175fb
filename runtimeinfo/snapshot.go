package runtimeinfo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/rightsize/rightsize/cgroup"
	"github.com/rightsize/rightsize/procfs"
)

// Downward API environment variables. Set them in the pod spec with
// resourceFieldRef (divisor 1m for CPU, 1 for memory). They are used for a
// resource only where the cgroup files show no limit for it or cannot be
// read: a visible cgroup limit wins, because these values are fixed at
// container start and go stale after an in-place resize.
const (
	EnvCPULimitMillis     = "RIGHTSIZE_CPU_LIMIT_MILLIS"
	EnvCPURequestMillis   = "RIGHTSIZE_CPU_REQUEST_MILLIS"
	EnvMemoryLimitBytes   = "RIGHTSIZE_MEMORY_LIMIT_BYTES"
	EnvMemoryRequestBytes = "RIGHTSIZE_MEMORY_REQUEST_BYTES"
)

// SourceKind says what kind of thing a value was read from.
type SourceKind string

const (
	SourceCgroup   SourceKind = "cgroup"   // a cgroup file
	SourceEnv      SourceKind = "env"      // a RIGHTSIZE_* or Go environment variable
	SourceProc     SourceKind = "proc"     // a /proc file (meminfo, status)
	SourceAffinity SourceKind = "affinity" // sched_getaffinity(2)
	SourceRuntime  SourceKind = "runtime"  // the Go runtime's own default
	SourceOption   SourceKind = "option"   // a rightsize option
	SourceNone     SourceKind = "none"     // nothing: no limit
)

// Source says where a value came from, so a person can see why.
type Source struct {
	Kind SourceKind `json:"kind"`
	// File is the file read, with the root prefix.
	File string `json:"file,omitempty"`
	// Env is the environment variable read.
	Env string `json:"env,omitempty"`
	// Raw is the content as read (for single-number cgroup files the
	// number as the kernel writes it; for cpu.max both fields).
	Raw string `json:"raw,omitempty"`
}

func (s Source) String() string {
	switch {
	case s.Env != "" && s.File != "":
		return s.File + ":" + s.Env + "=" + s.Raw
	case s.Env != "":
		return s.Env + "=" + s.Raw
	case s.File != "":
		return s.File + " (" + s.Raw + ")"
	case s.Raw != "":
		return string(s.Kind) + ": " + s.Raw
	}
	return string(s.Kind)
}

// CPU is an amount of CPU and its source.
type CPU struct {
	CPUs     float64 `json:"cpus"`
	MilliCPU int64   `json:"milliCPU"`
	// Quota and Period are the kernel's (µs), or millis and 1000 for an
	// environment value.
	Quota  int64 `json:"quota"`
	Period int64 `json:"period"`
	// Approx is set when the value was recovered from a v2 cpu.weight.
	Approx bool   `json:"approx,omitempty"`
	Source Source `json:"source"`
}

// Bytes is an amount of memory and its source.
type Bytes struct {
	Bytes  int64  `json:"bytes"`
	Source Source `json:"source"`
}

// Count is a count and its source.
type Count struct {
	N      int64  `json:"n"`
	Source Source `json:"source"`
}

// Snapshot is the effective resources of the process at one moment. A nil
// pointer means "none" (no limit, or not known).
type Snapshot struct {
	Root   string        `json:"root"`
	Layout cgroup.Layout `json:"layout"`
	// CPULimit is the smallest CPU quota over the process's cgroup and its
	// ancestors, or the Downward API value when the cgroup shows none.
	CPULimit *CPU `json:"cpuLimit,omitempty"`
	// CPURequest is the request recovered from cpu.shares / cpu.weight
	// (meaningful in Kubernetes), or the Downward API value.
	CPURequest *CPU `json:"cpuRequest,omitempty"`
	// CPUs is the number of CPUs the process may run on: its affinity
	// mask, bounded by the cgroup cpuset.
	CPUs Count `json:"cpus"`
	// NumCPU is runtime.NumCPU() (live root only).
	NumCPU int `json:"numCPU,omitempty"`
	// MemoryLimit is the smallest hard limit over the hierarchy, or the
	// Downward API value when the cgroup shows none.
	MemoryLimit *Bytes `json:"memoryLimit,omitempty"`
	// MemoryHigh is the v2 memory.high throttle limit.
	MemoryHigh *Bytes `json:"memoryHigh,omitempty"`
	// MemoryRequest comes from the Downward API only.
	MemoryRequest *Bytes `json:"memoryRequest,omitempty"`
	// HostMemory is MemTotal from /proc/meminfo.
	HostMemory *Bytes `json:"hostMemory,omitempty"`
	// PIDsLimit is the smallest pids.max over the hierarchy.
	PIDsLimit *Count `json:"pidsLimit,omitempty"`
	// Stats holds usage, working set, throttling, pids and pressure.
	Stats cgroup.Stats `json:"stats"`
	// Mode is the Go runtime's GOMAXPROCS mode.
	Mode RuntimeMode `json:"runtimeMode"`
	// Errors lists values that could not be read, each naming its file.
	Errors []string `json:"errors,omitempty"`

	cpuErr, memErr error
}

// Read takes a snapshot of the effective resources. Values that cannot be
// read are left out and their errors are listed in Snapshot.Errors and
// returned joined; outside Linux the error is cgroup.ErrNotSupported and
// only the CPU count and host-independent values are filled.
func Read(opts ...Option) (Snapshot, error) {
	cfg := newConfig(opts)
	r := newReader(&cfg)
	defer r.close()
	var errs []error
	snap := r.snapshot(&errs, true)
	if len(errs) > 0 {
		return snap, errors.Join(errs...)
	}
	return snap, nil
}

// reader holds what one Tune or Watch needs: the open cgroup handle and the
// values that do not change while the process runs (environment, host
// memory, affinity of a captured tree).
type reader struct {
	cfg  *config
	fs   procfs.FS
	live bool

	g       *cgroup.Group
	openErr error

	env  []string
	mode RuntimeMode

	host    *Bytes
	hostErr error

	statusCPUs int // non-live root: Cpus_allowed_list count
	statusRaw  string
	statusErr  error

	envCPU, envCPUReq *CPU
	envMem, envMemReq *Bytes
	envErrs           []error
}

func newReader(cfg *config) *reader {
	r := &reader{cfg: cfg, fs: procfs.NewFS(cfg.root)}
	r.live = r.fs.IsLive()
	switch {
	case cfg.envSet:
		r.env = cfg.env
	case r.live:
		r.env = os.Environ()
	default:
		env, err := r.fs.Environ("self")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.envErrs = append(r.envErrs, err)
		}
		r.env = env
	}
	r.mode = DetectRuntimeMode(r.env)
	if cfg.goVersion != "" || cfg.defaultGODEBUG != nil {
		v, d := cfg.goVersion, ""
		if v == "" {
			v = runtime.Version()
		}
		if cfg.defaultGODEBUG != nil {
			d = *cfg.defaultGODEBUG
		}
		gd, _ := procfs.Getenv(r.env, "GODEBUG")
		r.mode = detectMode(v, d, gd)
	}
	r.readEnvLimits()
	if mi, err := r.fs.Meminfo(); err == nil && mi.MemTotal > 0 {
		r.host = &Bytes{Bytes: mi.MemTotal, Source: Source{Kind: SourceProc, File: r.fs.Path("proc/meminfo"), Raw: "MemTotal: " + strconv.FormatInt(mi.MemTotal/1024, 10) + " kB"}}
	} else if err != nil && runtime.GOOS == "linux" {
		r.hostErr = err
	}
	if !r.live {
		st, err := r.fs.Status("self")
		if err != nil {
			r.statusErr = err
		} else {
			r.statusCPUs, r.statusRaw = st.CPUsAllowed, st.CPUsAllowedList
		}
	}
	r.reopen()
	return r
}

// reopen (re)discovers the cgroups.
func (r *reader) reopen() {
	if r.g != nil {
		r.g.Close()
		r.g = nil
	}
	g, err := cgroup.Open(cgroup.WithRoot(r.cfg.root))
	r.g, r.openErr = g, err
}

func (r *reader) close() {
	if r.g != nil {
		r.g.Close()
		r.g = nil
	}
}

func (r *reader) envSource(name, raw string) Source {
	s := Source{Kind: SourceEnv, Env: name, Raw: raw}
	if !r.live && !r.cfg.envSet {
		s.File = r.fs.Path("proc/self/environ")
	}
	return s
}

func (r *reader) readEnvLimits() {
	num := func(name string) (int64, string, bool) {
		v, ok := procfs.Getenv(r.env, name)
		if !ok || v == "" {
			return 0, "", false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			r.envErrs = append(r.envErrs, fmt.Errorf("%s=%q: not a positive integer; ignored", name, v))
			return 0, "", false
		}
		return n, v, true
	}
	if n, raw, ok := num(EnvCPULimitMillis); ok {
		r.envCPU = &CPU{CPUs: float64(n) / 1000, MilliCPU: n, Quota: n, Period: 1000, Source: r.envSource(EnvCPULimitMillis, raw)}
	}
	if n, raw, ok := num(EnvCPURequestMillis); ok {
		r.envCPUReq = &CPU{CPUs: float64(n) / 1000, MilliCPU: n, Quota: n, Period: 1000, Source: r.envSource(EnvCPURequestMillis, raw)}
	}
	if n, raw, ok := num(EnvMemoryLimitBytes); ok {
		r.envMem = &Bytes{Bytes: n, Source: r.envSource(EnvMemoryLimitBytes, raw)}
	}
	if n, raw, ok := num(EnvMemoryRequestBytes); ok {
		r.envMemReq = &Bytes{Bytes: n, Source: r.envSource(EnvMemoryRequestBytes, raw)}
	}
}

func (r *reader) cgPath(dir, file string) string {
	return filepath.Join(r.cfg.root, dir, file)
}

func cpuFromLimit(r *reader, l cgroup.CPULimit) *CPU {
	raw := strconv.FormatInt(l.Quota, 10) + " " + strconv.FormatInt(l.Period, 10)
	if l.File != "cpu.max" {
		raw = strconv.FormatInt(l.Quota, 10) + " (cpu.cfs_period_us " + strconv.FormatInt(l.Period, 10) + ")"
	}
	return &CPU{
		CPUs: l.CPUs, MilliCPU: l.Quota * 1000 / l.Period, Quota: l.Quota, Period: l.Period,
		Source: Source{Kind: SourceCgroup, File: r.cgPath(l.Dir, l.File), Raw: raw},
	}
}

func bytesFromLimit(r *reader, l cgroup.MemoryLimit) *Bytes {
	raw := strconv.FormatInt(l.Bytes, 10)
	if l.File == "memory.stat" {
		raw = "hierarchical_memory_limit " + raw
	}
	return &Bytes{Bytes: l.Bytes, Source: Source{Kind: SourceCgroup, File: r.cgPath(l.Dir, l.File), Raw: raw}}
}

// cpuLimit returns the effective CPU limit: the cgroup's, else the
// Downward API value.
func (r *reader) cpuLimit(errs *[]error) *CPU {
	if r.g != nil {
		l, ok, err := r.g.CPULimit()
		if err != nil {
			*errs = append(*errs, err)
		} else if ok {
			return cpuFromLimit(r, l)
		}
	}
	return r.envCPU
}

func (r *reader) memoryLimit(errs *[]error) *Bytes {
	if r.g != nil {
		l, ok, err := r.g.MemoryLimit()
		if err != nil {
			*errs = append(*errs, err)
		} else if ok {
			return bytesFromLimit(r, l)
		}
	}
	return r.envMem
}

func (r *reader) memoryHigh(errs *[]error) *Bytes {
	if r.g == nil {
		return nil
	}
	l, ok, err := r.g.MemoryHigh()
	if err != nil {
		*errs = append(*errs, err)
		return nil
	}
	if !ok {
		return nil
	}
	b := bytesFromLimit(r, l)
	return b
}

// cpus counts the CPUs the process may run on: the live affinity mask (or
// a captured tree's Cpus_allowed_list), bounded by the cgroup cpuset.
func (r *reader) cpus(errs *[]error) Count {
	var c Count
	if r.live {
		if n, ok := affinityCPUs(); ok {
			c = Count{N: int64(n), Source: Source{Kind: SourceAffinity, Raw: "sched_getaffinity: " + strconv.Itoa(n) + " CPUs"}}
		} else {
			c = Count{N: int64(runtime.NumCPU()), Source: Source{Kind: SourceRuntime, Raw: "runtime.NumCPU"}}
		}
	} else if r.statusCPUs > 0 {
		c = Count{N: int64(r.statusCPUs), Source: Source{Kind: SourceProc, File: r.fs.Path("proc/self/status"), Raw: "Cpus_allowed_list: " + r.statusRaw}}
	} else {
		if r.statusErr != nil {
			*errs = append(*errs, r.statusErr)
		}
		c = Count{N: int64(runtime.NumCPU()), Source: Source{Kind: SourceRuntime, Raw: "runtime.NumCPU (no Cpus_allowed_list in the tree)"}}
	}
	if r.g != nil {
		n, ok, err := r.g.CPUSetCPUs()
		if err != nil {
			*errs = append(*errs, err)
		} else if ok && int64(n) < c.N {
			loc, _ := r.g.Location(cgroup.CPUSet)
			file := "cpuset.effective_cpus"
			if loc.Version == 2 {
				file = "cpuset.cpus.effective"
			}
			c = Count{N: int64(n), Source: Source{Kind: SourceCgroup, File: r.cgPath(loc.Dir, file), Raw: strconv.Itoa(n) + " CPUs"}}
		}
	}
	return c
}

// leafCPU reads the CPU limit of the process's own cgroup only, the one
// the Go runtime reads. It allocates; it runs only when something changed.
func (r *reader) leafCPU() (CPUQuota, bool) {
	if r.g == nil {
		return CPUQuota{}, false
	}
	l, ok, err := r.g.LeafCPULimit()
	if err != nil || !ok {
		return CPUQuota{}, false
	}
	return CPUQuota{l.Quota, l.Period}, true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

func (r *reader) snapshot(errs *[]error, stats bool) Snapshot {
	s := Snapshot{Root: r.fs.Root(), Mode: r.mode}
	if r.live {
		s.NumCPU = runtime.NumCPU()
	}
	*errs = append(*errs, r.envErrs...)
	if r.openErr != nil {
		*errs = append(*errs, r.openErr)
	}
	if r.g != nil {
		s.Layout = r.g.Layout()
	} else {
		s.Layout = cgroup.LayoutNone
	}
	n := len(*errs)
	s.CPULimit = r.cpuLimit(errs)
	if len(*errs) > n {
		s.cpuErr = (*errs)[n]
	}
	s.CPUs = r.cpus(errs)
	if r.g != nil {
		req, ok, err := r.g.CPURequest()
		if err != nil {
			*errs = append(*errs, err)
		} else if ok {
			file, raw := "cpu.shares", strconv.FormatUint(req.Shares, 10)
			if req.Weight != 0 {
				file, raw = "cpu.weight", strconv.FormatUint(req.Weight, 10)
			}
			s.CPURequest = &CPU{CPUs: req.CPUs(), MilliCPU: req.MilliCPU, Quota: req.MilliCPU, Period: 1000, Approx: req.Approx,
				Source: Source{Kind: SourceCgroup, File: r.cgPath(req.Dir, file), Raw: raw}}
		}
	}
	if s.CPURequest == nil {
		s.CPURequest = r.envCPUReq
	}
	n = len(*errs)
	s.MemoryLimit = r.memoryLimit(errs)
	s.MemoryHigh = r.memoryHigh(errs)
	if len(*errs) > n {
		s.memErr = (*errs)[n]
	}
	s.MemoryRequest = r.envMemReq
	s.HostMemory = r.host
	if r.hostErr != nil {
		*errs = append(*errs, r.hostErr)
	}
	if r.g != nil {
		p, ok, err := r.g.PIDsLimit()
		if err != nil {
			*errs = append(*errs, err)
		} else if ok {
			s.PIDsLimit = &Count{N: p.Max, Source: Source{Kind: SourceCgroup, File: r.cgPath(p.Dir, "pids.max"), Raw: strconv.FormatInt(p.Max, 10)}}
		}
	}
	if r.g != nil && stats {
		if err := r.g.ReadStats(&s.Stats); err != nil {
			*errs = append(*errs, err)
		}
	}
	for _, e := range *errs {
		s.Errors = append(s.Errors, e.Error())
	}
	return s
}
