package readers

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rightsize/rightsize/cgroup"
)

// statsFiles lists the files a full refresh (ReadStats) reads here, as
// absolute paths of files that exist.
func statsFiles(g *cgroup.Group) []string {
	var files []string
	add := func(c cgroup.Controller, v1, v2 []string) {
		loc, ok := g.Location(c)
		if !ok {
			return
		}
		names := v2
		if loc.Version == 1 {
			names = v1
		}
		for _, n := range names {
			p := filepath.Join(loc.Dir, n)
			if unix.Access(p, unix.R_OK) == nil {
				files = append(files, p)
			}
		}
	}
	add(cgroup.CPUAcct, []string{"cpuacct.usage"}, []string{"cpu.stat"})
	add(cgroup.CPU, []string{"cpu.stat"}, []string{"cpu.stat"})
	add(cgroup.Memory, []string{"memory.usage_in_bytes", "memory.stat", "memory.max_usage_in_bytes", "memory.failcnt", "memory.oom_control"},
		[]string{"memory.current", "memory.stat", "memory.peak", "memory.events"})
	add(cgroup.PIDs, []string{"pids.current"}, []string{"pids.current"})
	add(cgroup.Unified, nil, []string{"cpu.pressure", "memory.pressure", "io.pressure"})
	return files
}

// BenchmarkFloorPreadMemory is the floor for a hot read of memory usage
// and the working set: one pread of each of the two files on open
// descriptors, no parsing.
func BenchmarkFloorPreadMemory(b *testing.B) {
	g := open(b)
	loc, _ := g.Location(cgroup.Memory)
	g.Close()
	names := []string{"memory.current", "memory.stat"}
	if loc.Version == 1 {
		names[0] = "memory.usage_in_bytes"
	}
	var fds []int
	for _, n := range names {
		fd, err := unix.Open(filepath.Join(loc.Dir, n), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Close(fd)
		fds = append(fds, fd)
	}
	var buf [16 << 10]byte
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

// BenchmarkFloorPreadStatsFiles is the floor for a full refresh: one pread
// of each file ReadStats reads here, on open descriptors, no parsing.
func BenchmarkFloorPreadStatsFiles(b *testing.B) {
	g := open(b)
	files := statsFiles(g)
	g.Close()
	var fds []int
	for _, p := range files {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Close(fd)
		fds = append(fds, fd)
	}
	b.ReportMetric(float64(len(fds)), "files")
	var buf [32 << 10]byte
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

// BenchmarkFloorColdFiles is the floor for cold discovery: open, read and
// close /proc/self/cgroup, /proc/self/mountinfo and the CPU and memory
// limit files of the process's own cgroup (no walk up the hierarchy, no
// parsing).
func BenchmarkFloorColdFiles(b *testing.B) {
	g := open(b)
	files := []string{"/proc/self/cgroup", "/proc/self/mountinfo"}
	if loc, ok := g.Location(cgroup.CPU); ok {
		if loc.Version == 1 {
			files = append(files, filepath.Join(loc.Dir, "cpu.cfs_quota_us"), filepath.Join(loc.Dir, "cpu.cfs_period_us"))
		} else {
			files = append(files, filepath.Join(loc.Dir, "cpu.max"))
		}
	}
	if loc, ok := g.Location(cgroup.Memory); ok {
		if loc.Version == 1 {
			files = append(files, filepath.Join(loc.Dir, "memory.limit_in_bytes"))
		} else {
			files = append(files, filepath.Join(loc.Dir, "memory.max"))
		}
	}
	g.Close()
	b.ReportMetric(float64(len(files)), "files")
	var buf [64 << 10]byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range files {
			fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				b.Fatal(err)
			}
			for {
				n, err := unix.Read(fd, buf[:])
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					break
				}
			}
			unix.Close(fd)
		}
	}
}
