//go:build linux

package reaper

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize/procfs"
)

// The test binary is its own helper: with helperEnv set it does what the
// value says and exits, before any test runs.
//
//	exit:K     exit with status K
//	sleep:D    sleep for D, then exit 0
//	orphans:N:D  start N children that sleep for D, print their PIDs on
//	             one line, and exit without waiting for them: they become
//	             orphans, adopted by the nearest subreaper or PID 1
const helperEnv = "RIGHTSIZE_REAPER_TEST_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(helper(h))
	}
	os.Exit(m.Run())
}

func helper(h string) int {
	mode, arg, _ := strings.Cut(h, ":")
	switch mode {
	case "exit":
		n, _ := strconv.Atoi(arg)
		return n
	case "sleep":
		d, _ := time.ParseDuration(arg)
		time.Sleep(d)
		return 0
	case "orphans":
		num, d, _ := strings.Cut(arg, ":")
		n, _ := strconv.Atoi(num)
		var pids []string
		for i := 0; i < n; i++ {
			c := exec.Command("/proc/self/exe")
			c.Env = append(os.Environ(), helperEnv+"=sleep:"+d)
			if err := c.Start(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			pids = append(pids, strconv.Itoa(c.Process.Pid))
		}
		fmt.Println(strings.Join(pids, " "))
		return 0
	}
	return 2
}

func self(mode string) *exec.Cmd {
	c := exec.Command("/proc/self/exe")
	c.Env = append(os.Environ(), helperEnv+"="+mode)
	return c
}

// startSubreaper starts a reaper in this test process, made a child
// subreaper so that it adopts orphans the way PID 1 does.
func startSubreaper(t testing.TB, opts ...Option) *Reaper {
	t.Helper()
	r, err := Start(append([]Option{WithSubreaper(true), WithEnviron(nil)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	if !r.Active() {
		t.Fatalf("reaper not active: %s", r.Reason())
	}
	return r
}

// leaveOrphans runs the orphans helper and returns the PIDs of the
// orphans it left, sleeping for d.
func leaveOrphans(t testing.TB, n int, d time.Duration) []int {
	t.Helper()
	out, err := self("orphans:" + strconv.Itoa(n) + ":" + d.String()).Output()
	if err != nil {
		t.Fatalf("orphans helper: %v", err)
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		p, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("orphans helper printed %q", out)
		}
		pids = append(pids, p)
	}
	return pids
}

// gone reports whether no process pid exists any more.
func gone(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return errors.Is(err, os.ErrNotExist)
}

func waitGone(t testing.TB, pids []int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		left := 0
		for _, p := range pids {
			if !gone(p) {
				left++
			}
		}
		if left == 0 {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%d of %d orphans still there after %v", left, len(pids), within)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNotPID1(t *testing.T) {
	if os.Getpid() == 1 {
		t.Skip("this test process is PID 1")
	}
	r, err := Start(WithEnviron(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if r.Active() || !strings.Contains(r.Reason(), "not PID 1") {
		t.Errorf("active %v, reason %q", r.Active(), r.Reason())
	}
}

func TestPidfdProtection(t *testing.T) {
	ok, why := pidfdsProtect()
	t.Logf("pidfd protection: %v %s (%s)", ok, why, runtimeVersion())
	if osKeepsPidfds && !ok {
		t.Logf("this kernel gives os/exec no pidfds: %s", why)
	}
}

// Orphans adopted by this process (a subreaper, as PID 1 adopts them) are
// reaped within a second while os/exec runs commands that all get their
// real exit status.
func TestReapsOrphansNotExecChildren(t *testing.T) {
	if ok, why := pidfdsProtect(); !ok {
		t.Skip(why)
	}
	r := startSubreaper(t)
	if r.Mode() != ModeOrphans {
		t.Fatalf("mode %v", r.Mode())
	}
	if active, _ := Status(); !active {
		t.Error("Status: not active")
	}

	const workers, perWorker = 4, 30
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, bad, echild int
	var badMsgs []string
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				code := (w*perWorker + i) % 7
				err := self("exit:" + strconv.Itoa(code)).Run()
				got := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					got = ee.ExitCode()
				} else if err != nil {
					got = -1
				}
				mu.Lock()
				switch {
				case errors.Is(err, syscall.ECHILD):
					echild++
				case got != code:
					bad++
					badMsgs = append(badMsgs, fmt.Sprintf("want %d, got %v", code, err))
				default:
					ok++
				}
				mu.Unlock()
			}
		}(w)
	}
	// Each round leaves three sleeping orphans, which this process
	// adopts when their parent exits, then kills them: the time from
	// SIGKILL to gone is the reaper's latency (exit, SIGCHLD, scan,
	// waitid). Killing by PID is safe: they are this process's children,
	// so their PIDs are not reused before they are reaped.
	var lat []time.Duration
	var orphans int
	for round := 0; round < 5; round++ {
		pids := leaveOrphans(t, 3, time.Hour)
		orphans += len(pids)
		for _, p := range pids {
			if st, err := procfs.NewFS("").ProcStat(strconv.Itoa(p)); err != nil || st.PPID != os.Getpid() {
				t.Fatalf("orphan %d: %+v, %v; want adopted by %d", p, st, err, os.Getpid())
			}
		}
		start := time.Now()
		for _, p := range pids {
			if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
		waitGone(t, pids, time.Second)
		lat = append(lat, time.Since(start))
	}
	wg.Wait()
	st := r.Stats()
	t.Logf("os/exec: %d right statuses, %d wrong, %d ECHILD; %d orphans reaped, SIGKILL to reaped %v; reaped %d, left %d (os/exec zombies seen), scans %d, errors %d",
		ok, bad, echild, orphans, lat, st.Reaped, st.Left, st.Scans, st.Errors)
	if bad != 0 || echild != 0 || ok != workers*perWorker {
		t.Errorf("os/exec: %d right, %d wrong, %d ECHILD: %q", ok, bad, echild, badMsgs)
	}
	if r.Reaped() < uint64(orphans) {
		t.Errorf("reaped %d, want at least %d", r.Reaped(), orphans)
	}
	if len(st.Recent) == 0 || st.Recent[len(st.Recent)-1].Signal != int(syscall.SIGKILL) || st.Recent[len(st.Recent)-1].Code != -1 {
		t.Errorf("recent exits %+v", st.Recent)
	}
}

// A child os/exec started and has not waited for yet is left alone, even
// as a zombie; once its Process is released, it is an orphan like any
// other and is reaped.
func TestLeavesExecZombieUntilReleased(t *testing.T) {
	if ok, why := pidfdsProtect(); !ok {
		t.Skip(why)
	}
	r := startSubreaper(t, WithInterval(0))
	cmd := self("exit:3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitZombie(t, cmd.Process.Pid)
	if n, err := r.ReapNow(); n != 0 || err != nil {
		t.Fatalf("reaped %d os/exec children (%v)", n, err)
	}
	if err := cmd.Wait(); cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 3 {
		t.Fatalf("Wait after a scan: %v", err)
	}

	rel := self("exit:4")
	if err := rel.Start(); err != nil {
		t.Fatal(err)
	}
	pid := rel.Process.Pid
	waitZombie(t, pid)
	if err := rel.Process.Release(); err != nil {
		t.Fatal(err)
	}
	// The SIGCHLD of its exit may start a scan that runs only now:
	// whichever scan reaps it, it is reaped once.
	if _, err := r.ReapNow(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, []int{pid}, time.Second)
	if st := r.Stats(); st.Reaped != 1 || len(st.Recent) == 0 || st.Recent[0] != (Exit{PID: pid, Code: 4, Time: st.Recent[0].Time}) || st.Left == 0 {
		t.Errorf("stats %+v", st)
	}
}

// ModeAll reaps os/exec's children too: a Wait that comes after the scan
// fails with ECHILD and the exit status is lost. This is the trade-off the
// documentation describes.
func TestReapAllStealsExecStatus(t *testing.T) {
	r := startSubreaper(t, WithReapAll(true), WithInterval(0))
	if r.Mode() != ModeAll {
		t.Fatalf("mode %v", r.Mode())
	}
	cmd := self("exit:5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The scan its SIGCHLD starts may reap it before it is seen as a
	// zombie; ReapNow does if that scan has not.
	deadline := time.Now().Add(10 * time.Second)
	for r.Reaped() == 0 && time.Now().Before(deadline) {
		_, _ = r.ReapNow()
		time.Sleep(time.Millisecond)
	}
	waitGone(t, []int{cmd.Process.Pid}, time.Second)
	if st := r.Stats(); st.Reaped != 1 || len(st.Recent) == 0 || st.Recent[0].Code != 5 {
		t.Errorf("stats %+v", st)
	}
	err := cmd.Wait()
	t.Logf("cmd.Wait after ModeAll reaped the child: %v", err)
	if !errors.Is(err, syscall.ECHILD) {
		t.Errorf("Wait: %v, want ECHILD", err)
	}
}

func TestSecondStart(t *testing.T) {
	r1 := startSubreaper(t, WithReapAll(true)) // ModeAll acts on every Go version
	r2, err := Start(WithSubreaper(true), WithEnviron(nil), WithReapAll(true))
	if err != nil {
		t.Fatal(err)
	}
	if r2.Active() || !strings.Contains(r2.Reason(), "another reaper") {
		t.Errorf("second reaper: active %v, %q", r2.Active(), r2.Reason())
	}
	if active, reason := Status(); !active || reason != r1.Reason() {
		t.Errorf("Status with a running reaper: %v %q", active, reason)
	}
	r1.Stop()
	if active, reason := Status(); active || reason != "stopped" && !strings.Contains(reason, "another") {
		t.Errorf("Status after Stop: %v %q", active, reason)
	}
}

func waitZombie(t testing.TB, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s, err := procfs.NewFS("").ProcStat(strconv.Itoa(pid)); err == nil && s.Zombie() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("process %d did not become a zombie", pid)
}

// A scan with nothing to reap, and one that finds only os/exec's zombie
// (left to its Wait), allocate nothing: what every SIGCHLD of a program
// running commands costs.
func TestScanNoAlloc(t *testing.T) {
	if ok, why := pidfdsProtect(); !ok {
		t.Skip(why)
	}
	r := startSubreaper(t, WithInterval(0))
	scan := func() {
		r.mu.Lock()
		_, _ = r.scan()
		r.mu.Unlock()
	}
	if a := testing.AllocsPerRun(100, scan); a != 0 {
		t.Errorf("nothing to reap: %v allocations per scan", a)
	}
	cmd := self("exit:0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	waitZombie(t, cmd.Process.Pid)
	if a := testing.AllocsPerRun(100, scan); a != 0 {
		t.Errorf("an os/exec zombie: %v allocations per scan", a)
	}
	if st := r.Stats(); st.Reaped != 0 || st.Left < 100 {
		t.Errorf("stats %+v", st)
	}
}

func BenchmarkScan(b *testing.B) {
	if ok, why := pidfdsProtect(); !ok {
		b.Skip(why)
	}
	r := startSubreaper(b, WithInterval(0))
	b.Run("nothing", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			r.mu.Lock()
			_, _ = r.scan()
			r.mu.Unlock()
		}
	})
	cmd := self("exit:0")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	waitZombie(b, cmd.Process.Pid)
	b.Run("execZombie", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			r.mu.Lock()
			_, _ = r.scan()
			r.mu.Unlock()
		}
	})
}
