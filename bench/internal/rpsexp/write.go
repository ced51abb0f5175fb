package rpsexp

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/rightsize/rightsize/bench/internal/cgctl"
	"github.com/rightsize/rightsize/bench/internal/hoststat"
	"github.com/rightsize/rightsize/bench/internal/report"
	"github.com/rightsize/rightsize/cgroup"
)

// HostInfo describes the machine.
type HostInfo struct {
	Kernel, CPUModel, Go, CgroupLayout string
	CPUs                               int
	MemTotalGiB                        float64
	LoadAvg1                           float64
}

// ReadHostInfo describes this machine.
func ReadHostInfo(h *cgctl.Host) HostInfo {
	hi := HostInfo{Go: runtime.Version(), CPUs: runtime.NumCPU()}
	if h != nil {
		hi.CPUs = h.NumCPUs
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		hi.Kernel = strings.TrimSpace(string(b))
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				hi.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var kb float64
			if n, _ := fmt.Sscanf(sc.Text(), "MemTotal: %f kB", &kb); n == 1 {
				hi.MemTotalGiB = kb / (1 << 20)
				break
			}
		}
		f.Close()
	}
	if g, err := cgroup.Open(); err == nil {
		hi.CgroupLayout = string(g.Layout())
		g.Close()
	}
	hi.LoadAvg1, _ = hoststat.LoadAvg()
	return hi
}

// Markdown line describing the host.
func (h HostInfo) String() string {
	return fmt.Sprintf("%d CPUs (%s), %.0f GiB, Linux %s, cgroup layout %s, %s", h.CPUs, h.CPUModel, h.MemTotalGiB, h.Kernel, h.CgroupLayout, h.Go)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return report.Median(xs)
}

// kept returns the runs of a cell that count: no error, not discarded.
func (res *Results) kept(c cell, mode string, fraction float64) []Run {
	var out []Run
	for _, r := range res.Runs {
		if r.Err != "" || r.Discarded || r.Mode != mode || r.Setting != c.set.Label {
			continue
		}
		if c.cpus > 0 {
			if r.ControlCPUs != c.cpus {
				continue
			}
		} else if r.ControlCPUs != 0 || r.Quota != c.quota {
			continue
		}
		if mode == "open" && math.Abs(r.Fraction-fraction) > 1e-9 {
			continue
		}
		out = append(out, r)
	}
	return out
}

func (res *Results) values(c cell, mode string, fraction float64, f func(Run) float64) []float64 {
	var xs []float64
	for _, r := range res.kept(c, mode, fraction) {
		xs = append(xs, f(r))
	}
	return xs
}

// failures lists the distinct errors of a cell's runs.
func (res *Results) failures(c cell, mode string, fraction float64) (errs []string, discarded int) {
	seen := map[string]bool{}
	for _, r := range res.Runs {
		if r.Mode != mode || r.Setting != c.set.Label || (c.cpus > 0) != (r.ControlCPUs > 0) {
			continue
		}
		if c.cpus > 0 && r.ControlCPUs != c.cpus || c.cpus == 0 && r.Quota != c.quota {
			continue
		}
		if mode == "open" && math.Abs(r.Fraction-fraction) > 1e-9 {
			continue
		}
		if r.Discarded {
			discarded++
		}
		if r.Err != "" && !seen[r.Err] {
			seen[r.Err] = true
			errs = append(errs, r.Err)
		}
	}
	return errs, discarded
}

var (
	fRPS   = func(r Run) float64 { return r.RPS }
	fP50   = func(r Run) float64 { return r.P50 }
	fP99   = func(r Run) float64 { return r.P99 }
	fP999  = func(r Run) float64 { return r.P999 }
	fMax   = func(r Run) float64 { return r.Max }
	fThr   = func(r Run) float64 { return r.ThrottledShare }
	fThrT  = func(r Run) float64 { return r.ThrottledTime / r.Wall }
	fGC    = func(r Run) float64 { return r.GCFraction }
	fProcs = func(r Run) float64 { return float64(r.ProcsEnd) }
	fCPU   = func(r Run) float64 { return r.ServerCPU }
	fUnf   = func(r Run) float64 {
		if r.Due == 0 {
			return 0
		}
		return float64(r.Unfinished) / float64(r.Due)
	}
)

func procsCell(xs []float64) string {
	if len(xs) == 0 {
		return "–"
	}
	lo, hi := report.MinMax(xs)
	if lo == hi {
		return fmt.Sprint(int(lo))
	}
	return fmt.Sprintf("%d–%d", int(lo), int(hi))
}

func (res *Results) row(t *report.Table, label string, c cell, mode string, fraction float64) {
	runs := res.kept(c, mode, fraction)
	errs, disc := res.failures(c, mode, fraction)
	if len(runs) == 0 {
		msg := "no runs"
		if disc > 0 {
			msg = fmt.Sprintf("all %d runs discarded (other load or steal)", disc)
		}
		if len(errs) > 0 {
			msg = errs[0]
			if len(msg) > 120 {
				msg = msg[:120] + "…"
			}
		}
		t.AddRow(label, "–", msg)
		return
	}
	v := func(f func(Run) float64) []float64 { return res.values(c, mode, fraction, f) }
	n := fmt.Sprint(len(runs))
	if disc > 0 {
		n += fmt.Sprintf(" (+%d discarded)", disc)
	}
	cells := []string{label, procsCell(v(fProcs)), report.Spread(v(fRPS), report.FmtInt),
		report.FmtMillis(median(v(fP50))), report.FmtMillis(median(v(fP99))),
		report.Spread(v(fP999), report.FmtMillis), report.FmtMillis(median(v(fMax)))}
	if mode == "open" {
		cells = append(cells, report.FmtPercent(median(v(fUnf))))
	}
	cells = append(cells, fmt.Sprintf("%.2f", median(v(fCPU))), report.FmtPercent(median(v(fThr))), fmt.Sprintf("%.2f", median(v(fThrT))),
		report.FmtPercent(median(v(fGC))), n)
	t.AddRow(cells...)
}

func newTable(mode string) *report.Table {
	h := []string{"GOMAXPROCS setting", "value", "req/s", "P50 ms", "P99 ms", "P99.9 ms", "max ms"}
	a := []report.Align{report.Left, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right}
	if mode == "open" {
		h = append(h, "unanswered")
		a = append(a, report.Right)
	}
	h = append(h, "CPU used", "throttled periods", "throttled s/s", "GC CPU", "runs")
	a = append(a, report.Right, report.Right, report.Right, report.Right, report.Right)
	return &report.Table{Header: h, Align: a}
}

// Load reads dir/results.json.
func Load(dir string) (*Results, error) {
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		return nil, err
	}
	var res Results
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Join(dir, "results.json"), err)
	}
	return &res, nil
}

// Write writes results.json, results.md and the SVG charts into dir.
func (res *Results) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644); err != nil {
		return err
	}
	md, charts := res.render()
	for name, svg := range charts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(svg), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "results.md"), []byte(md), 0o644)
}

func (res *Results) settings() []Setting {
	var out []Setting
	for _, l := range res.Config.Settings {
		s, err := ParseSetting(l)
		if err == nil {
			out = append(out, s)
		}
	}
	return out
}

func (res *Results) controlSettings() []Setting {
	var out []Setting
	if !res.Config.Control {
		return nil
	}
	for _, l := range res.Config.ControlSettings {
		s, err := ParseSetting(l)
		if err == nil {
			out = append(out, s)
		}
	}
	return out
}

func (res *Results) render() (string, map[string]string) {
	var md strings.Builder
	ci := res.Config
	fmt.Fprintf(&md, "# RPS experiment\n\n")
	fmt.Fprintf(&md, "- host: %s\n", res.Host)
	fmt.Fprintf(&md, "- started %s, took %v; 1-minute load average at start %.2f\n", res.Started.Format(time.RFC3339), res.Finished.Sub(res.Started).Round(time.Second), res.Host.LoadAvg1)
	fmt.Fprintf(&md, "- command: `%s`\n", strings.Join(ci.Args, " "))
	fmt.Fprintf(&md, "- closed loop: %d keep-alive connections, %s per run after %s warm-up; open loop: at most %d in flight, %s per run, latency from the due time\n",
		ci.Conns, ci.Duration, ci.Warmup, ci.OpenConns, ci.OpenDuration)
	fmt.Fprintf(&md, "- service cgroup: CFS period 100 ms, cpu.shares %d; %d MiB pointer-rich live heap; settings interleaved in random order, %d repetitions; cells: median (min–max) over kept runs\n", ci.Shares, ci.Live, ci.Reps)
	fmt.Fprintf(&md, "- before each run the tool waited (up to %s) for other processes to use at most %.2f CPUs and for the hypervisor's steal time to stay below %.2f CPUs; runs in which either was higher were discarded and queued again\n", ci.QuietWait, ci.MaxOther, ci.MaxSteal)
	nDisc, nErr := 0, 0
	for _, r := range res.Runs {
		if r.Discarded {
			nDisc++
		}
		if r.Err != "" {
			nErr++
		}
	}
	fmt.Fprintf(&md, "- %d runs, %d discarded for other load or steal, %d failed\n", len(res.Runs), nDisc, nErr)
	for v, e := range res.BuildErrors {
		fmt.Fprintf(&md, "- variant %s did not build: `%s`\n", v, firstLine(e))
	}
	md.WriteString("\nColumns: *value* is GOMAXPROCS as the service reported it; *CPU used* the service cgroup's CPU time per second (cpuacct); *throttled periods* the share of CFS periods in which the cgroup was throttled; *throttled s/s* throttled time (cpu.stat, summed over CPUs) per second; *GC CPU* the runtime's GC CPU over CPU in use; *unanswered* (open loop) requests not answered by the end of the drain, counted at their lower-bound latency.\n\n")

	sets := res.settings()
	ctl := res.controlSettings()
	md.WriteString(res.summary())
	md.WriteString(res.byValue())
	md.WriteString(res.policyTable())
	for _, q := range ci.Quotas {
		qs := FormatQuota(q)
		if ci.Closed {
			fmt.Fprintf(&md, "## Quota %s CPUs, closed loop (%d connections)\n\n", qs, ci.Conns)
			t := newTable("closed")
			for _, s := range sets {
				res.row(t, s.Label, cell{quota: q, set: s}, "closed", 0)
			}
			if len(ctl) > 0 {
				k := controlCPUs(q, res.Host.CPUs)
				for _, s := range ctl {
					res.row(t, fmt.Sprintf("control: no quota, cpuset %d CPU, %s", k, s.Label), cell{cpus: k, set: s}, "closed", 0)
				}
			}
			md.WriteString(t.Markdown())
			fmt.Fprintf(&md, "\nCapacity (best median): %s req/s\n\n", report.FmtInt(res.Capacity[qs]))
		}
		if ci.Open && (len(ci.OpenQuotas) == 0 || containsQ(ci.OpenQuotas, q)) {
			for _, f := range ci.OpenFractions {
				fmt.Fprintf(&md, "## Quota %s CPUs, open loop at %s req/s (%.0f%% of capacity)\n\n", qs, report.FmtInt(f*res.Capacity[qs]), 100*f)
				t := newTable("open")
				for _, s := range sets {
					res.row(t, s.Label, cell{quota: q, set: s}, "open", f)
				}
				md.WriteString(t.Markdown())
				md.WriteString("\n")
			}
		}
	}

	charts := map[string]string{}
	var cats []string
	for _, s := range sets {
		cats = append(cats, s.Label)
	}
	notes := []string{fmt.Sprintf("medians of up to %d runs; bars: min–max", ci.Reps), res.Host.String()}
	mk := func(name, title, ylabel string, logY bool, mode string, fraction float64, f func(Run) float64, scale float64, withControl bool) {
		c := report.Chart{Title: title, XLabel: "GOMAXPROCS setting", YLabel: ylabel, Categories: cats, LogY: logY, Notes: notes, Width: 900}
		for _, q := range ci.Quotas {
			if mode == "open" && len(ci.OpenQuotas) > 0 && !containsQ(ci.OpenQuotas, q) {
				continue
			}
			s := report.Series{Name: "quota " + FormatQuota(q)}
			for _, set := range sets {
				xs := res.values(cell{quota: q, set: set}, mode, fraction, f)
				if len(xs) == 0 {
					s.Points = append(s.Points, report.Point{})
					continue
				}
				lo, hi := report.MinMax(xs)
				s.Points = append(s.Points, report.Point{Value: median(xs) * scale, Lo: lo * scale, Hi: hi * scale, Valid: true})
			}
			c.Series = append(c.Series, s)
		}
		if withControl && len(ctl) > 0 {
			sizes := map[int]bool{}
			for _, q := range ci.Quotas {
				sizes[controlCPUs(q, res.Host.CPUs)] = true
			}
			var ks []int
			for k := range sizes {
				ks = append(ks, k)
			}
			sort.Ints(ks)
			for _, k := range ks {
				s := report.Series{Name: fmt.Sprintf("no quota, %d CPU", k)}
				for _, set := range sets {
					xs := res.values(cell{cpus: k, set: set}, mode, fraction, f)
					if len(xs) == 0 {
						s.Points = append(s.Points, report.Point{})
						continue
					}
					lo, hi := report.MinMax(xs)
					s.Points = append(s.Points, report.Point{Value: median(xs) * scale, Lo: lo * scale, Hi: hi * scale, Valid: true})
				}
				c.Series = append(c.Series, s)
			}
		}
		charts[name] = c.SVG()
	}
	if ci.Closed {
		mk("closed-rps.svg", "Closed loop: requests per second", "req/s", false, "closed", 0, fRPS, 1, true)
		mk("closed-p999.svg", "Closed loop: P99.9 latency", "P99.9 (ms, log scale)", true, "closed", 0, fP999, 1e-6, true)
	}
	if ci.Open {
		for _, f := range ci.OpenFractions {
			pct := int(math.Round(100 * f))
			mk(fmt.Sprintf("open%d-p999.svg", pct), fmt.Sprintf("Open loop at %d%% of capacity: P99.9 latency", pct), "P99.9 (ms, log scale)", true, "open", f, fP999, 1e-6, false)
			mk(fmt.Sprintf("open%d-p99.svg", pct), fmt.Sprintf("Open loop at %d%% of capacity: P99 latency", pct), "P99 (ms, log scale)", true, "open", f, fP99, 1e-6, false)
		}
	}
	// Pooled by value: the charts behind the policy choice.
	valueSet := map[int]bool{}
	for _, q := range ci.Quotas {
		for _, n := range res.procsValues(q) {
			valueSet[n] = true
		}
	}
	var values []int
	for n := range valueSet {
		values = append(values, n)
	}
	sort.Ints(values)
	var vcats []string
	for _, n := range values {
		vcats = append(vcats, fmt.Sprint(n))
	}
	vnotes := []string{"runs pooled by the GOMAXPROCS value the service reported; medians; bars: min–max", res.Host.String()}
	mkv := func(name, title, ylabel string, logY bool, mode string, fraction float64, f func(Run) float64, scale float64) {
		c := report.Chart{Title: title, XLabel: "GOMAXPROCS value", YLabel: ylabel, Categories: vcats, LogY: logY, Notes: vnotes, Width: 820}
		for _, q := range ci.Quotas {
			if mode == "open" && len(ci.OpenQuotas) > 0 && !containsQ(ci.OpenQuotas, q) {
				continue
			}
			s := report.Series{Name: "quota " + FormatQuota(q)}
			for _, n := range values {
				xs, _ := res.pooled(q, n, mode, fraction, f)
				if len(xs) == 0 {
					s.Points = append(s.Points, report.Point{})
					continue
				}
				lo, hi := report.MinMax(xs)
				s.Points = append(s.Points, report.Point{Value: median(xs) * scale, Lo: lo * scale, Hi: hi * scale, Valid: true})
			}
			c.Series = append(c.Series, s)
		}
		charts[name] = c.SVG()
	}
	if ci.Closed {
		mkv("value-closed-rps.svg", "Closed loop: req/s by GOMAXPROCS value", "req/s", false, "closed", 0, fRPS, 1)
		mkv("value-closed-p999.svg", "Closed loop: P99.9 by GOMAXPROCS value", "P99.9 (ms, log scale)", true, "closed", 0, fP999, 1e-6)
	}
	if ci.Open {
		for _, f := range ci.OpenFractions {
			pct := int(math.Round(100 * f))
			mkv(fmt.Sprintf("value-open%d-p999.svg", pct), fmt.Sprintf("Open loop at %d%% of capacity: P99.9 by GOMAXPROCS value", pct), "P99.9 (ms, log scale)", true, "open", f, fP999, 1e-6)
		}
	}

	md.WriteString("\n## Charts\n\n")
	var names []string
	for n := range charts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&md, "![%s](%s)\n\n", n, n)
	}
	return md.String(), charts
}

// pooled returns f over every kept non-control run at quota q whose
// service reported GOMAXPROCS procs, whatever the setting that produced it
// (a fixed value, the runtime default or a library): they are the same
// configuration, so pooling them gives more runs per value.
func (res *Results) pooled(q float64, procs int, mode string, fraction float64, f func(Run) float64) (xs []float64, labels []string) {
	seen := map[string]bool{}
	for _, r := range res.Runs {
		if r.Err != "" || r.Discarded || r.ControlCPUs != 0 || r.Quota != q || r.Mode != mode || r.ProcsEnd != procs {
			continue
		}
		if mode == "open" && math.Abs(r.Fraction-fraction) > 1e-9 {
			continue
		}
		xs = append(xs, f(r))
		if !seen[r.Setting] {
			seen[r.Setting] = true
			labels = append(labels, r.Setting)
		}
	}
	return xs, labels
}

// procsValues lists the GOMAXPROCS values measured at quota q.
func (res *Results) procsValues(q float64) []int {
	seen := map[int]bool{}
	var vs []int
	for _, r := range res.Runs {
		if r.Err == "" && !r.Discarded && r.ControlCPUs == 0 && r.Quota == q && r.ProcsEnd > 0 && !seen[r.ProcsEnd] {
			seen[r.ProcsEnd] = true
			vs = append(vs, r.ProcsEnd)
		}
	}
	sort.Ints(vs)
	return vs
}

// byValue is one table per quota with the runs pooled by GOMAXPROCS value.
func (res *Results) byValue() string {
	ci := res.Config
	if !ci.Closed {
		return ""
	}
	var md strings.Builder
	md.WriteString("## By GOMAXPROCS value\n\nRuns pooled by the GOMAXPROCS the service reported, whichever setting produced it (e.g. at quota 1, value 1 pools the rows 1, rightsize and automaxprocs): median (min–max) over all of them. This is the table the candidate policies are judged on.\n\n")
	for _, q := range ci.Quotas {
		open := ci.Open && (len(ci.OpenQuotas) == 0 || containsQ(ci.OpenQuotas, q))
		fmt.Fprintf(&md, "### Quota %s CPUs\n\n", FormatQuota(q))
		h := []string{"GOMAXPROCS", "rows pooled", "closed runs", "closed req/s", "closed P99.9 ms"}
		a := []report.Align{report.Right, report.Left, report.Right, report.Right, report.Right}
		if open {
			for _, f := range ci.OpenFractions {
				h = append(h, fmt.Sprintf("open %.0f%% P99.9 ms", 100*f))
				a = append(a, report.Right)
			}
		}
		h = append(h, "throttled")
		a = append(a, report.Right)
		t := report.Table{Header: h, Align: a}
		for _, n := range res.procsValues(q) {
			rps, labels := res.pooled(q, n, "closed", 0, fRPS)
			p999, _ := res.pooled(q, n, "closed", 0, fP999)
			row := []string{fmt.Sprint(n), strings.Join(labels, ", "), fmt.Sprint(len(rps)), report.Spread(rps, report.FmtInt), report.Spread(p999, report.FmtMillis)}
			if open {
				for _, f := range ci.OpenFractions {
					xs, _ := res.pooled(q, n, "open", f, fP999)
					row = append(row, report.Spread(xs, report.FmtMillis))
				}
			}
			thr, _ := res.pooled(q, n, "closed", 0, fThr)
			row = append(row, report.FmtPercent(median(thr)))
			t.AddRow(row...)
		}
		md.WriteString(t.Markdown())
		md.WriteString("\n")
	}
	return md.String()
}

// summary is one compact table per quota: closed-loop rate and latency,
// open-loop tail at each fraction, throttling.
func (res *Results) summary() string {
	ci := res.Config
	if !ci.Closed {
		return ""
	}
	var md strings.Builder
	md.WriteString("## Summary\n\nPer quota: closed loop req/s, P50 and P99.9 (median, min–max over runs), open-loop P99 and P99.9 at each fraction of capacity (medians), and the share of CFS periods throttled in closed loop. Detailed tables follow.\n\n")
	for _, q := range ci.Quotas {
		qs := FormatQuota(q)
		open := ci.Open && (len(ci.OpenQuotas) == 0 || containsQ(ci.OpenQuotas, q))
		fmt.Fprintf(&md, "### Quota %s CPUs (capacity %s req/s)\n\n", qs, report.FmtInt(res.Capacity[qs]))
		h := []string{"GOMAXPROCS", "value", "closed req/s", "P50 ms", "P99.9 ms"}
		a := []report.Align{report.Left, report.Right, report.Right, report.Right, report.Right}
		if open {
			for _, f := range ci.OpenFractions {
				h = append(h, fmt.Sprintf("open %.0f%% P99 ms", 100*f), fmt.Sprintf("open %.0f%% P99.9 ms", 100*f))
				a = append(a, report.Right, report.Right)
			}
		}
		h = append(h, "throttled")
		a = append(a, report.Right)
		t := report.Table{Header: h, Align: a}
		rows := []cell{}
		for _, s := range res.settings() {
			rows = append(rows, cell{quota: q, set: s})
		}
		for _, s := range res.controlSettings() {
			rows = append(rows, cell{cpus: controlCPUs(q, res.Host.CPUs), set: s})
		}
		for _, c := range rows {
			label := c.set.Label
			if c.cpus > 0 {
				label = fmt.Sprintf("control %d CPU, %s", c.cpus, c.set.Label)
			}
			v := func(mode string, f float64, fn func(Run) float64) []float64 { return res.values(c, mode, f, fn) }
			if len(v("closed", 0, fRPS)) == 0 {
				t.AddRow(label, "–", "no kept runs")
				continue
			}
			row := []string{label, procsCell(v("closed", 0, fProcs)), report.Spread(v("closed", 0, fRPS), report.FmtInt),
				report.FmtMillis(median(v("closed", 0, fP50))), report.Spread(v("closed", 0, fP999), report.FmtMillis)}
			if open {
				for _, f := range ci.OpenFractions {
					if c.cpus > 0 || len(v("open", f, fP999)) == 0 {
						row = append(row, "", "")
						continue
					}
					row = append(row, report.FmtMillis(median(v("open", f, fP99))), report.FmtMillis(median(v("open", f, fP999))))
				}
			}
			row = append(row, report.FmtPercent(median(v("closed", 0, fThr))))
			t.AddRow(row...)
		}
		md.WriteString(t.Markdown())
		md.WriteString("\n")
	}
	return md.String()
}

func containsQ(qs []float64, q float64) bool {
	for _, x := range qs {
		if x == q {
			return true
		}
	}
	return false
}

// policyTable maps each candidate policy to the GOMAXPROCS it gives per
// quota on this host and to the runs measured with that value (pooled).
func (res *Results) policyTable() string {
	ci := res.Config
	if !ci.Closed {
		return ""
	}
	var md strings.Builder
	md.WriteString("## Candidate default policies\n\n")
	fmt.Fprintf(&md, "GOMAXPROCS each policy gives on this %d-CPU host and what was measured with that value (runs pooled by value, medians): closed-loop req/s and P99.9, open-loop P99.9 at each fraction of capacity.\n\n", res.Host.CPUs)
	h := []string{"policy"}
	a := []report.Align{report.Left}
	for _, q := range ci.Quotas {
		h = append(h, "quota "+FormatQuota(q))
		a = append(a, report.Left)
	}
	t := report.Table{Header: h, Align: a}
	for _, p := range Policies {
		row := []string{p.Name}
		for _, q := range ci.Quotas {
			n := p.Procs(q, res.Host.CPUs)
			med := func(mode string, f float64, fn func(Run) float64, format func(float64) string) string {
				xs, _ := res.pooled(q, n, mode, f, fn)
				if len(xs) == 0 {
					return "–"
				}
				return format(median(xs))
			}
			parts := []string{fmt.Sprintf("**%d**: %s req/s, P99.9 %s ms", n, med("closed", 0, fRPS, report.FmtInt), med("closed", 0, fP999, report.FmtMillis))}
			if ci.Open && (len(ci.OpenQuotas) == 0 || containsQ(ci.OpenQuotas, q)) {
				for _, f := range ci.OpenFractions {
					parts = append(parts, fmt.Sprintf("open %.0f%%: %s ms", 100*f, med("open", f, fP999, report.FmtMillis)))
				}
			}
			row = append(row, strings.Join(parts, "; "))
		}
		t.AddRow(row...)
	}
	md.WriteString(t.Markdown())
	md.WriteString("\n")
	return md.String()
}
