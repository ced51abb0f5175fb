// Package procfs parses and reads the few /proc files that rightsize needs:
// /proc/self/cgroup, /proc/self/mountinfo, /proc/self/status, /proc/meminfo,
// environ files and /proc/self/oom_score_adj.
//
// Each file has its own source file, named after it, holding a pure parser
// over []byte and a reader on [FS]. The parsers never panic and never look at
// the live system, so they are tested on strings; the readers add the root
// prefix, bound how much they read and name the file in every error.
//
// See proc(5), proc_pid_cgroup(5), proc_pid_mountinfo(5) and
// proc_pid_status(5) for the formats.
package procfs
