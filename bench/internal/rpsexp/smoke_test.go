package rpsexp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize/bench/internal/testroot"
	"github.com/rightsize/rightsize/bench/internal/variant"
)

// TestSmoke runs the experiment for about a second per run: one quota,
// two settings and a control, closed and open loop, and checks the
// numbers, the written files and that nothing is left behind.
func TestSmoke(t *testing.T) {
	testroot.Host(t)
	mod, err := variant.ModDir()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Quotas: []float64{1}, Control: true, Closed: true, Open: true, OpenFractions: []float64{0.5},
		Duration: time.Second, OpenDuration: time.Second, Warmup: 200 * time.Millisecond, Drain: time.Second,
		Reps: 1, Conns: 4, OpenConns: 8, Shares: 10240, MaxOther: 100, MaxSteal: 100, Live: 4, Seed: 1, ModDir: mod,
	}
	cfg.Settings, _ = ParseSettings("1,default")
	cfg.ControlSettings, _ = ParseSettings("2")
	res, err := Execute(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	testroot.NothingLeft(t)
	if len(res.Runs) != 5 {
		t.Fatalf("%d runs, want 3 closed + 2 open", len(res.Runs))
	}
	for _, r := range res.Runs {
		if r.Err != "" || r.RPS <= 0 || r.P50 <= 0 || r.P999 < r.P50 || r.Max < r.P999 {
			t.Errorf("run %+v", r)
		}
		if r.Setting == "1" && r.ProcsEnd != 1 {
			t.Errorf("GOMAXPROCS=1 run reported %d", r.ProcsEnd)
		}
		if r.ControlCPUs > 0 && r.Periods != 0 {
			t.Errorf("control run has CFS periods: %+v", r)
		}
		if r.Mode == "open" && (r.Rate <= 0 || r.Due == 0) {
			t.Errorf("open run %+v", r)
		}
	}
	dir := t.TempDir()
	if err := res.Write(dir); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "results.md"))
	for _, want := range []string{"## Quota 1 CPUs, closed loop", "open loop at", "control: no quota, cpuset 1 CPU, 2", "Candidate default policies"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q", want)
		}
	}
	for _, f := range []string{"closed-rps.svg", "closed-p999.svg", "open50-p999.svg", "results.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestInterrupt cancels a run midway: Execute returns promptly and
// leaves no cgroup or process behind.
func TestInterrupt(t *testing.T) {
	testroot.Host(t)
	mod, err := variant.ModDir()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Quotas: []float64{1}, Closed: true, Duration: 30 * time.Second, Reps: 1, Conns: 4, Live: 4, MaxOther: 100, MaxSteal: 100, ModDir: mod}
	cfg.Settings, _ = ParseSettings("1")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// after the build and the start of the run
		time.Sleep(5 * time.Second)
		cancel()
	}()
	t0 := time.Now()
	_, err = Execute(ctx, cfg)
	if err == nil {
		t.Fatal("no error after cancel")
	}
	if d := time.Since(t0); d > 20*time.Second {
		t.Errorf("took %v", d)
	}
	testroot.NothingLeft(t)
}
