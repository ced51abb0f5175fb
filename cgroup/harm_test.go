//go:build linux

package cgroup

// "Never harm" tests. rightsize runs in the init of every program that
// imports it, so no file, however odd, may hang that program, crash it,
// make it read outside the root it was given, or hand it a value no kernel
// would (a negative count, a limit of 0, a working set above the usage).
// Each test builds a tree from a fixture under testdata/ in a temporary
// directory, breaks it in one way (a FIFO, socket, directory or device in
// place of a file; a 1 GB sparse file; a symbolic link or a ".." path that
// leads out of the root; a number at the edge of its type) and runs Open
// and every reader, each in a goroutine with a time bound, so that a read
// that blocks fails the test instead of hanging the suite.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rightsize/rightsize/internal/rootfs"
	"github.com/rightsize/rightsize/internal/testenv"
)

// harmBound is how long any one call may take. Every call reads a handful
// of small files; a call that takes this long is blocked, or far too slow.
const harmBound = 2 * time.Second

// canaryToken is the content of every file outside the roots of these
// tests. It is a valid number, so that a reader that reached such a file
// would return it as a value (or quote it in a parse error).
const canaryToken = "7357735773"

// markerFiles are only tested for existence, never read: the v1 root
// marker and the v2 files that tell the root of the hierarchy.
var markerFiles = map[string]bool{"cgroup.sane_behavior": true, "cgroup.procs": true, "cgroup.type": true}

// harmFixtures are built so that every regular file in them is read by
// some reader (the markers are stat'ed): harm-v1 has every v1 file of the
// file table over three levels, with /proc/pressure; harm-v2 every v2 file
// over three levels.
var harmFixtures = []string{"harm-v1", "harm-v2"}

// callResult is one call of a harmRun.
type callResult struct {
	name  string
	value string // the returned values, formatted
	err   error
	took  time.Duration
}

// harmValues are the typed values of a harmRun, for the invariants.
type harmValues struct {
	cpu, leaf     CPULimit
	cpuOK, leafOK bool
	req           CPURequest
	reqOK         bool
	set           CPUCount
	setOK         bool
	mem, high     MemoryLimit
	memOK, highOK bool
	swap          int64
	swapOK        bool
	pids          PIDsLimit
	pidsOK        bool
	stats         Stats
	moved         bool
	loc           [numControllers]Location
	have          [numControllers]bool
}

// harmRun is Open and every reader on one tree.
type harmRun struct {
	root    string // absolute
	openErr error
	calls   []callResult
	vals    harmValues
	slowest callResult
}

// call runs fn in a goroutine and waits at most harmBound for it: a call
// that blocks fails the test (its goroutine is left behind) instead of
// hanging the suite. A panic fails the test with its stack.
func (r *harmRun) call(t testing.TB, name string, fn func() (string, error)) callResult {
	t.Helper()
	type result struct {
		v        string
		err      error
		panicked string
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		var res result
		defer func() {
			if p := recover(); p != nil {
				res = result{panicked: fmt.Sprintf("%v\n%s", p, debug.Stack())}
			}
			done <- res
		}()
		res.v, res.err = fn()
	}()
	timer := time.NewTimer(harmBound)
	defer timer.Stop()
	select {
	case res := <-done:
		if res.panicked != "" {
			t.Fatalf("%s panicked: %s", name, res.panicked)
		}
		c := callResult{name: name, value: res.v, err: res.err, took: time.Since(start)}
		r.calls = append(r.calls, c)
		if c.took > r.slowest.took {
			r.slowest = c
		}
		return c
	case <-timer.C:
		t.Fatalf("%s did not return within %v: a read blocked, or was far too slow", name, harmBound)
	}
	return callResult{}
}

// get returns the result of the call named name.
func (r *harmRun) get(name string) (callResult, bool) {
	for _, c := range r.calls {
		if c.name == name {
			return c, true
		}
	}
	return callResult{}, false
}

// harmRunTree opens root and calls every reader, each within harmBound.
// afterOpen, if set, runs between Open and the first reader (the handle
// opens cgroup files at their first read, so a file broken then is met
// cold).
func harmRunTree(t testing.TB, root string, afterOpen func()) *harmRun {
	t.Helper()
	r := &harmRun{root: root}
	var g *Group
	c := r.call(t, "Open", func() (string, error) {
		var err error
		g, err = Open(WithRoot(root))
		return "", err
	})
	if r.openErr = c.err; c.err != nil {
		if g != nil {
			t.Errorf("Open returned a Group with the error %v", c.err)
		}
		return r
	}
	if g == nil {
		t.Fatal("Open returned neither a Group nor an error")
	}
	v := &r.vals
	for ctl := Controller(0); ctl < numControllers; ctl++ {
		v.loc[ctl], v.have[ctl] = g.Location(ctl)
	}
	if afterOpen != nil {
		afterOpen()
	}
	r.call(t, "CPULimit", func() (s string, err error) {
		v.cpu, v.cpuOK, err = g.CPULimit()
		return fmt.Sprintf("%+v %v", v.cpu, v.cpuOK), err
	})
	r.call(t, "LeafCPULimit", func() (s string, err error) {
		v.leaf, v.leafOK, err = g.LeafCPULimit()
		return fmt.Sprintf("%+v %v", v.leaf, v.leafOK), err
	})
	r.call(t, "CPURequest", func() (s string, err error) {
		v.req, v.reqOK, err = g.CPURequest()
		return fmt.Sprintf("%+v %v", v.req, v.reqOK), err
	})
	r.call(t, "CPUSetCPUs", func() (s string, err error) {
		v.set, v.setOK, err = g.CPUSetCPUs()
		return fmt.Sprintf("%+v %v", v.set, v.setOK), err
	})
	r.call(t, "MemoryLimit", func() (s string, err error) {
		v.mem, v.memOK, err = g.MemoryLimit()
		return fmt.Sprintf("%+v %v", v.mem, v.memOK), err
	})
	r.call(t, "MemoryHigh", func() (s string, err error) {
		v.high, v.highOK, err = g.MemoryHigh()
		return fmt.Sprintf("%+v %v", v.high, v.highOK), err
	})
	r.call(t, "SwapLimit", func() (s string, err error) {
		var l MemoryLimit
		l, v.swapOK, err = g.SwapLimit()
		v.swap = l.Bytes
		return fmt.Sprintf("%d %v", v.swap, v.swapOK), err
	})
	r.call(t, "PIDsLimit", func() (s string, err error) {
		v.pids, v.pidsOK, err = g.PIDsLimit()
		return fmt.Sprintf("%+v %v", v.pids, v.pidsOK), err
	})
	r.call(t, "ReadStats", func() (string, error) {
		err := g.ReadStats(&v.stats, StatsAll)
		return fmt.Sprintf("%+v", v.stats), err
	})
	r.call(t, "Moved", func() (s string, err error) {
		v.moved, err = g.Moved()
		return fmt.Sprint(v.moved), err
	})
	r.call(t, "Close", func() (string, error) { return "", g.Close() })
	return r
}

// errs returns the calls that failed.
func (r *harmRun) errs() []callResult {
	var out []callResult
	for _, c := range r.calls {
		if c.err != nil {
			out = append(out, c)
		}
	}
	return out
}

// leafErrors flattens errors.Join trees (ReadStats joins one error per
// file).
func leafErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// checkSane asserts what must hold of every run, whatever the tree: no
// value or error carries the canary; every error names a file inside the
// root; every limit returned is positive (a pids limit may be 0, which
// lets no task start; a swap limit may be 0, no swap); no count, size or
// duration is negative; parts of the memory usage are not above it.
func checkSane(t testing.TB, what string, r *harmRun) {
	t.Helper()
	for _, c := range r.calls {
		if strings.Contains(c.value, canaryToken) {
			t.Errorf("%s: %s returned the canary: %s", what, c.name, c.value)
		}
		if c.err == nil {
			continue
		}
		if strings.Contains(c.err.Error(), canaryToken) {
			t.Errorf("%s: %s: error quotes the canary: %v", what, c.name, c.err)
		}
		for _, e := range leafErrors(c.err) {
			var fe *Error
			if !errors.As(e, &fe) {
				t.Errorf("%s: %s: error %q names no file", what, c.name, e)
				continue
			}
			if fe.Path != r.root && !strings.HasPrefix(fe.Path, r.root+string(filepath.Separator)) {
				t.Errorf("%s: %s: error names %q, outside the root %s", what, c.name, fe.Path, r.root)
			}
		}
	}
	if r.openErr != nil {
		return
	}
	v := &r.vals
	checkCPULimit(t, what+": CPULimit", v.cpu, v.cpuOK)
	checkCPULimit(t, what+": LeafCPULimit", v.leaf, v.leafOK)
	if v.cpuOK && v.leafOK && lessRatio(int64(v.leaf.Quota), int64(v.leaf.Period), int64(v.cpu.Quota), int64(v.cpu.Period)) {
		t.Errorf("%s: the leaf's limit %+v is below the effective one %+v", what, v.leaf, v.cpu)
	}
	if v.reqOK {
		if v.req.MilliCPU < 0 || v.req.MilliCPU > 256000 || (v.req.Shares == 0) == (v.req.Weight == 0) ||
			v.req.Shares != 0 && (v.req.Shares < 2 || v.req.Shares > 1<<18) || v.req.Weight > 10000 || v.req.Path == "" {
			t.Errorf("%s: CPURequest = %+v", what, v.req)
		}
	} else if v.req != (CPURequest{}) {
		t.Errorf("%s: CPURequest not ok but %+v", what, v.req)
	}
	if v.setOK && (v.set.CPUs <= 0 || v.set.Path == "") || !v.setOK && v.set != (CPUCount{}) {
		t.Errorf("%s: CPUSetCPUs = %+v ok=%v", what, v.set, v.setOK)
	}
	checkMemLimit(t, what+": MemoryLimit", v.mem, v.memOK)
	checkMemLimit(t, what+": MemoryHigh", v.high, v.highOK)
	if v.swap < 0 || !v.swapOK && v.swap != 0 {
		t.Errorf("%s: SwapLimit = %d ok=%v", what, v.swap, v.swapOK)
	}
	if v.pidsOK && (v.pids.Max < 0 || v.pids.Path == "") || !v.pidsOK && v.pids != (PIDsLimit{}) {
		t.Errorf("%s: PIDsLimit = %+v ok=%v", what, v.pids, v.pidsOK)
	}
	checkStats(t, what, &v.stats)
}

func checkCPULimit(t testing.TB, what string, l CPULimit, ok bool) {
	t.Helper()
	if !ok {
		if l != (CPULimit{}) {
			t.Errorf("%s: not ok but %+v", what, l)
		}
		return
	}
	if !(l.CPUs > 0) || math.IsInf(l.CPUs, 0) || l.Quota <= 0 || l.Period <= 0 || l.Path == "" {
		t.Errorf("%s = %+v: want positive CPUs, quota and period, and a file", what, l)
	}
}

func checkMemLimit(t testing.TB, what string, l MemoryLimit, ok bool) {
	t.Helper()
	if !ok {
		if l != (MemoryLimit{}) {
			t.Errorf("%s: not ok but %+v", what, l)
		}
		return
	}
	if l.Bytes <= 0 || l.Path == "" {
		t.Errorf("%s = %+v: want a positive limit and a file", what, l)
	}
}

func checkStats(t testing.TB, what string, st *Stats) {
	t.Helper()
	bad := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: ReadStats: "+format+"\n%+v", append(append([]any{what}, args...), *st)...)
	}
	c := &st.CPU
	if c.Usage < 0 || c.Throttling.ThrottledTime < 0 {
		bad("negative CPU time")
	}
	if !c.HasUsage && (c.Usage != 0 || c.UsagePath != "") || c.HasUsage && c.UsagePath == "" {
		bad("CPU usage and HasUsage disagree")
	}
	if c.HasThrottling && c.Throttling.ThrottledPeriods > c.Throttling.Periods {
		bad("more throttled periods than periods")
	}
	m := &st.Memory
	for _, v := range []int64{m.Usage, m.WorkingSet, m.InactiveFile, m.Anon, m.File, m.Kernel, m.Peak} {
		if v < 0 {
			bad("negative memory value")
		}
	}
	if m.HasUsage {
		if m.WorkingSet > m.Usage || m.InactiveFile > m.Usage || m.Anon > m.Usage || m.File > m.Usage || m.Kernel > m.Usage {
			bad("a part of the memory usage is above the usage")
		}
		if m.HasWorkingSet && m.WorkingSet != m.Usage-m.InactiveFile {
			bad("working set is not usage - inactive_file")
		}
	} else if m.Usage != 0 || m.WorkingSet != 0 || m.InactiveFile != 0 || m.Anon != 0 || m.File != 0 || m.Kernel != 0 || m.HasWorkingSet || m.HasKernel {
		bad("memory values without HasUsage")
	}
	if !m.HasWorkingSet && m.WorkingSet != 0 || !m.HasKernel && m.Kernel != 0 {
		bad("working set or kernel memory without its Has flag")
	}
	if st.PIDs.Current < 0 || !st.PIDs.HasCurrent && st.PIDs.Current != 0 {
		bad("pids.current")
	}
	p := &st.Pressure
	for i, x := range []struct {
		has bool
		psi PSI
	}{{p.HasCPU, p.CPU}, {p.HasMemory, p.Memory}, {p.HasIO, p.IO}} {
		for _, l := range []PSILine{x.psi.Some, x.psi.Full} {
			for _, a := range []float64{l.Avg10, l.Avg60, l.Avg300} {
				if !(a >= 0 && a <= 100) {
					bad("pressure %d: average %v is not a percentage", i, a)
				}
			}
			if l.Total < 0 {
				bad("pressure %d: negative total", i)
			}
		}
	}
	if p.HostWide && !p.HasCPU && !p.HasMemory && !p.HasIO {
		bad("HostWide without pressure values")
	}
}

// checkStatsCleared asserts that a value whose Has flag is false is zero:
// ReadStats "clears the others", and a group that failed part way must
// not leave the part it parsed behind.
func checkStatsCleared(t testing.TB, what string, st *Stats) {
	t.Helper()
	bad := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: ReadStats: "+format+"\n%+v", append(append([]any{what}, args...), *st)...)
	}
	if !st.CPU.HasThrottling && st.CPU.Throttling != (Throttling{}) {
		bad("throttling values %+v without HasThrottling", st.CPU.Throttling)
	}
	m := &st.Memory
	if !m.HasPeak && m.Peak != 0 {
		bad("peak %d without HasPeak", m.Peak)
	}
	if !m.HasEvents && m.Events != (MemoryEvents{}) {
		bad("memory events %+v without HasEvents", m.Events)
	}
	p := &st.Pressure
	for _, x := range []struct {
		name string
		has  bool
		psi  PSI
	}{{"cpu", p.HasCPU, p.CPU}, {"memory", p.HasMemory, p.Memory}, {"io", p.HasIO, p.IO}} {
		if !x.has && x.psi != (PSI{}) {
			bad("%s pressure %+v without its Has flag", x.name, x.psi)
		}
		if !x.psi.HasFull && x.psi.Full != (PSILine{}) {
			bad("%s pressure: a full line without HasFull", x.name)
		}
	}
}

// harmResolutions runs fn with openat2 (where the kernel has it) and with
// the component walk that kernels before 5.6 use.
func harmResolutions(t *testing.T, fn func(t *testing.T)) {
	t.Run("openat2", fn)
	t.Run("walk", func(t *testing.T) {
		defer rootfs.ForceWalk()()
		fn(t)
	})
}

// fastTempDir is t.TempDir on a tmpfs where there is one: the tests build
// thousands of small trees, and creating a file on a disk file system
// can take milliseconds. /dev/shm is used when it is a writable tmpfs
// mounted without nodev (device nodes must open as on a disk).
func fastTempDir(t testing.TB) string {
	t.Helper()
	const shm = "/dev/shm"
	var st unix.Statfs_t
	if unix.Statfs(shm, &st) == nil && st.Type == unix.TMPFS_MAGIC && st.Flags&unix.ST_NODEV == 0 && unix.Access(shm, unix.W_OK) == nil {
		if d, err := os.MkdirTemp(shm, "rightsize-harm-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

// regularFiles lists the regular files below root, as slash-separated
// paths relative to it, sorted.
func regularFiles(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// readAtOpen reports whether Open reads the file (and only Open): the two
// /proc files and a v2 mount's cgroup.controllers.
func readAtOpen(rel string) bool {
	return rel == "proc/self/cgroup" || rel == "proc/self/mountinfo" || path.Base(rel) == "cgroup.controllers"
}

// nodeKind is something other than a regular file put in a file's place.
type nodeKind struct {
	name string
	word string // how an error names it
	// make creates it at p (which does not exist) and returns what to
	// undo besides removing p.
	make func(t testing.TB, p string) func()
}

func notRegularKinds() []nodeKind {
	kinds := []nodeKind{
		{"fifo", "a FIFO", func(t testing.TB, p string) func() {
			if err := unix.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
			return func() {}
		}},
		{"socket", "a socket", makeSocket},
		{"directory", "a directory", func(t testing.TB, p string) func() {
			if err := os.MkdirAll(filepath.Join(p, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			return func() {}
		}},
	}
	if os.Geteuid() == 0 {
		kinds = append(kinds, nodeKind{"chardev", "a character device", func(t testing.TB, p string) func() {
			// /dev/zero's numbers: a read would never end.
			if err := unix.Mknod(p, unix.S_IFCHR|0o644, int(unix.Mkdev(1, 5))); err != nil {
				t.Fatal(err)
			}
			return func() {}
		}})
	}
	return kinds
}

// openableKinds leaves out the character device where root is on a
// filesystem mounted nodev (a tmpfs /tmp on many distributions, the qemu
// guest's /tmp): opening a device node there fails with EACCES before
// anything can see what the file is, so the case would test the mount, not
// the readers.
func openableKinds(t testing.TB, kinds []nodeKind, root string) []nodeKind {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil || st.Flags&unix.ST_NODEV == 0 {
		return kinds
	}
	var out []nodeKind
	for _, k := range kinds {
		if k.name == "chardev" {
			t.Logf("%s is on a nodev mount: no character device case", root)
			continue
		}
		out = append(out, k)
	}
	return out
}

// makeSocket binds a listening unix socket at p. A socket's path must fit
// in 108 bytes, so it is bound through the short name of its directory's
// descriptor, /proc/self/fd/N/name.
func makeSocket(t testing.TB, p string) func() {
	t.Helper()
	dir, err := os.Open(filepath.Dir(p))
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	short := fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), filepath.Base(p))
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: short, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeSocket == 0 {
		l.Close()
		t.Fatalf("socket at %s: %v %v", p, fi, err)
	}
	return func() { l.Close() }
}

// replaceWith swaps the file at p for what mk makes and returns a function
// that puts the original content back.
func replaceWith(t testing.TB, p string, mk func(t testing.TB, p string) func()) (restore func()) {
	t.Helper()
	orig, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	undo := mk(t, p)
	return func() {
		undo()
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, orig, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fault is what one broken file must do to a run: every failing call
// fails because of it (is), naming it (path); when read is set some call
// must fail so. A run where the broken file is not read (a marker, or a
// file only Open reads, broken after Open) must equal the base run.
type fault struct {
	path   string // absolute
	is     func(error) bool
	isDesc string
	atOpen bool   // Open must fail
	read   bool   // some reader must fail
	only   string // if set, the only reader that may fail
}

// checkFault compares a run on a tree with one broken file with the run
// on the intact tree: the calls the file does not concern return what they
// returned there, the others fail with an error that says what the file
// is and names it.
func checkFault(t testing.TB, what string, r, base *harmRun, f fault) {
	t.Helper()
	checkSane(t, what, r)
	matches := func(err error) bool {
		var fe *Error
		return f.is(err) && errors.As(err, &fe) && fe.Path == f.path && strings.Contains(err.Error(), f.path)
	}
	if f.atOpen {
		if r.openErr == nil || !matches(r.openErr) {
			t.Errorf("%s: Open: %v, want an error that %s and names %s", what, r.openErr, f.isDesc, f.path)
		}
		return
	}
	if r.openErr != nil {
		t.Errorf("%s: Open: %v", what, r.openErr)
		return
	}
	failed := 0
	for _, c := range r.calls {
		if c.err == nil {
			if b, ok := base.get(c.name); !ok || b.value != c.value {
				t.Errorf("%s: %s = %s, want %s as on the intact tree", what, c.name, c.value, b.value)
			}
			continue
		}
		failed++
		if f.only != "" && c.name != f.only {
			t.Errorf("%s: %s failed: %v; only %s reads the file", what, c.name, c.err, f.only)
		}
		for _, e := range leafErrors(c.err) {
			if !matches(e) {
				t.Errorf("%s: %s: %v, want an error that %s and names %s", what, c.name, e, f.isDesc, f.path)
			}
		}
	}
	if f.read && failed == 0 {
		t.Errorf("%s: no call reported the file; want an error that %s and names %s", what, f.isDesc, f.path)
	}
	if !f.read && failed != 0 {
		t.Errorf("%s: %d calls failed; the file is not read", what, failed)
	}
}

// baseRun runs the intact tree and requires it to read without an error.
func baseRun(t testing.TB, root string) *harmRun {
	t.Helper()
	base := harmRunTree(t, root, nil)
	for _, c := range base.errs() {
		t.Fatalf("intact tree %s: %s: %v", root, c.name, c.err)
	}
	checkSane(t, "intact tree", base)
	return base
}

// TestHarmFixturesCoverFileTable: the harm fixtures hold every file the
// package reads (the file table, /proc/self/cgroup and mountinfo,
// cgroup.controllers, cgroup.sane_behavior, /proc/pressure), so the tests
// that break each of their files break each file the package reads.
func TestHarmFixturesCoverFileTable(t *testing.T) {
	have := map[string]bool{}
	for _, fx := range harmFixtures {
		for _, rel := range regularFiles(t, filepath.Join("testdata", fx)) {
			have[path.Base(rel)] = true
			have[rel] = true
		}
	}
	want := append([]string{"cgroup.controllers", "cgroup.sane_behavior", "cgroup.procs", "cgroup.type",
		"proc/self/cgroup", "proc/self/mountinfo", "proc/pressure/cpu", "proc/pressure/memory", "proc/pressure/io"}, fileNames[:]...)
	for _, name := range want {
		if !have[name] {
			t.Errorf("no harm fixture has %s", name)
		}
	}
}

// TestHarmNotRegular puts a FIFO, a listening unix socket, a directory and
// (as root) a character device with /dev/zero's numbers in the place of
// each file of the harm fixtures, before Open and after it (the handle
// opens cgroup files at first use), and runs Open and every reader: each
// returns within harmBound; where the file is read the error wraps
// ErrNotRegular, says what the file is and names it; every other call
// returns what it returns on the intact tree.
func TestHarmNotRegular(t *testing.T) {
	kinds := notRegularKinds()
	slowest := map[string]callResult{}
	var mu sync.Mutex
	for _, fx := range harmFixtures {
		t.Run(fx, func(t *testing.T) {
			harmResolutions(t, func(t *testing.T) {
				root := absPath(t, fastTempDir(t))
				testenv.CopyTree(t, filepath.Join("testdata", fx), root)
				base := baseRun(t, root)
				kinds := openableKinds(t, kinds, root)
				for _, rel := range regularFiles(t, root) {
					p := filepath.Join(root, filepath.FromSlash(rel))
					for _, k := range kinds {
						for _, after := range []bool{false, true} {
							mode := "before Open"
							if after {
								mode = "after Open"
							}
							what := fmt.Sprintf("%s %s %s", rel, k.name, mode)
							var r *harmRun
							if after {
								var restore func()
								r = harmRunTree(t, root, func() { restore = replaceWith(t, p, k.make) })
								restore()
							} else {
								restore := replaceWith(t, p, k.make)
								r = harmRunTree(t, root, nil)
								restore()
							}
							f := fault{path: p, isDesc: "wraps ErrNotRegular and says " + k.word,
								is: func(err error) bool {
									return errors.Is(err, ErrNotRegular) && strings.Contains(err.Error(), "it is "+k.word)
								}}
							switch {
							case markerFiles[path.Base(rel)]:
							case readAtOpen(rel) && !after:
								f.atOpen = true
							case rel == "proc/self/cgroup":
								f.read, f.only = true, "Moved"
							case readAtOpen(rel):
							default:
								f.read = true
							}
							checkFault(t, what, r, base, f)
							mu.Lock()
							if r.slowest.took > slowest[k.name].took {
								slowest[k.name] = r.slowest
							}
							mu.Unlock()
						}
					}
				}
			})
		})
	}
	for _, k := range kinds {
		s := slowest[k.name]
		t.Logf("%s in place of a file: slowest call %s took %v (bound %v)", k.name, s.name, s.took, harmBound)
	}
}

// TestHarmSparse makes each file of the harm fixtures a 1 GB sparse file
// (a hole: a billion zero bytes that take no disk): every read of it is
// refused with ErrTooLarge naming it, well under a second, whatever the
// file: mountinfo (streamed, bounded at 64 MiB), memory.stat (read into a
// 16 KiB buffer), /proc/self/cgroup, cgroup.controllers.
func TestHarmSparse(t *testing.T) {
	const fast = 500 * time.Millisecond
	// sparse makes p a 1 GB file: a line of content, then the hole.
	sparse := func(t testing.TB, p string) func() {
		if err := os.WriteFile(p, []byte("1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, 1<<30); err != nil {
			t.Fatal(err)
		}
		return func() {}
	}
	for _, fx := range harmFixtures {
		t.Run(fx, func(t *testing.T) {
			harmResolutions(t, func(t *testing.T) {
				root := absPath(t, fastTempDir(t))
				testenv.CopyTree(t, filepath.Join("testdata", fx), root)
				base := baseRun(t, root)
				for _, rel := range regularFiles(t, root) {
					if markerFiles[path.Base(rel)] {
						continue
					}
					p := filepath.Join(root, filepath.FromSlash(rel))
					restore := replaceWith(t, p, sparse)
					r := harmRunTree(t, root, nil)
					restore()
					tooLarge := func(err error) bool { return errors.Is(err, ErrTooLarge) }
					f := fault{path: p, isDesc: "wraps ErrTooLarge", is: tooLarge, atOpen: readAtOpen(rel), read: true}
					checkFault(t, rel+" 1 GB sparse", r, base, f)
					if rel == "proc/self/cgroup" {
						// Grown after Open: Moved reads it again.
						var restore func()
						r := harmRunTree(t, root, func() { restore = replaceWith(t, p, sparse) })
						restore()
						checkFault(t, rel+" 1 GB sparse after Open", r, base, fault{path: p, isDesc: "wraps ErrTooLarge", is: tooLarge, read: true, only: "Moved"})
					}
					if r.slowest.took > fast {
						t.Errorf("%s 1 GB sparse: %s took %v, want well under a second", rel, r.slowest.name, r.slowest.took)
					}
					if rel == "proc/self/mountinfo" || path.Base(rel) == "memory.stat" {
						var e string
						for _, c := range r.errs() {
							e = c.err.Error()
						}
						t.Logf("%s as a 1 GB sparse file: slowest call %s %v: %s", rel, r.slowest.name, r.slowest.took, e)
					}
				}
			})
		})
	}
}

// TestHarmMountInfoBounds: mountinfo is streamed, with bounds of 64 MiB
// and 1,048,576 lines. A file within them is parsed whatever its junk; one
// beyond either is refused with ErrTooLarge; both in bounded time.
func TestHarmMountInfoBounds(t *testing.T) {
	root := absPath(t, t.TempDir())
	testenv.CopyTree(t, "testdata/harm-v2", root)
	mi := filepath.Join(root, "proc/self/mountinfo")
	real, err := os.ReadFile(mi)
	if err != nil {
		t.Fatal(err)
	}
	write := func(data []byte, size int64) {
		t.Helper()
		if err := os.WriteFile(mi, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if size > 0 {
			if err := os.Truncate(mi, size); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The real lines, then a hole to just below 64 MiB: one 64 MiB line of
	// zero bytes, skipped.
	write(real, 64<<20-1)
	r := harmRunTree(t, root, nil)
	checkSane(t, "mountinfo with a 64 MiB hole", r)
	if r.openErr != nil || !r.vals.cpuOK || r.vals.cpu.CPUs != 0.5 {
		t.Errorf("mountinfo with a 64 MiB hole: Open %v, CPULimit %+v", r.openErr, r.vals.cpu)
	}
	t.Logf("mountinfo of 64 MiB - 1 (a hole after the real lines): Open took %v", r.calls[0].took)

	// One byte more than 64 MiB.
	write(real, 64<<20+1)
	r = harmRunTree(t, root, nil)
	if !errors.Is(r.openErr, ErrTooLarge) {
		t.Errorf("mountinfo of 64 MiB + 1: Open: %v, want ErrTooLarge", r.openErr)
	}

	// More than 1,048,576 lines (empty ones: 1 MiB of newlines).
	write(append(append([]byte{}, real...), []byte(strings.Repeat("\n", 1<<20))...), 0)
	r = harmRunTree(t, root, nil)
	var fe *Error
	if !errors.Is(r.openErr, ErrTooLarge) || !errors.As(r.openErr, &fe) || fe.Path != mi {
		t.Errorf("mountinfo of 1,048,577 lines: Open: %v, want ErrTooLarge naming %s", r.openErr, mi)
	}
	t.Logf("mountinfo of 1,048,577 lines: Open took %v: %v", r.calls[0].took, r.openErr)
	write(append(append([]byte{}, real...), []byte(strings.Repeat("\n", 1<<20-2))...), 0)
	r = harmRunTree(t, root, nil)
	if r.openErr != nil {
		t.Errorf("mountinfo of 1,048,575 lines: Open: %v", r.openErr)
	}
}

// canaryWatch reports every open and read of the files in some
// directories (inotify IN_OPEN and IN_ACCESS): the canary files must never
// be opened, let alone read.
type canaryWatch struct {
	fd   int
	dirs map[int]string
}

func watchCanary(t testing.TB, dirs ...string) *canaryWatch {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	w := &canaryWatch{fd: fd, dirs: map[int]string{}}
	t.Cleanup(func() { unix.Close(fd) })
	for _, d := range dirs {
		wd, err := unix.InotifyAddWatch(fd, d, unix.IN_OPEN|unix.IN_ACCESS)
		if err != nil {
			t.Fatalf("inotify on %s: %v", d, err)
		}
		w.dirs[wd] = d
	}
	return w
}

// touched returns the events since the last call.
func (w *canaryWatch) touched(t testing.TB) []string {
	t.Helper()
	var out []string
	var buf [8192]byte
	for {
		n, err := unix.Read(w.fd, buf[:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return out
		}
		if err != nil {
			t.Fatalf("inotify read: %v", err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			wd := int(int32(binary.NativeEndian.Uint32(buf[off:])))
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			l := int(binary.NativeEndian.Uint32(buf[off+12:]))
			name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+l]), "\x00")
			kind := "read"
			if mask&unix.IN_OPEN != 0 {
				kind = "opened"
			}
			out = append(out, kind+" "+filepath.Join(w.dirs[wd], name))
			off += unix.SizeofInotifyEvent + l
		}
	}
}

// escapeEnv is a root beside a directory "outside" that holds the canary
// (outside/canary) and a cgroup directory of canaries (outside/cg, every
// file name the package reads), watched.
type escapeEnv struct {
	dir, root, outside, canary, cg string
	watch                          *canaryWatch
}

// canaryNames are the names in outside/cg.
func canaryNames() []string {
	return append([]string{"cgroup", "mountinfo", "cpu", "memory", "io", "cgroup.controllers", "cgroup.sane_behavior",
		"cgroup.procs", "cgroup.type"}, fileNames[:]...)
}

func newEscapeEnv(t testing.TB, fixture string, decoys ...string) *escapeEnv {
	t.Helper()
	e := newCanaries(t, fastTempDir(t))
	return e.withRoot(t, filepath.Join(e.dir, "root"), fixture, decoys...)
}

// newCanaries writes dir/outside: the canary and the directory of
// canaries. It has no root and no watch yet (withRoot).
func newCanaries(t testing.TB, dir string) *escapeEnv {
	t.Helper()
	dir = absPath(t, dir)
	e := &escapeEnv{dir: dir, outside: filepath.Join(dir, "outside")}
	e.canary = filepath.Join(e.outside, "canary")
	e.cg = filepath.Join(e.outside, "cg")
	if err := os.MkdirAll(e.cg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.canary, []byte(canaryToken+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fillCanaries(t, e.cg)
	return e
}

func fillCanaries(t testing.TB, d string) {
	t.Helper()
	for _, name := range canaryNames() {
		if err := os.WriteFile(filepath.Join(d, name), []byte(canaryToken+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// withRoot returns e with root (a copy of fixture, if any; decoys, inside
// the root, full of canaries) and a fresh watch on every canary.
func (e escapeEnv) withRoot(t testing.TB, root, fixture string, decoys ...string) *escapeEnv {
	t.Helper()
	e.root = root
	if fixture != "" {
		testenv.CopyTree(t, filepath.Join("testdata", fixture), e.root)
	}
	watched := []string{e.outside, e.cg}
	// Decoys: directories inside the root, full of canaries, where a
	// path that escaped its mount would land.
	for _, d := range decoys {
		d = filepath.Join(e.root, filepath.FromSlash(d))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		fillCanaries(t, d)
		watched = append(watched, d)
	}
	e.watch = watchCanary(t, watched...)
	return &e
}

// check asserts that nothing of the run came from a canary: no file
// outside (or decoy) was opened, and checkSane.
func (e *escapeEnv) check(t testing.TB, what string, r *harmRun) {
	t.Helper()
	if ev := e.watch.touched(t); len(ev) > 0 {
		t.Errorf("%s: canary files were touched: %q", what, ev)
	}
	checkSane(t, what, r)
	for _, c := range r.calls {
		if strings.Contains(c.value, e.outside) {
			t.Errorf("%s: %s returned a path outside the root: %s", what, c.name, c.value)
		}
	}
}

// escapeLinks are the links tried in place of a file p: to the canary by
// absolute and relative paths, by an absolute path with ".." at its
// start, and to the canary directory's file of the same name.
func (e *escapeEnv) escapeLinks(t testing.TB, p string) map[string]string {
	t.Helper()
	rel, err := filepath.Rel(filepath.Dir(p), e.canary)
	if err != nil {
		t.Fatal(err)
	}
	relCG, err := filepath.Rel(filepath.Dir(p), filepath.Join(e.cg, filepath.Base(p)))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"absolute":         e.canary,
		"relative":         rel,
		"absolute dotdot":  strings.Repeat("/..", 12) + e.canary,
		"relative same cg": relCG,
	}
}

func symlinkTo(target string) func(t testing.TB, p string) func() {
	return func(t testing.TB, p string) func() {
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return func() {}
	}
}

// TestHarmEscapeSymlinks: each file of the harm fixtures, then each
// cgroup directory of the process and /proc/self, becomes a symbolic link
// out of the root, to the canary or a directory of canaries, by absolute
// and relative paths. Nothing outside is ever opened, no value or error
// carries the canary, every error names a file inside the root; with
// openat2 and with the component walk.
func TestHarmEscapeSymlinks(t *testing.T) {
	for _, fx := range harmFixtures {
		t.Run(fx, func(t *testing.T) {
			harmResolutions(t, func(t *testing.T) {
				e := newEscapeEnv(t, fx)
				base := baseRun(t, e.root)
				runs := 0
				for _, rel := range regularFiles(t, e.root) {
					p := filepath.Join(e.root, filepath.FromSlash(rel))
					for name, target := range e.escapeLinks(t, p) {
						restore := replaceWith(t, p, symlinkTo(target))
						r := harmRunTree(t, e.root, nil)
						restore()
						e.check(t, rel+" "+name, r)
						runs++
					}
				}
				// Directories: the process's cgroup directories (they
				// differ per controller on v1), their parents, the mount
				// points, and /proc/self.
				dirs := map[string]bool{"proc/self": true}
				for c := range base.vals.loc {
					if base.vals.have[c] {
						d := strings.TrimPrefix(base.vals.loc[c].Dir, "/")
						dirs[d] = true
						dirs[path.Dir(d)] = true
						dirs[strings.TrimPrefix(base.vals.loc[c].MountPoint, "/")] = true
					}
				}
				for d := range dirs {
					p := filepath.Join(e.root, filepath.FromSlash(d))
					rel, err := filepath.Rel(filepath.Dir(p), e.cg)
					if err != nil {
						t.Fatal(err)
					}
					for name, target := range map[string]string{"absolute": e.cg, "relative": rel} {
						tmp := p + ".moved"
						if err := os.Rename(p, tmp); err != nil {
							t.Fatal(err)
						}
						if err := os.Symlink(target, p); err != nil {
							t.Fatal(err)
						}
						r := harmRunTree(t, e.root, nil)
						if err := os.Remove(p); err != nil {
							t.Fatal(err)
						}
						if err := os.Rename(tmp, p); err != nil {
							t.Fatal(err)
						}
						e.check(t, "directory "+d+" "+name, r)
						runs++
					}
				}
				t.Logf("%d trees with links out of the root: nothing outside was opened", runs)
			})
		})
	}
}

// dotdotTree writes a tree with the given /proc/self files and cgroup
// files (path -> content).
func dotdotTree(t testing.TB, root, cgroupFile, mountinfo string, files map[string]string) {
	t.Helper()
	all := map[string]string{"proc/self/cgroup": cgroupFile, "proc/self/mountinfo": mountinfo}
	for k, v := range files {
		all[k] = v
	}
	for rel, content := range all {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// v2MountFiles and v1MountFiles are the files of a cgroup at a mount
// point, with limits: 1.5 CPUs, 256 MiB.
func v2MountFiles(dir string) map[string]string {
	return map[string]string{
		dir + "/cgroup.controllers": "cpuset cpu io memory pids\n",
		dir + "/cpu.max":            "150000 100000\n",
		dir + "/memory.max":         "268435456\n",
		dir + "/cpu.stat":           "usage_usec 100\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n",
		dir + "/memory.current":     "4096\n",
		dir + "/memory.stat":        "anon 4096\nfile 0\ninactive_file 0\n",
		dir + "/pids.max":           "100\n",
		dir + "/pids.current":       "1\n",
	}
}

func v1MountFiles(cpuDir, memDir string) map[string]string {
	return map[string]string{
		cpuDir + "/cpu.cfs_quota_us":      "150000\n",
		cpuDir + "/cpu.cfs_period_us":     "100000\n",
		cpuDir + "/cpuacct.usage":         "100\n",
		cpuDir + "/cpu.stat":              "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
		memDir + "/memory.limit_in_bytes": "268435456\n",
		memDir + "/memory.usage_in_bytes": "4096\n",
		memDir + "/memory.stat":           "total_rss 4096\ntotal_cache 0\ntotal_inactive_file 0\n",
	}
}

// TestHarmEscapeDotDotPaths: /proc/self/cgroup paths that climb with ".."
// below a mount whose root is "/.." (the mount is outside the process's
// cgroup namespace). Such a path is not contained in the mount: the
// location is degraded to the mount point, whose files are read; nothing
// where the ".." would lead, inside the root (decoys) or outside it (the
// canary), is opened.
func TestHarmEscapeDotDotPaths(t *testing.T) {
	decoys := []string{"sys/outside", "sys/fs/outside", "outside", "sys/outside/x", "sys/fs/cgroup/outside"}
	harmResolutions(t, func(t *testing.T) {
		for _, p := range []string{"/../../../outside", "/../x/../../../outside", "/../../..", "/../outside/..", "/../..//../outside", "/../a/./../../outside"} {
			t.Run("v2 "+p, func(t *testing.T) {
				e := newEscapeEnv(t, "", decoys...)
				dotdotTree(t, e.root, "0::"+p+"\n", "20 1 0:19 /.. /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n", v2MountFiles("sys/fs/cgroup"))
				r := harmRunTree(t, e.root, nil)
				e.check(t, p, r)
				if r.openErr != nil {
					t.Fatalf("Open: %v", r.openErr)
				}
				for _, c := range []Controller{CPU, Memory, Unified} {
					if l := r.vals.loc[c]; !r.vals.have[c] || !l.Degraded || l.Dir != "/sys/fs/cgroup" || l.Path != p {
						t.Errorf("%s: Location = %+v, want degraded to the mount point", c, l)
					}
				}
				if !r.vals.cpuOK || r.vals.cpu.CPUs != 1.5 || r.vals.cpu.Path != "/sys/fs/cgroup/cpu.max" {
					t.Errorf("CPULimit = %+v ok=%v, want 1.5 from the mount point", r.vals.cpu, r.vals.cpuOK)
				}
				if !r.vals.memOK || r.vals.mem.Bytes != 268435456 || r.vals.mem.Path != "/sys/fs/cgroup/memory.max" {
					t.Errorf("MemoryLimit = %+v ok=%v, want 256 MiB from the mount point", r.vals.mem, r.vals.memOK)
				}
			})
			t.Run("v1 "+p, func(t *testing.T) {
				e := newEscapeEnv(t, "", decoys...)
				mi := "26 25 0:23 /.. /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n" +
					"27 25 0:24 /.. /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
				dotdotTree(t, e.root, "6:memory:"+p+"\n4:cpu,cpuacct:"+p+"\n", mi, v1MountFiles("sys/fs/cgroup/cpu,cpuacct", "sys/fs/cgroup/memory"))
				r := harmRunTree(t, e.root, nil)
				e.check(t, p, r)
				if r.openErr != nil {
					t.Fatalf("Open: %v", r.openErr)
				}
				if l := r.vals.loc[CPU]; !l.Degraded || l.Dir != "/sys/fs/cgroup/cpu,cpuacct" {
					t.Errorf("CPU: Location = %+v, want degraded to the mount point", l)
				}
				if l := r.vals.loc[Memory]; !l.Degraded || l.Dir != "/sys/fs/cgroup/memory" {
					t.Errorf("Memory: Location = %+v, want degraded to the mount point", l)
				}
				if !r.vals.cpuOK || r.vals.cpu.CPUs != 1.5 || r.vals.cpu.Path != "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us" {
					t.Errorf("CPULimit = %+v ok=%v, want 1.5 from the mount point", r.vals.cpu, r.vals.cpuOK)
				}
				if !r.vals.memOK || r.vals.mem.Bytes != 268435456 {
					t.Errorf("MemoryLimit = %+v ok=%v, want 256 MiB from the mount point", r.vals.mem, r.vals.memOK)
				}
			})
		}
	})
}

// TestHarmEscapeDotDotMounts: mount points in mountinfo with ".."
// components, which would lead out of the root if they were followed
// as written. The kernel never writes one. Every read stays inside the
// root: nothing outside is opened.
func TestHarmEscapeDotDotMounts(t *testing.T) {
	harmResolutions(t, func(t *testing.T) {
		e := newEscapeEnv(t, "")
		outsideFromRoot, err := filepath.Rel(e.root, e.outside) // "../outside"
		if err != nil {
			t.Fatal(err)
		}
		cgFromRoot := filepath.ToSlash(filepath.Join(outsideFromRoot, "cg"))
		points := []string{
			"/sys/fs/cgroup/../../../" + cgFromRoot, // one ".." too many: the root's parent
			"/" + cgFromRoot,
			cgFromRoot, // relative
			"/sys/fs/cgroup/" + strings.Repeat("../", 20) + strings.TrimPrefix(filepath.ToSlash(e.cg), "/"),
			"/sys/fs/cgroup/./../cgroup/../../../" + cgFromRoot,
		}
		for i, point := range points {
			esc := strings.NewReplacer(" ", `\040`).Replace(point)
			for _, v := range []struct{ name, cgroup, mountinfo string }{
				{"v2", "0::/\n", "20 1 0:19 / " + esc + " rw,nosuid - cgroup2 cgroup2 rw\n"},
				{"v2 leaf", "0::/x\n", "20 1 0:19 / " + esc + " rw,nosuid - cgroup2 cgroup2 rw\n"},
				{"v1", "4:cpu,cpuacct:/\n6:memory:/x\n", "26 25 0:23 / " + esc + " rw - cgroup cgroup rw,cpu,cpuacct\n27 25 0:24 / " + esc + " rw - cgroup cgroup rw,memory\n"},
			} {
				t.Run(fmt.Sprintf("%s %d", v.name, i), func(t *testing.T) {
					root := filepath.Join(e.dir, fmt.Sprintf("root-%s-%d", strings.ReplaceAll(v.name, " ", "-"), i))
					dotdotTree(t, root, v.cgroup, v.mountinfo, nil)
					// The directories the ".." climb out of exist, so
					// that the resolution reaches the climb.
					if err := os.MkdirAll(filepath.Join(root, "sys/fs/cgroup/x"), 0o755); err != nil {
						t.Fatal(err)
					}
					r := harmRunTree(t, root, nil)
					e.check(t, point, r)
					t.Logf("mount point %s: Open: %v; locations %+v", point, r.openErr, r.vals.loc[CPU])
				})
			}
		}
	})
}

// TestHarmDotDotMountPaths: a mount point with ".." components that stays
// inside the root once ".." stops at the root (as every path below the
// root does). The kernel never writes one (mountinfo paths are
// canonical). Either the mount is refused as malformed, or the reads stay
// inside the root and the paths handed out name the files read: Location's
// MountPoint and Dir and every value's Path, which a consumer joins to the
// root (Location.Dir "does not include the FS root given with WithRoot"),
// must not lead outside it.
func TestHarmDotDotMountPaths(t *testing.T) {
	harmResolutions(t, func(t *testing.T) {
		root := absPath(t, t.TempDir())
		const point = "/sys/fs/cgroup/../../../../cg"
		dotdotTree(t, root, "0::/\n", "20 1 0:19 / "+point+" rw - cgroup2 cgroup2 rw\n", v2MountFiles("cg"))
		// A path walk passes through the directories before each "..".
		if err := os.MkdirAll(filepath.Join(root, "sys/fs/cgroup"), 0o755); err != nil {
			t.Fatal(err)
		}
		r := harmRunTree(t, root, nil)
		checkSane(t, "mount point "+point, r)
		if r.openErr != nil {
			if !errors.Is(r.openErr, ErrMalformed) {
				t.Fatalf("Open: %v; want the mount read inside the root, or refused as malformed", r.openErr)
			}
			return
		}
		inside := func(what, p string) {
			t.Helper()
			joined := filepath.Join(root, filepath.FromSlash(p))
			if !strings.HasPrefix(joined, root+string(filepath.Separator)) {
				t.Errorf("%s %q joined to the root is %s, outside the root", what, p, joined)
			}
		}
		for c := range r.vals.loc {
			if r.vals.have[c] {
				inside(Controller(c).String()+" Location.MountPoint", r.vals.loc[c].MountPoint)
				inside(Controller(c).String()+" Location.Dir", r.vals.loc[c].Dir)
			}
		}
		if !r.vals.cpuOK || r.vals.cpu.CPUs != 1.5 {
			t.Errorf("CPULimit = %+v ok=%v; want 1.5 from /cg/cpu.max in the root", r.vals.cpu, r.vals.cpuOK)
		}
		for _, p := range []string{r.vals.cpu.Path, r.vals.mem.Path, r.vals.pids.Path, r.vals.stats.CPU.UsagePath} {
			if p != "" {
				inside("value Path", p)
			}
		}
		// The files a capture copies.
		g, err := Open(WithRoot(root))
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		files, err := g.files()
		if err != nil || len(files) == 0 {
			t.Fatalf("files() = %q, %v", files, err)
		}
		for _, p := range files {
			inside("files() entry", p)
		}
	})
}

// TestHarmDeepPath: a deep cgroup path (1500 levels of "/a", 3 KiB; a
// path can be 4 KiB), every directory present. Each reader walks every
// level, opening a file there by its full path from the root, so a cold
// read costs about depth²/2 path components: cheap for the kernel
// (openat2, or the live system: 0.3 s at 1500 levels), but done one
// component at a time by the walk that kernels before 5.6 use (and seccomp
// profiles that refuse openat2), it passes the time bound from about 1000
// levels (5 s per reader at 1400). The bound must hold for both.
func TestHarmDeepPath(t *testing.T) {
	for _, tc := range []struct {
		name  string
		depth int
		walk  bool
	}{{"openat2", 127, false}, {"walk", 127, true}, {"openat2 too deep", 1500, false}, {"walk too deep", 1400, true}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.walk {
				defer rootfs.ForceWalk()()
			}
			root := absPath(t, fastTempDir(t))
			leaf := "c" + strings.Repeat("/a", tc.depth)
			dotdotTree(t, root, "0::"+strings.TrimPrefix(leaf, "c")+"\n", "20 1 0:19 / /c rw - cgroup2 cgroup2 rw\n", map[string]string{
				"c/cgroup.controllers": "cpuset cpu io memory pids\n",
				leaf + "/cpu.max":      "50000 100000\n",
				leaf + "/memory.max":   "268435456\n",
			})
			start := time.Now()
			r := harmRunTree(t, root, nil)
			checkSane(t, tc.name, r)
			if tc.depth > maxLevels-1 {
				// Deeper than any real hierarchy: refused at once, as
				// malformed, naming /proc/self/cgroup.
				if !errors.Is(r.openErr, ErrMalformed) || !strings.Contains(r.openErr.Error(), "/proc/self/cgroup") {
					t.Errorf("depth %d: Open %v, want ErrMalformed naming /proc/self/cgroup", tc.depth, r.openErr)
				}
				return
			}
			if r.openErr != nil || !r.vals.cpuOK || r.vals.cpu.CPUs != 0.5 || !r.vals.memOK {
				t.Errorf("depth %d: Open %v, CPULimit %+v, MemoryLimit %+v", tc.depth, r.openErr, r.vals.cpu, r.vals.mem)
			}
			t.Logf("depth %d (%s): every reader cold in %v, slowest %s %v", tc.depth, tc.name, time.Since(start), r.slowest.name, r.slowest.took)
		})
	}
}

// edgeCase writes files (path below the root -> content) into a copy of a
// harm fixture and runs every reader; the call named must fail with
// ErrMalformed naming file malformed, or (malformed "") succeed and pass
// check. Every run also passes checkSane.
type edgeCase struct {
	fixture   string
	files     map[string]string
	call      string
	malformed string
	check     func(v *harmValues) bool
}

// The directories of the harm fixtures.
const (
	v2Leaf    = "sys/fs/cgroup/pod/ctr"
	v2Pod     = "sys/fs/cgroup/pod"
	v1CPULeaf = "sys/fs/cgroup/cpu,cpuacct/pod/ctr"
	v1CPUPod  = "sys/fs/cgroup/cpu,cpuacct/pod"
	v1MemLeaf = "sys/fs/cgroup/memory/pod/ctr"
	v1MemPod  = "sys/fs/cgroup/memory/pod"
	v1PIDLeaf = "sys/fs/cgroup/pids/pod/ctr"
	v1SetLeaf = "sys/fs/cgroup/cpuset/pod/ctr"
)

// Edge values.
const (
	maxI64   = "9223372036854775807"  // 2^63-1
	overI64  = "9223372036854775808"  // 2^63
	minI64   = "-9223372036854775808" // -2^63
	maxU64   = "18446744073709551615" // 2^64-1
	overU64  = "18446744073709551616" // 2^64
	maxMicro = "9223372036854775"     // the most microseconds a Duration holds
	overMicr = "9223372036854776"
	p53      = "9007199254740992" // 2^53: above it float64 does not hold every integer
	p53x     = "9007199254740993"
	nearMax  = "9223372036854774" // n, n-1 and n+1 near the largest quota in microseconds
	nearMaxL = "9223372036854773"
	nearMaxH = "9223372036854775"
)

// edgeOK is a case where content in file gives a value that check
// accepts.
func edgeOK(fixture, file, content, call, malformed string, check func(v *harmValues) bool) edgeCase {
	return edgeCase{fixture: fixture, files: map[string]string{file: content}, call: call, malformed: malformed, check: check}
}

// edgeBad is a case where content in file is malformed for call.
func edgeBad(fixture, file, content, call string) edgeCase {
	return edgeOK(fixture, file, content, call, file, nil)
}

func edgeCases() map[string]edgeCase {
	us := func(s string) time.Duration {
		var n int64
		fmt.Sscan(s, &n)
		return time.Duration(n) * time.Microsecond
	}
	v2cpu, v2mem := v2Leaf+"/cpu.max", v2Leaf+"/memory.max"
	cases := map[string]edgeCase{
		// v2 cpu.max: quota and period in microseconds, each at most what
		// a Duration holds; compared exactly.
		"v2 quota 2^63-1":        edgeBad("harm-v2", v2cpu, maxI64+" 100000\n", "LeafCPULimit"),
		"v2 quota 2^63-1 walk":   edgeBad("harm-v2", v2cpu, maxI64+" 100000\n", "CPULimit"),
		"v2 quota 2^63":          edgeBad("harm-v2", v2cpu, overI64+" 100000\n", "CPULimit"),
		"v2 quota 2^64-1":        edgeBad("harm-v2", v2cpu, maxU64+" 100000\n", "CPULimit"),
		"v2 quota -2^63":         edgeBad("harm-v2", v2cpu, minI64+" 100000\n", "CPULimit"),
		"v2 quota 0":             edgeBad("harm-v2", v2cpu, "0 100000\n", "CPULimit"),
		"v2 quota max micros+1":  edgeBad("harm-v2", v2cpu, overMicr+" 100000\n", "CPULimit"),
		"v2 period 0":            edgeBad("harm-v2", v2cpu, "100000 0\n", "CPULimit"),
		"v2 period -1":           edgeBad("harm-v2", v2cpu, "100000 -1\n", "CPULimit"),
		"v2 period 2^63-1":       edgeBad("harm-v2", v2cpu, "100000 "+maxI64+"\n", "CPULimit"),
		"v2 period 2^64-1":       edgeBad("harm-v2", v2cpu, "100000 "+maxU64+"\n", "CPULimit"),
		"v2 quota=period=2^63-1": edgeBad("harm-v2", v2cpu, maxI64+" "+maxI64+"\n", "CPULimit"),
		"v2 quota max micros": edgeOK("harm-v2", v2cpu, maxMicro+" 100000\n", "LeafCPULimit", "", func(v *harmValues) bool {
			return v.leafOK && v.leaf.Quota == us(maxMicro) && v.leaf.Period == 100*time.Millisecond &&
				v.cpuOK && v.cpu.CPUs == 2 && v.cpu.Path == "/"+v2Pod+"/cpu.max"
		}),
		"v2 period max micros": edgeOK("harm-v2", v2cpu, "1 "+maxMicro+"\n", "CPULimit", "", func(v *harmValues) bool {
			return v.cpuOK && v.cpu.Period == us(maxMicro) && v.cpu.Quota == time.Microsecond && v.cpu.CPUs > 0 && v.cpu.Path == "/"+v2cpu
		}),
		"v2 period 1": edgeOK("harm-v2", v2cpu, "1 1\n", "LeafCPULimit", "", func(v *harmValues) bool {
			return v.leafOK && v.leaf.CPUs == 1 && v.cpuOK && v.cpu.CPUs == 1
		}),
		"v2 max with period 2^63-1": edgeOK("harm-v2", v2cpu, "max "+maxI64+"\n", "LeafCPULimit", "", func(v *harmValues) bool {
			return !v.leafOK && v.cpuOK && v.cpu.CPUs == 2
		}),
		// 2^53+1 is no float64: as floats both ratios are 1; exactly,
		// the pod's is lower.
		"v2 128-bit compare, parent tighter": {fixture: "harm-v2", call: "CPULimit",
			files: map[string]string{v2cpu: p53x + " " + p53x + "\n", v2Pod + "/cpu.max": p53 + " " + p53x + "\n"},
			check: func(v *harmValues) bool {
				return v.cpuOK && v.cpu.Path == "/"+v2Pod+"/cpu.max" && v.cpu.Quota == us(p53)
			}},
		"v2 128-bit compare, leaf tighter": {fixture: "harm-v2", call: "CPULimit",
			files: map[string]string{v2cpu: p53 + " " + p53x + "\n", v2Pod + "/cpu.max": p53x + " " + p53x + "\n"},
			check: func(v *harmValues) bool { return v.cpuOK && v.cpu.Path == "/"+v2cpu && v.cpu.Quota == us(p53) }},
		// (x+1)/x < x/(x-1): the products overflow 64 bits.
		"v2 128-bit compare, products beyond 64 bits": {fixture: "harm-v2", call: "CPULimit",
			files: map[string]string{v2cpu: nearMax + " " + nearMaxL + "\n", v2Pod + "/cpu.max": nearMaxH + " " + nearMax + "\n"},
			check: func(v *harmValues) bool { return v.cpuOK && v.cpu.Path == "/"+v2Pod+"/cpu.max" }},

		// v2 memory.max, memory.high, memory.swap.max.
		"v2 memory.max 0":      edgeBad("harm-v2", v2mem, "0\n", "MemoryLimit"),
		"v2 memory.max -1":     edgeBad("harm-v2", v2mem, "-1\n", "MemoryLimit"),
		"v2 memory.max -2^63":  edgeBad("harm-v2", v2mem, minI64+"\n", "MemoryLimit"),
		"v2 memory.max 2^63":   edgeBad("harm-v2", v2mem, overI64+"\n", "MemoryLimit"),
		"v2 memory.max 2^64-1": edgeBad("harm-v2", v2mem, maxU64+"\n", "MemoryLimit"),
		"v2 memory.max 1": edgeOK("harm-v2", v2mem, "1\n", "MemoryLimit", "", func(v *harmValues) bool {
			return v.memOK && v.mem.Bytes == 1 && v.mem.Path == "/"+v2mem
		}),
		// 2^63-1 bytes limits nothing: the kernel itself shows that
		// memory.max (PAGE_COUNTER_MAX pages) as "max". No limit, no
		// error.
		"v2 memory.max 2^63-1": {fixture: "harm-v2", call: "MemoryLimit",
			files: map[string]string{v2mem: maxI64 + "\n", v2Pod + "/memory.max": "max\n"},
			check: func(v *harmValues) bool { return !v.memOK }},
		"v2 memory.max 2^63-1 under a pod limit": edgeOK("harm-v2", v2mem, maxI64+"\n", "MemoryLimit", "", func(v *harmValues) bool {
			return v.memOK && v.mem.Bytes == 1<<30 && v.mem.Path == "/"+v2Pod+"/memory.max"
		}),
		"v2 memory.max 2^63-4096": {fixture: "harm-v2", call: "MemoryLimit",
			files: map[string]string{v2mem: "9223372036854771712\n", v2Pod + "/memory.max": "max\n"},
			check: func(v *harmValues) bool {
				return v.memOK && v.mem.Bytes == 9223372036854771712 && v.mem.Path == "/"+v2mem
			}},
		"v2 memory.high 0":      edgeBad("harm-v2", v2Leaf+"/memory.high", "0\n", "MemoryHigh"),
		"v2 memory.high -5":     edgeBad("harm-v2", v2Leaf+"/memory.high", "-5\n", "MemoryHigh"),
		"v2 memory.high 2^64-1": edgeBad("harm-v2", v2Leaf+"/memory.high", maxU64+"\n", "MemoryHigh"),
		"v2 memory.high 1": edgeOK("harm-v2", v2Leaf+"/memory.high", "1\n", "MemoryHigh", "", func(v *harmValues) bool {
			return v.highOK && v.high.Bytes == 1
		}),
		"v2 swap.max 0": edgeOK("harm-v2", v2Leaf+"/memory.swap.max", "0\n", "SwapLimit", "", func(v *harmValues) bool {
			return v.swapOK && v.swap == 0
		}),
		"v2 swap.max -1":     edgeBad("harm-v2", v2Leaf+"/memory.swap.max", "-1\n", "SwapLimit"),
		"v2 swap.max 2^64-1": edgeBad("harm-v2", v2Leaf+"/memory.swap.max", maxU64+"\n", "SwapLimit"),
		"v2 swap.max 2^63-1": {fixture: "harm-v2", call: "SwapLimit",
			files: map[string]string{v2Leaf + "/memory.swap.max": maxI64 + "\n", v2Pod + "/memory.swap.max": "max\n"},
			check: func(v *harmValues) bool { return !v.swapOK && v.swap == 0 }},
		"v2 swap.max 2^63-1 under a pod limit": edgeOK("harm-v2", v2Leaf+"/memory.swap.max", maxI64+"\n", "SwapLimit", "", func(v *harmValues) bool {
			return v.swapOK && v.swap == 536870912
		}),

		// v2 usage counters: unsigned 64-bit; beyond the Go type, an
		// error, never a wrapped value.
		"v2 memory.current 2^64-1": edgeBad("harm-v2", v2Leaf+"/memory.current", maxU64+"\n", "ReadStats"),
		"v2 memory.current 2^63":   edgeBad("harm-v2", v2Leaf+"/memory.current", overI64+"\n", "ReadStats"),
		"v2 memory.current -1":     edgeBad("harm-v2", v2Leaf+"/memory.current", "-1\n", "ReadStats"),
		"v2 memory.current 2^63-1": edgeOK("harm-v2", v2Leaf+"/memory.current", maxI64+"\n", "ReadStats", "", func(v *harmValues) bool {
			m := v.stats.Memory
			return m.Usage == math.MaxInt64 && m.HasWorkingSet && m.WorkingSet == math.MaxInt64-52428800
		}),
		"v2 memory.current 0": edgeOK("harm-v2", v2Leaf+"/memory.current", "0\n", "ReadStats", "", func(v *harmValues) bool {
			m := v.stats.Memory
			return m.HasUsage && m.Usage == 0 && m.HasWorkingSet && m.WorkingSet == 0 && m.InactiveFile == 0 && m.Anon == 0 && m.File == 0 && m.Kernel == 0
		}),
		"v2 memory.stat all 2^64-1": edgeOK("harm-v2", v2Leaf+"/memory.stat", "anon "+maxU64+"\nfile "+maxU64+"\nkernel "+maxU64+"\ninactive_file "+maxU64+"\n", "ReadStats", "", func(v *harmValues) bool {
			m := v.stats.Memory
			return m.Usage == 209715200 && m.InactiveFile == m.Usage && m.WorkingSet == 0 && m.Anon == m.Usage && m.File == m.Usage && m.Kernel == m.Usage
		}),
		"v2 memory.stat inactive_file 2^64": edgeBad("harm-v2", v2Leaf+"/memory.stat", "inactive_file "+overU64+"\n", "ReadStats"),
		"v2 memory.stat inactive_file -5": edgeOK("harm-v2", v2Leaf+"/memory.stat", "inactive_file -5\n", "ReadStats", "", func(v *harmValues) bool {
			m := v.stats.Memory
			return m.HasWorkingSet && m.InactiveFile == 0 && m.WorkingSet == m.Usage
		}),
		"v2 memory.peak 2^64-1": edgeBad("harm-v2", v2Leaf+"/memory.peak", maxU64+"\n", "ReadStats"),
		"v2 memory.events 2^64-1": edgeOK("harm-v2", v2Leaf+"/memory.events", "high 0\nmax 0\noom 0\noom_kill "+maxU64+"\n", "ReadStats", "", func(v *harmValues) bool {
			return v.stats.Memory.HasEvents && v.stats.Memory.Events.OOMKill == math.MaxUint64
		}),
		"v2 usage_usec 2^64-1":       edgeBad("harm-v2", v2Leaf+"/cpu.stat", "usage_usec "+maxU64+"\n", "ReadStats"),
		"v2 usage_usec 2^64":         edgeBad("harm-v2", v2Leaf+"/cpu.stat", "usage_usec "+overU64+"\n", "ReadStats"),
		"v2 usage_usec max micros+1": edgeBad("harm-v2", v2Leaf+"/cpu.stat", "usage_usec "+overMicr+"\n", "ReadStats"),
		"v2 usage_usec max micros": edgeOK("harm-v2", v2Leaf+"/cpu.stat", "usage_usec "+maxMicro+"\n", "ReadStats", "", func(v *harmValues) bool {
			return v.stats.CPU.HasUsage && v.stats.CPU.Usage == us(maxMicro)
		}),
		"v2 throttled_usec 2^64-1":     edgeBad("harm-v2", v2Leaf+"/cpu.stat", "usage_usec 1\nnr_periods 1\nnr_throttled 1\nthrottled_usec "+maxU64+"\n", "ReadStats"),
		"v2 nr_throttled > nr_periods": edgeBad("harm-v2", v2Leaf+"/cpu.stat", "usage_usec 1\nnr_periods 5\nnr_throttled 6\nthrottled_usec 1\n", "ReadStats"),
		"v2 nr_periods 2^64-1": edgeOK("harm-v2", v2Leaf+"/cpu.stat", "usage_usec 1\nnr_periods "+maxU64+"\nnr_throttled "+maxU64+"\nthrottled_usec "+maxMicro+"\n", "ReadStats", "", func(v *harmValues) bool {
			c := v.stats.CPU
			return c.HasThrottling && c.Throttling.Periods == math.MaxUint64 && c.Throttling.ThrottledTime == us(maxMicro)
		}),
		"v2 pids.current 0": edgeOK("harm-v2", v2Leaf+"/pids.current", "0\n", "ReadStats", "", func(v *harmValues) bool {
			return v.stats.PIDs.HasCurrent && v.stats.PIDs.Current == 0
		}),
		"v2 pids.current 2^63-1": edgeOK("harm-v2", v2Leaf+"/pids.current", maxI64+"\n", "ReadStats", "", func(v *harmValues) bool {
			return v.stats.PIDs.Current == math.MaxInt64
		}),
		"v2 pids.current 2^63":   edgeBad("harm-v2", v2Leaf+"/pids.current", overI64+"\n", "ReadStats"),
		"v2 pids.current 2^64-1": edgeBad("harm-v2", v2Leaf+"/pids.current", maxU64+"\n", "ReadStats"),
		"v2 pids.current -1":     edgeBad("harm-v2", v2Leaf+"/pids.current", "-1\n", "ReadStats"),
		"v2 pids.max 0": edgeOK("harm-v2", v2Leaf+"/pids.max", "0\n", "PIDsLimit", "", func(v *harmValues) bool {
			return v.pidsOK && v.pids.Max == 0 && v.pids.Path == "/"+v2Leaf+"/pids.max"
		}),
		"v2 pids.max -1":     edgeBad("harm-v2", v2Leaf+"/pids.max", "-1\n", "PIDsLimit"),
		"v2 pids.max 2^64-1": edgeBad("harm-v2", v2Leaf+"/pids.max", maxU64+"\n", "PIDsLimit"),
		"v2 pids.max 2^63-1": edgeOK("harm-v2", v2Leaf+"/pids.max", maxI64+"\n", "PIDsLimit", "", func(v *harmValues) bool {
			return v.pidsOK && v.pids.Max == 64
		}),
		"v2 cpu.weight 0":      edgeBad("harm-v2", v2Leaf+"/cpu.weight", "0\n", "CPURequest"),
		"v2 cpu.weight 10001":  edgeBad("harm-v2", v2Leaf+"/cpu.weight", "10001\n", "CPURequest"),
		"v2 cpu.weight -1":     edgeBad("harm-v2", v2Leaf+"/cpu.weight", "-1\n", "CPURequest"),
		"v2 cpu.weight 2^64-1": edgeBad("harm-v2", v2Leaf+"/cpu.weight", maxU64+"\n", "CPURequest"),
		"v2 cpu.weight 2^64":   edgeBad("harm-v2", v2Leaf+"/cpu.weight", overU64+"\n", "CPURequest"),
		"v2 cpu.weight 1": edgeOK("harm-v2", v2Leaf+"/cpu.weight", "1\n", "CPURequest", "", func(v *harmValues) bool {
			return v.reqOK && v.req.MilliCPU == 0
		}),
		"v2 cpu.weight 10000": edgeOK("harm-v2", v2Leaf+"/cpu.weight", "10000\n", "CPURequest", "", func(v *harmValues) bool {
			return v.reqOK && v.req.MilliCPU == 256000
		}),
		"v2 cpuset 0-65536": edgeOK("harm-v2", v2Leaf+"/cpuset.cpus.effective", "0-65536\n", "CPUSetCPUs", "", func(v *harmValues) bool {
			return v.setOK && v.set.CPUs == 65537
		}),
		"v2 cpuset 0-65537":  edgeBad("harm-v2", v2Leaf+"/cpuset.cpus.effective", "0-65537\n", "CPUSetCPUs"),
		"v2 cpuset 0-2^64-1": edgeBad("harm-v2", v2Leaf+"/cpuset.cpus.effective", "0-"+maxU64+"\n", "CPUSetCPUs"),
		"v2 pressure total 2^64-1": edgeBad("harm-v2", v2Leaf+"/cpu.pressure",
			"some avg10=0.00 avg60=0.00 avg300=0.00 total="+maxU64+"\n", "ReadStats"),
		"v2 pressure total max micros": edgeOK("harm-v2", v2Leaf+"/cpu.pressure",
			"some avg10=0.00 avg60=0.00 avg300=0.00 total="+maxMicro+"\n", "ReadStats", "", func(v *harmValues) bool {
				return v.stats.Pressure.HasCPU && v.stats.Pressure.CPU.Some.Total == us(maxMicro)
			}),

		// v1 CFS: cpu.cfs_quota_us (-1 is no limit) and cpu.cfs_period_us.
		"v1 quota 2^63-1": edgeBad("harm-v1", v1CPULeaf+"/cpu.cfs_quota_us", maxI64+"\n", "CPULimit"),
		"v1 quota 2^64-1": edgeBad("harm-v1", v1CPULeaf+"/cpu.cfs_quota_us", maxU64+"\n", "CPULimit"),
		"v1 quota -2^63":  edgeBad("harm-v1", v1CPULeaf+"/cpu.cfs_quota_us", minI64+"\n", "CPULimit"),
		"v1 quota -2":     edgeBad("harm-v1", v1CPULeaf+"/cpu.cfs_quota_us", "-2\n", "CPULimit"),
		"v1 quota 0":      edgeBad("harm-v1", v1CPULeaf+"/cpu.cfs_quota_us", "0\n", "CPULimit"),
		"v1 quota -1": edgeOK("harm-v1", v1CPULeaf+"/cpu.cfs_quota_us", "-1\n", "CPULimit", "", func(v *harmValues) bool {
			return !v.leafOK && v.cpuOK && v.cpu.CPUs == 2 && v.cpu.Path == "/"+v1CPUPod+"/cpu.cfs_quota_us"
		}),
		"v1 period 0":      edgeBad("harm-v1", v1CPULeaf+"/cpu.cfs_period_us", "0\n", "CPULimit"),
		"v1 period -1":     edgeBad("harm-v1", v1CPULeaf+"/cpu.cfs_period_us", "-1\n", "CPULimit"),
		"v1 period 2^64-1": edgeBad("harm-v1", v1CPULeaf+"/cpu.cfs_period_us", maxU64+"\n", "CPULimit"),
		// The period is the file out of range: the error names it, as
		// it does for a period of 0.
		"v1 period 2^63-1": edgeBad("harm-v1", v1CPULeaf+"/cpu.cfs_period_us", maxI64+"\n", "CPULimit"),
		"v1 period 1": edgeOK("harm-v1", v1CPULeaf+"/cpu.cfs_period_us", "1\n", "LeafCPULimit", "", func(v *harmValues) bool {
			return v.leafOK && v.leaf.CPUs == 50000 && v.leaf.Period == time.Microsecond
		}),
		"v1 128-bit compare, parent tighter": {fixture: "harm-v1", call: "CPULimit", files: map[string]string{
			v1CPULeaf + "/cpu.cfs_quota_us": p53x + "\n", v1CPULeaf + "/cpu.cfs_period_us": p53x + "\n",
			v1CPUPod + "/cpu.cfs_quota_us": p53 + "\n", v1CPUPod + "/cpu.cfs_period_us": p53x + "\n"},
			check: func(v *harmValues) bool { return v.cpuOK && v.cpu.Path == "/"+v1CPUPod+"/cpu.cfs_quota_us" }},

		// v1 memory.limit_in_bytes: the unlimited value is LONG_MAX
		// rounded to pages.
		"v1 limit 0":     edgeBad("harm-v1", v1MemLeaf+"/memory.limit_in_bytes", "0\n", "MemoryLimit"),
		"v1 limit -1":    edgeBad("harm-v1", v1MemLeaf+"/memory.limit_in_bytes", "-1\n", "MemoryLimit"),
		"v1 limit -2^63": edgeBad("harm-v1", v1MemLeaf+"/memory.limit_in_bytes", minI64+"\n", "MemoryLimit"),
		"v1 limit 1": edgeOK("harm-v1", v1MemLeaf+"/memory.limit_in_bytes", "1\n", "MemoryLimit", "", func(v *harmValues) bool {
			return v.memOK && v.mem.Bytes == 1 && v.mem.Path == "/"+v1MemLeaf+"/memory.limit_in_bytes"
		}),
		"v1 limit 2^63-1": edgeOK("harm-v1", v1MemLeaf+"/memory.limit_in_bytes", maxI64+"\n", "MemoryLimit", "", func(v *harmValues) bool {
			return v.memOK && v.mem.Bytes == 1<<30 && v.mem.Path == "/"+v1MemPod+"/memory.limit_in_bytes"
		}),
		// Linux 3.12 to 3.18 (res_counter with RES_COUNTER_MAX =
		// ULLONG_MAX; Debian 8, Ubuntu 14.04) write an unlimited v1
		// limit as 2^64-1: no limit at this level, not a malformed file.
		"v1 limit 2^64-1 (Linux 3.12-3.18 unlimited)": edgeOK("harm-v1", v1MemLeaf+"/memory.limit_in_bytes", maxU64+"\n", "MemoryLimit", "", func(v *harmValues) bool {
			return v.memOK && v.mem.Bytes == 1<<30 && v.mem.Path == "/"+v1MemPod+"/memory.limit_in_bytes"
		}),
		"v1 memsw 2^64-1 (Linux 3.12-3.18 unlimited)": edgeOK("harm-v1", v1MemLeaf+"/memory.memsw.limit_in_bytes", maxU64+"\n", "SwapLimit", "", func(v *harmValues) bool {
			return v.swapOK && v.swap == 1<<30
		}),
		"v1 limit 2^64":                   edgeBad("harm-v1", v1MemLeaf+"/memory.limit_in_bytes", overU64+"\n", "MemoryLimit"),
		"v1 hierarchical_memory_limit -5": edgeBad("harm-v1", v1MemLeaf+"/memory.stat", "hierarchical_memory_limit -5\ntotal_inactive_file 0\n", "MemoryLimit"),
		"v1 hierarchical_memory_limit 0":  edgeBad("harm-v1", v1MemLeaf+"/memory.stat", "hierarchical_memory_limit 0\ntotal_inactive_file 0\n", "MemoryLimit"),
		"v1 hierarchical_memory_limit 2^64-1": edgeOK("harm-v1", v1MemLeaf+"/memory.stat", "hierarchical_memory_limit "+maxU64+"\ntotal_inactive_file 0\n", "MemoryLimit", "", func(v *harmValues) bool {
			return v.memOK && v.mem.Bytes == 1<<30 && v.mem.Key == ""
		}),
		"v1 hierarchical_memory_limit 1": edgeOK("harm-v1", v1MemLeaf+"/memory.stat", "hierarchical_memory_limit 1\ntotal_inactive_file 0\n", "MemoryLimit", "", func(v *harmValues) bool {
			return v.memOK && v.mem.Bytes == 1 && v.mem.Key == "hierarchical_memory_limit" && v.mem.Path == "/"+v1MemLeaf+"/memory.stat"
		}),
		"v1 hierarchical_memsw_limit -5": edgeBad("harm-v1", v1MemLeaf+"/memory.stat", "hierarchical_memsw_limit -5\ntotal_inactive_file 0\n", "SwapLimit"),
		"v1 usage_in_bytes 2^64-1":       edgeBad("harm-v1", v1MemLeaf+"/memory.usage_in_bytes", maxU64+"\n", "ReadStats"),
		"v1 usage_in_bytes 2^63-1": edgeOK("harm-v1", v1MemLeaf+"/memory.usage_in_bytes", maxI64+"\n", "ReadStats", "", func(v *harmValues) bool {
			return v.stats.Memory.Usage == math.MaxInt64
		}),
		"v1 total_inactive_file 2^64-1": edgeOK("harm-v1", v1MemLeaf+"/memory.stat", "total_rss 1\ntotal_cache 2\ntotal_inactive_file "+maxU64+"\n", "ReadStats", "", func(v *harmValues) bool {
			m := v.stats.Memory
			return m.HasWorkingSet && m.InactiveFile == m.Usage && m.WorkingSet == 0
		}),
		"v1 max_usage 2^64-1":     edgeBad("harm-v1", v1MemLeaf+"/memory.max_usage_in_bytes", maxU64+"\n", "ReadStats"),
		"v1 failcnt -1":           edgeBad("harm-v1", v1MemLeaf+"/memory.failcnt", "-1\n", "ReadStats"),
		"v1 cpuacct.usage 2^64-1": edgeBad("harm-v1", v1CPULeaf+"/cpuacct.usage", maxU64+"\n", "ReadStats"),
		"v1 cpuacct.usage 2^63":   edgeBad("harm-v1", v1CPULeaf+"/cpuacct.usage", overI64+"\n", "ReadStats"),
		"v1 cpuacct.usage 2^63-1": edgeOK("harm-v1", v1CPULeaf+"/cpuacct.usage", maxI64+"\n", "ReadStats", "", func(v *harmValues) bool {
			return v.stats.CPU.Usage == math.MaxInt64
		}),
		"v1 throttled_time 2^64-1": edgeBad("harm-v1", v1CPULeaf+"/cpu.stat", "nr_periods 1\nnr_throttled 1\nthrottled_time "+maxU64+"\n", "ReadStats"),
		"v1 throttled_time 2^63-1": edgeOK("harm-v1", v1CPULeaf+"/cpu.stat", "nr_periods 1\nnr_throttled 1\nthrottled_time "+maxI64+"\n", "ReadStats", "", func(v *harmValues) bool {
			return v.stats.CPU.HasThrottling && v.stats.CPU.Throttling.ThrottledTime == math.MaxInt64
		}),
		"v1 nr_throttled > nr_periods": edgeBad("harm-v1", v1CPULeaf+"/cpu.stat", "nr_periods 1\nnr_throttled 2\nthrottled_time 0\n", "ReadStats"),
		"v1 pids.current 2^63":         edgeBad("harm-v1", v1PIDLeaf+"/pids.current", overI64+"\n", "ReadStats"),
		"v1 cpu.shares 1":              edgeBad("harm-v1", v1CPULeaf+"/cpu.shares", "1\n", "CPURequest"),
		"v1 cpu.shares 262145":         edgeBad("harm-v1", v1CPULeaf+"/cpu.shares", "262145\n", "CPURequest"),
		"v1 cpu.shares 2^64-1":         edgeBad("harm-v1", v1CPULeaf+"/cpu.shares", maxU64+"\n", "CPURequest"),
		"v1 cpu.shares 262144": edgeOK("harm-v1", v1CPULeaf+"/cpu.shares", "262144\n", "CPURequest", "", func(v *harmValues) bool {
			return v.reqOK && v.req.MilliCPU == 256000 && v.req.Shares == 262144
		}),
		"v1 cpuset.cpus 0-2^63": edgeBad("harm-v1", v1SetLeaf+"/cpuset.cpus", "0-"+overI64+"\n", "CPUSetCPUs"),
		"v1 memsw 0":            edgeBad("harm-v1", v1MemLeaf+"/memory.memsw.limit_in_bytes", "0\n", "SwapLimit"),
		"v1 memsw -1":           edgeBad("harm-v1", v1MemLeaf+"/memory.memsw.limit_in_bytes", "-1\n", "SwapLimit"),
		"v1 failcnt 2^64-1": edgeOK("harm-v1", v1MemLeaf+"/memory.failcnt", maxU64+"\n", "ReadStats", "", func(v *harmValues) bool {
			return v.stats.Memory.HasEvents && v.stats.Memory.Events.Max == math.MaxUint64
		}),
		"v1 oom_kill 2^64-1": edgeOK("harm-v1", v1MemLeaf+"/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill "+maxU64+"\n", "ReadStats", "", func(v *harmValues) bool {
			e := v.stats.Memory.Events
			return v.stats.Memory.HasEvents && e.OOMKill == math.MaxUint64 && e.OOM == math.MaxUint64
		}),
		"v1 total_rss and total_cache 2^64-1": edgeOK("harm-v1", v1MemLeaf+"/memory.stat", "total_rss "+maxU64+"\ntotal_cache "+maxU64+"\ntotal_inactive_file 0\n", "ReadStats", "", func(v *harmValues) bool {
			m := v.stats.Memory
			return m.Anon == m.Usage && m.File == m.Usage && m.WorkingSet == m.Usage
		}),
		"v1 usage_in_bytes 2^63": edgeBad("harm-v1", v1MemLeaf+"/memory.usage_in_bytes", overI64+"\n", "ReadStats"),
		"v1 pids.current 2^63-1": edgeOK("harm-v1", v1PIDLeaf+"/pids.current", maxI64+"\n", "ReadStats", "", func(v *harmValues) bool {
			return v.stats.PIDs.Current == math.MaxInt64
		}),
		"v1 pids.max 0": edgeOK("harm-v1", v1PIDLeaf+"/pids.max", "0\n", "PIDsLimit", "", func(v *harmValues) bool {
			return v.pidsOK && v.pids.Max == 0
		}),
		"v2 memory.peak 2^63-1": edgeOK("harm-v2", v2Leaf+"/memory.peak", maxI64+"\n", "ReadStats", "", func(v *harmValues) bool {
			return v.stats.Memory.HasPeak && v.stats.Memory.Peak == math.MaxInt64
		}),
		"v2 throttled_usec max micros+1": edgeBad("harm-v2", v2Leaf+"/cpu.stat", "usage_usec 1\nnr_periods 1\nnr_throttled 1\nthrottled_usec "+overMicr+"\n", "ReadStats"),
		"v2 memory.events not a number":  edgeBad("harm-v2", v2Leaf+"/memory.events", "high 0\nmax 0\noom 0\noom_kill x\n", "ReadStats"),
	}
	return cases
}

// TestHarmIntEdges writes values at the edges of int64 and uint64 into
// every numeric input and checks the documented outcome: an error that
// wraps ErrMalformed and names the file, or the right value; and for
// every run, the invariants of checkSane (no negative value, no limit of
// 0, no working set above the usage) and no panic.
func TestHarmIntEdges(t *testing.T) {
	cases := edgeCases()
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		tc := cases[name]
		t.Run(name, func(t *testing.T) {
			root := absPath(t, fastTempDir(t))
			testenv.CopyTree(t, filepath.Join("testdata", tc.fixture), root)
			for rel, content := range tc.files {
				if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(rel)), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := harmRunTree(t, root, nil)
			checkSane(t, name, r)
			if r.openErr != nil {
				t.Fatalf("Open: %v", r.openErr)
			}
			c, ok := r.get(tc.call)
			if !ok {
				t.Fatalf("no call %s", tc.call)
			}
			if tc.malformed == "" {
				if c.err != nil || !tc.check(&r.vals) {
					t.Errorf("%s = %s, %v; not the value expected", tc.call, c.value, c.err)
				}
				return
			}
			want := filepath.Join(root, filepath.FromSlash(tc.malformed))
			found := false
			for _, e := range leafErrors(c.err) {
				var fe *Error
				if errors.Is(e, ErrMalformed) && errors.As(e, &fe) && fe.Path == want {
					found = true
				}
			}
			if !found {
				t.Errorf("%s = %s, %v; want an error wrapping ErrMalformed naming %s", tc.call, c.value, c.err, want)
			}
		})
	}
}

// TestHarmStatsClearedOnError: a file that fails to parse part way leaves
// no partial values behind: a value whose Has flag is false is zero, for
// the groups that parse several lines (memory.events, v1 failcnt and
// oom_control, pressure).
func TestHarmStatsClearedOnError(t *testing.T) {
	for name, tc := range map[string]struct {
		fixture, file, content string
	}{
		"v2 memory.events bad last line": {"harm-v2", v2Leaf + "/memory.events", "high 12\nmax 3\noom 1\noom_kill " + overU64 + "\n"},
		"v1 oom_control bad":             {"harm-v1", v1MemLeaf + "/memory.oom_control", "oom_kill_disable 0\noom_kill x\n"},
		"v2 cpu.pressure bad full line": {"harm-v2", v2Leaf + "/cpu.pressure",
			"some avg10=1.00 avg60=1.00 avg300=1.00 total=5\nfull avg10=x avg60=0.00 avg300=0.00 total=0\n"},
		"v1 host pressure bad full line": {"harm-v1", "proc/pressure/io",
			"some avg10=1.00 avg60=1.00 avg300=1.00 total=5\nfull avg10=x avg60=0.00 avg300=0.00 total=0\n"},
	} {
		t.Run(name, func(t *testing.T) {
			root := absPath(t, t.TempDir())
			testenv.CopyTree(t, filepath.Join("testdata", tc.fixture), root)
			if err := os.WriteFile(filepath.Join(root, tc.file), []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			r := harmRunTree(t, root, nil)
			c, _ := r.get("ReadStats")
			if !errors.Is(c.err, ErrMalformed) {
				t.Fatalf("ReadStats: %v, want ErrMalformed", c.err)
			}
			checkSane(t, name, r)
			checkStatsCleared(t, name, &r.vals.stats)
		})
	}
}

// TestHarmV1SwapHidden: a container's bind-mounted v1 view whose every
// visible limit file says unlimited, with memory.stat's
// hierarchical_memsw_limit (and hierarchical_memory_limit) showing the
// limits set above the view (testdata/v1-swap-hidden*).
func TestHarmV1SwapHidden(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		swap    int64
		mem     MemoryLimit
		memOK   bool
	}{
		// memory+swap 768 MiB, memory 512 MiB: 256 MiB of swap.
		{"v1-swap-hidden", 805306368 - 536870912,
			MemoryLimit{Bytes: 536870912, Path: "/sys/fs/cgroup/memory/memory.stat", Key: "hierarchical_memory_limit"}, true},
		// Only memory+swap is limited: all of it may be swap.
		{"v1-swap-hidden-nomem", 805306368, MemoryLimit{}, false},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			r := harmRunTree(t, absPath(t, filepath.Join("testdata", tc.fixture)), nil)
			checkSane(t, tc.fixture, r)
			for _, c := range r.errs() {
				t.Errorf("%s: %v", c.name, c.err)
			}
			if !r.vals.swapOK || r.vals.swap != tc.swap {
				t.Errorf("SwapLimit = %d ok=%v, want %d", r.vals.swap, r.vals.swapOK, tc.swap)
			}
			if r.vals.memOK != tc.memOK || r.vals.mem != tc.mem {
				t.Errorf("MemoryLimit = %+v ok=%v, want %+v ok=%v", r.vals.mem, r.vals.memOK, tc.mem, tc.memOK)
			}
		})
	}
}

// TestHarmUnusableGroup: a nil *Group, a zero Group{} and a closed Group
// return errors from every reader (Root, Layout and Location their
// documented values), never panic; Close is idempotent; Open refuses a
// nil option and a process ID of 0 or less.
func TestHarmUnusableGroup(t *testing.T) {
	closed, err := Open(WithRoot("testdata/v2-nested"))
	if err != nil {
		t.Fatal(err)
	}
	locBefore, _ := closed.Location(CPU)
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		g      *Group
		root   string
		layout Layout
		loc    Location
		locOK  bool
	}{
		{"nil", nil, "/", LayoutNone, Location{}, false},
		{"zero", &Group{}, "/", LayoutNone, Location{}, false},
		{"closed", closed, absPath(t, "testdata/v2-nested"), LayoutV2, locBefore, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.g
			r := &harmRun{}
			mustFail := func(name string, fn func() (string, error)) {
				t.Helper()
				if c := r.call(t, name, fn); c.err == nil {
					t.Errorf("%s on a %s Group: %s, no error", name, tc.name, c.value)
				}
			}
			mustFail("CPULimit", func() (string, error) { l, ok, err := g.CPULimit(); return fmt.Sprint(l, ok), err })
			mustFail("LeafCPULimit", func() (string, error) { l, ok, err := g.LeafCPULimit(); return fmt.Sprint(l, ok), err })
			mustFail("CPURequest", func() (string, error) { l, ok, err := g.CPURequest(); return fmt.Sprint(l, ok), err })
			mustFail("CPUSetCPUs", func() (string, error) { l, ok, err := g.CPUSetCPUs(); return fmt.Sprint(l, ok), err })
			mustFail("MemoryLimit", func() (string, error) { l, ok, err := g.MemoryLimit(); return fmt.Sprint(l, ok), err })
			mustFail("MemoryHigh", func() (string, error) { l, ok, err := g.MemoryHigh(); return fmt.Sprint(l, ok), err })
			mustFail("SwapLimit", func() (string, error) { l, ok, err := g.SwapLimit(); return fmt.Sprint(l, ok), err })
			mustFail("PIDsLimit", func() (string, error) { l, ok, err := g.PIDsLimit(); return fmt.Sprint(l, ok), err })
			mustFail("Moved", func() (string, error) { m, err := g.Moved(); return fmt.Sprint(m), err })
			mustFail("files", func() (string, error) { f, err := g.files(); return fmt.Sprint(f), err })
			st := Stats{CPU: CPUStats{HasUsage: true, Usage: 5}, PIDs: PIDsStats{HasCurrent: true, Current: 3}}
			mustFail("ReadStats", func() (string, error) { err := g.ReadStats(&st, StatsAll); return fmt.Sprint(st), err })
			if st != (Stats{}) {
				t.Errorf("ReadStats on a %s Group left %+v in st; want it cleared", tc.name, st)
			}
			mustFail("ReadStats(nil)", func() (string, error) { return "", g.ReadStats(nil, StatsAll) })
			for _, c := range r.calls {
				if c.value != "" && strings.Contains(c.value, "true") {
					t.Errorf("%s on a %s Group returned %s", c.name, tc.name, c.value)
				}
			}
			r.call(t, "Close", func() (string, error) { return "", g.Close() })
			if c, _ := r.get("Close"); c.err != nil {
				t.Errorf("Close on a %s Group: %v", tc.name, c.err)
			}
			if got := g.Root(); got != tc.root {
				t.Errorf("Root() = %q, want %q", got, tc.root)
			}
			if got := g.Layout(); got != tc.layout {
				t.Errorf("Layout() = %q, want %q", got, tc.layout)
			}
			if loc, ok := g.Location(CPU); loc != tc.loc || ok != tc.locOK {
				t.Errorf("Location(CPU) = %+v %v, want %+v %v", loc, ok, tc.loc, tc.locOK)
			}
			for _, c := range []Controller{-1, numControllers, 99} {
				if loc, ok := g.Location(c); ok || loc != (Location{}) {
					t.Errorf("Location(%d) = %+v %v", c, loc, ok)
				}
			}
		})
	}
	for name, opts := range map[string][]Option{
		"nil option":       {nil},
		"nil after a root": {WithRoot("testdata/v2-nested"), nil},
		"WithPID(0)":       {WithRoot("testdata/v2-nested"), WithPID(0)},
		"WithPID(-1)":      {WithRoot("testdata/v2-nested"), WithPID(-1)},
	} {
		r := &harmRun{}
		var g *Group
		c := r.call(t, "Open "+name, func() (string, error) {
			var err error
			g, err = Open(opts...)
			return "", err
		})
		if c.err == nil || g != nil {
			t.Errorf("Open with %s = %v, %v; want an error and no Group", name, g, c.err)
		}
	}
}

// TestHarmCloseWhileReading closes a handle while goroutines read through
// it: every call returns a value or an error, none panics (run with
// -race).
func TestHarmCloseWhileReading(t *testing.T) {
	for _, fx := range harmFixtures {
		g, err := Open(WithRoot(filepath.Join("testdata", fx)))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		panics := make(chan string, 16)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					if p := recover(); p != nil {
						panics <- fmt.Sprint(p)
					}
				}()
				<-start
				var st Stats
				for j := 0; j < 100; j++ {
					g.CPULimit()
					g.MemoryLimit()
					g.SwapLimit()
					g.ReadStats(&st, StatsAll)
					g.Moved()
					if _, _, err := g.PIDsLimit(); err != nil && !strings.Contains(err.Error(), "closed") {
						panics <- "PIDsLimit: " + err.Error()
						return
					}
				}
			}()
		}
		close(start)
		time.Sleep(time.Millisecond)
		g.Close()
		wg.Wait()
		close(panics)
		for p := range panics {
			t.Errorf("%s: %s", fx, p)
		}
	}
}

// fuzzOps are what FuzzTree does to one file of a fixture.
const (
	opKeep = iota
	opRandom
	opTemplate // every number replaced with an edge value
	opEdge     // the file is one edge value
	opFIFO
	opLinkAbs    // symbolic link to the canary, absolute
	opLinkRel    // symbolic link to the canary, relative
	opLinkCG     // symbolic link to the canary directory's file of this name
	opLinkInside // symbolic link to another file of the tree
	opSparse     // 1 GB sparse
	opDir
	opSocket
	opDevice // /dev/zero's numbers (as root; a FIFO otherwise)
	opRemove
	opLoop       // a link to itself
	opLinkDotDot // a relative link with too many "..", to itself: stays inside
	numOps
)

var fuzzEdges = []string{"0", "1", "-1", "2", "max", "max 100000", maxI64, overI64, minI64, maxU64, overU64,
	maxMicro, overMicr, p53x, "65536", "0-65536", "", " ", "\x00", "100000 1", "1 " + maxI64, "-0", "+1", "1e3", "0x10"}

// FuzzTree builds a tree from a harm fixture with each file kept, given
// random or edge content, or replaced with a FIFO, socket, device,
// directory, 1 GB sparse file, or a symbolic link inside the root or out
// of it to the canary; optionally the leaf directory becomes a link out of
// the root; and runs Open and every reader, with openat2 or the component
// walk. Every call must return within harmBound without a panic; nothing
// outside the root is opened; no value or error carries the canary; every
// limit returned is positive (checkSane).
//
// The input: byte 0 picks the fixture (bit 0), a leaf-directory link (bits
// 1-2) and the walk (bit 3); then one byte per file of the fixture (sorted)
// picks its op; the bytes after them feed the ops' content.
func FuzzTree(f *testing.F) {
	nFiles := 0
	for _, fx := range harmFixtures {
		if n := len(regularFiles(f, filepath.Join("testdata", fx))); n > nFiles {
			nFiles = n
		}
	}
	seed := func(head byte, ops map[int]byte, pool ...byte) []byte {
		b := make([]byte, 1+nFiles)
		b[0] = head
		for i, op := range ops {
			b[1+i] = op
		}
		return append(b, pool...)
	}
	all := func(op byte) map[int]byte {
		m := map[int]byte{}
		for i := 0; i < nFiles; i++ {
			m[i] = op
		}
		return m
	}
	f.Add(seed(0, nil))                          // v1 intact
	f.Add(seed(1, nil))                          // v2 intact
	f.Add(seed(1|8, nil))                        // v2 intact, walk
	f.Add(seed(0, all(opFIFO)))                  // v1, every file a FIFO
	f.Add(seed(1|8, all(opLinkRel)))             // v2, every file a link out, walk
	f.Add(seed(0, all(opLinkAbs)))               // v1, every file a link out
	f.Add(seed(1, all(opLinkCG)))                // v2, links to a directory of canaries
	f.Add(seed(1|2, nil))                        // v2, leaf directory a link out
	f.Add(seed(0|4|8, nil))                      // v1, leaf directories links out (relative), walk
	f.Add(seed(1, all(opTemplate), 7, 9, 3, 10)) // v2, edge values everywhere
	f.Add(seed(0, all(opTemplate), 10, 8, 6))    // v1, edge values everywhere
	f.Add(seed(1, all(opSparse)))                // v2, 1 GB sparse files
	f.Add(seed(0, map[int]byte{3: opLoop, 5: opDir, 7: opSocket, 9: opDevice, 11: opLinkInside, 13: opLinkDotDot, 15: opRemove, 17: opRandom}, 40, 1, 2, 3, 'x', 'y'))
	f.Add(seed(1, map[int]byte{2: opEdge, 4: opEdge, 6: opEdge, 8: opEdge, 10: opEdge}, 9, 10, 11, 12, 13))
	// The canaries are written once; each input gets its own root and
	// watch.
	canaries := newCanaries(f, f.TempDir())
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzTree(t, canaries, data)
	})
}

func fuzzTree(t *testing.T, canaries *escapeEnv, data []byte) {
	if len(data) == 0 {
		return
	}
	head, data := data[0], data[1:]
	fx := harmFixtures[head&1]
	if head&8 != 0 {
		defer rootfs.ForceWalk()()
	}
	e := canaries.withRoot(t, filepath.Join(fastTempDir(t), "root"), fx)
	files := regularFiles(t, e.root)
	ops := data
	if len(ops) > len(files) {
		ops = ops[:len(files)]
	}
	pool := data[len(ops):]
	next := func() byte {
		if len(pool) == 0 {
			return 0
		}
		b := pool[0]
		pool = pool[1:]
		return b
	}
	clean := func(s string) string { return strings.ReplaceAll(s, canaryToken, "0") }
	for i, op := range ops {
		rel := files[i]
		p := filepath.Join(e.root, filepath.FromSlash(rel))
		write := func(content string) {
			if err := os.WriteFile(p, []byte(clean(content)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		remove := func() {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
		link := func(target string) {
			remove()
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		}
		switch op % numOps {
		case opKeep:
		case opRandom:
			n := int(next() % 64)
			b := make([]byte, 0, n)
			for j := 0; j < n; j++ {
				b = append(b, next())
			}
			write(string(b))
		case opTemplate:
			orig, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			edge := fuzzEdges[int(next())%len(fuzzEdges)]
			write(replaceNumbers(string(orig), edge))
		case opEdge:
			write(fuzzEdges[int(next())%len(fuzzEdges)] + "\n")
		case opFIFO:
			remove()
			if err := unix.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		case opLinkAbs:
			link(e.canary)
		case opLinkRel:
			rel, err := filepath.Rel(filepath.Dir(p), e.canary)
			if err != nil {
				t.Fatal(err)
			}
			link(rel)
		case opLinkCG:
			link(filepath.Join(e.cg, filepath.Base(p)))
		case opLinkInside:
			link("/" + files[int(next())%len(files)])
		case opSparse:
			if err := os.Truncate(p, 1<<30); err != nil {
				t.Fatal(err)
			}
		case opDir:
			remove()
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case opSocket:
			remove()
			if err := unix.Mknod(p, unix.S_IFSOCK|0o644, 0); err != nil {
				t.Fatal(err)
			}
		case opDevice:
			remove()
			if os.Geteuid() == 0 {
				if err := unix.Mknod(p, unix.S_IFCHR|0o644, int(unix.Mkdev(1, 5))); err != nil {
					t.Fatal(err)
				}
			} else if err := unix.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		case opRemove:
			remove()
		case opLoop:
			link(filepath.Base(p))
		case opLinkDotDot:
			link(strings.Repeat("../", 20) + rel)
		}
	}
	// The leaf directories: links out of the root.
	if linkLeaf := head >> 1 & 3; linkLeaf != 0 {
		leaves := map[string]bool{}
		for _, rel := range files {
			if strings.Contains(rel, "/pod/ctr/") {
				leaves[rel[:strings.Index(rel, "/pod/ctr/")+len("/pod/ctr")]] = true
			}
		}
		for leaf := range leaves {
			p := filepath.Join(e.root, filepath.FromSlash(leaf))
			target := e.cg
			if linkLeaf == 2 {
				var err error
				if target, err = filepath.Rel(filepath.Dir(p), e.cg); err != nil {
					t.Fatal(err)
				}
			} else if linkLeaf == 3 {
				target = "/"
			}
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := harmRunTree(t, e.root, nil)
	e.check(t, "fuzzed tree", r)
}

// replaceNumbers replaces every run of decimal digits in s with v.
func replaceNumbers(s, v string) string {
	var b strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			if !in {
				b.WriteString(v)
			}
			in = true
			continue
		}
		in = false
		b.WriteByte(c)
	}
	return b.String()
}
