package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

func dirTree(t *testing.T) (root, outside string) {
	t.Helper()
	dir := t.TempDir()
	root, outside = filepath.Join(dir, "root"), filepath.Join(dir, "outside")
	for _, d := range []string{"proc/self/fd", "proc/7", outside + "/secret-dir"} {
		if !filepath.IsAbs(d) {
			d = filepath.Join(root, d)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"proc/self/fd/0", "proc/self/fd/1", "proc/self/fd/2", "proc/uptime"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if runtime.GOOS != "windows" {
		for name, target := range map[string]string{"proc/abs": outside, "proc/rel": "../../outside", "proc/self2": "self"} {
			if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root, outside
}

func TestReadDirNames(t *testing.T) {
	root, _ := dirTree(t)
	r := New(root)
	names, err := r.ReadDirNames("/proc/self/fd", 100)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "0,1,2" {
		t.Errorf("names %q", names)
	}
	if _, err := r.ReadDirNames("/proc/self/fd", 2); !errors.Is(err, ErrTooManyEntries) || !errors.Is(err, ErrTooLarge) {
		t.Errorf("max 2 of 3: %v", err)
	}
	if _, err := r.ReadDirNames("/proc/uptime", 10); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a file: %v", err)
	}
	if _, err := r.ReadDirNames("/proc/missing", 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	// Links are followed inside the root only: both ways out name a
	// directory the root does not have.
	for _, p := range []string{"/proc/abs", "/proc/rel"} {
		names, err := r.ReadDirNames(p, 10)
		if err == nil {
			t.Errorf("%s: listed %q outside the root", p, names)
		}
	}
	if names, err := r.ReadDirNames("/proc/self2/fd", 10); err != nil || len(names) != 3 {
		t.Errorf("link inside the root: %q, %v", names, err)
	}
}

func TestDirEntriesAgain(t *testing.T) {
	root, _ := dirTree(t)
	d, err := New(root).OpenDir("proc")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var buf [DirBufSize]byte
	for round := 0; round < 3; round++ {
		n, dirs := 0, 0
		it := d.Entries(buf[:])
		for it.Next() {
			n++
			if it.IsDir() {
				dirs++
			}
		}
		if it.Err() != nil {
			t.Fatal(it.Err())
		}
		want := 6 // self, 7, uptime, abs, rel, self2
		if runtime.GOOS == "windows" {
			want = 3
		}
		if n != want || dirs != 2 {
			t.Errorf("round %d: %d entries, %d directories; want %d and 2", round, n, dirs, want)
		}
	}
	var closed Dir
	it := closed.Entries(buf[:])
	if it.Next() || it.Err() == nil {
		t.Error("listing a closed Dir: no error")
	}
}
