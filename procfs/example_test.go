package procfs_test

import (
	"fmt"

	"github.com/rightsize/rightsize/procfs"
)

// Parsers work on bytes and never touch the live system.
func ExampleParseCgroup() {
	lines, err := procfs.ParseCgroup([]byte("4:cpu,cpuacct:/docker/abc\n0::/system.slice/x.service\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range lines {
		fmt.Println(l.HierarchyID, l.Controllers, l.IsV2(), l.Path)
	}
	// Output:
	// 4 [cpu cpuacct] false /docker/abc
	// 0 [] true /system.slice/x.service
}

// Readers take a root: "/" for the live system, a directory for a fixture
// or a captured tree. Malformed lines of mountinfo are skipped and counted.
func ExampleFS_MountInfo() {
	fs := procfs.NewFS("testdata/hybrid")
	mounts, skipped, err := fs.MountInfo("self")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range mounts {
		if m.FSType == "cgroup" || m.FSType == "cgroup2" {
			fmt.Println(m.FSType, m.MountPoint, m.Root)
		}
	}
	fmt.Println("skipped", skipped)
	// Output:
	// cgroup /sys/fs/cgroup/cpu,cpuacct /
	// cgroup /sys/fs/cgroup/memory /
	// cgroup2 /sys/fs/cgroup/unified /
	// skipped 0
}

// A Scanner of another process: here PID 1 of a captured pod, which has
// left a zombie child unreaped. Live, procfs.NewFS("") and the PID of,
// say, the container's PID 1 do the same.
func ExampleFS_NewScannerOf() {
	sc, err := procfs.NewFS("testdata/proctable").NewScannerOf(1)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sc.Close()
	var t procfs.ProcessTable
	if err := sc.ProcessTable(&t); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("PID %d: %d children, %d of them zombies; %d threads; %d of %d descriptors\n",
		t.PID, t.Children, t.ZombieChildren, t.Threads, t.FDs, t.FDLimit.Soft)
	// Output:
	// PID 1: 2 children, 1 of them zombies; 9 threads; 5 of 1024 descriptors
}
