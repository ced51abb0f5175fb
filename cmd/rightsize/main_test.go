package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestMain runs the command instead of the tests when RIGHTSIZE_TEST_MAIN
// is 1, so that tests can run it in another process (as another user, with
// signals, with stdout on /dev/full). RIGHTSIZE_TEST_CAPTURE_DELAY makes a
// capture sleep before each file; RIGHTSIZE_TEST_CAPTURE_STALL=1 makes it
// hang, ignoring signals, once its temporary file exists.
func TestMain(m *testing.M) {
	if os.Getenv("RIGHTSIZE_TEST_MAIN") == "1" {
		if d, err := time.ParseDuration(os.Getenv("RIGHTSIZE_TEST_CAPTURE_DELAY")); err == nil {
			captureHook = func(string) { time.Sleep(d) }
		}
		if os.Getenv("RIGHTSIZE_TEST_CAPTURE_STALL") == "1" {
			captureStall = func() { select {} }
		}
		os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// trees lists the fixture trees under testdata/trees.
func trees(t *testing.T) []string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the cgroup readers report \"not supported\" outside Linux, also under --root")
	}
	entries, err := os.ReadDir("testdata/trees")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) < 8 {
		t.Fatalf("only %d trees in testdata/trees", len(names))
	}
	return names
}

// runOK runs the command in-process and fails the test unless it exits 0
// with nothing on stderr.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, &out, &errb); code != 0 || errb.Len() > 0 {
		t.Fatalf("rightsize %s: exit %d, stderr %q", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata/golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestGoldenJSON(t *testing.T) {
	for _, name := range trees(t) {
		t.Run(name, func(t *testing.T) {
			golden(t, name+".json", runJSON(t, "--root", filepath.Join("testdata/trees", name), "--json"))
		})
	}
}

func TestGoldenHuman(t *testing.T) {
	for _, name := range trees(t) {
		t.Run(name, func(t *testing.T) {
			golden(t, name+".txt", runOK(t, "--root", filepath.Join("testdata/trees", name)))
		})
	}
}

// checkReport checks one --json object (or --json --watch line): it must
// validate against schema.json, and every "unknown" entry must name a
// field that is null (cgroup.layout is "none" instead), with at least one
// warning saying why. It returns the decoded object.
func checkReport(t testing.TB, out []byte) map[string]any {
	t.Helper()
	if errs := validateJSON(t, out); len(errs) > 0 {
		t.Fatalf("the output does not validate against schema.json:\n%s\n%s", strings.Join(errs, "\n"), out)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	var unknown, warnings []string
	for _, x := range doc["unknown"].([]any) {
		unknown = append(unknown, x.(string))
	}
	for _, x := range doc["warnings"].([]any) {
		warnings = append(warnings, x.(string))
	}
	for _, f := range unknown {
		parent, key, _ := strings.Cut(f, ".")
		var v any = doc[parent]
		if key != "" {
			m, ok := v.(map[string]any)
			if !ok {
				// A field of a null object (pressure.cpu when pressure
				// is null) is null too.
				continue
			}
			v = m[key]
		}
		if v != nil && f != "cgroup.layout" {
			t.Errorf("unknown names %q, which is %v", f, v)
		}
	}
	if len(unknown) > 0 && len(warnings) == 0 {
		t.Errorf("unknown %q without a warning", unknown)
	}
	if !sort.StringsAreSorted(unknown) {
		t.Errorf("unknown not sorted: %q", unknown)
	}
	return doc
}

// runJSON runs the command with args (which include --json), checks its
// output with checkReport and returns it.
func runJSON(t *testing.T, args ...string) string {
	t.Helper()
	out := runOK(t, args...)
	checkReport(t, []byte(out))
	return out
}

func TestJSONSchema(t *testing.T) {
	for _, name := range trees(t) {
		t.Run(name, func(t *testing.T) {
			runJSON(t, "--root", filepath.Join("testdata/trees", name), "--json")
		})
	}
	t.Run("live", func(t *testing.T) {
		out := runJSON(t, "--json")
		var doc struct {
			Go map[string]*float64 `json:"go"`
		}
		json.Unmarshal([]byte(out), &doc)
		if doc.Go["gomaxprocs"] == nil {
			t.Errorf("live go.gomaxprocs is null: %s", out)
		}
	})
}

// TestUnderRoot checks the rules that hold for every tree: nothing from the
// live process under --root.
func TestUnderRoot(t *testing.T) {
	for _, name := range trees(t) {
		var doc report
		if err := json.Unmarshal([]byte(runJSON(t, "--root", filepath.Join("testdata/trees", name), "--json")), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Go.GOMAXPROCS != nil || doc.Go.GOMEMLIMIT != nil {
			t.Errorf("%s: go values of this process under --root: %+v", name, doc.Go)
		}
		// Outside Kubernetes a cgroup weight is not a request: only the
		// Downward API value may give one, and no tree sets it.
		if doc.Environment.Kubernetes == nil && doc.CPU.Request != nil {
			t.Errorf("%s: cpu.request outside Kubernetes", name)
		}
		if doc.CPU.UsageElsewhere && doc.CPU.UsageSeconds == nil {
			t.Errorf("%s: usageElsewhere without a usage", name)
		}
		for _, w := range doc.Warnings {
			if strings.Contains(w, "testdata") {
				t.Errorf("%s: warning names the root: %q", name, w)
			}
		}
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--bogus"},
		{"--json=maybe"},
		{"--watch", "soon"},
		{"--watch", "10ms"},
		{"--watch", "-1s"},
		{"--count", "2"},
		{"--watch", "1s", "--count", "-1"},
		{"--root"},
		{"--root", ""},
		{"--root", "testdata/no-such-tree"},
		{"--root", "main.go"},
		{"top"},
		{"--json", "extra"},
		{"capture"},
		{"capture", "-o"},
		{"capture", "-o", "x.tar.gz", "extra"},
		{"capture", "--bogus"},
		{"capture", "-o", "x.tar.gz", "--root", "testdata/no-such-tree"},
	} {
		var out, errb bytes.Buffer
		code := run(args, &out, &errb)
		e := errb.String()
		if code != 2 || out.Len() != 0 || !strings.HasPrefix(e, "rightsize: ") || !strings.HasSuffix(e, "; see --help\n") || strings.Count(e, "\n") != 1 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and one line \"rightsize: ...; see --help\" on stderr", args, code, out.String(), e)
		}
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"capture", "-h"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 || !strings.Contains(out.String(), "Usage:") || errb.Len() != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out.String(), errb.String())
		}
	}
}

// TestVersion checks --version: the module version ("(devel)" in a test
// binary) and the Go version, on stdout, exit 0.
func TestVersion(t *testing.T) {
	out := runOK(t, "--version")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "rightsize ") || len(lines[0]) <= len("rightsize ") {
		t.Errorf("first line %q, want \"rightsize VERSION\"", lines[0])
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "built with go") || !strings.Contains(last, runtime.GOOS+"/"+runtime.GOARCH) {
		t.Errorf("last line %q, want the Go version and platform", last)
	}
	for _, l := range lines[1 : len(lines)-1] {
		if !strings.HasPrefix(l, "revision ") {
			t.Errorf("unexpected line %q", l)
		}
	}
}

// TestHumanSaysWhoseGo checks that the live view says the GOMAXPROCS and
// GOMEMLIMIT it shows are this command's, not the service's, and that the
// columns line up.
func TestHumanSaysWhoseGo(t *testing.T) {
	out := runOK(t)
	if !strings.Contains(out, "in this command's own process (not your service's)") {
		t.Errorf("the view does not say whose GOMAXPROCS it shows:\n%s", out)
	}
	// Every line's text starts in the same column (13: "Environment"
	// and two spaces).
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if len(l) < 14 || l[12] != ' ' || l[13] == ' ' {
			t.Errorf("line %q: text not at column 13", l)
		}
	}
	var gomaxprocs, gomemlimit int
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, "GOMAXPROCS  "); i >= 0 {
			gomaxprocs = strings.Index(l, "· ")
		}
		if i := strings.Index(l, "GOMEMLIMIT  "); i >= 0 {
			gomemlimit = strings.Index(l, "· ")
		}
	}
	if gomaxprocs <= 0 || gomaxprocs != gomemlimit {
		t.Errorf("the Go lines' last column is not aligned (%d, %d):\n%s", gomaxprocs, gomemlimit, out)
	}
}

func TestWatch(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the fixture's cgroup files are read on Linux only")
	}
	root := filepath.Join("testdata/trees", "k8s-v1-burstable")
	var out bytes.Buffer
	if code := runContext(context.Background(), []string{"--root", root, "--watch", "100ms", "--count", "3"}, &out, &out); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	s := out.String()
	if n := strings.Count(s, "rightsize · every 100ms"); n != 3 {
		t.Errorf("%d views, want 3:\n%s", n, s)
	}
	if strings.Contains(s, "\x1b[") {
		t.Errorf("escape sequences written to a buffer:\n%q", s)
	}
	// The counters of a fixture do not move: the rates are zero.
	if !strings.Contains(s, "using 0 CPUs (0% of limit) · not throttled in the last") {
		t.Errorf("no rates in the later views:\n%s", s)
	}
	checkNoBadNumbers(t, s)

	out.Reset()
	if code := runContext(context.Background(), []string{"--root", root, "--watch", "100ms", "--count", "3", "--json"}, &out, &out); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("--json --watch: %d lines, want 3", len(lines))
	}
	var last time.Time
	for i, l := range lines {
		doc := checkReport(t, []byte(l))
		ts, ok := doc["time"].(string)
		if !ok {
			t.Fatalf("line %d has no time: %s", i, l)
		}
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || len(ts) != len(timeFormat) && !strings.HasSuffix(ts, "Z") {
			t.Errorf("line %d: time %q: %v", i, ts, err)
		}
		if !strings.Contains(ts, ".") {
			t.Errorf("line %d: time %q without milliseconds", i, ts)
		}
		if !at.After(last) {
			t.Errorf("line %d: time %v not after %v", i, at, last)
		}
		last = at
		rates, ok := doc["rates"]
		if !ok {
			t.Fatalf("line %d has no rates: %s", i, l)
		}
		if i == 0 && rates != nil {
			t.Errorf("first line: rates %v, want null", rates)
		}
		if i > 0 {
			r, _ := rates.(map[string]any)
			if r == nil || r["intervalSeconds"].(float64) <= 0 || r["cpuUsedCPUs"] != 0.0 || r["periods"] != 0.0 || r["throttledPeriods"] != 0.0 {
				t.Errorf("line %d: rates %v, want zero rates over a positive interval", i, rates)
			}
		}
	}
}

// checkNoBadNumbers fails on what a rate over a bad interval prints.
func checkNoBadNumbers(t *testing.T, s string) {
	t.Helper()
	for _, bad := range []string{"Inf", "NaN", "of 0 periods", "-"} {
		if bad == "-" {
			// A negative number: "-" followed by a digit.
			for i := 0; i+1 < len(s); i++ {
				if s[i] == '-' && s[i+1] >= '0' && s[i+1] <= '9' && (i == 0 || s[i-1] == ' ') {
					t.Errorf("negative number at %q", s[i:min(len(s), i+20)])
					break
				}
			}
			continue
		}
		if strings.Contains(s, bad) {
			t.Errorf("output contains %q:\n%s", bad, s)
		}
	}
}

// TestWatchStops checks that an interrupted --watch without --count returns
// promptly with exit 0.
func TestWatchStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var out bytes.Buffer
	go func() {
		done <- runContext(ctx, []string{"--root", "testdata/trees/none-wsl", "--watch", "1h"}, &out, &out)
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(out.String(), "Environment") {
			t.Errorf("exit %d, output %q", code, out.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("--watch did not stop when its context was cancelled")
	}
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{fmtBytes(0), "0 B"},
		{fmtBytes(1023), "1023 B"},
		{fmtBytes(1024), "1 KiB"},
		{fmtBytes(268435456), "256 MiB"},
		{fmtBytes(241591910), "230.4 MiB"},
		{fmtBytes(3 << 29), "1.5 GiB"},
		{fmtCPUs(1.5), "1.5 CPUs"},
		{fmtCPUs(1), "1 CPU"},
		{fmtCPUs(0.255), "0.26 CPUs"},
		{fmtSeconds(4.5), "4.5 s"},
		{fmtSeconds(0.001), "1 ms"},
		{fmtSeconds(98.76), "98.8 s"},
		{fmtSeconds(7200), "2 h 0 min"},
		{fmtPercent(25), "25%"},
		{fmtPercent(4.25), "4.2%"},
		{fmtPercent(0), "0%"},
		{sanitize("a\x1b[2Jb\tc\xffd"), `a\x1b[2Jb\x09c\xffd`},
		{sanitize("cpu,cpuacct · 1 CPU"), "cpu,cpuacct · 1 CPU"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// TestRates checks the rates of --watch, and that no interval, counter
// reset or stalled counter gives Inf, NaN, a negative rate or "of 0
// periods".
func TestRates(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(at time.Time, usage float64, periods, throttled uint64, secs float64) *sample {
		s := &sample{at: at, unknown: map[string]bool{}}
		s.report.CPU.Limit = ptr(2.0)
		s.report.CPU.UsageSeconds = ptr(usage)
		s.report.CPU.Throttling = &throttling{Periods: periods, ThrottledPeriods: throttled, ThrottledSeconds: secs}
		return s
	}
	prev := mk(at, 10, 100, 10, 1)
	cur := mk(at.Add(2*time.Second), 13, 120, 15, 1.5)
	if got, want := cpuUse(cur, prev), "using 1.5 CPUs (75% of limit) · throttled in 5 of 20 periods (25%), 0.5 s in the last 2 s"; got != want {
		t.Errorf("cpuUse = %q, want %q", got, want)
	}
	r := computeRates(cur, prev)
	if r.IntervalSeconds != 2 || *r.CPUUsedCPUs != 1.5 || *r.Periods != 20 || *r.ThrottledPeriods != 5 || *r.ThrottledSeconds != 0.5 {
		t.Errorf("computeRates = %+v", r)
	}
	// Usage from a cpuacct cgroup that is not the limited one.
	apart, pa := *cur, *prev
	apart.usageDir, pa.usageDir = "/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/cpuacct"
	if got, want := cpuUse(&apart, &pa), "using 1.5 CPUs (cgroup /sys/fs/cgroup/cpuacct) · throttled"; !strings.HasPrefix(got, want) {
		t.Errorf("cpuUse = %q, want %q...", got, want)
	}
	if got, want := cpuUse(cur, nil), "used 13 s in total · throttled in 15 of 120 periods (12%), 1.5 s"; got != want {
		t.Errorf("cpuUse without a previous sample = %q, want %q", got, want)
	}

	for _, tt := range []struct {
		name      string
		prev, cur *sample
		want      string
	}{
		// A counter that went back (a new cgroup) gives no rate.
		{"reset", cur, mk(at.Add(4*time.Second), 1, 5, 0, 0), ""},
		{"usage reset only", prev, mk(at.Add(2*time.Second), 5, 120, 15, 1.5), "throttled in 5 of 20 periods (25%), 0.5 s in the last 2 s"},
		{"throttled time reset", prev, mk(at.Add(2*time.Second), 13, 120, 15, 0.5), "using 1.5 CPUs (75% of limit) · throttled in 5 of 20 periods (25%) in the last 2 s"},
		// Periods that do not advance: not throttled, never "of 0".
		{"stalled", prev, mk(at.Add(2*time.Second), 10, 100, 10, 1), "using 0 CPUs (0% of limit) · not throttled in the last 2 s"},
		{"throttled without periods", prev, mk(at.Add(2*time.Second), 10, 100, 12, 1), "using 0 CPUs (0% of limit)"},
		// No time, or time going back: no rate at all.
		{"zero interval", prev, mk(at, 13, 120, 15, 1.5), ""},
		{"negative interval", prev, mk(at.Add(-time.Second), 13, 120, 15, 1.5), ""},
		{"nanosecond", prev, mk(at.Add(time.Nanosecond), 10, 100, 10, 1), "using 0 CPUs (0% of limit) · not throttled in the last 0 ms"},
	} {
		got := cpuUse(tt.cur, tt.prev)
		if got != tt.want {
			t.Errorf("%s: cpuUse = %q, want %q", tt.name, got, tt.want)
		}
		checkNoBadNumbers(t, got)
		rt := computeRates(tt.cur, tt.prev)
		data, err := json.Marshal(rt)
		if err != nil {
			t.Errorf("%s: rates do not marshal: %v", tt.name, err)
		}
		checkNoBadNumbers(t, string(data))
	}
	// A limit of 0 (never from the Reader, but never divided by).
	z := mk(at.Add(2*time.Second), 13, 120, 15, 1.5)
	z.report.CPU.Limit = ptr(0.0)
	checkNoBadNumbers(t, cpuUse(z, prev))
}

// TestOneShotInterrupted: a view whose context ends (SIGINT, SIGTERM)
// prints nothing and exits 130.
func TestOneShotInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{{"--root", "testdata/trees/k8s-v1-burstable"}, {"--root", "testdata/trees/k8s-v1-burstable", "--json"}} {
		var out, errb bytes.Buffer
		if code := runContext(ctx, args, &out, &errb); code != 130 || out.Len() != 0 || !strings.Contains(errb.String(), "interrupted") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 130, nothing, \"interrupted\"", args, code, out.String(), errb.String())
		}
	}
}
