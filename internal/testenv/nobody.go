package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Setpriv names the environment of the tests that check what an
// unprivileged process sees (a file it may not read): as root, who reads
// every file whatever its mode, they re-run themselves as nobody through
// setpriv (util-linux), so that they also run in CI, which runs as root.
// RIGHTSIZE_REQUIRE_SETPRIV=1 (or RIGHTSIZE_REQUIRE=1) makes a missing
// setpriv a failure.
const Setpriv = "SETPRIV"

// NobodyTempDir returns a new directory that every user may enter and
// read (t.TempDir's are private to the owner), for the files a test run as
// nobody needs. It is removed when t ends.
func NobodyTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rightsize-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// RunAsNobody re-runs t as nobody when this process is root, and reports
// whether it did. As root it copies the test binary into a directory
// nobody can read, runs t's test alone in it as uid and gid 65534 with no
// supplementary groups (setpriv --reuid --regid --clear-groups), with env
// added to the environment, and passes or fails t with that run; the
// caller then returns. Anywhere else it reports false and the test goes on
// in this process, which is what the re-run does too (it is not root).
//
// The files the re-run needs must be where nobody can reach them: made in
// NobodyTempDir, say, with their absolute paths passed in env (the re-run's
// working directory is not the package's). Without setpriv the
// test is skipped, or failed when Setpriv is Required.
func RunAsNobody(t *testing.T, env ...string) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		return false
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		SkipOrFail(t, Setpriv, "root reads files whatever their mode, and setpriv (util-linux) is not here to re-run the test as nobody")
	}
	dir := NobodyTempDir(t)
	bin := filepath.Join(dir, filepath.Base(os.Args[0]))
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
		bin, "-test.run="+runPattern(t.Name()), "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	// The package directory may be out of nobody's reach (a checkout in
	// /root): the re-run works in the copy's directory.
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	passed := strings.Contains(string(out), "--- PASS: "+t.Name()+" ")
	if err != nil || !passed {
		t.Fatalf("the run as nobody did not pass (%v):\n%s", err, out)
	}
	t.Logf("as nobody (setpriv --reuid=65534 --regid=65534 --clear-groups):\n%s", out)
	return true
}

// runPattern is a -test.run pattern that selects the test named name (as
// t.Name() gives it, subtests after "/") and nothing else.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}
