//go:build linux

package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// This file holds what both engines need on the host: the harness's
// directories and their owner files, cgroup hierarchies, and the cleanup
// that ends leftover processes, removes cgroups and unmounts, always
// limited to what carries the harness's names.

// dirPrefix begins the name of every directory the harness creates.
const dirPrefix = "rightsize-engine-"

// newDir creates the engine's directory and its owner file.
func newDir(kind string) (string, error) {
	dir, err := os.MkdirTemp(tempBase(), dirPrefix+kind+"-")
	if err != nil {
		return "", err
	}
	if err := writeOwner(dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// writeOwner records this process (PID and start time, so that a reused
// PID is not mistaken for it) as the owner of dir.
func writeOwner(dir string) error {
	start, err := procStartTime(os.Getpid())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "owner"), []byte(fmt.Sprintf("%d %d\n", os.Getpid(), start)), 0o644)
}

// procStartTime returns field 22 of /proc/<pid>/stat, the process's start
// time in clock ticks after boot.
func procStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// ownerAlive reports whether the process named in dir's owner file still
// runs. A directory without one is considered alive for ten minutes (it may
// be being created).
func ownerAlive(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "owner"))
	if err != nil {
		fi, serr := os.Stat(dir)
		return serr == nil && time.Since(fi.ModTime()) < 10*time.Minute
	}
	var pid int
	var start uint64
	if _, err := fmt.Sscan(string(b), &pid, &start); err != nil || pid <= 0 {
		return false
	}
	now, err := procStartTime(pid)
	return err == nil && now == start
}

// cgroupsFileMu orders the writes to the cgroups files of the engines'
// directories (tests share an engine and create parents in parallel).
var cgroupsFileMu sync.Mutex

// recordCgroup adds p to the cgroups file of dir before the cgroup is
// created, so that cleanup (also a later run's) knows it is the harness's.
func recordCgroup(dir, p string) error {
	cgroupsFileMu.Lock()
	defer cgroupsFileMu.Unlock()
	f, err := os.OpenFile(filepath.Join(dir, "cgroups"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, p)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// forgetCgroup removes p from the cgroups file of dir: a cgroup that
// recordCgroup recorded but the harness did not create (its mkdir failed)
// or has removed again. Cleanup must never remove a cgroup that is not the
// harness's.
func forgetCgroup(dir, p string) error {
	cgroupsFileMu.Lock()
	defer cgroupsFileMu.Unlock()
	name := filepath.Join(dir, "cgroups")
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && strings.TrimSpace(l) != p {
			keep = append(keep, l+"\n")
		}
	}
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(keep, "")), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

func recordedCgroups(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "cgroups"))
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		// Only harness names, whatever the file says.
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "/rightsize-") && path.Clean(l) == l {
			out = append(out, l)
		}
	}
	return out
}

// cleanupDir ends the engine processes that still name dir on their
// command line (shims, conmon; see engineProcess), removes the cgroups
// recorded in dir, unmounts what is mounted below dir and removes it.
func cleanupDir(dir string) error {
	var errs []error
	if err := killReferencing(dir); err != nil {
		errs = append(errs, err)
	}
	for _, p := range recordedCgroups(dir) {
		if err := removeCgroupTree(p); err != nil {
			errs = append(errs, err)
		}
	}
	if err := unmountBelow(dir); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// killReferencing sends SIGKILL, by PID, to every process other than this
// one that is an engine's (see engineProcess) and whose command line
// contains dir, and waits for them to go.
func killReferencing(dir string) error {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !engineProcess(string(comm), cmdline, dir) {
			continue
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			pids = append(pids, pid)
		}
	}
	return waitGone(pids, 10*time.Second)
}

// engineComms are the programs of the engines and their runtimes, as
// /proc/<pid>/comm names them (at most 15 bytes: containerd-shim-runc-v2
// is "containerd-shim" there). Only these are ever killed for naming an
// engine's directory: a shell or an editor that happens to mention it is
// not the harness's.
var engineComms = map[string]bool{
	"dockerd":         true,
	"containerd":      true,
	"containerd-shim": true,
	"conmon":          true,
	"runc":            true,
	"crun":            true,
	"docker":          true,
	"podman":          true,
}

// engineProcess reports whether a process with comm (as read from
// /proc/<pid>/comm, trailing newline and all) and the NUL-separated
// cmdline is an engine process of dir: one of engineComms whose command
// line mentions dir.
func engineProcess(comm string, cmdline []byte, dir string) bool {
	return engineComms[strings.TrimSuffix(comm, "\n")] && mentions(cmdline, dir)
}

// mentions reports whether dir, or a path below it, appears in a
// NUL-separated command line (as an argument or inside one, as in
// --config=<dir>/x).
func mentions(cmdline []byte, dir string) bool {
	for rest := cmdline; ; {
		i := bytes.Index(rest, []byte(dir))
		if i < 0 {
			return false
		}
		rest = rest[i+len(dir):]
		if len(rest) == 0 || rest[0] == '/' || rest[0] == 0 || rest[0] == ' ' || rest[0] == '"' || rest[0] == ',' {
			return true
		}
	}
}

// waitGone waits until none of pids runs (exited or a zombie).
func waitGone(pids []int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, pid := range pids {
		for running(pid) {
			if time.Now().After(deadline) {
				return fmt.Errorf("process %d still runs after SIGKILL", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

// hierarchy is a cgroup filesystem mounted from its root in this process's
// mount namespace (the host's).
type hierarchy struct {
	point       string
	v2          bool
	controllers []string // v1: controllers and name=...; v2: nil
}

func (h hierarchy) has(c string) bool {
	for _, x := range h.controllers {
		if x == c {
			return true
		}
	}
	return false
}

var v1Controllers = map[string]bool{
	"cpu": true, "cpuacct": true, "cpuset": true, "memory": true, "devices": true,
	"freezer": true, "net_cls": true, "net_prio": true, "blkio": true, "perf_event": true,
	"hugetlb": true, "pids": true, "rdma": true, "misc": true,
}

// hostHierarchies lists the cgroup and cgroup2 mounts whose root is the
// hierarchy's root; a hierarchy mounted twice is listed once, under
// /sys/fs/cgroup when it is mounted there.
func hostHierarchies() ([]hierarchy, error) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var hs []hierarchy
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(mi))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 || (g[0] != "cgroup" && g[0] != "cgroup2") || unescape(f[3]) != "/" {
			continue
		}
		h := hierarchy{point: unescape(f[4]), v2: g[0] == "cgroup2"}
		if !h.v2 {
			for _, o := range strings.Split(g[2], ",") {
				if v1Controllers[o] || strings.HasPrefix(o, "name=") {
					h.controllers = append(h.controllers, o)
				}
			}
		}
		key := strings.Join(h.controllers, ",")
		if h.v2 {
			key = "v2"
		}
		if i, dup := seen[key]; dup {
			if !strings.HasPrefix(hs[i].point, "/sys/fs/cgroup") && strings.HasPrefix(h.point, "/sys/fs/cgroup") {
				hs[i] = h
			}
			continue
		}
		seen[key] = len(hs)
		hs = append(hs, h)
	}
	return hs, sc.Err()
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// v1Hierarchy returns the v1 hierarchy carrying controller.
func v1Hierarchy(controller string) (hierarchy, error) {
	hs, err := hostHierarchies()
	if err != nil {
		return hierarchy{}, err
	}
	for _, h := range hs {
		if !h.v2 && h.has(controller) {
			return h, nil
		}
	}
	return hierarchy{}, fmt.Errorf("%w: no cgroup v1 hierarchy carries the %s controller", ErrUnavailable, controller)
}

// CgroupDir returns the host directory of cgroup path p for controller: in
// the v1 hierarchy carrying it, else in the v2 hierarchy.
func CgroupDir(controller, p string) (string, error) {
	if h, err := v1Hierarchy(controller); err == nil {
		return filepath.Join(h.point, p), nil
	}
	hs, err := hostHierarchies()
	if err != nil {
		return "", err
	}
	for _, h := range hs {
		if h.v2 {
			return filepath.Join(h.point, p), nil
		}
	}
	return "", fmt.Errorf("no cgroup hierarchy for %s", controller)
}

// removeCgroupTree removes the cgroup p, which must carry the harness's
// name, and every cgroup below it, deepest first, in every hierarchy.
// Processes still in them are the harness's (a container the engine did
// not stop): they get SIGKILL, by PID.
func removeCgroupTree(p string) error {
	if !strings.HasPrefix(p, "/rightsize-") || path.Clean(p) != p {
		return fmt.Errorf("refusing to remove cgroup %q: not a harness cgroup", p)
	}
	hs, err := hostHierarchies()
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range hs {
		base := filepath.Join(h.point, p)
		var dirs []string
		filepath.WalkDir(base, func(d string, ent fs.DirEntry, err error) error {
			if err == nil && ent.IsDir() {
				dirs = append(dirs, d)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return strings.Count(dirs[i], "/") > strings.Count(dirs[j], "/") })
		for _, d := range dirs {
			if err := rmdirCgroup(d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func rmdirCgroup(d string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(d, "cgroup.procs")); err == nil {
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 0 && pid != os.Getpid() {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		err := syscall.Rmdir(d)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("rmdir %s: %w", d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// unmountBelow detaches every mount at or below dir, deepest first.
func unmountBelow(dir string) error {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(mi), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		if p := unescape(f[4]); p == dir || strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

var (
	sweepOnce sync.Once
	sweptMsgs []string
)

// sweepStale removes the directories, processes and cgroups of harness runs
// whose test process no longer exists (killed by a timeout, say, before its
// cleanup ran). It runs once per process, before the first engine starts.
func sweepStale() {
	bases := []string{tempBase()}
	if bases[0] != "/tmp" {
		bases = append(bases, "/tmp")
	}
	sweptMsgs = append(sweptMsgs, sweepBases(bases, os.Geteuid())...)
}

// sweepBases cleans up the harness directories in bases whose owner
// process is gone, and returns what it removed. Only real directories
// (not symbolic links) of euid, which must be root, are considered (see
// sweepable).
func sweepBases(bases []string, euid int) []string {
	var msgs []string
	for _, base := range bases {
		matches, _ := filepath.Glob(filepath.Join(base, dirPrefix+"*"))
		for _, dir := range matches {
			if fi, err := os.Lstat(dir); err != nil || !sweepable(fi, euid) || ownerAlive(dir) {
				continue
			}
			msg := dir
			if cg := recordedCgroups(dir); len(cg) > 0 {
				msg += " (cgroups " + strings.Join(cg, ", ") + ")"
			}
			if err := cleanupDir(dir); err != nil {
				msg += ": " + err.Error()
			}
			msgs = append(msgs, msg)
		}
	}
	return msgs
}

// sweepable reports whether fi (from Lstat) is a directory, not a
// symbolic link, owned by euid, and euid is root. The harness runs the
// engines as root only, so the directories it creates are root's; one of
// another user is not the harness's, whatever its name, and neither the
// cgroups its cgroups file names nor what it has mounted are to be
// touched.
func sweepable(fi fs.FileInfo, euid int) bool {
	if !fi.IsDir() || fi.Mode()&fs.ModeSymlink != 0 || euid != 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == euid
}

func swept() []string {
	sweepOnce.Do(sweepStale)
	return sweptMsgs
}

// dieWithParent makes the kernel kill cmd when the test process dies
// (PR_SET_PDEATHSIG): an engine client must not outlive the test, an
// attached `start --attach` least of all.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

// hasCapSysResource reports whether this process may raise resource
// limits (CAP_SYS_RESOURCE, bit 24 of CapEff).
func hasCapSysResource() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return true
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err != nil || n&(1<<24) != 0
		}
	}
	return true
}
