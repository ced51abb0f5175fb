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
	"time"
)

// writeHuman writes the short view of s. With prev (--watch) CPU use and
// throttling are shown as rates over the interval since prev.
func writeHuman(w io.Writer, s *sample, prev *sample) {
	var b bytes.Buffer
	r := &s.report
	line := func(label, text string) {
		fmt.Fprintf(&b, "%-12s %s\n", label, text)
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
	if r.CPU.Limit != nil && r.CPU.LimitPath != nil && (r.Cgroup.CPU == nil || *r.CPU.LimitPath != r.Cgroup.CPU.Path) {
		cpu += " (set at " + *r.CPU.LimitPath + ")"
	}
	cpu += " · may run on " + s.text("cpu.cpus", r.CPU.CPUs == nil, func() string { return fmtCPUs(float64(*r.CPU.CPUs)) })
	if r.CPU.CPUs == nil {
		cpu += " CPUs"
	}
	if s.hostCPUs > 0 {
		cpu += " · host " + strconv.Itoa(s.hostCPUs)
	}
	line("CPU", cpu)
	if r.Environment.Kubernetes != nil {
		req := "request " + s.text("cpu.request", r.CPU.Request == nil, func() string { return fmtCPUs(*r.CPU.Request) })
		if r.CPU.RequestApprox != nil && *r.CPU.RequestApprox {
			req = "request ≈" + strings.TrimPrefix(req, "request ") + " (from cpu.weight)"
		}
		more(req)
	}
	more(cpuUse(s, prev))

	// Memory.
	mem := "limit " + s.text("memory.limit", r.Memory.Limit == nil, func() string { return fmtBytes(*r.Memory.Limit) })
	if r.Memory.Limit != nil && r.Memory.LimitPath != nil && (r.Cgroup.Memory == nil || *r.Memory.LimitPath != r.Cgroup.Memory.Path) {
		mem += " (set at " + *r.Memory.LimitPath + ")"
	}
	if r.Memory.High != nil || s.unknown["memory.high"] {
		mem += " · high " + s.text("memory.high", r.Memory.High == nil, func() string { return fmtBytes(*r.Memory.High) })
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
	if e := r.Memory.Events; e != nil && (e.High+e.Max+e.OOM+e.OOMKill) > 0 {
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
		line("Pressure", strings.Join(parts, " · ")+"  (some stalled, 10 s average)")
	}

	// Go.
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
	procs := rec("go.recommendedGOMAXPROCS", r.Go.RecommendedGOMAXPROCS, nil)
	memlimit := rec("go.recommendedGOMEMLIMIT", nil, r.Go.RecommendedGOMEMLIMIT)
	if r.Go.RecommendedGOMEMLIMIT == nil && !s.unknown["go.recommendedGOMEMLIMIT"] {
		memlimit = "none (no memory limit)"
	}
	if s.live {
		cur := "none"
		if r.Go.GOMEMLIMIT != nil {
			cur = fmtBytes(*r.Go.GOMEMLIMIT)
		}
		line("Go", fmt.Sprintf("GOMAXPROCS %d here · rightsize would set %s%s", *r.Go.GOMAXPROCS, procs, envNote("GOMAXPROCS", s.envGOMAXPROCS)))
		more(fmt.Sprintf("GOMEMLIMIT %s here · rightsize would set %s%s", cur, memlimit, envNote("GOMEMLIMIT", s.envGOMEMLIMIT)))
	} else {
		line("Go", "rightsize would set GOMAXPROCS "+procs+envNote("GOMAXPROCS", s.envGOMAXPROCS))
		more("rightsize would set GOMEMLIMIT " + memlimit + envNote("GOMEMLIMIT", s.envGOMEMLIMIT))
	}

	for i, msg := range r.Warnings {
		label := ""
		if i == 0 {
			label = "Warnings"
		}
		line(label, msg)
	}
	w.Write(b.Bytes())
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
		id := *k.ContainerID
		if len(id) > 12 {
			id = id[:12]
		}
		more = append(more, "container "+id)
	}
	return what, strings.Join(more, " · ")
}

// cpuUse describes CPU usage and throttling: totals since the cgroup was
// created, or with prev the rates over the interval.
func cpuUse(s, prev *sample) string {
	r := &s.report
	var parts []string
	if prev != nil {
		dt := s.at.Sub(prev.at).Seconds()
		p := &prev.report
		if u, pu := r.CPU.UsageSeconds, p.CPU.UsageSeconds; u != nil && pu != nil && *u >= *pu && dt > 0 {
			cpus := (*u - *pu) / dt
			use := "using " + fmtCPUs(cpus)
			switch {
			case s.usageDir != "":
				use += " (cgroup " + s.usageDir + ")"
			case r.CPU.Limit != nil && *r.CPU.Limit > 0:
				use += " (" + fmtPercent(100*cpus / *r.CPU.Limit) + " of limit)"
			}
			parts = append(parts, use)
		}
		if t, pt := r.CPU.Throttling, p.CPU.Throttling; t != nil && pt != nil && t.Periods >= pt.Periods && t.ThrottledPeriods >= pt.ThrottledPeriods {
			n, th := t.Periods-pt.Periods, t.ThrottledPeriods-pt.ThrottledPeriods
			switch {
			case th > 0:
				text := "throttled in " + strconv.FormatUint(th, 10) + " of " + strconv.FormatUint(n, 10) +
					" periods (" + fmtPercent(100*float64(th)/float64(n)) + ")"
				if d := t.ThrottledSeconds - pt.ThrottledSeconds; d >= 0 {
					text += ", " + fmtSeconds(d)
				}
				parts = append(parts, text+" in the last "+fmtSeconds(dt))
			case r.CPU.Limit != nil:
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
// shown. On a terminal each view replaces the previous one in place; to a
// pipe or file the views follow each other, and with --json each sample is
// one line.
func watchLoop(ctx context.Context, root string, asJSON bool, every time.Duration, count int, w io.Writer) int {
	tty := !asJSON && isTerminal(w)
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	var prev *sample
	for n := 1; ; n++ {
		s := collect(root)
		if asJSON {
			writeJSON(w, &s.report, false)
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
			w.Write(frame)
		}
		prev = &s
		if count > 0 && n >= count {
			return exitOK
		}
		select {
		case <-ctx.Done():
			return exitOK
		case <-ticker.C:
		}
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
