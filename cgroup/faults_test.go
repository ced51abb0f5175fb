package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/procfs"
)

// heapGrowth runs fn and reports how many bytes it allocated in total.
func heapGrowth(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestOversizedInput: a 60 MB mountinfo (junk and over-long lines around
// the real ones) is streamed through a fixed buffer; a 100 MB one, beyond
// procfs's 64 MiB bound, is refused as too large; a 100 MB memory.stat is
// refused as too large. None makes memory grow with the input.
func TestOversizedInput(t *testing.T) {
	skipUnlessLinux(t)
	if testing.Short() {
		t.Skip("writes 200 MB of temporary files")
	}
	root := testenv.CopyTreeTemp(t, "testdata/v2-nested")
	const size = 100 << 20
	const under = 60 << 20 // below the 64 MiB bound of a mountinfo read

	mi := filepath.Join(root, "proc/self/mountinfo")
	real, err := os.ReadFile(mi)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(mi)
	if err != nil {
		t.Fatal(err)
	}
	junk := "9 1 0:9 / /var/lib/x rw - overlay overlay rw,lowerdir=" + strings.Repeat("/l", 40) + "\n"
	long := "99 1 0:9 / /long rw - overlay overlay rw,lowerdir=" + strings.Repeat("/l:", 40000) + "\n"
	written := 0
	for written < under/2 {
		n, _ := f.WriteString(junk)
		written += n
		if written%(1<<20) < len(junk) {
			n, _ = f.WriteString(long)
			written += n
		}
	}
	f.Write(real)
	for written < under {
		n, _ := f.WriteString(junk)
		written += n
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	stat := filepath.Join(root, "sys/fs/cgroup/a/b/memory.stat")
	big := strings.Repeat("anon 1\n", size/7)
	if err := os.WriteFile(stat, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	big = ""

	var g *Group
	grew := heapGrowth(func() {
		g, err = Open(WithRoot(root))
	})
	if err != nil {
		t.Fatalf("Open with a %d MB mountinfo: %v", under>>20, err)
	}
	defer g.Close()
	t.Logf("Open over a %d MB mountinfo allocated %d KB", under>>20, grew>>10)
	if grew > 1<<20 {
		t.Errorf("Open allocated %d bytes for a %d MB mountinfo; want a bounded amount", grew, under>>20)
	}
	if lim, ok, err := g.CPULimit(); err != nil || !ok || lim.CPUs != 2 {
		t.Fatalf("CPULimit = %+v %v %v after skipping junk lines", lim, ok, err)
	}

	var st Stats
	grew = heapGrowth(func() { err = g.ReadStats(&st, StatsAll) })
	if !errors.Is(err, procfs.ErrTooLarge) || !strings.Contains(err.Error(), stat) {
		t.Fatalf("ReadStats over a 100 MB memory.stat: %v, want ErrTooLarge naming %s", err, stat)
	}
	t.Logf("ReadStats over a %d MB memory.stat allocated %d bytes and said: %v", size>>20, grew, err)
	if grew > 64<<10 {
		t.Errorf("ReadStats allocated %d bytes", grew)
	}
	if !st.Memory.HasUsage || st.Memory.HasWorkingSet || !st.CPU.HasUsage {
		t.Errorf("other fields not filled around the failed file: %+v", st)
	}

	// Grown past the bound, the mountinfo is refused, in bounded memory,
	// by an error naming it.
	f, err = os.OpenFile(mi, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	for written < size {
		n, _ := f.WriteString(junk)
		written += n
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var g2 *Group
	grew = heapGrowth(func() { g2, err = Open(WithRoot(root)) })
	var fe *Error
	if g2 != nil || !errors.Is(err, ErrTooLarge) || !errors.As(err, &fe) || fe.Path != mi {
		t.Fatalf("Open with a %d MB mountinfo: %v, want ErrTooLarge naming %s", size>>20, err, mi)
	}
	t.Logf("Open over a %d MB mountinfo allocated %d KB and said: %v", size>>20, grew>>10, err)
	if grew > 1<<20 {
		t.Errorf("Open allocated %d bytes refusing a %d MB mountinfo", grew, size>>20)
	}
}

// TestConcurrentReads shares one handle between goroutines (run with -race).
func TestConcurrentReads(t *testing.T) {
	skipUnlessLinux(t)
	g, err := Open(WithRoot("testdata/v2-nested"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var st Stats
			for j := 0; j < 200; j++ {
				if err := g.ReadStats(&st, StatsAll); err != nil {
					errs <- err
					return
				}
				lim, ok, err := g.CPULimit()
				if err != nil || !ok || lim.CPUs != 2 {
					errs <- errors.New("CPULimit changed under concurrency")
					return
				}
				if st.Memory.Usage != 209715200 {
					errs <- errors.New("memory usage corrupted under concurrency")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestUnreadableFile: a file the process may not read gives an error naming
// it, from the reader that needs it only. As root (who reads every file
// whatever its mode) the test re-runs itself as nobody through setpriv.
func TestUnreadableFile(t *testing.T) {
	skipUnlessLinux(t)
	root := os.Getenv("RIGHTSIZE_UNREADABLE_ROOT")
	if root == "" {
		root = filepath.Join(testenv.NobodyTempDir(t), "tree")
		if err := os.Rename(testenv.CopyTreeTemp(t, "testdata/v2-nested"), root); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(root, 0o755); err != nil { // t.TempDir's mode
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(root, "sys/fs/cgroup/a/memory.max"), 0); err != nil {
			t.Fatal(err)
		}
		if testenv.RunAsNobody(t, "RIGHTSIZE_UNREADABLE_ROOT="+root) {
			return
		}
	}
	p := filepath.Join(root, "sys/fs/cgroup/a/memory.max")
	g, err := Open(WithRoot(root))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	_, _, err = g.MemoryLimit()
	var fe *Error
	if !errors.As(err, &fe) || fe.Path != p || !errors.Is(err, os.ErrPermission) {
		t.Fatalf("MemoryLimit with an unreadable file: %v", err)
	}
	if _, ok, err := g.CPULimit(); err != nil || !ok {
		t.Fatalf("CPULimit affected by another file: %v", err)
	}
}
