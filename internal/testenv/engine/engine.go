package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ErrUnavailable is wrapped by the errors that say an engine cannot run on
// this machine (as opposed to a failure of the engine or of a test).
var ErrUnavailable = errors.New("container engine unavailable")

// Environment variables naming the binaries, when PATH is not to be used.
const (
	EnvDocker  = "RIGHTSIZE_DOCKER"  // the docker client
	EnvDockerd = "RIGHTSIZE_DOCKERD" // dockerd
	EnvPodman  = "RIGHTSIZE_PODMAN"  // podman
)

// DockerImage and PodmanImage are the references the test image is
// imported as.
const (
	DockerImage = "rightsize-e2e:latest"
	PodmanImage = "localhost/rightsize-e2e:latest"
)

// CommandTimeout bounds every engine command the harness runs without a
// deadline of its own.
const CommandTimeout = 2 * time.Minute

// maxOutput caps what is kept of one command's or container's output.
const maxOutput = 16 << 20

// tempBase is where the harness's directories go (the engines' and the
// image's, all named dirPrefix...): the temporary directory, or /tmp when
// that path is so long that sockets below it would exceed the 108 bytes of
// a unix socket address. The sweep of leftovers looks there.
func tempBase() string {
	if d := os.TempDir(); len(d) <= 40 {
		return d
	}
	return "/tmp"
}

// Engine is a private docker daemon or a private podman configuration.
type Engine struct {
	// Kind is "docker" or "podman".
	Kind string
	// Dir is the temporary directory holding everything of the engine.
	Dir string
	// Image is the reference the test image was imported as.
	Image string
	// Img is the test image (its host binaries, for running them outside
	// a container too).
	Img *Image
	// StartTime is how long the engine took to start (containerd and
	// dockerd until the API answered; podman: writing its configuration
	// and the first `podman info`); ImportTime how long the image import
	// took.
	StartTime, ImportTime time.Duration
	// Version is what the engine reports as its version (docker: server
	// version, podman: podman version).
	Version string

	bin         string   // docker or podman client
	global      []string // arguments before the subcommand (-H ..., --root ...)
	env         []string // the client's environment
	runDefaults []string // flags every run/create gets (--network none, ...)
	cgroupRoot  string   // the engine's top cgroup, /rightsize-<kind>-<hex>
	ctrParent   string   // the cgroup parent of its containers

	stopOnce sync.Once
	stopErr  error
	stopFn   func() error
}

// Command returns the engine's client command for args, with the private
// socket or storage options in front and the private environment.
func (e *Engine) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.bin, append(append([]string(nil), e.global...), args...)...)
	cmd.Env = e.env
	cmd.WaitDelay = 5 * time.Second
	dieWithParent(cmd)
	return cmd
}

// Output runs the client with args and returns its standard output. The
// error includes standard error. Without a deadline in ctx the command is
// bounded by CommandTimeout.
func (e *Engine) Output(ctx context.Context, args ...string) (string, error) {
	stdout, stderr, err := e.run(ctx, args...)
	if err != nil {
		return stdout, fmt.Errorf("%s %s: %w\n%s", e.Kind, strings.Join(args, " "), err, strings.TrimSpace(stderr))
	}
	return stdout, nil
}

func (e *Engine) run(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, CommandTimeout)
		defer cancel()
	}
	var out, errb capped
	cmd := e.Command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// RunSpec describes a container.
type RunSpec struct {
	// Name is the container name; "" gives rightsize-<12 hex>.
	Name string
	// Flags are engine flags for `run`/`create`, e.g. "--cpus", "1.5",
	// "--memory", "256m", "--cgroup-parent", "/x". The harness adds
	// --network none (and podman's cgroup parent and, where needed,
	// ulimits) unless Flags set them.
	Flags []string
	// Env is the container's extra environment, KEY=value.
	Env []string
	// Args is the command in the image, e.g. {"/service", "-serve"}.
	Args []string
}

func (e *Engine) containerArgs(verb string, spec RunSpec) (name string, args []string) {
	name = spec.Name
	if name == "" {
		name = "rightsize-" + randomHex(12)
	}
	args = []string{verb}
	if verb == "run" {
		args = append(args, "--rm")
	}
	has := func(flag string) bool {
		for _, f := range spec.Flags {
			if f == flag || strings.HasPrefix(f, flag+"=") {
				return true
			}
		}
		return false
	}
	for i := 0; i < len(e.runDefaults); i += 2 {
		if !has(e.runDefaults[i]) {
			args = append(args, e.runDefaults[i], e.runDefaults[i+1])
		}
	}
	args = append(args, "--name", name)
	for _, kv := range spec.Env {
		args = append(args, "--env", kv)
	}
	args = append(args, spec.Flags...)
	args = append(args, e.Image)
	args = append(args, spec.Args...)
	return name, args
}

// RunArgs returns the client arguments (after the global ones) that Run
// uses for spec, for logs and documentation.
func (e *Engine) RunArgs(spec RunSpec) []string {
	_, args := e.containerArgs("run", spec)
	return args
}

// Run runs spec in a new container with `run --rm` and waits for it to
// exit. err is non-nil when the client failed, which includes a non-zero
// exit status of the program (an *exec.ExitError then); stdout and stderr
// are returned in every case.
func (e *Engine) Run(ctx context.Context, spec RunSpec) (stdout, stderr string, err error) {
	_, args := e.containerArgs("run", spec)
	return e.run(ctx, args...)
}

// Line is one line a container printed, with the time the harness read it.
type Line struct {
	Text string
	At   time.Time
}

// Container is a container started by Start, with its standard output
// read line by line as it comes.
type Container struct {
	e *Engine
	// ID is the engine's full container ID (64 hex digits), Name its name.
	ID, Name string

	attach *exec.Cmd
	exited chan struct{} // closed when the attached client has exited
	stderr capped

	mu     sync.Mutex
	lines  []Line
	next   int           // lines before next were returned by WaitLine
	notify chan struct{} // closed and replaced on every new line

	removeOnce sync.Once
	removeErr  error
}

// Start creates a container for spec (`create`, which reports the ID) and
// starts it attached (`start --attach`), so that its output is read as it
// is printed. Remove it with Remove.
func (e *Engine) Start(ctx context.Context, spec RunSpec) (*Container, error) {
	name, args := e.containerArgs("create", spec)
	out, err := e.Output(ctx, args...)
	if err != nil {
		return nil, err
	}
	id := lastLine(out)
	if !isHexID(id) {
		e.removeQuietly(name)
		return nil, fmt.Errorf("%s create printed %q, not a container ID", e.Kind, out)
	}
	c := &Container{e: e, ID: id, Name: name, exited: make(chan struct{}), notify: make(chan struct{})}
	// The attached client lives as long as the container; it must not
	// be bound to ctx, which may be a single command's deadline.
	c.attach = e.Command(context.Background(), "start", "--attach", id)
	stdout, err := c.attach.StdoutPipe()
	if err != nil {
		e.removeQuietly(id)
		return nil, err
	}
	c.attach.Stderr = &c.stderr
	if err := c.attach.Start(); err != nil {
		e.removeQuietly(id)
		return nil, fmt.Errorf("%s start --attach: %w", e.Kind, err)
	}
	go func() {
		defer close(c.exited)
		readLines(stdout, c.add)
		c.attach.Wait()
		c.mu.Lock()
		close(c.notify)
		c.notify = make(chan struct{})
		c.mu.Unlock()
	}()
	return c, nil
}

func (c *Container) add(text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.lines) < 100000 {
		c.lines = append(c.lines, Line{Text: text, At: time.Now()})
	}
	close(c.notify)
	c.notify = make(chan struct{})
}

// ErrOutputEnded is returned by WaitLine when the container's output ended
// (the container exited or the attached client died) before a line
// matched.
var ErrOutputEnded = errors.New("container output ended")

// WaitLine returns the first line not returned before that satisfies
// match, waiting up to timeout for it. Lines that do not match are passed
// over (Lines still has them). match nil matches any line.
func (c *Container) WaitLine(timeout time.Duration, match func(Line) bool) (Line, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if c.next < len(c.lines) {
			l := c.lines[c.next]
			c.next++
			c.mu.Unlock()
			if match == nil || match(l) {
				return l, nil
			}
			continue
		}
		ch := c.notify
		c.mu.Unlock()
		select {
		case <-c.exited:
			// The reader has added every line it will: one more pass
			// over what is left, then the output has ended.
			c.mu.Lock()
			more := c.next < len(c.lines)
			c.mu.Unlock()
			if !more {
				return Line{}, ErrOutputEnded
			}
		case <-ch:
		case <-deadline.C:
			return Line{}, fmt.Errorf("no matching line within %v", timeout)
		}
	}
}

// Lines returns every line the container printed so far.
func (c *Container) Lines() []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Line(nil), c.lines...)
}

// Output returns the container's standard output so far and the attached
// client's standard error (the container's standard error and the
// client's own messages), for logs.
func (c *Container) Output() (stdout, stderr string) {
	var b strings.Builder
	for _, l := range c.Lines() {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return b.String(), c.stderr.String()
}

// Exec runs args in the running container (`exec`) and returns what it
// printed; err is non-nil when the client or the program failed.
func (c *Container) Exec(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	return c.e.run(ctx, append([]string{"exec", c.ID}, args...)...)
}

// Signal sends sig (a name such as "USR1") to the container's main
// process.
func (c *Container) Signal(ctx context.Context, sig string) error {
	_, err := c.e.Output(ctx, "kill", "--signal", sig, c.ID)
	return err
}

// Update changes the resources of the running container (`update`,
// docker only; podman 4.3 has no update).
func (c *Container) Update(ctx context.Context, flags ...string) error {
	_, err := c.e.Output(ctx, append(append([]string{"update"}, flags...), c.ID)...)
	return err
}

// Inspect returns `inspect --format format` of the container, trimmed.
func (c *Container) Inspect(ctx context.Context, format string) (string, error) {
	out, err := c.e.Output(ctx, "inspect", "--format", format, c.ID)
	return strings.TrimSpace(out), err
}

// Remove removes the container by its ID (`rm -f`) and waits for the
// attached client to exit, killing it by PID if it does not. It is safe to
// call more than once.
func (c *Container) Remove() error {
	c.removeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
		defer cancel()
		_, err := c.e.Output(ctx, "rm", "--force", c.ID)
		select {
		case <-c.exited:
		case <-time.After(15 * time.Second):
			c.attach.Process.Kill()
			<-c.exited
		}
		c.removeErr = err
	})
	return c.removeErr
}

func (e *Engine) removeQuietly(idOrName string) {
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	e.run(ctx, "rm", "--force", idOrName)
}

// Stop stops the engine and removes everything it created (see the
// package documentation). It is safe to call more than once.
func (e *Engine) Stop() error {
	e.stopOnce.Do(func() {
		if e.stopFn != nil {
			e.stopErr = e.stopFn()
		}
	})
	return e.stopErr
}

// CgroupRoot is the cgroup path (from the hierarchy root) of the parent of
// the engine's containers, unless a run names its own --cgroup-parent:
// /rightsize-docker-<hex>/docker (containers in .../docker/<id>) or
// /rightsize-podman-<hex> (containers in .../libpod-<id>).
func (e *Engine) CgroupRoot() string { return e.ctrParent }

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)[:n]
}

// isHexID reports whether s is a full container ID: 64 lower-case hex
// digits.
func isHexID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// environ returns os.Environ without the variables named in drop, plus
// add.
func environ(drop []string, add ...string) []string {
	var env []string
outer:
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		for _, d := range drop {
			if k == d {
				continue outer
			}
		}
		env = append(env, kv)
	}
	return append(env, add...)
}

// capped is a buffer that keeps at most maxOutput bytes and drops the rest
// while reporting success, so that a program never blocks on a full pipe.
type capped struct {
	mu  sync.Mutex
	buf bytes.Buffer
	cut bool
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := maxOutput - c.buf.Len(); room < len(p) {
		c.buf.Write(p[:max(room, 0)])
		c.cut = true
		return len(p), nil
	}
	return c.buf.Write(p)
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return c.buf.String() + "\n[output truncated]\n"
	}
	return c.buf.String()
}
