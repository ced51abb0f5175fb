// Package procfs reads the /proc files rightsize needs, and is the one way
// the module reads /proc: /proc/<pid>/cgroup, mountinfo, status, stat,
// limits, environ, oom_score_adj, fd and fdinfo, the children of a
// process's threads, /proc/meminfo, /proc/pressure and
// /proc/sys/kernel/osrelease.
//
// Each file has its own source file, named after it, holding a pure parser
// over []byte and a reader on [FS]; the tests sit beside them. The parsers
// never panic and never look at the live system, so they are tested on
// strings. The readers go through the module's one file layer: below a root
// other than "/" nothing resolves outside it, anything but a regular file
// (a FIFO, a socket, a device) is refused without blocking, and every read
// is bounded ([ErrTooLarge]); every error names the file ([Error]).
//
// For readers that poll, [Handle] and [Scanner] read into buffers of their
// own and allocate nothing per read. [FS.ScanCgroup] and [FS.ScanMountInfo]
// parse into the caller's buffer and allocate only to open the file (a few
// small allocations, not per line).
//
// See proc(5), proc_pid_cgroup(5), proc_pid_mountinfo(5),
// proc_pid_status(5), proc_pid_stat(5) and Documentation/accounting/psi.rst
// for the formats.
package procfs
