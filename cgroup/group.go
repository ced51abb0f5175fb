package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/rightsize/rightsize/procfs"
)

// readBufSize bounds every read of a cgroup file. The largest file read is
// memory.stat: about 1.5 KiB on v1 and 2–4 KiB on v2 kernels of 2025. A file
// that fills the buffer is refused as too large rather than read partially.
const readBufSize = 16 << 10

// pathBufSize bounds a root-prefixed file path (PATH_MAX is 4096).
const pathBufSize = 4096 + 64

// fileID names a cgroup file kept open on a handle. One ID per distinct
// file name: cpu.stat, memory.stat, pids.max and pids.current have the same
// name on v1 and v2.
type fileID uint8

const (
	fCPUMax fileID = iota
	fCFSQuota
	fCFSPeriod
	fCPUShares
	fCPUWeight
	fCPUStat
	fCPUAcctUsage
	fCPUSetEffectiveV1
	fCPUSetCPUsV1
	fCPUSetEffective
	fMemLimitV1
	fMemUsageV1
	fMemMaxUsageV1
	fMemMemswLimitV1
	fMemFailcntV1
	fMemOOMControlV1
	fMemMax
	fMemHigh
	fMemCurrent
	fMemPeak
	fMemSwapMax
	fMemEvents
	fMemStat
	fPIDsMax
	fPIDsCurrent
	fCPUPressure
	fMemPressure
	fIOPressure
	numFiles
)

var fileNames = [numFiles]string{
	fCPUMax:            "cpu.max",
	fCFSQuota:          "cpu.cfs_quota_us",
	fCFSPeriod:         "cpu.cfs_period_us",
	fCPUShares:         "cpu.shares",
	fCPUWeight:         "cpu.weight",
	fCPUStat:           "cpu.stat",
	fCPUAcctUsage:      "cpuacct.usage",
	fCPUSetEffectiveV1: "cpuset.effective_cpus",
	fCPUSetCPUsV1:      "cpuset.cpus",
	fCPUSetEffective:   "cpuset.cpus.effective",
	fMemLimitV1:        "memory.limit_in_bytes",
	fMemUsageV1:        "memory.usage_in_bytes",
	fMemMaxUsageV1:     "memory.max_usage_in_bytes",
	fMemMemswLimitV1:   "memory.memsw.limit_in_bytes",
	fMemFailcntV1:      "memory.failcnt",
	fMemOOMControlV1:   "memory.oom_control",
	fMemMax:            "memory.max",
	fMemHigh:           "memory.high",
	fMemCurrent:        "memory.current",
	fMemPeak:           "memory.peak",
	fMemSwapMax:        "memory.swap.max",
	fMemEvents:         "memory.events",
	fMemStat:           "memory.stat",
	fPIDsMax:           "pids.max",
	fPIDsCurrent:       "pids.current",
	fCPUPressure:       "cpu.pressure",
	fMemPressure:       "memory.pressure",
	fIOPressure:        "io.pressure",
}

// level is one directory on the way from the process's cgroup up to the
// mount point, with the descriptors of the files read there.
type level struct {
	dir string // without the root prefix; a prefix of the leaf's Dir
	// fds: 0 not opened yet; > 0 descriptor+1; < 0 the open failed with
	// this negated errno (kept, so a missing file costs one open only).
	fds [numFiles]int32
}

// Group is a handle on the cgroups of this process. Discovery runs once in
// Open; afterwards each reader re-reads the files it needs with pread at
// offset 0 on descriptors opened at first use and kept, into a buffer owned
// by the handle: a read on a warm handle allocates nothing.
//
// A Group is safe for concurrent use; reads are serialised on an internal
// lock. Close releases the descriptors.
type Group struct {
	mu     sync.Mutex
	root   string // cleaned, "/" for the live system
	pid    string // "self" or a process ID
	layout Layout
	locs   [numControllers]Location
	have   [numControllers]bool
	levels [numControllers][]level // [0] is the process's cgroup
	closed bool
	// cgroupFile is /proc/<pid>/cgroup as read at Open, and cgroupFD a
	// descriptor on it kept for Moved (descriptor+1; 0 when not open).
	cgroupFile []byte
	cgroupFD   int
	// topIsRoot caches whether the last level of a v1 controller is the
	// real root of its hierarchy: 0 not checked yet, 1 yes, -1 no.
	topIsRoot [numControllers]int8

	// The buffers live in their own allocation: it holds no pointers, so
	// the garbage collector neither scans it nor zeroes it twice.
	*buffers
}

// buffers are the handle's fixed read and path buffers.
type buffers struct {
	buf     [readBufSize]byte
	pathBuf [pathBufSize]byte
}

// Option configures Open.
type Option interface{ apply(*options) }

type options struct {
	root string
	pid  string
}

func defaultOptions() options { return options{root: procfs.DefaultRoot, pid: "self"} }

type rootOption string

func (r rootOption) apply(o *options) { o.root = string(r) }

// WithRoot reads every file below dir instead of "/": /proc/self/cgroup,
// /proc/self/mountinfo and the cgroup files at their mount points below
// dir. Used for fixture trees and captured bug reports.
func WithRoot(dir string) Option {
	if dir == "" {
		dir = procfs.DefaultRoot
	}
	return rootOption(filepath.Clean(dir))
}

type pidOption int

func (p pidOption) apply(o *options) { o.pid = strconv.Itoa(int(p)) }

// WithPID discovers the cgroups of another process (its /proc/<pid>/cgroup
// and mountinfo) instead of the calling one. Reading another process's files
// may need privileges.
func WithPID(pid int) Option { return pidOption(pid) }

// scratch holds the buffers of a discovery; pooled, so a cold Open
// allocates only what the handle keeps.
type scratch struct {
	cgroup    [8 << 10]byte
	mountinfo [procfs.MaxMountInfoLine]byte
	arena     [arenaSize]byte
	ctrls     [1024]byte
	d         discovery
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// Open discovers the cgroups of the calling process: it parses
// /proc/self/cgroup and /proc/self/mountinfo and resolves the directory of
// each controller. It opens no cgroup file yet. On a system without cgroup
// mounts it succeeds with Layout() == LayoutNone and every limit reported as
// absent; outside Linux it returns ErrNotSupported.
func Open(opts ...Option) (*Group, error) {
	if !supported {
		return nil, ErrNotSupported
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt.apply(&o)
	}
	g := &Group{root: o.root, pid: o.pid, buffers: new(buffers)}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	if err := g.discover(s); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *Group) discover(s *scratch) error {
	d := &s.d
	*d = discovery{arena: s.arena[:0]}

	cgroupFile, mountinfoFile := "proc/self/cgroup", "proc/self/mountinfo"
	if g.pid != "self" {
		cgroupFile, mountinfoFile = "proc/"+g.pid+"/cgroup", "proc/"+g.pid+"/mountinfo"
	}
	n, err := g.readSmall(cgroupFile, s.cgroup[:])
	if err != nil {
		return err
	}
	if err := d.addCgroupFile(s.cgroup[:n]); err != nil {
		return &Error{Path: g.join(cgroupFile), Err: err}
	}
	g.cgroupFile = append(make([]byte, 0, n), s.cgroup[:n]...)

	fd, err := g.openRel(mountinfoFile)
	if err != nil {
		return err
	}
	_, err = procfs.ScanMountInfo(&fdReader{fd: fd, seqFile: g.root == "/"}, s.mountinfo[:], func(v *procfs.MountInfoView) bool {
		d.addMount(v)
		return true
	})
	sysClose(fd)
	if err != nil {
		return &Error{Path: g.join(mountinfoFile), Err: fmt.Errorf("read: %w", err)}
	}

	raw, err := d.resolve(func(point []byte) (ctrlMask, error) {
		p := g.pathBuf[:0]
		p = appendRoot(p, g.root)
		p = append(p, point...)
		p = append(p, "/cgroup.controllers"...)
		n, err := g.readSmallAbs(p, s.ctrls[:])
		if err != nil {
			return 0, err
		}
		return parseControllers(s.ctrls[:n]), nil
	})
	if err != nil {
		return err
	}
	g.layout = d.layout()

	// Keep every string in one allocation: for each controller the mount
	// point, mount root, path and directory, back to back.
	var offs [numControllers][5]int
	keep := make([]byte, 0, 512)
	for c := range raw {
		r := &raw[c]
		if !r.ok {
			continue
		}
		o := &offs[c]
		o[0] = len(keep)
		keep = append(keep, r.mount.point...)
		o[1] = len(keep)
		keep = append(keep, r.mount.root...)
		o[2] = len(keep)
		keep = append(keep, r.path...)
		o[3] = len(keep)
		keep = appendDir(keep, r)
		o[4] = len(keep)
	}
	str := string(keep)
	nLevels := 0
	for c := range raw {
		r := &raw[c]
		if !r.ok {
			continue
		}
		o := offs[c]
		g.have[c] = true
		g.locs[c] = Location{
			Version:    r.version,
			MountPoint: str[o[0]:o[1]],
			MountRoot:  str[o[1]:o[2]],
			Path:       str[o[2]:o[3]],
			Dir:        str[o[3]:o[4]],
			Degraded:   r.degraded,
		}
		nLevels += countLevels(g.locs[c].Dir, g.locs[c].MountPoint)
	}
	all := make([]level, nLevels)
	for c := range g.locs {
		if !g.have[c] {
			continue
		}
		l := &g.locs[c]
		k := countLevels(l.Dir, l.MountPoint)
		lv := all[:k:k]
		all = all[k:]
		dir := l.Dir
		for i := range lv {
			lv[i].dir = dir
			dir = parentDir(dir)
		}
		g.levels[c] = lv
	}
	return nil
}

// countLevels counts the directories from dir up to and including the mount
// point. dir is the mount point itself or below it.
func countLevels(dir, mount string) int {
	n := 1
	for len(dir) > len(mount) {
		dir = parentDir(dir)
		n++
	}
	return n
}

func parentDir(dir string) string {
	for i := len(dir) - 1; i > 0; i-- {
		if dir[i] == '/' {
			return dir[:i]
		}
	}
	return "/"
}

// fdReader lets procfs.ScanMountInfo stream from a raw descriptor. On a
// seq_file (/proc/self/mountinfo of the live system) a short read is the
// end of the file, which saves the read that would return 0.
type fdReader struct {
	fd      int
	seqFile bool
	eof     bool
}

func (r *fdReader) Read(b []byte) (int, error) {
	if r.eof {
		return 0, errEOF
	}
	n, err := sysRead(r.fd, b)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, errEOF
	}
	if r.seqFile && n < len(b) {
		r.eof = true
	}
	return n, nil
}

// appendRoot appends the root prefix for absolute paths: nothing for "/".
func appendRoot(dst []byte, root string) []byte {
	if root == "/" {
		return dst
	}
	return append(dst, root...)
}

// join names a file below the root for error messages.
func (g *Group) join(rel string) string {
	return filepath.Join(g.root, rel)
}

// openRel opens root/rel.
func (g *Group) openRel(rel string) (int, error) {
	p := g.pathBuf[:0]
	p = appendRoot(p, g.root)
	p = append(p, '/')
	p = append(p, rel...)
	p = append(p, 0)
	fd, err := sysOpen(p)
	if err != nil {
		if errors.Is(err, ErrNotSupported) {
			return -1, err
		}
		return -1, &Error{Path: g.join(rel), Err: fmt.Errorf("open: %w", err)}
	}
	return fd, nil
}

// readSmall reads root/rel whole into buf.
func (g *Group) readSmall(rel string, buf []byte) (int, error) {
	p := g.pathBuf[:0]
	p = appendRoot(p, g.root)
	p = append(p, '/')
	p = append(p, rel...)
	return g.readSmallAbs(p, buf)
}

// readSmallAbs reads the file at path (not NUL-terminated; it is appended)
// whole into buf; a file that does not fit is an error.
func (g *Group) readSmallAbs(path []byte, buf []byte) (int, error) {
	path = append(path, 0)
	fd, err := sysOpen(path)
	if err != nil {
		return 0, &Error{Path: string(path[:len(path)-1]), Err: fmt.Errorf("open: %w", err)}
	}
	defer sysClose(fd)
	n := 0
	for {
		if n == len(buf) {
			return 0, &Error{Path: string(path[:len(path)-1]), Err: fmt.Errorf("%w: more than %d bytes", procfs.ErrTooLarge, len(buf)-1)}
		}
		m, err := sysRead(fd, buf[n:])
		if err != nil {
			return 0, &Error{Path: string(path[:len(path)-1]), Err: fmt.Errorf("read: %w", err)}
		}
		if m == 0 {
			return n, nil
		}
		n += m
		if g.root == "/" && n < len(buf) {
			// procfs and cgroupfs files are seq_files, which fill the
			// caller's buffer as far as they have records: a short read
			// is the end. (Fixture trees get the usual read to EOF.)
			return n, nil
		}
	}
}

// Root returns the filesystem root the handle reads below ("/" when live).
func (g *Group) Root() string { return g.root }

// Layout reports which cgroup versions are mounted.
func (g *Group) Layout() Layout { return g.layout }

// Location returns where controller c is for this process; ok is false when
// the controller is not mounted (or not enabled) for it.
func (g *Group) Location(c Controller) (Location, bool) {
	if c < 0 || c >= numControllers {
		return Location{}, false
	}
	return g.locs[c], g.have[c]
}

// Close releases the descriptors. The handle must not be used afterwards;
// readers then return an error.
func (g *Group) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for c := range g.levels {
		for i := range g.levels[c] {
			for f, v := range g.levels[c][i].fds {
				if v > 0 {
					sysClose(int(v - 1))
				}
				g.levels[c][i].fds[f] = 0
			}
		}
	}
	if g.cgroupFD > 0 {
		sysClose(g.cgroupFD - 1)
		g.cgroupFD = 0
	}
	g.closed = true
	return nil
}

// Moved reports whether the process is now in other cgroups than at Open
// (/proc/<pid>/cgroup changed): the handle then reads the old cgroups, and a
// new one should be opened. It re-reads the file through a kept descriptor
// into the handle's buffer and allocates nothing.
func (g *Group) Moved() (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false, errClosed
	}
	rel := "proc/self/cgroup"
	if g.pid != "self" {
		rel = "proc/" + g.pid + "/cgroup"
	}
	if g.cgroupFD <= 0 {
		fd, err := g.openRel(rel)
		if err != nil {
			return false, err
		}
		g.cgroupFD = fd + 1
	}
	n, err := sysPread(g.cgroupFD-1, g.buf[:])
	if err != nil {
		return false, &Error{Path: g.join(rel), Err: fmt.Errorf("read: %w", err)}
	}
	return !bytes.Equal(g.buf[:n], g.cgroupFile), nil
}

var (
	errClosed     = errors.New("cgroup: handle is closed")
	errFileAbsent = fmt.Errorf("file does not exist: %w", ErrNotAvailable)
)

// filePath names a kept file for an error message (allocates; error paths
// only).
func (g *Group) filePath(c Controller, li int, id fileID) string {
	return filepath.Join(g.root, g.levels[c][li].dir, fileNames[id])
}

// read reads file id at level li of controller c into the handle's buffer.
// present is false, with a nil error, when the file does not exist (normal
// for v2 levels without the controller enabled, and for optional files);
// a missing directory of the process's own cgroup is an error instead.
// The caller holds g.mu and must finish with the data before the next read.
func (g *Group) read(c Controller, li int, id fileID) (data []byte, present bool, err error) {
	if g.closed {
		return nil, false, errClosed
	}
	lv := &g.levels[c][li]
	v := lv.fds[id]
	if v == 0 {
		p := g.pathBuf[:0]
		p = appendRoot(p, g.root)
		p = append(p, lv.dir...)
		p = append(p, '/')
		p = append(p, fileNames[id]...)
		p = append(p, 0)
		fd, err := sysOpen(p)
		if err != nil {
			if isNotExist(err) {
				if li == 0 && !g.leafExists(c) {
					return nil, false, &Error{Path: filepath.Join(g.root, lv.dir), Err: ErrRemoved}
				}
				lv.fds[id] = -int32(errnoOf(err))
				return nil, false, nil
			}
			return nil, false, &Error{Path: g.filePath(c, li, id), Err: fmt.Errorf("open: %w", err)}
		}
		v = int32(fd + 1)
		lv.fds[id] = v
	}
	if v < 0 {
		return nil, false, nil
	}
	n, err := sysPread(int(v-1), g.buf[:])
	if err != nil {
		return nil, false, &Error{Path: g.filePath(c, li, id), Err: fmt.Errorf("read: %w", err)}
	}
	if n == len(g.buf) {
		return nil, false, &Error{Path: g.filePath(c, li, id), Err: fmt.Errorf("%w: %d bytes or more", procfs.ErrTooLarge, n)}
	}
	return g.buf[:n], true, nil
}

// mustRead is read for files that every cgroup of the version has: absence
// is an error naming the file and wrapping ErrNotAvailable (the root cgroup
// lacks some of them, e.g. v1 pids.current).
func (g *Group) mustRead(c Controller, li int, id fileID) ([]byte, error) {
	data, ok, err := g.read(c, li, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &Error{Path: g.filePath(c, li, id), Err: errFileAbsent}
	}
	return data, nil
}

func (g *Group) leafExists(c Controller) bool {
	p := g.pathBuf[:0]
	p = appendRoot(p, g.root)
	p = append(p, g.levels[c][0].dir...)
	p = append(p, 0)
	return dirExists(p)
}

// v1Levels returns how many levels of v1 controller c can carry a limit.
// The root of a v1 hierarchy cannot (the kernel refuses a quota or a memory
// limit there), so when the mount point is that root it is not read; then
// nothing is hidden above the walk either (see walkReachesRoot).
func (g *Group) v1Levels(c Controller) int {
	n := len(g.levels[c])
	if g.walkReachesRoot(c) {
		return n - 1
	}
	return n
}

// walkReachesRoot reports whether the topmost level of v1 controller c is
// the root of its hierarchy: only that cgroup has cgroup.sane_behavior
// (CFTYPE_ONLY_ON_ROOT; a namespaced or bind-mounted view's top lacks it).
// Checked once per handle.
func (g *Group) walkReachesRoot(c Controller) bool {
	if g.topIsRoot[c] == 0 {
		g.topIsRoot[c] = -1
		top := g.levels[c][len(g.levels[c])-1].dir
		p := g.pathBuf[:0]
		p = appendRoot(p, g.root)
		p = append(p, top...)
		p = append(p, "/cgroup.sane_behavior"...)
		p = append(p, 0)
		if fileExists(p) {
			g.topIsRoot[c] = 1
		}
	}
	return g.topIsRoot[c] == 1
}

// malformedFile boxes a parse error with the file's path.
func (g *Group) malformedFile(c Controller, li int, id fileID, err error) error {
	return &Error{Path: g.filePath(c, li, id), Err: err}
}
