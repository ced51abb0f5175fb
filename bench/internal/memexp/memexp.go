// Package memexp is the memory-limit survival experiment: a service in a
// child cgroup with a hard memory limit whose live heap climbs under load
// to a fraction of the limit, run without tuning (GOGC=100, no
// GOMEMLIMIT), with automemlimit and with rightsize. See bench/README.md.
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
	"strings"
	"time"

	"github.com/rightsize/rightsize/bench/internal/cgctl"
	"github.com/rightsize/rightsize/bench/internal/loadgen"
	"github.com/rightsize/rightsize/bench/internal/report"
	"github.com/rightsize/rightsize/bench/internal/rpsexp"
	"github.com/rightsize/rightsize/bench/internal/svcrun"
	"github.com/rightsize/rightsize/bench/internal/variant"
)

// Config is one invocation.
type Config struct {
	Limit    int64   // bytes
	LiveFrac float64 // live heap target as a fraction of Limit
	Duration time.Duration
	Reps     int
	Conns    int
	Variants []string // none, automemlimit, rightsize
	GrowKiB  int      // cache growth per request
	Garbage  int      // KiB of short-lived allocation per request
	Seed     int64
	ModDir   string
	Log      io.Writer
}

// Run is one run of one variant.
type Run struct {
	Variant  string
	Rep      int
	Err      string `json:",omitempty"`
	Survived bool
	// OOMKills is memory.oom_control's oom_kill (v1) or memory.events'
	// oom_kill (v2) of the run's cgroup; Failcnt how often usage hit the
	// limit.
	OOMKills, Failcnt uint64
	Exit              string // "running" at the end, or how it ended
	Alive             float64
	PeakBytes         int64
	GOMEMLIMIT        int64
	HeapLive          uint64
	HeapGoal          uint64
	GCFraction        float64
	NumGC             uint64
	Completed         uint64
	RPS               float64
	P99               float64
	Stderr            string `json:",omitempty"`
}

// Results is everything measured.
type Results struct {
	Started, Finished time.Time
	Host              rpsexp.HostInfo
	Config            struct {
		Limit                int64
		LiveFrac             float64
		Duration             string
		Reps, Conns, GrowKiB int
		Garbage              int
		Variants             []string
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
	res := &Results{Started: time.Now(), Host: rpsexp.ReadHostInfo(host), BuildErrors: map[string]string{}}
	res.Config.Limit, res.Config.LiveFrac, res.Config.Duration = cfg.Limit, cfg.LiveFrac, cfg.Duration.String()
	res.Config.Reps, res.Config.Conns, res.Config.GrowKiB, res.Config.Garbage = cfg.Reps, cfg.Conns, cfg.GrowKiB, cfg.Garbage
	res.Config.Variants, res.Config.Args = cfg.Variants, os.Args
	defer func() { res.Finished = time.Now() }()

	binDir, err := os.MkdirTemp("", "rightsize-bench-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(binDir)
	bins := map[string]string{}
	for _, v := range cfg.Variants {
		cfg.logf("building svc (%s)", v)
		b, err := variant.Build(ctx, cfg.ModDir, "./svc", v, binDir)
		if err != nil {
			cfg.logf("build failed: %v", err)
			res.BuildErrors[v] = err.Error()
			continue
		}
		bins[v] = b
	}
	rng := rand.New(rand.NewSource(cfg.Seed))
	for rep := 1; rep <= cfg.Reps; rep++ {
		order := append([]string(nil), cfg.Variants...)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, v := range order {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			r := Run{Variant: v, Rep: rep}
			if b, ok := bins[v]; ok {
				runOne(ctx, cfg, host, b, &r)
			} else {
				r.Err = "not built: " + strings.SplitN(res.BuildErrors[v], "\n", 2)[0]
			}
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			res.Runs = append(res.Runs, r)
			cfg.logf("%s rep %d: survived=%v oom_kill=%d exit=%s alive=%.1fs peak=%.0f MiB GOMEMLIMIT=%s live=%.0f MiB gc=%.1f%% (%d cycles) %.0f req/s %s",
				v, rep, r.Survived, r.OOMKills, r.Exit, r.Alive, float64(r.PeakBytes)/(1<<20), fmtLimit(r.GOMEMLIMIT),
				float64(r.HeapLive)/(1<<20), 100*r.GCFraction, r.NumGC, r.RPS, r.Err)
		}
	}
	return res, nil
}

func fmtLimit(v int64) string {
	if v <= 0 || v == math.MaxInt64 {
		return "none"
	}
	return fmt.Sprintf("%.0f MiB", float64(v)/(1<<20))
}

func runOne(ctx context.Context, cfg Config, host *cgctl.Host, bin string, r *Run) {
	spec := cgctl.Spec{Name: "mem-" + r.Variant, MemLimit: cfg.Limit}
	target := int(cfg.LiveFrac * float64(cfg.Limit) / (1 << 20))
	args := []string{"-mode", "mem", "-target", fmt.Sprint(target), "-grow", fmt.Sprint(cfg.GrowKiB),
		"-garbage", fmt.Sprint(cfg.Garbage), "-report", "100ms"}
	srv, err := svcrun.Start(host, spec, bin, args, variant.CleanEnv("GOGC=100"), 20*time.Second)
	if err != nil {
		r.Err = err.Error()
		return
	}
	defer srv.Stop()
	r.GOMEMLIMIT = srv.Ready.GOMEMLIMIT
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
	var died time.Time
	go func() {
		select {
		case <-srv.Exited():
			died = time.Now()
			cancel()
		case <-lctx.Done():
		}
	}()
	lr := loadgen.Closed(lctx, conns, 0, cfg.Duration)
	end := time.Now()
	cancel()
	mem, err := srv.Group.ReadMem()
	if err != nil {
		r.Err = err.Error()
	}
	r.OOMKills, r.Failcnt, r.PeakBytes = mem.OOMKill, mem.Failcnt, mem.Peak
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
	}
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

// Markdown renders the summary table and one line per run.
func (res *Results) Markdown() string {
	var md strings.Builder
	c := res.Config
	fmt.Fprintf(&md, "# Memory-limit survival\n\n")
	fmt.Fprintf(&md, "- host: %s\n", res.Host)
	fmt.Fprintf(&md, "- started %s, took %v\n", res.Started.Format(time.RFC3339), res.Finished.Sub(res.Started).Round(time.Second))
	fmt.Fprintf(&md, "- command: `%s`\n", strings.Join(c.Args, " "))
	fmt.Fprintf(&md, "- cgroup memory limit %d MiB (no swap); live heap climbs by %d KiB per request to %.0f%% of it (%d MiB) and stays; %d KiB short-lived garbage per request; GOGC=100; closed loop, %d connections, %s per run; %d repetitions, variants interleaved\n\n",
		c.Limit>>20, c.GrowKiB, 100*c.LiveFrac, int(c.LiveFrac*float64(c.Limit))>>20, c.Garbage, c.Conns, c.Duration, c.Reps)
	for v, e := range res.BuildErrors {
		fmt.Fprintf(&md, "- variant %s did not build: `%s`\n\n", v, strings.SplitN(e, "\n", 2)[0])
	}
	t := report.Table{
		Header: []string{"variant", "outcome", "GOMEMLIMIT", "peak usage MiB", "live heap MiB", "GC CPU", "GC cycles", "req/s while alive", "alive s"},
		Align:  []report.Align{report.Left, report.Left, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right},
	}
	for _, v := range c.Variants {
		var runs []Run
		var errs []string
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
		var peak, live, gc, cycles, rps, alive []float64
		var limits []string
		for _, r := range runs {
			if r.Survived {
				surv++
			}
			if r.OOMKills > 0 {
				oom++
			}
			peak = append(peak, float64(r.PeakBytes)/(1<<20))
			live = append(live, float64(r.HeapLive)/(1<<20))
			gc = append(gc, r.GCFraction)
			cycles = append(cycles, float64(r.NumGC))
			rps = append(rps, r.RPS)
			alive = append(alive, r.Alive)
			limits = append(limits, fmtLimit(r.GOMEMLIMIT))
		}
		outcome := fmt.Sprintf("survived %d/%d", surv, len(runs))
		if oom > 0 {
			outcome += fmt.Sprintf(", OOM-killed %d/%d", oom, len(runs))
		}
		t.AddRow(v, outcome, limits[0], report.Spread(peak, report.FmtInt), report.Spread(live, report.FmtInt),
			report.Spread(gc, report.FmtPercent), report.FmtInt(report.Median(cycles)), report.Spread(rps, report.FmtInt),
			report.Spread(alive, func(x float64) string { return fmt.Sprintf("%.1f", x) }))
	}
	md.WriteString(t.Markdown())
	md.WriteString("\nMedian (min–max) over the runs. *outcome*: still running at the end with no OOM kill in its cgroup; *peak usage*: memory.max_usage_in_bytes (v1) / memory.peak (v2); *live heap*: bytes marked live by the last GC the service reported; *GC CPU*: the runtime's GC CPU over CPU in use, from the service's last report.\n\n")
	md.WriteString("| variant | rep | exit | oom_kill | alive s | peak MiB | GC cycles |\n|---|---:|---|---:|---:|---:|---:|\n")
	for _, r := range res.Runs {
		exit := r.Exit
		if r.Err != "" {
			exit += " (" + r.Err + ")"
		}
		fmt.Fprintf(&md, "| %s | %d | %s | %d | %.1f | %.0f | %d |\n", r.Variant, r.Rep, strings.ReplaceAll(exit, "|", `\|`), r.OOMKills, r.Alive, float64(r.PeakBytes)/(1<<20), r.NumGC)
	}
	return md.String()
}
