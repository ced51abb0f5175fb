package main

import (
	"errors"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"syscall"

	"github.com/rightsize/rightsize/procfs"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// The "processes" section: the process table as one process sees it. By
// default that process is the one the Reader reads as "self": this
// command's own process when live, the process that ran the capture under
// --root. --pid N describes process N instead, computed here from the
// parts procfs exposes (its stat and limits, the stat of every process,
// its fd directory), since procfs.Scanner reads "self" only.

// processFields are the fields of the section, for "unknown".
var processFields = []string{
	"processes.processes", "processes.zombies", "processes.children", "processes.zombieChildren",
	"processes.threads", "processes.fds", "processes.fdLimit",
}

var (
	countFields    = []string{"processes.processes", "processes.zombies"}
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
		t, errs := c.src.tableOf(c.src.pid)
		c.publishTable(&t, nil)
		for _, e := range errs {
			c.fail(e.err, e.fields...)
		}
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

// tableErr is an error of tableOf with the fields it leaves unknown.
type tableErr struct {
	err    error
	fields []string
}

// tableOf reads process pid's share of the process table the way
// procfs.Scanner reads this process's: its stat (threads), the stat of
// every process of /proc (processes, zombies, and its children: those
// whose parent it is), its fd directory and its limits. A process that
// vanishes while /proc is read is left out. It is not a Scanner because
// procfs exports none for another process: FS.NewScanner and
// FS.ProcessTable read /proc/self, whose PID, task, fd and fdinfo
// directories they open.
func (s *source) tableOf(pid int) (procfs.ProcessTable, []tableErr) {
	fsys := procfs.NewFS(s.root.Dir())
	id := strconv.Itoa(pid)
	t := procfs.ProcessTable{PID: pid}
	var errs []tableErr
	fail := func(err error, fields ...string) { errs = append(errs, tableErr{err, fields}) }

	if st, err := fsys.ProcStat(id); err != nil {
		fail(err, "processes.threads")
	} else {
		t.HasThreads, t.Threads = true, st.NumThreads
	}

	if names, err := s.root.ReadDirNames("/proc", maxProcEntries); err != nil {
		fail(err, statFieldsProc[:4]...)
	} else {
		var statErr error
		for _, n := range names {
			if n == "" || n[0] < '1' || n[0] > '9' || strings.Trim(n, "0123456789") != "" {
				continue
			}
			st, err := fsys.ProcStat(n)
			if err != nil {
				if !vanished(err) && statErr == nil {
					statErr = err
				}
				continue
			}
			t.Processes++
			if st.Zombie() {
				t.Zombies++
			}
			if st.PPID == pid {
				t.Children++
				if st.Zombie() {
					t.ZombieChildren++
				}
			}
		}
		if statErr != nil {
			t.Processes, t.Zombies, t.Children, t.ZombieChildren = 0, 0, 0, 0
			fail(statErr, statFieldsProc[:4]...)
		} else {
			t.HasProcesses, t.HasChildren = true, true
		}
	}

	if fds, err := s.root.ReadDirNames(path.Join("/proc", id, "fd"), maxProcEntries); err != nil {
		fail(err, "processes.fds")
	} else {
		t.HasFDs, t.FDs = true, len(fds)
	}

	if l, err := fsys.Limits(id); err != nil {
		fail(err, "processes.fdLimit")
	} else if l.HasOpenFiles {
		t.HasFDLimit, t.FDLimit = true, l.OpenFiles
	}
	return t, errs
}

// vanished reports whether err means the process is gone: its directory
// no longer exists, or it was reaped between open and read (procfs's rule,
// which it does not export).
func vanished(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

// processFieldsOf names the fields a file of the process table feeds
// (rel is a path inside the root), or nil for another file.
func processFieldsOf(rel string) []string {
	switch {
	case rel == "/proc/self/stat" || rel == "/proc":
		return append([]string{"processes"}, processFields...)
	case rel == "/proc/self/limits":
		return []string{"processes.fdLimit"}
	case rel == "/proc/self/fd" || rel == "/proc/self/fdinfo" || strings.HasPrefix(rel, "/proc/self/fd/") || strings.HasPrefix(rel, "/proc/self/fdinfo/"):
		return []string{"processes.fds"}
	case rel == "/proc/self/task" || strings.HasPrefix(rel, "/proc/self/task/"):
		return childFields
	}
	if rest, ok := strings.CutPrefix(rel, "/proc/"); ok {
		if n, ok := strings.CutSuffix(rest, "/stat"); ok && n != "" && strings.Trim(n, "0123456789") == "" {
			return statFieldsProc
		}
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
