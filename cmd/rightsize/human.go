package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/rightsize/rightsize/runtimeinfo"
)

// writeHuman writes the short view of s in aligned columns. With prev
// (--watch) CPU use and throttling are shown as rates over the interval
// since prev.
func writeHuman(w io.Writer, s *sample, prev *sample) error {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	r := &s.report
	line := func(label string, cells ...string) {
		for i := range cells {
			cells[i] = sanitize(cells[i])
		}
		fmt.Fprintf(tw, "%s\t%s\n", label, strings.Join(cells, "\t"))
	}
	more := func(text string) {
		if text != "" {
			line("", text)
		}
	}

	// Environment.
	env, envMore := describeEnvironment(r)
	line("Environment", env)
	more(envMore)

	// cgroup.
	cg := "none"
	if r.Cgroup.Layout != "none" {
		cg = r.Cgroup.Layout
		if l := r.Cgroup.CPU; l != nil {
			cg += " · cpu " + l.Path
		}
		if l := r.Cgroup.Memory; l != nil {
			if r.Cgroup.CPU != nil && l.Path == r.Cgroup.CPU.Path {
				cg += " (memory too)"
			} else {
				cg += " · memory " + l.Path
			}
		}
	} else if s.unknown["cgroup.layout"] {
		cg = "unknown"
	}
	line("cgroup", cg)

	// CPU.
	cpu := "limit " + s.text("cpu.limit", r.CPU.Limit == nil, func() string { return fmtCPUs(*r.CPU.Limit) })
	switch {
	case r.CPU.Limit != nil && s.cpuLimitEnv != "":
		cpu += " (from " + s.cpuLimitEnv + ")"
	case r.CPU.Limit != nil && r.CPU.LimitPath != nil && (r.Cgroup.CPU == nil || *r.CPU.LimitPath != r.Cgroup.CPU.Path):
		// An ancestor's quota: the Go runtime and automaxprocs read the
		// process's own cgroup only, and miss it.
		sees := "none"
		if r.CPU.LeafLimit != nil {
			sees = fmtCPUs(*r.CPU.LeafLimit)
		}
		if s.unknown["cpu.leafLimit"] {
			sees = "unknown"
		}
		own := "the process's own cgroup"
		if r.Cgroup.CPU != nil {
			own = r.Cgroup.CPU.Path
		}
		cpu += " (set at " + *r.CPU.LimitPath + "; the Go runtime reads " + own + " only: " + sees + ")"
	}
	cpu += " · may run on " + s.text("cpu.cpus", r.CPU.CPUs == nil, func() string { return fmtCPUs(float64(*r.CPU.CPUs)) })
	switch {
	case r.CPU.CPUs == nil:
		cpu += " CPUs"
	case s.cpusetErr:
		// The count and GOMAXPROCS are the Reader's fallback: say
		// where it comes from (the warning below says what failed).
		cpu += " (" + s.cpusFrom + ": the cpuset could not be read)"
	}
	if s.hostCPUs > 0 {
		cpu += " · host " + strconv.Itoa(s.hostCPUs)
	}
	line("CPU", cpu)
	if r.CPU.Request != nil || (r.Environment.Kubernetes != nil && s.unknown["cpu.request"]) {
		req := "request " + s.text("cpu.request", r.CPU.Request == nil, func() string { return fmtCPUs(*r.CPU.Request) })
		if r.CPU.RequestApprox != nil && *r.CPU.RequestApprox {
			req = "request ≈" + strings.TrimPrefix(req, "request ") + " (from cpu.weight)"
		}
		more(req)
	}
	more(cpuUse(s, prev))

	// Memory.
	mem := "limit " + s.text("memory.limit", r.Memory.Limit == nil, func() string { return fmtBytes(*r.Memory.Limit) })
	switch {
	case r.Memory.Limit != nil && s.memLimitEnv != "":
		mem += " (from " + s.memLimitEnv + ")"
	case r.Memory.Limit != nil && r.Memory.LimitPath != nil && (r.Cgroup.Memory == nil || *r.Memory.LimitPath != r.Cgroup.Memory.Path):
		mem += " (set at " + *r.Memory.LimitPath + ")"
	}
	if r.Memory.High != nil || s.unknown["memory.high"] {
		mem += " · high " + s.text("memory.high", r.Memory.High == nil, func() string { return fmtBytes(*r.Memory.High) })
	}
	if r.Memory.Request != nil {
		mem += " · request " + fmtBytes(*r.Memory.Request)
	}
	mem += " · host " + s.text("memory.hostTotal", r.Memory.HostTotal == nil, func() string { return fmtBytes(*r.Memory.HostTotal) })
	line("Memory", mem)
	bound, boundName := r.Memory.Limit, "limit"
	if r.Memory.High != nil && (bound == nil || *r.Memory.High < *bound) {
		bound, boundName = r.Memory.High, "high"
	}
	share := func(v int64) string {
		if bound == nil || *bound <= 0 {
			return ""
		}
		return " (" + fmtPercent(100*float64(v)/float64(*bound)) + " of " + boundName + ")"
	}
	var use []string
	if r.Memory.Usage != nil || s.unknown["memory.usage"] {
		use = append(use, "usage "+s.text("memory.usage", r.Memory.Usage == nil, func() string { return fmtBytes(*r.Memory.Usage) + share(*r.Memory.Usage) }))
	}
	if r.Memory.WorkingSet != nil || s.unknown["memory.workingSet"] {
		use = append(use, "working set "+s.text("memory.workingSet", r.Memory.WorkingSet == nil, func() string { return fmtBytes(*r.Memory.WorkingSet) + share(*r.Memory.WorkingSet) }))
	}
	more(strings.Join(use, " · "))
	var extra []string
	if s.memPeak != nil {
		extra = append(extra, "peak "+fmtBytes(*s.memPeak))
	}
	if r.Memory.SwapLimit != nil {
		extra = append(extra, "swap "+fmtBytes(*r.Memory.SwapLimit)+" beyond the limit")
	}
	if e := r.Memory.Events; e != nil && (e.High > 0 || e.Max > 0 || e.OOM > 0 || e.OOMKill > 0) {
		var ev []string
		if e.High > 0 {
			ev = append(ev, plural(e.High, "time", "times")+" over high")
		}
		if e.Max > 0 {
			ev = append(ev, plural(e.Max, "time", "times")+" at the limit")
		}
		if e.OOMKill > 0 {
			ev = append(ev, plural(e.OOMKill, "OOM kill", "OOM kills"))
		} else if e.OOM > 0 {
			ev = append(ev, plural(e.OOM, "OOM", "OOMs"))
		}
		extra = append(extra, strings.Join(ev, ", "))
	}
	more(strings.Join(extra, " · "))

	// PIDs.
	if r.PIDs.Current != nil || r.PIDs.Limit != nil || s.unknown["pids.current"] || s.unknown["pids.limit"] {
		pids := s.text("pids.current", r.PIDs.Current == nil, func() string { return strconv.FormatInt(*r.PIDs.Current, 10) })
		if r.PIDs.Limit == nil && !s.unknown["pids.limit"] {
			pids += " (no limit)"
		} else {
			pids += " of " + s.text("pids.limit", r.PIDs.Limit == nil, func() string { return strconv.FormatInt(*r.PIDs.Limit, 10) })
		}
		line("PIDs", pids)
	}

	// The process table.
	if first, rest := describeProcesses(s); first != "" {
		line("Processes", first)
		for _, l := range rest {
			more(l)
		}
	}

	// Pressure.
	if p := r.Pressure; p != nil {
		var parts []string
		for _, x := range []struct {
			name  string
			v     *psi
			field string
		}{{"cpu", p.CPU, "pressure.cpu"}, {"memory", p.Memory, "pressure.memory"}, {"io", p.IO, "pressure.io"}} {
			if x.v != nil || s.unknown[x.field] {
				parts = append(parts, x.name+" "+s.text(x.field, x.v == nil, func() string { return strconv.FormatFloat(x.v.Some.Avg10, 'f', 2, 64) + "%" }))
			}
		}
		whose := "  (some stalled, 10 s average)"
		if p.HostWide {
			whose = "  (host-wide, not this container's: some stalled, 10 s average)"
		}
		line("Pressure", strings.Join(parts, " · ")+whose)
	}

	// Go: what rightsize would set, and what this command's own process
	// runs with (live only), which is not the service's.
	rec := func(field string, v *int, m *int64) string {
		switch {
		case v != nil:
			return strconv.Itoa(*v)
		case m != nil:
			return fmtBytes(*m)
		case s.unknown[field]:
			return "unknown"
		}
		return "none"
	}
	procs := "rightsize would set " + rec("go.recommendedGOMAXPROCS", r.Go.RecommendedGOMAXPROCS, nil) + envNote("GOMAXPROCS", s.envGOMAXPROCS)
	memlimit := "rightsize would set " + rec("go.recommendedGOMEMLIMIT", nil, r.Go.RecommendedGOMEMLIMIT)
	switch {
	case r.Go.RecommendedGOMEMLIMIT != nil || s.unknown["go.recommendedGOMEMLIMIT"]:
	case s.memBelowFloor:
		memlimit += " (what the policy gives is below the " + fmtBytes(runtimeinfo.MinGOMEMLIMIT) + " floor, runtimeinfo.MinGOMEMLIMIT)"
	default:
		memlimit += " (no memory limit)"
	}
	memlimit += envNote("GOMEMLIMIT", s.envGOMEMLIMIT)
	if s.live {
		cur := "none"
		if r.Go.GOMEMLIMIT != nil {
			cur = fmtBytes(*r.Go.GOMEMLIMIT)
		}
		line("Go", "GOMAXPROCS", procs, "· "+strconv.Itoa(*r.Go.GOMAXPROCS)+" in this command's own process (not your service's)")
		line("", "GOMEMLIMIT", memlimit, "· "+cur+" in this command's own process")
	} else {
		line("Go", "GOMAXPROCS", procs)
		line("", "GOMEMLIMIT", memlimit)
	}

	for i, msg := range r.Warnings {
		label := ""
		if i == 0 {
			label = "Warnings"
		}
		line(label, msg)
	}
	tw.Flush()
	_, err := w.Write(b.Bytes())
	return err
}

// sanitize makes text safe for a terminal and for the columns: control
// characters and invalid UTF-8 (from file contents a warning quotes, or odd
// paths) are written as \xNN escapes, never sent to the terminal.
func sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if isControl(r) || (r == utf8.RuneError && n == 1) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case isControl(r):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)
}

// text renders a value, or "unknown" for a null field that could not be
// read, or "none" for a null that means unlimited.
func (s *sample) text(field string, null bool, value func() string) string {
	switch {
	case !null:
		return value()
	case s.unknown[field]:
		return "unknown"
	}
	return "none"
}

func envNote(name, v string) string {
	if v == "" {
		return ""
	}
	return " (" + name + "=" + v + " in the environment wins)"
}

// describeEnvironment says where the process runs, in one or two lines.
func describeEnvironment(r *report) (string, string) {
	e := r.Environment
	var what string
	switch {
	case !e.Container:
		what = "not in a container"
	case e.Runtime != nil:
		what = *e.Runtime + " container"
	default:
		what = "container (runtime unknown)"
	}
	k := e.Kubernetes
	if k == nil && e.ContainerID != nil {
		if e.Runtime != nil {
			what += " " + shortID(*e.ContainerID)
		} else {
			what = "container " + shortID(*e.ContainerID) + " (runtime unknown)"
		}
	}
	if k == nil {
		if e.Orchestrator != nil {
			switch *e.Orchestrator {
			case "ecs":
				what += " on ECS"
			case "cloud-run":
				what += " on Cloud Run"
			case "nomad":
				what += " · Nomad task"
			default:
				what += " · " + *e.Orchestrator
			}
		}
		return what, ""
	}
	what += " in Kubernetes pod "
	if k.PodUID != nil {
		what += *k.PodUID
	} else {
		what += "(UID unknown)"
	}
	var more []string
	if k.QOSClass != nil {
		more = append(more, "QoS "+*k.QOSClass)
	}
	if k.Namespace != nil {
		more = append(more, "namespace "+*k.Namespace)
	}
	if k.ContainerID != nil {
		more = append(more, "container "+shortID(*k.ContainerID))
	}
	return what, strings.Join(more, " · ")
}

// shortID is a container ID as the engines show it: its first 12 digits.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// describeProcesses describes the process table in a first line (whose
// process, its threads and descriptors) and the lines after it (children
// and the PID namespace; the reaper when it acts). It returns "" when the
// section is absent and not unknown.
func describeProcesses(s *sample) (string, []string) {
	p := s.report.Processes
	if p == nil {
		if s.unknown["processes"] {
			return "unknown", nil
		}
		return "", nil
	}
	count := func(field string, v *int, one, many string) string {
		if v == nil {
			return many + " " + s.text(field, true, nil)
		}
		return plural(uint64(*v), one, many)
	}
	first := s.processName() + ": " + count("processes.threads", p.Threads, "thread", "threads")
	fds := count("processes.fds", p.FDs, "open descriptor", "open descriptors")
	switch l := p.FDLimit; {
	case p.FDs == nil:
	case l == nil && s.unknown["processes.fdLimit"]:
		fds += " (limit unknown)"
	case l == nil:
	case l.Soft == nil:
		fds += " (no limit)"
	default:
		fds += " of " + strconv.FormatUint(*l.Soft, 10)
		if l.Hard == nil {
			fds += " (hard: no limit)"
		} else if *l.Hard != *l.Soft {
			fds += " (hard " + strconv.FormatUint(*l.Hard, 10) + ")"
		}
	}
	first += " · " + fds

	var parts []string
	switch {
	case p.Children == nil:
		parts = append(parts, "children "+s.text("processes.children", true, nil))
	case *p.Children == 0:
		parts = append(parts, "no children")
	default:
		c := plural(uint64(*p.Children), "child", "children")
		if p.ZombieChildren != nil && *p.ZombieChildren > 0 {
			c += ", " + strconv.Itoa(*p.ZombieChildren) + " of them zombies"
		}
		parts = append(parts, c)
	}
	if p.Processes == nil {
		parts = append(parts, "processes in the PID namespace "+s.text("processes.processes", true, nil))
	} else {
		ns := plural(uint64(*p.Processes), "process", "processes") + " in the PID namespace"
		if p.Zombies != nil {
			ns += ", " + plural(uint64(*p.Zombies), "zombie", "zombies")
		}
		parts = append(parts, ns)
	}
	rest := []string{strings.Join(parts, " · ")}
	if r := p.Reaper; r != nil && (r.Active || r.Reaped > 0) {
		rest = append(rest, "zombie reaper "+r.Mode+" ("+r.Reason+"), "+strconv.FormatUint(r.Reaped, 10)+" reaped")
	}
	return first, rest
}

// cpuUse describes CPU usage and throttling: totals since the cgroup was
// created, or with prev the rates over the interval.
func cpuUse(s, prev *sample) string {
	r := &s.report
	var parts []string
	if prev != nil {
		rt := computeRates(s, prev)
		dt := rt.IntervalSeconds
		if v := rt.CPUUsedCPUs; v != nil {
			use := "using " + fmtCPUs(*v)
			switch {
			case s.usageDir != "":
				use += " (cgroup " + s.usageDir + ")"
			case r.CPU.Limit != nil && *r.CPU.Limit > 0:
				use += " (" + fmtPercent(100**v / *r.CPU.Limit) + " of limit)"
			}
			parts = append(parts, use)
		}
		if n, th := rt.Periods, rt.ThrottledPeriods; n != nil && th != nil {
			switch {
			case *th > 0 && *n > 0:
				text := "throttled in " + strconv.FormatUint(*th, 10) + " of " + strconv.FormatUint(*n, 10) +
					" periods (" + fmtPercent(100*float64(*th)/float64(*n)) + ")"
				if d := rt.ThrottledSeconds; d != nil {
					text += ", " + fmtSeconds(*d)
				}
				parts = append(parts, text+" in the last "+fmtSeconds(dt))
			case *th == 0 && r.CPU.Limit != nil:
				parts = append(parts, "not throttled in the last "+fmtSeconds(dt))
			}
		}
		return strings.Join(parts, " · ")
	}
	if r.CPU.UsageSeconds != nil {
		used := "used " + fmtSeconds(*r.CPU.UsageSeconds) + " in total"
		if s.usageDir != "" {
			used += " (cgroup " + s.usageDir + ")"
		}
		parts = append(parts, used)
	} else if s.unknown["cpu.usageSeconds"] {
		parts = append(parts, "usage unknown")
	}
	if t := r.CPU.Throttling; t != nil && t.ThrottledPeriods == 0 && t.Periods > 0 {
		parts = append(parts, "never throttled in "+strconv.FormatUint(t.Periods, 10)+" periods")
	} else if t != nil && t.Periods > 0 {
		text := "throttled in " + strconv.FormatUint(t.ThrottledPeriods, 10) + " of " + strconv.FormatUint(t.Periods, 10) +
			" periods (" + fmtPercent(100*float64(t.ThrottledPeriods)/float64(t.Periods)) + "), " + fmtSeconds(t.ThrottledSeconds)
		parts = append(parts, text)
	} else if s.unknown["cpu.throttling"] {
		parts = append(parts, "throttling unknown")
	}
	return strings.Join(parts, " · ")
}

// computeRates returns the rates over the interval from prev to s. A rate
// is left nil when it cannot be computed: no time passed, a counter was
// not read in one of the samples or went down (a new cgroup: values are
// shown for no interval rather than a wrong one), the process's cgroup
// changed, or the throttling counters disagree (more throttled periods
// than periods).
func computeRates(s, prev *sample) *rates {
	dt := s.at.Sub(prev.at).Seconds()
	out := &rates{}
	if !(dt > 0) || !finite(dt) {
		return out
	}
	out.IntervalSeconds = dt
	r, p := &s.report, &prev.report
	if !sameLocation(r.Cgroup.CPU, p.Cgroup.CPU) || r.CPU.UsageElsewhere != p.CPU.UsageElsewhere || s.usageDir != prev.usageDir {
		return out
	}
	if u, pu := r.CPU.UsageSeconds, p.CPU.UsageSeconds; u != nil && pu != nil && *u >= *pu {
		if v := (*u - *pu) / dt; finite(v) {
			out.CPUUsedCPUs = &v
		}
	}
	if t, pt := r.CPU.Throttling, p.CPU.Throttling; t != nil && pt != nil && t.Periods >= pt.Periods && t.ThrottledPeriods >= pt.ThrottledPeriods {
		n, th := t.Periods-pt.Periods, t.ThrottledPeriods-pt.ThrottledPeriods
		if th <= n {
			out.Periods, out.ThrottledPeriods = &n, &th
			if d := t.ThrottledSeconds - pt.ThrottledSeconds; d >= 0 && finite(d) {
				out.ThrottledSeconds = &d
			}
		}
	}
	return out
}

func sameLocation(a, b *cgroupLocation) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// fmtCPUs writes 1.5 CPUs, 1 CPU, 0.25 CPUs.
func fmtCPUs(v float64) string {
	s := strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	if s == "1" {
		return "1 CPU"
	}
	return s + " CPUs"
}

// fmtBytes writes a byte count in binary units: 256 MiB, 1.5 GiB, 512 B.
func fmtBytes(v int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	f := float64(v)
	i := 0
	for math.Abs(f) >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatInt(v, 10) + " B"
	}
	s := strconv.FormatFloat(f, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + units[i]
}

// fmtSeconds writes a duration: 4.5 s, 0.25 s, 98.8 s, 2 h 3 min, 1 ms.
func fmtSeconds(v float64) string {
	switch {
	case v >= 3600:
		return fmt.Sprintf("%d h %d min", int(v/3600), int(math.Mod(v, 3600)/60))
	case v >= 100:
		return fmt.Sprintf("%.0f s", v)
	case v >= 10:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0") + " s"
	case v > 0 && v < 0.1:
		return fmt.Sprintf("%.0f ms", v*1000)
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) + " s"
}

// fmtPercent writes 25%, 4.2%, 0%.
func fmtPercent(v float64) string {
	if v != 0 && math.Abs(v) < 10 {
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0") + "%"
	}
	return fmt.Sprintf("%.0f%%", v)
}

func plural(n uint64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatUint(n, 10) + " " + many
}

// watchLoop samples every interval until ctx is done or count samples were
// shown, through one Reader opened here and refreshed at every tick. On a
// terminal each view replaces the previous one in place; to a pipe or file
// the views follow each other, and with --json each sample is one line
// with its time and the rates since the line before. It returns the error
// of a write (the caller exits 1) or nil when stopped or done.
func watchLoop(ctx context.Context, root string, pid int, asJSON bool, every time.Duration, count int, w io.Writer) error {
	src, err := openSource(root, pid)
	if err != nil {
		return err
	}
	closeSrc := src.Close
	defer func() { closeSrc() }()
	tty := !asJSON && isTerminal(w)
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	var prev *sample
	for n := 1; ; n++ {
		done := make(chan sample, 1)
		go func() { done <- src.sample() }()
		var s sample
		select {
		case s = <-done:
		case <-ctx.Done():
			// Close once the sample in flight is over.
			closeSrc = func() { go func() { <-done; src.Close() }() }
			return nil
		}
		if asJSON {
			line := watchLine{report: &s.report, Time: s.at.Format(timeFormat)}
			if prev != nil {
				line.Rates = computeRates(&s, prev)
			}
			if err := writeJSON(w, &line, false); err != nil {
				return err
			}
		} else {
			var b bytes.Buffer
			fmt.Fprintf(&b, "rightsize · every %v · %s · Ctrl-C to stop\n\n", every, s.at.Format("15:04:05"))
			writeHuman(&b, &s, prev)
			if prev == nil {
				b.WriteString("\n(rates from the next sample on)\n")
			}
			frame := b.Bytes()
			if tty {
				// Home, each line cleared to its end, the rest of the
				// screen cleared: no flicker and no leftovers.
				frame = bytes.ReplaceAll(frame, []byte("\n"), []byte("\x1b[K\n"))
				prefix := "\x1b[H"
				if prev == nil {
					prefix = "\x1b[H\x1b[2J"
				}
				frame = append(append([]byte(prefix), frame...), "\x1b[J"...)
			} else if prev != nil {
				frame = append([]byte("\n"), frame...)
			}
			if _, err := w.Write(frame); err != nil {
				return err
			}
		}
		prev = &s
		if count > 0 && n >= count {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	if ew, ok := w.(*errWriter); ok {
		w = ew.w
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
