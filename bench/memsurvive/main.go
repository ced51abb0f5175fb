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
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rightsize/rightsize/bench/internal/runexp"

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
			runexp.Fail("memsurvive", fmt.Errorf("unknown variant %q", v))
		}
		cfg.Variants = append(cfg.Variants, v)
	}
	var err error
	if cfg.ModDir, err = variant.ModDir(); err != nil {
		runexp.Fail("memsurvive", err)
	}
	runexp.Main("memsurvive", func(ctx context.Context) (func() error, error) {
		res, err := memexp.Execute(ctx, cfg)
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
