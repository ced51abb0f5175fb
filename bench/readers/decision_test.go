package readers

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rightsize/rightsize/cgroup"
	"github.com/rightsize/rightsize/internal/rootfs"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// The decision path: what the blank import and runtimeinfo.Read cost
// against the floor of just opening, reading and closing the files they
// read. The file list is not written by hand: it is traced from the
// library's own file layer on a first run, so the floor covers exactly the
// files (and the stats of marker files) the library touches here.

type access struct{ op, path string }

// traceOf runs fn once and returns the files it opened and examined, in
// order, each once.
func traceOf(b testing.TB, fn func()) []access {
	b.Helper()
	var out []access
	seen := map[access]bool{}
	stop := rootfs.Trace(func(op, path string) {
		a := access{op, path}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	})
	fn()
	stop()
	if len(out) == 0 {
		b.Skip("no file traced: no cgroups here")
	}
	return out
}

func readOnce() {
	s, _ := runtimeinfo.Read(runtimeinfo.WithLogger(nil))
	_ = s
}

// startOnce is the blank import's whole init: runtimeinfo.Start with the
// process's environment and the RIGHTSIZE_* settings, its watcher stopped
// at once (the watcher's own ticks are not part of the start).
func startOnce(b testing.TB) {
	_, t, err := runtimeinfo.Start(runtimeinfo.WithEnviron(os.Environ()), runtimeinfo.WithEnvConfig(), runtimeinfo.WithLogger(nil))
	if err != nil {
		b.Fatal(err)
	}
	t.Stop()
}

// floor opens, reads to the end and closes each traced file, and stats
// each traced marker, with plain system calls and no parsing.
func floor(b *testing.B, files []access) {
	var buf [64 << 10]byte
	var st unix.Stat_t
	b.ReportMetric(float64(len(files)), "files")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, a := range files {
			if a.op == "stat" {
				_ = unix.Stat(a.path, &st)
				continue
			}
			fd, err := unix.Open(a.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				continue // a file the library found missing: its open counts
			}
			for {
				n, err := unix.Read(fd, buf[:])
				if err != nil || n == 0 {
					break
				}
			}
			unix.Close(fd)
		}
	}
}

// BenchmarkFloorReadFiles is the floor for runtimeinfo.Read: open, read
// and close every file it reads here.
func BenchmarkFloorReadFiles(b *testing.B) {
	open(b).Close()
	floor(b, traceOf(b, readOnce))
}

// BenchmarkFloorStartFiles is the floor for the blank import's init: the
// files runtimeinfo.Start reads here.
func BenchmarkFloorStartFiles(b *testing.B) {
	open(b).Close()
	floor(b, traceOf(b, func() { startOnce(b) }))
}

// coldDiscovery is BenchmarkRightsizeColdDiscovery's work: Open, the CPU
// and memory limits (the minimum over the hierarchy), Close.
func coldDiscovery(b testing.TB) {
	g, err := cgroup.Open()
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := g.CPULimit(); err != nil {
		b.Fatal(err)
	}
	if _, _, err := g.MemoryLimit(); err != nil {
		b.Fatal(err)
	}
	g.Close()
}

// BenchmarkFloorColdDiscoveryFiles is the floor for cold discovery: the
// files cgroup.Open, CPULimit and MemoryLimit read here, every level of the
// walk up the hierarchy included. (BenchmarkFloorColdFiles is the leaf
// alone: what a reader that ignores parents pays.)
func BenchmarkFloorColdDiscoveryFiles(b *testing.B) {
	open(b).Close()
	floor(b, traceOf(b, func() { coldDiscovery(b) }))
}

// BenchmarkRightsizeRead is runtimeinfo.Read: open (discovery), read, close.
func BenchmarkRightsizeRead(b *testing.B) {
	open(b).Close()
	readOnce()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		readOnce()
	}
}

// BenchmarkRightsizeStart is the blank import's init: read the
// environment and the limits, decide, apply (after the first run the
// values are in force, so nothing is set again), start the watcher; the
// watcher is stopped at once.
func BenchmarkRightsizeStart(b *testing.B) {
	open(b).Close()
	startOnce(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		startOnce(b)
	}
}

// BenchmarkRightsizeReaderRefresh is a refresh of a warm Reader: what each
// watcher tick reads (limits of every level, cpuset, the process's cgroup
// file for moves), into a caller-owned Snapshot.
func BenchmarkRightsizeReaderRefresh(b *testing.B) {
	open(b).Close()
	r, err := runtimeinfo.NewReader(runtimeinfo.WithLogger(nil))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var s runtimeinfo.Snapshot
	if err := r.Read(&s); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := r.Read(&s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloorPreadRefreshFiles is the floor for a Reader refresh: one
// pread of each file a refresh reads, on open descriptors.
func BenchmarkFloorPreadRefreshFiles(b *testing.B) {
	open(b).Close()
	r, err := runtimeinfo.NewReader(runtimeinfo.WithLogger(nil))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var s runtimeinfo.Snapshot
	r.Read(&s) // the first read opens the files; the next is a refresh
	files := traceOf(b, func() {
		// A refresh opens nothing: trace a fresh reader's first read and
		// keep the cgroup files and the process's cgroup file, the ones
		// a refresh preads.
		r2, _ := runtimeinfo.NewReader(runtimeinfo.WithLogger(nil))
		r2.Read(&s)
		r2.Close()
	})
	var fds []int
	for _, a := range files {
		if a.op != "open" || !(strings.HasPrefix(a.path, "/sys/fs/cgroup/") || a.path == "/proc/self/cgroup") {
			continue
		}
		fd, err := unix.Open(a.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		defer unix.Close(fd)
		fds = append(fds, fd)
	}
	var buf [16 << 10]byte
	b.ReportMetric(float64(len(fds)), "files")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, fd := range fds {
			if _, err := unix.Pread(fd, buf[:], 0); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestDecisionFilesTraced shows which files the decision path touches
// here (go test -v -run TestDecisionFilesTraced ./readers/).
func TestDecisionFilesTraced(t *testing.T) {
	if _, err := os.Stat("/proc/self/cgroup"); err != nil {
		t.Skip("no /proc/self/cgroup")
	}
	files := traceOf(t, readOnce)
	for _, a := range files {
		t.Logf("%s %s", a.op, a.path)
	}
	var s runtimeinfo.Snapshot
	r, err := runtimeinfo.NewReader(runtimeinfo.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Read(&s); err != nil {
		// The promise is for reads that succeed; say why it is not checked.
		t.Skipf("this host's reads fail (%v): the 0-allocation refresh is not checked", err)
	}
	if n := testing.AllocsPerRun(20, func() { _ = r.Read(&s) }); n != 0 {
		t.Errorf("Reader refresh: %v allocs", n)
	}
}
