package qemu

import (
	"context"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RunGuestTest builds the tests of package pkg (an import path), boots a
// guest with cfg (CPUs, MemoryMB, Env, Timeout; Files and Command are set
// here) that runs only the test named test with -test.v, and fails t unless
// that test passed with nothing skipped: a pass with nothing run (a renamed
// test, a -test.run typo) is no pass. It skips or fails like Skip when no
// guest can be booted. guestTimeout bounds the test binary inside.
func RunGuestTest(t *testing.T, pkg, test string, guestTimeout time.Duration, cfg Config) Result {
	t.Helper()
	Skip(t)
	start := time.Now()
	ctx := context.Background()
	name := path.Base(pkg) + ".test"
	bin := filepath.Join(t.TempDir(), name)
	if err := BuildTest(ctx, pkg, bin); err != nil {
		t.Fatal(err)
	}
	built := time.Since(start)
	cfg.Files = map[string]string{"/bin/" + name: bin}
	cfg.Command = []string{"/bin/" + name, "-test.run=^" + test + "$", "-test.v", "-test.timeout=" + guestTimeout.String()}
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("build %v, boot %v, guest %v, total %v", built.Round(time.Millisecond), res.BootTime.Round(time.Millisecond),
		res.Duration.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if res.ExitCode != 0 {
		t.Fatalf("guest tests failed (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if !strings.Contains(res.Output, "--- PASS: "+test+" ") || strings.Contains(res.Output, "--- SKIP") {
		t.Fatalf("guest did not run every case of %s:\n%s", test, res.Output)
	}
	if testing.Verbose() {
		t.Logf("guest output:\n%s", res.Output)
	}
	return res
}
