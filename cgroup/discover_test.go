package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rightsize/rightsize/procfs"
)

// resolveStrings runs discovery on file contents, with every cgroup2 mount
// offering the given controllers. The contents are written to
// proc/self/{cgroup,mountinfo} in a temporary root and read with procfs's
// scanners, as Open reads them.
func resolveStrings(t testing.TB, cgroupFile, mountinfo string, v2 ctrlMask) ([numControllers]rawLocation, Layout, []string, error) {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "proc/self"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "proc/self/cgroup"), []byte(cgroupFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "proc/self/mountinfo"), []byte(mountinfo), 0o644); err != nil {
		t.Fatal(err)
	}
	fs := procfs.NewFS(root)
	d := &discovery{arena: make([]byte, 0, arenaSize)}
	// The paths alias buf, which stays untouched until resolve is done.
	buf := make([]byte, 8<<10)
	if _, err := fs.ScanCgroup("self", buf, d.addCgroupLine); err != nil {
		return [numControllers]rawLocation{}, "", nil, err
	}
	if _, err := fs.ScanMountInfo("self", nil, func(v *procfs.MountInfoView) bool {
		d.addMount(v)
		return true
	}); err != nil {
		return [numControllers]rawLocation{}, "", nil, err
	}
	locs, err := d.resolve(func([]byte) (ctrlMask, error) { return v2, nil })
	var dirs []string
	for c := range locs {
		if locs[c].ok {
			dirs = append(dirs, string(appendDir(nil, &locs[c])))
		} else {
			dirs = append(dirs, "")
		}
	}
	return locs, d.layout(), dirs, err
}

func TestResolveTable(t *testing.T) {
	all := ctrlMask(1<<CPU | 1<<CPUSet | 1<<Memory | 1<<PIDs)
	for _, tt := range []struct {
		name, cgroup, mountinfo string
		v2                      ctrlMask
		cpuDir, memDir          string
		layout                  Layout
	}{
		{"v1 bind mount", "4:cpu,cpuacct:/docker/abc\n5:memory:/docker/abc\n",
			"1 0 0:1 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n2 0 0:2 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n",
			0, "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/memory", LayoutV1},
		{"v2 only, controller missing from cgroup.controllers", "0::/x\n",
			"1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", 1 << CPU, "/sys/fs/cgroup/x", "", LayoutV2},
		{"0:: line without a cgroup2 mount (runc on a hybrid host)", "4:memory:/a\n0::/a\n",
			"2 0 0:2 /a /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n", all, "", "/sys/fs/cgroup/memory", LayoutV1},
		{"v1 line whose hierarchy is not mounted falls back to v2", "4:cpu:/a\n0::/b\n",
			"1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", all, "/sys/fs/cgroup/b", "/sys/fs/cgroup/b", LayoutV2},
		{"a later mount on the same point hides the earlier one", "4:cpu:/kubepods/pod1/c1\n",
			"1 0 0:1 /kubepods/pod1/c1 /sys/fs/cgroup/cpu ro - cgroup cgroup rw,cpu\n2 0 0:1 / /sys/fs/cgroup/cpu ro - cgroup cgroup rw,cpu\n",
			0, "/sys/fs/cgroup/cpu/kubepods/pod1/c1", "", LayoutV1},
		{"mount point with trailing slash content", "0::/a/b\n",
			"1 0 0:1 /a /c rw - cgroup2 cgroup2 rw\n", all, "/c/b", "/c/b", LayoutV2},
		// A path that climbs out of its mount below the mount root is not
		// contained: the mount point itself, degraded.
		{"dot-dot below a /.. mount root", "0::/../../../outside\n",
			"1 0 0:1 /.. /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", all, "/sys/fs/cgroup", "/sys/fs/cgroup", LayoutV2},
		{"dot-dot inside a v1 path", "4:cpu:/a/../../../etc\n",
			"1 0 0:1 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", 0, "/sys/fs/cgroup/cpu", "", LayoutV1},
		{"dot inside a v2 path", "0::/a/./b\n",
			"1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", all, "/sys/fs/cgroup", "/sys/fs/cgroup", LayoutV2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			locs, layout, dirs, err := resolveStrings(t, tt.cgroup, tt.mountinfo, tt.v2)
			if err != nil {
				t.Fatal(err)
			}
			if dirs[CPU] != tt.cpuDir || dirs[Memory] != tt.memDir || layout != tt.layout {
				t.Fatalf("cpu %q memory %q layout %q; want %q %q %q", dirs[CPU], dirs[Memory], layout, tt.cpuDir, tt.memDir, tt.layout)
			}
			if strings.Contains(tt.name, "dot") {
				if loc := locs[CPU]; !loc.ok || !loc.degraded {
					t.Fatalf("cpu location %v not degraded", loc)
				}
			}
		})
	}
}

// FuzzResolve feeds arbitrary cgroup and mountinfo contents through
// discovery: it must not panic, and every directory it returns lies at or
// below the mount point it chose, with no "." or ".." component below it
// (which would climb out of the mount).
func FuzzResolve(f *testing.F) {
	f.Add("4:cpu,cpuacct:/docker/abc\n0::/x\n", "1 0 0:1 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n3 0 0:3 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n")
	f.Add("0::/../../x\n", "40 31 0:38 /../.. /cgroup-in rw - cgroup2 cgroup2 rw\n41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
	f.Add("0::/a b/c\n", `41 31 0:38 /a\040b /sys/fs/cgroup/my\040cg rw shared:1 - cgroup2 cgroup2 rw`+"\n")
	f.Add("1:name=systemd:/\n", "1 0 0:1 /sand /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n")
	f.Add("0::/../../../outside\n", "1 0 0:1 /.. /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
	f.Add("4:cpu:/a/../../b\n", "1 0 0:1 /a /sys/fs/cgroup/../../etc rw - cgroup cgroup rw,cpu\n")
	f.Fuzz(func(t *testing.T, cg, mi string) {
		locs, _, _, err := resolveStrings(t, cg, mi, ^ctrlMask(0))
		if err != nil {
			return
		}
		for c := range locs {
			l := &locs[c]
			if !l.ok {
				continue
			}
			dir := appendDir(nil, l)
			if !bytes.HasPrefix(dir, l.mount.point) {
				t.Fatalf("%s: dir %q not below mount point %q", Controller(c), dir, l.mount.point)
			}
			for _, part := range strings.Split(string(dir[len(l.mount.point):]), "/") {
				if part == "." || part == ".." {
					t.Fatalf("%s: dir %q climbs from mount point %q", Controller(c), dir, l.mount.point)
				}
			}
		}
	})
}

// TestDroppedMounts: discovery keeps maxMounts cgroup mounts and
// arenaSize bytes of their roots and points. Mounts beyond are dropped; if
// a controller the process is in then has no mount, Open says so (naming
// mountinfo and how many were dropped) rather than report it unmounted.
func TestDroppedMounts(t *testing.T) {
	skipUnlessLinux(t)
	// The memory mount point is long (625 bytes of the arena with its
	// root), so that it does not fit in what the fillers leave.
	memPoint := "/sys/fs/cgroup/memory/" + strings.Join([]string{strings.Repeat("m", 200), strings.Repeat("m", 200), strings.Repeat("m", 200)}, "/")
	memMount := "900 25 0:90 / " + memPoint + " rw - cgroup cgroup rw,memory\n"
	const v2Mount = "901 25 0:91 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
	// fill returns n named (controller-less) v1 hierarchy mounts whose
	// mount points are pad bytes longer than the plain ones.
	fill := func(n, pad int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "%d 25 0:%d / /sys/fs/cgroup/h%d%s rw - cgroup cgroup rw,name=h%d\n", 100+i, 100+i, i, strings.Repeat("x", pad), i)
		}
		return b.String()
	}
	const cgroupFile = "6:memory:/a\n1:name=h0:/\n0::/\n"
	for _, tt := range []struct {
		name, mountinfo string
		dropped         int    // mounts dropped; 0: Open succeeds
		missing         string // the controller named in the error
	}{
		{"memory mount after 70 others", fill(70, 0) + memMount + v2Mount, 8, "memory"},
		{"cgroup2 mount after 70 others", memMount + fill(70, 0) + v2Mount, 8, "unified"},
		{"needed mounts first, 70 others after", memMount + v2Mount + fill(70, 0), 0, ""},
		// 31 fillers fill the arena but for 305 bytes: 9 are dropped,
		// then the memory mount; the cgroup2 mount still fits.
		{"memory mount after the arena filled", fill(40, 500) + memMount + v2Mount, 10, "memory"},
		{"needed mounts first, arena filled after", memMount + v2Mount + fill(40, 500), 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, content := range map[string]string{
				"proc/self/cgroup":                         cgroupFile,
				"proc/self/mountinfo":                      tt.mountinfo,
				memPoint + "/cgroup.sane_behavior":         "0\n",
				memPoint + "/a/memory.limit_in_bytes":      "1048576\n",
				"sys/fs/cgroup/unified/cgroup.controllers": "\n",
			} {
				p := filepath.Join(root, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			g, err := Open(WithRoot(root))
			if tt.dropped == 0 {
				if err != nil {
					t.Fatal(err)
				}
				defer g.Close()
				if lim, ok, err := g.MemoryLimit(); err != nil || !ok || lim.Bytes != 1048576 || lim.Path != memPoint+"/a/memory.limit_in_bytes" {
					t.Errorf("MemoryLimit = %+v %v %v", lim, ok, err)
				}
				if loc, ok := g.Location(Unified); !ok || loc.Dir != "/sys/fs/cgroup/unified" {
					t.Errorf("Location(Unified) = %+v %v", loc, ok)
				}
				return
			}
			var fe *Error
			if !errors.Is(err, ErrTooLarge) || !errors.As(err, &fe) || fe.Path != filepath.Join(absPath(t, root), "proc/self/mountinfo") {
				t.Fatalf("Open: %v; want ErrTooLarge naming %s/proc/self/mountinfo", err, root)
			}
			if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("%d cgroup mounts dropped", tt.dropped)) || !strings.Contains(msg, "the "+tt.missing+" controller") {
				t.Errorf("Open: %v; want %d mounts dropped and the %s controller named", err, tt.dropped, tt.missing)
			}
		})
	}
}
