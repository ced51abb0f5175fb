//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv/pid1service/svc"
	"github.com/rightsize/rightsize/internal/testenv/runc"
)

// The CLI shows the process-table diagnostics, with the warnings, on a
// real container with leaked zombies: internal/testenv/pid1service is PID
// 1 with the reaper off (RIGHTSIZE_REAPER=off), orphans of a killed exec
// helper become its zombie children, and the static command, started in
// the container with `runc exec` as `kubectl exec` would, describes PID 1
// with --pid 1.

// processesReport is the "processes" section of `rightsize --json`
// (schemaVersion 1, see cmd/rightsize/README.md).
type processesReport struct {
	PID            int  `json:"pid"`
	Processes      *int `json:"processes"`
	Zombies        *int `json:"zombies"`
	Children       *int `json:"children"`
	ZombieChildren *int `json:"zombieChildren"`
	Threads        *int `json:"threads"`
	FDs            *int `json:"fds"`
	FDLimit        *struct {
		Soft *uint64 `json:"soft"`
		Hard *uint64 `json:"hard"`
	} `json:"fdLimit"`
	Reaper *struct {
		Active bool   `json:"active"`
		Mode   string `json:"mode"`
	} `json:"reaper"`
}

// execCLI runs /rightsize args in the container with `runc exec`, as
// `kubectl exec` would, and returns its standard output. It calls runc
// itself rather than runc.Container.Exec, which is made for processes that
// keep running (it fails for one that exits before it reads runc's pid
// file).
func (p *pid1) execCLI(args ...string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bin := os.Getenv("RIGHTSIZE_RUNC")
	if bin == "" {
		bin = "runc"
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"--root", runc.StateRoot, "exec", p.c.ID, "/rightsize"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		p.t.Fatalf("runc exec %s /rightsize %q: %v\nstderr: %s", p.c.ID, args, err, stderr.String())
	}
	return string(out)
}

func TestCLIZombiesPID1(t *testing.T) {
	runc.Require(t)
	cli, _ := binaries(t)
	bin := runc.BuildStatic(t, pid1Package)
	c := runc.Start(t, runc.Config{
		Args:      []string{"/svc", "serve"},
		Files:     map[string]string{"/svc": bin, "/rightsize": cli},
		Env:       []string{"RIGHTSIZE_REAPER=off"},
		PidsLimit: 1024,
		Timeout:   10 * time.Minute,
	})
	p := &pid1{t: t, c: c, client: svc.NewClient(c.Stdin, c.Stdout)}
	r, err := p.client.Ready(time.Minute)
	if err != nil || r.Status == nil || r.Status.PID != 1 {
		t.Fatalf("service not ready as PID 1: %+v, %v\nstderr: %s", r.Status, err, c.Stderr())
	}
	if r.Status.Reaper.Active {
		t.Fatalf("reaper active with RIGHTSIZE_REAPER=off: %+v", r.Status.Reaper)
	}
	p.waitOthers(0, 10*time.Second)

	// Before the leak: PID 1 has no zombie children, and no warning says
	// it has.
	var before report
	decodeProcesses(t, p.execCLI("--json", "--pid", "1"), &before)
	if b := before.Processes; b == nil || b.ZombieChildren == nil || *b.ZombieChildren != 0 {
		t.Fatalf("before the leak: processes %+v", b)
	}
	if anyContains(before.Warnings, "zombie") {
		t.Errorf("before the leak: %q", before.Warnings)
	}

	// Three orphans adopted by PID 1, killed: zombies nothing reaps.
	hosts := p.orphans(3)
	p.killOrphans(hosts)
	deadline := time.Now().Add(30 * time.Second)
	for _, h := range hosts {
		for {
			st, err := svc.ProcStat(h)
			if err == nil && st.State == 'Z' {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("orphan %d is not a zombie: %+v, %v", h, st, err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	status := p.status()
	t.Logf("the service's own table: %+v", status.Table)

	var doc report
	decodeProcesses(t, p.execCLI("--json", "--pid", "1"), &doc)
	pr := doc.Processes
	if pr == nil {
		t.Fatalf("--pid 1: processes = null (unknown %q, warnings %q)", doc.Unknown, doc.Warnings)
	}
	t.Logf("--pid 1: processes %s", mustJSON(pr))
	if pr.PID != 1 {
		t.Errorf("processes.pid = %d, want 1", pr.PID)
	}
	eq(t, "processes.zombieChildren", pr.ZombieChildren, 3)
	eq(t, "processes.children", pr.Children, status.Table.Children)
	// The namespace: the service, its zombies and this command.
	if pr.Zombies == nil || *pr.Zombies != 3 || pr.Processes == nil || *pr.Processes < 5 {
		t.Errorf("processes.processes %v, zombies %v; want at least 5 and exactly 3", deref(pr.Processes), deref(pr.Zombies))
	}
	if pr.Threads == nil || *pr.Threads < 2 || pr.FDs == nil || *pr.FDs < 3 {
		t.Errorf("processes.threads %v, fds %v", deref(pr.Threads), deref(pr.FDs))
	}
	// runc's spec sets RLIMIT_NOFILE 1024/1024 for the service.
	if l := pr.FDLimit; l == nil || l.Soft == nil || *l.Soft != status.Table.FDLimit.Soft || *l.Soft != 1024 {
		t.Errorf("processes.fdLimit = %s, want soft %d as the service reads its own", mustJSON(l), status.Table.FDLimit.Soft)
	}
	if pr.Reaper != nil {
		t.Errorf("processes.reaper = %s with --pid: the command cannot know PID 1's", mustJSON(pr.Reaper))
	}
	const warning = "PID 1 has 3 zombie children: nothing reaps them; see package reaper"
	if !anyContains(doc.Warnings, warning) {
		t.Errorf("no warning %q: %q", warning, doc.Warnings)
	}

	view := p.execCLI("--pid", "1")
	t.Logf("rightsize --pid 1:\n%s", view)
	for _, want := range []string{"Processes    PID 1: ", "3 of them zombies", warning} {
		if !strings.Contains(view, want) {
			t.Errorf("the view lacks %q:\n%s", want, view)
		}
	}

	// Without --pid: the command's own process (not PID 1, no children),
	// the namespace's zombies all the same.
	var own report
	decodeProcesses(t, p.execCLI("--json"), &own)
	if o := own.Processes; o == nil || o.PID == 1 || o.Children == nil || *o.Children != 0 || o.Zombies == nil || *o.Zombies != 3 || o.Reaper == nil {
		t.Errorf("without --pid: processes %s", mustJSON(own.Processes))
	}
	// In a runc container the command knows it is in one, and warns
	// about the namespace's zombies.
	if c := own.Environment.Container; c == nil || !*c {
		t.Errorf("without --pid: environment.container = %s in a runc container, want true", mustJSON(c))
	}
	if !anyContains(own.Warnings, "3 zombie processes in this PID namespace") {
		t.Errorf("without --pid: no warning about the namespace's zombies: %q", own.Warnings)
	}
	if view := p.execCLI(); !strings.Contains(view, "this command's process (PID ") {
		t.Errorf("the view does not say whose process it describes:\n%s", view)
	}
}

func decodeProcesses(t *testing.T, out string, doc *report) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), doc); err != nil || doc.SchemaVersion != 1 {
		t.Fatalf("rightsize --json printed %q: %v", out, err)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
