package main

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"path"
	"runtime"
	"runtime/debug"
	"sort"
	"time"

	"github.com/rightsize/rightsize/cgroup"
	"github.com/rightsize/rightsize/detect"
	"github.com/rightsize/rightsize/internal/rootfs"
	"github.com/rightsize/rightsize/procfs"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// source is what the command reads through: ONE runtimeinfo.Reader, opened
// once (for --watch once for the whole run) and refreshed for every sample.
// The Reader gives the limits, the requests, the usage statistics, where
// the process's cgroups are, the process table, the environment detection
// and the recommendations; the command applies no rule of its own to them.
// Two things come from elsewhere, because the Reader has no such value:
// the number of CPUs online on the host (hostCPUsFile, read once here, for
// the human view only) and, with --pid, the process table (tableOf).
type source struct {
	root rootfs.Root
	live bool
	pid  int // --pid: the process the process table describes; 0 for "self"
	r    *runtimeinfo.Reader
	env  detect.Env
	snap runtimeinfo.Snapshot

	hostCPUs    int   // CPUs online on the host; 0 when unknown
	hostCPUsErr error // reading them failed (not "does not exist")
}

// openSource opens the Reader for root ("/" is the live system). pid > 0
// (--pid) makes the process table describe that process rather than the
// Reader's "self".
func openSource(root string, pid int) (*source, error) {
	rt := rootfs.New(root)
	fields := runtimeinfo.FieldAll
	if pid > 0 {
		fields &^= runtimeinfo.FieldProcesses // read by tableOf instead
	}
	r, err := runtimeinfo.NewReader(
		runtimeinfo.WithRoot(rt.Dir()),
		runtimeinfo.WithFields(fields),
		runtimeinfo.WithEnvConfig(),
		runtimeinfo.WithLogger(nil),
	)
	if err != nil {
		return nil, err
	}
	s := &source{root: rt, live: rt.IsLive(), pid: pid, r: r}
	s.env = r.Environment()
	s.readHostCPUs()
	return s, nil
}

// Close releases the Reader's descriptors.
func (s *source) Close() { s.r.Close() }

// locator is where the process's cgroups are: the snapshot's view of them.
type locator interface {
	Location(cgroup.Controller) (cgroup.Location, bool)
}

// locationsOf returns the snapshot as a locator, or nil when discovery
// found no cgroup (or failed).
func locationsOf(snap *runtimeinfo.Snapshot) locator {
	for c := cgroup.CPU; c <= cgroup.Unified; c++ {
		if _, ok := snap.Location(c); ok {
			return snap
		}
	}
	return nil
}

// readHostCPUs counts the CPUs online on the host (for the human view).
func (s *source) readHostCPUs() {
	data, err := s.root.ReadFile(hostCPUsFile, 4096)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.hostCPUsErr = err
		}
		return
	}
	if n, err := procfs.ParseCPUList(data); err == nil && n > 0 {
		s.hostCPUs = n
	} else if err != nil {
		s.hostCPUsErr = &rootfs.Error{Path: s.root.Join(hostCPUsFile), Err: err}
	}
}

// hostCPUsFile lists the CPUs online on the host.
const hostCPUsFile = "/sys/devices/system/cpu/online"

// sample is one reading: the report and what the human view shows besides.
type sample struct {
	report report
	at     time.Time
	live   bool
	// pidFlag: the process table describes the process --pid named.
	pidFlag bool
	// hostCPUs is the number of CPUs online on the host; 0 when unknown.
	hostCPUs int
	// memPeak is the cgroup's peak memory usage, when the kernel keeps it.
	memPeak *int64
	// usageDir is the cgroup CPU usage comes from when it is not the one
	// the CPU limit applies to; "" otherwise.
	usageDir string
	// limitEnv and memLimitEnv name the Downward API variable a limit
	// came from.
	cpuLimitEnv, memLimitEnv string
	// cpusFrom is the source of the Reader's CPU count, as its reasons
	// write it ("affinity", "proc /proc/self/status Cpus_allowed_list").
	// cpusetErr: a cpuset file could not be read, so the count is the
	// Reader's fallback, which the human view then names.
	cpusFrom  string
	cpusetErr bool
	// memBelowFloor: the policy computed a GOMEMLIMIT below
	// runtimeinfo.MinGOMEMLIMIT from a memory limit, which is not a
	// recommendation.
	memBelowFloor bool
	// envGOMAXPROCS and envGOMEMLIMIT are set in the environment.
	envGOMAXPROCS, envGOMEMLIMIT string
	unknown                      map[string]bool
}

// collect opens a source for root, takes one sample and closes it.
func collect(root string, pid int) (sample, error) {
	src, err := openSource(root, pid)
	if err != nil {
		return sample{}, err
	}
	defer src.Close()
	return src.sample(), nil
}

// collectContext is collect bounded by ctx: it returns ctx's error when
// ctx ends first (the reading goes on in the background and its result is
// dropped; the command exits soon after).
func collectContext(ctx context.Context, root string, pid int) (sample, error) {
	type result struct {
		s   sample
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := collect(root, pid)
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		return r.s, r.err
	case <-ctx.Done():
		return sample{}, ctx.Err()
	}
}

// sample refreshes the Reader's snapshot and builds a sample from it. It
// never fails: what cannot be read is null, listed in Unknown, and
// explained in a warning.
func (s *source) sample() sample {
	_ = s.r.Read(&s.snap) // the errors are in s.snap.Errors
	at := time.Now()      // the moment of the counters, for rates
	procs, mem := s.r.Recommend(&s.snap)
	snap := &s.snap

	c := &collector{src: s, g: locationsOf(snap), seen: map[string]bool{}}
	c.s = sample{at: at, live: s.live, pidFlag: s.pid > 0, hostCPUs: s.hostCPUs, unknown: map[string]bool{}}
	r := &c.s.report
	r.SchemaVersion = schemaVersion
	r.Cgroup.Layout = string(snap.Layout)
	if r.Cgroup.Layout == "" {
		r.Cgroup.Layout = string(cgroup.LayoutNone)
	}

	c.environment(s.env)
	c.locations()
	c.limits(snap)
	c.stats(snap)
	c.swapLimit(snap)
	c.processTable(snap)

	// The errors, attributed to the fields they leave unknown, and the
	// files that should be there and are not.
	c.attribute(snap.Errors)
	c.missingUnderRoot()
	if c.g != nil {
		c.missingStats()
	}
	if s.hostCPUsErr != nil {
		c.warnErr(s.hostCPUsErr)
	}
	c.detectionWarnings(s.env)
	c.finishPressure()
	if r.Pressure != nil {
		delete(c.s.unknown, "pressure")
	}
	c.finishProcesses()
	c.recommend(snap, procs, mem)
	c.processWarnings()

	if s.live {
		r.Go.GOMAXPROCS = ptr(runtime.GOMAXPROCS(0))
		if v := debug.SetMemoryLimit(-1); v != math.MaxInt64 {
			r.Go.GOMEMLIMIT = ptr(v)
		}
	}
	env := s.r.Environ()
	c.s.envGOMAXPROCS, _ = procfs.Getenv(env, "GOMAXPROCS")
	c.s.envGOMEMLIMIT, _ = procfs.Getenv(env, "GOMEMLIMIT")

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

// collector builds one sample.
type collector struct {
	src  *source
	g    locator // where the cgroups are; nil when discovery failed
	s    sample
	seen map[string]bool // warnings already given
	psi  pressure        // filled by stats, published by finishPressure
}

func (c *collector) environment(env detect.Env) {
	e := &c.s.report.Environment
	e.Container = env.Container
	e.Runtime = strOrNil(env.Runtime)
	e.Orchestrator = strOrNil(env.Orchestrator)
	e.ContainerID = strOrNil(env.ContainerID)
	if env.HasKubernetes {
		k := env.Kubernetes
		e.Kubernetes = &kubernetes{
			PodUID:      strOrNil(k.PodUID),
			ContainerID: strOrNil(k.ContainerID),
			QOSClass:    strOrNil(k.QOSClass),
			Namespace:   strOrNil(k.Namespace),
		}
	}
	e.Evidence = make([]evidence, 0, len(env.Evidence))
	for _, ev := range env.Evidence {
		e.Evidence = append(e.Evidence, evidence{Signal: ev.Signal, Detail: c.src.root.Unroot(ev.Detail)})
	}
}

// locations fills the "cgroup" section and warns about degraded views.
func (c *collector) locations() {
	if c.g == nil {
		return
	}
	r := &c.s.report
	degraded := map[string]bool{}
	for _, ctrl := range []cgroup.Controller{cgroup.CPU, cgroup.CPUAcct, cgroup.CPUSet, cgroup.Memory, cgroup.PIDs, cgroup.Unified} {
		loc, ok := c.g.Location(ctrl)
		if !ok {
			continue
		}
		switch ctrl {
		case cgroup.CPU:
			r.Cgroup.CPU = &cgroupLocation{Version: loc.Version, Path: loc.Dir}
		case cgroup.Memory:
			r.Cgroup.Memory = &cgroupLocation{Version: loc.Version, Path: loc.Dir}
		}
		if loc.Degraded && !degraded[loc.Dir] {
			degraded[loc.Dir] = true
			c.warn("cgroup " + loc.MountPoint + ": the process's cgroup " + loc.Path + " is not below the mount's root " +
				loc.MountRoot + "; the mount point is read instead and limits set above it are not seen")
		}
	}
}

// limits copies the limits and requests of the snapshot.
func (c *collector) limits(snap *runtimeinfo.Snapshot) {
	r := &c.s.report
	if snap.HasCPULimit && finite(snap.CPULimit.CPUs) {
		l := snap.CPULimit
		r.CPU.Limit = ptr(l.CPUs)
		r.CPU.LimitSource = ptr(string(l.Source.Kind))
		if l.Source.Kind == runtimeinfo.SourceCgroup && l.Source.Path != "" {
			r.CPU.LimitPath = ptr(path.Dir(l.Source.Path))
		}
		c.s.cpuLimitEnv = l.Source.Env
	}
	if snap.HasLeafCPULimit && finite(snap.LeafCPULimit.CPUs) {
		r.CPU.LeafLimit = ptr(snap.LeafCPULimit.CPUs)
	}
	if snap.CPUs.N > 0 {
		r.CPU.CPUs = ptr(int(snap.CPUs.N))
		r.CPU.CPUsSource = ptr(string(snap.CPUs.Source.Kind))
		c.s.cpusFrom = snap.CPUs.Source.String()
	}
	if snap.HasCPURequest && finite(snap.CPURequest.CPUs) {
		r.CPU.Request = ptr(snap.CPURequest.CPUs)
		r.CPU.RequestApprox = ptr(snap.CPURequest.Approx)
	}
	if snap.HasMemoryLimit {
		l := snap.MemoryLimit
		r.Memory.Limit = ptr(l.Bytes)
		r.Memory.LimitSource = ptr(string(l.Source.Kind))
		if l.Source.Kind == runtimeinfo.SourceCgroup && l.Source.Path != "" {
			r.Memory.LimitPath = ptr(path.Dir(l.Source.Path))
		}
		c.s.memLimitEnv = l.Source.Env
	}
	if snap.HasMemoryHigh {
		r.Memory.High = ptr(snap.MemoryHigh.Bytes)
	}
	if snap.HasMemoryRequest {
		r.Memory.Request = ptr(snap.MemoryRequest.Bytes)
	}
	if snap.HasHostMemory {
		r.Memory.HostTotal = ptr(snap.HostMemory.Bytes)
	}
	if snap.HasPIDsLimit {
		r.PIDs.Limit = ptr(snap.PIDsLimit.N)
	}
}

// stats copies the usage statistics of the snapshot.
func (c *collector) stats(snap *runtimeinfo.Snapshot) {
	r, st := &c.s.report, &snap.Stats
	if st.CPU.HasUsage {
		r.CPU.UsageSeconds = ptr(st.CPU.Usage.Seconds())
	}
	if snap.CPUUsageElsewhere {
		r.CPU.UsageElsewhere = true
		if st.CPU.UsagePath != "" {
			c.s.usageDir = path.Dir(st.CPU.UsagePath)
		}
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
	p := st.Pressure
	for _, x := range []struct {
		has   bool
		v     cgroup.PSI
		dst   **psi
		field string
	}{{p.HasCPU, p.CPU, &c.psi.CPU, "pressure.cpu"}, {p.HasMemory, p.Memory, &c.psi.Memory, "pressure.memory"}, {p.HasIO, p.IO, &c.psi.IO, "pressure.io"}} {
		if !x.has {
			continue
		}
		if v, ok := psiOf(x.v); ok {
			*x.dst = v
		} else {
			c.warn(x.field + ": a value is not a finite number; left out")
			c.s.unknown[x.field] = true
		}
	}
	c.psi.HostWide = p.HostWide
}

// finishPressure publishes the pressure object when anything is known or
// unknown about it.
func (c *collector) finishPressure() {
	p, u := &c.psi, c.s.unknown
	if p.CPU != nil || p.Memory != nil || p.IO != nil || u["pressure.cpu"] || u["pressure.memory"] || u["pressure.io"] {
		c.s.report.Pressure = p
	}
}

func psiOf(p cgroup.PSI) (*psi, bool) {
	ok := true
	line := func(l cgroup.PSILine) psiLine {
		out := psiLine{Avg10: l.Avg10, Avg60: l.Avg60, Avg300: l.Avg300, TotalSeconds: l.Total.Seconds()}
		ok = ok && finite(out.Avg10) && finite(out.Avg60) && finite(out.Avg300)
		return out
	}
	out := &psi{Some: line(p.Some)}
	if p.HasFull {
		out.Full = ptr(line(p.Full))
	}
	return out, ok
}

// swapLimit fills the swap limit (its read errors are attributed with the
// others, as the Reader's).
func (c *collector) swapLimit(snap *runtimeinfo.Snapshot) {
	if snap.HasSwapLimit {
		c.s.report.Memory.SwapLimit = ptr(snap.SwapLimit.Bytes)
	}
}

// recommend fills the recommendations from the Reader's decisions: Want is
// what the policy computes, whatever the environment says. GOMAXPROCS is
// shown whenever the CPU count it is bounded by is: after an unreadable
// cpuset that is the Reader's fallback, and so is its Want. Only under
// --root without a usable /proc/self/status is the count hidden (it would
// be that of the machine running the command), and the recommendation with
// it.
func (c *collector) recommend(snap *runtimeinfo.Snapshot, procs, mem runtimeinfo.Decision) {
	r, u := &c.s.report, c.s.unknown
	switch {
	case procs.HasWant && procs.Want >= 1 && r.CPU.CPUs != nil:
		r.Go.RecommendedGOMAXPROCS = ptr(int(procs.Want))
	case u["cpu.limit"] || u["cpu.cpus"] || u["cgroup.layout"] || !procs.HasWant:
		u["go.recommendedGOMAXPROCS"] = true
	}
	// decideMem offers a Want only inside the safety envelope (at least
	// runtimeinfo.MinGOMEMLIMIT; below it HasWant is false): no floor to
	// check here. A Source without a Want is a limit whose policy value
	// fell below the floor.
	switch {
	case mem.HasWant:
		r.Go.RecommendedGOMEMLIMIT = ptr(mem.Want)
	case mem.Source.Kind != "" && (snap.HasMemoryLimit || snap.HasMemoryHigh):
		c.s.memBelowFloor = true
	case u["memory.limit"] || u["memory.high"] || u["cgroup.layout"]:
		u["go.recommendedGOMEMLIMIT"] = true
	}
}

// finite reports whether f can be written as a JSON number.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
