// Command rightsize shows what the container it runs in really has and how
// it is doing: a container-aware nproc, free and top for a shell inside a
// pod (kubectl exec ... -- rightsize), with a stable --json contract for
// scripts.
//
// Usage:
//
//	rightsize [--root DIR] [--json] [--watch INTERVAL [--count N]]
//	rightsize capture [--root DIR] -o FILE.tar.gz
//
// Without arguments it prints a short view: environment (container,
// runtime, Kubernetes pod and QoS class), cgroup layout and directories,
// CPU (limit, CPUs the process may run on, host CPUs, request, usage,
// throttling), memory (limit, memory.high, usage, working set, host total),
// pids, pressure, and the GOMAXPROCS and GOMEMLIMIT this process has and
// rightsize would choose. --watch refreshes it in place with rates between
// samples until interrupted (Ctrl-C) or --count samples were shown.
//
// --json prints one object (schemaVersion 1; see the README of this
// directory for the fields); with --watch one compact object per line.
// Values that cannot be read are null and listed in "unknown", with a
// warning naming the file; the command still exits 0. Bad flags exit 2.
//
// --root DIR reads every file below DIR instead of the live system: a
// fixture tree, or a tree unpacked from a capture.
//
// capture writes the files rightsize reads into a gzip-compressed tar
// archive ("-" for standard output) that works as a --root tree once
// unpacked. It never copies secrets: no service account token or
// certificates, only the first line of /etc/hosts, and from the environment
// only the names of the variables, with values kept for the few that
// rightsize and its detection read (KUBERNETES_SERVICE_HOST/PORT,
// RIGHTSIZE_*, GOMAXPROCS, GOMEMLIMIT, GODEBUG, container= and the ECS,
// Cloud Run and Nomad markers).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // capture could not write its archive
	exitUsage = 2 // bad flags or arguments
)

// minWatch bounds how often --watch samples.
const minWatch = 100 * time.Millisecond

const usageText = `Usage:
  rightsize [--root DIR] [--json] [--watch INTERVAL [--count N]]
  rightsize capture [--root DIR] -o FILE.tar.gz

Shows the CPU, memory and pids this container really has (cgroup limits,
usage, throttling, pressure), where it runs (container runtime, Kubernetes
pod and QoS class), and the GOMAXPROCS and GOMEMLIMIT rightsize would set.

Flags:
  --json             print one JSON object (schemaVersion 1) instead
  --watch INTERVAL   refresh every INTERVAL (e.g. 2s, at least 100ms) with
                     rates between samples; stop with Ctrl-C
  --count N          with --watch: stop after N samples (0: no limit)
  --root DIR         read the files below DIR instead of the live system

capture writes the files rightsize reads, without secrets, into a .tar.gz
that works as a --root tree once unpacked (-o - writes to standard output):
  -o FILE            the archive to write
  --root DIR         capture from a tree instead of the live system
`

// run is the command: it parses args, writes to stdout and stderr and
// returns the exit code. SIGINT and SIGTERM stop --watch.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args, stdout, stderr)
}

func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rightsize", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		asJSON bool
		watch  time.Duration
		count  int
		root   string
	)
	fs.BoolVar(&asJSON, "json", false, "")
	fs.DurationVar(&watch, "watch", 0, "")
	fs.IntVar(&count, "count", 0, "")
	fs.StringVar(&root, "root", "/", "")
	if err := fs.Parse(args); err != nil {
		return usageError(stdout, stderr, err)
	}
	rest := fs.Args()
	if len(rest) > 0 && rest[0] == "capture" {
		return runCapture(rest[1:], root, stdout, stderr)
	}
	switch {
	case len(rest) > 0:
		return usageError(stdout, stderr, fmt.Errorf("unexpected argument %q", rest[0]))
	case root == "":
		return usageError(stdout, stderr, errors.New("--root needs a directory"))
	case watch < 0 || (watch > 0 && watch < minWatch):
		return usageError(stdout, stderr, fmt.Errorf("--watch %v: want an interval of at least %v", watch, minWatch))
	case count < 0:
		return usageError(stdout, stderr, fmt.Errorf("--count %d: want 0 or more", count))
	case count > 0 && watch == 0:
		return usageError(stdout, stderr, errors.New("--count needs --watch"))
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return usageError(stdout, stderr, fmt.Errorf("--root %s: not a directory", root))
	}
	if watch > 0 {
		return watchLoop(ctx, root, asJSON, watch, count, stdout)
	}
	s := collect(root)
	if asJSON {
		writeJSON(stdout, &s.report, true)
	} else {
		writeHuman(stdout, &s, nil)
	}
	return exitOK
}

func runCapture(args []string, root string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rightsize capture", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var out string
	fs.StringVar(&out, "o", "", "")
	fs.StringVar(&root, "root", root, "")
	if err := fs.Parse(args); err != nil {
		return usageError(stdout, stderr, err)
	}
	switch {
	case fs.NArg() > 0:
		return usageError(stdout, stderr, fmt.Errorf("capture: unexpected argument %q", fs.Arg(0)))
	case out == "":
		return usageError(stdout, stderr, errors.New("capture: -o FILE is required"))
	case root == "":
		return usageError(stdout, stderr, errors.New("--root needs a directory"))
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return usageError(stdout, stderr, fmt.Errorf("--root %s: not a directory", root))
	}
	var w io.Writer = stdout
	var f *os.File
	if out != "-" {
		var err error
		if f, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
			fmt.Fprintln(stderr, "rightsize capture:", err)
			return exitError
		}
		w = f
	}
	files, warnings, err := capture(w, root)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	for _, msg := range warnings {
		fmt.Fprintln(stderr, "rightsize capture: warning:", msg)
	}
	if err != nil {
		fmt.Fprintln(stderr, "rightsize capture:", err)
		if f != nil {
			os.Remove(out)
		}
		return exitError
	}
	if out != "-" {
		fmt.Fprintf(stderr, "rightsize capture: wrote %d files to %s (unpack it and run rightsize --root DIR)\n", files, out)
	}
	return exitOK
}

// usageError reports a flag error: -h and --help print the usage to stdout
// and succeed; anything else prints the error and the usage to stderr and
// exits 2.
func usageError(stdout, stderr io.Writer, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		io.WriteString(stdout, usageText)
		return exitOK
	}
	fmt.Fprintf(stderr, "rightsize: %v\n\n%s", err, usageText)
	return exitUsage
}
