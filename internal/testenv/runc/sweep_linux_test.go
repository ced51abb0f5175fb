package runc

import (
	"bufio"
	"encoding/json"
	"errors"
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
