package runc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv"
)

// v1Controllers are the controller names a v1 cgroup mount can carry. The
// super options of a v1 mount also hold flags (rw, noprefix, xattr,
// clone_children, release_agent=...), so a known list is the reliable way
// to tell them apart; named hierarchies (name=systemd) are kept too.
var v1Controllers = map[string]bool{
	"cpu": true, "cpuacct": true, "cpuset": true, "memory": true, "devices": true,
	"freezer": true, "net_cls": true, "net_prio": true, "blkio": true, "perf_event": true,
	"hugetlb": true, "pids": true, "rdma": true, "misc": true,
}

// hierarchy is one cgroup filesystem mounted in the harness's own mount
// namespace (normally the host's).
type hierarchy struct {
	point       string   // mount point, e.g. /sys/fs/cgroup/cpu
	root        string   // mount root (mountinfo field 4), "/" on a host
	v2          bool     // cgroup2
	controllers []string // v1 controllers and name=... entries; nil for v2
	path        string   // this process's cgroup in it; "" when /proc/self/cgroup has no line for it
}

func (h hierarchy) has(controller string) bool {
	if h.v2 {
		b, err := os.ReadFile(filepath.Join(h.point, "cgroup.controllers"))
		return err == nil && containsField(strings.Fields(string(b)), controller)
	}
	return containsField(h.controllers, controller)
}

// dir maps a cgroup path (as /proc/self/cgroup and runc's cgroupsPath spell
// it) to a directory under the mount point, or reports that the path is not
// below the mount root.
func (h hierarchy) dir(cgPath string) (string, bool) {
	cgPath = path.Clean("/" + cgPath)
	if h.root == "/" {
		return filepath.Join(h.point, cgPath), true
	}
	if cgPath == h.root {
		return h.point, true
	}
	if rest, ok := strings.CutPrefix(cgPath, h.root+"/"); ok {
		return filepath.Join(h.point, rest), true
	}
	return "", false
}

// hostHierarchies lists the cgroup and cgroup2 mounts of this process and,
// for each, the process's own cgroup in it. When a hierarchy is mounted
// twice, the mount under /sys/fs/cgroup wins.
func hostHierarchies() ([]hierarchy, error) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	own := map[string]string{} // sorted controller list ("" for v2) -> path
	for _, line := range strings.Split(string(cg), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			own[""] = parts[2]
			continue
		}
		own[controllerKey(strings.Split(parts[1], ","))] = parts[2]
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
		if len(f) < 5 || len(g) < 3 || (g[0] != "cgroup" && g[0] != "cgroup2") {
			continue
		}
		h := hierarchy{root: unescape(f[3]), point: unescape(f[4]), v2: g[0] == "cgroup2"}
		if !h.v2 {
			for _, o := range strings.Split(g[2], ",") {
				if v1Controllers[o] || strings.HasPrefix(o, "name=") {
					h.controllers = append(h.controllers, o)
				}
			}
		}
		key := controllerKey(h.controllers)
		h.path = own[key]
		if i, dup := seen[key]; dup {
			if !strings.HasPrefix(hs[i].point, "/sys/fs/cgroup/") && strings.HasPrefix(h.point, "/sys/fs/cgroup/") {
				hs[i] = h
			}
			continue
		}
		seen[key] = len(hs)
		hs = append(hs, h)
	}
	return hs, sc.Err()
}

func controllerKey(cs []string) string {
	c := append([]string(nil), cs...)
	sort.Strings(c)
	return strings.Join(c, ",")
}

func containsField(fs []string, want string) bool {
	for _, f := range fs {
		if f == want {
			return true
		}
	}
	return false
}

// unescape undoes mountinfo's octal escapes (\040 for a space and so on).
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

// containerCgroup returns the cgroup path runc gives the container in h:
// an absolute cgroupsPath is taken from the hierarchy root; a relative one,
// and runc's default (the container ID), from runc's own cgroup, which is
// this process's, since runc is its child.
func containerCgroup(h hierarchy, cgroupsPath, id string) string {
	if strings.HasPrefix(cgroupsPath, "/") {
		return path.Clean(cgroupsPath)
	}
	rel := cgroupsPath
	if rel == "" {
		rel = id
	}
	return path.Join("/", h.path, rel)
}

// chain returns, for every hierarchy, the directories from below the mount
// point down to cgPath's directory: ancestors top-down (all hierarchies,
// level by level) and the leaves, one per hierarchy. cgPath is given per
// hierarchy by the function, since relative container paths differ.
func chain(hs []hierarchy, cgPath func(hierarchy) string) (ancestors, leaves []string) {
	byDepth := map[int][]string{}
	maxDepth := 0
	for _, h := range hs {
		leaf, ok := h.dir(cgPath(h))
		if !ok {
			continue
		}
		rel, err := filepath.Rel(h.point, leaf)
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			continue
		}
		leaves = append(leaves, leaf)
		d := h.point
		parts := strings.Split(rel, string(filepath.Separator))
		for i, part := range parts[:len(parts)-1] {
			d = filepath.Join(d, part)
			byDepth[i] = append(byDepth[i], d)
			maxDepth = max(maxDepth, i+1)
		}
	}
	for i := 0; i < maxDepth; i++ {
		ancestors = append(ancestors, byDepth[i]...)
	}
	return ancestors, leaves
}

// Shared ancestors.
//
// Kubernetes-shaped paths share ancestors (/kubepods, /kubepods/burstable)
// between containers, and tests run in parallel, within a package and
// across the packages `go test ./...` runs at once. runc creates missing
// ancestors and never removes them, so the harness must, but removing an
// empty /kubepods while another test's runc is about to create its pod below
// it makes that test fail. The rules:
//
//   - The harness creates missing ancestors itself, before runc runs, and
//     records each one it created in a registry file. Only recorded
//     directories are ever removed: an ancestor that existed before was not
//     the harness's.
//   - A user (a Run or a ParentCgroup) holds a shared flock(2) on each
//     recorded ancestor it sits below, from creation until it is done.
//   - When a user is done it sweeps the registry: each recorded directory
//     whose exclusive flock it can take (no user left) and that is empty is
//     removed, deepest first. The last user of /kubepods removes it.
//   - Creating, locking and sweeping happen under one mutex (a flock on a
//     file beside the registry), so a sweep never sees a directory that
//     was just created but not locked yet.
//
// flock on a cgroupfs directory works like on any file.
//
// ParentCgroup's cgroups are recorded and locked the same way, so that
// "recorded and no lock held" means "no harness user, live, needs it": its
// creator finished or died. The registry lives in lockDir, which outlives a
// test binary killed by go test -timeout; what such a run left is swept by
// the next harness user of any test process (see sweep_linux.go): each
// recorded directory nobody holds loses the cgroups below it that carry a
// harness name (names.go), deepest first, and then itself, all by rmdir, so
// that a cgroup with a process in it (a container runc still runs) stays
// for a later sweep and no process is ever moved.
const (
	lockDir      = "/run/rightsize"
	mutexFile    = lockDir + "/cgroups.lock"
	registryFile = lockDir + "/cgroups.created"
)

// ancestorLease holds the shared locks of one harness user, and the
// cgroups it created as its own (ParentCgroup's).
type ancestorLease struct {
	held    []*os.File
	created []string
}

// withMutex runs f holding the harness-wide mutex.
func withMutex(f func() error) error {
	if err := os.MkdirAll(lockDir, 0o700); err != nil {
		return err
	}
	m, err := os.OpenFile(mutexFile, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer m.Close() // closing releases the lock
	if err := flock(m, syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", mutexFile, err)
	}
	return f()
}

// acquireAncestors creates the missing directories of dirs (top-down),
// records them, and takes a shared lock on every recorded one. On error the
// locks taken so far are released; created directories stay recorded and
// are swept later.
func acquireAncestors(dirs []string) (*ancestorLease, error) {
	return acquire(dirs, nil)
}

// acquire is acquireAncestors that also creates own, cgroups that must not
// exist yet (ParentCgroup's), and records and locks them like ancestors;
// they are in lease.created, also after an error, for the caller to
// remove. The first acquire of a process sweeps what earlier runs left.
func acquire(dirs, own []string) (*ancestorLease, error) {
	testenv.StartReaper(reaperKind)
	lease := &ancestorLease{}
	err := withMutex(func() error {
		sweepOnce.Do(sweepLeftoversLocked)
		reg, err := readRegistry()
		if err != nil {
			return err
		}
		lock := func(d string) error {
			f, err := os.Open(d)
			if err != nil {
				return err
			}
			lease.held = append(lease.held, f)
			if err := flock(f, syscall.LOCK_SH); err != nil {
				return fmt.Errorf("lock %s: %w", d, err)
			}
			return nil
		}
		for _, d := range dirs {
			switch err := os.Mkdir(d, 0o755); {
			case err == nil:
				if err := appendRegistry(d); err != nil {
					return err
				}
				reg[d] = true
			case errors.Is(err, os.ErrExist):
			default:
				return fmt.Errorf("create cgroup %s: %w", d, err)
			}
			if !reg[d] {
				continue // not the harness's: never removed, no lock needed
			}
			if err := lock(d); err != nil {
				return err
			}
		}
		for _, d := range own {
			// Recorded first: a crash in between leaves a record of a
			// missing directory, which a sweep drops. A failed mkdir
			// takes its record back (unless the directory was recorded
			// before, by a run that created it): EEXIST means a cgroup
			// the harness did not create, which a record would have the
			// sweep remove.
			known := reg[d]
			if err := appendRegistry(d); err != nil {
				return err
			}
			if err := os.Mkdir(d, 0o755); err != nil {
				err = fmt.Errorf("create cgroup %s: %w (the cgroup must not exist yet)", d, err)
				if !known {
					if rerr := dropRegistry(d); rerr != nil {
						err = errors.Join(err, fmt.Errorf("dropping its record: %w", rerr))
					}
				}
				return err
			}
			reg[d] = true
			lease.created = append(lease.created, d)
			if err := lock(d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		lease.closeAll()
		return lease, err
	}
	return lease, nil
}

func (l *ancestorLease) closeAll() {
	for _, f := range l.held {
		f.Close()
	}
	l.held = nil
}

// release drops the lease's locks and sweeps the registry. Directories
// still in use or not empty are kept for a later sweep; that is not an
// error.
func (l *ancestorLease) release() error {
	return withMutex(func() error {
		l.closeAll()
		return sweepRegistryLocked()
	})
}

// sweepRegistryLocked removes, deepest first, every recorded directory
// that no harness user holds, with the harness-named cgroups below it, and
// keeps the rest recorded. It runs under the mutex.
func sweepRegistryLocked() error {
	reg, err := readRegistry()
	if err != nil {
		return err
	}
	dirs := make([]string, 0, len(reg))
	for d := range reg {
		dirs = append(dirs, d)
	}
	// Deepest first, so that a parent is tried after its children.
	sort.Slice(dirs, func(i, j int) bool {
		di, dj := strings.Count(dirs[i], "/"), strings.Count(dirs[j], "/")
		if di != dj {
			return di > dj
		}
		return dirs[i] < dirs[j]
	})
	var keep []string
	for _, d := range dirs {
		if !sweepOne(d) {
			keep = append(keep, d)
		}
	}
	return writeRegistry(keep)
}

// sweepOne removes a recorded directory when no harness user holds it,
// together with the cgroups below it that carry a harness name (what a
// killed run left: a ParentCgroup's pod, a container's cgroup runc could
// not remove); it reports whether the directory is gone. A directory with
// anything else below it, or a process in it, stays.
func sweepOne(d string) bool {
	f, err := os.Open(d)
	if errors.Is(err, os.ErrNotExist) {
		return true
	}
	if err != nil {
		return false
	}
	defer f.Close()
	if flock(f, syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return false // in use
	}
	if ents, err := os.ReadDir(d); err == nil {
		for _, e := range ents {
			if e.IsDir() && harnessName(e.Name()) {
				_ = removeIdleTree(filepath.Join(d, e.Name()))
			}
		}
	}
	err = syscall.Rmdir(d)
	return err == nil || errors.Is(err, syscall.ENOENT)
}

// removeIdleTree removes a cgroup and everything below it, deepest first,
// without waiting: rmdir fails at once on a cgroup with a process in it,
// and that cgroup (with its parents) stays.
func removeIdleTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var errs []error
	for _, e := range ents {
		if e.IsDir() {
			if err := removeIdleTree(filepath.Join(dir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
		errs = append(errs, &os.PathError{Op: "rmdir", Path: dir, Err: err})
	}
	return errors.Join(errs...)
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func readRegistry() (map[string]bool, error) {
	b, err := os.ReadFile(registryFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	reg := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" {
			reg[line] = true
		}
	}
	return reg, nil
}

func appendRegistry(d string) error {
	f, err := os.OpenFile(registryFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(d + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// dropRegistry removes d from the registry. It runs under the mutex.
func dropRegistry(d string) error {
	reg, err := readRegistry()
	if err != nil {
		return err
	}
	if !reg[d] {
		return nil
	}
	delete(reg, d)
	keep := make([]string, 0, len(reg))
	for r := range reg {
		keep = append(keep, r)
	}
	sort.Strings(keep)
	return writeRegistry(keep)
}

func writeRegistry(dirs []string) error {
	tmp := registryFile + ".tmp"
	var b strings.Builder
	for _, d := range dirs {
		b.WriteString(d + "\n")
	}
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, registryFile)
}

// rmdirCgroup removes a cgroup directory the harness owns (a container's or
// a ParentCgroup's). A cgroup that still holds tasks right after a kill is
// busy for a moment, so EBUSY is retried for a few seconds before it is
// reported with the cgroup's remaining processes.
func rmdirCgroup(dir string) error {
	delay := 10 * time.Millisecond
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := syscall.Rmdir(dir)
		switch {
		case err == nil || errors.Is(err, syscall.ENOENT):
			return nil
		case errors.Is(err, syscall.EBUSY) && time.Now().Before(deadline):
			time.Sleep(delay)
			delay = min(2*delay, 200*time.Millisecond)
		default:
			procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			return fmt.Errorf("remove cgroup %s: %w (cgroup.procs: %q)", dir, err, strings.TrimSpace(string(procs)))
		}
	}
}

// removeTree removes dir and every cgroup below it, deepest first. It is
// used only on directories whose names are unique to one test, so whatever
// is below them is that test's.
func removeTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var errs []error
	for _, e := range ents {
		if e.IsDir() {
			if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := rmdirCgroup(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func parentCgroup(t testing.TB, p string, lim Limits) *Cgroup {
	t.Helper()
	hs, err := hostHierarchies()
	if err != nil {
		t.Fatalf("ParentCgroup: %v", err)
	}
	var v1 []hierarchy
	c := &Cgroup{Path: p, dirs: map[string]string{}}
	for _, ctrl := range parentControllers {
		var h *hierarchy
		for i := range hs {
			if !hs[i].v2 && hs[i].has(ctrl) {
				h = &hs[i]
				break
			}
		}
		if h == nil {
			reason := testenv.CgroupV1Missing()
			if reason == "" {
				reason = fmt.Sprintf("needs cgroup v1 controllers (%s not on a v1 hierarchy here)", ctrl)
			}
			skipOrFail(t, "ParentCgroup "+reason)
			return nil
		}
		d, ok := h.dir(p)
		if !ok {
			t.Fatalf("ParentCgroup: %s is outside the %s hierarchy visible here (root %s)", p, ctrl, h.root)
		}
		c.dirs[ctrl] = d
		if !containsHierarchy(v1, h.point) {
			v1 = append(v1, *h)
		}
	}

	ancestors, leaves := chain(v1, func(hierarchy) string { return p })
	var lease *ancestorLease
	// Registered before the first directory is made, so that a failure
	// from here on (t.Fatalf included) still cleans up.
	t.Cleanup(func() {
		if lease == nil {
			return
		}
		var errs []error
		for i := len(lease.created) - 1; i >= 0; i-- {
			if err := removeTree(lease.created[i]); err != nil {
				errs = append(errs, err)
			}
		}
		if err := lease.release(); err != nil {
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			t.Errorf("ParentCgroup cleanup of %s: %v", p, err)
		}
	})
	lease, err = acquire(ancestors, leaves)
	if err != nil {
		t.Fatalf("ParentCgroup: %v", err)
	}

	write := func(ctrl, file, val string) {
		name := filepath.Join(c.dirs[ctrl], file)
		if err := os.WriteFile(name, []byte(val), 0o644); err != nil {
			t.Fatalf("ParentCgroup: write %q to %s: %v", val, name, err)
		}
	}
	// Period before quota: the kernel checks the quota/period ratio
	// against the rest of the hierarchy on each write.
	if lim.CPUPeriod != 0 {
		write("cpu", "cpu.cfs_period_us", strconv.FormatUint(lim.CPUPeriod, 10))
	}
	if lim.CPUQuota != 0 {
		write("cpu", "cpu.cfs_quota_us", strconv.FormatInt(lim.CPUQuota, 10))
	}
	if lim.MemoryLimit != 0 {
		write("memory", "memory.limit_in_bytes", strconv.FormatInt(lim.MemoryLimit, 10))
	}
	switch {
	case lim.PidsLimit > 0:
		write("pids", "pids.max", strconv.FormatInt(lim.PidsLimit, 10))
	case lim.PidsLimit < 0:
		write("pids", "pids.max", "max")
	}
	return c
}

func containsHierarchy(hs []hierarchy, point string) bool {
	for _, h := range hs {
		if h.point == point {
			return true
		}
	}
	return false
}
