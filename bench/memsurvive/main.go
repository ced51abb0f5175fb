// Command memsurvive runs the memory-limit survival experiment: the
// service in a child cgroup with a hard memory limit (default 256 MiB)
// while its live heap climbs under load to 60% of the limit, without
// tuning (GOGC=100), with automemlimit and with rightsize. It reports
// whether each survived or was OOM-killed, peak usage, GC CPU and
// throughput. Needs root and a writable cgroupfs; run from bench/:
//
//	go run ./memsurvive -duration 20s -reps 3 -out results/memlimit
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rightsize/rightsize/bench/internal/cgctl"
	"github.com/rightsize/rightsize/bench/internal/memexp"
	"github.com/rightsize/rightsize/bench/internal/variant"
)

func main() {
	limit := flag.Int("limit-mib", 256, "cgroup memory limit, MiB")
	frac := flag.Float64("live", 0.6, "live heap target as a fraction of the limit")
	duration := flag.Duration("duration", 20*time.Second, "load per run")
	reps := flag.Int("reps", 3, "repetitions (variants interleaved)")
	conns := flag.Int("conns", 8, "closed-loop connections")
	variants := flag.String("variants", "none,automemlimit,rightsize", "variants: none, automemlimit, rightsize")
	grow := flag.Int("grow", 4, "KiB added to the live cache per request")
	garbage := flag.Int("garbage", 256, "KiB of short-lived allocation per request")
	seed := flag.Int64("seed", 0, "shuffle seed (0: clock)")
	out := flag.String("out", "results/memlimit", "results directory")
	flag.Parse()

	cfg := memexp.Config{Limit: int64(*limit) << 20, LiveFrac: *frac, Duration: *duration, Reps: *reps,
		Conns: *conns, GrowKiB: *grow, Garbage: *garbage, Seed: *seed, Log: os.Stderr}
	if cfg.Seed == 0 {
		cfg.Seed = time.Now().UnixNano()
	}
	for _, v := range strings.Split(*variants, ",") {
		v = strings.TrimSpace(v)
		if _, ok := variant.Tags[v]; !ok || v == "automaxprocs" {
			fail(fmt.Errorf("unknown variant %q", v))
		}
		cfg.Variants = append(cfg.Variants, v)
	}
	var err error
	if cfg.ModDir, err = variant.ModDir(); err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	res, err := memexp.Execute(ctx, cfg)
	for _, e := range cgctl.CleanupAll() {
		fmt.Fprintln(os.Stderr, "cleanup:", e)
	}
	if res != nil && len(res.Runs) > 0 {
		if werr := res.Write(*out); werr != nil {
			fmt.Fprintln(os.Stderr, "writing results:", werr)
		} else {
			fmt.Fprintf(os.Stderr, "results in %s/results.md\n", *out)
		}
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "interrupted; cgroups and processes removed")
			os.Exit(130)
		}
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "memsurvive:", err)
	if errors.Is(err, cgctl.ErrUnavailable) {
		os.Exit(2)
	}
	os.Exit(1)
}
