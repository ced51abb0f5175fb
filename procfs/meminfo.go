package procfs

import (
	"bytes"
	"strconv"
)

// Meminfo holds the fields of /proc/meminfo that rightsize uses, in bytes.
// The file reports the host, not the container (proc_meminfo(5)):
//
//	MemTotal:       24608760 kB
type Meminfo struct {
	MemTotal     int64
	MemAvailable int64 // 0 when the kernel does not report it
}

// ParseMeminfo parses MemTotal (required) and MemAvailable.
func ParseMeminfo(data []byte) (Meminfo, error) {
	var m Meminfo
	haveTotal := false
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		key, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(key) {
		case "MemTotal":
			dst = &m.MemTotal
			haveTotal = true
		case "MemAvailable":
			dst = &m.MemAvailable
		default:
			continue
		}
		v, err := parseKB(val)
		if err != nil {
			return Meminfo{}, malformed("%s: %v", key, err)
		}
		*dst = v
	}
	if !haveTotal {
		return Meminfo{}, malformed("no MemTotal line")
	}
	return m, nil
}

// parseKB parses "   24608760 kB" into bytes.
func parseKB(val []byte) (int64, error) {
	val = bytes.TrimSpace(val)
	num, unit, _ := bytes.Cut(val, []byte(" "))
	n, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil || n < 0 {
		return 0, parseError("value " + strconv.Quote(string(val)) + " is not a size")
	}
	switch string(bytes.TrimSpace(unit)) {
	case "kB":
		if n > (1<<63-1)/1024 {
			return 0, parseError("value " + strconv.Quote(string(val)) + " overflows")
		}
		return n * 1024, nil
	case "":
		return n, nil
	}
	return 0, parseError("unknown unit in " + strconv.Quote(string(val)))
}

// Meminfo reads <root>/proc/meminfo.
func (fs FS) Meminfo() (Meminfo, error) {
	data, n, err := fs.read(maxFileSize, "meminfo")
	if err != nil {
		return Meminfo{}, err
	}
	m, err := ParseMeminfo(data)
	return m, fs.box(n, err)
}
