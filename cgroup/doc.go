// Package cgroup finds the calling process's cgroups and reads the limits
// the kernel enforces on it, cheaply enough to poll.
//
// Discovery ([Open]) parses /proc/self/cgroup and /proc/self/mountinfo once
// and resolves, for each controller, the directory of the process's cgroup:
// cgroup v1, v2 and hybrid hosts; bind-mounted container views
// (/docker/<id> as the mount root); cgroup namespaces (0::/); paths outside
// the namespace (/..); escaped, odd and over-long mountinfo lines; joined
// and duplicated mounts. See cgroups(7), proc_pid_cgroup(5) and
// proc_pid_mountinfo(5).
//
// Limits are the minimum over the process's cgroup and every ancestor up to
// the mount point, because a parent's limit binds its children: a pod-level
// quota over a container with none is a limit the Go runtime (which reads
// the leaf only) does not see. "No limit" is reported as ok == false, never
// as an error or a magic number.
//
// The returned [Group] keeps the files it has read open and re-reads them
// with pread at offset 0 into a buffer it owns: reading a value on a warm
// handle costs about one system call per file and allocates nothing.
//
// Errors name the file ([Error], with its Path) and wrap [ErrMalformed]
// when the content is not in the kernel's format. A controller that is not
// mounted is not an error: it reads as "no limit", and [Group.ReadStats]
// leaves its values unset, as it does a value whose file is absent.
// [ErrNotAvailable] is wrapped only when a limit reader misses a file that
// every cgroup it reads has. Outside Linux, Open returns [ErrNotSupported].
package cgroup
