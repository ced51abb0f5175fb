package cgroup

import (
	"os"
	"path/filepath"
)

// Files lists the cgroup files the handle's readers may read, as absolute
// paths without the root prefix, for the controllers found: every level's
// limit and usage files that exist, each v2 mount's cgroup.controllers and
// each v1 hierarchy root's cgroup.sane_behavior marker. It is what a capture
// must copy for the tree to read the same under WithRoot. It stats files and
// allocates; it is not for hot paths.
func (g *Group) Files() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		if _, err := os.Stat(filepath.Join(g.root, p)); err == nil {
			out = append(out, p)
		}
	}
	for c := range g.locs {
		if !g.have[c] {
			continue
		}
		loc := g.locs[c]
		if loc.Version == 2 {
			add(filepath.Join(loc.MountPoint, "cgroup.controllers"))
		} else {
			add(filepath.Join(g.levels[c][len(g.levels[c])-1].dir, "cgroup.sane_behavior"))
		}
		for _, lv := range g.levels[c] {
			for _, name := range fileNames {
				add(filepath.Join(lv.dir, name))
			}
		}
	}
	return out
}
