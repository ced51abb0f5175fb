package testenv

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
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Leftover cgroups.
//
// A test that creates cgroups removes them in t.Cleanup, which does not run
// when the test binary dies first: a go test -timeout panic, a kill, a
// crash. What such a run leaves behind is removed by a reaper process at
// once where it can be, and by the next run otherwise. Packages whose tests
// create cgroups directly use this (the runc harness has its own registry,
// see internal/testenv/runc):
//
//	func TestMain(m *testing.M) { os.Exit(testenv.SweepMain(m)) }
//
//	dir := filepath.Join(parent, testenv.CgroupName("cgroup"))
//	testenv.MkdirCgroup(t, dir)
//
// The rules keep the sweeps from touching anything that is not a
// leftover of these tests:
//
//   - Names. Every cgroup a test creates is named by CgroupName,
//     "rightsize-test-<tag>-<pid>-<8 hex>", with the PID of the process
//     that created it. Only names with the prefix CgroupPrefix are ever
//     considered, and only directories on a cgroup filesystem.
//   - Leftover. A cgroup is left over when its creator is gone: no process
//     has that PID, or the one that has it started after the cgroup was
//     last changed (a reused PID). A prefixed name without a PID (another
//     package's tests, an older naming) is left over once it is older than
//     StaleAge.
//   - Removal is rmdir only, deepest first. The kernel refuses to remove
//     a cgroup that still holds a process or a child cgroup, so a sweep
//     never moves, kills or orphans a process: a cgroup in use stays, and
//     a later sweep tries again.
//
// Where. MkdirCgroup records each cgroup it creates, by path, in
// RecordFile before creating it, so that a sweep finds it wherever it was
// made (a test creates below its own cgroup, which differs between runs).
// SweepMain's sweeps also list the process's own cgroup directories of
// every v1 hierarchy for prefixed names that were never recorded.
//
// When. SweepMain sweeps before the tests (leftovers of earlier runs) and
// after them (this run's own, should a cleanup have failed). The first
// MkdirCgroup of a process starts its reaper (see StartReaper), which
// sweeps the cgroups recorded with this process's PID as soon as this
// process has ended, however it ended. Set NoReaperEnv=1 to keep a killed
// run's leftovers for a look at them; the next run sweeps them.

// CgroupPrefix starts the name of every cgroup the project's tests create
// themselves (not through the runc harness).
const CgroupPrefix = "rightsize-test-"

// StaleAge is the age at which a prefixed cgroup whose name carries no
// creator PID counts as left over.
const StaleAge = 30 * time.Minute

// RecordFile lists the cgroups MkdirCgroup created, one path a line; the
// sweeps drop the lines of cgroups that are gone.
const RecordFile = "/run/rightsize/test-cgroups"

const recordLock = RecordFile + ".lock"

// NoReaperEnv, set to 1, keeps reapers from being started (StartReaper):
// a killed run's leftovers then stay for a look, until the next run.
const NoReaperEnv = "RIGHTSIZE_TEST_NO_REAPER"

// CgroupName returns "rightsize-test-<tag>-<pid>-<8 hex>", a cgroup name no
// other test uses, which tells a later sweep which process created it. tag
// (say the package's name) must not contain "-".
func CgroupName(tag string) string {
	if tag == "" || strings.Contains(tag, "-") {
		panic(fmt.Sprintf("testenv.CgroupName: tag %q is empty or has a dash", tag))
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return fmt.Sprintf("%s%s-%d-%s", CgroupPrefix, tag, os.Getpid(), hex.EncodeToString(b[:]))
}

// CreatorPID returns the PID in a name made by CgroupName.
func CreatorPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, CgroupPrefix)
	if !ok {
		return 0, false
	}
	parts := strings.Split(rest, "-")
	if len(parts) < 3 || parts[0] == "" {
		return 0, false
	}
	pid, err := strconv.Atoi(parts[1])
	return pid, err == nil && pid > 0
}

// Leftover reports whether the prefixed cgroup name, last changed at
// mtime, is left over (see the rules above). A cgroup of this process
// counts only when self is set: the sweep after the tests.
func Leftover(name string, mtime time.Time, self bool) bool {
	if !strings.HasPrefix(name, CgroupPrefix) {
		return false
	}
	if pid, ok := CreatorPID(name); ok {
		if pid == os.Getpid() {
			return self
		}
		switch creatorState(pid, mtime) {
		case creatorGone:
			return true
		case creatorLives:
			return false
		}
	}
	return time.Since(mtime) > StaleAge
}

type creator int

const (
	creatorUnknown creator = iota
	creatorLives
	creatorGone
)

// creatorState tells whether process pid can be the creator of a cgroup
// last changed at mtime: the creator started before it made the cgroup.
// The start time is known to about a second (btime has whole seconds),
// hence the slack.
func creatorState(pid int, mtime time.Time) creator {
	if !alive(pid) {
		return creatorGone
	}
	start, ok := ProcessStart(pid)
	switch {
	case !ok:
		return creatorUnknown
	case start.After(mtime.Add(2 * time.Second)):
		return creatorGone // the PID was reused
	default:
		return creatorLives
	}
}

// ProcessStart returns when process pid started, from field 22 of
// /proc/<pid>/stat (clock ticks after boot; USER_HZ is 100 on Linux) and
// btime of /proc/stat.
func ProcessStart(pid int) (time.Time, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return time.Time{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return time.Time{}, false
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3, the state
	if len(f) < 20 {
		return time.Time{}, false
	}
	ticks, err := strconv.ParseInt(f[19], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	st, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, false
	}
	for _, line := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			btime, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, false
			}
			return time.Unix(btime, 0).Add(time.Duration(ticks) * 10 * time.Millisecond), true
		}
	}
	return time.Time{}, false
}

// MkdirCgroup creates the cgroup directory dir, records it for the sweeps
// when its name has CgroupPrefix (a child of such a cgroup, say "leaf",
// goes with it and needs no record), starts this process's reaper, and
// removes dir when t ends, retrying for a second while a process that was
// killed leaves it. Create parents before children: cleanups run last in,
// first out. It skips t (see SkipOrFail, Cgroup) when this process is not
// root (the records in /run/rightsize and the cgroupfs are root's) or the
// cgroupfs is not writable, and fails it when dir cannot be created
// otherwise.
func MkdirCgroup(t testing.TB, dir string) {
	t.Helper()
	if euid := os.Geteuid(); euid != 0 {
		SkipOrFail(t, Cgroup, fmt.Sprintf("creating cgroup %s needs root (euid %d)", dir, euid))
	}
	if strings.HasPrefix(filepath.Base(dir), CgroupPrefix) {
		startReaper()
		// Recorded before it exists, so that no crash can leave an
		// unrecorded cgroup; a record of a missing one is dropped.
		if err := withRecords(func(recs []string) ([]string, error) { return append(recs, dir), nil }); err != nil {
			t.Fatalf("recording cgroup %s: %v", dir, err)
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS) {
			SkipOrFail(t, Cgroup, fmt.Sprintf("cgroupfs not writable: %v", err))
		}
		t.Fatalf("mkdir %s: %v", dir, err)
	}
	t.Cleanup(func() {
		var err error
		for i := 0; i < 50; i++ {
			if err = os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("could not remove cgroup %s: %v", dir, err)
	})
}

// withRecords runs f on RecordFile's lines under an exclusive flock of its
// lock file and writes back what f returns.
func withRecords(f func([]string) ([]string, error)) error {
	if err := os.MkdirAll(filepath.Dir(RecordFile), 0o700); err != nil {
		return err
	}
	l, err := os.OpenFile(recordLock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer l.Close() // releases the lock
	for {
		err = syscall.Flock(int(l.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", recordLock, err)
	}
	b, err := os.ReadFile(RecordFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var recs []string
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" {
			recs = append(recs, line)
		}
	}
	out, err := f(recs)
	if err != nil {
		return err
	}
	var w bytes.Buffer
	for _, r := range out {
		w.WriteString(r + "\n")
	}
	tmp := RecordFile + ".tmp"
	if err := os.WriteFile(tmp, w.Bytes(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, RecordFile)
}

// SweepResult is what a sweep did.
type SweepResult struct {
	Removed []string // leftover cgroups removed, each with its subtree
	Kept    []string // leftover cgroups that could not be removed (in use), with why
}

// SweepCgroups removes the leftover cgroups of the project's tests: those
// in RecordFile and the prefixed ones in this process's own cgroup
// directories of the v1 hierarchies. leftover decides (Leftover, or a
// narrower rule); it sees only prefixed names.
func SweepCgroups(leftover func(name string, mtime time.Time) bool) (SweepResult, error) {
	var res SweepResult
	seen := map[string]bool{}
	consider := func(dir string) (keep bool) {
		seen[dir] = true
		name := filepath.Base(dir)
		if !strings.HasPrefix(name, CgroupPrefix) || !onCgroupFS(dir) {
			return false // gone, or never ours to touch
		}
		fi, err := os.Stat(dir)
		if err != nil {
			return !errors.Is(err, os.ErrNotExist)
		}
		if !leftover(name, fi.ModTime()) {
			return true
		}
		if err := removeCgroupTree(dir); err != nil {
			res.Kept = append(res.Kept, fmt.Sprintf("%s: %v", dir, err))
			return true
		}
		res.Removed = append(res.Removed, dir)
		return false
	}
	err := withRecords(func(recs []string) ([]string, error) {
		var keep []string
		for _, r := range recs {
			if !seen[r] && consider(r) {
				keep = append(keep, r)
			}
		}
		return keep, nil
	})
	for _, own := range ownV1Dirs() {
		ents, _ := os.ReadDir(own)
		for _, e := range ents {
			if d := filepath.Join(own, e.Name()); e.IsDir() && !seen[d] && strings.HasPrefix(e.Name(), CgroupPrefix) {
				consider(d)
			}
		}
	}
	return res, err
}

// removeCgroupTree removes a cgroup and the cgroups below it, deepest
// first, by rmdir: a cgroup directory holds only control files (which
// rmdir takes along) and child cgroups, and rmdir fails on one that still
// has a process.
func removeCgroupTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := removeCgroupTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
		return &os.PathError{Op: "rmdir", Path: dir, Err: err}
	}
	return nil
}

// onCgroupFS reports whether dir is on a cgroup or cgroup2 filesystem.
func onCgroupFS(dir string) bool {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return false
	}
	const cgroupMagic, cgroup2Magic = 0x27e0eb, 0x63677270
	return st.Type == cgroupMagic || st.Type == cgroup2Magic
}

// ownV1Dirs returns this process's cgroup directory in every v1
// hierarchy mounted here (from /proc/self/cgroup and mountinfo).
func ownV1Dirs() []string {
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	own := map[string]string{} // a controller (or name=...) -> path
	for _, line := range strings.Split(string(cg), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && parts[1] != "" {
			for _, c := range strings.Split(parts[1], ",") {
				own[c] = parts[2]
			}
		}
	}
	var dirs []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(mi))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 || g[0] != "cgroup" {
			continue
		}
		root, point := path.Clean(f[3]), f[4]
		for _, o := range strings.Split(g[2], ",") {
			p, ok := own[o]
			if !ok {
				continue
			}
			// The mount shows the hierarchy from its root down; the
			// own cgroup is reachable here only below that root.
			p = path.Clean(p)
			var rel string
			switch {
			case root == "/":
				rel = p
			case p == root:
				rel = "/"
			case strings.HasPrefix(p, root+"/"):
				rel = strings.TrimPrefix(p, root)
			default:
				rel = ""
			}
			if d := filepath.Join(point, rel); rel != "" && !seen[d] {
				seen[d] = true
				dirs = append(dirs, d)
			}
			break // the controllers of one mount share the cgroup
		}
	}
	sort.Strings(dirs)
	return dirs
}

// SweepMain runs the tests of a package that creates cgroups (with
// MkdirCgroup): as root it sweeps the leftovers of earlier runs, runs m,
// sweeps this run's own leftovers and stops the reaper. It returns m.Run's
// code, for os.Exit. Sweeps say what they removed on standard error.
func SweepMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		return m.Run()
	}
	sweepAndSay(false)
	code := m.Run()
	sweepAndSay(true)
	stopReaper()
	return code
}

func sweepAndSay(self bool) {
	res, err := SweepCgroups(func(name string, mtime time.Time) bool { return Leftover(name, mtime, self) })
	for _, d := range res.Removed {
		fmt.Fprintf(os.Stderr, "rightsize tests: removed leftover cgroup %s\n", d)
	}
	for _, k := range res.Kept {
		fmt.Fprintf(os.Stderr, "rightsize tests: cannot remove leftover cgroup %s\n", k)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "rightsize tests: sweeping leftover cgroups: %v\n", err)
	}
}

// Reapers.
//
// A reaper is this test binary started again, in its own process group
// (a Ctrl-C to go test does not stop it) with /dev/null for its output (go
// test does not wait for it), and with its creator at the other end of a
// pipe on its standard input. When the creator ends, however it ends, the
// pipe reaches its end; the reaper waits for the creator to be gone, sweeps
// what it left, retrying for up to ten seconds while the processes the
// tests started leave their cgroups, and exits. The reaper acts in an init
// function of the package that starts it, before any test or TestMain of
// the binary runs: package testenv's reaper ("cgroups") sweeps what
// MkdirCgroup recorded, the runc harness has its own ("runc").

// reapEnv makes a test binary a reaper: "<kind>:<creator PID>".
const reapEnv = "RIGHTSIZE_TESTENV_REAPER"

var reapers struct {
	mu    sync.Mutex
	pipes map[string]*os.File // kind -> the write end of its stdin
}

// StartReaper starts this process's reaper of kind, once per kind, unless
// NoReaperEnv is set. The package that calls it must call RunReaper with
// the same kind from an init function.
func StartReaper(kind string) {
	if os.Getenv(NoReaperEnv) == "1" {
		return
	}
	reapers.mu.Lock()
	defer reapers.mu.Unlock()
	if _, ok := reapers.pipes[kind]; ok {
		return
	}
	if reapers.pipes == nil {
		reapers.pipes = map[string]*os.File{}
	}
	reapers.pipes[kind] = nil // tried once, started or not
	r, w, err := os.Pipe()
	if err != nil {
		return
	}
	defer r.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), reapEnv+"="+kind+":"+strconv.Itoa(os.Getpid()))
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return
	}
	reapers.pipes[kind] = w
	// Not waited for here: it waits for this process to end.
	go func() { _ = cmd.Wait() }()
}

// StopReaper tells the reaper of kind that this process is done: it
// sweeps once this process has exited, and finds nothing of it left.
func StopReaper(kind string) {
	reapers.mu.Lock()
	defer reapers.mu.Unlock()
	if w := reapers.pipes[kind]; w != nil {
		w.Close()
		reapers.pipes[kind] = nil
	}
}

// RunReaper makes this process the reaper of kind when it was started as
// one, and returns at once otherwise. sweep removes what the creator (by
// PID) left and reports whether nothing of it is left; it is called until
// it does, for up to ten seconds, once the creator is gone. RunReaper then
// exits the process.
func RunReaper(kind string, sweep func(creator int) (done bool)) {
	k, p, ok := strings.Cut(os.Getenv(reapEnv), ":")
	if !ok || k != kind {
		return
	}
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 1 {
		os.Exit(2)
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // until the creator closes it or is gone
	for deadline := time.Now().Add(30 * time.Second); alive(pid) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	for i := 0; i < 100; i++ {
		if sweep(pid) {
			os.Exit(0)
		}
		time.Sleep(100 * time.Millisecond)
	}
	os.Exit(1)
}

// reaperKind is the kind of MkdirCgroup's reaper.
const reaperKind = "cgroups"

func startReaper() { StartReaper(reaperKind) }
func stopReaper()  { StopReaper(reaperKind) }

func init() {
	RunReaper(reaperKind, func(creator int) bool {
		res, err := SweepCgroups(func(name string, mtime time.Time) bool {
			p, ok := CreatorPID(name)
			return ok && p == creator && Leftover(name, mtime, false)
		})
		return err == nil && len(res.Kept) == 0
	})
}

// CreatorAlive reports whether process pid, named as the creator of
// something (a cgroup, a bundle directory) last changed at mtime, may
// still be that creator: it runs and started before mtime (a later start
// is a reused PID). A process that runs but whose start time cannot be
// read counts as the creator: what it may still use is kept.
func CreatorAlive(pid int, mtime time.Time) bool {
	return creatorState(pid, mtime) != creatorGone
}

func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z' && b[i+2] != 'X'
	}
	return true
}
