package runc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Long-lived containers. Run runs a program to its end; a test that works
// with a container while it runs (sends its init commands, starts more
// processes in it with `runc exec` the way a Kubernetes exec probe does,
// reads its cgroup from the host) uses Start instead. Everything Run
// promises holds: unique IDs under StateRoot, only the harness's own
// cgroups removed, cleanup whatever happens (t.Cleanup).

// Container is a running harness container. Its init's standard input and
// output are pipes to the test; its standard error is kept (capped) for
// the failure log.
type Container struct {
	// ID is the container ID (rightsize-<hex>).
	ID string
	// Pid is the host PID of the container's init (PID 1 inside).
	Pid int
	// Stdin and Stdout are the init's standard input and output.
	Stdin  io.WriteCloser
	Stdout *bufio.Reader

	runcPath string
	cmd      *exec.Cmd
	stderr   capped
	dirs     map[string]string // controller -> host cgroup directory
	done     chan struct{}
	runErr   error
	exitCode int
	once     sync.Once
	cleanup  func() error
}

// Start starts cfg in a new container and returns once its init runs.
// The container is killed (SIGKILL, by ID) and deleted, and its cgroups
// and bundle removed, when the test ends; Stop does it earlier. cfg.Timeout
// bounds the container's whole life (DefaultTimeout if zero). Start skips
// or fails t like Require when the harness is unavailable.
func Start(t testing.TB, cfg Config) *Container {
	t.Helper()
	Require(t)
	c, err := start(cfg)
	if err != nil {
		t.Fatalf("runc.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("runc: stopping %s: %v", c.ID, err)
		}
		if t.Failed() {
			t.Logf("container %s stderr:\n%s", c.ID, c.stderr.String())
		}
	})
	return c
}

func start(cfg Config) (_ *Container, err error) {
	if len(cfg.Args) == 0 {
		return nil, errors.New("runc: Config.Args is empty")
	}
	runcPath, err := runcBinary()
	if err != nil {
		return nil, err
	}
	c := &Container{ID: newContainerID(), runcPath: runcPath, done: make(chan struct{}), dirs: map[string]string{}}
	hs, err := hostHierarchies()
	if err != nil {
		return nil, fmt.Errorf("runc: reading cgroup mounts: %w", err)
	}
	cgPath := func(h hierarchy) string { return containerCgroup(h, cfg.CgroupsPath, c.ID) }
	for _, h := range hs {
		if h.v2 {
			continue
		}
		for _, ctrl := range h.controllers {
			if d, ok := h.dir(cgPath(h)); ok {
				c.dirs[ctrl] = d
			}
		}
	}
	ancestors, leaves := chain(hs, cgPath)
	for _, l := range leaves {
		if _, err := os.Lstat(l); err == nil {
			return nil, fmt.Errorf("runc: the container's cgroup %s exists already", l)
		}
	}
	lease, err := acquireAncestors(ancestors)
	if err != nil {
		return nil, fmt.Errorf("runc: %w", err)
	}
	bundle, err := os.MkdirTemp("", bundlePrefix(c.ID))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("runc: %w", err), lease.release())
	}
	c.cleanup = func() error { return cleanup(runcPath, c.ID, bundle, leaves, lease) }
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Stop())
		}
	}()
	if err := buildRootfs(filepath.Join(bundle, "rootfs"), &cfg); err != nil {
		return c, fmt.Errorf("runc: rootfs: %w", err)
	}
	if err := writeSpec(bundle, buildSpec(&cfg)); err != nil {
		return c, fmt.Errorf("runc: %w", err)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	pidFile := filepath.Join(bundle, "init.pid")
	c.cmd = exec.CommandContext(ctx, runcPath, "--root", StateRoot, "--log", filepath.Join(bundle, "runc.log"), "--log-format", "json",
		"run", "--pid-file", pidFile, "--bundle", bundle, c.ID)
	c.cmd.Cancel = func() error {
		if runcCmd(runcPath, "kill", c.ID, "KILL") != nil {
			return c.cmd.Process.Kill()
		}
		return nil
	}
	c.cmd.WaitDelay = 10 * time.Second
	c.cmd.Stderr = &c.stderr
	if c.Stdin, err = c.cmd.StdinPipe(); err != nil {
		cancel()
		return c, err
	}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		cancel()
		return c, err
	}
	c.Stdout = bufio.NewReader(out)
	if err := c.cmd.Start(); err != nil {
		cancel()
		return c, fmt.Errorf("runc run %s: %w", c.ID, err)
	}
	go func() {
		defer cancel()
		err := c.cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			c.exitCode, err = ee.ExitCode(), nil
		}
		c.runErr = err
		close(c.done)
	}()
	// runc writes the pid file once the init runs.
	deadline := time.Now().Add(time.Minute)
	for {
		if b, err := os.ReadFile(pidFile); err == nil && len(b) > 0 {
			if c.Pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return c, nil
			}
		}
		select {
		case <-c.done:
			return c, fmt.Errorf("runc run %s ended before the init ran (exit %d, %v): %s", c.ID, c.exitCode, c.runErr, c.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return c, fmt.Errorf("runc run %s: no init PID after a minute", c.ID)
		}
	}
}

// CgroupDir returns the host directory of the container's cgroup in the
// v1 hierarchy carrying controller ("pids", "memory", ...), or "".
func (c *Container) CgroupDir(controller string) string { return c.dirs[controller] }

// Stderr returns what the init wrote to its standard error so far.
func (c *Container) Stderr() string { return c.stderr.String() }

// Done is closed when the container's init has exited.
func (c *Container) Done() <-chan struct{} { return c.done }

// ExitCode returns the init's exit status once Done is closed.
func (c *Container) ExitCode() int { <-c.done; return c.exitCode }

// Stop kills the container (SIGKILL, by ID), waits for `runc run` to
// return, deletes the container and removes its cgroups and bundle. It may
// be called more than once.
func (c *Container) Stop() error {
	var err error
	c.once.Do(func() {
		if c.cmd != nil && c.cmd.Process != nil {
			select {
			case <-c.done:
			default:
				_ = runcCmd(c.runcPath, "kill", c.ID, "KILL")
				select {
				case <-c.done:
				case <-time.After(30 * time.Second):
					_ = c.cmd.Process.Kill()
					<-c.done
				}
			}
		}
		if c.cleanup != nil {
			err = c.cleanup()
		}
	})
	return err
}

// Exec is a process started in a container with `runc exec`.
type Exec struct {
	// Pid is the process's host PID.
	Pid int
	// Stdout is its standard output.
	Stdout *bufio.Reader
	cmd    *exec.Cmd
	stderr capped
	wait   func() error
}

// Wait waits for `runc exec` to return: after the process exited, with
// its status (an *exec.ExitError for a non-zero one; 137 when SIGKILL
// ended it).
func (e *Exec) Wait() error { return e.wait() }

// Stderr returns what the process (and runc) wrote to standard error.
func (e *Exec) Stderr() string { return e.stderr.String() }

// Exec starts args in the container with `runc exec`, as a Kubernetes exec
// probe runs: the process joins the container's namespaces and cgroup, and
// its parent is `runc exec`, on the host (its PPID inside is 0). It returns
// once the process runs. ctx bounds it: when ctx ends it is killed.
func (c *Container) Exec(ctx context.Context, args ...string) (*Exec, error) {
	pidFile := filepath.Join(os.TempDir(), UniqueName("exec")+".pid")
	defer os.Remove(pidFile)
	e := &Exec{}
	e.cmd = exec.CommandContext(ctx, c.runcPath, append([]string{"--root", StateRoot, "exec", "--pid-file", pidFile, c.ID}, args...)...)
	e.cmd.Stderr = &e.stderr
	e.cmd.WaitDelay = 10 * time.Second
	out, err := e.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	e.Stdout = bufio.NewReader(out)
	if err := e.cmd.Start(); err != nil {
		return nil, fmt.Errorf("runc exec %s: %w", c.ID, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = e.cmd.Wait(); close(exited) }()
	for {
		if b, err := os.ReadFile(pidFile); err == nil && len(b) > 0 {
			if e.Pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				e.wait = func() error { <-exited; return waitErr }
				return e, nil
			}
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("runc exec %s %q: %v: %s", c.ID, args, waitErr, e.stderr.String())
		case <-time.After(2 * time.Millisecond):
		}
	}
}
