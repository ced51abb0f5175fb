package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSuitesInGuest runs the tests of the packages that need no runc
// (procfs, detect, runtimeinfo; cgroup's run in its own guest, see
// cgroup/guest_rerun_linux_test.go) on the pure cgroup v2 guest, as
// `go test` would run them on a contributor's cgroup v2 only machine: each
// package's test binary (go test -c, CGO_ENABLED=0) and its testdata go
// into the initramfs at /src/<package>, and this package's test binary,
// told by suitesEnv, runs them one after the other in their directories.
// Every package must pass. Skipped tests are listed in the log with their
// reasons.
func TestSuitesInGuest(t *testing.T) {
	Skip(t)
	ctx := context.Background()
	start := time.Now()
	var suites []guestSuite
	cfg := Config{
		CPUs:     2,
		MemoryMB: 768,
		Files:    map[string]string{},
		Trees:    map[string]string{},
		Timeout:  4 * time.Minute,
	}
	// testdata packs pkg's testdata at /src/<name>/testdata: the
	// packages' directories keep their places relative to each other, as
	// a test reading another package's fixtures expects.
	testdata := func(pkg string) {
		dir, err := exec.Command("go", "list", "-f", "{{.Dir}}", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		if td := filepath.Join(strings.TrimSpace(string(dir)), "testdata"); isDir(td) {
			cfg.Trees["/src/"+path.Base(pkg)+"/testdata"] = td
		}
	}
	for _, pkg := range guestSuitePackages {
		name := path.Base(pkg.path)
		bin := filepath.Join(t.TempDir(), name+".test")
		if err := BuildTest(ctx, pkg.path, bin); err != nil {
			t.Fatal(err)
		}
		guestDir := "/src/" + name
		cfg.Files[guestDir+"/"+name+".test"] = bin
		testdata(pkg.path)
		for _, other := range pkg.testdataOf {
			testdata(other)
		}
		suites = append(suites, guestSuite{Name: name, Dir: guestDir, Bin: guestDir + "/" + name + ".test", Skip: pkg.skip})
	}
	self := filepath.Join(t.TempDir(), "qemu.test")
	if err := BuildTest(ctx, ".", self); err != nil {
		t.Fatal(err)
	}
	spec, err := json.Marshal(suites)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Files["/bin/qemu.test"] = self
	cfg.Command = []string{"/bin/qemu.test", "-test.run=^$"}
	cfg.Env = []string{suitesEnv + "=" + string(spec)}
	built := time.Since(start)

	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("build %v, boot %v, guest %v", built.Round(time.Millisecond), res.BootTime.Round(time.Millisecond), res.Duration.Round(time.Millisecond))
	verdicts := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^SUITE (\S+) exit=(-?\d+) after (\S+)$`).FindAllStringSubmatch(res.Output, -1) {
		verdicts[m[1]] = m[2]
		t.Logf("%s: exit %s after %s", m[1], m[2], m[3])
	}
	for _, s := range suites {
		if verdicts[s.Name] != "0" {
			t.Errorf("%s's tests on the v2 guest: exit %q", s.Name, verdicts[s.Name])
		}
	}
	if res.ExitCode != 0 || t.Failed() {
		t.Fatalf("guest exit %d; output:\n%s", res.ExitCode, res.Output)
	}
	// -test.v prints a test's log, the skip reason too, before its result.
	skips := regexp.MustCompile(`(?m)^\s+\S+\.go:\d+: (.*)\n\s*--- SKIP: (\S+) `).FindAllStringSubmatch(res.Output, -1)
	for _, m := range skips {
		t.Logf("skipped on the guest: %s: %s", m[2], m[1])
	}
	if testing.Verbose() {
		t.Logf("guest output:\n%s", res.Output)
	}
}

// guestSuitePackages are the packages TestSuitesInGuest runs, with the
// other packages whose testdata their tests read, and the tests left out
// there (a -test.skip pattern) with why.
var guestSuitePackages = []struct {
	path       string
	testdataOf []string
	skip       string
}{
	{path: "github.com/rightsize/rightsize/procfs"},
	{path: "github.com/rightsize/rightsize/detect"},
	{path: "github.com/rightsize/rightsize/runtimeinfo", testdataOf: []string{"github.com/rightsize/rightsize/cgroup"}},
}

// suitesEnv carries the JSON list of guestSuite to this test binary in the
// guest, which then runs them (see TestMain).
const suitesEnv = "RIGHTSIZE_QEMU_SUITES"

// guestSuite is one package's test binary in the guest.
type guestSuite struct {
	Name string // package name, for the SUITE lines
	Dir  string // working directory: the package's, with testdata
	Bin  string
	Skip string // -test.skip pattern, if any
}

// runSuites runs each suite with -test.v, its output on the console,
// followed by "SUITE <name> exit=<code> after <duration>"; it returns 0
// when all passed.
func runSuites(spec string) int {
	var suites []guestSuite
	if err := json.Unmarshal([]byte(spec), &suites); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", suitesEnv, err)
		return 2
	}
	code := 0
	for _, s := range suites {
		args := []string{"-test.v", "-test.count=1", "-test.timeout=3m"}
		if s.Skip != "" {
			args = append(args, "-test.skip="+s.Skip)
		}
		cmd := exec.Command(s.Bin, args...)
		cmd.Dir = s.Dir
		cmd.Env = os.Environ()
		for i, kv := range cmd.Env {
			if strings.HasPrefix(kv, suitesEnv+"=") {
				cmd.Env[i] = suitesEnv + "="
			}
		}
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		began := time.Now()
		err := cmd.Run()
		c := 0
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			c = ee.ExitCode()
		case err != nil:
			fmt.Fprintf(os.Stderr, "%s: %v\n", s.Bin, err)
			c = 127
		}
		if c != 0 {
			code = 1
		}
		fmt.Printf("\nSUITE %s exit=%d after %v\n", s.Name, c, time.Since(began).Round(time.Millisecond))
	}
	return code
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
