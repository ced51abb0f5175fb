package memexp

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize/bench/internal/testroot"
	"github.com/rightsize/rightsize/bench/internal/variant"
)

func TestSmoke(t *testing.T) {
	testroot.Host(t)
	mod, err := variant.ModDir()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Limit: 256 << 20, LiveFrac: 0.6, Duration: time.Second, Reps: 1, Conns: 4,
		Rows: []string{"none", "automemlimit"}, GrowKiB: 4, Garbage: 256, Seed: 1, ModDir: mod}
	res, err := Execute(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	testroot.NothingLeft(t)
	if len(res.Runs) != 2 {
		t.Fatalf("runs %+v", res.Runs)
	}
	for _, r := range res.Runs {
		if r.Err != "" || r.Exit == "" || r.PeakBytes <= 0 || r.Completed == 0 {
			t.Errorf("run %+v", r)
		}
		if r.Variant == "automemlimit" && (r.GOMEMLIMIT <= 0 || r.GOMEMLIMIT > 256<<20) {
			t.Errorf("automemlimit: GOMEMLIMIT %d", r.GOMEMLIMIT)
		}
	}
	md := res.Markdown()
	if !strings.Contains(md, "| none ") || !strings.Contains(md, "| automemlimit ") {
		t.Errorf("markdown:\n%s", md)
	}
}

// TestSmokeOffHeap: the off-heap scenario's service maps memory and starts
// its holder child in its cgroup; the run measures that memory, and
// rightsize's watcher (100 ms) lowers GOMEMLIMIT by about as much. A pressure
// handler row runs too (a short run: no signal is expected).
func TestSmokeOffHeap(t *testing.T) {
	testroot.Host(t)
	mod, err := variant.ModDir()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Scenario: "offheap", Limit: 256 << 20, LiveMiB: 32, MmapMiB: 32, ChildMiB: 8, Duration: 1500 * time.Millisecond, Reps: 1, Conns: 2,
		Rows: []string{"rightsize", "log-handler"}, GrowKiB: 4, Garbage: 64, Interval: "100ms", Seed: 1, ModDir: mod}
	res, err := Execute(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	testroot.NothingLeft(t)
	if len(res.Runs) != 2 {
		t.Fatalf("runs %+v", res.Runs)
	}
	for _, r := range res.Runs {
		if r.Err != "" || !r.Survived || len(r.Timeline) == 0 {
			t.Errorf("run %+v", r)
		}
		// 32 MiB mapped + 8 MiB held + the child's runtime.
		if r.OffHeap < 36<<20 || r.OffHeap > 64<<20 {
			t.Errorf("%s: off-heap %d MiB, want about 40", r.Variant, r.OffHeap>>20)
		}
		if drop := r.StartGOMEMLIMIT - r.MinGOMEMLIMIT; drop < 30<<20 {
			t.Errorf("%s: GOMEMLIMIT %d -> lowest %d: dropped %d MiB, want about 40", r.Variant, r.StartGOMEMLIMIT, r.MinGOMEMLIMIT, drop>>20)
		}
	}
	if md := res.Markdown(); !strings.Contains(md, "| rightsize ") || !strings.Contains(md, "syscall.Mmap") {
		t.Errorf("markdown:\n%s", md)
	}
}
