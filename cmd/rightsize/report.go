package main

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/rightsize/rightsize/cgroup"
	"github.com/rightsize/rightsize/detect"
	"github.com/rightsize/rightsize/procfs"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// schemaVersion is the version of the --json object. Fields may be added;
// existing ones never change meaning.
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
	Go            goReport     `json:"go"`
	Unknown       []string     `json:"unknown"`
	Warnings      []string     `json:"warnings"`
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
	Container    bool              `json:"container"`
	Runtime      *string           `json:"runtime"`
	Orchestrator *string           `json:"orchestrator"`
	Kubernetes   *kubernetes       `json:"kubernetes"`
	Evidence     []detect.Evidence `json:"evidence"`
}

type kubernetes struct {
	PodUID      *string `json:"podUID"`
	ContainerID *string `json:"containerID"`
	QOSClass    *string `json:"qosClass"`
	Namespace   *string `json:"namespace"`
}

type cpuReport struct {
	// Limit is quota/period, the minimum over the hierarchy, in CPUs.
	Limit     *float64 `json:"limit"`
	LimitPath *string  `json:"limitPath"`
	// CPUs is how many CPUs the process may run on (affinity, cpuset).
	CPUs *int `json:"cpus"`
	// Request is the Kubernetes CPU request in CPUs (null elsewhere).
	Request       *float64    `json:"request"`
	RequestApprox *bool       `json:"requestApprox"`
	UsageSeconds  *float64    `json:"usageSeconds"`
	Throttling    *throttling `json:"throttling"`
}

type throttling struct {
	Periods          uint64  `json:"periods"`
	ThrottledPeriods uint64  `json:"throttledPeriods"`
	ThrottledSeconds float64 `json:"throttledSeconds"`
}

type memoryReport struct {
	Limit      *int64        `json:"limit"`
	LimitPath  *string       `json:"limitPath"`
	High       *int64        `json:"high"`
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

type pressure struct {
	CPU    *psi `json:"cpu"`
	Memory *psi `json:"memory"`
	IO     *psi `json:"io"`
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
	GOMAXPROCS            *int   `json:"gomaxprocs"`
	GOMEMLIMIT            *int64 `json:"gomemlimit"`
	RecommendedGOMAXPROCS *int   `json:"recommendedGOMAXPROCS"`
	RecommendedGOMEMLIMIT *int64 `json:"recommendedGOMEMLIMIT"`
}

// sample is one reading: the report and what the human view shows besides.
type sample struct {
	report report
	at     time.Time
	live   bool
	// hostCPUs is the number of CPUs online on the host; 0 when unknown.
	hostCPUs int
	// memPeak is the cgroup's peak memory usage, when the kernel keeps it.
	memPeak *int64
	// procsReason and memReason explain the recommendations.
	procsReason, memReason string
	// usageDir is the cgroup CPU usage comes from when it is not the one
	// the CPU limit applies to (v1 cpuacct mounted apart from cpu, the
	// process in different cgroups of the two); "" otherwise.
	usageDir string
	// envGOMAXPROCS and envGOMEMLIMIT are set in the environment.
	envGOMAXPROCS, envGOMEMLIMIT string
	unknown                      map[string]bool
}

func ptr[T any](v T) *T { return &v }

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// writeJSON writes the report, indented or as one line.
func writeJSON(w io.Writer, r *report, indent bool) {
	var data []byte
	if indent {
		data, _ = json.MarshalIndent(r, "", "  ")
	} else {
		data, _ = json.Marshal(r)
	}
	w.Write(append(data, '\n'))
}

// collector builds one sample.
type collector struct {
	root string // absolute; "/" is the live system
	live bool
	s    sample
	g    *cgroup.Group
	seen map[string]bool // warnings already given
}

// collect reads everything below root once. It never fails: what cannot be
// read is null, listed in Unknown, and explained in a warning.
func collect(root string) sample {
	root = absRoot(root)
	c := &collector{root: root, live: root == "/", seen: map[string]bool{}}
	c.s = sample{at: time.Now(), live: c.live, unknown: map[string]bool{}}
	r := &c.s.report
	r.SchemaVersion = schemaVersion
	r.Cgroup.Layout = string(cgroup.LayoutNone)

	env := detect.Detect(detect.WithRoot(root))
	c.environment(env)

	g, err := cgroup.Open(cgroup.WithRoot(root))
	switch {
	case errors.Is(err, cgroup.ErrNotSupported):
		c.warn("cgroups are not supported on " + runtime.GOOS + ": only what the Go runtime knows is shown")
	case err != nil:
		c.fail(err, "cgroup.layout", "cgroup.cpu", "cgroup.memory",
			"cpu.limit", "cpu.limitPath", "cpu.usageSeconds", "cpu.throttling",
			"memory.limit", "memory.limitPath", "memory.high", "memory.usage", "memory.workingSet",
			"memory.swapLimit", "memory.events", "pids.limit", "pids.current", "pressure")
		if env.Kubernetes != nil {
			c.fail(nil, "cpu.request", "cpu.requestApprox")
		}
	default:
		c.g = g
		defer g.Close()
		c.cgroup(env.Kubernetes != nil)
	}
	c.recommend()
	c.hostCPUs()
	if c.live {
		r.Go.GOMAXPROCS = ptr(runtime.GOMAXPROCS(0))
		if v := debug.SetMemoryLimit(-1); v != math.MaxInt64 {
			r.Go.GOMEMLIMIT = ptr(v)
		}
	}

	r.Unknown = make([]string, 0, len(c.s.unknown))
	for k := range c.s.unknown {
		r.Unknown = append(r.Unknown, k)
	}
	sort.Strings(r.Unknown)
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	return c.s
}

// warn adds a warning once, with the root prefix removed from the paths it
// names so that it reads the same for a live system and its capture.
func (c *collector) warn(msg string) {
	msg = c.unroot(msg)
	if c.seen[msg] {
		return
	}
	c.seen[msg] = true
	c.s.report.Warnings = append(c.s.report.Warnings, msg)
}

// unroot removes the root prefix from the paths in msg.
func (c *collector) unroot(msg string) string {
	if c.live {
		return msg
	}
	return strings.ReplaceAll(msg, c.root+string(filepath.Separator), "/")
}

// fail records err as a warning (when not nil) and fields as unknown.
func (c *collector) fail(err error, fields ...string) {
	for _, e := range flatten(err) {
		c.warn(e.Error())
	}
	for _, f := range fields {
		c.s.unknown[f] = true
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

// relPath returns the file an error names, without the root prefix, or "".
func (c *collector) relPath(err error) string {
	var pe *procfs.Error
	if !errors.As(err, &pe) {
		return ""
	}
	p := filepath.ToSlash(pe.Path)
	if !c.live {
		p = strings.TrimPrefix(p, filepath.ToSlash(c.root))
	}
	return p
}

func (c *collector) environment(env detect.Env) {
	e := &c.s.report.Environment
	e.Container = env.Container
	e.Runtime = strOrNil(env.Runtime)
	e.Orchestrator = strOrNil(env.Orchestrator)
	if k := env.Kubernetes; k != nil {
		e.Kubernetes = &kubernetes{
			PodUID:      strOrNil(k.PodUID),
			ContainerID: strOrNil(k.ContainerID),
			QOSClass:    strOrNil(k.QOSClass),
			Namespace:   strOrNil(k.Namespace),
		}
	}
	e.Evidence = make([]detect.Evidence, 0, len(env.Evidence))
	for _, ev := range env.Evidence {
		ev.Detail = c.unroot(ev.Detail)
		e.Evidence = append(e.Evidence, ev)
	}
}

// cgroup reads the limits and usage of the process's cgroups.
func (c *collector) cgroup(inKubernetes bool) {
	g, r := c.g, &c.s.report
	r.Cgroup.Layout = string(g.Layout())
	degraded := map[string]bool{}
	for _, ctrl := range []cgroup.Controller{cgroup.CPU, cgroup.CPUAcct, cgroup.CPUSet, cgroup.Memory, cgroup.PIDs, cgroup.Unified} {
		loc, ok := g.Location(ctrl)
		if !ok {
			continue
		}
		switch ctrl {
		case cgroup.CPU:
			r.Cgroup.CPU = &cgroupLocation{Version: loc.Version, Path: loc.Dir}
		case cgroup.Memory:
			r.Cgroup.Memory = &cgroupLocation{Version: loc.Version, Path: loc.Dir}
		}
		if ctrl == cgroup.CPUAcct {
			if cpu, ok := g.Location(cgroup.CPU); ok && cpu.Path != loc.Path {
				c.s.usageDir = loc.Dir
			}
		}
		if loc.Degraded && !degraded[loc.Dir] {
			degraded[loc.Dir] = true
			c.warn("cgroup " + loc.MountPoint + ": the process's cgroup " + loc.Path + " is not below the mount's root " +
				loc.MountRoot + "; the mount point is read instead and limits set above it are not seen")
		}
	}

	if lim, ok, err := g.CPULimit(); err != nil {
		c.fail(err, "cpu.limit", "cpu.limitPath")
	} else if ok {
		r.CPU.Limit, r.CPU.LimitPath = ptr(lim.CPUs), ptr(lim.Dir)
	}
	if inKubernetes {
		// Outside Kubernetes shares and weights are relative weights,
		// not requests.
		if req, ok, err := g.CPURequest(); err != nil {
			c.fail(err, "cpu.request", "cpu.requestApprox")
		} else if ok {
			r.CPU.Request, r.CPU.RequestApprox = ptr(req.CPUs()), ptr(req.Approx)
		}
	}
	if lim, ok, err := g.MemoryLimit(); err != nil {
		c.fail(err, "memory.limit", "memory.limitPath")
	} else if ok {
		r.Memory.Limit, r.Memory.LimitPath = ptr(lim.Bytes), ptr(lim.Dir)
	}
	if lim, ok, err := g.MemoryHigh(); err != nil {
		c.fail(err, "memory.high")
	} else if ok {
		r.Memory.High = ptr(lim.Bytes)
	}
	if v, ok, err := g.SwapLimit(); err != nil {
		c.fail(err, "memory.swapLimit")
	} else if ok {
		r.Memory.SwapLimit = ptr(v)
	}
	if lim, ok, err := g.PIDsLimit(); err != nil {
		c.fail(err, "pids.limit")
	} else if ok {
		r.PIDs.Limit = ptr(lim.Max)
	}

	var st cgroup.Stats
	c.s.at = time.Now() // the moment of the counters, for rates
	err := g.ReadStats(&st)
	if st.CPU.HasUsage {
		r.CPU.UsageSeconds = ptr(st.CPU.Usage.Seconds())
	}
	if st.CPU.HasThrottling {
		t := st.CPU.Throttling
		r.CPU.Throttling = &throttling{Periods: t.Periods, ThrottledPeriods: t.ThrottledPeriods, ThrottledSeconds: t.ThrottledTime.Seconds()}
	}
	m := st.Memory
	if m.HasUsage {
		r.Memory.Usage = ptr(m.Usage)
	}
	if m.HasWorkingSet {
		r.Memory.WorkingSet = ptr(m.WorkingSet)
	}
	if m.HasPeak {
		c.s.memPeak = ptr(m.Peak)
	}
	if m.HasEvents {
		r.Memory.Events = &memoryEvents{High: m.Events.High, Max: m.Events.Max, OOM: m.Events.OOM, OOMKill: m.Events.OOMKill}
	}
	if st.PIDs.HasCurrent {
		r.PIDs.Current = ptr(st.PIDs.Current)
	}
	p := &pressure{}
	if st.Pressure.HasCPU {
		p.CPU = psiOf(st.Pressure.CPU)
	}
	if st.Pressure.HasMemory {
		p.Memory = psiOf(st.Pressure.Memory)
	}
	if st.Pressure.HasIO {
		p.IO = psiOf(st.Pressure.IO)
	}
	for _, e := range flatten(err) {
		var null []string
		for _, f := range c.statFields(c.relPath(e)) {
			if c.statIsNull(f, p) {
				null = append(null, f)
			}
		}
		c.fail(e, null...)
	}
	c.missingStats(p)
	if p.CPU != nil || p.Memory != nil || p.IO != nil ||
		c.s.unknown["pressure.cpu"] || c.s.unknown["pressure.memory"] || c.s.unknown["pressure.io"] {
		r.Pressure = p
	}
}

// missingStats finds usage fields that came out null because their file
// is missing: ReadStats treats a missing file as "not available" and says
// nothing. A file that every cgroup of the controller has (cpuacct.usage,
// v2 cpu.stat, memory.stat, v1 memory.usage_in_bytes), or one missing
// beside a file that only non-root cgroups have too (memory.current beside
// memory.max, pids.current beside pids.max), is not normal to miss.
func (c *collector) missingStats(p *pressure) {
	r, u := &c.s.report, c.s.unknown
	exists := func(dir, name string) bool {
		_, err := os.Stat(filepath.Join(c.root, filepath.FromSlash(dir), name))
		return err == nil
	}
	missing := func(dir, name string, fields ...string) {
		c.warn(path.Join(dir, name) + ": file does not exist")
		for _, f := range fields {
			if c.statIsNull(f, p) {
				u[f] = true
			}
		}
	}
	if loc, ok := c.g.Location(cgroup.CPUAcct); ok && r.CPU.UsageSeconds == nil && !u["cpu.usageSeconds"] {
		name := "cpuacct.usage"
		if loc.Version == 2 {
			name = "cpu.stat"
		}
		if !exists(loc.Dir, name) {
			missing(loc.Dir, name, "cpu.usageSeconds")
		}
	}
	if loc, ok := c.g.Location(cgroup.Memory); ok {
		usage, limit := "memory.usage_in_bytes", "memory.limit_in_bytes"
		if loc.Version == 2 {
			usage, limit = "memory.current", "memory.max"
		}
		switch {
		case r.Memory.Usage == nil && !u["memory.usage"]:
			if !exists(loc.Dir, usage) && (loc.Version == 1 || exists(loc.Dir, limit)) {
				missing(loc.Dir, usage, "memory.usage", "memory.workingSet", "memory.events")
			}
		case r.Memory.WorkingSet == nil && !u["memory.workingSet"]:
			if !exists(loc.Dir, "memory.stat") {
				missing(loc.Dir, "memory.stat", "memory.workingSet", "memory.events")
			}
		}
	}
	if loc, ok := c.g.Location(cgroup.PIDs); ok && r.PIDs.Current == nil && !u["pids.current"] {
		if !exists(loc.Dir, "pids.current") && exists(loc.Dir, "pids.max") {
			missing(loc.Dir, "pids.current", "pids.current")
		}
	}
}

func psiOf(p cgroup.PSI) *psi {
	line := func(l cgroup.PSILine) psiLine {
		return psiLine{Avg10: l.Avg10, Avg60: l.Avg60, Avg300: l.Avg300, TotalSeconds: float64(l.TotalMicros) / 1e6}
	}
	out := &psi{Some: line(p.Some)}
	if p.HasFull {
		out.Full = ptr(line(p.Full))
	}
	return out
}

// statFields names the usage fields that file rel feeds, directly or
// because ReadStats stops reading a controller's files at the first
// failure. A directory (the cgroup was removed) feeds every usage field of
// the controllers there.
func (c *collector) statFields(rel string) []string {
	if rel == "" {
		return nil
	}
	dir, base := path.Dir(rel), path.Base(rel)
	at := func(ctrl cgroup.Controller, d string) bool {
		loc, ok := c.g.Location(ctrl)
		return ok && loc.Dir == d
	}
	var out []string
	switch base {
	case "cpuacct.usage":
		out = append(out, "cpu.usageSeconds")
	case "cpu.stat":
		if loc, ok := c.g.Location(cgroup.CPUAcct); ok && loc.Version == 2 && loc.Dir == dir {
			out = append(out, "cpu.usageSeconds")
		}
		if at(cgroup.CPU, dir) {
			out = append(out, "cpu.throttling")
		}
	case "memory.current", "memory.usage_in_bytes":
		out = append(out, "memory.usage", "memory.workingSet", "memory.events")
	case "memory.stat":
		out = append(out, "memory.workingSet", "memory.events")
	case "memory.peak", "memory.max_usage_in_bytes", "memory.events", "memory.failcnt", "memory.oom_control":
		out = append(out, "memory.events")
	case "pids.current":
		out = append(out, "pids.current")
	case "cpu.pressure":
		out = append(out, "pressure.cpu")
	case "memory.pressure":
		out = append(out, "pressure.memory")
	case "io.pressure":
		out = append(out, "pressure.io")
	default:
		if at(cgroup.CPUAcct, rel) {
			out = append(out, "cpu.usageSeconds")
		}
		if at(cgroup.CPU, rel) {
			out = append(out, "cpu.throttling")
		}
		if at(cgroup.Memory, rel) {
			out = append(out, "memory.usage", "memory.workingSet", "memory.events")
		}
		if at(cgroup.PIDs, rel) {
			out = append(out, "pids.current")
		}
		if at(cgroup.Unified, rel) {
			out = append(out, "pressure.cpu", "pressure.memory", "pressure.io")
		}
	}
	return out
}

func (c *collector) statIsNull(field string, p *pressure) bool {
	r := &c.s.report
	switch field {
	case "cpu.usageSeconds":
		return r.CPU.UsageSeconds == nil
	case "cpu.throttling":
		return r.CPU.Throttling == nil
	case "memory.usage":
		return r.Memory.Usage == nil
	case "memory.workingSet":
		return r.Memory.WorkingSet == nil
	case "memory.events":
		return r.Memory.Events == nil
	case "pids.current":
		return r.PIDs.Current == nil
	case "pressure.cpu":
		return p.CPU == nil
	case "pressure.memory":
		return p.Memory == nil
	case "pressure.io":
		return p.IO == nil
	}
	return false
}

// recommend fills the CPUs the process may run on, host memory and the
// GOMAXPROCS and GOMEMLIMIT rightsize would set, from the same code Tune
// runs.
func (c *collector) recommend() {
	r := &c.s.report
	env, opts := c.policyOptions()
	c.s.envGOMAXPROCS, _ = procfs.Getenv(env, "GOMAXPROCS")
	c.s.envGOMEMLIMIT, _ = procfs.Getenv(env, "GOMEMLIMIT")
	rec, err := runtimeinfo.Recommend(append([]runtimeinfo.Option{runtimeinfo.WithRoot(c.root), runtimeinfo.WithLogger(nil)}, opts...)...)
	for _, e := range flatten(err) {
		if errors.Is(e, cgroup.ErrNotSupported) {
			continue
		}
		switch p := c.relPath(e); {
		case p == "/proc/self/status" || strings.HasPrefix(path.Base(p), "cpuset."):
			c.fail(e, "cpu.cpus")
		case p == "/proc/meminfo":
			c.fail(e, "memory.hostTotal")
		default:
			// The cgroup files were read above, with the fields they
			// feed; what is left (the environment) is a warning.
			c.fail(e)
		}
	}
	snap := rec.Snapshot
	if !c.s.unknown["cpu.cpus"] && snap.CPUs.N > 0 {
		r.CPU.CPUs = ptr(int(snap.CPUs.N))
	}
	if snap.HostMemory != nil {
		r.Memory.HostTotal = ptr(snap.HostMemory.Bytes)
	}
	c.s.procsReason, c.s.memReason = rec.ProcsReason, rec.MemReason
	u := c.s.unknown
	switch {
	case rec.GOMAXPROCS > 0 && r.CPU.CPUs != nil:
		r.Go.RecommendedGOMAXPROCS = ptr(rec.GOMAXPROCS)
	case u["cpu.limit"] || u["cpu.cpus"] || u["cgroup.layout"]:
		u["go.recommendedGOMAXPROCS"] = true
	}
	switch {
	case rec.GOMEMLIMIT > 0:
		r.Go.RecommendedGOMEMLIMIT = ptr(rec.GOMEMLIMIT)
	case u["memory.limit"] || u["memory.high"] || u["cgroup.layout"]:
		u["go.recommendedGOMEMLIMIT"] = true
	}
}

// policyOptions reads the environment a program with the blank import
// would see (the live one, or the tree's proc/self/environ) and turns the
// RIGHTSIZE_* policy variables into options, as the blank import does;
// invalid values leave the default, as there.
func (c *collector) policyOptions() ([]string, []runtimeinfo.Option) {
	var env []string
	if c.live {
		env = os.Environ()
	} else {
		env, _ = procfs.NewFS(c.root).Environ("self")
	}
	opts, _ := runtimeinfo.OptionsFromEnv(env)
	return env, opts
}

// hostCPUs counts the CPUs online on the host (for the human view only).
func (c *collector) hostCPUs() {
	data, err := procfs.NewFS(c.root).ReadFile(hostCPUsFile, 4096)
	if err != nil {
		return
	}
	if n, err := procfs.ParseCPUList(data); err == nil {
		c.s.hostCPUs = n
	}
}

// absRoot makes root absolute and clean, so that every path read below it,
// and every error naming one, starts with root + "/".
func absRoot(root string) string {
	if root == "" || root == "/" {
		return "/" // the live system, on every GOOS
	}
	if abs, err := filepath.Abs(root); err == nil {
		return abs
	}
	return filepath.Clean(root)
}

// hostCPUsFile lists the CPUs online on the host.
const hostCPUsFile = "sys/devices/system/cpu/online"
