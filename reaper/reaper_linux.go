//go:build linux

package reaper

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rightsize/rightsize/internal/proctable"
	"github.com/rightsize/rightsize/procfs"
)

// maxBatch bounds the zombies one scan reaps (and the pidfds it keeps); a
// larger backlog is reaped by the next scans, which a full batch starts at
// once.
const maxBatch = 256

type sysState struct {
	scanner   *procfs.Scanner
	zombies   []int // capacity maxBatch
	pidfds    []int // capacity maxBatch
	sigs      chan os.Signal
	subreaper bool
	info      siginfoChild
}

// start decides whether this process reaps, and prepares the scan.
func (s *sysState) start(cfg *config, mode Mode) (string, error) {
	pid := os.Getpid()
	var reason string
	switch {
	case pid == 1:
		reason = "PID 1 of its PID namespace"
	case cfg.subreaper:
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return "", fmt.Errorf("not PID 1 (PID %d), and prctl(PR_SET_CHILD_SUBREAPER): %v", pid, err)
		}
		s.subreaper = true
		reason = "child subreaper (PID " + strconv.Itoa(pid) + ")"
	default:
		// The common case (every process but a container's PID 1), on the
		// blank import's init path: no fmt.
		return "", errors.New("not PID 1 (PID " + strconv.Itoa(pid) + "): orphans go to PID 1 of the namespace, not to this process")
	}
	fail := func(err error) (string, error) {
		s.close()
		return "", err
	}
	sc, err := procfs.NewFS("").NewScanner()
	if err != nil {
		return fail(fmt.Errorf("cannot read /proc: %v", err))
	}
	s.scanner = sc
	if scPID := proctable.PID(sc); scPID != pid {
		return fail(fmt.Errorf("/proc shows this process as PID %d, not %d: it is mounted for another PID namespace, and PIDs read there would name other processes", scPID, pid))
	}
	if mode == ModeOrphans {
		if ok, why := pidfdsProtect(); !ok {
			return fail(fmt.Errorf("os/exec's children cannot be told from orphans: %s; %s=%s (or WithReapAll) reaps every zombie child, see the package documentation", why, EnvReaper, EnvAll))
		}
		reason += "; os/exec's children are known by their pidfds (" + runtime.Version() + ")"
	} else {
		reason += "; every zombie child is reaped, os/exec's included"
	}
	if !proctable.HasChildrenFiles(sc) {
		reason += "; no children files (CONFIG_PROC_CHILDREN): every /proc/<pid>/stat is read"
	}
	s.zombies = make([]int, 0, maxBatch)
	s.pidfds = make([]int, 0, maxBatch)
	s.sigs = make(chan os.Signal, 1)
	signal.Notify(s.sigs, syscall.SIGCHLD)
	return reason, nil
}

func (s *sysState) close() {
	if s.sigs != nil {
		signal.Stop(s.sigs)
	}
	if s.scanner != nil {
		s.scanner.Close()
		s.scanner = nil
	}
	if s.subreaper {
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
		s.subreaper = false
	}
}

// loop scans on every SIGCHLD and every tick until Stop.
func (r *Reaper) loop(interval time.Duration) {
	defer close(r.done)
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-r.stop:
			return
		case <-r.sys.sigs:
		case <-tick:
		}
		for {
			r.mu.Lock()
			n, _ := r.scan()
			r.mu.Unlock()
			if n < maxBatch {
				break
			}
		}
	}
}

// scan reaps the zombie children the mode allows, by PID, and returns how
// many it reaped; r.mu is held. The order is what makes ModeOrphans safe:
// zombies are listed first, pidfds second. A child os/exec started had its
// pidfd before it could exit (clone(2) creates both at once), so a zombie
// seen in the first list has its pidfd in the second unless os/exec has
// waited for it meanwhile, and then the waitid below finds nothing.
func (r *Reaper) scan() (int, error) {
	s := &r.sys
	if s.scanner == nil {
		return 0, nil
	}
	r.scans++
	var err error
	s.zombies, err = proctable.ZombieChildren(s.scanner, s.zombies[:0])
	if err != nil {
		r.fail(err)
		return 0, err
	}
	if len(s.zombies) == 0 {
		return 0, nil
	}
	if len(s.zombies) > maxBatch {
		s.zombies = s.zombies[:maxBatch]
	}
	if r.mode == ModeOrphans {
		s.pidfds, err = proctable.Pidfds(s.scanner, s.pidfds[:0])
		if err != nil {
			// Without the pidfds nothing can be told apart: reap
			// nothing this time.
			r.fail(err)
			return 0, err
		}
	}
	n := 0
	for _, pid := range s.zombies {
		if r.mode == ModeOrphans && contains(s.pidfds, pid) {
			r.left++
			continue
		}
		e, ok, werr := s.reap(pid)
		if werr != nil {
			r.fail(werr)
			continue
		}
		if ok {
			r.record(e)
			n++
		}
	}
	return n, nil
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// siginfoChild is siginfo_t as waitid(2) fills it for a child, as Go's
// internal/syscall/unix has it: signo, errno and code (the last two
// swapped on MIPS), padding to 8 bytes on 64-bit hosts, then pid, uid and
// status, 128 bytes in all.
type siginfoChild struct {
	Signo  int32
	A, B   int32
	_      [is64bit]int32
	Pid    int32
	Uid    uint32
	Status int32
	_      [128 - (6+is64bit)*4]byte
}

const is64bit = ^uint(0) >> 63

// si_code values for SIGCHLD.
const (
	cldExited = 1
	cldKilled = 2
	cldDumped = 3
)

var mips = strings.HasPrefix(runtime.GOARCH, "mips")

// reap waits for the zombie child pid: waitid(P_PID, pid, WEXITED|WNOHANG),
// never -1. ok is false when there was nothing to reap: the child was
// reaped by someone else since the scan (ECHILD), or the PID now names a
// child that has not exited.
func (s *sysState) reap(pid int) (Exit, bool, error) {
	s.info = siginfoChild{}
	for {
		_, _, errno := unix.Syscall6(unix.SYS_WAITID, unix.P_PID, uintptr(pid), uintptr(unsafe.Pointer(&s.info)), unix.WEXITED|unix.WNOHANG, 0, 0)
		switch errno {
		case 0:
		case unix.EINTR:
			continue
		case unix.ECHILD:
			return Exit{}, false, nil
		default:
			return Exit{}, false, fmt.Errorf("waitid(P_PID, %d): %w", pid, errno)
		}
		break
	}
	if s.info.Pid == 0 {
		return Exit{}, false, nil
	}
	code := s.info.B
	if mips {
		code = s.info.A
	}
	e := Exit{PID: int(s.info.Pid), Code: int(s.info.Status), Time: time.Now()}
	if code == cldKilled || code == cldDumped {
		e.Code, e.Signal = -1, int(s.info.Status)
	}
	return e, true, nil
}

// Pidfd protection: whether os.StartProcess holds a pidfd for each child.
// It does from Go 1.23 on, where the os package's own check passes:
// pidfd_open, waitid(P_PIDFD) and pidfd_send_signal work, and clone(2)
// with CLONE_PIDFD does. The same checks are made here, the last through
// syscall.ForkExec (os.StartProcess's own path) asked for a pidfd and
// given a program that cannot exist: ENOENT means the child was cloned
// with its pidfd and failed to exec; an error before that (EINVAL, ENOSYS)
// means clone refused CLONE_PIDFD. The answer is computed once.
var pidfdsProtect = sync.OnceValues(func() (bool, string) {
	if !osKeepsPidfds {
		return false, "built with " + runtime.Version() + ": os.StartProcess keeps no pidfd before Go 1.23"
	}
	fd, _, errno := unix.Syscall(unix.SYS_PIDFD_OPEN, uintptr(os.Getpid()), 0, 0)
	if errno != 0 {
		return false, "pidfd_open: " + errno.Error() + " (a kernel before 5.3, or a seccomp filter): os.StartProcess keeps no pidfd"
	}
	defer unix.Close(int(fd))
	var info siginfoChild
	_, _, errno = unix.Syscall6(unix.SYS_WAITID, unix.P_PIDFD, fd, uintptr(unsafe.Pointer(&info)), unix.WEXITED, 0, 0)
	if errno != unix.ECHILD {
		return false, "waitid(P_PIDFD) answered " + errno.Error() + ", not ECHILD (a kernel before 5.4?): os.StartProcess keeps no pidfd"
	}
	if _, _, errno = unix.Syscall6(unix.SYS_PIDFD_SEND_SIGNAL, fd, 0, 0, 0, 0, 0); errno != 0 {
		return false, "pidfd_send_signal: " + errno.Error() + ": os.StartProcess keeps no pidfd"
	}
	pidfd := -1
	_, err := syscall.ForkExec("/proc/self/rightsize-reaper-pidfd-probe", []string{"probe"}, &syscall.ProcAttr{
		Sys: &syscall.SysProcAttr{PidFD: &pidfd},
	})
	if pidfd >= 0 {
		_ = unix.Close(pidfd)
	}
	if !errors.Is(err, syscall.ENOENT) {
		return false, fmt.Sprintf("clone(CLONE_PIDFD) probe: %v: os.StartProcess keeps no pidfd", err)
	}
	return true, ""
})
