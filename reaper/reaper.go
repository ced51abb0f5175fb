package reaper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Environment variable. The operator's switch: it wins over the options,
// wherever Start is called from.
const (
	// EnvReaper selects the mode: EnvOff, EnvOn or EnvAll. Unset or
	// empty, the options decide; another value is ignored (the options
	// decide) and said in Reason.
	EnvReaper = "RIGHTSIZE_REAPER"

	// EnvOff ("off"; also "0", "false", "no", "disable", "disabled"):
	// no reaper.
	EnvOff = "off"
	// EnvOn ("on"; also "1", "true", "yes", "enable", "enabled"): reap
	// orphans only (ModeOrphans), even where WithReapAll(true) was given.
	EnvOn = "on"
	// EnvAll ("all"): reap every zombie child (ModeAll), with the os/exec
	// trade-off described in the package documentation.
	EnvAll = "all"
)

// Defaults. They live here and nowhere else.
const (
	// DefaultInterval is the safety tick: a scan for zombies this often
	// even when no SIGCHLD arrived (a signal.Reset(SIGCHLD) elsewhere in
	// the program, a SIGCHLD coalesced with one that came during a scan).
	DefaultInterval = time.Second
	// MinInterval is the shortest tick; a shorter positive one is raised
	// to it.
	MinInterval = 10 * time.Millisecond
	// RecentExits is how many reaped processes Stats remembers.
	RecentExits = 16
)

// Mode says which zombie children a reaper reaps.
type Mode int

const (
	// ModeOff: none; the reaper does nothing.
	ModeOff Mode = iota
	// ModeOrphans: the zombie children this process holds no pidfd for.
	// Since Go 1.23 os.StartProcess (and so os/exec) holds a pidfd for
	// every child it starts until Wait, so its children are left to
	// their Wait; what is reaped are the orphans PID 1 adopted and
	// children whose Process was released. It needs pidfds in the kernel
	// and Go 1.23 or later; without them a reaper in this mode does
	// nothing (Reason says why).
	ModeOrphans
	// ModeAll: every zombie child, by PID. os/exec's Wait for a child
	// that exits between a scan and the Wait fails with ECHILD ("wait:
	// no child processes"), and its exit status is lost.
	ModeAll
)

func (m Mode) String() string {
	switch m {
	case ModeOff:
		return "off"
	case ModeOrphans:
		return "orphans"
	case ModeAll:
		return "all"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ErrInvalidOption is wrapped by Start's error for an option whose value
// cannot be used.
var ErrInvalidOption = errors.New("reaper: invalid option")

// Option configures Start.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	interval  time.Duration
	all       bool
	subreaper bool
	env       []string
	envSet    bool
	logger    *slog.Logger
	err       error
}

func newConfig(opts []Option) (config, error) {
	c := config{interval: DefaultInterval}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c, c.err
}

// WithInterval sets the safety tick (default DefaultInterval). 0 turns it
// off: only SIGCHLD starts a scan. A negative interval is invalid; a
// positive one below MinInterval is raised to it.
func WithInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		switch {
		case d < 0:
			c.err = fmt.Errorf("%w: interval %v is negative", ErrInvalidOption, d)
		case d > 0 && d < MinInterval:
			c.interval = MinInterval
		default:
			c.interval = d
		}
	})
}

// WithReapAll(true) selects ModeAll: reap every zombie child, also where
// os/exec's children cannot be told apart (Go before 1.23, a kernel
// without pidfds). See the package documentation for what it costs
// os/exec. RIGHTSIZE_REAPER=on overrides it.
func WithReapAll(all bool) Option { return optionFunc(func(c *config) { c.all = all }) }

// WithSubreaper(true) lets a process that is not PID 1 reap too: Start
// makes it a child subreaper (prctl(2) PR_SET_CHILD_SUBREAPER), so that
// orphans among its descendants are re-parented to it rather than to PID
// 1, and reaps them. Stop unsets it. For supervisors, and for tests.
func WithSubreaper(on bool) Option { return optionFunc(func(c *config) { c.subreaper = on }) }

// WithEnviron reads RIGHTSIZE_REAPER from env ("KEY=value" entries)
// instead of the process environment; an empty env means the variable is
// unset.
func WithEnviron(env []string) Option {
	return optionFunc(func(c *config) { c.env, c.envSet = env, true })
}

// WithLogger logs to l: one line when the reaper starts or declines, one
// (debug level) per reaped process, and scan errors. By default nothing is
// logged.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

// lookupEnv returns RIGHTSIZE_REAPER.
func (c *config) lookupEnv() string {
	if !c.envSet {
		return os.Getenv(EnvReaper)
	}
	v := ""
	for _, kv := range c.env {
		if rest, ok := strings.CutPrefix(kv, EnvReaper+"="); ok {
			v = rest // the last one wins, as in os/exec
		}
	}
	return v
}

// mode returns the mode the options and the environment ask for, and a
// note on an unusable environment value.
func (c *config) mode() (Mode, string, string) {
	v := c.lookupEnv()
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
	case "off", "0", "false", "no", "disable", "disabled":
		return ModeOff, EnvReaper + "=" + v, ""
	case "on", "1", "true", "yes", "enable", "enabled":
		return ModeOrphans, EnvReaper + "=" + v, ""
	case "all":
		return ModeAll, EnvReaper + "=" + v, ""
	default:
		note := fmt.Sprintf("%s=%q ignored: want off, on or all", EnvReaper, v)
		if c.all {
			return ModeAll, "WithReapAll", note
		}
		return ModeOrphans, "", note
	}
	if c.all {
		return ModeAll, "WithReapAll", ""
	}
	return ModeOrphans, "", ""
}

// Exit is one reaped process.
type Exit struct {
	PID int
	// Code is the exit status, -1 when a signal ended the process.
	Code int
	// Signal is the number of the signal that ended it, 0 when it
	// exited.
	Signal int
	// Time is when it was reaped.
	Time time.Time
}

// Stats is what a reaper did.
type Stats struct {
	Active bool
	Mode   Mode
	// Reason says why the reaper acts, or why it does nothing.
	Reason string
	// Reaped counts the processes reaped.
	Reaped uint64
	// Left counts the zombie children seen and left to their owner (a
	// pidfd held: os/exec will Wait for them), once per scan that saw
	// them.
	Left uint64
	// Scans counts the scans, Errors the scans that failed; LastError
	// is the last failure.
	Scans, Errors uint64
	LastError     string
	// Recent are the last RecentExits reaped processes, oldest first.
	Recent []Exit
}

// Reaper reaps zombie children. Its methods are safe for concurrent use,
// and on a nil *Reaper they do nothing.
type Reaper struct {
	mode   Mode
	reason string
	log    *slog.Logger

	reaped atomic.Uint64

	mu        sync.Mutex // held by a scan
	left      uint64
	scans     uint64
	errs      uint64
	lastError string
	recent    [RecentExits]Exit
	next      int // index in recent of the next exit
	n         int // exits in recent

	stopOnce sync.Once
	stopped  atomic.Bool
	stop     chan struct{}
	done     chan struct{}
	sys      sysState
}

// Active reports whether the reaper reaps: it was started where it acts
// and has not been stopped.
func (r *Reaper) Active() bool { return r != nil && r.mode != ModeOff && !r.stopped.Load() }

// Mode returns the reaper's mode; ModeOff for one that does nothing.
func (r *Reaper) Mode() Mode {
	if r == nil {
		return ModeOff
	}
	return r.mode
}

// Reason says why the reaper acts, or why it does nothing.
func (r *Reaper) Reason() string {
	if r == nil {
		return "no reaper"
	}
	return r.reason
}

// Reaped returns how many processes the reaper has reaped.
func (r *Reaper) Reaped() uint64 {
	if r == nil {
		return 0
	}
	return r.reaped.Load()
}

// Stats returns what the reaper did.
func (r *Reaper) Stats() Stats {
	if r == nil {
		return Stats{Reason: "no reaper"}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Stats{Active: r.Active(), Mode: r.mode, Reason: r.reason, Reaped: r.reaped.Load(),
		Left: r.left, Scans: r.scans, Errors: r.errs, LastError: r.lastError}
	for i := 0; i < r.n; i++ {
		s.Recent = append(s.Recent, r.recent[(r.next-r.n+i+RecentExits)%RecentExits])
	}
	return s
}

// record notes a reaped process; r.mu is held.
func (r *Reaper) record(e Exit) {
	r.recent[r.next] = e
	r.next = (r.next + 1) % RecentExits
	if r.n < RecentExits {
		r.n++
	}
	r.reaped.Add(1)
	if r.log != nil {
		r.log.Debug("rightsize: reaped a zombie child", "pid", e.PID, "code", e.Code, "signal", e.Signal)
	}
}

// fail notes a failed scan; r.mu is held.
func (r *Reaper) fail(err error) {
	r.errs++
	msg := err.Error()
	if r.log != nil && msg != r.lastError {
		r.log.Warn("rightsize: reaper scan failed", "error", msg)
	}
	r.lastError = msg
}

// ReapNow scans once, now, and returns how many processes it reaped. The
// reaper does this on every SIGCHLD and tick by itself; ReapNow is for a
// program that wants the table clean at a moment of its choosing (before
// a burst of forks), and for tests. On a reaper that does nothing it
// returns 0.
func (r *Reaper) ReapNow() (int, error) {
	if !r.Active() {
		return 0, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped.Load() {
		return 0, nil
	}
	return r.scan()
}

// Stop stops the reaper and waits until its goroutine has returned. It
// may be called more than once.
func (r *Reaper) Stop() {
	if r == nil {
		return
	}
	r.stopOnce.Do(func() {
		r.stopped.Store(true)
		if r.stop != nil {
			close(r.stop)
			<-r.done
		}
		r.mu.Lock()
		r.sys.close()
		r.mu.Unlock()
		startMu.Lock()
		if running == r {
			running = nil
		}
		startMu.Unlock()
	})
}

var (
	startMu sync.Mutex
	running *Reaper                // the active reaper, if any
	last    atomic.Pointer[Reaper] // the last one Start returned
)

// Status reports whether this process has an active reaper, and why it
// does or does not: the running reaper's reason, or else why the last
// Start declined ("no reaper started" before any).
func Status() (active bool, reason string) {
	startMu.Lock()
	r := running
	startMu.Unlock()
	if r != nil {
		return true, r.reason
	}
	if r = last.Load(); r == nil {
		return false, "no reaper started"
	}
	if r.stopped.Load() && r.mode != ModeOff {
		return false, "stopped"
	}
	return false, r.reason
}

// Current returns the reaper that acts in this process, or else the one
// the last Start returned (which says why it does not act), or nil before
// any Start. Its methods are safe on nil.
func Current() *Reaper {
	startMu.Lock()
	r := running
	startMu.Unlock()
	if r != nil {
		return r
	}
	return last.Load()
}

// Start starts a reaper with opts. It acts only where it must and can: in
// PID 1 of a PID namespace (or a child subreaper, WithSubreaper), on
// Linux, with RIGHTSIZE_REAPER not "off", and, in ModeOrphans, where
// os/exec's children can be told from orphans by their pidfds. Elsewhere
// it returns a Reaper that does nothing, whose Reason says why, and no
// error: whether a process is PID 1 is the deployment's business, not an
// error of the program. Only one reaper acts in a process; a second Start
// while one runs returns one that does nothing. The error is for invalid
// options only, and then the Reaper is nil.
func Start(opts ...Option) (*Reaper, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	mode, why, note := cfg.mode()
	r := &Reaper{mode: mode, log: cfg.logger}
	defer last.Store(r)
	decline := func(reason string) (*Reaper, error) {
		r.mode, r.reason = ModeOff, reason
		if note != "" {
			r.reason += " (" + note + ")"
		}
		if r.log != nil && r.log.Enabled(context.Background(), slog.LevelDebug) {
			// Not acting is the normal case (a process that is not PID 1):
			// never more than a debug line.
			r.log.Debug("rightsize: no reaper: " + r.reason)
		}
		return r, nil
	}
	if mode == ModeOff {
		return decline("switched off by " + why)
	}
	startMu.Lock()
	defer startMu.Unlock()
	if running != nil {
		return decline("another reaper runs in this process")
	}
	reason, err := r.sys.start(&cfg, mode)
	if err != nil {
		return decline(err.Error())
	}
	r.reason = reason
	if why != "" {
		r.reason += "; mode " + mode.String() + " by " + why
	}
	if note != "" {
		r.reason += " (" + note + ")"
	}
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	running = r
	if r.log != nil {
		r.log.Info("rightsize: reaping zombie children: "+r.reason, "mode", mode.String())
	}
	r.mu.Lock()
	_, _ = r.scan()
	r.mu.Unlock()
	go r.loop(cfg.interval)
	return r, nil
}
