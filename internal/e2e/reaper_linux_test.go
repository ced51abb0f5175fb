//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv/pid1service/svc"
	"github.com/rightsize/rightsize/internal/testenv/qemu"
	"github.com/rightsize/rightsize/internal/testenv/runc"
	"github.com/rightsize/rightsize/procfs"
)

// The reaper on real containers. internal/testenv/pid1service, a Go
// service that starts package reaper, is PID 1 of a runc container. A
// helper started in the container with `runc exec`, the way the kubelet
// runs an exec probe, starts children and is killed from the host, as a
// timed-out probe is: its children are orphans, re-parented to PID 1.
// Killed in turn, they are zombies that only PID 1 can reap. Meanwhile the
// service runs os/exec commands, each of which must get its real exit
// status.

const pid1Package = "github.com/rightsize/rightsize/internal/testenv/pid1service"

// pid1 is a running service container.
type pid1 struct {
	t      *testing.T
	c      *runc.Container
	client *svc.Client
	ready  svc.Status
}

func startPID1(t *testing.T, cfg runc.Config, env ...string) *pid1 {
	t.Helper()
	runc.Require(t)
	bin := runc.BuildStatic(t, pid1Package)
	cfg.Args = []string{"/svc", "serve"}
	cfg.Files = map[string]string{"/svc": bin}
	cfg.Env = env
	cfg.Timeout = 10 * time.Minute
	c := runc.Start(t, cfg)
	p := &pid1{t: t, c: c, client: svc.NewClient(c.Stdin, c.Stdout)}
	r, err := p.client.Ready(time.Minute)
	if err != nil || r.Status == nil {
		t.Fatalf("service not ready: %v\nstderr: %s", err, c.Stderr())
	}
	p.ready = *r.Status
	if p.ready.PID != 1 {
		t.Fatalf("service is PID %d, not 1", p.ready.PID)
	}
	t.Logf("service ready (%s): reaper active %v, mode %s: %s", p.ready.GoVersion, p.ready.Reaper.Active, p.ready.Reaper.Mode, p.ready.Reaper.Reason)
	return p
}

func (p *pid1) status() svc.Status {
	p.t.Helper()
	r, err := p.client.Do("status", time.Minute)
	if err != nil || r.Status == nil {
		p.t.Fatalf("status: %v\nstderr: %s", err, p.c.Stderr())
	}
	return *r.Status
}

func (p *pid1) pidsFile(name string) string { return filepath.Join(p.c.CgroupDir("pids"), name) }

// others returns pids.current less the service's own threads: the tasks
// of the container that are not PID 1 (helpers, children, zombies).
func (p *pid1) others() (current, others int64) {
	p.t.Helper()
	for i := 0; ; i++ {
		cur, err := svc.ReadInt(p.pidsFile("pids.current"))
		if err != nil {
			p.t.Fatal(err)
		}
		st, err := procfs.NewFS("").Status(strconv.Itoa(p.c.Pid))
		if err != nil {
			p.t.Fatal(err)
		}
		again, _ := svc.ReadInt(p.pidsFile("pids.current"))
		if again == cur || i == 10 { // not mid-change
			return cur, cur - int64(st.Threads)
		}
	}
}

// waitOthers waits until the container holds want tasks besides PID 1's.
func (p *pid1) waitOthers(want int64, within time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		cur, o := p.others()
		if o == want {
			p.t.Logf("pids.current %d: the service's %d threads and %d other tasks", cur, cur-o, o)
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("pids.current %d: %d tasks besides the service's threads after %v, want %d", cur, o, within, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// execHelper runs /svc args in the container with `runc exec` and reads
// the helper's one line of JSON.
func (p *pid1) execHelper(args ...string) (*runc.Exec, svc.Spawned, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	e, err := p.c.Exec(ctx, append([]string{"/svc"}, args...)...)
	if err != nil {
		cancel()
		return nil, svc.Spawned{}, err
	}
	type line struct {
		b   []byte
		err error
	}
	got := make(chan line, 1)
	go func() { b, err := e.Stdout.ReadBytes('\n'); got <- line{b, err} }()
	var out svc.Spawned
	select {
	case l := <-got:
		if l.err != nil {
			err = fmt.Errorf("helper %q: %v: %s", args, l.err, e.Stderr())
		} else {
			err = json.Unmarshal(l.b, &out)
		}
	case <-time.After(2 * time.Minute):
		err = fmt.Errorf("helper %q: no output after 2 minutes", args)
	}
	if err != nil {
		p.killHost(e.Pid)
		_ = e.Wait()
		cancel()
		return nil, out, err
	}
	go func() { _ = e.Wait(); cancel() }()
	return e, out, nil
}

// killHost kills a host process of the container with SIGKILL, through a
// pidfd so that a reused PID is never hit.
func (p *pid1) killHost(host int) {
	p.t.Helper()
	ns, err := svc.NSpid(host)
	if err != nil {
		p.t.Fatalf("process %d: %v", host, err)
	}
	if err := svc.Kill(host, ns[len(ns)-1], syscall.SIGKILL); err != nil {
		p.t.Fatalf("kill %d: %v", host, err)
	}
}

// orphans has a helper start n sleeping children, then kills the helper
// from the host: the children are orphans, adopted by PID 1. It returns
// their PIDs inside (keys) and on the host.
func (p *pid1) orphans(n int) map[int]int {
	p.t.Helper()
	e, out, err := p.execHelper("spawn", strconv.Itoa(n), "1h")
	if err != nil {
		p.t.Fatal(err)
	}
	if len(out.PIDs) != n {
		p.t.Fatalf("spawn: %+v", out)
	}
	p.killHost(e.Pid)
	hosts, err := svc.HostPIDs(p.pidsFile("cgroup.procs"), out.PIDs)
	if err != nil || len(hosts) != n {
		p.t.Fatalf("host PIDs of %v: %v, %v", out.PIDs, hosts, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, h := range hosts {
		for {
			st, err := svc.ProcStat(h)
			if err == nil && st.PPID == p.c.Pid {
				break
			}
			if time.Now().After(deadline) {
				p.t.Fatalf("orphan %d not adopted by PID 1 (host %d): %+v, %v", h, p.c.Pid, st, err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return hosts
}

// killOrphans kills the adopted orphans and returns when they were
// killed.
func (p *pid1) killOrphans(hosts map[int]int) time.Time {
	p.t.Helper()
	start := time.Now()
	for in, h := range hosts {
		if err := svc.Kill(h, in, syscall.SIGKILL); err != nil {
			p.t.Fatal(err)
		}
	}
	return start
}

// TestReaperPID1 is the scenario with the reaper: orphans of
// killed exec helpers are reaped within a second, pids.current returns to
// its baseline, and 1,000 os/exec commands run at the same time all get
// their real exit status.
func TestReaperPID1(t *testing.T) {
	// Reaping latency is measured: no emulated guest meanwhile.
	qemu.Exclusive(t)
	p := startPID1(t, runc.Config{PidsLimit: 1024})
	if !p.ready.Reaper.Active || p.ready.Reaper.Mode != "orphans" {
		t.Fatalf("reaper not active in orphans mode: %+v", p.ready.Reaper)
	}
	p.waitOthers(0, 10*time.Second)

	const commands, workers = 1000, 8
	execDone, err := p.client.Send(fmt.Sprintf("exec %d %d", commands, workers))
	if err != nil {
		t.Fatal(err)
	}
	const rounds, perRound = 5, 3
	var lat []time.Duration
	var duringExec int
	var execEnded bool
	var execResp svc.Response
	for round := 0; round < rounds; round++ {
		hosts := p.orphans(perRound)
		start := p.killOrphans(hosts)
		deadline := start.Add(time.Second)
		for _, h := range hosts {
			for !svc.Gone(h) {
				if time.Now().After(deadline) {
					st, _ := svc.ProcStat(h)
					t.Fatalf("round %d: orphan %d not reaped within 1s of SIGKILL: %+v", round, h, st)
				}
				time.Sleep(500 * time.Microsecond)
			}
		}
		lat = append(lat, time.Since(start))
		if !execEnded {
			select {
			case execResp = <-execDone:
				execEnded = true
			default:
				duringExec++
			}
		}
	}
	if duringExec == 0 {
		t.Error("the exec loop ended before the first orphan round was reaped: nothing ran concurrently")
	}
	r := execResp
	if !execEnded {
		r, err = p.client.Await(execDone, 5*time.Minute)
	}
	if err != nil || r.Exec == nil {
		t.Fatalf("exec: no report (event %q), %v\nstderr: %s", r.Event, err, p.c.Stderr())
	}
	x := r.Exec
	t.Logf("os/exec: %d commands in %d ms: %d right statuses (%d killed, %d waited late), %d wrong, %d ECHILD, %d start errors; errors %q",
		x.Total, x.Millis, x.OK, x.Killed, x.Late, x.Wrong, x.ECHILD, x.StartErrors, x.Errors)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("%d orphans in %d rounds (%d of them during the exec loop): SIGKILL to reaped, per round (3 orphans): min %v, median %v, max %v",
		rounds*perRound, rounds, duringExec, lat[0], lat[len(lat)/2], lat[len(lat)-1])
	if x.OK != commands || x.Wrong != 0 || x.ECHILD != 0 || x.StartErrors != 0 {
		t.Errorf("os/exec: %d of %d right, %d wrong, %d ECHILD, %d start errors", x.OK, commands, x.Wrong, x.ECHILD, x.StartErrors)
	}
	st := p.status()
	t.Logf("reaper: reaped %d, left %d (os/exec zombies seen and left to Wait), %d scans, %d errors; table %+v", st.Reaper.Reaped, st.Reaper.Left, st.Reaper.Scans, st.Reaper.Errors, st.Table)
	if st.Reaper.Reaped != rounds*perRound {
		t.Errorf("reaped %d, want exactly the %d orphans", st.Reaper.Reaped, rounds*perRound)
	}
	if st.Table.ZombieChildren != 0 || st.Table.Zombies != 0 {
		t.Errorf("zombies left: %+v", st.Table)
	}
	p.waitOthers(0, 10*time.Second)
}

// TestReaperOff is the same scenario with RIGHTSIZE_REAPER=off: the
// killed orphans stay zombies, children of PID 1, holding their PIDs.
func TestReaperOff(t *testing.T) {
	p := startPID1(t, runc.Config{PidsLimit: 1024}, "RIGHTSIZE_REAPER=off")
	if p.ready.Reaper.Active || !strings.Contains(p.ready.Reaper.Reason, "RIGHTSIZE_REAPER=off") {
		t.Fatalf("reaper: %+v", p.ready.Reaper)
	}
	p.waitOthers(0, 10*time.Second)
	hosts := p.orphans(3)
	p.killOrphans(hosts)
	// They become zombies, and stay: watch them for 1.5 s, longer than
	// the reaper takes.
	until := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(until) {
		for _, h := range hosts {
			st, err := svc.ProcStat(h)
			if err != nil || (st.State != 'Z' && time.Until(until) < time.Second) || st.PPID != p.c.Pid {
				t.Fatalf("orphan %d: %+v, %v; want a zombie child of PID 1", h, st, err)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := p.status()
	t.Logf("without the reaper: table %+v", st.Table)
	if st.Table.ZombieChildren != 3 || st.Table.Zombies != 3 {
		t.Errorf("zombies: %+v, want 3", st.Table)
	}
	p.waitOthers(3, 5*time.Second)
	r, err := p.client.Do("exec 40 4", 2*time.Minute)
	if err != nil || r.Exec == nil {
		t.Fatalf("os/exec without the reaper: no report (event %q), %v\nstderr: %s", r.Event, err, p.c.Stderr())
	}
	if r.Exec.OK != 40 {
		t.Errorf("os/exec without the reaper: %+v", r.Exec)
	}
}

// TestReaperPidsMax: under pids.max 64, orphans that nobody reaps fill
// the cgroup and the service can no longer start commands; with the
// reaper the same leak costs nothing.
func TestReaperPidsMax(t *testing.T) {
	const limit, leak = 64, 120
	for _, on := range []bool{false, true} {
		t.Run(map[bool]string{false: "off", true: "on"}[on], func(t *testing.T) {
			var env []string
			if !on {
				env = []string{"RIGHTSIZE_REAPER=off"}
			}
			p := startPID1(t, runc.Config{PidsLimit: limit}, env...)
			// Warm up: the threads the runtime needs to run commands
			// exist before the leak.
			if r, err := p.client.Do("exec 20 4", 2*time.Minute); err != nil || r.Exec == nil || r.Exec.OK != 20 {
				t.Fatalf("warm-up: %+v, %v\nstderr: %s", r.Exec, err, p.c.Stderr())
			}
			_, base := p.others()
			e, out, err := p.execHelper("leak", strconv.Itoa(leak))
			if err != nil {
				t.Fatal(err)
			}
			cur, others := p.others()
			max, _ := svc.ReadInt(p.pidsFile("pids.max"))
			events, _ := readFileString(p.pidsFile("pids.events"))
			t.Logf("leak of %d orphans: %d made, %d failed (%d EAGAIN, first: %q), then %d raw orphans and %d zombies of the helper's own to fill the rest; pids.current %d of %d (%d besides the service, %d before); pids.events %q",
				leak, len(out.PIDs), out.Errors, out.EAGAIN, out.FirstError, out.RawOrphans, out.OwnZombies, cur, max, others, base, strings.TrimSpace(events))
			r, err := p.client.Do("fork 5", time.Minute)
			if err != nil || r.Fork == nil {
				t.Fatalf("fork: %v\nstderr: %s", err, p.c.Stderr())
			}
			f := r.Fork
			st := p.status()
			t.Logf("service: fork 5: %d ok, %d EAGAIN, %d other %q; zombies %d (children %d), reaped %d", f.OK, f.EAGAIN, f.Other, f.Errors, st.Table.Zombies, st.Table.ZombieChildren, st.Reaper.Reaped)
			p.killHost(e.Pid)
			if on {
				if out.Errors != 0 || len(out.PIDs) != leak || f.OK != 5 {
					t.Errorf("with the reaper: %d orphans made, %d failures; fork %+v", len(out.PIDs), out.Errors, f)
				}
				if st.Reaper.Reaped < leak {
					t.Errorf("reaped %d, want %d", st.Reaper.Reaped, leak)
				}
				p.waitOthers(0, 10*time.Second)
				return
			}
			if out.EAGAIN == 0 || f.OK == 5 || f.EAGAIN == 0 {
				t.Errorf("without the reaper the leak should fill pids.max and fork should fail with EAGAIN: leak %+v, fork %+v", out, f)
			}
			if st.Table.ZombieChildren < limit/2 {
				t.Errorf("only %d zombie children", st.Table.ZombieChildren)
			}
		})
	}
}

func readFileString(name string) (string, error) {
	b, err := os.ReadFile(name)
	return string(b), err
}
