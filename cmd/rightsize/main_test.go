package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestMain runs the command instead of the tests when RIGHTSIZE_TEST_MAIN
// is 1, so that tests can run it in another process (as another user).
func TestMain(m *testing.M) {
	if os.Getenv("RIGHTSIZE_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
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
			golden(t, name+".json", runOK(t, "--root", filepath.Join("testdata/trees", name), "--json"))
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

// The contract: exactly these keys, in this order, with these kinds.
var schema = map[string][]string{
	"":                       {"schemaVersion", "cgroup", "environment", "cpu", "memory", "pids", "pressure", "go", "unknown", "warnings"},
	"cgroup":                 {"layout", "cpu", "memory"},
	"cgroup.cpu":             {"version", "path"},
	"environment":            {"container", "runtime", "orchestrator", "kubernetes", "evidence"},
	"environment.kubernetes": {"podUID", "containerID", "qosClass", "namespace"},
	"cpu":                    {"limit", "limitPath", "cpus", "request", "requestApprox", "usageSeconds", "throttling"},
	"cpu.throttling":         {"periods", "throttledPeriods", "throttledSeconds"},
	"memory":                 {"limit", "limitPath", "high", "usage", "workingSet", "swapLimit", "hostTotal", "events"},
	"memory.events":          {"high", "max", "oom", "oomKill"},
	"pids":                   {"limit", "current"},
	"pressure":               {"cpu", "memory", "io"},
	"psi":                    {"some", "full"},
	"psiline":                {"avg10", "avg60", "avg300", "totalSeconds"},
	"go":                     {"gomaxprocs", "gomemlimit", "recommendedGOMAXPROCS", "recommendedGOMEMLIMIT"},
}

// keysInOrder decodes the keys of a JSON object in document order.
func keysInOrder(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// checkSchema checks a --json output against the contract: the keys, the
// kinds of values, and that every "unknown" entry names a null field.
func checkSchema(t *testing.T, out []byte) {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, out)
	}
	object := func(name string, raw json.RawMessage, kind string) map[string]json.RawMessage {
		t.Helper()
		if raw == nil {
			t.Errorf("%s: missing", name)
			return nil
		}
		if string(raw) == "null" {
			return nil
		}
		if got := keysInOrder(t, raw); !reflect.DeepEqual(got, schema[kind]) {
			t.Errorf("%s: keys %q, want %q", name, got, schema[kind])
		}
		var m map[string]json.RawMessage
		json.Unmarshal(raw, &m)
		return m
	}
	root := object("document", out, "")
	kinds := map[string]string{}
	var walk func(prefix string, m map[string]json.RawMessage)
	walk = func(prefix string, m map[string]json.RawMessage) {
		for k, v := range m {
			kinds[prefix+k] = string(v)
		}
	}
	walk("", root)
	if string(root["schemaVersion"]) != "1" {
		t.Errorf("schemaVersion = %s", root["schemaVersion"])
	}
	cg := object("cgroup", root["cgroup"], "cgroup")
	walk("cgroup.", cg)
	for _, k := range []string{"cpu", "memory"} {
		if loc := object("cgroup."+k, cg[k], "cgroup.cpu"); loc != nil {
			if v := string(loc["version"]); v != "1" && v != "2" {
				t.Errorf("cgroup.%s.version = %s", k, v)
			}
		}
	}
	switch string(cg["layout"]) {
	case `"v1"`, `"v2"`, `"hybrid"`, `"none"`:
	default:
		t.Errorf("cgroup.layout = %s", cg["layout"])
	}
	env := object("environment", root["environment"], "environment")
	walk("environment.", env)
	if k := object("environment.kubernetes", env["kubernetes"], "environment.kubernetes"); k != nil {
		switch string(k["qosClass"]) {
		case `"Guaranteed"`, `"Burstable"`, `"BestEffort"`, "null":
		default:
			t.Errorf("qosClass = %s", k["qosClass"])
		}
	}
	var evidence []map[string]string
	if err := json.Unmarshal(env["evidence"], &evidence); err != nil || evidence == nil {
		t.Errorf("evidence %s: %v", env["evidence"], err)
	}
	cpu := object("cpu", root["cpu"], "cpu")
	walk("cpu.", cpu)
	object("cpu.throttling", cpu["throttling"], "cpu.throttling")
	mem := object("memory", root["memory"], "memory")
	walk("memory.", mem)
	object("memory.events", mem["events"], "memory.events")
	walk("pids.", object("pids", root["pids"], "pids"))
	if p := object("pressure", root["pressure"], "pressure"); p != nil {
		walk("pressure.", p)
		for _, k := range []string{"cpu", "memory", "io"} {
			if x := object("pressure."+k, p[k], "psi"); x != nil {
				object("pressure."+k+".some", x["some"], "psiline")
				object("pressure."+k+".full", x["full"], "psiline")
			}
		}
	}
	walk("go.", object("go", root["go"], "go"))
	var unknown, warnings []string
	if err := json.Unmarshal(root["unknown"], &unknown); err != nil || unknown == nil {
		t.Errorf("unknown %s: %v", root["unknown"], err)
	}
	if err := json.Unmarshal(root["warnings"], &warnings); err != nil || warnings == nil {
		t.Errorf("warnings %s: %v", root["warnings"], err)
	}
	for _, f := range unknown {
		v, ok := kinds[f]
		if !ok {
			t.Errorf("unknown names %q, not a field", f)
		} else if v != "null" && f != "cgroup.layout" {
			t.Errorf("unknown names %q, which is %s", f, v)
		}
	}
	if len(unknown) > 0 && len(warnings) == 0 {
		t.Errorf("unknown %q without a warning", unknown)
	}
	if !sort.StringsAreSorted(unknown) {
		t.Errorf("unknown not sorted: %q", unknown)
	}
}

func TestJSONSchema(t *testing.T) {
	for _, name := range trees(t) {
		t.Run(name, func(t *testing.T) {
			checkSchema(t, []byte(runOK(t, "--root", filepath.Join("testdata/trees", name), "--json")))
		})
	}
	t.Run("live", func(t *testing.T) {
		out := runOK(t, "--json")
		checkSchema(t, []byte(out))
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
		if err := json.Unmarshal([]byte(runOK(t, "--root", filepath.Join("testdata/trees", name), "--json")), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Go.GOMAXPROCS != nil || doc.Go.GOMEMLIMIT != nil {
			t.Errorf("%s: go values of this process under --root: %+v", name, doc.Go)
		}
		if doc.Environment.Kubernetes == nil && doc.CPU.Request != nil {
			t.Errorf("%s: cpu.request outside Kubernetes", name)
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
		if code != 2 || out.Len() != 0 || !strings.Contains(errb.String(), "Usage:") || !strings.HasPrefix(errb.String(), "rightsize: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 with the usage on stderr", args, code, out.String(), errb.String())
		}
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"capture", "-h"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 || !strings.Contains(out.String(), "Usage:") || errb.Len() != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out.String(), errb.String())
		}
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

	out.Reset()
	if code := runContext(context.Background(), []string{"--root", root, "--watch", "100ms", "--count", "2", "--json"}, &out, &out); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("--json --watch: %d lines, want 2", len(lines))
	}
	for _, l := range lines {
		checkSchema(t, []byte(l))
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
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

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
	// Usage from a cpuacct cgroup that is not the limited one.
	apart := *cur
	apart.usageDir = "/sys/fs/cgroup/cpuacct"
	if got, want := cpuUse(&apart, prev), "using 1.5 CPUs (cgroup /sys/fs/cgroup/cpuacct) · throttled"; !strings.HasPrefix(got, want) {
		t.Errorf("cpuUse = %q, want %q...", got, want)
	}
	// A counter that went back (a new cgroup) gives no rate.
	if got := cpuUse(mk(at.Add(4*time.Second), 1, 5, 0, 0), cur); got != "" {
		t.Errorf("cpuUse after a reset = %q", got)
	}
	if got, want := cpuUse(cur, nil), "used 13 s in total · throttled in 15 of 120 periods (12%), 1.5 s"; got != want {
		t.Errorf("cpuUse without a previous sample = %q, want %q", got, want)
	}
}
