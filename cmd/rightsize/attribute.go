package main

import (
	"errors"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rightsize/rightsize/cgroup"
	"github.com/rightsize/rightsize/detect"
	"github.com/rightsize/rightsize/procfs"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// Attribution: every error of a sample names the file it concerns
// (rootfs.Error, which procfs.Error and cgroup.Error are). The file tells
// which fields it feeds; those of them that came out null are listed in
// "unknown", and the error becomes a warning with the --root prefix
// removed, so that it reads the same for a live system and its capture.

// cgroupFields are the fields that need cgroup discovery.
var cgroupFields = []string{
	"cgroup.layout", "cgroup.cpu", "cgroup.memory",
	"cpu.limit", "cpu.limitPath", "cpu.limitSource", "cpu.usageSeconds", "cpu.throttling",
	"memory.limit", "memory.limitPath", "memory.limitSource", "memory.high", "memory.usage", "memory.workingSet",
	"memory.swapLimit", "memory.events", "pids.limit", "pids.current", "pressure",
}

var (
	cpuLimitFields = []string{"cpu.limit", "cpu.limitPath", "cpu.limitSource"}
	memLimitFields = []string{"memory.limit", "memory.limitPath", "memory.limitSource"}
	requestFields  = []string{"cpu.request", "cpu.requestApprox"}
	cpusFields     = []string{"cpu.cpus", "cpu.cpusSource"}
)

// attribute records errs: each as a warning, and the null fields the file
// it names feeds as unknown.
func (c *collector) attribute(errs []error) {
	for _, e := range errs {
		for _, e := range flatten(e) {
			if errors.Is(e, cgroup.ErrNotSupported) {
				c.warn("cgroups are not supported on this system: only what the Go runtime knows is shown")
				continue
			}
			rel := c.relPath(e)
			fields := c.fieldsOf(rel)
			switch {
			case rel == "/proc/self/status":
				// Only read under --root (live, the Reader asks
				// for the affinity mask). Without it the Reader
				// counts the CPUs of the machine running the
				// command, which says nothing about the tree:
				// not shown, as when the file is missing.
				c.s.report.CPU.CPUs, c.s.report.CPU.CPUsSource = nil, nil
			case slices.Contains(fields, "cpu.cpus"):
				// A cpuset file: the Reader keeps its count
				// without the cpuset (the affinity mask, or the
				// tree's Cpus_allowed_list), which the kernel
				// keeps inside the cpuset anyway, and decides
				// GOMAXPROCS from it. That is shown, with its
				// source and this warning.
				c.s.cpusetErr = true
			}
			c.fail(e, fields...)
		}
	}
}

// missingUnderRoot: under --root the CPUs the process may run on come from
// the tree's /proc/self/status and host memory from its /proc/meminfo.
// The Reader takes a tree without them as having no such values (for the
// CPUs it falls back to this machine's count, which says nothing about the
// tree): the command shows them as unknown, naming the missing file.
func (c *collector) missingUnderRoot() {
	if c.src.live {
		return
	}
	r, u := &c.s.report, c.s.unknown
	if c.src.snap.CPUs.Source.Kind != runtimeinfo.SourceProc && !u["cpu.cpus"] && !c.src.root.Exists("/proc/self/status") {
		c.warn("/proc/self/status: file does not exist: the CPUs the process may run on are unknown")
		r.CPU.CPUs, r.CPU.CPUsSource = nil, nil
		u["cpu.cpus"], u["cpu.cpusSource"] = true, true
	}
	if r.Memory.HostTotal == nil && !u["memory.hostTotal"] && !c.src.root.Exists("/proc/meminfo") {
		c.warn("/proc/meminfo: file does not exist: host memory is unknown")
		u["memory.hostTotal"] = true
	}
}

// fieldsOf names the fields file rel (a path inside the root) feeds.
func (c *collector) fieldsOf(rel string) []string {
	if rel == "" {
		return nil
	}
	switch rel {
	case "/proc/self/cgroup", "/proc/self/mountinfo":
		return cgroupFields
	case "/proc/self/status":
		return cpusFields
	case "/proc/meminfo":
		return []string{"memory.hostTotal"}
	case "/proc/pressure/cpu":
		return []string{"pressure.cpu"}
	case "/proc/pressure/memory":
		return []string{"pressure.memory"}
	case "/proc/pressure/io":
		return []string{"pressure.io"}
	}
	if f := processFieldsOf(rel); f != nil {
		return f
	}
	if c.g == nil {
		return nil
	}
	base := path.Base(rel)
	var out []string
	switch {
	case strings.HasPrefix(base, "cpuset."):
		return cpusFields
	case base == "cpu.max" || base == "cpu.cfs_quota_us" || base == "cpu.cfs_period_us":
		// The leaf limit is the process's own cgroup's file only; an
		// ancestor's leaves it known.
		if loc, ok := c.g.Location(cgroup.CPU); ok && loc.Dir == path.Dir(rel) {
			return append(append([]string{}, cpuLimitFields...), "cpu.leafLimit")
		}
		return cpuLimitFields
	case base == "cpu.shares" || base == "cpu.weight":
		return requestFields
	case base == "memory.max" || base == "memory.limit_in_bytes":
		return memLimitFields
	case base == "memory.high":
		return []string{"memory.high"}
	case base == "pids.max":
		return []string{"pids.limit"}
	case base == "memory.swap.max" || base == "memory.memsw.limit_in_bytes":
		return []string{"memory.swapLimit"}
	case base == "memory.stat":
		// v1 memory.stat carries hierarchical_memory_limit too.
		if loc, ok := c.g.Location(cgroup.Memory); ok && loc.Version == 1 {
			out = append(out, memLimitFields...)
		}
	}
	return append(out, c.statFields(rel)...)
}

// statFields names the usage fields that file rel feeds, directly or
// because ReadStats stops reading a controller's files at the first
// failure. A directory (the cgroup was removed) feeds every field of the
// controllers there.
func (c *collector) statFields(rel string) []string {
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
			out = append(out, cpuLimitFields...)
			out = append(out, requestFields...)
		}
		if at(cgroup.CPUSet, rel) {
			out = append(out, cpusFields...)
		}
		if at(cgroup.Memory, rel) {
			out = append(out, "memory.usage", "memory.workingSet", "memory.events", "memory.high", "memory.swapLimit")
			out = append(out, memLimitFields...)
		}
		if at(cgroup.PIDs, rel) {
			out = append(out, "pids.current", "pids.limit")
		}
		if at(cgroup.Unified, rel) {
			out = append(out, "pressure.cpu", "pressure.memory", "pressure.io")
		}
	}
	return out
}

// isNull reports whether field is null in the sample (only such fields
// can be unknown).
func (c *collector) isNull(field string) bool {
	r, p := &c.s.report, &c.psi
	if null, ok := c.isNullProcess(field); ok {
		return null
	}
	switch field {
	case "cgroup.layout":
		return r.Cgroup.Layout == string(cgroup.LayoutNone)
	case "cgroup.cpu":
		return r.Cgroup.CPU == nil
	case "cgroup.memory":
		return r.Cgroup.Memory == nil
	case "cpu.limit":
		return r.CPU.Limit == nil
	case "cpu.limitPath":
		return r.CPU.LimitPath == nil && r.CPU.Limit == nil
	case "cpu.limitSource":
		return r.CPU.LimitSource == nil
	case "cpu.leafLimit":
		return r.CPU.LeafLimit == nil
	case "cpu.cpus":
		return r.CPU.CPUs == nil
	case "cpu.cpusSource":
		return r.CPU.CPUsSource == nil
	case "cpu.request":
		return r.CPU.Request == nil
	case "cpu.requestApprox":
		return r.CPU.RequestApprox == nil
	case "cpu.usageSeconds":
		return r.CPU.UsageSeconds == nil
	case "cpu.throttling":
		return r.CPU.Throttling == nil
	case "memory.limit":
		return r.Memory.Limit == nil
	case "memory.limitPath":
		return r.Memory.LimitPath == nil && r.Memory.Limit == nil
	case "memory.limitSource":
		return r.Memory.LimitSource == nil
	case "memory.high":
		return r.Memory.High == nil
	case "memory.usage":
		return r.Memory.Usage == nil
	case "memory.workingSet":
		return r.Memory.WorkingSet == nil
	case "memory.swapLimit":
		return r.Memory.SwapLimit == nil
	case "memory.hostTotal":
		return r.Memory.HostTotal == nil
	case "memory.events":
		return r.Memory.Events == nil
	case "pids.limit":
		return r.PIDs.Limit == nil
	case "pids.current":
		return r.PIDs.Current == nil
	case "pressure":
		return p.CPU == nil && p.Memory == nil && p.IO == nil
	case "pressure.cpu":
		return p.CPU == nil
	case "pressure.memory":
		return p.Memory == nil
	case "pressure.io":
		return p.IO == nil
	}
	return false
}

// missingStats finds usage fields that came out null because their file
// is missing: ReadStats treats a missing file as "not available" and says
// nothing. A file that every cgroup of the controller has (cpuacct.usage,
// v2 cpu.stat, memory.stat, v1 memory.usage_in_bytes), or one missing
// beside a file that only non-root cgroups have too (memory.current beside
// memory.max, pids.current beside pids.max), is not normal to miss.
func (c *collector) missingStats() {
	r, u := &c.s.report, c.s.unknown
	exists := func(dir, name string) bool { return c.src.root.Exists(path.Join(dir, name)) }
	missing := func(dir, name string, fields ...string) {
		c.warn(path.Join(dir, name) + ": file does not exist")
		for _, f := range fields {
			if c.isNull(f) {
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

// detectionWarnings turns detection evidence about a file that is not
// what it should be (malformed, too large, not a regular file) into a
// warning, unless a warning already names that file. Unreadable files
// (permission denied on /proc/1/environ is normal) stay evidence only.
func (c *collector) detectionWarnings(env detect.Env) {
	for _, ev := range env.Evidence {
		err := ev.Err
		if err == nil || !(errors.Is(err, procfs.ErrMalformed) || errors.Is(err, procfs.ErrTooLarge) || errors.Is(err, procfs.ErrNotRegular)) {
			continue
		}
		var pe *procfs.Error
		if errors.As(err, &pe) && c.warnedAbout(c.src.root.Unroot(pe.Path)) {
			continue
		}
		c.warn(err.Error())
	}
}

// warnedAbout reports whether a warning names file at its start.
func (c *collector) warnedAbout(file string) bool {
	for _, w := range c.s.report.Warnings {
		if strings.HasPrefix(w, file+": ") {
			return true
		}
	}
	return false
}

// warn adds a warning once, with the root prefix removed from the paths it
// names.
func (c *collector) warn(msg string) {
	msg = c.src.root.Unroot(msg)
	if c.seen[msg] {
		return
	}
	c.seen[msg] = true
	c.s.report.Warnings = append(c.s.report.Warnings, msg)
}

func (c *collector) warnErr(err error) {
	for _, e := range flatten(err) {
		c.warn(e.Error())
	}
}

// fail records err as a warning (when not nil) and those of fields that
// are null as unknown.
func (c *collector) fail(err error, fields ...string) {
	c.warnErr(err)
	for _, f := range fields {
		if c.isNull(f) {
			c.s.unknown[f] = true
		}
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

// relPath returns the file an error names, as a path inside the root, or
// "".
func (c *collector) relPath(err error) string {
	var pe *procfs.Error
	if !errors.As(err, &pe) {
		return ""
	}
	p := pe.Path
	if !c.src.live {
		dir := c.src.root.Dir()
		if p == dir {
			return "/"
		}
		rest, ok := strings.CutPrefix(p, dir+string(filepath.Separator))
		if !ok {
			return ""
		}
		p = "/" + rest
	}
	return path.Clean(filepath.ToSlash(p))
}
