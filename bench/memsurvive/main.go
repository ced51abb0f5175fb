// Command memsurvive runs the memory-limit survival experiments: the
// service in a child cgroup with a hard memory limit (default 256 MiB),
// in several configurations ("rows"), with 3 repetitions, rows
// interleaved. It reports whether each survived or was OOM-killed, peak
// usage, GOMEMLIMIT, the memory beyond the Go heap, GC CPU, throughput and
// the memory pressure signals. Needs root and a writable cgroupfs; run
// from bench/:
//
//	go run ./memsurvive -duration 20s -reps 3 -out results/memlimit             # ordinary: the live heap climbs to 60%
//	go run ./memsurvive -scenario offheap -reps 3 -out results/memoffheap        # + 64 MiB mmap + a child holding 16 MiB
//	go run ./memsurvive -scenario pressure -reps 3 -out results/mempressure      # a cache that grows until told to stop
//	go run ./memsurvive -scenario cost -reps 5 -out results/memcost              # off-heap estimate on vs RIGHTSIZE_OFFHEAP=off
//
// -scenario sets the rows and the workload; any flag given explicitly
// overrides it. -render DIR rewrites DIR/results.md from DIR/results.json. -qemu runs the same command on cgroup v2 in a qemu guest
// (internal/testenv/qemu): the binaries are built static on the host, the
// guest runs them and hands back its results.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rightsize/rightsize/bench/internal/memexp"
	"github.com/rightsize/rightsize/bench/internal/runexp"
	"github.com/rightsize/rightsize/bench/internal/variant"
	"github.com/rightsize/rightsize/internal/testenv/qemu"
)

func main() {
	scenario := flag.String("scenario", "ordinary", "ordinary, offheap, pressure or cost (sets the defaults of the flags below)")
	limit := flag.Int("limit-mib", 256, "cgroup memory limit, MiB")
	frac := flag.Float64("live", 0.6, "live heap target as a fraction of the limit (unless -live-mib)")
	liveMiB := flag.Int("live-mib", 0, "live heap target, MiB (0: -live)")
	mmapMiB := flag.Int("mmap", 0, "MiB of anonymous syscall.Mmap memory the service maps and touches at start")
	childMiB := flag.Int("child", 0, "MiB held by a child process of the service in its cgroup")
	duration := flag.Duration("duration", 20*time.Second, "load per run")
	reps := flag.Int("reps", 3, "repetitions (rows interleaved)")
	conns := flag.Int("conns", 8, "closed-loop connections")
	rows := flag.String("rows", "", "rows, comma-separated (default: the scenario's): "+rowNames())
	variants := flag.String("variants", "", "same as -rows (the older name)")
	grow := flag.Int("grow", 4, "KiB added to the live cache per request")
	garbage := flag.Int("garbage", 256, "KiB of short-lived allocation per request")
	interval := flag.String("interval", "", "RIGHTSIZE_WATCH_INTERVAL of the service (default: rightsize's, 1s)")
	seed := flag.Int64("seed", 0, "shuffle seed (0: clock)")
	out := flag.String("out", "results/memlimit", "results directory")
	exclusive := flag.Bool("exclusive", true, "take the machine-wide qemu guest lock around each run, so that no emulated guest competes with it")
	binDir := flag.String("bin-dir", "", "use prebuilt services <dir>/svc-<variant> instead of building them")
	guestOut := flag.Bool("guest-json", false, "internal: print the results, gzipped and base64-encoded, on stdout (the qemu guest's side)")
	inQemu := flag.Bool("qemu", false, "run on cgroup v2 in a qemu guest")
	qemuCPUs := flag.Int("qemu-cpus", 2, "vCPUs of the guest")
	qemuMem := flag.Int("qemu-mem", 1536, "guest memory, MiB")
	qemuTimeout := flag.Duration("qemu-timeout", 30*time.Minute, "bound of the guest run")
	render := flag.String("render", "", "re-render DIR/results.md from DIR/results.json and exit")
	flag.Parse()

	if *render != "" {
		if err := rerender(*render); err != nil {
			runexp.Fail("memsurvive", err)
		}
		return
	}

	sc, ok := memexp.Scenarios[*scenario]
	if !ok {
		runexp.Fail("memsurvive", fmt.Errorf("unknown scenario %q", *scenario))
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["live"] && !set["live-mib"] {
		*frac, *liveMiB = sc.LiveFrac, sc.LiveMiB
	}
	if !set["mmap"] {
		*mmapMiB = sc.MmapMiB
	}
	if !set["child"] {
		*childMiB = sc.ChildMiB
	}
	if !set["grow"] {
		*grow = sc.Grow
	}
	if !set["garbage"] {
		*garbage = sc.Garbage
	}
	if !set["duration"] {
		*duration = sc.Duration
	}
	list := *rows
	if list == "" {
		list = *variants
	}
	cfg := memexp.Config{Scenario: sc.Name, Limit: int64(*limit) << 20, LiveFrac: *frac, LiveMiB: *liveMiB, MmapMiB: *mmapMiB, ChildMiB: *childMiB,
		Duration: *duration, Reps: *reps, Conns: *conns, Rows: sc.Rows, GrowKiB: *grow, Garbage: *garbage, Interval: *interval,
		Seed: *seed, BinDir: *binDir, Log: os.Stderr}
	if list != "" {
		cfg.Rows = nil
		for _, v := range strings.Split(list, ",") {
			v = strings.TrimSpace(v)
			if _, ok := memexp.Rows[v]; !ok {
				runexp.Fail("memsurvive", fmt.Errorf("unknown row %q (want %s)", v, rowNames()))
			}
			cfg.Rows = append(cfg.Rows, v)
		}
	}
	if cfg.Seed == 0 {
		cfg.Seed = time.Now().UnixNano()
	}
	if *inQemu {
		runexp.Main("memsurvive", func(ctx context.Context) (func() error, error) {
			return runInGuest(ctx, cfg, guestConfig{CPUs: *qemuCPUs, MemoryMB: *qemuMem, Timeout: *qemuTimeout}, *out)
		})
		return
	}
	var err error
	if cfg.BinDir == "" {
		if cfg.ModDir, err = variant.ModDir(); err != nil {
			runexp.Fail("memsurvive", err)
		}
	}
	if *guestOut {
		if err := loopbackUp(); err != nil {
			runexp.Fail("memsurvive", err)
		}
	} else if *exclusive {
		cfg.Exclusive = func(ctx context.Context) (func(), error) {
			ctx, cancel := context.WithTimeout(ctx, qemu.ExclusiveWait)
			defer cancel()
			start := time.Now()
			unlock, err := qemu.Lock(ctx)
			if d := time.Since(start); d > time.Second && err == nil {
				fmt.Fprintf(os.Stderr, "waited %v for the qemu guests of other tests\n", d.Round(time.Second))
			}
			return unlock, err
		}
	}
	runexp.Main("memsurvive", func(ctx context.Context) (func() error, error) {
		res, err := memexp.Execute(ctx, cfg)
		if res == nil || len(res.Runs) == 0 {
			return nil, err
		}
		return func() error {
			if *guestOut {
				return emitResults(os.Stdout, res)
			}
			if err := res.Write(*out); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "results in %s/results.md\n", *out)
			return nil
		}, err
	})
}

func rerender(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		return err
	}
	var res memexp.Results
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("%s/results.json: %v", dir, err)
	}
	return os.WriteFile(filepath.Join(dir, "results.md"), []byte(res.Markdown()), 0o644)
}

func rowNames() string {
	var names []string
	for _, s := range []string{"none", "automemlimit", "rightsize", "rightsize-static", "no-handler", "log-handler", "handler"} {
		if _, ok := memexp.Rows[s]; ok {
			names = append(names, s)
		}
	}
	return strings.Join(names, ", ")
}
