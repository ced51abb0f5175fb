// Command rps runs the RPS experiment: a Go HTTP service in a fresh child
// cgroup with a real CFS quota, GOMAXPROCS set per row (fixed numbers, the
// Go runtime's default, rightsize's and automaxprocs' blank imports), load
// from outside the cgroup in closed and open loop, every latency recorded.
// It needs root and a writable cgroupfs (v1, or v2 with delegation). Run it
// from the bench/ directory:
//
//	go run ./rps -quota 0.5,1,1.5,2 -procs 1,2,3,4,8,default,rightsize,automaxprocs \
//	    -duration 7s -open-duration 4s -reps 3 -out results/rps
//
// Results (results.md, results.json, SVG charts) go to -out. Ctrl-C stops
// the run, writes what was measured, and removes every cgroup and process
// it made.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rightsize/rightsize/bench/internal/runexp"

	"github.com/rightsize/rightsize/bench/internal/rpsexp"
	"github.com/rightsize/rightsize/bench/internal/variant"
)

func main() {
	quotas := flag.String("quota", "0.5,1,1.5,2", "CPU quotas (quota/period, period 100 ms), comma-separated")
	procs := flag.String("procs", "1,2,3,4,8,default,rightsize,automaxprocs", "GOMAXPROCS settings: N, default, rightsize[/floor|ceil|runtime[/minN]], automaxprocs")
	control := flag.Bool("control", true, "also run without a quota, pinned by cpuset to ceil(quota) CPUs")
	controlProcs := flag.String("control-procs", "1,2,4,8", "settings for the control runs")
	modes := flag.String("mode", "closed,open", "loop modes: closed, open or both (open needs closed: it measures the capacity)")
	fractions := flag.String("open-at", "0.5,0.8", "open-loop rates as fractions of each quota's capacity")
	duration := flag.Duration("duration", 10*time.Second, "closed-loop measurement window per run")
	openDuration := flag.Duration("open-duration", 0, "open-loop measurement window per run (0: half of -duration)")
	warmup := flag.Duration("warmup", time.Second, "warm-up before each window, not recorded")
	drain := flag.Duration("drain", 2*time.Second, "open loop: how long to wait for outstanding requests after the window")
	reps := flag.Int("reps", 3, "repetitions of every setting (interleaved)")
	conns := flag.Int("conns", 32, "closed loop: keep-alive connections")
	openConns := flag.Int("open-conns", 64, "open loop: connections (most requests in flight)")
	shares := flag.Uint64("shares", 10240, "cpu.shares of the service's cgroup (v2: weight shares*100/1024)")
	maxOther := flag.Float64("max-other", 0.3, "discard a run when other processes used more than this many CPUs")
	maxSteal := flag.Float64("max-steal", 0.1, "discard a run when the hypervisor stole more than this many CPUs (/proc/stat steal)")
	openQuotas := flag.String("open-quota", "", "quotas to run the open loop at (default: all of -quota)")
	retries := flag.Int("retries", 2, "times a discarded run is queued again")
	quietWait := flag.Duration("quiet-wait", time.Minute, "before each run, wait up to this long for other load to drop below -max-other")
	live := flag.Int("live", 16, "MiB of pointer-rich live heap in the service")
	seed := flag.Int64("seed", 0, "shuffle seed (0: from the clock)")
	out := flag.String("out", "results/rps", "results directory")
	render := flag.String("render", "", "only re-render results.md and the charts from DIR/results.json")
	flag.Parse()
	if *render != "" {
		res, err := rpsexp.Load(*render)
		if err == nil {
			err = res.Write(*render)
		}
		if err != nil {
			runexp.Fail("rps", err)
		}
		return
	}

	cfg := rpsexp.Config{
		Duration: *duration, OpenDuration: *openDuration, Warmup: *warmup, Drain: *drain,
		Reps: *reps, Conns: *conns, OpenConns: *openConns, Shares: *shares,
		MaxOther: *maxOther, MaxSteal: *maxSteal, Retries: *retries, QuietWait: *quietWait, Live: *live, Seed: *seed, Log: os.Stderr,
		Control: *control,
	}
	if cfg.OpenDuration == 0 {
		cfg.OpenDuration = cfg.Duration / 2
	}
	if cfg.Seed == 0 {
		cfg.Seed = time.Now().UnixNano()
	}
	var err error
	if cfg.Quotas, err = rpsexp.ParseQuotas(*quotas); err != nil {
		runexp.Fail("rps", err)
	}
	if *openQuotas != "" {
		if cfg.OpenQuotas, err = rpsexp.ParseQuotas(*openQuotas); err != nil {
			runexp.Fail("rps", err)
		}
	}
	if cfg.Settings, err = rpsexp.ParseSettings(*procs); err != nil {
		runexp.Fail("rps", err)
	}
	if cfg.Control {
		if cfg.ControlSettings, err = rpsexp.ParseSettings(*controlProcs); err != nil {
			runexp.Fail("rps", err)
		}
	}
	for _, m := range strings.Split(*modes, ",") {
		switch strings.TrimSpace(m) {
		case "closed":
			cfg.Closed = true
		case "open":
			cfg.Open = true
		case "both":
			cfg.Closed, cfg.Open = true, true
		default:
			runexp.Fail("rps", fmt.Errorf("unknown -mode %q", m))
		}
	}
	for _, f := range strings.Split(*fractions, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || x <= 0 || x > 2 {
			runexp.Fail("rps", fmt.Errorf("bad -open-at %q", f))
		}
		cfg.OpenFractions = append(cfg.OpenFractions, x)
	}
	if cfg.ModDir, err = variant.ModDir(); err != nil {
		runexp.Fail("rps", err)
	}

	runexp.Main("rps", func(ctx context.Context) (func() error, error) {
		res, err := rpsexp.Execute(ctx, cfg)
		if res == nil || len(res.Runs) == 0 {
			return nil, err
		}
		return func() error {
			if err := res.Write(*out); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "results in %s/results.md\n", *out)
			return nil
		}, err
	})
}
