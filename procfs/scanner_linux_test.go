//go:build linux

package procfs

import (
	"bufio"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv"
)

// waitZombie waits until pid is a zombie.
func waitZombie(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s, err := NewFS("").ProcStat(strconv.Itoa(pid)); err == nil && s.Zombie() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("process %d did not become a zombie", pid)
}

// The live scanner sees this test's children: one started by os/exec
// (Go 1.23+ holds a pidfd for it), one by syscall.ForkExec (no pidfd).
// A kernel without CONFIG_PROC_CHILDREN has no children files: that case
// skips (a kernel build option, not an environment RIGHTSIZE_REQUIRE can
// ask for), the /proc/<pid>/stat walk still runs.
// Both become zombies; only the first shows among the pidfds.
func TestScannerLive(t *testing.T) {
	for _, viaChildren := range []bool{true, false} {
		t.Run("childrenFiles="+strconv.FormatBool(viaChildren), func(t *testing.T) {
			s, err := NewFS("").NewScanner()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.pid != os.Getpid() {
				t.Fatalf("PID %d, os.Getpid %d", s.pid, os.Getpid())
			}
			if viaChildren && !s.childrenFiles {
				t.Skip("kernel without CONFIG_PROC_CHILDREN")
			}
			s.childrenFiles = viaChildren

			// The children are this test binary, running no test: it is
			// there wherever the test runs (the qemu guest has no
			// /bin/true), and exits at once (under -race too, which
			// otherwise waits a second at exit).
			env := []string{"GORACE=atexit_sleep_ms=0"}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = env
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			raw, err := syscall.ForkExec(os.Args[0], []string{os.Args[0], "-test.run=^$"}, &syscall.ProcAttr{Env: env})
			if err != nil {
				t.Fatal(err)
			}
			defer syscall.Wait4(raw, nil, 0, nil)
			waitZombie(t, cmd.Process.Pid)
			waitZombie(t, raw)

			z, err := s.zombieChildren(nil)
			if err != nil || !slices.Contains(z, cmd.Process.Pid) || !slices.Contains(z, raw) {
				t.Errorf("zombie children %v, %v; want %d and %d", z, err, cmd.Process.Pid, raw)
			}
			p, err := s.pidfds(nil)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(p, raw) {
				t.Errorf("pidfds %v include the ForkExec child %d", p, raw)
			}
			if osHoldsPidfds() && !slices.Contains(p, cmd.Process.Pid) {
				t.Errorf("pidfds %v lack the os/exec child %d", p, cmd.Process.Pid)
			}
			n, zc := 0, 0
			err = s.eachChild(func(_ int, state byte) {
				n++
				if state == 'Z' {
					zc++
				}
			})
			if err != nil || n < 2 || zc < 2 {
				t.Errorf("children %d, zombies %d, %v", n, zc, err)
			}
			var pt ProcessTable
			if err := s.ProcessTable(&pt); err != nil {
				t.Fatal(err)
			}
			ents, _ := os.ReadDir("/proc/self/fd")
			if !pt.HasFDs || pt.FDs < 3 || pt.FDs > len(ents) || !pt.HasFDLimit || pt.FDLimit.Soft < 64 || !pt.HasThreads || pt.Threads < 1 || pt.Zombies < 2 || pt.ZombieChildren < 2 {
				t.Errorf("process table %+v (os.ReadDir sees %d descriptors)", pt, len(ents))
			}
			t.Logf("%+v", pt)
		})
	}
}

// osHoldsPidfds reports whether os.StartProcess keeps a pidfd: Go 1.23+
// on a kernel where pidfd_open works.
func osHoldsPidfds() bool {
	fd, _, errno := syscall.Syscall(434 /* pidfd_open */, uintptr(os.Getpid()), 0, 0)
	if errno != 0 {
		return false
	}
	syscall.Close(int(fd))
	return goAtLeast123
}

// A scan with nothing to reap allocates nothing: the reaper's case on
// every SIGCHLD of a child os/exec waits for.
func TestScannerNoAlloc(t *testing.T) {
	s, err := NewFS("").NewScanner()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	buf := make([]int, 0, 64)
	var pt ProcessTable
	for name, fn := range map[string]func(){
		"zombieChildren": func() { _, _ = s.zombieChildren(buf[:0]) },
		"pidfds":         func() { _, _ = s.pidfds(buf[:0]) },
		"ProcessTable":   func() { _ = s.ProcessTable(&pt) },
		"fallback": func() {
			old := s.childrenFiles
			s.childrenFiles = false
			_, _ = s.zombieChildren(buf[:0])
			s.childrenFiles = old
		},
	} {
		if a := testing.AllocsPerRun(50, fn); a != 0 {
			t.Errorf("%s: %v allocations per scan", name, a)
		}
	}
}

func benchScanner(b *testing.B, fn func(s *Scanner, buf []int)) {
	s, err := NewFS("").NewScanner()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	buf := make([]int, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fn(s, buf)
	}
}

func BenchmarkScannerZombieChildren(b *testing.B) {
	benchScanner(b, func(s *Scanner, buf []int) { _, _ = s.zombieChildren(buf[:0]) })
}

func BenchmarkScannerZombieChildrenFallback(b *testing.B) {
	benchScanner(b, func(s *Scanner, buf []int) { s.childrenFiles = false; _, _ = s.zombieChildren(buf[:0]) })
}

func BenchmarkScannerPidfds(b *testing.B) {
	benchScanner(b, func(s *Scanner, buf []int) { _, _ = s.pidfds(buf[:0]) })
}

func BenchmarkProcessTable(b *testing.B) {
	var pt ProcessTable
	benchScanner(b, func(s *Scanner, buf []int) { _ = s.ProcessTable(&pt) })
}

// scannerOfHelperEnv makes TestScannerOfHelper the helper process of
// TestScannerOfLive.
const scannerOfHelperEnv = "RIGHTSIZE_PROCFS_SCANNER_OF_HELPER"

// TestScannerOfHelper, in the helper process: it leaves one child as a
// zombie (started with ForkExec and never waited for), says so, and waits
// for its standard input to close.
func TestScannerOfHelper(t *testing.T) {
	if os.Getenv(scannerOfHelperEnv) == "" {
		t.Skip("helper process of TestScannerOfLive")
	}
	raw, err := syscall.ForkExec(os.Args[0], []string{os.Args[0], "-test.run=^$"}, &syscall.ProcAttr{Env: []string{"GORACE=atexit_sleep_ms=0"}})
	if err != nil {
		t.Fatal(err)
	}
	waitZombie(t, raw)
	os.Stdout.WriteString("ready " + strconv.Itoa(raw) + "\n")
	var b [1]byte
	os.Stdin.Read(b[:])
	os.Exit(0)
}

// NewScannerOf on the live system reads another process: a helper with one
// zombie child, its threads, its descriptors (all of them: the Scanner's
// own are in this process) and its RLIMIT_NOFILE from its limits file.
func TestScannerOfLive(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestScannerOfHelper$")
	cmd.Env = append(os.Environ(), scannerOfHelperEnv+"=1", "GORACE=atexit_sleep_ms=0")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	defer func() {
		if !exited {
			in.Close()
			cmd.Wait()
		}
	}()
	line, _ := bufio.NewReader(out).ReadString('\n')
	if !strings.HasPrefix(line, "ready ") {
		t.Fatalf("helper said %q", line)
	}

	s, err := NewFS("").NewScannerOf(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var pt ProcessTable
	if err := s.ProcessTable(&pt); err != nil {
		t.Fatal(err)
	}
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	lim, err := NewFS("").Limits(strconv.Itoa(cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if pt.PID != cmd.Process.Pid || !pt.HasChildren || pt.Children != 1 || pt.ZombieChildren != 1 || !pt.HasThreads || pt.Threads < 1 ||
		!pt.HasFDs || pt.FDs != len(fds) || !pt.HasFDLimit || pt.FDLimit != lim.OpenFiles || !pt.HasProcesses || pt.Zombies < 1 {
		t.Errorf("helper %d: %+v; want 1 zombie child, %d descriptors, limit %+v", cmd.Process.Pid, pt, len(fds), lim.OpenFiles)
	}
	if s.self {
		t.Error("the helper taken for this process")
	}
	if a := testing.AllocsPerRun(20, func() { _ = s.ProcessTable(&pt) }); a != 0 {
		t.Errorf("%v allocations per scan of another process", a)
	}

	// Once the helper has exited and been reaped, a scan fails (its PID
	// may be another process's by now) and fills nothing.
	in.Close()
	cmd.Wait()
	exited = true
	err = s.ProcessTable(&pt)
	if err == nil || !vanished(err) || pt != (ProcessTable{PID: cmd.Process.Pid}) {
		t.Errorf("after the helper exited: %+v, %v; want an ESRCH or ENOENT error and nothing else", pt, err)
	}
}

// A Scanner of this process by its PID counts its descriptors as one of
// /proc/self does: its own directories (/proc/<pid> among them) left out.
// The two are opened one after the other, so that neither sees the other's.
func TestScannerOfSelfFDs(t *testing.T) {
	count := func(open func() (*Scanner, error)) int {
		s, err := open()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var pt ProcessTable
		_ = s.ProcessTable(&pt)
		if !pt.HasFDs || !s.self {
			t.Fatalf("%+v, self %v", pt, s.self)
		}
		return pt.FDs
	}
	self := count(NewFS("").NewScanner)
	byPID := count(func() (*Scanner, error) { return NewFS("").NewScannerOf(os.Getpid()) })
	if self != byPID {
		t.Errorf("descriptors: %d through /proc/self, %d through /proc/%d", self, byPID, os.Getpid())
	}
}

// In a new PID namespace whose /proc is still the parent's (unshare --pid
// without --mount-proc), the helper is PID 1 by os.Getpid but not in the
// /proc it reads: a Scanner of /proc's PID 1 is not of this process.
func TestScannerOfOtherNamespace(t *testing.T) {
	if os.Getenv(scannerOfHelperEnv) == "ns" {
		s, err := NewFS("").NewScannerOf(1)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if os.Getpid() != 1 || s.self {
			t.Fatalf("os.Getpid %d, Scanner of /proc's PID 1 taken for this process: %v", os.Getpid(), s.self)
		}
		return
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		testenv.SkipOrFail(t, testenv.Unshare, "needs root and unshare(1) (util-linux) to make a PID namespace")
	}
	cmd := exec.Command(unshare, "--pid", "--fork", os.Args[0], "-test.run=^TestScannerOfOtherNamespace$", "-test.v")
	cmd.Env = append(os.Environ(), scannerOfHelperEnv+"=ns", "GORACE=atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestScannerOfOtherNamespace") {
		t.Fatalf("in a new PID namespace: %v\n%s", err, out)
	}
}
