package procfs

import (
	"bytes"
	"strconv"
)

// Status holds the fields of /proc/<pid>/status that rightsize uses
// (proc_pid_status(5)):
//
//	Threads:	12
//	Cpus_allowed_list:	0-3,8
type Status struct {
	// Threads is the number of threads in the process.
	Threads int
	// CPUsAllowed is the number of CPUs the process may run on, from
	// Cpus_allowed_list; 0 when the field is absent.
	CPUsAllowed int
	// CPUsAllowedList is the list as the kernel wrote it.
	CPUsAllowedList string
}

// ParseStatus parses the fields rightsize needs out of a status file. Other
// lines are ignored; a needed line with a bad value is an error. A file with
// neither field is an error too (it is not a status file).
func ParseStatus(data []byte) (Status, error) {
	var s Status
	found := false
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		key, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		val = bytes.TrimSpace(val)
		switch string(key) {
		case "Threads":
			n, err := strconv.Atoi(string(val))
			if err != nil || n < 0 {
				return Status{}, malformed("Threads: %q is not a count", val)
			}
			s.Threads = n
			found = true
		case "Cpus_allowed_list":
			n, err := ParseCPUList(val)
			if err != nil {
				return Status{}, malformed("Cpus_allowed_list: %v", err)
			}
			s.CPUsAllowed = n
			s.CPUsAllowedList = string(val)
			found = true
		}
	}
	if !found {
		return Status{}, malformed("neither Threads nor Cpus_allowed_list present")
	}
	return s, nil
}

// Status reads <root>/proc/<pid>/status.
func (fs FS) Status(pid string) (Status, error) {
	data, n, err := fs.read(maxFileSize, pid, "status")
	if err != nil {
		return Status{}, err
	}
	s, err := ParseStatus(data)
	return s, fs.box(n, err)
}
