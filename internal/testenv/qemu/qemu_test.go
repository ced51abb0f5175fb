// The guest half of these tests uses Linux-only process attributes
// (CLONE_INTO_CGROUP); the host half needs a Linux test binary to boot.

//go:build linux

package qemu

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// This package's test binary plays three parts. On the host,
// TestGuestCgroupV2 builds it statically and boots it in a guest with
// 4 vCPUs. In the guest, TestInGuest checks the cgroup v2 set-up that /init
// promises and prints what it saw as "CHECK key=value" lines, which the
// host asserts again from the console. TestInGuest's child processes are
// the same binary again, told by childEnv to report their cgroup and exit
// (see TestMain).

const (
	guestEnv = "RIGHTSIZE_QEMU_TEST_GUEST"
	childEnv = "RIGHTSIZE_QEMU_TEST_CHILD"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(guestChild(mode))
	}
	if spec := os.Getenv(suitesEnv); spec != "" {
		os.Exit(runSuites(spec)) // in TestSuitesInGuest's guest
	}
	os.Exit(m.Run())
}

func TestGuestCgroupV2(t *testing.T) {
	Skip(t)
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), "qemu.test")
	if err := BuildTest(ctx, ".", bin); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, Config{
		CPUs:     4,
		MemoryMB: 512,
		Files:    map[string]string{"/bin/qemu.test": bin},
		Command:  []string{"/bin/qemu.test", "-test.run=^TestInGuest$", "-test.v"},
		Env:      []string{guestEnv + "=1"},
		Timeout:  3 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("boot (qemu start to command start) %v, whole run %v", res.BootTime.Round(time.Millisecond), res.Duration.Round(time.Millisecond))
	if res.ExitCode != 0 {
		t.Fatalf("guest test exited %d; console:\n%s", res.ExitCode, res.Console)
	}
	// A boot far slower than the few seconds it takes means the guest set-up
	// regressed (say, a kernel waiting for entropy or a timeout).
	if res.BootTime <= 0 || res.BootTime > time.Minute {
		t.Errorf("boot time %v, want under 1m", res.BootTime)
	}

	checks := map[string]string{}
	for _, line := range strings.Split(res.Output, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "CHECK "); ok {
			k, v, _ := strings.Cut(rest, "=")
			checks[k] = v
		}
	}
	for _, c := range []string{"cpu", "memory", "pids", "cpuset"} {
		if !hasWord(checks["controllers"], c) {
			t.Errorf("root cgroup.controllers = %q, lacks %s", checks["controllers"], c)
		}
		if !hasWord(checks["subtree_control"], c) {
			t.Errorf("root cgroup.subtree_control = %q, lacks %s", checks["subtree_control"], c)
		}
	}
	want := map[string]string{
		"numcpu":             "4",
		"a/cpu.max":          "50000 100000",
		"a/memory.max":       "268435456",
		"procs-cgroup":       "0::/a/b",
		"procs-child-cgroup": "0::/a/b",
		"clone-child-cgroup": "0::/a/b",
		"a/cpu.pressure":     "present",
		"removed":            "a/b a",
	}
	for k, v := range want {
		if got, ok := checks[k]; !ok {
			t.Errorf("guest printed no CHECK %s", k)
		} else if got != v {
			t.Errorf("CHECK %s = %q, want %q", k, got, v)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("guest output:\n%s", res.Output)
	}
}

// TestGuestNoVerdict checks the failure paths: a command that cannot start
// gives exit 127 with the verdict printed, while a kernel panic (qemu still
// exits 0) and a timeout give an error, because no verdict line came.
func TestGuestNoVerdict(t *testing.T) {
	Skip(t)
	t.Run("missing command", func(t *testing.T) {
		t.Parallel()
		res, err := Run(context.Background(), Config{Command: []string{"/bin/nonexistent"}})
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 127 || !strings.Contains(res.Output, "/bin/nonexistent") {
			t.Errorf("exit %d, output %q; want 127 and a message naming the command", res.ExitCode, res.Output)
		}
	})
	t.Run("kernel panic", func(t *testing.T) {
		t.Parallel()
		// With no /init to run and no root device, the kernel panics.
		res, err := Run(context.Background(), Config{Command: []string{"/bin/true"}, Cmdline: []string{"rdinit=/nonexistent"}})
		if err == nil || !strings.Contains(err.Error(), "without a verdict") {
			t.Fatalf("err = %v, want a missing-verdict error", err)
		}
		if !strings.Contains(res.Console, "Kernel panic") {
			t.Errorf("console shows no kernel panic:\n%s", res.Console)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		res, err := Run(context.Background(), Config{Command: []string{"/bin/true"}, Timeout: time.Second})
		if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
			t.Fatalf("err = %v, want a timeout", err)
		}
		// res.Duration is qemu's own wall time: waiting for the
		// machine-wide guest lock and building the initramfs come before
		// the timeout starts and are not counted. Killing qemu is quick;
		// the margin covers a loaded machine.
		if res.Duration < time.Second || res.Duration > 10*time.Second {
			t.Errorf("qemu ran %v with a 1s timeout", res.Duration)
		}
	})
}

// quietFor is how long the "quiet" guest command prints nothing, and
// testHangGrace the grace TestGuestHeartbeat gives both guests.
const (
	quietFor      = 10 * time.Second
	testHangGrace = 6 * time.Second
)

// TestGuestHeartbeat: a guest that prints nothing for longer than the hang
// grace but whose /init beats runs to its verdict; a guest whose /init is
// frozen is stopped as hung after the grace, booted once more, and stopped
// again, long before its timeout.
func TestGuestHeartbeat(t *testing.T) {
	Skip(t)
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), "qemu.test")
	if err := BuildTest(ctx, ".", bin); err != nil {
		t.Fatal(err)
	}
	cfg := func(mode string) Config {
		return Config{
			CPUs:      2,
			Files:     map[string]string{"/bin/qemu.test": bin},
			Command:   []string{"/bin/qemu.test"},
			Env:       []string{childEnv + "=" + mode},
			Timeout:   2 * time.Minute,
			HangGrace: testHangGrace,
		}
	}
	t.Run("quiet", func(t *testing.T) {
		res, err := Run(ctx, cfg("quiet"))
		if err != nil {
			t.Fatalf("a quiet guest with a heartbeat was stopped: %v", err)
		}
		if res.ExitCode != 0 || !strings.Contains(res.Output, "quiet: done") || strings.Contains(res.Console, "retried") {
			t.Errorf("exit %d, output %q; want 0, the done line and one boot", res.ExitCode, res.Output)
		}
	})
	t.Run("frozen init", func(t *testing.T) {
		start := time.Now()
		res, err := Run(ctx, cfg("freeze-init"))
		if !errors.Is(err, errGuestHung) {
			t.Fatalf("err = %v, want %v", err, errGuestHung)
		}
		if n := strings.Count(res.Console, "FROZE /init"); n != 2 || !strings.Contains(res.Console, "(second boot)") {
			t.Errorf("want two boots that froze /init, console shows %d:\n%s", n, res.Console)
		}
		// errGuestHung says each boot was stopped by the hang check, not
		// by its 2-minute timeout.
		t.Logf("two hung boots took %v (grace %v)", time.Since(start).Round(time.Millisecond), testHangGrace)
	})
	t.Run("no second serial port", func(t *testing.T) {
		// A machine with one serial port: /init cannot beat (its
		// open of /dev/ttyS1 fails, or writes to a port with nothing
		// behind it). Not a stall: said as such, and not booted again.
		c := cfg("quiet")
		c.noHeartbeatPort = true
		res, err := Run(ctx, c)
		if !errors.Is(err, errNoHeartbeat) {
			t.Fatalf("err = %v, want %v", err, errNoHeartbeat)
		}
		if strings.Contains(res.Console, "(second boot)") {
			t.Errorf("booted twice; console:\n%s", res.Console)
		}
		t.Logf("console ends with:\n%s", tail(res.Console, 5))
	})
}

// TestInGuest runs inside the guest only.
func TestInGuest(t *testing.T) {
	if os.Getenv(guestEnv) != "1" {
		t.Skip("runs only inside the qemu guest, started by TestGuestCgroupV2")
	}
	check := func(k, v string) { fmt.Printf("CHECK %s=%s\n", k, v) }
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	write := func(p, v string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(v), 0); err != nil {
			t.Fatalf("write %q to %s: %v", v, p, err)
		}
	}

	check("numcpu", fmt.Sprint(runtime.NumCPU()))
	check("gomaxprocs", fmt.Sprint(runtime.GOMAXPROCS(0)))
	check("controllers", read("/sys/fs/cgroup/cgroup.controllers"))
	check("subtree_control", read("/sys/fs/cgroup/cgroup.subtree_control"))

	const a, b = "/sys/fs/cgroup/a", "/sys/fs/cgroup/a/b"
	if err := os.MkdirAll(b, 0o755); err != nil {
		t.Fatal(err)
	}
	write(a+"/cgroup.subtree_control", "+cpu +memory +pids")
	write(a+"/cpu.max", "50000 100000")
	write(a+"/memory.max", "268435456")
	check("a/cpu.max", read(a+"/cpu.max"))
	check("a/memory.max", read(a+"/memory.max"))
	if _, err := os.Stat(a + "/cpu.pressure"); err == nil {
		check("a/cpu.pressure", "present")
	} else {
		t.Error(err)
	}

	// A child moved by writing its pid to cgroup.procs: it waits for its
	// standard input to close, then reports the cgroup it sees itself in.
	child := exec.Command("/proc/self/exe")
	child.Env = append(os.Environ(), childEnv+"=wait")
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &strings.Builder{}
	child.Stdout, child.Stderr = out, out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	write(b+"/cgroup.procs", fmt.Sprint(child.Process.Pid))
	check("procs-cgroup", read(fmt.Sprintf("/proc/%d/cgroup", child.Process.Pid)))
	stdin.Close()
	if err := child.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	reportChild(t, "procs-child", out.String())

	// A child started straight in b with clone3(CLONE_INTO_CGROUP).
	dir, err := os.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	child = exec.Command("/proc/self/exe")
	child.Env = append(os.Environ(), childEnv+"=report")
	child.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	outb, err := child.CombinedOutput()
	if err != nil {
		t.Fatalf("clone-into-cgroup child: %v\n%s", err, outb)
	}
	reportChild(t, "clone-child", string(outb))

	// Leave nothing behind, as the host tests must; also proves both
	// children are gone from b.
	for _, d := range []string{b, a} {
		if err := os.Remove(d); err != nil {
			t.Error(err)
		}
	}
	check("removed", "a/b a")
}

// reportChild re-prints a child's "cgroup=..." and "gomaxprocs=..." lines
// as CHECK lines named after the child.
func reportChild(t *testing.T, name, out string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			fmt.Printf("CHECK %s-%s=%s\n", name, k, v)
		}
	}
}

// guestChild is the body of TestInGuest's child processes: "wait" first
// waits for its standard input to close (so the parent can move it), then
// both modes print the child's cgroup and GOMAXPROCS.
func guestChild(mode string) int {
	switch mode {
	case "freeze-init":
		return freezeInit()
	case "quiet":
		// Silent for longer than TestGuestHeartbeat's grace: only the
		// heartbeat keeps the guest from being taken for hung.
		time.Sleep(quietFor)
		fmt.Println("quiet: done")
		return 0
	}
	if mode == "wait" {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Printf("cgroup=%s\ngomaxprocs=%d\n", strings.TrimSpace(string(b)), runtime.GOMAXPROCS(0))
	return 0
}

// freezeInit moves /init (PID 1) into a cgroup of its own and freezes it
// (cgroup.freeze, cgroup v2), which stops its heartbeat while the kernel
// and this process run on, then waits for ever: to the harness a guest
// whose /init does not beat is hung, whatever else it does.
func freezeInit() int {
	const dir = "/sys/fs/cgroup/frozen-init"
	for _, step := range []struct{ path, value string }{
		{"", ""},
		{dir + "/cgroup.procs", "1"},
		{dir + "/cgroup.freeze", "1"},
	} {
		var err error
		if step.path == "" {
			err = os.Mkdir(dir, 0o755)
		} else {
			err = os.WriteFile(step.path, []byte(step.value), 0)
		}
		if err != nil {
			fmt.Println("freeze-init:", err)
			return 1
		}
	}
	fmt.Println("FROZE /init")
	for {
		time.Sleep(time.Hour)
	}
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}
