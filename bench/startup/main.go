// Command startup measures the start-up cost of the blank imports: an
// empty program with and without rightsize, automaxprocs and automemlimit,
// whole-process wall time, runs interleaved, in this process's cgroup and
// (as root with a writable cgroupfs) in a child cgroup with a 1.5-CPU quota
// and a 256 MiB memory limit. Run from bench/:
//
//	go run ./startup -n 500 -out results/startup
//	go run ./startup -program web -n 300 -out results/startup-web
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/rightsize/rightsize/bench/internal/runexp"

	"github.com/rightsize/rightsize/bench/internal/startexp"
	"github.com/rightsize/rightsize/bench/internal/variant"
)

func main() {
	program := flag.String("program", "tiny", "program measured: tiny (an empty main) or web (imports net/http, encoding/json, log/slog)")
	n := flag.Int("n", 500, "starts per variant and environment")
	initTrace := flag.Int("inittrace", 50, "starts per variant with GODEBUG=inittrace=1")
	variants := flag.String("variants", "none,rightsize,automaxprocs,automemlimit", "variants (none first)")
	limited := flag.Bool("limited", true, "also measure inside a child cgroup with limits (root only)")
	quota := flag.Float64("quota", 1.5, "CPU quota of the child cgroup")
	mem := flag.Int64("limit-mib", 256, "memory limit of the child cgroup, MiB")
	out := flag.String("out", "results/startup", "results directory")
	flag.Parse()
	if *program != "tiny" && *program != "web" {
		fmt.Fprintf(os.Stderr, "startup: -program %q: want tiny or web\n", *program)
		os.Exit(2)
	}
	cfg := startexp.Config{Program: *program, N: *n, InitTrace: *initTrace, Limited: *limited, Quota: *quota, MemLimit: *mem << 20, Log: os.Stderr}
	for _, v := range strings.Split(*variants, ",") {
		v = strings.TrimSpace(v)
		if _, ok := variant.Tags[v]; !ok {
			fmt.Fprintf(os.Stderr, "startup: unknown variant %q\n", v)
			os.Exit(1)
		}
		cfg.Variants = append(cfg.Variants, v)
	}
	var err error
	if cfg.ModDir, err = variant.ModDir(); err != nil {
		fmt.Fprintln(os.Stderr, "startup:", err)
		os.Exit(1)
	}
	runexp.Main("startup", func(ctx context.Context) (func() error, error) {
		res, err := startexp.Execute(ctx, cfg)
		if res == nil || len(res.Envs) == 0 {
			return nil, err
		}
		return func() error {
			if err := res.Write(*out); err != nil {
				return err
			}
			fmt.Fprint(os.Stderr, res.Markdown())
			return nil
		}, err
	})
}
