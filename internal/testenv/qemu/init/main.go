//go:build linux

// Command init is PID 1 of the rightsize qemu test guest.
//
// The harness in the parent package builds it statically (CGO_ENABLED=0) and
// puts it at /init in the initramfs, next to /harness.json, which says what
// to run. It prepares the few filesystems a cgroup test needs (proc, sysfs,
// devtmpfs, a tmpfs on /tmp and cgroup2 on /sys/fs/cgroup with the cpu,
// memory, pids and cpuset controllers enabled for children), runs the
// command with its output on the serial console, prints the verdict line and
// powers the machine off. While it runs it writes a heartbeat byte to the
// second serial port every second (heartbeatInterval), which the harness
// watches to tell a hung guest from a quiet one.
//
// qemu exits with status 0 whatever happens in the guest, a kernel panic
// included, so the verdict line is the only thing the harness trusts: it
// carries a nonce chosen by the harness for this boot so that no other
// output (a test printing an old log, say) can fake it.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// spec is the content of /harness.json. The harness writes it with a struct
// of the same shape (see harnessSpec in ../run.go); keep the two in step.
type spec struct {
	Nonce   string   `json:"nonce"`
	Command []string `json:"command"`
	Env     []string `json:"env"`
	Dir     string   `json:"dir"`
}

// Controllers that the harness promises to tests: enabled in the root
// cgroup's cgroup.subtree_control so that child cgroups get their files.
var controllers = []string{"cpu", "memory", "pids", "cpuset"}

func main() {
	// Anything that goes wrong before the verdict is printed ends up as a
	// missing verdict, which the harness reports with the console log.
	code := run()
	poweroff(code)
}

func run() (code int) {
	setupFilesystems()
	startHeartbeat()

	s, err := readSpec("/harness.json")
	if err != nil {
		logf("%v", err)
		// Without the nonce no verdict can be printed: the harness will
		// see "no verdict" and show this message from the console log.
		return -1
	}
	defer func() {
		// The verdict goes out last, on a line of its own. The leading
		// newline ends any partial line the command left behind.
		fmt.Fprintf(os.Stdout, "\nRIGHTSIZE-VM-RESULT %s exit=%d\n", s.Nonce, code)
	}()

	enableControllers()

	fmt.Fprintf(os.Stdout, "RIGHTSIZE-VM-START %s uptime=%s\n", s.Nonce, uptime())
	return runCommand(s)
}

// setupFilesystems mounts what a cgroup test expects to find. Each step is
// best effort: a failure is reported on the console and the command still
// runs, so that a test sees (and can report) exactly what is missing.
func setupFilesystems() {
	mounts := []struct {
		source, target, fstype string
		flags                  uintptr
	}{
		{"proc", "/proc", "proc", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC},
		{"sysfs", "/sys", "sysfs", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC},
		// devtmpfs is mounted over the /dev of the initramfs, which holds
		// only /dev/console for the kernel to open before /init starts.
		{"devtmpfs", "/dev", "devtmpfs", syscall.MS_NOSUID},
		{"tmpfs", "/tmp", "tmpfs", syscall.MS_NOSUID | syscall.MS_NODEV},
		// sysfs provides the empty /sys/fs/cgroup mount point.
		{"cgroup2", "/sys/fs/cgroup", "cgroup2", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			logf("mkdir %s: %v", m.target, err)
		}
		if err := syscall.Mount(m.source, m.target, m.fstype, m.flags, ""); err != nil {
			logf("mount %s on %s: %v", m.fstype, m.target, err)
		}
	}
}

// heartbeatPort is the second serial port, which the harness connects to a
// file of its own (qemu -serial file:...), so the beats never mix with the
// command's output on the console (ttyS0).
const heartbeatPort = "/dev/ttyS1"

// heartbeatInterval is the guest time between beats; the harness's
// DefaultHangGrace is many of them.
const heartbeatInterval = time.Second

// startHeartbeat writes the first byte to heartbeatPort now, before the
// start line, then one every heartbeatInterval from a goroutine, for as
// long as /init runs. The beat needs the guest's timers to fire and /init
// to be scheduled: a guest whose timers stopped or whose CPUs do not run
// (both seen under emulation on a loaded host) stops beating, while a test
// that prints nothing for minutes does not. Because the first beat comes
// before the start line, a guest that never beats has no port to beat on
// (the harness says so, and this message is on the console), not a stall.
func startHeartbeat() {
	// O_NONBLOCK: a serial open never waits for a carrier, and a write
	// never blocks /init on a full buffer (the beat is then just late).
	f, err := os.OpenFile(heartbeatPort, os.O_WRONLY|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		logf("heartbeat: %v", err)
		return
	}
	beat := []byte{'.'}
	_, _ = f.Write(beat)
	go func() {
		for {
			time.Sleep(heartbeatInterval)
			_, _ = f.Write(beat)
		}
	}()
}

// enableControllers writes each controller on its own so that one the
// kernel lacks does not stop the others; the test then sees which are on.
func enableControllers() {
	const ctl = "/sys/fs/cgroup/cgroup.subtree_control"
	for _, c := range controllers {
		if err := os.WriteFile(ctl, []byte("+"+c), 0); err != nil {
			logf("enable controller %s in %s: %v", c, ctl, err)
		}
	}
}

func readSpec(path string) (spec, error) {
	var s spec
	b, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("read harness spec: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("parse harness spec %s: %w", path, err)
	}
	if s.Nonce == "" || len(s.Command) == 0 {
		return s, fmt.Errorf("harness spec %s: nonce and command are required", path)
	}
	return s, nil
}

// runCommand runs the test command with the console as its standard output
// and error and returns its exit status the way a shell reports it.
func runCommand(s spec) int {
	cmd := exec.Command(s.Command[0], s.Command[1:]...)
	cmd.Env = s.Env
	cmd.Dir = s.Dir
	cmd.Stdin = nil // /dev/null
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			logf("command killed by signal %v", ws.Signal())
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	default:
		logf("start %q: %v", s.Command[0], err)
		return 127
	}
}

// uptime returns the guest's /proc/uptime, the time since the kernel
// started, which tells how much of a boot the kernel itself took.
func uptime() string {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "unknown"
	}
	return f[0] + "s"
}

// poweroff ends the guest. Power-off goes through ACPI; should it fail,
// a restart also ends qemu because the harness starts it with -no-reboot.
// PID 1 must never return: the kernel would panic ("Attempted to kill
// init"), which also ends qemu, but later and noisily.
func poweroff(code int) {
	syscall.Sync()
	err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	logf("power off (exit %d): %v; trying restart", code, err)
	err = syscall.Reboot(syscall.LINUX_REBOOT_CMD_RESTART)
	logf("restart: %v", err)
	for {
		time.Sleep(time.Hour)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "rightsize-init: "+format+"\n", args...)
}
