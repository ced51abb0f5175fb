package procfs

import "errors"

// ProcessTable is what a process's share of the process table looks like:
// the numbers behind the risks of a long-running service, PID 1 of its
// container in particular. Every count is taken from /proc at one moment;
// a value that could not be read has its Has field false, and the error
// says why. pids.current and pids.max, the limit that counts threads and
// zombies alike, come from package cgroup.
type ProcessTable struct {
	// PID is this process's PID in the PID namespace of the /proc mount;
	// 1 means PID 1 of its namespace: the process that adopts every
	// orphan of the namespace and must reap it.
	PID int

	// Processes is the number of processes /proc shows: those of the PID
	// namespace (a container's own), or of the host outside one. Zombies
	// is how many of them have exited and wait to be reaped; each holds a
	// PID (and counts in pids.current) until its parent waits for it.
	HasProcesses bool
	Processes    int
	Zombies      int

	// Children is the number of this process's children; ZombieChildren
	// how many of them are zombies. For PID 1 these include the adopted
	// orphans, which only it can reap.
	HasChildren    bool
	Children       int
	ZombieChildren int

	// Threads is this process's thread count; each thread counts in
	// pids.current.
	HasThreads bool
	Threads    int

	// FDs is the number of descriptors this process has open, and
	// FDLimit its RLIMIT_NOFILE: prlimit(2) for this process on the live
	// system (Go raises the soft limit to the hard one at start), else
	// the "Max open files" line of /proc/<pid>/limits (a captured tree,
	// or another process: FS.NewScannerOf). A descriptor
	// can be opened while FDs < FDLimit.Soft (exactly: while a number
	// below it is free).
	HasFDs     bool
	FDs        int
	HasFDLimit bool
	FDLimit    Limit
}

// ProcessTable reads the process table summary of the process at the root
// ("self"): one Scanner opened, read and closed. Values that cannot be read
// are left out and their errors returned joined.
func (fs FS) ProcessTable() (ProcessTable, error) {
	s, err := fs.NewScanner()
	if err != nil {
		return ProcessTable{}, err
	}
	defer s.Close()
	var t ProcessTable
	err = s.ProcessTable(&t)
	return t, err
}

// ProcessTable fills t. On the live system it allocates nothing when every
// read succeeds.
func (s *Scanner) ProcessTable(t *ProcessTable) error {
	*t = ProcessTable{PID: s.pid}
	var e1, e2, e4, e5 error
	threads, e3 := s.threads()
	if e3 != nil && s.pidDir.IsOpen() && vanished(e3) {
		// Another process that has exited: nothing of the rest would be
		// its own.
		return e3
	}
	if e3 == nil {
		t.HasThreads, t.Threads = true, threads
	}
	var n, z int
	// The processes are counted by reading every /proc/<pid>/stat; the
	// same walk finds the children (their parent PID is this process's),
	// so the table needs no children files, which cost a read per thread
	// and a stat per child on top of the walk. Where the walk fails (one
	// stat that cannot be read: hidepid, a broken captured file) the
	// children files, where there are some, still give the children.
	var c, zc int
	e1 = s.eachProcess(func(st statCore) {
		n++
		if st.state == 'Z' {
			z++
		}
		if st.ppid == s.pid {
			c++
			if st.state == 'Z' {
				zc++
			}
		}
	})
	switch {
	case e1 == nil:
		t.HasProcesses, t.Processes, t.Zombies = true, n, z
		t.HasChildren, t.Children, t.ZombieChildren = true, c, zc
	case s.childrenFiles:
		c, zc = 0, 0
		e2 = s.eachChild(func(_ int, state byte) {
			c++
			if state == 'Z' {
				zc++
			}
		})
		if e2 == nil {
			t.HasChildren, t.Children, t.ZombieChildren = true, c, zc
		}
	}
	if fds, err := s.fds(); err == nil {
		t.HasFDs, t.FDs = true, fds
	} else {
		e4 = err
	}
	var l Limit
	var ok bool
	if s.self {
		l, ok = liveFDLimit()
	}
	if !ok {
		l, ok, e5 = s.limits()
	}
	t.HasFDLimit, t.FDLimit = ok, l
	if e1 == nil && e2 == nil && e3 == nil && e4 == nil && e5 == nil {
		return nil
	}
	// The walk reads the process's own stat and its children's too: a
	// file it failed on is not reported twice.
	if sameError(e2, e1) {
		e2 = nil
	}
	if sameError(e1, e3) {
		e1 = nil
	}
	return errors.Join(e1, e2, e3, e4, e5)
}

// sameError reports whether a and b are both errors with the same message
// (the same file, failing the same way).
func sameError(a, b error) bool {
	return a != nil && b != nil && a.Error() == b.Error()
}
