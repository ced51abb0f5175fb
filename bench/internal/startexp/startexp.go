// Package startexp measures what a tuning library's blank import adds to
// process start-up: whole-process wall time (fork, exec, runtime start,
// package inits, exit, wait) of an empty program with and without the
// import, runs interleaved, in this process's own cgroup and inside a
// child cgroup with a CPU quota and a memory limit (where the libraries
// find limits and act on them).
package startexp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rightsize/rightsize/bench/internal/cgctl"
	"github.com/rightsize/rightsize/bench/internal/report"
	"github.com/rightsize/rightsize/bench/internal/rpsexp"
	"github.com/rightsize/rightsize/bench/internal/variant"
)

// Config is one invocation.
type Config struct {
	// Program is the directory of the program measured: "tiny" (an empty
	// main) or "web" (imports net/http, encoding/json and log/slog).
	Program      string
	N, InitTrace int
	Variants     []string // none first
	// Limited also runs inside a child cgroup with Quota CPUs and MemLimit
	// bytes (needs root and a writable cgroupfs; skipped otherwise).
	Limited  bool
	Quota    float64
	MemLimit int64
	ModDir   string
	Log      io.Writer
}

// Env is one environment's measurements.
type Env struct {
	Name    string
	Nanos   map[string][]int64              // variant -> wall times
	Init    map[string]map[string][]float64 // variant -> package -> ms
	InitB   map[string]map[string][]float64 // variant -> package -> bytes
	Skipped string                          `json:",omitempty"`
}

// Results is everything measured.
type Results struct {
	Started, Finished time.Time
	Host              rpsexp.HostInfo
	Args              []string
	Config            Config
	BuildErrors       map[string]string
	Sizes             map[string]int64 // variant -> binary size
	// FloorFiles are the floor variant's files per environment (traced
	// from the library's init there).
	FloorFiles map[string][]string `json:",omitempty"`
	Envs       []Env
}

func (c Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

type launcherOut struct {
	Nanos     map[string][]int64              `json:"nanos"`
	InitClock map[string]map[string][]float64 `json:"init_clock_ms"`
	InitAlloc map[string]map[string][]float64 `json:"init_bytes"`
	Err       string                          `json:"err"`
}

// Execute runs the experiment.
func Execute(ctx context.Context, cfg Config) (*Results, error) {
	res := &Results{Started: time.Now(), Args: os.Args, Config: cfg, BuildErrors: map[string]string{}, Sizes: map[string]int64{}}
	res.Config.Log = nil
	defer func() { res.Finished = time.Now() }()
	dir, err := os.MkdirTemp("", "rightsize-bench-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	launcher, err := variant.Build(ctx, cfg.ModDir, "./internal/startexp/launcher", "none", dir)
	if err != nil {
		return nil, err
	}
	bins := map[string]string{}
	var order []string
	for _, v := range cfg.Variants {
		prog := cfg.Program
		if prog == "" {
			prog = "tiny"
		}
		b, err := variant.Build(ctx, cfg.ModDir, "./"+prog, v, dir)
		if err != nil {
			cfg.logf("build failed: %v", err)
			res.BuildErrors[v] = err.Error()
			continue
		}
		bins[b] = v
		order = append(order, b)
		if fi, err := os.Stat(b); err == nil {
			res.Sizes[v] = fi.Size()
		}
	}
	if len(order) == 0 {
		return res, fmt.Errorf("nothing built")
	}
	// The floor variant reads what the library's init reads in each
	// cgroup: the tracer, run there first, says which files.
	var tracer, floorBin string
	for b, v := range bins {
		if v == "floor" {
			floorBin = b
		}
	}
	if floorBin != "" {
		if tracer, err = variant.Build(ctx, cfg.ModDir, "./internal/startexp/tracer", "none", dir); err != nil {
			return nil, err
		}
		res.FloorFiles = map[string][]string{}
	}
	launcherArgs := func(floor []string) []string {
		binArgs, _ := json.Marshal(map[string][]string{floorBin: floor})
		return append([]string{"-n", fmt.Sprint(cfg.N), "-inittrace", fmt.Sprint(cfg.InitTrace), "-args", string(binArgs)}, order...)
	}
	trace := func(start func(*exec.Cmd) error) ([]string, error) {
		if tracer == "" {
			return nil, nil
		}
		cmd := exec.Command(tracer)
		cmd.Env = variant.CleanEnv()
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := start(cmd); err != nil {
			return nil, err
		}
		err := cmd.Wait()
		cgctl.Forget(cmd.Process)
		if err != nil {
			return nil, fmt.Errorf("tracer: %v: %s", err, stderr.String())
		}
		return strings.Fields(stdout.String()), nil
	}

	decode := func(name string, raw []byte) (Env, error) {
		var lo launcherOut
		if err := json.Unmarshal(bytes.TrimSpace(raw), &lo); err != nil {
			return Env{}, fmt.Errorf("launcher output: %v: %q", err, raw)
		}
		if lo.Err != "" {
			return Env{}, fmt.Errorf("launcher: %s", lo.Err)
		}
		e := Env{Name: name, Nanos: map[string][]int64{}, Init: map[string]map[string][]float64{}, InitB: map[string]map[string][]float64{}}
		for b, v := range bins {
			e.Nanos[v] = lo.Nanos[b]
			e.Init[v] = lo.InitClock[b]
			e.InitB[v] = lo.InitAlloc[b]
		}
		return e, nil
	}

	// 1. This process's own cgroup.
	own := "own cgroup (no limits)"
	floor, err := trace(func(c *exec.Cmd) error { return c.Start() })
	if err != nil {
		return res, err
	}
	if floorBin != "" {
		res.FloorFiles[own] = floor
	}
	cfg.logf("timing %d starts per variant in this process's cgroup", cfg.N)
	cmd := exec.CommandContext(ctx, launcher, launcherArgs(floor)...)
	cmd.Env = variant.CleanEnv()
	outb, err := cmd.Output()
	if err != nil {
		return res, fmt.Errorf("launcher: %v", err)
	}
	e, err := decode(own, outb)
	if err != nil {
		return res, err
	}
	res.Envs = append(res.Envs, e)
	res.Host = rpsexp.ReadHostInfo(nil)

	// 2. A child cgroup with limits.
	name := fmt.Sprintf("child cgroup: quota %s CPUs, memory limit %d MiB", rpsexp.FormatQuota(cfg.Quota), cfg.MemLimit>>20)
	if !cfg.Limited {
		return res, nil
	}
	host, err := cgctl.Discover()
	if err != nil {
		res.Envs = append(res.Envs, Env{Name: name, Skipped: err.Error()})
		return res, nil
	}
	res.Host = rpsexp.ReadHostInfo(host)
	cfg.logf("timing %d starts per variant in a %s", cfg.N, name)
	g, err := host.Create(cgctl.Spec{Name: "startup", Quota: cfg.Quota, MemLimit: cfg.MemLimit})
	if err != nil {
		return res, err
	}
	defer g.Remove()
	if floor, err = trace(g.Start); err != nil {
		return res, err
	}
	if floorBin != "" {
		res.FloorFiles[name] = floor
	}
	lc := exec.Command(launcher, launcherArgs(floor)...)
	lc.Env = variant.CleanEnv()
	var stdout, stderr bytes.Buffer
	lc.Stdout, lc.Stderr = &stdout, &stderr
	if err := g.Start(lc); err != nil {
		return res, err
	}
	done := make(chan error, 1)
	go func() { done <- lc.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = lc.Process.Kill()
		<-done
		cgctl.Forget(lc.Process)
		return res, ctx.Err()
	}
	cgctl.Forget(lc.Process)
	if err != nil {
		return res, fmt.Errorf("launcher in cgroup: %v: %s", err, stderr.String())
	}
	e, err = decode(name, stdout.Bytes())
	if err != nil {
		return res, err
	}
	res.Envs = append(res.Envs, e)
	return res, nil
}

func quantile(ns []int64, q float64) float64 {
	if len(ns) == 0 {
		return 0
	}
	s := append([]int64(nil), ns...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q * float64(len(s)-1))
	return float64(s[i])
}

func floats(ns []int64) []float64 {
	out := make([]float64, len(ns))
	for i, n := range ns {
		out[i] = float64(n)
	}
	return out
}

// libPackage is the package whose init a variant adds.
var libPackage = map[string]string{
	"rightsize":    "github.com/rightsize/rightsize",
	"automaxprocs": "go.uber.org/automaxprocs",
	"automemlimit": "github.com/KimMachineGun/automemlimit",
}

// Markdown renders the tables.
func (res *Results) Markdown() string {
	var md strings.Builder
	fmt.Fprintf(&md, "# Start-up cost of the blank import\n\n")
	fmt.Fprintf(&md, "- host: %s\n", res.Host)
	fmt.Fprintf(&md, "- started %s, took %v\n", res.Started.Format(time.RFC3339), res.Finished.Sub(res.Started).Round(time.Second))
	fmt.Fprintf(&md, "- command: `%s`\n", strings.Join(res.Args, " "))
	what := "an empty `main`"
	if res.Config.Program == "web" {
		what = "a program that imports net/http, encoding/json and log/slog (bench/web)"
	}
	fmt.Fprintf(&md, "- %s built once per variant (below); %d starts of each, interleaved in shuffled order; wall time from fork to wait; init time from %d runs with GODEBUG=inittrace=1\n", what, res.Config.N, res.Config.InitTrace)
	for _, v := range res.Config.Variants {
		switch v {
		case "deps":
			md.WriteString("- deps: the program importing every package the library depends on outside its module, doing nothing (the import graph's inits and binary size)\n")
		case "floor":
			md.WriteString("- floor: the program with an init that only opens, reads and closes (or stats) the files the library's init reads in that cgroup, traced from the library there; no library code\n")
		}
	}
	md.WriteString("\n")
	for v, e := range res.BuildErrors {
		fmt.Fprintf(&md, "- variant %s did not build: `%s`\n\n", v, strings.SplitN(e, "\n", 2)[0])
	}
	for _, e := range res.Envs {
		fmt.Fprintf(&md, "## %s\n\n", e.Name)
		if e.Skipped != "" {
			fmt.Fprintf(&md, "skipped: %s\n\n", e.Skipped)
			continue
		}
		base := report.Median(floats(e.Nanos["none"]))
		t := report.Table{
			Header: []string{"variant", "binary MiB", "median ms", "p10 ms", "p90 ms", "median − none ms", "init of the library (inittrace) ms", "init bytes", "all inits ms"},
			Align:  []report.Align{report.Left, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right},
		}
		for _, v := range res.Config.Variants {
			ns, ok := e.Nanos[v]
			if !ok || len(ns) == 0 {
				continue
			}
			med := report.Median(floats(ns))
			diff := "–"
			if v != "none" && base > 0 {
				diff = fmt.Sprintf("%+.3f", (med-base)/1e6)
			}
			lib, libB := "–", "–"
			if p, ok := libPackage[v]; ok {
				if xs := e.Init[v][p]; len(xs) > 0 {
					lib = fmt.Sprintf("%.3f", report.Median(xs))
					libB = report.FmtInt(report.Median(e.InitB[v][p]))
				}
			}
			all := "–"
			if xs := e.Init[v]["(all)"]; len(xs) > 0 {
				all = fmt.Sprintf("%.3f", report.Median(xs))
			}
			t.AddRow(v, fmt.Sprintf("%.1f", float64(res.Sizes[v])/(1<<20)), fmt.Sprintf("%.3f", med/1e6), fmt.Sprintf("%.3f", quantile(ns, 0.1)/1e6), fmt.Sprintf("%.3f", quantile(ns, 0.9)/1e6), diff, lib, libB, all)
		}
		md.WriteString(t.Markdown())
		md.WriteString("\n")
		if files := res.FloorFiles[e.Name]; len(files) > 0 {
			fmt.Fprintf(&md, "floor's files here: `%s`\n\n", strings.Join(files, "`, `"))
		}
	}
	return md.String()
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
