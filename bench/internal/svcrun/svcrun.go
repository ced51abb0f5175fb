// Package svcrun runs the service (bench/svc) in a fresh child cgroup and
// talks to it: it waits for its READY line, keeps its last STATS line and
// the tail of its stderr, and stops it and removes the cgroup.
package svcrun

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rightsize/rightsize/bench/internal/cgctl"
	"github.com/rightsize/rightsize/bench/internal/loadgen"
)

// Ready is the service's READY line.
type Ready struct {
	Addr       string `json:"addr"`
	Variant    string `json:"variant"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GOMEMLIMIT int64  `json:"gomemlimit"`
	NumCPU     int    `json:"numcpu"`
	PID        int    `json:"pid"`
}

// Stats mirrors the service's stats JSON (fields used here).
type Stats struct {
	Variant    string  `json:"variant"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	GOMEMLIMIT int64   `json:"gomemlimit"`
	Served     uint64  `json:"served"`
	Uptime     float64 `json:"uptime_s"`
	NumGC      uint64  `json:"num_gc"`
	GCCPU      float64 `json:"GCCPU"`
	UserCPU    float64 `json:"UserCPU"`
	IdleCPU    float64 `json:"IdleCPU"`
	TotalCPU   float64 `json:"TotalCPU"`
	GCFraction float64 `json:"gc_fraction"`
	ProcCPU    float64 `json:"proc_cpu_s"`
	HeapLive   uint64  `json:"heap_live"`
	HeapGoal   uint64  `json:"heap_goal"`
	MemTotal   uint64  `json:"mem_total"`
	MaxRSS     int64   `json:"max_rss_kb"`
	Released   uint64  `json:"released"`
	// LimiterCycle: the GC cycle the GC CPU limiter was last enabled in.
	LimiterCycle uint64 `json:"limiter_cycle"`
	Cache        int    `json:"cache_bytes"`
}

// Held is the memory the Go runtime holds: mapped, not returned.
func (s *Stats) Held() int64 {
	if s.Released > s.MemTotal {
		return 0
	}
	return int64(s.MemTotal - s.Released)
}

// Event is an "EVENT <json>" line of the service (memory pressure signals,
// the cache dropped), with the time it was read.
type Event struct {
	T          float64 `json:"t"` // seconds since the service started, its clock
	Kind       string  `json:"kind"`
	Cause      string  `json:"cause,omitempty"`
	Active     bool    `json:"active,omitempty"`
	WorkingSet int64   `json:"ws,omitempty"`
	Limit      int64   `json:"limit,omitempty"`
	Cache      int     `json:"cache,omitempty"`
	// At is when the line was read here.
	At time.Time `json:"-"`
}

// Server is a running service.
type Server struct {
	Ready Ready
	Group *cgctl.Group
	cmd   *exec.Cmd

	mu       sync.Mutex
	last     *Stats
	lastAt   time.Time
	first    *Stats
	events   []Event
	stderr   []string
	exited   chan struct{}
	state    error
	stopOnce sync.Once
}

// Start creates a cgroup with spec on host and starts bin with args and
// env in it, then waits up to timeout for its READY line.
func Start(host *cgctl.Host, spec cgctl.Spec, bin string, args, env []string, timeout time.Duration) (*Server, error) {
	g, err := host.Create(spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		g.Remove()
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		g.Remove()
		return nil, err
	}
	if err := g.Start(cmd); err != nil {
		g.Remove()
		return nil, err
	}
	s := &Server{Group: g, cmd: cmd, exited: make(chan struct{})}
	ready := make(chan Ready, 1)
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "READY "):
				var r Ready
				if json.Unmarshal([]byte(line[6:]), &r) == nil {
					ready <- r
				}
			case strings.HasPrefix(line, "EVENT "):
				var ev Event
				if json.Unmarshal([]byte(line[6:]), &ev) == nil {
					ev.At = time.Now()
					s.mu.Lock()
					s.events = append(s.events, ev)
					s.mu.Unlock()
				}
			case strings.HasPrefix(line, "STATS "):
				var st Stats
				if json.Unmarshal([]byte(line[6:]), &st) == nil {
					s.mu.Lock()
					s.last, s.lastAt = &st, time.Now()
					if s.first == nil {
						s.first = &st
					}
					s.mu.Unlock()
				}
			}
		}
	}()
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.stderr = append(s.stderr, sc.Text())
			if len(s.stderr) > 40 {
				s.stderr = s.stderr[len(s.stderr)-40:]
			}
			s.mu.Unlock()
		}
	}()
	go func() {
		readers.Wait() // the pipes must be drained before Wait
		err := cmd.Wait()
		cgctl.Forget(cmd.Process)
		s.mu.Lock()
		s.state = err
		s.mu.Unlock()
		close(s.exited)
	}()
	select {
	case r := <-ready:
		s.Ready = r
		return s, nil
	case <-s.exited:
		s.Stop()
		return nil, fmt.Errorf("service exited before READY: %v; stderr: %s", s.ExitErr(), s.Stderr())
	case <-time.After(timeout):
		s.Stop()
		return nil, fmt.Errorf("service not ready after %v; stderr: %s", timeout, s.Stderr())
	}
}

// Exited is closed when the process has ended.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// ExitErr is the process's exit error (nil for status 0) once Exited.
func (s *Server) ExitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Signaled reports the signal that ended the process, if one did.
func (s *Server) Signaled() (syscall.Signal, bool) {
	var ee *exec.ExitError
	if errors.As(s.ExitErr(), &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return ws.Signal(), true
		}
	}
	return 0, false
}

// LastStats is the last STATS line printed (nil if none).
func (s *Server) LastStats() *Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// LastStatsAt is the last STATS line and when it was read.
func (s *Server) LastStatsAt() (*Stats, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, s.lastAt
}

// Events returns the EVENT lines read so far.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Stderr is the tail of the process's stderr.
func (s *Server) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.stderr, "\n")
}

// FetchStats asks the running service for /stats.
func (s *Server) FetchStats() (*Stats, error) {
	b, err := loadgen.Get(s.Ready.Addr, "/stats", 5*time.Second)
	if err != nil {
		return nil, err
	}
	var st Stats
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("/stats: %v", err)
	}
	return &st, nil
}

// Stop ends the process (SIGTERM, SIGKILL after a second) and removes the
// cgroup. Read the group's counters before calling it.
func (s *Server) Stop() error {
	var err error
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(time.Second):
				_ = s.cmd.Process.Kill()
				<-s.exited
			}
		}
		err = s.Group.Remove()
	})
	return err
}
