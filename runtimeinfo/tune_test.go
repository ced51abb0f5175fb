package runtimeinfo

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestTuneAndUndo(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(3)
	noMemLimit()
	f := newFixture(t, nil) // 1.5 CPUs, 8 CPUs allowed, 256 MiB
	before := time.Now()
	res, undo, err := Tune(WithRoot(f.root), quiet(), oldGo())
	if err != nil {
		t.Fatalf("Tune: %v", err)
	}
	p, m := res.GOMAXPROCS, res.GOMEMLIMIT
	if !p.Changed || p.Value != 2 || p.Previous != 3 || p.Want != 2 || runtime.GOMAXPROCS(0) != 2 ||
		p.Source != (Source{Kind: SourceCgroup, Path: "/sys/fs/cgroup/pod/app/cpu.max"}) || p.Reason == "" || p.At.Before(before) {
		t.Errorf("GOMAXPROCS decision %+v", p)
	}
	if !m.Changed || m.Value != 241591910 || m.Previous != math.MaxInt64 || debug.SetMemoryLimit(-1) != 241591910 ||
		m.Source != (Source{Kind: SourceCgroup, Path: "/sys/fs/cgroup/pod/app/memory.max"}) {
		t.Errorf("GOMEMLIMIT decision %+v", m)
	}
	if res.Snapshot.Root != f.root || !res.Snapshot.HasCPULimit {
		t.Errorf("snapshot %+v", res.Snapshot)
	}
	undo()
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("after undo GOMAXPROCS = %d, want 3", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("after undo GOMEMLIMIT = %d", got)
	}
	undo() // idempotent
	if runtime.GOMAXPROCS(0) != 3 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Error("second undo changed something")
	}
}

// TestUndoLeavesOthersValues: undo restores only what still has
// rightsize's value.
func TestUndoLeavesOthersValues(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(3)
	noMemLimit()
	f := newFixture(t, nil)
	_, undo, err := Tune(WithRoot(f.root), quiet(), oldGo())
	if err != nil {
		t.Fatal(err)
	}
	runtime.GOMAXPROCS(5)
	debug.SetMemoryLimit(1 << 30)
	undo()
	if runtime.GOMAXPROCS(0) != 5 || debug.SetMemoryLimit(-1) != 1<<30 {
		t.Errorf("undo overrode the program: GOMAXPROCS %d GOMEMLIMIT %d", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1))
	}
}

// TestUndoNested: two Tunes undone in either order bring back the state
// from before the first.
func TestUndoNested(t *testing.T) {
	for _, order := range []string{"first undone first", "last undone first"} {
		t.Run(order, func(t *testing.T) {
			saveRuntime(t)
			runtime.GOMAXPROCS(7)
			debug.SetMemoryLimit(3 << 30)
			f := newFixture(t, nil)
			_, undo1, _ := Tune(WithRoot(f.root), quiet(), oldGo())
			_, undo2, _ := Tune(WithRoot(f.root), quiet(), oldGo(), WithMinProcs(4), WithMemoryRatio(0.5))
			if runtime.GOMAXPROCS(0) != 4 || debug.SetMemoryLimit(-1) != 1<<27 {
				t.Fatalf("after two Tunes: %d %d", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1))
			}
			if order == "first undone first" {
				undo1()
				undo2()
			} else {
				undo2()
				undo1()
			}
			if runtime.GOMAXPROCS(0) != 7 || debug.SetMemoryLimit(-1) != 3<<30 {
				t.Errorf("after both undos: GOMAXPROCS %d GOMEMLIMIT %d, want 7 and %d", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1), int64(3<<30))
			}
		})
	}
}

func TestTunePolicies(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []Option
		want int
	}{
		{"default", nil, 2},
		{"floor", []Option{WithCPUPolicy(PolicyFloor)}, 1},
		{"floor, minimum 4", []Option{WithCPUPolicy(PolicyFloor), WithMinProcs(4)}, 4},
		{"minimum above the CPUs", []Option{WithMinProcs(100)}, 8},
		{"runtime, old Go: the CPUs", []Option{WithCPUPolicy(PolicyRuntime)}, 8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			saveRuntime(t)
			runtime.GOMAXPROCS(5)
			f := newFixture(t, nil)
			res, undo, err := Tune(append([]Option{WithRoot(f.root), quiet(), oldGo(), WithGOMEMLIMIT(false)}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			if int(res.GOMAXPROCS.Value) != tt.want || runtime.GOMAXPROCS(0) != tt.want {
				t.Errorf("GOMAXPROCS %d (in force %d), want %d: %s", res.GOMAXPROCS.Value, runtime.GOMAXPROCS(0), tt.want, res.GOMAXPROCS.Reason)
			}
			undo()
			if runtime.GOMAXPROCS(0) != 5 {
				t.Errorf("undo: %d", runtime.GOMAXPROCS(0))
			}
		})
	}
}

func TestTuneMemoryOptions(t *testing.T) {
	saveRuntime(t)
	noMemLimit()
	f := newFixture(t, map[string]string{"sys/fs/cgroup/pod/memory.high": "200000000\n"})
	res, undo, _ := Tune(WithRoot(f.root), quiet(), WithMemoryReserve(50<<20), WithGOMAXPROCS(false))
	if res.GOMEMLIMIT.Value != 200000000-50<<20 || res.GOMEMLIMIT.Source.Path != "/sys/fs/cgroup/pod/memory.high" {
		t.Errorf("reserve below memory.high: %+v", res.GOMEMLIMIT)
	}
	if res.GOMAXPROCS.Changed || !contains(res.GOMAXPROCS.Reason, "disabled by option") {
		t.Errorf("GOMAXPROCS disabled: %+v", res.GOMAXPROCS)
	}
	undo()
	// Host memory below the cgroup limit caps it.
	f = newFixture(t, map[string]string{"proc/meminfo": "MemTotal: 100000 kB\n"})
	res, undo, _ = Tune(WithRoot(f.root), quiet(), WithMemoryRatio(0.5), WithGOMAXPROCS(false))
	if res.GOMEMLIMIT.Value != 100000*1024/2 || res.GOMEMLIMIT.Source != (Source{Kind: SourceProc, Path: "/proc/meminfo", Key: "MemTotal"}) {
		t.Errorf("host cap: %+v", res.GOMEMLIMIT)
	}
	undo()
	if debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("undo: %d", debug.SetMemoryLimit(-1))
	}
}

// TestTuneBelowFloor: a GOMEMLIMIT below MinGOMEMLIMIT is not applied, the
// previous value is kept, and one warning says why.
func TestTuneBelowFloor(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files map[string]string
		opts  []Option
	}{
		{"RIGHTSIZE_MEMORY_LIMIT_BYTES=1", map[string]string{"sys/fs/cgroup/pod/app/memory.max": "max\n"}, []Option{WithEnviron([]string{EnvMemoryLimitBytes + "=1"})}},
		{"a memory limit of 5 bytes", map[string]string{"sys/fs/cgroup/pod/app/memory.max": "5\n"}, nil},
		{"a reserve just below the limit", nil, []Option{WithMemoryReserve(256<<20 - 1)}},
		{"a reserve as large as the limit", nil, []Option{WithMemoryReserve(256 << 20)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			saveRuntime(t)
			debug.SetMemoryLimit(3 << 30)
			f := newFixture(t, tt.files)
			logs := &logCapture{}
			res, undo, err := Tune(append([]Option{WithRoot(f.root), logs.option(), WithGOMAXPROCS(false)}, tt.opts...)...)
			defer undo()
			if err != nil {
				t.Fatal(err)
			}
			m := res.GOMEMLIMIT
			if m.Changed || m.Value != 3<<30 || m.Previous != 3<<30 || debug.SetMemoryLimit(-1) != 3<<30 || m.HasWant {
				t.Errorf("GOMEMLIMIT below the floor: %+v (in force %d)", m, debug.SetMemoryLimit(-1))
			}
			if !contains(m.Reason, "below the floor") || !contains(m.Reason, "not applied, 3221225472 bytes (3.0 GiB) kept") {
				t.Errorf("reason %q", m.Reason)
			}
			warns := logs.find(slog.LevelWarn, "GOMEMLIMIT not changed")
			if len(warns) != 1 || warns[0].Attrs["reason"] != m.Reason {
				t.Errorf("want one warning with the reason, got %+v", logs.all())
			}
			if n := len(logs.all()); n != 1 {
				t.Errorf("%d log lines, want 1: %+v", n, logs.all())
			}
		})
	}
}

// TestTuneEnvValues: the Downward API values set the runtime where the
// cgroup shows no limit, from a captured environ file or WithEnviron.
func TestTuneEnvValues(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	noMemLimit()
	f := newFixture(t, map[string]string{
		"sys/fs/cgroup/pod/app/cpu.max":    "max 100000\n",
		"sys/fs/cgroup/pod/app/memory.max": "max\n",
		"proc/self/environ":                EnvCPULimitMillis + "=2500\x00" + EnvMemoryLimitBytes + "=536870912\x00",
	})
	res, undo, err := Tune(WithRoot(f.root), quiet(), oldGo())
	if err != nil {
		t.Fatal(err)
	}
	if res.GOMAXPROCS.Value != 3 || res.GOMAXPROCS.Source.Env != EnvCPULimitMillis || res.GOMEMLIMIT.Value != 483183820 || res.GOMEMLIMIT.Source.Env != EnvMemoryLimitBytes {
		t.Errorf("from the captured environment: %+v\n%+v", res.GOMAXPROCS, res.GOMEMLIMIT)
	}
	undo()
	// The largest millicore value: the usable CPUs, never 1 by overflow.
	res, undo, err = Tune(WithRoot(f.root), quiet(), oldGo(), WithEnviron([]string{EnvCPULimitMillis + "=9223372036854775807"}))
	if err != nil {
		t.Fatal(err)
	}
	if res.GOMAXPROCS.Value != 8 || runtime.GOMAXPROCS(0) != 8 {
		t.Errorf("%s=MaxInt64: GOMAXPROCS %d: %s", EnvCPULimitMillis, res.GOMAXPROCS.Value, res.GOMAXPROCS.Reason)
	}
	undo()
	if runtime.GOMAXPROCS(0) != 5 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("undo: %d %d", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1))
	}
}

func TestTuneHonoursEnv(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(3)
	noMemLimit()
	f := newFixture(t, map[string]string{"proc/self/environ": "GOMAXPROCS=5\x00GOMEMLIMIT=1GiB\x00"})
	res, undo, _ := Tune(WithRoot(f.root), quiet())
	defer undo()
	if res.GOMAXPROCS.Changed || runtime.GOMAXPROCS(0) != 3 || res.GOMAXPROCS.Want != 2 || !contains(res.GOMAXPROCS.Reason, "GOMAXPROCS=5 is set in the environment") {
		t.Errorf("GOMAXPROCS env not honoured: %+v", res.GOMAXPROCS)
	}
	if res.GOMEMLIMIT.Changed || debug.SetMemoryLimit(-1) != math.MaxInt64 || res.GOMEMLIMIT.Want != 241591910 || !contains(res.GOMEMLIMIT.Reason, "GOMEMLIMIT=1GiB is set") {
		t.Errorf("GOMEMLIMIT env not honoured: %+v", res.GOMEMLIMIT)
	}
	// WithEnviron replaces the captured environment. An invalid GOMAXPROCS
	// is ignored by the runtime, and by rightsize.
	res, undo2, _ := Tune(WithRoot(f.root), quiet(), oldGo(), WithEnviron([]string{"GOMAXPROCS=zero"}))
	defer undo2()
	if !res.GOMAXPROCS.Changed || res.GOMAXPROCS.Value != 2 || !res.GOMEMLIMIT.Changed {
		t.Errorf("invalid GOMAXPROCS should be ignored: %+v %+v", res.GOMAXPROCS, res.GOMEMLIMIT)
	}
}

func TestTuneNoLimit(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(3)
	debug.SetMemoryLimit(123 << 20)
	f := newFixture(t, map[string]string{
		"sys/fs/cgroup/pod/app/cpu.max":    "max 100000\n",
		"sys/fs/cgroup/pod/app/memory.max": "max\n",
	})
	res, undo, err := Tune(WithRoot(f.root), quiet())
	defer undo()
	if err != nil {
		t.Fatal(err)
	}
	if res.GOMAXPROCS.Changed || runtime.GOMAXPROCS(0) != 3 || !contains(res.GOMAXPROCS.Reason, "left to the Go runtime") {
		t.Errorf("GOMAXPROCS without a limit: %+v", res.GOMAXPROCS)
	}
	if res.GOMEMLIMIT.Changed || debug.SetMemoryLimit(-1) != 123<<20 || res.GOMEMLIMIT.HasWant || res.GOMEMLIMIT.Source.String() != "none" {
		t.Errorf("GOMEMLIMIT without a limit: %+v", res.GOMEMLIMIT)
	}
	if res.Snapshot.HasHostMemory {
		t.Error("host memory read without a limit")
	}
}

func TestTuneNoCgroup(t *testing.T) {
	saveRuntime(t)
	f := newFixture(t, map[string]string{
		"proc/self/cgroup":    "0::/\n",
		"proc/self/mountinfo": "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n",
	})
	var notified int
	res, undo, err := Tune(WithRoot(f.root), WithNotify(func(Decision) { notified++ }), quiet())
	defer undo()
	if err != nil || res.GOMAXPROCS.Changed || res.GOMEMLIMIT.Changed || notified != 0 || res.Snapshot.Layout != "none" {
		t.Errorf("no cgroup: err %v, %+v", err, res)
	}
}

// TestTuneUnreadable: a limit that cannot be read leaves the setting as it
// is, with a warning, rather than treating the failure as "no limit".
func TestTuneUnreadable(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(3)
	debug.SetMemoryLimit(123 << 20)
	f := newFixture(t, map[string]string{
		"sys/fs/cgroup/pod/app/cpu.max":    "150000 0\n",
		"sys/fs/cgroup/pod/app/memory.max": "0\n",
	})
	logs := &logCapture{}
	res, undo, err := Tune(WithRoot(f.root), logs.option())
	defer undo()
	if err == nil || len(res.Snapshot.Errors) != 2 {
		t.Errorf("err %v, Errors %v; want the two files named", err, res.Snapshot.Errors)
	}
	if res.GOMAXPROCS.Changed || runtime.GOMAXPROCS(0) != 3 || !contains(res.GOMAXPROCS.Reason, "cannot read the CPU limit: left as it is") {
		t.Errorf("GOMAXPROCS: %+v", res.GOMAXPROCS)
	}
	if res.GOMEMLIMIT.Changed || debug.SetMemoryLimit(-1) != 123<<20 || !contains(res.GOMEMLIMIT.Reason, "cannot read the memory limit: left as it is") {
		t.Errorf("GOMEMLIMIT: %+v", res.GOMEMLIMIT)
	}
	if n := logs.count(slog.LevelWarn, "not changed"); n != 2 {
		t.Errorf("%d warnings, want 2: %+v", n, logs.all())
	}
}

func TestTuneLeavesRuntimeInCharge(t *testing.T) {
	saveRuntime(t)
	// 4 CPUs, leaf limit 1.5: the container-aware runtime's default is 2,
	// ceil gives 2 too: rightsize must not call runtime.GOMAXPROCS.
	runtime.GOMAXPROCS(2)
	f := newFixture(t, map[string]string{"proc/self/status": "Cpus_allowed_list:\t0-3\n"})
	res, undo, _ := Tune(WithRoot(f.root), quiet(), withMode("go1.26.8", ""), WithGOMEMLIMIT(false))
	defer undo()
	if res.GOMAXPROCS.Changed || !contains(res.GOMAXPROCS.Reason, "left to the runtime") {
		t.Errorf("want the runtime left in charge: %+v", res.GOMAXPROCS)
	}
	owner.mu.Lock()
	set := owner.procs
	owner.mu.Unlock()
	if set != 0 {
		t.Errorf("owner.procs = %d, want 0", set)
	}
	// Parent tighter than the leaf: 1 CPU on the parent; the runtime sees
	// the leaf's 1.5 (default 2), rightsize sets 1 and keeps it.
	f.write("sys/fs/cgroup/pod/cpu.max", "100000 100000\n")
	res, undo2, _ := Tune(WithRoot(f.root), quiet(), withMode("go1.26.8", ""), WithGOMEMLIMIT(false))
	defer undo2()
	if !res.GOMAXPROCS.Changed || res.GOMAXPROCS.Value != 1 || !contains(res.GOMAXPROCS.Reason, "default would be 2") {
		t.Errorf("parent limit: %+v", res.GOMAXPROCS)
	}
}

func TestTuneProgramOverride(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	noMemLimit()
	f := newFixture(t, nil)
	if res, _, _ := Tune(WithRoot(f.root), quiet(), oldGo()); res.GOMAXPROCS.Value != 2 || res.GOMEMLIMIT.Value != 241591910 {
		t.Fatalf("first Tune: %+v %+v", res.GOMAXPROCS, res.GOMEMLIMIT)
	}
	runtime.GOMAXPROCS(4)         // the program's own choice
	debug.SetMemoryLimit(1 << 30) // likewise
	res, _, _ := Tune(WithRoot(f.root), quiet(), oldGo())
	if res.GOMAXPROCS.Changed || runtime.GOMAXPROCS(0) != 4 || !contains(res.GOMAXPROCS.Reason, "the program set GOMAXPROCS to 4 after rightsize set 2") {
		t.Errorf("GOMAXPROCS: %+v", res.GOMAXPROCS)
	}
	if res.GOMEMLIMIT.Changed || debug.SetMemoryLimit(-1) != 1<<30 || !contains(res.GOMEMLIMIT.Reason, "the program set GOMEMLIMIT to 1073741824 after rightsize set 241591910") {
		t.Errorf("GOMEMLIMIT: %+v", res.GOMEMLIMIT)
	}
	// From now on the settings are the program's.
	res, _, _ = Tune(WithRoot(f.root), quiet(), oldGo(), WithMinProcs(3))
	if res.GOMAXPROCS.Changed || runtime.GOMAXPROCS(0) != 4 || !contains(res.GOMAXPROCS.Reason, "the program set its own GOMAXPROCS") {
		t.Errorf("GOMAXPROCS later: %+v", res.GOMAXPROCS)
	}
}

func TestTuneNotify(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	noMemLimit()
	f := newFixture(t, nil)
	var got []Decision
	logs := &logCapture{}
	_, undo, _ := Tune(WithRoot(f.root), logs.option(), oldGo(), WithNotify(func(d Decision) { got = append(got, d) }))
	defer undo()
	if len(got) != 2 || got[0].Setting != GOMAXPROCS || got[1].Setting != GOMEMLIMIT || !got[0].Changed || !got[1].Changed {
		t.Errorf("notified %+v", got)
	}
	infos := logs.find(slog.LevelInfo, "set")
	if len(infos) != 2 || infos[0].Msg != "rightsize: GOMAXPROCS set" || infos[0].Attrs["value"] != "2" || infos[0].Attrs["previous"] != "5" ||
		infos[0].Attrs["source"] != "cgroup /sys/fs/cgroup/pod/app/cpu.max" || infos[0].Attrs["reason"] == "" {
		t.Errorf("log lines %+v", logs.all())
	}
}

// TestInvalidOptions: an invalid option is an error wrapping
// ErrInvalidOption from every entry point, and nothing is done.
func TestInvalidOptions(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	debug.SetMemoryLimit(3 << 30)
	f := newFixture(t, nil)
	for _, tt := range []struct {
		name string
		opt  Option
	}{
		{"WithMinProcs(0)", WithMinProcs(0)},
		{"WithMinProcs(-1)", WithMinProcs(-1)},
		{"WithMemoryRatio(2)", WithMemoryRatio(2)},
		{"WithMemoryRatio(0)", WithMemoryRatio(0)},
		{"WithMemoryRatio(NaN)", WithMemoryRatio(math.NaN())},
		{"WithMemoryRatio(-Inf)", WithMemoryRatio(math.Inf(-1))},
		{"WithMemoryReserve(0)", WithMemoryReserve(0)},
		{`WithCPUPolicy("x")`, WithCPUPolicy("x")},
		{`WithCPUPolicy("")`, WithCPUPolicy("")},
		{"WithInterval(-1)", WithInterval(-1)},
		{"WithFields(1<<10)", WithFields(1 << 10)},
		{"nil", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logCapture{}
			var notified int
			opts := []Option{WithRoot(f.root), logs.option(), WithNotify(func(Decision) { notified++ }), tt.opt}
			check := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, ErrInvalidOption) {
					t.Errorf("%s: err %v, want ErrInvalidOption", what, err)
				}
			}
			r, err := NewReader(opts...)
			check("NewReader", err)
			if r != nil {
				t.Errorf("NewReader returned a Reader")
			}
			_, err = Read(opts...)
			check("Read", err)
			res, undo, err := Tune(opts...)
			check("Tune", err)
			if undo == nil || res.GOMAXPROCS.Changed || res.GOMEMLIMIT.Changed {
				t.Errorf("Tune: undo %v, %+v", undo != nil, res)
			}
			undo()
			_, tuner, err := Start(opts...)
			check("Start", err)
			if tuner != nil {
				t.Errorf("Start returned a Tuner")
			}
			_, err = Recommend(opts...)
			check("Recommend", err)
			done := make(chan error, 1)
			go func() { done <- Watch(context.Background(), time.Second, opts...) }()
			select {
			case err := <-done:
				check("Watch", err)
			case <-time.After(5 * time.Second):
				t.Fatal("Watch with an invalid option did not return")
			}
			if runtime.GOMAXPROCS(0) != 5 || debug.SetMemoryLimit(-1) != 3<<30 || notified != 0 {
				t.Errorf("something was changed: GOMAXPROCS %d GOMEMLIMIT %d, %d notifications", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1), notified)
			}
			if n := len(logs.all()); n != 0 {
				t.Errorf("log lines: %+v", logs.all())
			}
		})
	}
}
