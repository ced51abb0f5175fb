package main

import (
	"bytes"
	"path"
	"strconv"
	"strings"

	"github.com/rightsize/rightsize/internal/proctable"
	"github.com/rightsize/rightsize/procfs"
)

// The process table in a capture: what procfs.Scanner reads, laid out as
// /proc lays it out, so that --root on the unpacked tree shows the
// processes section the capturing process saw (its zombie children, its
// threads, its descriptors against RLIMIT_NOFILE, the zombies of its PID
// namespace). Nothing copied names a process or an open file:
//
//   - /proc/self/stat and /proc/<pid>/stat of every process of the PID
//     namespace: the command name between parentheses becomes "-", and
//     the fields after starttime (memory addresses, signal masks, exit
//     codes) become 0;
//   - /proc/self/limits: the header and the "Max open files" and "Max
//     processes" lines;
//   - /proc/self/task/<tid>/children: PIDs only;
//   - /proc/self/fd/<n>: recorded as symbolic links to fdPlaceholder, a
//     pidfd's as "anon_inode:[pidfd]";
//   - /proc/self/fdinfo/<n> of the pidfds only: their "Pid:" line.

// fdPlaceholder is the target a descriptor's link gets in a capture: the
// number of descriptors is kept, what they refer to is not.
const fdPlaceholder = "rightsize-capture:[redacted]"

// pidfdTarget is the target of a pidfd's link (proctable.IsPidfdLink).
const pidfdTarget = "anon_inode:[pidfd]"

// statKeep is how many fields of a stat line are kept as they are: up to
// starttime (22), the last one procfs parses.
const statKeep = 22

// anonymizeStat rewrites a /proc/<pid>/stat line: the command name becomes
// "-" and the fields after starttime 0. ok is false for a line that is not
// a stat line (no command name in parentheses, or a bad PID), which is
// then not copied at all.
func anonymizeStat(data []byte) ([]byte, bool) {
	data = bytes.TrimSpace(data)
	open := bytes.IndexByte(data, '(')
	close := bytes.LastIndexByte(data, ')')
	if open < 1 || close < open {
		return nil, false
	}
	pid := bytes.TrimSpace(data[:open])
	if _, err := strconv.ParseUint(string(pid), 10, 31); err != nil {
		return nil, false
	}
	fields := strings.Fields(string(data[close+1:]))
	var b bytes.Buffer
	b.Write(pid)
	b.WriteString(" (-)")
	for i, f := range fields {
		// fields[0] is field 3 (state).
		switch {
		case i == 0:
			if len(f) != 1 || f[0] < 'A' || f[0] > 'z' {
				return nil, false
			}
		case i+3 > statKeep:
			f = "0"
		case strings.Trim(f, "-0123456789") != "":
			// Only numbers after the state: anything else could
			// carry text.
			return nil, false
		}
		b.WriteByte(' ')
		b.WriteString(f)
	}
	b.WriteByte('\n')
	return b.Bytes(), true
}

// filterLimits keeps the header and the lines of /proc/<pid>/limits that
// procfs reads.
func filterLimits(data []byte) []byte {
	var b bytes.Buffer
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if strings.HasPrefix(line, "Limit ") || strings.HasPrefix(line, "Max open files ") || strings.HasPrefix(line, "Max processes ") {
			b.WriteString(line)
		}
	}
	return b.Bytes()
}

// filterChildren keeps a children file only when it is a list of PIDs.
func filterChildren(data []byte) ([]byte, bool) {
	if _, err := proctable.ParseChildren(data, nil); err != nil {
		return nil, false
	}
	return data, true
}

// isPID reports whether a /proc entry names a process.
func isPID(name string) bool {
	return name != "" && name[0] >= '1' && name[0] <= '9' && strings.Trim(name, "0123456789") == ""
}

// copyChecked copies a file through filter, which may refuse it (a warning
// names the file); a file that vanished (a process that exited) is left
// out silently.
func (a *archive) copyChecked(name string, filter func([]byte) ([]byte, bool)) {
	data, ok := a.readQuiet(name, maxCaptureFile)
	if !ok {
		return
	}
	out, ok := filter(data)
	if !ok {
		a.warn("skipped " + a.root.Join(name) + ": " + procfs.ErrMalformed.Error() + "; not copied")
		return
	}
	a.addFile(name, out)
}

// processTable copies the process table's files (see above).
func (a *archive) processTable() {
	if !a.root.Exists("/proc/self/stat") {
		return // a tree captured before the process table was
	}
	a.copyChecked("/proc/self/stat", anonymizeStat)
	a.copy("/proc/self/limits", maxCaptureFile, filterLimits)

	if tids, err := a.root.ReadDirNames("/proc/self/task", maxProcEntries); err == nil {
		for _, tid := range tids {
			if isPID(tid) {
				a.copyChecked(path.Join("/proc/self/task", tid, "children"), filterChildren)
			}
		}
	} else if !vanished(err) {
		a.warn("skipped " + err.Error())
	}

	if names, err := a.root.ReadDirNames("/proc", maxProcEntries); err == nil {
		for _, n := range names {
			if isPID(n) {
				a.copyChecked(path.Join("/proc", n, "stat"), anonymizeStat)
			}
		}
	} else {
		a.warn("skipped " + err.Error())
	}

	fds, err := a.root.ReadDirNames("/proc/self/fd", maxProcEntries)
	if err != nil {
		if !vanished(err) {
			a.warn("skipped " + err.Error())
		}
		return
	}
	for _, fd := range fds {
		if !a.check() {
			return
		}
		if _, err := strconv.Atoi(fd); err != nil {
			continue
		}
		name := path.Join("/proc/self/fd", fd)
		target, err := a.root.Readlink(name)
		if err != nil {
			// Closed since the listing (the listing's own descriptor
			// among them), or not a link in a tree: left out.
			continue
		}
		if !proctable.IsPidfdLink([]byte(target)) {
			a.opaque[entryName(name)] = true
			a.addLink(name, fdPlaceholder)
			continue
		}
		info, ok := a.readQuiet(path.Join("/proc/self/fdinfo", fd), maxCaptureFile)
		if !ok {
			continue // closed since
		}
		a.opaque[entryName(name)] = true
		a.addLink(name, pidfdTarget)
		if pid, ok := proctable.ParseFdinfoPid(info); ok {
			a.addFile(path.Join("/proc/self/fdinfo", fd), []byte("Pid:\t"+strconv.Itoa(pid)+"\n"))
		}
	}
}
