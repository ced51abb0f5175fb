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
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Real cgroup v1 tests: on a Linux host with writable v1 controllers, as
// root, they create child cgroups below the test process's own cgroups,
// start a child process in them and check every reader against what was
// written and against load the child generates. Everything created is
// removed, also when a test fails.

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
	CPUSetCPUs int
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
	note(g.ReadStats(&r.Stats))
	r.CPUSetCPUs, _, err = g.CPUSetCPUs()
	note(err)
	r.Err = strings.Join(errs, "; ")
	return r
}

// v1Env is the test process's own v1 cgroup directories.
type v1Env struct {
	dirs map[Controller]string
}

func realV1(t *testing.T) v1Env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("real cgroup tests need root")
	}
	g, err := Open()
	if err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	defer g.Close()
	env := v1Env{dirs: map[Controller]string{}}
	for _, c := range []Controller{CPU, CPUAcct, Memory, PIDs} {
		loc, ok := g.Location(c)
		if !ok || loc.Version != 1 || loc.Degraded {
			t.Skipf("controller %s is not a writable v1 hierarchy here (%+v); the v2 cases run in the qemu guest", c, loc)
		}
		probe := filepath.Join(loc.Dir, "rightsize-probe-"+randSuffix())
		if err := os.Mkdir(probe, 0o755); err != nil {
			t.Skipf("cgroupfs not writable at %s: %v", loc.Dir, err)
		}
		os.Remove(probe)
		env.dirs[c] = loc.Dir
	}
	return env
}

func randSuffix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// mkcg creates rel below the process's cgroup of each controller (sharing
// one directory where controllers are mounted together) and removes it at
// cleanup.
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
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatalf("mkdir %s: %v", dir, err)
		}
		made[dir] = true
		t.Cleanup(func() {
			// The child has exited by now (its cleanup ran first); a
			// cgroup is removed with rmdir once it has no tasks.
			for i := 0; i < 50; i++ {
				if err := os.Remove(dir); err == nil || os.IsNotExist(err) {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Errorf("could not remove %s", dir)
		})
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
	name := "rightsize-test-" + randSuffix()
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
	if !r.CPUOK || r.CPU.CPUs != 1.5 || r.CPU.Quota != 150000 || r.CPU.Period != 100000 || r.CPU.Dir != dirs[CPU] {
		t.Errorf("CPULimit = %+v ok=%v, want 1.5 CPUs in %s", r.CPU, r.CPUOK, dirs[CPU])
	}
	if !r.MemOK || r.Mem.Bytes != 256<<20 || r.Mem.Dir != dirs[Memory] {
		t.Errorf("MemoryLimit = %+v ok=%v, want 256 MiB in %s", r.Mem, r.MemOK, dirs[Memory])
	}
	if !r.PIDsOK || r.PIDs.Max != 64 {
		t.Errorf("PIDsLimit = %+v ok=%v, want 64", r.PIDs, r.PIDsOK)
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
	parent := "rightsize-test-" + randSuffix()
	pdirs := env.mkcg(t, parent)
	write(t, pdirs[CPU], "cpu.cfs_period_us", "100000")
	write(t, pdirs[CPU], "cpu.cfs_quota_us", "100000")
	write(t, pdirs[Memory], "memory.limit_in_bytes", strconv.Itoa(128<<20))
	write(t, pdirs[PIDs], "pids.max", "32")
	ldirs := env.mkcg(t, filepath.Join(parent, "leaf"))
	write(t, ldirs[CPU], "cpu.cfs_quota_us", "-1")

	// The kernel refuses a leaf quota above the parent's.
	if err := os.WriteFile(filepath.Join(ldirs[CPU], "cpu.cfs_quota_us"), []byte("200000"), 0o644); err == nil {
		t.Log("kernel accepted a child quota above its parent's")
	}
	write(t, ldirs[CPU], "cpu.cfs_quota_us", "-1")

	c := startChild(t, ldirs)
	var r childReport
	c.send(t, "read", &r)
	if r.Err != "" {
		t.Fatalf("child errors: %s", r.Err)
	}
	if !r.CPUOK || r.CPU.CPUs != 1 || r.CPU.Dir != pdirs[CPU] {
		t.Errorf("CPULimit = %+v ok=%v, want 1 CPU from the parent %s", r.CPU, r.CPUOK, pdirs[CPU])
	}
	if !r.MemOK || r.Mem.Bytes != 128<<20 {
		t.Errorf("MemoryLimit = %+v ok=%v, want 128 MiB from the parent", r.Mem, r.MemOK)
	}
	if !r.PIDsOK || r.PIDs.Max != 32 || r.PIDs.Dir != pdirs[PIDs] {
		t.Errorf("PIDsLimit = %+v ok=%v, want 32 from the parent", r.PIDs, r.PIDsOK)
	}
}

// TestRealV1Vanish: a handle whose cgroup is removed after its tasks left
// returns errors naming the files, never panics.
func TestRealV1Vanish(t *testing.T) {
	env := realV1(t)
	name := "rightsize-test-" + randSuffix()
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
	if err := g.ReadStats(&st); err != nil {
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
	if err := g.ReadStats(&st); err == nil {
		t.Error("ReadStats after removal succeeded")
	} else {
		t.Logf("ReadStats after removal: %v", err)
	}
}
