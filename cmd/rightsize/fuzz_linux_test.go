package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize/runtimeinfo"
)

// FuzzTree builds a whole tree from the fuzz input (a cgroup v1 or v2
// layout whose files hold good, odd, huge or random values, or are FIFOs,
// directories, huge files, missing, or symbolic links inside the root or
// out of it to a canary file beside the root) and runs what the command
// runs on it: collect (discovery, Read, Recommend, detection), two samples
// of --watch with their rates, the human and JSON views, and capture. Each
// must return within a bound, never panic, never read the canary (nothing
// of it in any output, warning or archive), produce JSON that validates
// against schema.json, and recommend only inside the safety envelope:
// GOMAXPROCS in [1, CPUs], GOMEMLIMIT at least runtimeinfo.MinGOMEMLIMIT
// and at most the effective memory limit.
//
//	go test -run '^$' -fuzz FuzzTree -fuzztime 10s ./cmd/rightsize/
func FuzzTree(f *testing.F) {
	f.Add([]byte{})                         // v2, good values everywhere
	f.Add([]byte{1})                        // v1, good values everywhere
	f.Add(bytes.Repeat([]byte{0xff}, 400))  // odd kinds everywhere
	f.Add(bytes.Repeat([]byte{12, 13}, 80)) // links out of the root
	f.Add(bytes.Repeat([]byte{9, 3}, 120))  // huge and odd values
	f.Add(bytes.Repeat([]byte{1, 11, 0, 9, 7, 10, 4, 15, 2}, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		root := filepath.Join(base, "root")
		tb := &treeBuilder{t: t, in: data, root: root, canary: filepath.Join(base, "canary")}
		if err := os.WriteFile(tb.canary, []byte(canaryText+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		tb.build()
		checkTree(t, root)
	})
}

// canaryText must never appear: the generator's random text has no 'Z'.
const canaryText = "ZZ-CANARY-OUTSIDE-THE-ROOT-ZZ"

// bounded runs fn, failing the test when it does not return within the
// bound.
func bounded(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not return within 20 s", what)
	}
}

func checkTree(t *testing.T, root string) {
	noCanary := func(what string, b []byte) {
		t.Helper()
		if bytes.Contains(b, []byte(canaryText)) || bytes.Contains(b, []byte("CANARY")) {
			t.Fatalf("%s holds the canary:\n%s", what, b)
		}
	}

	// One view, as the command takes it.
	var s sample
	var err error
	bounded(t, "collect", func() { s, err = collect(root, 0) })
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	var js, human bytes.Buffer
	if err := writeJSON(&js, &s.report, true); err != nil {
		t.Fatalf("the report does not marshal: %v", err)
	}
	if errs := validateJSON(t, js.Bytes()); len(errs) > 0 {
		t.Fatalf("the report does not validate against schema.json: %q\n%s", errs, js.Bytes())
	}
	checkReport(t, js.Bytes())
	writeHuman(&human, &s, nil)
	noCanary("the JSON", js.Bytes())
	noCanary("the view", human.Bytes())
	checkEnvelope(t, &s.report)

	// Two samples of --watch through one Reader, and their rates.
	bounded(t, "watch", func() {
		src, err := openSource(root, 0)
		if err != nil {
			t.Errorf("openSource: %v", err)
			return
		}
		defer src.Close()
		a := src.sample()
		b := src.sample()
		line := watchLine{report: &b.report, Time: b.at.Format(timeFormat), Rates: computeRates(&b, &a)}
		var out bytes.Buffer
		if err := writeJSON(&out, &line, false); err != nil {
			t.Errorf("a watch line does not marshal: %v", err)
			return
		}
		if errs := validateJSON(t, out.Bytes()); len(errs) > 0 {
			t.Errorf("a watch line does not validate: %q\n%s", errs, out.Bytes())
		}
		out.Reset()
		writeHuman(&out, &b, &a)
		checkNoBadNumbers(t, cpuUse(&b, &a))
		noCanary("the watch view", out.Bytes())
	})

	// The decisions themselves, straight from the Reader.
	bounded(t, "Reader", func() {
		r, err := runtimeinfo.NewReader(runtimeinfo.WithRoot(root), runtimeinfo.WithFields(runtimeinfo.FieldAll), runtimeinfo.WithEnvConfig(), runtimeinfo.WithLogger(nil))
		if err != nil {
			t.Errorf("NewReader: %v", err)
			return
		}
		defer r.Close()
		var snap runtimeinfo.Snapshot
		r.Read(&snap)
		procs, _ := r.Recommend(&snap)
		if procs.HasWant && (procs.Want < 1 || procs.Want > max(snap.CPUs.N, 1)) {
			t.Errorf("Recommend: GOMAXPROCS %d outside [1, %d]", procs.Want, snap.CPUs.N)
		}
		for _, e := range snap.Errors {
			noCanary("an error", []byte(e.Error()))
		}
	})

	// The capture.
	var archive bytes.Buffer
	var warnings []string
	var cerr error
	bounded(t, "capture", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_, warnings, cerr = capture(ctx, &archive, root)
	})
	noCanary("the capture's warnings", []byte(strings.Join(warnings, "\n")))
	if cerr != nil {
		noCanary("the capture's error", []byte(cerr.Error()))
		return
	}
	plain := tarBytes(t, archive.Bytes())
	noCanary("the archive", plain)
	readArchive(t, archive.Bytes()) // safe names, known entry types
}

// checkEnvelope checks the recommendations against the safety envelope.
func checkEnvelope(t *testing.T, r *report) {
	t.Helper()
	if p := r.Go.RecommendedGOMAXPROCS; p != nil {
		if r.CPU.CPUs == nil {
			t.Fatalf("GOMAXPROCS %d recommended with the CPUs unknown", *p)
		}
		if *p < 1 || *p > *r.CPU.CPUs {
			t.Fatalf("GOMAXPROCS %d outside [1, %d]", *p, *r.CPU.CPUs)
		}
	}
	if m := r.Go.RecommendedGOMEMLIMIT; m != nil {
		if *m < runtimeinfo.MinGOMEMLIMIT {
			t.Fatalf("GOMEMLIMIT %d below the floor %d", *m, runtimeinfo.MinGOMEMLIMIT)
		}
		var eff *int64
		for _, v := range []*int64{r.Memory.Limit, r.Memory.High} {
			if v != nil && (eff == nil || *v < *eff) {
				eff = v
			}
		}
		if eff == nil {
			t.Fatalf("GOMEMLIMIT %d recommended without a memory limit", *m)
		}
		if h := r.Memory.HostTotal; h != nil && *h < *eff {
			eff = h
		}
		if *m > *eff {
			t.Fatalf("GOMEMLIMIT %d above the effective limit %d", *m, *eff)
		}
	}
}

// treeBuilder makes a tree from fuzz input.
type treeBuilder struct {
	t      *testing.T
	in     []byte
	root   string
	canary string
	files  []string // regular files written, paths inside the root
}

func (b *treeBuilder) byte() byte {
	if len(b.in) == 0 {
		return 0
	}
	c := b.in[0]
	b.in = b.in[1:]
	return c
}

func (b *treeBuilder) pick(n int) int { return int(b.byte()) % n }

// text is random text without 'Z' (the canary's letter).
func (b *treeBuilder) text() string {
	n := b.pick(24)
	var s strings.Builder
	for i := 0; i < n; i++ {
		c := b.byte()
		if c == 'Z' {
			c = 'z'
		}
		s.WriteByte(c)
	}
	return s.String()
}

// odd values: huge, negative, zero, not numbers.
var oddValues = []string{
	"18446744073709551615\n", "9223372036854775807\n", "9223372036854775808\n", "-1\n", "0\n", "1\n",
	"max\n", "NaN\n", "Inf\n", "1e308\n", "-9223372036854775808\n", "\n", "", "0x10\n", "  42  \n",
	"99999999999999999999999999\n", "max max\n", "1 0\n", "0 0\n", "-5 100000\n", "9223372036854775807 1\n",
	"some avg10=NaN avg60=0 avg300=0 total=0\n", "some avg10=-1.00 avg60=0 avg300=0 total=0\n",
	"some avg10=1e400 avg60=0 avg300=0 total=18446744073709551615\n",
}

// file writes name (a path inside the root) with one of good (the first
// is the default for a zero byte), or in its place something odd.
func (b *treeBuilder) file(name string, good ...string) {
	p := filepath.Join(b.root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.t.Fatal(err)
	}
	write := func(content string) {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.t.Fatal(err)
		}
		b.files = append(b.files, name)
	}
	depth := strings.Count(strings.Trim(path.Dir(name), "/"), "/") + 1
	switch kind := b.pick(16); {
	case kind <= 8:
		write(good[b.pick(len(good))])
	case kind == 9:
		write(oddValues[b.pick(len(oddValues))])
	case kind == 10:
		write(b.text())
	case kind == 11:
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			b.t.Fatal(err)
		}
	case kind == 12:
		os.Symlink(b.canary, p) // absolute, to the canary beside the root
	case kind == 13:
		os.Symlink(strings.Repeat("../", depth)+"canary", p) // relative, out of the root
	case kind == 14:
		// missing
	default:
		switch b.pick(4) {
		case 0:
			os.Mkdir(p, 0o755)
		case 1:
			if len(b.files) > 0 {
				os.Symlink(b.files[b.pick(len(b.files))], p) // inside the root
			}
		case 2:
			os.Symlink(strings.Repeat("../", depth+3)+"canary", p) // ".." above "/"
		default:
			write(strings.Repeat("12345678", 1<<17) + "9\n") // just over 1 MiB
		}
	}
}

// core writes a file that the tree needs to be a tree at all: rarely odd.
func (b *treeBuilder) core(name, content string) {
	if b.byte() >= 250 {
		b.file(name, content)
		return
	}
	p := filepath.Join(b.root, filepath.FromSlash(name))
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.files = append(b.files, name)
}

func nums(vals ...int64) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = strconv.FormatInt(v, 10) + "\n"
	}
	return out
}

func (b *treeBuilder) build() {
	v1 := b.pick(2) == 1
	levels := []string{"/"}
	for i, n := 0, b.pick(3); i < n; i++ {
		levels = append(levels, path.Join(levels[len(levels)-1], fmt.Sprintf("l%d", i)))
	}
	leaf := levels[len(levels)-1]

	// /proc.
	b.file("/proc/self/status", "Name:\tsvc\nThreads:\t4\nCpus_allowed:\tf\nCpus_allowed_list:\t0-3\n",
		"Cpus_allowed_list:\t0\n", "Cpus_allowed_list:\t0-1023\n", "Cpus_allowed_list:\t7,9-11\n", "Cpus_allowed_list:\t\n")
	b.file("/proc/meminfo", "MemTotal:       16384000 kB\nMemAvailable:    8000000 kB\n",
		"MemTotal: 1 kB\n", "MemTotal: 18014398509481983 kB\n", "MemTotal: 0 kB\n", "MemTotal: 4096 kB\n")
	env := []string{"PATH=/usr/bin"}
	for _, kv := range [][]string{
		{"RIGHTSIZE_CPU_POLICY", "ceil", "floor", "runtime", "bogus"},
		{"RIGHTSIZE_MIN_PROCS", "1", "4", "1000000", "0", "-3"},
		{"RIGHTSIZE_MEMORY_RATIO", "0.9", "1", "0.0000001", "2", "NaN"},
		{"RIGHTSIZE_MEMORY_RESERVE_BYTES", "1048576", "9223372036854775807", "1", "-1"},
		{"RIGHTSIZE_CPU_LIMIT_MILLIS", "1500", "1", "9223372036854775807", "0", "x"},
		{"RIGHTSIZE_CPU_REQUEST_MILLIS", "250", "9223372036854775807"},
		{"RIGHTSIZE_MEMORY_LIMIT_BYTES", "268435456", "1", "9223372036854775807", "4194304"},
		{"GOMAXPROCS", "3", "0", "x"},
		{"GOMEMLIMIT", "100MiB", "x"},
		{"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
	} {
		if c := b.pick(len(kv) + 2); c > 0 && c < len(kv) {
			env = append(env, kv[0]+"="+kv[c])
		}
	}
	b.file("/proc/self/environ", strings.Join(env, "\x00")+"\x00", "", b.text())
	b.file("/proc/1/environ", "container=podman\x00", "")
	b.file("/proc/self/oom_score_adj", "937\n", "-997\n", "1000\n", "x\n")
	b.file("/proc/sys/kernel/osrelease", "6.1.0\n", "5.15.0-microsoft-standard-WSL2\n")
	b.file("/etc/hosts", "# Kubernetes-managed hosts file.\n127.0.0.1 localhost\n", "127.0.0.1 localhost\n")
	b.file("/run/.containerenv", "engine=\"podman-4.0\"\n", "")
	b.file("/sys/devices/system/cpu/online", "0-7\n", "0\n", "0-4095\n", "\n")
	b.file("/var/run/secrets/kubernetes.io/serviceaccount/namespace", "shop", "")
	// The process table: this process is 7 (or PID 1), with a child 8.
	stat := func(pid, ppid, threads int, state, comm string) string {
		return fmt.Sprintf("%d (%s) %s %d %d 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 %d 0 100 0 0 18446744073709551615\n", pid, comm, state, ppid, pid, threads)
	}
	self := stat(7, 1, 4, "S", "svc")
	b.file("/proc/self/stat", self, stat(7, 1, 1<<20, "S", "s) (x"), stat(1, 0, 4, "S", "svc"), "7 (svc\n", "")
	b.file("/proc/7/stat", self, stat(7, 1, 0, "R", ""))
	b.file("/proc/1/stat", stat(1, 0, 1, "S", "init"), stat(1, 0, 1, "Z", "init"))
	b.file("/proc/8/stat", stat(8, 7, 1, "S", "kid"), stat(8, 7, 1, "Z", "kid"), stat(8, 1, 1, "Z", "kid"))
	b.file("/proc/self/task/7/children", "8 ", "", "8 9 10 ", "x", "99999999999 ")
	b.file("/proc/self/limits", "Limit Soft Limit Hard Limit Units\nMax open files            1024                 4096                 files     \n",
		"Max open files            3                    3                    files     \n", "Max open files unlimited unlimited files\n", "Max open files 1\n")
	for _, fd := range []string{"0", "1", "2"} {
		if c := b.pick(4); c == 0 {
			b.file("/proc/self/fd/"+fd, "")
		} else {
			p := filepath.Join(b.root, "proc/self/fd", fd)
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.Symlink([]string{"", "pipe:[1]", "anon_inode:[pidfd]", b.canary}[c], p)
		}
	}
	b.file("/proc/self/fdinfo/2", "pos:\t0\nPid:\t8\n", "Pid:\t-1\n", "Pid: x\n")

	if v1 {
		b.core("/proc/self/cgroup", fmt.Sprintf("5:cpu,cpuacct:%s\n4:memory:%s\n3:pids:%s\n2:cpuset:%s\n1:name=systemd:%s\n", leaf, leaf, leaf, leaf, leaf))
		b.core("/proc/self/mountinfo", "25 1 0:22 / / rw - overlay overlay rw\n"+
			"31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"+
			"32 25 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"+
			"33 25 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"+
			"34 25 0:30 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n")
		for _, lv := range levels {
			cpu := path.Join("/sys/fs/cgroup/cpu,cpuacct", lv)
			b.file(cpu+"/cpu.cfs_quota_us", append([]string{"-1\n"}, nums(150000, 1, 50000, 1000000000, 100000)...)...)
			b.file(cpu+"/cpu.cfs_period_us", nums(100000, 1000, 1000000, 1)...)
			b.file(cpu+"/cpu.shares", nums(1024, 2, 262144, 1536)...)
			b.file(cpu+"/cpu.stat", "nr_periods 120\nnr_throttled 30\nthrottled_time 4500000000\n", "nr_periods 0\nnr_throttled 5\nthrottled_time 1\n")
			b.file(cpu+"/cpuacct.usage", nums(98765432100, 0, 9223372036854775807)...)
			mem := path.Join("/sys/fs/cgroup/memory", lv)
			b.file(mem+"/memory.limit_in_bytes", nums(9223372036854771712, 268435456, 1, 4096, 5000000, 4194304)...)
			b.file(mem+"/memory.usage_in_bytes", nums(104857600, 0, 9223372036854775807)...)
			b.file(mem+"/memory.stat", "hierarchical_memory_limit 268435456\ntotal_inactive_file 10485760\ntotal_rss 1000\ntotal_cache 2000\n",
				"hierarchical_memory_limit 1\n", "total_inactive_file 18446744073709551615\n")
			b.file(mem+"/memory.memsw.limit_in_bytes", nums(9223372036854771712, 536870912, 1)...)
			b.file(mem+"/memory.failcnt", nums(3, 0)...)
			pids := path.Join("/sys/fs/cgroup/pids", lv)
			b.file(pids+"/pids.max", "max\n", "100\n", "0\n")
			b.file(pids+"/pids.current", nums(7, 0, 9223372036854775807)...)
			b.file(path.Join("/sys/fs/cgroup/cpuset", lv)+"/cpuset.effective_cpus", "0-3\n", "0\n", "\n", "0-100000\n")
		}
	} else {
		b.core("/proc/self/cgroup", "0::"+leaf+"\n")
		b.core("/proc/self/mountinfo", "25 1 0:22 / / rw - overlay overlay rw\n30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n")
		b.core("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
		for _, lv := range levels {
			d := path.Join("/sys/fs/cgroup", lv)
			b.file(d+"/cpu.max", "max 100000\n", "150000 100000\n", "1000 1000\n", "1 100000\n", "100000000000 1000\n", "max\n")
			b.file(d+"/cpu.weight", nums(100, 1, 10000, 79)...)
			b.file(d+"/cpu.stat", "usage_usec 2500000\nnr_periods 50\nnr_throttled 5\nthrottled_usec 250000\n", "usage_usec 0\n")
			b.file(d+"/cpuset.cpus.effective", "0-3\n", "0\n", "\n")
			b.file(d+"/memory.max", "max\n", "268435456\n", "1\n", "4194304\n", "9223372036854775807\n", "5000000\n")
			b.file(d+"/memory.high", "max\n", "268435456\n", "1\n", "4194305\n")
			b.file(d+"/memory.current", nums(209715200, 0, 9223372036854775807)...)
			b.file(d+"/memory.stat", "anon 1000\nfile 2000\ninactive_file 10485760\nkernel 100\n", "inactive_file 18446744073709551615\n")
			b.file(d+"/memory.events", "low 0\nhigh 12\nmax 3\noom 1\noom_kill 1\n", "")
			b.file(d+"/memory.peak", nums(314572800, 0)...)
			b.file(d+"/memory.swap.max", "max\n", "0\n", "1073741824\n")
			b.file(d+"/pids.max", "max\n", "200\n", "0\n")
			b.file(d+"/pids.current", nums(12, 0)...)
			b.file(d+"/cpu.pressure", "some avg10=1.50 avg60=0.50 avg300=0.10 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=5\n", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
			b.file(d+"/memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
			b.file(d+"/io.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
		}
	}
}

// TestFuzzTreeBuilder checks that the generator makes what it should: a
// zero input gives a plausible tree with recommendations.
func TestFuzzTreeBuilder(t *testing.T) {
	for _, in := range [][]byte{{}, {1}} {
		base := t.TempDir()
		root := filepath.Join(base, "root")
		tb := &treeBuilder{t: t, in: in, root: root, canary: filepath.Join(base, "canary")}
		os.WriteFile(tb.canary, []byte(canaryText), 0o644)
		tb.build()
		s, err := collect(root, 0)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(s.report)
		if s.report.Go.RecommendedGOMAXPROCS == nil || len(s.report.Unknown) > 0 || len(s.report.Warnings) > 0 {
			t.Errorf("input %v: %s", in, data)
		}
		checkTree(t, root)
	}
}
