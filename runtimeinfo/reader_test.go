package runtimeinfo

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize/cgroup"
	"github.com/rightsize/rightsize/internal/testenv"
)

func TestReadFixture(t *testing.T) {
	f := newFixture(t, map[string]string{
		"sys/fs/cgroup/pod/cpu.max":     "120000 100000\n",
		"sys/fs/cgroup/pod/memory.high": "200000000\n",
		"sys/fs/cgroup/pod/pids.max":    "64\n",
		"proc/self/status":              "Name:\tx\nCpus_allowed_list:\t0-3\n",
		"proc/self/environ":             EnvMemoryRequestBytes + "=1000\x00" + EnvCPULimitMillis + "=900\x00" + EnvCPURequestMillis + "=250\x00",
	})
	s, err := Read(WithRoot(f.root), WithFields(FieldAll))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if s.Root != f.root || s.Layout != cgroup.LayoutV2 {
		t.Errorf("Root %q Layout %q", s.Root, s.Layout)
	}
	// The parent's 1.2 CPUs bind, not the leaf's 1.5, and a cgroup limit
	// wins over the Downward API's 0.9.
	want := CPU{CPUs: 1.2, Quota: 120 * time.Millisecond, Period: 100 * time.Millisecond, Source: Source{Kind: SourceCgroup, Path: "/sys/fs/cgroup/pod/cpu.max"}}
	if !s.HasCPULimit || s.CPULimit != want {
		t.Errorf("CPULimit = %+v (has %v), want %+v", s.CPULimit, s.HasCPULimit, want)
	}
	if !s.HasLeafCPULimit || s.LeafCPULimit.Quota != 150*time.Millisecond || s.LeafCPULimit.Source.Path != "/sys/fs/cgroup/pod/app/cpu.max" {
		t.Errorf("LeafCPULimit = %+v", s.LeafCPULimit)
	}
	if s.CPUs != (Count{N: 4, Source: Source{Kind: SourceProc, Path: "/proc/self/status", Key: "Cpus_allowed_list"}}) {
		t.Errorf("CPUs = %+v", s.CPUs)
	}
	if !s.HasMemoryLimit || s.MemoryLimit != (Bytes{Bytes: 268435456, Source: Source{Kind: SourceCgroup, Path: "/sys/fs/cgroup/pod/app/memory.max"}}) {
		t.Errorf("MemoryLimit = %+v", s.MemoryLimit)
	}
	if !s.HasMemoryHigh || s.MemoryHigh.Bytes != 200000000 || s.MemoryHigh.Source.Path != "/sys/fs/cgroup/pod/memory.high" {
		t.Errorf("MemoryHigh = %+v", s.MemoryHigh)
	}
	if !s.HasHostMemory || s.HostMemory != (Bytes{Bytes: 16384000 * 1024, Source: Source{Kind: SourceProc, Path: "/proc/meminfo", Key: "MemTotal"}}) {
		t.Errorf("HostMemory = %+v", s.HostMemory)
	}
	// Outside Kubernetes the CPU request is the Downward API's; the
	// memory request always is. Both name the captured environ file.
	envSrc := func(name string) Source { return Source{Kind: SourceEnv, Path: "/proc/self/environ", Env: name} }
	if !s.HasCPURequest || s.CPURequest.MilliCPU() != 250 || s.CPURequest.Source != envSrc(EnvCPURequestMillis) {
		t.Errorf("CPURequest = %+v", s.CPURequest)
	}
	if !s.HasMemoryRequest || s.MemoryRequest != (Bytes{Bytes: 1000, Source: envSrc(EnvMemoryRequestBytes)}) {
		t.Errorf("MemoryRequest = %+v", s.MemoryRequest)
	}
	if !s.HasPIDsLimit || s.PIDsLimit.N != 64 || s.PIDsLimit.Source.Path != "/sys/fs/cgroup/pod/pids.max" {
		t.Errorf("PIDsLimit = %+v", s.PIDsLimit)
	}
	st := s.Stats
	if !st.Memory.HasWorkingSet || st.Memory.WorkingSet != 800000 || !st.CPU.HasThrottling || st.CPU.Throttling.ThrottledPeriods != 2 || !st.PIDs.HasCurrent || st.PIDs.Current != 3 {
		t.Errorf("Stats = %+v", st)
	}
	if s.Mode.GoVersion != runtime.Version() || s.Mode.Reason == "" {
		t.Errorf("Mode = %+v", s.Mode)
	}

	// Without fields: no requests, pids or usage.
	s, err = Read(WithRoot(f.root))
	if err != nil || s.HasCPURequest || s.HasMemoryRequest || s.HasPIDsLimit || s.Stats.CPU.HasUsage {
		t.Errorf("without fields: err %v, %+v", err, s)
	}
}

// TestReadCgroupTrees reads trees of package cgroup's testdata, with the
// proc files a Reader reads besides the cgroup ones added.
func TestReadCgroupTrees(t *testing.T) {
	for _, tt := range []struct {
		tree                 string
		cpus                 float64 // 0: no limit
		cpuPath              string
		mem                  int64
		memPath, memKey      string
		high                 int64
		procs, memlimit      int64
		layout               cgroup.Layout
		wantErr, wantErrFile string
	}{
		{tree: "v1-nested", cpus: 2, cpuPath: "/sys/fs/cgroup/cpu,cpuacct/kubepods/burstable/pod1234/cpu.cfs_quota_us",
			mem: 1 << 30, memPath: "/sys/fs/cgroup/memory/kubepods/burstable/pod1234/memory.limit_in_bytes", procs: 2, memlimit: 966367641, layout: cgroup.LayoutV1},
		{tree: "v2-nested", cpus: 2, cpuPath: "/sys/fs/cgroup/a/cpu.max", mem: 524288000, memPath: "/sys/fs/cgroup/a/memory.max", high: 1 << 30,
			procs: 2, memlimit: 471859200, layout: cgroup.LayoutV2},
		{tree: "v1-bad-quota", layout: cgroup.LayoutV1, wantErr: "malformed", wantErrFile: "cpu.cfs_quota_us"},
	} {
		t.Run(tt.tree, func(t *testing.T) {
			root := t.TempDir()
			testenv.CopyTree(t, "../cgroup/testdata/"+tt.tree, root)
			f := &fixture{t: t, root: root}
			f.write("proc/meminfo", "MemTotal: 16384000 kB\n")
			f.write("proc/self/status", "Cpus_allowed_list:\t0-7\n")
			res, err := Recommend(WithRoot(root))
			s := res.Snapshot
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.wantErrFile) || !errors.Is(err, cgroup.ErrMalformed) {
					t.Fatalf("err = %v, want %q naming %s", err, tt.wantErr, tt.wantErrFile)
				}
				if s.HasCPULimit || res.GOMAXPROCS.HasWant || !contains(res.GOMAXPROCS.Reason, "cannot read the CPU limit") {
					t.Errorf("a malformed limit is not a limit, nor no limit: %+v", res.GOMAXPROCS)
				}
				return
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if s.Layout != tt.layout {
				t.Errorf("Layout %s, want %s", s.Layout, tt.layout)
			}
			if !s.HasCPULimit || s.CPULimit.CPUs != tt.cpus || s.CPULimit.Source.Path != tt.cpuPath {
				t.Errorf("CPULimit %+v, want %v CPUs from %s", s.CPULimit, tt.cpus, tt.cpuPath)
			}
			if !s.HasMemoryLimit || s.MemoryLimit.Bytes != tt.mem || s.MemoryLimit.Source.Path != tt.memPath {
				t.Errorf("MemoryLimit %+v, want %d from %s", s.MemoryLimit, tt.mem, tt.memPath)
			}
			if s.HasMemoryHigh != (tt.high != 0) || s.MemoryHigh.Bytes != tt.high {
				t.Errorf("MemoryHigh %+v, want %d", s.MemoryHigh, tt.high)
			}
			if res.GOMAXPROCS.Want != tt.procs || res.GOMEMLIMIT.Want != tt.memlimit {
				t.Errorf("Recommend %d, %d; want %d, %d\n%s\n%s", res.GOMAXPROCS.Want, res.GOMEMLIMIT.Want, tt.procs, tt.memlimit, res.GOMAXPROCS.Reason, res.GOMEMLIMIT.Reason)
			}
		})
	}
}

// TestReadEnvFallback: the Downward API values are used where the cgroup
// shows no limit, read from the captured environ file, never from the live
// environment under another root.
func TestReadEnvFallback(t *testing.T) {
	f := newFixture(t, map[string]string{
		"sys/fs/cgroup/pod/app/cpu.max":    "max 100000\n",
		"sys/fs/cgroup/pod/app/memory.max": "max\n",
		"proc/self/environ":                EnvCPULimitMillis + "=1500\x00" + EnvMemoryLimitBytes + "=536870912\x00",
	})
	t.Setenv(EnvMemoryLimitBytes, "1")
	s, err := Read(WithRoot(f.root))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	src := func(name string) Source { return Source{Kind: SourceEnv, Path: "/proc/self/environ", Env: name} }
	if !s.HasCPULimit || s.CPULimit.MilliCPU() != 1500 || s.CPULimit.Quota != 1500*time.Millisecond || s.CPULimit.Period != time.Second || s.CPULimit.Source != src(EnvCPULimitMillis) {
		t.Errorf("CPULimit = %+v; want the Downward API's 1500m", s.CPULimit)
	}
	if !s.HasMemoryLimit || s.MemoryLimit != (Bytes{Bytes: 536870912, Source: src(EnvMemoryLimitBytes)}) {
		t.Errorf("MemoryLimit = %+v; want the Downward API's, not the live environment's", s.MemoryLimit)
	}
	if s.HasLeafCPULimit {
		t.Errorf("the Downward API is not the leaf's limit: %+v", s.LeafCPULimit)
	}
	if !s.HasHostMemory {
		t.Error("host memory not read under a Downward API limit")
	}

	// WithEnviron replaces the captured environment; the source then names
	// no file.
	s, err = Read(WithRoot(f.root), WithEnviron([]string{EnvCPULimitMillis + "=9223372036854775807"}))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	// The quota saturates at the largest Duration (292 years of CPU time
	// per second).
	if !s.HasCPULimit || s.CPULimit.Quota != maxDur || s.CPULimit.MilliCPU() != 9223372036855 || s.CPULimit.Source != (Source{Kind: SourceEnv, Env: EnvCPULimitMillis}) {
		t.Errorf("CPULimit = %+v; want a saturated quota from the environment", s.CPULimit)
	}
	if s.HasMemoryLimit {
		t.Errorf("MemoryLimit = %+v; WithEnviron has none", s.MemoryLimit)
	}
	// The largest value gives the usable CPUs, not 1 by an overflow.
	res, err := Recommend(WithRoot(f.root), WithEnviron([]string{EnvCPULimitMillis + "=9223372036854775807"}))
	if err != nil || res.GOMAXPROCS.Want != 8 {
		t.Errorf("Recommend with %s=MaxInt64: %d (%v): %s", EnvCPULimitMillis, res.GOMAXPROCS.Want, err, res.GOMAXPROCS.Reason)
	}

	// A visible cgroup limit wins over the Downward API (which goes
	// stale after an in-place resize).
	f.write("sys/fs/cgroup/pod/app/cpu.max", "250000 100000\n")
	s, _ = Read(WithRoot(f.root))
	if s.CPULimit.Source.Kind != SourceCgroup || s.CPULimit.CPUs != 2.5 {
		t.Errorf("CPULimit = %+v; want the cgroup's", s.CPULimit)
	}
}

// TestReadDownwardAPIInvalid: an unusable value is an error naming the
// variable, on every Read, and the value is absent.
func TestReadDownwardAPIInvalid(t *testing.T) {
	f := newFixture(t, map[string]string{
		"sys/fs/cgroup/pod/app/cpu.max":    "max 100000\n",
		"sys/fs/cgroup/pod/app/memory.max": "max\n",
	})
	for _, name := range []string{EnvCPULimitMillis, EnvCPURequestMillis, EnvMemoryLimitBytes, EnvMemoryRequestBytes} {
		for _, v := range []string{"abc", "0", "-5", "1.5", "9223372036854775808", " 7"} {
			r, err := NewReader(WithRoot(f.root), WithFields(FieldRequests), WithEnviron([]string{name + "=" + v}))
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			var s Snapshot
			for i := 0; i < 2; i++ {
				err = r.Read(&s)
				if err == nil || !strings.Contains(err.Error(), name) || len(s.Errors) != 1 || !strings.Contains(s.Errors[0].Error(), name) {
					t.Errorf("%s=%q, read %d: err %v, Errors %v; want one naming the variable", name, v, i, err, s.Errors)
				}
			}
			if s.HasCPULimit || s.HasMemoryLimit || s.HasCPURequest || s.HasMemoryRequest {
				t.Errorf("%s=%q: a value was used: %+v", name, v, s)
			}
			r.Close()
		}
	}
	// An empty value is no value, and no error.
	if _, err := Read(WithRoot(f.root), WithEnviron([]string{EnvCPULimitMillis + "="})); err != nil {
		t.Errorf("empty value: %v", err)
	}
}

// TestReadAllocs: a warm Reader refreshes a Snapshot with no allocation,
// over a tree that reads cleanly and on the live system.
func TestReadAllocs(t *testing.T) {
	f := newFixture(t, nil)
	for _, tt := range []struct {
		name string
		opts []Option
	}{
		{"fixture", []Option{WithRoot(f.root)}},
		{"fixture, every field", []Option{WithRoot(f.root), WithFields(FieldPIDs | FieldUsage)}},
		{"fixture, Downward API", []Option{WithRoot(f.root), WithEnviron([]string{EnvCPULimitMillis + "=500", EnvMemoryRequestBytes + "=1000"}), WithFields(FieldRequests)}},
		{"live", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts == nil && runtime.GOOS != "linux" {
				t.Skip("no cgroups here")
			}
			r, err := NewReader(tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var s Snapshot
			if err := r.Read(&s); err != nil {
				t.Skipf("the tree does not read cleanly here: %v", err)
			}
			if err := r.Read(&s); err != nil {
				t.Fatal(err)
			}
			if n := testing.AllocsPerRun(100, func() { _ = r.Read(&s) }); n != 0 {
				t.Errorf("%v allocations per Read, want 0", n)
			}
			if len(s.Errors) != 0 {
				t.Errorf("errors: %v", s.Errors)
			}
		})
	}
}

// TestReaderMoved: the process moves to another cgroup (its
// proc/self/cgroup changes): the next Read discovers the new one.
func TestReaderMoved(t *testing.T) {
	f := newFixture(t, map[string]string{
		"sys/fs/cgroup/pod/other/cpu.max":    "300000 100000\n",
		"sys/fs/cgroup/pod/other/memory.max": "536870912\n",
	})
	r, err := NewReader(WithRoot(f.root))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var s Snapshot
	if err := r.Read(&s); err != nil || s.CPULimit.CPUs != 1.5 {
		t.Fatalf("first Read: %v, %+v", err, s.CPULimit)
	}
	f.write("proc/self/cgroup", "0::/pod/other\n")
	if err := r.Read(&s); err != nil {
		t.Fatalf("Read after the move: %v", err)
	}
	if s.CPULimit.CPUs != 3 || s.CPULimit.Source.Path != "/sys/fs/cgroup/pod/other/cpu.max" || s.MemoryLimit.Bytes != 536870912 {
		t.Errorf("after the move: CPU %+v, memory %+v", s.CPULimit, s.MemoryLimit)
	}
	// And back.
	f.write("proc/self/cgroup", "0::/pod/app\n")
	if err := r.Read(&s); err != nil || s.CPULimit.CPUs != 1.5 {
		t.Errorf("after moving back: %v, %+v", err, s.CPULimit)
	}
}

// TestReaderRemoved: the process's cgroup disappears: the Read reports it
// (the values are absent, not "no limit"), and a later Read discovers the
// cgroups again. (A fixture can only show a removal before the Reader opened
// the files: an open descriptor of a removed plain file still reads. On a
// kernel a cgroup with a process in it cannot be removed; the process moves
// first, which the Reader sees in /proc/self/cgroup: TestReaderMoved and the
// real cgroup tests of package rightsize.)
func TestReaderRemoved(t *testing.T) {
	f := newFixture(t, nil)
	r, err := NewReader(WithRoot(f.root))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var s Snapshot
	f.remove("sys/fs/cgroup/pod/app")
	err = r.Read(&s)
	if !errors.Is(err, cgroup.ErrRemoved) {
		t.Fatalf("Read of a removed cgroup: %v, want cgroup.ErrRemoved", err)
	}
	if s.HasCPULimit || s.HasMemoryLimit || !s.cpuErr || !s.memErr {
		t.Errorf("removed cgroup: %+v", s)
	}
	procs, mem := r.Recommend(&s)
	if procs.HasWant || mem.HasWant || !contains(procs.Reason, "cannot read") || !contains(mem.Reason, "cannot read") {
		t.Errorf("decisions from a removed cgroup: %s; %s", procs.Reason, mem.Reason)
	}
	// The cgroup comes back (a new one of the same name).
	f.write("sys/fs/cgroup/pod/app/cpu.max", "200000 100000\n")
	f.write("sys/fs/cgroup/pod/app/memory.max", "134217728\n")
	if err := r.Read(&s); err != nil {
		t.Fatalf("Read after the cgroup came back: %v", err)
	}
	if s.CPULimit.CPUs != 2 || s.MemoryLimit.Bytes != 134217728 {
		t.Errorf("after rediscovery: %+v %+v", s.CPULimit, s.MemoryLimit)
	}
	// Moved elsewhere, and the old cgroup removed.
	f.write("sys/fs/cgroup/pod/other/cpu.max", "300000 100000\n")
	f.write("proc/self/cgroup", "0::/pod/other\n")
	f.remove("sys/fs/cgroup/pod/app")
	if err := r.Read(&s); err != nil || s.CPULimit.CPUs != 3 || s.HasMemoryLimit {
		t.Errorf("after the move and removal: %v, %+v", err, s)
	}
}

func TestReaderClosed(t *testing.T) {
	r, err := NewReader(WithRoot(newFixture(t, nil).root))
	if err != nil {
		t.Fatal(err)
	}
	var s Snapshot
	if err := r.Read(&s); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := r.Read(&s); err == nil {
		t.Error("Read on a closed Reader succeeded")
	}
	if err := r.Read(nil); err == nil {
		t.Error("Read into nil succeeded")
	}
	var nilReader *Reader
	if err := nilReader.Read(&s); err == nil {
		t.Error("Read on a nil Reader succeeded")
	}
	if err := nilReader.Close(); err != nil {
		t.Errorf("Close on a nil Reader: %v", err)
	}
}

// TestReaderEnviron: the Reader reads the environment it was given, the
// captured one, or the process's.
func TestReaderEnviron(t *testing.T) {
	f := newFixture(t, nil)
	r, _ := NewReader(WithRoot(f.root))
	if got := strings.Join(r.Environ(), ","); got != "PATH=/bin,HOME=/" {
		t.Errorf("captured environment %q", got)
	}
	r.Close()
	r, _ = NewReader(WithRoot(f.root), WithEnviron([]string{"A=1"}))
	if got := strings.Join(r.Environ(), ","); got != "A=1" {
		t.Errorf("WithEnviron %q", got)
	}
	if env := r.Environment(); env.HasKubernetes {
		t.Errorf("the fixture is not Kubernetes: %+v", env)
	}
	r.Close()
	// A captured environ file that cannot be read is an error of every
	// Read, not a silent empty environment.
	f.remove("proc/self/environ")
	if err := mkfifo(f.root + "/proc/self/environ"); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	s, err := Read(WithRoot(f.root))
	if err == nil || !strings.Contains(err.Error(), "environ") || !s.HasCPULimit {
		t.Errorf("FIFO as environ: err %v, %+v", err, s.CPULimit)
	}
}

// TestReadCPURequest: in Kubernetes the CPU request is the kubelet's
// cgroup weight of the process's cgroup (approximate on v2), which wins
// over the Downward API value; outside it a weight is nobody's request.
func TestReadCPURequest(t *testing.T) {
	f := newFixture(t, map[string]string{
		"proc/self/environ": "KUBERNETES_SERVICE_HOST=10.0.0.1\x00" + EnvCPURequestMillis + "=250\x00",
	})
	r, err := NewReader(WithRoot(f.root), WithFields(FieldRequests))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Environment().HasKubernetes {
		t.Fatalf("the fixture is not detected as Kubernetes: %+v", r.Environment())
	}
	var s Snapshot
	if err := r.Read(&s); err != nil {
		t.Fatal(err)
	}
	if !s.HasCPURequest || s.CPURequest.Source != (Source{Kind: SourceCgroup, Path: "/sys/fs/cgroup/pod/app/cpu.weight"}) || !s.CPURequest.Approx || s.CPURequest.MilliCPU() <= 0 {
		t.Errorf("CPURequest = %+v, want the cgroup weight's", s.CPURequest)
	}
	// Without the weight file, the Downward API's.
	f.remove("sys/fs/cgroup/pod/app/cpu.weight")
	s, err = Read(WithRoot(f.root), WithFields(FieldRequests))
	if err != nil || !s.HasCPURequest || s.CPURequest.MilliCPU() != 250 || s.CPURequest.Source.Env != EnvCPURequestMillis {
		t.Errorf("without cpu.weight: %v, %+v", err, s.CPURequest)
	}
}

// TestReopenBackoff: a discovery that fails is retried after a backoff,
// not at every Read, so that a watcher living on Downward API values where
// the cgroups cannot be read neither rediscovers nor allocates at each
// tick; once the backoff has passed, a fixed tree is found again.
func TestReopenBackoff(t *testing.T) {
	f := newFixture(t, nil)
	good, err := os.ReadFile(filepath.Join(f.root, "proc/self/mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	f.write("proc/self/mountinfo", "garbage\n")
	r, err := NewReader(WithRoot(f.root), WithEnviron([]string{"RIGHTSIZE_MEMORY_LIMIT_BYTES=268435456"}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var s Snapshot
	if err := r.Read(&s); err == nil || !s.HasMemoryLimit || s.MemoryLimit.Source.Kind != SourceEnv {
		t.Fatalf("broken mountinfo: err %v, memory limit %+v; want an error and the Downward API's limit", err, s.MemoryLimit)
	}
	f.write("proc/self/mountinfo", string(good))
	if err := r.Read(&s); err == nil {
		t.Fatal("fixed at once: rediscovered inside the backoff")
	}
	// What a watcher tick reads (Read itself also joins the errors into
	// the one it returns, which allocates).
	tick := func() { r.mu.Lock(); r.read(&s); r.mu.Unlock() }
	if n := testing.AllocsPerRun(20, tick); n != 0 {
		t.Errorf("%v allocations per read inside the backoff, want 0", n)
	}
	r.mu.Lock()
	if r.openFails != 1 || time.Until(r.retryAt) > time.Second {
		t.Errorf("after one failure: %d fails, retry in %v; want 1 and at most 1 s", r.openFails, time.Until(r.retryAt))
	}
	r.retryAt = time.Time{} // the backoff has passed
	r.mu.Unlock()
	if err := r.Read(&s); err != nil || s.MemoryLimit.Source.Kind != SourceCgroup {
		t.Errorf("after the backoff: err %v, memory limit from %v; want the cgroup's", err, s.MemoryLimit.Source)
	}
}
