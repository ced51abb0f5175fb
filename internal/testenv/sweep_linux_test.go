package testenv

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCgroupName(t *testing.T) {
	n := CgroupName("cgroup")
	if !regexp.MustCompile(`^rightsize-test-cgroup-[0-9]+-[0-9a-f]{8}$`).MatchString(n) {
		t.Errorf("CgroupName = %q", n)
	}
	if pid, ok := CreatorPID(n); !ok || pid != os.Getpid() {
		t.Errorf("CreatorPID(%q) = %d, %v", n, pid, ok)
	}
	for _, name := range []string{"rightsize-test-e2e-42-abcd", "rightsize-test-x-42-y"} {
		if pid, ok := CreatorPID(name); !ok || pid != 42 {
			t.Errorf("CreatorPID(%q) = %d, %v, want 42", name, pid, ok)
		}
	}
	for _, name := range []string{"rightsize-test-7e30a85f2146", "rightsize-test-e2e-x-1", "rightsize-bench-readers-1-2", "other", "rightsize-test--1-x", "rightsize-test-a-0-x"} {
		if pid, ok := CreatorPID(name); ok {
			t.Errorf("CreatorPID(%q) = %d, want none", name, pid)
		}
	}
}

type leftoverCase struct {
	what  string
	name  string
	mtime time.Time
	self  bool
	want  bool
}

func TestLeftover(t *testing.T) {
	// A process that is gone: a child that has exited and been waited for.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid
	now := time.Now()
	old := now.Add(-StaleAge - time.Minute)
	name := func(pid int) string { return "rightsize-test-x-" + strconv.Itoa(pid) + "-0123abcd" }
	var cases []leftoverCase
	for _, tc := range []leftoverCase{
		{"creator gone", name(dead), now, false, true},
		{"creator lives", name(os.Getppid()), now, false, false},
		{"PID reused: its process started after the cgroup changed", name(os.Getppid()), time.Unix(1, 0), false, true},
		{"this process's, before the tests", name(os.Getpid()), now, false, false},
		{"this process's, after the tests", name(os.Getpid()), now, true, true},
		{"no PID, recent", "rightsize-test-7e30a85f2146", now, false, false},
		{"no PID, old", "rightsize-test-7e30a85f2146", old, false, true},
		{"not the prefix", "rightsize-bench-readers-" + strconv.Itoa(dead) + "-1", old, true, false},
	} {
		cases = append(cases, tc)
	}
	// A creator that lives is never left over, however old its cgroup:
	// PID 1 and a cgroup made a minute after it started, when that is
	// longer ago than StaleAge.
	if start, ok := ProcessStart(1); ok && time.Since(start) > StaleAge+2*time.Minute {
		cases = append(cases, leftoverCase{"creator lives, old cgroup", name(1), start.Add(time.Minute), false, false})
	}
	for _, tc := range cases {
		if got := Leftover(tc.name, tc.mtime, tc.self); got != tc.want {
			t.Errorf("%s: Leftover(%q) = %v, want %v", tc.what, tc.name, got, tc.want)
		}
	}
}

// TestSweepCgroups: as root on a host with a writable v1 hierarchy, a
// recorded cgroup of a process that is gone is removed with its children,
// one of a live process and one with a process in it stay.
func TestSweepCgroups(t *testing.T) {
	if reason := CgroupV1Missing(); reason != "" {
		SkipOrFail(t, Cgroup, reason)
	}
	if os.Geteuid() != 0 {
		SkipOrFail(t, Cgroup, "sweeping cgroups needs root")
	}
	dirs := ownV1Dirs()
	var base string
	for _, d := range dirs {
		if strings.Contains(d, "/pids") {
			base = d
		}
	}
	if base == "" {
		SkipOrFail(t, Cgroup, "no v1 pids hierarchy")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	deadName := "rightsize-test-sweep-" + strconv.Itoa(cmd.Process.Pid) + "-0123abcd"
	dead := filepath.Join(base, deadName)
	live := filepath.Join(base, CgroupName("sweep"))
	for _, d := range []string{dead, filepath.Join(dead, "leaf"), live} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(d) })
	}
	if err := withRecords(func(r []string) ([]string, error) { return append(r, dead, live), nil }); err != nil {
		t.Fatal(err)
	}
	res, err := SweepCgroups(func(name string, mtime time.Time) bool { return Leftover(name, mtime, false) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s stays after the sweep (%v); removed %q", dead, err, res.Removed)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("this process's %s was removed: %v", live, err)
	}
	var recs []string
	_ = withRecords(func(r []string) ([]string, error) { recs = r; return r, nil })
	for _, r := range recs {
		if r == dead {
			t.Errorf("the removed %s is still recorded", dead)
		}
	}
	found := false
	for _, r := range recs {
		found = found || r == live
	}
	if !found {
		t.Errorf("%s is no longer recorded", live)
	}
	// This process's own, once its tests are done.
	if _, err := SweepCgroups(func(name string, mtime time.Time) bool { return Leftover(name, mtime, true) }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(live); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the sweep after the tests left %s (%v)", live, err)
	}
}

// TestMkdirCgroupNotRoot: as a user other than root MkdirCgroup skips the
// test (SkipOrFail: it would fail it were cgroups required) and creates
// nothing. As root the test re-runs itself as nobody.
func TestMkdirCgroupNotRoot(t *testing.T) {
	if RunAsNobody(t) {
		return
	}
	if os.Geteuid() == 0 {
		t.Skip("runs as a user other than root")
	}
	for _, k := range []string{EnvAll, EnvName(Cgroup)} {
		t.Setenv(k, "")
	}
	dir := filepath.Join(os.TempDir(), CgroupName("notroot"))
	var skipped bool
	t.Run("mkdir", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		MkdirCgroup(t, dir)
	})
	if !skipped {
		t.Errorf("MkdirCgroup as euid %d did not skip", os.Geteuid())
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		os.Remove(dir)
		t.Errorf("MkdirCgroup as euid %d created %s (%v)", os.Geteuid(), dir, err)
	}
}
