package rightsizeexpvar_test

import (
	"encoding/json"
	"expvar"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rightsize/rightsize/detect"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/procfs"
	"github.com/rightsize/rightsize/rightsizeexpvar"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// Fixture trees of the rightsize command: complete captures.
var (
	trees      = filepath.Join("..", "cmd", "rightsize", "testdata", "trees")
	hostNested = filepath.Join(trees, "v2-host-nested")
	v2Pod      = filepath.Join(trees, "k8s-v2-guaranteed")
	v1Pod      = filepath.Join(trees, "k8s-v1-burstable")
	hybrid     = filepath.Join(trees, "hybrid-docker")
	// procfs's process table: PID 1 with 9 threads, 5 descriptors of
	// RLIMIT_NOFILE 1024 (hard 4096); 4 processes, 2 of them zombies; 2
	// children, 1 of them a zombie. No cgroup files.
	procTable = filepath.Join("..", "procfs", "testdata", "proctable")
)

func skipUnlessLinux(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("cgroup readers exist on Linux only")
	}
}

// Importing the package publishes nothing: only Publish does (the tests
// publish under names beginning "test_").
func TestNothingPublishedWithoutPublish(t *testing.T) {
	expvar.Do(func(kv expvar.KeyValue) {
		if strings.HasPrefix(kv.Key, "rightsize") {
			t.Errorf("%s published without a call to Publish", kv.Key)
		}
	})
}

var published atomic.Int64

// unique returns a name not yet published in this process: -count=N runs
// the tests N times in one process, and expvar has no unpublish.
func unique(name string) string {
	return "test_" + name + "_" + strconv.FormatInt(published.Add(1), 10)
}

// get serves /debug/vars and returns the raw value published under name.
func get(t *testing.T, name string) json.RawMessage {
	t.Helper()
	srv := httptest.NewServer(expvar.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var all map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		t.Fatal(err)
	}
	raw, ok := all[name]
	if !ok {
		t.Fatalf("%s not in /debug/vars", name)
	}
	return raw
}

// The value served at /debug/vars under the name is the snapshot of the
// fixture (a cgroup v2 host, the process in /a/b, /a tighter), in this
// package's schema, with the runtime settings in force.
func TestPublishServesSnapshot(t *testing.T) {
	skipUnlessLinux(t)
	old := debug.SetMemoryLimit(300 << 20)
	defer debug.SetMemoryLimit(old)
	name := unique("fixture")
	if err := rightsizeexpvar.Publish(name, runtimeinfo.WithRoot(hostNested)); err != nil {
		t.Fatal(err)
	}
	raw := get(t, name)
	var v rightsizeexpvar.Vars
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	s := v.Snapshot
	if v.GOMAXPROCS != runtime.GOMAXPROCS(0) {
		t.Errorf("gomaxprocs = %d", v.GOMAXPROCS)
	}
	if v.GOMEMLIMIT == nil || *v.GOMEMLIMIT != 300<<20 {
		t.Errorf("gomemlimit = %v, want %d", v.GOMEMLIMIT, 300<<20)
	}
	if s.CgroupLayout != "v2" {
		t.Errorf("cgroupLayout = %q", s.CgroupLayout)
	}
	if c := s.CPULimit; c == nil || c.Cores != 2.5 || c.Millicores != 2500 || c.QuotaMicroseconds != 250000 ||
		c.PeriodMicroseconds != 100000 || c.Source != (rightsizeexpvar.Source{Kind: "cgroup", Path: "/sys/fs/cgroup/a/cpu.max"}) {
		t.Errorf("cpuLimit = %+v, want 2.5 from /a/cpu.max", c)
	}
	if s.CPUs.Count != 4 || s.CPUs.Source.Path != "/sys/fs/cgroup/a/b/cpuset.cpus.effective" {
		t.Errorf("cpus = %+v", s.CPUs)
	}
	if s.CPURequest != nil {
		t.Errorf("cpuRequest = %+v outside Kubernetes", s.CPURequest)
	}
	if s.MemoryLimit == nil || s.MemoryLimit.Bytes != 524288000 {
		t.Errorf("memoryLimit = %+v", s.MemoryLimit)
	}
	if s.MemoryHigh == nil || s.MemoryHigh.Bytes != 314572800 {
		t.Errorf("memoryHigh = %+v", s.MemoryHigh)
	}
	if s.HostMemory == nil || s.HostMemory.Bytes != 16384000<<10 || s.HostMemory.Source.Key != "MemTotal" {
		t.Errorf("hostMemory = %+v", s.HostMemory)
	}
	if s.PIDsLimit == nil || s.PIDsLimit.Count != 200 {
		t.Errorf("pidsLimit = %+v", s.PIDsLimit)
	}
	// The leaf's memory.swap.max 0 is a limit (no swap at all), not "none".
	if s.SwapLimit == nil || s.SwapLimit.Bytes != 0 || s.SwapLimit.Source.Path != "/sys/fs/cgroup/a/b/memory.swap.max" {
		t.Errorf("swapLimit = %+v, want 0 from /a/b/memory.swap.max", s.SwapLimit)
	}
	u := s.Usage
	if u.CPU.UsageSeconds == nil || *u.CPU.UsageSeconds != 2.5 || u.CPU.Throttling == nil ||
		*u.CPU.Throttling != (rightsizeexpvar.Throttling{Periods: 50, ThrottledPeriods: 5, ThrottledSeconds: 0.25}) {
		t.Errorf("usage.cpu = %+v", u.CPU)
	}
	if u.Memory.WorkingSetBytes == nil || *u.Memory.WorkingSetBytes != 209715200-52428800 ||
		u.Memory.Events == nil || u.Memory.Events.OOMKill != 1 || u.PIDs.Current == nil || *u.PIDs.Current != 12 {
		t.Errorf("usage = %+v", u)
	}
	if p := u.Pressure; p.Scope != "container" || p.CPU == nil || p.CPU.Some.TotalSeconds != 0.123456 || p.CPU.Full == nil {
		t.Errorf("pressure = %+v", p)
	}
	if v.Environment.Container || v.Environment.Kubernetes != nil {
		t.Errorf("environment = %+v, want a host", v.Environment)
	}
	if len(s.Errors) != 0 {
		t.Errorf("errors = %q", s.Errors)
	}
	// The keys of the schema, with null for what is absent.
	for _, key := range []string{
		`"gomaxprocs":`, `"gomemlimit":`, `"environment":`, `"snapshot":`, `"kubernetes":null`,
		`"cpuRequest":null`, `"memoryRequest":null`, `"leafCPULimit":null`, `"errors":[]`,
		`"cgroupLayout":"v2"`, `"usageElsewhere":false`, `"scope":"container"`,
		`"processTable":null`, `"reaper":null`, `"memoryPressureSignals":{"heap":`, `"containerID":""`,
	} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("no %s in %s", key, raw)
		}
	}
}

// A Kubernetes pod: the environment says so, and the CPU request comes
// from the kubelet's cpu.weight (cgroup v2) or cpu.shares (v1).
func TestKubernetes(t *testing.T) {
	skipUnlessLinux(t)
	for root, want := range map[string]int64{v2Pod: 2012, v1Pod: 1500} {
		v := rightsizeexpvar.Read(runtimeinfo.WithRoot(root))
		k := v.Environment.Kubernetes
		if k == nil || k.PodUID == "" || k.QOSClass == "" || v.Environment.Orchestrator != "kubernetes" {
			t.Errorf("%s: environment = %+v", root, v.Environment)
		}
		if r := v.Snapshot.CPURequest; r == nil || r.Millicores != want || r.Source.Kind != "cgroup" {
			t.Errorf("%s: cpuRequest = %+v, want %dm from the cgroup", root, r, want)
		}
	}
}

// Read and runtimeinfo agree on every tree the command captures, and on
// procfs's process tables: each value, its source and the errors.
func TestAgreesWithRuntimeinfo(t *testing.T) {
	skipUnlessLinux(t)
	ents, err := os.ReadDir(trees)
	if err != nil {
		t.Fatal(err)
	}
	roots := []string{procTable, filepath.Join("..", "procfs", "testdata", "proctable-nochildren")}
	for _, e := range ents {
		roots = append(roots, filepath.Join(trees, e.Name()))
	}
	for _, root := range roots {
		s, _ := runtimeinfo.Read(runtimeinfo.WithRoot(root), runtimeinfo.WithFields(runtimeinfo.FieldAll))
		v := rightsizeexpvar.Read(runtimeinfo.WithRoot(root)).Snapshot
		if (v.CPULimit != nil) != s.HasCPULimit || (s.HasCPULimit && v.CPULimit.Cores != s.CPULimit.CPUs) {
			t.Errorf("%s: cpuLimit %+v, runtimeinfo %v %+v", root, v.CPULimit, s.HasCPULimit, s.CPULimit)
		}
		if (v.CPURequest != nil) != s.HasCPURequest || (s.HasCPURequest && v.CPURequest.Millicores != s.CPURequest.MilliCPU()) {
			t.Errorf("%s: cpuRequest %+v, runtimeinfo %v %+v", root, v.CPURequest, s.HasCPURequest, s.CPURequest)
		}
		if v.CPUs.Count != s.CPUs.N || v.CPUs.Source.Path != s.CPUs.Source.Path {
			t.Errorf("%s: cpus %+v, runtimeinfo %+v", root, v.CPUs, s.CPUs)
		}
		if (v.MemoryLimit != nil) != s.HasMemoryLimit || (s.HasMemoryLimit && *v.MemoryLimit != (rightsizeexpvar.Bytes{
			Bytes: s.MemoryLimit.Bytes, Source: rightsizeexpvar.Source{Kind: string(s.MemoryLimit.Source.Kind),
				Path: s.MemoryLimit.Source.Path, Key: s.MemoryLimit.Source.Key, Env: s.MemoryLimit.Source.Env}})) {
			t.Errorf("%s: memoryLimit %+v, runtimeinfo %v %+v", root, v.MemoryLimit, s.HasMemoryLimit, s.MemoryLimit)
		}
		if (v.PIDsLimit != nil) != s.HasPIDsLimit {
			t.Errorf("%s: pidsLimit %+v, runtimeinfo %v", root, v.PIDsLimit, s.HasPIDsLimit)
		}
		if (v.Usage.Pressure.Scope == "host") != s.Stats.Pressure.HostWide || v.Usage.CPU.UsageElsewhere != s.CPUUsageElsewhere {
			t.Errorf("%s: pressure scope %s, usageElsewhere %v; runtimeinfo %v, %v", root,
				v.Usage.Pressure.Scope, v.Usage.CPU.UsageElsewhere, s.Stats.Pressure.HostWide, s.CPUUsageElsewhere)
		}
		if want := processTableOf(&s); !reflect.DeepEqual(v.ProcessTable, want) {
			t.Errorf("%s: processTable %s, runtimeinfo %s", root, js(v.ProcessTable), js(want))
		}
		if v.Reaper != nil {
			t.Errorf("%s: reaper %+v for a captured tree", root, v.Reaper)
		}
		if len(v.Errors) != len(s.Errors) {
			t.Errorf("%s: errors %q, runtimeinfo %v", root, v.Errors, s.Errors)
		}
	}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// processTableOf is what the schema must hold for a snapshot's process
// table, written out independently of the package.
func processTableOf(s *runtimeinfo.Snapshot) *rightsizeexpvar.ProcessTable {
	t := s.ProcessTable
	if !t.HasProcesses && !t.HasChildren && !t.HasThreads && !t.HasFDs && !t.HasFDLimit {
		return nil
	}
	n := func(ok bool, v int) *int {
		if !ok {
			return nil
		}
		return &v
	}
	l := func(v uint64) *uint64 {
		if v == procfs.Unlimited {
			return nil
		}
		return &v
	}
	out := &rightsizeexpvar.ProcessTable{
		PID: t.PID, Processes: n(t.HasProcesses, t.Processes), Zombies: n(t.HasProcesses, t.Zombies),
		Children: n(t.HasChildren, t.Children), ZombieChildren: n(t.HasChildren, t.ZombieChildren),
		Threads: n(t.HasThreads, t.Threads), OpenFDs: n(t.HasFDs, t.FDs),
	}
	if t.HasFDLimit {
		out.FDLimit = &rightsizeexpvar.RLimit{Soft: l(t.FDLimit.Soft), Hard: l(t.FDLimit.Hard)}
	}
	return out
}

// Absent is null, never a magic number: an unset GOMEMLIMIT, no CPU limit.
func TestAbsentIsNull(t *testing.T) {
	skipUnlessLinux(t)
	old := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(old)
	v := rightsizeexpvar.Read(runtimeinfo.WithRoot(hybrid))
	if v.GOMEMLIMIT != nil {
		t.Errorf("gomemlimit = %d, want nil", *v.GOMEMLIMIT)
	}
	if v.Snapshot.CPULimit != nil {
		t.Errorf("cpuLimit = %+v on a tree without a quota", v.Snapshot.CPULimit)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"gomemlimit":null`, `"cpuLimit":null`, `"pidsLimit":null`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no %s in %s", want, b)
		}
	}
	if strings.Contains(string(b), "9223372036854775807") {
		t.Errorf("unlimited leaked into the JSON: %s", b)
	}
}

// Publish refuses what expvar would panic on, and an invalid option.
func TestPublishErrors(t *testing.T) {
	if err := rightsizeexpvar.Publish(""); err == nil {
		t.Error("empty name accepted")
	}
	twice, taken, invalid := unique("twice"), unique("taken"), unique("invalid")
	if err := rightsizeexpvar.Publish(twice); err != nil {
		t.Fatal(err)
	}
	if err := rightsizeexpvar.Publish(twice); err == nil {
		t.Error("second Publish under the same name accepted")
	}
	expvar.NewInt(taken)
	if err := rightsizeexpvar.Publish(taken); err == nil {
		t.Error("a name taken by another variable accepted")
	}
	if err := rightsizeexpvar.Publish(invalid, runtimeinfo.WithMinProcs(0)); err == nil {
		t.Error("an invalid option accepted")
	}
	if expvar.Get(invalid) != nil {
		t.Error("published despite the invalid option")
	}
	v := rightsizeexpvar.Read(runtimeinfo.WithMinProcs(0))
	if len(v.Snapshot.Errors) != 1 || !strings.Contains(v.Snapshot.Errors[0], "invalid option") {
		t.Errorf("Read with an invalid option: errors %q", v.Snapshot.Errors)
	}
}

// The live value reads without panicking whatever the machine; its
// errors are listed, not fatal.
func TestReadLive(t *testing.T) {
	v := rightsizeexpvar.Read()
	if v.GOMAXPROCS < 1 || v.Snapshot.CPUs.Count < 1 {
		t.Errorf("live: %+v", v)
	}
	if _, err := json.Marshal(v); err != nil {
		t.Fatal(err)
	}
	if v.Snapshot.Errors == nil || v.Environment.Evidence == nil {
		t.Error("errors or evidence is null, want a list")
	}
}

// A FIFO where a file should be never blocks Read: it returns within a
// second and names the file, in the errors (mountinfo, a cgroup file) or
// in the detection evidence (/etc/hosts).
func TestFIFONeverBlocks(t *testing.T) {
	skipUnlessLinux(t)
	for _, file := range []string{"etc/hosts", "proc/self/mountinfo", "sys/fs/cgroup/memory.max"} {
		root := testenv.CopyTreeTemp(t, v2Pod)
		p := filepath.Join(root, file)
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		mkfifo(t, p)
		done := make(chan rightsizeexpvar.Vars, 1)
		go func() { done <- rightsizeexpvar.Read(runtimeinfo.WithRoot(root)) }()
		var v rightsizeexpvar.Vars
		select {
		case v = <-done:
		case <-time.After(time.Second):
			t.Fatalf("%s as a FIFO: Read has not returned after 1 s", file)
		}
		var named []string
		for _, e := range v.Snapshot.Errors {
			if strings.Contains(e, "/"+file) {
				named = append(named, e)
			}
		}
		for _, e := range v.Environment.Evidence {
			if strings.Contains(e.Detail, "/"+file) && strings.Contains(e.Detail, "not a regular file") {
				named = append(named, e.Detail)
			}
		}
		if len(named) == 0 {
			t.Errorf("%s as a FIFO: not named; errors %q, evidence %+v", file, v.Snapshot.Errors, v.Environment.Evidence)
		}
		t.Logf("%s: %q", file, named)
	}
}

// writeFile replaces a file's content.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEnvironmentContainerID: the container ID detect found is published
// outside Kubernetes too, as the CLI's environment.containerID is.
func TestEnvironmentContainerID(t *testing.T) {
	env := detect.Detect(detect.WithRoot("../detect/testdata/docker-v1"))
	if env.ContainerID == "" || env.HasKubernetes {
		t.Fatalf("fixture: container ID %q, Kubernetes %v; want a plain docker container", env.ContainerID, env.HasKubernetes)
	}
	if got := rightsizeexpvar.EnvironmentOf(env).ContainerID; got != env.ContainerID {
		t.Errorf("containerID %q, want detect's %q", got, env.ContainerID)
	}
	b, err := json.Marshal(rightsizeexpvar.EnvironmentOf(detect.Env{}))
	if err != nil || !strings.Contains(string(b), `"containerID":""`) {
		t.Errorf("unknown container ID: %s %v, want the key with \"\"", b, err)
	}
}

// TestPressureSignalsEveryCause: every cause runtimeinfo signals has its
// count here (as in the Prometheus and OpenTelemetry exporters, which
// iterate runtimeinfo.PressureCauses).
func TestPressureSignalsEveryCause(t *testing.T) {
	b, err := json.Marshal(rightsizeexpvar.PressureSignals{})
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	for _, c := range runtimeinfo.PressureCauses() {
		key := string(c)
		if k, rest, ok := strings.Cut(key, "-"); ok { // working-set -> workingSet
			key = k + strings.ToUpper(rest[:1]) + rest[1:]
		}
		if _, ok := keys[key]; !ok {
			t.Errorf("cause %q has no %q count in %s", c, key, b)
		}
	}
	if len(keys) != len(runtimeinfo.PressureCauses()) {
		t.Errorf("%d counts for %d causes: %s", len(keys), len(runtimeinfo.PressureCauses()), b)
	}
}

// TestMemoryStatAbsentIsNull: without memory.stat the anonymous and file
// memory are unknown, null, not 0 (the usage, from memory.current, stays).
func TestMemoryStatAbsentIsNull(t *testing.T) {
	skipUnlessLinux(t)
	root := testenv.CopyTreeTemp(t, hostNested)
	if err := os.Remove(filepath.Join(root, "sys/fs/cgroup/a/b/memory.stat")); err != nil {
		t.Fatal(err)
	}
	m := rightsizeexpvar.Read(runtimeinfo.WithRoot(root)).Snapshot.Usage.Memory
	if m.UsageBytes == nil {
		t.Fatalf("memory usage %+v, want memory.current's", m)
	}
	if m.AnonBytes != nil || m.FileBytes != nil || m.WorkingSetBytes != nil {
		t.Errorf("anon %v, file %v, working set %v without memory.stat; want null", m.AnonBytes, m.FileBytes, m.WorkingSetBytes)
	}
}
