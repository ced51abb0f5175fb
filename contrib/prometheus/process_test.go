package prometheus_test

import (
	"context"
	"math"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	rsprom "github.com/rightsize/rightsize/contrib/prometheus"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// subset checks that each wanted sample is in got with its type and value.
func subset(t *testing.T, got, want map[string]sample) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: missing", k)
		case g.typ != w.typ:
			t.Errorf("%s: type %v, want %v", k, g.typ, w.typ)
		case g.value != w.value:
			t.Errorf("%s = %v, want %v", k, g.value, w.value)
		}
	}
}

// withPrefix returns the keys of got that begin with one of the prefixes.
func withPrefix(got map[string]sample, prefixes ...string) []string {
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

// A captured pod whose service is PID 1: the process table of the tree,
// next to pids.current, which counts its 9 threads and the 3 other
// processes (zombies included). No reaper metrics: a captured tree has no
// reaper of this process's.
func TestProcessTable(t *testing.T) {
	skipUnlessLinux(t)
	got := gather(t, newCollector(t, rsprom.WithRoot(pid1Tree), rsprom.WithLogger(nil)))
	subset(t, got, map[string]sample{
		rsprom.MetricPIDNamespaceProcesses: gauge(4),
		rsprom.MetricPIDNamespaceZombies:   gauge(2), // sleep (PID 1's) and probe (sh's)
		rsprom.MetricProcessChildren:       gauge(2),
		rsprom.MetricProcessZombieChildren: gauge(1),
		rsprom.MetricProcessThreads:        gauge(9),
		rsprom.MetricProcessOpenFDs:        gauge(5),
		rsprom.MetricProcessMaxFDs:         gauge(1024), // the soft limit; hard 4096
		rsprom.MetricPIDsCurrent:           gauge(12),
		rsprom.MetricReadErrors:            counter(0),
	})
	if keys := withPrefix(got, "rightsize_reaper_"); len(keys) > 0 {
		t.Errorf("reaper metrics for a captured tree: %v", keys)
	}
	// A tree without a process table (the other fixtures) has none of
	// these, and no read error for it.
	got = gather(t, newCollector(t, rsprom.WithRoot(k8sTree), rsprom.WithLogger(nil)))
	if keys := withPrefix(got, "rightsize_process_", "rightsize_pid_namespace_", "rightsize_reaper_"); len(keys) > 0 {
		t.Errorf("process table metrics for a tree without one: %v", keys)
	}
	if v := got[rsprom.MetricReadErrors].value; v != 0 {
		t.Errorf("read errors %v", v)
	}
}

// Each part of the process table is left out alone: an unlimited
// RLIMIT_NOFILE is no rightsize_process_max_fds sample (never a magic
// number), and a tree without the threads' children files finds the
// children by scanning every /proc/<pid>/stat.
func TestProcessTableParts(t *testing.T) {
	skipUnlessLinux(t)
	root := copyTree(t, pid1Tree)
	writeFile(t, filepath.Join(root, "proc/1/limits"),
		"Limit                     Soft Limit           Hard Limit           Units     \n"+
			"Max open files            unlimited            unlimited            files     \n")
	got := gather(t, newCollector(t, rsprom.WithRoot(root), rsprom.WithLogger(nil)))
	if s, ok := got[rsprom.MetricProcessMaxFDs]; ok {
		t.Errorf("%s = %v with RLIMIT_NOFILE unlimited", rsprom.MetricProcessMaxFDs, s.value)
	}
	subset(t, got, map[string]sample{rsprom.MetricProcessOpenFDs: gauge(5), rsprom.MetricProcessThreads: gauge(9)})

	noChildren := copyTree(t, pid1Tree)
	for _, tid := range []string{"1", "7"} {
		removeFile(t, filepath.Join(noChildren, "proc/1/task", tid, "children"))
	}
	got = gather(t, newCollector(t, rsprom.WithRoot(noChildren), rsprom.WithLogger(nil)))
	subset(t, got, map[string]sample{
		rsprom.MetricProcessChildren:       gauge(2),
		rsprom.MetricProcessZombieChildren: gauge(1),
		rsprom.MetricReadErrors:            counter(0),
	})
}

// rightsize_process_open_fds and rightsize_process_max_fds describe the
// live process as client_golang's process collector's process_open_fds
// and process_max_fds do: the same RLIMIT_NOFILE, and descriptor counts
// that differ by what each holds to count: the process collector counts
// the /proc/self/fd it opens for the scrape; procfs.Scanner leaves out
// the four /proc directories it keeps open (the Reader's cgroup file
// descriptors count in both).
func TestAgreesWithProcessCollector(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the process collector reads /proc")
	}
	pc := prometheus.NewPedanticRegistry()
	pc.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c := newCollector(t, rsprom.WithLogger(nil))
	ours := gather(t, c)
	theirs := gatherFrom(t, pc)
	if _, ok := ours[rsprom.MetricProcessOpenFDs]; !ok {
		t.Fatalf("no %s on the live system: %v", rsprom.MetricProcessOpenFDs, withPrefix(ours, "rightsize_process"))
	}
	// The difference is 4+1, give or take descriptors the test binary
	// opens or closes between the two scrapes.
	if o, p := ours[rsprom.MetricProcessOpenFDs].value, theirs["process_open_fds"].value; math.Abs(p-o-5) > 3 {
		t.Errorf("%s = %v, process_open_fds = %v: want about 5 fewer", rsprom.MetricProcessOpenFDs, o, p)
	}
	o, ok := ours[rsprom.MetricProcessMaxFDs]
	p := theirs["process_max_fds"].value
	switch {
	case ok && o.value != p:
		t.Errorf("%s = %v, process_max_fds = %v", rsprom.MetricProcessMaxFDs, o.value, p)
	case !ok && p < 1<<62:
		t.Errorf("no %s; process_max_fds = %v", rsprom.MetricProcessMaxFDs, p)
	}
	if n := ours[rsprom.MetricProcessThreads].value; n < 1 {
		t.Errorf("%s = %v", rsprom.MetricProcessThreads, n)
	}
}

// On the live system the reaper's state is exported, as runtimeinfo reads
// it: this test binary is not PID 1, so the reaper does nothing.
func TestReaperLive(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the process table is read on Linux only")
	}
	got := gather(t, newCollector(t, rsprom.WithLogger(nil)))
	s, _ := runtimeinfo.Read(runtimeinfo.WithFields(runtimeinfo.FieldProcesses), runtimeinfo.WithLogger(nil))
	if s.Reaper.Mode == "" {
		t.Fatalf("runtimeinfo reports no reaper state on the live system: %+v", s.Reaper)
	}
	active := 0.0
	if s.Reaper.Active {
		active = 1
	}
	subset(t, got, map[string]sample{
		key(rsprom.MetricReaperActive, "mode", s.Reaper.Mode): gauge(active),
		rsprom.MetricReaperReaped:                             counter(float64(s.Reaper.Reaped)),
	})
	if keys := withPrefix(got, rsprom.MetricReaperActive); len(keys) != 1 {
		t.Errorf("%v, want one %s sample", keys, rsprom.MetricReaperActive)
	}
	if s.ProcessTable.PID != 1 && s.Reaper.Active {
		t.Errorf("a reaper acts in PID %d", s.ProcessTable.PID)
	}
	t.Logf("reaper: %+v; process table %+v", s.Reaper, s.ProcessTable)
}

// A memory pressure signal that begins in this process is counted, by
// cause, in rightsize_memory_pressure_signals_total: the process's count
// whatever the collector's root. Here a watcher on a captured tree whose
// working set is above its limit fires one working-set signal.
func TestPressureSignalsCounted(t *testing.T) {
	skipUnlessLinux(t)
	withMemoryLimit(t, debug.SetMemoryLimit(-1))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	c := newCollector(t, rsprom.WithRoot(k8sTree), rsprom.WithLogger(nil))
	before := gather(t, c)
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

	after := gather(t, c)
	ws := signals(runtimeinfo.PressureWorkingSet)
	if d := after[ws].value - before[ws].value; d != 1 {
		t.Errorf("%s went up by %v, want 1", ws, d)
	}
	for _, cause := range causes {
		if g, w := after[signals(cause)].value, float64(runtimeinfo.PressureSignals(cause)); g != w {
			t.Errorf("%s = %v, runtimeinfo.PressureSignals = %v", signals(cause), g, w)
		}
		if cause != runtimeinfo.PressureWorkingSet && after[signals(cause)] != before[signals(cause)] {
			t.Errorf("%s moved: %v to %v", signals(cause), before[signals(cause)].value, after[signals(cause)].value)
		}
	}
}
