// Package rpsexp is the RPS experiment: a Go HTTP service under a real CFS
// quota, GOMAXPROCS chosen per row, driven in closed and open loop from
// outside its cgroup. See bench/README.md.
package rpsexp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/rightsize/rightsize/bench/internal/cgctl"
	"github.com/rightsize/rightsize/bench/internal/hoststat"
	"github.com/rightsize/rightsize/bench/internal/loadgen"
	"github.com/rightsize/rightsize/bench/internal/svcrun"
	"github.com/rightsize/rightsize/bench/internal/variant"
)

// Config is one invocation.
type Config struct {
	Quotas   []float64
	Settings []Setting
	// Control adds, per distinct cpuset size, runs without a quota pinned
	// to ceil(quota) CPUs (at most the host's), with ControlSettings.
	Control         bool
	ControlSettings []Setting
	Closed, Open    bool
	// OpenQuotas restricts the open-loop phase to these quotas (nil: all).
	OpenQuotas []float64
	// OpenFractions of each quota's capacity (best median closed-loop
	// req/s over the settings) to offer in open loop.
	OpenFractions []float64
	Duration      time.Duration // closed-loop window
	OpenDuration  time.Duration // open-loop window
	Warmup        time.Duration
	Drain         time.Duration // open loop: wait this long for stragglers
	Reps          int
	Conns         int // closed loop
	OpenConns     int // open loop: at most this many in flight
	Shares        uint64
	// MaxOther is the CPU (cores, average) that processes other than the
	// service and the load generator may use during a run before the run
	// is discarded and queued again (at most Retries times).
	MaxOther float64
	// MaxSteal is the CPU time the hypervisor may steal from this VM
	// (/proc/stat steal, cores on average) during a run before it is
	// discarded like MaxOther.
	MaxSteal float64
	Retries  int
	// QuietWait is how long to wait before a run for the other load to
	// drop below MaxOther (sampled over half a second).
	QuietWait time.Duration
	Live      int // MiB of live heap in the service
	Seed      int64
	ModDir    string
	Log       io.Writer
}

// Run is one measured run.
type Run struct {
	Quota       float64 `json:"quota"`        // 0 for a control
	ControlCPUs int     `json:"control_cpus"` // cpuset size of a control
	Setting     string  `json:"setting"`
	Mode        string  `json:"mode"` // closed or open
	Fraction    float64 `json:"fraction,omitempty"`
	Rate        float64 `json:"rate,omitempty"`
	Rep         int     `json:"rep"`
	Attempt     int     `json:"attempt"`
	Err         string  `json:"err,omitempty"`

	RPS                       float64 `json:"rps"`
	P50, P99, P999, Max, Mean float64 // nanoseconds
	Completed, Errors         uint64
	Due, Unfinished           uint64

	Periods        uint64  `json:"periods"`
	ThrottledShare float64 `json:"throttled_share"`
	ThrottledTime  float64 `json:"throttled_s"`

	ServerCPU, LoadgenCPU, HostBusy, Other, Steal float64 // cores, average
	Wall                                          float64 // seconds

	ProcsStart, ProcsEnd int
	NumGC                uint64
	GCFraction           float64
	PeakMem              int64
	Stderr               string `json:"stderr,omitempty"`

	Discarded bool   `json:"discarded,omitempty"`
	Why       string `json:"why,omitempty"`
}

// Results is everything measured.
type Results struct {
	Started, Finished time.Time
	Host              HostInfo
	Config            ConfigInfo
	Capacity          map[string]float64 // quota -> req/s
	BuildErrors       map[string]string  // variant -> error
	Runs              []Run
}

// ConfigInfo is the part of Config worth keeping with the results.
type ConfigInfo struct {
	Quotas                         []float64
	Settings, ControlSettings      []string
	Control, Closed, Open          bool
	OpenFractions                  []float64
	Duration, OpenDuration, Warmup string
	Reps, Conns, OpenConns         int
	Shares                         uint64
	MaxOther, MaxSteal             float64
	OpenQuotas                     []float64
	QuietWait                      string
	Live                           int
	Args                           []string
}

type cell struct {
	quota float64
	cpus  int // control cpuset size, 0 for quota cells
	set   Setting
}

type job struct {
	c        cell
	mode     string
	fraction float64
	rep      int
	attempt  int
}

func (c cell) key() string {
	if c.cpus > 0 {
		return fmt.Sprintf("cpuset%d/%s", c.cpus, c.set.Label)
	}
	return fmt.Sprintf("q%s/%s", FormatQuota(c.quota), c.set.Label)
}

func (c Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// controlCPUs is the cpuset size of the control for a quota.
func controlCPUs(q float64, host int) int {
	n := int(math.Ceil(q))
	if n < 1 {
		n = 1
	}
	if n > host {
		n = host
	}
	return n
}

// Execute runs the experiment. It returns what was measured so far also
// when ctx is cancelled (with ctx.Err()).
func Execute(ctx context.Context, cfg Config) (*Results, error) {
	if cfg.Reps < 1 {
		cfg.Reps = 1
	}
	if !cfg.Closed && cfg.Open {
		return nil, errors.New("open loop needs the closed-loop phase (it measures the capacity the open-loop rates are fractions of)")
	}
	host, err := cgctl.Discover()
	if err != nil {
		return nil, err
	}
	res := &Results{
		Started:     time.Now(),
		Host:        ReadHostInfo(host),
		Capacity:    map[string]float64{},
		BuildErrors: map[string]string{},
	}
	res.Config = cfg.info()
	defer func() { res.Finished = time.Now() }()

	// Build every variant the settings need.
	binDir, err := os.MkdirTemp("", "rightsize-bench-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(binDir)
	bins := map[string]string{}
	for _, s := range append(append([]Setting(nil), cfg.Settings...), cfg.ControlSettings...) {
		if _, done := bins[s.Variant]; done {
			continue
		}
		if _, failed := res.BuildErrors[s.Variant]; failed {
			continue
		}
		cfg.logf("building svc (%s)", s.Variant)
		b, err := variant.Build(ctx, cfg.ModDir, "./svc", s.Variant, binDir)
		if err != nil {
			cfg.logf("build failed, rows of variant %s will be empty:\n%v", s.Variant, err)
			res.BuildErrors[s.Variant] = err.Error()
			continue
		}
		bins[s.Variant] = b
	}

	rng := rand.New(rand.NewSource(cfg.Seed))
	var cells []cell
	for _, q := range cfg.Quotas {
		for _, s := range cfg.Settings {
			cells = append(cells, cell{quota: q, set: s})
		}
	}
	var controls []cell
	if cfg.Control {
		sizes := map[int]bool{}
		for _, q := range cfg.Quotas {
			sizes[controlCPUs(q, host.NumCPUs)] = true
		}
		var ks []int
		for k := range sizes {
			ks = append(ks, k)
		}
		sort.Ints(ks)
		for _, k := range ks {
			for _, s := range cfg.ControlSettings {
				controls = append(controls, cell{cpus: k, set: s})
			}
		}
	}

	// Phase 1: closed loop.
	if cfg.Closed {
		var jobs []job
		for rep := 1; rep <= cfg.Reps; rep++ {
			batch := append(append([]cell(nil), cells...), controls...)
			rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
			for _, c := range batch {
				jobs = append(jobs, job{c: c, mode: "closed", rep: rep})
			}
		}
		if err := runJobs(ctx, cfg, host, bins, res, jobs, nil); err != nil {
			return res, err
		}
	}
	// Capacity per quota: the best median closed-loop rate.
	for _, q := range cfg.Quotas {
		best := 0.0
		for _, s := range cfg.Settings {
			if m := median(res.values(cell{quota: q, set: s}, "closed", 0, func(r Run) float64 { return r.RPS })); m > best {
				best = m
			}
		}
		res.Capacity[FormatQuota(q)] = best
	}
	// Phase 2: open loop at fractions of the capacity.
	if cfg.Open {
		var jobs []job
		for rep := 1; rep <= cfg.Reps; rep++ {
			var batch []job
			for _, c := range cells {
				if res.Capacity[FormatQuota(c.quota)] <= 0 || !cfg.openAt(c.quota) {
					continue
				}
				for _, f := range cfg.OpenFractions {
					batch = append(batch, job{c: c, mode: "open", fraction: f, rep: rep})
				}
			}
			rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
			jobs = append(jobs, batch...)
		}
		rate := func(j job) float64 { return j.fraction * res.Capacity[FormatQuota(j.c.quota)] }
		if err := runJobs(ctx, cfg, host, bins, res, jobs, rate); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (cfg Config) openAt(q float64) bool {
	if len(cfg.OpenQuotas) == 0 {
		return true
	}
	for _, o := range cfg.OpenQuotas {
		if o == q {
			return true
		}
	}
	return false
}

func (cfg Config) info() ConfigInfo {
	ci := ConfigInfo{
		Quotas: cfg.Quotas, Control: cfg.Control, Closed: cfg.Closed, Open: cfg.Open,
		OpenFractions: cfg.OpenFractions, Duration: cfg.Duration.String(), OpenDuration: cfg.OpenDuration.String(),
		Warmup: cfg.Warmup.String(), Reps: cfg.Reps, Conns: cfg.Conns, OpenConns: cfg.OpenConns,
		Shares: cfg.Shares, MaxOther: cfg.MaxOther, MaxSteal: cfg.MaxSteal, OpenQuotas: cfg.OpenQuotas, QuietWait: cfg.QuietWait.String(), Live: cfg.Live, Args: os.Args,
	}
	for _, s := range cfg.Settings {
		ci.Settings = append(ci.Settings, s.Label)
	}
	for _, s := range cfg.ControlSettings {
		ci.ControlSettings = append(ci.ControlSettings, s.Label)
	}
	return ci
}

func runJobs(ctx context.Context, cfg Config, host *cgctl.Host, bins map[string]string, res *Results, jobs []job, rate func(job) float64) error {
	start := time.Now()
	total := len(jobs)
	for i := 0; i < len(jobs); i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		j := jobs[i]
		r := Run{Quota: j.c.quota, ControlCPUs: j.c.cpus, Setting: j.c.set.Label, Mode: j.mode,
			Fraction: j.fraction, Rep: j.rep, Attempt: j.attempt}
		if rate != nil {
			r.Rate = rate(j)
		}
		if cfg.QuietWait > 0 {
			waitQuiet(ctx, cfg)
		}
		bin, ok := bins[j.c.set.Variant]
		if !ok {
			r.Err = "not built: " + firstLine(res.BuildErrors[j.c.set.Variant])
		} else {
			runOne(ctx, cfg, host, bin, j, &r)
		}
		if ctx.Err() != nil {
			return ctx.Err() // an interrupted run is not kept
		}
		if r.Err == "" && (r.Other > cfg.MaxOther || r.Steal > cfg.MaxSteal) {
			r.Discarded = true
			r.Why = fmt.Sprintf("other CPU use %.2f (max %.2f), steal %.2f (max %.2f) cores", r.Other, cfg.MaxOther, r.Steal, cfg.MaxSteal)
			if j.attempt < cfg.Retries {
				j.attempt++
				jobs = append(jobs, j)
				total++
			}
		}
		res.Runs = append(res.Runs, r)
		done := i + 1
		eta := time.Duration(float64(time.Since(start)) / float64(done) * float64(total-done)).Round(time.Second)
		cfg.logf("[%d/%d eta %v] %s", done, total, eta, r.summary())
	}
	return nil
}

// waitQuiet waits, up to cfg.QuietWait, until processes other than this
// one use at most cfg.MaxOther CPUs and the hypervisor steals at most
// cfg.MaxSteal, over half a second.
func waitQuiet(ctx context.Context, cfg Config) {
	deadline := time.Now().Add(cfg.QuietWait)
	logged := false
	for ctx.Err() == nil {
		a, err := hoststat.Read()
		if err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
		b, err := hoststat.Read()
		if err != nil {
			return
		}
		d := b.Sub(a)
		other := d.Busy - d.SelfCPU
		if other <= cfg.MaxOther && d.Steal <= cfg.MaxSteal {
			return
		}
		if time.Now().After(deadline) {
			cfg.logf("  other load still %.2f CPUs, steal %.2f, after %v; running anyway", other, d.Steal, cfg.QuietWait)
			return
		}
		if !logged {
			cfg.logf("  waiting for other load (%.2f CPUs, steal %.2f) to drop below %.2f and %.2f", other, d.Steal, cfg.MaxOther, cfg.MaxSteal)
			logged = true
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func (r Run) summary() string {
	where := "q=" + FormatQuota(r.Quota)
	if r.ControlCPUs > 0 {
		where = fmt.Sprintf("cpuset=%d", r.ControlCPUs)
	}
	mode := r.Mode
	if r.Mode == "open" {
		mode = fmt.Sprintf("open@%.0f", r.Rate)
	}
	if r.Err != "" {
		return fmt.Sprintf("%s %s procs=%s rep=%d: ERROR %s", mode, where, r.Setting, r.Rep, r.Err)
	}
	s := fmt.Sprintf("%s %s procs=%s(%d) rep=%d: %.0f req/s p50 %.2fms p99 %.2fms p99.9 %.2fms max %.1fms thr %.0f%% gc %.0f%% srv %.2f lg %.2f other %.2f",
		mode, where, r.Setting, r.ProcsEnd, r.Rep, r.RPS, r.P50/1e6, r.P99/1e6, r.P999/1e6, r.Max/1e6,
		100*r.ThrottledShare, 100*r.GCFraction, r.ServerCPU, r.LoadgenCPU, r.Other)
	if r.Unfinished > 0 {
		s += fmt.Sprintf(" unfinished %d", r.Unfinished)
	}
	if r.Discarded {
		s += " DISCARDED (" + r.Why + ")"
	}
	return s
}

func runOne(ctx context.Context, cfg Config, host *cgctl.Host, bin string, j job, r *Run) {
	spec := cgctl.Spec{Name: "rps-" + j.c.key(), Quota: j.c.quota, Shares: cfg.Shares}
	if j.c.cpus > 0 {
		spec.Quota = 0
		spec.CPUs = host.CPUs[len(host.CPUs)-j.c.cpus:]
	}
	env := variant.CleanEnv(j.c.set.Env...)
	args := []string{"-mode", "cpu", "-live", fmt.Sprint(cfg.Live)}
	srv, err := svcrun.Start(host, spec, bin, args, env, 20*time.Second)
	if err != nil {
		r.Err = err.Error()
		return
	}
	defer func() {
		if err := srv.Stop(); err != nil && r.Err == "" {
			r.Err = "cleanup: " + err.Error()
		}
	}()
	r.ProcsStart = srv.Ready.GOMAXPROCS
	n := cfg.Conns
	if j.mode == "open" {
		n = cfg.OpenConns
	}
	conns := make([]*loadgen.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := loadgen.Dial(srv.Ready.Addr, "/work")
		if err != nil {
			r.Err = err.Error()
			return
		}
		conns = append(conns, c)
	}
	// Warm-up, not recorded.
	if cfg.Warmup > 0 {
		if j.mode == "closed" {
			loadgen.Closed(ctx, conns, 0, cfg.Warmup)
		} else {
			loadgen.Open(ctx, conns, r.Rate, 0, cfg.Warmup, cfg.Drain)
		}
	}
	st0, err := srv.FetchStats()
	if err != nil {
		r.Err = "stats: " + err.Error()
		return
	}
	cpu0, err := srv.Group.ReadCPU()
	if err != nil {
		r.Err = err.Error()
		return
	}
	h0, err := hoststat.Read()
	if err != nil {
		r.Err = err.Error()
		return
	}
	var lr *loadgen.Result
	if j.mode == "closed" {
		lr = loadgen.Closed(ctx, conns, 0, cfg.Duration)
	} else {
		lr = loadgen.Open(ctx, conns, r.Rate, 0, cfg.OpenDuration, cfg.Drain)
	}
	h1, _ := hoststat.Read()
	cpu1, _ := srv.Group.ReadCPU()
	mem, _ := srv.Group.ReadMem()
	st1, err := srv.FetchStats()
	if err != nil {
		r.Err = "stats: " + err.Error()
		return
	}
	if ctx.Err() != nil {
		r.Err = ctx.Err().Error()
		return
	}
	r.RPS = lr.RPS()
	r.P50, r.P99, r.P999 = float64(lr.Hist.Quantile(0.5)), float64(lr.Hist.Quantile(0.99)), float64(lr.Hist.Quantile(0.999))
	r.Max, r.Mean = float64(lr.Hist.Max()), lr.Hist.Mean()
	r.Completed, r.Errors, r.Due, r.Unfinished = lr.Completed, lr.Errors, lr.Due, lr.Unfinished
	if lr.Errors > lr.Completed/100 {
		r.Err = fmt.Sprintf("%d failed requests", lr.Errors)
	}
	d := cpu1.Sub(cpu0)
	hd := h1.Sub(h0)
	r.Periods = d.Periods
	r.ThrottledShare = d.ThrottledShare()
	r.ThrottledTime = d.ThrottledTime.Seconds()
	r.Wall = hd.Wall.Seconds()
	if hd.Wall > 0 {
		r.ServerCPU = d.Usage.Seconds() / hd.Wall.Seconds()
	}
	r.LoadgenCPU, r.HostBusy, r.Steal = hd.SelfCPU, hd.Busy, hd.Steal
	r.Other = hd.Busy - r.ServerCPU - r.LoadgenCPU
	r.ProcsEnd = st1.GOMAXPROCS
	r.NumGC = st1.NumGC - st0.NumGC
	if used := (st1.TotalCPU - st1.IdleCPU) - (st0.TotalCPU - st0.IdleCPU); used > 0 {
		r.GCFraction = (st1.GCCPU - st0.GCCPU) / used
	}
	r.PeakMem = mem.Peak
	r.Stderr = srv.Stderr()
}
