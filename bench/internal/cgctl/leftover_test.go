package cgctl

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestLeftover(t *testing.T) {
	// A PID that no longer runs: a child of ours, waited for.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid
	now, old := time.Now(), time.Now().Add(-2*staleAge)
	for _, tt := range []struct {
		name  string
		mtime time.Time
		want  bool
	}{
		{fmt.Sprintf("%s%d-readers-0011aabb", Prefix, dead), now, true},
		{fmt.Sprintf("%s%d-readers-0011aabb", Prefix, os.Getpid()), old, false},  // ours
		{fmt.Sprintf("%s%d-readers-0011aabb", Prefix, os.Getppid()), old, false}, // alive
		{Prefix + "readers-9a699550", now, false},                                // no PID, young
		{Prefix + "readers-9a699550", old, true},                                 // no PID, stale
		{"rightsize-test-e2e-1-00", old, false},                                  // not ours
		{"user.slice", old, false},
	} {
		if got := leftover(tt.name, tt.mtime); got != tt.want {
			t.Errorf("leftover(%q, age %v) = %v, want %v", tt.name, time.Since(tt.mtime).Round(time.Minute), got, tt.want)
		}
	}
	if pid, ok := creatorPID(fmt.Sprintf("%s%d-rps-q1_5-1-00ff", Prefix, 4242)); !ok || pid != 4242 {
		t.Errorf("creatorPID = %d, %v", pid, ok)
	}
}

// TestSweepLeftovers on plain directories standing for a host's cgroup
// directories: only the leftovers go; a directory that is not empty (a
// cgroup with a child) stays, as rmdir leaves it.
func TestSweepLeftovers(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	h := &Host{V2: true, CPU: dir}
	gone := fmt.Sprintf("%s%d-readers-00", Prefix, cmd.Process.Pid)
	busy := fmt.Sprintf("%s%d-rps-00", Prefix, cmd.Process.Pid)
	mine := fmt.Sprintf("%s%d-mem-00", Prefix, os.Getpid())
	for _, d := range []string{gone, filepath.Join(busy, "child"), mine, "other"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	removed := h.SweepLeftovers()
	if len(removed) != 1 || removed[0] != filepath.Join(dir, gone) {
		t.Errorf("removed %q, want only %s", removed, gone)
	}
	for _, d := range []string{busy, mine, "other"} {
		if _, err := os.Stat(filepath.Join(dir, d)); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
}
