package runc_test

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/internal/testenv/qemu"
	"github.com/rightsize/rightsize/internal/testenv/runc"
)

// A cgroup v2 only host, such as a contributor's laptop on a current
// distribution, must be able to run `go test ./...` as root: the harness's
// tests, which assert v1 paths and write v1 files, skip there with
// testenv.V2OnlyReason, and fail with it only when RIGHTSIZE_REQUIRE_RUNC=1
// asks for them. TestV2OnlyHost shows it on the pure cgroup v2 qemu guest:
// TestV2OnlyGuest checks Available there and runs this package's tests
// again, once as `go test` would and once required.

// v2OnlyEnv is set in the guest's environment; TestV2OnlyGuest runs only
// there.
const v2OnlyEnv = "RIGHTSIZE_RUNC_V2_GUEST"

// realTests need runc containers or ParentCgroup: they must skip (or
// fail, when required) on a v2 only host; the package's other tests (the
// spec, rootfs, names and parsing units) pass there.
var realTests = []string{"TestSmoke", "TestParentCgroupCleanup", "TestExitCode", "TestRuncError", "TestTimeout", "TestSweepAfterKill"}

func TestV2OnlyHost(t *testing.T) {
	if os.Getenv(v2OnlyEnv) != "" {
		t.Skip("inside the guest: TestV2OnlyGuest runs here")
	}
	qemu.RunGuestTest(t, "github.com/rightsize/rightsize/internal/testenv/runc", "TestV2OnlyGuest", 2*time.Minute, qemu.Config{
		Env: []string{v2OnlyEnv + "=1"},
	})
}

func TestV2OnlyGuest(t *testing.T) {
	if os.Getenv(v2OnlyEnv) == "" {
		t.Skip("runs inside the qemu guest that TestV2OnlyHost boots")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the guest runs tests as root, this is not root")
	}
	if got := testenv.CgroupV1Missing(); got != testenv.V2OnlyReason {
		t.Fatalf("CgroupV1Missing() = %q on the pure v2 guest, want %q", got, testenv.V2OnlyReason)
	}
	// No runc in the guest either: the cgroup layout is reported first,
	// since neither root nor runc would help.
	err := runc.Available()
	if !errors.Is(err, runc.ErrUnavailable) || !strings.Contains(err.Error(), testenv.V2OnlyReason) {
		t.Fatalf("Available() = %v, want ErrUnavailable with %q", err, testenv.V2OnlyReason)
	}

	result := regexp.MustCompile(`(?m)^--- (PASS|SKIP|FAIL): (\S+) `)
	run := func(env ...string) (map[string]string, string, int) {
		cmd := exec.Command(os.Args[0], "-test.v", "-test.count=1", "-test.skip=^TestV2Only(Host|Guest)$")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, testenv.EnvAll) {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, m := range result.FindAllStringSubmatch(string(out), -1) {
			got[m[2]] = m[1]
		}
		// The host reads this binary's result lines; not the inner ones.
		return got, strings.ReplaceAll(string(out), "--- ", "-·- "), code
	}
	isReal := map[string]bool{}
	for _, name := range realTests {
		isReal[name] = true
	}

	// As `go test` runs them: the real tests skip with the reason, the
	// rest pass, the run passes.
	got, out, code := run()
	if code != 0 {
		t.Fatalf("the package's tests failed on the v2 guest (exit %d):\n%s", code, out)
	}
	units := 0
	for name, res := range got {
		switch {
		case isReal[name] && res != "SKIP":
			t.Errorf("%s: %s, want SKIP", name, res)
		case !isReal[name] && res != "PASS":
			t.Errorf("%s: %s, want PASS", name, res)
		case !isReal[name]:
			units++
		}
	}
	for _, name := range realTests {
		if got[name] == "" {
			t.Errorf("%s did not run", name)
		}
	}
	if n := strings.Count(out, testenv.V2OnlyReason); n < len(realTests) || units == 0 {
		t.Errorf("%d skips give the reason %q (want %d), %d other tests passed:\n%s", n, testenv.V2OnlyReason, len(realTests), units, out)
	}

	// Required: the same tests fail, with the reason.
	required := testenv.EnvName(testenv.Runc) + "=1"
	got, out, code = run(required)
	if code == 0 {
		t.Fatalf("with %s the package's tests passed on the v2 guest:\n%s", required, out)
	}
	for _, name := range realTests {
		if got[name] != "FAIL" {
			t.Errorf("with %s, %s: %s, want FAIL", required, name, got[name])
		}
	}
	if n := strings.Count(out, testenv.V2OnlyReason+" (required by "); n < len(realTests) {
		t.Errorf("with %s, %d failures give the reason (want %d):\n%s", required, n, len(realTests), out)
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
		return
	}
	t.Logf("on the pure v2 guest: %s skip with %q (%d other tests pass), and fail with %s",
		strings.Join(realTests, ", "), testenv.V2OnlyReason, units, required)
}
