package runtimeinfo

import (
	"math"
	"strconv"
	"time"

	"github.com/rightsize/rightsize/procfs"
)

// The one decision: from a Snapshot, the options and what the runtime has
// now, what GOMAXPROCS and GOMEMLIMIT should be, and why. Tune, the
// watcher, Start, Recommend and the command all call decide; every reason
// string is written here and nowhere else. decide is pure: it reads no file
// and changes nothing; apply carries out its plan.

// Setting names a runtime setting.
type Setting string

const (
	GOMAXPROCS Setting = "GOMAXPROCS"
	GOMEMLIMIT Setting = "GOMEMLIMIT"
)

// Decision is what rightsize decided about one runtime setting, and why.
type Decision struct {
	Setting Setting
	// Value is the setting in force after the decision; Previous before.
	// GOMEMLIMIT in bytes, math.MaxInt64 meaning no limit.
	Value, Previous int64
	// Want is what the policy computes from the snapshot (HasWant false
	// when it computes nothing: no memory limit, a limit that could not be
	// read). It is computed even where the setting is left alone (an
	// environment variable is set, the setting is disabled), so a dry run
	// shows what the policy gives.
	HasWant bool
	Want    int64
	// Changed is set when rightsize changed the setting (including handing
	// GOMAXPROCS back to the Go runtime's default).
	Changed bool
	// Source is the limit the value derives from.
	Source Source
	// Reason says why, in words.
	Reason string
	// At is when the decision was made.
	At time.Time
}

// action is what apply does for one setting.
type action uint8

const (
	leave    action = iota // change nothing
	set                    // set value
	handBack               // GOMAXPROCS: back to the runtime's default
	restore                // GOMEMLIMIT: back to the value before rightsize
)

// settingPlan is decide's answer for one setting.
type settingPlan struct {
	d      Decision // Setting, Previous, Want, Source, Reason filled
	action action
	value  int64 // for set
	// programSet: the program set its own value after rightsize; from now
	// on the setting is the program's.
	programSet bool
	// warn: the reason is a warning (a value outside the safety envelope,
	// a limit that cannot be read), logged as such.
	warn bool
	// offHeap: the value leaves room for memory the runtime does not
	// manage (a change that only follows that estimate is logged at debug
	// level).
	offHeap bool
}

type plan struct{ procs, mem settingPlan }

// acts reports whether carrying out the plan changes or says anything:
// a plan that does not is the same with or without its reasons.
func (p *plan) acts() bool {
	return p.procs.action != leave || p.procs.warn || p.procs.programSet ||
		p.mem.action != leave || p.mem.warn || p.mem.programSet
}

// runtimeState is what decide needs to know besides the snapshot: the
// values in force and what rightsize set before (owner).
type runtimeState struct {
	procs    int64 // runtime.GOMAXPROCS(0)
	memlimit int64 // debug.SetMemoryLimit(-1)
	// What rightsize last set (0: nothing, or handed back), and whether
	// the program has taken the setting over.
	ownerProcs int64
	procsOff   bool
	ownerMem   int64
	memOrig    int64
	memOff     bool
	canHand    bool // runtime.SetDefaultGOMAXPROCS exists
	now        time.Time
	// offHeap is the watcher's smoothed estimate of the memory charged to
	// the cgroup that the Go runtime does not manage (offheap.go); used
	// when hasOffHeap and the option is on.
	hasOffHeap bool
	offHeap    int64
	// quiet: decide fills no Reason. The watcher decides quietly first
	// and again with reasons only when the plan acts or warns, so that a
	// tick that changes nothing builds no strings and allocates nothing.
	quiet bool
}

func decide(c *config, s *Snapshot, env []string, st runtimeState) plan {
	return plan{procs: decideProcs(c, s, env, st), mem: decideMem(c, s, env, st)}
}

func decideProcs(c *config, s *Snapshot, env []string, st runtimeState) settingPlan {
	p := settingPlan{d: Decision{Setting: GOMAXPROCS, Value: st.procs, Previous: st.procs, At: st.now}}
	d := &p.d
	def := runtimeDefault(s)

	// What the policy gives, with its reason.
	var how string
	switch {
	case s.cpuErr && !s.HasCPULimit:
		if !st.quiet {
			how = "cannot read the CPU limit"
		}
	case !s.HasCPULimit:
		d.Want, d.HasWant = procsFor(c, s), true
		d.Source = s.CPUs.Source
		if !st.quiet {
			how = "no CPU limit: " + itoa(s.CPUs.N) + " CPUs usable (" + s.CPUs.Source.String() + ")"
		}
	default:
		d.Want, d.HasWant = procsFor(c, s), true
		d.Source = s.CPULimit.Source
		if !st.quiet {
			how = "limit " + fmtCPUs(s.CPULimit.CPUs) + " CPUs (" + s.CPULimit.Source.String() + "), policy " + string(c.policy) +
				", minimum " + itoa(c.minProcs) + ", " + itoa(s.CPUs.N) + " CPUs usable (" + s.CPUs.Source.String() + "): " + itoa(d.Want)
		}
		if !st.quiet && s.Mode.ContainerAware && def != d.Want {
			how += "; the Go runtime's default would be " + itoa(def)
		}
	}

	// Whether and how to apply it.
	v, envSet := procfs.Getenv(env, "GOMAXPROCS")
	switch {
	case !c.doProcs:
		if !st.quiet {
			d.Reason = how + "; disabled by option: left alone"
		}
	case envSet && validGOMAXPROCS(v):
		if !st.quiet {
			d.Reason = how + "; GOMAXPROCS=" + v + " is set in the environment: left alone"
		}
	case st.procsOff:
		if !st.quiet {
			d.Reason = how + "; the program set its own GOMAXPROCS after rightsize: left alone"
		}
	case st.ownerProcs != 0 && st.procs != st.ownerProcs:
		p.programSet = true
		if !st.quiet {
			d.Reason = how + "; the program set GOMAXPROCS to " + itoa(st.procs) + " after rightsize set " + itoa(st.ownerProcs) + ": left alone from now on"
		}
	case s.cpuErr && !s.HasCPULimit:
		p.warn = true
		if !st.quiet {
			d.Reason = how + ": left as it is"
		}
	case !s.HasCPULimit && st.ownerProcs == 0:
		if !st.quiet {
			d.Reason = how + "; left to the Go runtime"
		}
	case !s.HasCPULimit:
		p.action, p.value = handBack, def
		if !st.quiet {
			d.Reason = how + "; the CPU limit is gone: handed back to the Go runtime's default"
		}
	case s.Mode.Updates && d.Want == def && (st.ownerProcs != 0 || st.procs != def) && st.canHand:
		p.action, p.value = handBack, def
		if !st.quiet {
			d.Reason = how + "; equals the Go runtime's own default: handed back to the runtime (" + s.Mode.Reason + ")"
		}
	case s.Mode.Updates && d.Want == def:
		if !st.quiet {
			d.Reason = how + "; equals the Go runtime's own default: left to the runtime (" + s.Mode.Reason + ")"
		}
	case d.Want == st.procs:
		if !st.quiet {
			d.Reason = how + "; already in force"
		}
	default:
		p.action, p.value = set, d.Want
		if !st.quiet {
			d.Reason = how
		}
	}
	return p
}

func decideMem(c *config, s *Snapshot, env []string, st runtimeState) settingPlan {
	p := settingPlan{d: Decision{Setting: GOMEMLIMIT, Value: st.memlimit, Previous: st.memlimit, At: st.now}}
	d := &p.d

	// The effective limit: the smallest of the limit, memory.high and host
	// memory (the last only caps a limit, never sets one).
	var eff Bytes
	ok := false
	if s.HasMemoryLimit {
		eff, ok = s.MemoryLimit, true
	}
	if s.HasMemoryHigh && (!ok || s.MemoryHigh.Bytes < eff.Bytes) {
		eff, ok = s.MemoryHigh, true
	}
	capped := false
	if ok && s.HasHostMemory && s.HostMemory.Bytes < eff.Bytes {
		eff, capped = s.HostMemory, true
	}

	var how string
	belowFloor := false
	switch {
	case !ok && s.memErr:
		if !st.quiet {
			how = "cannot read the memory limit"
		}
	case !ok:
		if !st.quiet {
			how = "no memory limit"
		}
	default:
		d.Want, d.HasWant = memFor(c, eff.Bytes), true
		d.Source = eff.Source
		if c.memReserve > 0 {
			if !st.quiet {
				how = "limit " + fmtBytes(eff.Bytes) + " (" + eff.Source.String() + ") minus reserve " + fmtBytes(c.memReserve)
			}
		} else {
			if !st.quiet {
				how = strconv.FormatFloat(c.memRatio, 'f', -1, 64) + " × limit " + fmtBytes(eff.Bytes) + " (" + eff.Source.String() + ")"
			}
		}
		if capped {
			if !st.quiet {
				how += " (host memory is below the cgroup limit)"
			}
		}
		if d.Want >= MinGOMEMLIMIT && c.offHeap && st.hasOffHeap && st.offHeap >= offHeapStep(d.Want) {
			// Leave room for the memory the runtime does not manage:
			// never below the floor, never above the static value.
			if !st.quiet {
				how += ": " + fmtBytes(d.Want) + ", minus " + fmtBytes(st.offHeap) +
					" charged to the cgroup that the Go runtime does not manage (cgo, mappings, shared memory, child processes, kernel memory)"
			}
			d.Want = max(d.Want-st.offHeap, MinGOMEMLIMIT)
			p.offHeap = true
		}
		if !st.quiet {
			how += ": " + fmtBytes(d.Want)
		}
		if d.Want < MinGOMEMLIMIT {
			// Outside the safety envelope: neither set nor offered as a
			// Want; the reason says what was computed.
			belowFloor = true
			d.Want, d.HasWant = 0, false
		}
	}

	v, envSet := procfs.Getenv(env, "GOMEMLIMIT")
	switch {
	case !c.doMem:
		if !st.quiet {
			d.Reason = how + "; disabled by option: left alone"
		}
	case envSet && v != "":
		if !st.quiet {
			d.Reason = how + "; GOMEMLIMIT=" + v + " is set in the environment: left alone"
		}
	case st.memOff:
		if !st.quiet {
			d.Reason = how + "; the program set its own GOMEMLIMIT after rightsize: left alone"
		}
	case st.ownerMem != 0 && st.memlimit != st.ownerMem:
		p.programSet = true
		if !st.quiet {
			d.Reason = how + "; the program set GOMEMLIMIT to " + itoa(st.memlimit) + " after rightsize set " + itoa(st.ownerMem) + ": left alone from now on"
		}
	case !ok && s.memErr:
		p.warn = true
		if !st.quiet {
			d.Reason = how + ": left as it is"
		}
	case !ok && st.ownerMem == 0:
		if !st.quiet {
			d.Reason = how + ": left alone"
		}
	case !ok:
		p.action, p.value = restore, st.memOrig
		if !st.quiet {
			d.Reason = how + ": the limit is gone; restored the value in force before rightsize"
		}
	case belowFloor && st.ownerMem != 0 && st.ownerMem == st.memlimit && st.memlimit > max(eff.Bytes, MinGOMEMLIMIT):
		// rightsize's own value, from a larger limit, is now above the
		// limit: keeping it would leave the envelope. The floor is the
		// value nearest the limit the envelope allows.
		p.warn = true
		p.action, p.value = set, MinGOMEMLIMIT
		d.Want, d.HasWant = MinGOMEMLIMIT, true
		if !st.quiet {
			d.Reason = how + " is below the floor of " + fmtBytes(MinGOMEMLIMIT) + " (runtimeinfo.MinGOMEMLIMIT): set to the floor, rightsize's previous " + fmtLimit(st.memlimit) + " being above the limit"
		}
	case belowFloor:
		p.warn = true
		if !st.quiet {
			d.Reason = how + " is below the floor of " + fmtBytes(MinGOMEMLIMIT) + " (runtimeinfo.MinGOMEMLIMIT): not applied, " + fmtLimit(st.memlimit) + " kept"
		}
	case d.Want == st.memlimit:
		if !st.quiet {
			d.Reason = how + "; already in force"
		}
	case p.offHeap && st.ownerMem == st.memlimit && absDiff(d.Want, st.memlimit) < offHeapStep(d.Want):
		// The estimate moves a little at every tick; GOMEMLIMIT follows
		// it in steps, not in jitter.
		if !st.quiet {
			d.Reason = how + "; within " + fmtBytes(offHeapStep(d.Want)) + " of the value in force: left as it is"
		}
	default:
		p.action, p.value = set, d.Want
		if !st.quiet {
			d.Reason = how
		}
	}
	return p
}

// offHeapStep is the smallest change of GOMEMLIMIT the off-heap estimate
// makes: 1% of the value, at least 1 MiB.
func offHeapStep(v int64) int64 { return max(v/100, 1<<20) }

// itoa formats the reasons' counts (strconv rather than fmt: the reasons
// are built on the blank import's init path, and fmt is the costliest part
// of it when cold).
func itoa[T int | int64](n T) string { return strconv.FormatInt(int64(n), 10) }

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}

// validGOMAXPROCS reports whether the runtime accepts v (a positive
// decimal); the runtime ignores other values.
func validGOMAXPROCS(v string) bool {
	n, err := strconv.ParseInt(v, 10, 32)
	return err == nil && n > 0
}

// fmtBytes renders a byte count exactly, with a binary unit when it is a
// whole number of them: "268435456 (256 MiB)".
func fmtBytes(n int64) string {
	s := strconv.FormatInt(n, 10)
	for _, u := range [...]struct {
		shift uint
		name  string
	}{{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift {
			v := float64(n) / float64(int64(1)<<u.shift)
			return s + " bytes (" + strconv.FormatFloat(v, 'f', 1, 64) + " " + u.name + ")"
		}
	}
	return s + " bytes"
}

func fmtLimit(n int64) string {
	if n == math.MaxInt64 {
		return "no limit"
	}
	return fmtBytes(n)
}
