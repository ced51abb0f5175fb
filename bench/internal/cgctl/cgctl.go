// Package cgctl creates the child cgroups the experiments run their
// services in (below this process's own cgroups, cgroup v1 or v2), starts
// processes inside them from their first instruction, reads their CPU and
// memory counters, and removes everything it made — also when the program
// is interrupted (see CleanupAll).
package cgctl

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rightsize/rightsize/cgroup"
)

// Prefix starts the name of every cgroup this package creates.
const Prefix = "rightsize-bench-"

// Host is where child cgroups are created: this process's own cgroup
// directories.
type Host struct {
	V2 bool
	// v1: one directory per controller. v2: all the same (Unified).
	CPU, CPUAcct, CPUSet, Memory string
	// CPUs is the parent's CPU list (cpuset), e.g. "0-1"; NumCPUs its size.
	CPUs    []int
	NumCPUs int
}

// ErrUnavailable wraps every reason the experiments cannot run here.
var ErrUnavailable = errors.New("cgroup experiments unavailable")

func unavailable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnavailable, fmt.Sprintf(format, args...))
}

// Discover finds this process's cgroups and checks that child cgroups can
// be made: root, and the cpu, cpuacct, cpuset and memory controllers on a
// writable v1 hierarchy each, or all of them on a writable cgroup v2 whose
// subtree can enable them.
func Discover() (*Host, error) {
	if os.Geteuid() != 0 {
		return nil, unavailable("need root (euid %d) to create cgroups", os.Geteuid())
	}
	g, err := cgroup.Open()
	if err != nil {
		return nil, unavailable("cgroup discovery: %v", err)
	}
	defer g.Close()
	h := &Host{}
	locs := map[cgroup.Controller]cgroup.Location{}
	for _, c := range []cgroup.Controller{cgroup.CPU, cgroup.CPUAcct, cgroup.CPUSet, cgroup.Memory} {
		if l, ok := g.Location(c); ok && !l.Degraded {
			locs[c] = l
		}
	}
	allV1 := len(locs) == 4
	for _, l := range locs {
		if l.Version != 1 {
			allV1 = false
		}
	}
	switch {
	case allV1:
		h.CPU, h.CPUAcct, h.CPUSet, h.Memory = locs[cgroup.CPU].Dir, locs[cgroup.CPUAcct].Dir, locs[cgroup.CPUSet].Dir, locs[cgroup.Memory].Dir
	default:
		u, ok := g.Location(cgroup.Unified)
		if !ok || u.Degraded || g.Layout() != cgroup.LayoutV2 {
			return nil, unavailable("need the cpu, cpuacct, cpuset and memory controllers on cgroup v1, or a cgroup v2 host (layout %s, found %v)", g.Layout(), keys(locs))
		}
		h.V2 = true
		h.CPU, h.CPUAcct, h.CPUSet, h.Memory = u.Dir, u.Dir, u.Dir, u.Dir
		if err := enableV2(u.Dir); err != nil {
			return nil, err
		}
	}
	cpus, err := os.ReadFile(filepath.Join(h.CPUSet, cpusetFile(h.V2, true)))
	if err != nil || strings.TrimSpace(string(cpus)) == "" {
		cpus, err = os.ReadFile("/sys/devices/system/cpu/online")
	}
	if err != nil {
		return nil, unavailable("reading the CPU list: %v", err)
	}
	h.CPUs, err = ParseList(strings.TrimSpace(string(cpus)))
	if err != nil || len(h.CPUs) == 0 {
		return nil, unavailable("CPU list %q: %v", cpus, err)
	}
	h.NumCPUs = len(h.CPUs)
	for _, p := range h.SweepLeftovers() {
		fmt.Fprintf(os.Stderr, "cgctl: removed leftover cgroup %s\n", p)
	}
	// Probe writability once.
	for _, d := range h.dirs() {
		p := filepath.Join(d, Prefix+"probe-"+randSuffix())
		if err := os.Mkdir(p, 0o755); err != nil {
			return nil, unavailable("cgroupfs not writable at %s: %v", d, err)
		}
		if err := os.Remove(p); err != nil {
			return nil, fmt.Errorf("removing probe %s: %v", p, err)
		}
	}
	return h, nil
}

func keys(m map[cgroup.Controller]cgroup.Location) []string {
	var s []string
	for c, l := range m {
		s = append(s, fmt.Sprintf("%s:v%d", c, l.Version))
	}
	return s
}

// enableV2 enables cpu, cpuset and memory for the children of dir.
func enableV2(dir string) error {
	ctrls, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return unavailable("%v", err)
	}
	have := strings.Fields(string(ctrls))
	for _, want := range []string{"cpu", "cpuset", "memory"} {
		found := false
		for _, c := range have {
			found = found || c == want
		}
		if !found {
			return unavailable("cgroup v2 controller %s not available in %s (cgroup.controllers: %q)", want, dir, strings.TrimSpace(string(ctrls)))
		}
	}
	sub := filepath.Join(dir, "cgroup.subtree_control")
	if err := os.WriteFile(sub, []byte("+cpu +cpuset +memory"), 0); err != nil {
		return unavailable("enabling cpu, cpuset, memory in %s: %v (cgroup v2 lets a cgroup with processes enable controllers for children only at the root; run from a delegated, empty-parent scope, e.g. systemd-run --scope -p Delegate=yes)", sub, err)
	}
	return nil
}

func (h *Host) dirs() []string {
	if h.V2 {
		return []string{h.CPU}
	}
	return []string{h.CPU, h.CPUAcct, h.CPUSet, h.Memory}
}

func cpusetFile(v2, effective bool) string {
	switch {
	case v2 && effective:
		return "cpuset.cpus.effective"
	case v2:
		return "cpuset.cpus"
	case effective:
		return "cpuset.effective_cpus"
	}
	return "cpuset.cpus"
}

// Spec is what a child cgroup limits.
type Spec struct {
	// Name is a short label that becomes part of the directory name.
	Name string
	// Quota in CPUs (quota/period), 0 for none; Period defaults to 100 ms.
	Quota  float64
	Period time.Duration
	// Shares is the v1 cpu.shares (v2: weight = shares*100/1024, at least
	// 1); 0 leaves the default.
	Shares uint64
	// CPUs pins the cgroup to these CPUs (cpuset); nil for the parent's.
	CPUs []int
	// MemLimit in bytes; 0 for none.
	MemLimit int64
}

// Group is a created child cgroup.
type Group struct {
	V2                           bool
	CPU, CPUAcct, CPUSet, Memory string
	made                         []string // in creation order
	removed                      bool
}

var reg struct {
	sync.Mutex
	groups map[*Group]bool
	procs  map[*os.Process]bool
}

func register(g *Group) {
	reg.Lock()
	defer reg.Unlock()
	if reg.groups == nil {
		reg.groups = map[*Group]bool{}
	}
	reg.groups[g] = true
}

func registerProc(p *os.Process) {
	reg.Lock()
	defer reg.Unlock()
	if reg.procs == nil {
		reg.procs = map[*os.Process]bool{}
	}
	reg.procs[p] = true
}

// Forget drops p from the cleanup list once it has been waited for.
func Forget(p *os.Process) {
	reg.Lock()
	defer reg.Unlock()
	delete(reg.procs, p)
}

// CleanupAll kills every process started with Start that was not yet
// forgotten and removes every group not yet removed. Call it on exit and
// from a signal handler.
func CleanupAll() []error {
	reg.Lock()
	procs := make([]*os.Process, 0, len(reg.procs))
	for p := range reg.procs {
		procs = append(procs, p)
	}
	groups := make([]*Group, 0, len(reg.groups))
	for g := range reg.groups {
		groups = append(groups, g)
	}
	reg.Unlock()
	for _, p := range procs {
		_ = p.Kill()
		_, _ = p.Wait()
		Forget(p)
	}
	var errs []error
	for _, g := range groups {
		if err := g.Remove(); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// staleAge is the age at which a prefixed cgroup whose name carries no
// creator PID (the names of older versions) counts as left over.
const staleAge = 30 * time.Minute

// creatorPID returns the PID in a name made by Create:
// Prefix + "<pid>-<name>-<hex>".
func creatorPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return 0, false
	}
	p, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(p)
	return pid, err == nil && pid > 0
}

// leftover reports whether a cgroup named name, last changed at mtime, is
// left over by a run that ended without removing it (a kill, a crash): its
// creator no longer runs, or, for a name without a PID, it is older than
// staleAge. A PID that was reused keeps its cgroup until that process
// ends too.
func leftover(name string, mtime time.Time) bool {
	if !strings.HasPrefix(name, Prefix) {
		return false
	}
	if pid, ok := creatorPID(name); ok {
		if pid == os.Getpid() {
			return false
		}
		return !alive(pid)
	}
	return time.Since(mtime) > staleAge
}

// alive reports whether process pid exists and has not exited: a zombie
// (killed, not yet waited for by its parent) counts as gone.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// "pid (comm) S ...": the state follows the last ')'.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z' && b[i+2] != 'X'
	}
	return true
}

// SweepLeftovers removes, in h's directories, the cgroups that earlier
// runs left behind (see leftover) and returns their paths. It removes with
// rmdir only: the kernel refuses to remove a cgroup that holds a process or
// a child cgroup, so nothing in use is touched, and nothing but this
// package's names is ever considered. Discover calls it.
func (h *Host) SweepLeftovers() (removed []string) {
	for _, d := range h.dirs() {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			info, err := e.Info()
			if err != nil || !leftover(e.Name(), info.ModTime()) {
				continue
			}
			p := filepath.Join(d, e.Name())
			if os.Remove(p) == nil {
				removed = append(removed, p)
			}
		}
	}
	return removed
}

func randSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func write(dir, file, val string) error {
	p := filepath.Join(dir, file)
	if err := os.WriteFile(p, []byte(val), 0); err != nil {
		return fmt.Errorf("write %q to %s: %w", val, p, err)
	}
	return nil
}

// Create makes a fresh child cgroup below h's directories with the limits
// of spec. On error nothing is left behind.
func (h *Host) Create(spec Spec) (g *Group, err error) {
	// The creator's PID comes first, so that a later run can tell a
	// leftover of a killed run (SweepLeftovers) from a live one's.
	name := Prefix + strconv.Itoa(os.Getpid()) + "-" + sanitize(spec.Name) + "-" + randSuffix()
	g = &Group{V2: h.V2}
	register(g)
	defer func() {
		if err != nil {
			_ = g.Remove()
			g = nil
		}
	}()
	mk := func(parent string) (string, error) {
		d := filepath.Join(parent, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			return "", err
		}
		g.made = append(g.made, d)
		return d, nil
	}
	if h.V2 {
		d, err := mk(h.CPU)
		if err != nil {
			return nil, err
		}
		g.CPU, g.CPUAcct, g.CPUSet, g.Memory = d, d, d, d
	} else {
		if g.CPU, err = mk(h.CPU); err != nil {
			return nil, err
		}
		if g.CPUAcct, err = mk(h.CPUAcct); err != nil {
			return nil, err
		}
		if g.CPUSet, err = mk(h.CPUSet); err != nil {
			return nil, err
		}
		if g.Memory, err = mk(h.Memory); err != nil {
			return nil, err
		}
	}
	period := spec.Period
	if period == 0 {
		period = 100 * time.Millisecond
	}
	periodUS := period.Microseconds()
	if h.V2 {
		if spec.Quota > 0 {
			q := int64(spec.Quota*float64(periodUS) + 0.5)
			if err := write(g.CPU, "cpu.max", fmt.Sprintf("%d %d", q, periodUS)); err != nil {
				return nil, err
			}
		}
		if spec.Shares > 0 {
			w := spec.Shares * 100 / 1024
			if w < 1 {
				w = 1
			}
			if w > 10000 {
				w = 10000
			}
			if err := write(g.CPU, "cpu.weight", strconv.FormatUint(w, 10)); err != nil {
				return nil, err
			}
		}
	} else {
		if spec.Quota > 0 {
			q := int64(spec.Quota*float64(periodUS) + 0.5)
			if err := write(g.CPU, "cpu.cfs_period_us", strconv.FormatInt(periodUS, 10)); err != nil {
				return nil, err
			}
			if err := write(g.CPU, "cpu.cfs_quota_us", strconv.FormatInt(q, 10)); err != nil {
				return nil, err
			}
		}
		if spec.Shares > 0 {
			if err := write(g.CPU, "cpu.shares", strconv.FormatUint(spec.Shares, 10)); err != nil {
				return nil, err
			}
		}
	}
	// cpuset: v1 children start empty and must get cpus and mems before
	// a task can join.
	cpus := spec.CPUs
	if len(cpus) == 0 {
		cpus = h.CPUs
	}
	if !h.V2 {
		mems, err := os.ReadFile(filepath.Join(h.CPUSet, "cpuset.mems"))
		if err != nil {
			return nil, err
		}
		if err := write(g.CPUSet, "cpuset.mems", strings.TrimSpace(string(mems))); err != nil {
			return nil, err
		}
		if err := write(g.CPUSet, "cpuset.cpus", FormatList(cpus)); err != nil {
			return nil, err
		}
	} else if len(spec.CPUs) > 0 {
		if err := write(g.CPUSet, "cpuset.cpus", FormatList(cpus)); err != nil {
			return nil, err
		}
	}
	if spec.MemLimit > 0 {
		file := "memory.limit_in_bytes"
		if h.V2 {
			file = "memory.max"
		}
		if err := write(g.Memory, file, strconv.FormatInt(spec.MemLimit, 10)); err != nil {
			return nil, err
		}
		if h.V2 {
			// No swap either, so the limit is the OOM line.
			_ = write(g.Memory, "memory.swap.max", "0")
		} else {
			_ = write(g.Memory, "memory.swappiness", "0")
			if _, err := os.Stat(filepath.Join(g.Memory, "memory.memsw.limit_in_bytes")); err == nil {
				_ = write(g.Memory, "memory.memsw.limit_in_bytes", strconv.FormatInt(spec.MemLimit, 10))
			}
		}
	}
	return g, nil
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == '.':
			b.WriteRune('_')
		default:
			b.WriteRune('-')
		}
	}
	if b.Len() > 40 {
		return b.String()[:40]
	}
	return b.String()
}

// Dirs lists the directories of the group (one on v2).
func (g *Group) Dirs() []string { return append([]string(nil), g.made...) }

// AddProc moves the process (all its threads) into every directory of g.
func (g *Group) AddProc(pid int) error {
	for _, d := range g.made {
		if err := write(d, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// Procs lists the processes in g's directories.
func (g *Group) Procs() []int {
	seen := map[int]bool{}
	var out []int
	for _, d := range g.made {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && !seen[pid] {
				seen[pid] = true
				out = append(out, pid)
			}
		}
	}
	return out
}

// Remove kills whatever still runs in g and removes its directories,
// retrying while the kernel finishes tearing processes down.
func (g *Group) Remove() error {
	if g == nil {
		return nil
	}
	reg.Lock()
	done := g.removed
	reg.Unlock()
	if done {
		return nil
	}
	var errs []error
	deadline := time.Now().Add(5 * time.Second)
	for i := len(g.made) - 1; i >= 0; i-- {
		d := g.made[i]
		for {
			err := syscall.Rmdir(d)
			if err == nil || errors.Is(err, syscall.ENOENT) {
				break
			}
			if time.Now().After(deadline) {
				errs = append(errs, fmt.Errorf("rmdir %s: %w (processes: %v)", d, err, g.Procs()))
				break
			}
			// Processes left inside (only ones this program put there):
			// kill them and retry.
			for _, pid := range g.Procs() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	reg.Lock()
	g.removed = len(errs) == 0
	if g.removed {
		delete(reg.groups, g)
	}
	reg.Unlock()
	return errors.Join(errs...)
}

// CPUStat is a reading of a group's CPU counters.
type CPUStat struct {
	Usage            time.Duration // cpuacct.usage / cpu.stat usage_usec
	Periods          uint64
	ThrottledPeriods uint64
	ThrottledTime    time.Duration
}

func readKeyed(path string, f func(k string, v uint64)) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 2 {
			continue
		}
		if v, err := strconv.ParseUint(fs[1], 10, 64); err == nil {
			f(fs[0], v)
		}
	}
	return sc.Err()
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return -1, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// ReadCPU reads the CPU counters.
func (g *Group) ReadCPU() (CPUStat, error) {
	var st CPUStat
	err := readKeyed(filepath.Join(g.CPU, "cpu.stat"), func(k string, v uint64) {
		switch k {
		case "nr_periods":
			st.Periods = v
		case "nr_throttled":
			st.ThrottledPeriods = v
		case "throttled_time":
			st.ThrottledTime = time.Duration(v)
		case "throttled_usec":
			st.ThrottledTime = time.Duration(v) * time.Microsecond
		case "usage_usec":
			if g.V2 {
				st.Usage = time.Duration(v) * time.Microsecond
			}
		}
	})
	if err != nil {
		return st, err
	}
	if !g.V2 {
		u, err := readInt(filepath.Join(g.CPUAcct, "cpuacct.usage"))
		if err != nil {
			return st, err
		}
		st.Usage = time.Duration(u)
	}
	return st, nil
}

// Sub returns the counters accumulated from a to b.
func (b CPUStat) Sub(a CPUStat) CPUStat {
	return CPUStat{
		Usage:            b.Usage - a.Usage,
		Periods:          b.Periods - a.Periods,
		ThrottledPeriods: b.ThrottledPeriods - a.ThrottledPeriods,
		ThrottledTime:    b.ThrottledTime - a.ThrottledTime,
	}
}

// ThrottledShare is ThrottledPeriods/Periods (0 without periods).
func (s CPUStat) ThrottledShare() float64 {
	if s.Periods == 0 {
		return 0
	}
	return float64(s.ThrottledPeriods) / float64(s.Periods)
}

// MemStat is a reading of a group's memory counters.
type MemStat struct {
	Usage, Peak int64
	// OOMKill counts processes the kernel OOM-killed in the group (v1
	// memory.oom_control oom_kill, Linux 4.13+; v2 memory.events).
	OOMKill uint64
	// Failcnt (v1) / max events (v2): how often usage hit the limit.
	Failcnt uint64
	// From memory.stat: anonymous memory (v1 total_rss, v2 anon), kernel
	// memory (v2 kernel; 0 on v1), and inactive page cache (v1
	// total_inactive_file, v2 inactive_file): the working set is Usage
	// minus InactiveFile. File is the page cache (v1 total_cache, v2
	// file), shmem included.
	Anon, Kernel, InactiveFile, File int64
	// Sock is the memory of network transmission buffers (v2 sock; 0 on
	// v1), charged to the cgroup but not part of Kernel.
	Sock int64
}

// readMemStat fills the memory.stat values of st.
func (g *Group) readMemStat(st *MemStat) error {
	return readKeyed(filepath.Join(g.Memory, "memory.stat"), func(k string, v uint64) {
		switch {
		case g.V2 && k == "anon", !g.V2 && k == "total_rss":
			st.Anon = int64(v)
		case g.V2 && k == "kernel":
			st.Kernel = int64(v)
		case g.V2 && k == "inactive_file", !g.V2 && k == "total_inactive_file":
			st.InactiveFile = int64(v)
		case g.V2 && k == "file", !g.V2 && k == "total_cache":
			st.File = int64(v)
		case g.V2 && k == "sock":
			st.Sock = int64(v)
		}
	})
}

// WorkingSet is Usage minus the inactive page cache, what the kubelet
// evicts on.
func (st MemStat) WorkingSet() int64 { return max(st.Usage-st.InactiveFile, 0) }

// ReadMem reads the memory counters.
func (g *Group) ReadMem() (MemStat, error) {
	var st MemStat
	var err error
	if g.V2 {
		if st.Usage, err = readInt(filepath.Join(g.Memory, "memory.current")); err != nil {
			return st, err
		}
		if p, err := readInt(filepath.Join(g.Memory, "memory.peak")); err == nil {
			st.Peak = p
		}
		err = readKeyed(filepath.Join(g.Memory, "memory.events"), func(k string, v uint64) {
			switch k {
			case "oom_kill":
				st.OOMKill = v
			case "max":
				st.Failcnt = v
			}
		})
		if err != nil {
			return st, err
		}
		return st, g.readMemStat(&st)
	}
	if st.Usage, err = readInt(filepath.Join(g.Memory, "memory.usage_in_bytes")); err != nil {
		return st, err
	}
	if st.Peak, err = readInt(filepath.Join(g.Memory, "memory.max_usage_in_bytes")); err != nil {
		return st, err
	}
	if f, err := readInt(filepath.Join(g.Memory, "memory.failcnt")); err == nil {
		st.Failcnt = uint64(f)
	}
	err = readKeyed(filepath.Join(g.Memory, "memory.oom_control"), func(k string, v uint64) {
		if k == "oom_kill" {
			st.OOMKill = v
		}
	})
	if err != nil {
		return st, err
	}
	return st, g.readMemStat(&st)
}

// Start starts cmd inside g, so that the program's first instruction (and
// the Go runtime's start-up, which reads the CPU limit) already runs in g.
// On v1 the command runs under /bin/sh, which waits on a pipe until its PID
// has been written to every cgroup.procs and then execs the real program;
// on v2 it is started in g directly (CLONE_INTO_CGROUP). cmd's Stdin must be
// nil. The process is registered for CleanupAll; call
// Forget after waiting for it.
func (g *Group) Start(cmd *exec.Cmd) error {
	if cmd.Stdin != nil {
		return errors.New("cgctl.Start: cmd.Stdin must be nil")
	}
	if cmd.Process != nil {
		return errors.New("cgctl.Start: already started")
	}
	path := cmd.Path
	if cmd.Err != nil {
		return cmd.Err
	}
	if g.V2 {
		return g.startV2(cmd)
	}
	args := append([]string{"/bin/sh", "-c", `read -r _ && exec "$0" "$@"`, path}, cmd.Args[1:]...)
	cmd.Path = "/bin/sh"
	cmd.Args = args
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stdin = pr
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// Its own process group, so a terminal's Ctrl-C reaches only us and
	// we clean up in order.
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return err
	}
	pr.Close()
	registerProc(cmd.Process)
	if err := g.AddProc(cmd.Process.Pid); err != nil {
		pw.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		Forget(cmd.Process)
		return err
	}
	_, err = io.WriteString(pw, "go\n")
	pw.Close()
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		Forget(cmd.Process)
		return fmt.Errorf("releasing the process: %w", err)
	}
	return nil
}

// startV2 starts cmd directly inside g with CLONE_INTO_CGROUP (Linux 5.7+),
// which needs no shell (the qemu guest has none).
func (g *Group) startV2(cmd *exec.Cmd) error {
	dir, err := os.Open(g.CPU)
	if err != nil {
		return err
	}
	defer dir.Close()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = int(dir.Fd())
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s in %s: %w", cmd.Path, g.CPU, err)
	}
	registerProc(cmd.Process)
	return nil
}

// ParseList parses a CPU list such as "0-3,8".
func ParseList(s string) ([]int, error) {
	var out []int
	if s == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("bad CPU list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("bad CPU list %q", s)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}

// FormatList formats CPUs as a list ("0-1,3").
func FormatList(cpus []int) string {
	var parts []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", cpus[i], cpus[j]))
		} else {
			parts = append(parts, strconv.Itoa(cpus[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// Outstanding counts the groups not yet removed and the processes not yet
// waited for (tests use it to check that nothing is left behind).
func Outstanding() (groups, procs int) {
	reg.Lock()
	defer reg.Unlock()
	return len(reg.groups), len(reg.procs)
}
