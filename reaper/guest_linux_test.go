//go:build linux

package reaper

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rightsize/rightsize/internal/testenv/pid1service/svc"
	"github.com/rightsize/rightsize/internal/testenv/qemu"
	"github.com/rightsize/rightsize/procfs"
)

// The reaper on a pure cgroup v2 kernel. TestGuestV2 boots the qemu guest
// (internal/testenv/qemu; the hosts are cgroup v1) with this package's
// test binary and the pid1service program, and runs TestGuestV2Guest
// there. The guest's PID 1 is the harness's /init, so the test makes a
// PID 1 the way a container runtime does: it starts pid1service in new
// PID and mount namespaces (it mounts its own /proc), inside a cgroup of
// its own with pids.max. Helpers join its PID namespace with setns(2), as
// `runc exec` does, start children and are killed; their orphans go to
// the service, which must reap them while its os/exec commands all get
// their real status. The same runs with RIGHTSIZE_REAPER=off, where the
// orphans stay zombies.

// guestEnv is set in the guest; TestGuestV2Guest runs only there.
const guestEnv = "RIGHTSIZE_REAPER_GUEST"

const (
	guestSvc  = "/bin/pid1service"
	guestTest = "/bin/reaper.test"
)

func TestGuestV2(t *testing.T) {
	if os.Getenv(guestEnv) != "" {
		t.Skip("inside the guest: TestGuestV2Guest runs here")
	}
	qemu.Skip(t)
	ctx := context.Background()
	dir := t.TempDir()
	svcBin, testBin := filepath.Join(dir, "pid1service"), filepath.Join(dir, "reaper.test")
	start := time.Now()
	if err := qemu.Build(ctx, "github.com/rightsize/rightsize/internal/testenv/pid1service", svcBin); err != nil {
		t.Fatal(err)
	}
	if err := qemu.BuildTest(ctx, "github.com/rightsize/rightsize/reaper", testBin); err != nil {
		t.Fatal(err)
	}
	built := time.Since(start)
	const test = "TestGuestV2Guest"
	res, err := qemu.Run(ctx, qemu.Config{
		CPUs:     2,
		MemoryMB: 1024,
		Files:    map[string]string{guestSvc: svcBin, guestTest: testBin},
		Command:  []string{guestTest, "-test.run=^" + test + "$", "-test.v", "-test.timeout=4m"},
		Env:      []string{guestEnv + "=1"},
		Timeout:  6 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("build %v, boot %v, guest %v", built.Round(time.Millisecond), res.BootTime.Round(time.Millisecond), res.Duration.Round(time.Millisecond))
	if res.ExitCode != 0 || !strings.Contains(res.Output, "--- PASS: "+test+" ") || strings.Contains(res.Output, "--- SKIP") {
		t.Fatalf("guest test failed (exit %d):\n%s", res.ExitCode, res.Output)
	}
	for _, line := range strings.Split(res.Output, "\n") {
		if strings.Contains(line, "guest_linux_test.go") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

// TestGuestV2Guest is the guest's side. Anything missing is a failure: the
// guest is made for it.
func TestGuestV2Guest(t *testing.T) {
	if os.Getenv(guestEnv) == "" {
		t.Skip("runs inside the qemu guest that TestGuestV2 boots")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the guest runs tests as root, this is not root")
	}
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		t.Fatalf("/sys/fs/cgroup is not cgroup2: %v", err)
	}
	t.Logf("guest kernel: %s", kernelRelease())
	t.Run("on", func(t *testing.T) { guestCase(t, true) })
	t.Run("off", func(t *testing.T) { guestCase(t, false) })
}

func kernelRelease() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}

// guestService is pid1service as PID 1 of new namespaces in a cgroup.
type guestService struct {
	t      *testing.T
	cmd    *exec.Cmd
	cg     string // cgroup directory
	client *svc.Client
	ready  svc.Status
}

func startGuestService(t *testing.T, env ...string) *guestService {
	t.Helper()
	cg := filepath.Join("/sys/fs/cgroup", fmt.Sprintf("reaper-test-%d", time.Now().UnixNano()))
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs last (after the service is stopped),
	// also when a step below fails.
	t.Cleanup(func() {
		// After the service's cleanup, which waits up to 10 s for the
		// namespace's last processes: a cgroup left now is reported.
		if err := os.Remove(cg); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("remove the test's cgroup %s: %v", cg, err)
		}
	})
	if err := os.WriteFile(filepath.Join(cg, "pids.max"), []byte("256"), 0); err != nil {
		t.Fatal(err)
	}
	cgfd, err := unix.Open(cg, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cgfd)
	g := &guestService{t: t, cg: cg}
	g.cmd = exec.Command(guestSvc, "serve", "-mount-proc")
	g.cmd.Env = append(os.Environ(), env...)
	g.cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWPID | syscall.CLONE_NEWNS,
		UseCgroupFD: true,
		CgroupFD:    cgfd,
	}
	in, err := g.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := g.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	g.cmd.Stderr = os.Stderr
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close() // the service exits when its input ends
		done := make(chan struct{})
		go func() { _ = g.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = g.cmd.Process.Kill() // PID 1 of its namespace: all of it dies
			<-done
		}
		// The namespace's last processes may take a moment to go.
		for i := 0; i < 1000 && os.Remove(cg) != nil; i++ {
			time.Sleep(10 * time.Millisecond)
		}
	})
	g.client = svc.NewClient(in, bufio.NewReader(out))
	r, err := g.client.Ready(time.Minute)
	if err != nil || r.Status == nil {
		t.Fatalf("service not ready: %v", err)
	}
	g.ready = *r.Status
	if g.ready.PID != 1 {
		t.Fatalf("service is PID %d in its namespace, not 1", g.ready.PID)
	}
	return g
}

// others returns pids.current less the service's threads.
func (g *guestService) others() int64 {
	g.t.Helper()
	cur, err := svc.ReadInt(filepath.Join(g.cg, "pids.current"))
	if err != nil {
		g.t.Fatal(err)
	}
	s, err := procfs.NewFS("").Status(strconv.Itoa(g.cmd.Process.Pid))
	if err != nil {
		g.t.Fatal(err)
	}
	return cur - int64(s.Threads)
}

func (g *guestService) waitOthers(want int64, within time.Duration) {
	g.t.Helper()
	deadline := time.Now().Add(within)
	for g.others() != want {
		if time.Now().After(deadline) {
			g.t.Fatalf("%d tasks besides the service's threads after %v, want %d", g.others(), within, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// probe starts pid1service spawn n in the service's PID namespace and
// cgroup, as `runc exec` starts a probe: from a thread that joined the
// namespace with setns(2), so the helper's parent is this process.
func (g *guestService) probe(n int) (*exec.Cmd, svc.Spawned) {
	g.t.Helper()
	type result struct {
		cmd *exec.Cmd
		out *bufio.Reader
		err error
	}
	got := make(chan result, 1)
	go func() {
		// The thread's PID namespace for children changes: it is
		// never unlocked, so it ends with this goroutine.
		runtime.LockOSThread()
		nsfd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/pid", g.cmd.Process.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			got <- result{err: err}
			return
		}
		defer unix.Close(nsfd)
		if err := unix.Setns(nsfd, unix.CLONE_NEWPID); err != nil {
			got <- result{err: fmt.Errorf("setns: %w", err)}
			return
		}
		cgfd, err := unix.Open(g.cg, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			got <- result{err: err}
			return
		}
		defer unix.Close(cgfd)
		c := exec.Command(guestSvc, "spawn", strconv.Itoa(n), "1h")
		c.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cgfd}
		out, err := c.StdoutPipe()
		if err == nil {
			err = c.Start()
		}
		got <- result{cmd: c, out: bufio.NewReader(out), err: err}
	}()
	r := <-got
	if r.err != nil {
		g.t.Fatal(r.err)
	}
	line, err := r.out.ReadBytes('\n')
	var sp svc.Spawned
	if err == nil {
		err = json.Unmarshal(line, &sp)
	}
	if err != nil || len(sp.PIDs) != n {
		g.t.Fatalf("spawn: %q, %v", line, err)
	}
	return r.cmd, sp
}

// orphans runs a probe with n children, kills it, and returns its
// orphans (inside PID -> guest PID) once the service has adopted them.
func (g *guestService) orphans(n int) map[int]int {
	g.t.Helper()
	c, sp := g.probe(n)
	if ns, err := svc.NSpid(c.Process.Pid); err != nil || len(ns) != 2 {
		g.t.Fatalf("probe %d: NSpid %v, %v: not in the service's namespace", c.Process.Pid, ns, err)
	}
	_ = c.Process.Kill() // this test's own child
	_ = c.Wait()
	hosts, err := svc.HostPIDs(filepath.Join(g.cg, "cgroup.procs"), sp.PIDs)
	if err != nil || len(hosts) != n {
		g.t.Fatalf("guest PIDs of %v: %v, %v", sp.PIDs, hosts, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, h := range hosts {
		for {
			st, err := svc.ProcStat(h)
			if err == nil && st.PPID == g.cmd.Process.Pid {
				break
			}
			if time.Now().After(deadline) {
				g.t.Fatalf("orphan %d not adopted by the service: %+v, %v", h, st, err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return hosts
}

func guestCase(t *testing.T, on bool) {
	var env []string
	if !on {
		env = []string{EnvReaper + "=" + EnvOff}
	}
	g := startGuestService(t, env...)
	t.Logf("reaper %v: %s", g.ready.Reaper.Active, g.ready.Reaper.Reason)
	if g.ready.Reaper.Active != on {
		t.Fatalf("reaper active %v, want %v", g.ready.Reaper.Active, on)
	}
	g.waitOthers(0, 10*time.Second)
	if !on {
		hosts := g.orphans(3)
		for in, h := range hosts {
			if err := svc.Kill(h, in, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
		// They become zombies, and stay: watched for 1.5 s, longer
		// than the reaper takes even under emulation.
		start := time.Now()
		for time.Since(start) < 1500*time.Millisecond {
			for _, h := range hosts {
				st, err := svc.ProcStat(h)
				if err != nil || (st.State != 'Z' && time.Since(start) > 500*time.Millisecond) || st.PPID != g.cmd.Process.Pid {
					t.Fatalf("orphan %d: %+v, %v; want a zombie child of the service", h, st, err)
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		s, err := g.client.Do("status", time.Minute)
		if err != nil || s.Status.Table.ZombieChildren != 3 {
			t.Errorf("status: %+v, %v", s.Status, err)
		}
		g.waitOthers(3, 5*time.Second)
		t.Logf("without the reaper: 3 zombies stay, table %+v", s.Status.Table)
		return
	}

	const commands, workers = 400, 4
	execDone, err := g.client.Send(fmt.Sprintf("exec %d %d", commands, workers))
	if err != nil {
		t.Fatal(err)
	}
	const rounds, perRound = 3, 3
	var lat []time.Duration
	for round := 0; round < rounds; round++ {
		hosts := g.orphans(perRound)
		start := time.Now()
		for in, h := range hosts {
			if err := svc.Kill(h, in, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
		for _, h := range hosts {
			for !svc.Gone(h) {
				if time.Since(start) > time.Second {
					st, _ := svc.ProcStat(h)
					t.Fatalf("round %d: orphan %d not reaped within 1s of SIGKILL: %+v", round, h, st)
				}
				time.Sleep(500 * time.Microsecond)
			}
		}
		lat = append(lat, time.Since(start))
	}
	r, err := g.client.Await(execDone, 3*time.Minute)
	if err != nil || r.Exec == nil {
		t.Fatalf("exec: %v", err)
	}
	x := r.Exec
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("os/exec: %d commands in %d ms: %d right (%d killed, %d late), %d wrong, %d ECHILD, %d start errors; %d orphans, SIGKILL to reaped per round: min %v, max %v",
		x.Total, x.Millis, x.OK, x.Killed, x.Late, x.Wrong, x.ECHILD, x.StartErrors, rounds*perRound, lat[0], lat[len(lat)-1])
	if x.OK != commands || x.ECHILD != 0 || x.Wrong != 0 {
		t.Errorf("os/exec: %+v", x)
	}
	s, err := g.client.Do("status", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status.Reaper.Reaped != rounds*perRound || s.Status.Table.ZombieChildren != 0 {
		t.Errorf("reaped %d, want %d; table %+v", s.Status.Reaper.Reaped, rounds*perRound, s.Status.Table)
	}
	g.waitOthers(0, 10*time.Second)
}
