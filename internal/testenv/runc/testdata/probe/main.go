// Command probe is the program the runc harness runs inside its test
// containers. It is built static (CGO_ENABLED=0) because the container's
// rootfs holds nothing but this binary: no libc, no shell.
//
// It prints what a container-aware library has to work with, in sections:
//
//	## /proc/self/cgroup        the file as is
//	## mountinfo cgroup         the cgroup and cgroup2 lines of /proc/self/mountinfo
//	## mountinfo                every line (only with -mountinfo)
//	## files                    the first line of each -cat file
//	## values                   key=value lines that tests assert on
//
// The values section resolves each controller's directory the way the
// library must (cgroup path minus the mount root, joined to the mount point)
// and reads the limit files there, so a test sees what a process inside the
// container sees, not what the host wrote.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	allMounts := flag.Bool("mountinfo", false, "print every mountinfo line, not only the cgroup ones")
	cat := flag.String("cat", "", "comma-separated files whose first line to print")
	envs := flag.String("env", "", "comma-separated environment variables to print")
	write := flag.String("write", "", "try to create this file and report whether it worked")
	burn := flag.Duration("burn", 0, "spin -threads goroutines for this long and report the CPU time used")
	threads := flag.Int("threads", 2, "goroutines for -burn")
	sleep := flag.Duration("sleep", 0, "sleep this long before exiting (timeout tests)")
	exit := flag.Int("exit", 0, "exit with this status after printing")
	flag.Parse()

	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()

	cgroupFile := readOr("/proc/self/cgroup")
	mountinfo := readOr("/proc/self/mountinfo")

	fmt.Fprintln(w, "## /proc/self/cgroup")
	fmt.Fprint(w, cgroupFile)
	fmt.Fprintln(w, "## mountinfo cgroup")
	for _, line := range lines(mountinfo) {
		if t := fsType(line); t == "cgroup" || t == "cgroup2" {
			fmt.Fprintln(w, line)
		}
	}
	if *allMounts {
		fmt.Fprintln(w, "## mountinfo")
		fmt.Fprint(w, mountinfo)
	}
	if *cat != "" {
		fmt.Fprintln(w, "## files")
		for _, name := range strings.Split(*cat, ",") {
			b, err := os.ReadFile(name)
			if err != nil {
				fmt.Fprintf(w, "%s: error: %v\n", name, err)
				continue
			}
			first, _, _ := strings.Cut(string(b), "\n")
			fmt.Fprintf(w, "%s: %s\n", name, first)
		}
	}

	fmt.Fprintln(w, "## values")
	kv := func(k string, v any) { fmt.Fprintf(w, "%s=%v\n", k, v) }
	dirs := resolve(cgroupFile, mountinfo)
	for _, c := range []string{"cpu", "cpuacct", "memory", "pids"} {
		d, ok := dirs[c]
		if !ok {
			kv(c+".dir", "none")
			continue
		}
		kv(c+".dir", d.dir)
		if d.note != "" {
			kv(c+".note", d.note)
		}
	}
	files := map[string][]string{
		"cpu":    {"cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.max"},
		"memory": {"memory.limit_in_bytes", "memory.max"},
		"pids":   {"pids.max"},
	}
	for _, c := range []string{"cpu", "memory", "pids"} {
		d, ok := dirs[c]
		if !ok {
			continue
		}
		for _, f := range files[c] {
			if b, err := os.ReadFile(filepath.Join(d.dir, f)); err == nil {
				kv(f, strings.TrimSpace(string(b)))
			}
		}
	}
	// v1 shows a parent's memory limit to the leaf: edge case 33.
	if d, ok := dirs["memory"]; ok {
		if b, err := os.ReadFile(filepath.Join(d.dir, "memory.stat")); err == nil {
			for _, line := range lines(string(b)) {
				if k, v, ok := strings.Cut(line, " "); ok && k == "hierarchical_memory_limit" {
					kv("memory.stat.hierarchical_memory_limit", v)
				}
			}
		}
	}
	kv("nproc", runtime.NumCPU())
	kv("pid", os.Getpid())
	for _, e := range strings.Split(*envs, ",") {
		if e != "" {
			v, ok := os.LookupEnv(e)
			if !ok {
				v = "<unset>"
			}
			kv("env."+e, v)
		}
	}
	if *write != "" {
		if err := os.WriteFile(*write, []byte("x"), 0o644); err != nil {
			kv("write", fmt.Sprintf("error: %v", err))
		} else {
			kv("write", "ok")
		}
	}
	if *burn > 0 {
		wall, cpu := spin(*burn, *threads)
		kv("burn.wall_ms", wall.Milliseconds())
		kv("burn.cpu_ms", cpu.Milliseconds())
	}
	w.Flush()
	if *sleep > 0 {
		time.Sleep(*sleep)
	}
	os.Exit(*exit)
}

type cgDir struct{ dir, note string }

// resolve finds each v1 controller's directory, falling back to the v2
// unified directory when no v1 hierarchy carries the controller. It is a
// deliberately small version of the library's algorithm: the point is to
// show what a correct reader finds, not to test the reader.
func resolve(cgroupFile, mountinfo string) map[string]cgDir {
	type mnt struct{ root, point, fstype, opts string }
	var mounts []mnt
	for _, line := range lines(mountinfo) {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		mounts = append(mounts, mnt{root: f[3], point: f[4], fstype: g[0], opts: g[2]})
	}
	join := func(m mnt, path string) cgDir {
		if m.root == "/" {
			return cgDir{dir: filepath.Join(m.point, path)}
		}
		if path == m.root || strings.HasPrefix(path, m.root+"/") {
			return cgDir{dir: filepath.Join(m.point, strings.TrimPrefix(path, m.root))}
		}
		return cgDir{dir: m.point, note: fmt.Sprintf("path %s not under mount root %s: using the mount point", path, m.root)}
	}
	out := map[string]cgDir{}
	var v2path string
	haveV2 := false
	for _, line := range lines(cgroupFile) {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2path, haveV2 = parts[2], true
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			for _, m := range mounts {
				if m.fstype == "cgroup" && hasOpt(m.opts, c) {
					out[c] = join(m, parts[2])
					break
				}
			}
		}
	}
	if haveV2 {
		for _, m := range mounts {
			if m.fstype != "cgroup2" {
				continue
			}
			d := join(m, v2path)
			ctrl, _ := os.ReadFile(filepath.Join(d.dir, "cgroup.controllers"))
			for _, c := range strings.Fields(string(ctrl)) {
				if _, ok := out[c]; !ok {
					out[c] = cgDir{dir: d.dir, note: "v2"}
				}
			}
			break
		}
	}
	return out
}

// spin keeps n goroutines busy for d of wall time and returns the wall time
// and the CPU time the process used, so a test can see a quota enforced by a
// parent cgroup that the container's own files do not show.
func spin(d time.Duration, n int) (wall, cpu time.Duration) {
	before := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 0
			for time.Since(start) < d {
				for j := 0; j < 1e5; j++ {
					x += j
				}
			}
			_ = x
		}()
	}
	wg.Wait()
	return time.Since(start), cpuTime() - before
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func hasOpt(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

func fsType(line string) string {
	_, post, ok := strings.Cut(line, " - ")
	if !ok {
		return ""
	}
	t, _, _ := strings.Cut(post, " ")
	return t
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func readOr(name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Sprintf("error: %v\n", err)
	}
	return string(b)
}
