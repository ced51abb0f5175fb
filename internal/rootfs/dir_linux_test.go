//go:build linux

package rootfs

import (
	"os"
	"strconv"
	"testing"
)

// The live /proc/self/fd is listed without allocating, again and again,
// and its count matches what os.ReadDir sees.
func TestDirLiveNoAlloc(t *testing.T) {
	d, err := Root{}.OpenDirBytes([]byte("/proc/self/fd\x00"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var buf [DirBufSize]byte
	count := func() int {
		n := 0
		it := d.Entries(buf[:])
		for it.Next() {
			if fd, ok := atoi(it.Name()); ok && fd != d.Fd() {
				n++
			}
		}
		if it.Err() != nil {
			t.Fatal(it.Err())
		}
		return n
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	// os.ReadDir's own descriptor is listed too, and d's.
	if got, want := count(), len(ents)-2; got != want {
		t.Errorf("counted %d descriptors, os.ReadDir %d (less its own and d)", got, want)
	}
	if a := testing.AllocsPerRun(100, func() { count() }); a != 0 {
		t.Errorf("%v allocations per listing", a)
	}
	if _, err := (Root{}).OpenDir("/proc/self/status"); err == nil {
		t.Error("opened a file as a directory")
	}
	if _, err := (Root{}).OpenDirBytes([]byte("/proc/self/fd")); err == nil {
		t.Error("a path without NUL accepted")
	}
}

func atoi(b []byte) (int, bool) {
	n, err := strconv.Atoi(string(b))
	return n, err == nil
}

func BenchmarkDirCountFDs(b *testing.B) {
	d, err := Root{}.OpenDirBytes([]byte("/proc/self/fd\x00"))
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	var buf [DirBufSize]byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		it := d.Entries(buf[:])
		for it.Next() {
		}
	}
}

// Directories below a root resolve like files: by openat2 where the
// kernel has it, by the component walk otherwise.
func TestReadDirNamesWalk(t *testing.T) {
	defer ForceWalk()()
	TestReadDirNames(t)
}
