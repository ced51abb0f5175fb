// Command rightsize shows what the container it runs in really has and how
// it is doing: a container-aware nproc, free and top for a shell inside a
// pod (kubectl exec ... -- rightsize), with a stable --json contract for
// scripts.
//
// Usage:
//
//	rightsize [--root DIR] [--pid N] [--json] [--watch INTERVAL [--count N]]
//	rightsize capture [--root DIR] -o FILE.tar.gz
//	rightsize --version
//
// Without arguments it prints a short view: environment (container,
// runtime, Kubernetes pod and QoS class), cgroup layout and directories,
// CPU (limit, CPUs the process may run on, host CPUs, request, usage,
// throttling), memory (limit, memory.high, usage, working set, host total),
// pids, pressure, the process table (zombies, children, threads, open
// descriptors against RLIMIT_NOFILE, of this command's own process or of
// the one --pid names), the GOMAXPROCS and GOMEMLIMIT rightsize would
// choose, and those of this command's own process. It warns when pids,
// threads or descriptors are within 10% of their limit and when PID 1 has
// zombie children. --watch refreshes it in place with
// rates between samples until interrupted (Ctrl-C) or --count samples were
// shown. Everything it shows comes from one runtimeinfo.Reader (opened once,
// refreshed for each sample) and its Recommend, except what the Reader does
// not report: the number of CPUs online on the host (the view's "host N",
// read once from /sys/devices/system/cpu/online) and, with --pid N, the
// process table, which comes from /proc/N and the stat of every process
// (the Reader's describes this process). Live, without --pid, the process
// table is this command's own process's, and the view says so.
//
// --json prints one object (schemaVersion 1; schema.json in this directory
// is its JSON Schema, the README describes the fields); with --watch one
// compact object per line, with its time and the rates since the line
// before. Values that cannot be read are null and listed in "unknown", with
// a warning naming the file; the command still exits 0.
//
// --root DIR reads every file below DIR instead of the live system: a
// fixture tree, or a tree unpacked from a capture. Nothing outside DIR is
// read.
//
// capture writes the files rightsize reads into a gzip-compressed tar
// archive ("-" for standard output) that works as a --root tree once
// unpacked. It writes a temporary file beside the output and renames it
// into place only when complete, refuses an output that is not a regular
// file, records symbolic links as links and copies regular files only,
// bounded in size and time. It never copies secrets: no service account
// token or certificates, only the first line of /etc/hosts, from the
// environment only the names of the variables, with values kept for the few
// that rightsize and its detection read (KUBERNETES_SERVICE_HOST/PORT,
// RIGHTSIZE_*, GOMAXPROCS, GOMEMLIMIT, GODEBUG, container= and the ECS,
// Cloud Run and Nomad markers), no process name (the stat files' command
// names are replaced) and no open file (descriptor links point to a
// placeholder; only pidfds keep theirs).
//
// Exit codes: 0 done; 1 a capture failed or stdout could not be written; 2
// bad flags or arguments (one line on stderr); 130 interrupted (SIGINT or
// SIGTERM).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rightsize/rightsize/internal/rootfs"
)

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1   // capture could not write its archive; a write to stdout failed
	exitUsage       = 2   // bad flags or arguments
	exitInterrupted = 130 // SIGINT or SIGTERM before the work was done
)

// minWatch bounds how often --watch samples.
const minWatch = 100 * time.Millisecond

// graceTime is how long the work may go on after the first SIGINT or
// SIGTERM before the command exits anyway.
const graceTime = time.Second

const usageText = `Usage:
  rightsize [--root DIR] [--pid N] [--json] [--watch INTERVAL [--count N]]
  rightsize capture [--root DIR] -o FILE.tar.gz
  rightsize --version

Shows the CPU, memory and pids this container really has (cgroup limits,
usage, throttling, pressure), where it runs (container runtime, Kubernetes
pod and QoS class), the process table (zombies, threads, open descriptors),
and the GOMAXPROCS and GOMEMLIMIT rightsize would set.

Flags:
  --json             print one JSON object (schemaVersion 1) instead
  --watch INTERVAL   refresh every INTERVAL (e.g. 2s, at least 100ms) with
                     rates between samples; stop with Ctrl-C
  --count N          with --watch: stop after N samples (0: no limit)
  --root DIR         read the files below DIR instead of the live system
  --pid N            describe process N's share of the process table (e.g.
                     --pid 1: PID 1's zombie children) instead of this
                     command's own process
  --version          print the version and exit

capture writes the files rightsize reads, without secrets, into a .tar.gz
that works as a --root tree once unpacked (-o - writes to standard output):
  -o FILE            the archive to write (replaced only when complete)
  --root DIR         capture from a tree instead of the live system

Exit codes: 0 done (also when values could not be read), 1 capture failed or
the output could not be written, 2 bad flags or arguments, 130 interrupted.
`

// runMain is the command as a process: run, plus the signals. The first
// SIGINT or SIGTERM cancels the work (--watch stops and exits 0; a view or
// a capture in progress stops, removes its temporary file and exits 130); a
// second signal, or work that has not ended graceTime after the first,
// removes the temporary files and exits 130 at once.
func runMain(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		cancel()
		t := time.NewTimer(graceTime)
		defer t.Stop()
		select {
		case <-sigs:
		case <-t.C:
		case <-done:
			return
		}
		removeTemps()
		fmt.Fprintln(stderr, "rightsize: interrupted")
		os.Exit(exitInterrupted)
	}()
	return runContext(ctx, args, stdout, stderr)
}

// run is the command without signal handling, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

// runContext parses args, writes to stdout and stderr and returns the exit
// code. Cancelling ctx stops the work.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rightsize", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		asJSON  bool
		watch   time.Duration
		count   int
		root    string
		pid     int
		version bool
	)
	fs.BoolVar(&asJSON, "json", false, "")
	fs.DurationVar(&watch, "watch", 0, "")
	fs.IntVar(&count, "count", 0, "")
	fs.StringVar(&root, "root", "/", "")
	fs.IntVar(&pid, "pid", 0, "")
	fs.BoolVar(&version, "version", false, "")
	if err := fs.Parse(args); err != nil {
		return usageError(stdout, stderr, err)
	}
	out := &errWriter{w: stdout}
	if version {
		writeVersion(out)
		return finish(out, stderr, exitOK)
	}
	rest := fs.Args()
	if len(rest) > 0 && rest[0] == "capture" {
		if pid != 0 {
			return usageError(stdout, stderr, errors.New("--pid does not apply to capture (it copies the capturing process's table)"))
		}
		return runCapture(ctx, rest[1:], root, stdout, stderr)
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
	case pid < 0 || pid > 1<<22:
		return usageError(stdout, stderr, fmt.Errorf("--pid %d: want a process ID", pid))
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return usageError(stdout, stderr, fmt.Errorf("--root %s: not a directory", root))
	}
	if pid > 0 && !rootfs.New(root).Exists("/proc/"+strconv.Itoa(pid)+"/stat") {
		return usageError(stdout, stderr, fmt.Errorf("--pid %d: no such process in /proc", pid))
	}
	if watch > 0 {
		if err := watchLoop(ctx, root, pid, asJSON, watch, count, out); err != nil && out.err == nil {
			fmt.Fprintln(stderr, "rightsize:", err)
			return exitError
		}
		return finish(out, stderr, exitOK)
	}
	s, err := collectContext(ctx, root, pid)
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "rightsize: interrupted")
		return exitInterrupted
	case err != nil:
		fmt.Fprintln(stderr, "rightsize:", err)
		return exitError
	}
	if asJSON {
		if err := writeJSON(out, &s.report, true); err != nil && out.err == nil {
			fmt.Fprintln(stderr, "rightsize:", err)
			return exitError
		}
	} else {
		writeHuman(out, &s, nil)
	}
	return finish(out, stderr, exitOK)
}

// errWriter keeps the first write error: a full disk or a closed pipe
// must end the command with an error, not a truncated output and exit 0.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

// finish turns a write error on stdout into exit 1 with one line on
// stderr.
func finish(out *errWriter, stderr io.Writer, code int) int {
	if out.err != nil {
		fmt.Fprintf(stderr, "rightsize: writing the output: %v\n", unwrapPathError(out.err))
		return exitError
	}
	return code
}

// unwrapPathError drops the "write /dev/stdout:" prefix of an *os.PathError
// so that the message names the problem ("no space left on device").
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// writeVersion prints the module version ("(devel)" for a build from a
// work tree), the VCS revision and time when the build recorded them, and
// the Go version.
func writeVersion(w io.Writer) {
	version, rev, at, modified := "(devel)", "", "", false
	goVersion := runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	fmt.Fprintf(w, "rightsize %s\n", version)
	if rev != "" {
		var extra []string
		if at != "" {
			extra = append(extra, at)
		}
		if modified {
			extra = append(extra, "modified")
		}
		line := "revision " + rev
		if len(extra) > 0 {
			line += " (" + strings.Join(extra, ", ") + ")"
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "built with %s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
}

func runCapture(ctx context.Context, args []string, root string, stdout, stderr io.Writer) int {
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
	return captureCommand(ctx, out, root, stdout, stderr)
}

// usageError reports a flag error: -h and --help print the usage to stdout
// and succeed; anything else prints one line to stderr and exits 2.
func usageError(stdout, stderr io.Writer, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		out := &errWriter{w: stdout}
		io.WriteString(out, usageText)
		return finish(out, stderr, exitOK)
	}
	fmt.Fprintf(stderr, "rightsize: %v; see --help\n", err)
	return exitUsage
}

// Temporary files to remove when the command is interrupted.
var temps struct {
	sync.Mutex
	names map[string]bool
}

func addTemp(name string) {
	temps.Lock()
	defer temps.Unlock()
	if temps.names == nil {
		temps.names = map[string]bool{}
	}
	temps.names[name] = true
}

func dropTemp(name string) {
	temps.Lock()
	defer temps.Unlock()
	delete(temps.names, name)
}

// removeTemps removes every temporary file still registered.
func removeTemps() {
	temps.Lock()
	defer temps.Unlock()
	for name := range temps.names {
		os.Remove(name)
		delete(temps.names, name)
	}
}
