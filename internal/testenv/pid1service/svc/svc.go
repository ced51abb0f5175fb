// Package svc is the protocol of the pid1service test program and the
// host side's helpers for the tests that run it as PID 1 (of a runc
// container, or of a PID namespace in the qemu guest): finding a
// namespace's processes by their host PIDs and signalling them safely.
package svc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rightsize/rightsize/procfs"
)

// Status is the service's answer to "status".
type Status struct {
	PID        int                 `json:"pid"`
	GoVersion  string              `json:"goVersion"`
	Reaper     Reaper              `json:"reaper"`
	Table      procfs.ProcessTable `json:"table"`
	TableError string              `json:"tableError,omitempty"`
}

// Reaper is the reaper's state in a Status.
type Reaper struct {
	Active    bool   `json:"active"`
	Mode      string `json:"mode"`
	Reason    string `json:"reason"`
	Reaped    uint64 `json:"reaped"`
	Left      uint64 `json:"left"`
	Scans     uint64 `json:"scans"`
	Errors    uint64 `json:"errors"`
	LastError string `json:"lastError,omitempty"`
}

// ExecReport is the answer to "exec N C": N commands run by C workers,
// each checked against the exit status it must have.
type ExecReport struct {
	Total       int      `json:"total"`
	OK          int      `json:"ok"`
	Wrong       int      `json:"wrong"`
	ECHILD      int      `json:"echild"`
	StartErrors int      `json:"startErrors"`
	EAGAIN      int      `json:"eagain"`
	Killed      int      `json:"killed"`
	Late        int      `json:"late"`
	Errors      []string `json:"errors,omitempty"`
	Millis      int64    `json:"millis"`
}

// ForkReport is the answer to "fork N": N commands started one after the
// other.
type ForkReport struct {
	OK     int      `json:"ok"`
	EAGAIN int      `json:"eagain"`
	Other  int      `json:"other"`
	Errors []string `json:"errors,omitempty"`
}

// Response is one line the service writes.
type Response struct {
	ID     string      `json:"id"`
	Event  string      `json:"event"`
	Status *Status     `json:"status,omitempty"`
	Exec   *ExecReport `json:"exec,omitempty"`
	Fork   *ForkReport `json:"fork,omitempty"`
	Error  string      `json:"error,omitempty"`
}

// Spawned is what the spawn and leak modes print: the PIDs of the
// children they started (in their PID namespace), and for leak the
// failures.
type Spawned struct {
	PIDs []int `json:"pids"`
	// RawOrphans and OwnZombies are how leak filled the last PIDs.
	RawOrphans int    `json:"rawOrphans,omitempty"`
	OwnZombies int    `json:"ownZombies,omitempty"`
	Errors     int    `json:"errors"`
	EAGAIN     int    `json:"eagain"`
	FirstError string `json:"firstError,omitempty"`
}

// Client talks to a service over its standard input and output. Requests
// carry an ID; answers come back in any order and are matched by it.
type Client struct {
	mu      sync.Mutex
	w       io.Writer
	seq     int
	waiting map[string]chan Response
	ready   chan Response
	err     error
	done    chan struct{}
}

// NewClient reads the service's answers from r until it ends. The first
// line, the service's "ready" status, is returned by Ready.
func NewClient(w io.Writer, r *bufio.Reader) *Client {
	c := &Client{w: w, waiting: map[string]chan Response{}, ready: make(chan Response, 1), done: make(chan struct{})}
	go c.read(r)
	return c
}

func (c *Client) read(r *bufio.Reader) {
	defer close(c.done)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			var resp Response
			if jerr := json.Unmarshal(line, &resp); jerr != nil {
				c.fail(fmt.Errorf("service wrote %q: %v", line, jerr))
				return
			}
			c.mu.Lock()
			ch := c.waiting[resp.ID]
			delete(c.waiting, resp.ID)
			c.mu.Unlock()
			switch {
			case resp.Event == "ready":
				c.ready <- resp
			case ch != nil:
				ch <- resp
			}
		}
		if err != nil {
			c.fail(fmt.Errorf("service output ended: %w", err))
			return
		}
	}
}

func (c *Client) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// Ready waits for the service's first line.
func (c *Client) Ready(timeout time.Duration) (Response, error) {
	select {
	case r := <-c.ready:
		return r, nil
	case <-c.done:
		return Response{}, c.err
	case <-time.After(timeout):
		return Response{}, fmt.Errorf("service not ready after %v", timeout)
	}
}

// Send sends one request ("status", "exec 1000 8", "fork 5") and returns
// a channel that receives its answer.
func (c *Client) Send(req string) (<-chan Response, error) {
	c.mu.Lock()
	c.seq++
	id := "r" + strconv.Itoa(c.seq)
	ch := make(chan Response, 1)
	c.waiting[id] = ch
	_, err := fmt.Fprintf(c.w, "%s %s\n", id, req)
	c.mu.Unlock()
	return ch, err
}

// Do sends a request and waits for its answer at most timeout.
func (c *Client) Do(req string, timeout time.Duration) (Response, error) {
	ch, err := c.Send(req)
	if err != nil {
		return Response{}, err
	}
	return c.Await(ch, timeout)
}

// Await waits for an answer on ch at most timeout.
func (c *Client) Await(ch <-chan Response, timeout time.Duration) (Response, error) {
	select {
	case r := <-ch:
		if r.Error != "" {
			return r, errors.New(r.Error)
		}
		return r, nil
	case <-c.done:
		return Response{}, c.err
	case <-time.After(timeout):
		return Response{}, fmt.Errorf("no answer after %v", timeout)
	}
}

// NSpid returns the PIDs of host process pid from the outermost namespace
// to its own (the NSpid line of its status): the last is the PID inside.
func NSpid(pid int) ([]int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			var out []int
			for _, f := range strings.Fields(rest) {
				n, err := strconv.Atoi(f)
				if err != nil {
					return nil, fmt.Errorf("NSpid %q", rest)
				}
				out = append(out, n)
			}
			return out, nil
		}
	}
	return nil, errors.New("no NSpid line")
}

// HostPIDs maps PIDs inside a namespace to host PIDs, for the processes
// listed in cgroupProcs (a cgroup.procs file, host PIDs, of the cgroup
// the namespace's processes are in). PIDs not found are left out.
func HostPIDs(cgroupProcs string, inside []int) (map[int]int, error) {
	b, err := os.ReadFile(cgroupProcs)
	if err != nil {
		return nil, err
	}
	want := map[int]bool{}
	for _, p := range inside {
		want[p] = true
	}
	out := map[int]int{}
	for _, f := range strings.Fields(string(b)) {
		h, err := strconv.Atoi(f)
		if err != nil {
			continue
		}
		ns, err := NSpid(h)
		if err != nil || len(ns) == 0 {
			continue
		}
		if in := ns[len(ns)-1]; want[in] {
			out[in] = h
		}
	}
	return out, nil
}

// ProcStat reads the stat of host process pid.
func ProcStat(pid int) (procfs.ProcStat, error) {
	return procfs.NewFS("").ProcStat(strconv.Itoa(pid))
}

// Gone reports whether host process pid no longer exists (reaped).
func Gone(pid int) bool {
	_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
	return errors.Is(err, os.ErrNotExist)
}

// ReadInt reads a file holding one integer (pids.current).
func ReadInt(name string) (int64, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}
