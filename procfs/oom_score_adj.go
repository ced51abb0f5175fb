package procfs

import (
	"strconv"
)

// ParseOOMScoreAdj parses /proc/<pid>/oom_score_adj: one decimal in
// -1000..1000 and a newline (proc_pid_oom_score_adj(5)). The kubelet sets it
// by QoS class: -997 Guaranteed, 1000 BestEffort, 2..999 Burstable.
func ParseOOMScoreAdj(data []byte) (int, error) {
	s := string(trimSpace(data))
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, malformed("oom_score_adj %q is not a number", s)
	}
	if n < -1000 || n > 1000 {
		return 0, malformed("oom_score_adj %d outside -1000..1000", n)
	}
	return n, nil
}

// OOMScoreAdj reads <root>/proc/<pid>/oom_score_adj.
func (fs FS) OOMScoreAdj(pid string) (int, error) {
	data, name, err := fs.read(64, pid, "oom_score_adj")
	if err != nil {
		return 0, err
	}
	n, err := ParseOOMScoreAdj(data)
	return n, fs.box(name, err)
}
