package procfs

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// MaxMountInfoLine is the longest mountinfo line that is parsed. Longer lines
// (overlay mounts with long lowerdir lists exceed 64 KiB) are skipped, not
// fatal: no cgroup mount is ever that long.
const MaxMountInfoLine = 64 << 10

// Bounds of one mountinfo read. A node with thousands of containers has a
// mountinfo of a few MiB; these stop, in bounded time and with
// ErrTooLarge, a file whose stat size cannot tell (a live kernel file
// reports 0) or that grows while it is read. (A device in its place is
// refused at open, and so is a regular file stat already shows too
// large.)
const (
	maxMountInfoBytes = 64 << 20
	maxMountInfoLines = 1 << 20
)

// MountInfo is one line of /proc/<pid>/mountinfo (proc_pid_mountinfo(5)):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//	(1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)    (10)         (11)
//
// (7) is zero or more optional fields, ended by the single hyphen (8); the
// fields after the separator are therefore found by searching for it, never
// by index. Root and MountPoint are unescaped (\040 space, \011 tab,
// \012 newline, \134 backslash).
type MountInfo struct {
	ID, ParentID int
	MajorMinor   string
	// Root is the path within the filesystem that forms the root of this
	// mount. For cgroupfs it is the cgroup the mount shows, e.g.
	// "/docker/<id>" for a bind-mounted container view, "/" for a full or
	// namespaced view, or "/../.." for a mount made outside the namespace.
	Root       string
	MountPoint string
	Options    string
	Optional   []string
	FSType     string
	Source     string
	// SuperOptions is the rest of the line after the source; it may contain
	// raw spaces (WSL's 9p path=C:\Program Files\...).
	SuperOptions string
}

// MountInfoView is a parsed line whose fields point into the line's bytes,
// for callers that filter many lines without allocating. It is valid only
// until the scanner reads the next line.
type MountInfoView struct {
	ID, ParentID int
	MajorMinor   []byte
	Root         []byte
	MountPoint   []byte
	Options      []byte
	Optional     []byte // the optional fields, space separated, or empty
	FSType       []byte
	Source       []byte
	SuperOptions []byte
}

// parseMountInfoLine parses one line without its newline. Root and mount
// point are unescaped in place, so line is modified. The view's fields alias
// line.
func parseMountInfoLine(line []byte, v *MountInfoView) error {
	*v = MountInfoView{}
	rest := line
	var f [6][]byte
	for i := range f {
		f[i], rest = nextField(rest)
		if len(f[i]) == 0 {
			return malformed("mountinfo line has %d fields before the separator, want at least 6", i)
		}
	}
	var err error
	if v.ID, err = atoiField(f[0]); err != nil {
		return malformed("mount ID %q", f[0])
	}
	if v.ParentID, err = atoiField(f[1]); err != nil {
		return malformed("parent ID %q", f[1])
	}
	v.MajorMinor = f[2]
	v.Root = unescapeOctal(f[3])
	v.MountPoint = unescapeOctal(f[4])
	v.Options = f[5]

	// Optional fields up to the lone "-".
	optStart := -1
	optEnd := -1
	for {
		rest = trimLeadingSpace(rest)
		if len(rest) == 0 {
			return malformed("mountinfo line has no ' - ' separator")
		}
		var fld []byte
		start := len(line) - len(rest)
		fld, rest = nextField(rest)
		if len(fld) == 1 && fld[0] == '-' {
			break
		}
		if optStart < 0 {
			optStart = start
		}
		optEnd = start + len(fld)
	}
	if optStart >= 0 {
		v.Optional = line[optStart:optEnd]
	}
	v.FSType, rest = nextField(rest)
	if len(v.FSType) == 0 {
		return malformed("mountinfo line has no filesystem type after the separator")
	}
	v.Source, rest = nextField(rest)
	v.SuperOptions = trimLeadingSpace(rest)
	return nil
}

// scanMountInfo streams mountinfo content from r line by line through buf
// (grown up to MaxMountInfoLine for a long line) and calls fn for every well-formed
// line. Over-long and malformed lines are counted and skipped: one odd line
// never fails the whole file. More than maxLines lines is an error wrapping
// ErrTooLarge. It stops early when fn returns false. The error is a read
// error, the line bound, or nil.
func scanMountInfo(r io.Reader, buf []byte, maxLines int, fn func(*MountInfoView) bool) (skipped int, err error) {
	var v MountInfoView
	start, end := 0, 0
	discarding := false // inside an over-long line
	eof := false
	lines := 0
	for {
		// Emit every complete line in buf[start:end].
		for {
			i := bytes.IndexByte(buf[start:end], '\n')
			if i < 0 {
				break
			}
			line := buf[start : start+i]
			start += i + 1
			if lines++; lines > maxLines {
				return skipped, fmt.Errorf("%w: more than %d lines", ErrTooLarge, maxLines)
			}
			if discarding {
				discarding = false
				continue
			}
			if len(line) == 0 {
				continue
			}
			if parseMountInfoLine(line, &v) != nil {
				skipped++
				continue
			}
			if !fn(&v) {
				return skipped, nil
			}
		}
		if eof {
			if start < end && !discarding {
				line := buf[start:end]
				if parseMountInfoLine(line, &v) != nil {
					skipped++
				} else {
					fn(&v)
				}
			}
			return skipped, nil
		}
		// Compact, then refill.
		if start > 0 {
			end = copy(buf, buf[start:end])
			start = 0
		}
		if end == len(buf) && len(buf) < MaxMountInfoLine && !discarding {
			// A line longer than the buffer, which may still hold one of
			// MaxMountInfoLine bytes: grow it (once per doubling).
			nb := make([]byte, min(2*len(buf), MaxMountInfoLine))
			copy(nb, buf[:end])
			buf = nb
		}
		if end == len(buf) {
			// A line fills the whole buffer: skip it through its newline.
			if !discarding {
				skipped++
			}
			discarding = true
			end = 0
		}
		n, rerr := r.Read(buf[end:])
		end += n
		if rerr == io.EOF {
			eof = true
		} else if rerr != nil {
			return skipped, rerr
		}
	}
}

// ParseMountInfo parses a whole mountinfo file held in memory, skipping
// malformed and over-long lines (counted in skipped).
func ParseMountInfo(data []byte) (mounts []MountInfo, skipped int) {
	cp := append([]byte(nil), data...) // unescaping works in place
	skipped, _ = scanMountInfo(bytes.NewReader(cp), make([]byte, MaxMountInfoLine), len(data)+1, func(v *MountInfoView) bool {
		mounts = append(mounts, v.Copy())
		return true
	})
	return mounts, skipped
}

// Copy returns the view as a MountInfo with its own strings.
func (v *MountInfoView) Copy() MountInfo {
	m := MountInfo{
		ID:           v.ID,
		ParentID:     v.ParentID,
		MajorMinor:   string(v.MajorMinor),
		Root:         string(v.Root),
		MountPoint:   string(v.MountPoint),
		Options:      string(v.Options),
		FSType:       string(v.FSType),
		Source:       string(v.Source),
		SuperOptions: string(v.SuperOptions),
	}
	for opt := v.Optional; len(opt) > 0; {
		var f []byte
		f, opt = nextField(opt)
		if len(f) > 0 {
			m.Optional = append(m.Optional, string(f))
		}
	}
	return m
}

// minMountInfoBuf is the smallest line buffer ScanMountInfo starts with;
// it grows (up to MaxMountInfoLine) only for a longer line.
const minMountInfoBuf = 4 << 10

// ScanMountInfo streams <root>/proc/<pid>/mountinfo line by line and calls
// fn with a view of every well-formed line (valid only during the call),
// allocating only to open the file when buf is given and holds the
// longest line: buf is the line buffer (at least 4 KiB is used; it is replaced by a larger one,
// up to MaxMountInfoLine, when a line does not fit). Malformed and over-long lines
// are counted in skipped and passed over. It stops early when fn returns
// false. The file is read to at most 64 MiB and 1,048,576 lines; beyond
// that the error wraps ErrTooLarge.
func (fs FS) ScanMountInfo(pid string, buf []byte, fn func(*MountInfoView) bool) (skipped int, err error) {
	n := name(pid, "mountinfo")
	st, err := fs.root.OpenStream(n, maxMountInfoBytes)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	if len(buf) < minMountInfoBuf {
		buf = make([]byte, minMountInfoBuf)
	}
	skipped, err = scanMountInfo(st, buf, maxMountInfoLines, fn)
	if err != nil {
		return skipped, fs.box(n, err)
	}
	return skipped, nil
}

// MountInfo reads <root>/proc/<pid>/mountinfo. Malformed and over-long lines
// are skipped and counted; a file in which no line could be used is an
// error wrapping ErrMalformed, as is failing to open or read it.
func (fs FS) MountInfo(pid string) (mounts []MountInfo, skipped int, err error) {
	lines := 0
	skipped, err = fs.ScanMountInfo(pid, nil, func(v *MountInfoView) bool {
		mounts = append(mounts, v.Copy())
		lines++
		return true
	})
	if err != nil {
		return nil, skipped, err
	}
	if lines == 0 && skipped > 0 {
		return nil, skipped, fs.box(name(pid, "mountinfo"), malformed("no usable line: %d skipped (malformed, or over %d bytes)", skipped, MaxMountInfoLine))
	}
	return mounts, skipped, nil
}

// nextField returns the next space-separated field and the remainder.
func nextField(b []byte) (field, rest []byte) {
	b = trimLeadingSpace(b)
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return b, nil
	}
	return b[:i], b[i+1:]
}

func trimLeadingSpace(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
}

func atoiField(b []byte) (int, error) {
	n := 0
	if len(b) == 0 || len(b) > 9 {
		return 0, strconv.ErrSyntax
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// unescapeOctal decodes the kernel's \ooo escapes (seq_file's mangle of
// space, tab, newline and backslash) in place and returns the shortened
// slice. A backslash not followed by three octal digits is kept as is.
func unescapeOctal(b []byte) []byte {
	if bytes.IndexByte(b, '\\') < 0 {
		return b
	}
	w := 0
	for r := 0; r < len(b); {
		if b[r] == '\\' && r+3 < len(b) && isOctal(b[r+1]) && isOctal(b[r+2]) && isOctal(b[r+3]) {
			v := int(b[r+1]-'0')<<6 | int(b[r+2]-'0')<<3 | int(b[r+3]-'0')
			if v <= 0xff {
				b[w] = byte(v)
				w++
				r += 4
				continue
			}
		}
		b[w] = b[r]
		w++
		r++
	}
	return b[:w]
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
