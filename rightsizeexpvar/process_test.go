package rightsizeexpvar_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/rightsizeexpvar"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// A captured process table (PID 1 with zombies) in the schema: every
// count, RLIMIT_NOFILE, and no reaper (a captured tree has none of this
// process's).
func TestProcessTable(t *testing.T) {
	skipUnlessLinux(t)
	v := rightsizeexpvar.Read(runtimeinfo.WithRoot(procTable))
	b, err := json.Marshal(v.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"processTable":{"pid":1,"processes":4,"zombies":2,"children":2,"zombieChildren":1,"threads":9,"openFDs":5,"fdLimit":{"soft":1024,"hard":4096}}`,
		`"reaper":null`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no %s in %s", want, b)
		}
	}

	// An unlimited RLIMIT_NOFILE is null, never a magic number; a tree
	// without a process table has none.
	root := testenv.CopyTreeTemp(t, procTable)
	writeFile(t, filepath.Join(root, "proc/1/limits"),
		"Limit                     Soft Limit           Hard Limit           Units     \n"+
			"Max open files            unlimited            unlimited            files     \n")
	if l := rightsizeexpvar.Read(runtimeinfo.WithRoot(root)).Snapshot.ProcessTable.FDLimit; l == nil || l.Soft != nil || l.Hard != nil {
		t.Errorf("unlimited: fdLimit %s, want both null", js(l))
	}
	if p := rightsizeexpvar.Read(runtimeinfo.WithRoot(hostNested)).Snapshot.ProcessTable; p != nil {
		t.Errorf("a tree without a process table: %s", js(p))
	}
}

// The live process: its process table, and its reaper's state as
// runtimeinfo reads it (this test binary is not PID 1: the reaper does
// nothing, and says why).
func TestProcessTableLive(t *testing.T) {
	v := rightsizeexpvar.Read()
	r := v.Snapshot.Reaper
	if r == nil || r.Mode == "" || r.Reason == "" {
		t.Fatalf("live: reaper %s", js(r))
	}
	s, _ := runtimeinfo.Read(runtimeinfo.WithFields(runtimeinfo.FieldProcesses), runtimeinfo.WithLogger(nil))
	if want := (rightsizeexpvar.Reaper{Active: s.Reaper.Active, Mode: s.Reaper.Mode, Reason: s.Reaper.Reason, Reaped: s.Reaper.Reaped}); *r != want {
		t.Errorf("reaper %+v, runtimeinfo %+v", *r, want)
	}
	if runtime.GOOS != "linux" {
		return
	}
	p := v.Snapshot.ProcessTable
	if p == nil || p.Threads == nil || *p.Threads < 1 || p.OpenFDs == nil || *p.OpenFDs < 3 || p.PID != s.ProcessTable.PID {
		t.Errorf("live: processTable %s", js(p))
	}
	if p != nil && p.PID != 1 && r.Active {
		t.Errorf("a reaper acts in PID %d", p.PID)
	}
	t.Logf("live: processTable %s, reaper %s", js(p), js(r))
}

// memoryPressureSignals is this process's count of the signals begun, by
// cause, whatever the root: a watcher that fires a working-set signal
// moves it by one.
func TestMemoryPressureSignals(t *testing.T) {
	skipUnlessLinux(t)
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	before := rightsizeexpvar.Read(runtimeinfo.WithRoot(procTable)).MemoryPressureSignals

	root := testenv.CopyTreeTemp(t, hostNested)
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
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("no pressure signal fired")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	after := rightsizeexpvar.Read(runtimeinfo.WithRoot(procTable)).MemoryPressureSignals
	want := before
	want.WorkingSet++
	if after != want {
		t.Errorf("memoryPressureSignals %+v, want %+v", after, want)
	}
	if after.WorkingSet != runtimeinfo.PressureSignals(runtimeinfo.PressureWorkingSet) ||
		after.PSI != runtimeinfo.PressureSignals(runtimeinfo.PressurePSI) {
		t.Errorf("memoryPressureSignals %+v, runtimeinfo.PressureSignals differs", after)
	}
}
