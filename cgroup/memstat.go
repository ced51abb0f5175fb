package cgroup

// memory.stat is read in one place: readMemStat parses the keys any reader
// needs in one pass over the process's own memory.stat. The file is flat
// keyed (Documentation/admin-guide/cgroup-v2.rst, "memory.stat"; v1:
// cgroup-v1/memory.rst, 5.2), one "key value" pair per line, values in bytes:
//
//	anon 1234567          (v1: total_rss)
//	file 7654321          (v1: total_cache)
//	kernel 98304          (v2 only, Linux 5.18+)
//	inactive_file 4096    (v1: total_inactive_file)
//	shmem 65536           (v1: total_shmem; part of file)
//	sock 28672            (v2 only: network buffers, not part of kernel)
//	hierarchical_memory_limit 268435456    (v1 only)
//	hierarchical_memsw_limit 9223372036854771712   (v1 only)

type memStatKey uint8

const (
	keyAnon memStatKey = iota
	keyFile
	keyKernel
	keyInactiveFile
	keyHierMem
	keyHierMemsw
	keyShmem
	keySock
	numMemStatKeys // at most 8: present and negs are bit sets in a uint8
)

// memStatKeys names each key on v2 and v1 ("" where the version has none).
var memStatKeys = [numMemStatKeys]struct{ v2, v1 string }{
	keyAnon:         {"anon", "total_rss"},
	keyFile:         {"file", "total_cache"},
	keyKernel:       {"kernel", ""},
	keyInactiveFile: {"inactive_file", "total_inactive_file"},
	keyHierMem:      {"", "hierarchical_memory_limit"},
	keyHierMemsw:    {"", "hierarchical_memsw_limit"},
	keyShmem:        {"shmem", "total_shmem"},
	keySock:         {"sock", ""},
}

// memStat is one parse of memory.stat: the values of the keys found, as
// unsigned 64-bit numbers, which ones were present, and which were
// negative (read as 0).
type memStat struct {
	vals    [numMemStatKeys]uint64
	present uint8
	negs    uint8
}

func (m *memStat) has(k memStatKey) bool { return m.present&(1<<k) != 0 }
func (m *memStat) neg(k memStatKey) bool { return m.negs&(1<<k) != 0 }

// parseMemStat fills m from memory.stat content. v1 selects the names.
func parseMemStat(data []byte, v1 bool, m *memStat) error {
	*m = memStat{}
	return flatKeyed(data, func(k, v []byte) error {
		for key := memStatKey(0); key < numMemStatKeys; key++ {
			name := memStatKeys[key].v2
			if v1 {
				name = memStatKeys[key].v1
			}
			if name == "" || string(k) != name {
				continue
			}
			n, err := counter(k, v)
			if err != nil {
				return err
			}
			if n == 0 && len(v) > 0 && v[0] == '-' {
				m.negs |= 1 << key
			}
			m.vals[key] = n
			m.present |= 1 << key
			return nil
		}
		return nil
	})
}

// readMemStat reads and parses the process's own memory.stat; present is
// false, with a nil error and m empty, when the file does not exist. The
// caller holds g.mu.
func (g *Group) readMemStat(m *memStat) (present bool, err error) {
	*m = memStat{}
	data, present, err := g.read(Memory, 0, fMemStat)
	if err != nil || !present {
		return false, err
	}
	if err := parseMemStat(data, g.locs[Memory].Version == 1, m); err != nil {
		return false, g.malformedFile(Memory, 0, fMemStat, err)
	}
	return true, nil
}
