//go:build linux

package rightsize

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/internal/testenv/qemu"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// End-to-end tests of the blank import on a real cgroup v2 hierarchy. The
// hosts the tests run on are cgroup v1 (hybrid), so TestRealCgroupV2 boots
// one qemu guest with v2GuestCPUs vCPUs (internal/testenv/qemu) and runs
// this package's test binary there with v2GuestEnv set, which selects
// TestRealCgroupV2Guest. With 6 vCPUs the Go runtime's own default
// GOMAXPROCS (NumCPU, or on Go 1.25+ in container-aware mode
// min(CPUs, max(2, ceil(leaf limit)))) differs from rightsize's where it
// should; with the 2 CPUs of the hosts it is 2 whatever the limit.
//
// The children are this test binary in a child mode (runChild in
// e2e_linux_test.go): "serve" prints a ready line once the blank import's
// init is done and then answers queries; "spin=<d>" keeps GOMAXPROCS
// goroutines busy. They run from TestMain, before the testing package gets
// control: the testing package calls runtime.GOMAXPROCS(n) before it runs
// any test, and on Go 1.25+ any such call switches the runtime's own
// GOMAXPROCS updates off for good, so a child that is a test function never
// shows what the runtime alone does. Their stderr is checked like every
// child's (startChildProc). The guest's test binary is not race-built: it
// must be static (CGO_ENABLED=0, the initramfs has no C library) and -race
// needs cgo.
//
// Children are started directly inside their leaf cgroup with
// CLONE_INTO_CGROUP (SysProcAttr.UseCgroupFD), not moved there after start:
// the Go runtime locates its cgroup and opens its cpu.max once, while it
// starts, and keeps reading that file, so a child moved after start shows
// the runtime's view of the cgroup it was born in (MovedAfterStart shows
// it).

// v2GuestEnv is set in the guest; TestRealCgroupV2Guest runs only there.
const v2GuestEnv = "RIGHTSIZE_E2E_V2_GUEST"

const (
	v2GuestCPUs   = 6
	v2GuestMount  = "/sys/fs/cgroup"
	v2Controllers = "+cpu +memory +pids +cpuset"
	mib           = 1 << 20
)

func TestRealCgroupV2(t *testing.T) {
	if os.Getenv(v2GuestEnv) != "" {
		t.Skip("inside the guest: TestRealCgroupV2Guest runs here")
	}
	qemu.RunGuestTest(t, "github.com/rightsize/rightsize", "TestRealCgroupV2Guest", 100*time.Second, qemu.Config{
		CPUs:     v2GuestCPUs,
		MemoryMB: 1024,
		Env:      []string{v2GuestEnv + "=1"},
		// The guest side takes about 25 s; a boot that hangs (seen once
		// on an overloaded 2-core host: RCU stalls under emulation) should
		// not hold CI for long.
		Timeout: 2 * time.Minute,
	})
}

// TestRealCgroupV2Guest is the guest's side. Anything missing there is a
// failure, not a skip: the guest is made for these tests.
func TestRealCgroupV2Guest(t *testing.T) {
	if os.Getenv(v2GuestEnv) == "" {
		t.Skip("runs inside the qemu guest that TestRealCgroupV2 boots")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the guest runs tests as root, this is not root")
	}
	if n := runtime.NumCPU(); n != v2GuestCPUs {
		t.Fatalf("NumCPU = %d, want %d vCPUs", n, v2GuestCPUs)
	}
	ctrls := strings.Fields(v2Read(t, filepath.Join(v2GuestMount, "cgroup.subtree_control")))
	for _, c := range []string{"cpu", "memory", "pids", "cpuset"} {
		if !containsString(ctrls, c) {
			t.Fatalf("controller %s not enabled in the root's cgroup.subtree_control (%q)", c, ctrls)
		}
	}
	for _, tc := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"BlankImport", testV2BlankImport},
		{"Modes", testV2Modes},
		{"Watch", testV2Watch},
		{"MovedAfterStart", testV2MovedAfterStart},
		{"Throttling", testV2Throttling},
	} {
		start := time.Now()
		t.Run(tc.name, tc.f)
		t.Logf("%s took %v", tc.name, time.Since(start).Round(time.Millisecond))
	}
	// Every case removed what it made (its cleanups have run).
	ents, err := os.ReadDir(v2GuestMount)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), testenv.CgroupPrefix) {
			t.Errorf("cgroup %s left behind", filepath.Join(v2GuestMount, e.Name()))
		}
	}
}

// v2Top returns a fresh top-level cgroup path for a case.
func v2Top() string { return filepath.Join(v2GuestMount, cgName()) }

// mkcgV2 creates a cgroup (mkcg: removed at cleanup, children first) and
// enables every controller for its children when subtree is set. Create
// parents before children and children cgroups before the processes in
// them: cleanups run last-in first-out.
func mkcgV2(t *testing.T, dir string, subtree bool) string {
	t.Helper()
	mkcg(t, dir)
	if subtree {
		wr(t, dir, "cgroup.subtree_control", v2Controllers)
	}
	return dir
}

func v2Read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// startChildInV2 starts this test binary as a child (childEnv=mode)
// directly inside the v2 cgroup dir with CLONE_INTO_CGROUP and checks
// where it runs. The child is stopped at cleanup, before the cgroups made
// earlier are removed. A serving child's ready line has been read when it
// returns.
func startChildInV2(t *testing.T, dir, mode string, env []string) *childProc {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+mode), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd())}
	c := startChildProc(t, "child in "+dir, cmd)
	want := "0::" + strings.TrimPrefix(dir, v2GuestMount)
	if got := v2Read(t, fmt.Sprintf("/proc/%d/cgroup", cmd.Process.Pid)); got != want {
		t.Fatalf("child's /proc/pid/cgroup is %q, want %q", got, want)
	}
	if mode == "serve" {
		c.ready()
	}
	return c
}

// v2Want is rightsize's decision, with the default options, for an
// effective CPU limit of quota/100000 (0: none) and a memory limit (0:
// none) on the guest's CPUs: runtimeinfo's one decision function, given a
// snapshot made here.
func v2Want(t *testing.T, quota, mem int64) (procs int, memlimit int64) {
	t.Helper()
	r, err := runtimeinfo.NewReader(runtimeinfo.WithEnviron(nil), runtimeinfo.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s := runtimeinfo.Snapshot{CPUs: runtimeinfo.Count{N: v2GuestCPUs}}
	if quota > 0 {
		s.HasCPULimit = true
		s.CPULimit = runtimeinfo.CPU{CPUs: float64(quota) / 100000, Quota: time.Duration(quota) * time.Microsecond, Period: 100 * time.Millisecond}
	}
	if mem > 0 {
		s.HasMemoryLimit, s.MemoryLimit = true, runtimeinfo.Bytes{Bytes: mem}
	}
	p, m := r.Recommend(&s)
	return int(p.Want), m.Want
}

// v2Procs is v2Want's GOMAXPROCS, v2MemLimit its GOMEMLIMIT.
func v2Procs(t *testing.T, quota int64) int {
	p, _ := v2Want(t, quota, 0)
	return p
}

func v2MemLimit(t *testing.T, bytes int64) int64 {
	_, m := v2Want(t, 0, bytes)
	return m
}

// v2Mode returns the runtime's GOMAXPROCS mode under a GODEBUG setting, as
// runtimeinfo detects it.
func v2DetectMode(t *testing.T, godebug string) runtimeinfo.RuntimeMode {
	t.Helper()
	s, err := runtimeinfo.Read(runtimeinfo.WithEnviron([]string{"GODEBUG=" + godebug}))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return s.Mode
}

// testV2BlankImport: a child with the blank import in a leaf with cpu.max
// 150000 100000 and memory.max 256 MiB; then one whose leaf also has
// memory.high 200 MiB, below the hard limit.
func testV2BlankImport(t *testing.T) {
	top := mkcgV2(t, v2Top(), true)
	leaf := mkcgV2(t, filepath.Join(top, "leaf"), false)
	high := mkcgV2(t, filepath.Join(top, "high"), false)
	for _, d := range []string{leaf, high} {
		wr(t, d, "cpu.max", "150000 100000")
		wr(t, d, "memory.max", strconv.Itoa(256*mib))
	}
	wr(t, high, "memory.high", strconv.Itoa(200*mib))

	wantP := v2Procs(t, 150000)
	if runtimeinfo.DefaultCPUPolicy == runtimeinfo.PolicyCeil && wantP != 2 {
		t.Fatalf("ceil of 1.5 CPUs on %d CPUs computed as %d", v2GuestCPUs, wantP)
	}
	c := startChildInV2(t, leaf, "serve", nil)
	h := startChildInV2(t, high, "serve", nil)

	r := c.query()
	t.Logf("leaf 1.5 CPUs, 256 MiB: GOMAXPROCS %d GOMEMLIMIT %d\n  P: %s\n  M: %s", r.GOMAXPROCS, r.GOMEMLIMIT, r.P.Reason, r.M.Reason)
	if r.GOMAXPROCS != wantP || r.P.Value != int64(wantP) || !r.P.Changed {
		t.Errorf("GOMAXPROCS %d (decision %+v), want %d set by rightsize (policy %s)", r.GOMAXPROCS, r.P, wantP, runtimeinfo.DefaultCPUPolicy)
	}
	if want := v2MemLimit(t, 256*mib); r.GOMEMLIMIT != want || want != 241591910 || r.M.Value != want {
		t.Errorf("GOMEMLIMIT %d (decision %+v), want %d", r.GOMEMLIMIT, r.M, want)
	}
	if r.P.Source != (runtimeinfo.Source{Kind: runtimeinfo.SourceCgroup, Path: filepath.Join(leaf, "cpu.max")}) {
		t.Errorf("GOMAXPROCS source %s, want %s/cpu.max", r.P.Source, leaf)
	}
	if r.M.Source != (runtimeinfo.Source{Kind: runtimeinfo.SourceCgroup, Path: filepath.Join(leaf, "memory.max")}) {
		t.Errorf("GOMEMLIMIT source %s, want %s/memory.max", r.M.Source, leaf)
	}

	r = h.query()
	t.Logf("leaf 1.5 CPUs, 256 MiB, memory.high 200 MiB: GOMAXPROCS %d GOMEMLIMIT %d\n  M: %s (%s)", r.GOMAXPROCS, r.GOMEMLIMIT, r.M.Reason, r.M.Source)
	if want := v2MemLimit(t, 200*mib); r.GOMEMLIMIT != want || want != 188743680 {
		t.Errorf("GOMEMLIMIT %d (decision %+v), want %d (0.9 × memory.high)", r.GOMEMLIMIT, r.M, want)
	}
	if r.M.Source.Path != filepath.Join(high, "memory.high") {
		t.Errorf("GOMEMLIMIT source %s, want %s/memory.high", r.M.Source, high)
	}
	if r.GOMAXPROCS != wantP {
		t.Errorf("GOMAXPROCS %d, want %d", r.GOMAXPROCS, wantP)
	}
}

// v2Mode is a GODEBUG setting the children run under, with what the Go
// runtime does in it, written out here rather than taken from runtimeinfo's
// detection (Snapshot.Mode), which the test checks against it. This module's go
// line (1.22) puts containermaxprocs=0 and updatemaxprocs=0 in the test
// binary's default GODEBUG, so GODEBUG=containermaxprocs=1 alone turns the
// container-aware default on without its updates.
type v2Mode struct {
	godebug        string
	aware, updates bool
}

var v2Modes = []v2Mode{
	{"", false, false},
	{"containermaxprocs=1", true, false},
	{"containermaxprocs=1,updatemaxprocs=1", true, true},
	{"containermaxprocs=1,updatemaxprocs=0", true, false},
	{"containermaxprocs=0", false, false},
}

func (m v2Mode) name() string {
	if m.godebug == "" {
		return "default"
	}
	return "GODEBUG=" + m.godebug
}

// v2CPUCase is a CPU limit layout: parent and leaf cpu.max quotas per
// 100000 µs (0: max), and the GOMAXPROCS expected from the Go runtime alone
// when it is container-aware.
type v2CPUCase struct {
	name         string
	parent, leaf int64
	runtimeAware int
	effective    int64
}

var v2CPUCases = []v2CPUCase{
	{"leaf 1 CPU", 0, 100000, 2, 100000},                           // the runtime's minimum is 2
	{"parent 1 CPU over leaf max", 100000, 0, v2GuestCPUs, 100000}, // the runtime reads the leaf only
	{"leaf 2.5 CPUs", 0, 250000, 3, 250000},                        // the same value: rightsize leaves it
}

func cpuMax(q int64) string {
	if q == 0 {
		return "max 100000"
	}
	return fmt.Sprintf("%d 100000", q)
}

// testV2Modes runs, under each GODEBUG mode and in each CPU layout, one
// child without rightsize (RIGHTSIZE=off: the Go runtime alone) and one
// with the blank import, and compares their GOMAXPROCS.
func testV2Modes(t *testing.T) {
	type row struct {
		mode, layout       string
		runtime, rightsize int
		changed            bool
		reason             string
	}
	var table []row
	for _, m := range v2Modes {
		t.Run(m.name(), func(t *testing.T) {
			det := v2DetectMode(t, m.godebug)
			if det.ContainerAware != m.aware || det.Updates != m.updates {
				t.Errorf("Snapshot.Mode under GODEBUG=%q is %+v, want container-aware %v, updates %v", m.godebug, det, m.aware, m.updates)
			}
			env := []string{"GODEBUG=" + m.godebug}
			type pair struct {
				leaf    string
				off, on *childProc
			}
			kids := make([]pair, len(v2CPUCases))
			// Start every child of the mode first: they start in parallel.
			for i, tc := range v2CPUCases {
				top := mkcgV2(t, v2Top(), true)
				leaf := mkcgV2(t, filepath.Join(top, "leaf"), false)
				wr(t, top, "cpu.max", cpuMax(tc.parent))
				wr(t, leaf, "cpu.max", cpuMax(tc.leaf))
				kids[i].leaf = leaf
				kids[i].off = startChildInV2(t, leaf, "serve", append(env, "RIGHTSIZE=off"))
				kids[i].on = startChildInV2(t, leaf, "serve", env)
			}
			rows := make([]row, len(v2CPUCases))
			for i, tc := range v2CPUCases {
				off, on := kids[i].off.query(), kids[i].on.query()
				wantRT := v2GuestCPUs
				if m.aware {
					wantRT = tc.runtimeAware
				}
				wantRS := v2Procs(t, tc.effective)
				rows[i] = row{mode: m.name(), layout: tc.name, runtime: off.GOMAXPROCS, rightsize: on.GOMAXPROCS, changed: on.P.Changed, reason: on.P.Reason}
				if off.GOMAXPROCS != wantRT {
					t.Errorf("%s: the Go runtime alone gives GOMAXPROCS %d, want %d", tc.name, off.GOMAXPROCS, wantRT)
				}
				if on.GOMAXPROCS != wantRS || on.P.Value != int64(wantRS) {
					t.Errorf("%s: rightsize gives GOMAXPROCS %d (decision %+v), want %d", tc.name, on.GOMAXPROCS, on.P, wantRS)
				}
				// What the decision says about the runtime's default.
				switch {
				case wantRS == wantRT && m.updates:
					if on.P.Changed || !strings.Contains(on.P.Reason, "left to the runtime") {
						t.Errorf("%s: rightsize's %d equals the runtime's updating default; the decision should leave it to the runtime: %+v", tc.name, wantRS, on.P)
					}
				case wantRS == wantRT:
					if on.P.Changed {
						t.Errorf("%s: %d was already in force, yet the decision says changed: %+v", tc.name, wantRS, on.P)
					}
				default:
					if !on.P.Changed {
						t.Errorf("%s: rightsize should have overridden the runtime's %d with %d: %+v", tc.name, wantRT, wantRS, on.P)
					}
					if m.aware && !strings.Contains(on.P.Reason, fmt.Sprintf("the Go runtime's default would be %d", wantRT)) {
						t.Errorf("%s: the decision does not name the runtime's default %d: %s", tc.name, wantRT, on.P.Reason)
					}
				}
			}
			if m.updates {
				// The runtime re-reads the limit about every second: after
				// two of them neither child has moved (rightsize's
				// runtime.GOMAXPROCS call switched the updates off where it
				// overrode; where it left the runtime in charge the
				// runtime's value is rightsize's).
				time.Sleep(2200 * time.Millisecond)
			}
			for i, tc := range v2CPUCases {
				off, on := kids[i].off.query(), kids[i].on.query()
				if off.GOMAXPROCS != rows[i].runtime || on.GOMAXPROCS != rows[i].rightsize {
					t.Errorf("%s: GOMAXPROCS moved without a limit change: runtime %d -> %d, rightsize %d -> %d",
						tc.name, rows[i].runtime, off.GOMAXPROCS, rows[i].rightsize, on.GOMAXPROCS)
				}
			}
			table = append(table, rows...)
			if !m.updates {
				return
			}
			// The runtime's own updates (about once a second, while its
			// sysmon thread is awake: queries keep it so): the leaf of 2.5
			// CPUs, where rightsize left the runtime in charge, goes to 4.
			// Both children follow; with rightsize, either the runtime
			// itself or rightsize's watcher (interval 1s), which hands
			// GOMAXPROCS back to the runtime's default, gets there first.
			k := kids[2]
			wr(t, k.leaf, "cpu.max", "400000 100000")
			written := time.Now()
			for _, x := range []struct {
				who string
				c   *childProc
			}{{"the Go runtime alone", k.off}, {"with rightsize (watch interval 1s)", k.on}} {
				_, r, ok := x.c.await(5*time.Second, func(r childReport) bool { return r.GOMAXPROCS == 4 })
				d := time.Since(written)
				if !ok {
					t.Errorf("leaf 2.5 -> 4 CPUs: %s still at GOMAXPROCS %d after %v", x.who, r.GOMAXPROCS, d)
					continue
				}
				by := "the runtime itself"
				if r.P.Changed && r.P.At.After(written) {
					by = "rightsize: " + r.P.Reason
				}
				t.Logf("leaf 2.5 -> 4 CPUs: %s at GOMAXPROCS 4 within %v (by %s)", x.who, d.Round(time.Millisecond), by)
			}
		})
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "GOMAXPROCS on %d vCPUs, Go runtime alone vs rightsize (policy %s):\n", v2GuestCPUs, runtimeinfo.DefaultCPUPolicy)
	fmt.Fprintf(&b, "%-46s %-28s %8s %10s  %s\n", "mode", "cgroups", "runtime", "rightsize", "rightsize's decision")
	for _, r := range table {
		what := "set (overrides the runtime)"
		switch {
		case strings.Contains(r.reason, "left to the runtime"):
			what = "left to the runtime"
		case strings.Contains(r.reason, "already in force"):
			what = "already in force"
		case !r.changed:
			what = r.reason
		}
		fmt.Fprintf(&b, "%-46s %-28s %8d %10d  %s\n", r.mode, r.layout, r.runtime, r.rightsize, what)
	}
	t.Log(b.String())
}

// testV2Watch: the blank import's watcher follows cpu.max, memory.max and
// memory.high changes on real v2 within three watch intervals of its last
// tick before the write (plus slack), and honours a parent tighter than its
// leaf; in the default mode (the runtime knows no cgroups) and with the
// runtime's own updates on, where rightsize hands GOMAXPROCS back to the
// runtime whenever their values agree.
func testV2Watch(t *testing.T) {
	for _, m := range []v2Mode{v2Modes[0], v2Modes[2]} {
		t.Run(m.name(), func(t *testing.T) { v2Watch(t, m) })
	}
}

func v2Watch(t *testing.T, m v2Mode) {
	const interval = 200 * time.Millisecond
	// Slack over three intervals: scheduling in an emulated guest.
	const slack = 200 * time.Millisecond
	bound := 3*interval + slack
	top := mkcgV2(t, v2Top(), true)
	leaf := mkcgV2(t, filepath.Join(top, "leaf"), false)
	wr(t, leaf, "cpu.max", "150000 100000")
	wr(t, leaf, "memory.max", strconv.Itoa(256*mib))
	// The static GOMEMLIMIT policy is checked here, as in TestRealCgroupV1.
	c := startChildInV2(t, leaf, "serve", []string{"GODEBUG=" + m.godebug, "RIGHTSIZE_WATCH_INTERVAL=" + interval.String(), "RIGHTSIZE_OFFHEAP=off"})
	c.interval = interval

	r := c.query()
	if r.GOMAXPROCS != v2Procs(t, 150000) || r.GOMEMLIMIT != v2MemLimit(t, 256*mib) {
		t.Fatalf("at start: GOMAXPROCS %d GOMEMLIMIT %d, want %d and %d", r.GOMAXPROCS, r.GOMEMLIMIT, v2Procs(t, 150000), v2MemLimit(t, 256*mib))
	}
	t.Logf("start: GOMAXPROCS %d (%s) GOMEMLIMIT %d", r.GOMAXPROCS, r.P.Reason, r.GOMEMLIMIT)

	// step writes, then polls the child until the values are in force and
	// rightsize's decisions record them. The lag is taken from the child's
	// own clock (one clock in the guest): from its watcher's last tick
	// before the write (its tick schedule, known from the ticks of the
	// changes it reported) to the tick that applied the change, so a slow
	// query round trip does not count. With the runtime's updates on, the
	// runtime may apply GOMAXPROCS itself before rightsize's next tick,
	// and rightsize then records nothing for it: the time until a query
	// saw it is that lag.
	step := func(what string, procs int, mem int64, change func()) childReport {
		t.Helper()
		before := c.query()
		c.observe(before)
		change()
		written := time.Now()
		d, r, ok := c.await(5*time.Second, func(r childReport) bool { return r.GOMAXPROCS == procs && r.GOMEMLIMIT == mem })
		if !ok {
			t.Fatalf("%s: not followed after %v: GOMAXPROCS %d GOMEMLIMIT %d, want %d and %d\n  P: %s\n  M: %s", what, d, r.GOMAXPROCS, r.GOMEMLIMIT, procs, mem, r.P.Reason, r.M.Reason)
		}
		_, r, ok = c.await(bound, func(r childReport) bool { return r.P.Value == int64(procs) && r.M.Value == mem })
		if r.GOMAXPROCS != procs || r.GOMEMLIMIT != mem {
			t.Fatalf("%s: GOMAXPROCS %d GOMEMLIMIT %d moved on again, want %d and %d", what, r.GOMAXPROCS, r.GOMEMLIMIT, procs, mem)
		}
		byRuntime := !ok && r.P.Value != int64(procs) && r.M.Value == mem && m.updates
		if !ok && !byRuntime {
			t.Errorf("%s: values in force but rightsize's decisions say GOMAXPROCS %d GOMEMLIMIT %d", what, r.P.Value, r.M.Value)
		}
		lag, applied := c.stepLag(len(before.Changes), r, written)
		how := "by rightsize"
		if byRuntime {
			how = "GOMAXPROCS by the Go runtime itself"
			lag = max(lag, d)
		} else if !applied {
			t.Errorf("%s: the values are in force, but the watcher recorded no change", what)
		}
		if lag > bound {
			t.Errorf("%s: applied %v after the last tick before the write (%s), more than 3 × %v + %v", what, lag.Round(time.Millisecond), how, interval, slack)
		}
		t.Logf("%s: GOMAXPROCS %d GOMEMLIMIT %d applied %v after the last tick before the write (%s; bound %v; a query saw it %v after the write)\n  P: %s\n  M: %s (%s)",
			what, procs, mem, lag.Round(time.Millisecond), how, bound, d.Round(time.Millisecond), r.P.Reason, r.M.Reason, r.M.Source)
		c.observe(r)
		return r
	}
	r = step("resize leaf to 4 CPUs / 512 MiB", v2Procs(t, 400000), v2MemLimit(t, 512*mib), func() {
		wr(t, leaf, "cpu.max", "400000 100000")
		wr(t, leaf, "memory.max", strconv.Itoa(512*mib))
	})
	r = step("leaf memory.high 200 MiB", v2Procs(t, 400000), v2MemLimit(t, 200*mib), func() {
		wr(t, leaf, "memory.high", strconv.Itoa(200*mib))
	})
	if r.M.Source.Path != filepath.Join(leaf, "memory.high") {
		t.Errorf("GOMEMLIMIT source %s, want %s/memory.high", r.M.Source, leaf)
	}
	// The Go runtime reads the leaf only: it would stay at 4.
	r = step("parent 1 CPU / 128 MiB over the leaf's 4 CPUs / 512 MiB", v2Procs(t, 100000), v2MemLimit(t, 128*mib), func() {
		wr(t, top, "cpu.max", "100000 100000")
		wr(t, top, "memory.max", strconv.Itoa(128*mib))
	})
	if r.P.Source.Path != filepath.Join(top, "cpu.max") || r.M.Source.Path != filepath.Join(top, "memory.max") {
		t.Errorf("sources %s and %s, want the parent's cpu.max and memory.max", r.P.Source, r.M.Source)
	}
	if m.aware && !strings.Contains(r.P.Reason, "the Go runtime's default would be 4") {
		t.Errorf("the decision does not name the runtime's default 4: %s", r.P.Reason)
	}
	r = step("parent lifted", v2Procs(t, 400000), v2MemLimit(t, 200*mib), func() {
		wr(t, top, "cpu.max", "max 100000")
		wr(t, top, "memory.max", "max")
	})
	if m.updates {
		// 4 is the runtime's own default again: rightsize hands it back,
		// so the runtime's updates are on again and follow the leaf alone.
		if !strings.Contains(r.P.Reason, "handed back") {
			t.Errorf("want GOMAXPROCS handed back to the runtime: %s", r.P.Reason)
		}
	}
	step("leaf to 3 CPUs", v2Procs(t, 300000), v2MemLimit(t, 200*mib), func() {
		wr(t, leaf, "cpu.max", "300000 100000")
	})
}

// testV2MovedAfterStart: children born in a cgroup without a CPU limit
// (memory.max set, so that the blank import runs its watcher) and then
// moved into a leaf limited to 1 CPU, with the runtime's updates on. The
// Go runtime opened the cpu.max of the cgroup it was born in and keeps
// reading that one; rightsize's watcher notices the move. Only rightsize's
// side is asserted; the runtime's is logged.
func testV2MovedAfterStart(t *testing.T) {
	m := v2Modes[2]
	top := mkcgV2(t, v2Top(), true)
	born := mkcgV2(t, filepath.Join(top, "born"), false)
	leaf := mkcgV2(t, filepath.Join(top, "leaf"), false)
	wr(t, born, "memory.max", strconv.Itoa(512*mib))
	wr(t, leaf, "cpu.max", "100000 100000")
	wr(t, leaf, "memory.max", strconv.Itoa(256*mib))
	env := []string{"GODEBUG=" + m.godebug, "RIGHTSIZE_WATCH_INTERVAL=200ms", "RIGHTSIZE_OFFHEAP=off"} // the static policy is checked
	off := startChildInV2(t, born, "serve", append(env, "RIGHTSIZE=off"))
	on := startChildInV2(t, born, "serve", env)
	for _, c := range []*childProc{off, on} {
		if r := c.query(); r.GOMAXPROCS != v2GuestCPUs {
			t.Fatalf("before the move: GOMAXPROCS %d, want %d", r.GOMAXPROCS, v2GuestCPUs)
		}
		wr(t, leaf, "cgroup.procs", strconv.Itoa(c.cmd.Process.Pid))
	}
	wantP, wantM := v2Want(t, 100000, 256*mib)
	moved := time.Now()
	_, r, ok := on.await(3*time.Second, func(r childReport) bool {
		return r.GOMAXPROCS == wantP && r.GOMEMLIMIT == wantM
	})
	if !ok {
		t.Errorf("rightsize did not follow the move: GOMAXPROCS %d GOMEMLIMIT %d\n  P: %s\n  M: %s", r.GOMAXPROCS, r.GOMEMLIMIT, r.P.Reason, r.M.Reason)
	} else {
		t.Logf("with rightsize: GOMAXPROCS %d GOMEMLIMIT %d %v after the move", r.GOMAXPROCS, r.GOMEMLIMIT, time.Since(moved).Round(time.Millisecond))
	}
	// Two of the runtime's own update periods (about a second each; the
	// runtime reports nothing when one passes, so this is a wait, not a
	// synchronisation). Only logged.
	if d := 2200*time.Millisecond - time.Since(moved); d > 0 {
		time.Sleep(d)
	}
	r = off.query()
	t.Logf("the Go runtime alone (containermaxprocs=1, updatemaxprocs=1): GOMAXPROCS %d %v after the move into a leaf of 1 CPU (its container-aware default there: 2)",
		r.GOMAXPROCS, time.Since(moved).Round(time.Millisecond))
	if !strings.Contains(r.Cgroup, strings.TrimPrefix(leaf, v2GuestMount)) {
		t.Errorf("child not in %s: %s", leaf, r.Cgroup)
	}
}

// cpuStat reads the counters of a cgroup's cpu.stat.
func cpuStat(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	st := map[string]int64{}
	for _, line := range strings.Split(v2Read(t, filepath.Join(dir, "cpu.stat")), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if n, err := strconv.ParseInt(v, 10, 64); ok && err == nil {
			st[k] = n
		}
	}
	return st
}

// testV2Throttling: in a leaf limited to 1 CPU, a child without rightsize
// (GOMAXPROCS 6, the runtime's default under this module's go line) keeps
// 6 goroutines busy for a second and gets throttled; the same child with
// rightsize (GOMAXPROCS 1) is shown beside it. Only the rise of the first
// one's counters is asserted.
func testV2Throttling(t *testing.T) {
	const spin = time.Second
	run := func(name string, env []string) (procs int, delta map[string]int64) {
		top := mkcgV2(t, v2Top(), true)
		leaf := mkcgV2(t, filepath.Join(top, "leaf"), false)
		wr(t, leaf, "cpu.max", "100000 100000")
		before := cpuStat(t, leaf)
		c := startChildInV2(t, leaf, "spin="+spin.String(), env)
		hello := c.next(30 * time.Second)
		if hello.Event != "spin" {
			t.Fatalf("%s: the busy child said %+v", name, hello)
		}
		c.wait(30 * time.Second)
		after := cpuStat(t, leaf)
		delta = map[string]int64{}
		for k, v := range after {
			delta[k] = v - before[k]
		}
		t.Logf("%s: GOMAXPROCS %d, 1 s busy loop under 1 CPU: usage +%v, periods +%d, throttled +%d, throttled time +%v",
			name, hello.GOMAXPROCS, time.Duration(delta["usage_usec"])*time.Microsecond, delta["nr_periods"], delta["nr_throttled"],
			time.Duration(delta["throttled_usec"])*time.Microsecond)
		return hello.GOMAXPROCS, delta
	}
	procs, d := run("runtime alone", []string{"RIGHTSIZE=off"})
	if procs != v2GuestCPUs {
		t.Errorf("child without rightsize has GOMAXPROCS %d, want %d (NumCPU: the go line 1.22 makes the runtime ignore cgroups)", procs, v2GuestCPUs)
	}
	if d["nr_periods"] <= 0 || d["nr_throttled"] <= 0 || d["throttled_usec"] <= 0 {
		t.Errorf("throttling counters did not rise with %d busy goroutines under 1 CPU: %v", procs, d)
	}
	procs, _ = run("with rightsize", nil)
	if want := v2Procs(t, 100000); procs != want {
		t.Errorf("child with rightsize has GOMAXPROCS %d, want %d", procs, want)
	}
}
