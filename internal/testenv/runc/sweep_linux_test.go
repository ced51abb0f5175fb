package runc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv"
)

// sweepChildEnv makes TestSweepAfterKill the killed test binary.
const sweepChildEnv = "RIGHTSIZE_RUNC_SWEEP_CHILD"

// killedRun is what the child reports before it is killed.
type killedRun struct {
	Pod  string   // the ParentCgroup path
	Dirs []string // its directories, one per v1 hierarchy
}

// TestSweepAfterKill: a test binary killed while it holds a ParentCgroup
// (as go test -timeout kills it) leaves the pod and the /kubepods levels it
// created; its reaper removes them as soon as it is gone, and without a
// reaper the first harness user of the next process does.
func TestSweepAfterKill(t *testing.T) {
	if os.Getenv(sweepChildEnv) != "" {
		kp := NewKubePath("besteffort")
		c := ParentCgroup(t, kp.Pod(), Limits{PidsLimit: 10})
		r := killedRun{Pod: kp.Pod()}
		for _, ctrl := range parentControllers {
			r.Dirs = append(r.Dirs, c.Dir(ctrl))
		}
		b, _ := json.Marshal(r)
		os.Stdout.Write(append(b, '\n'))
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // killed while waiting
		t.Fatal("not killed")
	}
	Require(t)

	// killed starts the child, waits for its report, kills it (SIGKILL:
	// no cleanup runs) and returns what it left.
	killed := func(t *testing.T, reaper bool, env ...string) killedRun {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestSweepAfterKill$", "-test.count=1")
		cmd.Env = append(append(os.Environ(), sweepChildEnv+"=1"), env...)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		defer stdin.Close()
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var r killedRun
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if json.Unmarshal(sc.Bytes(), &r) == nil && r.Pod != "" {
				break
			}
		}
		_ = cmd.Process.Kill() // our own child, by PID
		_ = cmd.Wait()
		if r.Pod == "" {
			t.Fatalf("the child reported no ParentCgroup")
		}
		// With a reaper they may be gone already.
		for _, d := range r.Dirs {
			if _, err := os.Stat(d); err != nil && !reaper {
				t.Fatalf("the killed run's cgroup %s is not there: %v", d, err)
			}
		}
		t.Logf("killed a run holding %s; left: %s", r.Pod, strings.Join(r.Dirs, " "))
		return r
	}
	gone := func(t *testing.T, r killedRun, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for _, d := range r.Dirs {
			for {
				_, err := os.Stat(d)
				if errors.Is(err, os.ErrNotExist) {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("left behind: %s (stat: %v)", d, err)
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		// The QoS level the child created goes too, unless a parallel
		// harness user (another test process, e.g. internal/e2e's runc
		// containers) sits below it or is creating its pod there right
		// now: it is left over only if it stays there, empty, until the
		// deadline.
		for _, d := range r.Dirs {
			qos := filepath.Dir(d)
			for {
				_, err := os.Stat(qos)
				if errors.Is(err, os.ErrNotExist) || inUseHere(qos) || hasChildCgroup(qos) || !wasRecorded(qos) {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("left behind: %s (stat: %v)", qos, err)
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}

	t.Run("next-run", func(t *testing.T) {
		r := killed(t, false, testenv.NoReaperEnv+"=1")
		if err := withMutex(func() error { sweepLeftoversLocked(); return nil }); err != nil {
			t.Fatal(err)
		}
		gone(t, r, 0)
	})
	t.Run("reaper", func(t *testing.T) {
		r := killed(t, true, testenv.NoReaperEnv+"=0")
		gone(t, r, 15*time.Second)
	})
}

// hasChildCgroup reports whether the cgroup d has a child cgroup (a
// directory: a cgroup holds only control files besides).
func hasChildCgroup(d string) bool {
	ents, err := os.ReadDir(d)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if e.IsDir() {
			return true
		}
	}
	return false
}

// inUseHere reports whether a harness user holds d.
func inUseHere(d string) bool {
	f, err := os.Open(d)
	if err != nil {
		return false
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil
}

// wasRecorded reports whether d is still in the registry, which a
// directory the harness did not create (an existing /kubepods) never is.
func wasRecorded(d string) bool {
	reg, err := readRegistry()
	return err == nil && reg[d]
}

// TestBundleNames: every bundle's name carries its creator's PID, as
// cgroup names do (testenv.CgroupName); older names without one are
// still recognised.
func TestBundleNames(t *testing.T) {
	id := newContainerID()
	name := bundlePrefix(id) + "1234567"
	if gotID, pid, ok := bundleCreator(name); !ok || gotID != id || pid != os.Getpid() {
		t.Errorf("bundleCreator(%q) = %q, %d, %v; want %q, %d", name, gotID, pid, ok, id, os.Getpid())
	}
	if gotID, pid, ok := bundleCreator(id + "-bundle-1234567"); !ok || gotID != id || pid != 0 {
		t.Errorf("bundleCreator(old name) = %q, %d, %v; want %q, no PID", gotID, pid, ok, id)
	}
	for _, n := range []string{"rightsize-qemu-123", "rightsize-xyz-bundle-1-2", "other"} {
		if _, _, ok := bundleCreator(n); ok {
			t.Errorf("bundleCreator(%q): a bundle", n)
		}
	}
}

// TestStaleBundles: a bundle whose creator still runs stays, however old;
// one whose creator is gone goes at once; one without a PID goes once it
// is older than testenv.StaleAge.
func TestStaleBundles(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0", testenv.NoReaperEnv+"=1")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead, live := cmd.Process.Pid, os.Getppid()
	now := time.Now()
	old := now.Add(-testenv.StaleAge - time.Hour)
	named := func(pid int) string { return fmt.Sprintf("%s-bundle-%d-42", newContainerID(), pid) }
	type bundle struct {
		what  string
		name  string
		mtime time.Time
		stale bool
	}
	bundles := []bundle{
		{"creator gone", named(dead), now, true},
		{"creator runs", named(live), now, false},
		{"this process's, old", named(os.Getpid()), old, false},
		{"PID reused: its process started after the bundle changed", named(live), time.Unix(1, 0), true},
		{"no PID, recent", newContainerID() + "-bundle-42", now, false},
		{"no PID, old", newContainerID() + "-bundle-42", old, true},
	}
	// A creator that runs keeps its bundle however old: PID 1 and a
	// bundle made a minute after it started, when that is longer ago
	// than testenv.StaleAge.
	if start, ok := testenv.ProcessStart(1); ok && time.Since(start) > testenv.StaleAge+2*time.Minute {
		bundles = append(bundles, bundle{"creator runs, old bundle", named(1), start.Add(time.Minute), false})
	}
	for _, b := range bundles {
		if got := staleBundle(b.name, b.mtime, os.Getpid()); got != b.stale {
			t.Errorf("%s: staleBundle(%q) = %v, want %v", b.what, b.name, got, b.stale)
		}
	}
	if staleBundle("rightsize-test-x-1-2", old, os.Getpid()) {
		t.Error("a name that is no bundle's is stale")
	}

	// removeStaleBundles on a directory of them.
	dir := t.TempDir()
	for _, b := range bundles {
		p := filepath.Join(dir, b.name)
		if err := os.MkdirAll(filepath.Join(p, "rootfs"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, b.mtime, b.mtime); err != nil {
			t.Fatal(err)
		}
	}
	removeStaleBundles(dir)
	for _, b := range bundles {
		_, err := os.Stat(filepath.Join(dir, b.name))
		if gone := errors.Is(err, os.ErrNotExist); gone != b.stale {
			t.Errorf("%s: %s removed %v, want %v (%v)", b.what, b.name, gone, b.stale, err)
		}
	}
}
