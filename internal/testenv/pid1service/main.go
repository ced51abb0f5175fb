//go:build linux

// Command pid1service is a Go service for the reaper's tests, meant to
// run as PID 1 of a container (or of a PID namespace): it starts the
// reaper (package reaper; RIGHTSIZE_REAPER=off switches it off) and runs
// os/exec commands on request, checking that each one's Wait returns the
// child's real status. The same static binary is the helpers the tests
// need inside the container, where nothing else exists:
//
//	pid1service serve [-mount-proc]  the service (see below)
//	pid1service spawn N D            start N children that sleep D, print
//	                                 their PIDs as JSON, then block until
//	                                 killed: a timed-out exec probe whose
//	                                 children outlive it
//	pid1service leak N               make up to N orphans that exit at
//	                                 once, each by a child that starts it
//	                                 and exits (a double fork), so that
//	                                 they go to PID 1 while this spawner
//	                                 lives; stop after 3 failures in a
//	                                 row (the pids limit). Then, if it
//	                                 stopped there, fill what is left
//	                                 with raw double forks (orphans that
//	                                 need one PID each, no Go middle) and
//	                                 the last PID with a zombie child of
//	                                 its own. Print the orphans' PIDs and
//	                                 the counts, block until killed
//	pid1service orphan               start "exit 0" and exit at once
//	                                 (the middle of the double fork)
//	pid1service sleep D              sleep D
//	pid1service exit K               exit with status K
//
// The service reads requests on standard input, one a line, "<id> <cmd>
// [args]", handles each in its own goroutine and answers with one JSON
// line (svc.Response) carrying the id:
//
//	status       the reaper's state and the process table
//	exec N C     run N commands with C workers, a mix of: exit K (Run),
//	             sleep 10s killed (Start, Kill, Wait), sleep 20ms waited
//	             60ms late (Start, sleep, Wait), exit 0 (Run); report
//	             every Wait that failed with ECHILD or returned a wrong
//	             status
//	fork N       start N commands (exit 0) one after the other and report
//	             how many failed, and how many with EAGAIN
//
// Its first line is a "ready" response with the status. It exits when its
// standard input ends. With -mount-proc (for a new PID and mount
// namespace, as the qemu guest test starts it) it first mounts a /proc of
// its own PID namespace.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rightsize/rightsize/internal/testenv/pid1service/svc"
	"github.com/rightsize/rightsize/procfs"
	"github.com/rightsize/rightsize/reaper"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pid1service serve|spawn|leak|sleep|exit ...")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "exit":
		n, _ := strconv.Atoi(arg(args, 0))
		os.Exit(n)
	case "sleep":
		d, _ := time.ParseDuration(arg(args, 0))
		time.Sleep(d)
	case "spawn":
		n, _ := strconv.Atoi(arg(args, 0))
		spawn(n, arg(args, 1))
	case "leak":
		n, _ := strconv.Atoi(arg(args, 0))
		leak(n)
	case "orphan":
		c := self("exit", "0")
		if err := c.Start(); err != nil {
			fmt.Println(err)
			if errors.Is(err, syscall.EAGAIN) {
				os.Exit(3)
			}
			os.Exit(4)
		}
		fmt.Println(c.Process.Pid)
	case "serve":
		serve(args)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
}

func arg(a []string, i int) string {
	if i < len(a) {
		return a[i]
	}
	return ""
}

func self(args ...string) *exec.Cmd { return exec.Command("/proc/self/exe", args...) }

// spawn starts n children that sleep d and prints their PIDs. Then it
// blocks until it is killed.
func spawn(n int, d string) {
	var out svc.Spawned
	for i := 0; i < n; i++ {
		c := self("sleep", d)
		if err := c.Start(); err != nil {
			out.Errors++
			if errors.Is(err, syscall.EAGAIN) {
				out.EAGAIN++
			}
			if out.FirstError == "" {
				out.FirstError = err.Error()
			}
			continue
		}
		out.PIDs = append(out.PIDs, c.Process.Pid)
	}
	printAndBlock(out)
}

func printAndBlock(out svc.Spawned) {
	b, _ := json.Marshal(out)
	os.Stdout.Write(append(b, '\n'))
	for {
		time.Sleep(time.Hour)
	}
}

// leak makes up to n orphans, one at a time, each through a middle child
// ("orphan") that starts it and exits: the orphan goes to PID 1 while
// the spawner lives on. Three failures in a row (the middle child cannot
// be started, or cannot start the orphan) end it.
func leak(n int) {
	var out svc.Spawned
	fails := 0
	for i := 0; i < n && fails < 3; i++ {
		b, err := self("orphan").Output()
		if err == nil {
			p, perr := strconv.Atoi(strings.TrimSpace(string(b)))
			if perr == nil {
				out.PIDs = append(out.PIDs, p)
				fails = 0
				continue
			}
			err = fmt.Errorf("middle child printed %q", b)
		}
		fails++
		out.Errors++
		var ee *exec.ExitError
		if errors.Is(err, syscall.EAGAIN) || (errors.As(err, &ee) && ee.ExitCode() == 3) {
			out.EAGAIN++
		}
		if out.FirstError == "" {
			out.FirstError = fmt.Sprintf("%v %s", err, b)
		}
	}
	if fails < 3 {
		printAndBlock(out) // the limit was not reached
	}
	// The limit leaves no room for a Go middle child: fill the rest.
	for fails = 0; fails < 3; {
		pid, err := rawDoubleFork()
		if err != nil {
			fails++
			continue
		}
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, 0, nil)
		if ws.ExitStatus() != 0 {
			fails++
			continue
		}
		fails = 0
		out.RawOrphans++
	}
	for i := 0; i < 8; i++ {
		if _, err := rawZombie(); err != nil {
			break
		}
		out.OwnZombies++
	}
	printAndBlock(out)
}

type service struct {
	r   *reaper.Reaper
	mu  sync.Mutex
	enc *json.Encoder
}

func serve(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	mountProc := fs.Bool("mount-proc", false, "mount a /proc of this PID namespace first")
	_ = fs.Parse(args)
	if *mountProc {
		if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
			fatal("make / private: %v", err)
		}
		if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
			fatal("mount /proc: %v", err)
		}
	}
	r, err := reaper.Start()
	if err != nil {
		fatal("reaper.Start: %v", err)
	}
	s := &service{r: r, enc: json.NewEncoder(os.Stdout)}
	s.reply(svc.Response{ID: "start", Event: "ready", Status: s.status()})
	in := bufio.NewScanner(os.Stdin)
	var wg sync.WaitGroup
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) < 2 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handle(f[0], f[1], f[2:])
		}()
	}
	wg.Wait()
}

func fatal(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "pid1service: "+format+"\n", a...)
	os.Exit(1)
}

func (s *service) reply(r svc.Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.enc.Encode(r)
}

func (s *service) status() *svc.Status {
	st := s.r.Stats()
	out := &svc.Status{PID: os.Getpid(), GoVersion: runtime.Version(), Reaper: svc.Reaper{
		Active: st.Active, Mode: st.Mode.String(), Reason: st.Reason, Reaped: st.Reaped,
		Left: st.Left, Scans: st.Scans, Errors: st.Errors, LastError: st.LastError,
	}}
	t, err := procfs.NewFS("").ProcessTable()
	out.Table = t
	if err != nil {
		out.TableError = err.Error()
	}
	return out
}

func (s *service) handle(id, cmd string, args []string) {
	resp := svc.Response{ID: id, Event: cmd}
	switch cmd {
	case "status":
		resp.Status = s.status()
	case "exec":
		n, _ := strconv.Atoi(arg(args, 0))
		c, _ := strconv.Atoi(arg(args, 1))
		resp.Exec = execLoop(n, max(c, 1))
	case "fork":
		n, _ := strconv.Atoi(arg(args, 0))
		resp.Fork = forks(n)
	default:
		resp.Error = "unknown request " + cmd
	}
	s.reply(resp)
}

// execLoop runs n commands with c workers and checks each status.
func execLoop(n, c int) *svc.ExecReport {
	start := time.Now()
	rep := &svc.ExecReport{Total: n}
	var mu sync.Mutex
	note := func(f func()) { mu.Lock(); f(); mu.Unlock() }
	errorf := func(format string, a ...any) {
		if len(rep.Errors) < 10 {
			rep.Errors = append(rep.Errors, fmt.Sprintf(format, a...))
		}
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				one(i, rep, note, errorf)
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	rep.Millis = time.Since(start).Milliseconds()
	return rep
}

// one runs command i of the mix and records how its Wait went.
func one(i int, rep *svc.ExecReport, note func(func()), errorf func(string, ...any)) {
	var cmd *exec.Cmd
	wantCode, wantSignal := 0, syscall.Signal(0)
	kind := i % 4
	switch kind {
	case 0:
		wantCode = i % 7
		cmd = self("exit", strconv.Itoa(wantCode))
	case 1:
		cmd, wantCode, wantSignal = self("sleep", "10s"), -1, syscall.SIGKILL
	case 2:
		cmd = self("sleep", "20ms")
	case 3:
		cmd = self("exit", "0")
	}
	if err := cmd.Start(); err != nil {
		note(func() {
			rep.StartErrors++
			if errors.Is(err, syscall.EAGAIN) {
				rep.EAGAIN++
			}
			errorf("start %d: %v", i, err)
		})
		return
	}
	switch kind {
	case 1:
		_ = cmd.Process.Kill()
	case 2:
		// The child exits after 20ms and stays a zombie, its pidfd
		// held, until this late Wait.
		time.Sleep(60 * time.Millisecond)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		note(func() {
			if errors.Is(err, syscall.ECHILD) {
				rep.ECHILD++
			} else {
				rep.Wrong++
			}
			errorf("wait %d (%s): %v", i, strings.Join(cmd.Args[1:], " "), err)
		})
		return
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	gotSignal := syscall.Signal(0)
	if ws.Signaled() {
		gotSignal = ws.Signal()
	}
	code := cmd.ProcessState.ExitCode()
	note(func() {
		if code != wantCode || gotSignal != wantSignal {
			rep.Wrong++
			errorf("%d (%s): exit %d signal %v, want %d %v", i, strings.Join(cmd.Args[1:], " "), code, gotSignal, wantCode, wantSignal)
			return
		}
		rep.OK++
		switch kind {
		case 1:
			rep.Killed++
		case 2:
			rep.Late++
		}
	})
}

// forks starts n commands one after the other.
func forks(n int) *svc.ForkReport {
	rep := &svc.ForkReport{}
	for i := 0; i < n; i++ {
		err := self("exit", "0").Run()
		switch {
		case err == nil:
			rep.OK++
		case errors.Is(err, syscall.EAGAIN):
			rep.EAGAIN++
		default:
			rep.Other++
		}
		if err != nil && len(rep.Errors) < 5 {
			rep.Errors = append(rep.Errors, err.Error())
		}
	}
	return rep
}
