package prometheus

import (
	"path/filepath"
	"runtime"
	"testing"
)

// The reads of a scrape go through the Reader's open descriptors into the
// snapshot the collector owns: when every read succeeds, refreshing every
// value allocates nothing (the metrics handed to client_golang afterwards
// are its allocations, as for any collector).
func TestRefreshDoesNotAllocate(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("cgroup readers exist on Linux only")
	}
	trees := filepath.Join("..", "..", "cmd", "rightsize", "testdata", "trees")
	for _, root := range []string{
		filepath.Join("testdata", "k8s-v2-cgroupns"),
		filepath.Join(trees, "v2-host-nested"),
		filepath.Join(trees, "k8s-v1-burstable"),
		filepath.Join(trees, "k8s-v2-guaranteed"),
		filepath.Join(trees, "hybrid-docker"),
		"/",
	} {
		t.Run(root, func(t *testing.T) {
			c, err := NewCollector(WithRoot(root), WithLogger(nil))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.mu.Lock()
			defer c.mu.Unlock()
			c.refresh()
			if len(c.snap.Errors) > 0 {
				if root == "/" {
					t.Skipf("the live system has read errors: %v", c.snap.Errors)
				}
				t.Fatalf("%v", c.snap.Errors)
			}
			n := testing.AllocsPerRun(50, func() {
				c.refresh()
				if len(c.snap.Errors) > 0 {
					t.Fatal(c.snap.Errors)
				}
			})
			if n != 0 {
				t.Errorf("refresh allocates %v times per scrape, want 0", n)
			}
			if c.readErrs != 0 {
				t.Errorf("%d read errors", c.readErrs)
			}
		})
	}
}
