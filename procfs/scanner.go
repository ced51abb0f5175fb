package procfs

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"syscall"

	"github.com/rightsize/rightsize/internal/rootfs"
)

// Scanner reads a process's share of the process table again and again,
// for [Scanner.ProcessTable]: the processes of its PID namespace, its
// children and their states, its threads and its descriptors. The process
// is this one ([FS.NewScanner], through /proc/self) or another one
// ([FS.NewScannerOf]). It keeps /proc and the process's task, fd and
// fdinfo directories open (and /proc/<pid> itself for another process)
// and reads into buffers of its own, so that on
// the live system a scan allocates nothing unless a process vanishes under
// it (exits and is reaped mid-scan, which costs one error value). A
// Scanner is not safe for concurrent use.
//
// [Scanner.ProcessTable] reads every /proc/<pid>/stat to count the
// processes, and finds the children in the same walk: those whose parent
// is the process. The scans for the zombie children alone (the reaper's)
// read the children files of the process's threads instead (proc(5),
// CONFIG_PROC_CHILDREN), and the stat of each child; where the kernel has
// none, and in a captured tree without them, they walk every stat too.
//
// Package reaper scans through a Scanner too, for the zombie children it
// reaps and the pidfds os/exec holds (hence /proc/self/fdinfo); those scans
// are the module's own and not part of this API.
type Scanner struct {
	fs  FS
	pid int // the process's PID in the /proc mount's namespace
	// dir is the process's entry in /proc: "self", or its PID.
	dir string
	// self: the process is this one, on the live system, whose
	// descriptors include the Scanner's own (see own).
	self bool

	proc   rootfs.Dir
	task   rootfs.Dir // not open when the tree has no task directory
	fd     rootfs.Dir // not open when the tree has no fd directory
	fdinfo rootfs.Dir
	// fdErr and fdinfoErr say why fd or fdinfo could not be opened (no
	// such directory, or another user's process).
	fdErr, fdinfoErr error
	// pidDir is another process's /proc/<pid> (NewScannerOf), held open
	// from the start: its stat and limits are read through it, so that
	// once the process has exited a scan fails (ESRCH) instead of
	// describing a process that reused its PID.
	pidDir rootfs.Dir

	childrenFiles bool // children are found through the threads' children files

	dirBuf  [rootfs.DirBufSize]byte
	path    [40]byte
	buf     [4096]byte
	statBuf [maxStatSize]byte
	link    [64]byte
}

// NewScanner opens the directories a Scanner of this process reads
// (/proc/self). It fails when /proc or /proc/self/stat cannot be read; a
// missing task, fd or fdinfo directory only disables what needs it.
func (fs FS) NewScanner() (*Scanner, error) { return fs.newScanner("self") }

// NewScannerOf is NewScanner for the process pid of the /proc mount's PID
// namespace instead of this one: its children, threads, descriptors and
// RLIMIT_NOFILE (the "Max open files" line of /proc/<pid>/limits). It
// fails when /proc, /proc/<pid> or its stat cannot be read (no such
// process, a pid that is not positive). Counting another user's
// descriptors needs the privileges ls /proc/<pid>/fd needs; without them
// that count is left out with its error. The Scanner holds /proc/<pid>
// open: once the process has exited, a scan returns the error reading its
// stat (ESRCH or ENOENT, see errors.Is with fs.ErrNotExist or
// syscall.ESRCH) and fills nothing else, even if the PID now names another
// process.
func (fs FS) NewScannerOf(pid int) (*Scanner, error) {
	if pid <= 0 {
		return nil, fs.box(name(strconv.Itoa(pid)), malformed("not a process ID"))
	}
	return fs.newScanner(strconv.Itoa(pid))
}

func (fs FS) newScanner(dir string) (*Scanner, error) {
	st, err := fs.ProcStat(dir)
	if err != nil {
		return nil, err
	}
	s := &Scanner{fs: fs, pid: st.PID, dir: dir}
	if s.proc, err = fs.root.OpenDir(name()); err != nil {
		return nil, err
	}
	if dir == "self" {
		s.self = fs.IsLive()
	} else {
		if s.pidDir, err = fs.root.OpenDir(name(dir)); err != nil {
			s.Close()
			return nil, err
		}
		// This process under its PID: compared with /proc/self's, which
		// /proc numbers in the same PID namespace (os.Getpid need not).
		if fs.IsLive() {
			me, err := fs.ProcStat("self")
			s.self = err == nil && me.PID == st.PID
		}
	}
	s.task, _ = fs.root.OpenDir(name(dir, "task"))
	s.fd, s.fdErr = fs.root.OpenDir(name(dir, "fd"))
	s.fdinfo, s.fdinfoErr = fs.root.OpenDir(name(dir, "fdinfo"))
	s.childrenFiles = s.task.IsOpen() && fs.root.Exists(name(dir, "task", strconv.Itoa(st.PID), "children"))
	return s, nil
}

// Close closes the directories.
func (s *Scanner) Close() {
	if s == nil {
		return
	}
	for _, d := range []*rootfs.Dir{&s.proc, &s.task, &s.fd, &s.fdinfo, &s.pidDir} {
		d.Close()
		*d = rootfs.Dir{}
	}
}

// vanished reports whether err means the file's process is gone: its
// directory no longer exists, or it was reaped between open and read.
func vanished(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

// readStat reads /proc/<pid>/stat through the open /proc.
func (s *Scanner) readStat(pid []byte) (statCore, error) {
	p := append(append(s.path[:0], pid...), "/stat\x00"...)
	return s.readStatAt(s.proc, p, pid)
}

// readStatAt reads the stat file rel (NUL-terminated) below d, the stat of
// process pid.
func (s *Scanner) readStatAt(d rootfs.Dir, rel, pid []byte) (statCore, error) {
	f, err := d.OpenAt(rel)
	if err != nil {
		return statCore{}, err
	}
	n, err := f.ReadAt0(s.statBuf[:])
	f.Close()
	if err != nil {
		return statCore{}, &Error{Path: s.fs.root.Join(name(string(pid), "stat")), Err: err}
	}
	if n == len(s.statBuf) {
		return statCore{}, s.fs.box(name(string(pid), "stat"), malformed("longer than %d bytes", n))
	}
	c, err := parseStat(s.statBuf[:n])
	if err != nil {
		return statCore{}, s.fs.box(name(string(pid), "stat"), err)
	}
	return c, nil
}

// maxScanPIDs bounds the processes one scan looks at: the kernel's largest
// pid_max (PID_MAX_LIMIT, 4,194,304 on 64-bit). Only a hostile captured
// tree (a children file repeating a PID millions of times, a /proc with
// millions of entries) reaches it; the scan then stops with ErrTooLarge
// instead of reading for minutes.
var maxScanPIDs = 1 << 22 // a variable for the tests

// eachChild calls fn with the PID and state of each child of this
// process. A child that vanishes while it is read is left out.
func (s *Scanner) eachChild(fn func(pid int, state byte)) error {
	if !s.childrenFiles {
		return s.eachProcess(func(c statCore) {
			if c.ppid == s.pid {
				fn(c.pid, c.state)
			}
		})
	}
	var ferr error
	seen := 0
	emit := func(pid int) {
		if seen++; seen > maxScanPIDs {
			if ferr == nil {
				ferr = s.fs.box(name(s.dir, "task"), fmt.Errorf("%w: more than %d children", ErrTooLarge, maxScanPIDs))
			}
			return
		}
		num := strconv.AppendInt(s.link[:0], int64(pid), 10)
		c, err := s.readStat(num)
		switch {
		case err == nil:
			fn(pid, c.state)
		case !vanished(err) && ferr == nil:
			ferr = err
		}
	}
	it := s.task.Entries(s.dirBuf[:])
	for it.Next() {
		p := append(append(s.path[:0], it.Name()...), "/children\x00"...)
		f, err := s.task.OpenAt(p)
		if err != nil {
			if vanished(err) {
				continue // the thread exited
			}
			return err
		}
		var cp childParser
		bad := false
		for !bad {
			n, err := f.Read(s.buf[:])
			if err != nil {
				if !vanished(err) {
					bad = true
					ferr = &Error{Path: s.fs.root.Join(name(s.dir, "task", string(it.Name()), "children")), Err: err}
				}
				break
			}
			if n == 0 {
				bad = !cp.end(emit)
				break
			}
			for _, c := range s.buf[:n] {
				if !cp.feed(c, emit) {
					bad = true
					break
				}
			}
			if ferr != nil {
				break
			}
		}
		f.Close()
		if bad && ferr == nil {
			ferr = s.fs.box(name(s.dir, "task", string(it.Name()), "children"), malformed("not a list of PIDs"))
		}
		if ferr != nil {
			return ferr
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	return ferr
}

// eachProcess calls fn with the stat of every process in /proc. A process
// that vanishes while it is read is left out.
func (s *Scanner) eachProcess(fn func(c statCore)) error {
	it := s.proc.Entries(s.dirBuf[:])
	seen := 0
	for it.Next() {
		nm := it.Name()
		if nm[0] < '1' || nm[0] > '9' {
			continue
		}
		if _, ok := parseUint64(nm); !ok {
			continue
		}
		if seen++; seen > maxScanPIDs {
			return s.fs.box(name(), fmt.Errorf("%w: more than %d processes", ErrTooLarge, maxScanPIDs))
		}
		c, err := s.readStat(nm)
		if err != nil {
			if vanished(err) {
				continue
			}
			return err
		}
		fn(c)
	}
	return it.Err()
}

// zombieChildren appends to dst the PIDs of this process's children that
// have exited and wait to be reaped.
func (s *Scanner) zombieChildren(dst []int) ([]int, error) {
	err := s.eachChild(func(pid int, state byte) {
		if state == 'Z' {
			dst = append(dst, pid)
		}
	})
	return dst, err
}

// statRel and limitsRel are the files read through pidDir; never written.
var statRel, limitsRel = []byte("stat\x00"), []byte("limits\x00")

// threads returns the process's thread count (num_threads of its stat),
// read through pidDir for another process.
func (s *Scanner) threads() (int, error) {
	pid := strconv.AppendInt(s.link[:0], int64(s.pid), 10)
	if s.pidDir.IsOpen() {
		c, err := s.readStatAt(s.pidDir, statRel, pid)
		return c.threads, err
	}
	c, err := s.readStat(pid)
	return c.threads, err
}

// limits reads the process's RLIMIT_NOFILE from its limits file: through
// pidDir, into the Scanner's buffer, for a Scanner of NewScannerOf; by path
// (/proc/self/limits) for one of NewScanner.
func (s *Scanner) limits() (Limit, bool, error) {
	if !s.pidDir.IsOpen() {
		ls, err := s.fs.Limits(s.dir)
		return ls.OpenFiles, ls.HasOpenFiles, err
	}
	f, err := s.pidDir.OpenAt(limitsRel)
	if err != nil {
		return Limit{}, false, err
	}
	n, err := f.ReadAt0(s.buf[:])
	f.Close()
	if err != nil {
		return Limit{}, false, &Error{Path: s.fs.root.Join(name(s.dir, "limits")), Err: err}
	}
	if n == len(s.buf) {
		return Limit{}, false, s.fs.box(name(s.dir, "limits"), malformed("longer than %d bytes", n))
	}
	ls, err := ParseLimits(s.buf[:n])
	if err != nil {
		return Limit{}, false, s.fs.box(name(s.dir, "limits"), err)
	}
	return ls.OpenFiles, ls.HasOpenFiles, nil
}

// own reports whether fd is one of the Scanner's own descriptors, which a
// count of this process's descriptors leaves out.
func (s *Scanner) own(fd []byte) bool {
	if !s.self {
		return false
	}
	n, ok := parseUint64(fd)
	if !ok {
		return false
	}
	for _, d := range [...]rootfs.Dir{s.proc, s.task, s.fd, s.fdinfo, s.pidDir} {
		if d.IsOpen() && uint64(d.Fd()) == n {
			return true
		}
	}
	return false
}

var errNoFdDir = errors.New("no fd directory")

// fds counts this process's open descriptors, the Scanner's own left out.
func (s *Scanner) fds() (int, error) {
	if !s.fd.IsOpen() {
		if s.fdErr != nil {
			return 0, s.fdErr
		}
		return 0, &Error{Path: s.fs.root.Join(name(s.dir, "fd")), Err: errNoFdDir}
	}
	n := 0
	it := s.fd.Entries(s.dirBuf[:])
	for it.Next() {
		if !s.own(it.Name()) {
			n++
		}
	}
	return n, it.Err()
}

// pidfds appends to dst the PIDs of the processes this process holds a
// pidfd for: each descriptor whose /proc/self/fd link is a pidfd's, with
// the "Pid:" line of its fdinfo. A descriptor closed mid-scan is left out;
// a pidfd of a reaped process (Pid: -1) too.
func (s *Scanner) pidfds(dst []int) ([]int, error) {
	if !s.fd.IsOpen() || !s.fdinfo.IsOpen() {
		for _, err := range [...]error{s.fdErr, s.fdinfoErr} {
			if err != nil {
				return dst, err
			}
		}
		return dst, &Error{Path: s.fs.root.Join(name(s.dir, "fdinfo")), Err: errNoFdDir}
	}
	it := s.fd.Entries(s.dirBuf[:])
	for it.Next() {
		p := append(append(s.path[:0], it.Name()...), 0)
		n, err := s.fd.ReadlinkAt(p, s.link[:])
		if err != nil {
			if vanished(err) {
				continue
			}
			return dst, err
		}
		if !isPidfdLink(s.link[:n]) {
			continue
		}
		f, err := s.fdinfo.OpenAt(p)
		if err != nil {
			if vanished(err) {
				continue
			}
			return dst, err
		}
		n, err = f.ReadAt0(s.buf[:])
		f.Close()
		if err != nil {
			continue // closed and reused for something that is not a pidfd
		}
		if pid, ok := parseFdinfoPid(s.buf[:n]); ok && pid > 0 {
			dst = append(dst, pid)
		}
	}
	return dst, it.Err()
}
