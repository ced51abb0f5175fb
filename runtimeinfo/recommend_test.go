package runtimeinfo

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestRecommend(t *testing.T) {
	for _, tt := range []struct {
		name      string
		files     map[string]string
		opts      []Option
		procs     int64 // 0: no Want
		mem       int64 // 0: no Want
		reason    string
		memReason string
		wantErr   bool
	}{
		{name: "default", procs: 2, mem: 241591910, reason: "policy ceil", memReason: "0.9 × limit 268435456"},
		{name: "floor", opts: []Option{WithCPUPolicy(PolicyFloor)}, procs: 1, mem: 241591910},
		{name: "minimum and cap", opts: []Option{WithMinProcs(16)}, procs: 8, mem: 241591910},
		{name: "reserve", opts: []Option{WithMemoryReserve(16 << 20)}, procs: 2, mem: 268435456 - 16<<20, memReason: "minus reserve"},
		{name: "runtime policy", opts: []Option{WithCPUPolicy(PolicyRuntime), withMode("go1.26.8", "")}, procs: 2, mem: 241591910},
		{name: "runtime policy, old Go", opts: []Option{WithCPUPolicy(PolicyRuntime), oldGo()}, procs: 8, mem: 241591910},
		{
			name:  "no limits",
			files: map[string]string{"sys/fs/cgroup/pod/app/cpu.max": "max 100000\n", "sys/fs/cgroup/pod/app/memory.max": "max\n"},
			procs: 8, reason: "no CPU limit", memReason: "no memory limit",
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
			name:  "below the floor",
			files: map[string]string{"sys/fs/cgroup/pod/app/memory.max": "5\n"},
			procs: 2, memReason: "below the floor",
		},
		{
			name:   "unreadable limits",
			files:  map[string]string{"sys/fs/cgroup/pod/app/cpu.max": "150000 0\n", "sys/fs/cgroup/pod/app/memory.max": "lots\n"},
			reason: "cannot read the CPU limit", memReason: "cannot read the memory limit", wantErr: true,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.files)
			procs, mem := runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1)
			rec, err := Recommend(append([]Option{WithRoot(f.root), quiet()}, tt.opts...)...)
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want an error: %v", err, tt.wantErr)
			}
			p, m := rec.GOMAXPROCS, rec.GOMEMLIMIT
			if p.HasWant != (tt.procs != 0) || p.Want != tt.procs || m.HasWant != (tt.mem != 0) || m.Want != tt.mem {
				t.Errorf("Recommend = %d (%v), %d (%v); want %d, %d\n%s\n%s", p.Want, p.HasWant, m.Want, m.HasWant, tt.procs, tt.mem, p.Reason, m.Reason)
			}
			if !contains(p.Reason, tt.reason) || !contains(m.Reason, tt.memReason) {
				t.Errorf("reasons %q, %q; want %q, %q", p.Reason, m.Reason, tt.reason, tt.memReason)
			}
			if p.Changed || m.Changed || p.Value != int64(procs) || m.Value != mem || p.Reason == "" || m.Reason == "" {
				t.Errorf("decisions %+v %+v", p, m)
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

// TestRecommendMatchesTune checks the dry run against what Tune does.
func TestRecommendMatchesTune(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithCPUPolicy(PolicyFloor)}, {WithMemoryRatio(0.5)}, {WithMinProcs(3)}, {WithMemoryReserve(1 << 30)}} {
		saveRuntime(t)
		noMemLimit()
		runtime.GOMAXPROCS(5)
		f := newFixture(t, map[string]string{"sys/fs/cgroup/pod/cpu.max": "250000 100000\n"})
		all := append([]Option{WithRoot(f.root), quiet(), oldGo()}, opts...)
		rec, err := Recommend(all...)
		if err != nil {
			t.Fatal(err)
		}
		res, undo, _ := Tune(all...)
		undo()
		if rec.GOMAXPROCS.Want != res.GOMAXPROCS.Want || rec.GOMEMLIMIT.Want != res.GOMEMLIMIT.Want || rec.GOMEMLIMIT.HasWant != res.GOMEMLIMIT.HasWant {
			t.Errorf("%d options: Recommend %d, %d; Tune wants %d, %d", len(opts), rec.GOMAXPROCS.Want, rec.GOMEMLIMIT.Want, res.GOMAXPROCS.Want, res.GOMEMLIMIT.Want)
		}
		if res.GOMAXPROCS.Changed && res.GOMAXPROCS.Value != rec.GOMAXPROCS.Want {
			t.Errorf("Tune set %d, Recommend said %d", res.GOMAXPROCS.Value, rec.GOMAXPROCS.Want)
		}
		if res.GOMEMLIMIT.Changed != rec.GOMEMLIMIT.HasWant {
			t.Errorf("Tune changed GOMEMLIMIT: %v, Recommend has a Want: %v", res.GOMEMLIMIT.Changed, rec.GOMEMLIMIT.HasWant)
		}
	}
}

// TestReaderRecommend: (*Reader).Recommend decides from a snapshot the
// Reader took, with its options, and changes nothing.
func TestReaderRecommend(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	noMemLimit()
	f := newFixture(t, nil)
	r, err := NewReader(WithRoot(f.root), WithCPUPolicy(PolicyFloor), WithMemoryRatio(0.5))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var s Snapshot
	if err := r.Read(&s); err != nil {
		t.Fatal(err)
	}
	p, m := r.Recommend(&s)
	if p.Want != 1 || m.Want != 1<<27 || p.Changed || m.Changed || runtime.GOMAXPROCS(0) != 5 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("%+v %+v", p, m)
	}
	// A snapshot edited by hand: the decision follows it.
	s.CPULimit.Quota, s.CPULimit.CPUs = 350000000, 3.5
	if p, _ := r.Recommend(&s); p.Want != 3 {
		t.Errorf("edited snapshot: %+v", p)
	}
}
