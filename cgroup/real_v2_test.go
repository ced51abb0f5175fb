//go:build linux

package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv/qemu"
)

// Real cgroup v2 tests. The hosts the tests run on are cgroup v1 (hybrid),
// so TestRealV2 boots a qemu guest with 4 vCPUs and a pure cgroup v2
// hierarchy (internal/testenv/qemu) and runs this package's test binary
// there with guestEnv set, which selects TestRealV2Guest. Its last cases
// run the binary's other tests on the guest (guest_rerun_linux_test.go),
// as on a contributor's cgroup v2 only machine. In the guest the
// test binary runs as root in the root cgroup: each case creates its own
// tree of cgroups below /sys/fs/cgroup, moves a child process (the
// TestRealV1Child helper of real_linux_test.go) into its leaf, checks the
// readers against what was written and against load the child generates,
// and removes the tree, the child having exited first.

// guestEnv is set in the guest's environment; TestRealV2Guest runs only
// there.
const guestEnv = "RIGHTSIZE_IN_GUEST"

// v2Mount is where the guest's /init mounts cgroup2.
const v2Mount = "/sys/fs/cgroup"

// v2AllControllers is written to the cgroup.subtree_control of every
// parent the cases create; the guest's /init enables the same four in the
// root's.
const v2AllControllers = "+cpu +memory +pids +cpuset"

func TestRealV2(t *testing.T) {
	if os.Getenv(guestEnv) != "" {
		t.Skip("inside the guest: TestRealV2Guest runs here")
	}
	qemu.RunGuestTest(t, "github.com/rightsize/rightsize/cgroup", "TestRealV2Guest", 4*time.Minute, qemu.Config{
		CPUs:     4,
		MemoryMB: 1024,
		Env:      []string{guestEnv + "=1"},
		// The package's testdata, for the suite run on the guest
		// (guest_rerun_linux_test.go).
		Trees: map[string]string{"/src/cgroup/testdata": "testdata"},
		Dir:   "/src/cgroup",
	})
}

// TestRealV2Guest is the guest's side. Anything missing there is a failure,
// not a skip: the guest is made for these tests.
func TestRealV2Guest(t *testing.T) {
	if os.Getenv(guestEnv) == "" {
		t.Skip("runs inside the qemu guest that TestRealV2 boots")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the guest runs tests as root, this is not root")
	}
	ctrls := strings.Fields(v2ReadTrim(t, filepath.Join(v2Mount, "cgroup.subtree_control")))
	for _, c := range []string{"cpu", "memory", "pids", "cpuset"} {
		if !v2Contains(ctrls, c) {
			t.Fatalf("controller %s not enabled in the root's cgroup.subtree_control (%q)", c, ctrls)
		}
	}
	t.Run("Discovery", testV2Discovery)
	t.Run("CPUParentTighter", testV2CPUParentTighter)
	t.Run("Memory", testV2Memory)
	t.Run("MemoryControllerGap", testV2MemoryControllerGap)
	t.Run("OOMKill", testV2OOMKill)
	t.Run("PIDs", testV2PIDs)
	t.Run("CPUSet", testV2CPUSet)
	t.Run("Usage", testV2Usage)
	t.Run("CPUWeight", testV2CPUWeight)
	t.Run("Vanish", testV2Vanish)
	t.Run("RealV1Skips", testV2RealV1Skips)
	t.Run("Suite", testV2Suite)
}

// v2Top returns a fresh top-level cgroup name for a case.
func v2Top() string { return "rightsize-v2-" + randSuffix() }

// mkcgV2 creates v2Mount/rel, writes subtree (if any) to its
// cgroup.subtree_control and removes the directory at cleanup. Create
// parents before children: cleanups run last-in first-out, so children are
// removed first, after the child process (started later) has exited.
func mkcgV2(t *testing.T, rel, subtree string) string {
	t.Helper()
	dir := filepath.Join(v2Mount, rel)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("mkdir %s: %v", dir, err)
	}
	t.Cleanup(func() {
		var err error
		for i := 0; i < 100; i++ {
			if err = os.Remove(dir); err == nil || os.IsNotExist(err) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("could not remove %s: %v", dir, err)
	})
	if subtree != "" {
		write(t, dir, "cgroup.subtree_control", subtree)
	}
	return dir
}

// startV2Child starts the helper process in the v2 cgroup dir.
func startV2Child(t *testing.T, dir string) *child {
	t.Helper()
	c := startChild(t, map[Controller]string{Unified: dir})
	if got := v2ReadTrim(t, fmt.Sprintf("/proc/%d/cgroup", c.cmd.Process.Pid)); got != "0::"+strings.TrimPrefix(dir, v2Mount) {
		t.Fatalf("child's /proc/pid/cgroup is %q after the move into %s", got, dir)
	}
	return c
}

// v2OpenPID opens a handle on the child's cgroups from the test process and
// closes it at cleanup (before the child is stopped).
func v2OpenPID(t *testing.T, c *child) *Group {
	t.Helper()
	g, err := Open(WithPID(c.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("Open(WithPID(%d)): %v", c.cmd.Process.Pid, err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func v2ReadTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func v2HasFile(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func v2Contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// v2ReadChild asks the child for its own view (childRead: Open() in the child).
func v2ReadChild(t *testing.T, c *child) childReport {
	t.Helper()
	var r childReport
	c.send(t, "read", &r)
	if r.Err != "" {
		t.Fatalf("child errors: %s", r.Err)
	}
	return r
}

// testV2Discovery: the test process in the root cgroup, and a child moved
// two levels down, both seen through Open (the child's own) and
// Open(WithPID) from here.
func testV2Discovery(t *testing.T) {
	g, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.Layout() != LayoutV2 {
		t.Errorf("Layout() = %v, want %v", g.Layout(), LayoutV2)
	}
	for c := Controller(0); c < numControllers; c++ {
		loc, ok := g.Location(c)
		want := Location{Version: 2, MountPoint: v2Mount, MountRoot: "/", Path: "/", Dir: v2Mount}
		if !ok || loc != want {
			t.Errorf("root process: Location(%s) = %+v ok=%v, want %+v", c, loc, ok, want)
		}
	}
	// The root cgroup has no cpu.max, memory.max, pids.max or cpu.weight:
	// absent at the top means unlimited.
	if lim, ok, err := g.CPULimit(); ok || err != nil {
		t.Errorf("root CPULimit = %+v ok=%v err=%v, want none", lim, ok, err)
	}
	if lim, ok, err := g.MemoryLimit(); ok || err != nil {
		t.Errorf("root MemoryLimit = %+v ok=%v err=%v, want none", lim, ok, err)
	}
	if lim, ok, err := g.PIDsLimit(); ok || err != nil {
		t.Errorf("root PIDsLimit = %+v ok=%v err=%v, want none", lim, ok, err)
	}
	if req, ok, err := g.CPURequest(); ok || err != nil {
		t.Errorf("root CPURequest = %+v ok=%v err=%v, want none", req, ok, err)
	}
	if n, ok, err := g.CPUSetCPUs(); !ok || err != nil || n.CPUs != runtime.NumCPU() || n.CPUs != 4 || n.Path != v2Mount+"/cpuset.cpus.effective" {
		t.Errorf("root CPUSetCPUs = %+v ok=%v err=%v, want 4 (NumCPU %d) from the root's cpuset.cpus.effective", n, ok, err, runtime.NumCPU())
	}
	var st Stats
	if err := g.ReadStats(&st, StatsAll); err != nil {
		t.Errorf("root ReadStats: %v", err)
	}
	if !st.CPU.HasUsage || st.CPU.Usage <= 0 || st.CPU.UsagePath != v2Mount+"/cpu.stat" {
		t.Errorf("root CPU usage %+v", st.CPU)
	}
	// The root cgroup's pressure, or /proc/pressure where the root has no
	// pressure files, counts every task of the machine.
	if p := st.Pressure; !p.HasCPU || !p.HostWide {
		t.Errorf("root pressure %+v, want host-wide values", p)
	}
	t.Logf("root stats: %+v", st)

	top := v2Top()
	mkcgV2(t, top, v2AllControllers)
	mkcgV2(t, top+"/a", v2AllControllers)
	leaf := mkcgV2(t, top+"/a/b", "")
	c := startV2Child(t, leaf)
	r := v2ReadChild(t, c)
	h := v2OpenPID(t, c)
	if h.Layout() != LayoutV2 {
		t.Errorf("WithPID Layout() = %v, want %v", h.Layout(), LayoutV2)
	}
	want := Location{Version: 2, MountPoint: v2Mount, MountRoot: "/", Path: "/" + top + "/a/b", Dir: leaf}
	for ctl := Controller(0); ctl < numControllers; ctl++ {
		if loc, ok := h.Location(ctl); !ok || loc != want {
			t.Errorf("WithPID Location(%s) = %+v ok=%v, want %+v", ctl, loc, ok, want)
		}
		if loc, ok := r.Locations[ctl.String()]; !ok || loc != want {
			t.Errorf("child's own Location(%s) = %+v ok=%v, want %+v", ctl, loc, ok, want)
		}
	}
	if r.CPUOK || r.MemOK || r.PIDsOK {
		t.Errorf("child in an unlimited tree reports limits: cpu %+v mem %+v pids %+v", r.CPU, r.Mem, r.PIDs)
	}
}

// testV2CPUParentTighter: cpu.max on a parent and its leaf; the minimum
// binds, wherever it is. v2, unlike v1, accepts a leaf quota above the
// parent's.
func testV2CPUParentTighter(t *testing.T) {
	top := v2Top()
	parent := mkcgV2(t, top, v2AllControllers)
	leaf := mkcgV2(t, top+"/leaf", "")
	write(t, parent, "cpu.max", "100000 100000")
	write(t, leaf, "cpu.max", "max 100000")
	c := startV2Child(t, leaf)
	g := v2OpenPID(t, c)

	check := func(what string, wantCPUs float64, wantQuota int64, wantDir string) {
		t.Helper()
		r := v2ReadChild(t, c)
		lim, ok, err := g.CPULimit()
		want := CPULimit{CPUs: wantCPUs, Quota: time.Duration(wantQuota) * time.Microsecond, Period: 100 * time.Millisecond, Path: path.Join(wantDir, "cpu.max")}
		if err != nil || !ok || lim != want {
			t.Errorf("%s: CPULimit = %+v ok=%v err=%v, want %+v", what, lim, ok, err, want)
		}
		if !r.CPUOK || r.CPU != want {
			t.Errorf("%s: child's own CPULimit = %+v ok=%v, want %+v", what, r.CPU, r.CPUOK, want)
		}
	}
	check("parent 1 CPU, leaf max", 1, 100000, parent)

	write(t, parent, "cpu.max", "400000 100000")
	write(t, leaf, "cpu.max", "50000 100000")
	check("parent 4 CPUs, leaf 0.5", 0.5, 50000, leaf)

	// A leaf quota above the parent's: the parent binds.
	write(t, parent, "cpu.max", "150000 100000")
	write(t, leaf, "cpu.max", "300000 100000")
	check("parent 1.5 CPUs, leaf 3", 1.5, 150000, parent)

	write(t, parent, "cpu.max", "max 100000")
	write(t, leaf, "cpu.max", "max 100000")
	if lim, ok, err := g.CPULimit(); ok || err != nil {
		t.Errorf("all max: CPULimit = %+v ok=%v err=%v, want none", lim, ok, err)
	}
}

// testV2OOMKill: the OOM killer kills a process of the cgroup; its
// memory.events count the kill (oom_kill), the out-of-memory event (oom)
// and the times usage was about to pass memory.max (max). The child that
// reads them is another process of the cgroup, not the killer's
// choice.
func testV2OOMKill(t *testing.T) {
	leaf := mkcgV2(t, v2Top(), "")
	write(t, leaf, "memory.max", strconv.Itoa(64<<20))
	if v2HasFile(filepath.Join(leaf, "memory.swap.max")) {
		write(t, leaf, "memory.swap.max", "0")
	}
	survivor := startV2Child(t, leaf)
	r := v2ReadChild(t, survivor)
	if !r.Stats.Memory.HasEvents || r.Stats.Memory.Events != (MemoryEvents{}) {
		t.Fatalf("a new cgroup's memory events = %+v (has %v); want all 0", r.Stats.Memory.Events, r.Stats.Memory.HasEvents)
	}
	oomKillVictim(t, map[Controller]string{Unified: leaf}, 256)
	r = v2ReadChild(t, survivor)
	if e := r.Stats.Memory.Events; !r.Stats.Memory.HasEvents || e.OOMKill < 1 || e.OOM < 1 || e.Max < 1 {
		t.Errorf("after an OOM kill: memory events %+v (has %v); want oom_kill, oom and max >= 1", e, r.Stats.Memory.HasEvents)
	}
}

// testV2Memory: memory.max minimum over the levels, memory.high and
// memory.swap.max.
func testV2Memory(t *testing.T) {
	top := v2Top()
	parent := mkcgV2(t, top, v2AllControllers)
	leaf := mkcgV2(t, top+"/leaf", "")
	write(t, parent, "memory.max", "524288000")
	write(t, leaf, "memory.max", "1048576000")
	write(t, leaf, "memory.high", "268435456")
	c := startV2Child(t, leaf)
	g := v2OpenPID(t, c)

	r := v2ReadChild(t, c)
	want := MemoryLimit{Bytes: 524288000, Path: path.Join(parent, "memory.max")}
	if lim, ok, err := g.MemoryLimit(); err != nil || !ok || lim != want {
		t.Errorf("MemoryLimit = %+v ok=%v err=%v, want %+v", lim, ok, err, want)
	}
	if !r.MemOK || r.Mem != want {
		t.Errorf("child's own MemoryLimit = %+v ok=%v, want %+v", r.Mem, r.MemOK, want)
	}
	wantHigh := MemoryLimit{Bytes: 268435456, Path: path.Join(leaf, "memory.high")}
	if lim, ok, err := g.MemoryHigh(); err != nil || !ok || lim != wantHigh {
		t.Errorf("MemoryHigh = %+v ok=%v err=%v, want %+v", lim, ok, err, wantHigh)
	}

	// Swap: memory.swap.max is there unless swap accounting is off.
	if !v2HasFile(filepath.Join(leaf, "memory.swap.max")) {
		t.Logf("no memory.swap.max (swap accounting off): SwapLimit must say none")
		if v, ok, err := g.SwapLimit(); ok || err != nil {
			t.Errorf("SwapLimit without swap accounting = %+v ok=%v err=%v", v, ok, err)
		}
	} else {
		if v, ok, err := g.SwapLimit(); ok || err != nil {
			t.Errorf("SwapLimit with every level max = %+v ok=%v err=%v, want none", v, ok, err)
		}
		write(t, leaf, "memory.swap.max", "134217728")
		if v, ok, err := g.SwapLimit(); !ok || err != nil || v.Bytes != 134217728 {
			t.Errorf("SwapLimit leaf 128 MiB = %+v ok=%v err=%v", v, ok, err)
		}
		write(t, parent, "memory.swap.max", "67108864")
		if v, ok, err := g.SwapLimit(); !ok || err != nil || v.Bytes != 67108864 {
			t.Errorf("SwapLimit parent 64 MiB = %+v ok=%v err=%v", v, ok, err)
		}
		write(t, leaf, "memory.swap.max", "0")
		if v, ok, err := g.SwapLimit(); !ok || err != nil || v.Bytes != 0 {
			t.Errorf("SwapLimit leaf 0 = %+v ok=%v err=%v, want 0 (no swap allowed)", v, ok, err)
		}
	}

	// No hard limit, only memory.high: the kernel throttles, it does not
	// OOM-kill (edge case 35).
	write(t, parent, "memory.max", "max")
	write(t, leaf, "memory.max", "max")
	write(t, leaf, "memory.high", "1073741824")
	if lim, ok, err := g.MemoryLimit(); ok || err != nil {
		t.Errorf("memory.max max: MemoryLimit = %+v ok=%v err=%v, want none", lim, ok, err)
	}
	wantHigh = MemoryLimit{Bytes: 1073741824, Path: path.Join(leaf, "memory.high")}
	if lim, ok, err := g.MemoryHigh(); err != nil || !ok || lim != wantHigh {
		t.Errorf("MemoryHigh = %+v ok=%v err=%v, want %+v", lim, ok, err, wantHigh)
	}
	write(t, parent, "memory.high", "536870912")
	wantHigh = MemoryLimit{Bytes: 536870912, Path: path.Join(parent, "memory.high")}
	if lim, ok, err := g.MemoryHigh(); err != nil || !ok || lim != wantHigh {
		t.Errorf("MemoryHigh with a tighter parent = %+v ok=%v err=%v, want %+v", lim, ok, err, wantHigh)
	}
}

// testV2MemoryControllerGap: a level that does not enable the memory
// controller for its children. Controllers are enabled top-down, so every
// level below it lacks the memory files too: top has memory.max (the root
// enables memory), top/mid and top/mid/leaf do not. The walk must go on up
// past the levels without the file.
func testV2MemoryControllerGap(t *testing.T) {
	top := v2Top()
	upper := mkcgV2(t, top, "+cpu +pids +cpuset")
	mid := mkcgV2(t, top+"/mid", "+cpu +pids +cpuset")
	leaf := mkcgV2(t, top+"/mid/leaf", "")
	for _, d := range []string{mid, leaf} {
		if v2HasFile(filepath.Join(d, "memory.max")) {
			t.Fatalf("%s has memory.max although its parent does not enable memory", d)
		}
		if v2Contains(strings.Fields(v2ReadTrim(t, filepath.Join(d, "cgroup.controllers"))), "memory") {
			t.Fatalf("%s lists memory in cgroup.controllers", d)
		}
	}
	write(t, upper, "memory.max", "314572800")
	write(t, upper, "memory.high", "209715200")
	write(t, upper, "pids.max", "100")
	write(t, mid, "cpu.max", "200000 100000")
	c := startV2Child(t, leaf)
	g := v2OpenPID(t, c)
	r := v2ReadChild(t, c)

	if loc, ok := g.Location(Memory); !ok || loc.Dir != leaf {
		t.Errorf("Location(Memory) = %+v ok=%v, want the leaf %s (the root offers memory)", loc, ok, leaf)
	}
	want := MemoryLimit{Bytes: 314572800, Path: path.Join(upper, "memory.max")}
	if lim, ok, err := g.MemoryLimit(); err != nil || !ok || lim != want {
		t.Errorf("MemoryLimit = %+v ok=%v err=%v, want %+v", lim, ok, err, want)
	}
	if !r.MemOK || r.Mem != want {
		t.Errorf("child's own MemoryLimit = %+v ok=%v, want %+v", r.Mem, r.MemOK, want)
	}
	wantHigh := MemoryLimit{Bytes: 209715200, Path: path.Join(upper, "memory.high")}
	if lim, ok, err := g.MemoryHigh(); err != nil || !ok || lim != wantHigh {
		t.Errorf("MemoryHigh = %+v ok=%v err=%v, want %+v", lim, ok, err, wantHigh)
	}
	if v, ok, err := g.SwapLimit(); ok || err != nil {
		t.Errorf("SwapLimit = %+v ok=%v err=%v, want none", v, ok, err)
	}
	// The other controllers are enabled all the way down.
	if lim, ok, err := g.CPULimit(); err != nil || !ok || lim.CPUs != 2 || lim.Path != path.Join(mid, "cpu.max") {
		t.Errorf("CPULimit = %+v ok=%v err=%v, want 2 from %s", lim, ok, err, mid)
	}
	if lim, ok, err := g.PIDsLimit(); err != nil || !ok || lim.Max != 100 || lim.Path != path.Join(upper, "pids.max") {
		t.Errorf("PIDsLimit = %+v ok=%v err=%v, want 100 from %s", lim, ok, err, upper)
	}
	// The leaf's memory.current is absent: the usage reader records it as
	// absent (memoryUsageErr reports that as the limit readers report a
	// missing file, naming it), and ReadStats leaves the memory values
	// unset without an error.
	err := memoryUsageErr(g)
	var fe *Error
	if !errors.Is(err, ErrNotAvailable) || !errors.As(err, &fe) || fe.Path != filepath.Join(leaf, "memory.current") {
		t.Errorf("memory usage without the controller: %v, want ErrNotAvailable naming %s/memory.current", err, leaf)
	}
	var mem Stats
	if err := g.ReadStats(&mem, StatsMemory); err != nil || mem != (Stats{}) {
		t.Errorf("ReadStats(StatsMemory) without the controller = %+v, %v; want nothing and no error", mem, err)
	}
	var st Stats
	if err := g.ReadStats(&st, StatsAll); err != nil {
		t.Errorf("ReadStats: %v", err)
	}
	if st.Memory.HasUsage || st.Memory.HasWorkingSet || st.Memory.HasEvents {
		t.Errorf("memory stats without the controller: %+v", st.Memory)
	}
	if !st.CPU.HasUsage || !st.CPU.HasThrottling || !st.PIDs.HasCurrent || st.PIDs.Current < 1 {
		t.Errorf("stats: cpu %+v pids %+v", st.CPU, st.PIDs)
	}
}

// testV2PIDs: pids.max set at the parent only (as Kubernetes does at the
// pod level), then at the leaf too.
func testV2PIDs(t *testing.T) {
	top := v2Top()
	parent := mkcgV2(t, top, v2AllControllers)
	leaf := mkcgV2(t, top+"/leaf", "")
	write(t, parent, "pids.max", "64")
	if got := v2ReadTrim(t, filepath.Join(leaf, "pids.max")); got != "max" {
		t.Fatalf("leaf pids.max = %q, want max", got)
	}
	c := startV2Child(t, leaf)
	g := v2OpenPID(t, c)
	r := v2ReadChild(t, c)
	want := PIDsLimit{Max: 64, Path: path.Join(parent, "pids.max")}
	if lim, ok, err := g.PIDsLimit(); err != nil || !ok || lim != want {
		t.Errorf("PIDsLimit = %+v ok=%v err=%v, want %+v", lim, ok, err, want)
	}
	if !r.PIDsOK || r.PIDs != want {
		t.Errorf("child's own PIDsLimit = %+v ok=%v, want %+v", r.PIDs, r.PIDsOK, want)
	}
	var ps Stats
	err := g.ReadStats(&ps, StatsPIDs)
	cur := ps.PIDs.Current
	if err != nil || !ps.PIDs.HasCurrent || cur < 1 || cur > 64 {
		t.Errorf("pids.current = %+v, %v; want 1..64 (the child's threads)", ps.PIDs, err)
	}
	if !r.Stats.PIDs.HasCurrent || r.Stats.PIDs.Current < 1 {
		t.Errorf("child's own pids.current: %+v", r.Stats.PIDs)
	}
	t.Logf("pids.current of the leaf: %d", cur)

	write(t, leaf, "pids.max", "1000")
	if lim, ok, err := g.PIDsLimit(); err != nil || !ok || lim != want {
		t.Errorf("looser leaf: PIDsLimit = %+v ok=%v err=%v, want %+v", lim, ok, err, want)
	}
	write(t, leaf, "pids.max", "50")
	want = PIDsLimit{Max: 50, Path: path.Join(leaf, "pids.max")}
	if lim, ok, err := g.PIDsLimit(); err != nil || !ok || lim != want {
		t.Errorf("tighter leaf: PIDsLimit = %+v ok=%v err=%v, want %+v", lim, ok, err, want)
	}
}

// testV2CPUSet: cpuset.cpus at the parent, an empty one at the leaf, which
// inherits (cpuset.cpus.effective).
func testV2CPUSet(t *testing.T) {
	top := v2Top()
	parent := mkcgV2(t, top, v2AllControllers)
	leaf := mkcgV2(t, top+"/leaf", "")
	c := startV2Child(t, leaf)
	g := v2OpenPID(t, c)
	if n, ok, err := g.CPUSetCPUs(); err != nil || !ok || n != (CPUCount{CPUs: 4, Path: path.Join(leaf, "cpuset.cpus.effective")}) {
		t.Errorf("no cpuset: CPUSetCPUs = %+v ok=%v err=%v, want 4 from the leaf", n, ok, err)
	}

	write(t, parent, "cpuset.cpus", "0-1")
	if got := v2ReadTrim(t, filepath.Join(leaf, "cpuset.cpus")); got != "" {
		t.Fatalf("leaf cpuset.cpus = %q, want empty", got)
	}
	if got := v2ReadTrim(t, filepath.Join(leaf, "cpuset.cpus.effective")); got != "0-1" {
		t.Errorf("leaf cpuset.cpus.effective = %q, want 0-1", got)
	}
	if n, ok, err := g.CPUSetCPUs(); err != nil || !ok || n != (CPUCount{CPUs: 2, Path: path.Join(leaf, "cpuset.cpus.effective")}) {
		t.Errorf("parent 0-1, empty leaf: CPUSetCPUs = %+v ok=%v err=%v, want 2", n, ok, err)
	}
	if r := v2ReadChild(t, c); r.CPUSetCPUs.CPUs != 2 {
		t.Errorf("child's own CPUSetCPUs = %+v, want 2", r.CPUSetCPUs)
	}

	write(t, leaf, "cpuset.cpus", "1")
	if n, ok, err := g.CPUSetCPUs(); err != nil || !ok || n.CPUs != 1 {
		t.Errorf("leaf 1: CPUSetCPUs = %+v ok=%v err=%v, want 1", n, ok, err)
	}
	// Emptying the leaf's cpuset.cpus makes it inherit again. The kernel
	// refuses to empty the cpuset.cpus of a populated cgroup (ENOSPC), so
	// the child waits in the root cgroup meanwhile; the handle reads the
	// leaf's files by path and does not care.
	pid := fmt.Sprint(c.cmd.Process.Pid)
	write(t, v2Mount, "cgroup.procs", pid)
	write(t, leaf, "cpuset.cpus", "\n")
	write(t, leaf, "cgroup.procs", pid)
	if got := v2ReadTrim(t, filepath.Join(leaf, "cpuset.cpus")); got != "" {
		t.Fatalf("leaf cpuset.cpus = %q after emptying it", got)
	}
	if n, ok, err := g.CPUSetCPUs(); err != nil || !ok || n.CPUs != 2 {
		t.Errorf("leaf emptied again: CPUSetCPUs = %+v ok=%v err=%v, want 2", n, ok, err)
	}
}

// testV2Usage: the counters of ReadStats move under load in a child limited
// to 0.5 CPU.
func testV2Usage(t *testing.T) {
	top := v2Top()
	mkcgV2(t, top, v2AllControllers)
	leaf := mkcgV2(t, top+"/leaf", "")
	write(t, leaf, "cpu.max", "50000 100000")
	c := startV2Child(t, leaf)
	g := v2OpenPID(t, c)

	var before, after Stats
	if err := g.ReadStats(&before, StatsAll); err != nil {
		t.Fatalf("ReadStats: %v", err)
	}
	if !before.CPU.HasUsage || !before.CPU.HasThrottling || !before.Memory.HasUsage || !before.PIDs.HasCurrent {
		t.Fatalf("stats missing: %+v", before)
	}
	if before.CPU.UsagePath != path.Join(leaf, "cpu.stat") || before.Pressure.HostWide {
		t.Errorf("usage from %q, pressure host-wide %v; want the leaf's cpu.stat and the leaf's own pressure", before.CPU.UsagePath, before.Pressure.HostWide)
	}

	var ack map[string]any
	c.send(t, "spin 1000", &ack)
	if err := g.ReadStats(&after, StatsAll); err != nil {
		t.Fatalf("ReadStats: %v", err)
	}
	b, a := before.CPU.Throttling, after.CPU.Throttling
	if !after.CPU.HasThrottling || a.Periods <= b.Periods || a.ThrottledPeriods <= b.ThrottledPeriods || a.ThrottledTime <= b.ThrottledTime {
		t.Errorf("throttling did not rise under a busy loop: before %+v after %+v", b, a)
	}
	used := after.CPU.Usage - before.CPU.Usage
	// Four goroutines spin until a 1 s deadline; throttled ones notice it
	// only in their next period, and the emulated guest is slow, so the
	// loop runs somewhat longer than 1 s. Usage cannot exceed the quota
	// (50 ms) per elapsed period, give or take the kernel's slices; without
	// the limit it would be about 4 s.
	if maxUsed := time.Duration(a.Periods-b.Periods+2) * 50 * time.Millisecond; used < 100*time.Millisecond || used > maxUsed || used > 1500*time.Millisecond {
		t.Errorf("CPU usage rose by %v over a 1 s busy loop under 0.5 CPU (%d periods: at most %v)", used, a.Periods-b.Periods, maxUsed)
	}
	t.Logf("1 s busy loop under 0.5 CPU: usage +%v, periods +%d, throttled +%d, throttled time +%v",
		used, a.Periods-b.Periods, a.ThrottledPeriods-b.ThrottledPeriods, a.ThrottledTime-b.ThrottledTime)
	var cpu Stats
	if err := g.ReadStats(&cpu, StatsCPU); err != nil || !cpu.CPU.HasUsage || cpu.CPU.Usage < after.CPU.Usage {
		t.Errorf("CPU usage = %+v, %v; want at least %v", cpu.CPU, err, after.CPU.Usage)
	}
	if !cpu.CPU.HasThrottling || cpu.CPU.Throttling.ThrottledPeriods < a.ThrottledPeriods {
		t.Errorf("CPU throttling = %+v; want at least %+v", cpu.CPU, a)
	}

	c.send(t, "alloc 64", &ack)
	var st Stats
	if err := g.ReadStats(&st, StatsAll); err != nil {
		t.Fatalf("ReadStats: %v", err)
	}
	m := st.Memory
	if grew := m.Usage - after.Memory.Usage; grew < 50<<20 {
		t.Errorf("memory.current grew by %d bytes after a 64 MiB allocation (%d -> %d)", grew, after.Memory.Usage, m.Usage)
	}
	var mem Stats
	if err := g.ReadStats(&mem, StatsMemory); err != nil || !mem.Memory.HasUsage || mem.Memory.Usage < 50<<20 {
		t.Errorf("memory usage = %+v, %v", mem.Memory, err)
	}
	if m.Anon < 50<<20 || m.Anon > m.Usage || m.File > m.Usage || (m.HasKernel && m.Kernel > m.Usage) {
		t.Errorf("anon/file/kernel %+v after a 64 MiB allocation", m)
	}
	wantWS := m.Usage - m.InactiveFile
	if wantWS < 0 {
		wantWS = 0
	}
	if !m.HasWorkingSet || m.WorkingSet != wantWS || m.WorkingSet < 50<<20 {
		t.Errorf("working set %+v, want current-inactive_file = %d", m, wantWS)
	}
	if !m.HasEvents {
		t.Errorf("memory.events not read: %+v", m)
	}
	if v2HasFile(filepath.Join(leaf, "memory.peak")) {
		if !m.HasPeak || m.Peak < m.Usage {
			t.Errorf("memory.peak: %+v", m)
		}
	} else if m.HasPeak {
		t.Errorf("HasPeak without a memory.peak file: %+v", m)
	}
	p := st.Pressure
	if !p.HasCPU || !p.HasMemory || !p.HasIO {
		t.Errorf("pressure files not all read: %+v", p)
	}
	if !p.CPU.HasFull || !p.Memory.HasFull || !p.IO.HasFull {
		t.Errorf("pressure files without a full line on Linux 6.1: %+v", p)
	}
	t.Logf("memory %+v", m)
	t.Logf("pressure %+v", p)
}

// testV2CPUWeight: cpu.weight converts to an approximate request.
func testV2CPUWeight(t *testing.T) {
	top := v2Top()
	mkcgV2(t, top, v2AllControllers)
	leaf := mkcgV2(t, top+"/leaf", "")
	c := startV2Child(t, leaf)
	g := v2OpenPID(t, c)
	for _, tc := range []struct {
		weight uint64
		milli  int64
	}{
		{100, 1000},
		{1, 0},
		{10000, 256000},
		{39, milliCPUFromWeight(39)},
	} {
		write(t, leaf, "cpu.weight", fmt.Sprint(tc.weight))
		req, ok, err := g.CPURequest()
		want := CPURequest{MilliCPU: tc.milli, Weight: tc.weight, Approx: true, Path: path.Join(leaf, "cpu.weight")}
		if err != nil || !ok || req != want {
			t.Errorf("cpu.weight %d: CPURequest = %+v ok=%v err=%v, want %+v", tc.weight, req, ok, err, want)
		}
	}
}

// testV2Vanish: a warm handle opened with WithPID on a child's cgroup;
// after the child exits and its cgroups are removed every reader returns an
// error naming a path in the removed leaf, and nothing panics.
func testV2Vanish(t *testing.T) {
	top := v2Top()
	parent := mkcgV2(t, top, v2AllControllers)
	leaf := mkcgV2(t, top+"/leaf", "")
	write(t, leaf, "cpu.max", "50000 100000")
	write(t, leaf, "memory.max", "268435456")
	write(t, parent, "pids.max", "64")
	c := startV2Child(t, leaf)
	pid := c.cmd.Process.Pid
	g := v2OpenPID(t, c)
	if lim, ok, err := g.CPULimit(); err != nil || !ok || lim.CPUs != 0.5 {
		t.Fatalf("CPULimit = %+v %v %v", lim, ok, err)
	}
	if _, ok, err := g.MemoryLimit(); err != nil || !ok {
		t.Fatalf("MemoryLimit: %v %v", ok, err)
	}
	if _, ok, err := g.PIDsLimit(); err != nil || !ok {
		t.Fatalf("PIDsLimit: %v %v", ok, err)
	}
	if _, ok, err := g.CPUSetCPUs(); err != nil || !ok {
		t.Fatalf("CPUSetCPUs: %v %v", ok, err)
	}
	var st Stats
	if err := g.ReadStats(&st, StatsAll); err != nil {
		t.Fatal(err)
	}

	c.in.Close()
	c.cmd.Wait()
	for _, d := range []string{leaf, parent} {
		if err := os.Remove(d); err != nil {
			t.Fatalf("rmdir %s: %v", d, err)
		}
	}

	// pathIn checks that every error err carries (ReadStats joins several)
	// is an *Error naming a path in the removed leaf.
	pathIn := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s after removal: no error", what)
			return
		}
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		for _, e := range errs {
			var fe *Error
			if !errors.As(e, &fe) || !strings.HasPrefix(fe.Path, leaf) {
				t.Errorf("%s after removal: %v, want an error naming a path in %s", what, e, leaf)
			}
		}
		t.Logf("%s after removal: %v", what, err)
	}
	_, _, err := g.CPULimit()
	pathIn("CPULimit", err)
	_, _, err = g.CPURequest()
	pathIn("CPURequest (never read before)", err)
	_, _, err = g.CPUSetCPUs()
	pathIn("CPUSetCPUs", err)
	pathIn("ReadStats(StatsCPU): usage and throttling", g.ReadStats(&st, StatsCPU))
	_, _, err = g.MemoryLimit()
	pathIn("MemoryLimit", err)
	_, _, err = g.MemoryHigh()
	pathIn("MemoryHigh (never read before)", err)
	_, _, err = g.SwapLimit()
	pathIn("SwapLimit (never read before)", err)
	pathIn("ReadStats(StatsMemory)", g.ReadStats(&st, StatsMemory))
	_, _, err = g.PIDsLimit()
	pathIn("PIDsLimit", err)
	pathIn("ReadStats(StatsPIDs)", g.ReadStats(&st, StatsPIDs))
	pathIn("ReadStats", g.ReadStats(&st, StatsAll))
	// Again: the handle stays usable and keeps failing the same way.
	_, _, err = g.CPULimit()
	pathIn("CPULimit again", err)
	if err := g.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	// A cold Open on the exited process fails on its /proc files.
	_, err = Open(WithPID(pid))
	var fe *Error
	if !errors.As(err, &fe) || fe.Path != fmt.Sprintf("/proc/%d/cgroup", pid) {
		t.Errorf("Open(WithPID) of an exited process: %v, want an error naming /proc/%d/cgroup", err, pid)
	}
}
