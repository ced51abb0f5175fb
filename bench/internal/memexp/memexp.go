// Package memexp is the memory-limit survival experiment: a service in a
// child cgroup with a hard memory limit whose live heap climbs under load,
// run in several configurations ("rows"): without tuning (GOGC=100, no
// GOMEMLIMIT), with automemlimit, with rightsize (its off-heap-aware
// GOMEMLIMIT, or static with RIGHTSIZE_OFFHEAP=off), and with or without a
// memory pressure handler. The scenarios (Scenarios) choose the rows and
// what else the service does: memory beyond the Go heap (an anonymous
// mapping and a child process in the same cgroup), or a cache that grows
// until it is told to stop. See bench/README.md.
package memexp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rightsize/rightsize/bench/internal/cgctl"
	"github.com/rightsize/rightsize/bench/internal/loadgen"
	"github.com/rightsize/rightsize/bench/internal/report"
	"github.com/rightsize/rightsize/bench/internal/rpsexp"
	"github.com/rightsize/rightsize/bench/internal/svcrun"
	"github.com/rightsize/rightsize/bench/internal/variant"
)

// Row is one configuration of the service.
type Row struct {
	Name    string   // the row's label
	Variant string   // the build variant (variant.Tags)
	Env     []string // added to the service's environment
	Args    []string // added to the service's flags
	About   string   // one line for the results
}

// Rows are the configurations a run can use, by name.
var Rows = map[string]Row{
	"none":             {Variant: "none", About: "no tuning: GOGC=100, no GOMEMLIMIT"},
	"automemlimit":     {Variant: "automemlimit", About: "automemlimit v1.0.1: GOMEMLIMIT = 0.9 × the limit, set once at init"},
	"rightsize":        {Variant: "rightsize", About: "rightsize's default: GOMEMLIMIT = 0.9 × the limit minus its estimate of the memory the Go runtime does not manage"},
	"rightsize-static": {Variant: "rightsize", Env: []string{"RIGHTSIZE_OFFHEAP=off"}, About: "rightsize with RIGHTSIZE_OFFHEAP=off: GOMEMLIMIT = 0.9 × the limit"},
	"no-handler":       {Variant: "rightsize", About: "rightsize, no memory pressure handler registered"},
	"log-handler":      {Variant: "rightsize", Args: []string{"-pressure", "log"}, About: "rightsize.OnMemoryPressure handler that only reports the signals"},
	"handler":          {Variant: "rightsize", Args: []string{"-pressure", "act"}, About: "rightsize.OnMemoryPressure handler: on a heap, working-set, high or max begin, drop the cache and stop growing it"},
}

// Scenario is a named set of defaults for Config.
type Scenario struct {
	Name     string
	About    string
	Rows     []string
	LiveMiB  int     // 0: LiveFrac
	LiveFrac float64 // live heap target as a fraction of the limit
	MmapMiB  int
	ChildMiB int
	Grow     int // KiB per request
	Garbage  int // KiB per request
	Duration time.Duration
}

// Scenarios are the experiments memsurvive runs.
var Scenarios = map[string]Scenario{
	"ordinary": {Name: "ordinary", About: "the live heap climbs to 60% of the limit; nothing but the Go heap",
		Rows: []string{"none", "automemlimit", "rightsize"}, LiveFrac: 0.6, Grow: 4, Garbage: 256, Duration: 20 * time.Second},
	"cost": {Name: "cost", About: "the ordinary scenario, rightsize with the off-heap estimate on (default) and off",
		Rows: []string{"rightsize", "rightsize-static"}, LiveFrac: 0.6, Grow: 4, Garbage: 256, Duration: 20 * time.Second},
	"offheap": {Name: "offheap", About: "a live heap of 120 MiB, plus 64 MiB of touched syscall.Mmap memory and a child process holding 16 MiB in the same cgroup",
		Rows: []string{"none", "automemlimit", "rightsize-static", "rightsize"}, LiveMiB: 120, MmapMiB: 64, ChildMiB: 16, Grow: 4, Garbage: 256, Duration: 20 * time.Second},
	"pressure": {Name: "pressure", About: "a cache that grows without bound until the service is told to stop",
		Rows: []string{"no-handler", "log-handler", "handler"}, LiveFrac: 0, Grow: 2, Garbage: 64, Duration: 40 * time.Second},
}

// Config is one invocation.
type Config struct {
	Scenario string
	Limit    int64   // bytes
	LiveFrac float64 // live heap target as a fraction of Limit (LiveMiB 0)
	LiveMiB  int     // live heap target; 0: LiveFrac; with both 0 the cache grows without bound
	MmapMiB  int     // syscall.Mmap memory the service maps and touches at start
	ChildMiB int     // memory a child process of the service holds in the same cgroup
	Duration time.Duration
	Reps     int
	Conns    int
	Rows     []string // names in Rows
	GrowKiB  int      // cache growth per request
	Garbage  int      // KiB of short-lived allocation per request
	// Interval is RIGHTSIZE_WATCH_INTERVAL for every row ("" : the
	// default, 1s).
	Interval string
	// Sample is how often the run's timeline is sampled (default 200ms).
	Sample time.Duration
	Seed   int64
	ModDir string
	// BinDir holds prebuilt services (svc-<variant>) instead of building
	// them with the go command (the qemu guest has none).
	BinDir string
	// Exclusive, if set, is called around each run (the machine-wide
	// lock that keeps qemu guests off the host while a run measures).
	Exclusive func(ctx context.Context) (unlock func(), err error)
	Log       io.Writer
}

// Target is the live heap target in MiB; 0 means without bound.
func (c Config) Target() int {
	if c.LiveMiB > 0 {
		return c.LiveMiB
	}
	return int(c.LiveFrac * float64(c.Limit) / (1 << 20))
}

// Sample is one point of a run's timeline.
type Sample struct {
	T          float64 // seconds since the load started
	Usage      int64   // memory.usage_in_bytes / memory.current
	Anon       int64   // total_rss / anon
	Kernel     int64   // v2 kernel
	File       int64   // page cache (v1 total_cache, v2 file)
	Sock       int64   // v2 sock: network buffers
	WorkingSet int64
	GOMEMLIMIT int64 // from the service's last STATS line
	HeapLive   uint64
	Held       int64 // what the Go runtime holds (mapped, not released)
	Alive      bool  // the service was running when the sample was taken
	// Limiter is the GC cycle in which the runtime's GC CPU limiter was
	// last enabled (0: never so far).
	Limiter uint64
}

// Run is one run of one row.
type Run struct {
	// Variant is the row's name (the build variant on rows named after
	// one).
	Variant  string
	Rep      int
	Err      string `json:",omitempty"`
	Survived bool
	// OOMKills is memory.oom_control's oom_kill (v1) or memory.events'
	// oom_kill (v2) of the run's cgroup; Failcnt how often usage hit the
	// limit (v2: memory.events max).
	OOMKills, Failcnt uint64
	Exit              string // "running" at the end, or how it ended
	Alive             float64
	PeakBytes         int64
	GOMEMLIMIT        int64 // at the end (the last report before a kill)
	StartGOMEMLIMIT   int64 // at READY
	MinGOMEMLIMIT     int64 // the lowest the service reported
	HeapLive          uint64
	HeapGoal          uint64
	GCFraction        float64
	// GCCPU and CPU are the runtime's GC CPU and all CPU in use (total
	// minus idle) since start, seconds (runtime/metrics).
	GCCPU, CPU float64
	NumGC      uint64
	Completed  uint64
	RPS        float64
	P99        float64
	// OffHeap is the memory charged to the cgroup that the service's Go
	// runtime does not hold (anonymous + kernel minus the runtime's
	// mapped-and-not-released memory), the median over the samples
	// taken while the service ran: what rightsize estimates.
	OffHeap int64
	// Events are the service's EVENT lines (pressure signals, the cache
	// dropped), T in seconds since the load started.
	Events   []svcrun.Event `json:",omitempty"`
	Timeline []Sample       `json:",omitempty"`
	// MemoryStat is the cgroup's memory.stat at the end of the run.
	MemoryStat string `json:",omitempty"`
	Stderr     string `json:",omitempty"`
}

// Results is everything measured.
type Results struct {
	Started, Finished time.Time
	Host              rpsexp.HostInfo
	// Where says where it ran when not on the host itself (the qemu
	// guest).
	Where  string `json:",omitempty"`
	Config struct {
		Scenario             string
		About                string
		Limit                int64
		LiveFrac             float64
		LiveMiB              int
		Target               int
		MmapMiB, ChildMiB    int
		Duration             string
		Reps, Conns, GrowKiB int
		Garbage              int
		Interval             string
		Variants             []string // the rows
		Args                 []string
	}
	BuildErrors map[string]string
	Runs        []Run
}

func (c Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Execute runs the experiment; on cancellation it returns what it has.
func Execute(ctx context.Context, cfg Config) (*Results, error) {
	host, err := cgctl.Discover()
	if err != nil {
		return nil, err
	}
	if cfg.Sample <= 0 {
		cfg.Sample = 200 * time.Millisecond
	}
	rows := make([]Row, 0, len(cfg.Rows))
	for _, name := range cfg.Rows {
		r, ok := Rows[name]
		if !ok {
			return nil, fmt.Errorf("unknown row %q", name)
		}
		r.Name = name
		rows = append(rows, r)
	}
	res := &Results{Started: time.Now(), Host: rpsexp.ReadHostInfo(host), BuildErrors: map[string]string{}}
	c := &res.Config
	c.Scenario, c.Limit, c.LiveFrac, c.LiveMiB, c.Target = cfg.Scenario, cfg.Limit, cfg.LiveFrac, cfg.LiveMiB, cfg.Target()
	if sc, ok := Scenarios[cfg.Scenario]; ok {
		c.About = sc.About
	}
	c.MmapMiB, c.ChildMiB, c.Duration, c.Interval = cfg.MmapMiB, cfg.ChildMiB, cfg.Duration.String(), cfg.Interval
	c.Reps, c.Conns, c.GrowKiB, c.Garbage = cfg.Reps, cfg.Conns, cfg.GrowKiB, cfg.Garbage
	c.Variants, c.Args = cfg.Rows, os.Args
	defer func() { res.Finished = time.Now() }()

	bins := map[string]string{}
	if cfg.BinDir != "" {
		for _, r := range rows {
			b := filepath.Join(cfg.BinDir, "svc-"+r.Variant)
			if _, err := os.Stat(b); err != nil {
				res.BuildErrors[r.Variant] = err.Error()
				continue
			}
			bins[r.Variant] = b
		}
	} else {
		binDir, err := os.MkdirTemp("", "rightsize-bench-bin-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(binDir)
		for _, r := range rows {
			if _, done := bins[r.Variant]; done || res.BuildErrors[r.Variant] != "" {
				continue
			}
			cfg.logf("building svc (%s)", r.Variant)
			b, err := variant.Build(ctx, cfg.ModDir, "./svc", r.Variant, binDir)
			if err != nil {
				cfg.logf("build failed: %v", err)
				res.BuildErrors[r.Variant] = err.Error()
				continue
			}
			bins[r.Variant] = b
		}
	}
	rng := rand.New(rand.NewSource(cfg.Seed))
	for rep := 1; rep <= cfg.Reps; rep++ {
		order := append([]Row(nil), rows...)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, row := range order {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			r := Run{Variant: row.Name, Rep: rep}
			if b, ok := bins[row.Variant]; ok {
				unlock := func() {}
				if cfg.Exclusive != nil {
					if unlock, err = cfg.Exclusive(ctx); err != nil {
						return res, err
					}
				}
				runOne(ctx, cfg, host, b, row, &r)
				unlock()
			} else {
				r.Err = "not built: " + strings.SplitN(res.BuildErrors[row.Variant], "\n", 2)[0]
			}
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			res.Runs = append(res.Runs, r)
			cfg.logf("%s rep %d: survived=%v oom_kill=%d exit=%s alive=%.1fs peak=%.0f MiB GOMEMLIMIT=%s (min %s) off-heap=%.0f MiB live=%.0f MiB gc=%.1f%% (%d cycles) %.0f req/s%s %s",
				row.Name, rep, r.Survived, r.OOMKills, r.Exit, r.Alive, mibf(r.PeakBytes), fmtLimit(r.GOMEMLIMIT), fmtLimit(r.MinGOMEMLIMIT),
				mibf(r.OffHeap), float64(r.HeapLive)/(1<<20), 100*r.GCFraction, r.NumGC, r.RPS, eventSummary(r.Events), r.Err)
		}
	}
	return res, nil
}

func mibf(v int64) float64 { return float64(v) / (1 << 20) }

func fmtLimit(v int64) string {
	if v <= 0 || v == math.MaxInt64 {
		return "none"
	}
	return fmt.Sprintf("%.0f MiB", float64(v)/(1<<20))
}

func eventSummary(evs []svcrun.Event) string {
	var parts []string
	for _, e := range evs {
		switch e.Kind {
		case "pressure":
			edge := "end"
			if e.Active {
				edge = "begin"
			}
			parts = append(parts, fmt.Sprintf("%s %s at %.1fs (ws %.0f MiB)", e.Cause, edge, e.T, mibf(e.WorkingSet)))
		case "drop":
			parts = append(parts, fmt.Sprintf("dropped %.0f MiB at %.1fs", mibf(int64(e.Cache)), e.T))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " events: " + strings.Join(parts, ", ")
}

func runOne(ctx context.Context, cfg Config, host *cgctl.Host, bin string, row Row, r *Run) {
	spec := cgctl.Spec{Name: "mem-" + row.Name, MemLimit: cfg.Limit}
	args := []string{"-mode", "mem", "-target", fmt.Sprint(cfg.Target()), "-grow", fmt.Sprint(cfg.GrowKiB),
		"-garbage", fmt.Sprint(cfg.Garbage), "-report", "100ms"}
	if cfg.MmapMiB > 0 {
		args = append(args, "-mmap", fmt.Sprint(cfg.MmapMiB))
	}
	if cfg.ChildMiB > 0 {
		args = append(args, "-child", fmt.Sprint(cfg.ChildMiB))
	}
	args = append(args, row.Args...)
	env := []string{"GOGC=100"}
	if cfg.Interval != "" {
		env = append(env, "RIGHTSIZE_WATCH_INTERVAL="+cfg.Interval)
	}
	env = append(env, row.Env...)
	srv, err := svcrun.Start(host, spec, bin, args, variant.CleanEnv(env...), 60*time.Second)
	if err != nil {
		r.Err = err.Error()
		return
	}
	defer srv.Stop()
	r.GOMEMLIMIT, r.StartGOMEMLIMIT, r.MinGOMEMLIMIT = srv.Ready.GOMEMLIMIT, srv.Ready.GOMEMLIMIT, srv.Ready.GOMEMLIMIT
	conns := make([]*loadgen.Conn, 0, cfg.Conns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < cfg.Conns; i++ {
		c, err := loadgen.Dial(srv.Ready.Addr, "/work")
		if err != nil {
			r.Err = err.Error()
			return
		}
		conns = append(conns, c)
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	var (
		mu       sync.Mutex
		died     time.Time
		timeline []Sample
	)
	sample := func() {
		m, err := srv.Group.ReadMem()
		if err != nil {
			return
		}
		s := Sample{T: time.Since(start).Seconds(), Usage: m.Usage, Anon: m.Anon, Kernel: m.Kernel, File: m.File, Sock: m.Sock, WorkingSet: m.WorkingSet()}
		select {
		case <-srv.Exited():
		default:
			s.Alive = true
		}
		if st := srv.LastStats(); st != nil {
			s.GOMEMLIMIT, s.HeapLive, s.Held, s.Limiter = st.GOMEMLIMIT, st.HeapLive, st.Held(), st.LimiterCycle
		}
		mu.Lock()
		timeline = append(timeline, s)
		mu.Unlock()
	}
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		tk := time.NewTicker(cfg.Sample)
		defer tk.Stop()
		sample()
		for {
			select {
			case <-srv.Exited():
				mu.Lock()
				died = time.Now()
				mu.Unlock()
				cancel()
				return
			case <-lctx.Done():
				return
			case <-tk.C:
				sample()
			}
		}
	}()
	lr := loadgen.Closed(lctx, conns, 0, cfg.Duration)
	end := time.Now()
	cancel()
	sampler.Wait()
	mem, err := srv.Group.ReadMem()
	if err != nil {
		r.Err = err.Error()
	}
	r.OOMKills, r.Failcnt, r.PeakBytes = mem.OOMKill, mem.Failcnt, mem.Peak
	if b, err := os.ReadFile(filepath.Join(srv.Group.Memory, "memory.stat")); err == nil {
		r.MemoryStat = string(b)
	}
	select {
	case <-srv.Exited():
		if died.IsZero() {
			died = time.Now()
		}
		if sig, ok := srv.Signaled(); ok {
			r.Exit = fmt.Sprintf("killed by signal %d (%v)", int(sig), sig)
		} else if e := srv.ExitErr(); e != nil {
			r.Exit = e.Error()
		} else {
			r.Exit = "exit 0"
		}
	default:
		r.Exit = "running"
	}
	alive := end.Sub(start)
	if !died.IsZero() {
		alive = died.Sub(start)
	}
	if alive > cfg.Duration {
		alive = cfg.Duration
	}
	r.Alive = alive.Seconds()
	r.Survived = r.Exit == "running" && r.OOMKills == 0
	// Requests that failed because the service died are not throughput.
	r.Completed = lr.Completed
	if alive > 0 {
		r.RPS = float64(lr.Completed) / alive.Seconds()
	}
	r.P99 = float64(lr.Hist.Quantile(0.99))
	st := srv.LastStats()
	if r.Survived {
		if fresh, err := srv.FetchStats(); err == nil {
			st = fresh
		}
	}
	if st != nil {
		r.GOMEMLIMIT, r.HeapLive, r.HeapGoal = st.GOMEMLIMIT, st.HeapLive, st.HeapGoal
		r.GCFraction, r.NumGC = st.GCFraction, st.NumGC
		r.GCCPU, r.CPU = st.GCCPU, st.TotalCPU-st.IdleCPU
	}
	for _, s := range timeline {
		if s.GOMEMLIMIT > 0 && s.GOMEMLIMIT < r.MinGOMEMLIMIT {
			r.MinGOMEMLIMIT = s.GOMEMLIMIT
		}
	}
	if r.GOMEMLIMIT > 0 && r.GOMEMLIMIT < r.MinGOMEMLIMIT {
		r.MinGOMEMLIMIT = r.GOMEMLIMIT
	}
	// The memory beyond the Go runtime's: the median over the samples
	// taken while the service ran (its report lags the cgroup's figures
	// by up to 100 ms, which matters while the heap grows fast).
	var offs []float64
	for _, s := range timeline {
		if s.Held > 0 && s.Alive {
			offs = append(offs, float64(max(s.Anon+s.Kernel-s.Held, 0)))
		}
	}
	if len(offs) > 0 {
		r.OffHeap = int64(report.Median(offs))
	}
	for _, e := range srv.Events() {
		e.T = e.At.Sub(start).Seconds()
		r.Events = append(r.Events, e)
	}
	r.Timeline = timeline
	r.Stderr = srv.Stderr()
}

// Write writes results.json and results.md into dir.
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
	return os.WriteFile(filepath.Join(dir, "results.md"), []byte(res.Markdown()), 0o644)
}

// rowsOf returns the runs of a row that ran (errors apart).
func (res *Results) rowsOf(v string) (runs []Run, errs []string) {
	for _, r := range res.Runs {
		if r.Variant != v {
			continue
		}
		if r.Err != "" && r.Exit == "" {
			errs = append(errs, r.Err)
			continue
		}
		runs = append(runs, r)
	}
	return runs, errs
}

// Markdown renders the summary table and one line per run.
func (res *Results) Markdown() string {
	var md strings.Builder
	c := res.Config
	title := "Memory-limit survival"
	if c.Scenario != "" && c.Scenario != "ordinary" {
		title += ": " + c.Scenario + " scenario"
	}
	fmt.Fprintf(&md, "# %s\n\n", title)
	if res.Where != "" {
		fmt.Fprintf(&md, "- where: %s\n", res.Where)
	}
	fmt.Fprintf(&md, "- host: %s\n", res.Host)
	fmt.Fprintf(&md, "- started %s, took %v\n", res.Started.Format(time.RFC3339), res.Finished.Sub(res.Started).Round(time.Second))
	fmt.Fprintf(&md, "- command: `%s`\n", strings.Join(c.Args, " "))
	if c.About != "" {
		fmt.Fprintf(&md, "- scenario %s: %s\n", c.Scenario, c.About)
	}
	live := fmt.Sprintf("climbs by %d KiB per request to %d MiB", c.GrowKiB, c.Target)
	if c.LiveMiB == 0 && c.Target > 0 {
		live += fmt.Sprintf(" (%.0f%% of the limit)", 100*c.LiveFrac)
	}
	live += " and stays"
	if c.Target == 0 && c.LiveMiB == 0 {
		live = fmt.Sprintf("grows by %d KiB per request without bound", c.GrowKiB)
	}
	fmt.Fprintf(&md, "- cgroup memory limit %d MiB (no swap); the live heap %s; %d KiB short-lived garbage per request; GOGC=100; closed loop, %d connections, %s per run; %d repetitions, rows interleaved",
		c.Limit>>20, live, c.Garbage, c.Conns, c.Duration, c.Reps)
	if c.MmapMiB > 0 || c.ChildMiB > 0 {
		fmt.Fprintf(&md, "; before serving, the service maps and touches %d MiB with syscall.Mmap and starts a child process (itself, re-executed) that holds %d MiB in the same cgroup", c.MmapMiB, c.ChildMiB)
	}
	if c.Interval != "" {
		fmt.Fprintf(&md, "; RIGHTSIZE_WATCH_INTERVAL=%s", c.Interval)
	}
	md.WriteString("\n")
	for _, v := range c.Variants {
		if row, ok := Rows[v]; ok {
			fmt.Fprintf(&md, "- row **%s**: %s\n", v, row.About)
		}
	}
	md.WriteString("\n")
	for v, e := range res.BuildErrors {
		fmt.Fprintf(&md, "- variant %s did not build: `%s`\n\n", v, strings.SplitN(e, "\n", 2)[0])
	}
	t := report.Table{
		Header: []string{"row", "outcome", "GOMEMLIMIT start → lowest", "off-heap MiB", "peak usage MiB", "live heap MiB", "GC CPU", "GC cycles", "req/s while alive", "alive s"},
		Align:  []report.Align{report.Left, report.Left, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right},
	}
	anyEvents := false
	for _, v := range c.Variants {
		runs, errs := res.rowsOf(v)
		if len(runs) == 0 {
			msg := "no runs"
			if len(errs) > 0 {
				msg = errs[0]
				if len(msg) > 100 {
					msg = msg[:100] + "…"
				}
			}
			t.AddRow(v, msg)
			continue
		}
		surv, oom := 0, 0
		var peak, live, gc, cycles, rps, alive, lowest, off []float64
		for _, r := range runs {
			if r.Survived {
				surv++
			}
			if r.OOMKills > 0 {
				oom++
			}
			anyEvents = anyEvents || len(r.Events) > 0
			peak = append(peak, mibf(r.PeakBytes))
			live = append(live, float64(r.HeapLive)/(1<<20))
			gc = append(gc, r.GCFraction)
			cycles = append(cycles, float64(r.NumGC))
			rps = append(rps, r.RPS)
			alive = append(alive, r.Alive)
			off = append(off, mibf(r.OffHeap))
			if r.MinGOMEMLIMIT > 0 && r.MinGOMEMLIMIT != math.MaxInt64 {
				lowest = append(lowest, mibf(r.MinGOMEMLIMIT))
			}
		}
		outcome := fmt.Sprintf("survived %d/%d", surv, len(runs))
		if oom > 0 {
			outcome += fmt.Sprintf(", OOM-killed %d/%d", oom, len(runs))
		}
		limit := fmtLimit(runs[0].StartGOMEMLIMIT)
		if len(lowest) > 0 && report.Median(lowest) < mibf(runs[0].StartGOMEMLIMIT)-0.5 {
			limit += " → " + report.Spread(lowest, report.FmtInt)
		}
		t.AddRow(v, outcome, limit, report.Spread(off, report.FmtInt), report.Spread(peak, report.FmtInt), report.Spread(live, report.FmtInt),
			report.Spread(gc, report.FmtPercent), report.FmtInt(report.Median(cycles)), report.Spread(rps, report.FmtInt),
			report.Spread(alive, func(x float64) string { return fmt.Sprintf("%.1f", x) }))
	}
	md.WriteString(t.Markdown())
	md.WriteString("\nMedian (min–max) over the runs. *outcome*: still running at the end with no OOM kill in its cgroup; *GOMEMLIMIT*: at start, and the lowest the service reported (rightsize's watcher lowers it by its off-heap estimate); *off-heap*: anonymous (+ kernel on v2) memory charged to the cgroup minus what the service's Go runtime holds (mapped, not released), median over the samples (every 200 ms) while the service ran; *peak usage*: memory.max_usage_in_bytes (v1) / memory.peak (v2); *live heap*: bytes marked live by the last GC the service reported; *GC CPU*: the runtime's GC CPU over CPU in use since start, from the service's last report.\n\n")
	if anyEvents || c.Scenario == "pressure" {
		md.WriteString(res.pressureTable())
	}
	if len(c.Variants) == 2 {
		md.WriteString(res.pairedTable(c.Variants[0], c.Variants[1]))
	}
	md.WriteString("| row | rep | exit | oom_kill | alive s | peak MiB | lowest GOMEMLIMIT MiB | off-heap MiB | GC CPU | GC cycles | req/s |\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range res.Runs {
		exit := r.Exit
		if r.Err != "" {
			exit += " (" + r.Err + ")"
		}
		fmt.Fprintf(&md, "| %s | %d | %s | %d | %.1f | %.0f | %s | %.0f | %.1f%% | %d | %s |\n", r.Variant, r.Rep, strings.ReplaceAll(exit, "|", `\|`), r.OOMKills, r.Alive,
			mibf(r.PeakBytes), strings.TrimSuffix(fmtLimit(r.MinGOMEMLIMIT), " MiB"), mibf(r.OffHeap), 100*r.GCFraction, r.NumGC, report.FmtInt(r.RPS))
	}
	return md.String()
}

// pairedTable compares two rows repetition by repetition (the two runs of a
// repetition ran back to back, so slow drifts of the machine's load cancel
// out): the ratio a/b of GC CPU and of throughput, per repetition and
// their median.
func (res *Results) pairedTable(a, b string) string {
	byRep := map[int]map[string]Run{}
	for _, r := range res.Runs {
		if r.Err != "" || r.Exit == "" {
			continue
		}
		if byRep[r.Rep] == nil {
			byRep[r.Rep] = map[string]Run{}
		}
		byRep[r.Rep][r.Variant] = r
	}
	var reps []int
	for rep, m := range byRep {
		if _, ok := m[a]; ok {
			if _, ok := m[b]; ok {
				reps = append(reps, rep)
			}
		}
	}
	if len(reps) == 0 {
		return ""
	}
	sort.Ints(reps)
	var sb strings.Builder
	fmt.Fprintf(&sb, "Paired by repetition (%s ÷ %s; the two runs of a repetition ran back to back):\n\n", a, b)
	fmt.Fprintf(&sb, "| rep | GC CPU %s | GC CPU %s | ratio | req/s %s | req/s %s | ratio | CPU µs/req %s | CPU µs/req %s | ratio |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", a, b, a, b, a, b)
	var gcr, rpsr, cpur []float64
	perReq := func(r Run) float64 {
		if r.Completed == 0 || r.CPU <= 0 {
			return math.NaN()
		}
		return 1e6 * r.CPU / float64(r.Completed)
	}
	for _, rep := range reps {
		x, y := byRep[rep][a], byRep[rep][b]
		g, q, u := math.NaN(), math.NaN(), math.NaN()
		if y.GCFraction > 0 {
			g = x.GCFraction / y.GCFraction
			gcr = append(gcr, g)
		}
		if y.RPS > 0 {
			q = x.RPS / y.RPS
			rpsr = append(rpsr, q)
		}
		if px, py := perReq(x), perReq(y); px > 0 && py > 0 {
			u = px / py
			cpur = append(cpur, u)
		}
		fmt.Fprintf(&sb, "| %d | %.1f%% | %.1f%% | %.3f | %s | %s | %.3f | %.0f | %.0f | %.3f |\n", rep, 100*x.GCFraction, 100*y.GCFraction, g,
			report.FmtInt(x.RPS), report.FmtInt(y.RPS), q, perReq(x), perReq(y), u)
	}
	f3 := func(v float64) string { return fmt.Sprintf("%.3f", v) }
	fmt.Fprintf(&sb, "| median (min–max) | | | %s | | | %s | | | %s |\n\n", report.Spread(gcr, f3), report.Spread(rpsr, f3), report.Spread(cpur, f3))
	sb.WriteString("*CPU µs/req*: the service's CPU in use (runtime/metrics total − idle) since start over the requests completed: the cost of a request, GC included, whatever the load on the machine did to throughput.\n\n")
	return sb.String()
}

// pressureTable lists, per run with events, when the first signal began,
// when the cache was dropped, when the signal ended and when the service
// died.
func (res *Results) pressureTable() string {
	var b strings.Builder
	b.WriteString("Memory pressure signals, seconds since the load started (the time this process read the service's EVENT line). The last two columns are from the service's reports (every 100 ms, sampled every 200 ms): when its live heap first reached 90% of its GOMEMLIMIT, and when the runtime's GC CPU limiter was first seen enabled (/gc/limiter/last-enabled:gc-cycle > 0: the GC could no longer hold the heap under GOMEMLIMIT within 50% of the CPU).\n\n")
	b.WriteString("| row | rep | first begin s (cause, working set MiB) | cache dropped s (MiB) | end s | begins / ends | killed at s | kill − first begin s | live heap ≥ 90% of GOMEMLIMIT at s | GC CPU limiter on at s |\n|---|---:|---|---|---:|---:|---:|---:|---:|---:|\n")
	runs := append([]Run(nil), res.Runs...)
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Variant < runs[j].Variant })
	for _, r := range runs {
		first, drop, end := "–", "–", "–"
		begins, ends := 0, 0
		var firstT float64 = -1
		for _, e := range r.Events {
			switch {
			case e.Kind == "pressure" && e.Active:
				begins++
				if firstT < 0 {
					firstT = e.T
					first = fmt.Sprintf("%.1f (%s, %.0f)", e.T, e.Cause, mibf(e.WorkingSet))
				}
			case e.Kind == "pressure":
				ends++
				if end == "–" {
					end = fmt.Sprintf("%.1f", e.T)
				}
			case e.Kind == "drop" && drop == "–":
				drop = fmt.Sprintf("%.1f (%.0f)", e.T, mibf(int64(e.Cache)))
			}
		}
		killed, lead := "–", "–"
		if !r.Survived && r.Exit != "running" {
			killed = fmt.Sprintf("%.1f", r.Alive)
			if firstT >= 0 {
				lead = fmt.Sprintf("%.1f", r.Alive-firstT)
			}
		}
		live90, limiter := "–", "–"
		for _, x := range r.Timeline {
			if live90 == "–" && x.GOMEMLIMIT > 0 && x.GOMEMLIMIT != math.MaxInt64 && float64(x.HeapLive) >= 0.9*float64(x.GOMEMLIMIT) {
				live90 = fmt.Sprintf("%.1f", x.T)
			}
			if limiter == "–" && x.Limiter > 0 {
				limiter = fmt.Sprintf("%.1f", x.T)
			}
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %d / %d | %s | %s | %s | %s |\n", r.Variant, r.Rep, first, drop, end, begins, ends, killed, lead, live90, limiter)
	}
	b.WriteString("\n")
	return b.String()
}
