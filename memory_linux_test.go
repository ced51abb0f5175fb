//go:build linux

package rightsize

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv/qemu"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// Memory beyond the Go heap (issue 14), end to end: children with the blank
// import in a cgroup with a memory limit, on the real v1 hierarchies of this
// host (TestMemory…V1) and on cgroup v2 in the qemu guest (TestMemoryV2,
// which boots its own guest and runs TestMemoryV2Guest there).
//
//   - OffHeap: a child maps and touches 64 MiB with syscall.Mmap; its
//     GOMEMLIMIT, set by the off-heap-aware watcher, drops by about that
//     much within a few ticks, and rises back after munmap. With
//     RIGHTSIZE_OFFHEAP=off it stays at 0.9 × the limit.
//   - Pressure: a child with a rightsize.OnMemoryPressure handler grows
//     mapped memory until its handler hears that the working set passed
//     90% of the limit, then frees it: the handler hears exactly one begin
//     and one end, no stream of signals.
//
// The children are this test binary in the child modes below, added to the
// ones of e2e_linux_test.go (runChild) by wrapping childMain; they share
// its machinery (startChildProc: GORACE=halt_on_error=1, stderr checked
// for DATA RACE, panics and fatal errors).

// memChildMode is the child mode of these tests; memChildPressure adds the
// pressure handler.
const (
	memChildMode     = "mem"
	memChildPressure = "mem-pressure"
	// memV2GuestEnv is set in the guest TestMemoryV2 boots.
	memV2GuestEnv = "RIGHTSIZE_E2E_MEM_V2_GUEST"
)

// memHooked is false when e2e_linux_test.go's init ran after this file's
// and replaced the hook (files are initialised in the order the go
// command lists them, by name: e2e_… before memory_…).
var memHooked bool

func init() {
	prev := childMain
	memHooked = prev != nil
	childMain = func(mode string) int {
		if mode == memChildMode || mode == memChildPressure {
			return memChild(mode)
		}
		if prev == nil {
			fmt.Fprintf(os.Stderr, "unknown child mode %q\n", mode)
			return 2
		}
		return prev(mode)
	}
}

// memReport is what a memory child says: the e2e report (GOMEMLIMIT and
// rightsize's decisions) and what it did.
type memReport struct {
	childReport
	// MappedMiB is what the child holds mapped now; Grown the most it
	// held.
	MappedMiB, GrownMiB int
	// Signals are the pressure signals its handler heard, in order.
	Signals []runtimeinfo.MemoryPressure
	// Begins is runtimeinfo.PressureSignals(PressureWorkingSet).
	Begins uint64
}

// memChildState is the child's memory: mappings, the grower, the signals.
type memChildState struct {
	mu       sync.Mutex
	maps     [][]byte
	mapped   int
	grown    int
	signals  []runtimeinfo.MemoryPressure
	stop     chan struct{} // closed by the handler: stop growing, free
	stopOnce sync.Once
}

func (s *memChildState) mapMiB(n int) error { return s.mapKind(n, syscall.MAP_PRIVATE) }

// mapKind maps n MiB of anonymous memory, private or shared (MAP_SHARED:
// shmem, which memory.stat counts as page cache), and touches every page.
func (s *memChildState) mapKind(n, kind int) error {
	b, err := syscall.Mmap(-1, 0, n<<20, syscall.PROT_READ|syscall.PROT_WRITE, kind|syscall.MAP_ANON)
	if err != nil {
		return err
	}
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	s.mu.Lock()
	s.maps = append(s.maps, b)
	s.mapped += n
	s.grown = max(s.grown, s.mapped)
	s.mu.Unlock()
	return nil
}

func (s *memChildState) unmapAll() {
	s.mu.Lock()
	maps := s.maps
	s.maps, s.mapped = nil, 0
	s.mu.Unlock()
	for _, b := range maps {
		_ = syscall.Munmap(b)
	}
}

func (s *memChildState) report(event string) memReport {
	r := memReport{childReport: takeReport(event), Begins: runtimeinfo.PressureSignals(runtimeinfo.PressureWorkingSet)}
	s.mu.Lock()
	r.MappedMiB, r.GrownMiB = s.mapped, s.grown
	r.Signals = append(r.Signals, s.signals...)
	s.mu.Unlock()
	return r
}

// memChild is a memory child's main. It prints a "ready" report, then
// answers each line on stdin with a report:
//
//	?                     report
//	map N                 map and touch N MiB (syscall.Mmap), then report
//	mapshared N           the same with MAP_SHARED (shmem)
//	unmap                 unmap everything, then report
//	grow N D              report at once, then map N MiB every D until the
//	                      pressure handler hears a begin (mem-pressure),
//	                      then unmap everything
func memChild(mode string) int {
	s := &memChildState{stop: make(chan struct{})}
	if mode == memChildPressure {
		OnMemoryPressure(func(p runtimeinfo.MemoryPressure) {
			s.mu.Lock()
			s.signals = append(s.signals, p)
			s.mu.Unlock()
			if p.Active && p.Cause != runtimeinfo.PressurePSI {
				// Must not block: the grower frees.
				s.stopOnce.Do(func() { close(s.stop) })
			}
		})
	}
	out := json.NewEncoder(os.Stdout)
	var outMu sync.Mutex
	say := func(r memReport) {
		outMu.Lock()
		defer outMu.Unlock()
		_ = out.Encode(r)
	}
	say(s.report("ready"))
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		switch {
		case len(f) == 2 && (f[0] == "map" || f[0] == "mapshared"):
			n, _ := strconv.Atoi(f[1])
			kind := syscall.MAP_PRIVATE
			if f[0] == "mapshared" {
				kind = syscall.MAP_SHARED
			}
			if err := s.mapKind(n, kind); err != nil {
				fmt.Fprintln(os.Stderr, "map:", err)
				return 2
			}
		case len(f) == 1 && f[0] == "unmap":
			s.unmapAll()
		case len(f) == 3 && f[0] == "grow":
			n, _ := strconv.Atoi(f[1])
			d, err := time.ParseDuration(f[2])
			if n <= 0 || err != nil {
				fmt.Fprintln(os.Stderr, "grow: want MiB and a duration")
				return 2
			}
			go func() {
				tk := time.NewTicker(d)
				defer tk.Stop()
				for {
					select {
					case <-s.stop:
						s.unmapAll()
						return
					case <-tk.C:
						if err := s.mapMiB(n); err != nil {
							fmt.Fprintln(os.Stderr, "grow:", err)
							return
						}
					}
				}
			}()
		}
		say(s.report("report"))
	}
	return 0
}

// memNext reads a memory child's next report.
func memNext(c *childProc, max time.Duration) memReport {
	c.t.Helper()
	select {
	case line, ok := <-c.lines:
		if !ok {
			<-c.done
			c.t.Fatalf("%s ended (%v) without a line; stderr:\n%s", c.name, c.err, c.stderr.String())
		}
		var r memReport
		if err := json.Unmarshal(line, &r); err != nil {
			c.t.Fatalf("%s said %q: %v", c.name, line, err)
		}
		return r
	case <-time.After(max):
		c.t.Fatalf("%s said nothing for %v; stderr:\n%s", c.name, max, c.stderr.String())
	}
	panic("unreachable")
}

func memAsk(c *childProc, cmd string) memReport {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, cmd+"\n"); err != nil {
		c.t.Fatalf("%s: %v", c.name, err)
	}
	return memNext(c, 30*time.Second)
}

// memReady reads the ready report and checks that init did set GOMEMLIMIT
// from the limit.
func memReady(t *testing.T, c *childProc, static int64) memReport {
	t.Helper()
	if !memHooked {
		t.Fatal("the memory child modes are not installed: e2e_linux_test.go's init ran after memory_linux_test.go's")
	}
	r := memNext(c, 30*time.Second)
	if r.Event != "ready" {
		t.Fatalf("%s: first line %+v, want ready", c.name, r)
	}
	if !r.OK || r.M.Value != static {
		t.Fatalf("%s: at start GOMEMLIMIT decision %+v, want %d (0.9 × the limit)", c.name, r.M, static)
	}
	return r
}

// memSettle asks the child until its GOMEMLIMIT has not moved for ticks
// watch intervals (by the child's clock), and returns the last report.
func memSettle(c *childProc, interval time.Duration, ticks int, max time.Duration) memReport {
	c.t.Helper()
	start := time.Now()
	r := memAsk(c, "?")
	since := r
	for {
		time.Sleep(interval / 2)
		r = memAsk(c, "?")
		if r.GOMEMLIMIT != since.GOMEMLIMIT {
			since = r
		} else if r.Time.Sub(since.Time) >= time.Duration(ticks)*interval {
			return r
		}
		if time.Since(start) > max {
			c.t.Fatalf("%s: GOMEMLIMIT still moving after %v: %d (%s)", c.name, max, r.GOMEMLIMIT, r.M.Reason)
		}
	}
}

// memCase is where the memory children run: the cgroup's limit, the watch
// interval, and how a child is started there.
type memCase struct {
	name     string
	limit    int64
	interval time.Duration
	// slack is added to the bounds in ticks: scheduling on a loaded
	// 2-CPU host under -race, or an emulated guest.
	slack time.Duration
	// start starts a child of mode with env in a cgroup limited to limit
	// (its init must see the limit) and returns it once it is running.
	start func(t *testing.T, mode string, env []string) *childProc
}

func (mc memCase) static() int64 { return int64(float64(mc.limit) * runtimeinfo.DefaultMemoryRatio) }

func (mc memCase) env(extra ...string) []string {
	return append([]string{"RIGHTSIZE_WATCH_INTERVAL=" + mc.interval.String()}, extra...)
}

// testOffHeap: 64 MiB of mapped, touched memory lowers GOMEMLIMIT by about
// 64 MiB within a few ticks, and munmap gives it back; with
// RIGHTSIZE_OFFHEAP=off GOMEMLIMIT stays at its static value.
func testOffHeap(t *testing.T, mc memCase) {
	t.Run("default", func(t *testing.T) { offHeapFollows(t, mc, "map") })
	t.Run("RIGHTSIZE_OFFHEAP=off", func(t *testing.T) { offHeapOff(t, mc) })
}

// offHeapFollows: a child maps 64 MiB with the command mapCmd (map or
// mapshared); GOMEMLIMIT drops by about 64 MiB within a few ticks and
// rises back after munmap.
func offHeapFollows(t *testing.T, mc memCase, mapCmd string) {
	const mapMiB = 64
	const mapped = mapMiB << 20
	static := mc.static()
	c := mc.start(t, memChildMode, mc.env())
	memReady(t, c, static)
	// Before: the estimate of what this binary holds outside the Go
	// runtime anyway (a race-built child: the race runtime's memory).
	base := memSettle(c, mc.interval, 5, 10*time.Second)
	t.Logf("before: GOMEMLIMIT %d (%.1f MiB below the static %d)\n  %s", base.GOMEMLIMIT, float64(static-base.GOMEMLIMIT)/(1<<20), static, base.M.Reason)
	r := memAsk(c, fmt.Sprintf("%s %d", mapCmd, mapMiB))
	mappedAt := r.Time
	// Smoothing (rise weight 0.5 a tick) and the 1% step: within 7/8
	// of the mapping after about 3 ticks. The bound is 8 ticks.
	bound := 8*mc.interval + mc.slack
	want := base.GOMEMLIMIT - mapped*7/8
	for r.GOMEMLIMIT > want && r.Time.Sub(mappedAt) < bound+2*time.Second {
		time.Sleep(mc.interval / 4)
		r = memAsk(c, "?")
	}
	if r.GOMEMLIMIT > want {
		t.Fatalf("after mapping %d MiB: GOMEMLIMIT %d after %v, want at most %d (%d MiB below %d)\n  %s", mapMiB, r.GOMEMLIMIT,
			r.Time.Sub(mappedAt).Round(time.Millisecond), want, mapMiB*7/8, base.GOMEMLIMIT, r.M.Reason)
	}
	// When the watcher applied it: the first change at or below want.
	var at time.Time
	for _, d := range r.Changes {
		if d.Setting == runtimeinfo.GOMEMLIMIT && d.At.After(mappedAt) && d.Value <= want {
			at = d.At
			break
		}
	}
	if at.IsZero() {
		t.Fatalf("GOMEMLIMIT %d in force but no recorded change brought it there: %+v", r.GOMEMLIMIT, r.Changes)
	}
	lag := at.Sub(mappedAt)
	t.Logf("mapped %d MiB: GOMEMLIMIT %d MiB below the value before %v later (%.1f ticks of %v; bound %v)", mapMiB,
		(base.GOMEMLIMIT-r.GOMEMLIMIT)>>20, lag.Round(time.Millisecond), float64(lag)/float64(mc.interval), mc.interval, bound)
	if lag > bound {
		t.Errorf("GOMEMLIMIT followed the mapping %v later, more than %v", lag.Round(time.Millisecond), bound)
	}
	if !strings.Contains(r.M.Reason, "the Go runtime does not manage") {
		t.Errorf("the decision does not say why: %s", r.M.Reason)
	}
	settled := memSettle(c, mc.interval, 5, 10*time.Second)
	drop := base.GOMEMLIMIT - settled.GOMEMLIMIT
	t.Logf("settled: GOMEMLIMIT %d, %.1f MiB below the value before the mapping\n  %s", settled.GOMEMLIMIT, float64(drop)/(1<<20), settled.M.Reason)
	if drop < mapped-8<<20 || drop > mapped+8<<20 {
		t.Errorf("GOMEMLIMIT dropped by %.1f MiB for a %d MiB mapping, want %d ± 8", float64(drop)/(1<<20), mapMiB, mapMiB)
	}
	if settled.GOMEMLIMIT < runtimeinfo.MinGOMEMLIMIT || settled.GOMEMLIMIT > static {
		t.Errorf("GOMEMLIMIT %d outside [MinGOMEMLIMIT, static %d]", settled.GOMEMLIMIT, static)
	}
	// munmap: the estimate falls slowly (weight 0.1 a tick), and
	// GOMEMLIMIT rises back in steps of 1%: within 8 MiB of the value
	// before (the tolerance of the drop) after about 20 ticks
	// (0.9^20 × 64 MiB = 7.8 MiB); the bound is 40.
	r = memAsk(c, "unmap")
	unmapped := r.Time
	for r.GOMEMLIMIT < base.GOMEMLIMIT-8<<20 && r.Time.Sub(unmapped) < 40*mc.interval+mc.slack {
		time.Sleep(mc.interval)
		r = memAsk(c, "?")
	}
	t.Logf("unmapped: GOMEMLIMIT %d %v later (%.1f MiB below the value before the mapping)", r.GOMEMLIMIT,
		r.Time.Sub(unmapped).Round(time.Millisecond), float64(base.GOMEMLIMIT-r.GOMEMLIMIT)/(1<<20))
	if r.GOMEMLIMIT < base.GOMEMLIMIT-8<<20 {
		t.Errorf("after munmap GOMEMLIMIT is still %d, more than 8 MiB below %d", r.GOMEMLIMIT, base.GOMEMLIMIT)
	}
}

// offHeapOff: with RIGHTSIZE_OFFHEAP=off GOMEMLIMIT stays static while
// the child maps 64 MiB.
func offHeapOff(t *testing.T, mc memCase) {
	const mapMiB = 64
	static := mc.static()
	c := mc.start(t, memChildMode, mc.env("RIGHTSIZE_OFFHEAP=off"))
	memReady(t, c, static)
	r := memAsk(c, fmt.Sprintf("map %d", mapMiB))
	mappedAt := r.Time
	// As long as the default case took to settle, and more.
	for r.Time.Sub(mappedAt) < 15*mc.interval {
		if r.GOMEMLIMIT != static {
			t.Fatalf("RIGHTSIZE_OFFHEAP=off: GOMEMLIMIT moved to %d, want the static %d\n  %s", r.GOMEMLIMIT, static, r.M.Reason)
		}
		time.Sleep(mc.interval / 2)
		r = memAsk(c, "?")
	}
	for _, d := range r.Changes {
		if d.Setting == runtimeinfo.GOMEMLIMIT {
			t.Errorf("RIGHTSIZE_OFFHEAP=off: the watcher changed GOMEMLIMIT: %+v", d)
		}
	}
	if r.GOMEMLIMIT != static || strings.Contains(r.M.Reason, "does not manage") {
		t.Errorf("RIGHTSIZE_OFFHEAP=off: GOMEMLIMIT %d, want %d: %s", r.GOMEMLIMIT, static, r.M.Reason)
	}
	t.Logf("RIGHTSIZE_OFFHEAP=off: GOMEMLIMIT %d %v after mapping %d MiB\n  %s", r.GOMEMLIMIT, r.Time.Sub(mappedAt).Round(time.Millisecond), mapMiB, r.M.Reason)
}

// testPressure: a child grows mapped memory (step MiB every period) until
// its handler hears a working-set begin, then frees it: exactly one begin
// (Active true, working set at or above 90% of the limit) and one end
// (Active false, below 85%), and nothing more over the following ticks.
func testPressure(t *testing.T, mc memCase, step int, period time.Duration) {
	c := mc.start(t, memChildPressure, mc.env())
	memReady(t, c, mc.static())
	r := memAsk(c, fmt.Sprintf("grow %d %v", step, period))
	grew := r.Time
	// Growing to 90% of the limit takes limit×0.9/step periods; the
	// signals come within a few ticks of that.
	max := time.Duration(float64(mc.limit)*0.9/float64(step<<20))*period + 20*mc.interval + mc.slack
	for len(r.Signals) < 2 && r.Time.Sub(grew) < max {
		time.Sleep(mc.interval / 2)
		r = memAsk(c, "?")
	}
	if len(r.Signals) < 2 {
		t.Fatalf("after %v of growth: signals %+v, want a begin and an end; mapped %d MiB (most %d)", r.Time.Sub(grew).Round(time.Millisecond), r.Signals, r.MappedMiB, r.GrownMiB)
	}
	end := r.Signals[1].At
	// No stream of signals: nothing more over ten more ticks (the child's
	// clock).
	for r.Time.Sub(end) < 10*mc.interval {
		time.Sleep(mc.interval)
		r = memAsk(c, "?")
	}
	for i, p := range r.Signals {
		t.Logf("signal %d: %s active=%v working set %.1f MiB of %d MiB (%.1f%%) at +%v", i, p.Cause, p.Active, float64(p.WorkingSet)/(1<<20),
			p.Limit>>20, 100*float64(p.WorkingSet)/float64(p.Limit), p.At.Sub(grew).Round(time.Millisecond))
	}
	t.Logf("grew to %d MiB mapped; now %d MiB; %d working-set begins counted by runtimeinfo.PressureSignals", r.GrownMiB, r.MappedMiB, r.Begins)
	if len(r.Signals) != 2 {
		t.Fatalf("%d signals, want exactly a begin and an end: %+v", len(r.Signals), r.Signals)
	}
	b, e := r.Signals[0], r.Signals[1]
	if b.Cause != runtimeinfo.PressureWorkingSet || !b.Active || e.Cause != runtimeinfo.PressureWorkingSet || e.Active {
		t.Errorf("signals %+v, want working-set begin then end", r.Signals)
	}
	if b.Limit != mc.limit || float64(b.WorkingSet) < 0.9*float64(mc.limit) {
		t.Errorf("begin: working set %d of limit %d, want at least 90%% of %d", b.WorkingSet, b.Limit, mc.limit)
	}
	if float64(e.WorkingSet) >= 0.85*float64(mc.limit) {
		t.Errorf("end: working set %d, want below 85%% of %d", e.WorkingSet, mc.limit)
	}
	if r.Begins != 1 || r.MappedMiB != 0 {
		t.Errorf("PressureSignals(working-set) = %d, want 1; still mapped %d MiB", r.Begins, r.MappedMiB)
	}
	// GOMEMLIMIT followed the memory up and down; it never left the
	// envelope.
	for _, d := range r.Changes {
		if d.Setting == runtimeinfo.GOMEMLIMIT && (d.Value < runtimeinfo.MinGOMEMLIMIT || d.Value > mc.static()) {
			t.Errorf("GOMEMLIMIT set to %d, outside [MinGOMEMLIMIT, %d]", d.Value, mc.static())
		}
	}
}

// memV1 is the v1 case: a memory cgroup (limit bytes) under this
// process's own, the child moved into it before its init runs.
func memV1(t *testing.T, limit int64) memCase {
	_, memOwn := v1dirs(t)
	return memCase{
		name: "v1", limit: limit, interval: 100 * time.Millisecond, slack: 300 * time.Millisecond,
		start: func(t *testing.T, mode string, env []string) *childProc {
			cg := mkcg(t, filepath.Join(memOwn, cgName()))
			wr(t, cg, "memory.limit_in_bytes", strconv.FormatInt(limit, 10))
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(append(os.Environ(), childEnv+"="+mode, waitEnv+"=1"), env...)
			c := startChildProc(t, "memory child", cmd)
			wr(t, cg, "cgroup.procs", strconv.Itoa(c.cmd.Process.Pid))
			c.release()
			return c
		},
	}
}

// TestMemoryOffHeapV1: the off-heap-aware GOMEMLIMIT on this host's v1
// memory controller (total_rss − the runtime's memory), 256 MiB limit.
func TestMemoryOffHeapV1(t *testing.T) {
	mc := memV1(t, 256<<20)
	qemu.Exclusive(t) // ticks are timed
	testOffHeap(t, mc)
}

// TestMemoryOffHeapShmemV1: shared anonymous memory (MAP_SHARED|MAP_ANON,
// and likewise tmpfs, /dev/shm, memfd) is shmem, which memory.stat counts
// as page cache (v1 total_cache/total_shmem, v2 file/shmem), not as
// total_rss/anon; without swap the kernel cannot reclaim it, so the
// estimate counts it, and GOMEMLIMIT follows it as it follows a private
// mapping.
func TestMemoryOffHeapShmemV1(t *testing.T) {
	mc := memV1(t, 256<<20)
	qemu.Exclusive(t)
	offHeapFollows(t, mc, "mapshared")
}

// TestMemoryPressureV1: one working-set begin and one end, on v1.
func TestMemoryPressureV1(t *testing.T) {
	mc := memV1(t, 256<<20)
	qemu.Exclusive(t)
	testPressure(t, mc, 4, 50*time.Millisecond)
}

// TestMemoryV2 boots a qemu guest (cgroup v2) that runs TestMemoryV2Guest.
func TestMemoryV2(t *testing.T) {
	if os.Getenv(memV2GuestEnv) != "" || os.Getenv(v2GuestEnv) != "" {
		t.Skip("inside a guest")
	}
	qemu.RunGuestTest(t, "github.com/rightsize/rightsize", "TestMemoryV2Guest", 90*time.Second, qemu.Config{
		CPUs:     2,
		MemoryMB: 1024,
		Env:      []string{memV2GuestEnv + "=1"},
		Timeout:  3 * time.Minute,
	})
}

// TestMemoryV2Guest is the guest's side: the same two on cgroup v2
// (memory.stat anon + kernel − the runtime's memory; the leaf's
// memory.max 256 MiB), with a 200 ms watch interval (emulation).
func TestMemoryV2Guest(t *testing.T) {
	if os.Getenv(memV2GuestEnv) == "" {
		t.Skip("runs inside the qemu guest that TestMemoryV2 boots")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the guest runs tests as root, this is not root")
	}
	ctrls := strings.Fields(v2Read(t, filepath.Join(v2GuestMount, "cgroup.subtree_control")))
	if !containsString(ctrls, "memory") {
		t.Fatalf("memory controller not enabled in the root's cgroup.subtree_control (%q)", ctrls)
	}
	const limit = 256 << 20
	mc := memCase{
		name: "v2", limit: limit, interval: 200 * time.Millisecond, slack: time.Second,
		start: func(t *testing.T, mode string, env []string) *childProc {
			top := mkcgV2(t, v2Top(), true)
			leaf := mkcgV2(t, filepath.Join(top, "leaf"), false)
			wr(t, leaf, "memory.max", strconv.Itoa(limit))
			// No swap in the guest; should it have some, none for the child.
			_ = os.WriteFile(filepath.Join(leaf, "memory.swap.max"), []byte("0"), 0o644)
			return startChildInV2(t, leaf, mode, env)
		},
	}
	for _, tc := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"OffHeap", func(t *testing.T) { testOffHeap(t, mc) }},
		{"Pressure", func(t *testing.T) { testPressure(t, mc, 4, 100*time.Millisecond) }},
	} {
		start := time.Now()
		t.Run(tc.name, tc.f)
		t.Logf("%s took %v", tc.name, time.Since(start).Round(time.Millisecond))
	}
}
