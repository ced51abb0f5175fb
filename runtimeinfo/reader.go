package runtimeinfo

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/rightsize/rightsize/cgroup"
	"github.com/rightsize/rightsize/detect"
	"github.com/rightsize/rightsize/procfs"
	"github.com/rightsize/rightsize/reaper"
)

// Reader is the one place that knows what the process really has. It
// discovers the cgroups once (NewReader), then refreshes a caller-owned
// Snapshot on every Read through the descriptors it keeps, allocating
// nothing when every read succeeds. It alone owns the precedence rules:
// the minimum over the cgroup hierarchy, the affinity mask bounded by the
// cpuset, the Downward API where the cgroup shows nothing, the CPU request
// rule, and rediscovery when the process moves or its cgroup disappears.
//
// Tune, Watch, Start, Recommend, the blank import, the rightsize command
// and the exporters all read through a Reader, so they cannot disagree.
// A Reader is safe for concurrent use.
type Reader struct {
	mu     sync.Mutex
	cfg    config
	fs     procfs.FS
	live   bool
	closed bool

	g       *cgroup.Group
	openErr error
	fresh   bool // discovered since the last Read: no need to check for a move
	broken  bool // rediscover before the next Read
	// A discovery that failed is retried with backoff (1 s, doubling to
	// maxReopenWait): a watcher running on Downward API values where the
	// cgroups cannot be read does not rediscover, and allocate, every tick.
	openFails int
	retryAt   time.Time

	env  []string
	mode RuntimeMode

	hostRead bool
	host     Bytes
	hostErr  error

	statusCPUs int // non-live root: Cpus_allowed_list count
	statusErr  error

	envCPU, envCPUReq       CPU
	envMem, envMemReq       Bytes
	hasEnvCPU, hasEnvCPUReq bool
	hasEnvMem, hasEnvMemReq bool
	envErrs                 []error

	detected bool
	environ  detect.Env

	scanner *procfs.Scanner // FieldProcesses; opened at the first Read
	noProcs bool            // a tree without the process table's files
}

// NewReader discovers the process's cgroups (or those of the tree given
// with WithRoot) and reads what does not change while the process runs:
// the environment, the runtime's GOMAXPROCS mode, and for a captured tree
// the CPUs the process may run on. It fails only for an invalid option:
// what cannot be read is reported by each Read.
func NewReader(opts ...Option) (*Reader, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return newReader(cfg), nil
}

func newReader(cfg config) *Reader {
	r := &Reader{cfg: cfg, fs: procfs.NewFS(cfg.root)}
	r.live = r.fs.IsLive()
	env, err := environ(&r.cfg)
	r.env = env
	if err != nil {
		r.envErrs = append(r.envErrs, err)
	}
	r.mode = detectRuntimeMode(r.env)
	if cfg.goVersion != "" || cfg.defaultGODEBUG != nil {
		r.mode = r.testMode()
	}
	r.readDownwardAPI()
	for _, w := range cfg.warnings {
		// An unusable RIGHTSIZE_* setting (WithEnvConfig): the default
		// applies; every Read reports it, as a bad Downward API value.
		r.envErrs = append(r.envErrs, errors.New(w))
	}
	if !r.live {
		if st, err := r.fs.Status("self"); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				r.statusErr = err
			}
		} else {
			r.statusCPUs = st.CPUsAllowed
		}
	}
	if cfg.fields&FieldRequests != 0 {
		r.detect()
	}
	r.reopen()
	return r
}

func (r *Reader) testMode() RuntimeMode {
	v, d := r.cfg.goVersion, ""
	if v == "" {
		v = runtime.Version()
	}
	if r.cfg.defaultGODEBUG != nil {
		d = *r.cfg.defaultGODEBUG
	}
	gd, _ := procfs.Getenv(r.env, "GODEBUG")
	return detectMode(v, d, gd)
}

// detect runs environment detection once (cached process-wide for the
// live system by package detect).
func (r *Reader) detect() {
	if r.detected {
		return
	}
	r.detected = true
	if r.live {
		r.environ = detect.Environment()
	} else {
		r.environ = detect.Detect(detect.WithRoot(r.fs.Root()))
	}
}

// Environment returns what package detect concluded about the process's
// environment (container, runtime, Kubernetes), detected once per Reader.
func (r *Reader) Environment() detect.Env {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.detect()
	return r.environ
}

// Environ returns the environment the Reader reads variables from (in
// os.Environ form): WithEnviron's, the process's, or a captured tree's.
func (r *Reader) Environ() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.env
}

// reopen (re)discovers the cgroups.
func (r *Reader) reopen() {
	if r.g != nil {
		r.g.Close()
		r.g = nil
	}
	r.g, r.openErr = cgroup.Open(cgroup.WithRoot(r.cfg.root))
	r.fresh, r.broken = true, false
	if r.g != nil {
		r.openFails = 0
		return
	}
	r.openFails++
	r.retryAt = time.Now().Add(min(time.Second<<min(r.openFails-1, 6), maxReopenWait))
}

// maxReopenWait bounds the backoff between discoveries that fail.
const maxReopenWait = time.Minute

// Close releases the cgroup descriptors. Read on a closed Reader is an
// error.
func (r *Reader) Close() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.g != nil {
		r.g.Close()
		r.g = nil
	}
	if r.scanner != nil {
		r.scanner.Close()
		r.scanner = nil
	}
	return nil
}

var errReaderClosed = errors.New("runtimeinfo: the Reader is closed")

func (r *Reader) envSource(name string) Source {
	s := Source{Kind: SourceEnv, Env: name}
	if r.cfg.envFile {
		s.Path = "/proc/self/environ"
	}
	return s
}

// readDownwardAPI takes the RIGHTSIZE_* Downward API values: positive
// integers; anything else is an error naming the variable, reported by
// every Read and logged once by the watcher.
func (r *Reader) readDownwardAPI() {
	num := func(name string) (int64, bool) {
		v, ok := procfs.Getenv(r.env, name)
		if !ok || v == "" {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			r.envErrs = append(r.envErrs, fmt.Errorf("%s=%q: not a positive integer; ignored", name, v))
			return 0, false
		}
		return n, true
	}
	if n, ok := num(EnvCPULimitMillis); ok {
		r.envCPU, r.hasEnvCPU = cpuFromMillis(n, r.envSource(EnvCPULimitMillis)), true
	}
	if n, ok := num(EnvCPURequestMillis); ok {
		r.envCPUReq, r.hasEnvCPUReq = cpuFromMillis(n, r.envSource(EnvCPURequestMillis)), true
	}
	if n, ok := num(EnvMemoryLimitBytes); ok {
		r.envMem, r.hasEnvMem = Bytes{Bytes: n, Source: r.envSource(EnvMemoryLimitBytes)}, true
	}
	if n, ok := num(EnvMemoryRequestBytes); ok {
		r.envMemReq, r.hasEnvMemReq = Bytes{Bytes: n, Source: r.envSource(EnvMemoryRequestBytes)}, true
	}
}

func cpuOf(l cgroup.CPULimit) CPU {
	return CPU{CPUs: l.CPUs, Quota: l.Quota, Period: l.Period, Source: Source{Kind: SourceCgroup, Path: l.Path}}
}

func bytesOf(l cgroup.MemoryLimit) Bytes {
	return Bytes{Bytes: l.Bytes, Source: Source{Kind: SourceCgroup, Path: l.Path, Key: l.Key}}
}

// Read refreshes s. Values that cannot be read are absent and their errors
// are in s.Errors (the returned error joins them). It allocates nothing
// when every read succeeds and the process has not moved. When the process
// moved or its cgroup was removed, Read discovers again at once; when
// discovery itself failed, it tries again after 1 s, then after twice as
// long each time, up to a minute, and reports the failure meanwhile.
func (r *Reader) Read(s *Snapshot) error {
	if s == nil {
		return errors.New("runtimeinfo: Read into a nil *Snapshot")
	}
	if r == nil {
		return errors.New("runtimeinfo: Read on a nil *Reader")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errReaderClosed
	}
	r.read(s)
	return s.Err()
}

func (r *Reader) read(s *Snapshot) {
	errs := s.Errors[:0]
	// Cleared in place, then filled: a composite literal here was built
	// in a 2 KB temporary on the stack first.
	*s = Snapshot{}
	s.Root, s.Layout, s.Mode = r.fs.Root(), cgroup.LayoutNone, r.mode
	add := func(err error) { errs = append(errs, err) }
	for _, e := range r.envErrs {
		add(e)
	}

	// Rediscover when the process moved or a read found its cgroup gone.
	if r.g != nil && !r.fresh && !r.broken {
		if moved, err := r.g.Moved(); err != nil || moved {
			r.broken = true
		}
	}
	if r.broken || (r.g == nil && !errors.Is(r.openErr, cgroup.ErrNotSupported) && !r.fresh && !time.Now().Before(r.retryAt)) {
		r.reopen()
	}
	r.fresh = false
	g := r.g
	if r.openErr != nil {
		add(r.openErr)
		s.cpuErr, s.memErr = true, true
	}
	if g != nil {
		s.Layout = g.Layout()
		for c := range s.locs {
			s.locs[c].Location, s.locs[c].ok = g.Location(cgroup.Controller(c))
		}
	}
	fail := func(err error) {
		add(err)
		if errors.Is(err, cgroup.ErrRemoved) {
			r.broken = true
		}
	}

	// CPU limit: the cgroup's, else the Downward API's.
	if g != nil {
		if l, ok, err := g.CPULimit(); err != nil {
			fail(err)
			s.cpuErr = true
		} else if ok {
			s.CPULimit, s.HasCPULimit = cpuOf(l), true
		}
		if l, ok, err := g.LeafCPULimit(); err == nil && ok {
			s.LeafCPULimit, s.HasLeafCPULimit = cpuOf(l), true
		}
	}
	if !s.HasCPULimit && r.hasEnvCPU {
		s.CPULimit, s.HasCPULimit = r.envCPU, true
	}

	// CPUs: affinity (or the tree's Cpus_allowed_list) bounded by the
	// cpuset.
	switch {
	case r.live:
		if n, ok := affinityCPUs(); ok {
			s.CPUs = Count{N: int64(n), Source: Source{Kind: SourceAffinity}}
		} else {
			s.CPUs = Count{N: int64(runtime.NumCPU()), Source: Source{Kind: SourceRuntime}}
		}
	case r.statusCPUs > 0:
		s.CPUs = Count{N: int64(r.statusCPUs), Source: Source{Kind: SourceProc, Path: "/proc/self/status", Key: "Cpus_allowed_list"}}
	default:
		if r.statusErr != nil {
			add(r.statusErr)
		}
		s.CPUs = Count{N: int64(runtime.NumCPU()), Source: Source{Kind: SourceRuntime}}
	}
	if g != nil {
		if c, ok, err := g.CPUSetCPUs(); err != nil {
			fail(err)
		} else if ok && int64(c.CPUs) < s.CPUs.N {
			s.CPUs = Count{N: int64(c.CPUs), Source: Source{Kind: SourceCgroup, Path: c.Path}}
		}
	}

	// Memory: the cgroup's limit, else the Downward API's; memory.high.
	if g != nil {
		if l, ok, err := g.MemoryLimit(); err != nil {
			fail(err)
			s.memErr = true
		} else if ok {
			s.MemoryLimit, s.HasMemoryLimit = bytesOf(l), true
		}
		if l, ok, err := g.MemoryHigh(); err != nil {
			fail(err)
			s.memErr = true
		} else if ok {
			s.MemoryHigh, s.HasMemoryHigh = bytesOf(l), true
		}
	}
	if !s.HasMemoryLimit && r.hasEnvMem {
		s.MemoryLimit, s.HasMemoryLimit = r.envMem, true
	}
	if s.HasMemoryLimit || s.HasMemoryHigh || r.cfg.fields != 0 {
		r.readHost()
		if r.hostErr != nil && runtime.GOOS == "linux" {
			add(r.hostErr)
		}
		s.HostMemory, s.HasHostMemory = r.host, r.host.Bytes > 0
	}

	if r.cfg.fields&FieldRequests != 0 {
		if g != nil && r.environ.HasKubernetes {
			if req, ok, err := g.CPURequest(); err != nil {
				fail(err)
			} else if ok {
				s.CPURequest = cpuFromMillis(req.MilliCPU, Source{Kind: SourceCgroup, Path: req.Path})
				s.CPURequest.Approx = req.Approx
				s.HasCPURequest = true
			}
		}
		if !s.HasCPURequest && r.hasEnvCPUReq {
			s.CPURequest, s.HasCPURequest = r.envCPUReq, true
		}
		s.MemoryRequest, s.HasMemoryRequest = r.envMemReq, r.hasEnvMemReq
	}
	if r.cfg.fields&FieldPIDs != 0 && g != nil {
		if p, ok, err := g.PIDsLimit(); err != nil {
			fail(err)
		} else if ok {
			s.PIDsLimit = Count{N: p.Max, Source: Source{Kind: SourceCgroup, Path: p.Path}}
			s.HasPIDsLimit = true
		}
	}
	if r.cfg.fields&FieldUsage != 0 && g != nil {
		if l, ok, err := g.SwapLimit(); err != nil {
			fail(err)
		} else if ok {
			s.SwapLimit, s.HasSwapLimit = bytesOf(l), true
		}
		if err := g.ReadStats(&s.Stats, cgroup.StatsAll); err != nil {
			for _, e := range flatten(err) {
				fail(e)
			}
		}
		if acct, ok := g.Location(cgroup.CPUAcct); ok {
			if cpu, ok := g.Location(cgroup.CPU); ok && cpu.Path != acct.Path {
				s.CPUUsageElsewhere = true
			}
		}
	}
	if r.cfg.fields&FieldProcesses != 0 {
		r.readProcesses(s, add)
	}
	s.Errors = errs
}

// readProcesses fills the process table and the reaper's state. The
// Scanner keeps /proc's directories open: a refresh allocates nothing on
// the live system.
func (r *Reader) readProcesses(s *Snapshot, add func(error)) {
	if r.live && runtime.GOOS != "linux" {
		return // no /proc: nothing to report, and not an error
	}
	if r.scanner == nil && !r.noProcs {
		// Opened at the first Read, and again at the next while it fails
		// (a /proc that is not mounted yet). A captured tree without the
		// process table's files has none, for good: not an error, and
		// not tried again (a failed open allocates its error).
		var err error
		r.scanner, err = r.fs.NewScanner()
		switch {
		case err == nil:
		case !r.live && errors.Is(err, fs.ErrNotExist):
			r.noProcs = true
		default:
			add(err)
		}
	}
	if r.scanner != nil {
		err := r.scanner.ProcessTable(&s.ProcessTable)
		t := &s.ProcessTable
		s.HasProcessTable = t.HasProcesses || t.HasChildren || t.HasThreads || t.HasFDs || t.HasFDLimit
		for _, e := range flatten(err) {
			// A captured tree without the process table's files has
			// none: not an error, as a tree without status has no
			// Cpus_allowed_list.
			if !r.live && errors.Is(e, fs.ErrNotExist) {
				continue
			}
			add(e)
		}
	}
	if r.live {
		rp := reaper.Current()
		s.Reaper = ReaperState{Active: rp.Active(), Mode: rp.Mode().String(), Reason: rp.Reason(), Reaped: rp.Reaped()}
	}
}

// readHost reads host memory once: it does not change while the process
// runs.
func (r *Reader) readHost() {
	if r.hostRead {
		return
	}
	r.hostRead = true
	if r.live {
		// sysinfo(2) gives the same total as /proc/meminfo's MemTotal
		// (both are the kernel's totalram) in one cheap call, where
		// generating meminfo costs tens of microseconds.
		if n, ok := hostMemory(); ok {
			r.host = Bytes{Bytes: n, Source: Source{Kind: SourceSysinfo}}
			return
		}
	}
	mi, err := r.fs.Meminfo()
	if err != nil {
		// A captured tree without /proc/meminfo has no host memory, as
		// one without status has no Cpus_allowed_list: not an error.
		if runtime.GOOS == "linux" && !(errors.Is(err, fs.ErrNotExist) && !r.live) {
			r.hostErr = err
		}
		return
	}
	if mi.MemTotal > 0 {
		r.host = Bytes{Bytes: mi.MemTotal, Source: Source{Kind: SourceProc, Path: "/proc/meminfo", Key: "MemTotal"}}
	}
}

// flatten lists the errors joined in err.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// memoryStatsSet is what the watcher reads besides the limits when it
// estimates memory beyond the Go heap or watches for memory pressure:
// usage and memory.stat, memory.events, and the pressure files.
const memoryStatsSet = cgroup.StatsMemory | cgroup.StatsMemoryEvents | cgroup.StatsPressure

// readMemoryStats refreshes s.Stats with memoryStatsSet, unless the
// Reader's fields already made read fill every statistic. r.mu is held. It
// allocates nothing when the reads succeed.
func (r *Reader) readMemoryStats(s *Snapshot) {
	if r.g == nil || r.cfg.fields&FieldUsage != 0 {
		return
	}
	if err := r.g.ReadStats(&s.Stats, memoryStatsSet); err != nil {
		for _, e := range flatten(err) {
			s.Errors = append(s.Errors, e)
		}
	}
}
