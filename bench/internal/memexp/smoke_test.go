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
		Variants: []string{"none", "automemlimit"}, GrowKiB: 4, Garbage: 256, Seed: 1, ModDir: mod}
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
