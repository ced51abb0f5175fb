package cgroup

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/rightsize/rightsize/internal/testenv"
)

// The qemu guest of TestRealV2 is a pure cgroup v2 machine, like the
// laptop of a contributor on a current distribution. These cases of
// TestRealV2Guest run this package's test binary again there, the way
// `go test ./cgroup/` would run on such a machine, and check that it
// passes: the real v1 tests skip with the reason (and fail when
// RIGHTSIZE_REQUIRE_CGROUP=1 asks for them), and every other test, the
// fixture trees, parsers and examples, passes. TestRealV2 packs testdata
// into the guest and starts the binary in its parent directory.

// realV1Tests are the tests that need writable cgroup v1 hierarchies.
var realV1Tests = []string{"TestRealV1Limits", "TestRealV1ParentTighter", "TestRealV1OOMKill", "TestRealV1Vanish"}

// notInGuestSuite are left out of the suite run in the guest: the guest
// tests themselves; the real v1 tests (testV2RealV1Skips runs them);
// TestUnreadableFile, which as root re-runs itself through setpriv, which
// the guest does not have; TestOversizedInput, which writes 200 MB into
// the guest's memory; and the harm tests (TestHarm*), which stress the
// readers with thousands of broken fixture trees, read nothing of the
// machine they run on and take over 30 s under emulation. (They ran here
// once: TestHarmNotRegular failed on the guest's /tmp, a tmpfs mounted
// nodev as on many distributions, where a character device cannot be
// opened; harm_test.go's openableKinds now leaves that case out there.)
const notInGuestSuite = "^(TestRealV2|TestRealV2Guest|TestRealV1Child|TestRealV1Limits|TestRealV1ParentTighter|TestRealV1OOMKill|TestRealV1Vanish|" +
	"TestUnreadableFile|TestOversizedInput|TestHarm.*)$"

// rerunSelf runs this test binary with args and -test.v, without any
// RIGHTSIZE_REQUIRE variable of this process but with env, and returns its
// output and exit code.
func rerunSelf(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.v", "-test.count=1"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, testenv.EnvAll) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	default:
		t.Fatalf("running %s again: %v", os.Args[0], err)
		return "", -1
	}
}

// quoted shows a test binary's output inside this one's without its
// "--- " result lines, which the host reads (RunGuestTest).
func quoted(out string) string {
	return strings.ReplaceAll(out, "--- ", "-·- ")
}

// testV2RealV1Skips: on a cgroup v2 only machine the real v1 tests skip
// with testenv.V2OnlyReason, root or not, and fail when required.
func testV2RealV1Skips(t *testing.T) {
	if _, reason, err := realV1Precondition(); err != nil || reason != testenv.V2OnlyReason {
		t.Fatalf("realV1Precondition on the v2 guest says %q (error %v), want %q", reason, err, testenv.V2OnlyReason)
	}
	run := "-test.run=^(" + strings.Join(realV1Tests, "|") + ")$"

	out, code := rerunSelf(t, nil, run)
	if code != 0 {
		t.Fatalf("the real v1 tests did not pass by skipping on the v2 guest (exit %d):\n%s", code, quoted(out))
	}
	for _, name := range realV1Tests {
		if !strings.Contains(out, "--- SKIP: "+name+" ") {
			t.Errorf("%s did not skip:\n%s", name, quoted(out))
		}
	}
	if n := strings.Count(out, testenv.V2OnlyReason); n != len(realV1Tests) {
		t.Errorf("the reason %q appears %d times, want %d:\n%s", testenv.V2OnlyReason, n, len(realV1Tests), quoted(out))
	}

	required := testenv.EnvName(testenv.Cgroup) + "=1"
	out, code = rerunSelf(t, []string{required}, run)
	if code == 0 {
		t.Fatalf("with %s the real v1 tests passed on the v2 guest:\n%s", required, quoted(out))
	}
	for _, name := range realV1Tests {
		if !strings.Contains(out, "--- FAIL: "+name+" ") {
			t.Errorf("with %s, %s did not fail:\n%s", required, name, quoted(out))
		}
	}
	if n := strings.Count(out, testenv.V2OnlyReason+" (required by "); n != len(realV1Tests) {
		t.Errorf("with %s the failures do not give the reason:\n%s", required, quoted(out))
	}
	t.Logf("on the pure v2 guest %s skip with %q, and fail with %s", strings.Join(realV1Tests, ", "), testenv.V2OnlyReason, required)
}

// testV2Suite: the rest of the package's tests pass on the guest, testdata
// read from the working directory as on the host.
func testV2Suite(t *testing.T) {
	if _, err := os.Stat("testdata/v2-nested"); err != nil {
		t.Fatalf("no testdata in the guest's working directory (TestRealV2 packs it): %v", err)
	}
	out, code := rerunSelf(t, nil, "-test.skip="+notInGuestSuite)
	passed := regexp.MustCompile(`(?m)^--- PASS: (\S+)`).FindAllStringSubmatch(out, -1)
	skipped := regexp.MustCompile(`(?m)^\s*--- SKIP: (\S+)`).FindAllStringSubmatch(out, -1)
	if code != 0 || strings.Contains(out, "--- FAIL") || len(skipped) > 0 || len(passed) < 20 {
		t.Fatalf("the package's tests on the v2 guest: exit %d, %d passed, %d skipped:\n%s", code, len(passed), len(skipped), quoted(out))
	}
	var names []string
	for _, m := range passed {
		names = append(names, m[1])
	}
	t.Logf("on the pure v2 guest, with testdata: %d tests, fuzz seeds and examples passed, none skipped: %s", len(names), strings.Join(names, " "))
}
