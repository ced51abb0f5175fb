package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/rightsizeexpvar"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// Views of trees built for one point each: the values come from the
// Reader, and both views show them.

// treeWith copies a fixture tree and writes files (paths inside the root)
// into the copy.
func treeWith(t *testing.T, tree string, files map[string]string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "tree")
	testenv.CopyTree(t, filepath.Join("testdata/trees", tree), root)
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// both returns the decoded --json report (validated) and the view.
func both(t *testing.T, root string) (report, string) {
	t.Helper()
	var doc report
	if err := json.Unmarshal([]byte(runJSON(t, "--root", root, "--json")), &doc); err != nil {
		t.Fatal(err)
	}
	return doc, runOK(t, "--root", root)
}

func wantIn(t *testing.T, view string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(view, p) {
			t.Errorf("the view lacks %q:\n%s", p, view)
		}
	}
}

// TestMemoryFloor: a policy value below runtimeinfo.MinGOMEMLIMIT is not a
// recommendation (null, not unknown), and the view says why.
func TestMemoryFloor(t *testing.T) {
	root := treeWith(t, "k8s-v2-guaranteed", map[string]string{"sys/fs/cgroup/memory.max": "4000000\n"})
	doc, view := both(t, root)
	if doc.Go.RecommendedGOMEMLIMIT != nil || contains(doc.Unknown, "go.recommendedGOMEMLIMIT") {
		t.Errorf("recommendedGOMEMLIMIT %v, unknown %q; want null and known", doc.Go.RecommendedGOMEMLIMIT, doc.Unknown)
	}
	wantIn(t, view, "rightsize would set none (what the policy gives is below the "+fmtBytes(runtimeinfo.MinGOMEMLIMIT)+" floor, runtimeinfo.MinGOMEMLIMIT)")

	// At the floor's edge the command takes the Reader's decision as it
	// is (decideMem offers no Want below the floor): 0.9 × 9320676 is
	// just above MinGOMEMLIMIT, 0.9 × 9320675 just below.
	for _, tt := range []struct {
		limit string
		want  *int64
	}{{"9320676\n", ptr(int64(runtimeinfo.MinGOMEMLIMIT))}, {"9320675\n", nil}} {
		doc, _ := both(t, treeWith(t, "k8s-v2-guaranteed", map[string]string{"sys/fs/cgroup/memory.max": tt.limit}))
		got := doc.Go.RecommendedGOMEMLIMIT
		if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want || contains(doc.Unknown, "go.recommendedGOMEMLIMIT") {
			t.Errorf("memory.max %q: recommendedGOMEMLIMIT %v, want %v", tt.limit, got, tt.want)
		}
	}
}

// TestDownwardAPI: where the cgroup shows no limit the Reader uses the
// RIGHTSIZE_* Downward API values, and a request outside Kubernetes comes
// from the environment only.
func TestDownwardAPI(t *testing.T) {
	root := treeWith(t, "none-wsl", map[string]string{
		"proc/self/environ": "PATH=/bin\x00RIGHTSIZE_CPU_LIMIT_MILLIS=1500\x00RIGHTSIZE_CPU_REQUEST_MILLIS=250\x00RIGHTSIZE_MEMORY_LIMIT_BYTES=536870912\x00RIGHTSIZE_MEMORY_REQUEST_BYTES=268435456\x00",
	})
	doc, view := both(t, root)
	c, m := doc.CPU, doc.Memory
	if c.Limit == nil || *c.Limit != 1.5 || c.LimitSource == nil || *c.LimitSource != "env" || c.LimitPath != nil {
		t.Errorf("cpu limit %v source %v path %v; want 1.5 from env, no path", c.Limit, c.LimitSource, c.LimitPath)
	}
	if c.Request == nil || *c.Request != 0.25 {
		t.Errorf("cpu request %v, want 0.25", c.Request)
	}
	if m.Limit == nil || *m.Limit != 536870912 || m.LimitSource == nil || *m.LimitSource != "env" {
		t.Errorf("memory limit %v source %v; want 512 MiB from env", m.Limit, m.LimitSource)
	}
	// The memory request, as the Reader, expvar and the exporters give it.
	if m.Request == nil || *m.Request != 268435456 {
		t.Errorf("memory request %v, want 256 MiB", m.Request)
	}
	if g := doc.Go.RecommendedGOMAXPROCS; g == nil || *g != 2 {
		t.Errorf("recommendedGOMAXPROCS %v, want 2 (ceil 1.5)", g)
	}
	wantIn(t, view, "limit 1.5 CPUs (from RIGHTSIZE_CPU_LIMIT_MILLIS)", "request 0.25 CPUs",
		"limit 512 MiB (from RIGHTSIZE_MEMORY_LIMIT_BYTES)", "request 256 MiB", "rightsize would set 460.8 MiB")
}

// TestHostWidePressure: pressure read from /proc/pressure is the host's,
// and both views say so.
func TestHostWidePressure(t *testing.T) {
	line := "some avg10=2.50 avg60=1.00 avg300=0.50 total=1000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
	root := treeWith(t, "k8s-v1-burstable", map[string]string{
		"proc/pressure/cpu": line, "proc/pressure/memory": line, "proc/pressure/io": line,
	})
	doc, view := both(t, root)
	if doc.Pressure == nil || !doc.Pressure.HostWide || doc.Pressure.CPU == nil || doc.Pressure.CPU.Some.Avg10 != 2.5 {
		t.Fatalf("pressure %+v; want host-wide, cpu 2.5", doc.Pressure)
	}
	wantIn(t, view, "cpu 2.50%", "host-wide, not this container's")

	// The container's own pressure is not labelled so.
	doc, view = both(t, filepath.Join("testdata/trees", "k8s-v2-guaranteed"))
	if doc.Pressure == nil || doc.Pressure.HostWide || strings.Contains(view, "host-wide") {
		t.Errorf("a container's pressure is labelled host-wide: %+v\n%s", doc.Pressure, view)
	}
}

// TestUsageElsewhere: with cpu and cpuacct mounted apart and the process
// in different cgroups of the two, usage comes from the cpuacct cgroup and
// both views say so.
func TestUsageElsewhere(t *testing.T) {
	root := treeWith(t, "hybrid-docker", map[string]string{
		"proc/self/cgroup":                         "9:name=systemd:/\n8:pids:/\n4:memory:/svc\n3:cpuset:/\n2:cpuacct:/acct\n1:cpu:/\n0::/\n",
		"sys/fs/cgroup/cpuacct/acct/cpuacct.usage": "2500000000\n",
	})
	doc, view := both(t, root)
	if !doc.CPU.UsageElsewhere || doc.CPU.UsageSeconds == nil || *doc.CPU.UsageSeconds != 2.5 {
		t.Errorf("usageElsewhere %v, usage %v; want true and 2.5 s", doc.CPU.UsageElsewhere, doc.CPU.UsageSeconds)
	}
	wantIn(t, view, "used 2.5 s in total (cgroup /sys/fs/cgroup/cpuacct/acct)")
	doc, _ = both(t, filepath.Join("testdata/trees", "hybrid-docker"))
	if doc.CPU.UsageElsewhere {
		t.Errorf("usageElsewhere with the process in the same cgroup of cpu and cpuacct")
	}
}

// TestTerminalSafe: file contents quoted in warnings cannot send control
// sequences to the terminal.
func TestTerminalSafe(t *testing.T) {
	root := treeWith(t, "k8s-v2-guaranteed", map[string]string{"sys/fs/cgroup/pids.current": "\x1b[2J\x1b]0;pwned\x07\n"})
	_, view := both(t, root)
	if strings.ContainsAny(view, "\x1b\x07") {
		t.Errorf("control characters in the view: %q", view)
	}
}

// TestCPUsAgreeWithReader: the command shows the CPU count and the
// GOMAXPROCS the Reader decided, with the Reader's source, as the expvar
// exporter does; in v2-bad-cpuset, whose cpuset.cpus.effective is
// malformed, that is the Reader's fallback (the tree's Cpus_allowed_list),
// and the error is still a warning naming the file. In every tree, a count
// the command shows is the Reader's.
func TestCPUsAgreeWithReader(t *testing.T) {
	for _, name := range trees(t) {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join("testdata/trees", name)
			doc, view := both(t, root)
			r, err := runtimeinfo.NewReader(runtimeinfo.WithRoot(root), runtimeinfo.WithFields(runtimeinfo.FieldAll),
				runtimeinfo.WithEnvConfig(), runtimeinfo.WithLogger(nil))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var snap runtimeinfo.Snapshot
			_ = r.Read(&snap)
			procs, _ := r.Recommend(&snap)
			ev := rightsizeexpvar.Read(runtimeinfo.WithRoot(root)).Snapshot.CPUs
			if ev.Count != snap.CPUs.N || ev.Source.Kind != string(snap.CPUs.Source.Kind) {
				t.Fatalf("expvar cpus %+v, Reader %+v", ev, snap.CPUs)
			}
			if c := doc.CPU.CPUs; c != nil {
				if int64(*c) != snap.CPUs.N || doc.CPU.CPUsSource == nil || *doc.CPU.CPUsSource != string(snap.CPUs.Source.Kind) {
					t.Errorf("cpu.cpus %d from %v; the Reader has %d from %s", *c, doc.CPU.CPUsSource, snap.CPUs.N, snap.CPUs.Source.Kind)
				}
				if procs.HasWant && (doc.Go.RecommendedGOMAXPROCS == nil || int64(*doc.Go.RecommendedGOMAXPROCS) != procs.Want) {
					t.Errorf("recommendedGOMAXPROCS %v; the Reader wants %d (%s)", doc.Go.RecommendedGOMAXPROCS, procs.Want, procs.Reason)
				}
			} else if doc.CPU.CPUsSource != nil {
				t.Errorf("cpu.cpusSource %q without cpu.cpus", *doc.CPU.CPUsSource)
			}
			if name != "v2-bad-cpuset" {
				return
			}
			const file = "/sys/fs/cgroup/app/cpuset.cpus.effective"
			readerErr := false
			for _, e := range snap.Errors {
				readerErr = readerErr || strings.Contains(e.Error(), file)
			}
			if !readerErr || !procs.HasWant || snap.CPUs.N != 6 || snap.CPUs.Source.Kind != runtimeinfo.SourceProc {
				t.Fatalf("the fixture no longer makes the Reader fall back: errors %v, cpus %+v, decision %+v", snap.Errors, snap.CPUs, procs)
			}
			if doc.CPU.CPUs == nil || doc.Go.RecommendedGOMAXPROCS == nil || *doc.Go.RecommendedGOMAXPROCS != 6 {
				t.Errorf("cpu.cpus %v, recommendedGOMAXPROCS %v; want the Reader's 6", doc.CPU.CPUs, doc.Go.RecommendedGOMAXPROCS)
			}
			for _, f := range []string{"cpu.cpus", "cpu.cpusSource", "go.recommendedGOMAXPROCS"} {
				if contains(doc.Unknown, f) {
					t.Errorf("unknown %q lists %s, which the Reader knows", doc.Unknown, f)
				}
			}
			warned := false
			for _, w := range doc.Warnings {
				warned = warned || strings.HasPrefix(w, file+": malformed")
			}
			if !warned {
				t.Errorf("no warning naming %s: %q", file, doc.Warnings)
			}
			wantIn(t, view, "may run on 6 CPUs (proc /proc/self/status Cpus_allowed_list: the cpuset could not be read)",
				"GOMAXPROCS  rightsize would set 6", file+": malformed")
		})
	}
}

// TestLeafLimit: the CPU limit of the process's own cgroup, which the Go
// runtime and automaxprocs read, next to the effective one. A leaf quota
// of 3 CPUs under a parent of 2.5 (cgroup v2 accepts it): the parent
// binds, the runtime sees 3; the leaf at 1 CPU binds itself and the view
// adds nothing.
func TestLeafLimit(t *testing.T) {
	for _, tc := range []struct {
		leaf      string
		limit     float64
		leafLimit float64
		view      string
	}{
		{"300000 100000", 2.5, 3, "limit 2.5 CPUs (set at /sys/fs/cgroup/a; the Go runtime reads /sys/fs/cgroup/a/b only: 3 CPUs)"},
		{"100000 100000", 1, 1, "limit 1 CPU · may run on"},
	} {
		root := treeWith(t, "v2-host-nested", map[string]string{"/sys/fs/cgroup/a/b/cpu.max": tc.leaf})
		var doc report
		if err := json.Unmarshal([]byte(runJSON(t, "--root", root, "--json")), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.CPU.Limit == nil || *doc.CPU.Limit != tc.limit || doc.CPU.LeafLimit == nil || *doc.CPU.LeafLimit != tc.leafLimit {
			t.Errorf("leaf cpu.max %q: limit %v, leafLimit %v; want %v and %v", tc.leaf, doc.CPU.Limit, doc.CPU.LeafLimit, tc.limit, tc.leafLimit)
		}
		wantIn(t, runOK(t, "--root", root), tc.view)
	}
}

// An ancestor's cpu.max that cannot be parsed leaves the effective limit
// unknown but not the leaf's 0.5 CPUs, which was read; the leaf's own
// broken file leaves both unknown.
func TestLeafLimitUnknown(t *testing.T) {
	for _, tc := range []struct {
		files    map[string]string
		leafWant float64 // 0: null and unknown
	}{
		{map[string]string{"/sys/fs/cgroup/a/cpu.max": "garbage\n", "/sys/fs/cgroup/a/b/cpu.max": "50000 100000\n"}, 0.5},
		{map[string]string{"/sys/fs/cgroup/a/b/cpu.max": "garbage\n"}, 0},
	} {
		root := treeWith(t, "v2-host-nested", tc.files)
		var doc report
		if err := json.Unmarshal([]byte(runJSON(t, "--root", root, "--json")), &doc); err != nil {
			t.Fatal(err)
		}
		leafOK := tc.leafWant == 0 && doc.CPU.LeafLimit == nil && contains(doc.Unknown, "cpu.leafLimit") ||
			tc.leafWant != 0 && doc.CPU.LeafLimit != nil && *doc.CPU.LeafLimit == tc.leafWant && !contains(doc.Unknown, "cpu.leafLimit")
		if !contains(doc.Unknown, "cpu.limit") || !leafOK {
			t.Errorf("%v: unknown %q, leafLimit %v; want cpu.limit unknown and the leaf limit %v (0: unknown)", tc.files, doc.Unknown, doc.CPU.LeafLimit, tc.leafWant)
		}
	}
}
