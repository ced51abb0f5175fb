//go:build linux

package rightsize

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize/cgroup"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/internal/testenv/qemu"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// End-to-end tests of the blank import on the real cgroup v1 hierarchies
// of this host, and the machinery every child-process test of this package
// shares (the qemu guest's too, v2guest_linux_test.go): children, their
// protocol, their cgroups, and the sweep of cgroups left behind.
//
// A child is this test binary run with childEnv set to a mode; TestMain
// hands it to runChild after every init (the blank import has acted) and
// before the testing package gets control (which would call
// runtime.GOMAXPROCS and so switch off the Go 1.25+ runtime's own updates).
// Children run with GORACE=halt_on_error=1 (they are race-built when this
// binary is), their stderr is kept, and a "DATA RACE", "panic:" or "fatal
// error:" in it fails the test that ran them.

const (
	// waitEnv makes a child wait, before any init runs, for one byte on
	// stdin: the parent first moves it into the test's v1 cgroups, so
	// that the blank import's init runs inside them, as in a container.
	waitEnv = "RIGHTSIZE_E2E_WAIT"
	// execNSEnv is set by the shell that execs a child of the FIFO test:
	// the time (Unix nanoseconds) just before the exec.
	execNSEnv = "RIGHTSIZE_E2E_EXEC_NS"
)

// waitForParent runs as a package variable initializer, which Go runs
// before any init function of the package.
var _ = waitForParent()

func waitForParent() bool {
	if os.Getenv(childEnv) == "" || os.Getenv(waitEnv) == "" {
		return false
	}
	var b [1]byte
	_, _ = os.Stdin.Read(b[:])
	return true
}

func init() {
	childMain = runChild
}

// childReport is what a child says, one JSON line each time.
type childReport struct {
	// Event: "ready" (init is done; first line of "serve"), "report" (an
	// answer), "main" (the only line of "main"), "spin".
	Event      string
	Time       time.Time // when the child took the report
	GOMAXPROCS int
	GOMEMLIMIT int64
	NumCPU     int
	Cgroup     string // /proc/self/cgroup
	HostsFIFO  bool   // /etc/hosts is a FIFO in the child's view
	ExecNS     int64  // execNSEnv
	// OK, P, M and Changes are rightsize.Result's: whether init did
	// something, the decisions in force (Start's, updated by the
	// watcher), and the watcher's changes. Each decision's At is the time
	// of the tick that made it.
	OK      bool
	P, M    runtimeinfo.Decision
	Changes []runtimeinfo.Decision
	// Errors are those of the snapshot the decisions in force came from.
	Errors []string
}

func takeReport(event string) childReport {
	r := childReport{Event: event, Time: time.Now(), GOMAXPROCS: runtime.GOMAXPROCS(0), GOMEMLIMIT: debug.SetMemoryLimit(-1), NumCPU: runtime.NumCPU()}
	if res, changes, ok := Result(); ok {
		r.OK, r.P, r.M, r.Changes = true, res.GOMAXPROCS, res.GOMEMLIMIT, changes
		for _, err := range res.Snapshot.Errors {
			r.Errors = append(r.Errors, err.Error())
		}
	}
	cg, _ := os.ReadFile("/proc/self/cgroup")
	r.Cgroup = string(cg)
	if fi, err := os.Lstat("/etc/hosts"); err == nil {
		r.HostsFIFO = fi.Mode()&os.ModeNamedPipe != 0
	}
	r.ExecNS, _ = strconv.ParseInt(os.Getenv(execNSEnv), 10, 64)
	return r
}

// runChild is a child's main.
//
//	serve      print a "ready" report, then one report per line on stdin
//	main       print one "main" report and exit 0
//	spin=<d>   print a "spin" report, then keep GOMAXPROCS goroutines busy for d
func runChild(mode string) int {
	out := json.NewEncoder(os.Stdout)
	switch {
	case mode == "main":
		_ = out.Encode(takeReport("main"))
		return 0
	case mode == "serve":
		_ = out.Encode(takeReport("ready"))
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			_ = out.Encode(takeReport("report"))
		}
		return 0
	case strings.HasPrefix(mode, "spin="):
		d, err := time.ParseDuration(strings.TrimPrefix(mode, "spin="))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		_ = out.Encode(takeReport("spin"))
		spin(d)
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown child mode %q\n", mode)
	return 2
}

// spin keeps GOMAXPROCS goroutines busy for d.
func spin(d time.Duration) {
	n := runtime.GOMAXPROCS(0)
	deadline := time.Now().Add(d)
	done := make(chan uint64)
	for i := 0; i < n; i++ {
		go func() {
			var x uint64
			for time.Now().Before(deadline) {
				for j := 0; j < 1000; j++ {
					x += uint64(j) * x
				}
			}
			done <- x
		}()
	}
	for i := 0; i < n; i++ {
		<-done
	}
}

// lockedBuffer is a child's stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// childProc is a running child process of a test.
type childProc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	stderr lockedBuffer
	done   chan struct{} // closed once the child has exited
	err    error         // cmd.Wait's, once done is closed

	checked bool // checkStderr ran

	// interval is the child's watch interval; tickRef a time at which its
	// watcher ticked (see lastTickBefore).
	interval time.Duration
	tickRef  time.Time
}

// startChildProc starts cmd as a child of t: GORACE=halt_on_error=1 is
// added to its environment (which the caller sets), it is killed if this
// process dies (Pdeathsig), its stdout is read line by line and its stderr
// kept. At cleanup its stdin is closed, it is given a moment to exit, then
// killed, waited for, and its stderr checked (checkStderr).
func startChildProc(t *testing.T, name string, cmd *exec.Cmd) *childProc {
	t.Helper()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "GORACE=halt_on_error=1")
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	c := &childProc{t: t, name: name, cmd: cmd, lines: make(chan []byte, 64), done: make(chan struct{})}
	cmd.Stderr = &c.stderr
	var err error
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			c.lines <- append([]byte(nil), sc.Bytes()...)
		}
		close(c.lines)
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		c.stop()
		c.checkStderr()
	})
	return c
}

// stop ends the child: stdin closed (a serving child then exits 0), then
// after a grace period a kill (our own child, by its PID).
func (c *childProc) stop() {
	c.stdin.Close()
	select {
	case <-c.done:
		return
	case <-time.After(3 * time.Second):
	}
	_ = c.cmd.Process.Kill()
	for range c.lines {
	}
	<-c.done
}

// checkStderr fails the test when the child's stderr shows a data race, a
// panic or a fatal runtime error, and logs it otherwise (verbose runs).
func (c *childProc) checkStderr() {
	c.t.Helper()
	if c.checked {
		return
	}
	c.checked = true
	s := c.stderr.String()
	for _, bad := range []string{"DATA RACE", "panic:", "fatal error:"} {
		if strings.Contains(s, bad) {
			c.t.Errorf("%s (pid %d): %q on stderr:\n%s", c.name, c.cmd.Process.Pid, bad, s)
			return
		}
	}
	if s != "" && testing.Verbose() {
		c.t.Logf("%s stderr:\n%s", c.name, strings.TrimRight(s, "\n"))
	}
}

// wait waits for the child to exit by itself and fails the test unless it
// exited 0 with a clean stderr.
func (c *childProc) wait(max time.Duration) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(max):
		c.t.Fatalf("%s still running after %v", c.name, max)
	}
	if c.err != nil {
		c.t.Errorf("%s: %v\nstderr:\n%s", c.name, c.err, c.stderr.String())
	}
	c.checkStderr()
}

// next returns the child's next line, or fails the test.
func (c *childProc) next(max time.Duration) childReport {
	c.t.Helper()
	select {
	case line, ok := <-c.lines:
		if !ok {
			<-c.done
			c.t.Fatalf("%s ended (%v) without a line; stderr:\n%s", c.name, c.err, c.stderr.String())
		}
		var r childReport
		if err := json.Unmarshal(line, &r); err != nil {
			c.t.Fatalf("%s said %q: %v", c.name, line, err)
		}
		return r
	case <-time.After(max):
		c.t.Fatalf("%s said nothing for %v; stderr:\n%s", c.name, max, c.stderr.String())
	}
	panic("unreachable")
}

// release lets a child started with waitEnv go on, once it is where it
// should be.
func (c *childProc) release() {
	c.t.Helper()
	if _, err := c.stdin.Write([]byte{'g'}); err != nil {
		c.t.Fatal(err)
	}
}

// ready waits for the "ready" line of a serving child: its init is done.
// The init decisions' time is the first known tick of its watcher.
func (c *childProc) ready() childReport {
	c.t.Helper()
	r := c.next(30 * time.Second)
	if r.Event != "ready" {
		c.t.Fatalf("%s: first line %+v, want ready", c.name, r)
	}
	c.tickRef = r.P.At
	return r
}

func (c *childProc) query() childReport {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, "?\n"); err != nil {
		c.t.Fatalf("query %s: %v", c.name, err)
	}
	return c.next(30 * time.Second)
}

// await queries the child until want holds or max passes.
func (c *childProc) await(max time.Duration, want func(childReport) bool) (time.Duration, childReport, bool) {
	start := time.Now()
	for {
		r := c.query()
		if want(r) {
			return time.Since(start), r, true
		}
		if time.Since(start) > max {
			return time.Since(start), r, false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// observe records the ticks seen in r (the times of the watcher's changes),
// so that later lags are measured from the tick schedule.
func (c *childProc) observe(r childReport) {
	for _, d := range r.Changes {
		if d.At.After(c.tickRef) {
			c.tickRef = d.At
		}
	}
}

// lastTickBefore returns the last tick of the child's watcher at or before
// w. A watcher ticks every interval from a fixed phase (time.Ticker keeps
// it), and tickRef is one of its ticks.
func (c *childProc) lastTickBefore(w time.Time) time.Time {
	if c.interval <= 0 || !w.After(c.tickRef) {
		return c.tickRef
	}
	return c.tickRef.Add(w.Sub(c.tickRef) / c.interval * c.interval)
}

// stepLag is how a test measures the watcher: lag is from the last tick of
// the child's watcher before the write (w) to the tick that applied the
// last of the changes made since (the Changes beyond before).
func (c *childProc) stepLag(before int, r childReport, w time.Time) (lag time.Duration, applied bool) {
	var last time.Time
	for _, d := range r.Changes[min(before, len(r.Changes)):] {
		if d.At.After(last) {
			last = d.At
		}
	}
	if last.IsZero() {
		return 0, false
	}
	return last.Sub(c.lastTickBefore(w)), true
}

// v1dirs finds this process's own v1 cpu and memory cgroup directories;
// without root or v1 cpu and memory hierarchies the test skips (or fails,
// with RIGHTSIZE_REQUIRE_CGROUP=1 or RIGHTSIZE_REQUIRE=1).
func v1dirs(t *testing.T) (cpu, mem string) {
	t.Helper()
	if r := testenv.CgroupV1Missing(); r != "" {
		testenv.SkipOrFail(t, testenv.Cgroup, r)
	}
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, testenv.Cgroup, "real-cgroup test needs root")
	}
	g, err := cgroup.Open()
	if err != nil {
		testenv.SkipOrFail(t, testenv.Cgroup, fmt.Sprintf("no cgroups: %v", err))
	}
	defer g.Close()
	c, ok1 := g.Location(cgroup.CPU)
	m, ok2 := g.Location(cgroup.Memory)
	if !ok1 || !ok2 || c.Version != 1 || m.Version != 1 {
		testenv.SkipOrFail(t, testenv.Cgroup, fmt.Sprintf("needs cgroup v1 cpu and memory controllers (layout %s); v2 runs in the qemu guest", g.Layout()))
	}
	return c.Dir, m.Dir
}

// cgName is a fresh name for a top-level cgroup of these tests, with this
// process's PID in it, so that the sweeps (testenv.SweepMain, run by
// TestMain, and the reaper testenv.MkdirCgroup starts) know whose it is.
func cgName() string { return testenv.CgroupName("e2e") }

// mkcg creates a cgroup directory the test owns and removes it at cleanup
// (t.Cleanup runs in reverse order: children first, after the processes
// started later have been killed). Should the test binary die first, the
// reaper removes it (see testenv.MkdirCgroup).
func mkcg(t *testing.T, dir string) string {
	t.Helper()
	testenv.MkdirCgroup(t, dir)
	return dir
}

func wr(t *testing.T, dir, file, value string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
		t.Fatalf("write %s to %s/%s: %v", value, dir, file, err)
	}
}

// TestRealCgroupV1 runs children with the blank import in cgroups made
// under this process's own v1 cpu and memory cgroups, resizes them in
// place, moves a child and removes its old cgroup, and checks that the
// watcher follows each change within three watch intervals of its last
// tick before the write (plus slack), under each GODEBUG mode.
func TestRealCgroupV1(t *testing.T) {
	// The main module's go line (1.22) makes the runtime's default
	// containermaxprocs=0,updatemaxprocs=0; GODEBUG turns each on. With 2
	// CPUs the runtime's default is 2 whatever the quota, so the modes
	// differ only in how rightsize gets there (override or hand back);
	// the qemu guest with more vCPUs shows the values differ.
	modes := []string{"", "containermaxprocs=1,updatemaxprocs=1", "containermaxprocs=1,updatemaxprocs=0", "containermaxprocs=0"}
	for _, mode := range modes {
		name := "GODEBUG=" + mode
		if mode == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) { realCgroupV1(t, mode) })
	}
}

func realCgroupV1(t *testing.T, godebug string) {
	cpuOwn, memOwn := v1dirs(t)
	// Timing is measured: no emulated guest may run meanwhile.
	qemu.Exclusive(t)
	name := cgName()
	// Parent P and leaf L under this process's own cgroups; M is where the
	// child is moved later.
	cpuP := mkcg(t, filepath.Join(cpuOwn, name))
	cpuL := mkcg(t, filepath.Join(cpuP, "leaf"))
	cpuM := mkcg(t, filepath.Join(cpuP, "moved"))
	memP := mkcg(t, filepath.Join(memOwn, name))
	memL := mkcg(t, filepath.Join(memP, "leaf"))
	memM := mkcg(t, filepath.Join(memP, "moved"))

	wr(t, cpuL, "cpu.cfs_period_us", "100000")
	wr(t, cpuL, "cpu.cfs_quota_us", "150000")
	wr(t, memL, "memory.limit_in_bytes", strconv.Itoa(256<<20))

	const interval = 100 * time.Millisecond
	// Slack over three intervals: scheduling of a child throttled to one
	// CPU on a loaded 2-CPU host, more under -race.
	const slack = 150 * time.Millisecond
	bound := 3*interval + slack
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// The static GOMEMLIMIT policy is what this test checks: the off-heap
	// estimate (a -race child's shadow memory is charged to its cgroup
	// and not held by the Go runtime, 10–11 MiB in CI) would move it by
	// more than a step. memory_linux_test.go tests the estimate.
	cmd.Env = append(os.Environ(), childEnv+"=serve", waitEnv+"=1", "RIGHTSIZE_WATCH_INTERVAL="+interval.String(), "GODEBUG="+godebug, "RIGHTSIZE_OFFHEAP=off")
	c := startChildProc(t, "child", cmd)
	c.interval = interval
	pid := strconv.Itoa(c.cmd.Process.Pid)
	wr(t, cpuL, "cgroup.procs", pid)
	wr(t, memL, "cgroup.procs", pid)
	c.release()

	cpus := runtime.NumCPU()
	ceil := func(q, p int) int { return min((q+p-1)/p, cpus) }
	// 1. Start: quota 150000/100000 and 256 MiB.
	r := c.ready()
	t.Logf("init: GOMAXPROCS %d GOMEMLIMIT %d\n  P: %s\n  M: %s", r.GOMAXPROCS, r.GOMEMLIMIT, r.P.Reason, r.M.Reason)
	if !r.OK || r.GOMAXPROCS != ceil(150000, 100000) || r.GOMEMLIMIT != 241591910 {
		t.Fatalf("at start: GOMAXPROCS %d GOMEMLIMIT %d, want %d and %d", r.GOMAXPROCS, r.GOMEMLIMIT, ceil(150000, 100000), 241591910)
	}
	if !strings.Contains(r.Cgroup, name+"/leaf") {
		t.Fatalf("child not in the leaf: %s", r.Cgroup)
	}

	// step writes, waits until the child has the values in force and its
	// decisions record them, and measures the lag from the child's watcher
	// tick schedule.
	step := func(what string, procs int, mem int64, change func()) childReport {
		t.Helper()
		before := c.query()
		c.observe(before)
		change()
		written := time.Now()
		d, r, ok := c.await(10*time.Second, func(r childReport) bool {
			return r.GOMAXPROCS == procs && r.GOMEMLIMIT == mem && r.P.Value == int64(procs) && r.M.Value == mem
		})
		if !ok {
			t.Fatalf("%s: not followed after %v: GOMAXPROCS %d GOMEMLIMIT %d, want %d and %d\n  P: %s\n  M: %s", what, d, r.GOMAXPROCS, r.GOMEMLIMIT, procs, mem, r.P.Reason, r.M.Reason)
		}
		lag, applied := c.stepLag(len(before.Changes), r, written)
		if !applied {
			t.Errorf("%s: the values are in force, but the watcher recorded no change", what)
			return r
		}
		if lag > bound {
			t.Errorf("%s: applied %v after the watcher's last tick before the write, more than 3 × %v + %v", what, lag.Round(time.Millisecond), interval, slack)
		}
		t.Logf("%s: applied %v after the last tick before the write (bound %v; a query saw it %v after the write)", what, lag.Round(time.Millisecond), bound, d.Round(time.Millisecond))
		c.observe(r)
		return r
	}
	// 2. In-place resize: 1 CPU, 512 MiB.
	step("resize to 1 CPU / 512 MiB", 1, 483183820, func() {
		wr(t, cpuL, "cpu.cfs_quota_us", "100000")
		wr(t, memL, "memory.limit_in_bytes", strconv.Itoa(512<<20))
	})
	// 3. Up to 2 CPUs.
	r = step("resize to 2 CPUs", ceil(200000, 100000), 483183820, func() {
		wr(t, cpuL, "cpu.cfs_quota_us", "200000")
	})
	if snap, _ := runtimeinfo.Read(runtimeinfo.WithEnviron([]string{"GODEBUG=" + godebug})); snap.Mode.Updates && cpus == 2 {
		// 2 equals the runtime's container-aware default: handed back.
		if !strings.Contains(r.P.Reason, "handed back") {
			t.Errorf("want GOMAXPROCS handed back to the runtime: %s", r.P.Reason)
		}
	}
	// 4. A limited parent over a leaf with quota -1 (v1 refuses a child
	// quota above the parent's, so the leaf is lifted first), and a
	// parent memory limit over an unlimited leaf.
	r = step("parent 1 CPU / 128 MiB over an unlimited leaf", 1, 120795955, func() {
		wr(t, cpuL, "cpu.cfs_quota_us", "-1")
		wr(t, cpuP, "cpu.cfs_period_us", "100000")
		wr(t, cpuP, "cpu.cfs_quota_us", "100000")
		wr(t, memL, "memory.limit_in_bytes", "-1")
		wr(t, memP, "memory.limit_in_bytes", strconv.Itoa(128<<20))
	})
	if r.P.Source.Path != filepath.Join(cpuP, "cpu.cfs_quota_us") || r.M.Source.Path != filepath.Join(memP, "memory.limit_in_bytes") {
		t.Errorf("sources %s and %s, want the parent's files", r.P.Source, r.M.Source)
	}
	// 5. The process moves to a sibling with 64 MiB, and its old cgroup
	// is removed.
	r = step("moved to a sibling, old cgroup removed", 1, 60397977, func() {
		wr(t, memM, "memory.limit_in_bytes", strconv.Itoa(64<<20))
		wr(t, cpuM, "cgroup.procs", pid)
		wr(t, memM, "cgroup.procs", pid)
		if err := os.Remove(memL); err != nil {
			t.Errorf("rmdir %s: %v", memL, err)
		}
		if err := os.Remove(cpuL); err != nil {
			t.Errorf("rmdir %s: %v", cpuL, err)
		}
	})
	if !strings.Contains(r.Cgroup, name+"/moved") {
		t.Errorf("child not in the moved cgroup: %s", r.Cgroup)
	}
	// 6. A negative check: a write that changes no decision (period and
	// quota doubled, the same 1 CPU) makes no change. The check waits
	// for the child's watcher to have ticked after the write (by the
	// child's clock and its tick schedule), not for a fixed time.
	before := c.query()
	c.observe(before)
	wr(t, cpuP, "cpu.cfs_period_us", "200000")
	wr(t, cpuP, "cpu.cfs_quota_us", "200000")
	written := time.Now()
	// Wait for a tick after the write: the child's own clock shows it.
	tick := c.lastTickBefore(written).Add(interval)
	_, after, _ := c.await(10*time.Second, func(r childReport) bool { return r.Time.After(tick.Add(interval / 2)) })
	if len(after.Changes) != len(before.Changes) || after.GOMAXPROCS != 1 {
		t.Errorf("a period change with the same ratio changed something: %+v", after.Changes[len(before.Changes):])
	}
}

// TestBlankImportFIFO (issue 11): files rightsize reads that are FIFOs
// (/etc/hosts, /proc/meminfo, the cgroup's memory limit file) must not
// block the blank import's init, which would hang the program before main.
// A child with the blank import runs in a private mount namespace (unshare
// -m --propagation private) with a FIFO bind-mounted over those files; it
// must reach the start of main within 100 ms of its exec and run normally,
// in a cgroup with CPU and memory limits and without.
func TestBlankImportFIFO(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, testenv.Cgroup, "needs root (a mount namespace, bind mounts, cgroups)")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		testenv.SkipOrFail(t, testenv.Cgroup, "unshare(1) not found")
	}
	if out, err := exec.Command(unshare, "-m", "--propagation", "private", "--", "/bin/sh", "-c", "mount --bind /dev/null /dev/null").CombinedOutput(); err != nil {
		testenv.SkipOrFail(t, testenv.Cgroup, fmt.Sprintf("cannot make a private mount namespace with a bind mount here: %v: %s", err, out))
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	const maxInit = 100 * time.Millisecond
	cpus := runtime.NumCPU()
	for _, tc := range []struct {
		name string
		// cgroup: none (this process's own), "unlimited" or "limited"
		// (1 CPU, 256 MiB), made by the test.
		cgroup string
		// fifoLimit: a FIFO over the test cgroup's memory.limit_in_bytes.
		fifoLimit bool
		env       []string
		procs     int
		memlimit  int64 // 0: left as it is
		memReason string
		// refused is the FIFO the snapshot reports as not read (the
		// limit file), or "" for none: the live blank import takes host
		// memory from sysinfo(2), so the FIFO over /proc/meminfo is never
		// opened.
		refused string
	}{
		{name: "own cgroup, Downward API memory limit", env: []string{runtimeinfo.EnvMemoryLimitBytes + "=268435456"}, procs: cpus, memlimit: 241591910},
		{name: "unlimited cgroup, FIFO limit file", cgroup: "unlimited", fifoLimit: true, procs: cpus, memReason: "cannot read the memory limit", refused: "memory.limit_in_bytes"},
		{name: "limited cgroup", cgroup: "limited", procs: 1, memlimit: 241591910},
		{name: "limited cgroup, FIFO limit file", cgroup: "limited", fifoLimit: true, procs: 1, memReason: "cannot read the memory limit", refused: "memory.limit_in_bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Start-up time is measured: no emulated guest meanwhile.
			qemu.Exclusive(t)
			var cpuCg, memCg string
			if tc.cgroup != "" {
				cpuOwn, memOwn := v1dirs(t)
				name := cgName()
				cpuCg = mkcg(t, filepath.Join(cpuOwn, name))
				memCg = mkcg(t, filepath.Join(memOwn, name))
				if tc.cgroup == "limited" {
					wr(t, cpuCg, "cpu.cfs_period_us", "100000")
					wr(t, cpuCg, "cpu.cfs_quota_us", "100000")
					wr(t, memCg, "memory.limit_in_bytes", strconv.Itoa(256<<20))
				}
			}
			script := `set -e
mount --bind "$FIFO" /etc/hosts
mount --bind "$FIFO" /proc/meminfo
if [ -n "$LIMITFILE" ]; then mount --bind "$FIFO" "$LIMITFILE"; fi
if [ -n "$CPUCG" ]; then echo $$ > "$CPUCG/cgroup.procs"; echo $$ > "$MEMCG/cgroup.procs"; fi
` + execNSEnv + `=$(date +%s%N)
export ` + execNSEnv + `
exec "$BIN" -test.run='^$'
`
			limitFile := ""
			if tc.fifoLimit {
				limitFile = filepath.Join(memCg, "memory.limit_in_bytes")
			}
			cmd := exec.Command(unshare, "-m", "--propagation", "private", "--", "/bin/sh", "-c", script)
			cmd.Env = append(os.Environ(), childEnv+"=main", "FIFO="+fifo, "BIN="+os.Args[0], "LIMITFILE="+limitFile, "CPUCG="+cpuCg, "MEMCG="+memCg)
			cmd.Env = append(cmd.Env, tc.env...)
			c := startChildProc(t, "FIFO child", cmd)
			r := c.next(30 * time.Second)
			c.wait(30 * time.Second)
			if r.Event != "main" || r.ExecNS == 0 {
				t.Fatalf("child said %+v", r)
			}
			init := r.Time.Sub(time.Unix(0, r.ExecNS))
			t.Logf("exec to main: %v (limit %v); GOMAXPROCS %d GOMEMLIMIT %d\n  P: %s\n  M: %s", init.Round(100*time.Microsecond), maxInit, r.GOMAXPROCS, r.GOMEMLIMIT, r.P.Reason, r.M.Reason)
			if init > maxInit {
				t.Errorf("exec to main took %v, more than %v", init, maxInit)
			}
			switch {
			case tc.refused == "" && len(r.Errors) != 0:
				t.Errorf("snapshot errors %q, want none", r.Errors)
			case tc.refused != "" && (len(r.Errors) != 1 || !strings.Contains(r.Errors[0], tc.refused) || !strings.Contains(r.Errors[0], "not a regular file")):
				t.Errorf("snapshot errors %q, want the FIFO %s refused as not a regular file", r.Errors, tc.refused)
			}
			if !r.HostsFIFO {
				t.Errorf("/etc/hosts is not a FIFO in the child's mount namespace")
			}
			if fi, err := os.Lstat("/etc/hosts"); err == nil && fi.Mode()&os.ModeNamedPipe != 0 {
				t.Fatalf("the bind mount leaked out of the child's namespace")
			}
			if tc.cgroup != "" && !strings.Contains(r.Cgroup, filepath.Base(cpuCg)) {
				t.Errorf("child not in %s: %s", cpuCg, r.Cgroup)
			}
			if !r.OK || r.GOMAXPROCS != tc.procs {
				t.Errorf("GOMAXPROCS %d, want %d: %s", r.GOMAXPROCS, tc.procs, r.P.Reason)
			}
			switch {
			case tc.memlimit != 0 && r.GOMEMLIMIT != tc.memlimit:
				t.Errorf("GOMEMLIMIT %d, want %d: %s", r.GOMEMLIMIT, tc.memlimit, r.M.Reason)
			case tc.memlimit == 0 && (r.M.Changed || !strings.Contains(r.M.Reason, tc.memReason)):
				t.Errorf("GOMEMLIMIT decision %+v, want it left as it is (%s)", r.M, tc.memReason)
			}
		})
	}
}
