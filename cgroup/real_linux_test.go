//go:build linux

package cgroup

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv"
)

// Real cgroup v1 tests: on a Linux host with writable v1 controllers, as
// root, they create child cgroups below the test process's own cgroups,
// start a child process in them and check every reader against what was
// written and against load the child generates. Everything created is
// removed, also when a test fails; what a killed run leaves (a go test
// -timeout) is swept by its reaper or the next run (TestMain,
// main_linux_test.go). Elsewhere, a cgroup v2 only host included, they
// skip, or fail under RIGHTSIZE_REQUIRE_CGROUP=1.

const childEnv = "RIGHTSIZE_CGROUP_TEST_CHILD"

// childReport is what the child process prints for each "read" command.
type childReport struct {
	CPU        CPULimit
	CPUOK      bool
	Mem        MemoryLimit
	MemOK      bool
	PIDs       PIDsLimit
	PIDsOK     bool
	Stats      Stats
	Locations  map[string]Location
	Err        string
	CPUSetCPUs CPUCount
}

// TestRealV1Child is the child's side; it does nothing in a normal run.
func TestRealV1Child(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("helper process for the real cgroup tests")
	}
	in := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	var keep [][]byte
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "read":
			out.Encode(childRead())
		case "spin":
			ms, _ := strconv.Atoi(arg)
			deadline := time.Now().Add(time.Duration(ms) * time.Millisecond)
			done := make(chan bool)
			for i := 0; i < runtime.NumCPU(); i++ {
				go func() {
					x := 0
					for time.Now().Before(deadline) {
						x++
					}
					done <- x > 0
				}()
			}
			for i := 0; i < runtime.NumCPU(); i++ {
				<-done
			}
			fmt.Println(`{"done":true}`)
		case "alloc":
			mib, _ := strconv.Atoi(arg)
			b := make([]byte, mib<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			keep = append(keep, b)
			fmt.Println(`{"done":true}`)
		}
	}
	_ = keep
	os.Exit(0)
}

func childRead() childReport {
	var r childReport
	g, err := Open()
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer g.Close()
	r.Locations = map[string]Location{}
	for c := Controller(0); c < numControllers; c++ {
		if l, ok := g.Location(c); ok {
			r.Locations[c.String()] = l
		}
	}
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	r.CPU, r.CPUOK, err = g.CPULimit()
	note(err)
	r.Mem, r.MemOK, err = g.MemoryLimit()
	note(err)
	r.PIDs, r.PIDsOK, err = g.PIDsLimit()
	note(err)
	note(g.ReadStats(&r.Stats, StatsAll))
	r.CPUSetCPUs, _, err = g.CPUSetCPUs()
	note(err)
	r.Err = strings.Join(errs, "; ")
	return r
}

// v1Env is the test process's own v1 cgroup directories.
type v1Env struct {
	dirs map[Controller]string
}

// realV1 returns the test process's v1 cgroup directories, or skips t
// with the reason they cannot be used here; with RIGHTSIZE_REQUIRE_CGROUP=1
// (or RIGHTSIZE_REQUIRE=1) it fails t instead.
func realV1(t *testing.T) v1Env {
	t.Helper()
	env, reason, err := realV1Precondition()
	if err != nil {
		t.Fatal(err)
	}
	if reason != "" {
		testenv.SkipOrFail(t, testenv.Cgroup, reason)
	}
	return env
}

// realV1Precondition is realV1's check: the directories, or why not (or
// an error, when the probe cgroup it made cannot be removed). A
// host without the v1 cpu, memory and pids hierarchies (a cgroup v2 only
// distribution) gets testenv.V2OnlyReason, root or not; TestRealV2Guest
// checks that in the pure v2 guest.
func realV1Precondition() (v1Env, string, error) {
	if reason := testenv.CgroupV1Missing(); reason != "" {
		return v1Env{}, reason, nil
	}
	if os.Geteuid() != 0 {
		return v1Env{}, "real cgroup tests need root", nil
	}
	g, err := Open()
	if err != nil {
		return v1Env{}, fmt.Sprintf("no cgroups: %v", err), nil
	}
	defer g.Close()
	env := v1Env{dirs: map[Controller]string{}}
	for _, c := range []Controller{CPU, CPUAcct, Memory, PIDs} {
		loc, ok := g.Location(c)
		if !ok || loc.Version != 1 || loc.Degraded {
			return v1Env{}, fmt.Sprintf("controller %s is not a writable v1 hierarchy here (%+v); the v2 cases run in the qemu guest", c, loc), nil
		}
		probe := filepath.Join(loc.Dir, testenv.CgroupName("probe"))
		if err := os.Mkdir(probe, 0o755); err != nil {
			return v1Env{}, fmt.Sprintf("cgroupfs not writable at %s: %v", loc.Dir, err), nil
		}
		if err := os.Remove(probe); err != nil {
			// Left for the sweeps (the name is a CgroupName), but a
			// cgroup the tests cannot remove is a failure, not a reason
			// to skip.
			return v1Env{}, "", fmt.Errorf("remove the probe cgroup %s: %w", probe, err)
		}
		env.dirs[c] = loc.Dir
	}
	return env, "", nil
}

func randSuffix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// mkcg creates rel below the process's cgroup of each controller (sharing
// one directory where controllers are mounted together) and removes it at
// cleanup. A top-level rel is a testenv.CgroupName, so that the sweeps
// (TestMain, the reaper, the next run) find what a killed run left.
func (e v1Env) mkcg(t *testing.T, rel string) map[Controller]string {
	t.Helper()
	out := map[Controller]string{}
	made := map[string]bool{}
	for c, base := range e.dirs {
		dir := filepath.Join(base, rel)
		out[c] = dir
		if made[dir] {
			continue
		}
		// The cleanup runs after the child's (registered later), so the
		// cgroup has no tasks left by then.
		testenv.MkdirCgroup(t, dir)
		made[dir] = true
	}
	return out
}

func write(t *testing.T, dir, file, value string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
		t.Fatalf("write %s to %s/%s: %v", value, dir, file, err)
	}
}

// child is a helper process started stopped on stdin, moved into cgroups.
type child struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startChild(t *testing.T, dirs map[Controller]string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRealV1Child$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewScanner(outPipe)}
	c.out.Buffer(make([]byte, 1<<20), 1<<20)
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill() // our own child, by PID
			<-done
		}
	})
	pid := strconv.Itoa(cmd.Process.Pid)
	for _, dir := range dirs {
		write(t, dir, "cgroup.procs", pid)
	}
	return c
}

func (c *child) send(t *testing.T, line string, v any) {
	t.Helper()
	if _, err := fmt.Fprintln(c.in, line); err != nil {
		t.Fatal(err)
	}
	for c.out.Scan() {
		text := c.out.Text()
		if !strings.HasPrefix(text, "{") {
			continue // test framework chatter
		}
		if err := json.Unmarshal([]byte(text), v); err != nil {
			t.Fatalf("child said %q: %v", text, err)
		}
		return
	}
	t.Fatalf("child exited: %v", c.out.Err())
}

func TestRealV1Limits(t *testing.T) {
	env := realV1(t)
	name := testenv.CgroupName("cgroup")
	dirs := env.mkcg(t, name)
	write(t, dirs[CPU], "cpu.cfs_period_us", "100000")
	write(t, dirs[CPU], "cpu.cfs_quota_us", "150000")
	write(t, dirs[Memory], "memory.limit_in_bytes", strconv.Itoa(256<<20))
	write(t, dirs[PIDs], "pids.max", "64")

	c := startChild(t, dirs)
	var r childReport
	c.send(t, "read", &r)
	if r.Err != "" {
		t.Fatalf("child errors: %s", r.Err)
	}
	if r.Locations["cpu"].Dir != dirs[CPU] || r.Locations["memory"].Dir != dirs[Memory] || r.Locations["pids"].Dir != dirs[PIDs] {
		t.Fatalf("child found its cgroups at %+v, want %v", r.Locations, dirs)
	}
	wantCPU := CPULimit{CPUs: 1.5, Quota: 150 * time.Millisecond, Period: 100 * time.Millisecond, Path: path.Join(dirs[CPU], "cpu.cfs_quota_us")}
	if !r.CPUOK || r.CPU != wantCPU {
		t.Errorf("CPULimit = %+v ok=%v, want %+v", r.CPU, r.CPUOK, wantCPU)
	}
	wantMem := MemoryLimit{Bytes: 256 << 20, Path: path.Join(dirs[Memory], "memory.limit_in_bytes")}
	if !r.MemOK || r.Mem != wantMem {
		t.Errorf("MemoryLimit = %+v ok=%v, want %+v", r.Mem, r.MemOK, wantMem)
	}
	wantPIDs := PIDsLimit{Max: 64, Path: path.Join(dirs[PIDs], "pids.max")}
	if !r.PIDsOK || r.PIDs != wantPIDs {
		t.Errorf("PIDsLimit = %+v ok=%v, want %+v", r.PIDs, r.PIDsOK, wantPIDs)
	}
	if !r.Stats.CPU.HasUsage || r.Stats.CPU.UsagePath != path.Join(dirs[CPUAcct], "cpuacct.usage") {
		t.Errorf("CPU usage %+v, want it read from %s/cpuacct.usage", r.Stats.CPU, dirs[CPUAcct])
	}
	if !r.Stats.PIDs.HasCurrent || r.Stats.PIDs.Current < 1 {
		t.Errorf("pids.current = %+v", r.Stats.PIDs)
	}
	before := r.Stats

	// Busy loops on every CPU under a 0.2-CPU quota: throttled, and CPU
	// usage rises by about the quota times the duration. The quota is
	// lowered first so that the loop exceeds it even on a busy machine.
	write(t, dirs[CPU], "cpu.cfs_quota_us", "20000")
	var ack map[string]any
	c.send(t, "spin 1000", &ack)
	c.send(t, "read", &r)
	after := r.Stats
	if !after.CPU.HasThrottling || after.CPU.Throttling.ThrottledPeriods <= before.CPU.Throttling.ThrottledPeriods ||
		after.CPU.Throttling.ThrottledTime <= before.CPU.Throttling.ThrottledTime {
		t.Errorf("throttling did not rise under a busy loop: before %+v after %+v", before.CPU, after.CPU)
	}
	if used := after.CPU.Usage - before.CPU.Usage; used < 50*time.Millisecond || used > 400*time.Millisecond {
		t.Errorf("CPU usage rose by %v over a 1 s busy loop under 0.2 CPUs", used)
	}
	if !r.CPUOK || r.CPU.CPUs != 0.2 {
		t.Errorf("CPULimit after the change = %+v, want 0.2", r.CPU)
	}

	// Memory usage rises when the child allocates.
	c.send(t, "alloc 64", &ack)
	c.send(t, "read", &r)
	if grew := r.Stats.Memory.Usage - after.Memory.Usage; grew < 50<<20 {
		t.Errorf("memory usage grew by %d bytes after a 64 MiB allocation", grew)
	}
	if !r.Stats.Memory.HasWorkingSet || r.Stats.Memory.WorkingSet > r.Stats.Memory.Usage || r.Stats.Memory.WorkingSet < 50<<20 {
		t.Errorf("working set %+v", r.Stats.Memory)
	}
	if !r.Stats.Memory.HasPeak || r.Stats.Memory.Peak < r.Stats.Memory.Usage {
		t.Errorf("peak %+v", r.Stats.Memory)
	}
}

// TestRealV1ParentTighter: v1 refuses a child quota above its parent's, so a
// parent tighter than its leaf is a limited parent over a leaf with quota -1.
// The Go runtime and automaxprocs read the leaf only and see no limit.
func TestRealV1ParentTighter(t *testing.T) {
	env := realV1(t)
	parent := testenv.CgroupName("cgroup")
	pdirs := env.mkcg(t, parent)
	write(t, pdirs[CPU], "cpu.cfs_period_us", "100000")
	write(t, pdirs[CPU], "cpu.cfs_quota_us", "100000")
	write(t, pdirs[Memory], "memory.limit_in_bytes", strconv.Itoa(128<<20))
	write(t, pdirs[PIDs], "pids.max", "32")
	ldirs := env.mkcg(t, filepath.Join(parent, "leaf"))
	write(t, ldirs[CPU], "cpu.cfs_quota_us", "-1")

	// The kernel refuses a leaf quota above the parent's (EINVAL from
	// tg_cfs_schedulable_down, on v1 only).
	if err := os.WriteFile(filepath.Join(ldirs[CPU], "cpu.cfs_quota_us"), []byte("200000"), 0o644); err == nil {
		t.Errorf("kernel accepted a leaf quota of 2 CPUs below a parent's 1 CPU")
	}
	write(t, ldirs[CPU], "cpu.cfs_quota_us", "-1")

	c := startChild(t, ldirs)
	var r childReport
	c.send(t, "read", &r)
	if r.Err != "" {
		t.Fatalf("child errors: %s", r.Err)
	}
	if !r.CPUOK || r.CPU.CPUs != 1 || r.CPU.Path != path.Join(pdirs[CPU], "cpu.cfs_quota_us") {
		t.Errorf("CPULimit = %+v ok=%v, want 1 CPU from the parent %s", r.CPU, r.CPUOK, pdirs[CPU])
	}
	if !r.MemOK || r.Mem.Bytes != 128<<20 || path.Dir(r.Mem.Path) != pdirs[Memory] {
		t.Errorf("MemoryLimit = %+v ok=%v, want 128 MiB from the parent %s", r.Mem, r.MemOK, pdirs[Memory])
	}
	if !r.PIDsOK || r.PIDs.Max != 32 || r.PIDs.Path != path.Join(pdirs[PIDs], "pids.max") {
		t.Errorf("PIDsLimit = %+v ok=%v, want 32 from the parent", r.PIDs, r.PIDsOK)
	}
	// The leaf alone (what the Go runtime reads) has no quota.
	g, err := Open(WithPID(c.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if lim, ok, err := g.LeafCPULimit(); ok || err != nil {
		t.Errorf("LeafCPULimit = %+v ok=%v err=%v, want none (leaf quota -1)", lim, ok, err)
	}
}

// TestRealV1OOMKill: the kernel's OOM killer kills a process of the
// cgroup; the memory events count it (memory.oom_control oom_kill, Linux
// 4.13+) and memory.failcnt the times usage hit the limit. The child that
// reads them is another process of the same cgroup, not the
// killer's choice.
func TestRealV1OOMKill(t *testing.T) {
	env := realV1(t)
	dirs := env.mkcg(t, testenv.CgroupName("cgroup"))
	write(t, dirs[Memory], "memory.limit_in_bytes", strconv.Itoa(64<<20))
	// No swapping in the cgroup (v1's own memory.swappiness), so the limit
	// binds on a host with swap too. A memory+swap limit is not used: it
	// would bind first and count in memory.memsw.failcnt, not failcnt.
	write(t, dirs[Memory], "memory.swappiness", "0")
	survivor := startChild(t, dirs)
	var r childReport
	survivor.send(t, "read", &r)
	if r.Err != "" || !r.Stats.Memory.HasEvents || r.Stats.Memory.Events != (MemoryEvents{}) {
		t.Fatalf("a new cgroup's memory events = %+v (has %v), err %q; want all 0", r.Stats.Memory.Events, r.Stats.Memory.HasEvents, r.Err)
	}
	oomKillVictim(t, dirs, 256)
	survivor.send(t, "read", &r)
	if e := r.Stats.Memory.Events; r.Err != "" || !r.Stats.Memory.HasEvents || e.OOMKill < 1 || e.OOM != e.OOMKill || e.Max < 1 || e.High != 0 {
		t.Errorf("after an OOM kill: memory events %+v (has %v), err %q; want oom_kill >= 1 (oom the same on v1), failcnt >= 1, high 0", e, r.Stats.Memory.HasEvents, r.Err)
	}
}

// oomKillVictim starts a child in dirs that touches mib MiB, far past the
// cgroup's memory limit, and waits for the kernel's OOM killer to end it
// with SIGKILL. Its oom_score_adj of 1000 makes it the killer's first
// choice whatever the other processes of the cgroup hold (raising it needs
// no privilege; lowering another's would need CAP_SYS_RESOURCE).
func oomKillVictim(t *testing.T, dirs map[Controller]string, mib int) {
	t.Helper()
	victim := startChild(t, dirs)
	adj := fmt.Sprintf("/proc/%d/oom_score_adj", victim.cmd.Process.Pid)
	if err := os.WriteFile(adj, []byte("1000"), 0); err != nil {
		t.Fatalf("write %s: %v", adj, err)
	}
	if _, err := fmt.Fprintf(victim.in, "alloc %d\n", mib); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- victim.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		ws, ok := syscall.WaitStatus(0), false
		if errors.As(err, &ee) {
			ws, ok = ee.Sys().(syscall.WaitStatus)
		}
		if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("the child touching %d MiB ended with %v; want SIGKILL from the OOM killer", mib, err)
		}
	case <-time.After(time.Minute):
		// Ended here, by PID, and waited for by the goroutine above, so
		// that startChild's cleanup does not wait on it at the same time.
		victim.cmd.Process.Kill()
		<-done
		t.Fatalf("the child touching %d MiB was not killed within a minute", mib)
	}
}

// TestRealV1Vanish: a handle whose cgroup is removed after its tasks left
// returns errors naming the files, never panics.
func TestRealV1Vanish(t *testing.T) {
	env := realV1(t)
	name := testenv.CgroupName("cgroup")
	dirs := env.mkcg(t, name)
	write(t, dirs[CPU], "cpu.cfs_quota_us", "50000")
	c := startChild(t, dirs)
	var r childReport
	c.send(t, "read", &r)
	if !r.CPUOK || r.CPU.CPUs != 0.5 {
		t.Fatalf("CPULimit = %+v", r.CPU)
	}
	// A handle on the child's cgroups, warm, from this process.
	g, err := Open(WithPID(c.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if lim, ok, err := g.CPULimit(); err != nil || !ok || lim.CPUs != 0.5 {
		t.Fatalf("CPULimit via WithPID = %+v %v %v", lim, ok, err)
	}
	var st Stats
	if err := g.ReadStats(&st, StatsAll); err != nil {
		t.Fatal(err)
	}
	c.in.Close()
	c.cmd.Wait()
	for d := range map[string]bool{dirs[CPU]: true, dirs[Memory]: true, dirs[PIDs]: true, dirs[CPUAcct]: true} {
		if err := os.Remove(d); err != nil {
			t.Fatalf("rmdir %s: %v", d, err)
		}
	}
	// The kept descriptors now point at removed files: errors that name
	// them, no panic, and the handle stays usable.
	_, _, err = g.CPULimit()
	var fe *Error
	if !errors.As(err, &fe) || !strings.HasPrefix(fe.Path, dirs[CPU]) {
		t.Errorf("CPULimit after removal: %v, want an error naming a file in %s", err, dirs[CPU])
	}
	if err := g.ReadStats(&st, StatsAll); err == nil {
		t.Error("ReadStats after removal succeeded")
	} else {
		t.Logf("ReadStats after removal: %v", err)
	}
}
