package runtimeinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestRecommend(t *testing.T) {
	for _, tt := range []struct {
		name      string
		files     map[string]string
		opts      []Option
		procs     int
		mem       int64
		reason    string // in ProcsReason
		memReason string // in MemReason
		wantErr   bool
	}{
		{name: "default", procs: 2, mem: 241591910, reason: "policy ceil"},
		{name: "floor", opts: []Option{WithCPUPolicy(PolicyFloor)}, procs: 1, mem: 241591910},
		{name: "min and cap", opts: []Option{WithMinProcs(16)}, procs: 8, mem: 241591910},
		{name: "reserve", opts: []Option{WithMemoryReserve(16 << 20)}, procs: 2, mem: 268435456 - 16<<20, memReason: "minus reserve"},
		{name: "runtime policy", opts: []Option{WithCPUPolicy(PolicyRuntime), withMode("go1.26.8", "")}, procs: 2, mem: 241591910},
		{name: "runtime policy, old Go", opts: []Option{WithCPUPolicy(PolicyRuntime), withMode("go1.24.11", "")}, procs: 8, mem: 241591910},
		{
			name:  "no limits",
			files: map[string]string{"sys/fs/cgroup/pod/app/cpu.max": "max 100000\n", "sys/fs/cgroup/pod/app/memory.max": "max\n"},
			procs: 8, mem: 0, reason: "no CPU limit", memReason: "no memory limit",
		},
		{
			name:  "memory.high and host",
			files: map[string]string{"sys/fs/cgroup/pod/memory.high": "200000000\n", "proc/meminfo": "MemTotal: 100000 kB\n"},
			procs: 2, mem: 100000 * 1024 * 9 / 10, memReason: "host memory",
		},
		{
			name:  "environment set",
			files: map[string]string{"proc/self/environ": "GOMAXPROCS=7\x00GOMEMLIMIT=1GiB\x00"},
			procs: 2, mem: 241591910, reason: "GOMAXPROCS=7 is set", memReason: "GOMEMLIMIT=1GiB is set",
		},
		{
			name:  "unreadable limit",
			files: map[string]string{"sys/fs/cgroup/pod/app/cpu.max": "150000 0\n", "sys/fs/cgroup/pod/app/memory.max": "lots\n"},
			procs: 0, mem: 0, reason: "cannot read the CPU limit", memReason: "cannot read the memory limit", wantErr: true,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.files)
			procs, mem := runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1)
			rec, err := Recommend(append([]Option{WithRoot(f.root), quiet()}, tt.opts...)...)
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
			if rec.GOMAXPROCS != tt.procs || rec.GOMEMLIMIT != tt.mem {
				t.Errorf("Recommend = %d, %d; want %d, %d (%s; %s)", rec.GOMAXPROCS, rec.GOMEMLIMIT, tt.procs, tt.mem, rec.ProcsReason, rec.MemReason)
			}
			if !contains(rec.ProcsReason, tt.reason) || !contains(rec.MemReason, tt.memReason) {
				t.Errorf("reasons %q, %q; want %q, %q", rec.ProcsReason, rec.MemReason, tt.reason, tt.memReason)
			}
			if rec.Snapshot.Root != f.root {
				t.Errorf("Snapshot.Root = %q", rec.Snapshot.Root)
			}
			if runtime.GOMAXPROCS(0) != procs || debug.SetMemoryLimit(-1) != mem {
				t.Errorf("Recommend changed the runtime")
			}
		})
	}
}

// TestRecommendMatchesTune checks the dry run against what Tune computes.
func TestRecommendMatchesTune(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithCPUPolicy(PolicyFloor)}, {WithMemoryRatio(0.5)}, {WithMinProcs(3)}} {
		saveRuntime(t)
		noMemLimit()
		runtime.GOMAXPROCS(5)
		f := newFixture(t, map[string]string{"sys/fs/cgroup/pod/cpu.max": "250000 100000\n"})
		all := append([]Option{WithRoot(f.root), quiet(), withMode("go1.24.11", "")}, opts...)
		rec, err := Recommend(all...)
		if err != nil {
			t.Fatal(err)
		}
		res, undo, _ := Tune(all...)
		undo()
		if int64(rec.GOMAXPROCS) != res.GOMAXPROCS.Want || rec.GOMEMLIMIT != res.GOMEMLIMIT.Want {
			t.Errorf("%d options: Recommend %d, %d; Tune wants %d, %d", len(opts), rec.GOMAXPROCS, rec.GOMEMLIMIT, res.GOMAXPROCS.Want, res.GOMEMLIMIT.Want)
		}
	}
}
