package otel_test

import (
	"context"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	rsotel "github.com/rightsize/rightsize/contrib/otel"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// subset checks that each wanted point is in got with its kind, unit and
// value.
func subset(t *testing.T, got, want map[string]point) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: missing", k)
		case g != w:
			t.Errorf("%s: %+v, want %+v", k, g, w)
		}
	}
}

// withPrefix returns the keys of got that begin with one of the prefixes.
func withPrefix(got map[string]point, prefixes ...string) []string {
	var keys []string
	for k := range got {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// processPrefixes are the names of the process table and reaper
// instruments.
var processPrefixes = []string{"process.", "rightsize.process.", "rightsize.pid_namespace.", "rightsize.reaper."}

// A captured pod whose service is PID 1: the process table of the tree,
// next to pids.current, which counts its 9 threads and the 3 other
// processes (zombies included). No reaper instruments: a captured tree has
// no reaper of this process's.
func TestProcessTable(t *testing.T) {
	skipUnlessLinux(t)
	_, rd := register(t, rsotel.WithRoot(pid1Tree), rsotel.WithLogger(nil))
	got := collect(t, rd)
	subset(t, got, map[string]point{
		rsotel.MetricPIDNamespaceProcessCount:   udcInt("{process}", 4),
		rsotel.MetricPIDNamespaceZombieCount:    udcInt("{process}", 2), // sleep (PID 1's) and probe (sh's)
		rsotel.MetricProcessChildCount:          udcInt("{process}", 2),
		rsotel.MetricProcessZombieChildCount:    udcInt("{process}", 1),
		rsotel.MetricProcessThreadCount:         udcInt("{thread}", 9),
		rsotel.MetricProcessFileDescriptorCount: udcInt("{file_descriptor}", 5),
		rsotel.MetricProcessFileDescriptorLimit: udcInt("{file_descriptor}", 1024), // the soft limit; hard 4096
		rsotel.MetricPIDsUsage:                  udcInt("{task}", 12),
		rsotel.MetricReadErrors:                 ctrInt("{collection}", 0),
	})
	if keys := withPrefix(got, "rightsize.reaper."); len(keys) > 0 {
		t.Errorf("reaper instruments for a captured tree: %v", keys)
	}
	// A tree without a process table (the other fixtures) has none of
	// these, and no read error for it.
	_, rd = register(t, rsotel.WithRoot(k8sTree), rsotel.WithLogger(nil))
	got = collect(t, rd)
	if keys := withPrefix(got, processPrefixes...); len(keys) > 0 {
		t.Errorf("process table instruments for a tree without one: %v", keys)
	}
	if v := got[rsotel.MetricReadErrors].value; v != 0 {
		t.Errorf("read errors %v", v)
	}
}

// Each part of the process table is left out alone: an unlimited
// RLIMIT_NOFILE is no rightsize.process.unix.file_descriptor.limit point
// (never a magic number), and a tree without the threads' children files
// finds the children by scanning every /proc/<pid>/stat.
func TestProcessTableParts(t *testing.T) {
	skipUnlessLinux(t)
	root := copyTree(t, pid1Tree)
	writeFile(t, filepath.Join(root, "proc/1/limits"),
		"Limit                     Soft Limit           Hard Limit           Units     \n"+
			"Max open files            unlimited            unlimited            files     \n")
	_, rd := register(t, rsotel.WithRoot(root), rsotel.WithLogger(nil))
	got := collect(t, rd)
	if p, ok := got[rsotel.MetricProcessFileDescriptorLimit]; ok {
		t.Errorf("%s = %v with RLIMIT_NOFILE unlimited", rsotel.MetricProcessFileDescriptorLimit, p.value)
	}
	subset(t, got, map[string]point{
		rsotel.MetricProcessFileDescriptorCount: udcInt("{file_descriptor}", 5),
		rsotel.MetricProcessThreadCount:         udcInt("{thread}", 9),
	})

	noChildren := copyTree(t, pid1Tree)
	for _, tid := range []string{"1", "7"} {
		removeFile(t, filepath.Join(noChildren, "proc/1/task", tid, "children"))
	}
	_, rd = register(t, rsotel.WithRoot(noChildren), rsotel.WithLogger(nil))
	subset(t, collect(t, rd), map[string]point{
		rsotel.MetricProcessChildCount:       udcInt("{process}", 2),
		rsotel.MetricProcessZombieChildCount: udcInt("{process}", 1),
		rsotel.MetricReadErrors:              ctrInt("{collection}", 0),
	})
}

// On the live system the process's threads, descriptors and reaper are
// observed, as runtimeinfo reads them: this test binary is not PID 1, so
// the reaper does nothing.
func TestProcessLive(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the process table is read on Linux only")
	}
	_, rd := register(t, rsotel.WithLogger(nil))
	got := collect(t, rd)
	s, _ := runtimeinfo.Read(runtimeinfo.WithFields(runtimeinfo.FieldProcesses), runtimeinfo.WithLogger(nil))
	if s.Reaper.Mode == "" {
		t.Fatalf("runtimeinfo reports no reaper state on the live system: %+v", s.Reaper)
	}
	active := 0.0
	if s.Reaper.Active {
		active = 1
	}
	subset(t, got, map[string]point{
		keyKV(rsotel.MetricReaperActive, attribute.String(rsotel.AttrReaperMode, s.Reaper.Mode)): gaugeInt("", active),
		rsotel.MetricReaperReaped: ctrInt("{process}", float64(s.Reaper.Reaped)),
	})
	if keys := withPrefix(got, rsotel.MetricReaperActive); len(keys) != 1 {
		t.Errorf("%v, want one %s point", keys, rsotel.MetricReaperActive)
	}
	for _, n := range []string{rsotel.MetricProcessThreadCount, rsotel.MetricProcessFileDescriptorCount, rsotel.MetricPIDNamespaceProcessCount} {
		if p, ok := got[n]; !ok || p.value < 1 {
			t.Errorf("%s = %v (present %v) on the live system", n, p.value, ok)
		}
	}
	if p, ok := got[rsotel.MetricProcessFileDescriptorLimit]; s.ProcessTable.HasFDLimit && (!ok || p.value != float64(s.ProcessTable.FDLimit.Soft)) {
		t.Errorf("%s = %v (present %v), RLIMIT_NOFILE %+v", rsotel.MetricProcessFileDescriptorLimit, p.value, ok, s.ProcessTable.FDLimit)
	}
	t.Logf("reaper: %+v; process table %+v", s.Reaper, s.ProcessTable)
}

// A memory pressure signal that begins in this process is counted, by
// cause, in rightsize.memory.pressure.signals: the process's count
// whatever the root. Here a watcher on a captured tree whose working set
// is above its limit fires one working-set signal.
func TestPressureSignalsCounted(t *testing.T) {
	skipUnlessLinux(t)
	withMemoryLimit(t, debug.SetMemoryLimit(-1))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	_, rd := register(t, rsotel.WithRoot(k8sTree), rsotel.WithLogger(nil))
	before := collect(t, rd)
	for _, cause := range causes {
		if _, ok := before[signals(cause)]; !ok {
			t.Errorf("%s missing before any signal", signals(cause))
		}
	}

	root := copyTree(t, hostNested)
	// memory.current 500 MB, inactive_file 50 MiB: a working set of about
	// 450 MB against the effective limit, memory.high 300 MiB.
	writeFile(t, filepath.Join(root, "sys/fs/cgroup/a/b/memory.current"), "500000000\n")
	fired := make(chan runtimeinfo.MemoryPressure, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runtimeinfo.Watch(ctx, time.Second, runtimeinfo.WithRoot(root), runtimeinfo.WithLogger(nil),
			runtimeinfo.WithGOMAXPROCS(false), runtimeinfo.WithGOMEMLIMIT(false), runtimeinfo.WithOffHeap(false),
			runtimeinfo.WithMemoryPressure(func(p runtimeinfo.MemoryPressure) {
				select {
				case fired <- p:
				default:
				}
			}))
	}()
	select {
	case p := <-fired:
		if p.Cause != runtimeinfo.PressureWorkingSet || !p.Active {
			t.Errorf("signal %+v, want the working set's beginning", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pressure signal fired")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	after := collect(t, rd)
	ws := signals(runtimeinfo.PressureWorkingSet)
	if d := after[ws].value - before[ws].value; d != 1 {
		t.Errorf("%s went up by %v, want 1", ws, d)
	}
	for _, cause := range causes {
		k := signals(cause)
		if g, w := after[k], ctrInt("{signal}", float64(runtimeinfo.PressureSignals(cause))); g != w {
			t.Errorf("%s = %+v, runtimeinfo.PressureSignals: %+v", k, g, w)
		}
		if cause != runtimeinfo.PressureWorkingSet && after[k] != before[k] {
			t.Errorf("%s moved: %v to %v", k, before[k].value, after[k].value)
		}
	}
}
