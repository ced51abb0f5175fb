package qemu

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// QemuBinary is the emulator Run starts; it comes with the Debian package
// qemu-system-x86.
const QemuBinary = "qemu-system-x86_64"

// Defaults for the zero values of Config.
const (
	DefaultCPUs     = 1
	DefaultMemoryMB = 512
	DefaultTimeout  = 5 * time.Minute
)

// BaseCmdline is the kernel command line every guest gets (followed by
// Kernel.Cmdline and Config.Cmdline):
//   - console=ttyS0: the serial port, which qemu connects to our pipe;
//   - panic=-1 with qemu -no-reboot: a kernel panic ends qemu at once
//     instead of hanging until the timeout; oops=panic turns an oops into
//     one, so a broken guest never half-runs a test;
//   - quiet: kernel messages of warning level and above only, so the
//     console stays readable and fast (each byte is an emulated port write);
//   - cgroup_no_v1=all: no controller can be bound to a v1 hierarchy, so
//     the guest is a pure cgroup v2 machine.
//
// There is no systemd in the guest, so systemd.unified_cgroup_hierarchy
// would do nothing: /init mounts cgroup2 itself.
var BaseCmdline = []string{"console=ttyS0", "panic=-1", "oops=panic", "quiet", "cgroup_no_v1=all"}

// Config describes one guest boot.
type Config struct {
	// CPUs is the number of vCPUs (qemu -smp); 0 means DefaultCPUs.
	CPUs int
	// MemoryMB is the guest's memory (qemu -m); 0 means DefaultMemoryMB.
	// The initramfs lives in it, so leave room for the binaries.
	MemoryMB int
	// Files maps guest paths to host files copied into the initramfs with
	// mode 0755, for example {"/bin/test": "/tmp/x/pkg.test"}. /init and
	// /harness.json are the harness's own.
	Files map[string]string
	// Trees maps guest directories to host directories copied in whole,
	// modes and symbolic links kept (see Initramfs.Trees): a package's
	// testdata, say {"/src/cgroup/testdata": "testdata"} with Dir
	// "/src/cgroup", for a test binary that reads it by relative path.
	Trees map[string]string
	// Command is the program (a guest path) and its arguments.
	Command []string
	// Env is the command's environment, on top of PATH=/bin:/sbin,
	// HOME=/tmp and TMPDIR=/tmp (later entries win).
	Env []string
	// Dir is the command's working directory; "" means /tmp.
	Dir string
	// Timeout bounds the guest run, from starting qemu to its exit; 0
	// means DefaultTimeout. ctx bounds all of Run, building /init included.
	Timeout time.Duration
	// HangGrace is how long the guest may go without a heartbeat from
	// /init, once /init has started the command, before Run stops it as
	// hung and boots it once more; 0 means DefaultHangGrace.
	HangGrace time.Duration
	// Cmdline holds extra kernel parameters.
	Cmdline []string
	// Console, if set, receives the serial console output as it arrives
	// (for example a writer to t.Log, or os.Stderr when debugging).
	Console io.Writer

	// noHeartbeatPort leaves out the second serial port, as on a machine
	// without one (for the tests of errNoHeartbeat).
	noHeartbeatPort bool
}

// Result is the outcome of a boot whose verdict line was seen.
type Result struct {
	// Output is what the command wrote (stdout and stderr interleaved, as
	// on the console), with line ends turned into "\n".
	Output string
	// Console is the whole serial console log, kernel messages included,
	// with line ends turned into "\n".
	Console string
	// ExitCode is the command's exit status as a shell reports it:
	// 128+signal if it was killed, 127 if it could not be started.
	ExitCode int
	// Duration is the wall time from starting qemu to its exit.
	Duration time.Duration
	// BootTime is the wall time from starting qemu to /init reporting
	// that the command is about to start.
	BootTime time.Duration
}

// harnessSpec is written to /harness.json for /init; it must match the
// spec type in ./init.
type harnessSpec struct {
	Nonce   string   `json:"nonce"`
	Command []string `json:"command"`
	Env     []string `json:"env"`
	Dir     string   `json:"dir"`
}

// Run boots a guest that runs cfg.Command and returns its output and exit
// status. The error is non-nil only when the harness failed: qemu or the
// kernel is missing, qemu could not start, the timeout or ctx ended the
// boot, or the guest ended without printing its verdict line (a kernel
// panic, /init crashing); the error then carries the end of the console
// log, and the Result what is known. A command that fails is not an error:
// check Result.ExitCode.
func Run(ctx context.Context, cfg Config) (Result, error) {
	// Under emulation two guests on a 2-core machine starve each other
	// (the kernel reports RCU stalls and soft lockups and the boot never
	// finishes), and go test runs packages in parallel: guests from every
	// test process on the machine take turns.
	unlock, err := lockGuests(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("qemu: waiting for the guest lock: %w", err)
	}
	defer unlock()
	res, err := run(ctx, cfg)
	if err != nil && ctx.Err() == nil && (errors.Is(err, errBootStalled) || errors.Is(err, errGuestHung)) {
		// The kernel never reached /init, or the guest stopped beating
		// (its timers or vCPUs stopped): an emulation stall, not the
		// test's doing. One more boot, said in the result's console.
		first := res.Console
		res, err = run(ctx, cfg)
		res.Console = "(the first boot stalled or hung and was retried; its console follows)\n" + tail(first, 40) + "\n(second boot)\n" + res.Console
	}
	return res, err
}

// DefaultHangGrace is how long a guest whose /init has started may go
// without a heartbeat (see Config.HangGrace) before it is considered hung,
// stopped and, once, booted again (a guest that never beat at all is
// stopped with errNoHeartbeat and not booted again). /init beats every second of guest time,
// so this is sixty missed beats: a guest that is merely slow (a loaded host
// running its vCPUs less often) still beats, a test that prints nothing for
// minutes does not matter, and a guest whose timers stopped or whose vCPUs
// no longer run is caught in a minute instead of at its timeout. Seen in
// CI, twice: once after an RCU stall report, once with no kernel message at
// all, the guest's timers stopped and it printed nothing more until its
// 5-minute timeout.
const DefaultHangGrace = 60 * time.Second

var errGuestHung = errors.New("the guest stopped its heartbeat")

// errNoHeartbeat: /init started the command but no beat ever came. /init
// beats once before it prints the start line, so this is no stall but a
// guest without a second serial port (/dev/ttyS1: a kernel built with one
// 8250 UART, say) or a qemu that does not write the file; /init's own
// message, if any, is on the console. It is not retried.
var errNoHeartbeat = errors.New("the guest's /init never beat on its second serial port (ttyS1)")

// guestHung decides whether a guest is hung at now: /init started the
// command at started (zero if not yet: BootDeadline covers the boot) and
// its heartbeat last grew at beat (zero if never), and neither is within
// grace of now.
func guestHung(started, beat, now time.Time, grace time.Duration) bool {
	if started.IsZero() {
		return false
	}
	last := started
	if beat.After(last) {
		last = beat
	}
	return now.Sub(last) > grace
}

// heartbeatWatch follows the file qemu writes the guest's second serial
// port to: it grows by a byte at every beat of /init.
type heartbeatWatch struct {
	path string
	size int64
	beat time.Time
}

// check stats the file at now and returns when it last grew (zero if it
// never has). A file that cannot be stat'ed has not grown.
func (h *heartbeatWatch) check(now time.Time) time.Time {
	if fi, err := os.Stat(h.path); err == nil && fi.Size() > h.size {
		h.size, h.beat = fi.Size(), now
	}
	return h.beat
}

// BootDeadline bounds the time from starting qemu to /init starting the
// command; a boot that has not got there by then is stalled and retried once.
const BootDeadline = 90 * time.Second

var errBootStalled = errors.New("the guest kernel did not reach /init")

func run(ctx context.Context, cfg Config) (Result, error) {
	var res Result
	if len(cfg.Command) == 0 || !strings.HasPrefix(cfg.Command[0], "/") {
		return res, fmt.Errorf("qemu: Config.Command must start with an absolute guest path, got %q", cfg.Command)
	}
	for _, p := range []string{"/init", "/harness.json"} {
		if _, ok := cfg.Files[p]; ok {
			return res, fmt.Errorf("qemu: Config.Files must not contain %s, which the harness provides", p)
		}
	}
	qemuPath, err := exec.LookPath(QemuBinary)
	if err != nil {
		return res, fmt.Errorf("qemu: %w (install the Debian package qemu-system-x86, or run .ci/qemu-setup.sh)", err)
	}
	kernel, err := FindKernel()
	if err != nil {
		return res, fmt.Errorf("qemu: %w", err)
	}
	cfg = withDefaults(cfg)

	work, err := os.MkdirTemp("", "rightsize-qemu-")
	if err != nil {
		return res, fmt.Errorf("qemu: %w", err)
	}
	defer os.RemoveAll(work)

	nonce, initrd, err := prepareInitramfs(ctx, work, cfg)
	if err != nil {
		return res, fmt.Errorf("qemu: %w", err)
	}

	heartbeat := filepath.Join(work, "heartbeat")
	cmdline := append(append(append([]string{}, BaseCmdline...), kernel.Cmdline...), cfg.Cmdline...)
	args := []string{
		// Only the devices named here: no network card (whose option ROM
		// would have to be found and run), no VGA, no monitor.
		"-nodefaults", "-no-user-config",
		"-machine", "pc", "-accel", "tcg",
		"-cpu", "max",
		"-smp", strconv.Itoa(cfg.CPUs),
		"-m", strconv.Itoa(cfg.MemoryMB),
		"-display", "none",
		"-serial", "stdio",
		"-no-reboot",
		"-kernel", kernel.Path,
		"-initrd", initrd,
		"-append", strings.Join(cmdline, " "),
	}
	if !cfg.noHeartbeatPort {
		// ttyS1: /init's heartbeat, to a file of its own.
		args = append(args, "-serial", "file:"+heartbeat)
	}
	// The timeout is for the guest alone: building /init on a cold build
	// cache must not eat into it.
	qemuCtx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(qemuCtx, qemuPath, args...)
	cmd.SysProcAttr = qemuProcAttr()
	// If qemu ignores the kill (it does not), do not wait for ever on it.
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	console := &consoleBuffer{mirror: cfg.Console, start: []byte("RIGHTSIZE-VM-START " + nonce)}
	cmd.Stdout = console

	// qemuProcAttr asks the kernel to kill qemu if the thread that starts
	// it ends (the test binary dying on a go test -timeout, say), so that
	// a hung guest is never left behind. Locking keeps that thread alive
	// while this goroutine waits.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	begin := time.Now()
	console.begin = begin
	stalled := make(chan struct{})
	watchdog := time.AfterFunc(BootDeadline, func() {
		if console.bootTime() == 0 {
			close(stalled)
			cancel()
		}
	})
	hung, noBeat := make(chan struct{}), make(chan struct{})
	stopHangCheck := make(chan struct{})
	go func() {
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		hb := heartbeatWatch{path: heartbeat}
		for {
			select {
			case <-stopHangCheck:
				return
			case now := <-tk.C:
				beat := hb.check(now)
				if guestHung(console.startTime(), beat, now, cfg.HangGrace) {
					if beat.IsZero() {
						close(noBeat)
					} else {
						close(hung)
					}
					cancel()
					return
				}
			}
		}
	}()
	runErr := cmd.Run()
	close(stopHangCheck)
	watchdog.Stop()
	res.Duration = time.Since(begin)

	log := strings.ReplaceAll(console.String(), "\r\n", "\n")
	res.Console = log
	res.BootTime = console.bootTime()

	code, output, found := parseVerdict(log, nonce)
	switch {
	case found:
		res.ExitCode, res.Output = code, output
		return res, nil
	case isClosed(stalled):
		return res, fmt.Errorf("qemu: %w within %v; console ends with:\n%s", errBootStalled, BootDeadline, tail(log, 40))
	case isClosed(hung):
		return res, fmt.Errorf("qemu: %w for %v; console ends with:\n%s", errGuestHung, cfg.HangGrace, tail(log, 40))
	case isClosed(noBeat):
		return res, fmt.Errorf("qemu: %w within %v of the start line; console ends with:\n%s", errNoHeartbeat, cfg.HangGrace, tail(log, 40))
	case qemuCtx.Err() != nil:
		return res, fmt.Errorf("qemu: no verdict after %v (%v); console ends with:\n%s", res.Duration.Round(time.Millisecond), qemuCtx.Err(), tail(log, 40))
	case runErr != nil:
		return res, fmt.Errorf("qemu: %s: %v\n%s\nconsole ends with:\n%s", qemuPath, runErr, stderr.String(), tail(log, 40))
	default:
		return res, fmt.Errorf("qemu: the guest ended without a verdict line (kernel panic or /init failure?); console ends with:\n%s", tail(log, 40))
	}
}

func withDefaults(cfg Config) Config {
	if cfg.CPUs <= 0 {
		cfg.CPUs = DefaultCPUs
	}
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = DefaultMemoryMB
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HangGrace <= 0 {
		cfg.HangGrace = DefaultHangGrace
	}
	if cfg.Dir == "" {
		cfg.Dir = "/tmp"
	}
	return cfg
}

// prepareInitramfs builds /init and writes the initramfs into work. It
// returns the boot's nonce and the archive's path.
func prepareInitramfs(ctx context.Context, work string, cfg Config) (nonce, path string, err error) {
	initBin := filepath.Join(work, "init")
	if err := Build(ctx, initPackage, initBin); err != nil {
		return "", "", err
	}
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	nonce = hex.EncodeToString(b[:])
	spec, err := json.Marshal(harnessSpec{
		Nonce:   nonce,
		Command: cfg.Command,
		Env:     append([]string{"PATH=/bin:/sbin", "HOME=/tmp", "TMPDIR=/tmp"}, cfg.Env...),
		Dir:     cfg.Dir,
	})
	if err != nil {
		return "", "", err
	}
	files := map[string]string{"/init": initBin}
	for guest, host := range cfg.Files {
		files[guest] = host
	}
	ir := Initramfs{
		Files: files,
		Trees: cfg.Trees,
		Data:  map[string][]byte{"/harness.json": spec},
		Dirs:  []string{"/proc", "/sys", "/dev", "/tmp"},
		// The kernel opens /dev/console for /init's standard streams
		// before anything can mount devtmpfs.
		CharDevs: map[string][2]uint32{"/dev/console": {5, 1}},
	}
	path = filepath.Join(work, "initramfs.cpio")
	f, err := os.Create(path)
	if err != nil {
		return "", "", err
	}
	if _, err := ir.WriteTo(f); err != nil {
		f.Close()
		return "", "", err
	}
	return nonce, path, f.Close()
}

// parseVerdict finds the verdict line for nonce and the command's output,
// which lies between the start line and the verdict. The serial line
// turns "\n" into "\r\n"; both come back as "\n".
func parseVerdict(log, nonce string) (code int, output string, found bool) {
	log = strings.ReplaceAll(log, "\r\n", "\n")
	re := regexp.MustCompile(`RIGHTSIZE-VM-RESULT ` + regexp.QuoteMeta(nonce) + ` exit=(-?\d+)`)
	m := re.FindStringSubmatchIndex(log)
	if m == nil {
		return 0, "", false
	}
	code, err := strconv.Atoi(log[m[2]:m[3]])
	if err != nil {
		return 0, "", false
	}
	output = log[:m[0]]
	start := "RIGHTSIZE-VM-START " + nonce
	if i := strings.Index(output, start); i >= 0 {
		output = output[i:]
		if j := strings.IndexByte(output, '\n'); j >= 0 {
			output = output[j+1:]
		} else {
			output = ""
		}
	}
	// /init puts a newline before the verdict to end a partial last line.
	output = strings.TrimSuffix(output, "\n")
	return code, output, true
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	s = strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// consoleBuffer collects qemu's serial output, mirrors it, and notes when
// the start line first appears, which measures the boot.
type consoleBuffer struct {
	mirror io.Writer
	start  []byte
	begin  time.Time

	mu      sync.Mutex
	buf     bytes.Buffer
	started time.Time
}

func (c *consoleBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if c.started.IsZero() {
		// Look only at the new bytes and the few before them that could
		// hold the start of the marker.
		from := c.buf.Len() - len(p) - len(c.start)
		if from < 0 {
			from = 0
		}
		if bytes.Contains(c.buf.Bytes()[from:], c.start) {
			c.started = time.Now()
		}
	}
	if c.mirror != nil {
		// A failing mirror must not stop qemu's output from being read.
		_, _ = c.mirror.Write(p)
	}
	return len(p), nil
}

// startTime returns when the start line appeared, or zero.
func (c *consoleBuffer) startTime() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started
}

func (c *consoleBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func (c *consoleBuffer) bootTime() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started.IsZero() {
		return 0
	}
	return c.started.Sub(c.begin)
}
