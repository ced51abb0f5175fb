package procfs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/rightsize/rightsize/internal/testenv"
)

func TestParseChildren(t *testing.T) {
	for in, want := range map[string][]int{"": nil, "4211 ": {4211}, "1 2 3\n": {1, 2, 3}, "77": {77}} {
		got, err := parseChildren([]byte(in), nil)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"1 x", "0 ", "-1", "99999999999 ", "2147483648 "} {
		if got, err := parseChildren([]byte(bad), nil); err == nil {
			t.Errorf("%q: %v, no error", bad, got)
		}
	}
}

// Both fixture trees describe PID 1 with a zombie child (57), a live one
// (58) holding a pidfd, and a zombie grandchild (90); one has the
// threads' children files, the other only the stat files.
func TestScannerFixtures(t *testing.T) {
	for _, tree := range []string{"testdata/proctable", "testdata/proctable-nochildren"} {
		s, err := NewFS(tree).NewScanner()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s.pid != 1 || s.childrenFiles != (tree == "testdata/proctable") {
			t.Errorf("%s: PID %d, children files %v", tree, s.pid, s.childrenFiles)
		}
		z, err := s.zombieChildren(nil)
		if err != nil || !reflect.DeepEqual(z, []int{57}) {
			t.Errorf("%s: zombie children %v, %v", tree, z, err)
		}
		p, err := s.pidfds(nil)
		if err != nil || !reflect.DeepEqual(p, []int{58}) {
			t.Errorf("%s: pidfds %v, %v", tree, p, err)
		}
		pt, err := NewFS(tree).ProcessTable()
		want := ProcessTable{PID: 1, HasProcesses: true, Processes: 4, Zombies: 2, HasChildren: true, Children: 2, ZombieChildren: 1,
			HasThreads: true, Threads: 9, HasFDs: true, FDs: 5, HasFDLimit: true, FDLimit: Limit{1024, 4096}}
		if err != nil || pt != want {
			t.Errorf("%s: process table\n%+v, %v; want\n%+v", tree, pt, err, want)
		}
	}
}

func TestProcessTableMissing(t *testing.T) {
	if _, err := NewFS(t.TempDir()).ProcessTable(); err == nil {
		t.Error("empty tree: no error")
	}
}

// TestScannerBounded: a hostile captured tree whose children file repeats
// a PID without end, or whose /proc lists more processes than any kernel
// can have, ends the scan with ErrTooLarge (here with the bound lowered
// to 100, so that the test stays fast).
func TestScannerBounded(t *testing.T) {
	defer func(old int) { maxScanPIDs = old }(maxScanPIDs)
	maxScanPIDs = 100
	for _, tree := range []string{"testdata/proctable", "testdata/proctable-nochildren"} {
		dir := testenv.CopyTreeTemp(t, tree)
		if tree == "testdata/proctable" {
			// PID 57 a thousand times over.
			if err := os.WriteFile(filepath.Join(dir, "proc/1/task/1/children"), []byte(strings.Repeat("57 ", 1000)), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			// A thousand more processes in /proc.
			stat, err := os.ReadFile(filepath.Join(dir, "proc/58/stat"))
			if err != nil {
				t.Fatal(err)
			}
			for pid := 1000; pid < 2000; pid++ {
				d := filepath.Join(dir, "proc", strconv.Itoa(pid))
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(d, "stat"), stat, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		s, err := NewFS(dir).NewScanner()
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.zombieChildren(nil)
		s.Close()
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s made hostile: %v, want ErrTooLarge", tree, err)
		}
	}
}

// NewScannerOf reads another process's share: PID 1 of the fixtures gives
// the table NewScanner gives (the trees' /proc/self is PID 1); PID 58 has
// one child, the zombie 90, found by the stat walk (58 has no task
// directory), and no fd directory or limits file, each an error naming its
// file.
func TestScannerOf(t *testing.T) {
	for _, tree := range []string{"testdata/proctable", "testdata/proctable-nochildren"} {
		self, err := NewFS(tree).ProcessTable()
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewFS(tree).NewScannerOf(1)
		if err != nil {
			t.Fatal(err)
		}
		var one ProcessTable
		if err := s.ProcessTable(&one); err != nil || one != self {
			t.Errorf("%s: PID 1 %+v, %v; want /proc/self's %+v", tree, one, err, self)
		}
		s.Close()

		s, err = NewFS(tree).NewScannerOf(58)
		if err != nil {
			t.Fatal(err)
		}
		var pt ProcessTable
		err = s.ProcessTable(&pt)
		s.Close()
		want := ProcessTable{PID: 58, HasProcesses: true, Processes: 4, Zombies: 2, HasChildren: true, Children: 1, ZombieChildren: 1,
			HasThreads: true, Threads: 1}
		if pt != want {
			t.Errorf("%s: PID 58 %+v; want %+v", tree, pt, want)
		}
		for _, file := range []string{"/proc/58/fd", "/proc/58/limits"} {
			if err == nil || !strings.Contains(err.Error(), filepath.Join(tree, file)) {
				t.Errorf("%s: PID 58 error %v; want one naming %s", tree, err, file)
			}
		}
		for _, pid := range []int{999, 0, -1} {
			if s, err := NewFS(tree).NewScannerOf(pid); err == nil {
				s.Close()
				t.Errorf("%s: NewScannerOf(%d) succeeded", tree, pid)
			} else if !strings.Contains(err.Error(), "/proc/") {
				t.Errorf("%s: NewScannerOf(%d): %v; want an error naming the file", tree, pid, err)
			}
		}
	}
}

// A stat that cannot be parsed (a broken capture; live, hidepid makes one
// unreadable) fails the walk that counts the processes: the processes are
// then unknown, and the children come from the children files where the
// tree has them, else they are unknown too. The error names the file.
func TestProcessTableWalkFails(t *testing.T) {
	for tree, wantChildren := range map[string]bool{"testdata/proctable": true, "testdata/proctable-nochildren": false} {
		dir := testenv.CopyTreeTemp(t, tree)
		if err := os.WriteFile(filepath.Join(dir, "proc/90/stat"), []byte("garbage\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		pt, err := NewFS(dir).ProcessTable()
		if err == nil || strings.Count(err.Error(), filepath.Join(dir, "proc/90/stat")) != 1 {
			t.Errorf("%s: error %v; want one naming proc/90/stat, once", tree, err)
		}
		want := ProcessTable{PID: 1, HasThreads: true, Threads: 9, HasFDs: true, FDs: 5, HasFDLimit: true, FDLimit: Limit{1024, 4096}}
		if wantChildren {
			want.HasChildren, want.Children, want.ZombieChildren = true, 2, 1
		}
		if pt != want {
			t.Errorf("%s: %+v\nwant %+v", tree, pt, want)
		}
	}
}

// A child's stat that cannot be parsed fails both the walk and the
// children files' reading of it: the error names it once.
func TestProcessTableChildStatFails(t *testing.T) {
	dir := testenv.CopyTreeTemp(t, "testdata/proctable")
	if err := os.WriteFile(filepath.Join(dir, "proc/57/stat"), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pt, err := NewFS(dir).ProcessTable()
	if err == nil || strings.Count(err.Error(), filepath.Join(dir, "proc/57/stat")) != 1 || pt.HasChildren || pt.HasProcesses {
		t.Errorf("%+v, %v; want no children or processes and one error naming proc/57/stat once", pt, err)
	}
}

// The reason an fd directory could not be opened is the error of the
// count: here a file where the directory should be.
func TestScannerOfFdError(t *testing.T) {
	dir := testenv.CopyTreeTemp(t, "testdata/proctable")
	if err := os.WriteFile(filepath.Join(dir, "proc/58/fd"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := NewFS(dir).NewScannerOf(58)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var pt ProcessTable
	err = s.ProcessTable(&pt)
	if pt.HasFDs || err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "proc/58/fd")) || strings.Contains(err.Error(), errNoFdDir.Error()) {
		t.Errorf("fds %v, error %v; want the open error naming proc/58/fd", pt.HasFDs, err)
	}
}
