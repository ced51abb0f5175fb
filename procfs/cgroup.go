package procfs

import (
	"bytes"
	"errors"
	"strconv"
)

// CgroupLine is one line of /proc/<pid>/cgroup:
//
//	hierarchy-ID:controller-list:cgroup-path
//
// On cgroup v1 each mounted hierarchy has a line with a non-zero ID and its
// controllers ("4:cpu,cpuacct:/docker/abc"); named hierarchies without a
// controller list "name=systemd". The cgroup v2 line has ID 0 and an empty
// list ("0::/user.slice"). See cgroups(7) and proc_pid_cgroup(5).
type CgroupLine struct {
	HierarchyID int
	// Controllers are the v1 controllers of the hierarchy, in file order
	// (match them as a set: "cpu,cpuacct" and "cpuacct,cpu" both occur).
	// Named hierarchies (name=...) are not controllers and are not listed.
	Controllers []string
	// Name is the hierarchy name of a "name=X" entry, or "".
	Name string
	// Path is the cgroup path relative to the root of the process's cgroup
	// namespace. It may start with "/.." when the cgroup is outside the
	// namespace, and may itself contain ':'.
	Path string
}

// IsV2 reports whether the line is the cgroup v2 (unified) line: ID 0 and
// no controllers. "1::/" is not a v2 line.
func (l CgroupLine) IsV2() bool {
	return l.HierarchyID == 0 && len(l.Controllers) == 0 && l.Name == ""
}

// HasController reports whether the v1 line carries controller c.
func (l CgroupLine) HasController(c string) bool {
	for _, have := range l.Controllers {
		if have == c {
			return true
		}
	}
	return false
}

// scanCgroup calls fn for each line of /proc/<pid>/cgroup content with the
// hierarchy ID, the raw controller list (e.g. "cpu,cpuacct" or
// "name=systemd"; empty on the v2 line) and the path, all aliasing data. It
// validates exactly as ParseCgroup and allocates nothing; it stops at the
// first error from fn or from a malformed line.
func scanCgroup(data []byte, fn func(id int, controllers, path []byte) error) error {
	lineNo := 0
	seen := false
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		lineNo++
		if len(line) == 0 && len(data) == 0 {
			break // trailing newline
		}
		id, list, path, err := splitCgroupLine(line)
		if err != nil {
			return malformed("line %d: %v", lineNo, err)
		}
		seen = true
		if err := fn(id, list, path); err != nil {
			return err
		}
	}
	if !seen {
		return malformed("no cgroup lines")
	}
	return nil
}

// ParseCgroup parses the content of /proc/<pid>/cgroup. A file without lines,
// or any line that is not ID:list:/path, is an error: the kernel writes this
// file itself, so an odd line means the file is not what it claims to be.
func ParseCgroup(data []byte) ([]CgroupLine, error) {
	var out []CgroupLine
	err := scanCgroup(data, func(id int, list, path []byte) error {
		out = append(out, newCgroupLine(id, list, path))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type parseError string

func (e parseError) Error() string { return string(e) }

// splitCgroupLine splits on the first two colons only: the path may contain
// ':'.
func splitCgroupLine(line []byte) (id int, list, path []byte, err error) {
	i := bytes.IndexByte(line, ':')
	if i < 0 {
		return 0, nil, nil, parseError("want ID:controllers:path, got " + strconv.Quote(string(line)))
	}
	j := bytes.IndexByte(line[i+1:], ':')
	if j < 0 {
		return 0, nil, nil, parseError("want ID:controllers:path, got " + strconv.Quote(string(line)))
	}
	j += i + 1
	id, err = atoiField(line[:i])
	if err != nil {
		return 0, nil, nil, parseError("bad hierarchy ID " + strconv.Quote(string(line[:i])))
	}
	path = line[j+1:]
	if len(path) == 0 || path[0] != '/' {
		return 0, nil, nil, parseError("cgroup path " + strconv.Quote(string(path)) + " is not absolute")
	}
	return id, line[i+1 : j], path, nil
}

func newCgroupLine(id int, list, path []byte) CgroupLine {
	l := CgroupLine{HierarchyID: id, Path: string(path)}
	for len(list) > 0 {
		var c []byte
		if k := bytes.IndexByte(list, ','); k >= 0 {
			c, list = list[:k], list[k+1:]
		} else {
			c, list = list, nil
		}
		switch {
		case len(c) == 0:
			continue
		case bytes.HasPrefix(c, []byte("name=")):
			l.Name = string(c[len("name="):])
		default:
			l.Controllers = append(l.Controllers, string(c))
		}
	}
	return l
}

// Cgroup reads and parses <root>/proc/<pid>/cgroup; pid is a number or
// "self".
func (fs FS) Cgroup(pid string) ([]CgroupLine, error) {
	data, n, err := fs.read(maxFileSize, pid, "cgroup")
	if err != nil {
		return nil, err
	}
	lines, err := ParseCgroup(data)
	return lines, fs.box(n, err)
}

// ScanCgroup reads <root>/proc/<pid>/cgroup into buf and calls fn for each
// line with the hierarchy ID, the raw controller list ("cpu,cpuacct",
// "name=systemd", empty on the v2 line) and the path, all aliasing buf. It
// validates as ParseCgroup does and allocates only to open the file (not
// per line); a file that does not fit in buf is an error wrapping
// ErrTooLarge. It stops
// at the first error from fn. It returns the file's content (in buf).
func (fs FS) ScanCgroup(pid string, buf []byte, fn func(id int, controllers, path []byte) error) ([]byte, error) {
	n := name(pid, "cgroup")
	k, err := fs.root.ReadInto(n, buf)
	if err != nil {
		return nil, err
	}
	if err := scanCgroup(buf[:k], fn); err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, fs.box(n, err)
	}
	return buf[:k], nil
}
