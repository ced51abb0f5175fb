package runtimeinfo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rightsize/rightsize/procfs"
)

// Setting names.
const (
	GOMAXPROCS = "GOMAXPROCS"
	GOMEMLIMIT = "GOMEMLIMIT"
)

// Decision is what rightsize did about one runtime setting, and why.
type Decision struct {
	// Setting is GOMAXPROCS or GOMEMLIMIT.
	Setting string `json:"setting"`
	// Value is the setting in force after the decision; Previous before.
	// GOMEMLIMIT in bytes (math.MaxInt64: no limit).
	Value    int64 `json:"value"`
	Previous int64 `json:"previous"`
	// Want is what the policy computed; 0 when nothing was computed (no
	// limit, environment variable set, disabled).
	Want int64 `json:"want,omitempty"`
	// Changed is set when rightsize changed the setting (including handing
	// GOMAXPROCS back to the Go runtime's default).
	Changed bool `json:"changed"`
	// Source is the limit the value was derived from.
	Source Source `json:"source"`
	// Reason says why, in words.
	Reason string `json:"reason"`
	// At is when the decision was made.
	At time.Time `json:"at"`
}

// Result holds the decisions of one Tune, and the snapshot (without usage
// statistics) they were made from.
type Result struct {
	GOMAXPROCS Decision `json:"gomaxprocs"`
	GOMEMLIMIT Decision `json:"gomemlimit"`
	Snapshot   Snapshot `json:"snapshot"`
}

// owner records, for the whole process, what rightsize last set, so that a
// value the program set itself afterwards is recognised and left alone.
var owner struct {
	mu sync.Mutex
	// procs is the GOMAXPROCS rightsize last set with runtime.GOMAXPROCS;
	// 0 when it set none or handed it back to the runtime.
	procs int
	// procsOff: the program set its own GOMAXPROCS after rightsize.
	procsOff bool
	// mem is the GOMEMLIMIT rightsize last set; 0 when none. memOrig is
	// the value before rightsize first set it.
	mem     int64
	memOrig int64
	memOff  bool
}

// limits is what the decisions are computed from.
type limits struct {
	cpu     *CPU
	leaf    CPUQuota
	hasLeaf bool
	cpus    Count
	mem     *Bytes
	high    *Bytes
	host    *Bytes
	// cpuErr, memErr: the limit could not be read; the setting is left
	// as it is rather than treated as unlimited.
	cpuErr, memErr error
}

func limitsFromSnapshot(r *reader, s *Snapshot) limits {
	l := limits{cpu: s.CPULimit, cpus: s.CPUs, mem: s.MemoryLimit, high: s.MemoryHigh, host: s.HostMemory, cpuErr: s.cpuErr, memErr: s.memErr}
	if l.cpuErr == nil && r.openErr != nil {
		l.cpuErr = r.openErr
	}
	if l.memErr == nil && r.openErr != nil {
		l.memErr = r.openErr
	}
	l.leaf, l.hasLeaf = r.leafCPU()
	return l
}

// Tune reads the effective limits once and sets GOMAXPROCS and GOMEMLIMIT
// by the configured policies. It returns every decision as data and an
// undo that restores the previous state: GOMAXPROCS goes back to the Go
// runtime's automatic default (runtime.SetDefaultGOMAXPROCS on Go 1.25+)
// when that is what was in force, to the previous number otherwise;
// GOMEMLIMIT to its previous value. Undo leaves a setting alone that was
// changed by someone else since.
//
// Tune leaves a setting alone when its environment variable (GOMAXPROCS,
// GOMEMLIMIT) is set, when no limit exists (it never sets GOMEMLIMIT from
// host memory alone), and when the program set its own value after
// rightsize did. It never calls runtime.GOMAXPROCS(n) with the value in
// force (on Go 1.25+ that would switch off the runtime's own updates), and
// when its value equals the runtime's container-aware default it leaves the
// runtime in charge.
//
// The error lists what could not be read; the decisions are made from the
// rest. Outside Linux it is cgroup.ErrNotSupported and nothing is changed.
func Tune(opts ...Option) (Result, func(), error) {
	cfg := newConfig(opts)
	r := newReader(&cfg)
	defer r.close()
	var errs []error
	snap := r.snapshot(&errs, false)
	l := limitsFromSnapshot(r, &snap)
	t := &tuner{cfg: &cfg, r: r}
	owner.mu.Lock()
	res := Result{Snapshot: snap}
	res.GOMAXPROCS, t.procsPrevDefault, t.procsPrevDefaultN = t.decideProcs(&l)
	res.GOMEMLIMIT = t.decideMem(&l)
	owner.mu.Unlock()
	t.report(res.GOMAXPROCS)
	t.report(res.GOMEMLIMIT)
	var once sync.Once
	undo := func() { once.Do(func() { t.undo(res.GOMAXPROCS, res.GOMEMLIMIT) }) }
	return res, undo, errors.Join(errs...)
}

type tuner struct {
	cfg *config
	r   *reader

	procsPrevDefault  bool
	procsPrevDefaultN int
}

func (t *tuner) report(d Decision) {
	if !d.Changed {
		return
	}
	if l := t.cfg.log(); l != nil {
		l.LogAttrs(context.Background(), slog.LevelInfo, "rightsize: "+d.Setting+" set",
			slog.Int64("value", d.Value), slog.Int64("previous", d.Previous),
			slog.String("source", d.Source.String()), slog.String("reason", d.Reason))
	}
	if t.cfg.notify != nil {
		t.cfg.notify(d)
	}
}

// validGOMAXPROCS reports whether the runtime accepts v (a positive
// decimal); the runtime ignores other values.
func validGOMAXPROCS(v string) bool {
	n, err := strconv.ParseInt(v, 10, 32)
	return err == nil && n > 0
}

// validGOMEMLIMIT reports whether the runtime accepts v: "off" or a byte
// count with an optional B, KiB, MiB, GiB or TiB suffix.
func validGOMEMLIMIT(v string) bool {
	if v == "off" {
		return true
	}
	num := v
	for _, suf := range []string{"KiB", "MiB", "GiB", "TiB", "B"} {
		if strings.HasSuffix(v, suf) {
			num = strings.TrimSuffix(v, suf)
			break
		}
	}
	if num == "" {
		return false
	}
	for i := 0; i < len(num); i++ {
		if num[i] < '0' || num[i] > '9' {
			return false
		}
	}
	return true
}

func fmtCPUs(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// decideProcs decides and applies GOMAXPROCS. owner.mu is held. It also
// reports whether the value in force before was the runtime's default.
func (t *tuner) decideProcs(l *limits) (d Decision, prevDefault bool, prevDefaultN int) {
	cur := runtime.GOMAXPROCS(0)
	d = Decision{Setting: GOMAXPROCS, Value: int64(cur), Previous: int64(cur), At: time.Now()}
	cpus := int(l.cpus.N)
	in := ProcsInput{CPUs: cpus, Leaf: l.leaf, HasLeaf: l.hasLeaf, Mode: t.r.mode}
	if l.cpu != nil {
		in.Limit, in.HasLimit = CPUQuota{l.cpu.Quota, l.cpu.Period}, true
	}
	def := RuntimeDefaultProcs(in)
	if !t.cfg.doProcs {
		d.Reason = "disabled by option"
		return d, false, 0
	}
	if v, ok := procfs.Getenv(t.r.env, "GOMAXPROCS"); ok && validGOMAXPROCS(v) {
		d.Source = t.r.envSource("GOMAXPROCS", v)
		d.Source.Kind = SourceEnv
		d.Reason = "the GOMAXPROCS environment variable is set; left alone"
		return d, false, 0
	}
	if owner.procsOff || (owner.procs != 0 && cur != owner.procs) {
		if !owner.procsOff {
			d.Reason = fmt.Sprintf("the program set GOMAXPROCS to %d after rightsize set %d; left alone from now on", cur, owner.procs)
			d.Changed = false
			owner.procsOff = true
			t.logOnce(d.Reason)
		} else {
			d.Reason = "the program set its own GOMAXPROCS after rightsize; left alone"
		}
		return d, false, 0
	}
	prevDefault = owner.procs == 0 && cur == def
	if l.cpuErr != nil && !in.HasLimit {
		d.Reason = "cannot read the CPU limit (" + l.cpuErr.Error() + "); left as it is"
		return d, prevDefault, def
	}
	if !in.HasLimit {
		d.Source = Source{Kind: SourceNone}
		if owner.procs == 0 {
			d.Reason = "no CPU limit; left alone"
			return d, prevDefault, def
		}
		// rightsize had set a value and the limit is gone.
		setDefaultGOMAXPROCS(def)
		owner.procs = 0
		d.Value, d.Changed = int64(runtime.GOMAXPROCS(0)), true
		d.Reason = "CPU limit removed; handed back to the Go runtime's default"
		return d, prevDefault, def
	}
	want := Procs(t.cfg.policy, t.cfg.minProcs, in)
	d.Want = int64(want)
	d.Source = l.cpu.Source
	how := fmt.Sprintf("limit %s CPUs, policy %s, minimum %d, %d CPUs available (%s)",
		fmtCPUs(in.Limit.CPUs()), t.cfg.policy, t.cfg.minProcs, cpus, l.cpus.Source.String())
	if t.r.mode.Updates && want == def {
		if (owner.procs != 0 || cur != def) && canHandBack {
			setDefaultGOMAXPROCS(def)
			owner.procs = 0
			d.Value, d.Changed = int64(runtime.GOMAXPROCS(0)), true
			d.Reason = how + fmt.Sprintf(": %d equals the Go runtime's own default; handed back to the runtime (%s)", want, t.r.mode.Reason)
			return d, prevDefault, def
		}
		d.Reason = how + fmt.Sprintf(": %d equals the Go runtime's own default; left to the runtime (%s)", want, t.r.mode.Reason)
		return d, prevDefault, def
	}
	if want == cur {
		d.Reason = how + fmt.Sprintf(": %d already in force", want)
		return d, prevDefault, def
	}
	runtime.GOMAXPROCS(want)
	owner.procs = want
	d.Value, d.Changed = int64(want), true
	d.Reason = how
	if t.r.mode.ContainerAware {
		d.Reason += fmt.Sprintf("; the Go runtime's default would be %d", def)
	}
	return d, prevDefault, def
}

func (t *tuner) logOnce(msg string) {
	if l := t.cfg.log(); l != nil {
		l.LogAttrs(context.Background(), slog.LevelInfo, "rightsize: "+msg)
	}
}

// effectiveMemory is min(limit, memory.high, host memory), with its
// source; ok is false when neither a limit nor memory.high exists.
func effectiveMemory(l *limits) (Bytes, bool) {
	var best Bytes
	ok := false
	for _, b := range []*Bytes{l.mem, l.high} {
		if b != nil && (!ok || b.Bytes < best.Bytes) {
			best, ok = *b, true
		}
	}
	if ok && l.host != nil && l.host.Bytes < best.Bytes {
		best = *l.host
	}
	return best, ok
}

func (t *tuner) decideMem(l *limits) Decision {
	cur := debug.SetMemoryLimit(-1)
	d := Decision{Setting: GOMEMLIMIT, Value: cur, Previous: cur, At: time.Now()}
	if !t.cfg.doMem {
		d.Reason = "disabled by option"
		return d
	}
	if v, ok := procfs.Getenv(t.r.env, "GOMEMLIMIT"); ok && v != "" {
		d.Source = t.r.envSource("GOMEMLIMIT", v)
		if validGOMEMLIMIT(v) {
			d.Reason = "the GOMEMLIMIT environment variable is set; left alone"
		} else {
			d.Reason = "the GOMEMLIMIT environment variable is set (but malformed); left alone"
		}
		return d
	}
	if owner.memOff || (owner.mem != 0 && cur != owner.mem) {
		if !owner.memOff {
			d.Reason = fmt.Sprintf("the program set GOMEMLIMIT to %d after rightsize set %d; left alone from now on", cur, owner.mem)
			owner.memOff = true
			t.logOnce(d.Reason)
		} else {
			d.Reason = "the program set its own GOMEMLIMIT after rightsize; left alone"
		}
		return d
	}
	eff, ok := effectiveMemory(l)
	if !ok && l.memErr != nil {
		d.Reason = "cannot read the memory limit (" + l.memErr.Error() + "); left as it is"
		return d
	}
	if !ok {
		d.Source = Source{Kind: SourceNone}
		if owner.mem == 0 {
			d.Reason = "no memory limit; left alone"
			return d
		}
		debug.SetMemoryLimit(owner.memOrig)
		d.Value, d.Changed = owner.memOrig, true
		owner.mem = 0
		d.Reason = "memory limit removed; restored the value in force before rightsize"
		return d
	}
	want := MemoryLimit(eff.Bytes, t.cfg.memRatio, t.cfg.memReserve)
	d.Want = want
	d.Source = eff.Source
	var how string
	if t.cfg.memReserve > 0 && t.cfg.memReserve < eff.Bytes {
		how = fmt.Sprintf("limit %d bytes minus reserve %d", eff.Bytes, t.cfg.memReserve)
	} else {
		how = fmt.Sprintf("%g × limit %d bytes", t.cfg.memRatio, eff.Bytes)
		if t.cfg.memReserve > 0 {
			how += fmt.Sprintf(" (reserve %d not below the limit)", t.cfg.memReserve)
		}
	}
	if l.host != nil && eff.Source == l.host.Source {
		how += " (host memory is below the cgroup limit)"
	}
	if want == cur {
		d.Reason = how + ": already in force"
		return d
	}
	if owner.mem == 0 {
		owner.memOrig = cur
	}
	debug.SetMemoryLimit(want)
	owner.mem = want
	d.Value, d.Changed = want, true
	d.Reason = how
	return d
}

// undo restores what Tune changed, where it is still in force.
func (t *tuner) undo(p, m Decision) {
	owner.mu.Lock()
	defer owner.mu.Unlock()
	if p.Changed && runtime.GOMAXPROCS(0) == int(p.Value) && !owner.procsOff {
		if t.procsPrevDefault {
			setDefaultGOMAXPROCS(t.procsPrevDefaultN)
			owner.procs = 0
		} else if int(p.Previous) != int(p.Value) {
			runtime.GOMAXPROCS(int(p.Previous))
			owner.procs = int(p.Previous)
		}
	}
	if m.Changed && debug.SetMemoryLimit(-1) == m.Value && !owner.memOff {
		debug.SetMemoryLimit(m.Previous)
		if m.Previous == owner.memOrig || m.Previous == math.MaxInt64 {
			owner.mem = 0
		} else {
			owner.mem = m.Previous
		}
	}
}
