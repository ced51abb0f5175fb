//go:build linux

package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Limits are what ParentCgroup writes into the cgroup it creates. Zero
// leaves a file at the kernel's default (unlimited).
type Limits struct {
	CPUQuota  int64  // cpu.cfs_quota_us
	CPUPeriod uint64 // cpu.cfs_period_us
	Memory    int64  // memory.limit_in_bytes
}

// ParentCgroup creates a cgroup /rightsize-parent-<hex> with lim in the v1
// cpu and memory hierarchies, for `run --cgroup-parent`; the engine's
// runtime creates the path in the other hierarchies. It is recorded in the
// engine's directory and removed by Stop at the latest (RemoveCgroup
// removes it earlier). cgroup v1 only: on v2 a parent needs its
// controllers enabled in every ancestor's cgroup.subtree_control, which
// the harness would have to change on the host.
func (e *Engine) ParentCgroup(lim Limits) (string, error) {
	cpu, err := v1Hierarchy("cpu")
	if err != nil {
		return "", err
	}
	mem, err := v1Hierarchy("memory")
	if err != nil {
		return "", err
	}
	p := "/rightsize-parent-" + randomHex(10)
	if err := recordCgroup(e.Dir, p); err != nil {
		return "", err
	}
	write := func(dir, file string, v string) error {
		return os.WriteFile(filepath.Join(dir, file), []byte(v), 0o644)
	}
	cpuDir, memDir := filepath.Join(cpu.point, p), filepath.Join(mem.point, p)
	for _, d := range []string{cpuDir, memDir} {
		if err := os.Mkdir(d, 0o755); err != nil && !os.IsExist(err) {
			removeCgroupTree(p)
			return "", err
		}
	}
	var werr error
	if lim.CPUPeriod > 0 {
		werr = write(cpuDir, "cpu.cfs_period_us", strconv.FormatUint(lim.CPUPeriod, 10))
	}
	if werr == nil && lim.CPUQuota != 0 {
		werr = write(cpuDir, "cpu.cfs_quota_us", strconv.FormatInt(lim.CPUQuota, 10))
	}
	if werr == nil && lim.Memory > 0 {
		werr = write(memDir, "memory.limit_in_bytes", strconv.FormatInt(lim.Memory, 10))
	}
	if werr != nil {
		removeCgroupTree(p)
		return "", fmt.Errorf("writing the limits of %s: %w", p, werr)
	}
	return p, nil
}

// RemoveCgroup removes a cgroup made by ParentCgroup and everything below
// it, in every hierarchy (see removeCgroupTree).
func (e *Engine) RemoveCgroup(p string) error { return removeCgroupTree(p) }
