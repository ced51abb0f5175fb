package prometheus

import (
	"path/filepath"
	"runtime"
	"testing"
)

// The reads of a scrape go through the open handle: on a warm handle,
// refreshing every value allocates nothing (the metrics handed to
// client_golang afterwards are its allocations, as for any collector).
func TestRefreshDoesNotAllocate(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("cgroup readers exist on Linux only")
	}
	for _, root := range []string{
		filepath.Join("testdata", "k8s-v2-cgroupns"),
		filepath.Join("..", "..", "cgroup", "testdata", "v2-nested"),
	} {
		c, err := NewCollector(WithRoot(root), WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		if err := c.refresh(); err != nil {
			t.Fatalf("%s: %v", root, err)
		}
		n := testing.AllocsPerRun(50, func() {
			if err := c.refresh(); err != nil {
				t.Fatal(err)
			}
		})
		c.mu.Unlock()
		c.Close()
		if n != 0 {
			t.Errorf("%s: refresh allocates %v times per scrape, want 0", root, n)
		}
	}
}
