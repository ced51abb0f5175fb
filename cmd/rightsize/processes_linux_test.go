package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The process table: the fixture tree v2-docker-pid1 is PID 1 of a docker
// container on cgroup v2 with 3 zombie children (57, 59, 60) and a live
// child (58, whose own child 90 is a zombie), 91 threads and pids.current
// 96 of pids.max 100, 15 descriptors of a soft RLIMIT_NOFILE of 16 (fd 3
// a pidfd for 58, fd 5 a file under /srv/planted-7c1e), and a process
// named "planted-comm-7c1e".

const pidTree = "testdata/trees/v2-docker-pid1"

// Things of the tree that must never reach an archive.
var planted = []string{"planted-comm-7c1e", "my server", "(sleep)", "(probe)", "/srv/planted-7c1e", "customers.db", "pipe:[", "socket:[", "/dev/null", "eventpoll"}

func TestProcessTable(t *testing.T) {
	doc, view := both(t, pidTree)
	p := doc.Processes
	if p == nil {
		t.Fatal("processes = null")
	}
	want := processes{PID: 1, Processes: ptr(6), Zombies: ptr(4), Children: ptr(4), ZombieChildren: ptr(3), Threads: ptr(91), FDs: ptr(15),
		FDLimit: &fdLimit{Soft: ptr(uint64(16)), Hard: ptr(uint64(4096))}}
	got, _ := json.Marshal(p)
	exp, _ := json.Marshal(&want)
	if !bytes.Equal(got, exp) {
		t.Errorf("processes = %s\nwant        %s", got, exp)
	}
	if len(doc.Unknown) != 0 {
		t.Errorf("unknown %q", doc.Unknown)
	}
	warnings := []string{
		"pids.current 96 is within 10% of pids.max 100",
		"the captured process (PID 1) has 91 threads, within 10% of pids.max 100",
		"the captured process (PID 1) has 15 open file descriptors, within 10% of its soft RLIMIT_NOFILE 16",
		"PID 1 has 3 zombie children: nothing reaps them; see package reaper",
	}
	for _, w := range warnings {
		if !anyPrefix(doc.Warnings, w) {
			t.Errorf("no warning %q in %q", w, doc.Warnings)
		}
	}
	if len(doc.Warnings) != len(warnings) {
		t.Errorf("%d warnings, want %d: %q", len(doc.Warnings), len(warnings), doc.Warnings)
	}
	wantIn(t, view, "Processes    the captured process (PID 1): 91 threads · 15 open descriptors of 16 (hard 4096)",
		"4 children, 3 of them zombies · 6 processes in the PID namespace, 4 zombies",
		"Warnings     pids.current 96 is within 10%", "PID 1 has 3 zombie children")
	wantIn(t, view, "Environment  docker container 3f9a2b1c4d5e\n")
	if doc.Environment.ContainerID == nil || *doc.Environment.ContainerID != "3f9a2b1c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8" {
		t.Errorf("environment.containerID = %v", doc.Environment.ContainerID)
	}
}

func anyPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// TestProcessThresholds moves each value to just below and just at 90% of
// its limit: a warning at 90%, none below; no warning without a limit.
func TestProcessThresholds(t *testing.T) {
	cg := "sys/fs/cgroup/system.slice/docker-3f9a2b1c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8.scope/"
	stat := func(threads int) string {
		return "1 (x) S 0 1 1 0 -1 4194560 2010 0 0 0 41 12 0 0 20 0 " + strconv.Itoa(threads) + " 0 8812 0\n"
	}
	limits := func(soft string) string {
		return "Limit                     Soft Limit           Hard Limit           Units     \nMax open files            " + soft + "                   unlimited            files     \n"
	}
	for _, tt := range []struct {
		name  string
		files map[string]string
		warn  []string
		quiet []string
	}{
		{"below", map[string]string{cg + "pids.current": "89\n", "proc/1/stat": stat(89), "proc/1/limits": limits("17")}, nil,
			[]string{"pids.current", "threads", "descriptors"}},
		{"at 90%", map[string]string{cg + "pids.current": "90\n", "proc/1/stat": stat(90), "proc/1/limits": limits("16")},
			[]string{"pids.current 90 is within 10% of pids.max 100", "(PID 1) has 90 threads", "(PID 1) has 15 open file descriptors, within 10% of its soft RLIMIT_NOFILE 16"}, nil},
		{"no limits", map[string]string{cg + "pids.max": "max\n", "proc/1/stat": stat(90), "proc/1/limits": limits("unlimited")}, nil,
			[]string{"pids.current", "threads", "descriptors"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc, _ := both(t, treeWith(t, "v2-docker-pid1", tt.files))
			all := strings.Join(doc.Warnings, "\n")
			for _, w := range tt.warn {
				if !strings.Contains(all, w) {
					t.Errorf("no warning %q in %q", w, doc.Warnings)
				}
			}
			for _, q := range tt.quiet {
				if strings.Contains(all, q) {
					t.Errorf("a warning about %s: %q", q, doc.Warnings)
				}
			}
		})
	}
	if !near(9, 10) || near(8, 10) || !near(14, 15) || near(13, 15) || near(0, 0) || !near(1, 1) || !near(1<<63, 1<<63) {
		t.Error("near is not ceil(90%)")
	}
}

// TestPidFlag: --pid N describes process N from its files; the reaper is
// not this command's to report then.
func TestPidFlag(t *testing.T) {
	var doc report
	if err := json.Unmarshal([]byte(runJSON(t, "--root", pidTree, "--pid", "1", "--json")), &doc); err != nil {
		t.Fatal(err)
	}
	if p := doc.Processes; p == nil || p.PID != 1 || *p.ZombieChildren != 3 || *p.Children != 4 || *p.Zombies != 4 || *p.FDs != 15 || *p.Threads != 91 || p.Reaper != nil {
		t.Errorf("--pid 1: processes %+v", p)
	}
	view := runOK(t, "--root", pidTree, "--pid", "1")
	wantIn(t, view, "Processes    PID 1: 91 threads · 15 open descriptors of 16 (hard 4096)", "PID 1 has 3 zombie children")

	// PID 58: one zombie child; its fd directory and limits are not in
	// the tree: unknown, with warnings.
	if err := json.Unmarshal([]byte(runJSON(t, "--root", pidTree, "--pid", "58", "--json")), &doc); err != nil {
		t.Fatal(err)
	}
	if p := doc.Processes; p == nil || p.PID != 58 || *p.Children != 1 || *p.ZombieChildren != 1 || *p.Threads != 1 || p.FDs != nil || p.FDLimit != nil {
		t.Errorf("--pid 58: processes %+v", p)
	}
	if !contains(doc.Unknown, "processes.fds") || !contains(doc.Unknown, "processes.fdLimit") || !anyPrefix(doc.Warnings, "/proc/58/fd: ") {
		t.Errorf("--pid 58: unknown %q, warnings %q", doc.Unknown, doc.Warnings)
	}
	if anyPrefix(doc.Warnings, "PID 1 has") {
		t.Errorf("--pid 58: a warning about PID 1: %q", doc.Warnings)
	}

	// A process that is not there: a usage error.
	for _, args := range [][]string{{"--root", pidTree, "--pid", "999"}, {"--pid", "-1"}, {"--pid", "x"}, {"--pid", "1", "capture", "-o", "x.tar.gz"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "see --help") {
			t.Errorf("%q: exit %d, stderr %q; want a usage error", args, code, errb.String())
		}
	}

	// Live, this process by its PID: its own table.
	if err := json.Unmarshal([]byte(runJSON(t, "--pid", strconv.Itoa(os.Getpid()), "--json")), &doc); err != nil {
		t.Fatal(err)
	}
	if p := doc.Processes; p == nil || p.Threads == nil || *p.Threads < 1 || p.FDs == nil || p.FDLimit == nil {
		t.Errorf("--pid %d (this process): %+v, unknown %q, warnings %q", os.Getpid(), p, doc.Unknown, doc.Warnings)
	}
}

// TestLiveProcessTable: live, the section describes this command's own
// process, and the view says so.
func TestLiveProcessTable(t *testing.T) {
	var doc report
	if err := json.Unmarshal([]byte(runJSON(t, "--json")), &doc); err != nil {
		t.Fatal(err)
	}
	p := doc.Processes
	if p == nil || p.PID < 1 || p.Threads == nil || *p.Threads < 1 || p.FDs == nil || *p.FDs < 3 || p.FDLimit == nil || p.Reaper == nil || p.Children == nil || p.Processes == nil {
		t.Fatalf("live processes %+v (unknown %q, warnings %q)", p, doc.Unknown, doc.Warnings)
	}
	view := runOK(t)
	wantIn(t, view, "Processes    this command's process (PID ")
}

// TestCaptureProcessTable: a capture of the tree replays its processes
// section, and the archive names no process and no open file.
func TestCaptureProcessTable(t *testing.T) {
	data := captureArchive(t, pidTree)
	plain := tarBytes(t, data)
	for _, s := range planted {
		if bytes.Contains(plain, []byte(s)) {
			t.Errorf("the archive contains %q", s)
		}
	}
	e := readArchive(t, data)
	for name, want := range map[string]string{
		"proc/self/fd/3":     "-> " + pidfdTarget,
		"proc/self/fd/5":     "-> " + fdPlaceholder,
		"proc/self/fd/0":     "-> " + fdPlaceholder,
		"proc/self/fdinfo/3": "Pid:\t58\n",
		"proc/self/stat":     "1 (-) S 0 1 1 0 -1 4194560 2010 0 0 0 41 12 0 0 20 0 91 0 8812" + strings.Repeat(" 0", 30) + "\n",
		"proc/58/stat":       "58 (-) S 1 58 1 0 -1 4194560 76 0 0 0 0 0 0 0 20 0 1 0 9100" + strings.Repeat(" 0", 30) + "\n",
		"proc/self/limits": "Limit                     Soft Limit           Hard Limit           Units     \n" +
			"Max processes             unlimited            unlimited            processes \n" +
			"Max open files            16                   4096                 files     \n",
		"proc/self/task/1/children": "57 59 60 ",
		"proc/self/task/7/children": "58 ",
	} {
		if got, ok := e[name]; !ok || got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if _, ok := e["proc/self/fdinfo/5"]; ok {
		t.Error("the archive has the fdinfo of a descriptor that is not a pidfd")
	}
	// Replayed: the same section and warnings as the tree.
	dir := unpack(t, e)
	var a, b report
	json.Unmarshal([]byte(runJSON(t, "--root", pidTree, "--json")), &a)
	json.Unmarshal([]byte(runJSON(t, "--root", dir, "--json")), &b)
	ja, _ := json.Marshal(a.Processes)
	jb, _ := json.Marshal(b.Processes)
	if !bytes.Equal(ja, jb) || strings.Join(a.Warnings, "\n") != strings.Join(b.Warnings, "\n") {
		t.Errorf("replay: processes %s, warnings %q\ntree:   processes %s, warnings %q", jb, b.Warnings, ja, a.Warnings)
	}
}

// TestCaptureLiveProcessTable: a live capture holds this process's table
// without its name or what its descriptors refer to (a file with a
// recognisable name is held open meanwhile), and replays it.
func TestCaptureLiveProcessTable(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "planted-fd-target-5e2a"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	data := captureArchive(t, "")
	plain := tarBytes(t, data)
	for _, s := range []string{"planted-fd-target-5e2a", "(" + strings.TrimSpace(string(comm)) + ")", "pipe:[", "socket:["} {
		if bytes.Contains(plain, []byte(s)) {
			t.Errorf("the live archive contains %q", s)
		}
	}
	e := readArchive(t, data)
	n := 0
	for name, body := range e {
		if strings.HasPrefix(name, "proc/self/fd/") && name != "proc/self/fd/" {
			n++
			if body != "-> "+fdPlaceholder && body != "-> "+pidfdTarget {
				t.Errorf("%s = %q", name, body)
			}
		}
		if strings.HasSuffix(name, "/stat") && !strings.Contains(body, " (-) ") {
			t.Errorf("%s = %q: the command name is not replaced", name, body)
		}
	}
	if n < 3 {
		t.Errorf("%d descriptors in the live archive", n)
	}
	var doc report
	if err := json.Unmarshal([]byte(runJSON(t, "--root", unpack(t, e), "--json")), &doc); err != nil {
		t.Fatal(err)
	}
	if p := doc.Processes; p == nil || p.PID != os.Getpid() || p.Threads == nil || p.FDs == nil || *p.FDs != n || p.FDLimit == nil || p.Processes == nil || p.Reaper != nil {
		t.Errorf("replay of the live capture: processes %+v, unknown %q", p, doc.Unknown)
	}
}

// TestAnonymizeStat: the command name goes whatever it holds, the fields
// procfs reads stay, the rest become 0; a line that is not a stat line is
// not copied.
func TestAnonymizeStat(t *testing.T) {
	got, ok := anonymizeStat([]byte("12 (a) b) (c) Z 1 12 1 0 -1 4227084 76 0 0 0 0 0 0 0 20 0 1 0 9000 777 888 999\n"))
	if want := "12 (-) Z 1 12 1 0 -1 4227084 76 0 0 0 0 0 0 0 20 0 1 0 9000 0 0 0\n"; !ok || string(got) != want {
		t.Errorf("anonymizeStat = %q, %v; want %q", got, ok, want)
	}
	for _, bad := range []string{"", "12 a S 1", "x (a) S 1", "12 (a) S secret 1", "12 (a) 7 1"} {
		if got, ok := anonymizeStat([]byte(bad)); ok {
			t.Errorf("anonymizeStat(%q) = %q, want refused", bad, got)
		}
	}
}

// TestEnvConfigWarnings: an unusable RIGHTSIZE_* value is a warning naming
// the variable, and leaves no field unknown (its default applies).
func TestEnvConfigWarnings(t *testing.T) {
	root := treeWith(t, "k8s-v2-guaranteed", map[string]string{
		"proc/self/environ": "PATH=/bin\x00RIGHTSIZE_MEMORY_RATIO=2\x00RIGHTSIZE_MIN_PROCS=lots\x00RIGHTSIZE_CPU_LIMIT_MILLIS=-5\x00",
	})
	doc, view := both(t, root)
	for _, v := range []string{"RIGHTSIZE_MEMORY_RATIO", "RIGHTSIZE_MIN_PROCS", "RIGHTSIZE_CPU_LIMIT_MILLIS"} {
		if !anyPrefix(doc.Warnings, v+"=") {
			t.Errorf("no warning naming %s: %q", v, doc.Warnings)
		}
		wantIn(t, view, v+"=")
	}
	if len(doc.Unknown) != 0 {
		t.Errorf("unknown %q: an unusable setting leaves no value unknown", doc.Unknown)
	}
	if g := doc.Go.RecommendedGOMEMLIMIT; g == nil || *g != 483183820 {
		t.Errorf("recommendedGOMEMLIMIT %v, want the default ratio 0.9 × 512 MiB", g)
	}
}
