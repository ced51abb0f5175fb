package main

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"syscall"

	"github.com/rightsize/rightsize/procfs"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// The "processes" section: the process table as one process sees it. By
// default that process is the one the Reader reads as "self": this
// command's own process when live, the process that ran the capture under
// --root. --pid N describes process N instead, through a procfs.Scanner of
// that process: the same reads as the Reader's.

// processFields are the fields of the section, for "unknown".
var processFields = []string{
	"processes.processes", "processes.zombies", "processes.children", "processes.zombieChildren",
	"processes.threads", "processes.fds", "processes.fdLimit",
}

var (
	childFields    = []string{"processes.children", "processes.zombieChildren"}
	statFieldsProc = []string{"processes.processes", "processes.zombies", "processes.children", "processes.zombieChildren", "processes.threads"}
)

// maxProcEntries bounds the listing of /proc (pid_max is at most 2^22)
// and of a process's fd directory.
const maxProcEntries = 1<<22 + 64

// near reports whether v is within 10% of limit: at least 90% of it
// (limit - floor(limit/10) is ceil(0.9 × limit), without overflow).
func near(v, limit uint64) bool {
	return limit > 0 && v >= limit-limit/10
}

// processTable fills the section from the snapshot's process table (self)
// or, with --pid, from process N's files. It runs before the errors are
// attributed: the snapshot's errors about the process table's files name
// the fields they leave unknown (fieldsOf).
func (c *collector) processTable(snap *runtimeinfo.Snapshot) {
	if c.src.pid > 0 {
		c.pidTable(c.src.pid)
		return
	}
	if !snap.HasProcessTable && !snap.ProcessTable.HasProcesses && !snap.ProcessTable.HasFDLimit {
		return
	}
	var rp *reaperState
	if c.src.live {
		r := snap.Reaper
		rp = &reaperState{Active: r.Active, Mode: r.Mode, Reason: r.Reason, Reaped: r.Reaped}
	}
	c.publishTable(&snap.ProcessTable, rp)
}

// publishTable copies t into the report when any of it is known.
func (c *collector) publishTable(t *procfs.ProcessTable, rp *reaperState) {
	if !t.HasProcesses && !t.HasChildren && !t.HasThreads && !t.HasFDs && !t.HasFDLimit {
		return
	}
	p := &processes{PID: t.PID, Reaper: rp}
	if t.HasProcesses {
		p.Processes, p.Zombies = ptr(t.Processes), ptr(t.Zombies)
	}
	if t.HasChildren {
		p.Children, p.ZombieChildren = ptr(t.Children), ptr(t.ZombieChildren)
	}
	if t.HasThreads {
		p.Threads = ptr(t.Threads)
	}
	if t.HasFDs {
		p.FDs = ptr(t.FDs)
	}
	if t.HasFDLimit {
		p.FDLimit = &fdLimit{Soft: limitOrNil(t.FDLimit.Soft), Hard: limitOrNil(t.FDLimit.Hard)}
	}
	c.s.report.Processes = p
}

func limitOrNil(v uint64) *uint64 {
	if v == procfs.Unlimited {
		return nil
	}
	return &v
}

// pidTable fills the section with process pid's share of the process
// table, read by a procfs.Scanner of that process (procfs.NewScannerOf):
// the same reads, in the same order, as the Reader's table of "self". Each
// error leaves unknown the fields its file feeds; one that names no file
// of the table leaves unknown whatever is missing.
func (c *collector) pidTable(pid int) {
	sc, err := procfs.NewFS(c.src.root.Dir()).NewScannerOf(pid)
	if err != nil {
		c.fail(err, append([]string{"processes"}, processFields...)...)
		return
	}
	defer sc.Close()
	var t procfs.ProcessTable
	err = sc.ProcessTable(&t)
	c.publishTable(&t, nil)
	for _, e := range flatten(err) {
		fields := processFieldsOf(c.relPath(e))
		if fields == nil {
			fields = processFields // fail marks only the fields left null
		}
		c.fail(e, fields...)
	}
}

// vanished reports whether err means the process is gone: its directory
// no longer exists, or it was reaped between open and read (procfs's rule,
// which it does not export).
func vanished(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

// processFieldsOf names the fields a file of the process table feeds
// (rel is a path inside the root), or nil for another file. The process
// the table describes is /proc/self, or /proc/<pid> with --pid.
func processFieldsOf(rel string) []string {
	if rel == "/proc" {
		return append([]string{"processes"}, processFields...)
	}
	rest, ok := strings.CutPrefix(rel, "/proc/")
	if !ok {
		return nil
	}
	proc, file, _ := strings.Cut(rest, "/")
	if proc != "self" && (proc == "" || strings.Trim(proc, "0123456789") != "") {
		return nil
	}
	switch {
	case file == "stat" && proc == "self":
		return append([]string{"processes"}, processFields...)
	case file == "stat":
		return statFieldsProc
	case file == "limits":
		return []string{"processes.fdLimit"}
	case file == "fd" || file == "fdinfo" || strings.HasPrefix(file, "fd/") || strings.HasPrefix(file, "fdinfo/"):
		return []string{"processes.fds"}
	case file == "task" || strings.HasPrefix(file, "task/"):
		return childFields
	}
	return nil
}

// isNullProcess reports whether a field of the section is null.
func (c *collector) isNullProcess(field string) (null, ok bool) {
	p := c.s.report.Processes
	if field == "processes" {
		return p == nil, true
	}
	if !strings.HasPrefix(field, "processes.") {
		return false, false
	}
	if p == nil {
		return true, true
	}
	switch field {
	case "processes.processes":
		return p.Processes == nil, true
	case "processes.zombies":
		return p.Zombies == nil, true
	case "processes.children":
		return p.Children == nil, true
	case "processes.zombieChildren":
		return p.ZombieChildren == nil, true
	case "processes.threads":
		return p.Threads == nil, true
	case "processes.fds":
		return p.FDs == nil, true
	case "processes.fdLimit":
		return p.FDLimit == nil, true
	}
	return false, true
}

// finishProcesses lists a section that could not be read at all as
// "processes" rather than field by field.
func (c *collector) finishProcesses() {
	u := c.s.unknown
	if c.s.report.Processes != nil {
		delete(u, "processes")
		return
	}
	for _, f := range processFields {
		if u[f] {
			delete(u, f)
			u["processes"] = true
		}
	}
}

// processWarnings warns about what is within 10% of its limit, and about
// zombies that PID 1 does not reap.
func (c *collector) processWarnings() {
	r := &c.s.report
	if r.PIDs.Limit != nil && *r.PIDs.Limit > 0 && r.PIDs.Current != nil && *r.PIDs.Current >= 0 {
		cur, max := uint64(*r.PIDs.Current), uint64(*r.PIDs.Limit)
		if near(cur, max) {
			c.warn("pids.current " + strconv.FormatUint(cur, 10) + " is within 10% of pids.max " + strconv.FormatUint(max, 10) +
				": at the limit fork and clone fail (EAGAIN); every thread and zombie counts")
		}
	}
	p := r.Processes
	if p == nil {
		return
	}
	who := c.s.processName()
	if r.PIDs.Limit != nil && *r.PIDs.Limit > 0 && p.Threads != nil && near(uint64(*p.Threads), uint64(*r.PIDs.Limit)) {
		c.warn(who + " has " + strconv.Itoa(*p.Threads) + " threads, within 10% of pids.max " + strconv.FormatInt(*r.PIDs.Limit, 10) +
			" (each thread counts)")
	}
	if p.FDs != nil && p.FDLimit != nil && p.FDLimit.Soft != nil && near(uint64(*p.FDs), *p.FDLimit.Soft) {
		c.warn(who + " has " + strconv.Itoa(*p.FDs) + " open file descriptors, within 10% of its soft RLIMIT_NOFILE " +
			strconv.FormatUint(*p.FDLimit.Soft, 10) + ": at the limit opening one fails (EMFILE)")
	}
	switch {
	case p.PID == 1 && p.ZombieChildren != nil && *p.ZombieChildren > 0:
		c.warn("PID 1 has " + plural(uint64(*p.ZombieChildren), "zombie child", "zombie children") + ": nothing reaps them; see package reaper")
	case p.PID != 1 && p.Zombies != nil && *p.Zombies > 0 && r.Environment.Container:
		c.warn(plural(uint64(*p.Zombies), "zombie process", "zombie processes") + " in this PID namespace: rightsize --pid 1 shows whether PID 1 leaves them unreaped")
	}
}

// processName names the process the section describes.
func (s *sample) processName() string {
	p := s.report.Processes
	switch {
	case p == nil:
		return ""
	case s.pidFlag:
		return "PID " + strconv.Itoa(p.PID)
	case s.live:
		return "this command's process (PID " + strconv.Itoa(p.PID) + ")"
	}
	return "the captured process (PID " + strconv.Itoa(p.PID) + ")"
}
